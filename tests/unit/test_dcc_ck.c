/*
 * Unit tests: dcc_ck, the dccproc checksums.  Expected values come from
 * the rules of ../shared/docs/dcc-protocol.md §8-§11 (the test builds the
 * string the rule says is hashed and MD5s it itself), from the digests the
 * protocol notes quote, from data/dcc (the dictionaries, read here
 * independently of the generated tables), and, for the copyable
 * tests/data/gdcc_* messages, from the reference dccproc 2.3.167 output in
 * ../shared/vectors/dcc/checksums.tsv (embedded below).
 */
#include <check.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dcc_ck.h"
#include "dcc_ck_int.h"

static void md5hex(const void *p, size_t n, char out[33])
{
	uint8_t d[16];
	unsigned len = 16;

	ck_assert(EVP_Digest(p, n, d, &len, EVP_md5(), NULL) == 1);
	drp_hex(d, 16, out);
}

static const char *md5s(const char *s)
{
	static char hex[33];

	md5hex(s, strlen(s), hex);
	return hex;
}

struct result {
	int rc;
	char err[256];
	struct drp_dcc_cks cks;
};

static struct result R;

static int run_n(const char *msg, size_t len, const struct drp_envelope *env,
                 const struct drp_dcc_ck_opts *opts)
{
	memset(&R, 0, sizeof(R));
	R.rc =
	    drp_dcc_checksums((const uint8_t *)msg, len, env, opts, &R.cks, R.err, sizeof(R.err));
	return R.rc;
}

static int run(const char *msg, const struct drp_envelope *env, const struct drp_dcc_ck_opts *opts)
{
	return run_n(msg, strlen(msg), env, opts);
}

/* hex of the n-th checksum of a type (by label), NULL if absent */
static const char *get(const char *label)
{
	static char hex[33];
	char lab[64];

	for (int i = 0; i < R.cks.n; i++) {
		if (strcmp(drp_dcc_ck_label(&R.cks.ck[i], lab, sizeof(lab)), label) == 0) {
			drp_hex(R.cks.ck[i].sum, 16, hex);
			return hex;
		}
	}
	return NULL;
}

static int reported(const char *label)
{
	char lab[64];

	for (int i = 0; i < R.cks.n; i++)
		if (strcmp(drp_dcc_ck_label(&R.cks.ck[i], lab, sizeof(lab)), label) == 0)
			return R.cks.ck[i].report;
	return -1;
}

static void expect(const char *label, const char *want)
{
	const char *got = get(label);

	ck_assert_msg(got != NULL, "%s absent", label);
	ck_assert_msg(strcmp(got, want) == 0, "%s: got %s want %s", label, got, want);
}

static void expect_absent(const char *label)
{
	ck_assert_msg(get(label) == NULL, "%s present", label);
}

#define BODY30 "this line has plenty of letters to pass the thirty char minimum\n"

/* --- 8.2 normalisation --- */

START_TEST(test_header_normalise)
{
	ck_assert_int_eq(run("From: Carol <carol@example.org>\n\n" BODY30, NULL, NULL), DRP_DCC_OK);
	expect("From", md5s("carolcarol@example.org"));
	ck_assert(strncmp(get("From"), "25d86856", 8) == 0); /* quoted by the notes */

	/* quotes, commas, blanks and <> go; case folds; trailing dots go */
	run("from: \"Big, Sender\"\n\t<Big@Example.COM.>..\n\n" BODY30, NULL, NULL);
	expect("From", md5s("bigsenderbig@example.com"));
	/* no RFC 2047 decoding, 8-bit bytes kept as they are */
	run("From: =?utf-8?q?J=C3=B6rg?= \xe9t\xc9 <j@x>\n\n" BODY30, NULL, NULL);
	expect("From", md5s("=?utf-8?q?j=c3=b6rg?=\xe9t\xc9j@x"));
	/* the last From: wins */
	run("From: a@x\nFrom: b@x\n\n" BODY30, NULL, NULL);
	expect("From", md5s("b@x"));
}
END_TEST

START_TEST(test_message_id_received)
{
	run("From: a@x\n\n" BODY30, NULL, NULL);
	expect("Message-ID", "d41d8cd98f00b204e9800998ecf8427e");
	ck_assert_int_eq(reported("Message-ID"), 0); /* missing: shown, not sent */
	run("Message-ID:\n\n" BODY30, NULL, NULL);
	expect("Message-ID", "d41d8cd98f00b204e9800998ecf8427e");
	ck_assert_int_eq(reported("Message-ID"), 1); /* empty: sent */
	run("Message-Id: <ABC.def@Host>\n\n" BODY30, NULL, NULL);
	expect("Message-ID", md5s("abc.def@host"));
	expect_absent("Received");

	/* the last Received: (the earliest hop) is the checksum */
	run("Received: from a by b; 1 Jan\nReceived: from C\n  by D; 2 Jan\n\n" BODY30, NULL, NULL);
	expect("Received", md5s("fromcbyd;2jan"));
}
END_TEST

START_TEST(test_client_ip)
{
	struct drp_envelope env = {0};
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	char hex[33];

	env.client_ip = "192.0.2.7";
	ck_assert_int_eq(run("From: a@x\n\n" BODY30, &env, NULL), DRP_DCC_OK);
	expect("IP", "bb1027c0791faac6194840a772f73220");
	expect("rep-total", "bb1027c0791faac6194840a772f73220");
	expect("rep", "bb1027c0791faac6194840a772f73220");
	ck_assert_int_eq(reported("IP"), 1);

	env.client_ip = "2001:db8::1";
	run("From: a@x\n\n" BODY30, &env, NULL);
	md5hex(v6, 16, hex);
	expect("IP", hex);

	env.client_ip = "0.0.0.0"; /* SpamAssassin's "unknown": ignored */
	run("From: a@x\n\n" BODY30, &env, NULL);
	expect_absent("IP");

	env.client_ip = "not-an-address";
	ck_assert_int_eq(run("From: a@x\n\n" BODY30, &env, NULL), DRP_DCC_ERROR);
	ck_assert_int_eq(R.cks.n, 0);
}
END_TEST

