/* pyzor_client: see pyzor_client.h.  (Scaffolding; the conversation follows.) */
#include "pyzor_client.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static int pz_ctx_new(const struct drp_config *cfg, void **ctx, char *err, size_t errlen)
{
	(void)cfg;
	*ctx = NULL;
	(void)err;
	(void)errlen;
	return 0;
}

static int pz_ctx_refresh(void *ctx, char *err, size_t errlen)
{
	return 0;
}

static int pz_enabled(const void *ctx)
{
	return 0;
}

static void pz_ctx_free(void *ctx)
{
}

static void *pz_start(struct drp_loop *loop, void *ctx, enum drp_op op, const uint8_t *msg,
                      size_t len, const struct drp_envelope *env, void *res)
{
	struct drp_pyzor_result *r = res;

	r->net.status = DRP_ST_DISABLED;
	return NULL;
}

static void pz_finish(void *req)
{
}

static void pz_result_json(const void *res, enum drp_op op, struct json_object *obj)
{
	const struct drp_pyzor_result *r = res;

	json_object_object_add(obj, "count", json_object_new_int64(r->count));
	json_object_object_add(obj, "wl", json_object_new_int64(r->wl));
	json_object_object_add(obj, "status",
	                       json_object_new_string(drp_status_name(r->net.status)));
	json_object_object_add(obj, "latency_ms", json_object_new_int64(r->net.latency_ms));
}

static int pz_listed(const void *res)
{
	const struct drp_pyzor_result *r = res;

	return r->net.status == DRP_ST_OK && r->listed;
}

const struct drp_net_ops drp_pyzor_ops = {
    .name = "pyzor",
    .result_size = sizeof(struct drp_pyzor_result),
    .ctx_new = pz_ctx_new,
    .ctx_refresh = pz_ctx_refresh,
    .enabled = pz_enabled,
    .ctx_free = pz_ctx_free,
    .start = pz_start,
    .finish = pz_finish,
    .result_json = pz_result_json,
    .listed = pz_listed,
};
