/* razor_client: see razor_client.h.  (Scaffolding; the conversation follows.) */
#include "razor_client.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "razor_proto.h"

static int rz_ctx_new(const struct drp_config *cfg, void **ctx, char *err, size_t errlen)
{
	*ctx = NULL;
	return 0;
}

static int rz_ctx_refresh(void *ctx, char *err, size_t errlen)
{
	return 0;
}

static int rz_enabled(const void *ctx)
{
	return 0;
}

static void rz_ctx_free(void *ctx)
{
}

static void *rz_start(struct drp_loop *loop, void *ctx, enum drp_op op, const uint8_t *msg,
                      size_t len, const struct drp_envelope *env, void *res)
{
	struct drp_razor_result *r = res;

	r->net.status = DRP_ST_DISABLED;
	return NULL;
}

static void rz_finish(void *req)
{
}

static void rz_result_json(const void *res, enum drp_op op, struct json_object *obj)
{
	const struct drp_razor_result *r = res;

	if (op == DRP_OP_CHECK) {
		json_object_object_add(obj, "hit", json_object_new_boolean(r->hit));
		json_object_object_add(obj, "cf", json_object_new_int(r->cf));
	}
	json_object_object_add(obj, "status",
	                       json_object_new_string(drp_status_name(r->net.status)));
	json_object_object_add(obj, "latency_ms", json_object_new_int64(r->net.latency_ms));
	if (r->net.error[0])
		json_object_object_add(obj, "error", json_object_new_string(r->net.error));
}

static int rz_listed(const void *res)
{
	const struct drp_razor_result *r = res;

	return r->net.status == DRP_ST_OK && r->hit;
}

int drp_razor_register(const struct drp_config *cfg, const struct drp_razor_reg *reg,
                       char *user_out, size_t user_outlen, char *err, size_t errlen)
{
	snprintf(err, errlen, "razor registration not available yet");
	return -1;
}

const struct drp_net_ops drp_razor_ops = {
    .name = "razor",
    .result_size = sizeof(struct drp_razor_result),
    .ctx_new = rz_ctx_new,
    .ctx_refresh = rz_ctx_refresh,
    .enabled = rz_enabled,
    .ctx_free = rz_ctx_free,
    .start = rz_start,
    .finish = rz_finish,
    .result_json = rz_result_json,
    .listed = rz_listed,
};
