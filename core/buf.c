/* buf: see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void drp_buf_init(struct drp_buf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void drp_buf_free(struct drp_buf *b)
{
	free(b->p);
	drp_buf_init(b);
}

void drp_buf_reset(struct drp_buf *b)
{
	b->len = 0;
}

int drp_buf_reserve(struct drp_buf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *np;

	if (extra > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	np = realloc(b->p, ncap);
	if (np == NULL)
		return -1;
	b->p = np;
	b->cap = ncap;
	return 0;
}

int drp_buf_append(struct drp_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return drp_buf_reserve(b, 0);
	if (drp_buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int drp_buf_putc(struct drp_buf *b, uint8_t c)
{
	if (b->len + 1 >= b->cap && drp_buf_reserve(b, 1) < 0)
		return -1;
	b->p[b->len++] = c;
	return 0;
}

int drp_buf_printf(struct drp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || drp_buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *drp_buf_cstr(struct drp_buf *b)
{
	if (drp_buf_reserve(b, 0) < 0)
		return NULL;
	b->p[b->len] = 0;
	return (const char *)b->p;
}

void drp_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

int drp_slice_ieq(struct drp_slice s, const char *lit)
{
	size_t n = strlen(lit), i;

	if (n != s.len)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(s.p[i]) != lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

int drp_slice_iprefix(struct drp_slice s, const char *lit)
{
	size_t n = strlen(lit), i;

	if (n > s.len)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(s.p[i]) != lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

const uint8_t *drp_memmem(const uint8_t *h, size_t hl, const void *n, size_t nl)
{
	if (nl == 0)
		return h;
	if (hl < nl)
		return NULL;
	return memmem(h, hl, n, nl);
}
