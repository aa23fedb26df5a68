/* net_razor: `drp check|report|revoke --network razor`; digest is in net_razor_digest.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int drp_cli_razor(const char *cmd, int argc, char **argv, struct drp_slice msg,
	       struct drp_config *cfg)
{
	if (strcmp(cmd, "digest") == 0)
		return drp_cli_razor_digest(argc, argv, msg, cfg);
	fprintf(stderr, "drp: %s --network razor: not available in this build\n", cmd);
	return 2;
}
