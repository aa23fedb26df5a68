/* libFuzzer: server-list parsing (host[:port], [v6]:port, separators). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_hostport hp[16];
	char err[128], *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	drp_hostport_list(s, 24441, hp, 16, err, sizeof(err));
	free(s);
	return 0;
}
