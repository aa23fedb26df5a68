/* libFuzzer: the DCC ids and map.txt parsers (the map's text round trip). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcc_ids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_dcc_ids ids;
	struct drp_dcc_map m, m2;
	struct drp_buf b;
	char err[200];

	if (drp_dcc_ids_parse((const char *)data, size, &ids, err, sizeof(err)) == 0) {
		for (int i = 0; i < ids.n; i++)
			if (drp_dcc_ids_find(&ids, ids.e[i].id) == NULL)
				abort();
		drp_dcc_ids_free(&ids);
	}
	if (drp_dcc_map_parse((const char *)data, size, &m, err, sizeof(err)) == 0) {
		drp_buf_init(&b);
		/* what we write must read back the same */
		if (drp_dcc_map_format(&m, &b) == 0 &&
		    (drp_dcc_map_parse((const char *)b.p, b.len, &m2, err, sizeof(err)) != 0 ||
		     m2.n != m.n))
			abort();
		drp_buf_free(&b);
	}
	return 0;
}
