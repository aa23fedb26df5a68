/* pyzor_digest: see pyzor_digest.h.  Rule references are to sections of
 * shared/docs/pyzor-protocol.md. */
#include "pyzor_digest.h"

#include <errno.h>
#include <iconv.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyzor_tables.h"

#define PZ_MAX_DEPTH 64 /* MIME nesting; deeper parts are read as leaves */

/* ------------------------------------------------------------------ lines */

void drp_pyzor_lines_init(struct drp_pyzor_lines *l)
{
	memset(l, 0, sizeof(*l));
	drp_buf_init(&l->text);
}

void drp_pyzor_lines_free(struct drp_pyzor_lines *l)
{
	drp_buf_free(&l->text);
	free(l->off);
	memset(l, 0, sizeof(*l));
}

struct drp_slice drp_pyzor_line(const struct drp_pyzor_lines *l, size_t i)
{
	if (i >= l->n)
		return DRP_SLICE(NULL, 0);
	return DRP_SLICE(l->text.p + l->off[i], l->off[i + 1] - l->off[i]);
}

/* Close the line that started at `start` (text already appended). */
static int lines_commit(struct drp_pyzor_lines *l, size_t start)
{
	if (l->n + 2 > l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		size_t *no = realloc(l->off, nc * sizeof(*no));

		if (no == NULL)
			return -1;
		l->off = no;
		l->cap = nc;
	}
	l->off[l->n] = start;
	l->off[l->n + 1] = l->text.len;
	l->n++;
	return 0;
}

static int lines_add(struct drp_pyzor_lines *l, const uint8_t *p, size_t n)
{
	size_t start = l->text.len;

	if (drp_buf_append(&l->text, p, n) < 0)
		return -1;
	return lines_commit(l, start);
}

/* ------------------------------------------------------------------ UTF-8 */

static int put_cp(struct drp_buf *b, uint32_t c)
{
	uint8_t t[4];
	size_t n;

	if (c < 0x80) {
		t[0] = (uint8_t)c;
		n = 1;
	} else if (c < 0x800) {
		t[0] = (uint8_t)(0xC0 | (c >> 6));
		t[1] = (uint8_t)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		t[0] = (uint8_t)(0xE0 | (c >> 12));
		t[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
		t[2] = (uint8_t)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		t[0] = (uint8_t)(0xF0 | (c >> 18));
		t[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
		t[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
		t[3] = (uint8_t)(0x80 | (c & 0x3F));
		n = 4;
	}
	return drp_buf_append(b, t, n);
}

/*
 * One code point of possibly invalid UTF-8 at s[0..n).  Returns the bytes
 * used; *cp is the code point or 0xFFFFFFFF for an invalid sequence, in
 * which case the length is that of the maximal invalid subpart (what
 * Python's decoder skips as one error).
 */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t c = s[0];
	uint8_t lo = 0x80, hi = 0xBF;
	size_t need, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*cp = 0xFFFFFFFF;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*cp = 0xFFFFFFFF;
			return i;
		}
		v = (v << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return need + 1;
}

/* -------------------------------------------------------------- charsets */

/* Python's encodings.normalize_encoding after lower-casing (7.7.4). */
static size_t cs_normalize(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	int punct = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.') {
			if (punct && o > 0 && o + 1 < outlen)
				out[o++] = '_';
			if (o + 1 < outlen)
				out[o++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
			punct = 0;
		} else {
			punct = 1;
		}
	}
	out[o] = 0;
	return o;
}

static int alias_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct pz_alias *)e)->name);
}

static const struct pz_codec *cs_lookup(const char *name, size_t len)
{
	char norm[128];
	const struct pz_alias *a;
	size_t i;

	if (len == 0 || len > 100)
		return NULL;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] >= 0x80 || name[i] == 0)
			return NULL;
	cs_normalize(name, len, norm, sizeof(norm));
	a = bsearch(norm, pz_aliases, sizeof(pz_aliases) / sizeof(pz_aliases[0]),
	            sizeof(pz_aliases[0]), alias_cmp);
	if (a == NULL && strchr(norm, '.') != NULL) {
		for (i = 0; norm[i]; i++)
			if (norm[i] == '.')
				norm[i] = '_';
		a = bsearch(norm, pz_aliases, sizeof(pz_aliases) / sizeof(pz_aliases[0]),
		            sizeof(pz_aliases[0]), alias_cmp);
	}
	return a ? &pz_codecs[a->codec] : NULL;
}

static int dec_ascii(const uint8_t *s, size_t n, int replace, struct drp_buf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && s[j] < 0x80)
			j++;
		if (drp_buf_append(out, s + i, j - i) < 0)
			return -1;
		for (i = j; i < n && s[i] >= 0x80; i++)
			if (replace && put_cp(out, 0xFFFD) < 0)
				return -1;
	}
	return 0;
}

static int dec_utf8(const uint8_t *s, size_t n, int replace, struct drp_buf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		uint32_t cp;

		while (j < n && s[j] < 0x80)
			j++;
		if (drp_buf_append(out, s + i, j - i) < 0)
			return -1;
		i = j;
		while (i < n && s[i] >= 0x80) {
			size_t k = utf8_next(s + i, n - i, &cp);

			if (cp != 0xFFFFFFFF) {
				if (drp_buf_append(out, s + i, k) < 0)
					return -1;
			} else if (replace && put_cp(out, 0xFFFD) < 0) {
				return -1;
			}
			i += k;
		}
	}
	return 0;
}

static int dec_table(const uint32_t *t, const uint8_t *s, size_t n, int replace,
                     struct drp_buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t c = t[s[i]];

		if (c == 0xFFFFFFFF) {
			if (replace && put_cp(out, 0xFFFD) < 0)
				return -1;
		} else if (put_cp(out, c) < 0) {
			return -1;
		}
	}
	return 0;
}

static int dec_latin1(const uint8_t *s, size_t n, struct drp_buf *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (put_cp(out, s[i]) < 0)
			return -1;
	return 0;
}

/* iconv to UTF-8; a byte iconv cannot convert is dropped (or replaced) and
 * conversion resumes at the next byte, like Python's multibyte codecs. */
/*
 * Where glibc's CJK tables are not Python's (measured byte by byte against
 * CPython 3.11): glibc decodes the single bytes 0x80-0xA0 of EUC-KR, EUC-JP
 * and the Big5 family as U+0080-U+00A0 and GBK's 0x80 as U+20AC, which
 * Python rejects (dropped with "ignore"); glibc's Shift_JIS has JIS-Roman
 * 0x5C/0x7E (yen, overline) where Python has ASCII.  No multibyte character
 * of those sets decodes to these code points, so fix the output in place.
 */
static int iconv_python_fixup(const char *name, struct drp_buf *out, size_t start, int replace)
{
	int c1 = !strcmp(name, "EUC-KR") || !strcmp(name, "EUC-JP") || !strcmp(name, "BIG5") ||
	         !strcmp(name, "BIG5-HKSCS") || !strcmp(name, "CP950");
	int gbk = !strcmp(name, "GBK"), sjis = !strcmp(name, "SHIFT_JIS");
	struct drp_buf t;
	size_t i;

	if (!c1 && !gbk && !sjis)
		return 0;
	drp_buf_init(&t);
	for (i = start; i < out->len;) {
		uint32_t cp;
		size_t k = utf8_next(out->p + i, out->len - i, &cp);
		int r;

		if ((c1 && cp >= 0x80 && cp <= 0xA0) || (gbk && cp == 0x20AC))
			r = replace ? put_cp(&t, 0xFFFD) : 0;
		else if (sjis && (cp == 0xA5 || cp == 0x203E))
			r = put_cp(&t, cp == 0xA5 ? '\\' : '~');
		else
			r = drp_buf_append(&t, out->p + i, k);
		if (r < 0) {
			drp_buf_free(&t);
			return -1;
		}
		i += k;
	}
	out->len = start;
	if (drp_buf_append(out, t.p, t.len) < 0) {
		drp_buf_free(&t);
		return -1;
	}
	drp_buf_free(&t);
	return 0;
}

static int dec_iconv(const char *name, const uint8_t *s, size_t n, int replace, struct drp_buf *out)
{
	iconv_t cd = iconv_open("UTF-8", name);
	char *in = (char *)(uintptr_t)s;
	size_t inleft = n, start = out->len;
	int rc = 0;

	if (cd == (iconv_t)-1)
		return 1;
	while (inleft > 0) {
		char *op;
		size_t oleft, r;

		if (drp_buf_reserve(out, inleft * 4 + 16) < 0) {
			rc = -1;
			break;
		}
		op = (char *)out->p + out->len;
		oleft = out->cap - out->len - 1;
		r = iconv(cd, &in, &inleft, &op, &oleft);
		out->len = (size_t)((uint8_t *)op - out->p);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL) { /* truncated sequence at the end */
			if (replace && put_cp(out, 0xFFFD) < 0)
				rc = -1;
			break;
		}
		/* EILSEQ */
		if (replace && put_cp(out, 0xFFFD) < 0) {
			rc = -1;
			break;
		}
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	iconv_close(cd);
	if (rc == 0)
		rc = iconv_python_fixup(name, out, start, replace);
	return rc;
}

int drp_pyzor_charset_decode(const char *charset, size_t cslen, const uint8_t *s, size_t n,
                             int replace, struct drp_buf *out)
{
	const struct pz_codec *c = cs_lookup(charset, cslen);

	if (c == NULL)
		return 1;
	switch (c->kind) {
	case PZ_CS_ASCII:
		return dec_ascii(s, n, replace, out);
	case PZ_CS_LATIN1:
		return dec_latin1(s, n, out);
	case PZ_CS_TABLE:
		return dec_table(pz_sb_tables[c->table], s, n, replace, out);
	case PZ_CS_ICONV:
		if (!strcmp(c->name, "utf_8"))
			return dec_utf8(s, n, replace, out);
		if (!strcmp(c->name, "utf_8_sig")) {
			if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) {
				s += 3;
				n -= 3;
			}
			return dec_utf8(s, n, replace, out);
		}
		return dec_iconv(c->iconv, s, n, replace, out);
	}
	return 1;
}

/* ------------------------------------------------------ transfer decoding */

static const int8_t b64val[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
}; /* value + 1; 0 = not in the alphabet */

/*
 * binascii.a2b_base64 (non-strict) over s, then `extra_pads` more '='.
 * Returns 0 ok, 1 on a decoding error (out then holds garbage), -1 OOM.
 */
