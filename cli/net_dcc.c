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
	    {"client-ip", required_argument, NULL, 'a'},
	    {"env-from", required_argument, NULL, 'f'},
	    {"env-to", required_argument, NULL, 't'},
	    {"helo", required_argument, NULL, 'H'},
	    {"ip-from-received", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(env, 0, sizeof(*env));
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			env->client_ip = optarg;
			break;
		case 'f':
			env->env_from = optarg;
			break;
		case 't':
			if (env->n_rcpt >= DRP_ENV_MAX_RCPT) {
				fprintf(stderr, "drp: at most %d --env-to\n", DRP_ENV_MAX_RCPT);
				return -1;
			}
			env->env_rcpt[env->n_rcpt++] = optarg;
			break;
		case 'H':
			env->helo = optarg;
			break;
		case 'R':
			env->ip_from_received = 1;
			break;
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
	if (env->client_ip != NULL && env->ip_from_received) {
		fprintf(stderr, "drp: --client-ip and --ip-from-received exclude each other\n");
		return -1;
	}
	return 0;
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
