/*
 * dcc_ckmime: the MIME header parser and the transfer decoders of DCC's
 * body checksums (protocol doc 9.3-9.5).  Both are byte state machines
 * fed in arbitrary pieces: a header may arrive split across body chunks,
 * and a decoder keeps its state for the whole entity.  Their quirks are
 * the reference's and are kept on purpose: checksums must match dccproc.
 */
#include <strings.h>

#include "dcc_ck_int.h"

enum {
	MH_IDLE,
	MH_CE_CT,     /* "Content-T" */
	MH_CE,        /* "ransfer-Encoding:" */
	MH_CE_WS,     /* blanks before the encoding */
	MH_CT,        /* "ype:" */
	MH_CT_WS,     /* blanks before the type */
	MH_QP,        /* "quoted-printable" */
	MH_B64,       /* "base64" */
	MH_TEXT,      /* "text" */
	MH_HTML,      /* "/html" */
	MH_CSET_SKIP, /* to the next parameter */
	MH_CSET_WS,   /* blanks before it */
	MH_CSET,      /* "charset=" */
	MH_CSET_ISO,  /* "iso-8859-" */
	MH_CSET_NUM,  /* the part number */
	MH_MULTIPART, /* "multipart" */
	MH_BND_SKIP,  /* to the next parameter */
	MH_BND_WS,    /* blanks before it */
	MH_BND,       /* "boundary=" */
	MH_BND_VALUE, /* the boundary itself */
};

static int is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Case-insensitive match of lit against as much input as there is;
 * partial matches wait for more input in mhdr_pos.  1 on a full match. */
static int match(struct drp_dcc_state *s, const char *lit, size_t litlen, int ok, int fail,
                 const uint8_t **p, size_t *n)
{
	size_t k;

	/* only after the "multipart" quirk below: the reference then reads
	 * past the end of "text" (undefined); taken as a mismatch */
	if (s->mhdr_pos > litlen) {
		s->mhdr_st = fail;
		return 0;
	}
	k = litlen - s->mhdr_pos;
	if (k > *n)
		k = *n;
	if (strncasecmp(lit + s->mhdr_pos, (const char *)*p, k) != 0) {
		s->mhdr_st = fail;
		return 0;
	}
	/* strncasecmp stops at a NUL: a NUL in the input never equals lit */
	if (memchr(*p, 0, k) != NULL) {
		s->mhdr_st = fail;
		return 0;
	}
	*p += k;
	*n -= k;
	s->mhdr_pos += (unsigned)k;
	if (s->mhdr_pos >= litlen) {
		s->mhdr_st = ok;
		s->mhdr_pos = 0;
		return 1;
	}
	return 0;
}

#define MATCH(lit, ok, fail) match(s, lit, sizeof(lit) - 1, ok, fail, &p, &n)

/* Skip blanks; 0 when the input ran out. */
static int span_ws(const uint8_t **p, size_t *n)
{
	while (is_ws(**p)) {
		++*p;
		if (--*n == 0)
			return 0;
	}
	return 1;
}

/* Skip to a blank or just past a ';'; 0 when the input ran out. */
static int skip_param(const uint8_t **p, size_t *n)
{
	while (!is_ws(**p)) {
		uint8_t c = *(*p)++;

		if (c == ';') {
			--*n;
			return 1;
		}
		if (--*n == 0)
			return 0;
	}
	return 1;
}

