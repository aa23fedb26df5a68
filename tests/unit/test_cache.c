/*
 * test_cache: options and URLs, the embedded LRU (entries, bytes, TTL with
 * an injected clock), generations, and pool-wide coalescing between
 * processes (fork, and independent attaches) with leader death, overrun,
 * abandonment and bounded waits; robust-mutex recovery of the store.
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "evloop.h"
#include "shm.h"

/* getaddrinfo as the process sees it (hiredis' included): the test name
 * below is counted, and resolves to 127.0.0.1 only once "DNS" is up */
#define TEST_NAME "drp-test-no-such-host.invalid"
static int dns_up, dns_calls;

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (node != NULL && strcmp(node, TEST_NAME) == 0) {
		dns_calls++;
		if (!dns_up)
			return EAI_AGAIN;
		node = "127.0.0.1";
	}
	return real(node, service, hints, res);
}

static char dir[256];
static char path[300];
static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/drp-test-cache.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/cache.shm", dir);
	fake_now = 1000000;
}

static void teardown(void)
{
	char cmd[400];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static void opts(struct drp_cache_opts *o, long entries, long bytes)
{
	drp_cache_opts_default(o);
	o->entries = entries;
	o->bytes = bytes;
	snprintf(o->path, sizeof o->path, "%s", path);
	o->clock_ms = fake_clock;
}

/* Every handle a process opened, so a forked child can release them all
 * before it exits (valgrind checks children for leaks too). */
static struct drp_cache *opened[16];
static int n_opened;

static struct drp_cache *open_cache(const struct drp_cache_opts *o)
{
	struct drp_cache *c = NULL;
	char err[256] = "";

	if (drp_cache_open(&c, o, err, sizeof err) != 0)
		ck_abort_msg("open: %s", err);
	ck_assert_int_lt(n_opened, 16);
	opened[n_opened++] = c;
	return c;
}

static void close_cache(struct drp_cache *c)
{
	int i;

	for (i = 0; i < n_opened; i++)
		if (opened[i] == c)
			opened[i] = opened[--n_opened];
	drp_cache_close(c);
}

static void child_exit(int code) __attribute__((noreturn));
static void child_exit(int code)
{
	while (n_opened > 0)
		drp_cache_close(opened[--n_opened]);
	_exit(code);
}

static void mkkey(uint8_t key[32], unsigned n)
{
	unsigned i;

	/* spread like a digest: the cache uses key bytes as hashes */
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)((n * 2654435761u) >> (i % 4 * 8)) ^ (uint8_t)(i * 31 + n);
}

static int has(struct drp_cache *c, unsigned n)
{
	struct drp_buf b;
	uint8_t k[32];
	int r;

	drp_buf_init(&b);
	mkkey(k, n);
	r = drp_cache_get(c, k, &b);
	drp_buf_free(&b);
	return r;
}

static void put(struct drp_cache *c, unsigned n, size_t len)
{
	uint8_t k[32];
	char *v = malloc(len + 1);

	memset(v, 'a' + n % 26, len);
	mkkey(k, n);
	ck_assert_int_eq(drp_cache_put(c, k, v, len), 0);
	free(v);
}

/* ---- options ---- */

