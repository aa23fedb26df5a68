/* fanout: see fanout.h. */
#include "fanout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int drp_fanout_init(struct drp_fanout *f, const struct drp_config *cfg,
                    const struct drp_net_ops *const *ops, int n, char *err, size_t errlen)
{
	int i;

	memset(f, 0, sizeof(*f));
	if (n < 0 || n > DRP_FANOUT_MAX) {
		snprintf(err, errlen, "fanout: too many networks (%d)", n);
		return -1;
	}
	if (drp_config_ms(cfg, "backend_timeout", DRP_FANOUT_DEFAULT_TIMEOUT_MS, &f->timeout_ms,
	                  err, errlen) < 0)
		return -1;
	if (f->timeout_ms <= 0) {
		snprintf(err, errlen, "backend_timeout: must be positive");
		return -1;
	}
	f->loop = drp_loop_new();
	if (f->loop == NULL) {
		snprintf(err, errlen, "fanout: out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		char nerr[256] = "";
		struct drp_fanout_net *fn = &f->net[f->n];

		fn->ops = ops[i];
		fn->ctx = NULL;
		if (ops[i]->ctx_new(cfg, &fn->ctx, nerr, sizeof(nerr)) < 0) {
			snprintf(err, errlen, "%s: %s", ops[i]->name,
			         nerr[0] ? nerr : "bad configuration");
			drp_fanout_free(f);
			return -1;
		}
		fn->enabled = ops[i]->enabled(fn->ctx) ? 1 : 0;
		f->n++;
	}
	f->refreshed_ms = drp_now_ms();
	return 0;
}

void drp_fanout_free(struct drp_fanout *f)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->net[i].ops->ctx_free != NULL)
			f->net[i].ops->ctx_free(f->net[i].ctx);
	drp_loop_free(f->loop);
	memset(f, 0, sizeof(*f));
}

int drp_fanout_refresh(struct drp_fanout *f, char *err, size_t errlen)
{
	int i, failed = 0;

	for (i = 0; i < f->n; i++) {
		char nerr[256] = "";

		if (!f->net[i].enabled || f->net[i].ops->ctx_refresh == NULL)
			continue;
		if (f->net[i].ops->ctx_refresh(f->net[i].ctx, nerr, sizeof(nerr)) < 0) {
			failed++;
			snprintf(err, errlen, "%s: %s", f->net[i].ops->name, nerr);
		}
	}
	f->refreshed_ms = drp_now_ms();
	return failed;
}

int drp_fanout_enabled(const struct drp_fanout *f)
{
	int i, n = 0;

	for (i = 0; i < f->n; i++)
		n += f->net[i].enabled;
	return n;
}

void drp_fanout_result_free(struct drp_fanout_result *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		free(r->res[i]);
	memset(r, 0, sizeof(*r));
}

int drp_fanout_run(struct drp_fanout *f, enum drp_op op, const uint8_t *msg, size_t len,
                   const struct drp_envelope *env, struct drp_fanout_result *out, char *err,
                   size_t errlen)
{
	void *req[DRP_FANOUT_MAX] = {0};
	uint64_t t0 = drp_now_ms(), deadline = t0 + (uint64_t)f->timeout_ms;
	int i;

	memset(out, 0, sizeof(*out));
	out->op = op;
	for (i = 0; i < f->n; i++) {
		out->ops[i] = f->net[i].ops;
		out->res[i] = calloc(1, f->net[i].ops->result_size);
		if (out->res[i] == NULL) {
			out->n = i;
			drp_fanout_result_free(out);
			snprintf(err, errlen, "fanout: out of memory");
			return -1;
		}
	}
	out->n = f->n;
	for (i = 0; i < f->n; i++) {
		struct drp_net_result *nr = out->res[i];

		if (!f->net[i].enabled) {
			nr->status = DRP_ST_DISABLED;
			continue;
		}
		nr->status = DRP_ST_PENDING;
		req[i] = f->net[i].ops->start(f->loop, f->net[i].ctx, op, msg, len, env, nr);
	}
	/* One deadline for everybody; a network whose fingerprinting ate the
	 * budget still gets finished (as a timeout) below. */
	if (drp_loop_pending(f->loop) > 0)
		drp_loop_run(f->loop, deadline);
	for (i = 0; i < f->n; i++) {
		struct drp_net_result *nr = out->res[i];

		if (req[i] != NULL)
			f->net[i].ops->finish(req[i]);
		if (nr->status == DRP_ST_PENDING) {
			/* finish() must settle it; a network that did not is
			 * reported as timed out rather than as an answer. */
			nr->status = DRP_ST_TIMEOUT;
			snprintf(nr->error, sizeof(nr->error), "no answer within %ld ms",
			         f->timeout_ms);
		}
		if (nr->status == DRP_ST_TIMEOUT && nr->latency_ms <= 0)
			nr->latency_ms = (long)(drp_now_ms() - t0);
	}
	/* A network that finish()ed without unwatching would poison the next
	 * request's loop: start every request on a fresh one then. */
	if (drp_loop_pending(f->loop) > 0) {
		drp_loop_free(f->loop);
		f->loop = drp_loop_new();
		if (f->loop == NULL) {
			snprintf(err, errlen, "fanout: out of memory");
			return -1;
		}
	}
	out->latency_ms = (long)(drp_now_ms() - t0);
	return 0;
}

const struct drp_net_result *drp_fanout_get(const struct drp_fanout_result *r, const char *name)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->ops[i]->name, name) == 0)
			return r->res[i];
	return NULL;
}

int drp_fanout_all_ok(const struct drp_fanout_result *r)
{
	int i;

	for (i = 0; i < r->n; i++) {
		const struct drp_net_result *nr = r->res[i];

		if (nr->status != DRP_ST_OK && nr->status != DRP_ST_DISABLED)
			return 0;
	}
	return 1;
}

int drp_fanout_listed(const struct drp_fanout_result *r)
{
	int i;

	for (i = 0; i < r->n; i++) {
		const struct drp_net_result *nr = r->res[i];

		if (nr->status == DRP_ST_OK && r->ops[i]->listed != NULL && r->ops[i]->listed(nr))
			return 1;
	}
	return 0;
}