static const char *ipv4_md5(int a, int b, int c, int d)
{
	static char hex[33];
	uint8_t v[16] = {[10] = 0xff,       [11] = 0xff,       [12] = (uint8_t)a,
	                 [13] = (uint8_t)b, [14] = (uint8_t)c, [15] = (uint8_t)d};

	md5hex(v, 16, hex);
	return hex;
}

START_TEST(test_ip_from_received)
{
	struct drp_envelope env = {.ip_from_received = 1};

	/* Postfix pickup and qmail hops are looked past; form #1 gives the IP */
	run("Received: by mail.example.com (Postfix) id 1\n"
	    "Received: (qmail 123 invoked from network); 1 Jan\n"
	    "Received: from mx.example.org (mx.example.org [192.0.2.32])\n"
	    "\tby mail.example.com (Postfix) with ESMTPS id 2\n"
	    "Received: from x ([198.51.100.9]) by y\n\n" BODY30,
	    &env, NULL);
	expect("IP", ipv4_md5(192, 0, 2, 32));
	expect("rep", ipv4_md5(192, 0, 2, 32));

	/* a hop not understood stops the search: no IP at all */
	run("Received: from somewhere by here\nReceived: from a ([192.0.2.1]) by b\n\n" BODY30,
	    &env, NULL);
	expect_absent("IP");

	/* qmail form #4 and a HELO that looks like an address */
	run("Received: from host (HELO helo.example) (192.0.2.44)\n  by q\n\n" BODY30, &env, NULL);
	expect("IP", ipv4_md5(192, 0, 2, 44));
	run("Received: from [10.0.0.1] (unknown [IPv6:2001:db8::5]) by x\n\n" BODY30, &env, NULL);
	{
		uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 5};
		char hex[33];

		md5hex(v6, 16, hex);
		expect("IP", hex);
	}

	/* an explicit client address wins over -R */
	env.client_ip = "192.0.2.7";
	run("Received: from a (b [192.0.2.1]) by c\n\n" BODY30, &env, NULL);
	expect("IP", "bb1027c0791faac6194840a772f73220");
}
END_TEST

START_TEST(test_env_from)
{
	struct drp_envelope env = {0};

	env.env_from = "<sender@example.com>";
	run("From: a@x\nReturn-Path: <other@x>\n\n" BODY30, &env, NULL);
	expect("env_From", md5s("sender@example.com"));

	/* without -f: a leading "From " line, else the first Return-Path: */
	run("From sender@example.com Mon Jan  1 00:00:00 2026\nFrom: a@x\n\n" BODY30, NULL, NULL);
	expect("env_From", md5s("sender@example.com"));
	run("From: a@x\nReturn-Path: <First@x>\nReturn-Path: <second@x>\n\n" BODY30, NULL, NULL);
	expect("env_From", md5s("first@x"));
	run("From: a@x\n\n" BODY30, NULL, NULL);
	expect_absent("env_From");

	/* env_To is dccm's; never reported by dccproc */
	env.env_rcpt[0] = "<Rcpt@Example.com>";
	env.n_rcpt = 1;
	run("From: a@x\n\n" BODY30, &env, NULL);
	expect("env_To", md5s("rcpt@example.com"));
	ck_assert_int_eq(reported("env_To"), 0);
}
END_TEST

START_TEST(test_substitute)
{
	struct drp_dcc_ck_opts o = {.substitute = {"Subject", "X-Mailer:", "mail_host"},
	                            .n_substitute = 3};
	struct drp_envelope env = {.env_from = "u@Mail.Example.NET"};
	int i, sub_at = -1, rep_at = -1, xm_at = -1;

	ck_assert_int_eq(
	    run("Subject: test message\nX-Mailer: Foo 1\nsubject: later\n\n" BODY30, &env, &o),
	    DRP_DCC_OK);
	/* the last instance of a header wins */
	expect("substitute subject", md5s("subjectlater"));
	run("Subject: test message\n\n" BODY30, NULL, &o);
	expect("substitute subject", md5s("subjecttestmessage"));
	ck_assert(strncmp(get("substitute subject"), "a30fe716", 8) == 0); /* from the notes */

	/* the first one found takes type 4's place, the others print last */
	run("X-Mailer: Foo 1\nSubject: s\n\n" BODY30, &env, &o);
	expect("substitute x-mailer", md5s("x-mailerfoo1"));
	expect("substitute subject", md5s("subjects"));
	expect("substitute mail_host", md5s("mail_hostmail.example.net"));
	for (i = 0; i < R.cks.n; i++) {
		if (R.cks.ck[i].type == DRP_DCC_CK_SUB && !strcmp(R.cks.ck[i].sub_name, "x-mailer"))
			xm_at = i;
		if (R.cks.ck[i].type == DRP_DCC_CK_SUB && !strcmp(R.cks.ck[i].sub_name, "subject"))
			sub_at = i;
		if (R.cks.ck[i].type == DRP_DCC_CK_REP_TOTAL || R.cks.ck[i].type == DRP_DCC_CK_BODY)
			rep_at = i;
	}
	ck_assert_int_lt(xm_at, rep_at);
	ck_assert_int_gt(sub_at, rep_at);
	ck_assert_int_eq(R.cks.ck[xm_at].report, 1);
	ck_assert_int_eq(R.cks.ck[sub_at].report, 0);

	/* "+name": the first instance */
	o.substitute[0] = "+subject";
	o.n_substitute = 1;
	run("Subject: one\nSubject: two\n\n" BODY30, NULL, &o);
	expect("substitute subject", md5s("subjectone"));

	/* dccproc's 26-byte label */
	o.substitute[0] = "X-Very-Long-Header-Name";
	run("X-Very-Long-Header-Name: v\n\n" BODY30, NULL, &o);
	expect("substitute x-very-long-he", md5s("x-very-long-header-namev"));

	/* HELO: dccproc -E computes it after asking the server: not sent */
	{
		struct drp_envelope e2 = {.helo = "Mail.Example", .ip_from_received = 1};

		o.substitute[0] = "helo";
		run("Subject: s\n\n" BODY30, &e2, &o);
		expect("substitute helo", md5s("helomail.example"));
		ck_assert_int_eq(reported("substitute helo"), 0);
		e2.helo = NULL; /* then the HELO of the Received: -R used */
		run("Received: from helo.example (host [192.0.2.5]) by x\n\n" BODY30, &e2, &o);
		expect("substitute helo", md5s("helohelo.example"));
		expect("IP", ipv4_md5(192, 0, 2, 5));
	}

	o.substitute[0] = "Bad Name";
	ck_assert_int_eq(run("Subject: x\n\n" BODY30, NULL, &o), DRP_DCC_ERROR);
	o.substitute[0] = ":";
	ck_assert_int_eq(run("Subject: x\n\n" BODY30, NULL, &o), DRP_DCC_ERROR);
}
END_TEST

