/*
 * dcc_fuz1: DCC's first fuzzy body checksum (protocol doc 10): the ASCII
 * letters of the body, line by line, without greeting lines and with URLs
 * cut down to the last two labels of their host.  Also owns the URL
 * scanner (whose host list feeds Fuz2) and the HTML character reference
 * decoder shared with Fuz2.  Buffer sizes, limits and the order of the
 * checks are those of the reference, since each of them shows in the sum.
 */
#include "dcc_ck_int.h"

/* URL scanner states */
enum {
	URL_IDLE,
	URL_QUOTE,
	URL_QH,
	URL_T1,
	URL_T2,
	URL_P,
	URL_S,
	URL_COLON,
	URL_SLASH1,
	URL_SLASH2,
	URL_HOST_START,
	URL_HOST,
	URL_SKIP,
};

#define URLF_TOO_LONG 0x01
#define URLF_SQUOTED 0x02
#define URLF_DQUOTED 0x04
#define URLF_QUOTED (URLF_SQUOTED | URLF_DQUOTED)
#define URLF_IDN 0x08
#define URLF_DOT 0x10
#define URLF_USER 0x20

enum { URL_FWD, URL_MAKE_ROOM, URL_SKIPPED };

enum { CREF_IDLE = 0, CREF_START, CREF_NUM, CREF_DEC, CREF_HEX, CREF_NAME };