int drp_dcc_mime_hdr_parse(struct drp_dcc_state *s, const uint8_t *p, size_t n, int top)
{
	struct dcc_bnd *b;
	uint8_t c;

	if (n == 0)
		return 0;
	if (s->bol && !top) {
		c = *p;
		if (c == '\r') {
			if (--n == 0)
				return 0;
			c = *++p;
		}
		if (c == '\n')
			return 1;
		/* a line not starting with a blank starts a new field */
		if (c != ' ' && c != '\t') {
			s->mhdr_st = MH_CE_CT;
			s->mhdr_pos = 0;
		}
		s->bol = 0;
	}

	do {
		switch (s->mhdr_st) {
		case MH_IDLE:
			return 0;
		case MH_CE_CT:
			if (MATCH("Content-T", MH_CT_WS, MH_IDLE)) {
				/* the byte after "Content-T" picks the field;
				 * when the piece ends right there the reference
				 * peeks past it (a NUL for top-level fields) */
				c = n ? *p : 0;
				if (c == 'r' || c == 'R')
					s->mhdr_st = MH_CE;
				else if (c == 'y' || c == 'Y')
					s->mhdr_st = MH_CT;
				else {
					s->mhdr_st = MH_IDLE;
					return 0;
				}
			}
			break;
		case MH_CE:
			MATCH("ransfer-Encoding:", MH_CE_WS, MH_IDLE);
			break;
		case MH_CE_WS:
			if (!span_ws(&p, &n))
				return 0;
			c = *p;
			if (c == 'b' || c == 'B')
				s->mhdr_st = MH_B64;
			else if (c == 'q' || c == 'Q')
				s->mhdr_st = MH_QP;
			else {
				s->mhdr_st = MH_IDLE;
				return 0;
			}
			break;
		case MH_QP:
			if (MATCH("quoted-printable", MH_IDLE, MH_IDLE))
				s->ce = DCC_CE_QP;
			break;
		case MH_B64:
			if (MATCH("base64", MH_IDLE, MH_IDLE))
				s->ce = DCC_CE_B64;
			break;
		case MH_CT:
			MATCH("ype:", MH_CT_WS, MH_IDLE);
			break;
		case MH_CT_WS:
			if (!span_ws(&p, &n))
				return 0;
			c = *p;
			if (c == 't' || c == 'T') {
				s->mhdr_st = MH_TEXT;
			} else if (c == 'm' || c == 'M') {
				/* do not nest deeper than the boundary list */
				s->mhdr_st =
				    (top || s->nest < DCC_MAX_BND) ? MH_MULTIPART : MH_IDLE;
			} else {
				/* image/, application/, ...: not text */
				s->ct = DCC_CT_BINARY;
				s->mhdr_st = MH_IDLE;
				return 0;
			}
			break;
		case MH_TEXT:
			if (MATCH("text", MH_HTML, MH_IDLE))
				s->ct = DCC_CT_TEXT;
			break;
		case MH_HTML:
			if (MATCH("/html", MH_CSET_SKIP, MH_CSET_SKIP))
				s->ct = DCC_CT_HTML;
			break;
		case MH_CSET_SKIP:
			if (skip_param(&p, &n))
				s->mhdr_st = MH_CSET_WS;
			break;
		case MH_CSET_WS:
			if (span_ws(&p, &n))
				s->mhdr_st = MH_CSET;
			break;
		case MH_CSET:
			MATCH("charset=", MH_CSET_ISO, MH_CSET_SKIP);
			break;
		case MH_CSET_ISO:
			if (s->mhdr_pos == 0 && n > 0 && *p == '"') {
				++p;
				--n;
			}
			MATCH("iso-8859-", MH_CSET_NUM, MH_IDLE);
			break;
		case MH_CSET_NUM:
			for (;;) {
				if (n == 0)
					return 0;
				--n;
				c = *p++;
				if (c < '0' || c > '9') {
					if ((c == '"' || c == ' ' || c == '\t' || c == ';' ||
					     c == '\r' || c == '\n') &&
					    s->mhdr_pos == 2)
						s->cset = drp_dcc_cset_latin2;
					else
						s->cset = drp_dcc_cset_latin1;
					s->mhdr_st = MH_IDLE;
					return 0;
				}
				s->mhdr_pos = s->mhdr_pos * 10 + (unsigned)(c - '0');
				if (s->mhdr_pos > 99) {
					s->mhdr_st = MH_IDLE;
					return 0;
				}
			}
		case MH_MULTIPART:
			/* not "multipart" (message/rfc822...): stays text.  The
			 * reference sets the state to "text" first, so a value
			 * split inside "multipart" at a chunk end resumes as
			 * the "text" match at the same position. */
			s->mhdr_st = MH_TEXT;
			MATCH("multipart", MH_BND_SKIP, MH_IDLE);
			break;
		case MH_BND_SKIP:
			if (skip_param(&p, &n))
				s->mhdr_st = MH_BND_WS;
			break;
		case MH_BND_WS:
			if (span_ws(&p, &n))
				s->mhdr_st = MH_BND;
			break;
		case MH_BND:
			if (MATCH("boundary=", MH_BND_VALUE, MH_BND_SKIP)) {
				if (top) {
					/* the last top-level declaration wins, and
					 * the first body line may be a boundary */
					s->nest = 0;
					s->bnd_matches = 1;
				}
				b = &s->bnd[s->nest];
				s->quoted = 0;
				b->s[0] = '-';
				b->s[1] = '-';
				s->mhdr_pos = 2;
			}
			break;
		case MH_BND_VALUE:
			b = &s->bnd[s->nest];
			for (;;) {
				if (n == 0)
					return 0;
				--n;
				c = *p++;
				if (c == '\n')
					break;
				if (c == '\r')
					continue;
				if ((c == ' ' || c == '\t' || c == ';') && !s->quoted)
					break;
				if (c == '"') {
					s->quoted = !s->quoted;
					continue;
				}
				b->s[s->mhdr_pos] = c;
				if (++s->mhdr_pos >= DCC_BND_MAX) {
					s->mhdr_st = MH_IDLE;
					return 0;
				}
			}
			b->len = s->mhdr_pos;
			b->cmp_len = 0;
			++s->nest;
			s->mhdr_st = MH_IDLE;
			break;
		}
	} while (n != 0);
	return 0;
}

void drp_dcc_mime_top_hdr(struct drp_dcc_state *s, const uint8_t *p, size_t n)
{
	s->mhdr_st = MH_CE_CT;
	s->mhdr_pos = 0;
	drp_dcc_mime_hdr_parse(s, p, n, 1);
	if (s->mhdr_st != MH_IDLE)
		drp_dcc_mime_hdr_parse(s, (const uint8_t *)"\n", 1, 1);
	if (s->nest != 0)
		s->mp_st = DCC_MP_PREAMBLE;
	s->bol = 1;
}

