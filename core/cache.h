/*
 * cache: the verdict cache of drp-fcgi, shared by every worker of the pool.
 *
 * Key: a 32-byte SHA-256 the caller computes over everything that changes
 * the answer (body, envelope).  Value: opaque bytes (the verdict JSON, never
 * the message).  Backends (config "cache" / DRP_CACHE):
 *   off                      no cache, no coalescing
 *   embedded                 (default) LRU in shared memory on this host,
 *                            bounded by cache_entries and cache_bytes
 *   redis://[:pw@]host:port[/db], redis+unix:///path[?db=N&password=pw]
 *   memcached://host:port[,host2:port...]  (ketama consistent hashing)
 * Every backend keeps the host-local shared-memory table of in-flight checks
 * (coalescing) and of per-key generations (invalidation); redis/memcached
 * hold the verdicts and a generation key per message so an invalidation on
 * one host stops a stale store on another.
 *
 * A remote cache that fails or is slow is "no cache" for that request
 * (short timeouts), is skipped for a backoff period, and is counted; the
 * cache never fails a request.  See docs/cache.md.
 *
 * A request uses it as:
 *     struct drp_cache_ticket t;
 *     switch (drp_cache_begin(c, &t, key, wait_deadline_ms, &out)) {
 *     case DRP_CACHE_HIT: case DRP_CACHE_COALESCED: answer out; break;
 *     case DRP_CACHE_MISS:
 *         fan out...;
 *         drp_cache_finish(c, &t, json, len, every_network_answered);
 *     }
 * and /report, /revoke call drp_cache_invalidate() before and after their
 * network conversation.
 */
#ifndef DRP_CACHE_H
#define DRP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

#define DRP_CACHE_KEY_LEN 32
/* Larger values are neither stored nor handed to coalesced waiters. */
#define DRP_CACHE_VALUE_MAX 16384

enum drp_cache_backend {
	DRP_CACHE_OFF = 0,
	DRP_CACHE_EMBEDDED,
	DRP_CACHE_REDIS,
	DRP_CACHE_MEMCACHED,
};

struct drp_cache_opts {
	enum drp_cache_backend backend;
	char url[512];           /* redis/memcached address as configured */
	long ttl_s;              /* cache_ttl, default 300; 0 = backend "off" */
	long entries;            /* cache_entries (embedded) */
	long bytes;              /* cache_bytes (embedded values, 64-byte blocks) */
	char path[512];          /* cache_path: the shm file; "" = default dir */
	long connect_timeout_ms; /* cache_connect_timeout */
	long timeout_ms;         /* cache_timeout: each remote read/write */
	long retry_ms;           /* cache_retry: first backoff after a failure */
	long retry_max_ms;       /* backoff doubles up to this */
	long lock_timeout_ms;    /* shm mutex wait before giving up (degrade) */
	int flights;             /* in-flight slots (>= pool size) */
	char prefix[64];         /* cache_prefix for remote keys, default "drp:" */
	/* Clock for TTLs (ms, any epoch shared by the pool); NULL = monotonic.
	 * Tests inject one to expire entries without sleeping. */
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
};

/* Defaults: embedded, ttl 300 s, 16384 entries, 8 MiB, timeouts 20 ms. */
void drp_cache_opts_default(struct drp_cache_opts *o);
/* Defaults overridden by config keys cache, cache_ttl, cache_entries,
 * cache_bytes, cache_path, cache_connect_timeout, cache_timeout,
 * cache_retry, cache_retry_max, cache_prefix, cache_flights.
 * -1 with err naming the bad key. */
int drp_cache_opts_from_config(struct drp_cache_opts *o, const struct drp_config *cfg, char *err,
                               size_t errlen);
/* Parse a "cache" value ("off", "embedded", "redis://...", ...) into o. */
int drp_cache_opts_parse_url(struct drp_cache_opts *o, const char *value, char *err, size_t errlen);

struct drp_cache;

/* Open the cache (attaches/creates the shm region; remote connections are
 * made lazily, so opening before fork() is fine).  A remote server being
 * down is not an error here. */
int drp_cache_open(struct drp_cache **out, const struct drp_cache_opts *o, char *err,
                   size_t errlen);
