/*
 * bench_cache: operations per second of core/cache for one backend.
 *
 *   bench_cache [--cache URL] [--path FILE] [--n N] [--procs P] [--size BYTES]
 *
 * Measures, over N distinct keys and values of --size bytes (a verdict is
 * ~300-600 bytes): put, get of present keys (hit), get of absent keys
 * (miss), and the request protocol: begin+finish of a new key (the miss
 * path of /check, including the in-flight table) and begin of a stored one
 * (the hit path).  With --procs P the hit path runs in P processes at once
 * (the pool shares one region).  Prints one line per operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "evloop.h"

static void mkkey(uint8_t k[32], unsigned run, unsigned i)
{
	uint64_t x = ((uint64_t)run << 32 | i) * 0x9e3779b97f4a7c15ull;
	int j;

	for (j = 0; j < 32; j++) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ull;
		k[j] = (uint8_t)(x >> 56);
	}
}

static void report(const char *what, long n, uint64_t ms)
{
	double s = ms ? (double)ms / 1000.0 : 0.001;

	printf("%-22s %9.0f ops/s  %7.2f us/op\n", what, (double)n / s, 1e6 * s / (double)n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct drp_config *cfg = drp_config_new();
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_buf b;
	char err[256], *val;
	long n = 20000, procs = 1, size = 400, i, hits = 0;
	unsigned run = (unsigned)getpid();
	uint8_t k[32];
	uint64_t t0;
	int a;

	for (a = 1; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--cache") == 0)
			drp_config_set_flag(cfg, "cache", argv[a + 1]);
		else if (strcmp(argv[a], "--path") == 0)
			drp_config_set_flag(cfg, "cache_path", argv[a + 1]);
		else if (strcmp(argv[a], "--n") == 0)
			n = atol(argv[a + 1]);
		else if (strcmp(argv[a], "--procs") == 0)
			procs = atol(argv[a + 1]);
		else if (strcmp(argv[a], "--size") == 0)
			size = atol(argv[a + 1]);
		else {
			fprintf(stderr, "bench_cache: unknown option %s\n", argv[a]);
			return 2;
		}
	}
	if (n < 1 || procs < 1 || size < 1 || size > DRP_CACHE_VALUE_MAX)
		return 2;
	/* room for every key of the run in the embedded store */
	drp_config_set_flag(cfg, "cache_entries", "65536");
	drp_config_set_flag(cfg, "cache_bytes", "64M");
	if (drp_cache_opts_from_config(&o, cfg, err, sizeof err) != 0 ||
	    drp_cache_open(&c, &o, err, sizeof err) != 0) {
		fprintf(stderr, "bench_cache: %s\n", err);
		return 1;
	}
	val = malloc((size_t)size);
	memset(val, '{', (size_t)size);
	drp_buf_init(&b);

	t0 = drp_now_ms();
	for (i = 0; i < n; i++) {
		mkkey(k, run, (unsigned)i);
		if (drp_cache_put(c, k, val, (size_t)size) != 0) {
			fprintf(stderr, "bench_cache: put failed\n");
			return 1;
		}
	}
	report("put", n, drp_now_ms() - t0);

	t0 = drp_now_ms();
	for (i = 0; i < n; i++) {
		mkkey(k, run, (unsigned)i);
		hits += drp_cache_get(c, k, &b);
	}
	report("get (hit)", n, drp_now_ms() - t0);
	if (hits != n)
		fprintf(stderr, "bench_cache: only %ld of %ld present\n", hits, n);

	t0 = drp_now_ms();
	for (i = 0; i < n; i++) {
		mkkey(k, run + 1, (unsigned)i);
		drp_cache_get(c, k, &b);
	}
	report("get (miss)", n, drp_now_ms() - t0);

	t0 = drp_now_ms();
	for (i = 0; i < n; i++) {
		struct drp_cache_ticket t;

		mkkey(k, run + 2, (unsigned)i);
		if (drp_cache_begin(c, &t, k, drp_now_ms() + 1000, &b) == DRP_CACHE_MISS)
			drp_cache_finish(c, &t, val, (size_t)size, 1);
	}
	report("check miss+store", n, drp_now_ms() - t0);

	t0 = drp_now_ms();
	for (a = 0; a < procs; a++) {
		pid_t p = procs > 1 ? fork() : 0;

		if (p < 0)
			return 1;
		if (p == 0) {
			for (i = 0; i < n; i++) {
				struct drp_cache_ticket t;

				mkkey(k, run + 2, (unsigned)i);
				if (drp_cache_begin(c, &t, k, drp_now_ms() + 1000, &b) ==
				    DRP_CACHE_MISS)
					drp_cache_finish(c, &t, NULL, 0, 0);
			}
			if (procs > 1)
				_exit(0);
		}
	}
	while (procs > 1 && wait(NULL) > 0)
		;
	{
		char what[64];

		snprintf(what, sizeof what, "check hit x%ld procs", procs);
		report(what, n * procs, drp_now_ms() - t0);
	}
	drp_buf_free(&b);
	free(val);
	drp_cache_close(c);
	drp_config_free(cfg);
	return 0;
}