/* quoted-printable states */
enum { QP_IDLE, QP_EQ, QP_1, QP_FAIL1, QP_FAIL2, QP_FAIL3 };

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t drp_dcc_qp_decode(struct drp_dcc_state *s, const uint8_t **in, size_t *inlen, uint8_t *out,
                         size_t outlen)
{
	const uint8_t *p = *in;
	size_t n = *inlen, r = 0;
	uint8_t c = 0;
	int v;

	if (outlen == 0)
		return 0;
	/* Bytes owed after a failed escape are released only while input
	 * remains, as the reference does: at the end of an entity they are
	 * lost. */
	while (n != 0) {
		switch (s->qp.state) {
		case QP_IDLE:
			c = *p++;
			--n;
			if (c == '=') {
				s->qp.state = QP_EQ;
				continue;
			}
			break;
		case QP_EQ:
			c = *p++;
			--n;
			s->qp.x = c;
			if (c == '\n') {
				s->qp.state = QP_IDLE;
				continue;
			}
			if (c != '\r') {
				v = hexval(c);
				if (v < 0) {
					s->qp.state = QP_FAIL1;
					c = '=';
					break;
				}
				s->qp.n = (uint8_t)v;
			}
			s->qp.state = QP_1;
			continue;
		case QP_1:
			c = *p++;
			--n;
			s->qp.y = c;
			if (s->qp.x == '\r') {
				if (c == '\n') {
					s->qp.state = QP_IDLE;
					continue;
				}
				s->qp.state = QP_FAIL2;
				c = '=';
				break;
			}
			v = hexval(c);
			if (v < 0) {
				s->qp.state = QP_FAIL2;
				c = '=';
				break;
			}
			s->qp.state = QP_IDLE;
			c = (uint8_t)((s->qp.n << 4) | v);
			break;
		case QP_FAIL1:
			s->qp.state = QP_IDLE;
			c = s->qp.x;
			break;
		case QP_FAIL2:
			s->qp.state = QP_FAIL3;
			c = s->qp.x;
			break;
		case QP_FAIL3:
			s->qp.state = QP_IDLE;
			c = s->qp.y;
			break;
		}
		out[r] = c;
		if (++r >= outlen)
			break;
	}
	*in = p;
	*inlen = n;
	return r;
}

#define B64_BAD 0x40
#define B64_EQ 0x41

/* RFC 4648 alphabet, B64_BAD elsewhere (bytes >= 0x80 included: the
 * reference's 128-entry table is indexed past its end there, which the
 * protocol notes treat as skipped); '=' is the value the reference shifts
 * in after padding. */
static const uint8_t b64_val[256] = {
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x3e, 0x40, 0x40, 0x40, 0x3f,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x40, 0x40, 0x40, 0x41, 0x40, 0x40,
    0x40, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
};

size_t drp_dcc_b64_decode(struct drp_dcc_state *s, const uint8_t **in, size_t *inlen, uint8_t *out,
                          size_t outlen)
{
	const uint8_t *p = *in;
	size_t n = *inlen, r = 0;

	if (outlen < 3)
		return 0;
	outlen -= 3;
	while (n != 0) {
		uint8_t v;

		/* whole quanta of four alphabet bytes, the bulk of an
		 * attachment, need none of the tests below */
		while (s->b64.cnt == 0 && n >= 4) {
			uint8_t v0 = b64_val[p[0]], v1 = b64_val[p[1]];
			uint8_t v2 = b64_val[p[2]], v3 = b64_val[p[3]];
			uint32_t q;

			if ((v0 | v1 | v2 | v3) & B64_BAD) /* B64_EQ too */
				break;
			q = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 | (uint32_t)v2 << 6 | v3;
			s->b64.quantum = s->b64.quantum << 24 | q;
			out[r++] = (uint8_t)(q >> 16);
			out[r++] = (uint8_t)(q >> 8);
			out[r++] = (uint8_t)q;
			p += 4;
			n -= 4;
			if (r >= outlen)
				goto full;
		}
		if (n == 0)
			break;
		v = b64_val[*p++];

		--n;
		if (v == B64_BAD)
			continue;
		if (v == B64_EQ) {
			if (s->b64.cnt == 2) {
				out[r++] = (uint8_t)(s->b64.quantum >> 4);
			} else if (s->b64.cnt == 3) {
				out[r++] = (uint8_t)(s->b64.quantum >> 10);
				out[r++] = (uint8_t)(s->b64.quantum >> 2);
			}
			s->b64.cnt = 0;
			if (r >= outlen)
				break;
			/* then '=' counts as a sextet, as in the reference */
		}
		s->b64.quantum = (s->b64.quantum << 6) | v;
		if (++s->b64.cnt >= 4) {
			s->b64.cnt = 0;
			out[r++] = (uint8_t)(s->b64.quantum >> 16);
			out[r++] = (uint8_t)(s->b64.quantum >> 8);
			out[r++] = (uint8_t)s->b64.quantum;
			if (r >= outlen)
				break;
		}
	}
full:
	*in = p;
	*inlen = n;
	return r;
}
