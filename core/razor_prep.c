/*
 * razor_prep: razor-agents 2.85's message preparation and preprocessors.
 *
 * Owns the reading of the input (mbox or one message with `>From`
 * quoting), split_mime, prep_part, the prepared report header, the
 * deBase64 / deQP / deHTMLxs / deNewline steps and the part-skipping test
 * of compute_sigs.  Every function mirrors one Perl (or XS) routine of the
 * reference, including its accidents; the comments name the accident
 * where the code would otherwise look wrong.  Regex classes follow Perl's
 * byte semantics: \s is space, \t, \n, \v, \f, \r.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "razor_sig.h"

#define AGENT_LINE "X-Razor2-Agent: " DRP_RAZOR_AGENT_NAME "\n"

static int pl_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Perl truth of a string: "" and "0" are false. */
static int pl_false(const uint8_t *p, size_t n)
{
	return n == 0 || (n == 1 && p[0] == '0');
}

/* Case-insensitive ASCII prefix test; lit is lowercase. */
static int ci_at(const uint8_t *p, size_t n, const char *lit, size_t litlen)
{
	size_t i;

	if (n < litlen)
		return 0;
	for (i = 0; i < litlen; i++)
		if (lc(p[i]) != (uint8_t)lit[i])
			return 0;
	return 1;
}
#define CI_AT(p, n, lit) ci_at((p), (n), lit, sizeof(lit) - 1)

/* First case-insensitive occurrence of a lowercase literal, or -1. */
static long ci_find(const uint8_t *p, size_t n, const char *lit, size_t litlen)
{
	uint8_t f = (uint8_t)lit[0];
	size_t i;

	if (n < litlen)
		return -1;
	for (i = 0; i + litlen <= n; i++)
		if (lc(p[i]) == f && ci_at(p + i, n - i, lit, litlen))
			return (long)i;
	return -1;
}
#define CI_FIND(p, n, lit) ci_find((p), (n), lit, sizeof(lit) - 1)

/* /^Content-Transfer-Encoding: VALUE/im: a line starting with the header
 * name, exactly ": " and the (lowercase) value.  Found through the ':'
 * bytes, which are rarer than line ends. */
static int cte_line(const uint8_t *p, size_t n, const char *val, size_t vlen)
{
	static const char name[] = "content-transfer-encoding";
	const size_t nl = sizeof(name) - 1;
	const uint8_t *c = p, *end = p + n;

	while ((c = memchr(c, ':', (size_t)(end - c))) != NULL) {
		size_t at = (size_t)(c - p);

		c++;
		if (at < nl || (at > nl && p[at - nl - 1] != '\n') || at + 1 >= n ||
		    p[at + 1] != ' ')
			continue;
		if (ci_at(p + at - nl, nl, name, nl) && ci_at(p + at + 2, n - at - 2, val, vlen))
			return 1;
	}
	return 0;
}

/* `split /\n\r*\n/, $s, 2`: header ends at *hend, body starts at *bstart. */
static int blank_split(const uint8_t *p, size_t n, size_t *hend, size_t *bstart)
{
	const uint8_t *q = p, *end = p + n;

	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		const uint8_t *r = q + 1;

		while (r < end && *r == '\r')
			r++;
		if (r < end && *r == '\n') {
			*hend = (size_t)(q - p);
			*bstart = (size_t)(r + 1 - p);
			return 1;
		}
		q = r;
	}
	return 0;
}

/* `s/\r+\n/\n/g` of p into out, writing at most `max` bytes (crlf_len
 * gives the full length). */
static void crlf_fix(const uint8_t *p, size_t n, struct drp_buf *out, size_t max, int *oom)
{
	size_t total = 0, i = 0;

	while (i < n && total < max) {
		const uint8_t *cr = memchr(p + i, '\r', n - i);
		size_t run = cr ? (size_t)(cr - p) - i : n - i, j;

		if (run) {
			if (total < max) {
				size_t k = run < max - total ? run : max - total;

				if (drp_buf_append(out, p + i, k) < 0)
					*oom = 1;
			}
			total += run;
			i += run;
		}
		if (cr == NULL)
			break;
		for (j = i; j < n && p[j] == '\r'; j++)
			;
		if (j < n && p[j] == '\n') {
			i = j; /* the \n is copied with the next run */
			continue;
		}
		run = j - i;
		if (total < max) {
			size_t k = run < max - total ? run : max - total;

			if (drp_buf_append(out, p + i, k) < 0)
				*oom = 1;
		}
		total += run;
		i = j;
	}
}

/* `s/([^\n]+)$//s` after a cut: delete the last line's text when it ends
 * the string or is followed only by one final \n. */
static void drop_last_partial_line(struct drp_buf *b)
{
	size_t e = b->len, s;

	if (e > 0 && b->p[e - 1] == '\n')
		e--;
	if (e == 0 || b->p[e - 1] == '\n')
		return;
	s = e;
	while (s > 0 && b->p[s - 1] != '\n')
		s--;
	memmove(b->p + s, b->p + e, b->len - e);
	b->len -= e - s;
}

