/* decode: see decode.h. */
#include "decode.h"

#include <string.h>

/* 0..63 for the alphabet, 64 for '=', 255 for anything else */
/* clang-format off */
static const uint8_t b64val[256] = {
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255, 255, 255,  63,
	 52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255,  64, 255, 255,
	255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
	 15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255, 255,
	255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
	 41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};
/* clang-format on */

int drp_b64_decode(const uint8_t *in, size_t n, struct drp_buf *out)
{
	const uint8_t *p = in, *end = in + n;
	uint8_t *o;
	uint32_t acc = 0;
	int have = 0;

	if (drp_buf_reserve(out, n / 4 * 3 + 3) < 0)
		return -1;
	o = out->p + out->len;
	while (p < end) {
		/* fast path: four clean alphabet characters at once */
		if (have == 0) {
			while (end - p >= 4) {
				uint32_t a = b64val[p[0]], b = b64val[p[1]], c = b64val[p[2]],
				         d = b64val[p[3]];

				if ((a | b | c | d) >= 64)
					break;
				acc = a << 18 | b << 12 | c << 6 | d;
				o[0] = (uint8_t)(acc >> 16);
				o[1] = (uint8_t)(acc >> 8);
				o[2] = (uint8_t)acc;
				o += 3;
				p += 4;
			}
			if (p >= end)
				break;
		}
		{
			uint8_t v = b64val[*p++];

			if (v == 255)
				continue;
			if (v == 64) {
				/* padding closes the group: flush what the bits allow */
				if (have == 2)
					*o++ = (uint8_t)(acc >> 4);
				else if (have == 3) {
					*o++ = (uint8_t)(acc >> 10);
					*o++ = (uint8_t)(acc >> 2);
				}
				have = 0;
				acc = 0;
				continue;
			}
			acc = acc << 6 | v;
			if (++have == 4) {
				o[0] = (uint8_t)(acc >> 16);
				o[1] = (uint8_t)(acc >> 8);
				o[2] = (uint8_t)acc;
				o += 3;
				have = 0;
				acc = 0;
			}
		}
	}
	/* unpadded tail */
	if (have == 2)
		*o++ = (uint8_t)(acc >> 4);
	else if (have == 3) {
		*o++ = (uint8_t)(acc >> 10);
		*o++ = (uint8_t)(acc >> 2);
	}
	out->len = (size_t)(o - out->p);
	return 0;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int drp_qp_decode(const uint8_t *in, size_t n, struct drp_buf *out, int header_mode)
{
	size_t i = 0;
	uint8_t *o;

	if (drp_buf_reserve(out, n) < 0)
		return -1;
	o = out->p + out->len;
	while (i < n) {
		const uint8_t *eq = memchr(in + i, '=', n - i);
		size_t run = eq ? (size_t)(eq - (in + i)) : n - i;

		if (header_mode) {
			size_t k;

			for (k = 0; k < run; k++)
				o[k] = in[i + k] == '_' ? ' ' : in[i + k];
		} else {
			memcpy(o, in + i, run);
		}
		o += run;
		i += run;
		if (i >= n)
			break;
		/* at '=' */
		if (i + 2 < n && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
			*o++ = (uint8_t)(hexval(in[i + 1]) << 4 | hexval(in[i + 2]));
			i += 3;
			continue;
		}
		{
			size_t j = i + 1;

			while (j < n && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j == n) { /* soft break at end of data */
				i = j;
				continue;
			}
			if (in[j] == '\n') {
				i = j + 1;
				continue;
			}
			if (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n') {
				i = j + 2;
				continue;
			}
		}
		*o++ = '=';
		i++;
	}
	out->len = (size_t)(o - out->p);
	return 0;
}

enum drp_cte drp_cte_parse(struct drp_slice v)
{
	size_t a = 0, b = v.len;

	while (a < b && (v.p[a] == ' ' || v.p[a] == '\t' || v.p[a] == '\r' || v.p[a] == '\n'))
		a++;
	while (b > a && (v.p[b - 1] == ' ' || v.p[b - 1] == '\t' || v.p[b - 1] == '\r' ||
	                 v.p[b - 1] == '\n' || v.p[b - 1] == ';'))
		b--;
	v = DRP_SLICE(v.p + a, b - a);
	if (drp_slice_ieq(v, "base64"))
		return DRP_CTE_BASE64;
	if (drp_slice_ieq(v, "quoted-printable"))
		return DRP_CTE_QP;
	return DRP_CTE_IDENTITY;
}

int drp_transfer_decode(enum drp_cte cte, const uint8_t *in, size_t n, struct drp_buf *out)
{
	switch (cte) {
	case DRP_CTE_BASE64:
		return drp_b64_decode(in, n, out);
	case DRP_CTE_QP:
		return drp_qp_decode(in, n, out, 0);
	case DRP_CTE_IDENTITY:
		break;
	}
	return drp_buf_append(out, in, n);
}

int drp_b64_encode(const uint8_t *in, size_t n, struct drp_buf *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	uint8_t *o;

	if (drp_buf_reserve(out, (n + 2) / 3 * 4) < 0)
		return -1;
	o = out->p + out->len;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = (uint8_t)a[v >> 18];
		*o++ = (uint8_t)a[(v >> 12) & 63];
		*o++ = (uint8_t)a[(v >> 6) & 63];
		*o++ = (uint8_t)a[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*o++ = (uint8_t)a[v >> 18];
		*o++ = (uint8_t)a[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*o++ = (uint8_t)a[v >> 18];
		*o++ = (uint8_t)a[(v >> 12) & 63];
		*o++ = (uint8_t)a[(v >> 6) & 63];
		*o++ = '=';
	}
	out->len = (size_t)(o - out->p);
	return 0;
}
