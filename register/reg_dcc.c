/*
 * reg_dcc: `drp-register dcc`.  DCC has no client-side registration: the
 * server operator hands out a client-ID and password, which the client
 * keeps in an ids file ("ID passwd" lines, mode 0600; dccd(8) and
 * clntlib/load_ids.c).  Reading and writing that format is core/dcc_ids;
 * this is the command around it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcc_client.h"
#include "dcc_ids.h"
#include "reg.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: drp-register dcc --client-id ID [options]\n"
	        "\n"
	        "Saves a DCC client-ID and its password (both from the DCC server's\n"
	        "operator) as the line \"ID<TAB>password\" in a DCC ids file, mode 0600,\n"
	        "replacing that ID's old line and keeping every other line.\n"
	        "\n"
	        "  --client-id ID      %u..%u (default: dcc_client_id from the config)\n"
	        "  --passwd-file F     the password is the first line of F ('-' = stdin)\n"
	        "  --ask-passwd        ask for the password on the terminal (twice)\n"
	        "  --generate          make a random password (give it to the operator)\n"
	        "  --ids FILE          the ids file (default: dcc_ids, else %s)\n"
	        "  --force             replace a different password already on file\n"
	        "\n"
	        "Passwords are 1..%d characters without blanks.  Without a password\n"
	        "option the entry already on file is kept (and printed).\n",
	        DRP_DCC_ID_MIN_CLIENT, DRP_DCC_ID_MAX, DRP_DCC_DEFAULT_IDS, DRP_DCC_PASSWD_MAX);
}

enum { OPT_ID = 256, OPT_PFILE, OPT_ASK, OPT_GEN, OPT_IDS, OPT_FORCE };

int reg_dcc(int argc, char **argv, struct drp_config *cfg)
{
	static const struct option opts[] = {
	    {"client-id", required_argument, NULL, OPT_ID},
	    {"passwd-file", required_argument, NULL, OPT_PFILE},
	    {"ask-passwd", no_argument, NULL, OPT_ASK},
	    {"generate", no_argument, NULL, OPT_GEN},
	    {"ids", required_argument, NULL, OPT_IDS},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *idstr = NULL, *pfile = NULL, *path = NULL;
	char pw[256], err[512];
	int ask = 0, gen = 0, force = 0, c, created, have_old, rc = REG_FAILED;
	struct drp_dcc_ids ids = {0};
	const struct drp_dcc_id_entry *old = NULL;
	struct stat st;
	uint32_t id;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ID:
			idstr = optarg;
			break;
		case OPT_PFILE:
			pfile = optarg;
			break;
		case OPT_ASK:
			ask = 1;
			break;
		case OPT_GEN:
			gen = 1;
			break;
		case OPT_IDS:
			path = optarg;
			break;
		case OPT_FORCE:
			force = 1;
			break;
		case 'h':
			usage(stdout);
			return REG_OK;
		default:
			usage(stderr);
			return REG_REFUSED;
		}
	}
	if (optind < argc) {
		reg_err("dcc: unexpected argument '%s'", argv[optind]);
		return REG_REFUSED;
	}
	if ((pfile != NULL) + ask + gen > 1) {
		reg_err("dcc: --passwd-file, --ask-passwd and --generate exclude each other");
		return REG_REFUSED;
	}
	if (idstr == NULL)
		idstr = drp_config_get(cfg, "dcc_client_id");
	if (idstr == NULL) {
		reg_err("dcc: --client-id ID is required (the DCC server operator assigns it)");
		return REG_REFUSED;
	}
	id = drp_dcc_parse_id(idstr, strlen(idstr));
	if (id < DRP_DCC_ID_MIN_CLIENT || id > DRP_DCC_ID_MAX) {
		reg_err("dcc: '%s' is not a DCC client-ID (%u..%u)", idstr, DRP_DCC_ID_MIN_CLIENT,
		        DRP_DCC_ID_MAX);
		return REG_REFUSED;
	}
	if (path == NULL)
		path = drp_config_get(cfg, "dcc_ids");
	if (path == NULL)
		path = DRP_DCC_DEFAULT_IDS;

	have_old = stat(path, &st) == 0;
	if (drp_dcc_ids_load(path, 1, &ids, err, sizeof(err)) < 0) {
		reg_err("dcc: %s", err);
		return REG_FAILED;
	}
	old = drp_dcc_ids_find(&ids, id);
	if (old != NULL && old->passwd[0][0] == '\0')
		old = NULL; /* a bare "ID" is a placeholder */

	pw[0] = '\0';
	if (gen) {
		if (old != NULL && !force)
			snprintf(pw, sizeof(pw), "%s", old->passwd[0]);
		else if (reg_random_alnum(pw, 24) < 0) {
			reg_err("dcc: no random bytes (RAND_bytes failed)");
			goto done;
		}
	} else if (pfile != NULL || ask) {
		if (reg_read_secret(pfile, "DCC password", 1, pw, sizeof(pw), err, sizeof(err)) <
		    0) {
			reg_err("dcc: %s", err);
			rc = REG_REFUSED;
			goto done;
		}
	} else if (old != NULL) {
		snprintf(pw, sizeof(pw), "%s", old->passwd[0]);
	} else {
		reg_err("dcc: %s has no entry for %lu: give --passwd-file, --ask-passwd or "
		        "--generate",
		        path, (unsigned long)id);
		rc = REG_REFUSED;
		goto done;
	}
	if (old != NULL && strcmp(old->passwd[0], pw) != 0 && !force) {
		reg_err("dcc: %s already has a different password for %lu; --force replaces it",
		        path, (unsigned long)id);
		rc = REG_REFUSED;
		goto done;
	}
	if (old != NULL && strcmp(old->passwd[0], pw) == 0 && old->passwd[1][0] == '\0') {
		fprintf(stderr, "drp-register: %s already holds %lu; unchanged\n", path,
		        (unsigned long)id);
	} else {
		if (reg_ensure_dir(path, 0700, &created, err, sizeof(err)) < 0) {
			reg_err("dcc: %s", err);
			goto done;
		}
		if (drp_dcc_ids_write(path, id, pw, err, sizeof(err)) < 0) {
			reg_err("dcc: %s", err);
			rc = strstr(err, "passw") != NULL ? REG_REFUSED : REG_FAILED;
			goto done;
		}
		/* root writing for the service: keep the old owner, or the directory's */
		if (geteuid() == 0) {
			struct stat own = st;
			char dir[4096];
			const char *slash = strrchr(path, '/');

			if (slash == NULL)
				snprintf(dir, sizeof(dir), ".");
			else
				snprintf(dir, sizeof(dir), "%.*s",
				         slash == path ? 1 : (int)(slash - path), path);
			if ((have_old || stat(dir, &own) == 0) &&
			    chown(path, own.st_uid, own.st_gid) < 0)
				fprintf(stderr, "drp-register: %s: cannot set owner: %m\n", path);
		}
		fprintf(stderr, "drp-register: saved client-ID %lu in %s\n", (unsigned long)id,
		        path);
	}
	printf("DCC_CLIENT_ID=%lu\n", (unsigned long)id);
	reg_print_var("DCC_CLIENT_PASSWD", pw);
	rc = REG_OK;
done:
	memset(pw, 0, sizeof(pw));
	drp_dcc_ids_free(&ids);
	return rc;
}