START_TEST(test_parse_urls)
{
	struct drp_cache_opts o;
	char err[256];

	drp_cache_opts_default(&o);
	ck_assert_int_eq(o.backend, DRP_CACHE_EMBEDDED);
	ck_assert_int_eq(o.ttl_s, 300);
	ck_assert_int_eq(drp_cache_opts_parse_url(&o, "off", err, sizeof err), 0);
	ck_assert_int_eq(o.backend, DRP_CACHE_OFF);
	ck_assert_int_eq(drp_cache_opts_parse_url(&o, "embedded", err, sizeof err), 0);
	ck_assert_int_eq(o.backend, DRP_CACHE_EMBEDDED);
	ck_assert_int_eq(
	    drp_cache_opts_parse_url(&o, "redis://:pw@127.0.0.1:6390/2", err, sizeof err), 0);
	ck_assert_int_eq(o.backend, DRP_CACHE_REDIS);
	ck_assert_int_eq(
	    drp_cache_opts_parse_url(&o, "redis+unix:///run/redis.sock?db=3", err, sizeof err), 0);
	ck_assert_int_eq(o.backend, DRP_CACHE_REDIS);
	ck_assert_int_eq(
	    drp_cache_opts_parse_url(&o, "memcached://127.0.0.1:1,127.0.0.1:2", err, sizeof err),
	    0);
	ck_assert_int_eq(o.backend, DRP_CACHE_MEMCACHED);
	ck_assert_int_eq(drp_cache_opts_parse_url(&o, "mongodb://x", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cache"));
	ck_assert_int_eq(drp_cache_opts_parse_url(&o, "rediss://x", err, sizeof err), -1);
}
END_TEST

static int open_err(const char *url, char *err, size_t errlen)
{
	struct drp_cache_opts o;
	struct drp_cache *c = NULL;

	drp_cache_opts_default(&o);
	snprintf(o.path, sizeof o.path, "%s", path);
	if (drp_cache_opts_parse_url(&o, url, err, errlen) != 0)
		return -1;
	if (drp_cache_open(&c, &o, err, errlen) != 0)
		return -1;
	close_cache(c);
	return 0;
}

START_TEST(test_bad_remote_urls)
{
	char err[256];

	ck_assert_int_eq(open_err("redis://127.0.0.1:99999", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://[::1", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://127.0.0.1:6379/x", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://127.0.0.1:6379/2x", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://127.0.0.1:6379?db=-1", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://127.0.0.1:6379?db", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://127.0.0.1:65536", err, sizeof err), -1);
	ck_assert_int_eq(open_err("memcached://127.0.0.1:1,,127.0.0.1:2", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://:pw%4@127.0.0.1", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://127.0.0.1?bogus=1", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "bogus"));
	ck_assert_int_eq(open_err("redis+unix://relative/path", err, sizeof err), -1);
	ck_assert_int_eq(open_err("redis://:%zz@127.0.0.1", err, sizeof err), -1);
	ck_assert_int_eq(open_err("memcached://", err, sizeof err), -1);
	ck_assert_int_eq(open_err("memcached://127.0.0.1:0", err, sizeof err), -1);
	/* well-formed ones open without a server running */
	ck_assert_int_eq(open_err("redis://:p%40ss@127.0.0.1:1/3", err, sizeof err), 0);
	ck_assert_int_eq(open_err("redis+unix://:pw@/tmp/none.sock?db=2", err, sizeof err), 0);
	ck_assert_int_eq(open_err("redis://[::1]:1", err, sizeof err), 0);
	ck_assert_int_eq(open_err("memcached://127.0.0.1:1,[::1]:2/", err, sizeof err), 0);
}
END_TEST

START_TEST(test_config_keys)
{
	struct drp_config *cfg = drp_config_new();
	struct drp_cache_opts o;
	char err[256];

	unsetenv("DRP_CACHE");
	unsetenv("DRP_CACHE_TTL");
	ck_assert_int_eq(drp_cache_opts_from_config(&o, cfg, err, sizeof err), 0);
	ck_assert_int_eq(o.backend, DRP_CACHE_EMBEDDED);
	drp_config_set_flag(cfg, "cache", "memcached://127.0.0.1:11211");
	drp_config_set_flag(cfg, "cache_ttl", "60");
	drp_config_set_flag(cfg, "cache_entries", "1k");
	drp_config_set_flag(cfg, "cache_bytes", "2M");
	drp_config_set_flag(cfg, "cache_timeout", "5ms");
	drp_config_set_flag(cfg, "cache_path", "/tmp/x.shm");
	ck_assert_int_eq(drp_cache_opts_from_config(&o, cfg, err, sizeof err), 0);
	ck_assert_int_eq(o.backend, DRP_CACHE_MEMCACHED);
	ck_assert_int_eq(o.ttl_s, 60);
	ck_assert_int_eq(o.entries, 1024);
	ck_assert_int_eq(o.bytes, 2 << 20);
	ck_assert_int_eq(o.timeout_ms, 5);
	ck_assert_str_eq(o.path, "/tmp/x.shm");
	drp_config_set_flag(cfg, "cache_bytes", "lots");
	ck_assert_int_eq(drp_cache_opts_from_config(&o, cfg, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cache_bytes"));
	drp_config_set_flag(cfg, "cache_bytes", "1M");
	drp_config_set_flag(cfg, "cache_ttl", "-1");
	ck_assert_int_eq(drp_cache_opts_from_config(&o, cfg, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cache_ttl"));
	drp_config_set_flag(cfg, "cache_ttl", "5");
	drp_config_set_flag(cfg, "cache_path", "relative.shm");
	ck_assert_int_eq(drp_cache_opts_from_config(&o, cfg, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cache_path"));
	drp_config_set_flag(cfg, "cache_path", "/tmp/x.shm");
	drp_config_set_flag(cfg, "cache", "bogus");
	ck_assert_int_eq(drp_cache_opts_from_config(&o, cfg, err, sizeof err), -1);
	drp_config_free(cfg);
}
END_TEST

/* ---- embedded store ---- */

START_TEST(test_put_get_roundtrip_binary)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_buf b;
	uint8_t k[32], k2[32];
	const char v[] = "{\"a\":1}\0tail";
	struct drp_cache_stats st;

	opts(&o, 64, 64 * 1024);
	c = open_cache(&o);
	ck_assert_str_eq(drp_cache_backend_name(drp_cache_backend(c)), "embedded");
	drp_buf_init(&b);
	mkkey(k, 1);
	mkkey(k2, 2);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 0);
	ck_assert_int_eq(drp_cache_put(c, k, v, sizeof v), 0);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 1);
	ck_assert_uint_eq(b.len, sizeof v);
	ck_assert_int_eq(memcmp(b.p, v, sizeof v), 0);
	ck_assert_int_eq(drp_cache_get(c, k2, &b), 0);
	/* replace */
	ck_assert_int_eq(drp_cache_put(c, k, "x", 1), 0);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 1);
	ck_assert_uint_eq(b.len, 1);
	/* empty value and the size limit */
	ck_assert_int_eq(drp_cache_put(c, k2, "", 0), 0);
	ck_assert_int_eq(drp_cache_get(c, k2, &b), 1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(drp_cache_put(c, k2, v, DRP_CACHE_VALUE_MAX + 1), -1);
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.bytes, 64);
	ck_assert_uint_eq(st.max_entries, 64);
	ck_assert_uint_eq(st.max_bytes, 64 * 1024);
	ck_assert_int_eq(st.backend_up, -1);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

START_TEST(test_evict_by_entries_lru)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_stats st;
	unsigned i;

	opts(&o, 16, 1 << 20);
	c = open_cache(&o);
	for (i = 0; i < 16; i++)
		put(c, i, 10);
	/* touch 0 so 1 becomes the least recently used */
	ck_assert_int_eq(has(c, 0), 1);
	put(c, 100, 10);
	ck_assert_int_eq(has(c, 1), 0);
	ck_assert_int_eq(has(c, 0), 1);
	ck_assert_int_eq(has(c, 2), 1);
	for (i = 101; i < 105; i++)
		put(c, i, 10);
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.entries, 16);
	ck_assert_uint_eq(st.evictions, 5);
	/* has(c, 2) above made 2 recent: 3..6 were the oldest */
	for (i = 3; i < 7; i++)
		ck_assert_int_eq(has(c, i), 0);
	ck_assert_int_eq(has(c, 2), 1);
	for (i = 101; i < 105; i++)
		ck_assert_int_eq(has(c, i), 1);
	close_cache(c);
}
END_TEST

START_TEST(test_evict_by_bytes)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_stats st;
	unsigned i;

	/* 4096 bytes = 64 blocks; 1000-byte values take 16 blocks each */
	opts(&o, 1000, 4096);
	c = open_cache(&o);
	for (i = 0; i < 4; i++)
		put(c, i, 1000);
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.entries, 4);
	ck_assert_uint_eq(st.bytes, 4096);
	put(c, 4, 1000);
	ck_assert_int_eq(has(c, 0), 0);
	for (i = 1; i < 5; i++)
		ck_assert_int_eq(has(c, i), 1);
	/* one big value pushes out several small ones */
	put(c, 5, 3000); /* 47 blocks */
	drp_cache_stats(c, &st);
	ck_assert_uint_le(st.bytes, st.max_bytes);
	ck_assert_int_eq(has(c, 5), 1);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.evictions, 4);
	/* larger than the whole store: refused, nothing evicted */
	{
		uint8_t k[32];
		static char big[5000];

		mkkey(k, 6);
		ck_assert_int_eq(drp_cache_put(c, k, big, sizeof big), -1);
		ck_assert_int_eq(has(c, 5), 1);
	}
	close_cache(c);
}
END_TEST

START_TEST(test_ttl_with_injected_clock)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_stats st;

	opts(&o, 64, 65536);
	o.ttl_s = 10;
	c = open_cache(&o);
	put(c, 1, 50);
	fake_now += 9999;
	ck_assert_int_eq(has(c, 1), 1);
	fake_now += 1;
	ck_assert_int_eq(has(c, 1), 0);
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.expired, 1);
	ck_assert_uint_eq(st.entries, 0);
	/* a clock that went back (reboot, other clock) cannot make an entry
	 * live longer than one TTL */
	put(c, 2, 50);
	fake_now -= 20000;
	ck_assert_int_eq(has(c, 2), 0);
	close_cache(c);
}
END_TEST

START_TEST(test_ttl_zero_and_off_disable)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_buf b;
	uint8_t k[32];

	opts(&o, 64, 65536);
	o.ttl_s = 0;
	c = open_cache(&o);
	ck_assert_int_eq(drp_cache_backend(c), DRP_CACHE_OFF);
	mkkey(k, 1);
	drp_buf_init(&b);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(t.leader, 0);
	ck_assert_int_eq(drp_cache_finish(c, &t, "v", 1, 1), 0);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(drp_cache_put(c, k, "v", 1), -1);
	ck_assert_int_eq(drp_cache_invalidate(c, k), 0);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* ---- the request protocol ---- */

START_TEST(test_begin_finish_stores)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_cache_stats st;
	struct drp_buf b;
	uint8_t k[32];

	opts(&o, 64, 65536);
	c = open_cache(&o);
	mkkey(k, 7);
	drp_buf_init(&b);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(t.leader, 1);
	ck_assert_int_eq(drp_cache_finish(c, &t, "verdict", 7, 1), 1);
	ck_assert_int_eq(drp_cache_finish(c, &t, "again", 5, 1), 0); /* harmless twice */
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_HIT);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_int_eq(memcmp(b.p, "verdict", 7), 0);
	ck_assert_int_eq(drp_cache_finish(c, &t, "x", 1, 1), 0); /* after HIT: no-op */
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.hits, 1);
	ck_assert_uint_eq(st.misses, 1);
	ck_assert_uint_eq(st.stores, 1);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

