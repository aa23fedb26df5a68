/* net_dcc: `drp check|report|revoke --network dcc`; digest is in net_dcc_digest.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int drp_cli_dcc(const char *cmd, int argc, char **argv, struct drp_slice msg,
	       struct drp_config *cfg)
{
	if (strcmp(cmd, "digest") == 0)
		return drp_cli_dcc_digest(argc, argv, msg, cfg);
	fprintf(stderr, "drp: %s --network dcc: not available in this build\n", cmd);
	return 2;
}
