/*
 * test_review_config: the config file parser and the X_file indirection —
 * precedence, unreadable or oversized secret files reported (never silently
 * unset), repeated lookups stable, bad lines named by line number only.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/drp-test-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("DCC_CLIENT_PASSWD");
	unsetenv("DCC_CLIENT_PASSWD_FILE");
	unsetenv("DRP_REVIEW_KEY");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text, size_t len, char *path, size_t plen)
{
	FILE *f;

	snprintf(path, plen, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(file_precedence_and_case)
{
	struct drp_config *c = drp_config_new();
	char path[128], err[256] = "";

	const char *text = "# comment\n\n  Review_Key = \"from file\"  \nbackend_timeout = 2.5\n";

	write_file("drp.conf", text, strlen(text), path, sizeof path);
	ck_assert_int_eq(drp_config_load_file(c, path, 0, err, sizeof err), 0);
	ck_assert_str_eq(drp_config_get(c, "review_key"), "from file");
	ck_assert_str_eq(drp_config_source(c, "review_key"), "file");
	setenv("DRP_REVIEW_KEY", "from env", 1);
	ck_assert_str_eq(drp_config_get(c, "review_key"), "from env");
	ck_assert_int_eq(drp_config_set_flag(c, "review_key", "from flag"), 0);
	ck_assert_str_eq(drp_config_get(c, "review_key"), "from flag");
	unsetenv("DRP_REVIEW_KEY");
	drp_config_free(c);
}
END_TEST

START_TEST(bad_line_names_line_not_value)
{
	struct drp_config *c = drp_config_new();
	char path[128], err[256] = "";
	const char *text = "a = 1\ntopsecretvalue\n";

	write_file("bad.conf", text, strlen(text), path, sizeof path);
	ck_assert_int_eq(drp_config_load_file(c, path, 0, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, ":2:"));
	ck_assert_ptr_null(strstr(err, "topsecretvalue"));
	drp_config_free(c);
}
END_TEST

START_TEST(secret_file_first_line_and_stable)
{
	struct drp_config *c = drp_config_new();
	char path[128], err[256] = "";
	const char *v1, *v2;
	int i;

	write_file("pw", "s3cret\r\nsecond line\n", 20, path, sizeof path);
	ck_assert_int_eq(drp_config_set_flag(c, "dcc_client_passwd_file", path), 0);
	ck_assert_int_eq(drp_config_get_checked(c, "dcc_client_passwd", &v1, err, sizeof err), 0);
	ck_assert_str_eq(v1, "s3cret");
	/* looked up per request by some callers: same pointer, nothing re-read */
	for (i = 0; i < 1000; i++) {
		v2 = drp_config_get(c, "dcc_client_passwd");
		ck_assert_ptr_eq(v1, v2);
	}
	/* the value itself wins over the file */
	ck_assert_int_eq(drp_config_set_flag(c, "dcc_client_passwd", "direct"), 0);
	ck_assert_str_eq(drp_config_get(c, "dcc_client_passwd"), "direct");
	drp_config_free(c);
}
END_TEST

START_TEST(unreadable_secret_file_is_an_error)
{
	struct drp_config *c = drp_config_new();
	char path[160], err[256] = "";
	const char *v = "x";

	snprintf(path, sizeof path, "%s/missing", dir);
	setenv("DCC_CLIENT_PASSWD_FILE", path, 1);
	ck_assert_int_eq(drp_config_get_checked(c, "dcc_client_passwd", &v, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "dcc_client_passwd_file"));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
	ck_assert_ptr_null(drp_config_get(c, "dcc_client_passwd"));
	/* unset X_file: plain absence, not an error */
	unsetenv("DCC_CLIENT_PASSWD_FILE");
	ck_assert_int_eq(drp_config_get_checked(c, "dcc_client_passwd", &v, err, sizeof err), 0);
	ck_assert_ptr_null(v);
	drp_config_free(c);
}
END_TEST

START_TEST(oversized_secret_file_is_bounded)
{
	struct drp_config *c = drp_config_new();
	char err[256] = "";
	const char *v = "x";

	/* an endless file must neither hang nor eat memory */
	ck_assert_int_eq(drp_config_set_flag(c, "dcc_client_passwd_file", "/dev/zero"), 0);
	ck_assert_int_eq(drp_config_get_checked(c, "dcc_client_passwd", &v, err, sizeof err), 0);
	ck_assert_str_eq(v, ""); /* NUL bytes: an empty first line */
	drp_config_free(c);

	c = drp_config_new();
	{
		char path[128], *big = malloc(10000);

		ck_assert_ptr_nonnull(big);
		memset(big, 'a', 10000);
		write_file("big", big, 10000, path, sizeof path);
		free(big);
		ck_assert_int_eq(drp_config_set_flag(c, "dcc_client_passwd_file", path), 0);
		ck_assert_int_eq(
		    drp_config_get_checked(c, "dcc_client_passwd", &v, err, sizeof err), -1);
		ck_assert_ptr_nonnull(strstr(err, "longer than"));
	}
	drp_config_free(c);
}
END_TEST

/* A duration is a number of seconds or "<n>ms" within a day; "nan",
 * "inf", negatives and junk are errors that name the key (a NaN slipped
 * through the range test once: fuzz_config found it). */
START_TEST(durations_refuse_nan_and_inf)
{
	static const char *bad[] = {"nan",   "NAN", "-nan", "nanms", "inf", "-inf",
	                            "infms", "-1",  "1e12", "5x",    "ms",  ""};
	struct drp_config *c = drp_config_new();
	char err[256];
	long v = -7;

	for (size_t i = 0; i + 1 < sizeof(bad) / sizeof(bad[0]); i++) {
		drp_config_set_flag(c, "backend_timeout", bad[i]);
		err[0] = 0;
		ck_assert_msg(drp_config_ms(c, "backend_timeout", 5000, &v, err, sizeof(err)) == -1,
		              "'%s' accepted as %ld", bad[i], v);
		ck_assert_ptr_nonnull(strstr(err, "backend_timeout"));
	}
	drp_config_set_flag(c, "backend_timeout", "250ms");
	ck_assert_int_eq(drp_config_ms(c, "backend_timeout", 5000, &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 250);
	drp_config_set_flag(c, "backend_timeout", "1.5");
	ck_assert_int_eq(drp_config_ms(c, "backend_timeout", 5000, &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 1500);
	drp_config_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("review_config");
	TCase *tc = tcase_create("config");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, file_precedence_and_case);
	tcase_add_test(tc, bad_line_names_line_not_value);
	tcase_add_test(tc, secret_file_first_line_and_stable);
	tcase_add_test(tc, unreadable_secret_file_is_an_error);
	tcase_add_test(tc, oversized_secret_file_is_bounded);
	tcase_add_test(tc, durations_refuse_nan_and_inf);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