/* The X-Razor2-Origlen-Header rule shared by prep_part and prep_mail. */
static int cap_header(struct drp_buf *h, size_t max)
{
	struct drp_buf t;
	size_t len = h->len;

	if (len <= max)
		return 0;
	drp_buf_init(&t);
	if (drp_buf_printf(&t, "X-Razor2-Origlen-Header: %zu\n", len) < 0 ||
	    drp_buf_append(&t, h->p, h->len) < 0) {
		drp_buf_free(&t);
		return -1;
	}
	t.len = max;
	drop_last_partial_line(&t);
	drp_buf_free(h);
	*h = t;
	return 0;
}

/* ---- deBase64 ---- */

/* Base64 value + 1 (0: a byte deBase64 deletes); '=' keeps its uuencode
 * value 29, marked with 64 until the trailing run is stripped. */
static const uint8_t b64tab[256] = {
    ['A'] = 1,  ['B'] = 2,           ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
    ['H'] = 8,  ['I'] = 9,           ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
    ['O'] = 15, ['P'] = 16,          ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
    ['V'] = 22, ['W'] = 23,          ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
    ['c'] = 29, ['d'] = 30,          ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
    ['j'] = 36, ['k'] = 37,          ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44,          ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
    ['x'] = 50, ['y'] = 51,          ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58,          ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
    ['/'] = 64, ['='] = 64 + 29 + 1,
};

/*
 * One chunk of at most 60 values through Perl's unpack("u") with the length
 * byte deBase64 computes (floor(3k/4)): normal decoding, except that a
 * chunk of 4m+1 characters reads its last character as a new length byte
 * and emits that many NULs.
 */
static int uu_chunk(const uint8_t *v, size_t k, struct drp_buf *out)
{
	uint8_t line[61];
	size_t s = 0, n = k + 1;

	line[0] = (uint8_t)(3 * k / 4);
	memcpy(line + 1, v, k);
	while (s < n && line[s] != 0) {
		int len = line[s++] & 077;

		while (len > 0) {
			uint8_t a = s < n ? line[s++] : 0, b = s < n ? line[s++] : 0;
			uint8_t c = s < n ? line[s++] : 0, d = s < n ? line[s++] : 0;
			uint8_t h[3];

			h[0] = (uint8_t)(a << 2 | b >> 4);
			h[1] = (uint8_t)(b << 4 | c >> 2);
			h[2] = (uint8_t)(c << 6 | d);
			if (drp_buf_append(out, h, len > 3 ? 3 : (size_t)len) < 0)
				return -1;
			len -= 3;
		}
	}
	return 0;
}

int drp_razor_debase64(const uint8_t *in, size_t len, struct drp_buf *out)
{
	static const char cte[] = "content-transfer-encoding: base64";
	size_t hend, bstart, i, ds, de, nv = 0;
	long at;
	uint8_t *vals;
	int rc = 0;

	if (!cte_line(in, len, "base64", 6))
		return 0;
	if (!blank_split(in, len, &hend, &bstart))
		hend = len;
	/* the data: after the first CTE anywhere, from the first \r?\n\r?\n to
	 * the first '='; without such a blank line Perl's $1 still holds the
	 * whole rest, '=' included */
	at = ci_find(in, len, cte, sizeof(cte) - 1);
	ds = (size_t)at + sizeof(cte) - 1;
	de = len;
	for (i = ds; i < len; i++) {
		size_t j = i;

		if (in[j] == '\r')
			j++;
		if (j >= len || in[j] != '\n')
			continue;
		j++;
		if (j < len && in[j] == '\r')
			j++;
		if (j < len && in[j] == '\n') {
			const uint8_t *eq;

			ds = j + 1;
			eq = memchr(in + ds, '=', len - ds);
			de = eq ? (size_t)(eq - in) : len;
			break;
		}
	}
	/* the values are filtered into the output buffer and decoded in place
	 * (45 bytes out for every 60 in); the short last chunk, which may grow
	 * by up to 63 NULs, goes through uu_chunk */
	drp_buf_reset(out);
	if (drp_buf_reserve(out, hend + 2 + (de - ds) + 128) < 0)
		return -1;
	memcpy(out->p, in, hend);
	memcpy(out->p + hend, "\n\n", 2);
	out->len = hend + 2;
	vals = out->p + out->len;
	for (i = ds; i < de; i++) {
		uint8_t v = b64tab[in[i]];

		vals[nv] = (uint8_t)(v - 1);
		nv += v != 0;
	}
	while (nv > 0 && vals[nv - 1] == 64 + 29) /* s/=+$// */
		nv--;
	for (i = 0; i < nv; i++)
		vals[i] &= 63;
	for (i = 0; i < nv; i += 60) {
		size_t k = nv - i < 60 ? nv - i : 60;

		if (k == 60) {
			size_t g;
			uint8_t *o = out->p + out->len;

			for (g = 0; g < 60; g += 4) {
				const uint8_t *q = vals + i + g;
				uint8_t a0 = q[0], a1 = q[1], a2 = q[2], a3 = q[3];

				*o++ = (uint8_t)(a0 << 2 | a1 >> 4);
				*o++ = (uint8_t)(a1 << 4 | a2 >> 2);
				*o++ = (uint8_t)(a2 << 6 | a3);
			}
			out->len += 45;
		} else if (uu_chunk(vals + i, k, out) < 0) {
			rc = -1;
			break;
		}
	}
	return rc < 0 ? -1 : 1;
}

/* ---- deQP ---- */

