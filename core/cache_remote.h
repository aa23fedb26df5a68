/*
 * cache_remote: the redis (hiredis) and memcached (libmemcached) verdict
 * stores behind core/cache.  Internal to cache.c.
 *
 * Each message has two remote keys: "<prefix>v:<hex>" (the verdict, with
 * the TTL) and "<prefix>g:<hex>" (its generation, bumped by invalidation).
 * A store is "put, then re-read the generation, and delete again if it moved
 * since the check began"; an invalidation is "bump the generation, then
 * delete the verdict".  Whatever the interleaving of the two between hosts,
 * a verdict computed before an invalidation does not survive it.
 *
 * Connections are made lazily and synchronously with short timeouts; any
 * failure drops the connection and puts the backend in backoff (skipped
 * until retry_ms, doubling up to retry_max_ms).  For memcached the two keys
 * of a message are placed by one group key (the hex digest), so they live on
 * the same server of the ketama ring; libmemcached parks a failed server for
 * retry_ms (rounded up to whole seconds): its share of messages misses fast
 * while the other servers keep serving, so no global backoff is applied.
 */
#ifndef DRP_CACHE_REMOTE_H
#define DRP_CACHE_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cache.h"

struct drp_cache_remote;

/* Parse o->url and resolve names (once, here: not on the request path). */
int drp_cache_remote_new(struct drp_cache_remote **out, const struct drp_cache_opts *o, char *err,
                         size_t errlen);
void drp_cache_remote_free(struct drp_cache_remote *r);
/* Syntax of o->url only: no name resolved, nothing connected. */
int drp_cache_remote_check_url(const struct drp_cache_opts *o, char *err, size_t errlen);

/* 1 when the backend may be tried now (not in backoff). */
int drp_cache_remote_usable(struct drp_cache_remote *r);
/* 1 while the last attempt failed and backoff runs. */
int drp_cache_remote_down(const struct drp_cache_remote *r);
const char *drp_cache_remote_error(const struct drp_cache_remote *r);
/* Resolve again the server names that did not resolve at start (DNS: only
 * between requests).  1 when one now resolves. */
int drp_cache_remote_resolve(struct drp_cache_remote *r);
/* After fork(): drop connections inherited from the parent without talking
 * on them (the parent still owns them). */
void drp_cache_remote_forget(struct drp_cache_remote *r);

/*
 * Fetch the verdict (into val, *found 0/1) and, when gen != NULL, the
 * generation (*genlen -1 when absent).  0 ok, -1 failed (backoff started).
 */
int drp_cache_remote_get(struct drp_cache_remote *r, const uint8_t key[DRP_CACHE_KEY_LEN],
                         struct drp_buf *val, int *found, char gen[24], int *genlen);
/*
 * Store with ttl_s.  With gen != NULL, keep it only if the generation is
 * still (gen, genlen) afterwards; *stored says whether it was kept.
 */
int drp_cache_remote_put(struct drp_cache_remote *r, const uint8_t key[DRP_CACHE_KEY_LEN],
                         const void *val, size_t len, long ttl_s, const char *gen, int genlen,
                         int *stored);
/* Bump the generation (kept ttl_s + 600 s) and delete the verdict. */
int drp_cache_remote_invalidate(struct drp_cache_remote *r, const uint8_t key[DRP_CACHE_KEY_LEN],
                                long ttl_s);

#endif
