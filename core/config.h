/*
 * config: the one place configuration values come from.
 *
 * Every setting has a canonical lower-case key ("backend_timeout",
 * "pyzor_servers", "razor_home", "dcc_servers", ...).  A value is looked up
 * with precedence flag > environment > file > default:
 *   - flags are set by the binaries with drp_config_set_flag();
 *   - the environment name is the key upper-cased, prefixed with "DRP_"
 *     unless the key already starts with "pyzor_", "razor_" or "dcc_"
 *     (so "pyzor_servers" <- PYZOR_SERVERS, "token" <- DRP_TOKEN);
 *   - the file is /etc/drp/drp.conf (or DRP_CONFIG / --config): lines of
 *     "key = value", '#' comments, blank lines ignored.
 * A key "X_file" names a file whose first line is the value of "X" when X
 * itself is unset (secrets: "token_file", "dcc_client_passwd_file").
 * The struct is immutable once loaded; reload builds a new one.
 */
#ifndef DRP_CONFIG_H
#define DRP_CONFIG_H

#include <stddef.h>

struct drp_config;

struct drp_config *drp_config_new(void);
void drp_config_free(struct drp_config *c);

/* Load a key=value file.  A missing file is not an error when `optional`.
 * On error returns -1 and writes "path:line: reason" into err. */
int drp_config_load_file(struct drp_config *c, const char *path, int optional, char *err,
                         size_t errlen);
/* Highest-precedence override (command-line flags). */
int drp_config_set_flag(struct drp_config *c, const char *key, const char *value);
/* Lowest-precedence default. */
int drp_config_set_default(struct drp_config *c, const char *key, const char *value);

/* The effective value or NULL.  The pointer lives as long as c.  An
 * unreadable "X_file" makes X look unset here; use the checked form for
 * secrets so a missing password file is an error, not anonymous access. */
const char *drp_config_get(const struct drp_config *c, const char *key);
/* As drp_config_get; -1 with "X_file: path: reason" in err when X is unset
 * and X_file names a file that cannot be read (or whose first line is over
 * 4096 bytes). */
int drp_config_get_checked(const struct drp_config *c, const char *key, const char **out, char *err,
                           size_t errlen);
/* Where the effective value came from: "flag", "env", "file", "default" or NULL. */
const char *drp_config_source(const struct drp_config *c, const char *key);
/* Parsed helpers; return 0 and set *out, or -1 naming the key in err. */
int drp_config_long(const struct drp_config *c, const char *key, long def, long *out, char *err,
                    size_t errlen);
int drp_config_bool(const struct drp_config *c, const char *key, int def, int *out, char *err,
                    size_t errlen);
/* Seconds with optional fraction or "ms" suffix ("5", "2.5", "800ms"), as ms. */
int drp_config_ms(const struct drp_config *c, const char *key, long def_ms, long *out, char *err,
                  size_t errlen);

/* Environment variable name for a key (see above) into out. */
void drp_config_env_name(const char *key, char *out, size_t outlen);

/* Iterate over every key known from flags, file and defaults (not env). */
size_t drp_config_count(const struct drp_config *c);
const char *drp_config_key_at(const struct drp_config *c, size_t i);

#endif
