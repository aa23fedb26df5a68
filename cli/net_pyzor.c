/* net_pyzor: `drp <cmd> --network pyzor`.  Placeholder until the pyzor engine lands. */
#include <stdio.h>

#include "cli.h"

int drp_cli_pyzor(const char *cmd, int argc, char **argv, struct drp_slice msg,
	       struct drp_config *cfg)
{
	(void)argc;
	(void)argv;
	(void)msg;
	(void)cfg;
	fprintf(stderr, "drp: %s --network pyzor: not available in this build\n", cmd);
	return 2;
}
