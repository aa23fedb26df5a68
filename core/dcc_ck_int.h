/*
 * dcc_ck_int: the state shared by the DCC checksum modules (private to
 * core/dcc_ck*.c, dcc_fuz*.c, dcc_tables.c).  One struct drp_dcc_state
 * holds everything dccproc keeps per message: the MIME walker, the
 * transfer decoders, the Body, Fuz1 and Fuz2 hashers and the URL scanner.
 * Sizes and limits are those of the reference (DCC 2.3.167 dcc_ck.h).
 */
#ifndef DRP_DCC_CK_INT_H
#define DRP_DCC_CK_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define DCC_HDR_CK_MAX 1024              /* header bytes a checksum sees */
#define DCC_IO_BUF (20 * DCC_HDR_CK_MAX) /* dccproc's line and body buffer */
#define DCC_BND_MAX 94                   /* boundary bytes kept, incl. "--" */
#define DCC_BND_DIM (DCC_BND_MAX + 2)
#define DCC_BND_MISS (DCC_BND_DIM + 1)
#define DCC_MAX_BND 3
#define DCC_FUZ1_LINE 78
#define DCC_FUZ1_BUF (DCC_FUZ1_LINE * 4 + 5) /* + strlen("https") */
#define DCC_FUZ1_MAX 4096
#define DCC_MIN_SUM 30
#define DCC_URL_HOST_MAX 256
#define DCC_URL_HOST_SAVE (DCC_URL_HOST_MAX + 1)
#define DCC_URL_LABEL_MAX 63
#define DCC_URL_FAILSAFE 2000
#define DCC_FUZ2_LANGS 4
#define DCC_FUZ2_FEW_WORDS 100
#define DCC_FUZ2_MIN_WORDS 8
#define DCC_WORD 16 /* CK_WORD */
#define DCC_WCACHE_BITS 10
#define DCC_WCACHE (1u << DCC_WCACHE_BITS) /* Fuz2's word cache */

/* character classes of the Fuz2 tables (values >= 'a' are letters) */
#define DCC_FC_SP 0x20
#define DCC_FC_LT 0x3c

enum { DCC_CT_TEXT = 0, DCC_CT_HTML, DCC_CT_BINARY };
enum { DCC_CE_NONE = 0, DCC_CE_QP, DCC_CE_B64 };
enum { DCC_MP_PREAMBLE, DCC_MP_BND, DCC_MP_HDRS, DCC_MP_TEXT, DCC_MP_EPILOGUE };

/* HTML character reference decoder (9.7): answers of dcc_cref() */
#define DCC_CREF_MORE (-1)
#define DCC_CREF_DONE 0
#define DCC_CREF_REREAD 1

struct dcc_cref {
	uint8_t st;
	uint8_t len;
	uint8_t result;
	uint8_t name[DCC_WORD];
};

struct dcc_bnd {
	unsigned len;     /* including the leading "--" */
	unsigned cmp_len; /* matched so far on this line, or DCC_BND_MISS */
	uint8_t s[DCC_BND_DIM];
};

struct dcc_url {
	struct dcc_cref cref;
	int st;
	unsigned flags;
	int start; /* Fuz1 buffer index where the host began, -1 none */
	int tld;   /* Fuz1 index of the last label's first letter */
	int sld;   /* ... of the label before it */
	unsigned total;
	unsigned dom_start, dom_end, dot1, dot2, label_start, punct;
	uint8_t doms; /* 8-bit host counter, as the reference */
	uint8_t doms_buf[DCC_URL_HOST_SAVE * 2];
};

struct dcc_fuz1 {
	unsigned total;
	int cp;  /* letters in buf */
	int eol; /* index of the last line end, -1 none (0 is a valid mark) */
	uint8_t buf[DCC_FUZ1_BUF];
	EVP_MD_CTX *md5;
};

struct dcc_fuz2_lang {
	unsigned wsummed, wtotal;
};