START_TEST(test_refusals)
{
	struct drp_envelope env = {.client_ip = "192.0.2.7"};

	ck_assert_int_eq(run("From: a@x\nSubject: no body\n", &env, NULL), DRP_DCC_REFUSED);
	ck_assert_str_eq(R.err, "missing message body");
	ck_assert_int_eq(R.cks.n, 0);
	ck_assert_int_eq(run("", NULL, NULL), DRP_DCC_REFUSED);
	ck_assert_str_eq(R.err, "missing message body");
	ck_assert_int_eq(run("\n" BODY30, &env, NULL), DRP_DCC_REFUSED);
	ck_assert_str_eq(R.err, "missing SMTP header lines");
	ck_assert_int_eq(R.cks.n, 0);
	ck_assert_int_eq(run("no header here\n\n" BODY30, NULL, NULL), DRP_DCC_REFUSED);
	ck_assert_str_eq(R.err, "missing SMTP header lines");
	/* a CRLF blank line ends the header too; an empty body is fine */
	ck_assert_int_eq(run("Subject: x\r\n\r\n", NULL, NULL), DRP_DCC_OK);
}
END_TEST

START_TEST(test_long_and_nul_fields)
{
	struct drp_dcc_ck_opts o = {.substitute = {"Subject"}, .n_substitute = 1};
	char *msg = malloc(8192), *want = malloc(8192);
	size_t n = 0, w = 0, i;

	/* one 3000-byte line: bytes 1024 and 1025 of the field become CRLF */
	n = (size_t)sprintf(msg, "Subject: ");
	for (i = 0; i < 3000; i++)
		msg[n++] = (char)('a' + i % 26);
	memcpy(msg + n, "\n\n" BODY30, sizeof("\n\n" BODY30));
	memcpy(want, "subject", 7);
	w = 7;
	for (i = 9; i < 9 + 3000 && w < 7 + 1024; i++)
		if (i != 1024 && i != 1025)
			want[w++] = msg[i];
	md5hex(want, w, want + 4096);
	run(msg, NULL, &o);
	expect("substitute subject", want + 4096);

	/* a continuation after a fold shows only the pieces read after it */
	n = (size_t)sprintf(msg, "Subject: ");
	for (i = 0; i < 2100; i++)
		msg[n++] = (char)('a' + i % 26);
	n += (size_t)sprintf(msg + n, "\n more\n\n" BODY30);
	memcpy(want, "subject", 7);
	memcpy(want + 7, msg + 9, 1024 - 9);
	memcpy(want + 7 + 1024 - 9, "more", 4);
	md5hex(want, 7 + 1024 - 9 + 4, want + 4096);
	run(msg, NULL, &o);
	expect("substitute subject", want + 4096);

	/* a NUL ends what a field shows (fgets + strlen) */
	run_n("Subject: ab\0cd\n\n" BODY30, sizeof("Subject: ab\0cd\n\n" BODY30) - 1, NULL, &o);
	expect("substitute subject", md5s("subjectab"));
	free(msg);
	free(want);
}
END_TEST

/* --- 9.1 Body --- */

START_TEST(test_body)
{
	/* blanks, CR and '=' are dropped; the '>' of "\n>From" too */
	run("Subject: x\n\n" BODY30, NULL, NULL);
	expect("Body", md5s("thislinehasplentyoflettersto"
	                    "passthethirtycharminimum"));
	ck_assert(strncmp(get("Body"), "32265a1d", 8) == 0); /* from the notes */
	run("Subject: x\n\n>From here\r\n>Fro there= a=b\n>From\n" BODY30, NULL, NULL);
	expect("Body", md5s("Fromhere>FrothereabFrom"
	                    "thislinehasplentyoflettersto"
	                    "passthethirtycharminimum"));
}
END_TEST

