/* Unit tests: the FastCGI codec (records, padding, splitting, name-value
 * lengths, malformed input) and the service layer (routing, the order of
 * checks before the body, envelope headers, cache key) with a fake
 * network standing in for all three. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_fcgi.h"
#include "svc.h"

/* --- codec ---------------------------------------------------------------- */

START_TEST(record_roundtrip_and_padding)
{
	struct drp_buf b;
	struct drp_fcgi_record r;
	long n;
	size_t i;

	drp_buf_init(&b);
	ck_assert_int_eq(drp_fcgi_put_record(&b, DRP_FCGI_STDOUT, 258, "abc", 3), 0);
	ck_assert_uint_eq(b.len, 16); /* 8 header + 3 + 5 padding */
	ck_assert_uint_eq(b.p[0], 1);
	ck_assert_uint_eq(b.p[2], 1);
	ck_assert_uint_eq(b.p[3], 2);
	ck_assert_uint_eq(b.p[6], 5);
	for (i = 0; i < b.len; i++) /* every prefix is "need more" */
		ck_assert_int_eq(drp_fcgi_parse(b.p, i, &r), 0);
	n = drp_fcgi_parse(b.p, b.len, &r);
	ck_assert_int_eq(n, 16);
	ck_assert_uint_eq(r.type, DRP_FCGI_STDOUT);
	ck_assert_uint_eq(r.id, 258);
	ck_assert_uint_eq(r.len, 3);
	ck_assert_int_eq(memcmp(r.content, "abc", 3), 0);
	/* version 2 and type 0 are not FastCGI 1.0 */
	b.p[0] = 2;
	ck_assert_int_eq(drp_fcgi_parse(b.p, b.len, &r), -1);
	b.p[0] = 1;
	b.p[1] = 0;
	ck_assert_int_eq(drp_fcgi_parse(b.p, b.len, &r), -1);
	ck_assert_int_eq(drp_fcgi_put_record(&b, 6, 1, b.p, 70000), -1);
	drp_buf_free(&b);
}
END_TEST

START_TEST(stream_split)
{
	struct drp_buf b, back;
	size_t n = 200000, off = 0;
	uint8_t *data = malloc(n);
	int records = 0;

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7);
	drp_buf_init(&b);
	drp_buf_init(&back);
	ck_assert_int_eq(drp_fcgi_put_stream(&b, DRP_FCGI_STDIN, 1, data, n), 0);
	ck_assert_int_eq(drp_fcgi_put_stream(&b, DRP_FCGI_STDIN, 1, NULL, 0), 0);
	for (;;) {
		struct drp_fcgi_record r;
		long k = drp_fcgi_parse(b.p + off, b.len - off, &r);

		ck_assert_int_gt(k, 0);
		off += (size_t)k;
		records++;
		if (r.len == 0)
			break;
		drp_buf_append(&back, r.content, r.len);
	}
	ck_assert_uint_eq(off, b.len);
	ck_assert_int_eq(records, 5); /* 3 full + 1 partial + end */
	ck_assert_uint_eq(back.len, n);
	ck_assert_int_eq(memcmp(back.p, data, n), 0);
	drp_buf_free(&b);
	drp_buf_free(&back);
	free(data);
}
END_TEST

START_TEST(name_values)
{
	struct drp_buf b;
	const uint8_t *p;
	size_t n;
	struct drp_slice k, v;
	char big[300];

	memset(big, 'x', sizeof(big));
	drp_buf_init(&b);
	drp_fcgi_nv_put(&b, "A", 1, "", 0);
	drp_fcgi_nv_put(&b, "LONG", 4, big, sizeof(big)); /* 4-byte length */
	p = b.p;
	n = b.len;
	ck_assert_int_eq(drp_fcgi_nv_next(&p, &n, &k, &v), 1);
	ck_assert(drp_slice_ieq(k, "A") && v.len == 0);
	ck_assert_int_eq(drp_fcgi_nv_next(&p, &n, &k, &v), 1);
	ck_assert(drp_slice_ieq(k, "LONG") && v.len == 300);
	ck_assert_int_eq(drp_fcgi_nv_next(&p, &n, &k, &v), 0);
	/* a length running past the end */
	p = b.p;
	n = b.len - 1;
	ck_assert_int_eq(drp_fcgi_nv_next(&p, &n, &k, &v), 1);
	ck_assert_int_eq(drp_fcgi_nv_next(&p, &n, &k, &v), -1);
	{
		const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 1, 'a'};

		p = huge;
		n = sizeof(huge);
		ck_assert_int_eq(drp_fcgi_nv_next(&p, &n, &k, &v), -1);
	}
	drp_buf_free(&b);
}
END_TEST

