/* Unit tests: evloop (loopback sockets, timers, the deadline), config, netaddr. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <fcntl.h>

#include "config.h"
#include "evloop.h"
#include "netaddr.h"

static int bound_udp(struct sockaddr_in *sa)
{
	socklen_t l = sizeof(*sa);
	int fd = drp_udp_socket(AF_INET);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sa, &l), 0);
	return fd;
}

struct echo {
	int got;
	char data[64];
};

static void on_read(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct echo *e = arg;
	ssize_t n = recv(fd, e->data, sizeof(e->data) - 1, 0);

	ck_assert(ev & DRP_EV_READ);
	ck_assert_int_gt(n, 0);
	e->data[n] = 0;
	e->got++;
	drp_loop_unwatch(l, fd);
}

START_TEST(udp_roundtrip)
{
	struct sockaddr_in sa;
	struct echo e = {0};
	struct drp_loop *l = drp_loop_new();
	int srv = bound_udp(&sa), cli = drp_udp_socket(AF_INET);

	ck_assert_int_eq(sendto(cli, "ping", 4, 0, (struct sockaddr *)&sa, sizeof(sa)), 4);
	drp_loop_watch(l, srv, DRP_EV_READ, on_read, &e);
	ck_assert_int_eq(drp_loop_run(l, drp_now_ms() + 2000), 0);
	ck_assert_int_eq(e.got, 1);
	ck_assert_str_eq(e.data, "ping");
	ck_assert_int_eq(drp_loop_pending(l), 0);
	close(srv);
	close(cli);
	drp_loop_free(l);
}
END_TEST

static void never(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	(void)l;
	(void)fd;
	(void)ev;
	(void)arg;
	ck_abort_msg("no datagram was sent");
}

START_TEST(deadline_respected)
{
	struct sockaddr_in sa;
	struct drp_loop *l = drp_loop_new();
	int srv = bound_udp(&sa);
	uint64_t t0 = drp_now_ms(), dt;

	drp_loop_watch(l, srv, DRP_EV_READ, never, NULL);
	ck_assert_int_eq(drp_loop_run(l, t0 + 150), 1);
	dt = drp_now_ms() - t0;
	ck_assert_uint_ge(dt, 150);
	ck_assert_uint_lt(dt, 200);
	close(srv);
	drp_loop_free(l);
}
END_TEST

struct order {
	int seq[8];
	int n;
	long cancel_me;
	struct drp_loop *l;
};

static void t_mark(struct drp_loop *l, void *arg)
{
	struct order *o = arg;

	(void)l;
	o->seq[o->n] = o->n;
	o->n++;
}

static void t_cancel(struct drp_loop *l, void *arg)
{
	struct order *o = arg;

	drp_loop_cancel(l, o->cancel_me);
	o->seq[o->n++] = 100;
}

START_TEST(timers_order_and_cancel)
{
	struct order o = {0};
	struct drp_loop *l = drp_loop_new();
	uint64_t now = drp_now_ms();

	drp_loop_timer_at(l, now + 30, t_mark, &o);
	drp_loop_timer_at(l, now + 10, t_cancel, &o);
	o.cancel_me = drp_loop_timer_at(l, now + 20, t_mark, &o);
	ck_assert_int_eq(drp_loop_pending(l), 3);
	ck_assert_int_eq(drp_loop_run(l, now + 1000), 0);
	ck_assert_int_eq(o.n, 2);
	ck_assert_int_eq(o.seq[0], 100);
	ck_assert_int_eq(o.seq[1], 1);
	drp_loop_free(l);
}
END_TEST

struct tcpst {
	int connected, err;
};

static void on_connect(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct tcpst *s = arg;

	s->err = drp_sock_error(fd);
	s->connected = (ev & DRP_EV_WRITE) && s->err == 0;
	drp_loop_unwatch(l, fd);
}

START_TEST(tcp_connect_and_refused)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct drp_loop *l = drp_loop_new();
	struct tcpst st = {0};
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	fd = drp_tcp_connect((struct sockaddr *)&sa, sizeof(sa));
	ck_assert_int_ge(fd, 0);
	drp_loop_watch(l, fd, DRP_EV_WRITE, on_connect, &st);
	drp_loop_run(l, drp_now_ms() + 1000);
	ck_assert(st.connected);
	close(fd);
	close(lfd); /* now nothing listens on that port */
	memset(&st, 0, sizeof(st));
	fd = drp_tcp_connect((struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0) {
		drp_loop_watch(l, fd, DRP_EV_WRITE, on_connect, &st);
		drp_loop_run(l, drp_now_ms() + 1000);
		ck_assert(!st.connected);
		ck_assert_int_ne(st.err, 0);
		close(fd);
	}
	drp_loop_free(l);
}
END_TEST

