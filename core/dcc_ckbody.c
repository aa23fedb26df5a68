/*
 * dcc_ckbody: the Body checksum and the MIME walker that feeds Body, Fuz1
 * and Fuz2 (protocol doc 9.1, 9.2, 9.6).  The walker sees the body in the
 * chunks dccproc's fread() returns and hands the hashers exactly the calls
 * the reference makes: Fuz1 does work at the end of every call, so the
 * call structure is part of the checksum, not an implementation detail.
 */
#include <stdlib.h>

#include "dcc_ck_int.h"
#include "md5x2.h"

#define BODY_BUF 4096   /* batching only: the digest does not depend on it */
#define DECODE_BUF 1024 /* decoder pieces, one hasher call each: part of the sum */

void drp_dcc_decoders_init(struct drp_dcc_state *s)
{
	s->bnd_matches = 0;
	s->bol = 1;
	s->ct = DCC_CT_TEXT;
	s->cset = drp_dcc_cset_latin1;
	s->ce = DCC_CE_NONE;
	s->qp.state = 0;
	s->b64.cnt = 0;
	s->b64.quantum = 0;
}

static void free_ctx(EVP_MD_CTX **c)
{
	EVP_MD_CTX_free(*c);
	*c = NULL;
}

void drp_dcc_body_free(struct drp_dcc_state *s)
{
	free_ctx(&s->body_md5);
	free_ctx(&s->fuz1.md5);
	for (int i = 0; i < DCC_FUZ2_LANGS; i++)
		free_ctx(&s->fuz2.lmd5[i]);
	free(s->fuz2.rec);
	s->fuz2.rec = NULL;
	s->fuz2.rec_cap = 0;
	free(s->fuz2.win);
	s->fuz2.win = NULL;
	s->fuz2.win_cap = 0;
	free(s->bacc);
	s->bacc = NULL;
	s->bacc_cap = 0;
}

/* free a buffer too big to keep for the next message */
static void trim(uint8_t **p, size_t *cap)
{
	if (*cap > DCC_KEEP_MAX) {
		free(*p);
		*p = NULL;
		*cap = 0;
	}
}

/* a context for a new digest: the one of an earlier message if any */
static int new_md5(EVP_MD_CTX **c, const EVP_MD *md)
{
	if (*c == NULL)
		*c = EVP_MD_CTX_new();
	return *c != NULL && EVP_DigestInit_ex(*c, md, NULL) == 1;
}

void drp_dcc_body_done(struct drp_dcc_state *s)
{
	/* a big message's buffers are not kept for the next one */
	trim(&s->fuz2.rec, &s->fuz2.rec_cap);
	trim(&s->fuz2.win, &s->fuz2.win_cap);
	trim(&s->bacc, &s->bacc_cap);
}

int drp_dcc_body_init(struct drp_dcc_state *s, const EVP_MD *md)
{
	int ok;

	s->nest = 0;
	s->mhdr_st = 0;
	s->mhdr_pos = 0;
	s->quoted = 0;
	s->mp_st = DCC_MP_TEXT;
	drp_dcc_decoders_init(s);
	s->url.doms = 0;
	s->url.dom_start = 0;
	s->body_total = 0;
	s->bacc_len = 0;
	s->bstream = 0;
	s->flen = 1; /* as if a LF preceded the body */
	ok = new_md5(&s->body_md5, md) && new_md5(&s->fuz1.md5, md);
	if (!ok) {
		drp_dcc_body_free(s);
		return -1;
	}
	drp_dcc_fuz1_init(s);
	drp_dcc_fuz2_init(s);
	s->fuz2.md = md;
	return 0;
}

/* 1 for every byte the Body checksum keeps: all but SP, TAB, CR, '=' and
 * LF (a line end is never hashed; it only starts the "\n>From" match) */
#define K16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const uint8_t body_keep[256] = {
    1,   1,   1,   1,   1,   1,   1,   1,   1,   0,   0,   1,   1, 0, 1, 1, K16,
    0,   1,   1,   1,   1,   1,   1,   1,   1,   1,   1,   1,   1, 1, 1, 1, /* ' ' */
    1,   1,   1,   1,   1,   1,   1,   1,   1,   1,   1,   1,   1, 0, 1, 1, /* '=' */
    K16, K16, K16, K16, K16, K16, K16, K16, K16, K16, K16, K16,
};
#undef K16

