/* Unit tests of the Razor2 wire format (razor_proto) and razorhome files
 * (razor_home).  Expected bytes come from the reference: the transcripts
 * and the HMAC vector of razor-protocol.md, and values computed with the
 * installed Razor2::String (makesis, hextobase64, xor_key + hmac_sha1). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "razor_client.h"
#include "razor_home.h"
#include "razor_proto.h"

#define S(lit) (const uint8_t *)(lit), strlen(lit)

static struct drp_razor_sis sis;

/* ---- SIS ---- */

START_TEST(sis_basic)
{
	ck_assert_int_eq(drp_razor_sis_parse(S("sn=C&srl=1&a=l&a=cg&ep4=7542-10\r\n"), &sis), 0);
	ck_assert_str_eq(drp_razor_sis_get(&sis, "sn"), "C");
	ck_assert_str_eq(drp_razor_sis_get(&sis, "srl"), "1");
	/* parsesis fills a hash: the last `a` wins */
	ck_assert_str_eq(drp_razor_sis_get(&sis, "a"), "cg");
	ck_assert_str_eq(drp_razor_sis_get(&sis, "ep4"), "7542-10");
	ck_assert_ptr_null(drp_razor_sis_get(&sis, "x"));
}
END_TEST

START_TEST(sis_quirks)
{
	/* the value ends at a second raw '=' */
	ck_assert_int_eq(drp_razor_sis_parse(S("achal=ab=cd&k"), &sis), 0);
	ck_assert_str_eq(drp_razor_sis_get(&sis, "achal"), "ab");
	ck_assert_str_eq(drp_razor_sis_get(&sis, "k"), "");
	/* %XX unescaped, '+' kept, a broken escape kept literally */
	ck_assert_int_eq(drp_razor_sis_parse(S("v=a%20b+c%3d%4&w=%"), &sis), 0);
	ck_assert_str_eq(drp_razor_sis_get(&sis, "v"), "a b+c=%4");
	ck_assert_str_eq(drp_razor_sis_get(&sis, "w"), "%");
	/* empty pairs are dropped, "k=" is an empty value */
	ck_assert_int_eq(drp_razor_sis_parse(S("&&p=0&&cf=&"), &sis), 0);
	ck_assert_int_eq(sis.n, 2);
	ck_assert_str_eq(drp_razor_sis_get(&sis, "cf"), "");
	/* %00 survives with its length */
	ck_assert_int_eq(drp_razor_sis_parse(S("z=a%00b"), &sis), 0);
	ck_assert_int_eq(sis.f[0].vlen, 3);
}
END_TEST

START_TEST(sis_limits)
{
	char big[8192];
	size_t i, n = 0;

	for (i = 0; i < DRP_RAZOR_SIS_MAX + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "k%zu=v&", i);
	ck_assert_int_eq(drp_razor_sis_parse((const uint8_t *)big, n, &sis), -1);
	memset(big, 'x', sizeof(big));
	big[0] = 'k';
	big[1] = '=';
	ck_assert_int_eq(drp_razor_sis_parse((const uint8_t *)big, sizeof(big), &sis), -1);
}
END_TEST

START_TEST(sis_encode)
{
	struct drp_buf b;
	const struct drp_razor_pair kv[] = {{"user", "a b=c&d"}, {"a", "reg"}, {"pass", "x~y.z_-"}};

	drp_buf_init(&b);
	ck_assert_int_eq(drp_razor_sis_encode(&b, kv, 3, 1), 0);
	/* Razor2::String::makesis gives exactly this */
	ck_assert_str_eq(drp_buf_cstr(&b), "a=reg&pass=x~y.z_-&user=a%20b%3Dc%26d\r\n");
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_razor_sis_encode(&b, kv, 3, 0), 0);
	ck_assert_str_eq(drp_buf_cstr(&b), "a=reg&pass=x~y.z_-&user=a b=c&d\r\n");
	drp_buf_free(&b);
}
END_TEST

/* ---- batches ---- */

static void mkq(struct drp_razor_q *q, const char *e, const char *ep4, const char *s)
{
	q->n = 0;
	q->kv[q->n++] = (struct drp_razor_pair){"s", s};
	q->kv[q->n++] = (struct drp_razor_pair){"e", e};
	if (ep4)
		q->kv[q->n++] = (struct drp_razor_pair){"ep4", ep4};
	q->kv[q->n++] = (struct drp_razor_pair){"a", "c"};
}

START_TEST(batch_transcript)
{
	struct drp_razor_q q[4];
	struct drp_razor_unit u[4];
	struct drp_buf b;

	/* razor-check of gazor_multipart.eml in transcripts.txt */
	mkq(&q[0], "4", "7542-10", "N2c-FcfhBgp0EJ4s83rD157cZQwA");
	mkq(&q[1], "8", NULL, "A1X0JdhQ1qEA");
	mkq(&q[2], "4", "7542-10", "Rx6yV6Fr5o82gcJ4NlfOcXc8OpYA");
	mkq(&q[3], "8", NULL, "A1X0JdhQ1qEA");
	drp_buf_init(&b);
	ck_assert_int_eq(drp_razor_batch(q, 4, 4, 128, &b, u, 4), 1);
	ck_assert_str_eq(drp_buf_cstr(&b), "-a=c&e=4&ep4=7542-10&s=N2c-FcfhBgp0EJ4s83rD157cZQwA\r\n"
	                                   "a=c&e=8&s=A1X0JdhQ1qEA\r\n"
	                                   "a=c&e=4&ep4=7542-10&s=Rx6yV6Fr5o82gcJ4NlfOcXc8OpYA\r\n"
	                                   "a=c&e=8&s=A1X0JdhQ1qEA\r\n"
	                                   ".\r\n");
	ck_assert_int_eq(u[0].count, 4);
	ck_assert_int_eq(u[0].first, 0);
	ck_assert(u[0].batch);
	drp_buf_free(&b);
}
END_TEST