START_TEST(config_precedence)
{
	char path[] = "/tmp/drp-test-conf.XXXXXX", err[256];
	struct drp_config *c = drp_config_new();
	int fd = mkstemp(path);
	long v;
	FILE *f = fdopen(fd, "w");

	fprintf(f, "# comment\nbackend_timeout = 2.5\npyzor_servers = \"127.0.0.1:1\"\n"
	           "cache_ttl=30\n\n");
	fclose(f);
	drp_config_set_default(c, "cache_ttl", "300");
	drp_config_set_default(c, "workers", "4");
	ck_assert_int_eq(drp_config_load_file(c, path, 0, err, sizeof(err)), 0);
	ck_assert_str_eq(drp_config_get(c, "pyzor_servers"), "127.0.0.1:1");
	ck_assert_str_eq(drp_config_source(c, "workers"), "default");
	ck_assert_int_eq(drp_config_ms(c, "backend_timeout", 5000, &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 2500);
	setenv("PYZOR_SERVERS", "[::1]:2", 1);
	ck_assert_str_eq(drp_config_get(c, "pyzor_servers"), "[::1]:2");
	ck_assert_str_eq(drp_config_source(c, "pyzor_servers"), "env");
	drp_config_set_flag(c, "pyzor_servers", "flag");
	ck_assert_str_eq(drp_config_get(c, "pyzor_servers"), "flag");
	unsetenv("PYZOR_SERVERS");
	setenv("DRP_CACHE_TTL", "x1", 1);
	ck_assert_int_eq(drp_config_long(c, "cache_ttl", 0, &v, err, sizeof(err)), -1);
	ck_assert(strstr(err, "cache_ttl") != NULL);
	unsetenv("DRP_CACHE_TTL");
	ck_assert_int_eq(drp_config_long(c, "cache_ttl", 0, &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 30);
	/* <key>_file indirection for secrets */
	f = fopen(path, "w");
	fprintf(f, "s3cret\nsecond line\n");
	fclose(f);
	drp_config_set_flag(c, "token_file", path);
	ck_assert_str_eq(drp_config_get(c, "token"), "s3cret");
	unlink(path);
	/* a broken file names the line */
	f = fopen(path, "w");
	fprintf(f, "ok = 1\nno equals sign\n");
	fclose(f);
	ck_assert_int_eq(drp_config_load_file(c, path, 0, err, sizeof(err)), -1);
	ck_assert(strstr(err, ":2:") != NULL);
	unlink(path);
	ck_assert_int_eq(drp_config_load_file(c, path, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(drp_config_load_file(c, path, 0, err, sizeof(err)), -1);
	drp_config_free(c);
}
END_TEST

START_TEST(hostport_lists)
{
	struct drp_hostport hp[8];
	struct drp_addr a[4];
	char err[128], s[64];
	int n;

	n = drp_hostport_list("127.0.0.1:24441, [::1]:9 ::1\nexample.org", 24441, hp, 8, err,
	                      sizeof(err));
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(hp[0].host, "127.0.0.1");
	ck_assert_int_eq(hp[0].port, 24441);
	ck_assert_str_eq(hp[1].host, "::1");
	ck_assert_int_eq(hp[1].port, 9);
	ck_assert_str_eq(hp[2].host, "::1");
	ck_assert_int_eq(hp[2].port, 24441);
	ck_assert_str_eq(hp[3].host, "example.org");
	ck_assert_int_eq(drp_resolve(&hp[0], SOCK_DGRAM, a, 4, err, sizeof(err)), 1);
	drp_addr_str((struct sockaddr *)&a[0].ss, s, sizeof(s));
	ck_assert_str_eq(s, "127.0.0.1:24441");
	ck_assert_int_eq(drp_resolve(&hp[1], SOCK_DGRAM, a, 4, err, sizeof(err)), 1);
	drp_addr_str((struct sockaddr *)&a[0].ss, s, sizeof(s));
	ck_assert_str_eq(s, "[::1]:9");
	ck_assert(drp_host_is_numeric("::1") && !drp_host_is_numeric("example.org"));
	ck_assert_int_eq(drp_hostport_list("a:70000", 1, hp, 8, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_hostport_list("[::1", 1, hp, 8, err, sizeof(err)), -1);
	ck_assert_int_eq(drp_hostport_list("a b c", 1, hp, 2, err, sizeof(err)), -1);
}
END_TEST

/* A callback closes another watched socket that also has an event ready and
 * opens a new one, which the kernel gives the same fd number: the stale
 * readiness must not be delivered to the new watcher. */
struct reuse {
	struct drp_loop *l;
	int a, b, c;
	int new_calls;
};

static void reuse_new(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct reuse *r = arg;

	(void)l;
	(void)fd;
	(void)ev;
	r->new_calls++;
}

static void reuse_first(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct reuse *r = arg;
	char buf[16];

	(void)ev;
	ck_assert_int_gt(recv(fd, buf, sizeof(buf), 0), 0);
	drp_loop_unwatch(l, r->a);
	drp_loop_unwatch(l, r->b);
	close(r->b);
	r->c = drp_udp_socket(AF_INET); /* lowest free number: b's */
	ck_assert_int_eq(r->c, r->b);
	drp_loop_watch(l, r->c, DRP_EV_READ, reuse_new, r);
}

START_TEST(fd_reuse_during_dispatch)
{
	struct sockaddr_in sa, sb;
	struct reuse r = {0};
	int cli = drp_udp_socket(AF_INET);

	r.l = drp_loop_new();
	r.a = bound_udp(&sa);
	r.b = bound_udp(&sb);
	ck_assert_int_lt(r.a, r.b);
	ck_assert_int_eq(sendto(cli, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), 1);
	ck_assert_int_eq(sendto(cli, "y", 1, 0, (struct sockaddr *)&sb, sizeof(sb)), 1);
	usleep(20000); /* both datagrams queued before the first poll */
	drp_loop_watch(r.l, r.a, DRP_EV_READ, reuse_first, &r);
	drp_loop_watch(r.l, r.b, DRP_EV_READ, reuse_new, &r);
	ck_assert_int_eq(drp_loop_run(r.l, drp_now_ms() + 100), 1);
	ck_assert_int_eq(r.new_calls, 0);
	close(r.a);
	close(r.c);
	close(cli);
	drp_loop_free(r.l);
}
END_TEST

/* A kept socket serves DRP_SOCK_REUSES requests, then is replaced; a
 * forked child never uses its parent's. */
START_TEST(kept_socket_rules)
{
	struct drp_kept_sock k;
	int fd, first, st;
	pid_t kid;

	drp_kept_init(&k);
	ck_assert_int_eq(drp_kept_take(&k), -1); /* nothing kept: open one */
	first = drp_udp_socket(AF_INET);
	ck_assert_int_ge(first, 0);
	drp_kept_put(&k, first);
	for (int i = 2; i <= DRP_SOCK_REUSES; i++) {
		fd = drp_kept_take(&k);
		ck_assert_int_eq(fd, first);
		drp_kept_put(&k, fd);
	}
	kid = fork();
	if (kid == 0)
		_exit(drp_kept_take(&k) == -1 && k.fd == -1 ? 0 : 1);
	ck_assert_int_eq(waitpid(kid, &st, 0), kid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* used DRP_SOCK_REUSES times: closed, a new one is due */
	ck_assert_int_eq(drp_kept_take(&k), -1);
	ck_assert_int_eq(fcntl(first, F_GETFD), -1);
	fd = drp_udp_socket(AF_INET);
	drp_kept_put(&k, fd);
	ck_assert_int_eq(drp_kept_take(&k), fd);
	drp_kept_put(&k, fd);
	drp_kept_close(&k);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("evloop");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, udp_roundtrip);
	tcase_add_test(tc, deadline_respected);
	tcase_add_test(tc, timers_order_and_cancel);
	tcase_add_test(tc, tcp_connect_and_refused);
	tcase_add_test(tc, config_precedence);
	tcase_add_test(tc, hostport_lists);
	tcase_add_test(tc, fd_reuse_during_dispatch);
	tcase_add_test(tc, kept_socket_rules);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