struct dcc_fuz2 {
	unsigned btotal, xsummed, wlen, tag_len;
	int st;
	struct dcc_cref cref;
	/* the word so far, byte i at bits 8i of the 16 bytes (zero beyond) */
	uint64_t wa, wb;
	uint8_t tag[DCC_WORD];
	struct dcc_fuz2_lang lang[DCC_FUZ2_LANGS];
	/* The reference keeps one MD5 per language and uses the one that
	 * counted most words.  The same digest comes from recording the
	 * dictionary words and hashing only the winner's at the end: one
	 * stream instead of four.  The record is the words' bytes back to
	 * back in rec[0, rec_len) (each written as 16 bytes, the next one
	 * overwriting the excess), and one byte per word, language bits << 4
	 * | length - 1, in rec[rec_cap, rec_cap + rec_n): a dictionary word
	 * has 3 letters or more, so rec_cap / 2 bytes hold them. */
	uint8_t *rec;
	size_t rec_len, rec_cap, rec_n;
	int oom;
	/* Past DCC_FUZ2_REC_MAX bytes of record (a huge text) the record is
	 * replayed into one MD5 per language, the reference's way, and the
	 * words go straight to those from then on: memory stays bounded. */
	int spilled;
	/* the winner's stream, gathered at the end to be hashed with Body's */
	uint8_t *win;
	size_t win_cap;
	const EVP_MD *md;
	EVP_MD_CTX *lmd5[DCC_FUZ2_LANGS];
	unsigned lblen[DCC_FUZ2_LANGS];
	uint8_t lbuf[DCC_FUZ2_LANGS][1024 + 2 * DCC_WORD];
	/* Recent dictionary answers, direct-mapped by the word: a message
	 * repeats few words, and this small table stays in the L1 cache where
	 * the dictionary (two dependent loads into half a megabyte) does not.
	 * It memoises a fixed function, so it may outlive a message; all
	 * zeros is valid (the empty word, which no dictionary holds). */
	uint64_t wc_key[DCC_WCACHE][2];
	uint8_t wc_bits[DCC_WCACHE];
};

#define DCC_FUZ2_REC_MAX (1u << 20)
#define DCC_BODY_ACC_MAX (4u << 20)
/* A buffer up to this size is kept for the next message: a fresh large
 * allocation costs a page fault per 4 KiB touched, more than hashing
 * them.  At most three (Body, Fuz2 record and stream) stay allocated. */
#define DCC_KEEP_MAX (1024u * 1024)

struct drp_dcc_state {
	/* MIME walker (9.2) */
	int mp_st;
	unsigned nest;        /* active boundaries */
	unsigned bnd_matches; /* boundaries still matching on this line */
	struct dcc_bnd bnd[DCC_MAX_BND];
	int bol;    /* the part-header parser is at the start of a line */
	int quoted; /* inside a quoted boundary= value */
	/* MIME header parser (9.3) */
	int mhdr_st;
	unsigned mhdr_pos;
	/* entity state */
	int ct;
	const uint8_t *cset;
	int ce;
	struct {
		int state;
		uint8_t x, y, n;
	} qp;
	struct {
		uint32_t quantum;
		int cnt;
	} b64;
	/* Body (9.1).  The kept bytes are gathered (bacc) and hashed at the
	 * end in one interleaved pass with Fuz2's stream (core/md5x2), unless
	 * they outgrow DCC_BODY_ACC_MAX or memory: then they stream into
	 * body_md5 (bstream). */
	unsigned body_total;
	unsigned flen;
	EVP_MD_CTX *body_md5;
	uint8_t *bacc;
	size_t bacc_len, bacc_cap;
	int bstream;
	struct dcc_url url;
	struct dcc_fuz1 fuz1;
	struct dcc_fuz2 fuz2;
};

/* dcc_ckbody.c */
/* md is used for every digest; the contexts are NULL on the first entry
 * and those of an earlier message after that (they are reinitialised). */
