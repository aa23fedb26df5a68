/*
 * test_register: `drp-register dcc` writes a DCC ids file that drp's own
 * loader (core/dcc_ids) reads back, in the format dccd(8) documents
 * ("ID[,option...] passwd1 [passwd2]", '#' comments, mode 0600), keeping
 * every other line, idempotent, never replacing a password silently.
 * Runs the built binary ($BUILD/drp-register).
 */
#include <check.h>
#include <fcntl.h>
#include <regex.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dcc_ids.h"

extern char **environ;

static char dir[64], ids[128], pwfile[128], outfile[128], errfile[128];
static char reg_bin[512];

static void setup(void)
{
	const char *b = getenv("BUILD");
	const char *root = getenv("ROOT");

	snprintf(dir, sizeof(dir), "/tmp/drp-test-register.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ids, sizeof(ids), "%s/dcc/ids", dir);
	snprintf(pwfile, sizeof(pwfile), "%s/pw", dir);
	snprintf(outfile, sizeof(outfile), "%s/out", dir);
	snprintf(errfile, sizeof(errfile), "%s/err", dir);
	snprintf(reg_bin, sizeof(reg_bin), "%s%s%s/drp-register", root ? root : "", root ? "/" : "",
	         b ? b : "build");
}

static void teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = 0;
	close(fd);
	return buf;
}

/* Run drp-register with args (NULL-terminated), stdout/stderr to files. */
static int run(const char *const *args)
{
	posix_spawn_file_actions_t fa;
	char *argv[16];
	int i, st;
	pid_t pid;

	argv[0] = reg_bin;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(posix_spawn(&pid, reg_bin, &fa, NULL, argv, environ) == 0, "spawn %s",
	              reg_bin);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Every entry line in DCC's documented grammar. */
static void assert_dcc_format(const char *text)
{
	regex_t re;
	const char *p = text;

	ck_assert_int_eq(regcomp(&re,
	                         "^[0-9]+(,(rpt-ok|no-reps|trace|delay=[0-9]+(\\*[0-9]+)?))*"
	                         "[ \t]+[^ \t]{1,32}([ \t]+[^ \t]{1,32})?[ \t]*$",
	                         REG_EXTENDED | REG_NOSUB),
	                 0);
	while (*p) {
		const char *eol = strchr(p, '\n');
		char line[512];
		size_t n;

		ck_assert_msg(eol != NULL, "last line without newline");
		n = (size_t)(eol - p);
		ck_assert_uint_lt(n, sizeof(line));
		memcpy(line, p, n);
		line[n] = 0;
		if (n > 0 && line[0] != '#')
			ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0,
			              "not DCC ids format: '%s'", line);
		p = eol + 1;
	}
	regfree(&re);
}

static const char *old_text = "# DCC ids\n"
                              "1001\tsrvpass1001\n"
                              "32769,rpt-ok  other1 other2\n"
                              "\n";

START_TEST(dcc_new_file)
{
	struct drp_dcc_ids t = {0};
	const struct drp_dcc_id_entry *e;
	struct stat st;
	char err[256];

	put(pwfile, "s3cret-pw\n", 0600);
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768",
	                                      "--passwd-file", pwfile, NULL}),
	                 0);
	ck_assert_int_eq(stat(ids, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_ptr_nonnull(strstr(slurp(outfile), "DCC_CLIENT_ID=32768\n"));
	ck_assert_ptr_nonnull(strstr(slurp(outfile), "DCC_CLIENT_PASSWD=s3cret-pw\n"));
	assert_dcc_format(slurp(ids));
	ck_assert_int_eq(drp_dcc_ids_load(ids, 0, &t, err, sizeof(err)), 0);
	e = drp_dcc_ids_find(&t, 32768);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->passwd[0], "s3cret-pw");
	ck_assert_str_eq(e->passwd[1], "");
	drp_dcc_ids_free(&t);
}
END_TEST

