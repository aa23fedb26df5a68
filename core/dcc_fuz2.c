/*
 * dcc_fuz2: DCC's second fuzzy body checksum (protocol doc 11): the
 * dictionary words of the decoded text, one MD5 per language, HTML tags
 * skipped and counted, with the URL host list as a last resort for short
 * messages.  Counters and limits follow the reference exactly because the
 * "is this mostly text" test at the end depends on every one of them.
 */
#include <stdlib.h>

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
	z->wa = z->wb = 0;
	z->st = F2_WORD;
	z->cref.st = 0;
	z->btotal = 0;
	z->xsummed = 0;
	z->tag_len = 0;
	for (i = 0; i < DCC_FUZ2_LANGS; i++) {
		z->lang[i].wsummed = 0;
		z->lang[i].wtotal = 0;
	}
	z->rec_len = 0;
	z->rec_n = 0;
	z->oom = 0;
	z->spilled = 0;
}

/* append a word (16 bytes available at w, wl of them real) to a
 * language's stream */
static void lang_put(struct dcc_fuz2 *z, int i, const uint8_t *w, unsigned wl)
{
	memcpy(&z->lbuf[i][z->lblen[i]], w, DCC_WORD);
	z->lblen[i] += wl;
	if (z->lblen[i] >= 1024) {
		EVP_DigestUpdate(z->lmd5[i], z->lbuf[i], z->lblen[i]);
		z->lblen[i] = 0;
	}
}

static void spill(struct dcc_fuz2 *z)
{
	size_t k, off;
	int i;

	for (i = 0; i < DCC_FUZ2_LANGS; i++) {
		z->lblen[i] = 0;
		if (z->lmd5[i] == NULL) /* else an earlier message's */
			z->lmd5[i] = EVP_MD_CTX_new();
		if (z->lmd5[i] == NULL || EVP_DigestInit_ex(z->lmd5[i], z->md, NULL) != 1) {
			z->oom = 1;
			return;
		}
	}
	for (k = 0, off = 0; k < z->rec_n; k++) {
		unsigned h = z->rec[z->rec_cap + k];

		for (i = 0; i < DCC_FUZ2_LANGS; i++)
			if ((h >> 4) & (1u << i))
				lang_put(z, i, &z->rec[off], (h & 15) + 1);
		off += (h & 15) + 1;
	}
	z->rec_len = 0;
	z->rec_n = 0;
	z->spilled = 1;
}

/* Store a word register as 8 little-endian bytes. */
static void store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}

/* Record a word (or, once spilled, hash it into its languages); kept
 * out of line so the common path saves no registers. */
__attribute__((noinline)) static void add_word_slow(struct dcc_fuz2 *z, unsigned bits)
{
	uint8_t *r, word[DCC_WORD];
	int i;

	if (!z->spilled && z->rec_len + DCC_WORD > DCC_FUZ2_REC_MAX)
		spill(z);
	if (z->oom)
		return;
	if (z->spilled) {
		store64(word, z->wa);
		store64(word + 8, z->wb);
		for (i = 0; i < DCC_FUZ2_LANGS; i++)
			if (bits & (1u << i))
				lang_put(z, i, word, z->wlen);
		return;
	}
	if (z->rec_cap - z->rec_len < DCC_WORD) {
		size_t cap = z->rec_cap ? 2 * z->rec_cap : 8192;

		/* the words stay, the length bytes move to the new end */
		r = realloc(z->rec, cap + cap / 2);
		if (r == NULL) {
			z->oom = 1;
			return;
		}
		memmove(r + cap, r + z->rec_cap, z->rec_n);
		z->rec = r;
		z->rec_cap = cap;
	}
	store64(&z->rec[z->rec_len], z->wa);
	store64(&z->rec[z->rec_len + 8], z->wb);
	z->rec[z->rec_cap + z->rec_n++] = (uint8_t)(bits << 4 | (z->wlen - 1));
	z->rec_len += z->wlen;
}

/* The word in z->wa, z->wb, z->wlen is complete: count and record it
 * when a dictionary knows it.  lmask drops Polish outside Latin-2. */
