/*
 * metrics: pool-wide counters in Prometheus text format.
 *
 * Every process of the pool (forked by drp-fcgi --workers, spawned by
 * spawn-fcgi -F or by lighttpd) attaches the same core/shm region and bumps
 * plain 64-bit counters in it with relaxed atomics; any worker answering
 * GET /metrics renders the whole pool.  Counters only ever grow (Prometheus
 * rate() semantics); the worker table is the one piece of state: a slot per
 * live worker (pid and start time, busy), reclaimed when that process is
 * gone -- a pid the kernel has since given to another process does not
 * keep a dead worker's slot.
 * Without a path the area is private memory (the CLI and unit tests).
 */
#ifndef DRP_METRICS_H
#define DRP_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "fanout.h"
#include "status.h"

enum drp_metrics_ep {
	DRP_EP_CHECK = 0,
	DRP_EP_REPORT,
	DRP_EP_REVOKE,
	DRP_EP_HEALTH,
	DRP_EP_METRICS,
	DRP_EP_OTHER,
	DRP_EP_N,
};

enum drp_metrics_cache_ev {
	DRP_MC_HIT = 0,
	DRP_MC_MISS,
	DRP_MC_COALESCED,
	DRP_MC_STORE,
	DRP_MC_ERROR, /* a cache backend failed (the request went on without it) */
	DRP_MC_N,
};

#define DRP_METRICS_WORKERS 256

struct drp_metrics;

/* Attach (creating if needed) the pool's region at path, or private memory
 * when path is NULL.  -1 with err set. */
int drp_metrics_open(struct drp_metrics **out, const char *path, char *err, size_t errlen);
void drp_metrics_close(struct drp_metrics *m);

/* The worker table: register once per worker process (claims a slot,
 * reclaiming one whose pid is gone), mark busy around each request,
 * release on a clean exit.  A worker that finds no slot still serves. */
void drp_metrics_worker_start(struct drp_metrics *m, pid_t pid);
/* When process pid started (field 22 of /proc/<pid>/stat, clock ticks
 * after boot); 0 unknown.  1 when pid is alive and is the process that
 * started at start (0: any). */
uint64_t drp_metrics_process_start(pid_t pid);
int drp_metrics_process_alive(pid_t pid, uint64_t start);
void drp_metrics_worker_busy(struct drp_metrics *m, int busy);
void drp_metrics_worker_stop(struct drp_metrics *m);
/* Live workers and busy ones, counted from the table. */
void drp_metrics_workers(struct drp_metrics *m, int *alive, int *busy);

/* One finished HTTP request: endpoint, status code, wall time. */
void drp_metrics_request(struct drp_metrics *m, enum drp_metrics_ep ep, int status,
                         uint64_t duration_us);
void drp_metrics_cache(struct drp_metrics *m, enum drp_metrics_cache_ev ev);
/* Every network of one fan-out: queries, errors, timeouts, listed, latency. */
void drp_metrics_fanout(struct drp_metrics *m, const struct drp_fanout_result *r);
/* One worker (re)start by the pool master. */
void drp_metrics_worker_restart(struct drp_metrics *m);

/* Append the Prometheus text exposition; -1 on ENOMEM. `version` goes into
 * drp_build_info. */
int drp_metrics_render(struct drp_metrics *m, const char *version, struct drp_buf *out);

/* Counter readers for tests and /health. */
uint64_t drp_metrics_requests(struct drp_metrics *m, enum drp_metrics_ep ep, int status);
uint64_t drp_metrics_cache_count(struct drp_metrics *m, enum drp_metrics_cache_ev ev);
/* ev: 0 queries, 1 errors, 2 timeouts, 3 listed; net one of dcc/razor/pyzor. */
uint64_t drp_metrics_net_count(struct drp_metrics *m, const char *net, int ev);
/* requests of network `net` whose connection was conn */
uint64_t drp_metrics_conn_count(struct drp_metrics *m, const char *net, enum drp_conn conn);

#endif
