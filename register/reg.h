/*
 * reg: drp-register, the identities drp needs before it can report.
 *
 * register/main.c parses the subcommand and the common options (--config,
 * --help) and loads the same configuration drp-fcgi reads; each
 * register/reg_<network>.c parses its own options and writes the file its
 * network's reference tool would have written.  register/reg_file.c owns
 * everything that touches the file system: reading an old file, the
 * atomic replace (temp file in the same directory, fsync, rename, fsync of
 * the directory) and the directory/permission rules.
 *
 * Every subcommand prints shell-sourceable KEY=value lines on stdout and
 * its diagnostics on stderr; exit 0 done, 1 refused (would clobber, bad
 * input), 2 failure (I/O, network).
 */
#ifndef DRP_REG_H
#define DRP_REG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "config.h"

#define REG_OK 0
#define REG_REFUSED 1
#define REG_FAILED 2

int reg_pyzor(int argc, char **argv, struct drp_config *cfg);
int reg_razor(int argc, char **argv, struct drp_config *cfg);
int reg_dcc(int argc, char **argv, struct drp_config *cfg);

/* Print "drp-register: <fmt>\n" to stderr. */
void reg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Read a whole (small) file into b.  Returns 1 when read, 0 when it does
 * not exist, -1 with the reason in err ("path: reason").
 */
int reg_read_file(const char *path, struct drp_buf *b, size_t max, char *err, size_t errlen);

/*
 * Make sure the directory of `path` exists; a missing one (and missing
 * parents) is created with `mode`.  An existing one is left alone.  Sets
 * *created when this call made it.  0, or -1 with the reason in err.
 */
int reg_ensure_dir(const char *path, mode_t mode, int *created, char *err, size_t errlen);

/*
 * Replace `path` with `data` atomically: a temporary file in the same
 * directory, `mode`, the owner of the file it replaces (or of the
 * directory, for a new file) when running as root, fsync, rename over
 * path, fsync the directory.  A crash leaves either the old or the new
 * file, never a partial one.  0, or -1 with the reason in err.
 */
int reg_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                     size_t errlen);

/*
 * A secret from a file (its first line, without the line end) or "-" for
 * stdin, or interactively from the terminal when path is NULL (asked twice
 * when `confirm`).  0, or -1 with the reason in err.
 */
int reg_read_secret(const char *path, const char *prompt, int confirm, char *out, size_t outlen,
                    char *err, size_t errlen);

/* Cryptographic random bytes (OpenSSL RAND_bytes); 0 or -1. */
int reg_random(uint8_t *out, size_t n);
/* A random string of `n` characters from [A-Za-z0-9]; out has n+1 bytes. */
int reg_random_alnum(char *out, size_t n);

/* Print NAME=value for a POSIX shell (single-quoted unless plainly safe). */
void reg_print_var(const char *name, const char *value);

/* Join dir and name into out; -1 when it does not fit. */
int reg_path_join(char *out, size_t outlen, const char *dir, const char *name);

#endif