static void add_word(struct dcc_fuz2 *z, unsigned lmask)
{
	unsigned bits = drp_dcc_dict_lookup_packed(z->wa, z->wb, z->wlen) & lmask;
	unsigned wlen = z->wlen, b0, b1, b2, b3;
	uint8_t *r;

	if (z->oom)
		return;
	/* the record never grows past DCC_FUZ2_REC_MAX and is emptied when
	 * spilled, so room in it means no spill and no allocation is due */
	if (z->rec_cap - z->rec_len < DCC_WORD || z->spilled) {
		if (bits == 0)
			return;
		for (int i = 0; i < DCC_FUZ2_LANGS; i++) {
			if (bits & (1u << i)) {
				++z->lang[i].wtotal;
				z->lang[i].wsummed += wlen;
			}
		}
		add_word_slow(z, bits);
		return;
	}
	/* Whether the word is known is data, not a pattern a branch predictor
	 * can learn: count and record without branching on it (a word of no
	 * language is written and then not kept). */
	b0 = bits & 1;
	b1 = (bits >> 1) & 1;
	b2 = (bits >> 2) & 1;
	b3 = bits >> 3;
	z->lang[0].wtotal += b0;
	z->lang[1].wtotal += b1;
	z->lang[2].wtotal += b2;
	z->lang[3].wtotal += b3;
	z->lang[0].wsummed += wlen & -b0;
	z->lang[1].wsummed += wlen & -b1;
	z->lang[2].wsummed += wlen & -b2;
	z->lang[3].wsummed += wlen & -b3;
	r = &z->rec[z->rec_len];
	store64(r, z->wa);
	store64(r + 8, z->wb);
	z->rec[z->rec_cap + z->rec_n] = (uint8_t)(bits << 4 | (wlen - 1));
	z->rec_len += wlen & -(size_t)(bits != 0);
	z->rec_n += bits != 0;
}

/* the languages a word may count for in the current entity */
static unsigned lang_mask(const struct drp_dcc_state *s)
{
	return s->cset == drp_dcc_cset_latin2 ? 15u : 15u & ~(1u << LANG_POLISH);
}

/*
 * Pack a run of k (1..16) letters at p, each through the character
 * classes, into the word registers.  ASCII letters are their own lower
 * case in both class tables, so a run without high bytes needs no table:
 * it is loaded whole (when 16 bytes are readable) and OR-ed with 0x20.
 */
static inline __attribute__((always_inline)) void pack_run(const uint8_t *p, unsigned k,
                                                           const uint8_t *end, const uint8_t *cset,
                                                           uint64_t *wa, uint64_t *wb)
{
	static const uint64_t hi = 0x8080808080808080u, lc = 0x2020202020202020u;
	uint64_t a = 0, b = 0, ma, mb;
	unsigned i;

	/* k is 1..16: the low k bytes of the pair of words */
	ma = ~(uint64_t)0 >> (k >= 8 ? 0 : 64 - 8 * k);
	mb = k <= 8 ? 0 : ~(uint64_t)0 >> (128 - 8 * k);
	if (end - p >= 16) {
		a = dcc_load64(p) & ma;
		b = dcc_load64(p + 8) & mb;
		if (((a | b) & hi) == 0) {
			*wa = a | (lc & ma);
			*wb = b | (lc & mb);
			return;
		}
		a = b = 0;
	}
	for (i = 0; i < k && i < 8; i++)
		a |= (uint64_t)cset[p[i]] << (8 * i);
	for (; i < k; i++)
		b |= (uint64_t)cset[p[i]] << (8 * (i - 8));
	*wa = a;
	*wb = b;
}

/*
 * The end of a run of letters starting at p.  Eight ASCII bytes at a
 * time: a byte is an ASCII letter when (c | 0x20) is in 'a'..'z', which
 * in both class tables is exactly a class >= 'a'.  A high byte stops the
 * word-at-a-time test (the carry it may cause only reaches later bytes)
 * and is looked up in the table.
 */
static const uint8_t *scan_letters(const uint8_t *q, const uint8_t *end, const uint8_t *cset)
{
	static const uint64_t hi = 0x8080808080808080u, lc = 0x2020202020202020u,
	                      ge_a = 0x1f1f1f1f1f1f1f1fu, gt_z = 0x0505050505050505u;

	while (end - q >= 8) {
		uint64_t w = dcc_load64(q), x = w | lc;
		uint64_t non = ~((x + ge_a) & ~(x + gt_z) & ~w) & hi;

		if (non != 0) {
			q += __builtin_ctzll(non) >> 3;
			break;
		}
		q += 8;
	}
	while (q < end && cset[*q] >= 'a')
		q++;
	return q;
}

