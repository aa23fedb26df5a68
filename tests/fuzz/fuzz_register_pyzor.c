/*
 * fuzz_register_pyzor: `drp-register pyzor` rewriting whatever accounts
 * file it finds (register/reg_pyzor.c, compiled in for its static
 * helpers).  Whatever the old file holds, the result read the way pyzor
 * reads it has exactly one account line per configured server (ours), ends
 * with a line end, and rewriting it again changes nothing.
 */
#include "../../register/reg_file.c"
#include "../../register/reg_pyzor.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pz_server sv[2] = {{"127.0.0.1", 24441}, {"pyzor.example", 5000}};
	static const struct pz_acct a = {"alice", "6f73235edb8f49d746a4e85ade00ffaabb6093d1",
	                                 "4bc5645c68eb890912d2a496c7e1e1836a44ce7c"};
	struct drp_buf in, out, again;
	struct pz_acct found;

	drp_buf_init(&in);
	drp_buf_init(&out);
	drp_buf_init(&again);
	if (drp_buf_append(&in, data, size) < 0)
		goto done;
	(void)find_existing(&in, sv, 2, "alice", &found);
	if (rewrite(&in, sv, 2, &a, &out) < 0 || rewrite(&out, sv, 2, &a, &again) < 0)
		goto done;
	if (out.len == 0 || out.p[out.len - 1] != '\n' || again.len != out.len ||
	    memcmp(again.p, out.p, out.len) != 0)
		__builtin_trap();
	{
		/* as pyzor reads the result: one account line per server, ours */
		int seen[2] = {0, 0};
		const char *p = (const char *)out.p, *end = p + out.len;

		while (p < end) {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			char f[4][256];
			int k;

			if (parse_line(p, (size_t)(eol - p), f) &&
			    (k = server_index(f, sv, 2)) >= 0) {
				if (strcmp(f[2], "alice") != 0)
					__builtin_trap();
				seen[k]++;
			}
			p = eol + 1;
		}
		if (seen[0] != 1 || seen[1] != 1)
			__builtin_trap();
	}
done:
	drp_buf_free(&in);
	drp_buf_free(&out);
	drp_buf_free(&again);
	return 0;
}
