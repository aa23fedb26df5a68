/*
 * Unit tests: dcc_ids (ids and map.txt files, writing ids) and dcc_client
 * (configuration, revoke, the result JSON's types, the reference's
 * retransmission schedule against a silent loopback socket, answers that
 * must be ignored).
 */
#include <arpa/inet.h>
#include <check.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dcc_client.h"
#include "dcc_ids.h"
#include "dcc_pkt.h"
#include "evloop.h"

static const char msg[] = "From: Alice <alice@example.com>\n"
                          "Message-ID: <1@example.com>\n"
                          "Subject: hello\n"
                          "\n"
                          "This is a message body long enough for the body checksums to exist.\n"
                          "It has a second line of words as well, for the fuzzy ones.\n";

START_TEST(test_ids_parse)
{
	static const char text[] = "# comment\n"
	                           "\n"
	                           "32768\tsecret1\n"
	                           "1000\n"
	                           "  32769,rpt-ok,delay=10*2  cur#pw   next\n"
	                           "32702 secret2\n";
	struct drp_dcc_ids ids;
	const struct drp_dcc_id_entry *e;
	char err[160];

	ck_assert_int_eq(drp_dcc_ids_parse(text, strlen(text), &ids, err, sizeof(err)), 0);
	ck_assert_int_eq(ids.n, 4);
	e = drp_dcc_ids_find(&ids, 32768);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->passwd[0], "secret1");
	ck_assert_str_eq(e->passwd[1], "");
	/* a bare ID is a placeholder without passwords */
	e = drp_dcc_ids_find(&ids, 1000);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->passwd[0], "");
	/* '#' starts a comment only at the start of a line */
	e = drp_dcc_ids_find(&ids, 32769);
	ck_assert_str_eq(e->passwd[0], "cur#pw");
	ck_assert_str_eq(e->passwd[1], "next");
	ck_assert_ptr_null(drp_dcc_ids_find(&ids, 40000));
	drp_dcc_ids_free(&ids);

	ck_assert_int_eq(drp_dcc_ids_parse("abc pw\n", 7, &ids, err, sizeof(err)), -1);
	ck_assert(strstr(err, "line 1") != NULL);
	/* the anonymous ID has no entry */
	ck_assert_int_eq(drp_dcc_ids_parse("1 pw\n", 5, &ids, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_ids_parse("32768 a b c\n", 12, &ids, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_ids_parse("32768,bogus pw\n", 15, &ids, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_ids_parse("#\n32768 123456789012345678901234567890123\n", 42, &ids,
	                                   err, sizeof(err)),
	                 -1);
	ck_assert(strstr(err, "line 2") != NULL);
	ck_assert_int_eq(drp_dcc_ids_parse("99 pw\n", 6, &ids, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_ids_parse("16777216 pw\n", 12, &ids, err, sizeof(err)), -1);
	/* no NUL needed: explicit length */
	ck_assert_int_eq(drp_dcc_ids_parse("32768 pwXXXX", 8, &ids, err, sizeof(err)), 0);
	ck_assert_str_eq(ids.e[0].passwd[0], "pw");
	drp_dcc_ids_free(&ids);
	ck_assert_uint_eq(drp_dcc_parse_id("anon", 4), 1);
	ck_assert_uint_eq(drp_dcc_parse_id("ANON", 4), 1);
	ck_assert_uint_eq(drp_dcc_parse_id("32768", 5), 32768);
	ck_assert_uint_eq(drp_dcc_parse_id("0", 1), 0);
	ck_assert_uint_eq(drp_dcc_parse_id("", 0), 0);
}
END_TEST

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_ids_files)
{
	char dir[] = "/tmp/drp-dccids.XXXXXX", path[256], err[200], buf[512];
	struct drp_dcc_ids ids;
	struct stat st;
	FILE *f;
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ids", dir);
	/* missing: fine when optional, an error when named */
	ck_assert_int_eq(drp_dcc_ids_load(path, 1, &ids, err, sizeof(err)), 0);
	ck_assert_int_eq(ids.n, 0);
	ck_assert_int_eq(drp_dcc_ids_load(path, 0, &ids, err, sizeof(err)), -1);
	/* the writer creates it private */
	ck_assert_int_eq(drp_dcc_ids_write(path, 32768, "first", err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	write_file(path, "# keep me\n1000\n32768,rpt-ok old\n40000 other\n", 0600);
	ck_assert_int_eq(drp_dcc_ids_write(path, 32768, "newpass", err, sizeof(err)), 0);
	ck_assert_int_eq(drp_dcc_ids_write(path, 50000, "added", err, sizeof(err)), 0);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	ck_assert_str_eq(buf, "# keep me\n1000\n32768\tnewpass\n40000 other\n50000\tadded\n");
	ck_assert_int_eq(drp_dcc_ids_load(path, 0, &ids, err, sizeof(err)), 0);
	ck_assert_str_eq(drp_dcc_ids_find(&ids, 32768)->passwd[0], "newpass");
	drp_dcc_ids_free(&ids);
	/* server-IDs and bad passwords are not written */
	ck_assert_int_eq(drp_dcc_ids_write(path, 1001, "x", err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_ids_write(path, 32768, "two words", err, sizeof(err)), -1);
	/* like the reference, a file others can read is refused */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(drp_dcc_ids_load(path, 1, &ids, err, sizeof(err)), -1);
	ck_assert(strstr(err, "not private") != NULL);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_map_parse)
{
	/* the reference's homedir/map.txt.in, and cdcc info's option line */
	static const char text[] = "# public DCC servers\n"
	                           "version=3 IPv6 off\n"
	                           "dcc1.dcc-servers.net\tRTT+1000 ms\tanon\n"
	                           "dcc2.dcc-servers.net\tRTT+1000 ms\tanon\n"
	                           "@   RTT-1000 ms    32768 secret1\n"
	                           "@   GREYLIST\t   32768 secret1\n"
	                           "127.0.0.1,16277  32768 testpass32768\n"
	                           "::1,-  rtt +3000\n"
	                           "host.example,6277 Greylist RTT-5 ms 32768 pw\n";
	struct drp_dcc_map m, m2;
	struct drp_buf b;
	char err[160];

	ck_assert_int_eq(drp_dcc_map_parse(text, strlen(text), &m, err, sizeof(err)), 0);
	ck_assert_int_eq(m.ipv6, -1);
	ck_assert_int_eq(m.n, 5);
	ck_assert_str_eq(m.s[0].hp.host, "dcc1.dcc-servers.net");
	ck_assert_uint_eq(m.s[0].hp.port, 6277);
	ck_assert_int_eq(m.s[0].rtt_adj_ms, 1000);
	ck_assert_uint_eq(m.s[0].id, 1);
	ck_assert_str_eq(m.s[2].hp.host, "localhost");
	ck_assert_int_eq(m.s[2].rtt_adj_ms, -1000);
	ck_assert_uint_eq(m.s[2].id, 32768);
	ck_assert_str_eq(m.s[2].passwd, "secret1");
	ck_assert_str_eq(m.s[3].hp.host, "127.0.0.1");
	ck_assert_uint_eq(m.s[3].hp.port, 16277);
	ck_assert_str_eq(m.s[3].passwd, "testpass32768");
	ck_assert_str_eq(m.s[4].hp.host, "::1");
	ck_assert_uint_eq(m.s[4].hp.port, 6277);
	ck_assert_int_eq(m.s[4].rtt_adj_ms, 2000); /* clamped like the reference */
	ck_assert_uint_eq(m.s[4].id, 1);
	/* what we write, cdcc load reads back the same */
	drp_buf_init(&b);
	ck_assert_int_eq(drp_dcc_map_format(&m, &b), 0);
	ck_assert_int_eq(drp_dcc_map_parse((const char *)b.p, b.len, &m2, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&m, &m2, sizeof(m)), 0);
	drp_buf_free(&b);

	ck_assert_int_eq(drp_dcc_map_parse("h 32768\n", 8, &m, err, sizeof(err)), -1);
	ck_assert(strstr(err, "without a password") != NULL);
	ck_assert_int_eq(drp_dcc_map_parse("h 1001 pw\n", 10, &m, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_map_parse("h,0\n", 4, &m, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_map_parse("h,99999\n", 8, &m, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_map_parse("h RTT+x\n", 8, &m, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_map_parse("h 32768 pw junk\n", 16, &m, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_dcc_map_parse("a\nb\nc\nd\ne\nf\ng\nh\ni\n", 18, &m, err, sizeof(err)),
	                 -1);
	ck_assert(strstr(err, "more than") != NULL);
	ck_assert_int_eq(drp_dcc_map_parse("ba/d\n", 5, &m, err, sizeof(err)), -1);
}
END_TEST

static void *new_ctx(struct drp_config *cfg, int want_rc)
{
	void *ctx = NULL;
	char err[256] = "";
	int rc = drp_dcc_ops.ctx_new(cfg, &ctx, err, sizeof(err));

	ck_assert_msg(rc == want_rc, "ctx_new: %d (%s)", rc, err);
	if (rc < 0)
		ck_assert(err[0] != 0);
	return ctx;
}

START_TEST(test_config)
{
	struct drp_config *cfg = drp_config_new();
	void *ctx;

	drp_config_set_flag(cfg, "dcc_servers", "127.0.0.1:1 [::1]:2 localhost");
	drp_config_set_flag(cfg, "dcc_ids", "/nonexistent/ids");
	ctx = new_ctx(cfg, 0);
	ck_assert(drp_dcc_ops.enabled(ctx));
	drp_dcc_ops.ctx_free(ctx);

	drp_config_set_flag(cfg, "dcc_threshold", "lots");
	new_ctx(cfg, -1);
	drp_config_set_flag(cfg, "dcc_threshold", "many");
	drp_config_set_flag(cfg, "dcc_threshold_body", "never");
	drp_config_set_flag(cfg, "dcc_report_tgts", "2001");
	new_ctx(cfg, -1);
	drp_config_set_flag(cfg, "dcc_report_tgts", "many");
	drp_config_set_flag(cfg, "dcc_servers", "bad/host:1");
	new_ctx(cfg, -1);
	drp_config_set_flag(cfg, "dcc_servers", "127.0.0.1");
	/* an ID needs a password, from the config or the ids file */
	drp_config_set_flag(cfg, "dcc_client_id", "32768");
	new_ctx(cfg, -1);
	drp_config_set_flag(cfg, "dcc_client_passwd", "two words");
	new_ctx(cfg, -1);
	drp_config_set_flag(cfg, "dcc_client_passwd", "secret");
	drp_dcc_ops.ctx_free(new_ctx(cfg, 0));
	drp_config_set_flag(cfg, "dcc_client_id", "1001"); /* a server-ID */
	new_ctx(cfg, -1);
	drp_config_set_flag(cfg, "dcc_client_id", "anon");
	drp_dcc_ops.ctx_free(new_ctx(cfg, 0));
	drp_config_set_flag(cfg, "dcc_map", "/nonexistent/map");
	drp_config_set_flag(cfg, "dcc_servers", "");
	new_ctx(cfg, -1);
	drp_config_set_flag(cfg, "dcc_enable", "0");
	ctx = new_ctx(cfg, 0);
	ck_assert(!drp_dcc_ops.enabled(ctx));
	drp_dcc_ops.ctx_free(ctx);
	drp_config_free(cfg);
}
END_TEST

static struct json_object *json_of(const struct drp_dcc_result *r, enum drp_op op)
{
	struct json_object *o = json_object_new_object();

	drp_dcc_ops.result_json(r, op, o);
	return o;
}

START_TEST(test_revoke_and_json)
{
	struct drp_config *cfg = drp_config_new();
	struct drp_dcc_result r;
	struct drp_loop *loop = drp_loop_new();
	struct json_object *o, *v;
	void *ctx;

	drp_config_set_flag(cfg, "dcc_servers", "127.0.0.1:9");
	ctx = new_ctx(cfg, 0);
	memset(&r, 0, sizeof(r));
	/* DCC has no un-report: nothing is sent */
	ck_assert_ptr_null(drp_dcc_ops.start(loop, ctx, DRP_OP_REVOKE, (const uint8_t *)msg,
	                                     strlen(msg), NULL, &r));
	ck_assert_int_eq(r.net.status, DRP_ST_DISABLED);
	ck_assert_int_eq(r.applicable, 0);
	ck_assert_int_eq(drp_loop_pending(loop), 0);
	o = json_of(&r, DRP_OP_REVOKE);
	ck_assert(json_object_object_get_ex(o, "applicable", &v));
	ck_assert(!json_object_get_boolean(v));
	json_object_put(o);

	/* gozer's types: action a string, bulk null unless ok */
	memset(&r, 0, sizeof(r));
	r.applicable = 1;
	r.net.status = DRP_ST_TIMEOUT;
	r.have_bulk = 1;
	r.bulk = 5;
	o = json_of(&r, DRP_OP_CHECK);
	ck_assert(json_object_object_get_ex(o, "action", &v));
	ck_assert_str_eq(json_object_get_string(v), "unknown");
	ck_assert(json_object_object_get_ex(o, "bulk", &v));
	ck_assert_ptr_null(v);
	json_object_put(o);
	r.net.status = DRP_ST_OK;
	r.action = DRP_DCC_ACT_REJECT;
	r.n = 2;
	r.counts[0] = (struct drp_dcc_count){DRP_DCC_CK_FROM, 0, DRP_DCC_TGTS_INVALID};
	r.counts[1] = (struct drp_dcc_count){DRP_DCC_CK_BODY, 5, 4};
	o = json_of(&r, DRP_OP_CHECK);
	ck_assert(json_object_object_get_ex(o, "action", &v));
	ck_assert_str_eq(json_object_get_string(v), "reject");
	ck_assert(json_object_object_get_ex(o, "bulk", &v));
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_eq(json_object_get_int64(v), 5);
	ck_assert(json_object_object_get_ex(o, "counts", &v));
	ck_assert_int_eq(json_object_object_length(v), 1); /* From is not counted */
	ck_assert(json_object_object_get_ex(v, "Body", &v));
	ck_assert_int_eq(json_object_get_int64(v), 5);
	json_object_put(o);
	ck_assert(drp_dcc_ops.listed(&r));
	drp_dcc_ops.ctx_free(ctx);
	drp_loop_free(loop);
	drp_config_free(cfg);
}
END_TEST

struct sink {
	int fd;
	int n;
	uint64_t at[16];
	uint8_t first[DRP_DCC_MAX_PKT];
	size_t first_len;
	uint8_t last[DRP_DCC_MAX_PKT];
	size_t last_len;
	struct sockaddr_in from;
	int reply; /* 1: answer the first with a forged count from another socket */
};

static void sink_read(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct sink *s = arg;
	uint8_t buf[2048];
	socklen_t fl = sizeof(s->from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&s->from, &fl);

	if (n <= 0)
		return;
	if (s->n == 0) {
		memcpy(s->first, buf, (size_t)n);
		s->first_len = (size_t)n;
	}
	memcpy(s->last, buf, (size_t)n);
	s->last_len = (size_t)n;
	if (s->n < 16)
		s->at[s->n] = drp_now_ms();
	s->n++;
}

static int bound_udp(struct sockaddr_in *sa)
{
	socklen_t l = sizeof(*sa);
	int fd = drp_udp_socket(AF_INET);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sa, &l), 0);
	return fd;
}

/* A silent server: transmissions at 0, 350, 950 ms ((250 << x) + 100 for
 * an unmeasured server), the same h/p/r, t = 1, 2, 3; then the budget of
 * 1500 ms runs out before the fourth would be due (at 2050 ms). */
START_TEST(test_retransmission_schedule)
{
	struct drp_config *cfg = drp_config_new();
	struct drp_loop *loop = drp_loop_new();
	struct drp_dcc_result r;
	struct sockaddr_in sa;
	struct sink s;
	char spec[64];
	uint64_t t0;
	void *ctx, *req;

	memset(&s, 0, sizeof(s));
	s.fd = bound_udp(&sa);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", ntohs(sa.sin_port));
	drp_config_set_flag(cfg, "dcc_servers", spec);
	drp_config_set_flag(cfg, "backend_timeout", "1500ms");
	ctx = new_ctx(cfg, 0);
	ck_assert_int_eq(drp_loop_watch(loop, s.fd, DRP_EV_READ, sink_read, &s), 0);
	memset(&r, 0, sizeof(r));
	t0 = drp_now_ms();
	req =
	    drp_dcc_ops.start(loop, ctx, DRP_OP_CHECK, (const uint8_t *)msg, strlen(msg), NULL, &r);
	ck_assert_ptr_nonnull(req);
	drp_loop_run(loop, t0 + 1500);
	drp_dcc_ops.finish(req);
	ck_assert_int_eq(r.net.status, DRP_ST_TIMEOUT);
	ck_assert_int_eq(s.n, 3);
	ck_assert_int_eq(r.xmits, 3);
	/* relative to the first: computing the checksums comes before it
	 * (and is slow under valgrind) */
	ck_assert_uint_le(s.at[0] - t0, 300);
	ck_assert_uint_ge(s.at[1] - s.at[0], 340);
	ck_assert_uint_le(s.at[1] - s.at[0], 500);
	ck_assert_uint_ge(s.at[2] - s.at[0], 940);
	ck_assert_uint_le(s.at[2] - s.at[0], 1150);
	ck_assert_int_le((int)(drp_now_ms() - t0), 1600);
	ck_assert(r.net.error[0] != 0);
	/* no server answered: like the reference, stop asking for a while
	 * instead of spending every request's budget on a dead network */
	memset(&r, 0, sizeof(r));
	ck_assert_ptr_null(drp_dcc_ops.start(loop, ctx, DRP_OP_CHECK, (const uint8_t *)msg,
	                                     strlen(msg), NULL, &r));
	ck_assert_int_eq(r.net.status, DRP_ST_ERROR);
	ck_assert_msg(strstr(r.net.error, "continue not asking") != NULL, "%s", r.net.error);
	ck_assert_int_eq(s.n, 3);
	drp_loop_unwatch(loop, s.fd);
	close(s.fd);
	drp_dcc_ops.ctx_free(ctx);
	drp_loop_free(loop);
	drp_config_free(cfg);
}
END_TEST

/* dccd's answer to the request req: its op_nums echoed (into *on too),
 * sender 1001, count c for every checksum.  Returns the length. */
static size_t make_answer(const uint8_t *req, size_t rlen, uint32_t c,
                          uint8_t ans[DRP_DCC_MAX_ANSWER], struct drp_dcc_opnums *on)
{
	size_t n = (rlen - 44) / 18, len = 40 + 8 * n;

	ck_assert_int_eq(drp_dcc_read_opnums(req, rlen, on), 0);
	memset(ans, 0, DRP_DCC_MAX_ANSWER);
	ans[0] = (uint8_t)(len >> 8);
	ans[1] = (uint8_t)len;
	ans[2] = 12;
	ans[3] = DRP_DCC_OP_ANSWER;
	ans[6] = 0x03;
	ans[7] = 0xe9;
	memcpy(ans + 8, on, 16);
	for (size_t i = 0; i < n; i++)
		ans[24 + 8 * i + 3] = (uint8_t)c;
	return len;
}

/* Answers that are not ours are ignored, the first valid one is taken:
 * an answer with another r, one with a t we never sent, then the real one
 * (built from the request, as the reference server echoes op_nums). */
START_TEST(test_ignores_foreign_answers)
{
	struct drp_config *cfg = drp_config_new();
	struct drp_loop *loop = drp_loop_new();
	struct drp_dcc_result r;
	struct drp_dcc_opnums on;
	struct sockaddr_in sa;
	struct sink s;
	uint8_t ans[DRP_DCC_MAX_ANSWER];
	char spec[64];
	void *ctx, *req;
	size_t n, len;

	memset(&s, 0, sizeof(s));
	s.fd = bound_udp(&sa);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", ntohs(sa.sin_port));
	drp_config_set_flag(cfg, "dcc_servers", spec);
	drp_config_set_flag(cfg, "backend_timeout", "2s");
	ctx = new_ctx(cfg, 0);
	ck_assert_int_eq(drp_loop_watch(loop, s.fd, DRP_EV_READ, sink_read, &s), 0);
	memset(&r, 0, sizeof(r));
	req =
	    drp_dcc_ops.start(loop, ctx, DRP_OP_CHECK, (const uint8_t *)msg, strlen(msg), NULL, &r);
	ck_assert_ptr_nonnull(req);
	drp_loop_run(loop, drp_now_ms() + 100); /* the first transmission arrives */
	ck_assert_int_eq(s.n, 1);
	len = make_answer(s.first, s.first_len, 7, ans, &on); /* c = 7 for every checksum */
	n = (s.first_len - 44) / 18;
	on.r++;
	memcpy(ans + 8, &on, 16);
	sendto(s.fd, ans, len, 0, (struct sockaddr *)&s.from, sizeof(s.from));
	on.r--;
	on.t = 9;
	memcpy(ans + 8, &on, 16);
	sendto(s.fd, ans, len, 0, (struct sockaddr *)&s.from, sizeof(s.from));
	drp_loop_run(loop, drp_now_ms() + 100);
	ck_assert_int_eq(r.net.status, DRP_ST_PENDING);
	on.t = 1;
	memcpy(ans + 8, &on, 16);
	ans[24 + 8 * (n - 1) + 3] = 9;
	sendto(s.fd, ans, len, 0, (struct sockaddr *)&s.from, sizeof(s.from));
	drp_loop_run(loop, drp_now_ms() + 1000);
	drp_dcc_ops.finish(req);
	ck_assert_int_eq(r.net.status, DRP_ST_OK);
	ck_assert_int_eq(r.n, (int)n);
	ck_assert_uint_eq(r.counts[n - 1].c, 9);
	ck_assert_uint_eq(r.server_id, 1001);
	drp_loop_unwatch(loop, s.fd);
	close(s.fd);
	drp_dcc_ops.ctx_free(ctx);
	drp_loop_free(loop);
	drp_config_free(cfg);
}
END_TEST

/* Answer the sink's last request as dccd would, every count c. */
static void answer_last(struct sink *s, uint32_t c)
{
	struct drp_dcc_opnums on;
	uint8_t ans[DRP_DCC_MAX_ANSWER];
	size_t len = make_answer(s->last, s->last_len, c, ans, &on);

	sendto(s->fd, ans, len, 0, (struct sockaddr *)&s->from, sizeof(s->from));
}

/* One check against the sink: answered at once, or (late) only the
 * retransmission.  Returns the count the client took, -1 if not OK. */
static long one_check(struct drp_loop *loop, void *ctx, struct sink *s, uint32_t c, int late,
                      uint16_t *port)
{
	struct drp_dcc_result r;
	void *req;
	int n0 = s->n;

	memset(&r, 0, sizeof(r));
	req =
	    drp_dcc_ops.start(loop, ctx, DRP_OP_CHECK, (const uint8_t *)msg, strlen(msg), NULL, &r);
	ck_assert_ptr_nonnull(req);
	while (s->n < n0 + 1 + late && r.net.status == DRP_ST_PENDING)
		drp_loop_run(loop, drp_now_ms() + 50);
	*port = ntohs(s->from.sin_port);
	answer_last(s, c);
	while (r.net.status == DRP_ST_PENDING)
		drp_loop_run(loop, drp_now_ms() + 50);
	drp_dcc_ops.finish(req);
	return r.net.status == DRP_ST_OK ? (long)r.counts[0].c : -1;
}

/* Back-to-back conversations share one connected socket; a stale answer
 * waiting on it is not taken by the next one; after a conversation that
 * needed a retransmission (a late answer may still come) the socket is
 * replaced. */
START_TEST(test_socket_reuse)
{
	struct drp_config *cfg = drp_config_new();
	struct drp_loop *loop = drp_loop_new();
	struct sockaddr_in sa;
	struct sink s;
	char spec[64];
	uint16_t p1, p2, p3, p4;
	void *ctx;

	memset(&s, 0, sizeof(s));
	s.fd = bound_udp(&sa);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", ntohs(sa.sin_port));
	drp_config_set_flag(cfg, "dcc_servers", spec);
	drp_config_set_flag(cfg, "backend_timeout", "3s");
	ctx = new_ctx(cfg, 0);
	ck_assert_int_eq(drp_loop_watch(loop, s.fd, DRP_EV_READ, sink_read, &s), 0);
	ck_assert_int_eq(one_check(loop, ctx, &s, 5, 0, &p1), 5);
	/* a duplicate answer to the finished conversation, sent late */
	answer_last(&s, 77);
	usleep(20000);
	ck_assert_int_eq(one_check(loop, ctx, &s, 6, 0, &p2), 6);
	ck_assert_uint_eq(p1, p2);
	ck_assert_int_eq(one_check(loop, ctx, &s, 8, 1, &p3), 8);
	ck_assert_uint_eq(p2, p3);
	ck_assert_int_eq(one_check(loop, ctx, &s, 9, 0, &p4), 9);
	ck_assert_uint_ne(p3, p4);
	drp_loop_unwatch(loop, s.fd);
	close(s.fd);
	drp_dcc_ops.ctx_free(ctx);
	drp_loop_free(loop);
	drp_config_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dcc_client");
	TCase *tc = tcase_create("client");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ids_parse);
	tcase_add_test(tc, test_ids_files);
	tcase_add_test(tc, test_map_parse);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_revoke_and_json);
	tcase_add_test(tc, test_retransmission_schedule);
	tcase_add_test(tc, test_ignores_foreign_answers);
	tcase_add_test(tc, test_socket_reuse);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
