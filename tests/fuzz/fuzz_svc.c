/*
 * libFuzzer: one HTTP request as the service layer sees it — method, path,
 * credentials, the X-DRP-* envelope headers and the body, all taken from
 * the input (NUL-separated fields) — through routing, auth, envelope
 * parsing, the cache key, a fan-out over a fake network and the verdict
 * JSON.  The answer must always be a status the API defines, with a body
 * that is JSON (or the text of /health and /metrics).
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fres {
	struct drp_net_result net;
	int n;
};

static int f_new(const struct drp_config *c, void **ctx, char *e, size_t el)
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

	r->net.status = n % 3 == 0 ? DRP_ST_ERROR : DRP_ST_OK;
	r->n = env->n_rcpt;
	return NULL;
}
static void f_finish(void *req)
{
}
static void f_json(const void *res, enum drp_op op, struct json_object *o)
{
	json_object_object_add(o, "hit", json_object_new_boolean(((const struct fres *)res)->n));
}
static const struct drp_net_ops fake = {
    .name = "razor",
    .result_size = sizeof(struct fres),
    .ctx_new = f_new,
    .enabled = f_enabled,
    .ctx_free = f_free,
    .start = f_start,
    .finish = f_finish,
    .result_json = f_json,
};
static const struct drp_net_ops *const ops[] = {&fake};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct drp_svc svc;
	static int init;
	struct drp_svc_req req;
	struct drp_svc_resp resp;
	char *copy, *f[16 + DRP_SVC_MAX_RCPT_HDRS];
	size_t nf = 0, i = 0, start = 0;

	if (!init) {
		struct drp_config *c = drp_config_new();
		struct drp_svc_opts o = {.ops = ops, .nops = 1, .no_cache = 1};
		char err[256];

		drp_config_set_flag(c, "token", "fuzz-token-0123456789");
		drp_config_set_flag(c, "max_body", "64k");
		if (drp_svc_init(&svc, c, &o, err, sizeof(err)) < 0)
			abort();
		init = 1;
	}
	if (size > 70000)
		return 0;
	copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = 0;
	/* fields: method, uri, auth, client ip, helo, from, rcpt..., then the
	 * rest is the body */
	for (i = 0; i <= size && nf < 8; i++) {
		if (i == size || copy[i] == 0) {
			copy[i] = 0;
			f[nf++] = copy + start;
			start = i + 1;
		}
	}
	memset(&req, 0, sizeof(req));
	drp_svc_resp_init(&resp);
	req.method = nf > 0 ? f[0] : NULL;
	req.uri = nf > 1 ? f[1] : NULL;
	req.authorization = nf > 2 && *f[2] ? f[2] : NULL;
	req.x_token = "fuzz-token-0123456789";
	req.client_ip = nf > 3 ? f[3] : NULL;
	req.helo = nf > 4 ? f[4] : NULL;
	req.env_from = nf > 5 ? f[5] : NULL;
	if (nf > 6) {
		req.rcpt[0] = f[6];
		req.nrcpt = 1;
	}
	req.content_length = -1;
	if (drp_svc_route(&svc, &req, &resp)) {
		req.body = start <= size ? (const uint8_t *)copy + start : NULL;
		req.body_len = start <= size ? size - start : 0;
		drp_svc_handle(&svc, &req, &resp);
	}
	drp_svc_done(&svc, &req, &resp);
	switch (resp.status) {
	case 200:
	case 400:
	case 401:
	case 403:
	case 404:
	case 405:
	case 413:
	case 503:
		break;
	default:
		abort();
	}
	if (resp.ctype != NULL && strcmp(resp.ctype, "application/json") == 0 && resp.body.len) {
		struct json_object *o = json_tokener_parse(drp_buf_cstr(&resp.body));

		if (o == NULL)
			abort();
		json_object_put(o);
	}
	drp_svc_resp_free(&resp);
	free(copy);
	return 0;
}