START_TEST(test_not_cacheable_not_stored)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_buf b;
	uint8_t k[32];

	opts(&o, 64, 65536);
	c = open_cache(&o);
	mkkey(k, 8);
	drp_buf_init(&b);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(drp_cache_finish(c, &t, "failed-net", 10, 0), 0);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 0);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(t.leader, 1);
	drp_cache_finish(c, &t, NULL, 0, 0);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* A check that began before an invalidation must not store its verdict. */
START_TEST(test_invalidation_blocks_stale_store)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_buf b;
	uint8_t k[32], other[32];

	opts(&o, 64, 65536);
	c = open_cache(&o);
	mkkey(k, 9);
	mkkey(other, 10);
	drp_buf_init(&b);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(drp_cache_invalidate(c, k), 0); /* /report meanwhile */
	ck_assert_int_eq(drp_cache_finish(c, &t, "stale", 5, 1), 0);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 0);
	/* the next check stores normally */
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(drp_cache_finish(c, &t, "fresh", 5, 1), 1);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 1);
	/* invalidation removes a stored verdict, and leaves other keys */
	ck_assert_int_eq(drp_cache_put(c, other, "o", 1), 0);
	ck_assert_int_eq(drp_cache_invalidate(c, k), 0);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 0);
	ck_assert_int_eq(drp_cache_get(c, other, &b), 1);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* Invalidation from another process (another worker) counts the same. */
