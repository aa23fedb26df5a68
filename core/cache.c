/*
 * cache: the verdict cache (see cache.h), the embedded shared-memory LRU and
 * the pool-wide in-flight table that coalesces identical concurrent checks.
 *
 * Everything shared lives in one drp_shm region, guarded by its one robust
 * mutex (critical sections are a hash lookup and a copy of < 16 KiB):
 *   struct shared      sizes, LRU/free-list heads, counters, generations
 *   entries[]          key, expiry, hash chain, LRU links, first block
 *   buckets[]          hash heads (index into entries)
 *   blknext[], blocks  value bytes in 64-byte blocks, chained
 *   flights[]          in-flight checks: key, generation, leader pid,
 *                      deadline, state, futex word, the leader's answer
 * Links are 32-bit indexes, never pointers: every process maps the region
 * at a different address.
 *
 * Generations: gen[] holds a counter per hash slot of the key; invalidation
 * bumps it, a check remembers it at begin and stores only if it is unchanged
 * at finish (a collision only costs a skipped store).  In-flight checks are
 * matched on (key, generation), so a check arriving after an invalidation
 * never joins one that began before it.
 *
 * Coalescing: the first check of a key becomes the leader (a flight slot in
 * state RUNNING with its pid and deadline); the others sleep on the slot's
 * futex word and wake when the leader publishes its answer (DONE) or gives
 * up (ABANDONED: one waiter becomes the next leader).  Waiters also wake
 * every 50 ms to see whether the leader died or overran its deadline, and
 * take over if so; they never wait past their own deadline.  Death is seen
 * through a robust mutex per flight that the leader holds while it leads:
 * the kernel marks it owner-dead when the leader's thread exits, however it
 * exits, and whatever pid namespace it lives in (a pid could be a zombie,
 * reused, or meaningless in another namespace).
 */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cache_remote.h"
#include "evloop.h"
#include "shm.h"

#define CACHE_MAGIC 0x4452504341434845ULL /* "DRPCACHE" */
#define CACHE_LAYOUT 1
#define BLK 64
#define GEN_SLOTS 4096
#define NIL UINT32_MAX
#define WAIT_SLICE_MS 50      /* how often a waiter checks on its leader */
#define DONE_LINGER_MS 2000   /* a finished flight stays for late wakers */
#define LEADER_GRACE_MS 500   /* a leader may overrun its own deadline by this */
#define STALE_FLIGHT_MS 10000 /* a running slot this far past its deadline is lost */
#define CACHE_FILE "drp-cache.shm"

enum { FL_FREE = 0, FL_RUNNING, FL_DONE, FL_ABANDONED };

struct counters {
	uint64_t hits, misses, coalesced, stores, store_skipped, invalidations, evictions, expired;
	uint64_t takeovers, wait_timeouts, lock_timeouts, backend_errors, backend_skipped;
};

struct shared {
	uint32_t nentries, nbuckets, nblocks, nflights;
	uint64_t off_entries, off_buckets, off_blknext, off_blocks, off_flights, off_fvals;
	uint32_t lru_head, lru_tail; /* head = most recently used */
	uint32_t free_entry, free_blk;
	uint32_t used_entries, used_blocks;
	uint64_t flight_seq;
	struct counters n;
	uint64_t last_ok_ms, last_err_ms;
	char last_error[128];
	uint32_t gen[GEN_SLOTS];
};

struct entry {
	uint8_t key[DRP_CACHE_KEY_LEN];
	uint64_t expires;
	uint32_t hnext, prev, next, blk, len, pad;
};

struct flight {
	uint8_t key[DRP_CACHE_KEY_LEN];
	uint64_t id;
	uint64_t deadline_ms, done_ms;
	uint32_t gen, state, seq, len;
	int32_t pid;
	uint32_t sleepers;     /* someone may sleep on seq: wake it */
	pthread_mutex_t owner; /* held by the leader while it leads */
};

struct drp_cache {
	struct drp_cache_opts o;
	struct drp_shm *shm;
	struct shared *sh;
	struct entry *ent;
	uint32_t *bucket;
	uint32_t *blknext;
	uint8_t *blocks;
	struct flight *fl;
	uint8_t *fvals; /* the leaders' answers, DRP_CACHE_VALUE_MAX each */
	struct drp_cache_remote *remote;
	pid_t pid;
};

void drp_cache_opts_default(struct drp_cache_opts *o)
{
	memset(o, 0, sizeof *o);
	o->backend = DRP_CACHE_EMBEDDED;
	o->ttl_s = 300;
	o->entries = 16384;
	o->bytes = 8L << 20;
	o->connect_timeout_ms = 20;
	o->timeout_ms = 20;
	o->retry_ms = 1000;
	o->retry_max_ms = 30000;
	o->lock_timeout_ms = 200;
	o->flights = 64;
	snprintf(o->prefix, sizeof o->prefix, "drp:");
}