/* room for n more gathered Body bytes; -1 past DCC_BODY_ACC_MAX or memory */
static int bacc_room(struct drp_dcc_state *s, size_t n)
{
	size_t need = s->bacc_len + n, cap = s->bacc_cap ? s->bacc_cap : 16384;
	uint8_t *p;

	if (need > DCC_BODY_ACC_MAX)
		return -1;
	while (cap < need)
		cap *= 2;
	if (cap > DCC_BODY_ACC_MAX)
		cap = DCC_BODY_ACC_MAX;
	p = realloc(s->bacc, cap);
	if (p == NULL)
		return -1;
	s->bacc = p;
	s->bacc_cap = cap;
	return 0;
}

static void body_flush(struct drp_dcc_state *s, const uint8_t *buf, unsigned blen)
{
	s->body_total += blen;
	if (!s->bstream) {
		if (s->bacc_cap - s->bacc_len >= blen || bacc_room(s, blen) == 0) {
			memcpy(s->bacc + s->bacc_len, buf, blen);
			s->bacc_len += blen;
			return;
		}
		/* from here on the old way: what was gathered, then the rest */
		s->bstream = 1;
		EVP_DigestUpdate(s->body_md5, s->bacc, s->bacc_len);
		s->bacc_len = 0;
	}
	EVP_DigestUpdate(s->body_md5, buf, blen);
}

/* The Body hasher (9.1): everything but blanks and '=', with the '>' of
 * "\n>From" dropped.  flen is the position in "\n>From" matched so far. */
static void body_sum(struct drp_dcc_state *s, const uint8_t *p, size_t n)
{
	static const char pat[] = "\n>From";
	uint8_t buf[BODY_BUF + 8];
	unsigned flen = s->flen, blen = 0;
	const uint8_t *end = p + n;

	while (p < end) {
		uint8_t c;

		/* Only a '>' right after a line end needs the byte-wise match,
		 * so everything up to the next '>' goes through the table (the
		 * '>' itself too when no line end precedes it). */
		if (flen == 0 || (flen == 1 && *p != '>')) {
			const uint8_t *gt = memchr(p + 1, '>', (size_t)(end - p - 1));
			const uint8_t *stop = gt ? gt : end;

			while (p < stop) {
				size_t m = (size_t)(stop - p), i;
				uint8_t *o;

				if (m > BODY_BUF - blen)
					m = BODY_BUF - blen;
				o = buf + blen;
				for (i = 0; i + 4 <= m; i += 4) {
					/* every byte is stored; a dropped one is
					 * overwritten by the next */
					*o = p[i];
					o += body_keep[p[i]];
					*o = p[i + 1];
					o += body_keep[p[i + 1]];
					*o = p[i + 2];
					o += body_keep[p[i + 2]];
					*o = p[i + 3];
					o += body_keep[p[i + 3]];
				}
				for (; i < m; i++) {
					*o = p[i];
					o += body_keep[p[i]];
				}
				blen = (unsigned)(o - buf);
				p += m;
				if (blen >= BODY_BUF - 64) {
					body_flush(s, buf, blen);
					blen = 0;
				}
			}
			flen = p[-1] == '\n';
			continue;
		}
		c = *p++;
		if (c == (uint8_t)pat[flen]) {
			if (++flen >= 6) {
				memcpy(&buf[blen], "From", 4);
				blen += 4;
				flen = 0;
				if (blen >= BODY_BUF) {
					body_flush(s, buf, blen);
					blen = 0;
				}
			}
			continue;
		}
		/* mismatch: the part of ">From" seen after the LF counts */
		if (--flen != 0) {
			memcpy(&buf[blen], ">From", flen);
			blen += flen;
			flen = 0;
			if (blen >= BODY_BUF) {
				body_flush(s, buf, blen);
				blen = 0;
			}
		}
		if (c == '\n') {
			flen = 1;
			continue;
		}
		buf[blen] = c;
		blen += body_keep[c];
		if (blen >= BODY_BUF) {
			body_flush(s, buf, blen);
			blen = 0;
		}
	}
	if (blen != 0)
		body_flush(s, buf, blen);
	s->flen = flen;
}