static int hexv(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (uint8_t)lc(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int drp_razor_deqp(const uint8_t *in, size_t len, struct drp_buf *out)
{
	size_t hend, bstart, i, start;
	int has = blank_split(in, len, &hend, &bstart);
	uint8_t *o;

	if (!has)
		hend = bstart = len;
	if (!cte_line(in, hend, "quoted-printable", 16))
		return 0;
	drp_buf_reset(out);
	if (drp_buf_reserve(out, hend + 2 + (len - bstart)) < 0)
		return -1;
	memcpy(out->p, in, hend);
	memcpy(out->p + hend, "\n\n", 2);
	/* pass 1: soft line breaks, =\r?\n */
	o = out->p + hend + 2;
	start = (size_t)(o - out->p);
	for (i = bstart; i < len;) {
		const uint8_t *eq = memchr(in + i, '=', len - i);
		size_t e = eq ? (size_t)(eq - in) : len;

		memcpy(o, in + i, e - i);
		o += e - i;
		i = e;
		if (i == len)
			break;
		if (i + 1 < len && in[i + 1] == '\n')
			i += 2;
		else if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n')
			i += 3;
		else
			*o++ = in[i++];
	}
	/* pass 2, in place: =XX; a decoded '=' is not decoded again */
	{
		uint8_t *r = out->p + start, *w = r, *end = o;

		while (r < end) {
			const uint8_t *eq = memchr(r, '=', (size_t)(end - r));
			uint8_t *e = eq ? (uint8_t *)eq : end;
			int h, l;

			memmove(w, r, (size_t)(e - r));
			w += e - r;
			r = e;
			if (r == end)
				break;
			if (end - r >= 3 && (h = hexv(r[1])) >= 0 && (l = hexv(r[2])) >= 0) {
				*w++ = (uint8_t)(h << 4 | l);
				r += 3;
			} else {
				*w++ = *r++;
			}
		}
		out->len = (size_t)(w - out->p);
	}
	return 1;
}

/* ---- deHTMLxs ---- */

static const char *const html_tags[] = {
    "html",   "body",   "a",      "font",  "table", "head", "base",  "meta", "td",     "tr",
    "style",  "img",    "object", "br",    "b",     "i",    "span",  "div",  "form",   "input",
    "button", "frame",  "iframe", "tbody", "col",   "th",   "hr",    "xml",  "script", "pre",
    "param",  "applet", "center", "area",  "map",   "em",   "embed", "xmp",  "sub",    "sup",
};

static int is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int drp_razor_is_html(const uint8_t *in, size_t len)
{
	const uint8_t *nul = memchr(in, 0, len);
	size_t n = nul ? (size_t)(nul - in) : len, i = 0;

	while (i < n) {
		const uint8_t *lt = memchr(in + i, '<', n - i);
		size_t p, j, k, nl;
		const uint8_t *gt;
		char name[12];

		if (lt == NULL)
			return 0;
		p = (size_t)(lt - in);
		j = p + 1;
		if (j < n && (in[j] == '!' || in[j] == '/'))
			j++;
		while (j < n && pl_space(in[j]))
			j++;
		for (k = j, nl = 0; k < n && is_alpha(in[k]) && k - j < 99; k++)
			if (nl < sizeof(name) - 1)
				name[nl++] = (char)lc(in[k]);
		if (k == j) {
			i = p + 1;
			continue;
		}
		gt = memchr(in + k, '>', n - k);
		if (gt == NULL)
			return 0; /* no later '<' can find a '>' either */
		if (k - j < sizeof(name) - 1) {
			size_t t;

			name[nl] = 0;
			for (t = 0; t < sizeof(html_tags) / sizeof(html_tags[0]); t++)
				if (!strcmp(name, html_tags[t]))
					return 1;
		}
		/* not a known tag: the scan resumes after its '>' */
		i = (size_t)(gt - in) + 1;
	}
	return 0;
}

/* Entity names in the XS table order; codes 60 62 38 34 32, then 161..255. */
static const char *const html_ents[] = {
    "lt",     "gt",     "amp",    "quot",   "nbsp",   "iexcl",  "cent",   "pound",  "curren",
    "yen",    "brvbar", "sect",   "uml",    "copy",   "ordf",   "laquo",  "not",    "shy",
    "reg",    "macr",   "deg",    "plusmn", "sup2",   "sup3",   "acute",  "micro",  "para",
    "middot", "cedil",  "sup1",   "ordm",   "raquo",  "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc",  "Atilde", "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave",
    "Eacute", "Ecirc",  "Euml",   "Igrave", "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde",
    "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",   "times",  "Oslash", "Ugrave", "Uacute",
    "Ucirc",  "Uuml",   "Yacute", "THORN",  "szlig",  "agrave", "aacute", "acirc",  "atilde",
    "auml",   "aring",  "aelig",  "ccedil", "egrave", "eacute", "ecirc",  "euml",   "igrave",
    "iacute", "icirc",  "iuml",   "eth",    "ntilde", "ograve", "oacute", "ocirc",  "otilde",
    "ouml",   "divide", "oslash", "ugrave", "uacute", "ucirc",  "uuml",   "yacute", "thorn",
    "yuml",
};

static int ent_code(size_t idx)
{
	static const uint8_t first[5] = {60, 62, 38, 34, 32};

	return idx < 5 ? first[idx] : (int)(161 + idx - 5);
}

/* The bytes the stripper acts on inside a tag. */
static const uint8_t html_special[256] = {
    ['<'] = 1, ['>'] = 1, ['&'] = 1, ['-'] = 1, ['"'] = 1, ['\''] = 1,
};

int drp_razor_dehtml(const uint8_t *in, size_t len, struct drp_buf *out)
{
	size_t n, i;
	const uint8_t *nul;
	int tag = 0, sgml = 0, last = -1;
	uint8_t quote = 0;
	uint8_t *o;

	/* the XS code writes its terminating NUL over the last byte */
	n = len ? len - 1 : 0;
	nul = memchr(in, 0, n);
	if (nul)
		n = (size_t)(nul - in);
	drp_buf_reset(out);
	if (drp_buf_reserve(out, n) < 0)
		return -1;
	o = out->p;
	for (i = 0; i < n; i++) {
		uint8_t c;

		/* runs of bytes with no meaning in the current state: copied
		 * outside a tag, dropped inside one (sgml implies tag) */
		if (!quote) {
			size_t k = i;

			if (!tag) {
				while (k < n && in[k] != '<' && in[k] != '>' && in[k] != '&')
					k++;
				memcpy(o, in + i, k - i);
				o += k - i;
			} else {
				while (k < n && !html_special[in[k]])
					k++;
			}
			if (k > i) {
				last = in[k - 1];
				i = k;
				if (i >= n)
					break;
			}
		}
		c = in[i];
		if (quote) {
			if (c == quote && (quote != '-' || last == '-'))
				quote = 0;
			last = c;
			continue;
		}
		switch (c) {
		case '<':
			tag = 1;
			if (i + 1 < n) {
				if (in[i + 1] == '!')
					sgml = 1;
				i++; /* the byte after '<' is swallowed whatever it is */
			}
			break;
		case '>':
			if (tag)
				tag = sgml = 0;
			break;
		case '-':
			if (sgml && last == '-')
				quote = '-';
			else if (!tag)
				*o++ = c;
			break;
		case '"':
		case '\'':
			if (tag)
				quote = c;
			else
				*o++ = c;
			break;
		case '&': {
			size_t r = n - i - 1, lim = r < 10 ? r : 10, e;

			if (r == 0 || !is_alpha(in[i + 1])) {
				*o++ = c;
				break;
			}
			for (e = 0; e < sizeof(html_ents) / sizeof(html_ents[0]); e++) {
				size_t el = strlen(html_ents[e]);

				if (el <= lim && !memcmp(in + i + 1, html_ents[e], el))
					break;
			}
			if (e == sizeof(html_ents) / sizeof(html_ents[0])) {
				*o++ = c;
				break;
			}
			*o++ = (uint8_t)ent_code(e);
			i += strlen(html_ents[e]);
			if (i + 1 < n && in[i + 1] == ';')
				i++;
			break;
		}
		default:
			if (!tag)
				*o++ = c;
			break;
		}
		last = c;
	}
	out->len = (size_t)(o - out->p);
	return 1;
}

/* ---- deNewline + header removal (the end of Manager::preproc) ---- */

static void strip_header(const uint8_t *in, size_t len, const uint8_t **bp, size_t *bl)
{
	size_t hend, bstart, n;

	if (!blank_split(in, len, &hend, &bstart)) {
		*bp = in;
		*bl = 0;
		return;
	}
	n = len - bstart;
	if (!pl_false(in + bstart, n))
		while (n > 0 && in[bstart + n - 1] == '\n')
			n--;
	*bp = in + bstart;
	*bl = n;
}

int drp_razor_denewline(const uint8_t *in, size_t len, struct drp_buf *out)
{
	size_t hend, bstart, n;

	if (!blank_split(in, len, &hend, &bstart))
		return 0;
	n = len - bstart;
	if (pl_false(in + bstart, n) || in[len - 1] != '\n')
		return 0;
	while (n > 0 && in[bstart + n - 1] == '\n')
		n--;
	drp_buf_reset(out);
	if (drp_buf_append(out, in, hend) < 0 || drp_buf_append(out, "\n\n", 2) < 0 ||
	    drp_buf_append(out, in + bstart, n) < 0)
		return -1;
	return 1;
}

/* The shared steps of both chains, then each chain's tail; the results are
 * views into `part` or the scratch buffers (t3 only for deHTMLxs, so the
 * VR8 view stays valid). */
static int chains(const uint8_t *part, size_t len, struct drp_slice *v4, struct drp_slice *v8,
                  struct drp_buf *t1, struct drp_buf *t2, struct drp_buf *t3)
{
	const uint8_t *cur = part;
	size_t n = len;
	int r;

	r = drp_razor_debase64(cur, n, t1);
	if (r < 0)
		return -1;
	if (r) {
		cur = t1->p;
		n = t1->len;
	}
	r = drp_razor_deqp(cur, n, t2);
	if (r < 0)
		return -1;
	if (r) {
		cur = t2->p;
		n = t2->len;
	}
	strip_header(cur, n, &v8->p, &v8->len);
	if (drp_razor_is_html(cur, n)) {
		if (drp_razor_dehtml(cur, n, t3) < 0)
			return -1;
		strip_header(t3->p, t3->len, &v4->p, &v4->len);
	} else {
		*v4 = *v8;
	}
	return 0;
}

int drp_razor_preproc(const uint8_t *part, size_t len, int dehtml, struct drp_buf *out)
{
	struct drp_buf t1, t2, t3;
	struct drp_slice v4, v8;
	int rc;

	drp_buf_init(&t1);
	drp_buf_init(&t2);
	drp_buf_init(&t3);
	rc = chains(part, len, &v4, &v8, &t1, &t2, &t3);
	drp_buf_reset(out);
	if (rc == 0 && dehtml)
		rc = drp_buf_append(out, v4.p, v4.len);
	else if (rc == 0)
		rc = drp_buf_append(out, v8.p, v8.len);
	drp_buf_free(&t1);
	drp_buf_free(&t2);
	drp_buf_free(&t3);
	return rc;
}

/* ---- compute_sigs' emptiness tests on the VR8 text ---- */

/* /^(Content\S*:.*\n\r?)+(Content\S*:.*)?\s*$/s */
static int content_only(const uint8_t *p, size_t n)
{
	size_t c, i, lastns = 0;
	int any = 0;

	if (n < 7 || memcmp(p, "Content", 7) != 0)
		return 0;
	for (c = 7; c < n && !pl_space(p[c]) && p[c] != ':'; c++)
		;
	if (c >= n || p[c] != ':')
		return 0;
	for (i = 0; i < n; i++)
		if (!pl_space(p[i])) {
			lastns = i;
			any = 1;
		}
	for (i = c + 1; i < n; i++) {
		size_t j, k;

		if (p[i] != '\n')
			continue;
		if (!any || i > lastns)
			return 1; /* only whitespace follows */
		j = i + 1;
		if (j < n && p[j] == '\r')
			j++;
		if (n - j >= 7 && memcmp(p + j, "Content", 7) == 0) {
			for (k = j + 7; k < n && !pl_space(p[k]) && p[k] != ':'; k++)
				;
			if (k < n && p[k] == ':')
				return 1;
		}
	}
	return 0;
}

static int skip_part(const uint8_t *c8, size_t n)
{
	size_t i;

	if (n == 0)
		return 1;
	if (n < 128 && content_only(c8, n))
		return 1;
	for (i = 0; i < n; i++)
		if (!pl_space(c8[i]))
			return 0;
	return 1;
}

/* Core::check_logic's part typing for logic methods 2 and 3. */
static void part_type(struct drp_razor_part *pt)
{
	const uint8_t *p = pt->prepared.p, *dd;
	size_t n = pt->prepared.len, h;
	long at;

	dd = drp_memmem(p, n, "\n\n", 2);
	h = dd ? (size_t)(dd - p) + 1 : n; /* the header plus the "\n" put back */
	pt->is_inline = CI_FIND(p, h, "content-disposition: inline") >= 0;
	pt->is_text = 1; /* "<type unknown>" counts as text */
	for (size_t from = 0; from < h;) {
		at = CI_FIND(p + from, h - from, "content-type:");
		if (at < 0)
			break;
		{
			size_t v = from + (size_t)at + 13, e;

			if (v + 1 < h && pl_space(p[v]) && p[v + 1] != '\n') {
				const uint8_t *nl = memchr(p + v + 1, '\n', h - v - 1);

				e = nl ? (size_t)(nl - p) : h;
				pt->is_text =
				    CI_FIND(p + v + 1, e - v - 1, "text/") >= 0 ||
				    drp_memmem(p + v + 1, e - v - 1, "type unknown", 12) != NULL;
				return;
			}
			from = from + (size_t)at + 1;
		}
	}
}

/* ---- split_mime + prep_part ---- */

struct piece {
	const uint8_t *p;
	size_t n;
	int nested;
};

struct pstack {
	struct piece *v;
	size_t n, cap;
};

static int push_piece(struct pstack *s, const uint8_t *p, size_t n, int nested)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct piece *nv = realloc(s->v, nc * sizeof(*nv));

		if (nv == NULL)
			return -1;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n].p = p;
	s->v[s->n].n = n;
	s->v[s->n].nested = nested;
	s->n++;
	return 0;
}

