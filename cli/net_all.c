/* net_all: `drp check|report|revoke` over all three networks through the
 * same fan-out the service uses.  Placeholder until core/fanout lands. */
#include <stdio.h>

#include "cli.h"

int drp_cli_all(const char *cmd, int argc, char **argv, struct drp_slice msg,
		struct drp_config *cfg)
{
	(void)argc;
	(void)argv;
	(void)msg;
	(void)cfg;
	fprintf(stderr, "drp: %s over all networks: not available in this build\n", cmd);
	return 2;
}
