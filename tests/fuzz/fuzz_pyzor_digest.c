/* fuzz_pyzor_digest: the whole pyzor digest (MIME walk, decoders, charsets,
 * HTML, normalization) under both NUL rules, plus the HTML and unescape
 * entry points directly on the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pyzor_digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_pyzor_lines norm, fed;
	struct drp_buf b;
	char hex[41], err[128];
	unsigned seen;
	int crash;

	if (drp_pyzor_digest(data, size, 0, hex, &seen, err, sizeof(err)) == 0 && strlen(hex) != 40)
		__builtin_trap();
	drp_pyzor_lines_init(&norm);
	drp_pyzor_lines_init(&fed);
	if (drp_pyzor_normalized(data, size, DRP_PYZOR_NUL_RULE, &norm, &seen, err, sizeof(err)) ==
	    0)
		drp_pyzor_sample(&norm, &fed);
	drp_pyzor_lines_free(&norm);
	drp_pyzor_lines_free(&fed);
	/* the HTML parser wants valid UTF-8: decode as the digest would */
	drp_buf_init(&b);
	if (drp_pyzor_charset_decode("utf-8", 5, data, size, 1, &b) == 0) {
		struct drp_buf o;

		drp_buf_init(&o);
		drp_pyzor_html_text(b.p, b.len, &o, &crash);
		o.len = 0;
		drp_pyzor_html_unescape(b.p, b.len, &o);
		drp_buf_free(&o);
	}
	drp_buf_free(&b);
	return 0;
}