struct prep_ctx {
	struct drp_razor_msg *m;
	size_t cap_parts;
	unsigned mail;
	unsigned index;
	struct drp_buf t1, t2, t3; /* chain scratch */
};

/* Length of p after s/\r+\n/\n/g. */
static size_t crlf_len(const uint8_t *p, size_t n)
{
	const uint8_t *c = p, *end = p + n;
	size_t drop = 0;

	while ((c = memchr(c, '\r', (size_t)(end - c))) != NULL) {
		const uint8_t *r = c;

		while (r < end && *r == '\r')
			r++;
		if (r < end && *r == '\n')
			drop += (size_t)(r - c);
		c = r;
	}
	return n - drop;
}

/* Keep a cleaned text: a view into the prepared part when it is one,
 * else a copy in own. */
static int keep_text(struct drp_razor_part *pt, struct drp_slice *v, size_t *off)
{
	const uint8_t *b = pt->prepared.p;

	if (v->len == 0)
		v->p = b; /* never a view into scratch memory */
	if (v->len == 0 || (v->p >= b && v->p + v->len <= b + pt->prepared.len)) {
		*off = SIZE_MAX;
		return 0;
	}
	*off = pt->own.len;
	return drp_buf_append(&pt->own, v->p, v->len);
}

/* prep_part of the leaf AGENT_LINE + hdr (kept header lines) + body. */
static int prep_part(struct prep_ctx *c, const uint8_t *hdr, size_t hl, const uint8_t *body,
                     size_t bl)
{
	struct drp_buf h;
	struct drp_razor_part *pt;
	struct drp_slice v4, v8;
	size_t blen, o4, o8;
	int oom = 0;

	if (pl_false(body, bl))
		return 0; /* an empty body drops the part */
	drp_buf_init(&h);
	blen = crlf_len(body, bl);
	if (blen > DRP_RAZOR_MAX_PART_BODY &&
	    drp_buf_printf(&h, "X-Razor2-Origlen-Body: %zu\n", blen) < 0)
		oom = 1;
	if (drp_buf_append(&h, AGENT_LINE, sizeof(AGENT_LINE) - 1) < 0)
		oom = 1;
	crlf_fix(hdr, hl, &h, SIZE_MAX, &oom);
	if (oom || cap_header(&h, DRP_RAZOR_MAX_PART_HEADER) < 0 || drp_buf_putc(&h, '\n') < 0 ||
	    drp_buf_reserve(&h, blen < DRP_RAZOR_MAX_PART_BODY ? blen : DRP_RAZOR_MAX_PART_BODY) <
	        0)
		goto fail;
	crlf_fix(body, bl, &h, DRP_RAZOR_MAX_PART_BODY, &oom);
	if (oom)
		goto fail;
	if (c->m->nparts == c->cap_parts) {
		size_t nc = c->cap_parts ? c->cap_parts * 2 : 4;
		struct drp_razor_part *nv = realloc(c->m->parts, nc * sizeof(*nv));

		if (nv == NULL)
			goto fail;
		c->m->parts = nv;
		c->cap_parts = nc;
	}
	pt = &c->m->parts[c->m->nparts++];
	memset(pt, 0, sizeof(*pt));
	pt->mail = c->mail;
	pt->index = c->index++;
	pt->prepared = h;
	drp_buf_init(&pt->own);
	part_type(pt);
	if (chains(pt->prepared.p, pt->prepared.len, &v4, &v8, &c->t1, &c->t2, &c->t3) < 0 ||
	    keep_text(pt, &v8, &o8) < 0 || (v4.p != v8.p && keep_text(pt, &v4, &o4) < 0))
		return -1;
	if (v4.p == v8.p)
		o4 = o8;
	/* views are taken once own has stopped growing */
	pt->vr8.p = o8 == SIZE_MAX ? v8.p : pt->own.p + o8;
	pt->vr8.len = v8.len;
	pt->vr4.p = o4 == SIZE_MAX ? v4.p : pt->own.p + o4;
	pt->vr4.len = v4.len;
	pt->skipped = skip_part(pt->vr8.p, pt->vr8.len);
	return 0;
fail:
	drp_buf_free(&h);
	return -1;
}

