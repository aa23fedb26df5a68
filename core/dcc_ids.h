/*
 * dcc_ids: DCC's two client-side text files.
 *
 * ids (dccd(8), clntlib/load_ids.c): "ID[,option...] passwd1 [passwd2]"
 * lines, '#' comments only at the start of a line, a bare "ID" is a
 * placeholder.  Passwords are 1..32 bytes without blanks.  The file holds
 * secrets, so like the reference we refuse one that group or others can
 * read.  Written (entry added or replaced, 0600, atomic rename) for
 * `drp-register dcc`.
 *
 * map (the text form `cdcc info` prints and `cdcc load` reads, map.txt):
 * an optional first option line ("version=3", "IPv6 on|off|only",
 * "use SOCKS", "src=..."), then one server per line
 * "name[,port|,-] [Greylist] [RTT+N ms|RTT-N ms] [client-ID [password]]"
 * where the ID may be "anon".  Greylist servers are not DCC servers and
 * are skipped.  The binary memory-mapped map of the reference is not read:
 * it is a private, version-specific dump of the library's state.
 */
#ifndef DRP_DCC_IDS_H
#define DRP_DCC_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dcc_pkt.h"
#include "netaddr.h"

#define DRP_DCC_IDS_MAX 1024
#define DRP_DCC_MAP_MAX 8        /* DCC_MAX_SRVR_NMS */
#define DRP_DCC_RTT_ADJ_MAX 2000 /* ms, the reference's clamp */

struct drp_dcc_id_entry {
	uint32_t id;
	char passwd[2][DRP_DCC_PASSWD_MAX + 1]; /* current, next; "" when absent */
};

struct drp_dcc_ids {
	struct drp_dcc_id_entry *e;
	int n;
};

struct drp_dcc_map_entry {
	struct drp_hostport hp;
	int rtt_adj_ms;
	uint32_t id; /* 1 = anonymous */
	char passwd[DRP_DCC_PASSWD_MAX + 1];
};

struct drp_dcc_map {
	struct drp_dcc_map_entry s[DRP_DCC_MAP_MAX];
	int n;
	int ipv6; /* 0 on (default), -1 off, 1 only */
};

/* Parse ids text.  0, or -1 with "line N: reason" in err. */
int drp_dcc_ids_parse(const char *text, size_t len, struct drp_dcc_ids *out, char *err,
                      size_t errlen);
/* Read and parse an ids file; a missing file is an empty table when
 * optional.  Refuses files readable by group or others. */
int drp_dcc_ids_load(const char *path, int optional, struct drp_dcc_ids *out, char *err,
                     size_t errlen);
const struct drp_dcc_id_entry *drp_dcc_ids_find(const struct drp_dcc_ids *ids, uint32_t id);
void drp_dcc_ids_free(struct drp_dcc_ids *ids);
/* Add or replace the entry of `id` ("ID passwd"), keeping every other line
 * as it was; creates the file (0600) when missing.  Atomic rename. */
int drp_dcc_ids_write(const char *path, uint32_t id, const char *passwd, char *err, size_t errlen);

/* Parse map text (map.txt / `cdcc info`).  0, or -1 with the line in err. */
int drp_dcc_map_parse(const char *text, size_t len, struct drp_dcc_map *out, char *err,
                      size_t errlen);
int drp_dcc_map_load(const char *path, struct drp_dcc_map *out, char *err, size_t errlen);
/* The map as map.txt text (what `cdcc load` accepts). */
int drp_dcc_map_format(const struct drp_dcc_map *m, struct drp_buf *out);

/* Parse a DCC ID as the reference does: decimal, or "anon"/"anonymous"
 * for 1.  0 when invalid. */
uint32_t drp_dcc_parse_id(const char *s, size_t n);

#endif
