/*
 * cli_tools: the `drp` commands that are not one network's business —
 * `drp digest` over every network (cli/net_digest_all.c), `drp ping`
 * (cli/net_ping.c) and `drp health` / `drp stats` (cli/net_probe.c).
 * Each takes the command's own arguments (argv[0] is the command) with the
 * common options (--network, --config) already removed.
 */
#ifndef DRP_CLI_TOOLS_H
#define DRP_CLI_TOOLS_H

#include <stdio.h>

#include "buf.h"
#include "config.h"

/* Probe a running pool: GET /health or /metrics over HTTP or FastCGI.
 * Exit codes: 0 the pool answered 200, 1 it answered something else,
 * 2 it could not be reached (or spoke garbage). */
int drp_cli_probe(const char *cmd, int argc, char **argv, struct drp_config *cfg);
void drp_cli_probe_usage(const char *cmd, FILE *f);

/* Reachability and round-trip time of every configured server of every
 * network (or of `network` when not NULL).  0 all answered, 1 some did
 * not, 2 configuration error. */
int drp_cli_ping(const char *network, int argc, char **argv, struct drp_config *cfg);
void drp_cli_ping_usage(FILE *f);

/* Every network's digest output in turn, each under a "# <network>" line. */
int drp_cli_digest_all(int argc, char **argv, struct drp_slice msg, struct drp_config *cfg);

#endif