int drp_cache_opts_parse_url(struct drp_cache_opts *o, const char *v, char *err, size_t errlen)
{
	if (v == NULL || v[0] == '\0' || strcasecmp(v, "embedded") == 0 ||
	    strcasecmp(v, "shm") == 0) {
		o->backend = DRP_CACHE_EMBEDDED;
		o->url[0] = '\0';
		return 0;
	}
	if (strcasecmp(v, "off") == 0 || strcasecmp(v, "none") == 0 || strcmp(v, "0") == 0) {
		o->backend = DRP_CACHE_OFF;
		o->url[0] = '\0';
		return 0;
	}
	if (strlen(v) >= sizeof o->url) {
		snprintf(err, errlen, "cache: value too long");
		return -1;
	}
	if (strncasecmp(v, "redis://", 8) == 0 || strncasecmp(v, "redis+unix://", 13) == 0 ||
	    strncasecmp(v, "unix://", 7) == 0 || strncasecmp(v, "rediss://", 9) == 0) {
		if (strncasecmp(v, "rediss://", 9) == 0) {
			snprintf(err, errlen, "cache: rediss:// (TLS) is not supported");
			return -1;
		}
		o->backend = DRP_CACHE_REDIS;
	} else if (strncasecmp(v, "memcached://", 12) == 0 ||
	           strncasecmp(v, "memcache://", 11) == 0) {
		o->backend = DRP_CACHE_MEMCACHED;
	} else {
		/* the scheme only: the rest may hold a password */
		snprintf(err, errlen,
		         "cache: unknown backend '%.*s' (off, embedded, redis://, "
		         "redis+unix://, memcached://)",
		         (int)strcspn(v, ":/@?"), v);
		return -1;
	}
	snprintf(o->url, sizeof o->url, "%s", v);
	return 0;
}

static int parse_size(const char *key, const char *v, long def, long *out, char *err, size_t errlen)
{
	char *end;
	long long n;

	if (v == NULL || v[0] == '\0') {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || n < 0)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		n <<= 10, end++;
		break;
	case 'm':
	case 'M':
		n <<= 20, end++;
		break;
	case 'g':
	case 'G':
		n <<= 30, end++;
		break;
	default:
		goto bad;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || n > (1LL << 40))
		goto bad;
	*out = (long)n;
	return 0;
bad:
	snprintf(err, errlen, "%s: not a size: '%s'", key, v);
	return -1;
}

int drp_cache_opts_from_config(struct drp_cache_opts *o, const struct drp_config *cfg, char *err,
                               size_t errlen)
{
	const char *v;
	long n;

	drp_cache_opts_default(o);
	if (drp_cache_opts_parse_url(o, drp_config_get(cfg, "cache"), err, errlen) != 0)
		return -1;
	/* a bad server URL is a configuration error now, not at first use */
	if ((o->backend == DRP_CACHE_REDIS || o->backend == DRP_CACHE_MEMCACHED) &&
	    drp_cache_remote_check_url(o, err, errlen) != 0)
		return -1;
	if (drp_config_long(cfg, "cache_ttl", o->ttl_s, &o->ttl_s, err, errlen) != 0)
		return -1;
	if (o->ttl_s < 0) {
		snprintf(err, errlen, "cache_ttl: must be >= 0");
		return -1;
	}
	if (parse_size("cache_entries", drp_config_get(cfg, "cache_entries"), o->entries,
	               &o->entries, err, errlen) != 0)
		return -1;
	if (o->entries < 16 || o->entries > (1L << 26)) {
		snprintf(err, errlen, "cache_entries: must be between 16 and %ld", 1L << 26);
		return -1;
	}
	if (parse_size("cache_bytes", drp_config_get(cfg, "cache_bytes"), o->bytes, &o->bytes, err,
	               errlen) != 0)
		return -1;
	if (o->bytes < 4096 || o->bytes > (1L << 34)) {
		snprintf(err, errlen, "cache_bytes: must be between 4k and 16G");
		return -1;
	}
	v = drp_config_get(cfg, "cache_path");
	if (v != NULL && v[0] != '\0') {
		if (v[0] != '/' || strlen(v) >= sizeof o->path) {
			snprintf(err, errlen, "cache_path: must be an absolute path");
			return -1;
		}
		snprintf(o->path, sizeof o->path, "%s", v);
	}
	if (drp_config_ms(cfg, "cache_connect_timeout", o->connect_timeout_ms,
	                  &o->connect_timeout_ms, err, errlen) != 0 ||
	    drp_config_ms(cfg, "cache_timeout", o->timeout_ms, &o->timeout_ms, err, errlen) != 0 ||
	    drp_config_ms(cfg, "cache_retry", o->retry_ms, &o->retry_ms, err, errlen) != 0 ||
	    drp_config_ms(cfg, "cache_retry_max", o->retry_max_ms, &o->retry_max_ms, err, errlen) !=
	        0)
		return -1;
	if (o->connect_timeout_ms < 1 || o->timeout_ms < 1) {
		snprintf(err, errlen, "cache_timeout: must be at least 1ms");
		return -1;
	}
	if (o->retry_max_ms < o->retry_ms)
		o->retry_max_ms = o->retry_ms;
	if (drp_config_long(cfg, "cache_flights", o->flights, &n, err, errlen) != 0)
		return -1;
	if (n < 1 || n > 4096) {
		snprintf(err, errlen, "cache_flights: must be between 1 and 4096");
		return -1;
	}
	o->flights = (int)n;
	v = drp_config_get(cfg, "cache_prefix");
	if (v != NULL) {
		if (strlen(v) >= sizeof o->prefix || strpbrk(v, " \t\r\n") != NULL) {
			snprintf(err, errlen, "cache_prefix: too long or contains spaces");
			return -1;
		}
		snprintf(o->prefix, sizeof o->prefix, "%s", v);
	}
	return 0;
}

