/*
 * fanout: one request to every enabled network at once.
 *
 * Owns the networks' long-lived contexts (built at start, refreshed between
 * requests) and the running of one request: every enabled network is
 * started on one drp_loop, the loop runs to one absolute deadline
 * (backend_timeout), then every network is finished, so a dead or silent
 * network costs at most the budget and the others' answers are kept.
 * The same code serves `drp check` (no network named) and POST /check.
 */
#ifndef DRP_FANOUT_H
#define DRP_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "envelope.h"
#include "evloop.h"
#include "netif.h"
#include "status.h"

#define DRP_FANOUT_MAX 4
#define DRP_FANOUT_DEFAULT_TIMEOUT_MS 5000

struct drp_fanout_net {
	const struct drp_net_ops *ops;
	void *ctx;
	int enabled;
};

struct drp_fanout {
	struct drp_fanout_net net[DRP_FANOUT_MAX];
	int n;
	long timeout_ms;
	struct drp_loop *loop; /* reused by every request */
	uint64_t refreshed_ms; /* last successful background refresh */
};

/* The result of one request: one result struct per network, in the order
 * the networks were given (the verdict JSON prints them by name). */
struct drp_fanout_result {
	enum drp_op op;
	int n;
	const struct drp_net_ops *ops[DRP_FANOUT_MAX];
	void *res[DRP_FANOUT_MAX]; /* result_size bytes each, head is drp_net_result */
	long latency_ms;           /* wall time of the whole fan-out */
};

/*
 * Build every network's context from cfg (resolving names, loading
 * identities: may block, never call on the request path).  `timeout_ms`
 * comes from backend_timeout.  -1 with the reason in err.
 */
int drp_fanout_init(struct drp_fanout *f, const struct drp_config *cfg,
                    const struct drp_net_ops *const *ops, int n, char *err, size_t errlen);
void drp_fanout_free(struct drp_fanout *f);

/* Background refresh of every enabled network (DNS, discovery); between
 * requests only.  Returns the number of networks whose refresh failed (they
 * keep their previous state); err holds the last failure. */
int drp_fanout_refresh(struct drp_fanout *f, char *err, size_t errlen);

/* Number of enabled networks. */
int drp_fanout_enabled(const struct drp_fanout *f);

/*
 * Run one request.  out is filled (free it with drp_fanout_result_free).
 * Returns 0 when every network finished (whatever its status), -1 on a
 * local failure (out of memory) with err set.  Never takes longer than
 * timeout_ms plus the time the networks' start() spend computing.
 */
int drp_fanout_run(struct drp_fanout *f, enum drp_op op, const uint8_t *msg, size_t len,
                   const struct drp_envelope *env, struct drp_fanout_result *out, char *err,
                   size_t errlen);
void drp_fanout_result_free(struct drp_fanout_result *r);

/* The result of network `name`, or NULL. */
const struct drp_net_result *drp_fanout_get(const struct drp_fanout_result *r, const char *name);
/* 1 when every enabled network ended ok (a result worth caching). */
int drp_fanout_all_ok(const struct drp_fanout_result *r);
/* 1 when any network lists the message. */
int drp_fanout_listed(const struct drp_fanout_result *r);

#endif