static int is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static uint8_t entity_byte(const uint8_t *name, size_t len)
{
	size_t lo = 0, hi = drp_dcc_n_entities;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct drp_dcc_entity *e = &drp_dcc_entities[mid];
		size_t k = e->len < len ? e->len : len;
		int c = memcmp(e->name, name, k);

		if (c == 0)
			c = (e->len > len) - (e->len < len);
		if (c == 0)
			return e->byte;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int drp_dcc_cref(struct dcc_cref *r, uint8_t c)
{
	unsigned v;

	switch (r->st) {
	case CREF_IDLE:
		r->st = CREF_START; /* c is the '&' */
		return DCC_CREF_MORE;
	case CREF_START:
		if (c == '#') {
			r->st = CREF_NUM;
		} else if (is_alpha(c)) {
			r->name[0] = c;
			r->len = 1;
			r->st = CREF_NAME;
		} else {
			/* not a reference; the byte is swallowed */
			r->st = CREF_IDLE;
		}
		return DCC_CREF_MORE;
	case CREF_NUM:
		if (c == 'x' || c == 'X') {
			r->result = 0;
			r->st = CREF_HEX;
		} else if (is_digit(c)) {
			r->result = (uint8_t)(c - '0');
			r->st = CREF_DEC;
		} else {
			r->result = '#';
			r->st = CREF_IDLE;
			return DCC_CREF_REREAD;
		}
		return DCC_CREF_MORE;
	case CREF_DEC:
		if (!is_digit(c)) {
			r->st = CREF_IDLE;
			return c == ';' ? DCC_CREF_DONE : DCC_CREF_REREAD;
		}
		v = r->result * 10u + (c - '0');
		r->result = (uint8_t)(v > 255 ? 255 : v);
		return DCC_CREF_MORE;
	case CREF_HEX:
		if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			v = (r->result << 4) + (c & 0xfu) + 9;
		else if (is_digit(c))
			v = (r->result << 4) + (c - '0');
		else {
			r->st = CREF_IDLE;
			return c == ';' ? DCC_CREF_DONE : DCC_CREF_REREAD;
		}
		r->result = (uint8_t)(v > 255 ? 255 : v);
		return DCC_CREF_MORE;
	case CREF_NAME:
		if (is_alpha(c) || is_digit(c)) {
			/* longer names are consumed but not kept */
			if (r->len < DCC_WORD)
				r->name[r->len++] = c;
			return DCC_CREF_MORE;
		}
		r->result = entity_byte(r->name, r->len);
		r->st = CREF_IDLE;
		return c == ';' ? DCC_CREF_DONE : DCC_CREF_REREAD;
	}
	r->st = CREF_IDLE;
	return DCC_CREF_MORE;
}

/* RFC 3492 bias adaptation */
static unsigned puny_adapt(unsigned delta, unsigned npoints, int first)
{
	unsigned k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + ((36 - 1 + 1) * delta) / (delta + 38);
}

/* Replace the label being saved (label_start..dom_end) by its Punycode
 * form; invalid UTF-8 or a result that would not fit leaves it alone. */
static void punyencode(struct dcc_url *u)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t puny[DCC_URL_LABEL_MAX];
	uint32_t uni[DCC_URL_LABEL_MAX + 1];
	unsigned nuni = 0, plen, i, b, h, n, delta, bias;

	u->flags &= ~URLF_IDN;
	i = u->label_start;
	if (i >= u->dom_end)
		return;
	do {
		uint32_t c = u->doms_buf[i++], c2, c3, c4;

		if (c & 0x80) {
			if ((c & 0xe0) == 0xc0) {
				c &= 0x1f;
				if (c == 0 || i >= u->dom_end)
					return;
				c2 = u->doms_buf[i++] ^ 0x80u;
				if (c2 > 0x3f)
					return;
				c = (c << 6) | c2;
			} else if ((c & 0xf0) == 0xe0) {
				c &= 0x0f;
				if (c == 0 || i + 1 >= u->dom_end)
					return;
				c2 = u->doms_buf[i++] ^ 0x80u;
				c3 = u->doms_buf[i++] ^ 0x80u;
				if (c2 > 0x3f || c3 > 0x3f)
					return;
				c = (((c << 6) | c2) << 6) | c3;
			} else if ((c & 0xf8) == 0xf0) {
				c &= 0x07;
				if (c == 0 || i + 2 >= u->dom_end)
					return;
				c2 = u->doms_buf[i++] ^ 0x80u;
				c3 = u->doms_buf[i++] ^ 0x80u;
				c4 = u->doms_buf[i++] ^ 0x80u;
				if (c2 > 0x3f || c3 > 0x3f || c4 > 0x3f)
					return;
				c = (((((c << 6) | c2) << 6) | c3) << 6) | c4;
			} else {
				return;
			}
			if (c > 0x10ffff)
				return;
		}
		if (nuni >= DCC_URL_LABEL_MAX)
			return;
		uni[nuni++] = c;
	} while (i != u->dom_end);
	/* the reference's minimum search reads one element past the label */
	uni[nuni] = 0;

#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (plen >= DCC_URL_LABEL_MAX)                                                     \
			return;                                                                    \
		puny[plen++] = (uint8_t)(ch);                                                      \
	} while (0)

	memcpy(puny, "xn--", 4);
	plen = 4;
	n = 0x80;
	delta = 0;
	bias = 72;
	b = 0;
	for (i = 0; i < nuni; i++) {
		if (uni[i] < 0x80) {
			PUT(uni[i]);
			b++;
		}
	}
	if (b != 0)
		PUT('-');
	h = b;
	while (h < nuni) {
		uint32_t m = 0x110000;

		for (i = 0; i <= nuni; i++)
			if (uni[i] < m && uni[i] >= n)
				m = uni[i];
		delta += (m - n) * (h + 1);
		n = m;
		for (i = 0; i < nuni; i++) {
			if (uni[i] < n) {
				++delta;
			} else if (uni[i] == n) {
				unsigned k, q = delta;

				for (k = 36;; k += 36) {
					unsigned t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;

					if (q < t)
						break;
					PUT(digits[t + (q - t) % (36 - t)]);
					q = (q - t) / (36 - t);
				}
				PUT(digits[q]);
				bias = puny_adapt(delta, h + 1, h == b);
				delta = 0;
				++h;
			}
		}
		++delta;
		++n;
	}
#undef PUT
	if (u->label_start + plen <= DCC_URL_HOST_MAX) {
		u->dom_end = u->label_start + plen;
		memcpy(&u->doms_buf[u->label_start], puny, plen);
	}
}

static void url_reset_host(struct dcc_url *u, int start)
{
	u->start = start;
	u->tld = -1;
	u->sld = -1;
	u->dom_end = u->dom_start;
	u->label_start = u->dom_end;
	u->punct = 0;
	u->dot1 = 0;
	u->dot2 = 0;
	u->total = 0;
	u->flags &= ~(URLF_IDN | URLF_DOT);
}

static void url_host_save(struct dcc_url *u, uint8_t c)
{
	if (u->dom_end - u->dom_start >= DCC_URL_HOST_MAX) {
		url_reset_host(u, -1);
		u->flags |= URLF_TOO_LONG;
		u->st = URL_IDLE;
	}
	if (u->flags & URLF_TOO_LONG)
		return;
	u->doms_buf[u->dom_end++] = c;
}