const char *drp_cache_backend_name(enum drp_cache_backend b)
{
	switch (b) {
	case DRP_CACHE_OFF:
		return "off";
	case DRP_CACHE_EMBEDDED:
		return "embedded";
	case DRP_CACHE_REDIS:
		return "redis";
	case DRP_CACHE_MEMCACHED:
		return "memcached";
	}
	return "off";
}

/* ---- layout ---- */

struct layout {
	uint32_t nentries, nbuckets, nblocks, nflights;
	uint64_t off_entries, off_buckets, off_blknext, off_blocks, off_flights, off_fvals, size;
};

static uint64_t align64(uint64_t v)
{
	return (v + 63) & ~(uint64_t)63;
}

static void compute_layout(const struct drp_cache_opts *o, struct layout *l)
{
	uint64_t off;

	memset(l, 0, sizeof *l);
	if (o->backend == DRP_CACHE_EMBEDDED) {
		l->nentries = (uint32_t)o->entries;
		l->nbuckets = 1;
		while (l->nbuckets < l->nentries)
			l->nbuckets <<= 1;
		l->nblocks = (uint32_t)(o->bytes / BLK);
	}
	l->nflights = (uint32_t)o->flights;
	off = align64(sizeof(struct shared));
	l->off_entries = off;
	off = align64(off + (uint64_t)l->nentries * sizeof(struct entry));
	l->off_buckets = off;
	off = align64(off + (uint64_t)l->nbuckets * sizeof(uint32_t));
	l->off_blknext = off;
	off = align64(off + (uint64_t)l->nblocks * sizeof(uint32_t));
	l->off_blocks = off;
	off = align64(off + (uint64_t)l->nblocks * BLK);
	l->off_flights = off;
	off = align64(off + (uint64_t)l->nflights * sizeof(struct flight));
	/* answers apart from the slot headers, so a scan of the slots stays
	 * within a few cache lines */
	l->off_fvals = off;
	off = align64(off + (uint64_t)l->nflights * DRP_CACHE_VALUE_MAX);
	l->size = off;
}

/* The shm "version": layout revision and every size, so a region built for
 * another configuration is replaced rather than misread. */
static uint32_t layout_version(const struct layout *l)
{
	uint64_t v[6] = {CACHE_LAYOUT, l->nentries,          l->nblocks,
	                 l->nflights,  sizeof(struct entry), sizeof(struct flight)};
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof v; i++) {
		h ^= ((const uint8_t *)v)[i];
		h *= 16777619u;
	}
	return h;
}

static void bind_layout(struct drp_cache *c)
{
	char *base = drp_shm_base(c->shm);

	c->sh = (struct shared *)base;
	c->ent = (struct entry *)(base + c->sh->off_entries);
	c->bucket = (uint32_t *)(base + c->sh->off_buckets);
	c->blknext = (uint32_t *)(base + c->sh->off_blknext);
	c->blocks = (uint8_t *)(base + c->sh->off_blocks);
	c->fl = (struct flight *)(base + c->sh->off_flights);
	c->fvals = (uint8_t *)(base + c->sh->off_fvals);
}

/* Empty LRU, every entry and block on its free list. */
static void reset_store(struct shared *sh, struct entry *ent, uint32_t *bucket, uint32_t *blknext)
{
	uint32_t i;

	for (i = 0; i < sh->nbuckets; i++)
		bucket[i] = NIL;
	for (i = 0; i < sh->nentries; i++) {
		memset(&ent[i], 0, sizeof ent[i]);
		ent[i].hnext = i + 1 < sh->nentries ? i + 1 : NIL;
		ent[i].prev = ent[i].next = ent[i].blk = NIL;
	}
	for (i = 0; i < sh->nblocks; i++)
		blknext[i] = i + 1 < sh->nblocks ? i + 1 : NIL;
	sh->free_entry = sh->nentries ? 0 : NIL;
	sh->free_blk = sh->nblocks ? 0 : NIL;
	sh->lru_head = sh->lru_tail = NIL;
	sh->used_entries = sh->used_blocks = 0;
}

static int init_region(void *base, size_t size, void *arg)
{
	const struct layout *l = arg;
	struct shared *sh = base;
	struct flight *fl = (struct flight *)((char *)base + l->off_flights);
	uint32_t i;

	if (size < l->size)
		return -1;
	for (i = 0; i < l->nflights; i++)
		if (drp_shm_mutex_init(&fl[i].owner) != 0)
			return -1;
	sh->nentries = l->nentries;
	sh->nbuckets = l->nbuckets;
	sh->nblocks = l->nblocks;
	sh->nflights = l->nflights;
	sh->off_entries = l->off_entries;
	sh->off_buckets = l->off_buckets;
	sh->off_blknext = l->off_blknext;
	sh->off_blocks = l->off_blocks;
	sh->off_flights = l->off_flights;
	sh->off_fvals = l->off_fvals;
	reset_store(sh, (struct entry *)((char *)base + l->off_entries),
	            (uint32_t *)((char *)base + l->off_buckets),
	            (uint32_t *)((char *)base + l->off_blknext));
	return 0;
}