START_TEST(test_invalidation_from_other_process)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_buf b;
	uint8_t k[32];
	pid_t pid;
	int st;

	opts(&o, 64, 65536);
	c = open_cache(&o);
	mkkey(k, 11);
	drp_buf_init(&b);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct drp_cache *own = open_cache(&o);

		child_exit(drp_cache_invalidate(own, k) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(drp_cache_finish(c, &t, "stale", 5, 1), 0);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 0);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* ---- coalescing across processes ---- */

struct child_report {
	int res;
	int leader, took_over, wait_timeout;
	unsigned len;
	char val[64];
	unsigned long elapsed_ms;
};

/* Child: independent attach (like an exec'd worker), wait for the start
 * signal, begin; a leader sleeps lead_ms then publishes its pid. */
static pid_t spawn_checker(const struct drp_cache_opts *o, const uint8_t *k, const int *go,
                           int out_fd, long wait_ms, long lead_ms, int cacheable, int die_as_leader,
                           int ready_fd)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct drp_cache *c = open_cache(o);
		struct drp_cache_ticket t;
		struct child_report r;
		struct drp_buf b;
		uint64_t t0;
		char x;

		/* the start signal is EOF on the pipe: drop our copy of its
		 * write end first */
		if (go != NULL) {
			close(go[1]);
			if (read(go[0], &x, 1) < 0)
				child_exit(3);
		}
		drp_buf_init(&b);
		memset(&r, 0, sizeof r);
		t0 = drp_now_ms();
		r.res = drp_cache_begin(c, &t, k, t0 + (uint64_t)wait_ms, &b);
		r.leader = t.leader;
		r.took_over = t.took_over;
		r.wait_timeout = t.wait_timeout;
		if (ready_fd >= 0 && write(ready_fd, "r", 1) != 1)
			child_exit(5);
		if (r.res == DRP_CACHE_MISS && t.leader) {
			struct timespec ts = {lead_ms / 1000, (lead_ms % 1000) * 1000000L};
			char v[32];

			if (die_as_leader)
				raise(SIGKILL);
			nanosleep(&ts, NULL);
			snprintf(v, sizeof v, "from-%ld", (long)getpid());
			drp_cache_finish(c, &t, v, strlen(v), cacheable);
			snprintf(r.val, sizeof r.val, "%s", v);
			r.len = (unsigned)strlen(v);
		} else if (r.res != DRP_CACHE_MISS) {
			r.len = (unsigned)(b.len < sizeof r.val - 1 ? b.len : sizeof r.val - 1);
			memcpy(r.val, b.p, r.len);
		}
		r.elapsed_ms = (unsigned long)(drp_now_ms() - t0);
		drp_buf_free(&b);
		if (write(out_fd, &r, sizeof r) != sizeof r)
			child_exit(4);
		child_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}

