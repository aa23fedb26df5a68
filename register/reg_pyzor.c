/*
 * reg_pyzor: `drp-register pyzor`.  Makes an account key the way
 * `pyzor genkey` does and writes pyzor's accounts file.
 *
 * genkey (bin/pyzor, Debian pyzor 1.0.0): a salt string of 20 characters
 * U+0000..U+00FF, UTF-8 encoded (so 20..40 bytes); salt = hex SHA1(those
 * bytes); key = hex SHA1(SHA1raw(those bytes) || passphrase).  Because
 * SHA1raw(bytes) is exactly unhex(salt), the key is a function of the
 * printed salt and the passphrase, which is what makes --salt work.
 *
 * accounts (pyzor/config.py load_accounts): "host : port : user : salt,key"
 * per line, '#' comments; an account applies to the server whose host and
 * port equal the servers-file entry textually.
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "netaddr.h"
#include "pyzor_client.h"
#include "reg.h"

#define PZ_MAX_SERVERS 16
#define PZ_DEFAULT_HOME "/var/lib/pyzor"
#define PZ_DEFAULT_SERVER "public.pyzor.org:24441"
#define PZ_SALT_CHARS 20 /* sha1 digest_size: genkey's salt length */
#define PZ_FILE_MAX (1u << 20)

struct pz_server {
	char host[DRP_HOST_MAX];
	unsigned port;
};

struct pz_acct {
	char user[128];
	char salt[41];
	char key[129];
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: drp-register pyzor --user NAME [options]\n"
	        "\n"
	        "Makes a Pyzor account key and writes the line\n"
	        "  host : port : NAME : salt,key\n"
	        "for every configured server into the accounts file (mode 0600, its\n"
	        "directory 0700), replacing that server's old line.  Hand the printed\n"
	        "PYZORD_PASSWD line (\"NAME : key\") to each server's operator.\n"
	        "\n"
	        "  --user NAME            account name (default: pyzor_user from the config)\n"
	        "  --passphrase-file F    derive the key from the first line of F ('-' = stdin)\n"
	        "                         exactly as `pyzor genkey` does\n"
	        "  --ask-passphrase       ask for the passphrase on the terminal (twice)\n"
	        "  --salt HEX             reuse this 40-hex salt with the passphrase (same key\n"
	        "                         as the genkey run that printed it)\n"
	        "  --key HEX              store this key as given (with --salt, or a new salt)\n"
	        "  --server HOST:PORT     a server to write a line for (repeatable; default:\n"
	        "                         pyzor_servers, else HOME/servers, else %s)\n"
	        "  --home DIR             pyzor home (default: pyzor_home, else %s)\n"
	        "  --accounts FILE        accounts file (default HOME/accounts)\n"
	        "  --force                new random key even if the file already has one\n"
	        "\n"
	        "Without a passphrase or --key the key is random; an account already in the\n"
	        "file for NAME is kept (running twice changes nothing) unless --force.\n",
	        PZ_DEFAULT_SERVER, PZ_DEFAULT_HOME);
}

static int sha1(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[20])
{
	unsigned int n = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m != NULL && EVP_DigestInit_ex(m, EVP_sha1(), NULL) == 1 &&
	         EVP_DigestUpdate(m, a, alen) == 1 &&
	         (blen == 0 || EVP_DigestUpdate(m, b, blen) == 1) &&
	         EVP_DigestFinal_ex(m, out, &n) == 1 && n == 20;

	EVP_MD_CTX_free(m);
	return ok ? 0 : -1;
}

static int is_hex(const char *s, size_t want)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f') ||
		      (s[n] >= 'A' && s[n] <= 'F')))
			return 0;
	return n > 0 && (want == 0 || n == want);
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

static int unhex20(const char *s, uint8_t out[20])
{
	for (int i = 0; i < 20; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Names end up in a file split on ':' and in KEY=value lines for a shell. */
static int valid_user(const char *u)
{
	if (*u == '\0' || strlen(u) >= sizeof(((struct pz_acct *)0)->user))
		return 0;
	for (; *u; u++)
		if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		      (*u >= '0' && *u <= '9') || strchr("._@+-", *u)))
			return 0;
	return 1;
}