/*
 * /Content-Type: multipart.+boundary=("[^"]+"|\S+)/i on the kept header
 * lines: the leftmost header with a usable boundary, and in it the last
 * `boundary=` on the same line (the gap is greedy).
 */
static int find_boundary(const uint8_t *t, size_t n, size_t *bo, size_t *bl)
{
	static const char ct[] = "content-type: multipart";
	size_t from = 0;

	while (from < n) {
		long at = ci_find(t + from, n - from, ct, sizeof(ct) - 1);
		size_t p, e, q;
		const uint8_t *nl;

		if (at < 0)
			return 0;
		p = from + (size_t)at;
		nl = memchr(t + p, '\n', n - p);
		e = nl ? (size_t)(nl - t) : n;
		for (q = e >= 9 ? e - 9 : 0; q >= p + sizeof(ct); q--) {
			size_t v = q + 9, k;

			if (!CI_AT(t + q, n - q, "boundary="))
				continue;
			if (v < n && t[v] == '"') {
				const uint8_t *cl =
				    v + 1 < n ? memchr(t + v + 1, '"', n - v - 1) : NULL;

				if (cl && (size_t)(cl - t) > v + 1) {
					*bo = v;
					*bl = (size_t)(cl - t) + 1 - v;
					return 1;
				}
			}
			for (k = v; k < n && !pl_space(t[k]); k++)
				;
			if (k > v) {
				*bo = v;
				*bl = k - v;
				return 1;
			}
		}
		/* a later header on the same line has a subset of the same
		 * boundary= candidates: go to the next line */
		from = e + 1;
	}
	return 0;
}

