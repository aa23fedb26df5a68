/*
 * drp: one message on stdin, the three networks from a shell.
 *
 * main() picks the command, takes out the common options (--network,
 * --config), loads the configuration drp-fcgi would load (file, then the
 * environment on lookup, then flags), reads the message from stdin for
 * the commands that need one (never writing it anywhere) and hands over:
 * to the network's handler (cli/net_<name>.c) with --network, to
 * cli/net_all.c (check/report/revoke through the service's fan-out) or
 * cli/net_digest_all.c without; ping, health and stats need no message
 * (cli/net_ping.c, cli/net_probe.c).  See cli.h for the exit codes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_tools.h"
#include "version.h"

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

static const struct {
	const char *name;
	int needs_msg;
	const char *what;
} commands[] = {
    {"check", 1, "ask the networks about the message; print the JSON verdict"},
    {"report", 1, "report the message as spam"},
    {"revoke", 1, "revoke a report: Razor revoke, Pyzor whitelist (DCC has none)"},
    {"digest", 1, "print every fingerprint drp computes, in each reference tool's format"},
    {"ping", 0, "reachability and round-trip time of every configured server"},
    {"health", 0, "probe a running drp-fcgi pool's /health (exit 0 healthy)"},
    {"stats", 0, "print a running pool's /metrics"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: drp COMMAND [--network dcc|razor|pyzor] [--config FILE] [options]"
	           " [< message]\n"
	           "\n"
	           "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].what);
	fprintf(f,
	        "\n"
	        "  --network NAME  one network only (default: all three)\n"
	        "  --config FILE   configuration file (default $DRP_CONFIG or /etc/drp/drp.conf)\n"
	        "  -h, --help      this text; `drp COMMAND --help` for a command's options\n"
	        "  --version       print the version\n"
	        "\n"
	        "check exits 0 listed, 1 not listed, 2 error; digest exits 3 when a network\n"
	        "refuses the message.  The message is read from stdin and never written\n"
	        "anywhere.  See drp(1).\n");
}

static void net_opts_usage(const char *cmd, FILE *f)
{
	fprintf(f, "\n"
	           "Envelope (what the MTA knew; DCC's IP, HELO, env_From, env_To checksums):\n"
	           "  --client-ip ADDR      SMTP client address\n"
	           "  --ip-from-received    take the IP from the first Received: (dccproc -R)\n"
	           "  --helo NAME           SMTP HELO\n"
	           "  --env-from ADDR       MAIL FROM\n"
	           "  --env-to ADDR         RCPT TO, repeatable\n");
	if (!strcmp(cmd, "digest"))
		fprintf(f, "Digest:\n"
		           "  --substitute HEADER   dcc: checksum this header too (dccproc -S)\n"
		           "  --ep4 VALUE           razor: engine-4 parameter (default 7542-10)\n"
		           "  --engines LIST        razor: engines to print (default 4,8)\n"
		           "  --nul-rule            pyzor: upstream 1.1's rule for NUL bytes\n");
	else
		fprintf(f, "  --timeout SECONDS     the budget (default backend_timeout, 5)\n");
	fprintf(f, "`drp %s --network NAME --help` lists that network's own options.\n", cmd);
}

static void command_usage(const char *cmd, FILE *f)
{
	if (!strcmp(cmd, "health") || !strcmp(cmd, "stats")) {
		drp_cli_probe_usage(cmd, f);
		return;
	}
	if (!strcmp(cmd, "ping")) {
		drp_cli_ping_usage(f);
		return;
	}
	fprintf(f,
	        "usage: drp %s [--network dcc|razor|pyzor] [--config FILE] [options] < message\n\n",
	        cmd);
	if (!strcmp(cmd, "check"))
		fprintf(
		    f,
		    "Asks every enabled network (or one) about the message on stdin, all at\n"
		    "once under one budget (backend_timeout), and prints the same JSON verdict\n"
		    "POST /check answers.  Exit 0 listed by any network, 1 not listed, 2 error.\n");
	else if (!strcmp(cmd, "report"))
		fprintf(f, "Reports the message on stdin as spam (DCC report, Razor report with\n"
		           "the razor identity, Pyzor report) and prints the JSON result.\n"
		           "Exit 0 when every asked network accepted it, 2 otherwise.\n");
	else if (!strcmp(cmd, "revoke"))
		fprintf(f, "Takes back a report of the message on stdin (Razor revoke, Pyzor\n"
		           "whitelist; DCC has no un-report) and prints the JSON result.\n"
		           "Exit 0 when every asked network accepted it, 2 otherwise.\n");
	else
		fprintf(f,
		        "Prints every fingerprint drp computes for the message on stdin, each\n"
		        "network in its reference tool's own format:\n"
		        "  pyzor  the 40-hex digest, as `pyzor digest` prints it\n"
		        "  razor  PART<TAB>ENGINE<TAB>SIGNATURE per signature razor-agents sends\n"
		        "  dcc    TYPE<TAB>32-hex per checksum, as dccproc lists them\n"
		        "Without --network every section is printed under a \"# NAME\" line.\n"
		        "Nothing is sent anywhere.  Exit 3 when a network refuses the message\n"
		        "(dccproc's refusals), 2 on error.\n");
	net_opts_usage(cmd, f);
}

static int network_handler(const char *network, const char *cmd, int argc, char **argv,
                           struct drp_slice msg, struct drp_config *cfg)
{
	optind = 0;
	if (!strcmp(network, "pyzor"))
		return drp_cli_pyzor(cmd, argc, argv, msg, cfg);
	if (!strcmp(network, "razor"))
		return drp_cli_razor(cmd, argc, argv, msg, cfg);
	return drp_cli_dcc(cmd, argc, argv, msg, cfg);
}

static int find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return (int)i;
	return -1;
}

int main(int argc, char **argv)
{
	const char *cmd, *network = NULL, *cfgpath = NULL;
	struct drp_config *cfg;
	struct drp_buf msg;
	char err[512];
	int i, j, rc, ci, help = 0;
	char **rest;
	const char **sets;
	int nsets = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("drp %s\n", DRP_VERSION);
		return 0;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "help")) {
		if (argc > 2 && find_command(argv[2]) >= 0)
			command_usage(argv[2], stdout);
		else
			usage(stdout);
		return 0;
	}
	ci = find_command(cmd);
	if (ci < 0) {
		fprintf(stderr, "drp: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	/* pull out the common options, pass the rest to the handler */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	sets = calloc((size_t)argc + 1, sizeof(*sets));
	if (rest == NULL || sets == NULL) {
		free(rest);
		free(sets);
		return 2;
	}
	rest[0] = argv[1];
	for (i = 2, j = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--network") || !strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "drp: %s needs a value\n", argv[i]);
				free(rest);
				free(sets);
				return 2;
			}
			if (!strcmp(argv[i], "--network"))
				network = argv[++i];
			else
				cfgpath = argv[++i];
		} else if (!strcmp(argv[i], "--set") || !strncmp(argv[i], "--set=", 6)) {
			const char *kv = argv[i][5] == '=' ? argv[i] + 6 : NULL;

			if (kv == NULL && i + 1 >= argc) {
				fprintf(stderr, "drp: --set needs key=value\n");
				free(rest);
				return 2;
			}
			sets[nsets++] = kv ? kv : argv[++i];
		} else if (!strncmp(argv[i], "--network=", 10)) {
			network = argv[i] + 10;
		} else if (!strncmp(argv[i], "--config=", 9)) {
			cfgpath = argv[i] + 9;
		} else {
			if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
				help = 1;
			rest[j++] = argv[i];
		}
	}
	/* before stdin is read: `drp check --help` must not wait for a message */
	if (help && (network == NULL || !commands[ci].needs_msg)) {
		command_usage(cmd, stdout);
		free(rest);
		free(sets);
		return 0;
	}
	if (network != NULL && strcmp(network, "pyzor") && strcmp(network, "razor") &&
	    strcmp(network, "dcc")) {
		fprintf(stderr, "drp: unknown network '%s' (dcc, razor or pyzor)\n", network);
		free(rest);
		free(sets);
		return 2;
	}
	if (network != NULL && (!strcmp(cmd, "health") || !strcmp(cmd, "stats"))) {
		fprintf(stderr, "drp: %s probes the whole pool; --network does not apply\n", cmd);
		free(rest);
		free(sets);
		return 2;
	}
	cfg = drp_config_new();
	if (cfg == NULL) {
		free(rest);
		free(sets);
		return 2;
	}
	if (cfgpath == NULL)
		cfgpath = getenv("DRP_CONFIG");
	if (cfgpath != NULL && *cfgpath == '\0')
		cfgpath = NULL; /* as drp-fcgi: empty means the default */
	if (drp_config_load_file(cfg, cfgpath ? cfgpath : "/etc/drp/drp.conf", cfgpath == NULL, err,
	                         sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s\n", err);
		drp_config_free(cfg);
		free(rest);
		free(sets);
		return 2;
	}
	for (i = 0; i < nsets; i++) {
		const char *eq = strchr(sets[i], '=');
		char key[128];

		if (eq == NULL || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof(key)) {
			fprintf(stderr, "drp: --set %s: expected key=value\n", sets[i]);
			rc = 2;
			drp_buf_init(&msg);
			goto out;
		}
		memcpy(key, sets[i], (size_t)(eq - sets[i]));
		key[eq - sets[i]] = '\0';
		if (drp_config_set_flag(cfg, key, eq + 1) < 0) {
			fprintf(stderr, "drp: out of memory\n");
			rc = 2;
			drp_buf_init(&msg);
			goto out;
		}
	}
	drp_buf_init(&msg);
	if (!commands[ci].needs_msg) {
		if (!strcmp(cmd, "ping"))
			rc = drp_cli_ping(network, j, rest, cfg);
		else
			rc = drp_cli_probe(cmd, j, rest, cfg);
		goto out;
	}
	/* the network's own handler knows its options: it prints them and
	 * returns before looking at the (empty) message */
	if (help) {
		rc = network_handler(network, cmd, j, rest, DRP_SLICE("", 0), cfg);
		goto out;
	}
	if (isatty(0))
		fprintf(stderr, "drp: reading the message from the terminal (end with ^D)\n");
	if (drp_cli_read_stdin(&msg, MAX_MESSAGE) < 0) {
		fprintf(stderr, "drp: reading the message from stdin: %s\n",
		        errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
		rc = 2;
		goto out;
	}
	optind = 0;
	if (network == NULL && !strcmp(cmd, "digest"))
		rc = drp_cli_digest_all(j, rest, DRP_SLICE(msg.p, msg.len), cfg);
	else if (network == NULL)
		rc = drp_cli_all(cmd, j, rest, DRP_SLICE(msg.p, msg.len), cfg);
	else
		rc = network_handler(network, cmd, j, rest, DRP_SLICE(msg.p, msg.len), cfg);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "drp: writing to stdout: %s\n", strerror(errno));
		rc = 2;
	}
out:
	drp_buf_free(&msg);
	drp_config_free(cfg);
	free(rest);
	free(sets);
	return rc;
}