/* genkey's salt: 20 code points 0..255, UTF-8 encoded, hashed. */
static int random_salt(char salt[41])
{
	uint8_t cp[PZ_SALT_CHARS], enc[2 * PZ_SALT_CHARS], d[20];
	size_t n = 0;

	if (reg_random(cp, sizeof(cp)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(cp); i++) {
		if (cp[i] < 0x80) {
			enc[n++] = cp[i];
		} else {
			enc[n++] = (uint8_t)(0xc0 | (cp[i] >> 6));
			enc[n++] = (uint8_t)(0x80 | (cp[i] & 0x3f));
		}
	}
	if (sha1(enc, n, NULL, 0, d) < 0)
		return -1;
	drp_hex(d, 20, salt);
	return 0;
}

static int derive_key(const char *salt, const char *pass, char key[41])
{
	uint8_t raw[20], d[20];

	if (unhex20(salt, raw) < 0 || sha1(raw, 20, pass, strlen(pass), d) < 0)
		return -1;
	drp_hex(d, 20, key);
	return 0;
}

static int add_servers_from_text(const char *text, struct pz_server *sv, int *n, char *err,
                                 size_t errlen, const char *what)
{
	struct drp_hostport hp[PZ_MAX_SERVERS];
	int k = drp_hostport_list(text, 24441, hp, PZ_MAX_SERVERS, err, errlen);

	if (k < 0) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, " (%s)", what);
		return -1;
	}
	for (int i = 0; i < k && *n < PZ_MAX_SERVERS; i++) {
		memcpy(sv[*n].host, hp[i].host, sizeof(sv[*n].host));
		sv[*n].port = hp[i].port;
		(*n)++;
	}
	return 0;
}

/* The pyzor home's servers file, read by the client's own rules. */
static int servers_file(const char *home, struct pz_server *sv, int *n)
{
	struct drp_hostport hp[DRP_PYZOR_MAX_SERVERS];
	struct drp_buf b;
	char path[4096], err[512];
	int k, rc;

	if (reg_path_join(path, sizeof(path), home, "servers") < 0)
		return 0;
	drp_buf_init(&b);
	rc = reg_read_file(path, &b, PZ_FILE_MAX, err, sizeof(err));
	if (rc < 0) {
		reg_err("pyzor: %s", err);
		drp_buf_free(&b);
		return -1;
	}
	k = rc > 0 ? drp_pyzor_parse_servers((const char *)b.p, b.len, hp, DRP_PYZOR_MAX_SERVERS)
	           : 0;
	for (int i = 0; i < k && *n < PZ_MAX_SERVERS; i++) {
		memcpy(sv[*n].host, hp[i].host, sizeof(sv[*n].host));
		sv[*n].port = hp[i].port;
		(*n)++;
	}
	drp_buf_free(&b);
	return 0;
}

/* One accounts-file line split like pyzor does; 1 when it is an account. */
static int parse_line(const char *s, size_t n, char f[4][256])
{
	size_t i = 0, k = 0, start = 0;

	while (n > 0 && strchr(" \t\r\v\f", s[n - 1]))
		n--;
	while (i < n && strchr(" \t\r\v\f", s[i]))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	for (start = i; i <= n; i++) {
		if (i == n || s[i] == ':') {
			size_t a = start, b = i;

			if (k == 4)
				return 0;
			while (a < b && strchr(" \t\r\v\f", s[a]))
				a++;
			while (b > a && strchr(" \t\r\v\f", s[b - 1]))
				b--;
			if (b - a >= 256)
				return 0;
			memcpy(f[k], s + a, b - a);
			f[k][b - a] = '\0';
			k++;
			start = i + 1;
		}
	}
	return k == 4;
}

static int server_index(char f[4][256], const struct pz_server *sv, int n)
{
	char *end;
	unsigned long port;

	errno = 0;
	port = strtoul(f[1], &end, 10);
	if (errno || end == f[1] || *end)
		return -1;
	for (int i = 0; i < n; i++)
		if (!strcmp(sv[i].host, f[0]) && sv[i].port == port)
			return i;
	return -1;
}

/* The account NAME already has on one of our servers, if any. */
static int find_existing(const struct drp_buf *old, const struct pz_server *sv, int n,
                         const char *user, struct pz_acct *out)
{
	const char *p = (const char *)old->p, *end = p + old->len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		char f[4][256], *comma;

		if (eol == NULL)
			eol = end;
		if (parse_line(p, (size_t)(eol - p), f) && server_index(f, sv, n) >= 0 &&
		    !strcmp(f[2], user) && (comma = strchr(f[3], ',')) != NULL) {
			*comma = '\0';
			if (is_hex(f[3], 40) && is_hex(comma + 1, 0) &&
			    strlen(comma + 1) < sizeof(out->key)) {
				snprintf(out->user, sizeof(out->user), "%s", user);
				memcpy(out->salt, f[3], sizeof(out->salt)); /* 40 hex + NUL */
				memcpy(out->key, comma + 1, strlen(comma + 1) + 1);
				lower(out->salt);
				lower(out->key);
				return 1;
			}
		}
		p = eol < end ? eol + 1 : end;
	}
	return 0;
}

