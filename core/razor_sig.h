/*
 * razor_sig: the signatures razor-agents 2.85 sends, byte for byte.
 *
 * Owns the message preparation of the reference client (mbox reading and
 * the `From ` quoting of single messages, split_mime, prep_part, the
 * prepared header block of a report upload), its two preprocessing chains
 * (deBase64, deQP, deHTMLxs, deNewline; see razor_prep.c) and the two
 * engines it computes: VR4 "Ephemeral" (engine 4, parameterised by the
 * server's ep4 string) and VR8 "Whiplash" (engine 8, URL hosts).  The
 * rules and their sources are in docs/razor-signatures.md and the
 * shared razor-protocol.md, sections 5 to 7.
 *
 * drp_razor_prepare() does the engine-independent work once (parts and
 * cleaned texts); drp_razor_sign() then computes the signatures for one ep4
 * in the order razor-agents sends them: per part, engine 4 then engine 8
 * (one VR8 signature per host, in host order).
 */
#ifndef DRP_RAZOR_SIG_H
#define DRP_RAZOR_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* What razor-agents 2.85 calls itself (Version.pm was never bumped). */
#define DRP_RAZOR_AGENT_NAME "Razor-Agents v2.84"
#define DRP_RAZOR_DEFAULT_EP4 "7542-10"

#define DRP_RAZOR_VR4_LEN 28 /* razor_b64 of a 40-digit SHA-1 */
#define DRP_RAZOR_VR8_LEN 12 /* razor_b64 of 16 hex digits */
#define DRP_RAZOR_SIG_MAX 28

/* Engine bits for drp_razor_sign(): bit n set = engine n. */
#define DRP_RAZOR_E4 (1u << 4)
#define DRP_RAZOR_E8 (1u << 8)

/* Size limits of prep_mail as razor-agents calls it (Core::prepare_parts). */
#define DRP_RAZOR_MAX_PART_HEADER 4096
#define DRP_RAZOR_MAX_PART_BODY 61440
#define DRP_RAZOR_MAX_ORIG_HEADER 15360

/* One prepared MIME leaf part, numbered as razor-agents numbers it. */
struct drp_razor_part {
	unsigned mail;           /* 0-based message number within the input */
	unsigned index;          /* part number within its message (after dropping empty parts) */
	int skipped;             /* compute_sigs erases it: no e4 and no e8 query */
	int is_text;             /* logic methods 2/3: Content-Type text/ (or none) */
	int is_inline;           /* logic method 2: Content-Disposition: inline */
	struct drp_buf prepared; /* prep_part output, what a report uploads */
	struct drp_slice vr4;    /* after the VR4 chain, header removed */
	struct drp_slice vr8;    /* after the VR8 chain, header removed */
	struct drp_buf own;      /* storage of vr4/vr8 when they are not views
	                          * into `prepared` */
};

/* One message of the input (an mbox input may hold several). */
struct drp_razor_mail {
	struct drp_buf header; /* prepared original header block (upload `H`) */
	size_t first_part;     /* index into drp_razor_msg.parts */
	size_t nparts;
};

struct drp_razor_msg {
	struct drp_razor_mail *mails;
	size_t nmails;
	struct drp_razor_part *parts; /* all parts of all mails, in order */
	size_t nparts;
};

/* One signature as sent: `s=` of an `a=c&e=<engine>` query. */
struct drp_razor_sig {
	size_t part; /* index into drp_razor_msg.parts */
	int engine;  /* 4 or 8 */
	char s[DRP_RAZOR_SIG_MAX + 1];
};

struct drp_razor_sigs {
	struct drp_razor_sig *v;
	size_t n, cap;
};

/*
 * Split and prepare `len` bytes read the way razor-check reads a file (an
 * mbox when the first line starts with `From `).  On success *m owns all
 * its memory (free with drp_razor_msg_free, also after failure).  A message
 * without usable parts gives nparts == 0, not an error.  -1 only on memory
 * exhaustion.
 */