START_TEST(batch_grouping)
{
	struct drp_razor_q q[9];
	struct drp_razor_unit u[9];
	struct drp_buf b;
	int i;

	for (i = 0; i < 9; i++)
		mkq(&q[i], "8", NULL, "A1X0JdhQ1qEA");
	drp_buf_init(&b);
	/* one query: a plain line */
	ck_assert_int_eq(drp_razor_batch(q, 1, 4, 128, &b, u, 9), 1);
	ck_assert_str_eq(drp_buf_cstr(&b), "a=c&e=8&s=A1X0JdhQ1qEA\r\n");
	ck_assert(!u[0].batch);
	/* five: a batch of bql=4, the leftover alone */
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_razor_batch(q, 5, 4, 128, &b, u, 9), 2);
	ck_assert_int_eq(u[0].count, 4);
	ck_assert_int_eq(u[1].count, 1);
	ck_assert_int_eq(u[1].first, 4);
	ck_assert(!u[1].batch);
	/* nine: 4 + 4 + 1 */
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_razor_batch(q, 9, 4, 128, &b, u, 9), 3);
	ck_assert_int_eq(u[2].first, 8);
	/* bql 0 = no line limit */
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_razor_batch(q, 9, 0, 0, &b, u, 9), 1);
	ck_assert_int_eq(u[0].count, 9);
	/* bqs: a batch closes once its text passes bqs KiB */
	drp_buf_reset(&b);
	ck_assert_int_eq(drp_razor_batch(q, 0, 4, 128, &b, u, 9), 0);
	ck_assert_int_eq(drp_razor_batch(q, 9, 4, 128, &b, u, 1), -1);
	drp_buf_free(&b);
}
END_TEST

START_TEST(batch_bqs)
{
	static char sig[2000];
	struct drp_razor_q q[3];
	struct drp_razor_unit u[3];
	struct drp_buf b;
	int i;

	memset(sig, 'A', sizeof(sig) - 1);
	for (i = 0; i < 3; i++)
		mkq(&q[i], "4", "1-1", sig);
	drp_buf_init(&b);
	/* 2 lines > 1 KiB: the third starts a new unit */
	ck_assert_int_eq(drp_razor_batch(q, 3, 100, 1, &b, u, 3), 2);
	ck_assert_int_eq(u[0].count, 2);
	drp_buf_free(&b);
}
END_TEST

/* ---- framing ---- */

