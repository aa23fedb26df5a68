/* Unit tests: msg, hdr, decode, charset, mime. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "decode.h"
#include "hdr.h"
#include "mime.h"
#include "msg.h"

#define S(lit) ((const uint8_t *)(lit)), (sizeof(lit) - 1)
#define L(lit) DRP_SLICE(lit, sizeof(lit) - 1)

static int buf_is(struct drp_buf *b, const char *lit)
{
	return b->len == strlen(lit) && memcmp(b->p, lit, b->len) == 0;
}

START_TEST(msg_split_lf)
{
	static const char m[] = "Subject: hi\nFrom: a@b\n\nbody\n";
	struct drp_msg v;

	drp_msg_parse(S(m), &v);
	ck_assert_uint_eq(v.header.len, 22);
	ck_assert(v.has_body);
	ck_assert_uint_eq(v.body.len, 5);
	ck_assert(memcmp(v.body.p, "body\n", 5) == 0);
	ck_assert(!v.crlf);
	ck_assert_uint_eq(v.from_line.len, 0);
}
END_TEST

START_TEST(msg_split_crlf_mbox)
{
	static const char m[] = "From x@y Mon Jan  1 00:00:00 2024\r\nA: 1\r\n\r\nb\0dy";
	struct drp_msg v;

	drp_msg_parse(S(m), &v);
	ck_assert(v.crlf);
	ck_assert_uint_eq(v.from_line.len, 33);
	ck_assert_uint_eq(v.header.len, 6);
	ck_assert_uint_eq(v.body.len, 4); /* the NUL is data */
	ck_assert_int_eq(v.body.p[1], 0);
}
END_TEST

START_TEST(msg_no_separator_and_no_header)
{
	struct drp_msg v;

	drp_msg_parse(S("A: 1\nB: 2"), &v);
	ck_assert(!v.has_body);
	ck_assert_uint_eq(v.header.len, 9);
	ck_assert_uint_eq(v.body.len, 0);
	drp_msg_parse(S("just some text\nmore\n"), &v);
	ck_assert(v.has_body);
	ck_assert_uint_eq(v.header.len, 0);
	ck_assert_uint_eq(v.body.len, 20);
	drp_msg_parse((const uint8_t *)"", 0, &v);
	ck_assert_uint_eq(v.body.len + v.header.len, 0);
}
END_TEST

START_TEST(hdr_fold_repeat_case)
{
	static const char h[] = "Received: from a\n\tby b\nSUBJECT: x\nreceived: from c\n"
	                        " \n";
	struct drp_slice blk = DRP_SLICE(h, sizeof(h) - 1);
	struct drp_hdr_field f;
	struct drp_buf b;

	drp_buf_init(&b);
	ck_assert_int_eq(drp_hdr_count(blk, "received"), 2);
	ck_assert(drp_hdr_find(blk, "Received", 0, &f));
	ck_assert_int_eq(drp_hdr_unfold(f.value, &b), 0);
	ck_assert(buf_is(&b, "from a\tby b"));
	ck_assert(drp_hdr_find(blk, "RECEIVED", 1, &f));
	drp_buf_reset(&b);
	drp_hdr_unfold(f.value, &b);
	ck_assert(buf_is(&b, "from c"));
	ck_assert(!drp_hdr_find(blk, "Received", 2, &f));
	ck_assert(drp_hdr_find(blk, "subject", 0, &f));
	drp_buf_free(&b);
}
END_TEST

START_TEST(hdr_rfc2047)
{
	struct drp_buf b;

	drp_buf_init(&b);
	ck_assert_int_eq(drp_hdr_decode(L("=?utf-8?B?w6lsw6g=?= =?ISO-8859-1?Q?caf=E9_x?="), &b),
	                 0);
	ck_assert(buf_is(&b, "\xc3\xa9l\xc3\xa8"
	                     "caf\xc3\xa9 x"));
	drp_buf_reset(&b);
	/* text between words is kept, bad words are literal */
	drp_hdr_decode(L("Re: =?bogus?X?abc?= and =?us-ascii?q?ok?=!"), &b);
	ck_assert(buf_is(&b, "Re: =?bogus?X?abc?= and ok!"));
	drp_buf_reset(&b);
	/* unknown charset falls back to windows-1252 */
	drp_hdr_decode(L("=?x-unknown?Q?=80?="), &b);
	ck_assert(buf_is(&b, "\xe2\x82\xac"));
	drp_buf_free(&b);
}
END_TEST

START_TEST(hdr_address)
{
	struct drp_buf b;
	const char *cases[][2] = {
	    {" \"Doe, John\" <john@example.com> (comment)", "john@example.com"},
	    {" john@example.com (John)", "john@example.com"},
	    {" <>", ""},
	    {" Jane <jane@x.org>, Bob <bob@y.org>", "bob@y.org"},
	    {" (only <fake@c.om> comment) real@d.net", "real@d.net"},
	};
	size_t i;

	drp_buf_init(&b);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		drp_buf_reset(&b);
		rc = drp_hdr_address(DRP_SLICE(cases[i][0], strlen(cases[i][0])), &b);
		ck_assert_msg(buf_is(&b, cases[i][1]), "case %zu: got '%.*s'", i, (int)b.len,
		              (const char *)b.p);
		ck_assert_int_eq(rc, *cases[i][1] ? 0 : -1);
	}
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_hdr_address(L(" "), &b), -1);
	drp_buf_free(&b);
}
END_TEST

