/*
 * libFuzzer: everything a DCC server (or anyone spoofing one) can make the
 * client read: the datagram decoder, op_nums matching, the signature check
 * and, for an ANSWER, the verdict and X-DCC metrics over its counts.  The
 * first input byte chooses whether the length field is patched to the
 * datagram size, so the fuzzer reaches the per-op parsers quickly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcc_client.h"
#include "dcc_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct drp_dcc_tholds th = {10, 20, DRP_DCC_TGTS_TOO_MANY};
	uint8_t *pkt;
	struct drp_dcc_answer a;
	struct drp_dcc_opnums on = {0x7f016d, 26946, 6, 1};
	struct drp_dcc_cred cr;
	struct drp_dcc_result r;
	char err[160], metrics[256];
	size_t n;

	if (size < 1 || size > 4096)
		return 0;
	n = size - 1;
	pkt = malloc(n ? n : 1);
	if (pkt == NULL)
		return 0;
	memcpy(pkt, data + 1, n);
	if ((data[0] & 1) && n >= 2) {
		pkt[0] = (uint8_t)(n >> 8);
		pkt[1] = (uint8_t)n;
	}
	if (drp_dcc_decode(pkt, n, &a, err, sizeof(err)) == 0) {
		(void)drp_dcc_matches(&a, &on);
		if (drp_dcc_cred_set(&cr, 32768, "testpass32768", err, sizeof(err)) == 0)
			(void)drp_dcc_sig_ok(pkt, n, &cr);
		if (a.op == DRP_DCC_OP_ANSWER) {
			memset(&r, 0, sizeof(r));
			r.n = a.n;
			for (int i = 0; i < a.n; i++) {
				/* any type order a request could have had */
				r.counts[i].type = (uint8_t)(1 + (data[0] >> 1) % 11 + i) % 14;
				r.counts[i].c = a.c[i];
				r.counts[i].p = a.p[i];
			}
			drp_dcc_verdict(&r, &th);
			drp_dcc_metrics(&r, metrics, sizeof(metrics));
		}
	}
	free(pkt);
	return 0;
}