/*
 * The common case of the word state: no character reference pending and
 * the previous byte a separator.  Whole tokens are taken at once: a run
 * of separators is skipped, a run of letters ended by a separator is a
 * word.  Anything else (a run ending in another byte, a '<', an '&', or
 * the end of the input) leaves the run so far in the word state for the
 * byte-wise loop.  Returns the bytes consumed.
 */
#if !defined(__SSE2__)
/* 0x80 in every byte of w that is not an ASCII letter (see scan_letters;
 * bytes after the first such one may be wrong) */
static inline uint64_t non_letters(uint64_t w)
{
	static const uint64_t hi = 0x8080808080808080u, lc = 0x2020202020202020u,
	                      ge_a = 0x1f1f1f1f1f1f1f1fu, gt_z = 0x0505050505050505u;
	uint64_t x = w | lc;

	return ~((x + ge_a) & ~(x + gt_z) & ~w) & hi;
}
#endif

/* bit 16i for each language bit i: the four word counters as 16-bit lanes */
static const uint64_t lang_lanes[16] = {
    0x0000000000000000u, 0x0000000000000001u, 0x0000000000010000u, 0x0000000000010001u,
    0x0000000100000000u, 0x0000000100000001u, 0x0000000100010000u, 0x0000000100010001u,
    0x0001000000000000u, 0x0001000000000001u, 0x0001000000010000u, 0x0001000000010001u,
    0x0001000100000000u, 0x0001000100000001u, 0x0001000100010000u, 0x0001000100010001u,
};

/* words between flushes of the lanes: 15 letters a word must not carry
 * a lane past 16 bits */
#define LANE_WORDS 4096

/* bit i set when byte i of the 16 at p is not an ASCII letter */
static inline unsigned non_letters16(const uint8_t *p)
{
#if defined(__SSE2__)
	/* as signed bytes, c | 0x20 is in 'a'..'z' only for ASCII letters:
	 * bytes >= 0x80 are negative */
	__m128i x =
	    _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)p), _mm_set1_epi8(0x20));
	__m128i l = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('a' - 1)),
	                          _mm_cmplt_epi8(x, _mm_set1_epi8('z' + 1)));

	return ~(unsigned)_mm_movemask_epi8(l) & 0xffff;
#else
	uint64_t n0 = non_letters(dcc_load64(p)), n1 = non_letters(dcc_load64(p + 8));
	unsigned m = 0;

	/* only the lowest set bit is used, and non_letters is exact up to it */
	for (int i = 0; i < 8; i++)
		m |= (unsigned)((n0 >> (8 * i + 7)) & 1) << i | (unsigned)((n1 >> (8 * i + 7)) & 1)
		                                                    << (i + 8);
	return m;
#endif
}

/*
 * The bulk of plain text: a run of 0..15 ASCII letters followed by a
 * separator, with 17 bytes readable.  An empty run is a separator; the
 * others are words, answered from the word cache when they are in it, and
 * recorded and counted with no branch on their length or on the answer,
 * the counters kept in registers until the loop ends.  Anything else
 * returns to the caller, which takes that token the general way.  Needs
 * room in the record for a word and no spill (the caller checks).
 */
