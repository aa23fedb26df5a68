/* reg_razor: `drp-register razor` (placeholder while it is written). */
#include <stdio.h>

#include "reg.h"

int reg_razor(int argc, char **argv, struct drp_config *cfg)
{
	reg_err("razor: not available in this build");
	return REG_FAILED;
}
