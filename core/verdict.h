/*
 * verdict: a fan-out result as the JSON the API answers with.
 *
 * /check keeps gozer's fields and types exactly
 *   {"dcc":{"action":"reject|accept|unknown","bulk":N|null},
 *    "razor":{"hit":bool},"pyzor":{"count":N,"wl":N}}
 * and adds per network "status" (ok|error|timeout|disabled), "latency_ms",
 * "error" when it failed, and whatever the network's result_json() adds.
 * A network that did not answer never looks clean where gozer's fields
 * allow saying so: its dcc action is "unknown" and bulk null.
 * /report is {"dcc":bool,"razor":bool,"pyzor":bool} (true: the network
 * accepted it, i.e. its status is ok) and /revoke the same with "dcc":null
 * (DCC has no un-report); both carry the per-network objects in "detail".
 */
#ifndef DRP_VERDICT_H
#define DRP_VERDICT_H

#include "buf.h"
#include "fanout.h"

struct json_object;

/* The JSON object (caller json_object_put()s it); NULL on ENOMEM. */
struct json_object *drp_verdict_json(const struct drp_fanout_result *r);
/* The same, serialised compactly and appended to out; -1 on ENOMEM. */
int drp_verdict_append(const struct drp_fanout_result *r, struct drp_buf *out);

#endif
