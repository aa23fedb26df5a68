/* reg_dcc: `drp-register dcc` (placeholder while it is written). */
#include <stdio.h>

#include "reg.h"

int reg_dcc(int argc, char **argv, struct drp_config *cfg)
{
	reg_err("dcc: not available in this build");
	return REG_FAILED;
}
