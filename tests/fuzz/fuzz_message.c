/* libFuzzer: the message layer — msg split, every header field through
 * unfold / RFC 2047 / address extraction / parameters, the MIME tree with
 * tight limits, and transfer + charset decoding of every part. */
#include <stddef.h>
#include <stdint.h>

#include "charset.h"
#include "decode.h"
#include "hdr.h"
#include "mime.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_msg m;
	struct drp_hdr_iter it;
	struct drp_hdr_field f;
	struct drp_mime t;
	struct drp_mime_limits lim = {.max_depth = 8, .max_parts = 64};
	struct drp_buf b;
	int i;

	drp_buf_init(&b);
	drp_msg_parse(data, size, &m);
	drp_hdr_iter_init(&it, m.header);
	while (drp_hdr_next(&it, &f)) {
		drp_buf_reset(&b);
		drp_hdr_decode(f.value, &b);
		drp_buf_reset(&b);
		drp_hdr_address(f.value, &b);
		drp_buf_reset(&b);
		drp_mime_param(f.value, "boundary", &b);
	}
	if (drp_mime_parse(data, size, &lim, &t) == 0) {
		for (i = 0; i < t.n; i++) {
			drp_buf_reset(&b);
			drp_mime_part_text(&t.parts[i], &b);
		}
		drp_mime_free(&t);
	}
	drp_buf_reset(&b);
	drp_b64_decode(data, size, &b);
	drp_buf_reset(&b);
	drp_qp_decode(data, size, &b, size & 1);
	drp_buf_free(&b);
	return 0;
}