/*
 * Fuz1 can stop working once nothing it does can show any more: its sum
 * is frozen after 4096 bytes, and its only other product, the URL host
 * list, is used by Fuz2 only when the winning language has fewer than 8
 * words -- impossible once any language has 8 (counts only grow).
 */
static int fuz1_idle(const struct drp_dcc_state *s)
{
	if (s->fuz1.total < DCC_FUZ1_MAX)
		return 0;
	for (int i = 0; i < DCC_FUZ2_LANGS; i++)
		if (s->fuz2.lang[i].wtotal >= DCC_FUZ2_MIN_WORDS)
			return 1;
	return 0;
}

/* Give a span to the hashers in the current state (9.2 "emit"). */
static void emit(struct drp_dcc_state *s, const uint8_t *p, size_t n)
{
	uint8_t tbuf[DECODE_BUF];

	if (s->mp_st != DCC_MP_TEXT) {
		/* raw to Body; the fuzzy hashers only see a line end */
		if (n == 0)
			return;
		body_sum(s, p, n);
		if (!fuz1_idle(s))
			drp_dcc_fuz1(s, (const uint8_t *)"\n", 1);
		drp_dcc_fuz2(s, (const uint8_t *)"\n", 1);
		return;
	}
	while (n != 0) {
		const uint8_t *t;
		size_t len;

		switch (s->ce) {
		case DCC_CE_QP:
			t = tbuf;
			len = drp_dcc_qp_decode(s, &p, &n, tbuf, sizeof(tbuf));
			break;
		case DCC_CE_B64:
			t = tbuf;
			len = drp_dcc_b64_decode(s, &p, &n, tbuf, sizeof(tbuf));
			break;
		default:
			t = p;
			len = n;
			n = 0;
			break;
		}
		if (len != 0) {
			body_sum(s, t, len);
			if (!fuz1_idle(s))
				drp_dcc_fuz1(s, t, len);
			if (s->ct != DCC_CT_BINARY)
				drp_dcc_fuz2(s, t, len);
		}
	}
}

/*
 * Try the active boundaries on the line at cmp (bp_len bytes left in this
 * chunk).  Returns the index of the boundary that ends on this line, -1
 * if none does (yet), and sets *matched to the bytes consumed by partial
 * matches that ran to the end of the chunk.
 */
static int match_boundaries(struct drp_dcc_state *s, const uint8_t *cmp, size_t bp_len,
                            size_t *matched, const uint8_t **after)
{
	unsigned k;

	*matched = 0;
	for (k = 0; k < s->nest; k++) {
		struct dcc_bnd *b = &s->bnd[k];
		const uint8_t *cp = cmp;
		long len = (long)bp_len;
		long j;

		if (b->cmp_len == DCC_BND_MISS)
			continue;
		j = (long)b->len - (long)b->cmp_len;
		if (j > len)
			j = len;
		if (j > 0) {
			if (memcmp(cp, &b->s[b->cmp_len], (size_t)j) != 0) {
				b->cmp_len = DCC_BND_MISS;
				--s->bnd_matches;
				continue;
			}
			b->cmp_len += (unsigned)j;
			cp += j;
			if ((len -= j) <= 0) {
				*matched = bp_len;
				continue;
			}
			j = 0; /* the whole boundary string matched */
		}
		/* an optional closing "--", tracked in cmp_len beyond len */
		if (j == 0 && *cp == '-') {
			++b->cmp_len;
			if (--len <= 0) {
				*matched = bp_len;
				continue;
			}
			++cp;
			j = -1;
		}
		if (j == -1) {
			if (*cp == '-') {
				++b->cmp_len;
				if (--len <= 0) {
					*matched = bp_len;
					continue;
				}
				++cp;
			} else {
				b->cmp_len = DCC_BND_MISS;
				--s->bnd_matches;
				continue;
			}
		}
		if (*cp == ' ' || *cp == '\t' || *cp == '\r') {
			do {
				++cp;
			} while (--len > 0 && (*cp == ' ' || *cp == '\t' || *cp == '\r'));
			if (len <= 0) {
				*matched = bp_len;
				continue;
			}
		}
		if (*cp != '\n') {
			b->cmp_len = DCC_BND_MISS;
			--s->bnd_matches;
			continue;
		}
		*after = cp + 1;
		return (int)k;
	}
	return -1;
}

