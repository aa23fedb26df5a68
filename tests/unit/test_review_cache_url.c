/*
 * test_review_cache_url: the cache URL is validated with the rest of the
 * configuration (so --check-config catches it), without resolving names,
 * and no error message repeats a password from it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "config.h"

static int from_config(const char *url, char *err, size_t errlen)
{
	struct drp_config *c = drp_config_new();
	struct drp_cache_opts o;
	int rc;

	ck_assert_ptr_nonnull(c);
	unsetenv("DRP_CACHE");
	ck_assert_int_eq(drp_config_set_flag(c, "cache", url), 0);
	err[0] = 0;
	rc = drp_cache_opts_from_config(&o, c, err, errlen);
	drp_config_free(c);
	return rc;
}

START_TEST(good_urls_accepted)
{
	static const char *const ok[] = {
	    "embedded",
	    "off",
	    "redis://127.0.0.1",
	    "redis://:pw@127.0.0.1:6380/3",
	    "redis://user:p%40ss@[::1]:6379?db=2",
	    "redis+unix:///run/redis.sock?db=1&password=x",
	    /* a name is resolved at start, not while validating */
	    "redis://cache.invalid:6379",
	    "memcached://10.0.0.1:11211,10.0.0.2,[::1]:11212",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(from_config(ok[i], err, sizeof err) == 0, "%s: %s", ok[i], err);
}
END_TEST

START_TEST(bad_urls_refused)
{
	static const char *const bad[] = {
	    "redis://127.0.0.1:99999",
	    "redis://127.0.0.1:0",
	    "redis://127.0.0.1/notanumber",
	    "redis://127.0.0.1?color=blue",
	    "redis://[::1",
	    "redis+unix://relative.sock",
	    "memcached://",
	    "memcached://a:x",
	    "rediss://127.0.0.1",
	    "ftp://127.0.0.1",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(from_config(bad[i], err, sizeof err) != 0, "%s accepted", bad[i]);
		ck_assert_msg(strncmp(err, "cache", 5) == 0, "%s: error '%s'", bad[i], err);
	}
}
END_TEST

START_TEST(errors_hide_passwords)
{
	static const char *const bad[] = {
	    "redis:/:hunter2@127.0.0.1",
	    "redsi://:hunter2@127.0.0.1",
	    "redis://:hunter2@127.0.0.1:99999",
	    "redis://u:hunter2@127.0.0.1?bogus=1",
	    "redis://127.0.0.1?password=hunter2&bogus=1",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_ne(from_config(bad[i], err, sizeof err), 0);
		ck_assert_msg(strstr(err, "hunter2") == NULL, "%s: '%s'", bad[i], err);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("review_cache_url");
	TCase *tc = tcase_create("url");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, good_urls_accepted);
	tcase_add_test(tc, bad_urls_refused);
	tcase_add_test(tc, errors_hide_passwords);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