START_TEST(test_body_min)
{
	/* 29 hashed bytes: no Body, no Fuz1; 30: both */
	run("Subject: x\n\nabcdefghij abcdefghij abcdefghi\n", NULL, NULL);
	expect_absent("Body");
	expect_absent("Fuz1");
	run("Subject: x\n\nabcdefghij abcdefghij abcdefghij\n", NULL, NULL);
	expect("Body", md5s("abcdefghijabcdefghijabcdefghij"));
	expect("Fuz1", md5s("abcdefghijabcdefghijabcdefghij"));
	/* fewer than 8 dictionary words: no Fuz2 */
	expect_absent("Fuz2");
}
END_TEST

START_TEST(test_walker)
{
	/* the line right after a boundary line is never tested as one: here
	 * "--b--" is a part header, the blank line starts the part's text */
	run("Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n--b--\n\n"
	    "these letters are part of the text after all\n",
	    NULL, NULL);
	expect("Body", md5s("--b--b--theselettersarepartofthetextafterall"));
	expect("Fuz1", md5s("theselettersarepartofthetextafterall"));

	/* after the outer closing boundary everything is epilogue: raw to
	 * Body, a line end to the fuzzy checksums */
	run("Subject: x\nContent-Type: multipart/mixed; boundary=\"b\"\n\npreamble\n--b\n"
	    "Content-Type: text/plain\n\nthese letters are part of the text after all\n"
	    "--b--\nan epilogue with many letters that fuz1 never sees\n",
	    NULL, NULL);
	expect("Body", md5s("preamble--bContent-Type:text/plain"
	                    "theselettersarepartofthetextafterall--b--"
	                    "anepiloguewithmanylettersthatfuz1neversees"));
	expect("Fuz1", md5s("theselettersarepartofthetextafterall"));

	/* a part header split by dccproc's 20480-byte read inside "multipart"
	 * is taken for text/...: the inner "--c" lines are then text */
	{
		const char *head = "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n";
		const char *tail =
		    "ipart/alternative; boundary=c\n\n--c\nContent-Type: text/plain\n"
		    "\nthese inner letters are plain text now\n--c--\n--b--\n";
		size_t hl = strlen(head), pad = 20480 - 30, n = 0;
		char *m = malloc(hl + 20480 + strlen(tail) + 1);

		memcpy(m, head, hl);
		n = hl;
		n += (size_t)sprintf(m + n, "--b\nX-Pad: ");
		memset(m + n, 'a', pad);
		n += pad;
		n += (size_t)sprintf(m + n, "\nContent-Type: mult");
		ck_assert_uint_eq(n - hl, 20480);
		n += (size_t)sprintf(m + n, "%s", tail);
		run_n(m, n, NULL, NULL);
		expect("Fuz1", md5s("ccontenttypetextplaintheseinnerlettersareplaintextnowc"));
		free(m);
	}

	/* a binary part reaches Body and Fuz1 decoded, not Fuz2 */
	run("Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
	    "dGhlIGhvdXNlIGlzIHZlcnkgYmlnIGFuZCB0aGUgZ2FyZGVuIGlzIG5pY2UgYW5kIHRoZSBkb2cgc2xl\n"
	    "ZXBz\n--b--\n",
	    NULL, NULL);
	expect("Body",
	       md5s("--bContent-Type:application/octet-streamContent-Transfer-Encoding:base64"
	            "thehouseisverybigandthegardenisniceandthedogsleeps--b--"));
	expect("Fuz1", md5s("thehouseisverybigandthegardenisniceandthedogsleeps"));
	expect_absent("Fuz2");
}
END_TEST

/* --- 9.4 / 9.5 decoders --- */

static size_t qp(struct drp_dcc_state *s, const char *in, uint8_t *out, size_t outlen)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t n = strlen(in), r = 0;

	while (n != 0)
		r += drp_dcc_qp_decode(s, &p, &n, out + r, outlen - r);
	return r;
}

START_TEST(test_qp)
{
	struct drp_dcc_state s;
	uint8_t out[256];
	size_t n;

	memset(&s, 0, sizeof(s));
	n = qp(&s, "=41=\nB=\r\nC=ZD=4x=a=41", out, sizeof(out));
	/* "=Z" and "=4x" come out as they are; in "=a=41" the second '='
	 * is output as a failed escape's byte, not examined again */
	ck_assert_int_eq((int)n, 14);
	ck_assert(memcmp(out, "ABC=ZD=4x=a=41", 14) == 0);
	memset(&s, 0, sizeof(s));
	n = qp(&s, "=A=41.", out, sizeof(out));
	ck_assert_int_eq((int)n, 6);
	ck_assert(memcmp(out, "=A=41.", 6) == 0);
	memset(&s, 0, sizeof(s));
	n = qp(&s, "x=\ryz", out, sizeof(out));
	ck_assert_int_eq((int)n, 5);
	ck_assert(memcmp(out, "x=\ryz", 5) == 0);
	/* bytes owed by a failed escape are lost when the input ends */
	memset(&s, 0, sizeof(s));
	n = qp(&s, "x=\ry", out, sizeof(out));
	ck_assert_int_eq((int)n, 2);
	ck_assert(memcmp(out, "x=", 2) == 0);
}
END_TEST

START_TEST(test_b64)
{
	struct drp_dcc_state s;
	const uint8_t *p;
	size_t n, r;
	uint8_t out[64];

	memset(&s, 0, sizeof(s));
	p = (const uint8_t *)"QU\nJ\xff"
	                     "D-";
	n = 7;
	r = drp_dcc_b64_decode(&s, &p, &n, out, sizeof(out));
	ck_assert_int_eq((int)r, 3);
	ck_assert(memcmp(out, "ABC", 3) == 0);
	/* after "QQ==" the '=' are sextets: later data decodes shifted */
	memset(&s, 0, sizeof(s));
	p = (const uint8_t *)"QQ==QUJD";
	n = 8;
	r = drp_dcc_b64_decode(&s, &p, &n, out, sizeof(out));
	ck_assert_int_eq((int)r, 4);
	ck_assert(memcmp(out, "A\x05\x05\x09", 4) == 0);
}
END_TEST