START_TEST(test_coalesce_across_processes)
{
	enum { N = 6 };
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_stats st;
	struct child_report r[N];
	int go[2], out[2], i, leaders = 0, coalesced = 0, li = -1;
	pid_t pids[N];
	uint8_t k[32];

	opts(&o, 64, 65536);
	o.clock_ms = NULL;
	c = open_cache(&o);
	mkkey(k, 20);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(out), 0);
	for (i = 0; i < N; i++)
		pids[i] = spawn_checker(&o, k, go, out[1], 3000, 800, 0, 0, -1);
	close(go[1]);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(read(out[0], &r[i], sizeof r[i]), sizeof r[i]);
	for (i = 0; i < N; i++)
		reap(pids[i]);
	for (i = 0; i < N; i++) {
		if (r[i].res == DRP_CACHE_MISS) {
			ck_assert_int_eq(r[i].leader, 1);
			leaders++;
			li = i;
		} else {
			ck_assert_int_eq(r[i].res, DRP_CACHE_COALESCED);
			coalesced++;
		}
	}
	ck_assert_int_eq(leaders, 1);
	ck_assert_int_eq(coalesced, N - 1);
	for (i = 0; i < N; i++) {
		ck_assert_str_eq(r[i].val, r[li].val);
		/* woken by the leader's publish, not by a poll or a timeout */
		ck_assert_uint_lt(r[i].elapsed_ms, 2500);
	}
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.coalesced, N - 1);
	ck_assert_uint_eq(st.stores, 0); /* not cacheable: handed over, not stored */
	close(go[0]);
	close(out[0]);
	close(out[1]);
	close_cache(c);
}
END_TEST

/* The leader dies without publishing: a waiter notices and takes over well
 * before its own deadline. */
START_TEST(test_leader_death_takeover)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_cache_stats st;
	struct drp_buf b;
	int out[2], ready[2];
	uint8_t k[32];
	pid_t pid;
	uint64_t t0;
	char x;

	opts(&o, 64, 65536);
	o.clock_ms = NULL;
	c = open_cache(&o);
	mkkey(k, 21);
	drp_buf_init(&b);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct drp_cache *own = open_cache(&o);
		struct drp_cache_ticket lt;

		if (drp_cache_begin(own, &lt, k, drp_now_ms() + 10000, &b) != DRP_CACHE_MISS ||
		    !lt.leader)
			child_exit(2);
		if (write(ready[1], "r", 1) != 1)
			child_exit(3);
		pause(); /* killed by the parent mid-fan-out */
		child_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &x, 1), 1);
	/* kill the leader 200 ms into our wait */
	{
		pid_t killer = fork();

		ck_assert_int_ge(killer, 0);
		if (killer == 0) {
			struct timespec ts = {0, 200 * 1000000L};

			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
			child_exit(0);
		}
		t0 = drp_now_ms();
		ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 5000, &b), DRP_CACHE_MISS);
		ck_assert_int_eq(t.leader, 1);
		ck_assert_int_eq(t.took_over, 1);
		ck_assert_int_eq(t.waited, 1);
		ck_assert_uint_ge(drp_now_ms() - t0, 150);
		ck_assert_uint_lt(drp_now_ms() - t0, 1500);
		reap(killer);
	}
	reap(pid);
	ck_assert_int_eq(drp_cache_finish(c, &t, "mine", 4, 1), 1);
	ck_assert_int_eq(drp_cache_get(c, k, &b), 1);
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.takeovers, 1);
	close(out[0]);
	close(out[1]);
	close(ready[0]);
	close(ready[1]);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* A leader that died before anyone waited: the next check takes over at
 * once instead of waiting for anything. */
START_TEST(test_dead_leader_before_wait)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_buf b;
	struct child_report r;
	int out[2];
	uint8_t k[32];
	pid_t pid;
	uint64_t t0;

	opts(&o, 64, 65536);
	o.clock_ms = NULL;
	c = open_cache(&o);
	mkkey(k, 22);
	drp_buf_init(&b);
	ck_assert_int_eq(pipe(out), 0);
	pid = spawn_checker(&o, k, NULL, out[1], 3000, 0, 1, 1, -1);
	reap(pid);
	(void)r;
	t0 = drp_now_ms();
	ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 3000, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(t.leader, 1);
	ck_assert_int_eq(t.took_over, 1);
	ck_assert_uint_lt(drp_now_ms() - t0, 100);
	drp_cache_finish(c, &t, NULL, 0, 0);
	close(out[0]);
	close(out[1]);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* A live leader that overruns its deadline (+ grace) is replaced. */
