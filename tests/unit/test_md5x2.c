/*
 * Unit tests: md5x2 against OpenSSL's MD5 on every length around the
 * block and padding boundaries, unequal pairs, empty inputs, and the
 * RFC 1321 test suite values.
 */
#include <check.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md5x2.h"

static void ref_md5(const uint8_t *p, size_t n, uint8_t out[16])
{
	unsigned len = 16;

	ck_assert(EVP_Digest(p, n, out, &len, EVP_md5(), NULL) == 1);
}

static void hex(const uint8_t d[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

START_TEST(rfc1321_suite)
{
	static const struct {
		const char *in, *md5;
	} v[] = {
	    {"", "d41d8cd98f00b204e9800998ecf8427e"},
	    {"a", "0cc175b9c0f1b6a831c399e269772661"},
	    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
	    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
	    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	     "d174ab98d277d9f5a5611c2c9f419d9f"},
	    {"1234567890123456789012345678901234567890123456789012345678901234567890123456789"
	     "0",
	     "57edf4a22be3c955ac49da2e2107b67a"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t j = (i + 3) % (sizeof(v) / sizeof(v[0]));
		uint8_t d0[16], d1[16];
		char h0[33], h1[33];

		drp_md5x2((const uint8_t *)v[i].in, strlen(v[i].in), (const uint8_t *)v[j].in,
		          strlen(v[j].in), d0, d1);
		hex(d0, h0);
		hex(d1, h1);
		ck_assert_str_eq(h0, v[i].md5);
		ck_assert_str_eq(h1, v[j].md5);
	}
}
END_TEST

/* every pair of lengths 0..200 (both sides of 55/56/64/119/120/128) */
START_TEST(lengths_against_openssl)
{
	uint8_t buf0[512], buf1[512], d0[16], d1[16], r0[16], r1[16];

	for (size_t i = 0; i < sizeof(buf0); i++) {
		buf0[i] = (uint8_t)(i * 131 + 7);
		buf1[i] = (uint8_t)(i * 17 + 200);
	}
	for (size_t n0 = 0; n0 <= 200; n0++)
		for (size_t n1 = 0; n1 <= 200; n1 += (n0 % 7) + 1) {
			drp_md5x2(n0 ? buf0 : NULL, n0, n1 ? buf1 : NULL, n1, d0, d1);
			ref_md5(buf0, n0, r0);
			ref_md5(buf1, n1, r1);
			ck_assert_msg(memcmp(d0, r0, 16) == 0, "lane 0, %zu/%zu", n0, n1);
			ck_assert_msg(memcmp(d1, r1, 16) == 0, "lane 1, %zu/%zu", n0, n1);
		}
}
END_TEST

/* long, very unequal and random inputs: one lane ends far before the other */
START_TEST(long_random)
{
	size_t cap = 300000;
	uint8_t *a = malloc(cap), *b = malloc(cap), d0[16], d1[16], r0[16], r1[16];
	unsigned seed = 12345;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < cap; i++) {
		seed = seed * 1103515245u + 12345u;
		a[i] = (uint8_t)(seed >> 16);
		b[i] = (uint8_t)(seed >> 8);
	}
	for (int k = 0; k < 40; k++) {
		size_t n0, n1;

		seed = seed * 1103515245u + 12345u;
		n0 = (seed >> 4) % cap;
		seed = seed * 1103515245u + 12345u;
		n1 = k % 3 == 0 ? n0 : (seed >> 4) % (k % 2 ? 300 : cap);
		drp_md5x2(a, n0, b, n1, d0, d1);
		ref_md5(a, n0, r0);
		ref_md5(b, n1, r1);
		ck_assert_msg(memcmp(d0, r0, 16) == 0, "lane 0, %zu/%zu", n0, n1);
		ck_assert_msg(memcmp(d1, r1, 16) == 0, "lane 1, %zu/%zu", n0, n1);
	}
	free(a);
	free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("md5x2");
	TCase *tc = tcase_create("md5x2");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rfc1321_suite);
	tcase_add_test(tc, lengths_against_openssl);
	tcase_add_test(tc, long_random);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
