/*
 * svc: the HTTP API of drp-fcgi, independent of how the request arrived.
 *
 * Owns routing (POST /check|/report|/revoke, GET /health|/metrics), the
 * order of the checks before any body byte is read (route, method, auth,
 * declared size), the envelope headers, the cache key, the cache/fan-out
 * sequence and the response (status, JSON, X-DRP-Cache).  fcgi/ only moves
 * bytes; tests drive this directly with fake networks.
 *
 * Everything is built at init (config, tokens, network contexts, cache,
 * metrics region); a request allocates only its own buffers.
 */
#ifndef DRP_SVC_H
#define DRP_SVC_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "cache.h"
#include "config.h"
#include "fanout.h"
#include "metrics.h"

#define DRP_SVC_DEFAULT_MAX_BODY (8u * 1024 * 1024)
#define DRP_SVC_MAX_RCPT_HDRS 16
#define DRP_VERSION_STRING "0.1.0"

struct drp_svc {
	struct drp_config *cfg; /* owned */
	struct drp_fanout fo;
	struct drp_auth auth;
	struct drp_metrics *metrics; /* owned */
	struct drp_cache *cache;     /* owned; NULL when off */
	size_t max_body;
	long refresh_ms;    /* background refresh period of the networks */
	long cache_wait_ms; /* how long a coalesced check waits for its leader */
	int draining;       /* SIGTERM seen: /health says 503 */
	char last_refresh_error[256];
};

struct drp_svc_opts {
	const struct drp_net_ops *const *ops; /* NULL: dcc, razor, pyzor */
	int nops;
	const char *metrics_path; /* NULL: private counters */
	int no_cache;             /* force the cache off (CLI) */
};

/* The networks drp ships, in verdict order. */
extern const struct drp_net_ops *const drp_svc_networks[3];

/* Build everything from cfg, which the service owns from then on (freed by
 * drp_svc_free).  -1 naming the bad key; cfg then stays the caller's. */
int drp_svc_init(struct drp_svc *s, struct drp_config *cfg, const struct drp_svc_opts *o, char *err,
                 size_t errlen);
void drp_svc_free(struct drp_svc *s);

/* Validate every key the service reads (for --check-config without
 * starting anything).  -1 naming the bad key. */
int drp_svc_check_config(const struct drp_config *cfg, char *err, size_t errlen);
/* 1 when key is one drp reads (the service's own, or of the cache/network
 * families); --check-config warns about the others (typos). */
int drp_svc_known_key(const char *key);
/* Print the effective configuration, secrets masked, one "key = value  #
 * source" line per known key, into out. */
int drp_svc_dump_config(const struct drp_config *cfg, struct drp_buf *out);

/* Size with optional k/m/g suffix ("8m", "8388608"). */
int drp_svc_parse_size(const char *key, const char *v, size_t def, size_t *out, char *err,
                       size_t errlen);

struct drp_svc_req {
	const char *method;
	const char *uri; /* path, a query string after '?' is ignored except for /health */
	const char *authorization, *x_token;
	const char *client_ip, *helo, *env_from;
	const char *rcpt[DRP_SVC_MAX_RCPT_HDRS]; /* each may hold several, comma-separated */
	int nrcpt;
	long long content_length; /* -1 when not declared */
	const uint8_t *body;
	size_t body_len;
	uint64_t t0_us; /* set by drp_svc_route */
	int ep;         /* enum drp_metrics_ep, set by drp_svc_route */
	enum drp_op op;
};

struct drp_svc_resp {
	int status;
	const char *ctype;
	const char *cache; /* X-DRP-Cache value or NULL */
	const char *allow; /* Allow header of a 405 */
	int close;         /* the connection should not be reused */
	struct drp_buf body;
};

void drp_svc_resp_init(struct drp_svc_resp *r);
void drp_svc_resp_free(struct drp_svc_resp *r);

/*
 * Decide what can be decided before the body is read.  Returns 1 when the
 * body must be read and drp_svc_handle() called, 0 when resp is final
 * (404, 405, 401, 403, 413, 503, or a GET answered at once).
 */
int drp_svc_route(struct drp_svc *s, struct drp_svc_req *req, struct drp_svc_resp *resp);
/* Answer a POST whose body is in req.  */
void drp_svc_handle(struct drp_svc *s, struct drp_svc_req *req, struct drp_svc_resp *resp);
/* Count the finished request in the metrics. */
void drp_svc_done(struct drp_svc *s, const struct drp_svc_req *req,
                  const struct drp_svc_resp *resp);
/* The CGI response head ("Status: ...\r\nContent-Type: ...\r\n...\r\n"). */
int drp_svc_head(const struct drp_svc_resp *resp, struct drp_buf *out);
/* Set resp to a JSON error {"error": msg}. */
void drp_svc_error(struct drp_svc_resp *resp, int status, const char *msg);

/* Between requests: refresh the networks when due.  Returns 1 when it ran. */
int drp_svc_idle(struct drp_svc *s, uint64_t now_ms);
/* Milliseconds until the next refresh is due (0: now). */
long drp_svc_idle_due(const struct drp_svc *s, uint64_t now_ms);

/* SHA-256 over the body and every envelope field, each length-prefixed. */
void drp_svc_cache_key(const uint8_t *body, size_t len, const struct drp_envelope *env,
                       uint8_t key[32]);

/* One fan-out plus verdict JSON, no HTTP: the `drp` CLI's all-network path
 * and the service's cache-miss path.  Appends the JSON to out; *listed and
 * *cacheable describe the result.  -1 with err on a local failure. */
int drp_svc_run(struct drp_svc *s, enum drp_op op, const uint8_t *msg, size_t len,
                const struct drp_envelope *env, struct drp_buf *out, int *listed, int *cacheable,
                char *err, size_t errlen);

#endif