int drp_razor_prepare(const uint8_t *msg, size_t len, struct drp_razor_msg *m, char *err,
                      size_t errlen);
void drp_razor_msg_free(struct drp_razor_msg *m);

/* The part id razor-agents logs and prints with -H: "N", or "M.N" (M from
 * 1) when the input held more than one message. */
void drp_razor_part_id(const struct drp_razor_msg *m, size_t part, char *out, size_t outlen);

/*
 * Append to *out, in razor-agents' query order, the signatures of every
 * part that is not skipped, for the engines in `engines` (DRP_RAZOR_E4 |
 * DRP_RAZOR_E8) and the server parameter `ep4` (NULL = the default).
 * A bad ep4 (empty or false seed or separator) gives no e4 signature, as
 * in the reference.  Returns the number appended, or -1 with err set when
 * the reference would die (a VR8 host holding a character above 255 after
 * `&#NNN;` decoding) or on memory exhaustion; *out is then unchanged.
 */
int drp_razor_sign(const struct drp_razor_msg *m, unsigned engines, const char *ep4,
                   struct drp_razor_sigs *out, char *err, size_t errlen);
void drp_razor_sigs_free(struct drp_razor_sigs *s);

/* ---- the pieces, for tests, tools and the report path ---- */

/* Parsed ep4 ("<seed>-<sep>").  ok == 0: the reference logs "Bad ep4" and
 * sends no e4 signature. */
struct drp_razor_ep4 {
	int ok;
	uint32_t seed;   /* what srand() keeps of the seed */
	uint8_t sep[16]; /* decoded separator bytes */
	size_t seplen;   /* 0 with ok: the separator can never match */
};
/* -1 (err set) for separators that are regex metacharacters, which the
 * reference would interpret as a pattern; drp refuses them. */
int drp_razor_ep4_parse(const char *ep4, struct drp_razor_ep4 *out, char *err, size_t errlen);

/* VR4 of one cleaned text: 28 characters + NUL into out. */
int drp_razor_vr4(const uint8_t *text, size_t len, const struct drp_razor_ep4 *ep4,
                  char out[DRP_RAZOR_SIG_MAX + 1]);

/* VR8 of one cleaned text: up to `max` signatures (12 chars + NUL each).
 * Returns the count (may exceed max: only max are written), -1 when the
 * reference dies on a wide character, -2 on memory exhaustion. */
int drp_razor_vr8(const uint8_t *text, size_t len, char (*out)[DRP_RAZOR_SIG_MAX + 1], size_t max);

/* razor_b64 (String::hextobase64) of the first `ndigits` hex digits of the
 * binary digest `d` (high nibble first): ceil(ndigits/3)*2 chars + NUL. */
void drp_razor_b64_digest(const uint8_t *d, size_t ndigits, char *out);

/* drand48 as Perl >= 5.20 implements it, with explicit state. */
struct drp_razor_rand48 {
	uint64_t x;
};
void drp_razor_srand48(struct drp_razor_rand48 *r, uint32_t seed);
double drp_razor_drand48(struct drp_razor_rand48 *r);

/* ---- preprocessors (razor_prep.c); each rewrites `in` into `out` ---- */

/* Each returns 1 when it rewrote the text into *out, 0 when it does not
 * apply (out untouched), -1 on memory exhaustion. */
int drp_razor_debase64(const uint8_t *in, size_t len, struct drp_buf *out);
int drp_razor_deqp(const uint8_t *in, size_t len, struct drp_buf *out);
int drp_razor_dehtml(const uint8_t *in, size_t len, struct drp_buf *out);
int drp_razor_denewline(const uint8_t *in, size_t len, struct drp_buf *out);
/* deHTMLxs' isit() alone. */
int drp_razor_is_html(const uint8_t *in, size_t len);
/* Manager::preproc: the whole chain (with or without deHTMLxs), then the
 * header removed; the result replaces *out.  -1 on memory exhaustion. */
int drp_razor_preproc(const uint8_t *part, size_t len, int dehtml, struct drp_buf *out);

#endif
