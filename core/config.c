/* config: see config.h. */

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#define CONFIG_FILE_VALUE_MAX 4096

enum { SRC_FLAG, SRC_FILE, SRC_DEFAULT, SRC_N };

struct entry {
	char *key;
	char *val[SRC_N];
};

struct fileval {
	char *path;
	char *val; /* NULL when the file could not be read */
	int err;   /* errno of that failure */
};

struct drp_config {
	struct entry *e;
	size_t n, cap;
	/* values read from *_file indirections, one per path, kept alive with
	 * the config so repeated lookups neither re-read nor grow */
	struct fileval *fv;
	size_t nfv;
};

struct drp_config *drp_config_new(void)
{
	return calloc(1, sizeof(struct drp_config));
}

void drp_config_free(struct drp_config *c)
{
	size_t i;
	int s;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->e[i].key);
		for (s = 0; s < SRC_N; s++)
			free(c->e[i].val[s]);
	}
	for (i = 0; i < c->nfv; i++) {
		free(c->fv[i].path);
		if (c->fv[i].val != NULL)
			OPENSSL_cleanse(c->fv[i].val, strlen(c->fv[i].val));
		free(c->fv[i].val);
	}
	free(c->fv);
	free(c->e);
	free(c);
}

static struct entry *lookup(const struct drp_config *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->e[i].key, key) == 0)
			return &c->e[i];
	return NULL;
}

static int set(struct drp_config *c, int src, const char *key, const char *value)
{
	struct entry *e = lookup(c, key);
	char *v;

	if (e == NULL) {
		if (c->n == c->cap) {
			size_t nc = c->cap ? c->cap * 2 : 32;
			struct entry *ne = realloc(c->e, nc * sizeof(*ne));

			if (ne == NULL)
				return -1;
			c->e = ne;
			c->cap = nc;
		}
		e = &c->e[c->n];
		memset(e, 0, sizeof(*e));
		e->key = strdup(key);
		if (e->key == NULL)
			return -1;
		c->n++;
	}
	v = strdup(value);
	if (v == NULL)
		return -1;
	free(e->val[src]);
	e->val[src] = v;
	return 0;
}

int drp_config_set_flag(struct drp_config *c, const char *key, const char *value)
{
	return set(c, SRC_FLAG, key, value);
}

