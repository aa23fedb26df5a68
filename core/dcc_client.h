/*
 * dcc_client: the DCC UDP conversation behind `drp_dcc_ops`.
 *
 * Owns: the server list (dcc_servers, or a DCC map.txt, or the public
 * dcc1..dcc5.dcc-servers.net pool), the client-ID and password (config or
 * the DCC ids file), op_nums, the retransmission schedule of the reference
 * client (clntlib/clnt_send.c), server choice by measured RTT with
 * failover, answer validation (op_nums, length, version, and the signature
 * for authenticated clients: an answer that does not verify is ignored)
 * and the verdict from the counts.  The checksums come from dcc_ck, the
 * wire format from dcc_pkt.  The context is long-lived and keeps what the
 * reference keeps in its map file: RTTs, op_nums.r, the failure backoff.
 */
#ifndef DRP_DCC_CLIENT_H
#define DRP_DCC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "dcc_pkt.h"
#include "netaddr.h"
#include "netif.h"

#define DRP_DCC_MAX_SRVR_NMS 8    /* server names, as the reference */
#define DRP_DCC_MAX_SRVR_ADDRS 12 /* resolved addresses, as the reference */
#define DRP_DCC_DEFAULT_SERVERS                                                                    \
	"dcc1.dcc-servers.net dcc2.dcc-servers.net dcc3.dcc-servers.net "                          \
	"dcc4.dcc-servers.net dcc5.dcc-servers.net"
/* the reference's map.txt gives the public servers "RTT+1000 ms" */
#define DRP_DCC_DEFAULT_RTT_ADJ_MS 1000
#define DRP_DCC_DEFAULT_IDS "/var/dcc/ids"

/* Timing constants of the reference client (include/dcc_clnt.h), in ms. */
#define DRP_DCC_DCCD_DELAY_MS 100
#define DRP_DCC_MIN_RTT_MS (DRP_DCC_DCCD_DELAY_MS + 150)
#define DRP_DCC_MAX_XMITS 4
#define DRP_DCC_MAX_RTT_MS (DRP_DCC_MIN_RTT_MS << DRP_DCC_MAX_XMITS)
#define DRP_DCC_MAX_DELAY_MS (DRP_DCC_MAX_XMITS * DRP_DCC_MAX_RTT_MS)
#define DRP_DCC_INIT_FAIL_MS DRP_DCC_MAX_DELAY_MS
#define DRP_DCC_MAX_FAIL_EXP 5
#define DRP_DCC_FAST_RTT_MS (15 * 60 * 1000)    /* RTTs are re-measured this often */
#define DRP_DCC_RESOLVE_MS (2 * 60 * 60 * 1000) /* names are re-resolved this often */

enum drp_dcc_action {
	DRP_DCC_ACT_UNKNOWN = 0,
	DRP_DCC_ACT_ACCEPT,
	DRP_DCC_ACT_REJECT,
};

/* One checksum's answer: c = count including this report, p = before it. */
struct drp_dcc_count {
	uint8_t type;
	uint32_t c, p;
};

struct drp_dcc_result {
	struct drp_net_result net; /* must be first */
	enum drp_dcc_action action;
	int applicable;  /* 0 for revoke: DCC has no un-report */
	int have_bulk;   /* a Body/Fuz1/Fuz2 count came back */
	uint32_t bulk;   /* the largest Body/Fuz1/Fuz2 c (TOO_MANY for "many") */
	int whitelisted; /* server "ok" (or two "ok2") on IP/env_From/From */
	int reported;    /* op report: the server answered the REPORT itself */
	int n;           /* checksums sent and answered, in request order */
	struct drp_dcc_count counts[DRP_DCC_PKT_MAX_CKS];
	uint32_t server_id;
	uint32_t client_id;
	int xmits; /* datagrams sent */
	char server[DRP_HOST_MAX + 16];
};

/* Verdict thresholds (-c CMN,... of dccproc): UINT32_MAX means never. */
struct drp_dcc_tholds {
	uint32_t body, fuz1, fuz2;
};

/*
 * Fill the verdict fields of r (action, bulk, whitelisted) from its counts,
 * as dccproc does: a type is bulk when thold <= c <= TOO_MANY; a server
 * "ok" on IP, env_From or From (or two "ok2") means not spam and wins.
 */
void drp_dcc_verdict(struct drp_dcc_result *r, const struct drp_dcc_tholds *th);

/* The counts as an X-DCC header body: "[bulk ]Body=1 Fuz1=many ...". */
void drp_dcc_metrics(const struct drp_dcc_result *r, char *out, size_t outlen);

#endif
