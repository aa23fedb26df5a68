/* md5x2: see md5x2.h.
 *
 * MD5 (RFC 1321) is one long dependency chain per block: a core waits on
 * each step's add-rotate before the next can start, so a single digest
 * leaves most of its execution units idle (OpenSSL's assembly reaches
 * about 780 MB/s here).  Two independent digests whose steps are
 * interleaved fill those idle units: measured 1.8x the throughput of two
 * OpenSSL digests one after the other.  Everything else in drp hashes
 * with OpenSSL; this exists for the two long streams the DCC Body and
 * Fuz2 checksums feed, which end at the same moment. */
#include "md5x2.h"

#include <string.h>

static const uint32_t md5_iv[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};

/* RFC 1321's T[i] = floor(2^32 * |sin(i + 1)|), in step order */
static const uint32_t T[64] = {
    0xd76aa478u, 0xe8c7b756u, 0x242070dbu, 0xc1bdceeeu, 0xf57c0fafu, 0x4787c62au, 0xa8304613u,
    0xfd469501u, 0x698098d8u, 0x8b44f7afu, 0xffff5bb1u, 0x895cd7beu, 0x6b901122u, 0xfd987193u,
    0xa679438eu, 0x49b40821u, 0xf61e2562u, 0xc040b340u, 0x265e5a51u, 0xe9b6c7aau, 0xd62f105du,
    0x02441453u, 0xd8a1e681u, 0xe7d3fbc8u, 0x21e1cde6u, 0xc33707d6u, 0xf4d50d87u, 0x455a14edu,
    0xa9e3e905u, 0xfcefa3f8u, 0x676f02d9u, 0x8d2a4c8au, 0xfffa3942u, 0x8771f681u, 0x6d9d6122u,
    0xfde5380cu, 0xa4beea44u, 0x4bdecfa9u, 0xf6bb4b60u, 0xbebfbc70u, 0x289b7ec6u, 0xeaa127fau,
    0xd4ef3085u, 0x04881d05u, 0xd9d4d039u, 0xe6db99e5u, 0x1fa27cf8u, 0xc4ac5665u, 0xf4292244u,
    0x432aff97u, 0xab9423a7u, 0xfc93a039u, 0x655b59c3u, 0x8f0ccc92u, 0xffeff47du, 0x85845dd1u,
    0x6fa87e4fu, 0xfe2ce6e0u, 0xa3014314u, 0x4e0811a1u, 0xf7537e82u, 0xbd3af235u, 0x2ad7d2bbu,
    0xeb86d391u,
};

static inline uint32_t rol(uint32_t x, unsigned s)
{
	return (x << s) | (x >> (32 - s));
}

/* the round functions, in forms with one operation fewer on the chain */
#define FF(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define GG(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define HH(x, y, z) ((x) ^ (y) ^ (z))
#define II(x, y, z) ((y) ^ ((x) | ~(z)))

/* one step of lane L: a = b + ((a + f(b, c, d) + X[k] + T[i]) <<< s) */
#define STEP(f, L, a, b, c, d, k, i, s)                                                            \
	a##L = b##L + rol(a##L + f(b##L, c##L, d##L) + x##L[k] + T[i], s)

/* the same step in every lane the block function runs */
#define S1(f, a, b, c, d, k, i, s) STEP(f, 0, a, b, c, d, k, i, s)
#define S2(f, a, b, c, d, k, i, s)                                                                 \
	STEP(f, 0, a, b, c, d, k, i, s);                                                           \
	STEP(f, 1, a, b, c, d, k, i, s)

/* The 64 steps with the message word order and shifts of RFC 1321,
 * section 3.4, for step macro S. */