static int b64_lenient(const uint8_t *s, size_t n, size_t extra_pads, struct drp_buf *out)
{
	unsigned quad = 0, pads = 0, left = 0;
	size_t i;

	if (drp_buf_reserve(out, n / 4 * 3 + 3) < 0)
		return -1;
	for (i = 0; i < n + extra_pads; i++) {
		uint8_t c = i < n ? s[i] : '=';
		int v;

		if (c == '=') {
			if (quad >= 2 && quad + ++pads >= 4)
				return 0;
			continue;
		}
		v = b64val[c] - 1;
		if (v < 0)
			continue;
		pads = 0;
		switch (quad) {
		case 0:
			left = (unsigned)v;
			quad = 1;
			break;
		case 1:
			out->p[out->len++] = (uint8_t)((left << 2) | ((unsigned)v >> 4));
			left = (unsigned)v & 0x0F;
			quad = 2;
			break;
		case 2:
			out->p[out->len++] = (uint8_t)((left << 4) | ((unsigned)v >> 2));
			left = (unsigned)v & 0x03;
			quad = 3;
			break;
		default:
			out->p[out->len++] = (uint8_t)((left << 6) | (unsigned)v);
			quad = 0;
			break;
		}
	}
	return quad != 0 ? 1 : 0;
}

/* email._encoded_words.decode_b over the body with line ends removed (7.7.3). */
int drp_pyzor_b64_decode(const uint8_t *s, size_t n, struct drp_buf *out)
{
	struct drp_buf d;
	size_t i, j, start = out->len, pad;
	int strict_ok = 1, rc;

	drp_buf_init(&d);
	if (drp_buf_reserve(&d, n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			d.p[d.len++] = s[i];
	/* (a) validate=True: [A-Za-z0-9+/]*={0,2} after padding to 4 */
	pad = d.len % 4 ? 4 - d.len % 4 : 0;
	for (i = 0; i < d.len && b64val[d.p[i]]; i++)
		;
	for (j = i; j < d.len && d.p[j] == '='; j++)
		;
	if (j != d.len || (j - i) + pad > 2)
		strict_ok = 0;
	if (strict_ok) {
		rc = b64_lenient(d.p, d.len, pad, out);
		if (rc == 0 || rc < 0)
			goto done;
		out->len = start;
	}
	/* (b) lenient as is, (c) lenient with "==" */
	rc = b64_lenient(d.p, d.len, 0, out);
	if (rc == 0 || rc < 0)
		goto done;
	out->len = start;
	rc = b64_lenient(d.p, d.len, 2, out);
	if (rc == 0 || rc < 0)
		goto done;
	out->len = start;
	/* (d) the data with its line ends removed */
	rc = drp_buf_append(out, d.p, d.len);
done:
	drp_buf_free(&d);
	return rc < 0 ? -1 : 0;
}

static int hexv(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* binascii.a2b_qp, header=False. */
int drp_pyzor_qp_decode(const uint8_t *s, size_t n, struct drp_buf *out)
{
	size_t i = 0;

	if (drp_buf_reserve(out, n) < 0)
		return -1;
	while (i < n) {
		const uint8_t *eq = memchr(s + i, '=', n - i);
		size_t run = eq ? (size_t)(eq - (s + i)) : n - i;

		memcpy(out->p + out->len, s + i, run);
		out->len += run;
		i += run;
		if (i >= n)
			break;
		i++; /* the '=' */
		if (i >= n)
			break;
		if (s[i] == '\n' || s[i] == '\r') {
			if (s[i] != '\n')
				while (i < n && s[i] != '\n')
					i++;
			if (i < n)
				i++;
		} else if (s[i] == '=') {
			out->p[out->len++] = '=';
			i++;
		} else if (i + 1 < n && hexv(s[i]) >= 0 && hexv(s[i + 1]) >= 0) {
			out->p[out->len++] = (uint8_t)(hexv(s[i]) << 4 | hexv(s[i + 1]));
			i += 2;
		} else {
			out->p[out->len++] = '=';
		}
	}
	return 0;
}

/* Python int(x, 8) on a bytes token: ws, sign, 0o, digits with single '_'. */
static int py_octal(const uint8_t *s, size_t n)
{
	size_t i = 0, j = n;
	int digits = 0;

	while (i < j && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
		i++;
	while (j > i && (s[j - 1] == ' ' || (s[j - 1] >= '\t' && s[j - 1] <= '\r')))
		j--;
	if (i < j && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i + 1 < j && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
		i += 2;
		if (i < j && s[i] == '_')
			i++;
	}
	for (; i < j; i++) {
		if (s[i] >= '0' && s[i] <= '7') {
			digits++;
		} else if (s[i] == '_' && digits && i + 1 < j && s[i + 1] >= '0' &&
		           s[i + 1] <= '7') {
			continue;
		} else {
			return 0;
		}
	}
	return digits > 0;
}

/* binascii.a2b_uu on one line; 0 ok, 1 error. */
static int a2b_uu(const uint8_t *s, size_t n, struct drp_buf *out)
{
	unsigned need, left = 0, bits = 0;
	size_t i = 1;

	if (n == 0)
		return 0;
	need = (unsigned)(s[0] - ' ') & 077;
	if (drp_buf_reserve(out, need) < 0)
		return -1;
	while (need > 0) {
		unsigned c = i < n ? s[i] : 0;

		if (c == '\n' || c == '\r' || i >= n) {
			c = 0;
		} else {
			if (c < ' ' || c > ' ' + 64)
				return 1;
			c = (c - ' ') & 077;
		}
		left = (left << 6) | c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->p[out->len++] = (uint8_t)(left >> bits);
			left &= (1u << bits) - 1;
			need--;
		}
		i++;
	}
	for (; i < n; i++)
		if (s[i] != ' ' && s[i] != ' ' + 64 && s[i] != '\n' && s[i] != '\r')
			return 1;
	return 0;
}

/* bytes.splitlines() iteration: next line [*ls, *le) from *pos. */
static int next_bline(const uint8_t *s, size_t n, size_t *pos, size_t *ls, size_t *le)
{
	size_t i = *pos;

	if (i >= n)
		return 0;
	*ls = i;
	while (i < n && s[i] != '\n' && s[i] != '\r')
		i++;
	*le = i;
	if (i < n && s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
		i += 2;
	else if (i < n)
		i++;
	*pos = i;
	return 1;
}

/* email.message._decode_uu (7.7.3). */
int drp_pyzor_uu_decode(const uint8_t *s, size_t n, struct drp_buf *out)
{
	size_t pos = 0, ls, le, start = out->len;
	int found = 0;

	while (next_bline(s, n, &pos, &ls, &le)) {
		const uint8_t *l = s + ls, *sp;
		size_t len = le - ls;

		if (len >= 6 && !memcmp(l, "begin ", 6)) {
			sp = memchr(l + 6, ' ', len - 6);
			if (py_octal(l + 6, sp ? (size_t)(sp - (l + 6)) : len - 6)) {
				found = 1;
				break;
			}
		}
	}
	if (!found)
		return 1;
	while (next_bline(s, n, &pos, &ls, &le)) {
		const uint8_t *l = s + ls;
		size_t len = le - ls, a = 0, b = len;
		int r;

		if (len == 0)
			goto fail;
		while (a < b && (l[a] == ' ' || l[a] == '\t' || l[a] == '\r' || l[a] == '\n' ||
		                 l[a] == '\f'))
			a++;
		while (b > a && (l[b - 1] == ' ' || l[b - 1] == '\t' || l[b - 1] == '\r' ||
		                 l[b - 1] == '\n' || l[b - 1] == '\f'))
			b--;
		if (b - a == 3 && !memcmp(l + a, "end", 3))
			break;
		{
			size_t mark = out->len;

			r = a2b_uu(l, len, out);
			if (r < 0)
				return -1;
			if (r) {
				size_t nb = ((((size_t)l[0] - 32) & 63) * 4 + 5) / 3;

				out->len = mark;
				r = a2b_uu(l, nb < len ? nb : len, out);
				if (r < 0)
					return -1;
				if (r)
					goto fail;
			}
		}
	}
	return 0;
fail:
	out->len = start;
	return 1;
}

/* ---------------------------------------------------- line normalization */

/* ASCII classes: 1 whitespace, 2 whitespace that also ends a line
 * (str.splitlines); NUL is an ordinary character in pyzor 1.0.0. */
static const uint8_t asc_class[128] = {
    ['\t'] = 1, ['\n'] = 2, [0x0b] = 2, [0x0c] = 2, ['\r'] = 2,
    [0x1c] = 2, [0x1d] = 2, [0x1e] = 2, [0x1f] = 1, [' '] = 1,
};

/* Python's str.isspace / re \s for a code point. */
static int py_isspace(uint32_t c)
{
	if (c < 0x80)
		return asc_class[c] == 1 || asc_class[c] == 2;
	return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
	       c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int py_linebreak(uint32_t c)
{
	if (c < 0x80)
		return asc_class[c] == 2;
	return c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* [a-z] under re.IGNORECASE with Unicode semantics */
static int url_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == 0x130 || c == 0x131 ||
	       c == 0x17F || c == 0x212A;
}

/* Decode valid UTF-8 (our own output) at s; returns length. */
static size_t u8dec(const uint8_t *s, size_t n, uint32_t *cp)
{
	size_t k = utf8_next(s, n, cp);

	if (*cp == 0xFFFFFFFF)
		*cp = 0xFFFD; /* cannot happen on our own output; stay total */
	return k;
}

/* Byte classes for the hot loop: 0 a token byte (ASCII, not whitespace),
 * 1 ASCII whitespace, 2 ASCII line break, 3 first byte >= 0x80. */
#define R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const uint8_t ncls[256] = {
    0,      0,      0,      0,      0,      0,      0,      0,      0,      1,      2,
    2,      2,      2,      0,      0,      0,      0,      0,      0,      0,      0,
    0,      0,      0,      0,      0,      0,      2,      2,      2,      1,      1,
    0,      0,      0,      0,      0,      0,      0,      0,      0,      0,      0,
    0,      0,      0,      0,      R16(0), R16(0), R16(0), R16(0), R16(0), R16(3), R16(3),
    R16(3), R16(3), R16(3), R16(3), R16(3), R16(3),
};
#undef R16

/*
 * One token (maximal non-whitespace run, fewer than 10 code points) of a
 * line: apply the e-mail and URL rules (7.3 steps 2, 3) and append what
 * survives to out (room reserved by the caller).  Returns the code points
 * kept.
 */
static long norm_token(const uint8_t *t, size_t n, size_t avail, int ascii, int special,
                       struct drp_buf *out)
{
	uint32_t cp[10];
	size_t off[11], k = 0, i, p;

	if (ascii) {
		/* the common case, without decoding; `special` says whether the
		 * token has an '@' or ':' at all */
		p = n;
		if (special) {
			for (i = 1; i + 1 < n; i++)
				if (t[i] == '@')
					return 0;
			for (i = 1; i + 1 < n; i++) {
				if (t[i] == ':' && url_letter(t[i - 1])) {
					p = i - 1;
					while (p > 0 && url_letter(t[p - 1]))
						p--;
					break;
				}
			}
		}
		if (avail >= 16) {
			/* fixed-size copies the compiler inlines; the caller
			 * reserved the slack and the input has 16 bytes here */
			memcpy(out->p + out->len, t, 8);
			memcpy(out->p + out->len + 8, t + 8, 8);
		} else {
			memcpy(out->p + out->len, t, p);
		}
		out->len += p;
		return (long)p;
	}
	for (i = 0; i < n && k < 10;) {
		off[k] = i;
		i += u8dec(t + i, n - i, &cp[k]);
		k++;
	}
	off[k] = n;
	/* \S+@\S+ : an '@' with something on both sides removes the token */
	for (i = 1; i + 1 < k; i++)
		if (cp[i] == '@')
			return 0;
	/* [a-z]+:\S+ : from the start of the letter run before the first
	 * usable ':' to the end of the token */
	p = k;
	for (i = 1; i + 1 < k; i++) {
		if (cp[i] == ':' && url_letter(cp[i - 1])) {
			p = i - 1;
			while (p > 0 && url_letter(cp[p - 1]))
				p--;
			break;
		}
	}
	memcpy(out->p + out->len, t, off[p]);
	out->len += off[p];
	return (long)p;
}

/* Index of the first byte at or after i that is not a class-0 token byte.
 * Eight bytes at a time: a word with no byte < 0x21 and none >= 0x80 is
 * all token bytes (controls below 0x21 that are not whitespace stop the
 * fast path and are stepped over one by one). */
static size_t skip_token_bytes(const uint8_t *s, size_t i, size_t n)
{
	for (;;) {
		while (i + 8 <= n) {
			uint64_t v, m;

			memcpy(&v, s + i, 8);
			m = (((v - 0x2121212121212121ull) & ~v) | v) & 0x8080808080808080ull;
			if (m != 0) {
				i += (size_t)__builtin_ctzll(m) / 8;
				goto candidate;
			}
			i += 8;
		}
		while (i < n && ncls[s[i]] == 0)
			i++;
		return i;
	candidate:
		if (ncls[s[i]] != 0)
			return i;
		i++; /* a control byte that is not whitespace */
	}
}

static size_t next_of(const uint8_t *s, size_t from, size_t n, int c)
{
	const uint8_t *q;

	if (from >= n)
		return n;
	q = memchr(s + from, c, n - from);
	return q ? (size_t)(q - s) : n;
}

static int normalize_text(const uint8_t *s, size_t n, struct drp_pyzor_lines *out)
{
	size_t i = 0, line_start, nat, ncol;
	long kept = 0;

	/* the kept text is never longer than the input (+16: see norm_token) */
	if (drp_buf_reserve(&out->text, n + 16) < 0)
		return -1;
	line_start = out->text.len;
	nat = next_of(s, 0, n, '@');
	ncol = next_of(s, 0, n, ':');
	for (;;) {
		size_t tok, extra = 0;
		int br = 0, ascii = 1;

		if (i >= n) {
			br = 1;
		} else {
			uint8_t cl = ncls[s[i]];

			if (cl == 1) {
				i++;
				continue;
			}
			if (cl == 2) {
				br = 1;
				i++;
			} else if (cl == 3) {
				uint32_t c;
				size_t k = u8dec(s + i, n - i, &c);

				if (py_linebreak(c)) {
					br = 1;
					i += k;
				} else if (py_isspace(c)) {
					i += k;
					continue;
				}
			}
		}
		if (br) {
			if (kept >= 8) {
				if (lines_commit(out, line_start) < 0)
					return -1;
			} else {
				out->text.len = line_start;
			}
			line_start = out->text.len;
			kept = 0;
			/* a new, empty line: ASCII blanks and line breaks change
			 * nothing until a token (blank lines are dropped) */
			while (i < n && ncls[s[i]] - 1u < 2u)
				i++;
			if (i >= n)
				break;
			continue;
		}
		/* a token: ASCII bytes in a tight loop, others decoded */
		tok = i;
		while (i < n) {
			uint32_t c;
			size_t k;

			i = skip_token_bytes(s, i, n);
			if (i >= n || ncls[s[i]] != 3)
				break;
			k = u8dec(s + i, n - i, &c);
			if (py_isspace(c))
				break;
			i += k;
			extra += k - 1;
			ascii = 0;
		}
		if (i - tok - extra < 10) {
			/* next '@' / ':' at or after the token, found lazily */
			if (nat < tok)
				nat = next_of(s, tok, n, '@');
			if (ncol < tok)
				ncol = next_of(s, tok, n, ':');
			kept += norm_token(s + tok, i - tok, n - tok, ascii, nat < i || ncol < i,
			                   &out->text);
		}
	}
	return 0;
}

int drp_pyzor_normalize_text(const uint8_t *s, size_t n, unsigned flags,
                             struct drp_pyzor_lines *out)
{
	struct drp_buf nonul;
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	if (!(flags & DRP_PYZOR_NUL_RULE) || memchr(s, 0, n) == NULL)
		return normalize_text(s, n, out);
	/* pyzor 1.1.x: U+0000 is removed from every line first */
	drp_buf_init(&nonul);
	if (drp_buf_reserve(&nonul, n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] != 0)
			nonul.p[nonul.len++] = s[i];
	rc = normalize_text(nonul.p, nonul.len, out);
	drp_buf_free(&nonul);
	return rc;
}

/* ------------------------------------------------------- HTML extraction */

struct u32v {
	uint32_t *p;
	size_t len, cap;
};

static int u32_push(struct u32v *v, uint32_t c)
{
	if (v->len == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 256;
		uint32_t *np = realloc(v->p, nc * sizeof(*np));

		if (np == NULL)
			return -1;
		v->p = np;
		v->cap = nc;
	}
	v->p[v->len++] = c;
	return 0;
}

static int u8_to_u32(const uint8_t *s, size_t n, struct u32v *v)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c;

		i += u8dec(s + i, n - i, &c);
		if (u32_push(v, c) < 0)
			return -1;
	}
	return 0;
}

static int ent_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct pz_entity *)e)->name);
}