/* --- svc with a fake network ------------------------------------------- */

struct fres {
	struct drp_net_result net;
	int listed;
	int nrcpt;
};
static int fake_started;
static int f_ctx_new(const struct drp_config *c, void **ctx, char *e, size_t el)
{
	*ctx = NULL;
	return 0;
}
static int f_enabled(const void *ctx)
{
	return 1;
}
static void f_free(void *ctx)
{
}
static void *f_start(struct drp_loop *l, void *ctx, enum drp_op op, const uint8_t *m, size_t n,
                     const struct drp_envelope *env, void *res)
{
	struct fres *r = res;

	fake_started++;
	r->net.status = DRP_ST_OK;
	r->listed = drp_memmem(m, n, "SPAM", 4) != NULL;
	r->nrcpt = env ? env->n_rcpt : -1;
	return NULL;
}
static void f_finish(void *req)
{
}
static void f_json(const void *res, enum drp_op op, struct json_object *o)
{
	const struct fres *r = res;

	json_object_object_add(o, "action",
	                       json_object_new_string(r->listed ? "reject" : "accept"));
	json_object_object_add(o, "bulk", json_object_new_int(r->listed));
	json_object_object_add(o, "rcpts", json_object_new_int(r->nrcpt));
}
static int f_listed(const void *res)
{
	return ((const struct fres *)res)->listed;
}
static const struct drp_net_ops fake_dcc = {
    .name = "dcc",
    .result_size = sizeof(struct fres),
    .ctx_new = f_ctx_new,
    .enabled = f_enabled,
    .ctx_free = f_free,
    .start = f_start,
    .finish = f_finish,
    .result_json = f_json,
    .listed = f_listed,
};
static const struct drp_net_ops *const fakes[] = {&fake_dcc};

#define TOK "unit-token-0123456789"
#define CTOK "unit-check-0123456789"

static void svc_up(struct drp_svc *s, int with_token)
{
	struct drp_config *c = drp_config_new();
	struct drp_svc_opts o = {.ops = fakes, .nops = 1, .no_cache = 1};
	char err[256];

	unsetenv("DRP_TOKEN");
	unsetenv("DRP_TOKEN_FILE");
	if (with_token) {
		drp_config_set_flag(c, "token", TOK);
		drp_config_set_flag(c, "check_token", CTOK);
	}
	drp_config_set_flag(c, "max_body", "4k");
	ck_assert_msg(drp_svc_init(s, c, &o, err, sizeof(err)) == 0, "%s", err);
}

/* route + (maybe) handle, as the worker does; returns the status */
static int call(struct drp_svc *s, const char *method, const char *uri, const char *auth,
                const char *body, long long clen, struct drp_svc_req *req,
                struct drp_svc_resp *resp)
{
	memset(req, 0, sizeof(*req));
	drp_svc_resp_init(resp);
	req->method = method;
	req->uri = uri;
	req->authorization = auth;
	req->content_length = clen;
	if (drp_svc_route(s, req, resp)) {
		req->body = (const uint8_t *)body;
		req->body_len = body ? strlen(body) : 0;
		drp_svc_handle(s, req, resp);
	}
	drp_svc_done(s, req, resp);
	return resp->status;
}

static int is_error_json(const struct drp_svc_resp *r)
{
	struct json_object *o = json_tokener_parse(drp_buf_cstr((struct drp_buf *)&r->body)), *e;
	int ok = o != NULL && json_object_object_length(o) == 1 &&
	         json_object_object_get_ex(o, "error", &e) &&
	         json_object_is_type(e, json_type_string);

	json_object_put(o);
	return ok;
}