/* --- 9.7 character references --- */

static int cref(const char *in, uint8_t *res)
{
	struct dcc_cref c = {0};
	int r = DCC_CREF_MORE;

	for (const char *p = in; *p && r == DCC_CREF_MORE; p++)
		r = drp_dcc_cref(&c, (uint8_t)*p);
	*res = c.result;
	return r;
}

START_TEST(test_cref)
{
	uint8_t b;

	ck_assert_int_eq(cref("&gt;", &b), DCC_CREF_DONE);
	ck_assert_int_eq(b, '>');
	/* the reference's table has no "amp": unknown names give 0 */
	ck_assert_int_eq(cref("&amp;", &b), DCC_CREF_DONE);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(cref("&eacute ", &b), DCC_CREF_REREAD);
	ck_assert_int_eq(b, 0xe9);
	ck_assert_int_eq(cref("&nosuch;", &b), DCC_CREF_DONE);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(cref("&#65;", &b), DCC_CREF_DONE);
	ck_assert_int_eq(b, 'A');
	ck_assert_int_eq(cref("&#x4a;", &b), DCC_CREF_DONE);
	ck_assert_int_eq(b, 'J');
	ck_assert_int_eq(cref("&#9999x", &b), DCC_CREF_REREAD);
	ck_assert_int_eq(b, 255);
	ck_assert_int_eq(cref("&#;", &b), DCC_CREF_REREAD);
	ck_assert_int_eq(b, '#');
	/* "& x": the byte after '&' is swallowed, the reference never ends */
	ck_assert_int_eq(cref("& x", &b), DCC_CREF_MORE);
}
END_TEST

/* --- 10 Fuz1 --- */

START_TEST(test_fuz1)
{
	/* the notes' example: hosts cut to their last two labels */
	run("From: spammer@bad.example\nSubject: buy now\n\n"
	    "Great deals here visit http://www.shop.example.com/cheap/pills today.\n"
	    "Also see https://deals.example.org and email us anytime soon friend.\n",
	    NULL, NULL);
	expect("Fuz1", md5s("greatdealsherevisithttpexamplecomtodayalsoseehttpsexampleorgand"
	                    "emailusanytimesoonfriend"));
	ck_assert(strncmp(get("Fuz1"), "296c5c33", 8) == 0);

	/* the first line of a plain body is kept even if it greets... */
	run("Subject: x\n\nDear friend\nthis is a message body with many letters\nDear you all\n",
	    NULL, NULL);
	expect("Fuz1", md5s("dearfriendthisisamessagebodywithmanyletters"));
	/* ...a part's first line is not: the part headers set the line mark */
	run("Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/plain\n\nHello there\nthis is a message body with many letters\n"
	    "--b--\n",
	    NULL, NULL);
	expect("Fuz1", md5s("thisisamessagebodywithmanyletters"));
}
END_TEST

/* --- 11 Fuz2: an oracle from the word lists in data/dcc --- */

struct wordset {
	char *buf;
	size_t len;
};

static struct wordset lists[4];
static const char *const list_names[4] = {"english", "spanish", "polish", "dutch"};

static void load_lists(void)
{
	const char *root = getenv("ROOT") ? getenv("ROOT") : ".";

	for (int i = 0; i < 4; i++) {
		char path[512];
		FILE *f;
		long n;

		if (lists[i].buf)
			continue;
		snprintf(path, sizeof(path), "%s/data/dcc/fuz2-words-%s.txt", root, list_names[i]);
		f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "%s", path);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		lists[i].buf = malloc((size_t)n + 2);
		lists[i].buf[0] = '\n';
		ck_assert(fread(lists[i].buf + 1, 1, (size_t)n, f) == (size_t)n);
		lists[i].buf[n + 1] = '\0';
		lists[i].len = (size_t)n + 1;
		fclose(f);
	}
}

static int in_list(int l, const char *w, size_t n)
{
	char pat[32];

	snprintf(pat, sizeof(pat), "\n%.*s\n", (int)n, w);
	return strstr(lists[l].buf, pat) != NULL;
}

/* Fuz2 of lowercase words separated by single blanks, by the rule */
static const char *fuz2_oracle(const char *text, int latin2)
{
	static char hex[33];
	char cat[4][4096];
	size_t clen[4] = {0};
	int cnt[4] = {0}, best = 0;

	load_lists();
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, " \n");

		if (n >= 3 && n <= 16)
			for (int l = 0; l < 4; l++)
				if ((l != 2 || latin2) && in_list(l, p, n)) {
					memcpy(cat[l] + clen[l], p, n);
					clen[l] += n;
					cnt[l]++;
				}
		p += n;
		p += strspn(p, " \n");
	}
	for (int l = 1; l < 4; l++)
		if (cnt[l] > cnt[best])
			best = l;
	if (cnt[best] < 8)
		return NULL;
	md5hex(cat[best], clen[best], hex);
	return hex;
}

