/*
 * net_digest_all: `drp digest` without --network.  Every network's digest
 * handler runs in turn on the same message, each printing exactly what
 * `drp digest --network X` prints (the reference tool's own format) under
 * a "# X" line, so one section can be cut out and diffed against the tool.
 * The per-network options are handed to the network that owns them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_tools.h"

/* Which network takes which digest option, and whether it has a value. */
static const struct {
	const char *name;
	const char *net;
	int has_arg;
} routes[] = {
    {"--ep4", "razor", 1},     {"--engines", "razor", 1},  {"--nul-rule", "pyzor", 0},
    {"--client-ip", "dcc", 1}, {"--env-from", "dcc", 1},   {"--env-to", "dcc", 1},
    {"--helo", "dcc", 1},      {"--substitute", "dcc", 1}, {"--ip-from-received", "dcc", 0},
};

enum { N_DCC, N_RAZOR, N_PYZOR, N_NETS };
static const char *const net_names[N_NETS] = {"dcc", "razor", "pyzor"};

static int net_index(const char *name)
{
	for (int i = 0; i < N_NETS; i++)
		if (strcmp(net_names[i], name) == 0)
			return i;
	return -1;
}

int drp_cli_digest_all(int argc, char **argv, struct drp_slice msg, struct drp_config *cfg)
{
	char **nargv[N_NETS];
	int nargc[N_NETS], rc = 0, bad_opt = 0, i;

	for (i = 0; i < N_NETS; i++) {
		nargv[i] = calloc((size_t)argc + 1, sizeof(char *));
		if (nargv[i] == NULL) {
			while (--i >= 0)
				free(nargv[i]);
			fprintf(stderr, "drp: out of memory\n");
			return 2;
		}
		nargv[i][0] = argv[0];
		nargc[i] = 1;
	}
	for (i = 1; i < argc && !bad_opt; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t alen = eq ? (size_t)(eq - a) : strlen(a);
		size_t r;

		for (r = 0; r < sizeof(routes) / sizeof(routes[0]); r++)
			if (strlen(routes[r].name) == alen && strncmp(routes[r].name, a, alen) == 0)
				break;
		if (r == sizeof(routes) / sizeof(routes[0])) {
			fprintf(stderr,
			        "drp: digest: unknown option '%s' (per-network options other than "
			        "these need --network)\n",
			        a);
			bad_opt = 1;
			break;
		}
		int k = net_index(routes[r].net);

		nargv[k][nargc[k]++] = argv[i];
		if (routes[r].has_arg && eq == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "drp: digest: %s needs a value\n", a);
				bad_opt = 1;
				break;
			}
			nargv[k][nargc[k]++] = argv[++i];
		}
	}
	for (i = 0; i < N_NETS && !bad_opt; i++) {
		int r;

		printf("# %s\n", net_names[i]);
		fflush(stdout);
		optind = 0; /* each handler runs its own getopt from the start */
		if (i == N_DCC)
			r = drp_cli_dcc_digest(nargc[i], nargv[i], msg, cfg);
		else if (i == N_RAZOR)
			r = drp_cli_razor_digest(nargc[i], nargv[i], msg, cfg);
		else
			r = drp_cli_pyzor("digest", nargc[i], nargv[i], msg, cfg);
		fflush(stdout);
		/* an error anywhere wins over a refusal (3), which wins over 0 */
		if (r == 2 || (r != 0 && r != 3))
			rc = 2;
		else if (r == 3 && rc == 0)
			rc = 3;
	}
	for (i = 0; i < N_NETS; i++)
		free(nargv[i]);
	return bad_opt ? 2 : rc;
}