START_TEST(dcc_keeps_other_lines_and_is_idempotent)
{
	struct drp_dcc_ids t = {0};
	const struct drp_dcc_id_entry *e;
	char err[256], first[8192];

	snprintf(err, sizeof(err), "%s/dcc", dir);
	ck_assert_int_eq(mkdir(err, 0755), 0);
	put(ids, old_text, 0600);
	put(pwfile, "pw32768\n", 0600);
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768",
	                                      "--passwd-file", pwfile, NULL}),
	                 0);
	snprintf(first, sizeof(first), "%s", slurp(ids));
	/* the old lines, byte for byte, then the new entry */
	ck_assert_int_eq(strncmp(first, old_text, strlen(old_text)), 0);
	ck_assert_str_eq(first + strlen(old_text), "32768\tpw32768\n");
	assert_dcc_format(first);
	ck_assert_int_eq(drp_dcc_ids_load(ids, 0, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.n, 3);
	e = drp_dcc_ids_find(&t, 32769);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->passwd[0], "other1");
	ck_assert_str_eq(e->passwd[1], "other2");
	ck_assert_str_eq(drp_dcc_ids_find(&t, 1001)->passwd[0], "srvpass1001");
	ck_assert_str_eq(drp_dcc_ids_find(&t, 32768)->passwd[0], "pw32768");
	drp_dcc_ids_free(&t);

	/* again, and without a password option: nothing changes */
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768",
	                                      "--passwd-file", pwfile, NULL}),
	                 0);
	ck_assert_str_eq(slurp(ids), first);
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768", NULL}),
	                 0);
	ck_assert_str_eq(slurp(ids), first);
	ck_assert_ptr_nonnull(strstr(slurp(outfile), "DCC_CLIENT_PASSWD=pw32768\n"));
	/* --generate keeps the password on file */
	ck_assert_int_eq(
	    run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768", "--generate", NULL}),
	    0);
	ck_assert_str_eq(slurp(ids), first);
}
END_TEST

START_TEST(dcc_refuses_to_clobber)
{
	struct drp_dcc_ids t = {0};
	char err[256], first[8192];

	put(pwfile, "one\n", 0600);
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "40000",
	                                      "--passwd-file", pwfile, NULL}),
	                 0);
	snprintf(first, sizeof(first), "%s", slurp(ids));
	put(pwfile, "two\n", 0600);
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "40000",
	                                      "--passwd-file", pwfile, NULL}),
	                 1);
	ck_assert_str_eq(slurp(ids), first);
	ck_assert_ptr_nonnull(strstr(slurp(errfile), ids));
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "40000",
	                                      "--passwd-file", pwfile, "--force", NULL}),
	                 0);
	ck_assert_int_eq(drp_dcc_ids_load(ids, 0, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(drp_dcc_ids_find(&t, 40000)->passwd[0], "two");
	drp_dcc_ids_free(&t);
}
END_TEST

START_TEST(dcc_bad_input)
{
	put(pwfile, "has blank\n", 0600);
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768",
	                                      "--passwd-file", pwfile, NULL}),
	                 1);
	ck_assert_int_eq(access(ids, F_OK), -1);
	put(pwfile, "123456789012345678901234567890123\n", 0600); /* 33 bytes */
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768",
	                                      "--passwd-file", pwfile, NULL}),
	                 1);
	put(pwfile, "fine\n", 0600);
	/* a server-ID is not a client-ID */
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "1001",
	                                      "--passwd-file", pwfile, NULL}),
	                 1);
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "abc",
	                                      "--passwd-file", pwfile, NULL}),
	                 1);
	ck_assert_int_eq(access(ids, F_OK), -1);
	/* a missing password file is named */
	ck_assert_int_eq(run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768",
	                                      "--passwd-file", "/nonexistent/pw", NULL}),
	                 1);
	ck_assert_ptr_nonnull(strstr(slurp(errfile), "/nonexistent/pw"));
}
END_TEST

START_TEST(dcc_world_readable_refused)
{
	char d[128];

	snprintf(d, sizeof(d), "%s/dcc", dir);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	put(ids, "32768 pw\n", 0644);
	put(pwfile, "pw\n", 0600);
	ck_assert_int_ne(run((const char *[]){"dcc", "--ids", ids, "--client-id", "32768",
	                                      "--passwd-file", pwfile, NULL}),
	                 0);
	ck_assert_ptr_nonnull(strstr(slurp(errfile), ids));
}
END_TEST

START_TEST(help_and_unknown)
{
	ck_assert_int_eq(run((const char *[]){"--help", NULL}), 0);
	ck_assert_ptr_nonnull(strstr(slurp(outfile), "razor"));
	ck_assert_int_eq(run((const char *[]){"dcc", "--help", NULL}), 0);
	ck_assert_ptr_nonnull(strstr(slurp(outfile), "--client-id"));
	ck_assert_int_eq(run((const char *[]){"pyzor", "--help", NULL}), 0);
	ck_assert_int_eq(run((const char *[]){"razor", "--help", NULL}), 0);
	ck_assert_int_eq(run((const char *[]){"nosuch", NULL}), 1);
	ck_assert_ptr_nonnull(strstr(slurp(errfile), "nosuch"));
	ck_assert_int_eq(run((const char *[]){"dcc", "--bogus", NULL}), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("register");
	TCase *tc = tcase_create("dcc");
	SRunner *sr;
	int nf;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dcc_new_file);
	tcase_add_test(tc, dcc_keeps_other_lines_and_is_idempotent);
	tcase_add_test(tc, dcc_refuses_to_clobber);
	tcase_add_test(tc, dcc_bad_input);
	tcase_add_test(tc, dcc_world_readable_refused);
	tcase_add_test(tc, help_and_unknown);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
