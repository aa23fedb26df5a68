/* auth: see auth.h. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -1;
}

int drp_auth_add(struct drp_auth *a, const char *tok, size_t len, enum drp_auth_scope scope,
                 char *err, size_t errlen)
{
	unsigned char d[32];
	size_t i;
	int k;

	if (len < DRP_AUTH_MIN_LEN || len > DRP_AUTH_MAX_LEN) {
		snprintf(err, errlen, "token of %zu characters (must be %d to %d)", len,
		         DRP_AUTH_MIN_LEN, DRP_AUTH_MAX_LEN);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (tok[i] <= ' ' || tok[i] >= 127) {
			snprintf(err, errlen,
			         "token contains a space or a non-printable character");
			return -1;
		}
	}
	if (sha256(tok, len, d) < 0) {
		snprintf(err, errlen, "sha256 failed");
		return -1;
	}
	/* the same token listed twice keeps its widest scope */
	for (k = 0; k < a->n; k++) {
		if (memcmp(a->tok[k].digest, d, 32) == 0) {
			if (scope > a->tok[k].scope)
				a->tok[k].scope = scope;
			OPENSSL_cleanse(d, sizeof(d));
			return 0;
		}
	}
	if (a->n == DRP_AUTH_MAX_TOKENS) {
		snprintf(err, errlen, "more than %d tokens", DRP_AUTH_MAX_TOKENS);
		return -1;
	}
	memcpy(a->tok[a->n].digest, d, 32);
	a->tok[a->n].scope = scope;
	a->n++;
	OPENSSL_cleanse(d, sizeof(d));
	return 0;
}

/* Tokens separated by commas, white space or newlines; '#' starts a
 * comment running to the end of the line. */
static int add_list(struct drp_auth *a, const char *key, const char *s, size_t n,
                    enum drp_auth_scope scope, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < n) {
		size_t j;
		char e[160];

		if (s[i] == '#') {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (s[i] == ',' || isspace((unsigned char)s[i])) {
			i++;
			continue;
		}
		for (j = i; j < n && s[j] != ',' && !isspace((unsigned char)s[j]); j++)
			;
		if (drp_auth_add(a, s + i, j - i, scope, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "%s: %s", key, e);
			return -1;
		}
		i = j;
	}
	return 0;
}

static int add_file(struct drp_auth *a, const char *key, const char *path,
                    enum drp_auth_scope scope, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char buf[16384 + 1]; /* one spare byte tells "exactly the limit" from "over" */
	size_t n;
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s: %s", key, path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (n == sizeof(buf)) {
		fclose(f);
		OPENSSL_cleanse(buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s: larger than %zu bytes", key, path, sizeof(buf) - 1);
		return -1;
	}
	fclose(f);
	rc = add_list(a, key, buf, n, scope, err, errlen);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int drp_auth_load(struct drp_auth *a, const struct drp_config *cfg, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		enum drp_auth_scope scope;
	} src[] = {{"token", DRP_AUTH_SCOPE_ALL}, {"check_token", DRP_AUTH_SCOPE_CHECK}};
	size_t k;

	memset(a, 0, sizeof(*a));
	for (k = 0; k < sizeof(src) / sizeof(src[0]); k++) {
		char fkey[64];
		const char *v;

		snprintf(fkey, sizeof(fkey), "%s_file", src[k].key);
		v = drp_config_get(cfg, fkey);
		if (v != NULL && *v && add_file(a, fkey, v, src[k].scope, err, errlen) < 0)
			goto fail;
		/* When the key itself is unset drp_config_get() falls back to the
		 * file's first line, already added above: the duplicate is merged. */
		v = drp_config_get(cfg, src[k].key);
		if (v != NULL &&
		    add_list(a, src[k].key, v, strlen(v), src[k].scope, err, errlen) < 0)
			goto fail;
	}
	return 0;
fail:
	drp_auth_clear(a);
	return -1;
}

void drp_auth_clear(struct drp_auth *a)
{
	OPENSSL_cleanse(a, sizeof(*a));
	a->n = 0;
}

static const char *bearer(const char *h)
{
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return NULL;
	h += 6;
	while (*h == ' ' || *h == '\t')
		h++;
	return h;
}

enum drp_auth_rc drp_auth_check(const struct drp_auth *a, const char *authorization,
                                const char *x_token, enum drp_op op)
{
	const char *t = NULL;
	unsigned char d[32];
	size_t len;
	int k, scope = 0;

	if (a->n == 0)
		return DRP_AUTH_UNCONFIGURED;
	if (authorization != NULL)
		t = bearer(authorization);
	if (t == NULL)
		t = x_token;
	if (t == NULL)
		return DRP_AUTH_MISSING;
	while (*t == ' ' || *t == '\t')
		t++;
	len = strlen(t);
	while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	if (len == 0)
		return DRP_AUTH_MISSING;
	if (len > DRP_AUTH_MAX_LEN || sha256(t, len, d) < 0)
		return DRP_AUTH_BAD;
	for (k = 0; k < a->n; k++) {
		/* every digest is compared; the widest matching scope wins */
		int match = CRYPTO_memcmp(d, a->tok[k].digest, 32) == 0;
		int s = (int)a->tok[k].scope & -match;

		scope = s > scope ? s : scope;
	}
	OPENSSL_cleanse(d, sizeof(d));
	if (scope == 0)
		return DRP_AUTH_BAD;
	if (op != DRP_OP_CHECK && scope != DRP_AUTH_SCOPE_ALL)
		return DRP_AUTH_FORBIDDEN;
	return DRP_AUTH_OK;
}

const char *drp_auth_reason(enum drp_auth_rc rc)
{
	switch (rc) {
	case DRP_AUTH_OK:
		return "ok";
	case DRP_AUTH_UNCONFIGURED:
		return "no API token is configured on this server (set token or token_file)";
	case DRP_AUTH_MISSING:
		return "missing token (Authorization: Bearer or X-DRP-Token)";
	case DRP_AUTH_BAD:
		return "invalid token";
	case DRP_AUTH_FORBIDDEN:
		return "this token may only check";
	}
	return "invalid token";
}
