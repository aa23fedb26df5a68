/*
 * Unit tests: dcc_pkt (build, sign, decode, match) against the datagrams
 * the reference dccproc/cdcc and dccd exchanged in
 * ../shared/vectors/dcc/packets.txt (embedded below as format facts), and
 * the client's verdict and X-DCC metrics from decoded answers.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcc_client.h"
#include "dcc_pkt.h"

struct capture {
	const char *name;
	int to_server;
	const char *passwd; /* the client's password, "" anonymous */
	const char *hex;
};

/* packets.txt: part 1 (anonymous ID 1 and ID 32768/testpass32768), part 2
 * (ID 32768 with a wrong password, unknown ID 40000) */
static const struct capture caps[] = {
    {"#1", 1, "",
     "00280c01000000016d017f00e9680000840100000100000000000000000000000000000000000000"},
    {"#2", 0, "",
     "006c0c06000003e96d017f00e968000084010000010000000c0001c2726566646363000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000"},
    {"#3", 1, "testpass32768",
     "00280c01000080006d017f001b690000030000000100000034ffea7c4d84a8d393b8aae19d52cf9c"},
    {"#4", 0, "testpass32768",
     "006c0c06000003e96d017f001b69000003000000010000000c000190726566646363000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000dcdb3971d373c1920484cd1f5621ffee"},
    {"#5", 1, "",
     "00ce0c03000000016d017f00246900008501000001000000000000000112bb1027c0791faac61948"
     "40a772f732200212a2d626e4ef6c143b47dca957032abeea0312c160f8cc69a4f0bf2b0362752353"
     "d0600512ac623c094f3922f9fd85936e0003043a071246296be47178ada5f30c8dc968a358350812"
     "ab06355ecaa24dcfa949120feee85661091286d898282f2d4cf11e592b4bbee37d980a12bb1027c0"
     "791faac6194840a772f732200b12bb1027c0791faac6194840a772f7322000000000000000000000"
     "000000000000"},
    {"#6", 0, "",
     "00700c04000003e96d017f0024690000850100000100000000000000010000000000000001000000"
     "00000000010000000000000001000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000"},
    {"#7", 1, "testpass32768",
     "00ce0c03000080006d017f00266900000400000001000000000000000112bb1027c0791faac61948"
     "40a772f732200212a2d626e4ef6c143b47dca957032abeea0312c160f8cc69a4f0bf2b0362752353"
     "d0600512ac623c094f3922f9fd85936e0003043a071246296be47178ada5f30c8dc968a358350812"
     "ab06355ecaa24dcfa949120feee85661091286d898282f2d4cf11e592b4bbee37d980a12bb1027c0"
     "791faac6194840a772f732200b12bb1027c0791faac6194840a772f73220342d53a8837120ebcc5f"
     "217f9bfeb46f"},
    {"#8", 0, "testpass32768",
     "00700c04000003e96d017f0026690000040000000100000000000000010000000000000001000000"
     "00000000010000000000000001000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000700cb264b9c8373f8301dbf46a2509c4"},
    {"#9", 1, "",
     "00bc0c02000000016d017f002c6900008601000001000000000000010112bb1027c0791faac61948"
     "40a772f732200212a2d626e4ef6c143b47dca957032abeea031225d86856eb1e16d52c5882a0da7f"
     "58d70712e3c58f7e2c7c936b83fe7cf62c11f4d4081217da7b6cc9e369f8741651b31b547a090912"
     "e75875f658f5db1605909df9deeccd4f0a12bb1027c0791faac6194840a772f732200b12bb1027c0"
     "791faac6194840a772f7322000000000000000000000000000000000"},
    {"#10", 0, "",
     "00680c04000003e96d017f002c690000860100000100000000000000010000000000000001000000"
     "00000000010000000000000100000000000000010000000000000001000000000000000100000000"
     "000000000000000000000000000000000000000000000000"},
    {"#11", 1, "testpass32768",
     "00ce0c02000080006d017f00306900000500000001000000000000010112bb1027c0791faac61948"
     "40a772f732200212a2d626e4ef6c143b47dca957032abeea0312f459ecb000b5c0f32436187826e5"
     "023505126fddfcbfd38fca2650720f8a9774663a0712c520d4249f0a3cb6e6214eeac68510760812"
     "3f7ca484793ee72d08bbe5d94046abb309124df507704e140adb2fe7fe7d3975f6ff0a12bb1027c0"
     "791faac6194840a772f732200b12bb1027c0791faac6194840a772f7322060ed2a48f55051db027f"
     "b4fa65474118"},
    {"#12", 0, "testpass32768",
     "00700c04000003e96d017f0030690000050000000100000000000000010000000000000001000000"
     "00000000010000000000000001000000000000010000000000000001000000000000000100000000"
     "000000010000000000000000000000002691f5838304c49a01537c17f8d7026d"},
    {"#13", 1, "testpass32768",
     "00ce0c02000080006d017f00426900000600000001000000010000010112bb1027c0791faac61948"
     "40a772f732200212a2d626e4ef6c143b47dca957032abeea0312f459ecb000b5c0f32436187826e5"
     "023505126fddfcbfd38fca2650720f8a9774663a0712c520d4249f0a3cb6e6214eeac68510760812"
     "3f7ca484793ee72d08bbe5d94046abb309124df507704e140adb2fe7fe7d3975f6ff0a12bb1027c0"
     "791faac6194840a772f732200b12bb1027c0791faac6194840a772f732206fbb5f5991d4df07fe3a"
     "72ba6edd0b2d"},
    {"#14", 0, "testpass32768",
     "00700c04000003e96d017f0042690000060000000100000000000000010000000000000001000000"
     "0000000001000000000000000100000000fffff00000000100fffff00000000100fffff000000001"
     "000000030000000200000002000000014a162e4c1d2bf0db0b6867b0e86b5dc9"},
    {"#e13", 1, "wrongpassword",
     "00280c01000080006d017f00227300000300000001000000457fcc3436287bfa768da03ae87463fe"},
    {"#e14", 0, "wrongpassword",
     "006c0c06000003e96d017f002273000003000000010000000c0001c2726566646363000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000"},
    {"#e15", 1, "wrongpassword",
     "00ce0c03000080006d017f00227300000400000001000000000000000112bb1027c0791faac61948"
     "40a772f732200212a2d626e4ef6c143b47dca957032abeea0312c160f8cc69a4f0bf2b0362752353"
     "d0600512ac623c094f3922f9fd85936e0003043a071246296be47178ada5f30c8dc968a358350812"
     "ab06355ecaa24dcfa949120feee85661091286d898282f2d4cf11e592b4bbee37d980a12bb1027c0"
     "791faac6194840a772f732200b12bb1027c0791faac6194840a772f73220f17df5f606a841cede87"
     "da5d3816ae7f"},
    {"#e18", 0, "wrongpassword",
     "00700c04000003e96d017f0022730000040000000100000000000000010000000000000001000000"
     "00000000010000000000000001000000000000000000000000000000000000000000000000000000"
     "0000000200000002000000010000000100000000000000000000000000000000"},
    {"#e19", 1, "somepassword",
     "00280c0100009c406d017f00257300000300000001000000c6ff69faf91a8dd04df8c059ab722a4c"},
    {"#e20", 0, "somepassword",
     "006c0c06000003e96d017f002573000003000000010000000c0001c2726566646363000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000"},
    {"#e21", 1, "somepassword",
     "00ce0c0300009c406d017f00257300000400000001000000000000000112bb1027c0791faac61948"
     "40a772f732200212a2d626e4ef6c143b47dca957032abeea0312c160f8cc69a4f0bf2b0362752353"
     "d0600512ac623c094f3922f9fd85936e0003043a071246296be47178ada5f30c8dc968a358350812"
     "ab06355ecaa24dcfa949120feee85661091286d898282f2d4cf11e592b4bbee37d980a12bb1027c0"
     "791faac6194840a772f732200b12bb1027c0791faac6194840a772f732203fdb8d34ef9ba0be0e62"
     "a1d8aebd7b4b"},
    {"#e24", 0, "somepassword",
     "00700c04000003e96d017f0025730000040000000100000000000000010000000000000001000000"
     "00000000010000000000000001000000000000000000000000000000000000000000000000000000"
     "0000000200000002000000010000000100000000000000000000000000000000"},
};
#define NCAPS (sizeof(caps) / sizeof(caps[0]))

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
	size_t n = strlen(h) / 2;

	ck_assert_uint_le(n, max);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t native32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void cred_for(const struct capture *c, uint32_t id, struct drp_dcc_cred *cr)
{
	char err[128];

	ck_assert_int_eq(
	    drp_dcc_cred_set(cr, id, c->passwd[0] ? c->passwd : NULL, err, sizeof(err)), 0);
}

