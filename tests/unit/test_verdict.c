/* Unit tests: verdict JSON — gozer's field types for every status, the
 * failed-never-clean rule, /report and /revoke shapes. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "verdict.h"

struct res {
	struct drp_net_result net;
	int v;
};

/* Each fake prints what a real network would, sometimes with the wrong
 * types, to prove the verdict enforces gozer's. */
static void dcc_json(const void *r, enum drp_op op, struct json_object *o)
{
	const struct res *x = r;

	json_object_object_add(o, "action", json_object_new_string(x->v ? "reject" : "accept"));
	json_object_object_add(o, "bulk", json_object_new_int(x->v));
	json_object_object_add(o, "checksums", json_object_new_array());
}

static void razor_json(const void *r, enum drp_op op, struct json_object *o)
{
	const struct res *x = r;

	json_object_object_add(o, "hit", json_object_new_boolean(x->v > 0));
	json_object_object_add(o, "cf", json_object_new_int(x->v));
}

static void pyzor_json(const void *r, enum drp_op op, struct json_object *o)
{
	const struct res *x = r;

	/* a network that forgot "wl" and printed count as a string */
	json_object_object_add(o, "count", json_object_new_string("7"));
	(void)x;
}

static const struct drp_net_ops ops[3] = {
    {.name = "dcc", .result_size = sizeof(struct res), .result_json = dcc_json},
    {.name = "razor", .result_size = sizeof(struct res), .result_json = razor_json},
    {.name = "pyzor", .result_size = sizeof(struct res), .result_json = pyzor_json},
};

static struct res rs[3];

static void setup(struct drp_fanout_result *r, enum drp_op op, enum drp_status a, enum drp_status b,
                  enum drp_status c)
{
	int i;

	memset(r, 0, sizeof(*r));
	memset(rs, 0, sizeof(rs));
	r->op = op;
	r->n = 3;
	for (i = 0; i < 3; i++) {
		r->ops[i] = &ops[i];
		r->res[i] = &rs[i];
		rs[i].net.latency_ms = 10 + i;
	}
	rs[0].net.status = a;
	rs[1].net.status = b;
	rs[2].net.status = c;
	rs[0].v = 12;
	rs[1].v = 50;
}

static struct json_object *field(struct json_object *o, const char *net, const char *key)
{
	struct json_object *n, *v;

	ck_assert_msg(json_object_object_get_ex(o, net, &n), "missing %s", net);
	if (key == NULL)
		return n;
	ck_assert_msg(json_object_object_get_ex(n, key, &v), "missing %s.%s", net, key);
	return v;
}

START_TEST(check_ok_types)
{
	struct drp_fanout_result r;
	struct json_object *o;
	struct drp_buf b;

	setup(&r, DRP_OP_CHECK, DRP_ST_OK, DRP_ST_OK, DRP_ST_OK);
	o = drp_verdict_json(&r);
	ck_assert_str_eq(json_object_get_string(field(o, "dcc", "action")), "reject");
	ck_assert(json_object_is_type(field(o, "dcc", "bulk"), json_type_int));
	ck_assert_int_eq(json_object_get_int(field(o, "dcc", "bulk")), 12);
	ck_assert(json_object_is_type(field(o, "dcc", "checksums"), json_type_array));
	ck_assert(json_object_is_type(field(o, "razor", "hit"), json_type_boolean));
	ck_assert(json_object_get_boolean(field(o, "razor", "hit")));
	ck_assert_int_eq(json_object_get_int(field(o, "razor", "cf")), 50);
	/* the wrong-typed count is replaced, the missing wl supplied */
	ck_assert(json_object_is_type(field(o, "pyzor", "count"), json_type_int));
	ck_assert(json_object_is_type(field(o, "pyzor", "wl"), json_type_int));
	ck_assert_str_eq(json_object_get_string(field(o, "pyzor", "status")), "ok");
	ck_assert_int_eq(json_object_get_int(field(o, "razor", "latency_ms")), 11);
	ck_assert(!json_object_object_get_ex(field(o, "dcc", NULL), "error", NULL));
	json_object_put(o);
	drp_buf_init(&b);
	ck_assert_int_eq(drp_verdict_append(&r, &b), 0);
	ck_assert_ptr_nonnull(drp_memmem(b.p, b.len, "\"dcc\":{", 7));
	drp_buf_free(&b);
}
END_TEST

START_TEST(check_failed_is_not_clean)
{
	struct drp_fanout_result r;
	struct json_object *o;

	setup(&r, DRP_OP_CHECK, DRP_ST_ERROR, DRP_ST_TIMEOUT, DRP_ST_DISABLED);
	snprintf(rs[0].net.error, sizeof(rs[0].net.error), "server said no");
	o = drp_verdict_json(&r);
	ck_assert_str_eq(json_object_get_string(field(o, "dcc", "action")), "unknown");
	ck_assert_ptr_null(field(o, "dcc", "bulk"));
	ck_assert_str_eq(json_object_get_string(field(o, "dcc", "status")), "error");
	ck_assert_str_eq(json_object_get_string(field(o, "dcc", "error")), "server said no");
	ck_assert_str_eq(json_object_get_string(field(o, "razor", "status")), "timeout");
	ck_assert(json_object_is_type(field(o, "razor", "hit"), json_type_boolean));
	ck_assert_str_eq(json_object_get_string(field(o, "razor", "error")), "timeout");
	ck_assert_str_eq(json_object_get_string(field(o, "pyzor", "status")), "disabled");
	ck_assert_int_eq(json_object_get_int(field(o, "pyzor", "count")), 0);
	json_object_put(o);
}
END_TEST

START_TEST(missing_network_is_disabled)
{
	struct drp_fanout_result r;
	struct json_object *o;

	setup(&r, DRP_OP_CHECK, DRP_ST_OK, DRP_ST_OK, DRP_ST_OK);
	r.n = 1; /* only dcc configured in this build */
	o = drp_verdict_json(&r);
	ck_assert_str_eq(json_object_get_string(field(o, "razor", "status")), "disabled");
	ck_assert_str_eq(json_object_get_string(field(o, "pyzor", "status")), "disabled");
	ck_assert(json_object_is_type(field(o, "pyzor", "wl"), json_type_int));
	json_object_put(o);
}
END_TEST

START_TEST(report_and_revoke)
{
	struct drp_fanout_result r;
	struct json_object *o, *v;

	setup(&r, DRP_OP_REPORT, DRP_ST_OK, DRP_ST_ERROR, DRP_ST_OK);
	o = drp_verdict_json(&r);
	ck_assert(json_object_object_get_ex(o, "dcc", &v) && json_object_get_boolean(v));
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert(json_object_object_get_ex(o, "razor", &v) && !json_object_get_boolean(v));
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert(json_object_object_get_ex(o, "pyzor", &v) && json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "detail", &v));
	ck_assert_str_eq(json_object_get_string(field(v, "razor", "status")), "error");
	json_object_put(o);

	setup(&r, DRP_OP_REVOKE, DRP_ST_DISABLED, DRP_ST_OK, DRP_ST_TIMEOUT);
	o = drp_verdict_json(&r);
	ck_assert(json_object_object_get_ex(o, "dcc", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_object_get_ex(o, "razor", &v) && json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "pyzor", &v) && !json_object_get_boolean(v));
	json_object_put(o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verdict");
	TCase *t = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(t, check_ok_types);
	tcase_add_test(t, check_failed_is_not_clean);
	tcase_add_test(t, missing_network_is_disabled);
	tcase_add_test(t, report_and_revoke);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
