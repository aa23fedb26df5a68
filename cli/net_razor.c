/*
 * net_razor: `drp check|report|revoke --network razor`: one message through
 * drp_razor_ops on its own drp_loop with the backend_timeout budget; the
 * identity and server lists come from the razor home (razor_home).  The
 * digest command lives in net_razor_digest.c.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evloop.h"
#include "netif.h"

static void usage(FILE *f, const char *cmd)
{
	fprintf(f,
	        "usage: drp %s --network razor [--razor-home DIR] [--server HOST[:PORT],...]\n"
	        "       [--discovery HOST[:PORT]] [--min-cf ac|ac+N|ac-N|N] < message\n"
	        "config keys: razor_home razor_servers razor_discovery razor_min_cf razor_user\n"
	        "             razor_pass razor_timeout backend_timeout (see docs/razor.md)\n",
	        cmd);
}

static int parse_opts(int argc, char **argv, struct drp_config *cfg)
{
	static const struct option opts[] = {
	    {"razor-home", required_argument, NULL, 'H'},
	    {"server", required_argument, NULL, 's'},
	    {"discovery", required_argument, NULL, 'd'},
	    {"min-cf", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key;
	int c;

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			key = "razor_home";
			break;
		case 's':
			key = "razor_servers";
			break;
		case 'd':
			key = "razor_discovery";
			break;
		case 'm':
			key = "razor_min_cf";
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 1;
		default:
			usage(stderr, argv[0]);
			return -1;
		}
		if (drp_config_set_flag(cfg, key, optarg) < 0) {
			fprintf(stderr, "drp: out of memory\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drp: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int drp_cli_razor(const char *cmd, int argc, char **argv, struct drp_slice msg,
                  struct drp_config *cfg)
{
	enum drp_op op;
	int prc;

	if (strcmp(cmd, "digest") == 0)
		return drp_cli_razor_digest(argc, argv, msg, cfg);
	if (drp_cli_op(cmd, &op) < 0) {
		fprintf(stderr, "drp: %s --network razor: unknown command\n", cmd);
		return 2;
	}
	prc = parse_opts(argc, argv, cfg);
	if (prc != 0)
		return prc > 0 ? 0 : 2;
	return drp_cli_run_net(&drp_razor_ops, op, msg, NULL, cfg, 0);
}
