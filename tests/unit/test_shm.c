/*
 * test_shm: create-or-attach, header checks, the first-initialisation race
 * between processes, robust mutex recovery, lock timeouts, futex wait/wake.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "shm.h"

#define MAGIC 0x5445535453484d31ULL

static char dir[256];
static char path[300];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/drp-test-shm.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/region.shm", dir);
}

static void teardown(void)
{
	char cmd[400];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

struct init_arg {
	int calls;
	uint32_t mark;
};

static int init_mark(void *base, size_t size, void *arg)
{
	struct init_arg *a = arg;
	uint32_t *p = base;

	a->calls++;
	p[0] = a->mark;
	p[size / sizeof *p - 1] = a->mark;
	return 0;
}

START_TEST(test_create_then_attach)
{
	struct drp_shm *a, *b;
	struct init_arg ia = {0, 0xabcd1234u}, ib = {0, 0x11111111u};
	char err[256];
	uint32_t *pa, *pb;

	ck_assert_int_eq(drp_shm_open(&a, path, MAGIC, 1, 4096, init_mark, &ia, err, sizeof err),
	                 0);
	ck_assert_int_eq(drp_shm_created(a), 1);
	ck_assert_int_eq(ia.calls, 1);
	ck_assert_int_eq(drp_shm_open(&b, path, MAGIC, 1, 4096, init_mark, &ib, err, sizeof err),
	                 0);
	ck_assert_int_eq(drp_shm_created(b), 0);
	ck_assert_int_eq(ib.calls, 0);
	pa = drp_shm_base(a);
	pb = drp_shm_base(b);
	ck_assert_uint_eq(pb[0], 0xabcd1234u);
	ck_assert_uint_eq(pb[4096 / 4 - 1], 0xabcd1234u);
	pa[7] = 77;
	ck_assert_uint_eq(pb[7], 77);
	ck_assert_uint_eq((uintptr_t)pa % 64, 0);
	ck_assert_uint_ge(drp_shm_size(a), 4096);
	ck_assert_str_eq(drp_shm_path(a), path);
	drp_shm_close(a);
	drp_shm_close(b);
}
END_TEST

START_TEST(test_mismatch_replaces)
{
	struct drp_shm *a, *b, *c, *d;
	char err[256];
	uint32_t *pa;

	ck_assert_int_eq(drp_shm_open(&a, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	pa = drp_shm_base(a);
	pa[0] = 42;
	/* another layout version: a new region, the old mapping stays valid */
	ck_assert_int_eq(drp_shm_open(&b, path, MAGIC, 2, 4096, NULL, NULL, err, sizeof err), 0);
	ck_assert_int_eq(drp_shm_created(b), 1);
	ck_assert_uint_eq(((uint32_t *)drp_shm_base(b))[0], 0);
	ck_assert_uint_eq(pa[0], 42);
	/* another size */
	ck_assert_int_eq(drp_shm_open(&c, path, MAGIC, 2, 8192, NULL, NULL, err, sizeof err), 0);
	ck_assert_int_eq(drp_shm_created(c), 1);
	/* another magic */
	ck_assert_int_eq(drp_shm_open(&d, path, MAGIC + 1, 2, 8192, NULL, NULL, err, sizeof err),
	                 0);
	ck_assert_int_eq(drp_shm_created(d), 1);
	drp_shm_close(a);
	drp_shm_close(b);
	drp_shm_close(c);
	drp_shm_close(d);
}
END_TEST

/* A region left from before a reboot (other boot id) must not be trusted:
 * its mutex word may name a thread that no longer exists. */
