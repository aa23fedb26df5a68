/*
 * pyzor_client: the Pyzor UDP conversation (protocol 2.1) behind the
 * drp_net_ops table `drp_pyzor_ops`.
 *
 * Owns: the server list (pyzor home `servers` file or pyzor_servers), the
 * accounts (`accounts` file or pyzor_user/pyzor_key), building and signing
 * requests, parsing and validating replies, and the verdict of pyzor 1.0.0's
 * `check` (every server must answer; Count > report threshold is a hit,
 * WL-Count > whitelist threshold wins).  One datagram per server, no
 * retries, all servers at once on the caller's drp_loop.
 */
#ifndef DRP_PYZOR_CLIENT_H
#define DRP_PYZOR_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"
#include "netif.h"

#define DRP_PYZOR_MAX_SERVERS 8
#define DRP_PYZOR_PORT 24441
#define DRP_PYZOR_MAX_PACKET 8192
#define DRP_PYZOR_USER_MAX 128
#define DRP_PYZOR_KEY_MAX 256

enum drp_pyzor_op {
	DRP_PYZOR_PING = 0,
	DRP_PYZOR_CHECK,
	DRP_PYZOR_REPORT,
	DRP_PYZOR_WHITELIST,
	DRP_PYZOR_INFO,
};

/* An account: user "anonymous" with an empty key signs anonymously. */
struct drp_pyzor_account {
	char user[DRP_PYZOR_USER_MAX];
	char key[DRP_PYZOR_KEY_MAX]; /* hex string as in pyzord.passwd */
};

/* One server's part of a request. */
struct drp_pyzor_server_result {
	char name[DRP_HOST_MAX + 8]; /* "host:port" as configured */
	enum drp_status status;
	int code;                                      /* reply Code, 0 when none */
	long count;                                    /* Count, -1 when absent */
	long wl_count;                                 /* WL-Count, -1 when absent */
	long entered, updated, wl_entered, wl_updated; /* info; -1 when absent */
	long latency_ms;
	char diag[128]; /* reply Diag or the local error */
};

struct drp_pyzor_result {
	struct drp_net_result net; /* must be first */
	char digest[41];
	long count; /* largest Count over the servers that answered 200 */
	long wl;    /* largest WL-Count */
	int listed; /* pyzor check's exit-0 decision */
	int nservers;
	struct drp_pyzor_server_result servers[DRP_PYZOR_MAX_SERVERS];
};

/* A parsed reply. */
struct drp_pyzor_reply {
	int code;
	long thread;
	long count, wl_count; /* -1 when absent */
	long entered, updated, wl_entered, wl_updated;
	char diag[128];
};

/*
 * hex(SHA1(user ":" lowercase(key))) into out (41 bytes).
 */
void drp_pyzor_hash_key(const char *user, const char *key, char out[41]);

/*
 * Build one request datagram exactly as pyzor 1.0.0 does (header order,
 * Op-Spec for report/whitelist, User/Time/Sig always).  digest is 40 hex
 * (ignored for ping).  Returns the length, or -1 if it does not fit.
 */
int drp_pyzor_build_request(enum drp_pyzor_op op, const char *digest, unsigned thread,
                            const struct drp_pyzor_account *acct, long long now, uint8_t *out,
                            size_t outlen);

/*
 * Parse and validate a reply for `thread`: Code, Diag, PV and Thread must be
 * present; a Thread in [1024, 65535] different from ours is rejected, one in
 * [0, 1023] is accepted (pyzor only warns).  A 200 reply to check must carry
 * integer Count and WL-Count.  0, or -1 with the reason in err.
 */
int drp_pyzor_parse_reply(const uint8_t *p, size_t len, enum drp_pyzor_op op, unsigned thread,
                          struct drp_pyzor_reply *out, char *err, size_t errlen);

/*
 * The pyzor home files.  servers: one "host:port" per line as pyzor accepts
 * them; the count (0 means "use the default").  accounts: lines
 * "host : port : user : salt,key"; 1 and *out filled when host/port (as
 * written) has an account, else 0.
 */
int drp_pyzor_parse_servers(const char *text, size_t len, struct drp_hostport *out, int max);
int drp_pyzor_find_account(const char *text, size_t len, const char *host, unsigned short port,
                           struct drp_pyzor_account *out);

/*
 * Any pyzor operation (ping and info included, which drp_op has not) on
 * the caller's loop, with the digest already computed (ignored for ping).
 * Same contract as drp_pyzor_ops.start: returns the handle for
 * drp_pyzor_ops.finish, or NULL when res is already final.
 */
void *drp_pyzor_start_op(struct drp_loop *loop, void *ctx, enum drp_pyzor_op op, const char *digest,
                         struct drp_pyzor_result *res);

/* The digest options of the context (DRP_PYZOR_NUL_RULE...). */
unsigned drp_pyzor_ctx_flags(const void *ctx);
/* The per-request budget in ms (pyzor_timeout, else backend_timeout). */
long drp_pyzor_ctx_timeout(const void *ctx);

#endif
