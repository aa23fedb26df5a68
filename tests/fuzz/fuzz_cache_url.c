/* libFuzzer: the cache setting (redis://, redis+unix://, memcached:// URLs)
 * as --check-config validates it; no name is resolved, nothing connects. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_cache_opts o;
	char err[256], *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	drp_cache_opts_default(&o);
	if (drp_cache_opts_parse_url(&o, s, err, sizeof(err)) == 0 &&
	    (o.backend == DRP_CACHE_REDIS || o.backend == DRP_CACHE_MEMCACHED))
		(void)drp_cache_remote_check_url(&o, err, sizeof(err));
	free(s);
	return 0;
}