START_TEST(test_stale_boot_id_replaced)
{
	struct drp_shm *a, *b;
	char err[256];
	int fd;

	ck_assert_int_eq(drp_shm_open(&a, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	drp_shm_close(a);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	/* boot id follows magic(8) version(4) layout(4) size(8) */
	ck_assert_int_eq(pwrite(fd, "not-this-boot", 13, 24), 13);
	close(fd);
	ck_assert_int_eq(drp_shm_open(&b, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	ck_assert_int_eq(drp_shm_created(b), 1);
	drp_shm_close(b);
}
END_TEST

START_TEST(test_stale_tmp_removed)
{
	struct drp_shm *a, *b;
	char err[256], tmp[400];
	struct stat st;
	int fd;

	snprintf(tmp, sizeof tmp, "%s.tmp.99999", path);
	fd = open(tmp, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(drp_shm_open(&a, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	ck_assert_int_eq(stat(tmp, &st), -1);
	/* attaching never deletes anything */
	fd = open(tmp, O_RDWR | O_CREAT, 0600);
	close(fd);
	ck_assert_int_eq(drp_shm_open(&b, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	ck_assert_int_eq(drp_shm_created(b), 0);
	ck_assert_int_eq(stat(tmp, &st), 0);
	drp_shm_close(a);
	drp_shm_close(b);
}
END_TEST

START_TEST(test_truncated_file_replaced)
{
	struct drp_shm *a;
	char err[256];
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "garbage", 7), 7);
	close(fd);
	ck_assert_int_eq(drp_shm_open(&a, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	ck_assert_int_eq(drp_shm_created(a), 1);
	drp_shm_close(a);
}
END_TEST

START_TEST(test_bad_args)
{
	struct drp_shm *a;
	char err[256];

	ck_assert_int_eq(drp_shm_open(&a, "", MAGIC, 1, 4096, NULL, NULL, err, sizeof err), -1);
	ck_assert_int_eq(drp_shm_open(&a, path, MAGIC, 1, 0, NULL, NULL, err, sizeof err), -1);
	ck_assert_int_eq(drp_shm_open(&a, "/nonexistent-dir/x/y.shm", MAGIC, 1, 4096, NULL, NULL,
	                              err, sizeof err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x/y.shm"));
}
END_TEST

static int slow_init(void *base, size_t size, void *arg)
{
	struct timespec ts = {0, 30 * 1000000L};
	uint32_t *p = base;

	/* widen the window in which a racing process could see a half-built
	 * region */
	nanosleep(&ts, NULL);
	p[0] = 0x600dcafe;
	return 0;
}

/* Many independent processes open the same new region at once: exactly one
 * initialises it and every one sees the initialised contents. */
START_TEST(test_first_init_race)
{
	enum { N = 8 };
	int go[2], i, created = 0, ok = 0;
	pid_t pids[N];
	char c = 'x';

	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			struct drp_shm *s;
			char err[256], b;
			int rc;

			close(go[1]);
			if (read(go[0], &b, 1) != 0)
				_exit(10);
			if (drp_shm_open(&s, path, MAGIC, 1, 1 << 16, slow_init, NULL, err,
			                 sizeof err) != 0)
				_exit(11);
			if (((uint32_t *)drp_shm_base(s))[0] != 0x600dcafe)
				_exit(12);
			rc = drp_shm_created(s) ? 1 : 0;
			drp_shm_close(s);
			_exit(rc);
		}
	}
	close(go[0]);
	(void)c;
	close(go[1]); /* EOF releases every child at once */
	for (i = 0; i < N; i++) {
		int st;

		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert(WIFEXITED(st));
		ck_assert_int_le(WEXITSTATUS(st), 1);
		created += WEXITSTATUS(st);
		ok++;
	}
	ck_assert_int_eq(ok, N);
	ck_assert_int_eq(created, 1);
}
END_TEST

START_TEST(test_robust_mutex_owner_death)
{
	struct drp_shm *s;
	char err[256];
	pid_t pid;
	int st;

	ck_assert_int_eq(drp_shm_open(&s, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	ck_assert_int_eq(drp_shm_lock(s, 100), 0);
	drp_shm_unlock(s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct drp_shm *own;

		/* an independent attach, like an exec'd worker */
		if (drp_shm_open(&own, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err) != 0)
			_exit(2);
		if (drp_shm_lock(own, 100) != 0)
			_exit(3);
		((uint32_t *)drp_shm_base(own))[0] = 5;
		raise(SIGKILL); /* dies holding the lock */
		_exit(4);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	ck_assert_uint_eq(drp_shm_recoveries(s), 0);
	ck_assert_int_eq(drp_shm_lock(s, 500), 1); /* got it, and told */
	ck_assert_uint_eq(((uint32_t *)drp_shm_base(s))[0], 5);
	drp_shm_unlock(s);
	ck_assert_uint_eq(drp_shm_recoveries(s), 1);
	ck_assert_int_eq(drp_shm_lock(s, 100), 0); /* consistent again */
	drp_shm_unlock(s);
	drp_shm_close(s);
}
END_TEST

START_TEST(test_lock_timeout_on_stopped_holder)
{
	struct drp_shm *s;
	char err[256];
	int ready[2], st;
	pid_t pid;
	uint64_t t0, el;
	char b;

	ck_assert_int_eq(drp_shm_open(&s, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		if (drp_shm_lock(s, 100) != 0)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	t0 = drp_now_ms();
	ck_assert_int_eq(drp_shm_lock(s, 80), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	el = drp_now_ms() - t0;
	ck_assert_uint_ge(el, 70);
	ck_assert_uint_lt(el, 1000);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(drp_shm_lock(s, 500), 1);
	drp_shm_unlock(s);
	close(ready[0]);
	drp_shm_close(s);
}
END_TEST

START_TEST(test_futex_wait_wake_across_processes)
{
	struct drp_shm *s;
	char err[256];
	uint32_t *w;
	pid_t pid;
	int st;
	uint64_t t0;
	struct timespec ts = {0, 100 * 1000000L};

	ck_assert_int_eq(drp_shm_open(&s, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	w = drp_shm_base(s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint64_t start = drp_now_ms();

		while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == 0) {
			if (drp_now_ms() - start > 3000)
				_exit(1);
			drp_shm_wait(w, 0, 5000);
		}
		/* woken well before the 5 s timeout */
		_exit(drp_now_ms() - start < 2000 ? 0 : 2);
	}
	nanosleep(&ts, NULL);
	t0 = drp_now_ms();
	__atomic_store_n(w, 1, __ATOMIC_RELEASE);
	drp_shm_wake_all(w);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_uint_lt(drp_now_ms() - t0, 1000);
	/* a timed wait with an unchanged word returns after the timeout */
	t0 = drp_now_ms();
	drp_shm_wait(w, 1, 30);
	ck_assert_uint_ge(drp_now_ms() - t0, 25);
	drp_shm_close(s);
}
END_TEST

START_TEST(test_default_dir_and_unlink)
{
	char out[512];
	struct drp_shm *a;
	char err[256];
	struct stat st;

	setenv("DRP_RUN_DIR", dir, 1);
	drp_shm_default_dir(out, sizeof out);
	ck_assert_str_eq(out, dir);
	unsetenv("DRP_RUN_DIR");
	drp_shm_default_dir(out, sizeof out);
	ck_assert_int_eq(out[0], '/');
	ck_assert_int_eq(drp_shm_open(&a, path, MAGIC, 1, 4096, NULL, NULL, err, sizeof err), 0);
	drp_shm_close(a);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0077, 0);
	ck_assert_int_eq(drp_shm_unlink(path), 0);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(drp_shm_unlink(path), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shm");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_create_then_attach);
	tcase_add_test(tc, test_mismatch_replaces);
	tcase_add_test(tc, test_stale_boot_id_replaced);
	tcase_add_test(tc, test_truncated_file_replaced);
	tcase_add_test(tc, test_stale_tmp_removed);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_first_init_race);
	tcase_add_test(tc, test_robust_mutex_owner_death);
	tcase_add_test(tc, test_lock_timeout_on_stopped_holder);
	tcase_add_test(tc, test_futex_wait_wake_across_processes);
	tcase_add_test(tc, test_default_dir_and_unlink);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