/* The host name is complete (10.4). */
static void url_host_end(struct drp_dcc_state *s)
{
	struct dcc_url *u = &s->url;
	struct dcc_fuz1 *f = &s->fuz1;

	if (u->punct != 0)
		u->dom_end = u->punct;
	if (u->dom_end <= u->dom_start || (u->flags & URLF_TOO_LONG))
		return;
	if (u->flags & URLF_IDN)
		punyencode(u);
	u->doms_buf[u->dom_end++] = '\0';

	/* keep only the last two labels in Fuz1 (and, while Fuz2 may still
	 * want host names, in the list) */
	if (u->dot2 != 0 && u->start >= 0 && u->sld >= u->start && u->sld <= f->cp) {
		int len = f->cp - u->sld;

		memmove(&f->buf[u->start], &f->buf[u->sld], (size_t)len);
		if (f->eol >= f->cp)
			f->eol = u->start + len;
		f->cp = u->start + len;
		if (s->fuz2.lang[0].wtotal < DCC_FUZ2_MIN_WORDS) {
			unsigned n = u->dom_end - u->dot2;

			memmove(&u->doms_buf[u->dom_start], &u->doms_buf[u->dot2], n);
			u->dom_end = u->dom_start + n;
		}
	}
	u->dom_start = u->dom_end;
	++u->doms;
}

static int url_end_state(const struct dcc_url *u, unsigned quoted_flags)
{
	return (u->flags & quoted_flags) ? URL_SKIP : URL_IDLE;
}

/* One (lowercased) byte through the URL scanner; *reread is set when the
 * byte must be read again after a character reference ended on it. */