int drp_config_set_default(struct drp_config *c, const char *key, const char *value)
{
	return set(c, SRC_DEFAULT, key, value);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int drp_config_load_file(struct drp_config *c, const char *path, int optional, char *err,
                         size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	if (f == NULL) {
		if (optional && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *k, *v, *eq, *p;

		lineno++;
		k = trim(line);
		if (*k == 0 || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
			rc = -1;
			break;
		}
		*eq = 0;
		v = trim(eq + 1);
		k = trim(k);
		for (p = k; *p; p++) {
			if (!(isalnum((unsigned char)*p) || *p == '_')) {
				snprintf(err, errlen, "%s:%d: bad key '%s'", path, lineno, k);
				rc = -1;
				break;
			}
			*p = (char)tolower((unsigned char)*p);
		}
		if (rc < 0)
			break;
		if (*k == 0) {
			snprintf(err, errlen, "%s:%d: empty key", path, lineno);
			rc = -1;
			break;
		}
		/* strip one level of matching quotes */
		if (strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[strlen(v) - 1] == v[0]) {
			v[strlen(v) - 1] = 0;
			v++;
		}
		if (set(c, SRC_FILE, k, v) < 0) {
			snprintf(err, errlen, "%s:%d: out of memory", path, lineno);
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

void drp_config_env_name(const char *key, char *out, size_t outlen)
{
	size_t i = 0;
	const char *p;

	if (outlen == 0)
		return;
	if (strncmp(key, "pyzor_", 6) != 0 && strncmp(key, "razor_", 6) != 0 &&
	    strncmp(key, "dcc_", 4) != 0) {
		snprintf(out, outlen, "DRP_");
		i = 4;
	}
	for (p = key; *p && i + 1 < outlen; p++)
		out[i++] = (char)toupper((unsigned char)*p);
	out[i < outlen ? i : outlen - 1] = 0;
}

static const char *raw_get(const struct drp_config *c, const char *key, const char **src)
{
	const struct entry *e = lookup(c, key);
	char env[128];
	const char *v;

	if (e != NULL && e->val[SRC_FLAG] != NULL) {
		*src = "flag";
		return e->val[SRC_FLAG];
	}
	drp_config_env_name(key, env, sizeof(env));
	v = getenv(env);
	if (v != NULL) {
		*src = "env";
		return v;
	}
	if (e != NULL && e->val[SRC_FILE] != NULL) {
		*src = "file";
		return e->val[SRC_FILE];
	}
	if (e != NULL && e->val[SRC_DEFAULT] != NULL) {
		*src = "default";
		return e->val[SRC_DEFAULT];
	}
	*src = NULL;
	return NULL;
}

/* The first line of a secret file, read once per path (the struct is only a
 * cache here, the effective configuration does not change).  A file that
 * cannot be read is remembered too, so drp_config_get_checked can say why. */
static const struct fileval *read_file_value(const struct drp_config *cc, const char *path)
{
	struct drp_config *c = (struct drp_config *)cc;
	struct fileval *nv, *v;
	char *line = NULL;
	size_t i, n = 0;
	FILE *f;

	for (i = 0; i < c->nfv; i++)
		if (strcmp(c->fv[i].path, path) == 0)
			return &c->fv[i];
	nv = realloc(c->fv, (c->nfv + 1) * sizeof(*nv));
	if (nv == NULL)
		return NULL;
	c->fv = nv;
	v = &c->fv[c->nfv];
	memset(v, 0, sizeof(*v));
	v->path = strdup(path);
	if (v->path == NULL)
		return NULL;
	c->nfv++;
	f = fopen(path, "re");
	if (f == NULL) {
		v->err = errno;
		return v;
	}
	/* bounded: a secret is one short line, /dev/zero is not */
	line = malloc(CONFIG_FILE_VALUE_MAX + 2);
	if (line == NULL) {
		fclose(f);
		v->err = ENOMEM;
		return v;
	}
	n = fread(line, 1, CONFIG_FILE_VALUE_MAX + 1, f);
	if (ferror(f))
		v->err = EIO;
	fclose(f);
	line[n] = 0;
	n = strcspn(line, "\r\n");
	if (v->err == 0 && n > CONFIG_FILE_VALUE_MAX)
		v->err = EFBIG;
	if (v->err != 0) {
		OPENSSL_cleanse(line, CONFIG_FILE_VALUE_MAX + 2);
		free(line);
		return v;
	}
	line[n] = 0;
	v->val = line;
	return v;
}

int drp_config_get_checked(const struct drp_config *c, const char *key, const char **out, char *err,
                           size_t errlen)
{
	const char *src, *v = raw_get(c, key, &src);
	const struct fileval *fv;
	char fkey[128];

	*out = v;
	if (v != NULL)
		return 0;
	if (snprintf(fkey, sizeof(fkey), "%s_file", key) >= (int)sizeof(fkey))
		return 0;
	v = raw_get(c, fkey, &src);
	if (v == NULL || *v == 0)
		return 0;
	fv = read_file_value(c, v);
	if (fv == NULL) {
		snprintf(err, errlen, "%s: out of memory", fkey);
		return -1;
	}
	if (fv->val == NULL) {
		snprintf(err, errlen, "%s: %s: %s", fkey, v,
		         fv->err == EFBIG ? "first line longer than 4096 bytes"
		                          : strerror(fv->err));
		return -1;
	}
	*out = fv->val;
	return 0;
}

const char *drp_config_get(const struct drp_config *c, const char *key)
{
	const char *v = NULL;
	char err[8];

	if (drp_config_get_checked(c, key, &v, err, sizeof(err)) < 0)
		return NULL;
	return v;
}

const char *drp_config_source(const struct drp_config *c, const char *key)
{
	const char *src;
	char fkey[128];

	if (raw_get(c, key, &src) != NULL)
		return src;
	snprintf(fkey, sizeof(fkey), "%s_file", key);
	if (raw_get(c, fkey, &src) != NULL)
		return src;
	return NULL;
}

int drp_config_long(const struct drp_config *c, const char *key, long def, long *out, char *err,
                    size_t errlen)
{
	const char *v = drp_config_get(c, key);
	char *end;
	long n;

	if (v == NULL || *v == 0) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *trim(end) != 0) {
		snprintf(err, errlen, "%s: not an integer: '%s'", key, v);
		return -1;
	}
	*out = n;
	return 0;
}

int drp_config_bool(const struct drp_config *c, const char *key, int def, int *out, char *err,
                    size_t errlen)
{
	const char *v = drp_config_get(c, key);

	if (v == NULL || *v == 0) {
		*out = def;
		return 0;
	}
	if (!strcasecmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "on")) {
		*out = 1;
		return 0;
	}
	if (!strcasecmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	    !strcasecmp(v, "off")) {
		*out = 0;
		return 0;
	}
	snprintf(err, errlen, "%s: not a boolean: '%s'", key, v);
	return -1;
}

int drp_config_ms(const struct drp_config *c, const char *key, long def_ms, long *out, char *err,
                  size_t errlen)
{
	const char *v = drp_config_get(c, key);
	char *end;
	double d;

	if (v == NULL || *v == 0) {
		*out = def_ms;
		return 0;
	}
	errno = 0;
	d = strtod(v, &end);
	/* written so that NaN ("nan" parses) fails it too */
	if (errno != 0 || end == v || !(d >= 0 && d <= 86400.0 * 1000)) {
		snprintf(err, errlen, "%s: not a duration: '%s'", key, v);
		return -1;
	}
	if (strcmp(end, "ms") == 0)
		*out = (long)d;
	else if (*end == 0 || strcmp(end, "s") == 0)
		*out = (long)(d * 1000.0 + 0.5);
	else {
		snprintf(err, errlen, "%s: not a duration: '%s'", key, v);
		return -1;
	}
	return 0;
}

size_t drp_config_count(const struct drp_config *c)
{
	return c->n;
}

const char *drp_config_key_at(const struct drp_config *c, size_t i)
{
	return i < c->n ? c->e[i].key : NULL;
}