/* ---- helpers ---- */

#define COUNT(c, field) __atomic_add_fetch(&(c)->sh->n.field, 1, __ATOMIC_RELAXED)

static uint64_t clock_now(const struct drp_cache *c)
{
	if (c->o.clock_ms != NULL)
		return c->o.clock_ms(c->o.clock_arg);
	return drp_now_ms();
}

static uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t gen_slot(const uint8_t *key)
{
	return load32(key + 4) & (GEN_SLOTS - 1);
}

/* Lock the region; after a dead holder the store may be half-changed, so it
 * is emptied, and every generation bumped so no check in progress stores
 * into it on the strength of a generation read before. */
static int lock_to(struct drp_cache *c, long timeout_ms)
{
	int rc = drp_shm_lock(c->shm, timeout_ms);
	uint32_t i;

	if (rc < 0) {
		COUNT(c, lock_timeouts);
		return -1;
	}
	if (rc == 1) {
		reset_store(c->sh, c->ent, c->bucket, c->blknext);
		for (i = 0; i < GEN_SLOTS; i++)
			c->sh->gen[i]++;
	}
	return 0;
}

static int lock(struct drp_cache *c)
{
	return lock_to(c, c->o.lock_timeout_ms);
}

static void unlock(struct drp_cache *c)
{
	drp_shm_unlock(c->shm);
}

static void check_fork(struct drp_cache *c)
{
	pid_t p = getpid();

	if (p != c->pid) {
		if (c->remote != NULL)
			drp_cache_remote_forget(c->remote);
		c->pid = p;
	}
}

static void note_remote(struct drp_cache *c, int ok)
{
	uint64_t now = drp_now_ms();

	if (ok) {
		__atomic_store_n(&c->sh->last_ok_ms, now, __ATOMIC_RELAXED);
		return;
	}
	__atomic_store_n(&c->sh->last_err_ms, now, __ATOMIC_RELAXED);
	COUNT(c, backend_errors);
	if (drp_shm_lock(c->shm, 5) >= 0) {
		snprintf(c->sh->last_error, sizeof c->sh->last_error, "%s",
		         drp_cache_remote_error(c->remote));
		drp_shm_unlock(c->shm);
	}
}

/* ---- embedded LRU (lock held) ---- */

static uint32_t *bucket_of(struct drp_cache *c, const uint8_t *key)
{
	return &c->bucket[load32(key) & (c->sh->nbuckets - 1)];
}

static uint32_t find_entry(struct drp_cache *c, const uint8_t *key)
{
	uint32_t i = *bucket_of(c, key), steps = 0;

	while (i != NIL && i < c->sh->nentries && steps++ < c->sh->nentries) {
		if (memcmp(c->ent[i].key, key, DRP_CACHE_KEY_LEN) == 0)
			return i;
		i = c->ent[i].hnext;
	}
	return NIL;
}

static void lru_unlink(struct drp_cache *c, uint32_t i)
{
	struct entry *e = &c->ent[i];

	if (e->prev != NIL)
		c->ent[e->prev].next = e->next;
	else
		c->sh->lru_head = e->next;
	if (e->next != NIL)
		c->ent[e->next].prev = e->prev;
	else
		c->sh->lru_tail = e->prev;
	e->prev = e->next = NIL;
}

static void lru_push(struct drp_cache *c, uint32_t i)
{
	struct entry *e = &c->ent[i];

	e->prev = NIL;
	e->next = c->sh->lru_head;
	if (e->next != NIL)
		c->ent[e->next].prev = i;
	else
		c->sh->lru_tail = i;
	c->sh->lru_head = i;
}

static void remove_entry(struct drp_cache *c, uint32_t i)
{
	struct entry *e = &c->ent[i];
	uint32_t *pp = bucket_of(c, e->key), b, n, steps = 0;

	while (*pp != NIL && *pp != i && steps++ < c->sh->nentries)
		pp = &c->ent[*pp].hnext;
	if (*pp == i)
		*pp = e->hnext;
	lru_unlink(c, i);
	for (b = e->blk, steps = 0; b != NIL && b < c->sh->nblocks && steps < c->sh->nblocks;
	     b = n, steps++) {
		n = c->blknext[b];
		c->blknext[b] = c->sh->free_blk;
		c->sh->free_blk = b;
		c->sh->used_blocks--;
	}
	memset(e->key, 0, sizeof e->key);
	e->blk = NIL;
	e->len = 0;
	e->hnext = c->sh->free_entry;
	c->sh->free_entry = i;
	c->sh->used_entries--;
}

