/*
 * buf: explicit-length byte views and growable byte buffers.
 *
 * Mail bytes may contain NULs, so nothing in drp relies on NUL termination
 * of message data; a drp_slice is always (pointer, length).  drp_buf owns
 * its memory and keeps one spare byte so callers that need a C string for
 * non-mail data (config values, hex digests) can have one cheaply.
 */
#ifndef DRP_BUF_H
#define DRP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct drp_slice {
	const uint8_t *p;
	size_t len;
};

struct drp_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

#define DRP_SLICE(ptr, n) ((struct drp_slice){(const uint8_t *)(ptr), (n)})

void drp_buf_init(struct drp_buf *b);
void drp_buf_free(struct drp_buf *b);
void drp_buf_reset(struct drp_buf *b);
/* Ensure room for `extra` more bytes (+1 for a terminator); -1 on ENOMEM. */
int drp_buf_reserve(struct drp_buf *b, size_t extra);
int drp_buf_append(struct drp_buf *b, const void *p, size_t n);
int drp_buf_putc(struct drp_buf *b, uint8_t c);
/* printf-style append of non-mail text; -1 on error. */
int drp_buf_printf(struct drp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminate without changing len (room is always kept). */
const char *drp_buf_cstr(struct drp_buf *b);

/* Lowercase hex of n bytes into out (2n+1 bytes incl. NUL). */
void drp_hex(const uint8_t *in, size_t n, char *out);
/* Case-insensitive ASCII compare of a slice with a C string. */
int drp_slice_ieq(struct drp_slice s, const char *lit);
/* Case-insensitive ASCII prefix test. */
int drp_slice_iprefix(struct drp_slice s, const char *lit);
/* memmem wrapper with explicit lengths. */
const uint8_t *drp_memmem(const uint8_t *h, size_t hl, const void *n, size_t nl);

#endif
