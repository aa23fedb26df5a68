/*
 * shm: a named shared-memory region every process of the pool can attach.
 *
 * drp-fcgi workers are independent exec'd processes (spawn-fcgi -F N,
 * lighttpd max-procs) or forks of a preforking parent; either way they meet
 * in one file mapped MAP_SHARED (on tmpfs: /run/drp, $XDG_RUNTIME_DIR or
 * /dev/shm).  The file starts with a header (magic, layout version, size,
 * boot id) and a process-shared robust mutex.
 *
 * Create-or-attach is serialised by flock() on "<path>.lock", so exactly one
 * process initialises a region, and it does so in a temporary file that is
 * renamed into place only when complete: a process never maps a half-built
 * region.  A region whose header does not match (other magic, version, size,
 * or one left over from before a reboot, whose mutex words are meaningless)
 * is replaced the same way; processes still attached to the old one keep it
 * until they exit.
 *
 * The mutex is PTHREAD_MUTEX_ROBUST: when its holder dies the next locker
 * gets it anyway and is told, so it can repair what the dead process was
 * changing.  Locks take a timeout so a stopped holder cannot hang the pool.
 */
#ifndef DRP_SHM_H
#define DRP_SHM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct drp_shm;

/* Called once, with the flock held, on a zeroed user area of `size` bytes
 * before the region is published.  Return 0, or -1 to abandon creation. */
typedef int (*drp_shm_init_fn)(void *base, size_t size, void *arg);

/*
 * Create or attach the region at `path` whose user area is `size` bytes.
 * `magic` names the user (one per kind of region), `version` its layout.
 * init may be NULL (the area starts zeroed).  Returns 0, or -1 with err set.
 */
int drp_shm_open(struct drp_shm **out, const char *path, uint64_t magic, uint32_t version,
                 size_t size, drp_shm_init_fn init, void *arg, char *err, size_t errlen);
/* Unmap (the region stays for the other processes). */
void drp_shm_close(struct drp_shm *s);
/* Remove the file (and its lock file) so the next open creates a new region. */
int drp_shm_unlink(const char *path);

/* The user area: `size` bytes, 64-byte aligned, shared by every attacher. */
void *drp_shm_base(const struct drp_shm *s);
size_t drp_shm_size(const struct drp_shm *s);
const char *drp_shm_path(const struct drp_shm *s);
/* 1 when this call created the region, 0 when it attached an existing one. */
int drp_shm_created(const struct drp_shm *s);

/*
 * The region's own robust mutex.  Returns 0 when locked, 1 when locked but
 * the previous holder died holding it (the mutex is made consistent again;
 * the caller must repair or reset what it protects), -1 on timeout or error
 * (errno set; not locked).  timeout_ms < 0 waits forever.
 */
int drp_shm_lock(struct drp_shm *s, long timeout_ms);
void drp_shm_unlock(struct drp_shm *s);
/* How many times any attacher recovered the mutex from a dead holder. */
uint64_t drp_shm_recoveries(const struct drp_shm *s);

/* For further mutexes placed inside a user area (e.g. one per shard). */
int drp_shm_mutex_init(pthread_mutex_t *m);
int drp_shm_mutex_lock(pthread_mutex_t *m, long timeout_ms);

/*
 * Default directory for regions: $DRP_RUN_DIR, else /run/drp when it exists
 * and is writable, else $XDG_RUNTIME_DIR, else /dev/shm.  Always succeeds.
 */
void drp_shm_default_dir(char *out, size_t outlen);

/* Cross-process wait/wake on a 32-bit word inside a shared region (futex).
 * drp_shm_wait returns when *word != expect, on a wake, or after timeout_ms
 * (spurious returns are allowed: re-check the condition). */
void drp_shm_wait(uint32_t *word, uint32_t expect, long timeout_ms);
void drp_shm_wake_all(uint32_t *word);

#endif