/* Every captured request, rebuilt from its fields, is the same datagram,
 * signature included. */
START_TEST(test_build_every_request)
{
	int built = 0;

	for (size_t k = 0; k < NCAPS; k++) {
		uint8_t want[DRP_DCC_MAX_PKT], got[DRP_DCC_MAX_PKT];
		struct drp_dcc_sum cks[DRP_DCC_PKT_MAX_CKS];
		struct drp_dcc_opnums on;
		struct drp_dcc_cred cr;
		char err[128];
		size_t n;
		int ncks = 0, len;
		uint32_t tgts = 0;

		if (!caps[k].to_server)
			continue;
		n = unhex(caps[k].hex, want, sizeof(want));
		on.h = native32(want + 8);
		on.p = native32(want + 12);
		on.r = native32(want + 16);
		on.t = native32(want + 20);
		cred_for(&caps[k], be32(want + 4), &cr);
		if (want[3] != DRP_DCC_OP_NOP) {
			tgts = be32(want + 24);
			for (size_t off = 28; off + 16 < n; off += 18) {
				cks[ncks].type = want[off];
				ck_assert_uint_eq(want[off + 1], 18);
				memcpy(cks[ncks].sum, want + off + 2, 16);
				ncks++;
			}
		}
		len = drp_dcc_build((enum drp_dcc_op)want[3], &cr, &on, tgts, cks, ncks, got,
		                    sizeof(got), err, sizeof(err));
		ck_assert_msg(len == (int)n, "%s: built %d bytes, want %zu (%s)", caps[k].name, len,
		              n, err);
		ck_assert_msg(memcmp(got, want, n) == 0, "%s: bytes differ", caps[k].name);
		/* a retransmission: only t and the signature change */
		drp_dcc_set_t(got, n, on.t + 1, &cr);
		ck_assert_uint_eq(native32(got + 20), on.t + 1);
		ck_assert_int_eq(memcmp(got, want, 20), 0);
		ck_assert_int_eq(memcmp(got + 24, want + 24, n - 40), 0);
		if (cr.id != DRP_DCC_ID_ANON) {
			ck_assert(memcmp(got + n - 16, want + n - 16, 16) != 0);
			ck_assert(drp_dcc_sig_ok(got, n, &cr));
		}
		built++;
	}
	ck_assert_int_eq(built, 11);
}
END_TEST