START_TEST(routing_and_order_of_checks)
{
	struct drp_svc s;
	struct drp_svc_req q;
	struct drp_svc_resp r;
	static const char msg[] = "Subject: x\r\n\r\nhello\r\n";

	svc_up(&s, 1);
	fake_started = 0;
	ck_assert_int_eq(call(&s, "GET", "/health", NULL, NULL, -1, &q, &r), 200);
	ck_assert_str_eq(drp_buf_cstr(&r.body), "ok\n");
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "GET", "/metrics?x=1", NULL, NULL, -1, &q, &r), 200);
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "DELETE", "/health", NULL, NULL, -1, &q, &r), 405);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "POST", "/nope", "Bearer " TOK, msg, 10, &q, &r), 404);
	ck_assert(is_error_json(&r));
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "GET", "/check", "Bearer " TOK, NULL, -1, &q, &r), 405);
	drp_svc_resp_free(&r);
	/* auth comes before the size: an unauthenticated client learns nothing */
	ck_assert_int_eq(call(&s, "POST", "/check", NULL, msg, 1LL << 40, &q, &r), 401);
	ck_assert(is_error_json(&r));
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "POST", "/check", "Bearer " TOK, msg, 5000, &q, &r), 413);
	ck_assert(r.close);
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "POST", "/report", "Bearer " CTOK, msg, 10, &q, &r), 403);
	drp_svc_resp_free(&r);
	ck_assert_int_eq(fake_started, 0); /* nothing reached the network so far */
	ck_assert_int_eq(call(&s, "POST", "/check", "Bearer " TOK, msg, 10, &q, &r), 200);
	ck_assert_int_eq(fake_started, 1);
	ck_assert_ptr_nonnull(strstr(drp_buf_cstr(&r.body), "\"action\":\"accept\""));
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "POST", "/check?x", "Bearer " CTOK, "SPAM", 4, &q, &r), 200);
	ck_assert_ptr_nonnull(strstr(drp_buf_cstr(&r.body), "\"action\":\"reject\""));
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "POST", "/check", "Bearer " TOK, "", 0, &q, &r), 400);
	drp_svc_resp_free(&r);
	/* a body over max_body with no declared length is caught too */
	{
		char *big = malloc(5000);

		memset(big, 'a', 4999);
		big[4999] = 0;
		ck_assert_int_eq(call(&s, "POST", "/check", "Bearer " TOK, big, -1, &q, &r), 413);
		drp_svc_resp_free(&r);
		free(big);
	}
	ck_assert_uint_eq(drp_metrics_requests(s.metrics, DRP_EP_CHECK, 401), 1);
	ck_assert_uint_eq(drp_metrics_requests(s.metrics, DRP_EP_CHECK, 200), 2);
	ck_assert_uint_eq(drp_metrics_requests(s.metrics, DRP_EP_REPORT, 403), 1);
	s.draining = 1;
	ck_assert_int_eq(call(&s, "GET", "/health", NULL, NULL, -1, &q, &r), 503);
	drp_svc_resp_free(&r);
	drp_svc_free(&s);
}
END_TEST

START_TEST(no_token_is_503)
{
	struct drp_svc s;
	struct drp_svc_req q;
	struct drp_svc_resp r;

	svc_up(&s, 0);
	ck_assert_int_eq(call(&s, "POST", "/check", "Bearer " TOK, "x", 1, &q, &r), 503);
	ck_assert(is_error_json(&r));
	ck_assert_ptr_nonnull(strstr(drp_buf_cstr(&r.body), "token"));
	drp_svc_resp_free(&r);
	ck_assert_int_eq(call(&s, "GET", "/health", NULL, NULL, -1, &q, &r), 503);
	drp_svc_resp_free(&r);
	drp_svc_free(&s);
}
END_TEST

