/* fuzz_pyzor_reply: the reply parser (every op, a thread taken from the
 * input) and the pyzor home file parsers (servers, accounts). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pyzor_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_pyzor_reply r;
	struct drp_hostport hp[DRP_PYZOR_MAX_SERVERS];
	struct drp_pyzor_account a;
	char err[160];
	unsigned thread = size >= 2 ? (unsigned)(data[0] << 8 | data[1]) : 4242;
	int op;

	for (op = DRP_PYZOR_PING; op <= DRP_PYZOR_INFO; op++) {
		if (drp_pyzor_parse_reply(data, size, (enum drp_pyzor_op)op, thread, &r, err,
		                          sizeof(err)) == 0) {
			/* what a success promises */
			if (op == DRP_PYZOR_CHECK && r.code == 200 &&
			    (r.count < 0 || r.wl_count < 0))
				__builtin_trap();
			if (memchr(r.diag, 0, sizeof(r.diag)) == NULL)
				__builtin_trap();
		}
	}
	if (drp_pyzor_parse_servers((const char *)data, size, hp, DRP_PYZOR_MAX_SERVERS) >
	    DRP_PYZOR_MAX_SERVERS)
		__builtin_trap();
	memset(&a, 0, sizeof(a));
	drp_pyzor_find_account((const char *)data, size, "127.0.0.1", 24441, &a);
	return 0;
}