/* Every captured answer decodes; it matches its request by h/p/r; the
 * signed ones verify with the client's password, the others (anonymous
 * client, wrong password, unknown ID) are unsigned and must not verify. */
START_TEST(test_decode_every_answer)
{
	int decoded = 0, verified = 0, refused = 0;

	for (size_t k = 1; k < NCAPS; k++) {
		uint8_t req[DRP_DCC_MAX_PKT], ans[DRP_DCC_MAX_ANSWER];
		struct drp_dcc_answer a;
		struct drp_dcc_opnums on;
		struct drp_dcc_cred cr;
		char err[128];
		size_t n, rn;

		if (caps[k].to_server || !caps[k - 1].to_server)
			continue;
		rn = unhex(caps[k - 1].hex, req, sizeof(req));
		n = unhex(caps[k].hex, ans, sizeof(ans));
		ck_assert_msg(drp_dcc_decode(ans, n, &a, err, sizeof(err)) == 0, "%s: %s",
		              caps[k].name, err);
		ck_assert_int_eq(drp_dcc_read_opnums(req, rn, &on), 0);
		ck_assert(drp_dcc_matches(&a, &on));
		ck_assert_uint_eq(a.on.t, on.t);
		ck_assert_uint_eq(a.sender, 1001);
		ck_assert_uint_eq(a.vers, 12);
		if (req[3] == DRP_DCC_OP_NOP) {
			ck_assert_uint_eq(a.op, DRP_DCC_OP_OK);
			ck_assert_uint_eq(a.max_pkt_vers, 12);
			ck_assert_str_eq(a.brand, "refdcc");
			ck_assert(a.qdelay_ms == 450 || a.qdelay_ms == 400);
		} else {
			ck_assert_uint_eq(a.op, DRP_DCC_OP_ANSWER);
			/* positional: one pair per checksum of the request */
			ck_assert_int_eq(a.n, (int)((rn - 44) / 18));
		}
		cred_for(&caps[k], be32(req + 4), &cr);
		if (cr.id == DRP_DCC_ID_ANON) {
			ck_assert(!drp_dcc_sig_ok(ans, n, &cr));
		} else if (strcmp(caps[k].passwd, "testpass32768") == 0) {
			ck_assert_msg(drp_dcc_sig_ok(ans, n, &cr), "%s: signature", caps[k].name);
			verified++;
		} else {
			ck_assert_msg(!drp_dcc_sig_ok(ans, n, &cr), "%s verified", caps[k].name);
			refused++;
		}
		decoded++;
	}
	ck_assert_int_eq(decoded, 11);
	ck_assert_int_eq(verified, 4);
	ck_assert_int_eq(refused, 4);
}
END_TEST

