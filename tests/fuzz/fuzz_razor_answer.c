/* libFuzzer: everything a Razor2 server (or a razorhome file) feeds drp —
 * answer framing and splitting, SIS lines, the greeting, razorhome
 * key/value and .lst parsing, and whole client sessions (check, report,
 * revoke) run against the input as the server's byte stream, delivered in
 * chunks whose size the first byte picks. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "razor_client.h"
#include "razor_home.h"
#include "razor_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char msg[] = "From: a@example.com\nSubject: s\nContent-Type: multipart/mixed; "
                          "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nhello "
                          "http://www.example.com/x there\n--B\nContent-Type: text/html\n\n"
                          "<p>second part http://spam.example.net/</p>\n--B--\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct drp_razor_sis sis;
	struct drp_slice lines[64];
	struct drp_razor_greeting g;
	struct drp_razor_kv kv;
	struct drp_razor_lst l;
	struct drp_razor_result r;
	char err[160];
	long n;

	n = drp_razor_frame(data, size, 4096, err, sizeof(err));
	if (n > 0)
		(void)drp_razor_answer_lines(data, (size_t)n, lines, 64);
	(void)drp_razor_answer_lines(data, size, lines, 64);
	if (drp_razor_sis_parse(data, size, &sis) == 0)
		(void)drp_razor_sis_get(&sis, "p");
	(void)drp_razor_parse_greeting(data, size, &g, err, sizeof(err));
	drp_razor_kv_init(&kv);
	(void)drp_razor_kv_parse(&kv, (const char *)data, size);
	drp_razor_kv_free(&kv);
	drp_razor_lst_parse(&l, (const char *)data, size);

	if (size > 0) {
		enum drp_op op = (enum drp_op)(data[0] % 3);
		size_t chunk = (data[0] >> 2) % 8;

		(void)drp_razor_replay(op, (const uint8_t *)msg, sizeof(msg) - 1, data + 1,
		                       size - 1, chunk, &r, NULL);
	}
	return 0;
}
