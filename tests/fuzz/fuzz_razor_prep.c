/* libFuzzer: razor-agents' message preparation (mbox reading, split_mime,
 * prep_part), every preprocessor on the raw input, and both engines, with
 * the ep4 either the default or taken from the input's first line.  Checks
 * the shape of every signature it gets. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "razor_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int b64ok(const char *s, size_t want)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return i == want;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_razor_msg m;
	struct drp_razor_sigs sigs = {NULL, 0, 0};
	struct drp_razor_ep4 e;
	struct drp_buf b;
	char err[256], ep4[40], v8[8][DRP_RAZOR_SIG_MAX + 1], s4[DRP_RAZOR_SIG_MAX + 1];
	const char *ep = NULL;
	size_t i;
	int k;

	/* "ep4:<value>\n" at the start picks the server parameter */
	if (size > 4 && !memcmp(data, "ep4:", 4)) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t n = nl ? (size_t)(nl - data) - 4 : 0;

		if (n < sizeof(ep4) && memchr(data + 4, 0, n) == NULL) {
			memcpy(ep4, data + 4, n);
			ep4[n] = 0;
			ep = ep4;
		}
	}
	drp_buf_init(&b);
	drp_razor_debase64(data, size, &b);
	drp_razor_deqp(data, size, &b);
	drp_razor_is_html(data, size);
	drp_razor_dehtml(data, size, &b);
	drp_razor_denewline(data, size, &b);
	drp_razor_preproc(data, size, 1, &b);
	drp_razor_preproc(data, size, 0, &b);
	k = drp_razor_vr8(data, size, v8, 8);
	for (i = 0; k > 0 && i < (size_t)k && i < 8; i++)
		if (!b64ok(v8[i], DRP_RAZOR_VR8_LEN))
			abort();
	if (drp_razor_ep4_parse(ep, &e, err, sizeof(err)) == 0 && e.ok) {
		if (drp_razor_vr4(data, size, &e, s4) != 0 || !b64ok(s4, DRP_RAZOR_VR4_LEN))
			abort();
	}
	drp_buf_free(&b);

	if (drp_razor_prepare(data, size, &m, err, sizeof(err)) == 0) {
		if (drp_razor_sign(&m, DRP_RAZOR_E4 | DRP_RAZOR_E8, ep, &sigs, err, sizeof(err)) >=
		    0) {
			for (i = 0; i < sigs.n; i++) {
				if (sigs.v[i].part >= m.nparts || m.parts[sigs.v[i].part].skipped)
					abort();
				if (!b64ok(sigs.v[i].s, sigs.v[i].engine == 4 ? DRP_RAZOR_VR4_LEN
				                                              : DRP_RAZOR_VR8_LEN))
					abort();
			}
		}
		drp_razor_sigs_free(&sigs);
		for (i = 0; i < m.nparts; i++)
			drp_razor_part_id(&m, i, ep4, sizeof(ep4));
	}
	drp_razor_msg_free(&m);
	return 0;
}