START_TEST(frame_cases)
{
	char err[96];

	ck_assert_int_eq(drp_razor_frame(S("p=0\r\n"), 1024, err, sizeof(err)), 5);
	ck_assert_int_eq(drp_razor_frame(S("p=0\r\np=1\r\n"), 1024, err, sizeof(err)), 5);
	ck_assert_int_eq(drp_razor_frame(S("p=0\r"), 1024, err, sizeof(err)), 0);
	ck_assert_int_eq(drp_razor_frame(S(""), 1024, err, sizeof(err)), 0);
	ck_assert_int_eq(drp_razor_frame(S("-p=0\r\np=1&cf=100\r\n.\r\n"), 1024, err, sizeof(err)),
	                 21);
	/* split batch: not complete until the "." line */
	ck_assert_int_eq(drp_razor_frame(S("-p=0\r\np=1&cf=100\r\n"), 1024, err, sizeof(err)), 0);
	ck_assert_int_eq(drp_razor_frame(S("-p=0\r\np=1&cf=100\r\n.\r"), 1024, err, sizeof(err)),
	                 0);
	/* a first line "-." is not the end */
	ck_assert_int_eq(drp_razor_frame(S("-.\r\n"), 1024, err, sizeof(err)), 0);
	ck_assert_int_eq(drp_razor_frame(S("-.\r\n.\n"), 1024, err, sizeof(err)), 6);
	/* bounded */
	ck_assert_int_eq(drp_razor_frame(S("-p=0\r\np=0\r\np=0\r\n"), 8, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_razor_frame(S("p=0p=0p=0"), 8, err, sizeof(err)), -1);
}
END_TEST

START_TEST(frame_long_line)
{
	size_t n = DRP_RAZOR_LINE_MAX + 10;
	uint8_t *p = malloc(n);
	char err[96];

	memset(p, 'x', n);
	ck_assert_int_eq(drp_razor_frame(p, n, 1 << 20, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "line"));
	p[0] = '-';
	ck_assert_int_eq(drp_razor_frame(p, n, 1 << 20, err, sizeof(err)), -1);
	free(p);
}
END_TEST

START_TEST(answer_lines)
{
	struct drp_slice l[8];
	const char *a = "-p=1&cf=100\r\np=0\r\np=1&ct=1\r\n.\r\n";

	ck_assert_int_eq(drp_razor_answer_lines(S(a), l, 8), 3);
	ck_assert_int_eq(l[0].len, 10);
	ck_assert(memcmp(l[0].p, "p=1&cf=100", 10) == 0);
	ck_assert(memcmp(l[2].p, "p=1&ct=1", 8) == 0);
	ck_assert_int_eq(drp_razor_answer_lines(S(a), l, 2), -1);
	ck_assert_int_eq(drp_razor_answer_lines(S("res=1\r\n"), l, 8), 1);
	ck_assert_int_eq(l[0].len, 5);
	ck_assert_int_eq(drp_razor_answer_lines(S("-res=1\r\n.\r\n"), l, 8), 1);
}
END_TEST

/* ---- greeting, state, decisions ---- */

START_TEST(greeting)
{
	struct drp_razor_greeting g;
	char err[128];

	ck_assert_int_eq(
	    drp_razor_parse_greeting(S("sn=C&srl=5098&a=l&a=cg&ep4=7542-10\r\n"), &g, err, 128), 0);
	ck_assert_str_eq(g.sn, "C");
	ck_assert(g.has_srl);
	ck_assert_int_eq(g.srl, 5098);
	ck_assert_str_eq(g.ep4, "7542-10");
	ck_assert(g.cg);
	ck_assert_int_eq(drp_razor_parse_greeting(S("sn=N&a=cg&a=l\r\n"), &g, err, 128), 0);
	ck_assert(!g.cg);
	ck_assert(!g.has_srl);
	ck_assert_int_eq(drp_razor_parse_greeting(S("srl=1&ep4=1-2\r\n"), &g, err, 128), -1);
	ck_assert_int_eq(drp_razor_parse_greeting(S("sn=0\r\n"), &g, err, 128), -1);
	/* ep4 is echoed into unescaped batch lines: only digits and '-' */
	ck_assert_int_eq(drp_razor_parse_greeting(S("sn=C&ep4=1-2%26x%3D1\r\n"), &g, err, 128), -1);
	ck_assert_int_eq(drp_razor_parse_greeting(S("\xff\xfe"), &g, err, 128), -1);
}
END_TEST

START_TEST(srvconf)
{
	struct drp_razor_srvconf c;

	drp_razor_srvconf_default(&c);
	ck_assert_int_eq(c.srl, -1);
	ck_assert_str_eq(c.ep4, "7542-10");
	ck_assert_int_eq(c.bql, 4);
	ck_assert_int_eq(c.bqs, 128);
	ck_assert_uint_eq(c.se, 0xC8);
	drp_razor_srvconf_set(&c, "se", "3BC8");
	drp_razor_srvconf_set(&c, "ac", "21");
	drp_razor_srvconf_set(&c, "srl", "5098");
	drp_razor_srvconf_set(&c, "ep4", "bad&ep4");
	drp_razor_srvconf_set(&c, "zone", "razor2.local");
	drp_razor_srvconf_set(&c, "unknown", "1");
	ck_assert_uint_eq(c.se, 0x3BC8);
	/* bit n-1 = engine n: 4 and 8 are in 3BC8 */
	ck_assert(c.se & (1u << 3));
	ck_assert(c.se & (1u << 7));
	ck_assert_int_eq(c.ac, 21);
	ck_assert_int_eq(c.srl, 5098);
	ck_assert_str_eq(c.ep4, "7542-10");
	ck_assert_str_eq(c.zone, "razor2.local");
	ck_assert_uint_eq(drp_razor_parse_se("zz"), 0);
	/* absurd server values are clamped, never overflow later arithmetic */
	drp_razor_srvconf_set(&c, "bqs", "9223372036854775807");
	drp_razor_srvconf_set(&c, "bql", "-5");
	drp_razor_srvconf_set(&c, "ac", "99999999999999999999");
	ck_assert_int_eq(c.bqs, 1L << 20);
	ck_assert_int_eq(c.bql, 0);
	ck_assert_int_eq(c.ac, 1000000);
}
END_TEST

START_TEST(min_cf_spec)
{
	int cf;

	ck_assert_int_eq(drp_razor_min_cf("ac", 21, &cf), 0);
	ck_assert_int_eq(cf, 21);
	ck_assert_int_eq(drp_razor_min_cf("ac + 10", 21, &cf), 0);
	ck_assert_int_eq(cf, 31);
	ck_assert_int_eq(drp_razor_min_cf("ac-30", 21, &cf), 0);
	ck_assert_int_eq(cf, 0);
	ck_assert_int_eq(drp_razor_min_cf("75", 21, &cf), 0);
	ck_assert_int_eq(cf, 75);
	ck_assert_int_eq(drp_razor_min_cf("1000", 21, &cf), 0);
	ck_assert_int_eq(cf, 100);
	ck_assert_int_eq(drp_razor_min_cf("ac*2", 21, &cf), -1);
	ck_assert_int_eq(cf, 21);
	ck_assert_int_eq(drp_razor_min_cf("", 5, &cf), -1);
	ck_assert_int_eq(drp_razor_min_cf("ac+9223372036854775807", 9223372036854775807L, &cf), 0);
	ck_assert_int_eq(cf, 100);
	ck_assert_int_eq(drp_razor_min_cf("ac-99999999999999999999", 0, &cf), 0);
	ck_assert_int_eq(cf, 0);
}
END_TEST

static int resp(const char *line, int min_cf, int *ct, long *cf)
{
	ck_assert_int_eq(drp_razor_sis_parse(S(line), &sis), 0);
	return drp_razor_check_resp(&sis, min_cf, ct, cf);
}

START_TEST(check_resp)
{
	int ct;
	long cf;

	ck_assert_int_eq(resp("p=1", 50, &ct, &cf), 1);
	ck_assert_int_eq(cf, -1);
	ck_assert_int_eq(resp("p=1&cf=50", 50, &ct, &cf), 1);
	ck_assert_int_eq(resp("p=1&cf=49", 50, &ct, &cf), 0);
	ck_assert_int_eq(cf, 49);
	ck_assert_int_eq(resp("p=0&cf=100", 0, &ct, &cf), 0);
	ck_assert_int_eq(resp("p=1&err=200", 0, &ct, &cf), 0);
	ck_assert_int_eq(resp("p=01", 0, &ct, &cf), 0);
	ck_assert_int_eq(resp("p=1&ct=1", 0, &ct, &cf), 1);
	ck_assert_int_eq(ct, 1);
	ck_assert_int_eq(resp("p=1&ct=0", 0, &ct, &cf), 1);
	ck_assert_int_eq(ct, 0);
}
END_TEST

START_TEST(logic)
{
	int spam[3] = {1, 0, 0}, ct[3] = {0, 0, 0}, sk[3] = {0, 0, 0}, txt[3] = {0, 1, 1},
	    inl[3] = {0, 0, 1};

	ck_assert_int_eq(drp_razor_logic(4, 3, spam, ct, sk, txt, inl), 1);
	ck_assert_int_eq(drp_razor_logic(5, 3, spam, ct, sk, txt, inl), 0);
	ck_assert_int_eq(drp_razor_logic(1, 3, spam, ct, sk, txt, inl), 1);
	/* method 2: the first inline text part decides */
	ck_assert_int_eq(drp_razor_logic(2, 3, spam, ct, sk, txt, inl), 0);
	/* method 3: every text part must be spam */
	ck_assert_int_eq(drp_razor_logic(3, 3, spam, ct, sk, txt, inl), 0);
	ct[0] = 1; /* a contention part is ignored by 4 and 5 */
	ck_assert_int_eq(drp_razor_logic(4, 3, spam, ct, sk, txt, inl), 0);
	ck_assert_int_eq(drp_razor_logic(1, 3, spam, ct, sk, txt, inl), 1);
	spam[1] = spam[2] = 1;
	ck_assert_int_eq(drp_razor_logic(5, 3, spam, ct, sk, txt, inl), 1);
	ck_assert_int_eq(drp_razor_logic(3, 3, spam, ct, sk, txt, inl), 1);
	/* a part that sent nothing but was not erased counts as not spam for 5 */
	ct[0] = 0;
	spam[0] = 0;
	ck_assert_int_eq(drp_razor_logic(5, 3, spam, ct, sk, txt, inl), 0);
	sk[0] = 1;
	ck_assert_int_eq(drp_razor_logic(5, 3, spam, ct, sk, txt, inl), 1);
	/* method 3 without text parts: part 0 decides */
	txt[1] = txt[2] = 0;
	ck_assert_int_eq(drp_razor_logic(3, 3, spam, ct, sk, txt, inl), 0);
	ck_assert_int_eq(drp_razor_logic(4, 0, spam, ct, sk, txt, inl), 0);
}
END_TEST

/* ---- base64 variant and authentication ---- */

START_TEST(b64)
{
	char out[64];

	ck_assert_int_eq(drp_razor_hex_b64("da39a3ee5e6b4b0d3255bfef95601890afd80709", 40, out), 0);
	ck_assert_str_eq(out, "tclcd6dtLQvEqt9_mmCBkF-xDgkA");
	ck_assert_int_eq(drp_razor_hex_b64("abc", 3, out), 0);
	ck_assert_str_eq(out, "XT");
	ck_assert_int_eq(drp_razor_hex_b64("0123456789abcdef", 16, out), 0);
	ck_assert_str_eq(out, "CEwqbhldO38A");
	ck_assert_int_eq(drp_razor_hex_b64("xyz", 3, out), -1);
}
END_TEST

START_TEST(hmac_vector)
{
	char out[29];

	/* razor-protocol.md section 4.2 */
	ck_assert_int_eq(drp_razor_aresp(S("secret"), S("abcdefgh"), out), 0);
	ck_assert_str_eq(out, "MzscZqjwiw78eRjxOJX-1ZL0590A");
	/* the two authentications of transcripts.txt */
	ck_assert_int_eq(drp_razor_aresp(S("secret"), S("EsFew9bjkIjrI8WV"), out), 0);
	ck_assert_str_eq(out, "ovykQjHYqosRpnRPpeRhprxtTioA");
	ck_assert_int_eq(drp_razor_aresp(S("secret"), S("1YXZwTKDakVkdFU0"), out), 0);
	ck_assert_str_eq(out, "t4Z1j_C12mlk4U7Z-KLNkMkN7AIA");
	/* a password over 64 bytes keeps its tail (perl string xor) */
	ck_assert_int_eq(drp_razor_aresp(S("pppppppppppppppppppppppppppppppppppppppppppppppppppppp"
	                                   "ppppppppppppppppZ"),
	                                 S("chal-enge"), out),
	                 0);
	ck_assert_str_eq(out, "xw18aW-MU6l-nDr2cVtf_m0BwkIA");
	ck_assert_int_eq(drp_razor_aresp(S("secret"), S(""), out), -1);
	ck_assert_int_eq(drp_razor_aresp(S("secret"), S("0"), out), -1);
	ck_assert_int_eq(drp_razor_aresp(S(""), S("abc"), out), -1);
}
END_TEST

/* ---- razorhome files ---- */

START_TEST(kv_files)
{
	const char *t = "# comment\n  razordiscovery = 127.0.0.1:2703 \r\nmin_cf=ac + 5\n"
	                "novalue =\nnoequals\n  # indented comment = x\nuse_engines = 4, 8\n"
	                "min_cf = 30\n";
	struct drp_razor_kv kv;
	struct drp_buf b;

	drp_razor_kv_init(&kv);
	ck_assert_int_eq(drp_razor_kv_parse(&kv, t, strlen(t)), 0);
	ck_assert_int_eq(kv.n, 3);
	ck_assert_str_eq(drp_razor_kv_get(&kv, "razordiscovery"), "127.0.0.1:2703");
	ck_assert_str_eq(drp_razor_kv_get(&kv, "min_cf"), "30");
	ck_assert_str_eq(drp_razor_kv_get(&kv, "use_engines"), "4, 8");
	ck_assert_ptr_null(drp_razor_kv_get(&kv, "novalue"));
	drp_buf_init(&b);
	ck_assert_int_eq(drp_razor_kv_format(&kv, NULL, &b), 0);
	ck_assert_str_eq(drp_buf_cstr(&b), "min_cf                 = 30\n"
	                                   "razordiscovery         = 127.0.0.1:2703\n"
	                                   "use_engines            = 4, 8\n");
	drp_razor_kv_set(&kv, "bad", "a\nb");
	ck_assert_int_eq(drp_razor_kv_format(&kv, NULL, &b), -1);
	drp_buf_free(&b);
	drp_razor_kv_free(&kv);
}
END_TEST

START_TEST(lst_files)
{
	const char *t = "127.0.0.1:2703\nlocalhost\nlocalhost:2703\n# c.d.e\n"
	                "  c301.cloudmark.com junk\nfoo.\n.bar.com\na..b.c\nx.y:notaport\n";
	struct drp_razor_lst l;
	struct drp_hostport hp;

	drp_razor_lst_parse(&l, t, strlen(t));
	/* localhost (no dot), "foo.", ".bar.com" and "a..b.c" do not match */
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.name[0], "127.0.0.1:2703");
	ck_assert_str_eq(l.name[1], "c301.cloudmark.com");
	ck_assert_str_eq(l.name[2], "x.y:notaport");
	ck_assert_int_eq(drp_razor_lst_hostport(l.name[0], &hp), 0);
	ck_assert_str_eq(hp.host, "127.0.0.1");
	ck_assert_int_eq(hp.port, 2703);
	ck_assert_int_eq(drp_razor_lst_hostport("10.1.2.3:3000", &hp), 0);
	ck_assert_int_eq(hp.port, 3000);
	/* razor connects to 2703 when the port is not numeric */
	ck_assert_int_eq(drp_razor_lst_hostport(l.name[2], &hp), 0);
	ck_assert_int_eq(hp.port, 2703);
	ck_assert_int_eq(drp_razor_lst_hostport("h.x:99999", &hp), -1);
}
END_TEST