/* The named reference s[0..n) (code points) if it is in the table. */
static const struct pz_entity *ent_find(const uint32_t *s, size_t n)
{
	char key[40];
	size_t i;

	if (n == 0 || n >= sizeof(key))
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] >= 0x80 || s[i] == 0)
			return NULL;
		key[i] = (char)s[i];
	}
	key[n] = 0;
	return bsearch(key, pz_entities, sizeof(pz_entities) / sizeof(pz_entities[0]),
	               sizeof(pz_entities[0]), ent_cmp);
}

static int is_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

static int is_xdigit(uint32_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_alpha(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* html.unescape's numeric reference rules. */
static int charref_push(struct u32v *o, uint32_t num, int overflow)
{
	const uint32_t *cp1252 = NULL;
	const struct pz_codec *c;

	if (overflow || num > 0x10FFFF || (num >= 0xD800 && num <= 0xDFFF))
		return u32_push(o, 0xFFFD);
	if (num == 0)
		return u32_push(o, 0xFFFD);
	if (num == 0x0D)
		return u32_push(o, 0x0D);
	if (num >= 0x80 && num <= 0x9F) {
		c = cs_lookup("cp1252", 6);
		cp1252 = c ? pz_sb_tables[c->table] : NULL;
		if (cp1252 && cp1252[num] != 0xFFFFFFFF)
			return u32_push(o, cp1252[num]);
		return u32_push(o, num);
	}
	if ((num >= 0x01 && num <= 0x08) || num == 0x0B || (num >= 0x0E && num <= 0x1F) ||
	    num == 0x7F || (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE)
		return 0;
	return u32_push(o, num);
}

static int ent_push(struct u32v *o, const struct pz_entity *e)
{
	if (u32_push(o, e->cp[0]) < 0)
		return -1;
	return e->cp[1] ? u32_push(o, e->cp[1]) : 0;
}

/* html.unescape over s[a..b) into o (7.7.5 "Entity decoding"). */
static int unescape_u32(const uint32_t *s, size_t a, size_t b, struct u32v *o)
{
	size_t i = a;

	while (i < b) {
		size_t j, k, m;

		if (s[i] != '&') {
			if (u32_push(o, s[i++]) < 0)
				return -1;
			continue;
		}
		j = i + 1;
		if (j < b && s[j] == '#') {
			uint32_t num = 0;
			int ovf = 0, hex = (j + 1 < b && (s[j + 1] == 'x' || s[j + 1] == 'X'));

			k = hex ? j + 2 : j + 1;
			m = k;
			while (m < b && (hex ? is_xdigit(s[m]) : is_digit(s[m]))) {
				uint32_t d = is_digit(s[m]) ? s[m] - '0' : (s[m] | 0x20) - 'a' + 10;

				if (num > 0x10FFFF)
					ovf = 1;
				else
					num = num * (hex ? 16 : 10) + d;
				m++;
			}
			if (m == k) { /* "&#" without digits stays as it is */
				if (u32_push(o, '&') < 0)
					return -1;
				i++;
				continue;
			}
			if (m < b && s[m] == ';')
				m++;
			if (charref_push(o, num, ovf) < 0)
				return -1;
			i = m;
			continue;
		}
		/* named: 1-32 characters other than \t \n \f space < & # ; */
		for (m = j; m < b && m - j < 32; m++) {
			uint32_t c = s[m];

			if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' ||
			    c == '&' || c == '#' || c == ';')
				break;
		}
		if (m == j) {
			if (u32_push(o, '&') < 0)
				return -1;
			i++;
			continue;
		}
		if (m < b && s[m] == ';')
			m++;
		{
			const struct pz_entity *e = ent_find(s + j, m - j);
			size_t x;

			if (e != NULL) {
				if (ent_push(o, e) < 0)
					return -1;
				i = m;
				continue;
			}
			for (x = m - j - 1; x >= 2; x--) {
				e = ent_find(s + j, x);
				if (e != NULL)
					break;
			}
			if (e != NULL) {
				if (ent_push(o, e) < 0)
					return -1;
				k = j + x;
			} else {
				if (u32_push(o, '&') < 0)
					return -1;
				k = j;
			}
			for (; k < m; k++)
				if (u32_push(o, s[k]) < 0)
					return -1;
			i = m;
		}
	}
	return 0;
}

struct html {
	const uint32_t *s;
	size_t n;
	struct drp_buf *out;
	struct u32v tmp;
	int nruns;
	int collect;
	int cdata; /* 0 none, 1 script, 2 style */
	int crash;
	int oom;
};

static int h_ws(uint32_t c)
{
	return py_isspace(c);
}

/* handle_data: strip, keep when collecting, join with one space. */
static void h_data(struct html *h, size_t a, size_t b, int unesc)
{
	const uint32_t *p;
	size_t i, n;

	if (!h->collect || a >= b)
		return;
	if (unesc) {
		h->tmp.len = 0;
		if (unescape_u32(h->s, a, b, &h->tmp) < 0) {
			h->oom = 1;
			return;
		}
		p = h->tmp.p;
		n = h->tmp.len;
	} else {
		p = h->s + a;
		n = b - a;
	}
	while (n > 0 && h_ws(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && h_ws(p[n - 1]))
		n--;
	if (n == 0)
		return;
	if (h->nruns++ && drp_buf_putc(h->out, ' ') < 0)
		h->oom = 1;
	for (i = 0; i < n && !h->oom; i++)
		if (put_cp(h->out, p[i]) < 0)
			h->oom = 1;
}

static size_t h_find(const struct html *h, size_t from, uint32_t c)
{
	size_t i;

	for (i = from; i < h->n; i++)
		if (h->s[i] == c)
			return i;
	return (size_t)-1;
}

/* the characters of a tag name after its first letter */
static int h_namechar(uint32_t c)
{
	return c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != ' ' && c != '/' &&
	       c != '>' && c != 0;
}

/* (?:\s|/(?!>))* */
static size_t h_skip_ws_slash(const struct html *h, size_t p)
{
	while (p < h->n &&
	       (h_ws(h->s[p]) || (h->s[p] == '/' && !(p + 1 < h->n && h->s[p + 1] == '>'))))
		p++;
	return p;
}

static size_t h_skip_ws(const struct html *h, size_t p)
{
	while (p < h->n && h_ws(h->s[p]))
		p++;
	return p;
}

/* The optional attribute value (\s*=+\s*(quoted|bare)\s*) at q, with the
 * backtracking the regex does; end position or -1. */
static long h_value(const struct html *h, size_t q)
{
	size_t a = h_skip_ws(h, q), e1, eq_end, c, e;

	if (a >= h->n || h->s[a] != '=')
		return -1;
	for (e1 = a; e1 < h->n && h->s[e1] == '='; e1++)
		;
	for (eq_end = e1; eq_end > a; eq_end--) {
		size_t bmax = eq_end == e1 ? h_skip_ws(h, eq_end) : eq_end;

		for (c = bmax + 1; c-- > eq_end;) {
			if (c < h->n && (h->s[c] == '\'' || h->s[c] == '"')) {
				size_t close = h_find(h, c + 1, h->s[c]);

				if (close == (size_t)-1)
					continue;
				e = close + 1;
			} else {
				for (e = c; e < h->n && h->s[e] != '>' && !h_ws(h->s[e]); e++)
					;
			}
			return (long)h_skip_ws(h, e);
		}
	}
	return -1;
}

/* One attribute (attrfind_tolerant) at k: end or -1. */
static long h_attr(const struct html *h, size_t k)
{
	size_t q;
	long v;
	uint32_t pc;

	if (k == 0 || k >= h->n)
		return -1;
	pc = h->s[k - 1];
	if (!(pc == '\'' || pc == '"' || pc == '/' || h_ws(pc)))
		return -1;
	if (h_ws(h->s[k]) || h->s[k] == '/' || h->s[k] == '>')
		return -1;
	for (q = k + 1;
	     q < h->n && !h_ws(h->s[q]) && h->s[q] != '/' && h->s[q] != '=' && h->s[q] != '>'; q++)
		;
	v = h_value(h, q);
	if (v >= 0)
		q = (size_t)v;
	return (long)h_skip_ws_slash(h, q);
}

static size_t h_tagname_end(const struct html *h, size_t p)
{
	p++; /* the letter */
	while (p < h->n && h_namechar(h->s[p]))
		p++;
	return p;
}

/* script = 1, style = 2, else 0, for the name s[a..b) */
static int h_cdata_name(const struct html *h, size_t a, size_t b)
{
	static const char *names[] = {"script", "style"};
	int t;

	for (t = 0; t < 2; t++) {
		size_t l = strlen(names[t]), i;

		if (b - a != l)
			continue;
		for (i = 0; i < l; i++) {
			uint32_t c = h->s[a + i];

			if (c >= 'A' && c <= 'Z')
				c += 32;
			if (c != (uint32_t)names[t][i])
				break;
		}
		if (i == l)
			return t + 1;
	}
	return 0;
}

static long h_starttag(struct html *h, size_t i)
{
	size_t name_end = h_tagname_end(h, i + 1), p, j, endpos, k, a, b;
	long m;
	int t;

	/* check_for_whole_start_tag */
	p = name_end;
	while (p < h->n && (h_ws(h->s[p]) || h->s[p] == '/'))
		p++;
	while ((m = h_attr(h, p)) >= 0)
		p = (size_t)m;
	j = h_skip_ws(h, p);
	if (j >= h->n)
		return -1;
	if (h->s[j] == '>') {
		endpos = j + 1;
	} else if (h->s[j] == '/') {
		if (j + 1 < h->n && h->s[j + 1] == '>')
			endpos = j + 2;
		else
			return -1;
	} else if (is_alpha(h->s[j]) || h->s[j] == '=') {
		return -1;
	} else {
		endpos = j;
	}
	/* parse_starttag: tagfind_tolerant, then attributes up to endpos */
	k = h_skip_ws_slash(h, name_end);
	while (k < endpos && (m = h_attr(h, k)) >= 0)
		k = (size_t)m;
	a = k;
	b = endpos;
	while (a < b && h_ws(h->s[a]))
		a++;
	while (b > a && h_ws(h->s[b - 1]))
		b--;
	t = h_cdata_name(h, i + 1, name_end);
	if (b - a == 1 && h->s[a] == '>') {
		if (t) {
			h->collect = 0;
			h->cdata = t;
		}
	} else if (b - a == 2 && h->s[a] == '/' && h->s[a + 1] == '>') {
		if (t)
			h->collect = 1; /* handle_starttag then handle_endtag */
	} else {
		h_data(h, i, endpos, 0);
	}
	return (long)endpos;
}

static long h_endtag(struct html *h, size_t i)
{
	size_t gt = h_find(h, i + 1, '>'), p, a, b;
	int t;

	if (gt == (size_t)-1)
		return -1;
	/* endtagfind: </\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*> */
	p = h_skip_ws(h, i + 2);
	if (p < h->n && is_alpha(h->s[p])) {
		a = p;
		for (p++; p < h->n && (is_alpha(h->s[p]) || is_digit(h->s[p]) || h->s[p] == '-' ||
		                       h->s[p] == '.' || h->s[p] == ':' || h->s[p] == '_');
		     p++)
			;
		b = p;
		p = h_skip_ws(h, p);
		if (p == gt) {
			t = h_cdata_name(h, a, b);
			if (h->cdata && t != h->cdata) {
				h_data(h, i, gt + 1, 0);
				return (long)gt + 1;
			}
			if (t)
				h->collect = 1;
			h->cdata = 0;
			return (long)gt + 1;
		}
	}
	if (h->cdata) {
		h_data(h, i, gt + 1, 0);
		return (long)gt + 1;
	}
	if (i + 2 < h->n && is_alpha(h->s[i + 2])) {
		size_t ne = h_tagname_end(h, i + 2);

		if (h_cdata_name(h, i + 2, ne))
			h->collect = 1;
		gt = h_find(h, h_skip_ws_slash(h, ne), '>');
		return (long)gt + 1;
	}
	if (i + 2 < h->n && h->s[i + 2] == '>')
		return (long)i + 3;
	gt = h_find(h, i + 2, '>');
	return gt == (size_t)-1 ? -1 : (long)gt + 1;
}

static long h_comment(struct html *h, size_t i)
{
	size_t p;

	for (p = i + 4; p + 1 < h->n; p++) {
		if (h->s[p] == '-' && h->s[p + 1] == '-') {
			size_t q = h_skip_ws(h, p + 2);

			if (q < h->n && h->s[q] == '>')
				return (long)q + 1;
		}
	}
	return -1;
}

/* _markupbase.parse_marked_section */
static long h_marked(struct html *h, size_t i)
{
	static const char *std[] = {"temp", "cdata", "ignore", "include", "rcdata"};
	static const char *ms[] = {"if", "else", "endif"};
	size_t p = i + 3, a, b, q, k;
	char name[16];
	int kind = 0;

	if (p >= h->n)
		return -1;
	if (!is_alpha(h->s[p])) {
		h->crash = 1; /* "expected name token" */
		return -1;
	}
	a = p;
	for (p++; p < h->n && (is_alpha(h->s[p]) || is_digit(h->s[p]) || h->s[p] == '-' ||
	                       h->s[p] == '_' || h->s[p] == '.');
	     p++)
		;
	b = p;
	if (h_skip_ws(h, p) >= h->n)
		return -1;
	if (b - a < sizeof(name)) {
		for (k = 0; k < b - a; k++)
			name[k] = (char)(h->s[a + k] | 0x20);
		name[b - a] = 0;
		for (k = 0; k < 5; k++)
			if (!strcmp(name, std[k]))
				kind = 1;
		for (k = 0; k < 3; k++)
			if (!strcmp(name, ms[k]))
				kind = 2;
	}
	if (kind == 0) {
		h->crash = 1; /* "unknown status keyword" */
		return -1;
	}
	/* ]\s*]\s*> or ]\s*> searched from i + 3 */
	for (q = i + 3; q < h->n; q++) {
		size_t r;

		if (h->s[q] != ']')
			continue;
		r = h_skip_ws(h, q + 1);
		if (kind == 1) {
			if (r >= h->n || h->s[r] != ']')
				continue;
			r = h_skip_ws(h, r + 1);
		}
		if (r < h->n && h->s[r] == '>')
			return (long)r + 1;
	}
	return -1;
}

static long h_decl(struct html *h, size_t i)
{
	static const char doctype[] = "<!doctype";
	size_t k, gt;

	if (i + 2 < h->n && h->s[i + 2] == '[')
		return h_marked(h, i);
	for (k = 0; k < 9 && i + k < h->n; k++) {
		uint32_t c = h->s[i + k];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (c != (uint32_t)doctype[k])
			break;
	}
	gt = h_find(h, k == 9 ? i + 9 : i + 2, '>');
	return gt == (size_t)-1 ? -1 : (long)gt + 1;
}

/* In script/style: the next </\s*name\s*> (IGNORECASE); n when none. */
static size_t h_cdata_end(const struct html *h, size_t from)
{
	const char *name = h->cdata == 1 ? "script" : "style";
	size_t l = strlen(name), i, p, k;

	for (i = from; i + 1 < h->n; i++) {
		if (h->s[i] != '<' || h->s[i + 1] != '/')
			continue;
		p = h_skip_ws(h, i + 2);
		for (k = 0; k < l && p + k < h->n; k++) {
			uint32_t c = h->s[p + k], want = (uint32_t)name[k];

			if (c >= 'A' && c <= 'Z')
				c += 32;
			if (c == want)
				continue;
			/* re.IGNORECASE folds these onto ASCII letters too */
			if ((want == 's' && c == 0x17F) ||
			    (want == 'i' && (c == 0x130 || c == 0x131)))
				continue;
			break;
		}
		if (k < l)
			continue;
		p = h_skip_ws(h, p + l);
		if (p < h->n && h->s[p] == '>')
			return i;
	}
	return h->n;
}

/* HTMLParser.goahead(end=False) driving HTMLStripper (7.2, 7.7.5). */
static void h_run(struct html *h)
{
	size_t i = 0, n = h->n, j;

	while (i < n && !h->oom) {
		long k;

		if (!h->cdata) {
			j = h_find(h, i, '<');
			if (j == (size_t)-1) {
				size_t from = n >= 34 && n - 34 > i ? n - 34 : i, amp = (size_t)-1,
				       q;

				for (q = n; q-- > from;)
					if (h->s[q] == '&') {
						amp = q;
						break;
					}
				if (amp != (size_t)-1) {
					for (q = amp; q < n; q++)
						if (h->s[q] == ';' || h_ws(h->s[q]))
							break;
					if (q == n)
						break; /* waits for the rest of a reference */
				}
				j = n;
			}
		} else {
			j = h_cdata_end(h, i);
			if (j == n)
				break;
		}
		if (i < j)
			h_data(h, i, j, !h->cdata);
		i = j;
		if (i == n)
			break;
		if (i + 1 < n && is_alpha(h->s[i + 1]))
			k = h_starttag(h, i);
		else if (i + 1 < n && h->s[i + 1] == '/')
			k = h_endtag(h, i);
		else if (i + 3 < n && h->s[i + 1] == '!' && h->s[i + 2] == '-' &&
		         h->s[i + 3] == '-')
			k = h_comment(h, i);
		else if (i + 1 < n && h->s[i + 1] == '?') {
			size_t gt = h_find(h, i + 2, '>');

			k = gt == (size_t)-1 ? -1 : (long)gt + 1;
		} else if (i + 1 < n && h->s[i + 1] == '!')
			k = h_decl(h, i);
		else if (i + 1 < n) {
			h_data(h, i, i + 1, 0);
			k = (long)i + 1;
		} else
			break;
		if (k < 0)
			break; /* unfinished construct: the rest is never seen */
		i = (size_t)k;
	}
}

int drp_pyzor_html_text(const uint8_t *s, size_t n, struct drp_buf *out, int *crash)
{
	struct u32v in = {0};
	struct html h;

	memset(&h, 0, sizeof(h));
	if (u8_to_u32(s, n, &in) < 0) {
		free(in.p);
		return -1;
	}
	h.s = in.p;
	h.n = in.len;
	h.out = out;
	h.collect = 1;
	h_run(&h);
	free(in.p);
	free(h.tmp.p);
	if (crash)
		*crash = h.crash;
	return h.oom ? -1 : 0;
}

int drp_pyzor_html_unescape(const uint8_t *s, size_t n, struct drp_buf *out)
{
	struct u32v in = {0}, o = {0};
	size_t i;
	int rc = -1;

	if (u8_to_u32(s, n, &in) < 0 || unescape_u32(in.p, 0, in.len, &o) < 0)
		goto done;
	for (i = 0; i < o.len; i++)
		if (put_cp(out, o.p[i]) < 0)
			goto done;
	rc = 0;
done:
	free(in.p);
	free(o.p);
	return rc;
}

/* ------------------------------------------------------------- MIME walk */

/* A line of the input, its line end included. */
struct pz_line {
	size_t off, len;
};

enum { MT_TEXT, MT_MULTIPART, MT_MESSAGE, MT_OTHER };

struct pz_part {
	struct drp_slice ct, cte; /* first Content-Type / -Transfer-Encoding */
	int has_ct, has_cte;
	int mt, html, dstatus, digest;
};

#define PZ_SEGS 8
struct pz_leaf {
	struct pz_part pt;
	struct pz_line seg[PZ_SEGS]; /* the payload: these input ranges in order */
	int nseg;
};

struct eofm {
	const uint8_t *b; /* boundary, NULL for a blank-line matcher */
	size_t len;
	int never; /* boundary that can never match (non-ASCII) */
};

struct walk {
	const uint8_t *p;
	size_t n, pos;
	struct pz_line unread[16];
	int nunread;
	struct eofm eof[PZ_MAX_DEPTH + 4];
	int neof;
	struct pz_leaf pending;
	int has_pending, last_multipart;
	int has_cr; /* any CR in the input: lines may end in CR alone */
	/* First '\n' at or after nl_from (n if none): CR-only lines would
	 * otherwise rescan to the end of the message for every line. */
	size_t nl, nl_from;
	int nl_ok;
	unsigned flags, seen;
	struct drp_pyzor_lines *out;
	struct drp_buf b1, b2, b3;
	int oom;
};

static const uint8_t py_strip_ws[256] = {
    ['\t'] = 1, ['\n'] = 1, [0x0b] = 1, [0x0c] = 1, ['\r'] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, [' '] = 1,
};

static struct drp_slice sl_strip(struct drp_slice s)
{
	while (s.len && py_strip_ws[s.p[0]]) {
		s.p++;
		s.len--;
	}
	while (s.len && py_strip_ws[s.p[s.len - 1]])
		s.len--;
	return s;
}

static int sl_ieq(struct drp_slice s, const char *lit)
{
	return drp_slice_ieq(s, lit);
}

/* boundaryre.match: --B(--)?[ \t]*(\r\n|\r|\n)?$ ; 1 open, 2 close, 0 no */
static int delim_match(const uint8_t *l, size_t n, const struct eofm *m)
{
	size_t i;
	int close = 0;

	if (m->never || n < 2 + m->len || l[0] != '-' || l[1] != '-' ||
	    memcmp(l + 2, m->b, m->len) != 0)
		return 0;
	i = 2 + m->len;
	if (i + 1 < n && l[i] == '-' && l[i + 1] == '-') {
		size_t j = i + 2;

		while (j < n && (l[j] == ' ' || l[j] == '\t'))
			j++;
		if (j == n || (l[j] == '\r' && j + 1 == n) || (l[j] == '\n' && j + 1 == n) ||
		    (l[j] == '\r' && j + 2 == n && l[j + 1] == '\n'))
			return 2;
	}
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i == n || (l[i] == '\r' && i + 1 == n) || (l[i] == '\n' && i + 1 == n) ||
	    (l[i] == '\r' && i + 2 == n && l[i + 1] == '\n'))
		close = 1;
	return close ? 1 : 0;
}

static int raw_line(struct walk *w, struct pz_line *ln)
{
	size_t i = w->pos;
	const uint8_t *q;

	if (w->nunread > 0) {
		*ln = w->unread[--w->nunread];
		return 1;
	}
	if (i >= w->n)
		return 0;
	if (!w->nl_ok || i < w->nl_from || (i > w->nl && w->nl < w->n)) {
		q = memchr(w->p + i, '\n', w->n - i);
		w->nl = q ? (size_t)(q - w->p) : w->n;
		w->nl_from = i;
		w->nl_ok = 1;
	}
	q = w->nl < w->n ? w->p + w->nl : NULL;
	if (w->has_cr) {
		const uint8_t *r = memchr(w->p + i, '\r', q ? (size_t)(q - (w->p + i)) : w->n - i);

		if (r != NULL)
			q = (r + 1 < w->p + w->n && r[1] == '\n') ? r + 1 : r;
	}
	ln->off = i;
	ln->len = q ? (size_t)(q - (w->p + i)) + 1 : w->n - i;
	w->pos = i + ln->len;
	return 1;
}

static void unread(struct walk *w, const struct pz_line *ln)
{
	if (w->nunread < (int)(sizeof(w->unread) / sizeof(w->unread[0])))
		w->unread[w->nunread++] = *ln;
}

/* BufferedSubFile.readline: 0 at the (false) end of the current part. */
static int read_line(struct walk *w, struct pz_line *ln)
{
	int k;

	if (!raw_line(w, ln))
		return 0;
	for (k = w->neof - 1; k >= 0; k--) {
		const uint8_t *l = w->p + ln->off;
		int hit;

		if (w->eof[k].b == NULL)
			hit = ln->len > 0 && (l[0] == '\r' || l[0] == '\n');
		else
			hit = delim_match(l, ln->len, &w->eof[k]) != 0;
		if (hit) {
			unread(w, ln);
			return 0;
		}
	}
	return 1;
}

static int is_header_line(const uint8_t *l, size_t n)
{
	size_t i;

	if (n >= 5 && !memcmp(l, "From ", 5))
		return 1;
	if (n > 0 && (l[0] == ' ' || l[0] == '\t'))
		return 1;
	for (i = 0; i < n; i++) {
		if (l[i] == ':')
			return 1;
		if (l[i] < 0x21 || l[i] > 0x7E)
			return 0;
	}
	return 0;
}

/* Python's _parseparam + get_param + unquote: the value of parameter
 * `name` (first plain one wins) into out; 1 found, 0 not. */
static int unquote_into(struct drp_slice v, struct drp_buf *out)
{
	size_t i;

	out->len = 0;
	if (v.len > 1 && v.p[0] == '"' && v.p[v.len - 1] == '"') {
		/* .replace('\\\\', '\\').replace('\\"', '"') */
		struct drp_buf t;

		drp_buf_init(&t);
		for (i = 1; i + 1 < v.len; i++) {
			if (v.p[i] == '\\' && i + 2 < v.len && v.p[i + 1] == '\\') {
				if (drp_buf_putc(&t, '\\') < 0)
					return -1;
				i++;
			} else if (drp_buf_putc(&t, v.p[i]) < 0) {
				return -1;
			}
		}
		for (i = 0; i < t.len; i++) {
			if (t.p[i] == '\\' && i + 1 < t.len && t.p[i + 1] == '"') {
				if (drp_buf_putc(out, '"') < 0)
					break;
				i++;
			} else if (drp_buf_putc(out, t.p[i]) < 0) {
				break;
			}
		}
		drp_buf_free(&t);
		return 0;
	}
	if (v.len > 1 && v.p[0] == '<' && v.p[v.len - 1] == '>')
		return drp_buf_append(out, v.p + 1, v.len - 2);
	return drp_buf_append(out, v.p, v.len);
}

/* \w+\*([0-9]+\*?)?  (an RFC 2231 piece: never a plain match) */
static int rfc2231_name(struct drp_slice nm)
{
	size_t i = 0;

	while (i < nm.len &&
	       (nm.p[i] == '_' || (nm.p[i] < 0x80 && (is_alpha(nm.p[i]) || is_digit(nm.p[i])))))
		i++;
	if (i == 0 || i >= nm.len || nm.p[i] != '*')
		return 0;
	i++;
	if (i == nm.len)
		return 1;
	while (i < nm.len && is_digit(nm.p[i]))
		i++;
	if (i < nm.len && nm.p[i] == '*')
		i++;
	return i == nm.len && is_digit(nm.p[nm.len - (nm.p[nm.len - 1] == '*' ? 2 : 1)]);
}

static int get_param(struct drp_slice val, const char *name, struct drp_buf *out)
{
	size_t pos = 0, n = val.len;
	int first = 1;

	/* s = ';' + value; each loop eats the ';' at the front */
	for (;;) {
		size_t end, q = 0, bq = 0;
		struct drp_slice f, nm, v;
		const uint8_t *eq;

		if (!first) {
			if (pos >= n || val.p[pos] != ';')
				break;
			pos++;
		}
		/* find the ';' ending this piece, outside quotes */
		for (end = pos; end < n; end++) {
			if (val.p[end] == ';' && end > pos && (q - bq) % 2 == 0)
				break;
			if (val.p[end] == ';' && end == pos)
				break;
			if (val.p[end] == '"') {
				q++;
				if (end > pos && val.p[end - 1] == '\\')
					bq++;
			}
		}
		f = DRP_SLICE(val.p + pos, end - pos);
		eq = memchr(f.p, '=', f.len);
		if (eq != NULL) {
			nm = sl_strip(DRP_SLICE(f.p, (size_t)(eq - f.p)));
			v = sl_strip(DRP_SLICE(eq + 1, f.len - (size_t)(eq - f.p) - 1));
			if (sl_ieq(nm, name) && (first || !rfc2231_name(nm)))
				return unquote_into(v, out) < 0 ? -1 : 1;
		}
		first = 0;
		pos = end;
	}
	return 0;
}

/* One RFC 2231 piece of a parameter: name*, name*N or name*N*. */
struct p2231 {
	long num; /* -1: no number */
	struct drp_slice v;
	int enc;
};

/* "\w+\*([0-9]+\*?)?" with \w+ equal to `name`: 1 and the number/flag */
static int p2231_name(struct drp_slice nm, const char *name, long *num, int *enc)
{
	size_t l = strlen(name), i;

	if (nm.len <= l || !drp_slice_iprefix(nm, name) || nm.p[l] != '*')
		return 0;
	*enc = nm.p[nm.len - 1] == '*';
	*num = -1;
	if (nm.len == l + 1)
		return 1;
	for (i = l + 1, *num = 0; i < nm.len && is_digit(nm.p[i]); i++)
		*num = *num > 100000 ? *num : *num * 10 + (nm.p[i] - '0');
	if (i == l + 1)
		return 0;
	if (i < nm.len && nm.p[i] == '*')
		i++;
	return i == nm.len;
}

static int p2231_less(const struct p2231 *a, const struct p2231 *b)
{
	size_t m;
	int c;

	if (a->num != b->num)
		return a->num < b->num;
	m = a->v.len < b->v.len ? a->v.len : b->v.len;
	c = m ? memcmp(a->v.p, b->v.p, m) : 0;
	if (c != 0)
		return c < 0;
	if (a->v.len != b->v.len)
		return a->v.len < b->v.len;
	return a->enc < b->enc;
}

/*
 * email.utils.decode_params for one name, used when no plain name= exists:
 * the pieces sorted as Python sorts them, each unquoted, %-decoded when
 * its name ends in '*', joined into out.  *ext is set when any piece was
 * encoded (the value then starts with charset'language').  1 found, 0 not
 * (also when numbered and unnumbered pieces mix: Python raises there).
 */
static int get_param2231(struct drp_slice val, const char *name, struct drp_buf *out, int *ext)
{
	struct p2231 pc[32];
	size_t pos = 0, n = val.len, k, i;
	int np = 0, none = 0, nums = 0, first = 1;

	*ext = 0;
	out->len = 0;
	for (;;) {
		size_t end, q = 0, bq = 0;
		struct drp_slice f;
		const uint8_t *eq;

		if (!first) {
			if (pos >= n || val.p[pos] != ';')
				break;
			pos++;
		}
		for (end = pos; end < n; end++) {
			if (val.p[end] == ';' && (end == pos || (q - bq) % 2 == 0))
				break;
			if (val.p[end] == '"') {
				q++;
				if (end > pos && val.p[end - 1] == '\\')
					bq++;
			}
		}
		f = DRP_SLICE(val.p + pos, end - pos);
		eq = memchr(f.p, '=', f.len);
		if (!first && eq != NULL && np < 32) {
			struct drp_slice nm = sl_strip(DRP_SLICE(f.p, (size_t)(eq - f.p)));

			if (p2231_name(nm, name, &pc[np].num, &pc[np].enc)) {
				pc[np].v =
				    sl_strip(DRP_SLICE(eq + 1, f.len - (size_t)(eq - f.p) - 1));
				none |= pc[np].num < 0;
				nums |= pc[np].num >= 0;
				np++;
			}
		}
		first = 0;
		pos = end;
	}
	if (np == 0 || (none && nums))
		return 0;
	for (k = 1; k < (size_t)np; k++) /* insertion sort: few pieces */
		for (i = k; i > 0 && p2231_less(&pc[i], &pc[i - 1]); i--) {
			struct p2231 t = pc[i];

			pc[i] = pc[i - 1];
			pc[i - 1] = t;
		}
	for (k = 0; k < (size_t)np; k++) {
		struct drp_buf u;

		drp_buf_init(&u);
		if (unquote_into(pc[k].v, &u) < 0) {
			drp_buf_free(&u);
			return -1;
		}
		for (i = 0; i < u.len; i++) {
			uint8_t c = u.p[i];

			if (pc[k].enc && c == '%' && i + 2 < u.len && hexv(u.p[i + 1]) >= 0 &&
			    hexv(u.p[i + 2]) >= 0) {
				c = (uint8_t)(hexv(u.p[i + 1]) << 4 | hexv(u.p[i + 2]));
				i += 2;
			}
			if (drp_buf_putc(out, c) < 0) {
				drp_buf_free(&u);
				return -1;
			}
		}
		*ext |= pc[k].enc;
		drp_buf_free(&u);
	}
	return 1;
}

/* The charset'language'text split of an extended value: text moved to the
 * front of b; returns 1 when a charset part was present (non-empty). */
static int split_2231(struct drp_buf *b, int *known_charset)
{
	uint8_t *t1 = memchr(b->p, '\'', b->len), *t2;
	size_t off;
	int has_cs;

	*known_charset = 0;
	if (t1 == NULL || (t2 = memchr(t1 + 1, '\'', b->len - (size_t)(t1 + 1 - b->p))) == NULL)
		return 0;
	has_cs = t1 > b->p;
	if (has_cs)
		*known_charset = cs_lookup((const char *)b->p, (size_t)(t1 - b->p)) != NULL;
	off = (size_t)(t2 + 1 - b->p);
	memmove(b->p, t2 + 1, b->len - off);
	b->len -= off;
	return has_cs;
}

/* get_content_charset's view: 1 and the (unlowered) name in out, 0 none. */
static int get_charset(const struct pz_part *pt, struct drp_buf *out)
{
	int r, ext, known;

	if (!pt->has_ct)
		return 0;
	r = get_param(pt->ct, "charset", out);
	if (r != 0)
		return r;
	r = get_param2231(pt->ct, "charset", out, &ext);
	if (r == 1 && ext)
		split_2231(out, &known); /* str(text, charset): ASCII text stays */
	return r;
}

/* get_boundary before the final rstrip: 1 and the value in out, 0 none. */
static int get_boundary(const struct pz_part *pt, struct drp_buf *out)
{
	struct drp_buf t;
	int r, ext, known;

	drp_buf_init(&t);
	r = get_param(pt->ct, "boundary", &t);
	if (r == 0) {
		r = get_param2231(pt->ct, "boundary", &t, &ext);
		if (r == 1 && ext) {
			/* collapse_rfc2231_value: decoded with the charset
			 * (us-ascii when absent); an unknown one -> unquote */
			int has_cs = split_2231(&t, &known);

			if (!has_cs || known) {
				out->len = 0;
				r = drp_buf_append(out, t.p, t.len) < 0 ? -1 : 1;
				drp_buf_free(&t);
				return r;
			}
		}
	}
	if (r == 1 && unquote_into(DRP_SLICE(t.p, t.len), out) < 0)
		r = -1;
	drp_buf_free(&t);
	return r;
}

/* get_content_type and friends (7.7.2) */
static void classify(struct pz_part *pt, int dflt_rfc822)
{
	struct drp_slice t, mt, st;
	const uint8_t *semi, *slash;
	size_t i, nslash = 0;

	pt->mt = MT_TEXT;
	pt->html = pt->dstatus = pt->digest = 0;
	if (!pt->has_ct) {
		if (dflt_rfc822)
			pt->mt = MT_MESSAGE;
		return;
	}
	semi = memchr(pt->ct.p, ';', pt->ct.len);
	t = sl_strip(DRP_SLICE(pt->ct.p, semi ? (size_t)(semi - pt->ct.p) : pt->ct.len));
	for (i = 0; i < t.len; i++)
		nslash += t.p[i] == '/';
	if (nslash != 1)
		return; /* text/plain */
	slash = memchr(t.p, '/', t.len);
	mt = DRP_SLICE(t.p, (size_t)(slash - t.p));
	st = DRP_SLICE(slash + 1, t.len - mt.len - 1);
	if (sl_ieq(mt, "text")) {
		pt->html = sl_ieq(st, "html");
	} else if (sl_ieq(mt, "multipart")) {
		pt->mt = MT_MULTIPART;
		pt->digest = sl_ieq(st, "digest");
	} else if (sl_ieq(mt, "message")) {
		pt->mt = MT_MESSAGE;
		pt->dstatus = sl_ieq(st, "delivery-status");
	} else {
		pt->mt = MT_OTHER;
	}
}

/* _parse_headers: only the first Content-Type and C-T-E matter. */
static void parse_headers(struct walk *w, const struct pz_line *hl, size_t nh, struct pz_part *pt)
{
	size_t i, cur = (size_t)-1, cur_end = 0;

	memset(pt, 0, sizeof(*pt));
	for (i = 0; i <= nh; i++) {
		const uint8_t *l = i < nh ? w->p + hl[i].off : NULL;
		size_t len = i < nh ? hl[i].len : 0;

		if (i < nh && (l[0] == ' ' || l[0] == '\t')) {
			if (cur != (size_t)-1)
				cur_end = hl[i].off + hl[i].len;
			continue;
		}
		if (cur != (size_t)-1) {
			/* finish the previous header: name up to ':', value lstripped of
			 * space/tab, continuation lines verbatim, CR/LF rstripped */
			const uint8_t *h = w->p + hl[cur].off, *c = memchr(h, ':', hl[cur].len);
			struct drp_slice nm = DRP_SLICE(h, (size_t)(c - h)), v;
			size_t vs = (size_t)(c - w->p) + 1, ve = cur_end;

			while (vs < ve && (w->p[vs] == ' ' || w->p[vs] == '\t'))
				vs++;
			while (ve > vs && (w->p[ve - 1] == '\r' || w->p[ve - 1] == '\n'))
				ve--;
			v = DRP_SLICE(w->p + vs, ve - vs);
			if (!pt->has_ct && sl_ieq(nm, "content-type")) {
				pt->ct = v;
				pt->has_ct = 1;
			} else if (!pt->has_cte && sl_ieq(nm, "content-transfer-encoding")) {
				pt->cte = v;
				pt->has_cte = 1;
			}
			cur = (size_t)-1;
		}
		if (i == nh)
			break;
		if (len >= 5 && !memcmp(l, "From ", 5)) {
			if (i == 0)
				continue; /* mbox envelope */
			if (i == nh - 1) {
				unread(w, &hl[i]); /* first body line after all */
				break;
			}
			continue;
		}
		if (l[0] == ':')
			continue;
		cur = i;
		cur_end = hl[i].off + hl[i].len;
	}
}

/* Python's str.splitlines()/NLCRE_eol: drop one trailing line end. */
static void leaf_strip_eol(struct pz_leaf *lf, const uint8_t *p)
{
	struct pz_line *s;

	while (lf->nseg > 0 && lf->seg[lf->nseg - 1].len == 0)
		lf->nseg--;
	if (lf->nseg == 0)
		return;
	s = &lf->seg[lf->nseg - 1];
	if (s->len >= 2 && p[s->off + s->len - 2] == '\r' && p[s->off + s->len - 1] == '\n')
		s->len -= 2;
	else if (p[s->off + s->len - 1] == '\r' || p[s->off + s->len - 1] == '\n')
		s->len -= 1;
}

static void leaf_add(struct pz_leaf *lf, const struct pz_line *ln)
{
	if (lf->nseg > 0 && lf->seg[lf->nseg - 1].off + lf->seg[lf->nseg - 1].len == ln->off) {
		lf->seg[lf->nseg - 1].len += ln->len;
		return;
	}
	if (lf->nseg < PZ_SEGS)
		lf->seg[lf->nseg++] = *ln;
	else
		lf->seg[PZ_SEGS - 1].len = ln->off + ln->len - lf->seg[PZ_SEGS - 1].off;
}

/* Read the rest of the current part into a leaf payload. */
/* The line starting at p ends an enclosing part (an eof matcher hits). */
static int ends_part(const struct walk *w, size_t p)
{
	const uint8_t *e = memchr(w->p + p, '\n', w->n - p);
	size_t len = e ? (size_t)(e - (w->p + p)) + 1 : w->n - p;
	int k;

	for (k = 0; k < w->neof; k++)
		if (delim_match(w->p + p, len, &w->eof[k]))
			return 1;
	return 0;
}

/* Read the rest of the current part into a leaf payload.  Without CR in
 * the input and with only boundary matchers active, the lines that can end
 * the part are those starting with "--": jump between them instead of
 * splitting every line (same result as the line loop below). */
static void read_rest(struct walk *w, struct pz_leaf *lf)
{
	struct pz_line ln;
	size_t start, p;
	int k;

	while (w->nunread > 0) {
		if (!read_line(w, &ln))
			return;
		leaf_add(lf, &ln);
	}
	if (w->neof == 0) {
		/* nothing can end the part: the rest is one contiguous segment */
		if (w->pos < w->n) {
			ln.off = w->pos;
			ln.len = w->n - w->pos;
			leaf_add(lf, &ln);
			w->pos = w->n;
		}
		return;
	}
	for (k = 0; k < w->neof; k++)
		if (w->eof[k].b == NULL)
			break;
	if (w->has_cr || k < w->neof) {
		while (read_line(w, &ln))
			leaf_add(lf, &ln);
		return;
	}
	start = p = w->pos;
	for (;;) {
		const uint8_t *q;

		if (w->neof > 0 && p + 1 < w->n && w->p[p] == '-' && w->p[p + 1] == '-' &&
		    ends_part(w, p))
			break;
		q = w->neof > 0 ? drp_memmem(w->p + p, w->n - p, "\n--", 3) : NULL;
		if (q == NULL) {
			p = w->n;
			break;
		}
		p = (size_t)(q - w->p) + 1;
	}
	if (p > start) {
		ln.off = start;
		ln.len = p - start;
		leaf_add(lf, &ln);
	}
	w->pos = p; /* a delimiter line is read again by the multipart */
}

static void skip_rest(struct walk *w)
{
	struct pz_line ln;

	while (read_line(w, &ln))
		;
}

/* every byte < 0x80, eight at a time */
static int all_ascii(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		if (v & 0x8080808080808080ull)
			return 0;
	}
	for (; i < n; i++)
		if (p[i] & 0x80)
			return 0;
	return 1;
}

/* The codec (NULL = the ASCII fallback) decodes ASCII bytes to themselves. */
static int ascii_identity(const struct pz_codec *c)
{
	int b;

	if (c == NULL || c->kind == PZ_CS_ASCII || c->kind == PZ_CS_LATIN1)
		return 1;
	if (c->kind == PZ_CS_ICONV)
		return !strcmp(c->name, "utf_8") || !strcmp(c->name, "utf_8_sig");
	for (b = 0; b < 0x80; b++)
		if (pz_sb_tables[c->table][b] != (uint32_t)b)
			return 0;
	return 1;
}

static int emit_text(struct walk *w, const uint8_t *s, size_t n)
{
	if (drp_pyzor_normalize_text(s, n, w->flags, w->out) < 0)
		return -1;
	return 0;
}

/* digest_payloads for one leaf part (7.1). */
static int emit_leaf(struct walk *w, struct pz_leaf *lf)
{
	struct drp_slice pay;
	struct drp_buf *cs = &w->b3;
	int i, r;

	if (lf->nseg == 1) {
		pay = DRP_SLICE(w->p + lf->seg[0].off, lf->seg[0].len);
	} else {
		w->b1.len = 0;
		for (i = 0; i < lf->nseg; i++)
			if (drp_buf_append(&w->b1, w->p + lf->seg[i].off, lf->seg[i].len) < 0)
				return -1;
		pay = DRP_SLICE(w->b1.p, w->b1.len);
	}
	if (lf->pt.mt == MT_TEXT) {
		struct drp_slice dec = pay, cte = lf->pt.cte;
		struct drp_buf *db = lf->nseg == 1 ? &w->b1 : &w->b2;
		size_t k, o;

		db->len = 0;
		if (lf->pt.has_cte && sl_ieq(cte, "base64")) {
			if (drp_pyzor_b64_decode(pay.p, pay.len, db) < 0)
				return -1;
			dec = DRP_SLICE(db->p, db->len);
		} else if (lf->pt.has_cte && sl_ieq(cte, "quoted-printable")) {
			if (drp_pyzor_qp_decode(pay.p, pay.len, db) < 0)
				return -1;
			dec = DRP_SLICE(db->p, db->len);
		} else if (lf->pt.has_cte &&
		           (sl_ieq(cte, "x-uuencode") || sl_ieq(cte, "uuencode") ||
		            sl_ieq(cte, "uue") || sl_ieq(cte, "x-uue"))) {
			r = drp_pyzor_uu_decode(pay.p, pay.len, db);
			if (r < 0)
				return -1;
			if (r == 0)
				dec = DRP_SLICE(db->p, db->len);
		}
		/* get_content_charset: unquoted, ASCII only, lowercased */
		r = get_charset(&lf->pt, cs);
		if (r < 0)
			return -1;
		if (r == 1) {
			for (k = 0, o = 0; k < cs->len; k++) {
				if (cs->p[k] >= 0x80)
					r = 0;
				if (cs->p[k] == 0 && (w->flags & DRP_PYZOR_NUL_RULE))
					continue;
				cs->p[o++] = cs->p[k];
			}
			cs->len = o;
		}
		{
			struct drp_buf txt;

			struct drp_slice text;
			const struct pz_codec *codec = (r == 1 && cs->len > 0)
			                                   ? cs_lookup((const char *)cs->p, cs->len)
			                                   : NULL;

			drp_buf_init(&txt);
			if (all_ascii(dec.p, dec.len) && ascii_identity(codec)) {
				/* nothing to decode: use the bytes in place */
				text = dec;
				r = 0;
			} else {
				r = codec ? drp_pyzor_charset_decode((const char *)cs->p, cs->len,
				                                     dec.p, dec.len, 0, &txt)
				          : 1;
				if (r == 1) {
					txt.len = 0;
					r = dec_ascii(dec.p, dec.len, 0, &txt);
				}
				if (r < 0) {
					drp_buf_free(&txt);
					return -1;
				}
				text = DRP_SLICE(txt.p, txt.len);
			}
			if (lf->pt.html) {
				int crash = 0;

				w->b3.len = 0;
				r = drp_pyzor_html_text(text.p, text.len, &w->b3, &crash);
				if (crash)
					w->seen |= DRP_PYZOR_SAW_HTML_CRASH;
				if (r == 0)
					r = emit_text(w, w->b3.p, w->b3.len);
			} else {
				r = emit_text(w, text.p, text.len);
			}
			drp_buf_free(&txt);
			return r;
		}
	}
	/* any other part: raw payload; ASCII as is, else the charset as
	 * written with errors replaced (get_payload(decode=False)) */
	if (all_ascii(pay.p, pay.len))
		return emit_text(w, pay.p, pay.len);
	{
		struct drp_buf txt;

		/* get_param('charset'): a plain value, or joined RFC 2231
		 * pieces (an extended one is a tuple there, which Python cannot
		 * decode with: read as ASCII) */
		r = lf->pt.has_ct ? get_param(lf->pt.ct, "charset", cs) : 0;
		if (r == 0 && lf->pt.has_ct) {
			int ext;

			r = get_param2231(lf->pt.ct, "charset", cs, &ext);
			if (r == 1 && ext)
				r = 0;
		}
		if (r < 0)
			return -1;
		drp_buf_init(&txt);
		r = r == 1 ? drp_pyzor_charset_decode((const char *)cs->p, cs->len, pay.p, pay.len,
		                                      1, &txt)
		           : drp_pyzor_charset_decode("ascii", 5, pay.p, pay.len, 1, &txt);
		if (r == 1) {
			txt.len = 0;
			r = dec_ascii(pay.p, pay.len, 1, &txt);
		}
		if (r == 0)
			r = emit_text(w, txt.p, txt.len);
		drp_buf_free(&txt);
		return r;
	}
}

static void flush_pending(struct walk *w)
{
	if (w->has_pending && !w->oom && emit_leaf(w, &w->pending) < 0)
		w->oom = 1;
	w->has_pending = 0;
}

static void parsegen(struct walk *w, int depth, int dflt_rfc822);

static void multipart_body(struct walk *w, struct pz_part *pt, int depth)
{
	struct pz_leaf pre;
	struct pz_line ln;
	struct eofm m;
	struct drp_buf bnd;
	size_t i;
	int r, capturing = 1, close_seen = 0;

	memset(&pre, 0, sizeof(pre));
	drp_buf_init(&bnd);
	r = get_boundary(pt, &bnd);
	if (r < 0) {
		w->oom = 1;
		drp_buf_free(&bnd);
		return;
	}
	if (r == 0) { /* no boundary: the whole body is one raw payload */
		drp_buf_free(&bnd);
		memset(&w->pending, 0, sizeof(w->pending));
		w->pending.pt = *pt;
		read_rest(w, &w->pending);
		w->has_pending = 1;
		return;
	}
	/* get_boundary: right-stripped */
	while (bnd.len && py_strip_ws[bnd.p[bnd.len - 1]])
		bnd.len--;
	m.never = 0;
	for (i = 0; i < bnd.len; i++)
		if (bnd.p[i] >= 0x80)
			m.never = 1; /* reaches Python as U+FFFD: matches no line */
	m.b = bnd.p ? bnd.p : (const uint8_t *)"";
	m.len = bnd.len;
	if (w->neof >= (int)(sizeof(w->eof) / sizeof(w->eof[0]))) {
		drp_buf_free(&bnd);
		skip_rest(w);
		return;
	}
	while (read_line(w, &ln)) {
		const uint8_t *l = w->p + ln.off;

		r = delim_match(l, ln.len, &m);
		if (r == 0) {
			leaf_add(&pre, &ln);
			continue;
		}
		if (r == 2) {
			close_seen = 1;
			break;
		}
		if (capturing) {
			capturing = 0;
			unread(w, &ln);
			continue;
		}
		/* a separator: skip any delimiter lines right after it */
		while (read_line(w, &ln)) {
			if (!delim_match(w->p + ln.off, ln.len, &m)) {
				unread(w, &ln);
				break;
			}
		}
		w->eof[w->neof++] = m;
		parsegen(w, depth + 1, pt->digest);
		if (!w->last_multipart && w->has_pending)
			leaf_strip_eol(&w->pending, w->p);
		w->neof--;
		w->last_multipart = 1;
		if (w->oom)
			break;
	}
	drp_buf_free(&bnd);
	if (capturing) {
		memset(&w->pending, 0, sizeof(w->pending));
		w->pending = pre;
		w->pending.pt = *pt;
		w->has_pending = 1;
		skip_rest(w);
		return;
	}
	if (close_seen)
		skip_rest(w); /* epilogue */
}

/* FeedParser._parsegen for one message/part. */
static void parsegen(struct walk *w, int depth, int dflt_rfc822)
{
	struct pz_line ln, *hl = NULL;
	size_t nh = 0, cap = 0;
	struct pz_part pt;

	if (w->oom)
		return;
	flush_pending(w);
	while (read_line(w, &ln)) {
		const uint8_t *l = w->p + ln.off;

		if (!is_header_line(l, ln.len)) {
			if (!(l[0] == '\r' || l[0] == '\n'))
				unread(w, &ln);
			break;
		}
		if (nh == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct pz_line *nl = realloc(hl, nc * sizeof(*nl));

			if (nl == NULL) {
				w->oom = 1;
				free(hl);
				return;
			}
			hl = nl;
			cap = nc;
		}
		hl[nh++] = ln;
	}
	parse_headers(w, hl, nh, &pt);
	free(hl);
	classify(&pt, dflt_rfc822);
	w->last_multipart = pt.mt == MT_MULTIPART;
	if (depth >= PZ_MAX_DEPTH && (pt.mt == MT_MULTIPART || pt.mt == MT_MESSAGE))
		pt.mt = MT_OTHER; /* too deep: a raw leaf */
	if (pt.mt == MT_MESSAGE && pt.dstatus) {
		for (;;) {
			if (w->neof >= (int)(sizeof(w->eof) / sizeof(w->eof[0])))
				break;
			w->eof[w->neof].b = NULL;
			w->eof[w->neof].never = 0;
			w->neof++;
			parsegen(w, depth + 1, 0);
			w->neof--;
			if (!read_line(w, &ln) || !read_line(w, &ln) || w->oom)
				break;
			unread(w, &ln);
		}
		return;
	}
	if (pt.mt == MT_MESSAGE) {
		parsegen(w, depth + 1, 0);
		return;
	}
	if (pt.mt == MT_MULTIPART) {
		multipart_body(w, &pt, depth);
		return;
	}
	memset(&w->pending, 0, sizeof(w->pending));
	w->pending.pt = pt;
	read_rest(w, &w->pending);
	w->has_pending = 1;
}

/* ------------------------------------------------------------ the digest */

/* One walk in w, whose scratch buffers may hold memory from an earlier
 * message (kept, emptied); everything else starts from zero. */
static int normalized_in(struct walk *w, const uint8_t *msg, size_t len, unsigned flags,
                         struct drp_pyzor_lines *out, unsigned *seen, char *err, size_t errlen)
{
	struct drp_buf b1 = w->b1, b2 = w->b2, b3 = w->b3;

	memset(w, 0, sizeof(*w));
	w->b1 = b1;
	w->b2 = b2;
	w->b3 = b3;
	w->b1.len = w->b2.len = w->b3.len = 0;
	w->p = msg;
	w->n = len;
	w->has_cr = len > 0 && memchr(msg, '\r', len) != NULL;
	w->flags = flags;
	w->out = out;
	parsegen(w, 0, 0);
	flush_pending(w);
	if (seen)
		*seen = w->seen;
	if (w->oom) {
		snprintf(err, errlen, "pyzor digest: out of memory");
		return -1;
	}
	return 0;
}

int drp_pyzor_normalized(const uint8_t *msg, size_t len, unsigned flags,
                         struct drp_pyzor_lines *out, unsigned *seen, char *err, size_t errlen)
{
	struct walk *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL) {
		snprintf(err, errlen, "pyzor digest: out of memory");
		return -1;
	}
	rc = normalized_in(w, msg, len, flags, out, seen, err, errlen);
	drp_buf_free(&w->b1);
	drp_buf_free(&w->b2);
	drp_buf_free(&w->b3);
	free(w);
	return rc;
}

