/*
 * netif: the one interface the fan-out sees of a network client.
 *
 * Each network (pyzor, razor, dcc) defines a `const struct drp_net_ops
 * drp_<name>_ops` in its core/<name>_client.c.  The fan-out (and tests,
 * with fake networks) drive every network through this table only, so the
 * request path is identical for one network (`drp check --network X`) and
 * for three (`POST /check`).
 *
 * Lifecycle: ctx_new at start-up (parses config, resolves names, loads
 * identities), ctx_refresh between requests (DNS, Razor discovery; may block
 * briefly but never inside a request), start/finish once per request.
 */
#ifndef DRP_NETIF_H
#define DRP_NETIF_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "envelope.h"
#include "evloop.h"
#include "status.h"

struct json_object;

/* Common head of every network result struct. */
/* How a network that talks over a connection (Razor's TCP) reached its
 * server for this request; DRP_CONN_NONE for the datagram networks. */
enum drp_conn { DRP_CONN_NONE = 0, DRP_CONN_NEW, DRP_CONN_KEPT, DRP_CONN_RENEWED };

struct drp_net_result {
	enum drp_status status;
	long latency_ms;
	enum drp_conn conn;
	char error[160]; /* empty when status is ok */
};

struct drp_net_ops {
	const char *name;   /* "pyzor", "razor", "dcc" */
	size_t result_size; /* sizeof the network's result, starts with drp_net_result */

	/* Build the long-lived context; a network switched off in config gets
	 * a ctx for which enabled() is 0.  -1 on a configuration error. */
	int (*ctx_new)(const struct drp_config *cfg, void **ctx, char *err, size_t errlen);
	int (*ctx_refresh)(void *ctx, char *err, size_t errlen);
	int (*enabled)(const void *ctx);
	void (*ctx_free)(void *ctx);

	/* Compute fingerprints and send.  `res` (result_size bytes, zeroed by
	 * the caller) is filled as the conversation ends.  Returns the request
	 * handle, or NULL when it finished at once (res->status final). */
	void *(*start)(struct drp_loop *loop, void *ctx, enum drp_op op, const uint8_t *msg,
	               size_t len, const struct drp_envelope *env, void *res);
	/* After drp_loop_run(): anything unfinished becomes DRP_ST_TIMEOUT,
	 * sockets are closed, the handle freed.  Safe on a finished handle. */
	void (*finish)(void *req);

	/* Fill `obj` (the network's own JSON object, e.g. the value of "pyzor")
	 * with the result fields; always includes "status" and "latency_ms". */
	void (*result_json)(const void *res, enum drp_op op, struct json_object *obj);
	/* 1 when the result lists the message as spam (CLI exit code, metrics). */
	int (*listed)(const void *res);

	/* Optional (NULL when unsupported): reachability of every configured
	 * server, for `drp ping`.  Appends one object per server to the json
	 * array `out`: {"server":"host:port","ok":bool,"rtt_ms":N,"error":".."}.
	 * Same start/finish discipline as above. */
	void *(*ping_start)(struct drp_loop *loop, void *ctx, struct json_object *out);
	void (*ping_finish)(void *req);
};

extern const struct drp_net_ops drp_pyzor_ops;
extern const struct drp_net_ops drp_razor_ops;
extern const struct drp_net_ops drp_dcc_ops;

#endif
