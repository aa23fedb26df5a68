/*
 * fuzz_cli_probe: what `drp health` / `drp stats` make of a pool's answer
 * (cli/net_probe.c, compiled in for its static parsers): the first byte
 * picks plain HTTP or FastCGI records + CGI headers, the rest is the
 * answer as read from the socket.
 */
#include "../../cli/net_probe.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer ans;
	const char *why;

	if (size < 1)
		return 0;
	memset(&ans, 0, sizeof(ans));
	drp_buf_init(&ans.body);
	drp_buf_init(&ans.diag);
	if (data[0] & 1) {
		struct drp_buf out;
		size_t used = 0;

		drp_buf_init(&out);
		if (fcgi_take_records(data + 1, size - 1, &used, &out, &ans.diag) > 0 &&
		    used <= size - 1)
			(void)cgi_parse_answer(out.p, out.len, &ans, &why);
		drp_buf_free(&out);
	} else if (http_parse_answer(data + 1, size - 1, &ans, &why) == 0) {
		/* the body handed back lies within what came in */
		if (ans.body.len > size)
			__builtin_trap();
	}
	drp_buf_free(&ans.body);
	drp_buf_free(&ans.diag);
	return 0;
}