int drp_dcc_body_init(struct drp_dcc_state *s, const EVP_MD *md);
/* The end of a message whose state is kept for the next one. */
void drp_dcc_body_done(struct drp_dcc_state *s);
void drp_dcc_body_free(struct drp_dcc_state *s);
/* A chunk of the body as dccproc's fread() hands it over. */
void drp_dcc_body_chunk(struct drp_dcc_state *s, const uint8_t *p, size_t n);
/* Finish; each sum is written and *_ok set when that checksum exists. */
void drp_dcc_body_fin(struct drp_dcc_state *s, uint8_t body[16], int *body_ok, uint8_t fuz1[16],
                      int *fuz1_ok, uint8_t fuz2[16], int *fuz2_ok);
void drp_dcc_decoders_init(struct drp_dcc_state *s);

/* dcc_ckmime.c */
/* Feed part of a header to the MIME header parser; returns 1 when, in part
 * mode, the line is blank (ends the part headers). */
int drp_dcc_mime_hdr_parse(struct drp_dcc_state *s, const uint8_t *p, size_t n, int top);
/* A whole top-level header field (dccproc's ck_mime_hdr). */
void drp_dcc_mime_top_hdr(struct drp_dcc_state *s, const uint8_t *p, size_t n);
size_t drp_dcc_qp_decode(struct drp_dcc_state *s, const uint8_t **in, size_t *inlen, uint8_t *out,
                         size_t outlen);
size_t drp_dcc_b64_decode(struct drp_dcc_state *s, const uint8_t **in, size_t *inlen, uint8_t *out,
                          size_t outlen);

/* dcc_fuz1.c */
void drp_dcc_fuz1_init(struct drp_dcc_state *s);
void drp_dcc_fuz1(struct drp_dcc_state *s, const uint8_t *p, size_t n);
int drp_dcc_fuz1_fin(struct drp_dcc_state *s, uint8_t sum[16]);
int drp_dcc_cref(struct dcc_cref *c, uint8_t b);

/* dcc_fuz2.c */
void drp_dcc_fuz2_init(struct drp_dcc_state *s);
void drp_dcc_fuz2(struct drp_dcc_state *s, const uint8_t *p, size_t n);
/* 0 no Fuz2 sum; 1 the sum is in sum; 2 the sum is the MD5 of the *n
 * bytes at *p (valid until the next message), for the caller to hash. */
int drp_dcc_fuz2_fin(struct drp_dcc_state *s, uint8_t sum[16], const uint8_t **p, size_t *n);

/* dcc_tables.c (generated) */
struct drp_dcc_entity {
	const char *name;
	uint8_t len;
	uint8_t byte;
};
extern const uint8_t drp_dcc_cset_latin1[256];
extern const uint8_t drp_dcc_cset_latin2[256];
extern const struct drp_dcc_entity drp_dcc_entities[];
extern const size_t drp_dcc_n_entities;
/* Language bits (1 English, 2 Spanish, 4 Polish, 8 Dutch) of a word. */
unsigned drp_dcc_dict_lookup(const uint8_t *word, size_t len);

/* The dictionary hash table: SLOTS and BUCKET of scripts/gen-dcc-tables.py,
 * which also defines the slot layout used below. */
#define DCC_DICT_SLOTS (1u << 16)
#define DCC_DICT_BUCKET 4
extern const char drp_dcc_dict_pool[];
extern const uint32_t drp_dcc_dict_slots[DCC_DICT_SLOTS];

