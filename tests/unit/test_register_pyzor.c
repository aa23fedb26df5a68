/*
 * test_register_pyzor: the accounts-file rules of `drp-register pyzor`
 * (register/reg_pyzor.c, compiled in here for its static helpers): lines
 * split as pyzor's load_accounts splits them, a server's lines replaced by
 * exactly one new line in place, every other byte kept, the key derived as
 * genkey derives it; and random input never breaks those invariants.
 */
#include <check.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "../../register/reg_file.c"
#include "../../register/reg_pyzor.c"

static const struct pz_acct tacct = {"alice", "6f73235edb8f49d746a4e85ade00ffaabb6093d1",
                                     "4bc5645c68eb890912d2a496c7e1e1836a44ce7c"};

static char *run_rewrite(const char *old, const struct pz_server *sv, int n)
{
	struct drp_buf in, out;
	char *s;

	drp_buf_init(&in);
	drp_buf_init(&out);
	ck_assert_int_eq(drp_buf_append(&in, old, strlen(old)), 0);
	ck_assert_int_eq(rewrite(&in, sv, n, &tacct, &out), 0);
	s = strndup((const char *)out.p, out.len);
	drp_buf_free(&in);
	drp_buf_free(&out);
	return s;
}

START_TEST(split_like_pyzor)
{
	char f[4][256];

	ck_assert_int_eq(parse_line(" h.example : 24441 :u: s,k \r", 29, f), 1);
	ck_assert_str_eq(f[0], "h.example");
	ck_assert_str_eq(f[1], "24441");
	ck_assert_str_eq(f[2], "u");
	ck_assert_str_eq(f[3], "s,k");
	/* pyzor wants exactly four parts */
	ck_assert_int_eq(parse_line("a:1:u", 5, f), 0);
	ck_assert_int_eq(parse_line("a:1:u:k:x", 9, f), 0);
	ck_assert_int_eq(parse_line("  # a:1:u:k", 11, f), 0);
	ck_assert_int_eq(parse_line("", 0, f), 0);
}
END_TEST

START_TEST(replace_in_place)
{
	struct pz_server sv[2] = {{"127.0.0.1", 24441}, {"pyzor.example", 5000}};
	char *s = run_rewrite("# mine\n"
	                      "other : 1 : bob : a,b\n"
	                      "127.0.0.1 : 24441 : old : 0,1\n"
	                      "  127.0.0.1:24441:old2:2,3\n"
	                      "tail line without end",
	                      sv, 2);

	ck_assert_str_eq(s,
	                 "# mine\n"
	                 "other : 1 : bob : a,b\n"
	                 "127.0.0.1 : 24441 : alice : 6f73235edb8f49d746a4e85ade00ffaabb6093d1,"
	                 "4bc5645c68eb890912d2a496c7e1e1836a44ce7c\n"
	                 "tail line without end\n"
	                 "pyzor.example : 5000 : alice : 6f73235edb8f49d746a4e85ade00ffaabb6093d1,"
	                 "4bc5645c68eb890912d2a496c7e1e1836a44ce7c\n");
	free(s);
	/* textual match, as pyzor: localhost is not 127.0.0.1, port by value */
	s = run_rewrite("localhost : 24441 : x : a,b\n127.0.0.1 : 024441 : y : c,d\n", sv, 1);
	ck_assert_ptr_nonnull(strstr(s, "localhost : 24441 : x : a,b\n"));
	ck_assert_ptr_null(strstr(s, "024441"));
	free(s);
}
END_TEST

START_TEST(existing_account_found)
{
	struct pz_server sv[1] = {{"127.0.0.1", 24441}};
	struct drp_buf in;
	struct pz_acct a;
	const char *t = "127.0.0.1 : 24441 : bob : AA,BB\n"
	                "127.0.0.1 : 24441 : alice : "
	                "6F73235EDB8F49D746A4E85ADE00FFAABB6093D1,abcdef\n";

	drp_buf_init(&in);
	drp_buf_append(&in, t, strlen(t));
	ck_assert_int_eq(find_existing(&in, sv, 1, "alice", &a), 1);
	ck_assert_str_eq(a.salt, "6f73235edb8f49d746a4e85ade00ffaabb6093d1");
	ck_assert_str_eq(a.key, "abcdef");
	/* bob's salt is not 40 hex: not reusable */
	ck_assert_int_eq(find_existing(&in, sv, 1, "bob", &a), 0);
	ck_assert_int_eq(find_existing(&in, sv, 1, "carol", &a), 0);
	drp_buf_free(&in);
}
END_TEST