static void decode_cap(const char *name, struct drp_dcc_answer *a, uint8_t *buf, size_t *n)
{
	char err[128];

	for (size_t k = 0; k < NCAPS; k++) {
		if (strcmp(caps[k].name, name) == 0) {
			*n = unhex(caps[k].hex, buf, DRP_DCC_MAX_ANSWER);
			ck_assert_int_eq(drp_dcc_decode(buf, *n, a, err, sizeof(err)), 0);
			return;
		}
	}
	ck_abort_msg("no capture %s", name);
}

/* The counts packets.txt decodes for answers #10 and #14. */
START_TEST(test_answer_counts)
{
	static const uint32_t c10[] = {0, 0, 0, 1, 1, 1, 1, 0};
	static const uint32_t p10[] = {
	    DRP_DCC_TGTS_INVALID, DRP_DCC_TGTS_INVALID, DRP_DCC_TGTS_INVALID, 0, 0, 0, 0, 0};
	static const uint32_t c14[] = {
	    0, 0, 0, 0, DRP_DCC_TGTS_TOO_MANY, DRP_DCC_TGTS_TOO_MANY, DRP_DCC_TGTS_TOO_MANY, 3, 2};
	static const uint32_t p14[] = {DRP_DCC_TGTS_INVALID,
	                               DRP_DCC_TGTS_INVALID,
	                               DRP_DCC_TGTS_INVALID,
	                               DRP_DCC_TGTS_INVALID,
	                               1,
	                               1,
	                               1,
	                               2,
	                               1};
	uint8_t buf[DRP_DCC_MAX_ANSWER];
	struct drp_dcc_answer a;
	size_t n;

	decode_cap("#10", &a, buf, &n);
	ck_assert_int_eq(a.n, 8);
	for (int i = 0; i < 8; i++) {
		ck_assert_uint_eq(a.c[i], c10[i]);
		ck_assert_uint_eq(a.p[i], p10[i]);
	}
	decode_cap("#14", &a, buf, &n);
	ck_assert_int_eq(a.n, 9);
	for (int i = 0; i < 9; i++) {
		ck_assert_uint_eq(a.c[i], c14[i]);
		ck_assert_uint_eq(a.p[i], p14[i]);
	}
}
END_TEST

static void fill_result(struct drp_dcc_result *r, const char *cap, const uint8_t *types, int n)
{
	uint8_t buf[DRP_DCC_MAX_ANSWER];
	struct drp_dcc_answer a;
	size_t len;

	memset(r, 0, sizeof(*r));
	decode_cap(cap, &a, buf, &len);
	ck_assert_int_eq(a.n, n);
	r->n = n;
	for (int i = 0; i < n; i++) {
		r->counts[i].type = types[i];
		r->counts[i].c = a.c[i];
		r->counts[i].p = a.p[i];
	}
}

