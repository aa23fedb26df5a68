/* net_razor: `drp <cmd> --network razor`.  Placeholder until the razor engine lands. */
#include <stdio.h>

#include "cli.h"

int drp_cli_razor(const char *cmd, int argc, char **argv, struct drp_slice msg,
	       struct drp_config *cfg)
{
	(void)argc;
	(void)argv;
	(void)msg;
	(void)cfg;
	fprintf(stderr, "drp: %s --network razor: not available in this build\n", cmd);
	return 2;
}