void drp_cache_close(struct drp_cache *c);
enum drp_cache_backend drp_cache_backend(const struct drp_cache *c);
const char *drp_cache_backend_name(enum drp_cache_backend b);

enum drp_cache_res {
	DRP_CACHE_MISS = 0,  /* compute the verdict, then drp_cache_finish() */
	DRP_CACHE_HIT,       /* out holds a cached verdict */
	DRP_CACHE_COALESCED, /* out holds the answer of a concurrent check */
};

/* Per-request state; lives on the caller's stack between begin and finish. */
struct drp_cache_ticket {
	uint8_t key[DRP_CACHE_KEY_LEN];
	uint32_t gen;        /* local generation of the key at begin */
	int flight;          /* in-flight slot index when leader, else -1 */
	uint64_t flight_id;  /* identity of that slot's current use */
	int leader;          /* this request fans out for the waiters */
	int owns_flight;     /* it holds the flight's liveness mutex */
	int no_store;        /* something at begin made storing unsafe */
	int waited;          /* it waited for another worker */
	int wait_timeout;    /* it stopped waiting at the deadline */
	int took_over;       /* it took over from a dead/stuck leader */
	int remote_gen_len;  /* -1: key had no remote generation */
	char remote_gen[24]; /* remote generation value at begin */
	int done;
};

/*
 * Look the key up; on a miss either become the leader for it or wait (until
 * wait_deadline_ms, drp_now_ms() clock) for a concurrent leader in any
 * worker of the pool.  HIT/COALESCED: the value is appended to out (after
 * drp_buf_reset).  MISS: fan out and call drp_cache_finish(); when the wait
 * timed out t->wait_timeout is set (the caller may still fan out).
 */
enum drp_cache_res drp_cache_begin(struct drp_cache *c, struct drp_cache_ticket *t,
                                   const uint8_t key[DRP_CACHE_KEY_LEN], uint64_t wait_deadline_ms,
                                   struct drp_buf *out);

/*
 * End a MISS: hand val to the waiters (val NULL = abandon: a waiter takes
 * over) and store it when `cacheable` (the caller's "every network
 * answered") and no invalidation of the key happened since begin.
 * Returns 1 stored, 0 not stored.  Harmless after HIT or twice.
 */
int drp_cache_finish(struct drp_cache *c, struct drp_cache_ticket *t, const void *val, size_t len,
                     int cacheable);

/* Forget the key's verdict everywhere and make every check that began
 * before this call unable to store.  0, or -1 if a remote cache could not
 * be reached (the local generation is still bumped). */
int drp_cache_invalidate(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN]);

/* Plain operations (tools, benchmarks): 1 found / 0 absent; 0 ok / -1. */
int drp_cache_get(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN], struct drp_buf *out);
int drp_cache_put(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN], const void *val,
                  size_t len);

/* Pool-wide counters (kept in the shared region) and this process's view of
 * the backend, for /metrics and /health. */
struct drp_cache_stats {
	uint64_t hits, misses, coalesced;
	uint64_t stores, store_skipped; /* skipped: not cacheable / invalidated */
	uint64_t invalidations, evictions, expired;
	uint64_t takeovers, wait_timeouts, lock_recoveries, lock_timeouts;
	uint64_t backend_errors;  /* remote operations that failed */
	uint64_t backend_skipped; /* requests uncached because of backoff */
	uint64_t entries, bytes;  /* embedded occupancy */
	uint64_t max_entries, max_bytes;
	int backend_up;       /* 1 up, 0 down (backoff), -1 not remote */
	const char *backend;  /* "off", "embedded", "redis", "memcached" */
	char last_error[128]; /* this process's last backend error */
};
void drp_cache_stats(struct drp_cache *c, struct drp_cache_stats *st);

/* Between requests (may block on DNS): resolve remote server names that
 * did not resolve at start.  No-op for the embedded cache and NULL. */
void drp_cache_refresh(struct drp_cache *c);

/* The shared region under the cache (NULL when off), for tests and
 * diagnostics. */
struct drp_shm;
struct drp_shm *drp_cache_region(struct drp_cache *c);

/* Lowercase hex of a key (65 bytes with NUL), for tools and logs. */
void drp_cache_key_hex(const uint8_t key[DRP_CACHE_KEY_LEN], char out[65]);

#endif
