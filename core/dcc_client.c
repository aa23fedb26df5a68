/* dcc_client: see dcc_client.h. */
#include "dcc_client.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const drp_dcc_config_keys[] = {
    "dcc_servers",       "dcc_ids",       "dcc_map",    "dcc_client_id",
    "dcc_client_passwd", "dcc_threshold", "dcc_enable", NULL,
};

struct dcc_ctx {
	int enabled;
};

static int dcc_ctx_new(const struct drp_config *cfg, void **ctxp, char *err, size_t errlen)
{
	struct dcc_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*ctxp = ctx;
	return 0;
}

static int dcc_ctx_refresh(void *ctx, char *err, size_t errlen)
{
	return 0;
}

static int dcc_enabled(const void *ctxp)
{
	const struct dcc_ctx *ctx = ctxp;

	return ctx != NULL && ctx->enabled;
}

static void dcc_ctx_free(void *ctx)
{
	free(ctx);
}

static void *dcc_start(struct drp_loop *loop, void *ctxp, enum drp_op op, const uint8_t *msg,
                       size_t len, const struct drp_envelope *env, void *resp)
{
	struct drp_dcc_result *r = resp;

	r->net.status = DRP_ST_DISABLED;
	return NULL;
}

static void dcc_finish(void *req)
{
}

static void dcc_result_json(const void *resp, enum drp_op op, struct json_object *obj)
{
	const struct drp_dcc_result *r = resp;

	json_object_object_add(obj, "action", json_object_new_string("unknown"));
	json_object_object_add(obj, "bulk", NULL);
	json_object_object_add(obj, "status",
	                       json_object_new_string(drp_status_name(r->net.status)));
	json_object_object_add(obj, "latency_ms", json_object_new_int64(r->net.latency_ms));
}

static int dcc_listed(const void *resp)
{
	const struct drp_dcc_result *r = resp;

	return r->net.status == DRP_ST_OK && r->action == DRP_DCC_ACT_REJECT;
}

const struct drp_net_ops drp_dcc_ops = {
    .name = "dcc",
    .result_size = sizeof(struct drp_dcc_result),
    .ctx_new = dcc_ctx_new,
    .ctx_refresh = dcc_ctx_refresh,
    .enabled = dcc_enabled,
    .ctx_free = dcc_ctx_free,
    .start = dcc_start,
    .finish = dcc_finish,
    .result_json = dcc_result_json,
    .listed = dcc_listed,
};