START_TEST(b64_tolerant)
{
	struct drp_buf b;

	drp_buf_init(&b);
	drp_b64_decode(S("aGVs\r\nbG8=\n"), &b);
	ck_assert(buf_is(&b, "hello"));
	drp_buf_reset(&b);
	drp_b64_decode(S("aGVsbG8"), &b); /* missing padding */
	ck_assert(buf_is(&b, "hello"));
	drp_buf_reset(&b);
	drp_b64_decode(S("aG!V*sbG8=aGk="), &b); /* garbage, concatenation */
	ck_assert(buf_is(&b, "hellohi"));
	drp_buf_reset(&b);
	drp_b64_decode(S("a"), &b); /* dangling 6 bits */
	ck_assert_uint_eq(b.len, 0);
	drp_buf_free(&b);
}
END_TEST

START_TEST(b64_roundtrip)
{
	struct drp_buf enc, dec;
	uint8_t data[1000];
	size_t n;

	for (n = 0; n < sizeof(data); n++)
		data[n] = (uint8_t)(n * 7 + 3);
	for (n = 0; n < 40; n++) {
		drp_buf_init(&enc);
		drp_buf_init(&dec);
		drp_b64_encode(data, n * 25, &enc);
		drp_b64_decode(enc.p, enc.len, &dec);
		ck_assert_uint_eq(dec.len, n * 25);
		ck_assert(n == 0 || memcmp(dec.p, data, n * 25) == 0);
		drp_buf_free(&enc);
		drp_buf_free(&dec);
	}
}
END_TEST

START_TEST(qp_cases)
{
	struct drp_buf b;

	drp_buf_init(&b);
	drp_qp_decode(S("caf=E9 =3d=3D soft=\r\nbreak=  \nx =ZZ end="), &b, 0);
	ck_assert_uint_eq(b.len, strlen("caf\xe9 == softbreakx =ZZ end"));
	ck_assert(memcmp(b.p, "caf\xe9 == softbreakx =ZZ end", b.len) == 0);
	drp_buf_reset(&b);
	drp_qp_decode(S("a_b=5F"), &b, 1);
	ck_assert(buf_is(&b, "a b_"));
	ck_assert_int_eq(drp_cte_parse(L(" Base64\r\n")), DRP_CTE_BASE64);
	ck_assert_int_eq(drp_cte_parse(L("QUOTED-printable")), DRP_CTE_QP);
	ck_assert_int_eq(drp_cte_parse(L("x-uuencode")), DRP_CTE_IDENTITY);
	drp_buf_free(&b);
}
END_TEST

START_TEST(charset_conv)
{
	struct drp_buf b;

	drp_buf_init(&b);
	drp_charset_to_utf8("ISO-8859-1", S("caf\xe9"), &b);
	ck_assert(buf_is(&b, "caf\xc3\xa9"));
	drp_buf_reset(&b);
	drp_charset_to_utf8("utf-8", S("ok\xff\xc3\xa9\xe2\x82"), &b); /* lying label */
	ck_assert(buf_is(&b, "ok\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"));
	drp_buf_reset(&b);
	drp_charset_to_utf8("koi8-r", S("\xf0\xd2\xc9"), &b);
	ck_assert(buf_is(&b, "\xd0\x9f\xd1\x80\xd0\xb8"));
	drp_buf_reset(&b);
	drp_charset_to_utf8("\"Shift_JIS\"", S("\x82\xa0"), &b);
	ck_assert(buf_is(&b, "\xe3\x81\x82"));
	drp_buf_reset(&b);
	drp_charset_to_utf8("euc-jp", S("\xa4\xa2\xff"), &b); /* invalid tail byte */
	ck_assert(buf_is(&b, "\xe3\x81\x82\xef\xbf\xbd"));
	drp_buf_reset(&b);
	drp_charset_to_utf8("iso-2022-jp", S("\x1b$B$\"\x1b(B!"), &b);
	ck_assert(buf_is(&b, "\xe3\x81\x82!"));
	ck_assert(drp_charset_known("windows-1251"));
	ck_assert(!drp_charset_known("no-such-charset"));
	drp_buf_free(&b);
}
END_TEST