START_TEST(test_verdict)
{
	static const uint8_t t9[] = {1, 2, 3, 5, 7, 8, 9, 10, 11};
	static const uint8_t t8[] = {1, 2, 3, 7, 8, 9, 10, 11};
	struct drp_dcc_tholds many = {DRP_DCC_TGTS_TOO_MANY, DRP_DCC_TGTS_TOO_MANY,
	                              DRP_DCC_TGTS_TOO_MANY};
	struct drp_dcc_tholds never = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
	struct drp_dcc_tholds one = {1, UINT32_MAX, UINT32_MAX};
	struct drp_dcc_result r;
	char m[160];

	/* #14: Body/Fuz1/Fuz2 "many" after a -t many report */
	fill_result(&r, "#14", t9, 9);
	drp_dcc_verdict(&r, &many);
	ck_assert_int_eq(r.action, DRP_DCC_ACT_REJECT);
	ck_assert(r.have_bulk);
	ck_assert_uint_eq(r.bulk, DRP_DCC_TGTS_TOO_MANY);
	drp_dcc_metrics(&r, m, sizeof(m));
	/* the X-DCC header dccproc printed for such an answer */
	ck_assert_str_eq(m, "bulk Body=many Fuz1=many Fuz2=many");
	drp_dcc_verdict(&r, &never);
	ck_assert_int_eq(r.action, DRP_DCC_ACT_ACCEPT);
	ck_assert_uint_eq(r.bulk, DRP_DCC_TGTS_TOO_MANY);

	/* #10: counts of 1 */
	fill_result(&r, "#10", t8, 8);
	drp_dcc_verdict(&r, &many);
	ck_assert_int_eq(r.action, DRP_DCC_ACT_ACCEPT);
	ck_assert_uint_eq(r.bulk, 1);
	drp_dcc_metrics(&r, m, sizeof(m));
	ck_assert_str_eq(m, "Body=1 Fuz1=1 Fuz2=1");
	drp_dcc_verdict(&r, &one);
	ck_assert_int_eq(r.action, DRP_DCC_ACT_REJECT);

	/* #6: nothing counted yet, still a number */
	fill_result(&r, "#6", t9, 9);
	drp_dcc_verdict(&r, &one);
	ck_assert_int_eq(r.action, DRP_DCC_ACT_ACCEPT);
	ck_assert(r.have_bulk);
	ck_assert_uint_eq(r.bulk, 0);

	/* a server whitelist on From overrides bulk; two ok2 do too */
	fill_result(&r, "#14", t9, 9);
	r.counts[2].c = DRP_DCC_TGTS_OK;
	drp_dcc_verdict(&r, &many);
	ck_assert(r.whitelisted);
	ck_assert_int_eq(r.action, DRP_DCC_ACT_ACCEPT);
	r.counts[2].c = DRP_DCC_TGTS_OK2;
	drp_dcc_verdict(&r, &many);
	ck_assert(!r.whitelisted);
	ck_assert_int_eq(r.action, DRP_DCC_ACT_REJECT);
	r.counts[0].c = DRP_DCC_TGTS_OK2;
	drp_dcc_verdict(&r, &many);
	ck_assert(r.whitelisted);
	ck_assert_int_eq(r.action, DRP_DCC_ACT_ACCEPT);
}
END_TEST

START_TEST(test_host_num)
{
	/* packets.txt h = 0x7f016d: host "vm" whose gethostid() is that of
	 * 127.0.0.1 (0x007f0100) */
	ck_assert_uint_eq(drp_dcc_host_num(0x007f0100L, "vm"), 0x7f016d);
	ck_assert_uint_eq(drp_dcc_host_num(0, ""), 1);
	/* 8-bit host name bytes count as signed chars, as in the reference */
	ck_assert_uint_eq(drp_dcc_host_num(1000, "a\xff"), 999);
}
END_TEST

static int decode_hex(const char *hex, struct drp_dcc_answer *a, char *err, size_t errlen)
{
	uint8_t buf[1024];
	size_t n = unhex(hex, buf, sizeof(buf));

	return drp_dcc_decode(buf, n, a, err, errlen);
}