static int copy_out(struct drp_cache *c, const struct entry *e, struct drp_buf *out)
{
	uint32_t b = e->blk, left = e->len;

	drp_buf_reset(out);
	if (drp_buf_reserve(out, left) != 0)
		return -1;
	while (left > 0 && b != NIL && b < c->sh->nblocks) {
		uint32_t n = left < BLK ? left : BLK;

		drp_buf_append(out, c->blocks + (uint64_t)b * BLK, n);
		left -= n;
		b = c->blknext[b];
	}
	return left == 0 ? 0 : -1;
}

/* 1 hit (value in out), 0 miss */
static int lru_get(struct drp_cache *c, const uint8_t *key, struct drp_buf *out)
{
	uint32_t i = find_entry(c, key);
	uint64_t now, ttl_ms = (uint64_t)c->o.ttl_s * 1000;
	struct entry *e;

	if (i == NIL)
		return 0;
	e = &c->ent[i];
	now = clock_now(c);
	/* an expiry further away than a TTL means the clock went back */
	if (e->expires <= now || e->expires > now + ttl_ms) {
		remove_entry(c, i);
		COUNT(c, expired);
		return 0;
	}
	if (copy_out(c, e, out) != 0)
		return 0;
	lru_unlink(c, i);
	lru_push(c, i);
	return 1;
}

static int lru_put(struct drp_cache *c, const uint8_t *key, const void *val, size_t len)
{
	uint32_t need = (uint32_t)((len + BLK - 1) / BLK), i, prev = NIL, k;
	const uint8_t *src = val;
	struct entry *e;

	if (c->sh->nentries == 0 || need > c->sh->nblocks || len > DRP_CACHE_VALUE_MAX)
		return 0;
	i = find_entry(c, key);
	if (i != NIL)
		remove_entry(c, i);
	while (c->sh->free_entry == NIL || c->sh->nblocks - c->sh->used_blocks < need) {
		if (c->sh->lru_tail == NIL)
			return 0;
		remove_entry(c, c->sh->lru_tail);
		COUNT(c, evictions);
	}
	i = c->sh->free_entry;
	e = &c->ent[i];
	c->sh->free_entry = e->hnext;
	memcpy(e->key, key, DRP_CACHE_KEY_LEN);
	e->len = (uint32_t)len;
	e->expires = clock_now(c) + (uint64_t)c->o.ttl_s * 1000;
	e->blk = NIL;
	for (k = 0; k < need; k++) {
		uint32_t b = c->sh->free_blk;
		size_t n = len - (size_t)k * BLK < BLK ? len - (size_t)k * BLK : BLK;

		c->sh->free_blk = c->blknext[b];
		c->blknext[b] = NIL;
		memcpy(c->blocks + (uint64_t)b * BLK, src + (size_t)k * BLK, n);
		if (prev == NIL)
			e->blk = b;
		else
			c->blknext[prev] = b;
		prev = b;
		c->sh->used_blocks++;
	}
	e->hnext = *bucket_of(c, key);
	*bucket_of(c, key) = i;
	lru_push(c, i);
	c->sh->used_entries++;
	return 1;
}

/* ---- flights (lock held) ---- */

static uint8_t *fval(struct drp_cache *c, const struct flight *f)
{
	return c->fvals + (size_t)(f - c->fl) * DRP_CACHE_VALUE_MAX;
}

/* The flight for (key, gen): the one a waiter joined if it still exists,
 * else a running one, else an abandoned one. */
static struct flight *find_flight(struct drp_cache *c, const uint8_t *key, uint32_t gen,
                                  uint64_t joined)
{
	struct flight *run = NULL, *aband = NULL;
	uint32_t i;

	for (i = 0; i < c->sh->nflights; i++) {
		struct flight *f = &c->fl[i];

		if (f->state == FL_FREE || f->gen != gen ||
		    memcmp(f->key, key, DRP_CACHE_KEY_LEN) != 0)
			continue;
		if (joined != 0 && f->id == joined)
			return f;
		if (f->state == FL_RUNNING && run == NULL)
			run = f;
		else if (f->state == FL_ABANDONED && aband == NULL)
			aband = f;
	}
	return run ? run : aband;
}

/* A free slot, else the longest-finished one (late wakers of a reused slot
 * notice the new id and look again), else one whose leader is long past its
 * deadline (nobody can still be waiting on it: after a store reset its
 * generation no longer matches anything, so no waiter would ever end it). */
static struct flight *alloc_flight(struct drp_cache *c, uint64_t now)
{
	struct flight *best = NULL, *stale = NULL;
	uint32_t i;

	for (i = 0; i < c->sh->nflights; i++) {
		struct flight *f = &c->fl[i];

		if (f->state == FL_FREE)
			return f;
		if (f->state != FL_RUNNING) {
			if (best == NULL || f->done_ms < best->done_ms)
				best = f;
		} else if (now > f->deadline_ms + STALE_FLIGHT_MS && stale == NULL) {
			stale = f;
		}
	}
	return best ? best : stale;
}

/* 1 when the running flight's leader is gone: it died (its robust owner
 * mutex is owner-dead: this process now holds it, *owned set), it overran
 * its deadline, or it is this very process (a worker serves one request at
 * a time, so its own unfinished flight was abandoned). */
