/* http_fcgi: see http_fcgi.h. */
#include "http_fcgi.h"

#include <string.h>

long drp_fcgi_parse(const uint8_t *p, size_t n, struct drp_fcgi_record *r)
{
	size_t clen, plen;

	if (n < DRP_FCGI_HEADER_LEN)
		return 0;
	if (p[0] != 1 || p[1] == 0)
		return -1;
	clen = ((size_t)p[4] << 8) | p[5];
	plen = p[6];
	if (n < DRP_FCGI_HEADER_LEN + clen + plen)
		return 0;
	r->type = p[1];
	r->id = (uint16_t)((p[2] << 8) | p[3]);
	r->content = p + DRP_FCGI_HEADER_LEN;
	r->len = clen;
	return (long)(DRP_FCGI_HEADER_LEN + clen + plen);
}

static int nv_len(const uint8_t **p, size_t *n, size_t *out)
{
	if (*n < 1)
		return -1;
	if (((*p)[0] & 0x80) == 0) {
		*out = (*p)[0];
		*p += 1;
		*n -= 1;
		return 0;
	}
	if (*n < 4)
		return -1;
	*out = ((size_t)((*p)[0] & 0x7f) << 24) | ((size_t)(*p)[1] << 16) | ((size_t)(*p)[2] << 8) |
	       (*p)[3];
	*p += 4;
	*n -= 4;
	return 0;
}

int drp_fcgi_nv_next(const uint8_t **p, size_t *n, struct drp_slice *name, struct drp_slice *value)
{
	size_t nl, vl;

	if (*n == 0)
		return 0;
	if (nv_len(p, n, &nl) < 0 || nv_len(p, n, &vl) < 0)
		return -1;
	if (nl > *n || vl > *n - nl)
		return -1;
	name->p = *p;
	name->len = nl;
	value->p = *p + nl;
	value->len = vl;
	*p += nl + vl;
	*n -= nl + vl;
	return 1;
}

static int put_len(struct drp_buf *out, size_t l)
{
	uint8_t b[4];

	if (l < 128)
		return drp_buf_putc(out, (uint8_t)l);
	if (l > 0x7fffffff)
		return -1;
	b[0] = (uint8_t)(0x80 | (l >> 24));
	b[1] = (uint8_t)(l >> 16);
	b[2] = (uint8_t)(l >> 8);
	b[3] = (uint8_t)l;
	return drp_buf_append(out, b, 4);
}

int drp_fcgi_nv_put(struct drp_buf *out, const char *name, size_t nl, const char *val, size_t vl)
{
	if (put_len(out, nl) < 0 || put_len(out, vl) < 0 || drp_buf_append(out, name, nl) < 0 ||
	    drp_buf_append(out, val, vl) < 0)
		return -1;
	return 0;
}

int drp_fcgi_put_record(struct drp_buf *out, uint8_t type, uint16_t id, const void *p, size_t n)
{
	static const uint8_t zeros[8];
	uint8_t h[DRP_FCGI_HEADER_LEN];
	size_t pad = (8 - (n & 7)) & 7;

	if (n > DRP_FCGI_MAX_CONTENT)
		return -1;
	h[0] = 1;
	h[1] = type;
	h[2] = (uint8_t)(id >> 8);
	h[3] = (uint8_t)id;
	h[4] = (uint8_t)(n >> 8);
	h[5] = (uint8_t)n;
	h[6] = (uint8_t)pad;
	h[7] = 0;
	if (drp_buf_reserve(out, sizeof(h) + n + pad) < 0)
		return -1;
	drp_buf_append(out, h, sizeof(h));
	if (n)
		drp_buf_append(out, p, n);
	if (pad)
		drp_buf_append(out, zeros, pad);
	return 0;
}

int drp_fcgi_put_stream(struct drp_buf *out, uint8_t type, uint16_t id, const void *p, size_t n)
{
	const uint8_t *b = p;

	if (n == 0)
		return drp_fcgi_put_record(out, type, id, NULL, 0);
	while (n > 0) {
		/* a multiple of 8 keeps every full record unpadded */
		size_t k = n > 65528 ? 65528 : n;

		if (drp_fcgi_put_record(out, type, id, b, k) < 0)
			return -1;
		b += k;
		n -= k;
	}
	return 0;
}

int drp_fcgi_put_end(struct drp_buf *out, uint16_t id, uint32_t app_status, uint8_t proto_status)
{
	uint8_t b[8] = {(uint8_t)(app_status >> 24),
	                (uint8_t)(app_status >> 16),
	                (uint8_t)(app_status >> 8),
	                (uint8_t)app_status,
	                proto_status,
	                0,
	                0,
	                0};

	return drp_fcgi_put_record(out, DRP_FCGI_END_REQUEST, id, b, sizeof(b));
}