START_TEST(test_malformed_answers)
{
	uint8_t ans[DRP_DCC_MAX_ANSWER], bad[DRP_DCC_MAX_ANSWER + 64];
	struct drp_dcc_answer a;
	char err[160];
	size_t n;

	decode_cap("#14", &a, ans, &n);
	/* too short to be a DCC datagram */
	ck_assert_int_eq(drp_dcc_decode(ans, 39, &a, err, sizeof(err)), -1);
	ck_assert(strstr(err, "short") != NULL);
	ck_assert_int_eq(drp_dcc_decode(ans, 0, &a, err, sizeof(err)), -1);
	/* length field and datagram disagree */
	ck_assert_int_eq(drp_dcc_decode(ans, n - 8, &a, err, sizeof(err)), -1);
	ck_assert(strstr(err, "length") != NULL);
	memcpy(bad, ans, n);
	bad[1] += 8;
	memset(bad + n, 0, 8);
	ck_assert_int_eq(drp_dcc_decode(bad, n, &a, err, sizeof(err)), -1);
	/* versions outside 4..12 */
	memcpy(bad, ans, n);
	bad[2] = 13;
	ck_assert_int_eq(drp_dcc_decode(bad, n, &a, err, sizeof(err)), -1);
	bad[2] = 3;
	ck_assert_int_eq(drp_dcc_decode(bad, n, &a, err, sizeof(err)), -1);
	bad[2] = 4;
	ck_assert_int_eq(drp_dcc_decode(bad, n, &a, err, sizeof(err)), 0);
	/* an ANSWER whose counts are not whole pairs */
	memcpy(bad, ans, n);
	bad[1] = (uint8_t)(n - 4);
	memmove(bad + n - 20, bad + n - 16, 16);
	ck_assert_int_eq(drp_dcc_decode(bad, n - 4, &a, err, sizeof(err)), -1);
	/* more pairs than a request can have checksums */
	{
		size_t big = 40 + 8 * (DRP_DCC_PKT_MAX_CKS + 1);

		memset(bad, 0, big);
		bad[0] = (uint8_t)(big >> 8);
		bad[1] = (uint8_t)big;
		bad[2] = 12;
		bad[3] = DRP_DCC_OP_ANSWER;
		ck_assert_int_eq(drp_dcc_decode(bad, big, &a, err, sizeof(err)), -1);
		big -= 8;
		bad[1] = (uint8_t)big;
		ck_assert_int_eq(drp_dcc_decode(bad, big, &a, err, sizeof(err)), 0);
		ck_assert_int_eq(a.n, DRP_DCC_PKT_MAX_CKS);
	}
	/* an OK of the wrong size */
	ck_assert_int_eq(decode_hex("00300c06000003e9000000000000000000000000000000000c0001c2"
	                            "00000000000000000000000000000000",
	                            &a, err, sizeof(err)),
	                 -1);
	/* ERROR: the message, NUL-terminated, as long as it is */
	ck_assert_int_eq(decode_hex("002e0c07000003e9000000000000000000000000000000006e6f0000"
	                            "000000000000000000000000000000000000",
	                            &a, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(a.errmsg, "no");
	/* an ERROR without a message */
	ck_assert_int_eq(decode_hex("00280c07000003e900000000000000000000000000000000"
	                            "00000000000000000000000000000000",
	                            &a, err, sizeof(err)),
	                 -1);
	/* a request op from a server */
	ck_assert_int_eq(decode_hex("00280c02000003e900000000000000000000000000000000"
	                            "00000000000000000000000000000000",
	                            &a, err, sizeof(err)),
	                 -1);
	ck_assert(strstr(err, "op") != NULL);
	/* matching: a different r, p or h is someone else's answer */
	{
		struct drp_dcc_opnums on = a.on;

		decode_cap("#14", &a, ans, &n);
		on = a.on;
		ck_assert(drp_dcc_matches(&a, &on));
		on.t++;
		ck_assert(drp_dcc_matches(&a, &on));
		on.r++;
		ck_assert(!drp_dcc_matches(&a, &on));
		on.r--;
		on.p++;
		ck_assert(!drp_dcc_matches(&a, &on));
		on.p--;
		on.h++;
		ck_assert(!drp_dcc_matches(&a, &on));
	}
}
END_TEST

START_TEST(test_build_refusals)
{
	struct drp_dcc_sum cks[DRP_DCC_PKT_MAX_CKS + 1];
	struct drp_dcc_opnums on = {1, 2, 3, 1};
	struct drp_dcc_cred cr;
	uint8_t out[DRP_DCC_MAX_PKT + 64];
	char err[160];

	memset(cks, 0, sizeof(cks));
	ck_assert_int_eq(drp_dcc_cred_set(&cr, 1, NULL, err, sizeof(err)), 0);
	cks[0].type = 7;
	cks[1].type = 7;
	/* duplicates and disorder are dropped silently by dccd: refuse them */
	ck_assert_int_eq(drp_dcc_build(DRP_DCC_OP_QUERY, &cr, &on, 0, cks, 2, out, sizeof(out), err,
	                               sizeof(err)),
	                 -1);
	cks[1].type = 6;
	ck_assert_int_eq(drp_dcc_build(DRP_DCC_OP_QUERY, &cr, &on, 0, cks, 2, out, sizeof(out), err,
	                               sizeof(err)),
	                 -1);
	cks[0].type = 12; /* server-ID: server only */
	ck_assert_int_eq(drp_dcc_build(DRP_DCC_OP_QUERY, &cr, &on, 0, cks, 1, out, sizeof(out), err,
	                               sizeof(err)),
	                 -1);
	cks[0].type = 13; /* env_To: never sent by dccproc */
	ck_assert_int_eq(drp_dcc_build(DRP_DCC_OP_QUERY, &cr, &on, 0, cks, 1, out, sizeof(out), err,
	                               sizeof(err)),
	                 -1);
	for (int i = 0; i < DRP_DCC_PKT_MAX_CKS + 1; i++)
		cks[i].type = (uint8_t)(i + 1);
	ck_assert_int_eq(drp_dcc_build(DRP_DCC_OP_QUERY, &cr, &on, 0, cks, DRP_DCC_PKT_MAX_CKS + 1,
	                               out, sizeof(out), err, sizeof(err)),
	                 -1);
	ck_assert_int_eq(
	    drp_dcc_build(DRP_DCC_OP_QUERY, &cr, &on, 0, cks, 11, out, 100, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_build(DRP_DCC_OP_QUERY, &cr, &on, 0, cks, 11, out, sizeof(out),
	                               err, sizeof(err)),
	                 44 + 18 * 11);
	ck_assert_int_eq(drp_dcc_build(DRP_DCC_OP_ANSWER, &cr, &on, 0, cks, 1, out, sizeof(out),
	                               err, sizeof(err)),
	                 -1);
	/* credentials: anonymous needs none; others need 1..32 bytes, no blanks */
	ck_assert_int_eq(drp_dcc_cred_set(&cr, 32768, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_cred_set(&cr, 32768, "has blank", err, sizeof(err)), -1);
	ck_assert_int_eq(
	    drp_dcc_cred_set(&cr, 32768, "123456789012345678901234567890123", err, sizeof(err)),
	    -1);
	ck_assert_int_eq(
	    drp_dcc_cred_set(&cr, 32768, "12345678901234567890123456789012", err, sizeof(err)), 0);
	ck_assert_int_eq(drp_dcc_cred_set(&cr, 0, "x", err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_cred_set(&cr, 16777216, "x", err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_cred_set(&cr, 1, "ignored", err, sizeof(err)), 0);
	ck_assert_uint_eq(cr.pwlen, 0);
}
END_TEST

START_TEST(test_counts_text)
{
	char b[32];
	uint32_t v;

	drp_dcc_tgts_str(DRP_DCC_TGTS_TOO_MANY, b, sizeof(b));
	ck_assert_str_eq(b, "many");
	drp_dcc_tgts_str(DRP_DCC_TGTS_OK, b, sizeof(b));
	ck_assert_str_eq(b, "ok");
	drp_dcc_tgts_str(DRP_DCC_TGTS_OK2, b, sizeof(b));
	ck_assert_str_eq(b, "ok2");
	drp_dcc_tgts_str(DRP_DCC_TGTS_INVALID, b, sizeof(b));
	ck_assert_str_eq(b, "-");
	drp_dcc_tgts_str(42, b, sizeof(b));
	ck_assert_str_eq(b, "42");
	ck_assert_int_eq(drp_dcc_parse_thold("MANY", &v), 0);
	ck_assert_uint_eq(v, DRP_DCC_TGTS_TOO_MANY);
	ck_assert_int_eq(drp_dcc_parse_thold("never", &v), 0);
	ck_assert_uint_eq(v, UINT32_MAX);
	ck_assert_int_eq(drp_dcc_parse_thold(" 25 ", &v), 0);
	ck_assert_uint_eq(v, 25);
	ck_assert_int_eq(drp_dcc_parse_thold("0", &v), -1);
	ck_assert_int_eq(drp_dcc_parse_thold("25x", &v), -1);
	ck_assert_int_eq(drp_dcc_parse_thold("-3", &v), -1);
	ck_assert_int_eq(drp_dcc_parse_thold("99999999", &v), -1);
	ck_assert_int_eq(drp_dcc_parse_thold("", &v), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dcc_pkt");
	TCase *tc = tcase_create("pkt");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_build_every_request);
	tcase_add_test(tc, test_decode_every_answer);
	tcase_add_test(tc, test_answer_counts);
	tcase_add_test(tc, test_verdict);
	tcase_add_test(tc, test_host_num);
	tcase_add_test(tc, test_malformed_answers);
	tcase_add_test(tc, test_build_refusals);
	tcase_add_test(tc, test_counts_text);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
