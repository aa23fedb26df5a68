/*
 * drp: one message on stdin, the three networks from a shell.
 * See cli.h for the division of work and the exit codes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MAX_MESSAGE (64u * 1024 * 1024)

int drp_cli_read_stdin(struct drp_buf *b, size_t max)
{
	for (;;) {
		ssize_t n;

		if (drp_buf_reserve(b, 65536) < 0)
			return -1;
		n = read(0, b->p + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		if (b->len > max) {
			errno = EFBIG;
			return -1;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: drp COMMAND [--network dcc|razor|pyzor] [--config FILE] [options] < message\n"
		   "commands:\n"
		   "  digest   print the fingerprints each network would send\n"
		   "  check    query the networks, print the JSON verdict (exit 0 listed, 1 not, 2 error)\n"
		   "  report   report the message as spam\n"
		   "  revoke   revoke / whitelist the message (ham)\n"
		   "see drp(1) for the per-network options\n");
}

int main(int argc, char **argv)
{
	const char *cmd, *network = NULL, *cfgpath = NULL;
	struct drp_config *cfg;
	struct drp_buf msg;
	char err[256];
	int i, j, rc;
	char **rest;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "digest") && strcmp(cmd, "check") && strcmp(cmd, "report") &&
	    strcmp(cmd, "revoke")) {
		fprintf(stderr, "drp: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	/* pull out the common options, pass the rest to the network handler */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (rest == NULL)
		return 2;
	rest[0] = argv[1];
	for (i = 2, j = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--network") && i + 1 < argc)
			network = argv[++i];
		else if (!strncmp(argv[i], "--network=", 10))
			network = argv[i] + 10;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			cfgpath = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			cfgpath = argv[i] + 9;
		else
			rest[j++] = argv[i];
	}
	cfg = drp_config_new();
	if (cfg == NULL)
		return 2;
	if (cfgpath == NULL)
		cfgpath = getenv("DRP_CONFIG");
	if (drp_config_load_file(cfg, cfgpath ? cfgpath : "/etc/drp/drp.conf", cfgpath == NULL, err,
				 sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s\n", err);
		return 2;
	}
	drp_buf_init(&msg);
	if (drp_cli_read_stdin(&msg, MAX_MESSAGE) < 0) {
		fprintf(stderr, "drp: reading message from stdin: %s\n", strerror(errno));
		return 2;
	}
	if (network == NULL)
		rc = drp_cli_all(cmd, j, rest, DRP_SLICE(msg.p, msg.len), cfg);
	else if (!strcmp(network, "pyzor"))
		rc = drp_cli_pyzor(cmd, j, rest, DRP_SLICE(msg.p, msg.len), cfg);
	else if (!strcmp(network, "razor"))
		rc = drp_cli_razor(cmd, j, rest, DRP_SLICE(msg.p, msg.len), cfg);
	else if (!strcmp(network, "dcc"))
		rc = drp_cli_dcc(cmd, j, rest, DRP_SLICE(msg.p, msg.len), cfg);
	else {
		fprintf(stderr, "drp: unknown network '%s' (dcc, razor or pyzor)\n", network);
		rc = 2;
	}
	drp_buf_free(&msg);
	drp_config_free(cfg);
	free(rest);
	return rc;
}
