/*
 * cache_tool: drives core/cache from the shell for the integration tests
 * and by hand.  Keys are given as text and hashed with SHA-256, as drp-fcgi
 * hashes messages.  Configuration comes from flags (--cache, --ttl, ...) or
 * the usual DRP_CACHE* environment.
 *
 *   cache_tool [opts] get KEY            print value; exit 0 hit, 1 miss
 *   cache_tool [opts] put KEY VALUE
 *   cache_tool [opts] inval KEY
 *   cache_tool [opts] check KEY VALUE    begin; on a miss "fan out" for
 *                                        --lead-ms and finish (--cacheable)
 *   cache_tool [opts] soak KEY VALUE N INTERVAL_MS
 *                                        N checks in one process (one
 *                                        connection, backoff state kept)
 *   cache_tool [opts] stats
 * Every operation prints one line "key=value ..." including ms=elapsed.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "evloop.h"

static void usage(void)
{
	fprintf(stderr, "usage: cache_tool [--cache URL] [--path FILE] [--ttl S] [--timeout MS]\n"
	                "         [--retry MS] [--retry-max MS] [--entries N] [--bytes N]\n"
	                "         [--lead-ms MS] [--wait-ms MS] [--cacheable 0|1]\n"
	                "         get KEY | put KEY VALUE | inval KEY | check KEY VALUE |\n"
	                "         soak KEY VALUE N INTERVAL_MS | stats\n");
	exit(2);
}

static void mkkey(const char *s, uint8_t key[DRP_CACHE_KEY_LEN])
{
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), key, &n, EVP_sha256(), NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static const char *res_name(enum drp_cache_res r)
{
	return r == DRP_CACHE_HIT ? "hit" : r == DRP_CACHE_COALESCED ? "coalesced" : "miss";
}

static void print_value(const struct drp_buf *b)
{
	if (b->len > 0)
		fwrite(b->p, 1, b->len, stdout);
}

/* One /check as drp-fcgi does it; prints one line. */
static int do_check(struct drp_cache *c, const char *key, const char *value, long lead_ms,
                    long wait_ms, int cacheable, long iter)
{
	struct drp_cache_ticket t;
	struct drp_cache_stats st;
	struct drp_buf b;
	uint8_t k[DRP_CACHE_KEY_LEN];
	enum drp_cache_res r;
	uint64_t t0 = drp_now_ms(), t1;
	int stored = -1;

	drp_buf_init(&b);
	mkkey(key, k);
	r = drp_cache_begin(c, &t, k, t0 + (uint64_t)wait_ms, &b);
	t1 = drp_now_ms();
	if (r == DRP_CACHE_MISS) {
		if (lead_ms > 0)
			sleep_ms(lead_ms);
		stored = drp_cache_finish(c, &t, value, strlen(value), cacheable);
	}
	drp_cache_stats(c, &st);
	if (iter >= 0)
		printf("i=%ld ", iter);
	printf("res=%s leader=%d took_over=%d wait_timeout=%d stored=%d ms=%llu up=%d value=",
	       res_name(r), t.leader, t.took_over, t.wait_timeout, stored,
	       (unsigned long long)(t1 - t0), st.backend_up);
	if (r != DRP_CACHE_MISS)
		print_value(&b);
	printf("\n");
	fflush(stdout);
	drp_buf_free(&b);
	return r == DRP_CACHE_MISS ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct drp_config *cfg = drp_config_new();
	struct drp_cache_opts o;
	struct drp_cache *c;
	struct drp_buf b;
	uint8_t k[DRP_CACHE_KEY_LEN];
	char err[256];
	long lead_ms = 0, wait_ms = 5000;
	int cacheable = 1, i, rc = 0;
	uint64_t t0;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *f = argv[i] + 2;
		char key[64];

		if (i + 1 >= argc)
			usage();
		if (strcmp(f, "lead-ms") == 0) {
			lead_ms = atol(argv[i + 1]);
			continue;
		}
		if (strcmp(f, "wait-ms") == 0) {
			wait_ms = atol(argv[i + 1]);
			continue;
		}
		if (strcmp(f, "cacheable") == 0) {
			cacheable = atoi(argv[i + 1]);
			continue;
		}
		if (strcmp(f, "cache") == 0)
			snprintf(key, sizeof key, "cache");
		else if (strcmp(f, "retry-max") == 0)
			snprintf(key, sizeof key, "cache_retry_max");
		else if (strcmp(f, "path") == 0 || strcmp(f, "ttl") == 0 ||
		         strcmp(f, "timeout") == 0 || strcmp(f, "retry") == 0 ||
		         strcmp(f, "entries") == 0 || strcmp(f, "bytes") == 0 ||
		         strcmp(f, "prefix") == 0 || strcmp(f, "connect-timeout") == 0)
			snprintf(key, sizeof key, "cache_%s",
			         strcmp(f, "connect-timeout") == 0 ? "connect_timeout" : f);
		else
			usage();
		drp_config_set_flag(cfg, key, argv[i + 1]);
	}
	if (i >= argc)
		usage();
	if (drp_cache_opts_from_config(&o, cfg, err, sizeof err) != 0 ||
	    drp_cache_open(&c, &o, err, sizeof err) != 0) {
		fprintf(stderr, "cache_tool: %s\n", err);
		return 2;
	}
	argv += i;
	argc -= i;
	drp_buf_init(&b);
	t0 = drp_now_ms();
	if (strcmp(argv[0], "get") == 0 && argc == 2) {
		int found;

		mkkey(argv[1], k);
		found = drp_cache_get(c, k, &b);
		printf("res=%s ms=%llu value=", found ? "hit" : "miss",
		       (unsigned long long)(drp_now_ms() - t0));
		print_value(&b);
		printf("\n");
		rc = found ? 0 : 1;
	} else if (strcmp(argv[0], "put") == 0 && argc == 3) {
		mkkey(argv[1], k);
		rc = drp_cache_put(c, k, argv[2], strlen(argv[2])) == 0 ? 0 : 1;
		printf("put=%s ms=%llu\n", rc ? "failed" : "ok",
		       (unsigned long long)(drp_now_ms() - t0));
	} else if (strcmp(argv[0], "inval") == 0 && argc == 2) {
		mkkey(argv[1], k);
		rc = drp_cache_invalidate(c, k) == 0 ? 0 : 1;
		printf("inval=%s ms=%llu\n", rc ? "failed" : "ok",
		       (unsigned long long)(drp_now_ms() - t0));
	} else if (strcmp(argv[0], "check") == 0 && argc == 3) {
		do_check(c, argv[1], argv[2], lead_ms, wait_ms, cacheable, -1);
	} else if (strcmp(argv[0], "soak") == 0 && argc == 5) {
		long n = atol(argv[3]), interval = atol(argv[4]), j;

		for (j = 0; j < n; j++) {
			do_check(c, argv[1], argv[2], lead_ms, wait_ms, cacheable, j);
			sleep_ms(interval);
		}
	} else if (strcmp(argv[0], "stats") == 0 && argc == 1) {
		struct drp_cache_stats st;

		drp_cache_stats(c, &st);
		printf("backend=%s up=%d hits=%llu misses=%llu coalesced=%llu stores=%llu "
		       "store_skipped=%llu invalidations=%llu evictions=%llu expired=%llu "
		       "takeovers=%llu wait_timeouts=%llu lock_recoveries=%llu "
		       "backend_errors=%llu backend_skipped=%llu entries=%llu bytes=%llu "
		       "max_entries=%llu max_bytes=%llu last_error=%s\n",
		       st.backend, st.backend_up, (unsigned long long)st.hits,
		       (unsigned long long)st.misses, (unsigned long long)st.coalesced,
		       (unsigned long long)st.stores, (unsigned long long)st.store_skipped,
		       (unsigned long long)st.invalidations, (unsigned long long)st.evictions,
		       (unsigned long long)st.expired, (unsigned long long)st.takeovers,
		       (unsigned long long)st.wait_timeouts, (unsigned long long)st.lock_recoveries,
		       (unsigned long long)st.backend_errors,
		       (unsigned long long)st.backend_skipped, (unsigned long long)st.entries,
		       (unsigned long long)st.bytes, (unsigned long long)st.max_entries,
		       (unsigned long long)st.max_bytes, st.last_error[0] ? st.last_error : "-");
	} else {
		usage();
	}
	drp_buf_free(&b);
	drp_cache_close(c);
	drp_config_free(cfg);
	return rc;
}