START_TEST(test_overdue_leader_replaced)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_buf b;
	struct child_report r;
	int out[2], go[2];
	uint8_t k[32];
	pid_t pid;
	uint64_t t0, el;

	opts(&o, 64, 65536);
	o.clock_ms = NULL;
	c = open_cache(&o);
	mkkey(k, 23);
	drp_buf_init(&b);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(go), 0);
	/* leader with a 100 ms budget that takes 2 s */
	pid = spawn_checker(&o, k, go, out[1], 100, 2000, 1, 0, out[1]);
	close(go[1]);
	{
		char x;

		ck_assert_int_eq(read(out[0], &x, 1), 1);
	}
	t0 = drp_now_ms();
	ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 5000, &b), DRP_CACHE_MISS);
	el = drp_now_ms() - t0;
	ck_assert_int_eq(t.took_over, 1);
	ck_assert_uint_ge(el, 400);  /* not before 100 ms + 500 ms grace */
	ck_assert_uint_lt(el, 1500); /* and not at the end of its 2 s */
	ck_assert_int_eq(drp_cache_finish(c, &t, "new", 3, 1), 1);
	/* the old leader finishes later: it may not clobber waiters, but its
	 * own store is still a valid verdict */
	ck_assert_int_eq(read(out[0], &r, sizeof r), sizeof r);
	reap(pid);
	ck_assert_int_eq(r.leader, 1);
	close(out[0]);
	close(out[1]);
	close(go[0]);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

START_TEST(test_wait_bounded_by_deadline)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_cache_stats st;
	struct drp_buf b;
	struct child_report r;
	int out[2], go[2];
	uint8_t k[32];
	pid_t pid;
	uint64_t t0, el;

	opts(&o, 64, 65536);
	o.clock_ms = NULL;
	c = open_cache(&o);
	mkkey(k, 24);
	drp_buf_init(&b);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid = spawn_checker(&o, k, go, out[1], 5000, 1000, 1, 0, out[1]);
	close(go[1]);
	{
		char x;

		ck_assert_int_eq(read(out[0], &x, 1), 1);
	}
	t0 = drp_now_ms();
	ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 150, &b), DRP_CACHE_MISS);
	el = drp_now_ms() - t0;
	ck_assert_int_eq(t.wait_timeout, 1);
	ck_assert_int_eq(t.leader, 0);
	ck_assert_uint_ge(el, 140);
	ck_assert_uint_lt(el, 600);
	drp_cache_finish(c, &t, NULL, 0, 0);
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.wait_timeouts, 1);
	ck_assert_int_eq(read(out[0], &r, sizeof r), sizeof r);
	reap(pid);
	close(out[0]);
	close(out[1]);
	close(go[0]);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* A leader that gives up (finish with NULL) hands leadership to a waiter. */
START_TEST(test_abandon_hands_over)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_buf b;
	int ready[2];
	uint8_t k[32];
	pid_t pid;
	uint64_t t0;
	char x;

	opts(&o, 64, 65536);
	o.clock_ms = NULL;
	c = open_cache(&o);
	mkkey(k, 25);
	drp_buf_init(&b);
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct drp_cache_ticket lt;
		struct timespec ts = {0, 200 * 1000000L};

		if (drp_cache_begin(c, &lt, k, drp_now_ms() + 10000, &b) != DRP_CACHE_MISS)
			child_exit(2);
		if (write(ready[1], "r", 1) != 1)
			child_exit(3);
		nanosleep(&ts, NULL);
		drp_cache_finish(c, &lt, NULL, 0, 0);
		child_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &x, 1), 1);
	t0 = drp_now_ms();
	ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 5000, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(t.leader, 1);
	ck_assert_int_eq(t.took_over, 0);
	ck_assert_int_eq(t.waited, 1);
	ck_assert_uint_lt(drp_now_ms() - t0, 1000);
	reap(pid);
	drp_cache_finish(c, &t, NULL, 0, 0);
	close(ready[0]);
	close(ready[1]);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* A check arriving after an invalidation does not join one from before. */