START_TEST(test_fuz2_languages)
{
	const char *en = "the house is very big and the garden is nice and the dog sleeps "
	                 "under the old tree every day\n";
	const char *es = "la casa del perro tiene mucho sol porque la ciudad es muy grande y "
	                 "tiene muchas calles\n";
	const char *nl = "het huis van die oude man staat aan de gracht en de tuin is groen "
	                 "met veel bloemen\n";
	const char *pl = "to jest bardzo du\xbf"
	                 "y dom kt\xf3ry stoi przy drodze a w ogrodzie "
	                 "s\xb1 pi\xeak"
	                 "ne kwiaty i drzewa\n";
	char msg[1024];

	snprintf(msg, sizeof(msg), "Subject: x\n\n%s", en);
	run(msg, NULL, NULL);
	ck_assert_ptr_nonnull(fuz2_oracle(en, 0));
	expect("Fuz2", fuz2_oracle(en, 0));

	snprintf(msg, sizeof(msg), "Subject: x\n\n%s", es);
	run(msg, NULL, NULL);
	ck_assert_ptr_nonnull(fuz2_oracle(es, 0));
	expect("Fuz2", fuz2_oracle(es, 0));

	snprintf(msg, sizeof(msg), "Subject: x\n\n%s", nl);
	run(msg, NULL, NULL);
	ck_assert_ptr_nonnull(fuz2_oracle(nl, 0));
	expect("Fuz2", fuz2_oracle(nl, 0));

	/* Polish counts only under charset=iso-8859-2 */
	snprintf(msg, sizeof(msg),
	         "Subject: x\nContent-Type: text/plain; charset=\"ISO-8859-2\"\n\n%s", pl);
	run(msg, NULL, NULL);
	ck_assert_ptr_nonnull(fuz2_oracle(pl, 1));
	expect("Fuz2", fuz2_oracle(pl, 1));
	snprintf(msg, sizeof(msg),
	         "Subject: x\nContent-Type: text/plain; charset=iso-8859-22\n\n%s", pl);
	run(msg, NULL, NULL);
	if (fuz2_oracle(pl, 0))
		expect("Fuz2", fuz2_oracle(pl, 0));
	else
		expect_absent("Fuz2");
}
END_TEST

START_TEST(test_fuz2_html_and_hosts)
{
	/* tags are skipped (a tag does not end a word) and counted; with
	 * fewer than 8 words the URL host names make up the difference */
	run("Subject: x\nContent-Type: text/html\n\n<html><body>Hello welcome <b>special</b>\n"
	    "<a href=\"http://www.example.com/x?a=1\">click</a> here</body></html>\n",
	    NULL, NULL);
	{
		const char host[] = "hellowelcomespecialclickhereexample.com";
		char hex[33];

		md5hex(host, sizeof(host) - 1, hex);
		expect("Fuz2", hex);
	}
	/* in HTML text "&amp;" (unknown to the reference: 0, junk) ends up
	 * as a junk word that counts for nothing */
	run("Subject: x\nContent-Type: text/html\n\n<p>the house is very big and the garden is "
	    "nice and the dog sleeps under the old tree every day &amp; night</p>\n",
	    NULL, NULL);
	expect("Fuz2", fuz2_oracle("the house is very big and the garden is nice and the dog "
	                           "sleeps under the old tree every day night",
	                           0));
}
END_TEST

START_TEST(test_fuz2_long_text)
{
	/* past the word record's 1 MiB (4 + 6 record bytes a repetition
	 * here) the words go to per-language MD5s; both ways give MD5 of the
	 * winner's words.  Past DCC_BODY_ACC_MAX kept bytes (8 a repetition)
	 * Body streams instead of being hashed with Fuz2 at the end: the
	 * same digest either way. */
	static const int reps[] = {1000, 150000, 600000};

	for (int r = 0; r < 3; r++) {
		size_t n = (size_t)reps[r];
		char *msg = malloc(16 + 10 * n + 2), *words = malloc(8 * n + 1);
		size_t m = (size_t)sprintf(msg, "Subject: x\n\n");
		char hex[33];

		ck_assert(r < 2 || 8 * n > DCC_BODY_ACC_MAX);
		ck_assert(r == 2 || 8 * n < DCC_BODY_ACC_MAX);
		for (size_t i = 0; i < n; i++) {
			memcpy(msg + m, "the house ", 10);
			m += 10;
			memcpy(words + 8 * i, "thehouse", 8);
		}
		msg[m++] = '\n';
		ck_assert_int_eq(run_n(msg, m, NULL, NULL), DRP_DCC_OK);
		md5hex(words, 8 * n, hex);
		expect("Fuz2", hex);
		/* Body drops blanks and line ends: here the same bytes */
		expect("Body", hex);
		free(msg);
		free(words);
	}
}
END_TEST

static const char en_text[] = "the house is very big and the garden is nice and the dog sleeps "
                              "under the old tree every day\n";

/* Fuz2 over text handed over in pieces of a given size (0: one call) */
static int fuz2_pieces(const char *text, int html, size_t piece, uint8_t sum[16])
{
	struct drp_dcc_state *s = calloc(1, sizeof(*s));
	size_t len = strlen(text);
	int ok;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(drp_dcc_body_init(s, EVP_md5()), 0);
	if (html)
		s->ct = DCC_CT_HTML;
	for (size_t i = 0; i < len; i += piece ? piece : len) {
		size_t n = piece && piece < len - i ? piece : len - i;

		drp_dcc_fuz2(s, (const uint8_t *)text + i, n);
	}
	drp_dcc_fuz2(s, (const uint8_t *)"\n", 1);
	{
		const uint8_t *p = NULL;
		size_t n = 0;
		unsigned sl = 16;

		ok = drp_dcc_fuz2_fin(s, sum, &p, &n);
		/* the stream the caller hashes (with Body's) */
		if (ok == 2) {
			ck_assert(EVP_Digest(p, n, sum, &sl, EVP_md5(), NULL) == 1);
			ok = 1;
		}
	}
	drp_dcc_body_free(s);
	free(s);
	return ok;
}