static const uint8_t *fast_words(struct dcc_fuz2 *z, const uint8_t *p, const uint8_t *end,
                                 const uint8_t *cset, unsigned lmask, unsigned *btotal)
{
	static const uint64_t lc = 0x2020202020202020u;
	uint8_t *rec = z->rec, *hdr = z->rec + z->rec_cap;
	size_t rl = z->rec_len, rn = z->rec_n, lim = z->rec_cap - DCC_WORD;
	uint64_t wt = 0, ws = 0;
	unsigned bt = *btotal, cnt = 0;

	while (end - p > 16 && rl <= lim && cnt < LANE_WORDS) {
		unsigned k = (unsigned)__builtin_ctz(non_letters16(p) | 0x10000), bits, ci;
		uint64_t a, b;
		uint8_t *r;

		if (k == 16 || cset[p[k]] != DCC_FC_SP)
			break;
		/* ASCII letters OR 0x20 are their class in both tables */
		a = (dcc_load64(p) | lc) & dcc_len_mask[k][0];
		b = (dcc_load64(p + 8) | lc) & dcc_len_mask[k][1];
		/* an empty run (a separator) is the key 0: the zeroed cache or,
		 * once a word took that entry, the dictionary answers 0 */
		ci = (unsigned)(((a ^ (b * 0x9e3779b97f4a7c15u)) * 0xc2b2ae3d27d4eb4fu) >>
		                (64 - DCC_WCACHE_BITS));
		if (z->wc_key[ci][0] == a && z->wc_key[ci][1] == b) {
			bits = z->wc_bits[ci];
		} else {
			bits = drp_dcc_dict_lookup_packed(a, b, k);
			z->wc_key[ci][0] = a;
			z->wc_key[ci][1] = b;
			z->wc_bits[ci] = (uint8_t)bits;
		}
		bits &= lmask;
		r = rec + rl;
		store64(r, a);
		store64(r + 8, b);
		hdr[rn] = (uint8_t)(bits << 4 | ((k - 1) & 15));
		rl += k & -(size_t)(bits != 0);
		rn += bits != 0;
		wt += lang_lanes[bits];
		ws += lang_lanes[bits] * k;
		++cnt;
		bt += k;
		p += k + 1;
	}
	z->rec_len = rl;
	z->rec_n = rn;
	for (int i = 0; i < DCC_FUZ2_LANGS; i++) {
		z->lang[i].wtotal += (unsigned)(wt >> (16 * i)) & 0xffff;
		z->lang[i].wsummed += (unsigned)(ws >> (16 * i)) & 0xffff;
	}
	*btotal = bt;
	return p;
}

static size_t fuz2_tokens(struct drp_dcc_state *s, const uint8_t *p, size_t n)
{
	struct dcc_fuz2 *z = &s->fuz2;
	const uint8_t *cset = s->cset, *start = p, *end = p + n;
	unsigned btotal = z->btotal, lmask = lang_mask(s);

	while (p < end) {
		const uint8_t *q;
		unsigned k;

		if (end - p > 16 && !z->oom && !z->spilled && z->rec_cap - z->rec_len >= DCC_WORD) {
			p = fast_words(z, p, end, cset, lmask, &btotal);
			if (p == end)
				break;
		}
		if (cset[*p] == DCC_FC_SP) {
			++p;
			continue;
		}
		q = scan_letters(p, end, cset);
		k = (unsigned)(q - p);
		btotal += k;
		if (q < end && cset[*q] == DCC_FC_SP) {
			if (k >= 3 && k <= DCC_WORD) {
				pack_run(p, k, end, cset, &z->wa, &z->wb);
				z->wlen = k;
				add_word(z, lmask);
			}
			p = q + 1;
			continue;
		}
		/* hand the run and the byte after it to the byte-wise loop */
		z->wa = z->wb = 0;
		z->wlen = k;
		if (k > DCC_WORD)
			z->wlen = WORD_JUNK;
		else if (k != 0)
			pack_run(p, k, end, cset, &z->wa, &z->wb);
		z->btotal = btotal;
		return (size_t)(q - start);
	}
	z->wa = z->wb = 0;
	z->wlen = 0;
	z->btotal = btotal;
	return n;
}