/* Unfold (s/\n\s+//g) and keep the Content-* and X-Razor2* lines. */
static int trim_header(const uint8_t *h, size_t n, struct drp_buf *u, struct drp_buf *t)
{
	size_t i = 0, s;

	drp_buf_reset(u);
	drp_buf_reset(t);
	if (drp_buf_reserve(u, n) < 0)
		return -1;
	while (i < n) {
		if (h[i] == '\n' && i + 1 < n && pl_space(h[i + 1])) {
			for (i++; i < n && pl_space(h[i]); i++)
				;
			continue;
		}
		u->p[u->len++] = h[i++];
	}
	for (s = 0; s < u->len;) {
		const uint8_t *nl = memchr(u->p + s, '\n', u->len - s);
		size_t e = nl ? (size_t)(nl - u->p) : u->len;

		if (CI_AT(u->p + s, e - s, "content-") || CI_AT(u->p + s, e - s, "x-razor2")) {
			if (drp_buf_append(t, u->p + s, e - s) < 0 || drp_buf_putc(t, '\n') < 0)
				return -1;
		}
		s = e + 1;
	}
	return 0;
}

static int has_nonspace(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!pl_space(p[i]))
			return 1;
	return 0;
}

/*
 * split_mime with an explicit stack (depth-first, as the recursion).  Each
 * nesting level rescans its body, so the work is bounded to keep a crafted
 * message from costing more than a few passes per byte.
 */
