/* Unit tests: auth — token sources (value lists, multi-line files), scopes,
 * header forms, the unconfigured case, bad tokens in config. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

#define T1 "0123456789abcdef0123"
#define T2 "fedcba9876543210fedc"
#define T3 "checkonly-token-000001"

static char tmpfile_path[64];

static const char *write_tmp(const char *text)
{
	int fd;

	snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/drp-auth-test.XXXXXX");
	fd = mkstemp(tmpfile_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmpfile_path;
}

START_TEST(unconfigured)
{
	struct drp_config *c = drp_config_new();
	struct drp_auth a;
	char err[256];

	unsetenv("DRP_TOKEN");
	unsetenv("DRP_TOKEN_FILE");
	unsetenv("DRP_CHECK_TOKEN");
	ck_assert_int_eq(drp_auth_load(&a, c, err, sizeof(err)), 0);
	ck_assert_int_eq(a.n, 0);
	ck_assert_int_eq(drp_auth_check(&a, "Bearer " T1, NULL, DRP_OP_CHECK),
	                 DRP_AUTH_UNCONFIGURED);
	ck_assert_int_eq(drp_auth_check(&a, NULL, NULL, DRP_OP_CHECK), DRP_AUTH_UNCONFIGURED);
	drp_config_free(c);
}
END_TEST

START_TEST(rotation_file_and_scopes)
{
	struct drp_config *c = drp_config_new();
	struct drp_auth a;
	char err[256];
	const char *p = write_tmp("# old and new\n" T1 "\n\n" T2 "\r\n");

	unsetenv("DRP_TOKEN");
	drp_config_set_flag(c, "token_file", p);
	drp_config_set_flag(c, "check_token", T3);
	ck_assert_int_eq(drp_auth_load(&a, c, err, sizeof(err)), 0);
	ck_assert_int_eq(a.n, 3);
	/* both rotated tokens, both header forms */
	ck_assert_int_eq(drp_auth_check(&a, "Bearer " T1, NULL, DRP_OP_REPORT), DRP_AUTH_OK);
	ck_assert_int_eq(drp_auth_check(&a, "bearer   " T2 "  ", NULL, DRP_OP_REVOKE), DRP_AUTH_OK);
	ck_assert_int_eq(drp_auth_check(&a, NULL, T2, DRP_OP_CHECK), DRP_AUTH_OK);
	/* the check-only token */
	ck_assert_int_eq(drp_auth_check(&a, NULL, T3, DRP_OP_CHECK), DRP_AUTH_OK);
	ck_assert_int_eq(drp_auth_check(&a, "Bearer " T3, NULL, DRP_OP_REPORT), DRP_AUTH_FORBIDDEN);
	ck_assert_int_eq(drp_auth_check(&a, NULL, T3, DRP_OP_REVOKE), DRP_AUTH_FORBIDDEN);
	/* wrong, truncated, extended, missing, other schemes */
	ck_assert_int_eq(drp_auth_check(&a, "Bearer " T1 "x", NULL, DRP_OP_CHECK), DRP_AUTH_BAD);
	ck_assert_int_eq(drp_auth_check(&a, "Bearer 0123456789abcdef012", NULL, DRP_OP_CHECK),
	                 DRP_AUTH_BAD);
	ck_assert_int_eq(drp_auth_check(&a, NULL, NULL, DRP_OP_CHECK), DRP_AUTH_MISSING);
	ck_assert_int_eq(drp_auth_check(&a, "Bearer ", NULL, DRP_OP_CHECK), DRP_AUTH_MISSING);
	ck_assert_int_eq(drp_auth_check(&a, "Basic " T1, NULL, DRP_OP_CHECK), DRP_AUTH_MISSING);
	ck_assert_int_eq(drp_auth_check(&a, "Basic xyz", T1, DRP_OP_CHECK), DRP_AUTH_OK);
	ck_assert_int_eq(drp_auth_check(&a, "# old", NULL, DRP_OP_CHECK), DRP_AUTH_MISSING);
	unlink(p);
	drp_auth_clear(&a);
	ck_assert_int_eq(a.n, 0);
	drp_config_free(c);
}
END_TEST

START_TEST(env_list_and_bad_tokens)
{
	struct drp_config *c = drp_config_new();
	struct drp_auth a;
	char err[256] = "";

	setenv("DRP_TOKEN", T1 "," T2, 1);
	ck_assert_int_eq(drp_auth_load(&a, c, err, sizeof(err)), 0);
	ck_assert_int_eq(a.n, 2);
	ck_assert_int_eq(drp_auth_check(&a, NULL, T2, DRP_OP_REPORT), DRP_AUTH_OK);
	setenv("DRP_TOKEN", "short", 1);
	ck_assert_int_eq(drp_auth_load(&a, c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "token"));
	unsetenv("DRP_TOKEN");
	drp_config_set_flag(c, "token_file", "/nonexistent/drp-token");
	ck_assert_int_eq(drp_auth_load(&a, c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "token_file"));
	drp_config_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *t = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(t, unconfigured);
	tcase_add_test(t, rotation_file_and_scopes);
	tcase_add_test(t, env_list_and_bad_tokens);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
