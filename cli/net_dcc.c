/*
 * net_dcc: `drp check|report|revoke --network dcc`: one message through
 * drp_dcc_ops on its own drp_loop with the backend_timeout budget.  The
 * digest command lives in net_dcc_digest.c.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dcc_client.h"
#include "envelope.h"
#include "evloop.h"
#include "netif.h"

static void usage(FILE *f, const char *cmd)
{
	fprintf(f,
	        "usage: drp %s --network dcc [--client-ip ADDR] [--env-from ADDR]\n"
	        "       [--env-to ADDR]... [--helo NAME] [--ip-from-received] < message\n",
	        cmd);
}

/* Envelope options shared with `drp digest --network dcc`. */
static int parse_env(int argc, char **argv, struct drp_envelope *env)
{
	static const struct option opts[] = {
	    DRP_CLI_ENV_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(env, 0, sizeof(*env));
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		rc = drp_cli_env_opt(c, optarg, env);
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		switch (c) {
		case 'h':
			usage(stdout, argv[0]);
			return 1;
		default:
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drp: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return drp_cli_env_check(env);
}

int drp_cli_dcc(const char *cmd, int argc, char **argv, struct drp_slice msg,
                struct drp_config *cfg)
{
	struct drp_envelope env;
	enum drp_op op;
	int prc;

	if (strcmp(cmd, "digest") == 0)
		return drp_cli_dcc_digest(argc, argv, msg, cfg);
	if (drp_cli_op(cmd, &op) < 0) {
		fprintf(stderr, "drp: %s --network dcc: unknown command\n", cmd);
		return 2;
	}
	prc = parse_env(argc, argv, &env);
	if (prc != 0)
		return prc > 0 ? 0 : 2;
	if (op == DRP_OP_REVOKE) {
		/* DCC counts reports and never forgets one: nothing to undo */
		printf("{\"dcc\":null}\n");
		fprintf(stderr, "drp: revoke --network dcc: DCC has no un-report\n");
		return 0;
	}
	/* like dccproc with a fresh map: measure the servers with NOPs first
	 * when there is a choice */
	return drp_cli_run_net(&drp_dcc_ops, op, msg, &env, cfg, 1);
}
