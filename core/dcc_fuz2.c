/*
 * dcc_fuz2: DCC's second fuzzy body checksum (protocol doc 11): the
 * dictionary words of the decoded text, one MD5 per language, HTML tags
 * skipped and counted, with the URL host list as a last resort for short
 * messages.  Counters and limits follow the reference exactly because the
 * "is this mostly text" test at the end depends on every one of them.
 */
#include "dcc_ck_int.h"

enum { F2_WORD = 0, F2_START_TAG, F2_SKIP_TAG, F2_SKIP_COMMENT };

#define WORD_JUNK (DCC_WORD + 1)

/* language bit i of drp_dcc_dict_lookup() is lang[i]; Polish (bit 2)
 * counts only in Latin-2 entities */
#define LANG_POLISH 2

void drp_dcc_fuz2_init(struct drp_dcc_state *s)
{
	struct dcc_fuz2 *z = &s->fuz2;
	int i;

	z->wlen = 0;
	memset(z->w, 0, sizeof(z->w));
	z->st = F2_WORD;
	z->cref.st = 0;
	z->btotal = 0;
	z->xsummed = 0;
	z->tag_len = 0;
	for (i = 0; i < DCC_FUZ2_LANGS; i++) {
		z->lang[i].wsummed = 0;
		z->lang[i].wtotal = 0;
		z->lang[i].blen = 0;
	}
}

static void lang_flush(struct dcc_fuz2_lang *l)
{
	if (l->blen == 0)
		return;
	l->wsummed += l->blen;
	EVP_DigestUpdate(l->md5, l->buf, l->blen);
	l->blen = 0;
}

static void add_word(struct drp_dcc_state *s)
{
	struct dcc_fuz2 *z = &s->fuz2;
	unsigned bits = drp_dcc_dict_lookup(z->w, z->wlen);
	int i;

	if (s->cset != drp_dcc_cset_latin2)
		bits &= ~(1u << LANG_POLISH);
	for (i = 0; bits != 0; i++, bits >>= 1) {
		struct dcc_fuz2_lang *l = &z->lang[i];

		if (!(bits & 1))
			continue;
		++l->wtotal;
		memcpy(&l->buf[l->blen], z->w, z->wlen);
		l->blen += z->wlen;
		if (l->blen >= 1024)
			lang_flush(l);
	}
}

void drp_dcc_fuz2(struct drp_dcc_state *s, const uint8_t *p, size_t n)
{
	struct dcc_fuz2 *z = &s->fuz2;
	int i, r;
	uint8_t c;

	while (n != 0) {
		switch (z->st) {
		case F2_WORD:
			do {
				--n;
				c = *p++;
				if (z->cref.st != 0 || (c == '&' && s->ct == DCC_CT_HTML)) {
					r = drp_dcc_cref(&z->cref, c);
					if (r == DCC_CREF_MORE)
						continue;
					if (r == DCC_CREF_REREAD) {
						++n;
						--p;
					}
					c = z->cref.result;
				}
				c = s->cset[c];
				if (c >= 'a') {
					++z->btotal;
					if (z->wlen < DCC_WORD)
						z->w[z->wlen++] = c;
					else
						z->wlen = WORD_JUNK;
					continue;
				}
				if (c == DCC_FC_SP) {
					if (z->wlen >= 3 && z->wlen <= DCC_WORD)
						add_word(s);
					z->wlen = 0;
					memset(z->w, 0, sizeof(z->w));
					continue;
				}
				++z->btotal;
				if (c == DCC_FC_LT) {
					z->tag_len = 0;
					memset(z->tag, 0, sizeof(z->tag));
					z->st = F2_START_TAG;
					break;
				}
				z->wlen = WORD_JUNK;
			} while (n != 0);
			break;

		case F2_START_TAG:
			/* look at the byte after '<' without taking it yet */
			c = *p;
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if ((((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) &&
			     z->tag_len < DCC_WORD) ||
			    ((c == '/' || c == '!') && z->tag_len == 0) ||
			    (c == '-' && z->tag_len >= 1 && z->tag_len <= 2)) {
				z->tag[z->tag_len++] = c;
				++z->btotal;
				++p;
				--n;
				break;
			}
			/* <html> in text/plain makes the rest of the entity HTML */
			if (z->tag_len == 4 && s->ct != DCC_CT_HTML &&
			    memcmp(z->tag, "html", 4) == 0)
				s->ct = DCC_CT_HTML;
			if (s->ct == DCC_CT_HTML && z->tag_len > 0) {
				z->xsummed += z->tag_len + 1;
				if (c == '>') {
					++z->xsummed;
					++z->btotal;
					++p;
					--n;
					z->st = F2_WORD;
					break;
				}
				if (z->tag_len >= 3 && memcmp(z->tag, "!--", 3) == 0)
					z->st = F2_SKIP_COMMENT;
				else
					z->st = F2_SKIP_TAG;
			} else {
				z->wlen = WORD_JUNK;
				z->st = F2_WORD;
			}
			break;

		case F2_SKIP_TAG:
			do {
				++z->btotal;
				--n;
				c = *p++;
				if (z->cref.st != 0 || c == '&') {
					r = drp_dcc_cref(&z->cref, c);
					if (r == DCC_CREF_MORE)
						continue;
					if (r == DCC_CREF_REREAD) {
						++n;
						--p;
					}
					c = z->cref.result;
				}
				if (c == '>') {
					++z->xsummed;
					++z->btotal;
					z->st = F2_WORD;
					break;
				}
				if (s->cset[c] != DCC_FC_SP) {
					++z->xsummed;
					++z->btotal;
					if (++z->tag_len > DCC_URL_FAILSAFE) {
						z->wlen = WORD_JUNK;
						z->st = F2_WORD;
						break;
					}
				}
			} while (n != 0);
			break;

		case F2_SKIP_COMMENT:
			do {
				--n;
				c = *p++;
				if (c == '>') {
					++z->xsummed;
					++z->btotal;
					z->st = F2_WORD;
					break;
				}
				if (s->cset[c] != DCC_FC_SP) {
					++z->xsummed;
					++z->btotal;
					if (++z->tag_len > DCC_URL_FAILSAFE) {
						z->wlen = WORD_JUNK;
						z->st = F2_WORD;
						break;
					}
				}
			} while (n != 0);
			break;
		}
	}
	for (i = 0; i < DCC_FUZ2_LANGS; i++)
		lang_flush(&z->lang[i]);
}

int drp_dcc_fuz2_fin(struct drp_dcc_state *s, uint8_t sum[16])
{
	struct dcc_fuz2 *z = &s->fuz2;
	struct dcc_fuz2_lang *l = &z->lang[0];
	unsigned len = 16;
	int i;

	for (i = 1; i < DCC_FUZ2_LANGS; i++)
		if (l->wtotal < z->lang[i].wtotal)
			l = &z->lang[i];
	/* not mostly words: a few words in a big binary */
	if (l->wtotal < DCC_FUZ2_FEW_WORDS && (l->wsummed + z->xsummed) * 10 < z->btotal)
		return 0;
	if (l->wtotal < DCC_FUZ2_MIN_WORDS) {
		/* short messages may make up with the URL host names */
		if (l->wtotal + s->url.doms * (DCC_FUZ2_MIN_WORDS / 2) < DCC_FUZ2_MIN_WORDS)
			return 0;
		if (s->url.dom_start > 0)
			EVP_DigestUpdate(l->md5, s->url.doms_buf, s->url.dom_start - 1);
	}
	EVP_DigestFinal_ex(l->md5, sum, &len);
	return 1;
}
