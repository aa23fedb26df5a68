/* net_dcc: `drp <cmd> --network dcc`.  Placeholder until the dcc engine lands. */
#include <stdio.h>

#include "cli.h"

int drp_cli_dcc(const char *cmd, int argc, char **argv, struct drp_slice msg,
	       struct drp_config *cfg)
{
	(void)argc;
	(void)argv;
	(void)msg;
	(void)cfg;
	fprintf(stderr, "drp: %s --network dcc: not available in this build\n", cmd);
	return 2;
}