START_TEST(test_fuz2_pieces)
{
	/* Fuz2 is a byte machine: where the decoder's pieces end (inside a
	 * word, a tag, a reference) must not show in the sum, whichever of
	 * the whole-token and byte-wise paths the piece boundaries hit */
	static const char text[] =
	    "The HOUSE is very big, and the garden (is) nice; the dog sleeps under the old "
	    "tree every day.\tSupercalifragilisticexpialidocious words ARE junk\r\n"
	    "x1y house <b>garden</b> <!-- comment --> house&amp;garden caf&eacute; "
	    "na&#239;ve d&#xE9;j&agrave; vu <a href=\"http://www.example.com/\">click</a> "
	    "\xe9t\xe9 tree h&ouml;use 4x4 the house is big and the garden is nice\n";
	uint8_t one[16], got[16];

	for (int html = 0; html < 2; html++) {
		ck_assert_int_eq(fuz2_pieces(text, html, 0, one), 1);
		for (size_t piece = 1; piece <= 40; piece++) {
			ck_assert_int_eq(fuz2_pieces(text, html, piece, got), 1);
			ck_assert_msg(memcmp(one, got, 16) == 0, "html %d, pieces of %zu", html,
			              piece);
		}
	}
	/* and in one piece the plain text sum is the oracle's */
	ck_assert_int_eq(fuz2_pieces(en_text, 0, 0, one), 1);
	{
		char hex[33];

		drp_hex(one, 16, hex);
		ck_assert_str_eq(hex, fuz2_oracle(en_text, 0));
	}
}
END_TEST

START_TEST(test_b64_pieces)
{
	/* whole quanta take a fast path: however the input is split, the
	 * bytes are those of the byte-at-a-time decoder (with room enough:
	 * where an output piece fills does matter, since a '=' that fills it
	 * is not shifted in, as in the reference) */
	static const char in[] = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\nYWJj\r\nZGVm*Z2hp\n"
	                         "am=tsbW5v\xff"
	                         "cHFyc3R1dnd4eXo\nMDEyMzQ1Njc4OQ==\nQUJD";
	static const size_t rooms[] = {1024};
	uint8_t ref[256], out[256];
	size_t len = sizeof(in) - 1;

	for (size_t r = 0; r < sizeof(rooms) / sizeof(rooms[0]); r++) {
		size_t room = rooms[r], nref = 0;

		for (size_t piece = 1; piece <= len; piece += piece < 16 ? 1 : len) {
			struct drp_dcc_state s;
			size_t nout = 0;

			memset(&s, 0, sizeof(s));
			for (size_t i = 0; i < len; i += piece) {
				const uint8_t *p = (const uint8_t *)in + i;
				size_t n = piece < len - i ? piece : len - i;

				while (n != 0) {
					uint8_t tmp[1024];
					size_t k = drp_dcc_b64_decode(&s, &p, &n, tmp, room);

					ck_assert_uint_le(nout + k, sizeof(out));
					memcpy(out + nout, tmp, k);
					nout += k;
				}
			}
			if (piece == 1) {
				memcpy(ref, out, nout);
				nref = nout;
				ck_assert_uint_ge(nref, 40);
				continue;
			}
			ck_assert_uint_eq(nout, nref);
			ck_assert_msg(memcmp(out, ref, nref) == 0, "pieces %zu room %zu", piece,
			              room);
		}
	}
}
END_TEST

/* --- the generated tables against data/dcc --- */

START_TEST(test_tables)
{
	int checked = 0;

	load_lists();
	for (int l = 0; l < 4; l++) {
		const char *p = lists[l].buf + 1;

		while (*p) {
			size_t n = strcspn(p, "\n");

			ck_assert_msg(drp_dcc_dict_lookup((const uint8_t *)p, n) & (1u << l),
			              "%.*s not in %s", (int)n, p, list_names[l]);
			checked++;
			p += n + (p[n] == '\n');
		}
	}
	ck_assert_int_gt(checked, 30000);
	ck_assert_uint_eq(drp_dcc_dict_lookup((const uint8_t *)"qzxv", 4), 0);
	ck_assert_uint_eq(drp_dcc_dict_lookup((const uint8_t *)"the", 2), 0);
	ck_assert_uint_eq(drp_dcc_cset_latin1['A'], 'a');
	ck_assert_uint_eq(drp_dcc_cset_latin1[' '], DCC_FC_SP);
	ck_assert_uint_eq(drp_dcc_cset_latin1['<'], DCC_FC_LT);
	ck_assert_uint_eq(drp_dcc_cset_latin1[0xc9], 0xe9); /* E acute folds */
	ck_assert_uint_eq(drp_dcc_cset_latin2['Z'], 'z');
}
END_TEST

/* --- golden: reference dccproc on the copyable gdcc fixtures --- */