static int url_scan(struct drp_dcc_state *s, uint8_t c, int *reread)
{
	struct dcc_url *u = &s->url;

	if (c == '&' || u->cref.st != CREF_IDLE) {
		int r = drp_dcc_cref(&u->cref, c);

		if (r == DCC_CREF_MORE)
			return URL_FWD;
		*reread = r == DCC_CREF_REREAD;
		c = u->cref.result;
	}

	switch (u->st) {
	case URL_IDLE:
		if (c == 'h') {
			u->st = URL_T1;
			u->flags = 0;
		} else if (c == '=') {
			u->st = URL_QUOTE;
			u->flags = 0;
		}
		break;
	case URL_QUOTE:
		if (c == 'h') {
			u->st = URL_T1;
		} else if (c == '"') {
			u->flags |= URLF_DQUOTED;
			u->st = URL_QH;
		} else if (c == '\'') {
			/* the reference ORs the state: QUOTE|QH is T1 */
			u->flags = URLF_SQUOTED;
			u->st = URL_T1;
		} else {
			u->st = URL_IDLE;
		}
		break;
	case URL_QH:
		u->st = c == 'h' ? URL_T1 : URL_IDLE;
		break;
	case URL_T1:
		u->st = c == 't' ? URL_T2 : URL_IDLE;
		break;
	case URL_T2:
		u->st = c == 't' ? URL_P : URL_IDLE;
		break;
	case URL_P:
		u->st = c == 'p' ? URL_S : URL_IDLE;
		break;
	case URL_S:
		u->st = c == 's' ? URL_COLON : c == ':' ? URL_SLASH1 : URL_IDLE;
		break;
	case URL_COLON:
		u->st = c == ':' ? URL_SLASH1 : URL_IDLE;
		break;
	case URL_SLASH1:
		u->st = c == '/' ? URL_SLASH2 : URL_IDLE;
		break;
	case URL_SLASH2:
		if (c != '/') {
			u->st = URL_IDLE;
			break;
		}
		/* room for one more name in the host list: forget them all
		 * once Fuz2 cannot need them, else drop the oldest */
		if (s->fuz2.lang[0].wtotal >= DCC_FUZ2_MIN_WORDS) {
			u->dom_start = 0;
		} else {
			while (u->dom_start > sizeof(u->doms_buf) - DCC_URL_HOST_SAVE) {
				uint8_t *z = memchr(u->doms_buf, 0, u->dom_start);
				unsigned drop;

				if (z == NULL) { /* cannot happen: names end in NUL */
					u->dom_start = 0;
					break;
				}
				drop = (unsigned)(z + 1 - u->doms_buf);
				u->dom_start -= drop;
				memmove(u->doms_buf, z + 1, u->dom_start);
			}
		}
		u->st = URL_HOST_START;
		return URL_MAKE_ROOM;
	case URL_HOST_START:
		url_reset_host(u, s->fuz1.cp);
		u->st = URL_HOST;
		/* fall through */
	case URL_HOST:
		if (++u->total > DCC_URL_FAILSAFE) {
			u->st = URL_IDLE;
			break;
		}
		if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_')) {
			if (c == '.' && u->punct == 0) {
				if (u->flags & URLF_DOT) {
					/* ".." ends the name */
					u->punct = u->dom_end;
					break;
				}
				u->flags |= URLF_DOT;
				break;
			}
			if (c == '/' || c == '\\') {
				url_host_end(s);
				u->st = URL_SKIP;
				break;
			}
			if (c == '"') {
				url_host_end(s);
				u->st = url_end_state(u, URLF_SQUOTED);
				break;
			}
			if (c == '\'') {
				url_host_end(s);
				u->st = url_end_state(u, URLF_DQUOTED);
				break;
			}
			if (c == '<' || c == '>' || c <= ' ' ||
			    (c == 0xa0 && !(u->flags & URLF_IDN))) {
				url_host_end(s);
				u->st = url_end_state(u, URLF_QUOTED);
				break;
			}
			if (c == '@' && !(u->flags & URLF_USER)) {
				/* user name and password are not part of it */
				u->flags |= URLF_USER;
				s->fuz1.cp = u->start;
				u->st = URL_HOST_START;
				break;
			}
			if (c == ':' || ((c == ';' || c == '?' || c == '&' || c == '=' ||
			                  c == '$' || c == '+' || c == '!' || c == '*' ||
			                  c == '(' || c == ')' || c == ',') &&
			                 !(u->flags & URLF_USER))) {
				if (u->punct == 0)
					u->punct = u->dom_end;
			} else if ((c & 0xc0) == 0xc0 && u->punct == 0) {
				u->flags |= URLF_IDN;
			} else {
				url_host_end(s);
				u->st = url_end_state(u, URLF_QUOTED);
				break;
			}
		}
		if (u->punct == 0) {
			if (u->flags & URLF_DOT) {
				u->flags &= ~URLF_DOT;
				if (u->flags & URLF_IDN)
					punyencode(u);
				url_host_save(u, '.');
				u->dot2 = u->dot1;
				u->dot1 = u->dom_end;
				u->label_start = u->dom_end;
				u->sld = u->tld;
				u->tld = s->fuz1.cp;
			}
			url_host_save(u, c);
		}
		break;
	case URL_SKIP:
		++u->total;
		if ((c == '"' && !(u->flags & URLF_SQUOTED)) ||
		    (c == '\'' && !(u->flags & URLF_DQUOTED)) ||
		    (c == '>' && !(u->flags & URLF_QUOTED)) || c == ' ' || c == '\t' || c == '\n' ||
		    c == '\r' || (c == 0xa0 && !(u->flags & URLF_IDN)) ||
		    u->total > DCC_URL_FAILSAFE)
			u->st = URL_IDLE;
		return URL_SKIPPED;
	}
	return URL_FWD;
}

void drp_dcc_fuz1_init(struct drp_dcc_state *s)
{
	struct dcc_fuz1 *f = &s->fuz1;

	f->total = 0;
	f->cp = 0;
	f->eol = -1;
	s->url.st = URL_IDLE;
	s->url.cref.st = CREF_IDLE;
	s->url.flags = 0;
	s->url.start = -1;
	s->url.tld = s->url.sld = -1;
}

/* MD5 the first n letters of the buffer, never beyond 4096 in total. */
static void fuz1_sum(struct dcc_fuz1 *f, int n)
{
	unsigned len = (unsigned)n;

	if (f->total + len > DCC_FUZ1_MAX)
		len = DCC_FUZ1_MAX - f->total;
	if (len == 0)
		return;
	EVP_DigestUpdate(f->md5, f->buf, len);
	f->total += len;
}

static int dear_line(const uint8_t *p, int len)
{
	/* the word and at least one more letter */
	return (len >= 5 && memcmp(p, "dear", 4) == 0) ||
	       (len >= 6 && memcmp(p, "hello", 5) == 0) ||
	       (len >= 9 && memcmp(p, "greeting", 8) == 0) ||
	       (len >= 5 && memcmp(p, "date", 4) == 0);
}

