/*
 * reg_razor: `drp-register razor` — razor-admin -register for drp.
 *
 * The a=reg conversation with the nomination server and the identity file
 * (identity-<user>, razor's "%-22s = value" lines, mode 0600, and the
 * `identity` symlink) belong to core/razor_client and core/razor_home;
 * this command decides whether registering is wanted at all: an identity
 * already in the razor home is kept (and printed) unless --force, so
 * running it twice registers once.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "razor_client.h"
#include "razor_home.h"
#include "reg.h"

#define RZ_DEFAULT_HOME "/var/lib/razor"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: drp-register razor [options]\n"
	        "\n"
	        "Registers a new Razor2 identity with a nomination server (a=reg) and saves\n"
	        "it in the razor home the way razor-admin -register does: identity-USER\n"
	        "(mode 0600) and the `identity` symlink the service reads.\n"
	        "\n"
	        "  --user NAME          ask for this user name (default: the server invents one)\n"
	        "  --pass-file F        ask for the password on the first line of F ('-' = stdin)\n"
	        "  --pass PASS          the same on the command line (visible in ps; avoid)\n"
	        "  --home DIR           razor home (default: razor_home, else %s)\n"
	        "  --discovery HOST[:PORT]  discovery server to find the nomination servers\n"
	        "                       (default: razor_discovery from the config)\n"
	        "  --force              register even though an identity exists, and point\n"
	        "                       `identity` at the new one (the old file is kept)\n"
	        "\n"
	        "An existing identity is kept and printed: running twice registers once.\n"
	        "Prints RAZOR_USER= and RAZOR_PASS= lines.\n",
	        RZ_DEFAULT_HOME);
}

/* The identity file name razor-agent.conf names (default "identity"). */
static void identity_name(const char *home, char *out, size_t outlen)
{
	struct drp_razor_kv kv;
	char path[PATH_MAX], err[256];
	const char *v;

	snprintf(out, outlen, "identity");
	if (reg_path_join(path, sizeof(path), home, "razor-agent.conf") < 0)
		return;
	drp_razor_kv_init(&kv);
	if (drp_razor_kv_load(path, &kv, err, sizeof(err)) == 0 &&
	    (v = drp_razor_kv_get(&kv, "identity")) != NULL && *v)
		snprintf(out, outlen, "%s", v);
	drp_razor_kv_free(&kv);
}

/* Root registering for the service account: hand the new files to
 * whoever owns the razor home. */
static void give_to_home_owner(const char *home, const char *ident, const char *user)
{
	struct stat st;
	char path[PATH_MAX], name[PATH_MAX];

	if (geteuid() != 0 || stat(home, &st) < 0)
		return;
	snprintf(name, sizeof(name), "identity-%s", user);
	if (reg_path_join(path, sizeof(path), home, name) == 0 &&
	    lchown(path, st.st_uid, st.st_gid) < 0)
		reg_err("razor: %s: cannot set owner: %m", path);
	if (reg_path_join(path, sizeof(path), home, ident) == 0)
		(void)lchown(path, st.st_uid, st.st_gid);
}

enum { OPT_USER = 256, OPT_PASS, OPT_PFILE, OPT_HOME, OPT_DISC, OPT_FORCE };

