/*
 * razor_client: the Razor2 TCP conversation behind `drp_razor_ops`.
 *
 * Owns: the long-lived context (razorhome, server lists, cached server
 * state, identity; see razor_home.h), and per request one non-blocking TCP
 * session on the caller's drp_loop: greeting, optional state fetch,
 * `cn=` announce, then check batches, or authentication followed by report
 * (with the full-message upload when the server asks) or revoke, then
 * `a=q`.  The wire format and the decision rules are razor-agents 2.85's
 * (see razor_proto.h); every answer is framed and count-matched, bounded
 * in size, and the whole session shares the request's one deadline.
 * With razor_keepalive a session that ended cleanly leaves its connection
 * (and its authentication) to the context for this process's next request
 * to the same server instead of sending `a=q` (docs/razor.md).
 */
#ifndef DRP_RAZOR_CLIENT_H
#define DRP_RAZOR_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "netaddr.h"
#include "netif.h"

#define DRP_RAZOR_PORT 2703
#define DRP_RAZOR_EP4_MAX 32

struct drp_razor_result {
	struct drp_net_result net; /* must be first */
	int hit;                   /* razor-check's exit-0 decision */
	int cf;                    /* highest cf among the p=1 answers, 0 when none */
	int min_cf;                /* the threshold the decision used */
	int nparts;                /* parts that got signatures */
	int nqueries;              /* queries sent (check, rcheck or revoke) */
	int spam_parts;            /* parts judged spam (check) */
	int contention;            /* parts flagged ct=1 (check) */
	int accepted;              /* report/revoke: queries answered res=1 */
	int uploaded;              /* report: the server asked for the mail and got it */
	int conn;                  /* the connection: DRP_RAZOR_CONN_NEW, _KEPT (razor_keepalive) or
	                            * _RENEWED (a kept one had been let go: replaced once) */
	char server[DRP_HOST_MAX + 8];
	char ep4[DRP_RAZOR_EP4_MAX];
};

/* Options of a registration (razor-admin -register). */
struct drp_razor_reg {
	const char *user; /* NULL: the server invents one */
	const char *pass; /* NULL: the server invents one */
	int link;         /* make the `identity` symlink even if one exists (-l) */
};

/*
 * Register an identity on a nomination server (`a=reg`) and save it in the
 * razorhome as razor-agents does (identity-<user>, mode 0600, plus the
 * `identity` symlink when none exists or reg->link).  Blocking, bounded by
 * the configured razor_timeout.  On success writes the user name into
 * user_out and returns 0; -1 with the reason in err.
 */
int drp_razor_register(const struct drp_config *cfg, const struct drp_razor_reg *reg,
                       char *user_out, size_t user_outlen, char *err, size_t errlen);

/*
 * For tests and fuzzing: run one check/report/revoke session of `msg`
 * against a server whose every byte is `server` (fed `chunk` bytes at a
 * time, 0 = as fast as the socket takes them, then end-of-stream), over a
 * socketpair, with the server defaults of razor-agents and identity
 * replay/secret.  The client's bytes are appended to `sent` (may be NULL).
 * 0 when the session ran (res says how it ended), -1 on a local failure.
 */
int drp_razor_replay(enum drp_op op, const uint8_t *msg, size_t len, const uint8_t *server,
                     size_t slen, size_t chunk, struct drp_razor_result *res, struct drp_buf *sent);

#endif
