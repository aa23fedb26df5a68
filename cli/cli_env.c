/*
 * cli_env: the SMTP envelope options (--client-ip, --env-from, --env-to,
 * --helo, --ip-from-received) that `drp check|report|revoke` and
 * `drp digest --network dcc` share, so they are spelled and checked alike.
 */
#include <stdio.h>

#include "cli.h"

int drp_cli_env_opt(int c, char *arg, struct drp_envelope *env)
{
	switch (c) {
	case 'a':
		env->client_ip = arg;
		return 1;
	case 'f':
		env->env_from = arg;
		return 1;
	case 't':
		if (env->n_rcpt >= DRP_ENV_MAX_RCPT) {
			fprintf(stderr, "drp: too many --env-to (at most %d)\n", DRP_ENV_MAX_RCPT);
			return -1;
		}
		env->env_rcpt[env->n_rcpt++] = arg;
		return 1;
	case 'H':
		env->helo = arg;
		return 1;
	case 'R':
		env->ip_from_received = 1;
		return 1;
	}
	return 0;
}

int drp_cli_env_check(const struct drp_envelope *env)
{
	/* dccproc takes the IP from one place or the other, never both */
	if (env->client_ip != NULL && env->ip_from_received) {
		fprintf(stderr, "drp: --client-ip and --ip-from-received exclude each other\n");
		return -1;
	}
	return 0;
}