static int leader_gone(struct flight *f, uint64_t now, pid_t self, int *owned)
{
	int rc;

	*owned = 0;
	if (f->pid == self)
		return 1;
	rc = pthread_mutex_trylock(&f->owner);
	if (rc == EOWNERDEAD) {
		pthread_mutex_consistent(&f->owner);
		*owned = 1;
		return 1;
	}
	if (rc == 0) {
		/* nobody holds it: this leader took over from an overdue one
		 * and could not own it; only its deadline tells */
		pthread_mutex_unlock(&f->owner);
	}
	return now > f->deadline_ms;
}

static void lead(struct drp_cache *c, struct drp_cache_ticket *t, struct flight *f, uint32_t gen,
                 uint64_t now, uint64_t wait_deadline, int owned)
{
	int rc;

	if (!owned) {
		rc = pthread_mutex_trylock(&f->owner);
		if (rc == EOWNERDEAD)
			pthread_mutex_consistent(&f->owner);
		/* EBUSY: held by an overdue leader still running, or by this
		 * process's own abandoned flight; either way no second lock */
		owned = rc == 0 || rc == EOWNERDEAD || rc == EDEADLK ||
		        (rc == EBUSY && f->pid == (int32_t)c->pid);
	}
	memcpy(f->key, t->key, DRP_CACHE_KEY_LEN);
	f->gen = gen;
	f->id = ++c->sh->flight_seq;
	f->pid = (int32_t)c->pid;
	f->deadline_ms = (wait_deadline > now ? wait_deadline : now) + LEADER_GRACE_MS;
	f->len = 0;
	f->done_ms = 0;
	f->sleepers = 0;
	__atomic_store_n(&f->state, FL_RUNNING, __ATOMIC_RELEASE);
	t->leader = 1;
	t->owns_flight = owned;
	t->flight = (int)(f - c->fl);
	t->flight_id = f->id;
}

/* ---- open/close ---- */

int drp_cache_open(struct drp_cache **out, const struct drp_cache_opts *o, char *err, size_t errlen)
{
	struct drp_cache *c;
	struct layout l;
	char path[600];

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "cache: out of memory");
		return -1;
	}
	c->o = *o;
	if (c->o.ttl_s <= 0)
		c->o.backend = DRP_CACHE_OFF;
	c->pid = getpid();
	if (c->o.backend == DRP_CACHE_OFF) {
		*out = c;
		return 0;
	}
	if (c->o.flights < 1 || c->o.flights > 4096 ||
	    (c->o.backend == DRP_CACHE_EMBEDDED &&
	     (c->o.entries < 1 || c->o.entries > (1L << 26) || c->o.bytes < BLK ||
	      c->o.bytes / BLK > (1L << 30)))) {
		snprintf(err, errlen, "cache: sizes out of range");
		free(c);
		return -1;
	}
	if (c->o.backend == DRP_CACHE_REDIS || c->o.backend == DRP_CACHE_MEMCACHED) {
		if (drp_cache_remote_new(&c->remote, &c->o, err, errlen) != 0) {
			free(c);
			return -1;
		}
	}
	if (c->o.path[0] != '\0') {
		snprintf(path, sizeof path, "%s", c->o.path);
	} else {
		char dir[512];

		drp_shm_default_dir(dir, sizeof dir);
		snprintf(path, sizeof path, "%s/%s", dir, CACHE_FILE);
	}
	compute_layout(&c->o, &l);
	if (drp_shm_open(&c->shm, path, CACHE_MAGIC, layout_version(&l), (size_t)l.size,
	                 init_region, &l, err, errlen) != 0) {
		drp_cache_remote_free(c->remote);
		free(c);
		return -1;
	}
	bind_layout(c);
	*out = c;
	return 0;
}

void drp_cache_refresh(struct drp_cache *c)
{
	if (c != NULL && c->remote != NULL)
		drp_cache_remote_resolve(c->remote);
}

void drp_cache_close(struct drp_cache *c)
{
	if (c == NULL)
		return;
	if (c->remote != NULL) {
		check_fork(c);
		drp_cache_remote_free(c->remote);
	}
	drp_shm_close(c->shm);
	free(c);
}

enum drp_cache_backend drp_cache_backend(const struct drp_cache *c)
{
	return c->o.backend;
}

/* ---- the request protocol ---- */

static int remote_ready(struct drp_cache *c)
{
	if (drp_cache_remote_usable(c->remote))
		return 1;
	COUNT(c, backend_skipped);
	return 0;
}

enum drp_cache_res drp_cache_begin(struct drp_cache *c, struct drp_cache_ticket *t,
                                   const uint8_t key[DRP_CACHE_KEY_LEN], uint64_t wait_deadline_ms,
                                   struct drp_buf *out)
{
	uint64_t joined = 0;