static int split_mime(struct prep_ctx *c, const uint8_t *mail, size_t len, char *err, size_t errlen)
{
	struct pstack st = {NULL, 0, 0}, kids = {NULL, 0, 0};
	struct drp_buf u, t, sep;
	size_t budget = len * 32 + (1u << 20), work = 0;
	int rc = -1;

	drp_buf_init(&u);
	drp_buf_init(&t);
	drp_buf_init(&sep);
	if (push_piece(&st, mail, len, 0) < 0)
		goto oom;
	while (st.n > 0) {
		struct piece pc = st.v[--st.n];
		size_t hend, bstart, bo, bl, blen, i;
		const uint8_t *body;
		int has = blank_split(pc.p, pc.n, &hend, &bstart);

		work += pc.n;
		if (work > budget) {
			snprintf(err, errlen, "razor: MIME structure too deep");
			goto out;
		}
		if (!has || pl_false(pc.p + bstart, pc.n - bstart) ||
		    (pc.nested && !CI_AT(pc.p, hend, "content-type:"))) {
			/* headerless: the whole piece is the body */
			size_t skip = pc.n > 0 && pc.p[0] == '\n';

			if (prep_part(c, NULL, 0, pc.p + skip, pc.n - skip) < 0)
				goto oom;
			continue;
		}
		if (trim_header(pc.p, hend, &u, &t) < 0)
			goto oom;
		body = pc.p + bstart;
		blen = pc.n - bstart;
		if (!find_boundary(t.p, t.len, &bo, &bl)) {
			if (prep_part(c, t.p, t.len, body, blen) < 0)
				goto oom;
			continue;
		}
		if (bl >= 2 && t.p[bo] == '"' && t.p[bo + bl - 1] == '"' &&
		    memchr(t.p + bo, '\n', bl) == NULL) {
			bo++;
			bl -= 2;
		}
		/* sep = "\n--B--"; B is a literal string */
		drp_buf_reset(&sep);
		if (drp_buf_append(&sep, "\n--", 3) < 0 || drp_buf_append(&sep, t.p + bo, bl) < 0 ||
		    drp_buf_append(&sep, "--", 2) < 0)
			goto oom;
		{
			const uint8_t *ep = drp_memmem(body, blen, sep.p, sep.len);
			const uint8_t *d = sep.p + 1; /* "--B" */
			size_t dl = sep.len - 3, fs = 0, cur;
			int first = 1;

			if (ep)
				blen = (size_t)(ep - body);
			kids.n = 0;
			if (blen >= dl && memcmp(body, d, dl) == 0) {
				size_t j = dl;

				while (j < blen && body[j] == '\r')
					j++;
				if (j < blen && body[j] == '\n') {
					/* "garbage\n" in front: the first part is kept */
					fs = j + 1;
					first = 0;
				}
			}
			if (drp_memmem(body, blen, d, dl) == NULL) {
				if (has_nonspace(body, blen) &&
				    push_piece(&kids, body, blen, 1) < 0)
					goto oom;
			} else {
				for (cur = fs;;) {
					const uint8_t *m =
					    drp_memmem(body + cur, blen - cur, sep.p, dl + 1);
					size_t ms, j;

					if (m == NULL)
						break;
					ms = (size_t)(m - body);
					for (j = ms + dl + 1; j < blen && body[j] == '\r'; j++)
						;
					if (j >= blen || body[j] != '\n') {
						cur = ms + 1;
						continue;
					}
					if (!first && has_nonspace(body + fs, ms - fs) &&
					    push_piece(&kids, body + fs, ms - fs, 1) < 0)
						goto oom;
					first = 0;
					fs = cur = j + 1;
				}
				if (!first && has_nonspace(body + fs, blen - fs) &&
				    push_piece(&kids, body + fs, blen - fs, 1) < 0)
					goto oom;
			}
			for (i = kids.n; i > 0; i--)
				if (push_piece(&st, kids.v[i - 1].p, kids.v[i - 1].n, 1) < 0)
					goto oom;
		}
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "razor: out of memory");
out:
	free(st.v);
	free(kids.v);
	drp_buf_free(&u);
	drp_buf_free(&t);
	drp_buf_free(&sep);
	return rc;
}