static char tmpdir[] = "/tmp/test_razor_home.XXXXXX";

START_TEST(home_roundtrip)
{
	struct drp_razor_lst l = {0}, r;
	struct drp_razor_kv kv, back;
	char err[256], path[4096], user[64], pass[64], link[64];
	time_t mt;
	ssize_t n;
	FILE *f;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	/* lists */
	ck_assert_int_eq(drp_razor_lst_load(tmpdir, "servers.catalogue.lst", &r, &mt, err, 256), 1);
	snprintf(l.name[l.n++], DRP_RAZOR_NAME_MAX, "127.0.0.1:2703");
	snprintf(l.name[l.n++], DRP_RAZOR_NAME_MAX, "c302.example.com");
	ck_assert_int_eq(drp_razor_lst_save(tmpdir, "servers.catalogue.lst", &l, err, 256), 0);
	ck_assert_int_eq(drp_razor_lst_load(tmpdir, "servers.catalogue.lst", &r, &mt, err, 256), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.name[1], "c302.example.com");
	ck_assert(mt > 0);
	/* another writer's lock: razor-agents skips the write, so do we */
	snprintf(path, sizeof(path), "%s/servers.catalogue.lst.lock", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(drp_razor_lst_save(tmpdir, "servers.catalogue.lst", &l, err, 256), -1);
	ck_assert_ptr_nonnull(strstr(err, "locked"));
	unlink(path);

	/* server state */
	drp_razor_kv_init(&kv);
	drp_razor_kv_set(&kv, "srl", "7");
	drp_razor_kv_set(&kv, "ep4", "7542-10");
	ck_assert_int_eq(drp_razor_srvconf_save(tmpdir, "127.0.0.1", &kv, err, 256), 0);
	ck_assert_int_eq(drp_razor_srvconf_path(tmpdir, "../x", path, sizeof(path)), -1);
	ck_assert_int_eq(drp_razor_srvconf_path(tmpdir, "127.0.0.1", path, sizeof(path)), 0);
	drp_razor_kv_init(&back);
	ck_assert_int_eq(drp_razor_kv_load(path, &back, err, 256), 0);
	ck_assert_str_eq(drp_razor_kv_get(&back, "srl"), "7");
	drp_razor_kv_free(&back);
	drp_razor_kv_free(&kv);

	/* identity: identity-<user> 0600 and the symlink */
	ck_assert_int_eq(drp_razor_ident_load(tmpdir, NULL, user, 64, pass, 64, err, 256), 1);
	drp_razor_kv_init(&kv);
	drp_razor_kv_set(&kv, "user", "alice");
	drp_razor_kv_set(&kv, "pass", "secret");
	ck_assert_int_eq(drp_razor_ident_save(tmpdir, &kv, 0, path, sizeof(path), err, 256), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/identity", tmpdir);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = 0;
	ck_assert_str_eq(link, "identity-alice");
	ck_assert_int_eq(drp_razor_ident_load(tmpdir, NULL, user, 64, pass, 64, err, 256), 0);
	ck_assert_str_eq(user, "alice");
	ck_assert_str_eq(pass, "secret");
	/* a second identity does not take over the link unless asked */
	drp_razor_kv_set(&kv, "user", "bob");
	ck_assert_int_eq(drp_razor_ident_save(tmpdir, &kv, 0, path, sizeof(path), err, 256), 0);
	ck_assert_int_eq(drp_razor_ident_load(tmpdir, NULL, user, 64, pass, 64, err, 256), 0);
	ck_assert_str_eq(user, "alice");
	ck_assert_int_eq(drp_razor_ident_save(tmpdir, &kv, 1, path, sizeof(path), err, 256), 0);
	ck_assert_int_eq(drp_razor_ident_load(tmpdir, NULL, user, 64, pass, 64, err, 256), 0);
	ck_assert_str_eq(user, "bob");
	drp_razor_kv_set(&kv, "user", "../evil");
	ck_assert_int_eq(drp_razor_ident_save(tmpdir, &kv, 1, path, sizeof(path), err, 256), -1);
	drp_razor_kv_free(&kv);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/* ---- malformed input never crashes the parsers ---- */

START_TEST(malformed)
{
	uint8_t buf[512];
	struct drp_slice l[16];
	struct drp_razor_greeting g;
	char err[128];
	unsigned seed = 12345;
	int i;
	size_t j;

	for (i = 0; i < 20000; i++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(buf));

		for (j = 0; j < n; j++) {
			static const char alpha[] = "-.=&%\r\n0aZp1";
			int r = rand_r(&seed);

			buf[j] = (r & 1) ? (uint8_t)alpha[(r >> 1) % 12] : (uint8_t)(r >> 3);
		}
		(void)drp_razor_frame(buf, n, 256, err, sizeof(err));
		(void)drp_razor_answer_lines(buf, n, l, 16);
		(void)drp_razor_sis_parse(buf, n, &sis);
		(void)drp_razor_parse_greeting(buf, n, &g, err, sizeof(err));
	}
}
END_TEST

/* ---- whole sessions against canned server bytes (drp_razor_replay) ---- */

#define GREET "sn=C&srl=1&a=l&a=cg&ep4=7542-10\r\n"
#define STATE(ac)                                                                                  \
	"-ac=" ac "\r\nbql=4\r\nbqs=128\r\ndre=4\r\nep4=7542-10\r\nlogic_method=4\r\nse=3BC8\r\n"  \
	"srl=1\r\nsn=C\r\nzone=razor2.local\r\n.\r\n"
/* razor-check's queries for tests/data/syn_html_spam.eml (seen on the wire) */
#define SPAM_QUERIES                                                                               \
	"-a=c&e=4&ep4=7542-10&s=d-8EkTQcGvuLcOTFKv4WeQVTdbEA\r\na=c&e=8&s=QIhr-27i7HcA\r\n.\r\n"

static struct drp_buf spam_msg;

static void load_spam(void)
{
	FILE *f = fopen("tests/data/syn_html_spam.eml", "rb");
	char buf[4096];
	size_t n;

	drp_buf_init(&spam_msg);
	ck_assert_ptr_nonnull(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		drp_buf_append(&spam_msg, buf, n);
	fclose(f);
}

static void replay(enum drp_op op, const char *server, size_t chunk, struct drp_razor_result *r,
                   struct drp_buf *sent)
{
	if (spam_msg.p == NULL)
		load_spam();
	drp_buf_reset(sent);
	ck_assert_int_eq(drp_razor_replay(op, spam_msg.p, spam_msg.len, (const uint8_t *)server,
	                                  strlen(server), chunk, r, sent),
	                 0);
	drp_buf_cstr(sent);
}

START_TEST(replay_check)
{
	struct drp_razor_result r;
	struct drp_buf sent;

	drp_buf_init(&sent);
	replay(DRP_OP_CHECK, GREET STATE("0") "-p=1&cf=100\r\np=0\r\n.\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.hit, 1);
	ck_assert_int_eq(r.cf, 100);
	ck_assert_int_eq(r.nqueries, 2);
	ck_assert_str_eq((char *)sent.p,
	                 "cn=razor-agents&cv=2.84\r\na=g&pm=state\r\n" SPAM_QUERIES "a=q\r\n");
	/* the same bytes one at a time: framing, not read sizes, decides */
	replay(DRP_OP_CHECK, GREET STATE("0") "-p=1&cf=100\r\np=0\r\n.\r\n", 1, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.hit, 1);
	/* not listed */
	replay(DRP_OP_CHECK, GREET STATE("0") "-p=0\r\np=0\r\n.\r\n", 3, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.hit, 0);
	/* min_cf = ac: cf below the server's ac is not spam, at it is */
	replay(DRP_OP_CHECK, GREET STATE("50") "-p=1&cf=40\r\np=0\r\n.\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.hit, 0);
	ck_assert_int_eq(r.min_cf, 50);
	replay(DRP_OP_CHECK, GREET STATE("50") "-p=0\r\np=1&cf=50\r\n.\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.hit, 1);
	/* contention: the last answer's ct for the part wins (method 4 skips it) */
	replay(DRP_OP_CHECK, GREET STATE("0") "-p=1&cf=100\r\np=0&ct=1\r\n.\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.hit, 0);
	ck_assert_int_eq(r.contention, 1);
	/* junk after the last answer does not change a finished verdict */
	replay(DRP_OP_CHECK, GREET STATE("0") "-p=1\r\np=0\r\n.\r\njunk\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.hit, 1);
	drp_buf_free(&sent);
}
END_TEST

START_TEST(replay_bad_servers)
{
	struct drp_razor_result r;
	struct drp_buf sent;

	drp_buf_init(&sent);
	/* fewer answers than queries */
	replay(DRP_OP_CHECK, GREET STATE("0") "-p=1&cf=100\r\n.\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	ck_assert_ptr_nonnull(strstr(r.net.error, "1 answers to 2 queries"));
	/* a plain line for a batch */
	replay(DRP_OP_CHECK, GREET STATE("0") "p=1\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	/* closed mid-answer */
	replay(DRP_OP_CHECK, GREET STATE("0") "-p=1&cf=100\r\np=", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	ck_assert_ptr_nonnull(strstr(r.net.error, "mid-answer"));
	ck_assert_int_eq(r.hit, 0);
	/* closed before answering */
	replay(DRP_OP_CHECK, GREET STATE("0"), 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	/* a greeting without sn */
	replay(DRP_OP_CHECK, "srl=1&ep4=7542-10\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	ck_assert_ptr_nonnull(strstr(r.net.error, "greeting"));
	/* an ep4 that would inject into later batch lines */
	replay(DRP_OP_CHECK, "sn=C&srl=1&ep4=1-2%0D%0Aa%3Dr\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	ck_assert_ptr_null(strstr((char *)sent.p, "a=r"));
	/* an answer line that never ends is bounded */
	{
		size_t n = 100000;
		char *big = malloc(n + 200);

		snprintf(big, 200, "%s%s-p=", GREET, STATE("0"));
		memset(big + strlen(big), 'x', n);
		big[strlen(GREET STATE("0")) + 3 + n] = 0;
		replay(DRP_OP_CHECK, big, 0, &r, &sent);
		ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
		ck_assert_ptr_nonnull(strstr(r.net.error, "longer than"));
		free(big);
	}
	/* two answers to one query shift every later answer: caught by the count */
	replay(DRP_OP_REVOKE,
	       GREET STATE(
	           "0") "achal=abcdefgh\r\nres=1\r\nres=1\r\nres=1\r\n-res=1\r\nres=1\r\n.\r\n",
	       0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	ck_assert_ptr_nonnull(strstr(r.net.error, "1 answers to 2 queries"));
	drp_buf_free(&sent);
}
END_TEST

START_TEST(replay_report)
{
	struct drp_razor_result r;
	struct drp_buf sent;
	const char *up;

	drp_buf_init(&sent);
	/* razor-protocol.md 4.2's vector: challenge abcdefgh, password secret */
	replay(DRP_OP_REPORT, GREET STATE("0") "achal=abcdefgh\r\nres=1\r\nerr=230\r\nres=1\r\n", 0,
	       &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.uploaded, 1);
	ck_assert_ptr_nonnull(strstr((char *)sent.p,
	                             "a=ai&cn=razor-agents&cv=2.84&user=replay\r\n"
	                             "a=auth&aresp=MzscZqjwiw78eRjxOJX-1ZL0590A\r\n"
	                             "a=r&e=4&ep4=7542-10&s=d-8EkTQcGvuLcOTFKv4WeQVTdbEA\r\n"
	                             "-a=r&message=*\r\nReturn-Path: "));
	up = strstr((char *)sent.p, "-a=r&message=*\r\n");
	ck_assert_ptr_nonnull(strstr(up, "\n\r\nX-Razor2-Agent: Razor-Agents v2.84\n"));
	ck_assert_ptr_nonnull(strstr(up, "</html>\n\r\n.\r\na=q\r\n"));
	/* already known: no upload */
	replay(DRP_OP_REPORT, GREET STATE("0") "achal=abcdefgh\r\nres=1\r\nres=1\r\n", 0, &r,
	       &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.uploaded, 0);
	ck_assert_int_eq(r.accepted, 1);
	ck_assert_ptr_null(strstr((char *)sent.p, "message=*"));
	/* a wrong password */
	replay(DRP_OP_REPORT, GREET STATE("0") "achal=abcdefgh\r\nres=0\r\n", 0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	ck_assert_ptr_nonnull(strstr(r.net.error, "authentication failed"));
	/* unknown user: razor registers the same credentials once, then retries */
	replay(DRP_OP_REPORT,
	       GREET STATE("0") "err=213\r\nres=1&user=replay&pass=secret\r\nachal=abcdefgh\r\n"
	                        "res=1\r\nres=1\r\n",
	       0, &r, &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_ptr_nonnull(strstr((char *)sent.p,
	                             "a=reg&pass=secret&registrar=Razor-Agents%20v2.84"
	                             "&user=replay\r\na=ai&"));
	/* the server refuses the report */
	replay(DRP_OP_REPORT, GREET STATE("0") "achal=abcdefgh\r\nres=1\r\nerr=202\r\n", 0, &r,
	       &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	/* revoke: every signature, both engines */
	replay(DRP_OP_REVOKE,
	       GREET STATE("0") "achal=abcdefgh\r\nres=1\r\n-res=1\r\nres=1\r\n.\r\n", 0, &r,
	       &sent);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.accepted, 2);
	ck_assert_ptr_nonnull(strstr((char *)sent.p,
	                             "-a=revoke&e=4&s=d-8EkTQcGvuLcOTFKv4WeQVTdbEA\r\n"
	                             "a=revoke&e=8&s=QIhr-27i7HcA\r\n.\r\n"));
	drp_buf_free(&sent);
}
END_TEST

/* An unreadable razor_pass_file fails ctx_new naming the key instead of
 * silently falling back to the razorhome identity; a readable one works. */
START_TEST(pass_file_unreadable)
{
	struct drp_config *cfg = drp_config_new();
	char err[256] = "", path[] = "/tmp/drp-test-rzpass-XXXXXX";
	void *ctx = NULL;
	int fd;

	ck_assert_ptr_nonnull(cfg);
	drp_config_set_flag(cfg, "razor_home", "/nonexistent-drp-test");
	drp_config_set_flag(cfg, "razor_servers", "127.0.0.1:9");
	drp_config_set_flag(cfg, "razor_pass_file", "/nonexistent-drp-test/pass");
	ck_assert_int_eq(drp_razor_ops.ctx_new(cfg, &ctx, err, sizeof(err)), -1);
	ck_assert_ptr_null(ctx);
	ck_assert_msg(strstr(err, "razor_pass_file") != NULL, "err: %s", err);
	drp_config_set_flag(cfg, "razor_user", "u");
	err[0] = 0;
	ck_assert_int_eq(drp_razor_ops.ctx_new(cfg, &ctx, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "razor_pass_file") != NULL, "err: %s", err);

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "secret\n", 7), 7);
	close(fd);
	drp_config_set_flag(cfg, "razor_pass_file", path);
	ck_assert_int_eq(drp_razor_ops.ctx_new(cfg, &ctx, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(ctx);
	drp_razor_ops.ctx_free(ctx);
	unlink(path);
	drp_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* razor_keepalive: several requests of one process against a loopback
 * server (a forked child) that counts connections, quits and check units
 * in shared memory. */

struct ka_stats {
	int conns, quits, checks;
};

static struct ka_stats *ka;

static void ka_add(int *v)
{
	__atomic_add_fetch(v, 1, __ATOMIC_SEQ_CST);
}

static int ka_get(int *v)
{
	return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

static void ka_send(int fd, const char *p)
{
	size_t n = strlen(p), off = 0;

	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);

		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* Answer every complete unit in buf; -1 when the client quit. */
static int ka_units(int fd, char *buf, size_t *len)
{
	for (;;) {
		char *end;
		size_t n;

		if (*len == 0)
			return 0;
		if (buf[0] == '-') {
			char *p;
			int lines = 0;

			buf[*len] = 0;
			end = strstr(buf, "\r\n.\r\n");
			if (end == NULL)
				return 0;
			n = (size_t)(end - buf) + 5;
			for (p = buf; p < end + 2; p++)
				lines += *p == '\n';
			ka_send(fd, "-");
			while (lines-- > 0)
				ka_send(fd, "p=0\r\n");
			ka_send(fd, ".\r\n");
			ka_add(&ka->checks);
		} else {
			end = memchr(buf, '\n', *len);
			if (end == NULL)
				return 0;
			n = (size_t)(end - buf) + 1;
			if (strncmp(buf, "a=q", 3) == 0) {
				ka_add(&ka->quits);
				return -1;
			}
			if (strncmp(buf, "a=g", 3) == 0)
				ka_send(fd, STATE("0"));
			else if (strncmp(buf, "a=c&", 4) == 0) {
				ka_send(fd, "p=0\r\n");
				ka_add(&ka->checks);
			} else if (strncmp(buf, "cn=", 3) != 0)
				ka_send(fd, "err=201\r\n");
		}
		memmove(buf, buf + n, *len - n);
		*len -= n;
	}
}

static void ka_serve(int lfd, pid_t parent)
{
	static char in[8][16384];
	struct pollfd p[9];
	size_t il[9];
	int n = 1, i;

	p[0].fd = lfd;
	p[0].events = POLLIN;
	for (;;) {
		/* a failed assertion ends the test process: do not outlive it */
		if (getppid() != parent)
			return;
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n < 9) {
			int c = accept(lfd, NULL, NULL);

			if (c >= 0) {
				p[n].fd = c;
				p[n].events = POLLIN;
				p[n].revents = 0;
				il[n] = 0;
				n++;
				ka_add(&ka->conns);
				ka_send(c, GREET);
			}
		}
		for (i = 1; i < n; i++) {
			ssize_t r;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(p[i].fd, in[i - 1] + il[i], sizeof(in[0]) - 1 - il[i]);
			if (r > 0) {
				il[i] += (size_t)r;
				if (ka_units(p[i].fd, in[i - 1], &il[i]) == 0)
					continue;
			}
			close(p[i].fd);
			n--;
			if (i < n) {
				p[i] = p[n];
				il[i] = il[n];
				memcpy(in[i - 1], in[n - 1], il[i]);
				i--;
			}
		}
	}
}

/* Wait (up to 2 s) until a counter reaches want; its final value. */
static int ka_wait(int *v, int want)
{
	int i;

	for (i = 0; i < 200 && ka_get(v) < want; i++)
		usleep(10000);
	usleep(20000);
	return ka_get(v);
}

static enum drp_status ka_check(void *ctx)
{
	struct drp_loop *loop = drp_loop_new();
	struct drp_razor_result r;
	void *req;

	ck_assert_ptr_nonnull(loop);
	memset(&r, 0, sizeof(r));
	req = drp_razor_ops.start(loop, ctx, DRP_OP_CHECK, spam_msg.p, spam_msg.len, NULL, &r);
	if (req != NULL) {
		drp_loop_run(loop, drp_now_ms() + 3000);
		drp_razor_ops.finish(req);
	}
	drp_loop_free(loop);
	return r.net.status;
}

static void *ka_ctx(const char *home, int port, const char *keepalive)
{
	struct drp_config *cfg = drp_config_new();
	char err[256] = "", srv[64];
	void *ctx = NULL;

	snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
	drp_config_set_flag(cfg, "razor_home", home);
	drp_config_set_flag(cfg, "razor_servers", srv);
	if (keepalive != NULL)
		drp_config_set_flag(cfg, "razor_keepalive", keepalive);
	ck_assert_msg(drp_razor_ops.ctx_new(cfg, &ctx, err, sizeof(err)) == 0, "%s", err);
	drp_config_free(cfg);
	return ctx;
}

START_TEST(keepalive_requests)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char home[] = "/tmp/drp-test-rzka-XXXXXX";
	pid_t srv, child;
	void *ctx;
	int lfd, st;

	if (spam_msg.p == NULL)
		load_spam();
	ka = mmap(NULL, sizeof(*ka), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(ka, MAP_FAILED);
	memset(ka, 0, sizeof(*ka));
	ck_assert_ptr_nonnull(mkdtemp(home));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	child = getpid();
	srv = fork();
	ck_assert_int_ge(srv, 0);
	if (srv == 0) {
		ka_serve(lfd, child);
		_exit(0);
	}
	close(lfd);

	/* the default: two checks, one connection, no goodbye yet */
	ctx = ka_ctx(home, ntohs(sa.sin_port), NULL);
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_wait(&ka->checks, 2), 2);
	ck_assert_int_eq(ka_get(&ka->conns), 1);
	ck_assert_int_eq(ka_get(&ka->quits), 0);

	/* a forked copy of the context must not talk on the parent's
	 * connection: it opens its own (and quits that one) */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int ok = ka_check(ctx) == DRP_ST_OK;

		drp_razor_ops.ctx_free(ctx);
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(ka_wait(&ka->quits, 1), 1);
	ck_assert_int_eq(ka_get(&ka->conns), 2);
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_wait(&ka->checks, 4), 4);
	ck_assert_int_eq(ka_get(&ka->conns), 2);

	/* a refresh drops it with a goodbye; so does the context's end */
	ck_assert_int_eq(drp_razor_ops.ctx_refresh(ctx, (char[64]){0}, 64), 0);
	ck_assert_int_eq(ka_wait(&ka->quits, 2), 2);
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_wait(&ka->conns, 3), 3);
	drp_razor_ops.ctx_free(ctx);
	ck_assert_int_eq(ka_wait(&ka->quits, 3), 3);

	/* older than razor_keepalive: quit and reconnect */
	ctx = ka_ctx(home, ntohs(sa.sin_port), "1");
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_wait(&ka->conns, 4), 4);
	usleep(1300000);
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_wait(&ka->conns, 5), 5);
	ck_assert_int_eq(ka_wait(&ka->quits, 4), 4);
	drp_razor_ops.ctx_free(ctx);
	ck_assert_int_eq(ka_wait(&ka->quits, 5), 5);

	/* razor_keepalive = 0: a connection and a quit per request */
	ctx = ka_ctx(home, ntohs(sa.sin_port), "0");
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_check(ctx), DRP_ST_OK);
	ck_assert_int_eq(ka_wait(&ka->conns, 7), 7);
	ck_assert_int_eq(ka_wait(&ka->quits, 7), 7);
	drp_razor_ops.ctx_free(ctx);
	usleep(50000);
	ck_assert_int_eq(ka_get(&ka->quits), 7);
	ck_assert_int_eq(ka_get(&ka->checks), 10);

	kill(srv, SIGKILL);
	waitpid(srv, &st, 0);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
		ck_assert_int_eq(system(cmd), 0);
	}
	munmap(ka, sizeof(*ka));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("razor_client");
	TCase *t = tcase_create("proto");

	tcase_add_test(t, sis_basic);
	tcase_add_test(t, sis_quirks);
	tcase_add_test(t, sis_limits);
	tcase_add_test(t, sis_encode);
	tcase_add_test(t, batch_transcript);
	tcase_add_test(t, batch_grouping);
	tcase_add_test(t, batch_bqs);
	tcase_add_test(t, frame_cases);
	tcase_add_test(t, frame_long_line);
	tcase_add_test(t, answer_lines);
	tcase_add_test(t, greeting);
	tcase_add_test(t, srvconf);
	tcase_add_test(t, min_cf_spec);
	tcase_add_test(t, check_resp);
	tcase_add_test(t, logic);
	tcase_add_test(t, b64);
	tcase_add_test(t, hmac_vector);
	tcase_add_test(t, malformed);
	suite_add_tcase(s, t);
	t = tcase_create("home");
	tcase_add_test(t, kv_files);
	tcase_add_test(t, lst_files);
	tcase_add_test(t, home_roundtrip);
	tcase_add_test(t, pass_file_unreadable);
	suite_add_tcase(s, t);
	t = tcase_create("replay");
	tcase_set_timeout(t, 30);
	tcase_add_test(t, replay_check);
	tcase_add_test(t, replay_bad_servers);
	tcase_add_test(t, replay_report);
	suite_add_tcase(s, t);
	t = tcase_create("keepalive");
	tcase_set_timeout(t, 30);
	tcase_add_test(t, keepalive_requests);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