	memset(t, 0, sizeof *t);
	memcpy(t->key, key, DRP_CACHE_KEY_LEN);
	t->flight = -1;
	t->remote_gen_len = -1;
	if (c->o.backend == DRP_CACHE_OFF) {
		t->no_store = 1;
		return DRP_CACHE_MISS;
	}
	check_fork(c);
	if (c->remote != NULL) {
		if (!remote_ready(c)) {
			t->no_store = 1;
		} else {
			int found = 0;

			if (drp_cache_remote_get(c->remote, key, out, &found, t->remote_gen,
			                         &t->remote_gen_len) != 0) {
				note_remote(c, 0);
				t->no_store = 1;
			} else {
				note_remote(c, 1);
				if (found) {
					COUNT(c, hits);
					t->done = 1;
					return DRP_CACHE_HIT;
				}
			}
		}
	}
	for (;;) {
		struct flight *f;
		uint32_t gen, seq;
		uint64_t now;
		long slice;
		int owned;

		if (lock(c) != 0) {
			t->no_store = 1;
			break;
		}
		gen = c->sh->gen[gen_slot(key)];
		t->gen = gen;
		/* the common case first: a stored verdict, no flight scan */
		if (joined == 0 && c->sh->nentries != 0 && lru_get(c, key, out)) {
			unlock(c);
			COUNT(c, hits);
			t->done = 1;
			return DRP_CACHE_HIT;
		}
		f = find_flight(c, key, gen, joined);
		if (f != NULL && joined != 0 && f->id == joined && f->state == FL_DONE) {
			drp_buf_reset(out);
			if (drp_buf_append(out, fval(c, f), f->len) == 0) {
				unlock(c);
				COUNT(c, coalesced);
				t->done = 1;
				return DRP_CACHE_COALESCED;
			}
			f = NULL;
		}
		if (joined != 0 && c->sh->nentries != 0 && lru_get(c, key, out)) {
			unlock(c);
			COUNT(c, hits);
			t->done = 1;
			return DRP_CACHE_HIT;
		}
		now = drp_now_ms();
		owned = 0;
		if (f != NULL && f->state == FL_RUNNING && !leader_gone(f, now, c->pid, &owned)) {
			if (now >= wait_deadline_ms) {
				unlock(c);
				t->wait_timeout = 1;
				COUNT(c, wait_timeouts);
				break;
			}
			joined = f->id;
			f->sleepers = 1;
			seq = __atomic_load_n(&f->seq, __ATOMIC_ACQUIRE);
			unlock(c);
			t->waited = 1;
			slice = (long)(wait_deadline_ms - now);
			drp_shm_wait(&f->seq, seq, slice < WAIT_SLICE_MS ? slice : WAIT_SLICE_MS);
			continue;
		}
		if (f != NULL && f->state == FL_RUNNING) {
			/* dead or overdue leader: this request carries on for it */
			t->took_over = 1;
			COUNT(c, takeovers);
		} else if (f == NULL || f->state != FL_ABANDONED) {
			f = alloc_flight(c, now);
		}
		if (f != NULL) {
			int wake = f->sleepers;

			lead(c, t, f, gen, now, wait_deadline_ms, owned);
			/* wake the other waiters so they follow the new leader */
			__atomic_add_fetch(&f->seq, 1, __ATOMIC_RELEASE);
			unlock(c);
			if (wake)
				drp_shm_wake_all(&f->seq);
		} else {
			unlock(c); /* every slot busy: uncoalesced */
		}
		break;
	}
	COUNT(c, misses);
	return DRP_CACHE_MISS;
}

int drp_cache_finish(struct drp_cache *c, struct drp_cache_ticket *t, const void *val, size_t len,
                     int cacheable)
{
	struct flight *f = NULL;
	int want, stored = 0;

	if (t->done || c->o.backend == DRP_CACHE_OFF) {
		t->done = 1;
		return 0;
	}
	t->done = 1;
	check_fork(c);
	want = cacheable && val != NULL && len <= DRP_CACHE_VALUE_MAX && !t->no_store;
	if (lock(c) != 0) {
		/* cannot check the generation nor publish: waiters take over
		 * at the leader's deadline */
		if (t->leader && t->owns_flight && t->flight >= 0)
			pthread_mutex_unlock(&c->fl[t->flight].owner);
		COUNT(c, store_skipped);
		return 0;
	}
	if (c->sh->gen[gen_slot(t->key)] != t->gen)
		want = 0;
	if (want && c->sh->nentries != 0)
		stored = lru_put(c, t->key, val, len);
	if (t->leader && t->flight >= 0 && (uint32_t)t->flight < c->sh->nflights) {
		f = &c->fl[t->flight];
		if (f->id == t->flight_id && f->state == FL_RUNNING) {
			if (val != NULL && len <= DRP_CACHE_VALUE_MAX) {
				memcpy(fval(c, f), val, len);
				f->len = (uint32_t)len;
				f->state = FL_DONE;
			} else {
				f->state = FL_ABANDONED;
			}
			f->done_ms = drp_now_ms();
			__atomic_add_fetch(&f->seq, 1, __ATOMIC_RELEASE);
			if (!f->sleepers)
				f = NULL; /* nobody to wake: save the syscall */
		} else {
			f = NULL;
		}
		/* a robust mutex refuses (EPERM) an unlock by a non-owner */
		if (t->owns_flight)
			pthread_mutex_unlock(&c->fl[t->flight].owner);
	}
	unlock(c);
	if (f != NULL)
		drp_shm_wake_all(&f->seq);
	if (want && c->remote != NULL) {
		if (remote_ready(c)) {
			if (drp_cache_remote_put(c->remote, t->key, val, len, c->o.ttl_s,
			                         t->remote_gen, t->remote_gen_len, &stored) != 0)
				note_remote(c, 0);
			else
				note_remote(c, 1);
		}
	}
	if (stored)
		COUNT(c, stores);
	else
		COUNT(c, store_skipped);
	return stored;
}