int drp_pyzor_sample(const struct drp_pyzor_lines *norm, struct drp_pyzor_lines *out)
{
	static const size_t spec[2][2] = {{20, 3}, {60, 3}};
	size_t i, k, n = norm->n;

	if (n <= 4) {
		for (i = 0; i < n; i++) {
			struct drp_slice l = drp_pyzor_line(norm, i);

			if (lines_add(out, l.p, l.len) < 0)
				return -1;
		}
		return 0;
	}
	for (k = 0; k < 2; k++) {
		size_t s = spec[k][0] * n / 100;

		for (i = 0; i < spec[k][1]; i++) {
			struct drp_slice l = drp_pyzor_line(norm, s + i);

			if (s + i < n && lines_add(out, l.p, l.len) < 0)
				return -1;
		}
	}
	return 0;
}

struct drp_pyzor_digester {
	struct walk w;
	struct drp_pyzor_lines norm;
	EVP_MD *md; /* fetched once: EVP_sha1() is looked up on every init */
	EVP_MD_CTX *mc;
};

/* Scratch kept between messages beyond this is given back (a worker's RSS
 * must not stay at the size of the largest message it ever saw). */
#define PZ_KEEP_BYTES (256u << 10)

static void buf_trim(struct drp_buf *b)
{
	if (b->cap > PZ_KEEP_BYTES)
		drp_buf_free(b);
}

