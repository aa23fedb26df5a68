/*
 * dcc_client: the DCC UDP conversation behind `drp_dcc_ops`.
 *
 * Owns: the server list (dcc_servers, or a DCC map/ids file, or the public
 * dcc1..dcc5.dcc-servers.net pool), the client-ID and password, op_nums,
 * the retransmission schedule of the reference client, server choice by
 * measured RTT with failover, answer validation (op_nums, length, version,
 * signature for authenticated clients) and the verdict from the counts.
 * The checksums themselves come from dcc_ck, the wire format from dcc_pkt.
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
#define DRP_DCC_DEFAULT_IDS "/var/dcc/ids"

/* Retransmission constants of the reference client (include/dcc_clnt.h). */
#define DRP_DCC_MIN_RTT_MS 250
#define DRP_DCC_MAX_RTT_MS 4000
#define DRP_DCC_MAX_XMITS 4
#define DRP_DCC_RTT_PAD_MS 100

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
	int reported;    /* op report: the server counted it */
	int n;           /* checksums sent and answered, in request order */
	struct drp_dcc_count counts[DRP_DCC_PKT_MAX_CKS];
	uint32_t server_id;
	int signed_ok; /* authenticated and the answer verified */
	int xmits;     /* datagrams sent */
	char server[DRP_HOST_MAX + 16];
};

/* The configuration keys, for docs and `drp config`. */
extern const char *const drp_dcc_config_keys[];

#endif