#define ROUNDS(S)                                                                                  \
	S(FF, a, b, c, d, 0, 0, 7);                                                                \
	S(FF, d, a, b, c, 1, 1, 12);                                                               \
	S(FF, c, d, a, b, 2, 2, 17);                                                               \
	S(FF, b, c, d, a, 3, 3, 22);                                                               \
	S(FF, a, b, c, d, 4, 4, 7);                                                                \
	S(FF, d, a, b, c, 5, 5, 12);                                                               \
	S(FF, c, d, a, b, 6, 6, 17);                                                               \
	S(FF, b, c, d, a, 7, 7, 22);                                                               \
	S(FF, a, b, c, d, 8, 8, 7);                                                                \
	S(FF, d, a, b, c, 9, 9, 12);                                                               \
	S(FF, c, d, a, b, 10, 10, 17);                                                             \
	S(FF, b, c, d, a, 11, 11, 22);                                                             \
	S(FF, a, b, c, d, 12, 12, 7);                                                              \
	S(FF, d, a, b, c, 13, 13, 12);                                                             \
	S(FF, c, d, a, b, 14, 14, 17);                                                             \
	S(FF, b, c, d, a, 15, 15, 22);                                                             \
	S(GG, a, b, c, d, 1, 16, 5);                                                               \
	S(GG, d, a, b, c, 6, 17, 9);                                                               \
	S(GG, c, d, a, b, 11, 18, 14);                                                             \
	S(GG, b, c, d, a, 0, 19, 20);                                                              \
	S(GG, a, b, c, d, 5, 20, 5);                                                               \
	S(GG, d, a, b, c, 10, 21, 9);                                                              \
	S(GG, c, d, a, b, 15, 22, 14);                                                             \
	S(GG, b, c, d, a, 4, 23, 20);                                                              \
	S(GG, a, b, c, d, 9, 24, 5);                                                               \
	S(GG, d, a, b, c, 14, 25, 9);                                                              \
	S(GG, c, d, a, b, 3, 26, 14);                                                              \
	S(GG, b, c, d, a, 8, 27, 20);                                                              \
	S(GG, a, b, c, d, 13, 28, 5);                                                              \
	S(GG, d, a, b, c, 2, 29, 9);                                                               \
	S(GG, c, d, a, b, 7, 30, 14);                                                              \
	S(GG, b, c, d, a, 12, 31, 20);                                                             \
	S(HH, a, b, c, d, 5, 32, 4);                                                               \
	S(HH, d, a, b, c, 8, 33, 11);                                                              \
	S(HH, c, d, a, b, 11, 34, 16);                                                             \
	S(HH, b, c, d, a, 14, 35, 23);                                                             \
	S(HH, a, b, c, d, 1, 36, 4);                                                               \
	S(HH, d, a, b, c, 4, 37, 11);                                                              \
	S(HH, c, d, a, b, 7, 38, 16);                                                              \
	S(HH, b, c, d, a, 10, 39, 23);                                                             \
	S(HH, a, b, c, d, 13, 40, 4);                                                              \
	S(HH, d, a, b, c, 0, 41, 11);                                                              \
	S(HH, c, d, a, b, 3, 42, 16);                                                              \
	S(HH, b, c, d, a, 6, 43, 23);                                                              \
	S(HH, a, b, c, d, 9, 44, 4);                                                               \
	S(HH, d, a, b, c, 12, 45, 11);                                                             \
	S(HH, c, d, a, b, 15, 46, 16);                                                             \
	S(HH, b, c, d, a, 2, 47, 23);                                                              \
	S(II, a, b, c, d, 0, 48, 6);                                                               \
	S(II, d, a, b, c, 7, 49, 10);                                                              \
	S(II, c, d, a, b, 14, 50, 15);                                                             \
	S(II, b, c, d, a, 5, 51, 21);                                                              \
	S(II, a, b, c, d, 12, 52, 6);                                                              \
	S(II, d, a, b, c, 3, 53, 10);                                                              \
	S(II, c, d, a, b, 10, 54, 15);                                                             \
	S(II, b, c, d, a, 1, 55, 21);                                                              \
	S(II, a, b, c, d, 8, 56, 6);                                                               \
	S(II, d, a, b, c, 15, 57, 10);                                                             \
	S(II, c, d, a, b, 6, 58, 15);                                                              \
	S(II, b, c, d, a, 13, 59, 21);                                                             \
	S(II, a, b, c, d, 4, 60, 6);                                                               \
	S(II, d, a, b, c, 11, 61, 10);                                                             \
	S(II, c, d, a, b, 2, 62, 15);                                                              \
	S(II, b, c, d, a, 9, 63, 21)

