/* Unit tests: fanout with fake networks (fast, silent, failing, instant):
 * one deadline for all, results kept, nothing left on the loop; and the
 * verdict of a mixed fan-out. */
#include <arpa/inet.h>
#include <check.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanout.h"
#include "verdict.h"

/* A fake network: its behaviour comes from config key "<name>_fake":
 * ok (answers after 100 ms through a real socket pair), never (a UDP socket
 * that never gets an answer), error, instant (answers inside start). */
struct fake_ctx {
	char mode[32];
	int started, finished;
};
struct fake_res {
	struct drp_net_result net;
	int listed;
};
struct fake_req {
	struct drp_loop *loop;
	struct fake_ctx *ctx;
	struct fake_res *res;
	int fd[2];
	long timer;
	uint64_t t0;
};

static int fake_ctx_new(const char *name, const struct drp_config *cfg, void **ctx)
{
	struct fake_ctx *c = calloc(1, sizeof(*c));
	char key[64];
	const char *v;

	snprintf(key, sizeof(key), "%s_fake", name);
	v = drp_config_get(cfg, key);
	snprintf(c->mode, sizeof(c->mode), "%s", v ? v : "off");
	*ctx = c;
	return 0;
}
#define FAKE_CTX(n)                                                                                \
	static int n##_ctx_new(const struct drp_config *cfg, void **ctx, char *e, size_t el)       \
	{                                                                                          \
		return fake_ctx_new(#n, cfg, ctx);                                                 \
	}
FAKE_CTX(dcc)
FAKE_CTX(razor)
FAKE_CTX(pyzor)

static int fake_enabled(const void *ctx)
{
	return strcmp(((const struct fake_ctx *)ctx)->mode, "off") != 0;
}

static void fake_ctx_free(void *ctx)
{
	free(ctx);
}

static void on_answer(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct fake_req *r = arg;
	char b[8];

	ck_assert_int_eq(read(fd, b, sizeof(b)), 1);
	drp_loop_unwatch(l, fd);
	r->res->net.status = DRP_ST_OK;
	r->res->net.latency_ms = (long)(drp_now_ms() - r->t0);
	r->res->listed = b[0] == 'L';
}

static void on_timer(struct drp_loop *l, void *arg)
{
	struct fake_req *r = arg;

	r->timer = 0;
	ck_assert_int_eq(write(r->fd[1], "L", 1), 1);
}

static void *fake_start(struct drp_loop *loop, void *ctx, enum drp_op op, const uint8_t *msg,
                        size_t len, const struct drp_envelope *env, void *res)
{
	struct fake_ctx *c = ctx;
	struct fake_req *r;

	c->started++;
	if (strcmp(c->mode, "instant") == 0) {
		((struct fake_res *)res)->net.status = DRP_ST_OK;
		return NULL;
	}
	if (strcmp(c->mode, "error") == 0) {
		((struct fake_res *)res)->net.status = DRP_ST_ERROR;
		snprintf(((struct fake_res *)res)->net.error, 160, "refused");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	r->loop = loop;
	r->ctx = c;
	r->res = res;
	r->t0 = drp_now_ms();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, r->fd), 0);
	drp_loop_watch(loop, r->fd[0], DRP_EV_READ, on_answer, r);
	if (strcmp(c->mode, "ok") == 0)
		r->timer = drp_loop_timer(loop, 100, on_timer, r);
	return r;
}

static void fake_finish(void *req)
{
	struct fake_req *r = req;

	r->ctx->finished++;
	if (r->res->net.status == DRP_ST_PENDING) {
		r->res->net.status = DRP_ST_TIMEOUT;
		snprintf(r->res->net.error, sizeof(r->res->net.error), "no answer");
	}
	drp_loop_unwatch(r->loop, r->fd[0]);
	if (r->timer > 0)
		drp_loop_cancel(r->loop, r->timer);
	close(r->fd[0]);
	close(r->fd[1]);
	free(r);
}

static void fake_json(const void *res, enum drp_op op, struct json_object *o)
{
	const struct fake_res *r = res;

	json_object_object_add(o, "listed", json_object_new_boolean(r->listed));
}

