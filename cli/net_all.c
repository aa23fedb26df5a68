/*
 * net_all: `drp check|report|revoke` without --network: every enabled
 * network through core/fanout and the verdict JSON of core/verdict, the
 * same code the service runs for POST /check, minus HTTP and the cache.
 * Exit codes (cli.h): check 0 listed by any network / 1 not listed by any
 * and every enabled network answered / 2 error (including: some network
 * failed and none listed it, because "not listed" would then be a guess);
 * report and revoke 0 when every enabled network accepted, else 2.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fanout.h"
#include "svc.h"
#include "verdict.h"

static void usage(FILE *f, const char *cmd)
{
	fprintf(
	    f,
	    "usage: drp %s [--client-ip ADDR] [--env-from ADDR] [--env-to ADDR]... [--helo NAME]\n"
	    "       [--ip-from-received] [--timeout SECONDS] [--set key=value]... < message\n",
	    cmd);
}

int drp_cli_all(const char *cmd, int argc, char **argv, struct drp_slice msg,
                struct drp_config *cfg)
{
	static const struct option opts[] = {
	    DRP_CLI_ENV_OPTIONS,
	    {"timeout", required_argument, NULL, 'T'},
	    {"set", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct drp_envelope env;
	struct drp_fanout f;
	struct drp_fanout_result r;
	enum drp_op op;
	struct drp_buf out;
	char err[512];
	int c, i, rc, failed = 0, accepted = 1;

	if (strcmp(cmd, "check") == 0)
		op = DRP_OP_CHECK;
	else if (strcmp(cmd, "report") == 0)
		op = DRP_OP_REPORT;
	else if (strcmp(cmd, "revoke") == 0)
		op = DRP_OP_REVOKE;
	else {
		fprintf(stderr, "drp: %s needs --network dcc|razor|pyzor\n", cmd);
		return 2;
	}
	memset(&env, 0, sizeof(env));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		rc = drp_cli_env_opt(c, optarg, &env);
		if (rc < 0)
			return 2;
		if (rc > 0)
			continue;
		switch (c) {
		case 'T':
			drp_config_set_flag(cfg, "backend_timeout", optarg);
			break;
		case 's': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg) {
				fprintf(stderr, "drp: --set %s: expected key=value\n", optarg);
				return 2;
			}
			*eq = 0;
			drp_config_set_flag(cfg, optarg, eq + 1);
			*eq = '=';
			break;
		}
		case 'h':
			usage(stdout, cmd);
			return 0;
		default:
			usage(stderr, cmd);
			return 2;
		}
	}
	if (optind < argc || drp_cli_env_check(&env) < 0) {
		usage(stderr, cmd);
		return 2;
	}
	if (drp_fanout_init(&f, cfg, drp_svc_networks, 3, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s\n", err);
		return 2;
	}
	if (drp_fanout_enabled(&f) == 0) {
		fprintf(stderr, "drp: no network is enabled\n");
		drp_fanout_free(&f);
		return 2;
	}
	if (drp_fanout_run(&f, op, msg.p, msg.len, &env, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s\n", err);
		drp_fanout_free(&f);
		return 2;
	}
	drp_buf_init(&out);
	if (drp_verdict_append(&r, &out) < 0) {
		fprintf(stderr, "drp: out of memory\n");
		rc = 2;
		goto done;
	}
	fwrite(out.p, 1, out.len, stdout);
	fputc('\n', stdout);
	for (i = 0; i < r.n; i++) {
		const struct drp_net_result *nr = r.res[i];

		if (nr->status == DRP_ST_DISABLED)
			continue;
		/* DCC has no un-report: its part of a revoke is not asked */
		if (op == DRP_OP_REVOKE && strcmp(r.ops[i]->name, "dcc") == 0)
			continue;
		if (nr->status != DRP_ST_OK) {
			failed++;
			accepted = 0;
			fprintf(stderr, "drp: %s: %s: %s\n", r.ops[i]->name,
			        drp_status_name(nr->status), nr->error);
		}
	}
	if (op == DRP_OP_CHECK)
		rc = drp_fanout_listed(&r) ? 0 : failed ? 2 : 1;
	else
		rc = accepted ? 0 : 2;
done:
	drp_buf_free(&out);
	drp_fanout_result_free(&r);
	drp_fanout_free(&f);
	return rc;
}