START_TEST(test_no_join_across_invalidation)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t1, t2;
	struct drp_buf b;
	uint8_t k[32];
	pid_t pid;
	int st;

	opts(&o, 64, 65536);
	o.clock_ms = NULL;
	c = open_cache(&o);
	mkkey(k, 26);
	drp_buf_init(&b);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* leader from before the report, stays running */
		if (drp_cache_begin(c, &t1, k, drp_now_ms() + 5000, &b) != DRP_CACHE_MISS)
			child_exit(2);
		sleep(3);
		child_exit(0);
	}
	{
		struct timespec ts = {0, 100 * 1000000L};

		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(drp_cache_invalidate(c, k), 0);
	ck_assert_int_eq(drp_cache_begin(c, &t2, k, drp_now_ms() + 2000, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(t2.leader, 1);
	ck_assert_int_eq(t2.waited, 0);
	ck_assert_int_eq(drp_cache_finish(c, &t2, "after", 5, 1), 1);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* A worker killed while holding the region lock: the next one recovers the
 * mutex, empties the possibly half-changed store and carries on. */
START_TEST(test_robust_recovery_resets_store)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_cache_stats st;
	struct drp_buf b;
	uint8_t k[32];
	pid_t pid;
	int s;

	opts(&o, 64, 65536);
	c = open_cache(&o);
	drp_buf_init(&b);
	mkkey(k, 30);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	put(c, 1, 100);
	put(c, 2, 100);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct drp_cache *own = open_cache(&o);

		if (drp_shm_lock(drp_cache_region(own), 100) != 0)
			child_exit(2);
		raise(SIGKILL);
		child_exit(3);
	}
	ck_assert_int_eq(waitpid(pid, &s, 0), pid);
	ck_assert(WIFSIGNALED(s));
	ck_assert_int_eq(has(c, 1), 0); /* store emptied, no deadlock */
	drp_cache_stats(c, &st);
	ck_assert_uint_eq(st.lock_recoveries, 1);
	ck_assert_uint_eq(st.entries, 0);
	/* a check in flight across the recovery does not store */
	ck_assert_int_eq(drp_cache_finish(c, &t, "v", 1, 1), 0);
	put(c, 3, 100);
	ck_assert_int_eq(has(c, 3), 1);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* The shared store is one per region: a forked and an independently
 * attached worker see each other's verdicts. */
START_TEST(test_shared_between_workers)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	uint8_t k[32];
	pid_t pid;
	int st;

	opts(&o, 64, 65536);
	c = open_cache(&o);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct drp_cache *own = open_cache(&o);

		mkkey(k, 40);
		child_exit(drp_cache_put(own, k, "w", 1) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(has(c, 40), 1);
	close_cache(c);
}
END_TEST

START_TEST(test_remote_down_is_no_cache)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_cache_stats st;
	struct drp_buf b;
	char err[256];
	uint8_t k[32];
	uint64_t t0;

	drp_cache_opts_default(&o);
	snprintf(o.path, sizeof o.path, "%s", path);
	/* port 1 on loopback: refused at once */
	ck_assert_int_eq(drp_cache_opts_parse_url(&o, "redis://127.0.0.1:1", err, sizeof err), 0);
	o.retry_ms = 60000;
	c = open_cache(&o);
	drp_buf_init(&b);
	mkkey(k, 50);
	t0 = drp_now_ms();
	ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 1000, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(t.leader, 1); /* still coalesced on this host */
	ck_assert_int_eq(drp_cache_finish(c, &t, "v", 1, 1), 0);
	ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 1000, &b), DRP_CACHE_MISS);
	drp_cache_finish(c, &t, "v", 1, 1);
	ck_assert_uint_lt(drp_now_ms() - t0, 200);
	drp_cache_stats(c, &st);
	ck_assert_int_eq(st.backend_up, 0);
	ck_assert_uint_eq(st.backend_errors, 1); /* then skipped in backoff */
	ck_assert_uint_ge(st.backend_skipped, 1);
	ck_assert_str_eq(st.backend, "redis");
	ck_assert_ptr_nonnull(strstr(st.last_error, "redis"));
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* A server name that does not resolve at start is not looked up by
 * requests (no DNS on the request path): they go uncached at once, saying
 * why; it is looked up again between requests, and used once it resolves. */
START_TEST(test_unresolved_name_between_requests)
{
	static const char *urls[] = {"redis://" TEST_NAME ":1",
	                             "memcached://127.0.0.1:1," TEST_NAME ":1"};

	for (int u = 0; u < 2; u++) {
		struct drp_cache_opts o;
		struct drp_cache *c;
		struct drp_cache_ticket t;
		struct drp_cache_stats st;
		struct drp_buf b;
		char err[256];
		uint8_t k[32];
		uint64_t t0;

		dns_up = 0;
		dns_calls = 0;
		drp_cache_opts_default(&o);
		snprintf(o.path, sizeof o.path, "%s", path);
		ck_assert_int_eq(drp_cache_opts_parse_url(&o, urls[u], err, sizeof err), 0);
		o.retry_ms = 60000;
		c = open_cache(&o);
		ck_assert_int_ge(dns_calls, 1);
		dns_calls = 0;
		drp_buf_init(&b);
		mkkey(k, 60 + u);
		t0 = drp_now_ms();
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 1000, &b), DRP_CACHE_MISS);
			drp_cache_finish(c, &t, "v", 1, 1);
		}
		ck_assert_int_eq(dns_calls, 0);
		drp_cache_stats(c, &st);
		ck_assert_int_eq(st.backend_up, 0);
		ck_assert_msg(strstr(st.last_error, "cannot resolve " TEST_NAME) != NULL, "%s",
		              st.last_error);
		/* between requests: still unresolvable, then resolvable */
		drp_cache_refresh(c);
		ck_assert_int_eq(dns_calls, 1);
		dns_up = 1;
		drp_cache_refresh(c);
		ck_assert_int_eq(dns_calls, 2);
		drp_cache_refresh(c); /* resolved: not looked up again */
		ck_assert_int_eq(dns_calls, 2);
		/* the next request tries the address at once despite the backoff:
		 * port 1 refuses, so the error is now the connection's own */
		ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 1000, &b), DRP_CACHE_MISS);
		drp_cache_finish(c, &t, "v", 1, 1);
		drp_cache_stats(c, &st);
		ck_assert_msg(strstr(st.last_error, "cannot resolve") == NULL, "%s", st.last_error);
		ck_assert_int_eq(dns_calls, 2);
		drp_buf_free(&b);
		close_cache(c);
	}
}
END_TEST