static void dcc_json(const void *res, enum drp_op op, struct json_object *o)
{
	const struct fake_res *r = res;

	json_object_object_add(o, "action",
	                       json_object_new_string(r->listed ? "reject" : "accept"));
	json_object_object_add(o, "bulk", json_object_new_int(r->listed ? 999 : 0));
}

static int fake_listed(const void *res)
{
	return ((const struct fake_res *)res)->listed;
}

#define FAKE_OPS(n, js)                                                                            \
	static const struct drp_net_ops fake_##n = {                                               \
	    .name = #n,                                                                            \
	    .result_size = sizeof(struct fake_res),                                                \
	    .ctx_new = n##_ctx_new,                                                                \
	    .enabled = fake_enabled,                                                               \
	    .ctx_free = fake_ctx_free,                                                             \
	    .start = fake_start,                                                                   \
	    .finish = fake_finish,                                                                 \
	    .result_json = js,                                                                     \
	    .listed = fake_listed,                                                                 \
	}
FAKE_OPS(dcc, dcc_json);
FAKE_OPS(razor, fake_json);
FAKE_OPS(pyzor, fake_json);
static const struct drp_net_ops *const fakes[] = {&fake_dcc, &fake_razor, &fake_pyzor};

static struct drp_config *cfg3(const char *dcc, const char *razor, const char *pyzor,
                               const char *timeout)
{
	struct drp_config *c = drp_config_new();

	drp_config_set_flag(c, "dcc_fake", dcc);
	drp_config_set_flag(c, "razor_fake", razor);
	drp_config_set_flag(c, "pyzor_fake", pyzor);
	drp_config_set_flag(c, "backend_timeout", timeout);
	return c;
}

static const uint8_t msg[] = "Subject: x\r\n\r\nbody\r\n";