struct drp_pyzor_digester *drp_pyzor_digester_new(void)
{
	struct drp_pyzor_digester *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	drp_pyzor_lines_init(&d->norm);
	d->md = EVP_MD_fetch(NULL, "SHA1", NULL);
	d->mc = EVP_MD_CTX_new();
	if (d->md == NULL || d->mc == NULL) {
		drp_pyzor_digester_free(d);
		return NULL;
	}
	return d;
}

void drp_pyzor_digester_free(struct drp_pyzor_digester *d)
{
	if (d == NULL)
		return;
	drp_buf_free(&d->w.b1);
	drp_buf_free(&d->w.b2);
	drp_buf_free(&d->w.b3);
	drp_pyzor_lines_free(&d->norm);
	EVP_MD_CTX_free(d->mc);
	EVP_MD_free(d->md);
	free(d);
}

/* SHA-1 of the sampled lines of norm (drp_pyzor_sample's choice, hashed in
 * place). */
static int sample_sha1(const struct drp_pyzor_lines *norm, EVP_MD_CTX *mc, const EVP_MD *md,
                       char hex[41])
{
	static const size_t spec[2][2] = {{20, 3}, {60, 3}};
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int outlen = 0;
	size_t i, k;

	if (EVP_DigestInit_ex2(mc, md, NULL) != 1)
		return -1;
	if (norm->n <= 4) {
		if (norm->n && EVP_DigestUpdate(mc, norm->text.p, norm->off[norm->n]) != 1)
			return -1;
	} else {
		for (k = 0; k < 2; k++) {
			size_t s0 = spec[k][0] * norm->n / 100;

			for (i = s0; i < s0 + spec[k][1] && i < norm->n; i++) {
				struct drp_slice l = drp_pyzor_line(norm, i);

				if (EVP_DigestUpdate(mc, l.p, l.len) != 1)
					return -1;
			}
		}
	}
	if (EVP_DigestFinal_ex(mc, out, &outlen) != 1 || outlen != 20)
		return -1;
	drp_hex(out, 20, hex);
	return 0;
}