/* key = SHA1(unhex(salt) || passphrase), computed here independently */
START_TEST(genkey_derivation)
{
	const char *salt = "6f73235edb8f49d746a4e85ade00ffaabb6093d1", *pass = "pw";
	uint8_t raw[20], d[20];
	char want[41], got[41];
	unsigned n;
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	for (int i = 0; i < 20; i++)
		sscanf(salt + 2 * i, "%2hhx", &raw[i]);
	EVP_DigestInit_ex(m, EVP_sha1(), NULL);
	EVP_DigestUpdate(m, raw, 20);
	EVP_DigestUpdate(m, pass, 2);
	EVP_DigestFinal_ex(m, d, &n);
	EVP_MD_CTX_free(m);
	drp_hex(d, 20, want);
	ck_assert_int_eq(derive_key(salt, pass, got), 0);
	ck_assert_str_eq(got, want);
	/* a random salt is 40 lowercase hex */
	ck_assert_int_eq(random_salt(got), 0);
	ck_assert_int_eq(is_hex(got, 40), 1);
	for (int i = 0; i < 40; i++)
		ck_assert(!(got[i] >= 'A' && got[i] <= 'F'));
}
END_TEST

/* Random files: the invariants hold and nothing crashes. */
START_TEST(random_files)
{
	/* pieces of plausible and broken lines, so matches do happen */
	static const char *const piece[] = {
	    "127.0.0.1 : 24441 : u : s,k",
	    "127.0.0.1:24441:x:y",
	    "127.0.0.1 : 24441",
	    " # c",
	    "\n",
	    "\r\n",
	    ":",
	    ",",
	    "a",
	    "\t",
	    "other : 1 : b : c",
	    "24441",
	    " ",
	};
	struct pz_server sv[1] = {{"127.0.0.1", 24441}};
	unsigned seed = 12345;

	for (int iter = 0; iter < 20000; iter++) {
		char buf[1024];
		size_t len = 0, npieces = (size_t)(rand_r(&seed) % 24);
		struct drp_buf in, out;
		const char *line = "127.0.0.1 : 24441 : alice : ";
		size_t count = 0;

		for (size_t i = 0; i < npieces; i++) {
			const char *pc = piece[rand_r(&seed) % (sizeof(piece) / sizeof(piece[0]))];

			memcpy(buf + len, pc, strlen(pc));
			len += strlen(pc);
			if (rand_r(&seed) % 16 == 0)
				buf[len++] = '\0';
		}
		drp_buf_init(&in);
		drp_buf_init(&out);
		drp_buf_append(&in, buf, len);
		ck_assert_int_eq(rewrite(&in, sv, 1, &tacct, &out), 0);
		/* exactly one line for the server, and the output ends a line */
		for (const uint8_t *p = out.p;
		     p && (p = drp_memmem(p, out.len - (size_t)(p - out.p), line, strlen(line)));
		     p++)
			count++;
		ck_assert_uint_eq(count, 1);
		ck_assert(out.len > 0 && out.p[out.len - 1] == '\n');
		/* rewriting the result again changes nothing (idempotent) */
		{
			struct drp_buf again;

			drp_buf_init(&again);
			ck_assert_int_eq(rewrite(&out, sv, 1, &tacct, &again), 0);
			ck_assert_uint_eq(again.len, out.len);
			ck_assert(memcmp(again.p, out.p, out.len) == 0);
			drp_buf_free(&again);
		}
		drp_buf_free(&in);
		drp_buf_free(&out);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("register_pyzor");
	TCase *tc = tcase_create("accounts");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, split_like_pyzor);
	tcase_add_test(tc, replace_in_place);
	tcase_add_test(tc, existing_account_found);
	tcase_add_test(tc, genkey_derivation);
	tcase_add_test(tc, random_files);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
