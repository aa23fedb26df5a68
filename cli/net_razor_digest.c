/* net_razor_digest: `drp digest --network razor`.  Placeholder until the engine lands. */
#include <stdio.h>

#include "cli.h"

int drp_cli_razor_digest(int argc, char **argv, struct drp_slice msg, struct drp_config *cfg)
{
	(void)argc;
	(void)argv;
	(void)msg;
	(void)cfg;
	fprintf(stderr, "drp: digest --network razor: not available in this build\n");
	return 2;
}
