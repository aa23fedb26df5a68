/* Unit tests: metrics — counters shared across fork() through the shm
 * region, worker table liveness, Prometheus text shape. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"

static int has(const struct drp_buf *b, const char *s)
{
	return drp_memmem(b->p, b->len, s, strlen(s)) != NULL;
}

START_TEST(private_render)
{
	struct drp_metrics *m;
	struct drp_buf b;
	char err[256];

	ck_assert_int_eq(drp_metrics_open(&m, NULL, err, sizeof(err)), 0);
	drp_metrics_request(m, DRP_EP_CHECK, 200, 1500);
	drp_metrics_request(m, DRP_EP_CHECK, 200, 7000000);
	drp_metrics_request(m, DRP_EP_REPORT, 401, 10);
	drp_metrics_request(m, DRP_EP_OTHER, 418, 10);
	drp_metrics_cache(m, DRP_MC_HIT);
	ck_assert_uint_eq(drp_metrics_requests(m, DRP_EP_CHECK, 200), 2);
	ck_assert_uint_eq(drp_metrics_cache_count(m, DRP_MC_HIT), 1);
	drp_buf_init(&b);
	ck_assert_int_eq(drp_metrics_render(m, "9.9", &b), 0);
	ck_assert(has(&b, "drp_build_info{version=\"9.9\"} 1\n"));
	ck_assert(has(&b, "drp_requests_total{endpoint=\"check\",status=\"200\"} 2\n"));
	ck_assert(has(&b, "drp_requests_total{endpoint=\"report\",status=\"401\"} 1\n"));
	ck_assert(has(&b, "drp_requests_total{endpoint=\"other\",status=\"other\"} 1\n"));
	/* cumulative buckets: 1.5 ms is above 1 ms, within 2.5 ms */
	ck_assert(
	    has(&b, "drp_request_duration_seconds_bucket{endpoint=\"check\",le=\"0.001\"} 0\n"));
	ck_assert(
	    has(&b, "drp_request_duration_seconds_bucket{endpoint=\"check\",le=\"0.0025\"} 1\n"));
	ck_assert(has(&b, "drp_request_duration_seconds_bucket{endpoint=\"check\",le=\"5\"} 1\n"));
	ck_assert(
	    has(&b, "drp_request_duration_seconds_bucket{endpoint=\"check\",le=\"+Inf\"} 2\n"));
	ck_assert(has(&b, "drp_request_duration_seconds_count{endpoint=\"check\"} 2\n"));
	ck_assert(has(&b, "drp_cache_hits_total 1\n"));
	ck_assert(has(&b, "drp_network_queries_total{network=\"pyzor\"} 0\n"));
	drp_buf_free(&b);
	drp_metrics_close(m);
}
END_TEST

START_TEST(shared_across_processes)
{
	char path[] = "/tmp/drp-metrics-test.XXXXXX", err[256];
	struct drp_metrics *m;
	struct drp_buf b;
	int i, st, alive, busy;
	int pipefd[2];
	pid_t kids[3];

	ck_assert_int_ge(mkstemp(path), 0);
	unlink(path);
	ck_assert_int_eq(drp_metrics_open(&m, path, err, sizeof(err)), 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	for (i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			/* an independent process attaching by name, as spawn-fcgi's are */
			struct drp_metrics *k;
			char c;
			int j;

			if (drp_metrics_open(&k, path, err, sizeof(err)) < 0)
				_exit(3);
			drp_metrics_worker_start(k, getpid());
			drp_metrics_worker_busy(k, i == 0);
			for (j = 0; j < 1000; j++)
				drp_metrics_request(k, DRP_EP_CHECK, 200, 100);
			/* the first two stay alive until told, the third dies
			 * without releasing its slot */
			if (i < 2 && read(pipefd[0], &c, 1) != 1)
				_exit(4);
			if (i < 2)
				drp_metrics_worker_stop(k);
			_exit(0);
		}
	}
	/* wait for the third and for the counts */
	ck_assert_int_eq(waitpid(kids[2], &st, 0), kids[2]);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (i = 0; i < 200 && drp_metrics_requests(m, DRP_EP_CHECK, 200) < 3000; i++)
		usleep(10000);
	ck_assert_uint_eq(drp_metrics_requests(m, DRP_EP_CHECK, 200), 3000);
	drp_metrics_workers(m, &alive, &busy);
	ck_assert_int_eq(alive, 2); /* the dead one's slot is not counted */
	ck_assert_int_eq(busy, 1);
	drp_buf_init(&b);
	drp_metrics_render(m, "t", &b);
	ck_assert(has(&b, "drp_workers_alive 2\n"));
	ck_assert(has(&b, "drp_workers_busy 1\n"));
	drp_buf_free(&b);
	ck_assert_int_eq(write(pipefd[1], "xx", 2), 2);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(kids[i], &st, 0), kids[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	drp_metrics_workers(m, &alive, &busy);
	ck_assert_int_eq(alive, 0);
	drp_metrics_close(m);
	/* a new attacher sees the same counters */
	ck_assert_int_eq(drp_metrics_open(&m, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(drp_metrics_requests(m, DRP_EP_CHECK, 200), 3000);
	drp_metrics_close(m);
	unlink(path);
	{
		char lock[sizeof(path) + 8];

		snprintf(lock, sizeof(lock), "%s.lock", path);
		unlink(lock);
	}
}
END_TEST

/* A worker is one process, not one pid: the same pid with another start
 * time (the kernel reused it) is not the registered worker. */
START_TEST(process_identity)
{
	uint64_t me = drp_metrics_process_start(getpid());
	pid_t kid;
	int st;

	ck_assert_uint_gt(me, 0);
	ck_assert_int_eq(drp_metrics_process_alive(getpid(), me), 1);
	ck_assert_int_eq(drp_metrics_process_alive(getpid(), 0), 1);
	ck_assert_int_eq(drp_metrics_process_alive(getpid(), me + 1), 0);
	ck_assert_int_eq(drp_metrics_process_alive(getpid(), me - 1), 0);
	kid = fork();
	if (kid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(kid, &st, 0), kid);
	ck_assert_int_eq(drp_metrics_process_alive(kid, 0), 0);
	ck_assert_uint_eq(drp_metrics_process_start(kid), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *t = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_set_timeout(t, 20);
	tcase_add_test(t, private_render);
	tcase_add_test(t, shared_across_processes);
	tcase_add_test(t, process_identity);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