/* prep_mail's header block for uploads (report_headers = 1). */
static int mail_header(const uint8_t *mail, size_t len, struct drp_buf *out)
{
	size_t hend, bstart, i, w;
	struct drp_buf h;

	if (!blank_split(mail, len, &hend, &bstart))
		hend = len;
	drp_buf_init(&h);
	if (drp_buf_append(&h, mail, hend) < 0 || drp_buf_putc(&h, '\n') < 0 ||
	    cap_header(&h, DRP_RAZOR_MAX_ORIG_HEADER) < 0) {
		drp_buf_free(&h);
		return -1;
	}
	/* Core: s/\r\n/\n/g, in place */
	for (i = 0, w = 0; i < h.len;) {
		const uint8_t *cr = memchr(h.p + i, '\r', h.len - i);
		size_t e = cr ? (size_t)(cr - h.p) : h.len;

		memmove(h.p + w, h.p + i, e - i);
		w += e - i;
		i = e;
		if (cr == NULL)
			break;
		if (i + 1 < h.len && h.p[i + 1] == '\n')
			i++; /* the \n is copied with the next run */
		else
			h.p[w++] = h.p[i++];
	}
	h.len = w;
	*out = h;
	return 0;
}

static int prep_mail(struct prep_ctx *c, const uint8_t *mail, size_t len, char *err, size_t errlen)
{
	struct drp_razor_msg *m = c->m;
	struct drp_razor_mail *ml, *nv;

	nv = realloc(m->mails, (m->nmails + 1) * sizeof(*nv));
	if (nv == NULL)
		goto oom;
	m->mails = nv;
	ml = &m->mails[m->nmails++];
	drp_buf_init(&ml->header);
	ml->first_part = m->nparts;
	ml->nparts = 0;
	c->index = 0;
	if (mail_header(mail, len, &ml->header) < 0)
		goto oom;
	if (split_mime(c, mail, len, err, errlen) < 0)
		return -1;
	ml = &m->mails[m->nmails - 1];
	ml->nparts = m->nparts - ml->first_part;
	c->mail++;
	return 0;
oom:
	snprintf(err, errlen, "razor: out of memory");
	return -1;
}

static int line_is_from(const uint8_t *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

int drp_razor_prepare(const uint8_t *msg, size_t len, struct drp_razor_msg *m, char *err,
                      size_t errlen)
{
	struct prep_ctx c;
	const uint8_t *nl;
	size_t first;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	memset(&c, 0, sizeof(c));
	c.m = m;
	drp_buf_init(&c.t1);
	drp_buf_init(&c.t2);
	drp_buf_init(&c.t3);
	nl = memchr(msg, '\n', len);
	first = nl ? (size_t)(nl - msg) + 1 : len;
	if (pl_false(msg, first)) /* `next unless $line` */
		return 0;
	if (line_is_from(msg, len)) {
		/* mbox: a message starts at every line beginning with "From " */
		size_t s = 0;

		while (s < len && rc == 0) {
			size_t e = s;

			for (;;) {
				const uint8_t *q = memchr(msg + e, '\n', len - e);

				if (q == NULL) {
					e = len;
					break;
				}
				e = (size_t)(q - msg) + 1;
				if (line_is_from(msg + e, len - e))
					break;
			}
			rc = prep_mail(&c, msg + s, e - s, err, errlen);
			s = e;
		}
	} else {
		/* one message: every line matching /^>*From / gets one more '>' */
		struct drp_buf q;
		const uint8_t *f = msg, *end = msg + len;
		size_t done = 0;

		drp_buf_init(&q);
		while (rc == 0 && (f = memchr(f, 'F', (size_t)(end - f))) != NULL) {
			size_t b = (size_t)(f - msg);

			f++;
			if (len - b < 5 || memcmp(msg + b, "From ", 5) != 0)
				continue;
			while (b > 0 && msg[b - 1] == '>')
				b--;
			if (b > 0 && msg[b - 1] != '\n')
				continue;
			if (drp_buf_append(&q, msg + done, b - done) < 0 ||
			    drp_buf_putc(&q, '>') < 0)
				rc = -1;
			done = b;
		}
		if (rc == 0 && q.p != NULL && drp_buf_append(&q, msg + done, len - done) < 0)
			rc = -1;
		if (rc < 0)
			snprintf(err, errlen, "razor: out of memory");
		else if (q.p != NULL)
			rc = prep_mail(&c, q.p, q.len, err, errlen);
		else
			rc = prep_mail(&c, msg, len, err, errlen);
		drp_buf_free(&q);
	}
	drp_buf_free(&c.t1);
	drp_buf_free(&c.t2);
	drp_buf_free(&c.t3);
	return rc;
}

void drp_razor_msg_free(struct drp_razor_msg *m)
{
	size_t i;

	for (i = 0; i < m->nparts; i++) {
		drp_buf_free(&m->parts[i].prepared);
		drp_buf_free(&m->parts[i].own);
	}
	for (i = 0; i < m->nmails; i++)
		drp_buf_free(&m->mails[i].header);
	free(m->parts);
	free(m->mails);
	memset(m, 0, sizeof(*m));
}

void drp_razor_part_id(const struct drp_razor_msg *m, size_t part, char *out, size_t outlen)
{
	const struct drp_razor_part *pt = &m->parts[part];

	if (m->nmails > 1)
		snprintf(out, outlen, "%u.%u", pt->mail + 1, pt->index);
	else
		snprintf(out, outlen, "%u", pt->index);
}
