/*
 * pyzor_digest: the Pyzor message digest, byte-identical to pyzor 1.0.0
 * (Debian, Python 3.11): MIME walk with Python's email feedparser rules,
 * transfer decoding, charset decoding with Python's codec tables, HTML text
 * extraction as Python's HTMLParser sees it, line normalization, the 20%/60%
 * sampling and SHA-1.  Rules: shared/docs/pyzor-protocol.md section 7.
 *
 * Owns nothing global; every call allocates its scratch and frees it, or
 * reuses a caller's drp_pyzor_digester.
 */
#ifndef DRP_PYZOR_DIGEST_H
#define DRP_PYZOR_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Options (bit flags). */
enum {
	/* pyzor 1.1.x: drop U+0000 from each line and the charset name before
	 * normalizing (1.0.0 treats NUL as an ordinary character). */
	DRP_PYZOR_NUL_RULE = 1,
};

/* What the digest saw besides the lines (for callers that want to warn). */
enum {
	/* an HTML part had `<![` + an unknown keyword: pyzor 1.0.0 dies with a
	 * traceback there; drp keeps the text before it, as pyzor's own error
	 * handler intends ("can't parse the HTML, so just strip it"). */
	DRP_PYZOR_SAW_HTML_CRASH = 1,
};

/* A list of lines: line i is text.p[off[i] .. off[i+1]). */
struct drp_pyzor_lines {
	struct drp_buf text;
	size_t *off; /* n + 1 entries when n > 0 */
	size_t n, cap;
};

void drp_pyzor_lines_init(struct drp_pyzor_lines *l);
void drp_pyzor_lines_free(struct drp_pyzor_lines *l);
struct drp_slice drp_pyzor_line(const struct drp_pyzor_lines *l, size_t i);

/*
 * Every normalized line kept, before sampling (pyzor's `lines` list).
 * Returns 0 or -1 (out of memory, err filled).  *seen gets DRP_PYZOR_SAW_*.
 */
int drp_pyzor_normalized(const uint8_t *msg, size_t len, unsigned flags,
                         struct drp_pyzor_lines *out, unsigned *seen, char *err, size_t errlen);

/*
 * The lines fed to SHA-1, in order (what `pyzor predigest` prints), from
 * the normalized lines.
 */
int drp_pyzor_sample(const struct drp_pyzor_lines *norm, struct drp_pyzor_lines *out);

/* The 40-hex digest (+ NUL) of a message. 0 or -1. */
int drp_pyzor_digest(const uint8_t *msg, size_t len, unsigned flags, char hex[41], unsigned *seen,
                     char *err, size_t errlen);

/*
 * The same with scratch kept between messages (buffers up to 256 KB each,
 * SHA-1 fetched once): for a long-lived caller digesting one message at a
 * time, e.g. a network client context.  NULL from new when out of memory.
 */
struct drp_pyzor_digester;
struct drp_pyzor_digester *drp_pyzor_digester_new(void);
void drp_pyzor_digester_free(struct drp_pyzor_digester *d);
int drp_pyzor_digest_with(struct drp_pyzor_digester *d, const uint8_t *msg, size_t len,
                          unsigned flags, char hex[41], unsigned *seen, char *err, size_t errlen);

/*
 * Building blocks, exposed for the unit tests.  All append to out and
 * return 0, or -1 on out of memory.
 */
/* One payload string (valid UTF-8): split into lines, normalize, keep. */
int drp_pyzor_normalize_text(const uint8_t *s, size_t n, unsigned flags,
                             struct drp_pyzor_lines *out);
/* HTML text extraction of UTF-8 text; the joined runs as UTF-8.
 * *crash is set when pyzor 1.0.0 would die on this input. */
int drp_pyzor_html_text(const uint8_t *s, size_t n, struct drp_buf *out, int *crash);
/* Python's html.unescape on UTF-8 text. */
int drp_pyzor_html_unescape(const uint8_t *s, size_t n, struct drp_buf *out);
/* Transfer decoders as Python's email package applies them. */
int drp_pyzor_b64_decode(const uint8_t *s, size_t n, struct drp_buf *out);
int drp_pyzor_qp_decode(const uint8_t *s, size_t n, struct drp_buf *out);
/* 0 decoded, 1 not uuencoded (out untouched), -1 out of memory. */
int drp_pyzor_uu_decode(const uint8_t *s, size_t n, struct drp_buf *out);
/* bytes -> UTF-8 with a Python codec name; replace=0 drops bad bytes,
 * replace=1 puts U+FFFD.  0 ok, 1 unknown charset (out untouched), -1 OOM. */
int drp_pyzor_charset_decode(const char *charset, size_t cslen, const uint8_t *s, size_t n,
                             int replace, struct drp_buf *out);

#endif