/* The old file with every line for our servers replaced by the new account. */
static int rewrite(const struct drp_buf *old, const struct pz_server *sv, int n,
                   const struct pz_acct *a, struct drp_buf *out)
{
	const char *p = (const char *)old->p, *end = p + old->len;
	int done[PZ_MAX_SERVERS] = {0};

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		char f[4][256];
		int i;

		if (eol == NULL)
			eol = end;
		if (parse_line(p, (size_t)(eol - p), f) && (i = server_index(f, sv, n)) >= 0) {
			if (!done[i] && drp_buf_printf(out, "%s : %u : %s : %s,%s\n", sv[i].host,
			                               sv[i].port, a->user, a->salt, a->key) < 0)
				return -1;
			done[i] = 1;
		} else if (drp_buf_append(out, p, (size_t)(eol - p)) < 0 ||
		           drp_buf_putc(out, '\n') < 0) {
			return -1;
		}
		p = eol < end ? eol + 1 : end;
	}
	for (int i = 0; i < n; i++)
		if (!done[i] && drp_buf_printf(out, "%s : %u : %s : %s,%s\n", sv[i].host,
		                               sv[i].port, a->user, a->salt, a->key) < 0)
			return -1;
	return 0;
}

enum {
	OPT_USER = 256,
	OPT_PFILE,
	OPT_ASK,
	OPT_SALT,
	OPT_KEY,
	OPT_SERVER,
	OPT_HOME,
	OPT_ACCTS,
	OPT_FORCE
};