/* A stopped worker holding the region lock: requests go on uncached after
 * the lock timeout instead of hanging. */
START_TEST(test_lock_timeout_degrades)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket t;
	struct drp_cache_stats st;
	struct drp_buf b;
	int ready[2], s;
	uint8_t k[32];
	pid_t pid;
	uint64_t t0, el;
	char x;

	opts(&o, 64, 65536);
	o.lock_timeout_ms = 50;
	c = open_cache(&o);
	drp_buf_init(&b);
	mkkey(k, 60);
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (drp_shm_lock(drp_cache_region(c), 100) != 0)
			child_exit(2);
		if (write(ready[1], "r", 1) != 1)
			child_exit(3);
		pause();
		child_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &x, 1), 1);
	t0 = drp_now_ms();
	ck_assert_int_eq(drp_cache_begin(c, &t, k, t0 + 5000, &b), DRP_CACHE_MISS);
	el = drp_now_ms() - t0;
	ck_assert_int_eq(t.leader, 0);
	ck_assert_int_eq(t.no_store, 1);
	ck_assert_uint_ge(el, 40);
	ck_assert_uint_lt(el, 1000);
	ck_assert_int_eq(drp_cache_finish(c, &t, "v", 1, 1), 0);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &s, 0), pid);
	ck_assert_int_eq(has(c, 60), 0); /* recovers the lock from the killed holder */
	drp_cache_stats(c, &st);
	ck_assert_uint_ge(st.lock_timeouts, 2);
	ck_assert_uint_eq(st.lock_recoveries, 1);
	close(ready[0]);
	close(ready[1]);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

/* More concurrent distinct misses than flight slots: the extra ones run
 * uncoalesced, and still store. */
START_TEST(test_flight_slots_exhausted)
{
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_cache_ticket ta, tb;
	struct drp_buf b;
	uint8_t ka[32], kb[32];

	opts(&o, 64, 65536);
	o.flights = 1;
	c = open_cache(&o);
	drp_buf_init(&b);
	mkkey(ka, 61);
	mkkey(kb, 62);
	ck_assert_int_eq(drp_cache_begin(c, &ta, ka, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(ta.leader, 1);
	ck_assert_int_eq(drp_cache_begin(c, &tb, kb, drp_now_ms() + 100, &b), DRP_CACHE_MISS);
	ck_assert_int_eq(tb.leader, 0);
	ck_assert_int_eq(drp_cache_finish(c, &tb, "b", 1, 1), 1);
	ck_assert_int_eq(drp_cache_finish(c, &ta, "a", 1, 1), 1);
	ck_assert_int_eq(has(c, 61), 1);
	ck_assert_int_eq(has(c, 62), 1);
	drp_buf_free(&b);
	close_cache(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_parse_urls);
	tcase_add_test(tc, test_bad_remote_urls);
	tcase_add_test(tc, test_config_keys);
	tcase_add_test(tc, test_put_get_roundtrip_binary);
	tcase_add_test(tc, test_evict_by_entries_lru);
	tcase_add_test(tc, test_evict_by_bytes);
	tcase_add_test(tc, test_ttl_with_injected_clock);
	tcase_add_test(tc, test_ttl_zero_and_off_disable);
	tcase_add_test(tc, test_begin_finish_stores);
	tcase_add_test(tc, test_not_cacheable_not_stored);
	tcase_add_test(tc, test_invalidation_blocks_stale_store);
	tcase_add_test(tc, test_invalidation_from_other_process);
	tcase_add_test(tc, test_coalesce_across_processes);
	tcase_add_test(tc, test_leader_death_takeover);
	tcase_add_test(tc, test_dead_leader_before_wait);
	tcase_add_test(tc, test_overdue_leader_replaced);
	tcase_add_test(tc, test_wait_bounded_by_deadline);
	tcase_add_test(tc, test_abandon_hands_over);
	tcase_add_test(tc, test_no_join_across_invalidation);
	tcase_add_test(tc, test_robust_recovery_resets_store);
	tcase_add_test(tc, test_shared_between_workers);
	tcase_add_test(tc, test_remote_down_is_no_cache);
	tcase_add_test(tc, test_unresolved_name_between_requests);
	tcase_add_test(tc, test_lock_timeout_degrades);
	tcase_add_test(tc, test_flight_slots_exhausted);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
