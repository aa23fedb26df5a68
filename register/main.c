/*
 * drp-register: main.  Picks the subcommand, loads the configuration the
 * service reads (so the files land where drp-fcgi looks for them) and
 * hands over; see reg.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/version.h"
#include "reg.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: drp-register [--config FILE] razor|pyzor|dcc [options]\n"
	        "\n"
	        "  razor   obtain a Razor2 identity from a nomination server (a=reg) and\n"
	        "          save it in the razor home as razor-admin -register does\n"
	        "  pyzor   make a Pyzor account key (as pyzor genkey) and write it into the\n"
	        "          pyzor home's accounts file for every configured server\n"
	        "  dcc     save a DCC client-ID and password in a DCC ids file\n"
	        "\n"
	        "  --config FILE   configuration file (default $DRP_CONFIG or /etc/drp/drp.conf)\n"
	        "  -h, --help      this text; `drp-register SUBCOMMAND --help` for its options\n"
	        "  --version       print the version\n"
	        "\n"
	        "Output: KEY=value lines on stdout (shell-sourceable).  Exit 0 done,\n"
	        "1 refused (bad input, would overwrite without --force), 2 failure.\n"
	        "See drp-register(8).\n");
}

int main(int argc, char **argv)
{
	const char *cfgpath = NULL, *sub = NULL;
	struct drp_config *cfg;
	char **rest, err[512];
	int i, n = 0, rc;

	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (rest == NULL)
		return REG_FAILED;
	/* --config may come before or after the subcommand */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				reg_err("--config needs a file name");
				free(rest);
				return REG_REFUSED;
			}
			cfgpath = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			cfgpath = argv[i] + 9;
		} else if (sub == NULL && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
			usage(stdout);
			free(rest);
			return REG_OK;
		} else if (sub == NULL && !strcmp(argv[i], "--version")) {
			printf("drp-register %s\n", DRP_VERSION);
			free(rest);
			return REG_OK;
		} else if (sub == NULL) {
			sub = argv[i];
			rest[n++] = argv[i];
		} else {
			rest[n++] = argv[i];
		}
	}
	if (sub == NULL) {
		usage(stderr);
		free(rest);
		return REG_REFUSED;
	}
	if (strcmp(sub, "razor") && strcmp(sub, "pyzor") && strcmp(sub, "dcc")) {
		reg_err("unknown subcommand '%s' (razor, pyzor or dcc)", sub);
		free(rest);
		return REG_REFUSED;
	}
	cfg = drp_config_new();
	if (cfg == NULL) {
		free(rest);
		return REG_FAILED;
	}
	if (cfgpath == NULL)
		cfgpath = getenv("DRP_CONFIG");
	if (cfgpath != NULL && *cfgpath == '\0')
		cfgpath = NULL; /* as drp-fcgi: empty means the default */
	if (drp_config_load_file(cfg, cfgpath ? cfgpath : "/etc/drp/drp.conf", cfgpath == NULL, err,
	                         sizeof(err)) < 0) {
		reg_err("%s", err);
		drp_config_free(cfg);
		free(rest);
		return REG_FAILED;
	}
	if (!strcmp(sub, "razor"))
		rc = reg_razor(n, rest, cfg);
	else if (!strcmp(sub, "pyzor"))
		rc = reg_pyzor(n, rest, cfg);
	else
		rc = reg_dcc(n, rest, cfg);
	if (fflush(stdout) != 0 && rc == REG_OK) {
		reg_err("writing to stdout failed");
		rc = REG_FAILED;
	}
	drp_config_free(cfg);
	free(rest);
	return rc;
}