int reg_pyzor(int argc, char **argv, struct drp_config *cfg)
{
	static const struct option opts[] = {
	    {"user", required_argument, NULL, OPT_USER},
	    {"passphrase-file", required_argument, NULL, OPT_PFILE},
	    {"ask-passphrase", no_argument, NULL, OPT_ASK},
	    {"salt", required_argument, NULL, OPT_SALT},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"server", required_argument, NULL, OPT_SERVER},
	    {"home", required_argument, NULL, OPT_HOME},
	    {"accounts", required_argument, NULL, OPT_ACCTS},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *user = NULL, *pfile = NULL, *salt_arg = NULL, *key_arg = NULL, *home = NULL,
	           *accts = NULL, *v;
	char path[4096], err[512], pass[512], homebuf[4096];
	struct pz_server sv[PZ_MAX_SERVERS];
	struct pz_acct acct, old_acct;
	struct drp_buf old, out;
	int ask = 0, force = 0, nsv = 0, c, have_old, rc = REG_FAILED, created, use_pass;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_USER:
			user = optarg;
			break;
		case OPT_PFILE:
			pfile = optarg;
			break;
		case OPT_ASK:
			ask = 1;
			break;
		case OPT_SALT:
			salt_arg = optarg;
			break;
		case OPT_KEY:
			key_arg = optarg;
			break;
		case OPT_SERVER:
			if (add_servers_from_text(optarg, sv, &nsv, err, sizeof(err), "--server") <
			    0) {
				reg_err("%s", err);
				return REG_REFUSED;
			}
			break;
		case OPT_HOME:
			home = optarg;
			break;
		case OPT_ACCTS:
			accts = optarg;
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
		reg_err("pyzor: unexpected argument '%s'", argv[optind]);
		return REG_REFUSED;
	}
	if (user == NULL)
		user = drp_config_get(cfg, "pyzor_user");
	if (user == NULL) {
		reg_err("pyzor: --user NAME is required (the account name the server operator "
		        "will know you by)");
		return REG_REFUSED;
	}
	if (!valid_user(user) || !strcmp(user, "anonymous")) {
		reg_err("pyzor: bad user name '%s' (letters, digits and ._@+- only; not "
		        "'anonymous')",
		        user);
		return REG_REFUSED;
	}
	use_pass = pfile != NULL || ask;
	if (pfile != NULL && ask) {
		reg_err("pyzor: --passphrase-file and --ask-passphrase exclude each other");
		return REG_REFUSED;
	}
	if (key_arg != NULL && use_pass) {
		reg_err("pyzor: --key and a passphrase exclude each other");
		return REG_REFUSED;
	}
	if (salt_arg != NULL && !is_hex(salt_arg, 40)) {
		reg_err("pyzor: --salt must be 40 hex digits (the salt part genkey printed)");
		return REG_REFUSED;
	}
	if (salt_arg != NULL && !use_pass && key_arg == NULL) {
		reg_err("pyzor: --salt needs a passphrase or --key");
		return REG_REFUSED;
	}
	if (key_arg != NULL && (!is_hex(key_arg, 0) || strlen(key_arg) >= sizeof(acct.key))) {
		reg_err("pyzor: --key must be a hex string (the key part genkey printed)");
		return REG_REFUSED;
	}

	if (home == NULL)
		home = drp_config_get(cfg, "pyzor_home");
	if (home == NULL)
		home = PZ_DEFAULT_HOME;
	snprintf(homebuf, sizeof(homebuf), "%s", home);
	if (reg_path_join(path, sizeof(path), homebuf, accts ? accts : "accounts") < 0) {
		reg_err("pyzor: accounts path too long");
		return REG_REFUSED;
	}
	if (nsv == 0 && (v = drp_config_get(cfg, "pyzor_servers")) != NULL &&
	    add_servers_from_text(v, sv, &nsv, err, sizeof(err), "pyzor_servers") < 0) {
		reg_err("%s", err);
		return REG_REFUSED;
	}
	if (nsv == 0 && servers_file(homebuf, sv, &nsv) < 0)
		return REG_FAILED;
	if (nsv == 0)
		add_servers_from_text(PZ_DEFAULT_SERVER, sv, &nsv, err, sizeof(err), "default");

	drp_buf_init(&old);
	drp_buf_init(&out);
	have_old = reg_read_file(path, &old, PZ_FILE_MAX, err, sizeof(err));
	if (have_old < 0) {
		reg_err("%s", err);
		goto done;
	}
	memset(&acct, 0, sizeof(acct));
	snprintf(acct.user, sizeof(acct.user), "%s", user);
	have_old = have_old > 0 && find_existing(&old, sv, nsv, user, &old_acct);

	if (use_pass) {
		if (reg_read_secret(pfile, "passphrase", 1, pass, sizeof(pass), err, sizeof(err)) <
		    0) {
			reg_err("pyzor: %s", err);
			rc = REG_REFUSED;
			goto done;
		}
		if (pass[0] == '\0') {
			reg_err("pyzor: empty passphrase");
			rc = REG_REFUSED;
			goto done;
		}
		/* the salt already on file keeps a re-run from changing the key */
		if (salt_arg != NULL)
			snprintf(acct.salt, sizeof(acct.salt), "%s", salt_arg);
		else if (have_old && !force)
			snprintf(acct.salt, sizeof(acct.salt), "%s", old_acct.salt);
		else if (random_salt(acct.salt) < 0)
			goto rand_fail;
		lower(acct.salt);
		if (derive_key(acct.salt, pass, acct.key) < 0) {
			reg_err("pyzor: SHA-1 failed");
			goto done;
		}
		memset(pass, 0, sizeof(pass));
	} else if (key_arg != NULL) {
		snprintf(acct.key, sizeof(acct.key), "%s", key_arg);
		lower(acct.key);
		if (salt_arg != NULL)
			snprintf(acct.salt, sizeof(acct.salt), "%s", salt_arg);
		else if (have_old && !strcmp(old_acct.key, acct.key))
			snprintf(acct.salt, sizeof(acct.salt), "%s", old_acct.salt);
		else if (random_salt(acct.salt) < 0)
			goto rand_fail;
		lower(acct.salt);
	} else if (have_old && !force) {
		acct = old_acct;
	} else {
		uint8_t k[20];

		if (random_salt(acct.salt) < 0 || reg_random(k, sizeof(k)) < 0)
			goto rand_fail;
		drp_hex(k, sizeof(k), acct.key);
	}

	if (rewrite(&old, sv, nsv, &acct, &out) < 0) {
		reg_err("pyzor: out of memory");
		goto done;
	}
	if (old.len == out.len && (out.len == 0 || !memcmp(old.p, out.p, out.len))) {
		/* nothing to change; only make sure the mode is what pyzor expects */
		if (chmod(path, 0600) < 0) {
			reg_err("%s: cannot set mode 0600: %s", path, strerror(errno));
			goto done;
		}
		fprintf(stderr, "drp-register: %s already holds this account; unchanged\n", path);
	} else {
		if (reg_ensure_dir(path, 0700, &created, err, sizeof(err)) < 0) {
			reg_err("%s", err);
			goto done;
		}
		if (!created && accts == NULL) {
			struct stat st;

			/* the accounts file's directory is the pyzor home: keep it private */
			if (stat(homebuf, &st) == 0 && (st.st_mode & 077) &&
			    chmod(homebuf, 0700) == 0)
				fprintf(stderr, "drp-register: %s: mode set to 0700\n", homebuf);
		}
		if (reg_write_atomic(path, out.p, out.len, 0600, err, sizeof(err)) < 0) {
			reg_err("%s", err);
			goto done;
		}
		fprintf(stderr, "drp-register: wrote %d account line%s for %s to %s\n", nsv,
		        nsv == 1 ? "" : "s", user, path);
	}
	printf("PYZOR_USER=%s\nPYZOR_SALT=%s\nPYZOR_KEY=%s\n", acct.user, acct.salt, acct.key);
	/* what the operator of every server puts in pyzord.passwd */
	printf("PYZORD_PASSWD='%s : %s'\n", acct.user, acct.key);
	rc = REG_OK;
	goto done;
rand_fail:
	reg_err("pyzor: no random bytes (RAND_bytes failed)");
done:
	memset(pass, 0, sizeof(pass));
	drp_buf_free(&old);
	drp_buf_free(&out);
	return rc;
}