START_TEST(all_answer)
{
	struct drp_config *c = cfg3("ok", "ok", "instant", "2");
	struct drp_fanout f;
	struct drp_fanout_result r;
	char err[256];
	uint64_t t0;

	ck_assert_int_eq(drp_fanout_init(&f, c, fakes, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(drp_fanout_enabled(&f), 3);
	t0 = drp_now_ms();
	ck_assert_int_eq(
	    drp_fanout_run(&f, DRP_OP_CHECK, msg, sizeof(msg) - 1, NULL, &r, err, sizeof(err)), 0);
	/* both 100 ms answers ran concurrently, not one after the other */
	ck_assert_uint_lt(drp_now_ms() - t0, 190);
	ck_assert_int_eq(drp_fanout_get(&r, "dcc")->status, DRP_ST_OK);
	ck_assert_int_eq(drp_fanout_get(&r, "razor")->status, DRP_ST_OK);
	ck_assert_int_eq(drp_fanout_get(&r, "pyzor")->status, DRP_ST_OK);
	ck_assert_int_ge(drp_fanout_get(&r, "dcc")->latency_ms, 99);
	ck_assert(drp_fanout_all_ok(&r));
	ck_assert(drp_fanout_listed(&r));
	ck_assert_int_eq(drp_loop_pending(f.loop), 0);
	drp_fanout_result_free(&r);
	drp_fanout_free(&f);
	drp_config_free(c);
}
END_TEST

START_TEST(silent_network_costs_the_budget_only)
{
	struct drp_config *c = cfg3("never", "ok", "error", "300ms");
	struct drp_fanout f;
	struct drp_fanout_result r;
	char err[256];
	uint64_t t0, dt;
	int i;

	ck_assert_int_eq(drp_fanout_init(&f, c, fakes, 3, err, sizeof(err)), 0);
	for (i = 0; i < 2; i++) { /* the loop is reused: twice */
		t0 = drp_now_ms();
		ck_assert_int_eq(drp_fanout_run(&f, DRP_OP_CHECK, msg, sizeof(msg) - 1, NULL, &r,
		                                err, sizeof(err)),
		                 0);
		dt = drp_now_ms() - t0;
		ck_assert_uint_ge(dt, 299);
		ck_assert_uint_le(dt, 350); /* budget + 50 ms */
		ck_assert_int_eq(drp_fanout_get(&r, "dcc")->status, DRP_ST_TIMEOUT);
		ck_assert_int_ge(drp_fanout_get(&r, "dcc")->latency_ms, 299);
		ck_assert_int_eq(drp_fanout_get(&r, "razor")->status, DRP_ST_OK);
		ck_assert_int_eq(drp_fanout_get(&r, "pyzor")->status, DRP_ST_ERROR);
		ck_assert(!drp_fanout_all_ok(&r));
		ck_assert_int_eq(drp_loop_pending(f.loop), 0);
		drp_fanout_result_free(&r);
	}
	drp_fanout_free(&f);
	drp_config_free(c);
}
END_TEST

START_TEST(disabled_networks_not_started)
{
	struct drp_config *c = cfg3("off", "instant", "off", "1");
	struct drp_fanout f;
	struct drp_fanout_result r;
	char err[256];

	ck_assert_int_eq(drp_fanout_init(&f, c, fakes, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(drp_fanout_enabled(&f), 1);
	ck_assert_int_eq(
	    drp_fanout_run(&f, DRP_OP_REPORT, msg, sizeof(msg) - 1, NULL, &r, err, sizeof(err)), 0);
	ck_assert_int_eq(((struct fake_ctx *)f.net[0].ctx)->started, 0);
	ck_assert_int_eq(drp_fanout_get(&r, "dcc")->status, DRP_ST_DISABLED);
	ck_assert_int_eq(drp_fanout_get(&r, "razor")->status, DRP_ST_OK);
	ck_assert(drp_fanout_all_ok(&r));
	drp_fanout_result_free(&r);
	drp_fanout_free(&f);
	drp_config_free(c);
}
END_TEST

START_TEST(bad_timeout_is_a_config_error)
{
	struct drp_config *c = cfg3("ok", "ok", "ok", "soon");
	struct drp_fanout f;
	char err[256] = "";

	ck_assert_int_eq(drp_fanout_init(&f, c, fakes, 3, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "backend_timeout"));
	drp_config_free(c);
}
END_TEST

START_TEST(verdict_of_a_timeout_is_not_clean)
{
	struct drp_config *c = cfg3("never", "ok", "error", "100ms");
	struct drp_fanout f;
	struct drp_fanout_result r;
	struct json_object *o, *d, *v;
	char err[256];

	ck_assert_int_eq(drp_fanout_init(&f, c, fakes, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    drp_fanout_run(&f, DRP_OP_CHECK, msg, sizeof(msg) - 1, NULL, &r, err, sizeof(err)), 0);
	o = drp_verdict_json(&r);
	ck_assert(json_object_object_get_ex(o, "dcc", &d));
	ck_assert(json_object_object_get_ex(d, "status", &v));
	ck_assert_str_eq(json_object_get_string(v), "timeout");
	ck_assert(json_object_object_get_ex(d, "action", &v));
	ck_assert_str_eq(json_object_get_string(v), "unknown");
	ck_assert(json_object_object_get_ex(d, "bulk", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_object_get_ex(d, "error", &v));
	ck_assert(json_object_object_get_ex(o, "pyzor", &d));
	ck_assert(json_object_object_get_ex(d, "status", &v));
	ck_assert_str_eq(json_object_get_string(v), "error");
	ck_assert(json_object_object_get_ex(d, "error", &v));
	ck_assert_str_eq(json_object_get_string(v), "refused");
	json_object_put(o);
	drp_fanout_result_free(&r);
	drp_fanout_free(&f);
	drp_config_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fanout");
	TCase *t = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_set_timeout(t, 20);
	tcase_add_test(t, all_answer);
	tcase_add_test(t, silent_network_costs_the_budget_only);
	tcase_add_test(t, disabled_networks_not_started);
	tcase_add_test(t, bad_timeout_is_a_config_error);
	tcase_add_test(t, verdict_of_a_timeout_is_not_clean);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
