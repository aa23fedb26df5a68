/*
 * cli: the `drp` command.  cli/drp.c parses the command and the common
 * options, reads the message from stdin (never to disk) and hands it to
 * the per-network handlers in cli/net_<name>.c, which parse their own
 * options (getopt_long over argc/argv, argv[0] is the command) and print.
 * Exit codes: check 0 listed / 1 not listed / 2 error; digest refusal 3.
 */
#ifndef DRP_CLI_H
#define DRP_CLI_H

#include "buf.h"
#include "config.h"
#include "envelope.h"
#include "netif.h"

/* The envelope options (cli/cli_env.c), for a struct option table. */
#define DRP_CLI_ENV_OPTIONS                                                                        \
	{"client-ip", required_argument, NULL, 'a'}, {"env-from", required_argument, NULL, 'f'},   \
	    {"env-to", required_argument, NULL, 't'}, {"env-rcpt", required_argument, NULL, 't'},  \
	    {"helo", required_argument, NULL, 'H'},                                                \
	{                                                                                          \
		"ip-from-received", no_argument, NULL, 'R'                                         \
	}
/* Apply getopt result c with its argument to env: 1 taken, 0 not an
 * envelope option, -1 refused (said on stderr). */
int drp_cli_env_opt(int c, char *arg, struct drp_envelope *env);
/* After the options: -1 (said on stderr) when they contradict. */
int drp_cli_env_check(const struct drp_envelope *env);

int drp_cli_pyzor(const char *cmd, int argc, char **argv, struct drp_slice msg,
                  struct drp_config *cfg);
int drp_cli_razor(const char *cmd, int argc, char **argv, struct drp_slice msg,
                  struct drp_config *cfg);
int drp_cli_dcc(const char *cmd, int argc, char **argv, struct drp_slice msg,
                struct drp_config *cfg);

/* All three networks through core/fanout (cli/net_all.c). */
int drp_cli_all(const char *cmd, int argc, char **argv, struct drp_slice msg,
                struct drp_config *cfg);

/* The fingerprint half of razor and dcc lives apart from the client half
 * (net_<name>_digest.c) because different people own the two. */
int drp_cli_razor_digest(int argc, char **argv, struct drp_slice msg, struct drp_config *cfg);
int drp_cli_dcc_digest(int argc, char **argv, struct drp_slice msg, struct drp_config *cfg);

/* check|report|revoke → op; -1 for any other command (cli/net_run.c). */
int drp_cli_op(const char *cmd, enum drp_op *op);
/* One request to one network: context, one loop run to backend_timeout,
 * {"<name>":{...}} on stdout; returns the exit code.  `refresh` runs the
 * network's between-requests refresh first (a one-shot process has no
 * history). */
int drp_cli_run_net(const struct drp_net_ops *ops, enum drp_op op, struct drp_slice msg,
                    const struct drp_envelope *env, struct drp_config *cfg, int refresh);

/* Read all of stdin into b, at most max bytes; -1 with errno on failure
 * (EFBIG when larger than max). */
int drp_cli_read_stdin(struct drp_buf *b, size_t max);

#endif