void drp_dcc_fuz2(struct drp_dcc_state *s, const uint8_t *p, size_t n)
{
	struct dcc_fuz2 *z = &s->fuz2;
	int r;
	uint8_t c;

	while (n != 0) {
		switch (z->st) {
		case F2_WORD: {
			/* the word lives in registers: no byte stores to reload */
			const uint8_t *cset = s->cset;
			unsigned wlen, btotal;
			uint64_t wa, wb;
			int html = s->ct == DCC_CT_HTML;

			if (z->wlen == 0 && z->cref.st == 0) {
				size_t k = fuz2_tokens(s, p, n);

				p += k;
				if ((n -= k) == 0)
					break;
			}
			wlen = z->wlen;
			btotal = z->btotal;
			wa = z->wa;
			wb = z->wb;
			do {
				--n;
				c = *p++;
				if (z->cref.st != 0 || (c == '&' && html)) {
					r = drp_dcc_cref(&z->cref, c);
					if (r == DCC_CREF_MORE)
						continue;
					if (r == DCC_CREF_REREAD) {
						++n;
						--p;
					}
					c = z->cref.result;
				}
				c = cset[c];
				if (c >= 'a') {
					++btotal;
					if (wlen < 8)
						wa |= (uint64_t)c << (8 * wlen++);
					else if (wlen < DCC_WORD)
						wb |= (uint64_t)c << (8 * (wlen++ - 8));
					else
						wlen = WORD_JUNK;
					continue;
				}
				if (c == DCC_FC_SP) {
					if (wlen >= 3 && wlen <= DCC_WORD) {
						z->wlen = wlen;
						z->wa = wa;
						z->wb = wb;
						z->btotal = btotal;
						add_word(z, lang_mask(s));
					}
					wlen = 0;
					wa = wb = 0;
					/* back to whole tokens */
					if (z->cref.st == 0)
						break;
					continue;
				}
				++btotal;
				if (c == DCC_FC_LT) {
					z->tag_len = 0;
					memset(z->tag, 0, sizeof(z->tag));
					z->st = F2_START_TAG;
					break;
				}
				wlen = WORD_JUNK;
			} while (n != 0);
			z->wlen = wlen;
			z->btotal = btotal;
			z->wa = wa;
			z->wb = wb;
			break;
		}

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
}

int drp_dcc_fuz2_fin(struct drp_dcc_state *s, uint8_t sum[16], const uint8_t **p, size_t *n)
{
	struct dcc_fuz2 *z = &s->fuz2;
	unsigned len = 16, all;
	size_t k, off, blen = 0, need;
	int i, win = 0, urls;

	for (i = 1; i < DCC_FUZ2_LANGS; i++)
		if (z->lang[win].wtotal < z->lang[i].wtotal)
			win = i;
	/* not mostly words: a few words in a big binary */
	if (z->lang[win].wtotal < DCC_FUZ2_FEW_WORDS &&
	    (z->lang[win].wsummed + z->xsummed) * 10 < z->btotal)
		return 0;
	/* short messages may make up with the URL host names */
	if (z->lang[win].wtotal < DCC_FUZ2_MIN_WORDS &&
	    z->lang[win].wtotal + s->url.doms * (DCC_FUZ2_MIN_WORDS / 2) < DCC_FUZ2_MIN_WORDS)
		return 0;
	urls = z->lang[win].wtotal < DCC_FUZ2_MIN_WORDS && s->url.dom_start > 0;

	if (z->spilled) {
		EVP_MD_CTX *c = z->lmd5[win];

		if (z->lblen[win] != 0)
			EVP_DigestUpdate(c, z->lbuf[win], z->lblen[win]);
		if (urls)
			EVP_DigestUpdate(c, s->url.doms_buf, s->url.dom_start - 1);
		EVP_DigestFinal_ex(c, sum, &len);
		return 1;
	}
	/* the whole record is the winner's stream when every word in it
	 * counts for the winner (the usual case): no copy */
	for (k = 0, all = 0xff; k < z->rec_n; k++)
		all &= z->rec[z->rec_cap + k];
	if (((all >> (4 + win)) & 1) && !urls) {
		*p = z->rec_len != 0 ? z->rec : (const uint8_t *)"";
		*n = z->rec_len;
		return 2;
	}
	/* else the winner's words, in order, without separators: never more
	 * than the record, plus a fixed 16-byte copy's overhang and the hosts */
	need = z->rec_len + DCC_WORD + sizeof(s->url.doms_buf);
	if (z->win_cap < need) {
		uint8_t *w = realloc(z->win, need);

		if (w == NULL) {
			z->oom = 1;
			return 0;
		}
		z->win = w;
		z->win_cap = need;
	}
	for (k = 0, off = 0; k < z->rec_n; k++) {
		unsigned h = z->rec[z->rec_cap + k], wl = (h & 15) + 1;

		/* every word is copied (16 bytes, fixed) and only the winner's
		 * kept: a word's languages are no pattern to branch on */
		memcpy(&z->win[blen], &z->rec[off], DCC_WORD);
		blen += wl & -((h >> (4 + win)) & 1u);
		off += wl;
	}
	if (urls) {
		memcpy(&z->win[blen], s->url.doms_buf, s->url.dom_start - 1);
		blen += s->url.dom_start - 1;
	}
	*p = z->win;
	*n = blen;
	return 2;
}