int drp_cache_invalidate(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN])
{
	int rc = 0;
	uint32_t i;

	if (c->o.backend == DRP_CACHE_OFF)
		return 0;
	check_fork(c);
	COUNT(c, invalidations);
	if (lock(c) == 0) {
		c->sh->gen[gen_slot(key)]++;
		if (c->sh->nentries != 0 && (i = find_entry(c, key)) != NIL)
			remove_entry(c, i);
		unlock(c);
	} else {
		rc = -1;
	}
	/* tried even in backoff: a verdict left behind would outlive the
	 * report by a whole TTL */
	if (c->remote != NULL) {
		if (drp_cache_remote_invalidate(c->remote, key, c->o.ttl_s) != 0) {
			note_remote(c, 0);
			rc = -1;
		} else {
			note_remote(c, 1);
		}
	}
	return rc;
}

int drp_cache_get(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN], struct drp_buf *out)
{
	int found = 0;

	if (c->o.backend == DRP_CACHE_OFF)
		return 0;
	check_fork(c);
	if (c->remote != NULL) {
		if (!remote_ready(c))
			return 0;
		if (drp_cache_remote_get(c->remote, key, out, &found, NULL, NULL) != 0) {
			note_remote(c, 0);
			return 0;
		}
		note_remote(c, 1);
		return found;
	}
	if (lock(c) != 0)
		return 0;
	found = lru_get(c, key, out);
	unlock(c);
	return found;
}

int drp_cache_put(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN], const void *val,
                  size_t len)
{
	int stored = 0;

	if (c->o.backend == DRP_CACHE_OFF || len > DRP_CACHE_VALUE_MAX)
		return -1;
	check_fork(c);
	if (c->remote != NULL) {
		if (!remote_ready(c))
			return -1;
		if (drp_cache_remote_put(c->remote, key, val, len, c->o.ttl_s, NULL, 0, &stored) !=
		    0) {
			note_remote(c, 0);
			return -1;
		}
		note_remote(c, 1);
		return stored ? 0 : -1;
	}
	if (lock(c) != 0)
		return -1;
	stored = lru_put(c, key, val, len);
	unlock(c);
	return stored ? 0 : -1;
}

void drp_cache_stats(struct drp_cache *c, struct drp_cache_stats *st)
{
	struct counters n;

	memset(st, 0, sizeof *st);
	st->backend = drp_cache_backend_name(c->o.backend);
	st->backend_up = -1;
	if (c->o.backend == DRP_CACHE_OFF)
		return;
#define LD(f) n.f = __atomic_load_n(&c->sh->n.f, __ATOMIC_RELAXED)
	LD(hits);
	LD(misses);
	LD(coalesced);
	LD(stores);
	LD(store_skipped);
	LD(invalidations);
	LD(evictions);
	LD(expired);
	LD(takeovers);
	LD(wait_timeouts);
	LD(lock_timeouts);
	LD(backend_errors);
	LD(backend_skipped);
#undef LD
	st->hits = n.hits;
	st->misses = n.misses;
	st->coalesced = n.coalesced;
	st->stores = n.stores;
	st->store_skipped = n.store_skipped;
	st->invalidations = n.invalidations;
	st->evictions = n.evictions;
	st->expired = n.expired;
	st->takeovers = n.takeovers;
	st->wait_timeouts = n.wait_timeouts;
	st->lock_timeouts = n.lock_timeouts;
	st->lock_recoveries = drp_shm_recoveries(c->shm);
	st->backend_errors = n.backend_errors;
	st->backend_skipped = n.backend_skipped;
	st->entries = __atomic_load_n(&c->sh->used_entries, __ATOMIC_RELAXED);
	st->bytes = (uint64_t)__atomic_load_n(&c->sh->used_blocks, __ATOMIC_RELAXED) * BLK;
	st->max_entries = c->sh->nentries;
	st->max_bytes = (uint64_t)c->sh->nblocks * BLK;
	if (c->remote != NULL) {
		uint64_t ok = __atomic_load_n(&c->sh->last_ok_ms, __ATOMIC_RELAXED);
		uint64_t bad = __atomic_load_n(&c->sh->last_err_ms, __ATOMIC_RELAXED);

		/* pool-wide: the latest attempt of any worker decides */
		st->backend_up = bad == 0 || ok >= bad;
		if (lock_to(c, 5) == 0) {
			memcpy(st->last_error, c->sh->last_error, sizeof st->last_error);
			st->last_error[sizeof st->last_error - 1] = '\0';
			unlock(c);
		}
	}
}

void drp_cache_key_hex(const uint8_t key[DRP_CACHE_KEY_LEN], char out[65])
{
	drp_hex(key, DRP_CACHE_KEY_LEN, out);
}

struct drp_shm *drp_cache_region(struct drp_cache *c)
{
	return c->shm;
}
