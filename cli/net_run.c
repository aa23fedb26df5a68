/* net_run: one network, one request, from the shell — the part every
 * `drp check|report|revoke --network X` shares: context from the
 * configuration, one loop run to backend_timeout, the network's JSON under
 * its name, and the exit code (0 listed / 1 not / 2 error; report and
 * revoke: 0 accepted). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evloop.h"

int drp_cli_op(const char *cmd, enum drp_op *op)
{
	if (strcmp(cmd, "check") == 0)
		*op = DRP_OP_CHECK;
	else if (strcmp(cmd, "report") == 0)
		*op = DRP_OP_REPORT;
	else if (strcmp(cmd, "revoke") == 0)
		*op = DRP_OP_REVOKE;
	else
		return -1;
	return 0;
}

int drp_cli_run_net(const struct drp_net_ops *ops, enum drp_op op, struct drp_slice msg,
                    const struct drp_envelope *env, struct drp_config *cfg, int refresh)
{
	struct json_object *top, *o;
	struct drp_loop *loop = NULL;
	void *ctx = NULL, *req, *res = NULL;
	char err[256] = "";
	long budget;
	int rc = 2;

	if (drp_config_ms(cfg, "backend_timeout", 5000, &budget, err, sizeof(err)) < 0 ||
	    ops->ctx_new(cfg, &ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s: %s\n", ops->name, err);
		return 2;
	}
	if (!ops->enabled(ctx)) {
		fprintf(stderr, "drp: %s is disabled (%s_enable)\n", ops->name, ops->name);
		ops->ctx_free(ctx);
		return 2;
	}
	/* a one-shot process has no history (e.g. DCC's server RTTs): the
	 * caller may ask for the between-requests refresh first */
	if (refresh && ops->ctx_refresh != NULL && ops->ctx_refresh(ctx, err, sizeof(err)) < 0)
		fprintf(stderr, "drp: %s: %s\n", ops->name, err);
	loop = drp_loop_new();
	res = calloc(1, ops->result_size);
	if (loop == NULL || res == NULL) {
		fprintf(stderr, "drp: out of memory\n");
		goto out;
	}
	req = ops->start(loop, ctx, op, msg.p, msg.len, env, res);
	if (req != NULL) {
		drp_loop_run(loop, drp_now_ms() + (uint64_t)budget);
		ops->finish(req);
	}
	top = json_object_new_object();
	o = json_object_new_object();
	ops->result_json(res, op, o);
	json_object_object_add(top, ops->name, o);
	printf("%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN));
	json_object_put(top);
	if (((struct drp_net_result *)res)->status != DRP_ST_OK)
		rc = 2;
	else if (op == DRP_OP_CHECK)
		rc = ops->listed(res) ? 0 : 1;
	else
		rc = 0;
out:
	free(res);
	drp_loop_free(loop);
	/* ctx_free also writes back state learnt during the request (razor) */
	ops->ctx_free(ctx);
	return rc;
}