int drp_pyzor_digest_with(struct drp_pyzor_digester *d, const uint8_t *msg, size_t len,
                          unsigned flags, char hex[41], unsigned *seen, char *err, size_t errlen)
{
	int rc;

	d->norm.n = 0;
	d->norm.text.len = 0;
	rc = normalized_in(&d->w, msg, len, flags, &d->norm, seen, err, errlen);
	if (rc == 0 && sample_sha1(&d->norm, d->mc, d->md, hex) < 0) {
		snprintf(err, errlen, "pyzor digest: SHA-1 unavailable");
		rc = -1;
	}
	buf_trim(&d->w.b1);
	buf_trim(&d->w.b2);
	buf_trim(&d->w.b3);
	if (d->norm.text.cap > PZ_KEEP_BYTES || d->norm.cap * sizeof(size_t) > PZ_KEEP_BYTES)
		drp_pyzor_lines_free(&d->norm);
	return rc;
}

int drp_pyzor_digest(const uint8_t *msg, size_t len, unsigned flags, char hex[41], unsigned *seen,
                     char *err, size_t errlen)
{
	struct drp_pyzor_digester *d = drp_pyzor_digester_new();
	int rc;

	if (d == NULL) {
		snprintf(err, errlen, "pyzor digest: out of memory");
		return -1;
	}
	rc = drp_pyzor_digest_with(d, msg, len, flags, hex, seen, err, errlen);
	drp_pyzor_digester_free(d);
	return rc;
}
