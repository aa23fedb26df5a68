/*
 * net_dcc_digest: `drp digest --network dcc` -- the checksums dccproc -C
 * would print for the message on stdin, one "TYPE<TAB>hex" line each, in
 * type order.  A message dccproc refuses prints nothing on stdout, the
 * reason on stderr, and exits 3.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dcc_ck.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: drp digest --network dcc [--client-ip ADDR] [--env-from ADDR]\n"
	           "       [--env-to ADDR]... [--helo NAME] [--ip-from-received]\n"
	           "       [--substitute HEADER]... < message\n");
}

int drp_cli_dcc_digest(int argc, char **argv, struct drp_slice msg, struct drp_config *cfg)
{
	static const struct option longopts[] = {
	    DRP_CLI_ENV_OPTIONS,
	    {"substitute", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct drp_envelope env;
	struct drp_dcc_ck_opts opts;
	struct drp_dcc_cks cks;
	char err[256], label[64], hex[2 * DRP_DCC_SUM_LEN + 1];
	int c, rc, i;

	(void)cfg;
	memset(&env, 0, sizeof(env));
	memset(&opts, 0, sizeof(opts));
	optind = 0; /* a fresh GNU getopt scan */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		rc = drp_cli_env_opt(c, optarg, &env);
		if (rc < 0)
			return 2;
		if (rc > 0)
			continue;
		switch (c) {
		case 'S':
			if (opts.n_substitute >= DRP_DCC_MAX_SUB) {
				fprintf(stderr, "drp: too many --substitute (at most %d)\n",
				        DRP_DCC_MAX_SUB);
				return 2;
			}
			opts.substitute[opts.n_substitute++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "drp: digest --network dcc: bad option '%s'\n",
			        argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drp: digest --network dcc: unexpected argument '%s'\n",
		        argv[optind]);
		return 2;
	}

	rc = drp_dcc_checksums(msg.p, msg.len, &env, &opts, &cks, err, sizeof(err));
	if (rc == DRP_DCC_REFUSED) {
		fprintf(stderr, "drp: dcc: %s\n", err);
		return 3;
	}
	if (rc != DRP_DCC_OK) {
		fprintf(stderr, "drp: dcc: %s\n", err);
		return 2;
	}
	for (i = 0; i < cks.n; i++) {
		drp_hex(cks.ck[i].sum, DRP_DCC_SUM_LEN, hex);
		printf("%s\t%s\n", drp_dcc_ck_label(&cks.ck[i], label, sizeof(label)), hex);
	}
	if (fflush(stdout) != 0) {
		perror("drp: stdout");
		return 2;
	}
	return 0;
}