START_TEST(mime_params)
{
	struct drp_buf b;
	static const char ct[] = "multipart/mixed; boundary=\"a b;c\"; name*0*=utf-8''%E2%82;"
	                         " name*1*=%AC; name*2=\".txt\"; title=plain; charset = \"x\\\"y\"";
	char t[32], s[32];

	drp_buf_init(&b);
	ck_assert_int_eq(drp_mime_param(DRP_SLICE(ct, sizeof(ct) - 1), "boundary", &b), 1);
	ck_assert(buf_is(&b, "a b;c"));
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_mime_param(DRP_SLICE(ct, sizeof(ct) - 1), "name", &b), 1);
	ck_assert(buf_is(&b, "\xe2\x82\xac.txt"));
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_mime_param(DRP_SLICE(ct, sizeof(ct) - 1), "charset", &b), 1);
	ck_assert(buf_is(&b, "x\"y"));
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_mime_param(DRP_SLICE(ct, sizeof(ct) - 1), "nope", &b), 0);
	ck_assert_int_eq(drp_mime_param(DRP_SLICE(ct, sizeof(ct) - 1), "titl", &b), 0);
	ck_assert_int_eq(drp_mime_ctype(DRP_SLICE(ct, sizeof(ct) - 1), t, sizeof(t), s, sizeof(s)),
	                 0);
	ck_assert_str_eq(t, "multipart");
	ck_assert_str_eq(s, "mixed");
	ck_assert_int_eq(drp_mime_ctype(L("garbage"), t, sizeof(t), s, sizeof(s)), -1);
	ck_assert_str_eq(t, "text");
	drp_buf_free(&b);
}
END_TEST

START_TEST(mime_tree)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=XX\n\npreamble\n--XX\n"
	    "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: "
	    "quoted-printable\n\ncaf=E9\n--XX \nContent-Type: message/rfc822\n\n"
	    "Subject: inner\nContent-Type: multipart/alternative; boundary=\"YY\"\n\n"
	    "--YY\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n"
	    "PGI+aGk8L2I+\n--YY--\n\n--XX--\nepilogue\n";
	struct drp_mime t;
	struct drp_buf b;

	ck_assert_int_eq(drp_mime_parse(S(m), NULL, &t), 0);
	ck_assert_int_eq(t.n, 5);
	ck_assert_str_eq(t.parts[0].subtype, "mixed");
	ck_assert_int_eq(t.parts[0].nchildren, 2);
	ck_assert(t.parts[0].preamble.len == 8 && !memcmp(t.parts[0].preamble.p, "preamble", 8));
	ck_assert(t.parts[0].epilogue.len == 9);
	ck_assert_int_eq(t.parts[1].parent, 0);
	ck_assert_str_eq(t.parts[1].charset, "iso-8859-1");
	drp_buf_init(&b);
	drp_mime_part_text(&t.parts[1], &b);
	ck_assert(buf_is(&b, "caf\xc3\xa9"));
	ck_assert_str_eq(t.parts[2].type, "message");
	ck_assert_int_eq(t.parts[3].parent, 2);
	ck_assert_str_eq(t.parts[3].subtype, "alternative");
	ck_assert_int_eq(t.parts[4].depth, 3);
	drp_buf_reset(&b);
	drp_mime_part_decode(&t.parts[4], &b);
	ck_assert(buf_is(&b, "<b>hi</b>"));
	ck_assert_uint_eq(t.flags, 0);
	drp_buf_free(&b);
	drp_mime_free(&t);
}
END_TEST

START_TEST(mime_broken)
{
	static const char unterminated[] =
	    "Content-Type: multipart/mixed; boundary=B\n\n--B\n\nhello\n";
	static const char noboundary[] = "Content-Type: multipart/mixed\n\n--B\n\nhello\n";
	struct drp_mime t;
	struct drp_mime_limits lim = {.max_depth = 3, .max_parts = 4};
	struct drp_buf deep;
	int i;

	ck_assert_int_eq(drp_mime_parse(S(unterminated), NULL, &t), 0);
	ck_assert_int_eq(t.n, 2);
	ck_assert(t.parts[0].flags & DRP_MIME_UNTERMINATED);
	ck_assert_uint_eq(t.parts[1].body.len, 6);
	drp_mime_free(&t);
	ck_assert_int_eq(drp_mime_parse(S(noboundary), NULL, &t), 0);
	ck_assert_int_eq(t.n, 1);
	ck_assert(t.parts[0].flags & DRP_MIME_NO_BOUNDARY);
	drp_mime_free(&t);
	/* nesting beyond the limit stays unsplit and is flagged */
	drp_buf_init(&deep);
	for (i = 0; i < 10; i++)
		drp_buf_printf(&deep, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i,
		               i);
	drp_buf_printf(&deep, "\nleaf\n");
	ck_assert_int_eq(drp_mime_parse(deep.p, deep.len, &lim, &t), 0);
	ck_assert(t.flags & DRP_MIME_LIMIT_DEPTH);
	ck_assert_int_le(t.n, 4);
	drp_mime_free(&t);
	drp_buf_free(&deep);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("message");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, msg_split_lf);
	tcase_add_test(tc, msg_split_crlf_mbox);
	tcase_add_test(tc, msg_no_separator_and_no_header);
	tcase_add_test(tc, hdr_fold_repeat_case);
	tcase_add_test(tc, hdr_rfc2047);
	tcase_add_test(tc, hdr_address);
	tcase_add_test(tc, b64_tolerant);
	tcase_add_test(tc, b64_roundtrip);
	tcase_add_test(tc, qp_cases);
	tcase_add_test(tc, charset_conv);
	tcase_add_test(tc, mime_params);
	tcase_add_test(tc, mime_tree);
	tcase_add_test(tc, mime_broken);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