static const struct {
	const char *file, *body, *fuz1, *fuz2;
} golden[] = {
    {"gdcc_b64_1.eml", "4d29f0e26e76b20a3d337d7af59933ec", "38c8061f682eb7b0680adfdc4fe20516",
     "9e6e6966dd7c69a6fe5099118156e6c1"},
    {"gdcc_dear1.eml", "2914543c984db7a100e24f75a80a577d", "3e545c4f8090729357f8c1faaa3804da",
     "e96ae9ae0b0782ca3505f7ccc47bebd1"},
    {"gdcc_html1.eml", "8594c6a0da95e2b3b8ddd7b525e18956", "d4b15439dfcfc30d95ad64700ea93931",
     "4178dcbc21d9c71eeb48072659ad2c61"},
    {"gdcc_mbox1.eml", "a5de1f457cca9a912ebb569de239a1b5", "066d60fe388b589f14426d981a87af43",
     "85bcead4ea1981cfd7f20a242fcc917d"},
    {"gdcc_multipart1.eml", "1638844526c01dee23aa8b37113d241a", "3cd99b907f09e10a607c2c13fe7526c4",
     "9d2cc017f92456e14f8812783aa0f685"},
    {"gdcc_multipart_qp.eml", "cad57572d29307ee419e4ced86a618eb",
     "edccca95f254e9f35cf89ea097925812", "06fa7579c790d35b24f9994c7f4a2ddf"},
    {"gdcc_qp1.eml", "c2fef0cbe5c9b2bd88e2a2692f89fca6", "91b4b14f239488ae73bcf92e30f49af1",
     "6d52f8f673476ea08dd8f1271bcfa009"},
};

START_TEST(test_golden)
{
	const char *root = getenv("ROOT") ? getenv("ROOT") : ".";
	char path[512];
	static char buf[1 << 20];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/tests/data/%s", root, golden[_i].file);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s", path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_int_eq(run_n(buf, n, NULL, NULL), DRP_DCC_OK);
	expect("Body", golden[_i].body);
	expect("Fuz1", golden[_i].fuz1);
	expect("Fuz2", golden[_i].fuz2);
}
END_TEST

START_TEST(test_context)
{
	/* one context through the golden messages, forwards and backwards,
	 * with a refusal, an error and a text big enough to spill the word
	 * record in between: every message gets the reference's sums */
	const char *root = getenv("ROOT") ? getenv("ROOT") : ".";
	const size_t ng = sizeof(golden) / sizeof(golden[0]);
	struct drp_dcc_ck_ctx *ctx = drp_dcc_ck_ctx_new();
	struct drp_dcc_ck_opts bad = {.substitute = {"bad name"}, .n_substitute = 1};
	static char buf[1 << 20];
	size_t big_n = 150000, m = 0;
	char *big = malloc(16 + 10 * big_n);

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(big);
	m = (size_t)sprintf(big, "Subject: x\n\n");
	for (size_t i = 0; i < big_n; i++, m += 10)
		memcpy(big + m, "the house ", 10);
	for (size_t k = 0; k < 2 * ng; k++) {
		size_t g = k < ng ? k : 2 * ng - 1 - k;
		char path[512];
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/tests/data/%s", root, golden[g].file);
		f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "%s", path);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		memset(&R, 0, sizeof(R));
		R.rc = drp_dcc_checksums_ctx(ctx, (const uint8_t *)buf, n, NULL, NULL, &R.cks,
		                             R.err, sizeof(R.err));
		ck_assert_int_eq(R.rc, DRP_DCC_OK);
		expect("Body", golden[g].body);
		expect("Fuz1", golden[g].fuz1);
		expect("Fuz2", golden[g].fuz2);
		switch (k % 3) {
		case 0:
			R.rc = drp_dcc_checksums_ctx(ctx, (const uint8_t *)"Subject: x\n", 11, NULL,
			                             NULL, &R.cks, R.err, sizeof(R.err));
			ck_assert_int_eq(R.rc, DRP_DCC_REFUSED);
			ck_assert_int_eq(R.cks.n, 0);
			break;
		case 1:
			R.rc = drp_dcc_checksums_ctx(ctx, (const uint8_t *)buf, n, NULL, &bad,
			                             &R.cks, R.err, sizeof(R.err));
			ck_assert_int_eq(R.rc, DRP_DCC_ERROR);
			break;
		default:
			R.rc = drp_dcc_checksums_ctx(ctx, (const uint8_t *)big, m, NULL, NULL,
			                             &R.cks, R.err, sizeof(R.err));
			ck_assert_int_eq(R.rc, DRP_DCC_OK);
			break;
		}
	}
	drp_dcc_ck_ctx_free(ctx);
	free(big);
}
END_TEST

START_TEST(test_names)
{
	static const char *const want[] = {
	    "?",    "IP",   "env_From", "From",      "substitute", "Message-ID", "Received",
	    "Body", "Fuz1", "Fuz2",     "rep-total", "rep",        "server-ID",  "env_To"};

	for (int t = 0; t < 14; t++)
		ck_assert_str_eq(drp_dcc_type_name(t), want[t]);
	ck_assert_str_eq(drp_dcc_type_name(99), "?");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dcc_ck");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_header_normalise);
	tcase_add_test(tc, test_message_id_received);
	tcase_add_test(tc, test_client_ip);
	tcase_add_test(tc, test_ip_from_received);
	tcase_add_test(tc, test_env_from);
	tcase_add_test(tc, test_substitute);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_long_and_nul_fields);
	tcase_add_test(tc, test_body);
	tcase_add_test(tc, test_body_min);
	tcase_add_test(tc, test_walker);
	tcase_add_test(tc, test_qp);
	tcase_add_test(tc, test_b64);
	tcase_add_test(tc, test_cref);
	tcase_add_test(tc, test_fuz1);
	tcase_add_test(tc, test_fuz2_languages);
	tcase_add_test(tc, test_fuz2_html_and_hosts);
	tcase_add_test(tc, test_fuz2_long_text);
	tcase_add_test(tc, test_fuz2_pieces);
	tcase_add_test(tc, test_b64_pieces);
	tcase_add_test(tc, test_tables);
	tcase_add_loop_test(tc, test_golden, 0, (int)(sizeof(golden) / sizeof(golden[0])));
	tcase_add_test(tc, test_context);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