enum { F1_IGNORE = 0, F1_LETTER, F1_SPECIAL };

/* Fuz1 bytes: letters are kept, 'h' and '=' may start a URL, LF ends a
 * line; everything else is ignored while no URL is being scanned */
static const uint8_t fuz1_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

void drp_dcc_fuz1(struct drp_dcc_state *s, const uint8_t *p, size_t n)
{
	struct dcc_fuz1 *f = &s->fuz1;
	const uint8_t *end = p + n;

	while (p < end) {
		uint8_t c;

		if (s->url.st == URL_IDLE) {
			/* the common case: letters and bytes nobody looks at */
			int cp = f->cp;
			uint8_t *buf = f->buf;

			while (p < end) {
				unsigned k = fuz1_class[*p];

				if (k == F1_SPECIAL) {
					uint8_t x;

					/* 'h' not followed by 't': the scanner would
					 * only go to T1 and back, taking the next
					 * byte with it (not re-examined as a URL
					 * start); LF and '&' need the slow path */
					if ((*p | 0x20) != 'h' || p + 1 >= end ||
					    s->url.cref.st != CREF_IDLE || cp + 2 >= DCC_FUZ1_BUF)
						break;
					x = p[1];
					if ((x | 0x20) == 't' || x == '\n' || x == '&')
						break;
					buf[cp++] = 'h';
					s->url.flags = 0;
					buf[cp] = x | 0x20;
					cp += (uint8_t)((x | 0x20) - 'a') < 26;
					p += 2;
					continue;
				}
				/* branch-free: an ignored byte is written
				 * and then overwritten */
				buf[cp] = *p++ | 0x20;
				cp += (int)k;
				if (cp >= DCC_FUZ1_BUF) {
					fuz1_sum(f, cp);
					cp = 0;
					f->eol = -1;
				}
			}
			f->cp = cp;
			if (p == end)
				break;
		}
		c = *p++;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c == 'h' || c == '=' || s->url.st != URL_IDLE) {
			int reread = 0;

			switch (url_scan(s, c, &reread)) {
			case URL_FWD:
				break;
			case URL_MAKE_ROOM:
				while (f->cp >= DCC_FUZ1_BUF - DCC_URL_HOST_MAX) {
					if (f->eol < 0) {
						fuz1_sum(f, f->cp);
						f->cp = 0;
					} else {
						fuz1_sum(f, f->eol);
						memmove(f->buf, &f->buf[f->eol],
						        (size_t)(f->cp - f->eol));
						f->cp -= f->eol;
						f->eol = -1;
					}
				}
				break;
			case URL_SKIPPED:
				if (reread)
					--p;
				continue;
			}
			if (reread)
				--p;
		}

		if (c >= 'a' && c <= 'z') {
			f->buf[f->cp] = c;
			if (++f->cp < DCC_FUZ1_BUF)
				continue;
			fuz1_sum(f, f->cp);
			f->cp = 0;
			f->eol = -1;
			s->url.st = URL_IDLE;
			continue;
		}
		if (c == '\n') {
			int len;

			if (f->eol >= 0 && (len = f->cp - f->eol) > 0 && len <= DCC_FUZ1_LINE &&
			    dear_line(&f->buf[f->eol], len)) {
				f->cp = f->eol;
				s->url.st = URL_IDLE;
				continue;
			}
			if (f->cp >= DCC_FUZ1_BUF - (DCC_FUZ1_LINE + 5)) {
				fuz1_sum(f, f->cp);
				f->cp = 0;
				f->eol = -1;
				s->url.st = URL_IDLE;
				continue;
			}
			f->eol = f->cp;
		}
	}
	/* a buffer that ends with a line end is summed at the end of a call */
	if (f->cp != 0 && f->eol == f->cp) {
		fuz1_sum(f, f->cp);
		f->cp = 0;
		f->eol = -1;
	}
}

int drp_dcc_fuz1_fin(struct drp_dcc_state *s, uint8_t sum[16])
{
	unsigned len = 16;

	if (s->fuz1.total < DCC_MIN_SUM)
		return 0;
	EVP_DigestFinal_ex(s->fuz1.md5, sum, &len);
	return 1;
}