void drp_dcc_body_chunk(struct drp_dcc_state *s, const uint8_t *p, size_t bp_len)
{
	const uint8_t *sum = p; /* first byte not yet emitted */
	const uint8_t *cmp = p; /* first byte not yet scanned */

	while (bp_len != 0) {
		const uint8_t *after = NULL;
		size_t matched;
		int k;

		if (s->nest == 0) {
			emit(s, sum, bp_len);
			return;
		}
		if (s->bnd_matches == 0) {
			/* no boundary can start before the next line */
			const uint8_t *cp = memchr(cmp, '\n', bp_len);
			size_t i;

			cp = cp ? cp + 1 : cmp + bp_len;
			i = (size_t)(cp - cmp);
			if (s->mp_st == DCC_MP_HDRS && drp_dcc_mime_hdr_parse(s, cmp, i, 0)) {
				/* the blank line ends the part headers */
				if (cp != sum) {
					emit(s, sum, (size_t)(cp - sum));
					sum = cp;
				}
				s->mp_st = DCC_MP_TEXT;
			}
			if (cp[-1] == '\n') {
				unsigned b;

				s->bol = 1;
				s->bnd_matches = s->nest;
				for (b = 0; b < DCC_MAX_BND; b++)
					s->bnd[b].cmp_len = 0;
			}
			cmp = cp;
			if ((bp_len -= i) == 0)
				break;
		}

		k = match_boundaries(s, cmp, bp_len, &matched, &after);
		if (k >= 0) {
			struct dcc_bnd *b = &s->bnd[k];

			/* flush what came before, then the boundary itself */
			if (cmp != sum)
				emit(s, sum, (size_t)(cmp - sum));
			matched = (size_t)(after - cmp);
			cmp = sum = after;
			s->mp_st = DCC_MP_BND;
			emit(s, b->s, b->len);
			if (b->cmp_len != b->len) {
				emit(s, (const uint8_t *)"--", 2);
				s->mp_st = DCC_MP_EPILOGUE;
				s->nest = (unsigned)k;
			} else {
				s->mp_st = DCC_MP_HDRS;
				s->nest = (unsigned)k + 1;
			}
			drp_dcc_decoders_init(s);
		} else if (matched == 0) {
			/* every active boundary failed on this line */
			s->bnd_matches = 0;
		}
		bp_len -= matched;
	}
	if (cmp != sum)
		emit(s, sum, (size_t)(cmp - sum));
}

void drp_dcc_body_fin(struct drp_dcc_state *s, uint8_t body[16], int *body_ok, uint8_t fuz1[16],
                      int *fuz1_ok, uint8_t fuz2[16], int *fuz2_ok)
{
	unsigned len = 16;
	const uint8_t *fp = NULL;
	size_t fn = 0;
	int fz;

	/* flush the URL scanner and the line buffers */
	drp_dcc_fuz1(s, (const uint8_t *)"\n", 1);
	drp_dcc_fuz2(s, (const uint8_t *)"\n", 1);

	*body_ok = s->body_total >= DCC_MIN_SUM;
	*fuz1_ok = drp_dcc_fuz1_fin(s, fuz1);
	fz = drp_dcc_fuz2_fin(s, fuz2, &fp, &fn);
	*fuz2_ok = fz != 0;
	if (s->bstream) {
		EVP_DigestFinal_ex(s->body_md5, body, &len);
		if (fz == 2)
			EVP_Digest(fp, fn, fuz2, &len, s->fuz2.md, NULL);
	} else if (fz == 2) {
		/* the two long streams in one interleaved pass */
		drp_md5x2(s->bacc, s->bacc_len, fp, fn, body, fuz2);
	} else {
		EVP_Digest(s->bacc_len ? s->bacc : (const uint8_t *)"", s->bacc_len, body, &len,
		           s->fuz2.md, NULL);
	}
	if (s->fuz2.oom)
		*fuz2_ok = -1;
}