/* 8 bytes as a little-endian word */
static inline uint64_t dcc_load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* the low len bytes of a 16-byte word, as its two little-endian halves */
static const uint64_t dcc_len_mask[17][2] = {
    {0, 0},
    {0xff, 0},
    {0xffff, 0},
    {0xffffff, 0},
    {0xffffffff, 0},
    {0xffffffffff, 0},
    {0xffffffffffff, 0},
    {0xffffffffffffff, 0},
    {~(uint64_t)0, 0},
    {~(uint64_t)0, 0xff},
    {~(uint64_t)0, 0xffff},
    {~(uint64_t)0, 0xffffff},
    {~(uint64_t)0, 0xffffffff},
    {~(uint64_t)0, 0xffffffffff},
    {~(uint64_t)0, 0xffffffffffff},
    {~(uint64_t)0, 0xffffffffffffff},
    {~(uint64_t)0, ~(uint64_t)0},
};

/* bit j set when entry j of the bucket at e has the length and fingerprint
 * of want */
static inline unsigned dcc_dict_candidates(const uint32_t *e, uint32_t want)
{
#if defined(__SSE2__)
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)e);

	v = _mm_and_si128(v, _mm_set1_epi32(0x3e1f));
	return (unsigned)_mm_movemask_ps(
	    _mm_castsi128_ps(_mm_cmpeq_epi32(v, _mm_set1_epi32((int)want))));
#else
	unsigned m = 0;

	for (unsigned j = 0; j < DCC_DICT_BUCKET; j++)
		m |= (unsigned)((e[j] & 0x3e1f) == want) << j;
	return m;
#endif
}

/*
 * Language bits of a word of len (1..16) bytes packed little-endian into a
 * (bytes 0-7) and b (bytes 8-15), zero beyond len.  Inline because Fuz2
 * asks once per word.  The hash must equal word_hash() of the generator:
 * bits 5.. pick the bucket, bits 0-4 are a fingerprint that, with the
 * length, spares almost every look at the word pool.  All entries of a
 * bucket are tested at once; only a full bucket sends the search on.
 */
static inline __attribute__((always_inline)) unsigned
drp_dcc_dict_lookup_packed(uint64_t a, uint64_t b, size_t len)
{
	const uint32_t nb = DCC_DICT_SLOTS / DCC_DICT_BUCKET;
	uint32_t h, bk, want;
	uint64_t ma, mb;

	if (len == 0 || len > 16)
		return 0;
	/* tables, not conditions: word lengths follow no pattern either */
	ma = dcc_len_mask[len][0];
	mb = dcc_len_mask[len][1];
	h = (uint32_t)(((a ^ (b * 0x9e3779b97f4a7c15u)) * 0xff51afd7ed558ccdu) >> 43);
	want = ((uint32_t)len << 9) | (h & 31);
	for (bk = (h >> 5) & (nb - 1);; bk = (bk + 1) & (nb - 1)) {
		const uint32_t *e = &drp_dcc_dict_slots[bk * DCC_DICT_BUCKET];
		unsigned m = dcc_dict_candidates(e, want), hit;
		/* no candidate: entry 0 is compared and the answer dropped */
		uint32_t x = e[__builtin_ctz(m | (1u << DCC_DICT_BUCKET)) & (DCC_DICT_BUCKET - 1)];
		const uint8_t *w = (const uint8_t *)drp_dcc_dict_pool + (x >> 14);

		hit = (unsigned)(m != 0) & (unsigned)((dcc_load64(w) & ma) == a) &
		      (unsigned)((dcc_load64(w + 8) & mb) == b);
		if (__builtin_expect((m & (m - 1)) == 0 && (hit | (e[DCC_DICT_BUCKET - 1] == 0)),
		                     1))
			return ((x >> 5) & 15) & -hit;
		if (hit)
			return (x >> 5) & 15;
		/* further candidates, then the next bucket when this one is full */
		for (m &= m - 1; m != 0; m &= m - 1) {
			x = e[__builtin_ctz(m)];
			w = (const uint8_t *)drp_dcc_dict_pool + (x >> 14);
			if ((dcc_load64(w) & ma) == a && (dcc_load64(w + 8) & mb) == b)
				return (x >> 5) & 15;
		}
		if (e[DCC_DICT_BUCKET - 1] == 0)
			return 0;
	}
}

#endif