int reg_razor(int argc, char **argv, struct drp_config *cfg)
{
	static const struct option opts[] = {
	    {"user", required_argument, NULL, OPT_USER},
	    {"pass", required_argument, NULL, OPT_PASS},
	    {"pass-file", required_argument, NULL, OPT_PFILE},
	    {"home", required_argument, NULL, OPT_HOME},
	    {"discovery", required_argument, NULL, OPT_DISC},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *user = NULL, *pass = NULL, *pfile = NULL, *home;
	char passbuf[256], err[1024], ident[PATH_MAX], cur_user[256], cur_pass[256], new_user[256];
	struct drp_razor_reg reg;
	int c, force = 0, have, created = 0, rc = REG_FAILED;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_USER:
			user = optarg;
			break;
		case OPT_PASS:
			pass = optarg;
			break;
		case OPT_PFILE:
			pfile = optarg;
			break;
		case OPT_HOME:
			if (drp_config_set_flag(cfg, "razor_home", optarg) < 0)
				return REG_FAILED;
			break;
		case OPT_DISC:
			if (drp_config_set_flag(cfg, "razor_discovery", optarg) < 0)
				return REG_FAILED;
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
		reg_err("razor: unexpected argument '%s'", argv[optind]);
		return REG_REFUSED;
	}
	if (pass != NULL && pfile != NULL) {
		reg_err("razor: --pass and --pass-file exclude each other");
		return REG_REFUSED;
	}
	if (pfile != NULL) {
		if (reg_read_secret(pfile, "razor password", 0, passbuf, sizeof(passbuf), err,
		                    sizeof(err)) < 0) {
			reg_err("razor: %s", err);
			return REG_REFUSED;
		}
		pass = passbuf;
	}
	/* they end up in "key = value" lines and in a=reg's SIS query */
	if ((user && (!*user || strpbrk(user, " \t\r\n&=/") != NULL)) ||
	    (pass && (!*pass || strpbrk(pass, " \t\r\n&=") != NULL))) {
		reg_err("razor: user and password must be non-empty, without blanks, '&' or '='"
		        "%s",
		        user && strchr(user, '/') ? " (and the user without '/')" : "");
		return REG_REFUSED;
	}
	home = drp_config_get(cfg, "razor_home");
	if (home == NULL) {
		home = RZ_DEFAULT_HOME;
		if (drp_config_set_flag(cfg, "razor_home", home) < 0)
			return REG_FAILED;
	}
	identity_name(home, ident, sizeof(ident));

	have = drp_razor_ident_load(home, ident, cur_user, sizeof(cur_user), cur_pass,
	                            sizeof(cur_pass), err, sizeof(err));
	if (have < 0 && !force) {
		reg_err("razor: %s (--force registers anew)", err);
		return REG_FAILED;
	}
	if (have == 0 && !force) {
		if (user != NULL && strcmp(user, cur_user) != 0) {
			reg_err(
			    "razor: %s/%s already holds the identity of '%s'; --force registers "
			    "'%s' and points %s at it",
			    home, ident, cur_user, user, ident);
			rc = REG_REFUSED;
			goto done;
		}
		if (pass != NULL && strcmp(pass, cur_pass) != 0) {
			reg_err("razor: %s/%s holds '%s' with another password; --force registers "
			        "anew",
			        home, ident, cur_user);
			rc = REG_REFUSED;
			goto done;
		}
		fprintf(stderr, "drp-register: %s/%s: already registered as %s; unchanged\n", home,
		        ident, cur_user);
		reg_print_var("RAZOR_USER", cur_user);
		reg_print_var("RAZOR_PASS", cur_pass);
		rc = REG_OK;
		goto done;
	}
	{
		char probe[PATH_MAX + 16];

		/* razor-admin would make the home too; private, it holds the identity */
		if (reg_path_join(probe, sizeof(probe), home, "identity") < 0 ||
		    reg_ensure_dir(probe, 0700, &created, err, sizeof(err)) < 0) {
			reg_err("razor: %s", err[0] ? err : "razor home path too long");
			goto done;
		}
	}
	memset(&reg, 0, sizeof(reg));
	reg.user = user;
	reg.pass = pass;
	reg.link = have == 0 && force;
	if (drp_razor_register(cfg, &reg, new_user, sizeof(new_user), err, sizeof(err)) < 0) {
		reg_err("razor: registration failed: %s", err);
		if (created)
			(void)rmdir(home); /* leave no trace of a failed run (only if empty) */
		goto done;
	}
	give_to_home_owner(home, ident, new_user);
	have = drp_razor_ident_load(home, ident, cur_user, sizeof(cur_user), cur_pass,
	                            sizeof(cur_pass), err, sizeof(err));
	if (have != 0 || strcmp(cur_user, new_user) != 0) {
		reg_err("razor: registered as %s, but %s/%s does not name it: %s", new_user, home,
		        ident, have < 0 ? err : "another identity is linked");
		goto done;
	}
	fprintf(stderr, "drp-register: registered as %s; identity in %s/identity-%s\n", new_user,
	        home, new_user);
	reg_print_var("RAZOR_USER", cur_user);
	reg_print_var("RAZOR_PASS", cur_pass);
	rc = REG_OK;
done:
	memset(passbuf, 0, sizeof(passbuf));
	memset(cur_pass, 0, sizeof(cur_pass));
	return rc;
}
