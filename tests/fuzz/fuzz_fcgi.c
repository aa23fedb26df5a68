/*
 * libFuzzer: the bytes a web server (or anything that reaches the socket)
 * sends drp-fcgi: FastCGI records, the name-value pairs of PARAMS and
 * GET_VALUES, and the header values the auth check reads.  Every parsed
 * record is re-encoded and must parse back to the same content.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http_fcgi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct drp_auth auth;
	static int init;
	struct drp_buf params, re;
	size_t off = 0;

	if (!init) {
		char err[64];

		drp_auth_add(&auth, "fuzz-token-0123456789", 21, DRP_AUTH_SCOPE_CHECK, err,
		             sizeof(err));
		init = 1;
	}
	drp_buf_init(&params);
	drp_buf_init(&re);
	while (off < size) {
		struct drp_fcgi_record r, r2;
		long n = drp_fcgi_parse(data + off, size - off, &r);

		if (n <= 0)
			break;
		off += (size_t)n;
		drp_buf_reset(&re);
		if (drp_fcgi_put_record(&re, r.type, r.id, r.content, r.len) != 0 ||
		    drp_fcgi_parse(re.p, re.len, &r2) != (long)re.len || r2.len != r.len ||
		    r2.id != r.id || memcmp(r2.content, r.content, r.len) != 0)
			abort();
		if (r.type == DRP_FCGI_PARAMS || r.type == DRP_FCGI_GET_VALUES)
			drp_buf_append(&params, r.content, r.len);
	}
	{
		const uint8_t *p = params.p;
		size_t n = params.len;
		struct drp_slice k, v;

		while (drp_fcgi_nv_next(&p, &n, &k, &v) == 1) {
			char *s = malloc(v.len + 1);

			memcpy(s, v.p, v.len);
			s[v.len] = 0;
			drp_auth_check(&auth, s, s, DRP_OP_REPORT);
			free(s);
		}
	}
	drp_buf_free(&params);
	drp_buf_free(&re);
	return 0;
}