START_TEST(envelope_headers)
{
	struct drp_svc s;
	struct drp_svc_req q;
	struct drp_svc_resp r;

	svc_up(&s, 1);
	memset(&q, 0, sizeof(q));
	drp_svc_resp_init(&r);
	q.method = "POST";
	q.uri = "/check";
	q.x_token = TOK;
	q.content_length = -1;
	q.client_ip = "2001:db8::1";
	q.rcpt[0] = "a@x, b@x ,, c@x";
	q.rcpt[1] = "d@x";
	q.nrcpt = 2;
	ck_assert_int_eq(drp_svc_route(&s, &q, &r), 1);
	q.body = (const uint8_t *)"body";
	q.body_len = 4;
	drp_svc_handle(&s, &q, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(drp_buf_cstr(&r.body), "\"rcpts\":4"));
	drp_svc_resp_free(&r);
	drp_svc_resp_init(&r);
	q.client_ip = "10.0.0.300";
	drp_svc_handle(&s, &q, &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert(is_error_json(&r));
	drp_svc_resp_free(&r);
	drp_svc_resp_init(&r);
	q.client_ip = NULL;
	q.helo = "bad\r\nhelo";
	drp_svc_handle(&s, &q, &r);
	ck_assert_int_eq(r.status, 400);
	drp_svc_resp_free(&r);
	drp_svc_free(&s);
}
END_TEST

START_TEST(cache_key_covers_the_envelope)
{
	struct drp_envelope a = {0}, b = {0};
	uint8_t k1[32], k2[32], k3[32];

	drp_svc_cache_key((const uint8_t *)"msg", 3, &a, k1);
	drp_svc_cache_key((const uint8_t *)"msg", 3, NULL, k2);
	ck_assert_int_eq(memcmp(k1, k2, 32), 0); /* no envelope == empty envelope */
	b.client_ip = "192.0.2.1";
	drp_svc_cache_key((const uint8_t *)"msg", 3, &b, k3);
	ck_assert_int_ne(memcmp(k1, k3, 32), 0);
	/* field boundaries matter: helo "ab" + from "c" != helo "a" + from "bc" */
	a.helo = "ab";
	a.env_from = "c";
	b.client_ip = NULL;
	b.helo = "a";
	b.env_from = "bc";
	drp_svc_cache_key((const uint8_t *)"msg", 3, &a, k1);
	drp_svc_cache_key((const uint8_t *)"msg", 3, &b, k2);
	ck_assert_int_ne(memcmp(k1, k2, 32), 0);
	/* NULs in the body count */
	drp_svc_cache_key((const uint8_t *)"m\0a", 3, NULL, k1);
	drp_svc_cache_key((const uint8_t *)"m\0b", 3, NULL, k2);
	ck_assert_int_ne(memcmp(k1, k2, 32), 0);
}
END_TEST

START_TEST(sizes_and_config_dump)
{
	struct drp_config *c = drp_config_new();
	struct drp_buf b;
	size_t n;
	char err[128];

	ck_assert_int_eq(drp_svc_parse_size("k", "8m", 0, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 8u << 20);
	ck_assert_int_eq(drp_svc_parse_size("k", "64KiB", 0, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 65536);
	ck_assert_int_eq(drp_svc_parse_size("max_body", "-1", 0, &n, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "max_body"));
	ck_assert_int_eq(drp_svc_parse_size("k", "12q", 0, &n, err, sizeof(err)), -1);
	drp_config_set_flag(c, "token", "supersecret-0123456789");
	drp_config_set_flag(c, "cache", "redis://:hunter2@127.0.0.1:6379/1");
	drp_config_set_flag(c, "pyzor_key", "abcdef");
	drp_buf_init(&b);
	drp_svc_dump_config(c, &b);
	ck_assert_ptr_null(strstr(drp_buf_cstr(&b), "supersecret"));
	ck_assert_ptr_null(strstr(drp_buf_cstr(&b), "hunter2"));
	ck_assert_ptr_null(strstr(drp_buf_cstr(&b), "abcdef"));
	ck_assert_ptr_nonnull(strstr(drp_buf_cstr(&b), "cache = redis://***@127.0.0.1:6379/1"));
	ck_assert_ptr_nonnull(strstr(drp_buf_cstr(&b), "token = ********    # flag, DRP_TOKEN"));
	drp_buf_free(&b);
	drp_config_set_flag(c, "backend_timeout", "forever");
	ck_assert_int_eq(drp_svc_check_config(c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "backend_timeout"));
	drp_config_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fcgi");
	TCase *t = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(t, record_roundtrip_and_padding);
	tcase_add_test(t, stream_split);
	tcase_add_test(t, name_values);
	tcase_add_test(t, routing_and_order_of_checks);
	tcase_add_test(t, no_token_is_503);
	tcase_add_test(t, envelope_headers);
	tcase_add_test(t, cache_key_covers_the_envelope);
	tcase_add_test(t, sizes_and_config_dump);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
