/* net_dcc_digest: `drp digest --network dcc`.  Placeholder until the engine lands. */
#include <stdio.h>

#include "cli.h"

int drp_cli_dcc_digest(int argc, char **argv, struct drp_slice msg, struct drp_config *cfg)
{
	(void)argc;
	(void)argv;
	(void)msg;
	(void)cfg;
	fprintf(stderr, "drp: digest --network dcc: not available in this build\n");
	return 2;
}
