/*
 * auth: the service's bearer tokens.
 *
 * Owns the token set (full tokens may check, report and revoke; check-only
 * tokens may only check) and the decision for one request.  Tokens come
 * from `token` / `check_token` (one or several, separated by commas or
 * white space) and `token_file` / `check_token_file` (one per line, '#'
 * comments), all through core/config (flag > env > file), so rotation is
 * "add the new token, reload, remove the old one".  Only SHA-256 digests of
 * the tokens are kept; a presented token is hashed and compared against
 * every configured digest with CRYPTO_memcmp, without early exit, so
 * neither a token's content nor its length nor its position leaks.
 */
#ifndef DRP_AUTH_H
#define DRP_AUTH_H

#include <stddef.h>

#include "config.h"
#include "status.h"

#define DRP_AUTH_MIN_LEN 16
#define DRP_AUTH_MAX_LEN 512
#define DRP_AUTH_MAX_TOKENS 64

enum drp_auth_scope {
	DRP_AUTH_SCOPE_CHECK = 1, /* /check only */
	DRP_AUTH_SCOPE_ALL = 2,   /* /check, /report, /revoke */
};

enum drp_auth_rc {
	DRP_AUTH_OK = 0,
	DRP_AUTH_UNCONFIGURED, /* no token configured: 503, the service refuses all */
	DRP_AUTH_MISSING,      /* no credentials presented: 401 */
	DRP_AUTH_BAD,          /* wrong token: 401 */
	DRP_AUTH_FORBIDDEN,    /* check-only token asking to report/revoke: 403 */
};

struct drp_auth_token {
	unsigned char digest[32];
	enum drp_auth_scope scope;
};

struct drp_auth {
	struct drp_auth_token tok[DRP_AUTH_MAX_TOKENS];
	int n;
};

/* Load every token from cfg.  -1 naming the bad key in err (a token file
 * that cannot be read, a token too short or with bad characters). */
int drp_auth_load(struct drp_auth *a, const struct drp_config *cfg, char *err, size_t errlen);
/* Forget the digests (zeroed). */
void drp_auth_clear(struct drp_auth *a);
/* Add one token (tests, and the loader); -1 with err when invalid. */
int drp_auth_add(struct drp_auth *a, const char *tok, size_t len, enum drp_auth_scope scope,
                 char *err, size_t errlen);

/*
 * Decide a request from its Authorization and X-DRP-Token header values
 * (NULL when absent).  "Authorization: Bearer T" wins over X-DRP-Token.
 */
enum drp_auth_rc drp_auth_check(const struct drp_auth *a, const char *authorization,
                                const char *x_token, enum drp_op op);
/* A short English reason for an rc, for the JSON error. */
const char *drp_auth_reason(enum drp_auth_rc rc);

#endif