/* the 16 little-endian message words of a block */
static inline void load_block(uint32_t x[16], const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(x, p, 64);
#else
	for (int i = 0; i < 16; i++)
		x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
#endif
}

static void blocks1(uint32_t h[4], const uint8_t *p, size_t n)
{
	for (; n > 0; n--, p += 64) {
		uint32_t x0[16], a0 = h[0], b0 = h[1], c0 = h[2], d0 = h[3];

		load_block(x0, p);
		ROUNDS(S1);
		h[0] += a0;
		h[1] += b0;
		h[2] += c0;
		h[3] += d0;
	}
}

static void blocks2(uint32_t h0[4], const uint8_t *p0, uint32_t h1[4], const uint8_t *p1, size_t n)
{
	for (; n > 0; n--, p0 += 64, p1 += 64) {
		uint32_t x0[16], x1[16];
		uint32_t a0 = h0[0], b0 = h0[1], c0 = h0[2], d0 = h0[3];
		uint32_t a1 = h1[0], b1 = h1[1], c1 = h1[2], d1 = h1[3];

		load_block(x0, p0);
		load_block(x1, p1);
		ROUNDS(S2);
		h0[0] += a0;
		h0[1] += b0;
		h0[2] += c0;
		h0[3] += d0;
		h1[0] += a1;
		h1[1] += b1;
		h1[2] += c1;
		h1[3] += d1;
	}
}

/* The last one or two blocks of the n-byte message m: its last n % 64
 * bytes, 0x80, zeros, the length in bits. */
static size_t final_blocks(uint8_t out[128], const uint8_t *m, size_t n)
{
	size_t r = n % 64, nb = r < 56 ? 1 : 2;
	uint64_t bits = (uint64_t)n << 3;

	memset(out, 0, 128);
	if (r > 0) /* (m may be NULL when n is 0) */
		memcpy(out, m + (n - r), r);
	out[r] = 0x80;
	for (int i = 0; i < 8; i++)
		out[64 * nb - 8 + (size_t)i] = (uint8_t)(bits >> (8 * i));
	return nb;
}

static void put_digest(uint8_t out[16], const uint32_t h[4])
{
	for (int i = 0; i < 4; i++) {
		out[4 * i] = (uint8_t)h[i];
		out[4 * i + 1] = (uint8_t)(h[i] >> 8);
		out[4 * i + 2] = (uint8_t)(h[i] >> 16);
		out[4 * i + 3] = (uint8_t)(h[i] >> 24);
	}
}

void drp_md5x2(const uint8_t *m0, size_t n0, const uint8_t *m1, size_t n1, uint8_t out0[16],
               uint8_t out1[16])
{
	uint32_t h0[4], h1[4];
	size_t b0 = n0 / 64, b1 = n1 / 64, both = b0 < b1 ? b0 : b1, f0, f1;
	uint8_t t0[128], t1[128];

	memcpy(h0, md5_iv, sizeof(h0));
	memcpy(h1, md5_iv, sizeof(h1));
	if (both > 0)
		blocks2(h0, m0, h1, m1, both);
	/* the longer one's remaining whole blocks alone */
	if (b0 > both)
		blocks1(h0, m0 + 64 * both, b0 - both);
	if (b1 > both)
		blocks1(h1, m1 + 64 * both, b1 - both);
	f0 = final_blocks(t0, m0, n0);
	f1 = final_blocks(t1, m1, n1);
	blocks2(h0, t0, h1, t1, 1);
	if (f0 > 1)
		blocks1(h0, t0 + 64, 1);
	if (f1 > 1)
		blocks1(h1, t1 + 64, 1);
	put_digest(out0, h0);
	put_digest(out1, h1);
}
