/*
 * shm: create-or-attach of a named MAP_SHARED region with a robust
 * process-shared mutex (see shm.h for the protocol).
 */
#include "shm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SHM_HDR_SIZE 256
#define SHM_LAYOUT 1           /* layout of struct shm_hdr itself */
#define SHM_FLOCK_WAIT_MS 5000 /* creation is quick; a stuck creator is not */

struct shm_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t layout;
	uint64_t user_size;
	char boot_id[40];
	uint32_t ready;
	uint32_t pad;
	uint64_t recoveries;
	pthread_mutex_t lock;
};

_Static_assert(sizeof(struct shm_hdr) <= SHM_HDR_SIZE, "shm header too large");

struct drp_shm {
	struct shm_hdr *hdr;
	size_t maplen;
	size_t size;
	int created;
	char path[PATH_MAX];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The boot id tells a region made before a reboot (whose mutex may name a
 * long-gone owner thread) from a live one. */
static void read_boot_id(char out[40])
{
	int fd;
	ssize_t n;

	memset(out, 0, 40);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, 39);
	close(fd);
	if (n <= 0) {
		memset(out, 0, 40);
		return;
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\0'))
		out[--n] = '\0';
}

int drp_shm_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int rc;

	if (pthread_mutexattr_init(&a) != 0)
		return -1;
	rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

int drp_shm_mutex_lock(pthread_mutex_t *m, long timeout_ms)
{
	int rc;

	if (timeout_ms < 0) {
		rc = pthread_mutex_lock(m);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		rc = pthread_mutex_timedlock(m, &ts);
	}
	if (rc == 0)
		return 0;
	if (rc == EOWNERDEAD) {
		if (pthread_mutex_consistent(m) != 0) {
			pthread_mutex_unlock(m);
			errno = ENOTRECOVERABLE;
			return -1;
		}
		return 1;
	}
	errno = rc;
	return -1;
}

static int flock_wait(int fd, long timeout_ms)
{
	struct timespec step = {0, 2 * 1000000L};
	long waited = 0;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (waited >= timeout_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&step, NULL);
		waited += 2;
	}
}

static int hdr_matches(const struct shm_hdr *h, uint64_t magic, uint32_t version, size_t size,
                       const char *boot_id)
{
	return h->ready == 1 && h->magic == magic && h->version == version &&
	       h->layout == SHM_LAYOUT && h->user_size == size &&
	       strncmp(h->boot_id, boot_id, sizeof h->boot_id) == 0;
}

/* Attach the existing file if its header matches; 1 attached, 0 absent or
 * mismatching, -1 on error. */
static int try_attach(struct drp_shm *s, uint64_t magic, uint32_t version, const char *boot_id,
                      char *err, size_t errlen)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(s->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		seterr(err, errlen, "shm %s: %s", s->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != s->maplen) {
		close(fd);
		return 0;
	}
	p = mmap(NULL, s->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		seterr(err, errlen, "shm %s: mmap: %s", s->path, strerror(errno));
		return -1;
	}
	if (!hdr_matches(p, magic, version, s->size, boot_id)) {
		munmap(p, s->maplen);
		return 0;
	}
	s->hdr = p;
	return 1;
}

/* Temporary files of creators that died mid-creation.  Only a holder of the
 * flock creates, so none of them is in use now. */
static void remove_stale_tmp(const char *path)
{
	char dir[PATH_MAX], prefix[PATH_MAX + 8], full[PATH_MAX + 300];
	const char *base = strrchr(path, '/');
	struct dirent *de;
	size_t pl;
	DIR *d;

	if (base == NULL)
		return;
	snprintf(dir, sizeof dir, "%.*s", (int)(base - path), path);
	snprintf(prefix, sizeof prefix, "%s.tmp.", base + 1);
	pl = strlen(prefix);
	d = opendir(dir[0] ? dir : "/");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, pl) != 0)
			continue;
		snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
		unlink(full);
	}
	closedir(d);
}

static int create_region(struct drp_shm *s, uint64_t magic, uint32_t version, const char *boot_id,
                         drp_shm_init_fn init, void *arg, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 32];
	struct shm_hdr *h;
	void *p;
	int fd;

	remove_stale_tmp(s->path);
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", s->path, (long)getpid());
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		seterr(err, errlen, "shm %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* posix_fallocate so a full tmpfs fails here, not with SIGBUS later */
	if (ftruncate(fd, (off_t)s->maplen) != 0 || posix_fallocate(fd, 0, (off_t)s->maplen) != 0) {
		seterr(err, errlen, "shm %s: cannot size to %zu bytes", tmp, s->maplen);
		close(fd);
		unlink(tmp);
		return -1;
	}
	p = mmap(NULL, s->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		seterr(err, errlen, "shm %s: mmap: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	h = p;
	h->magic = magic;
	h->version = version;
	h->layout = SHM_LAYOUT;
	h->user_size = s->size;
	memcpy(h->boot_id, boot_id, sizeof h->boot_id);
	if (drp_shm_mutex_init(&h->lock) != 0) {
		seterr(err, errlen, "shm %s: mutex init: %s", tmp, strerror(errno));
		goto fail;
	}
	if (init != NULL && init((char *)p + SHM_HDR_SIZE, s->size, arg) != 0) {
		seterr(err, errlen, "shm %s: initialisation failed", tmp);
		goto fail;
	}
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	if (rename(tmp, s->path) != 0) {
		seterr(err, errlen, "shm %s: rename: %s", s->path, strerror(errno));
		goto fail;
	}
	s->hdr = h;
	s->created = 1;
	return 0;
fail:
	munmap(p, s->maplen);
	unlink(tmp);
	return -1;
}

static void ensure_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (access(dir, F_OK) != 0)
		mkdir(dir, 0700);
}

int drp_shm_open(struct drp_shm **out, const char *path, uint64_t magic, uint32_t version,
                 size_t size, drp_shm_init_fn init, void *arg, char *err, size_t errlen)
{
	char lockpath[PATH_MAX + 8];
	char boot_id[40];
	struct drp_shm *s;
	int lfd, rc;

	*out = NULL;
	if (path == NULL || path[0] == '\0' || strlen(path) >= PATH_MAX - 32) {
		seterr(err, errlen, "shm: bad path");
		return -1;
	}
	if (size == 0 || size > ((size_t)1 << 40)) {
		seterr(err, errlen, "shm %s: bad size %zu", path, size);
		return -1;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		seterr(err, errlen, "shm: out of memory");
		return -1;
	}
	snprintf(s->path, sizeof s->path, "%s", path);
	s->size = (size + 63) & ~(size_t)63;
	s->maplen = SHM_HDR_SIZE + s->size;
	read_boot_id(boot_id);
	ensure_parent_dir(path);

	snprintf(lockpath, sizeof lockpath, "%s.lock", path);
	lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0) {
		seterr(err, errlen, "shm %s: %s", lockpath, strerror(errno));
		free(s);
		return -1;
	}
	if (flock_wait(lfd, SHM_FLOCK_WAIT_MS) != 0) {
		seterr(err, errlen, "shm %s: flock: %s", lockpath, strerror(errno));
		close(lfd);
		free(s);
		return -1;
	}
	rc = try_attach(s, magic, version, boot_id, err, errlen);
	if (rc == 0)
		rc =
		    create_region(s, magic, version, boot_id, init, arg, err, errlen) == 0 ? 1 : -1;
	flock(lfd, LOCK_UN);
	close(lfd);
	if (rc != 1) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void drp_shm_close(struct drp_shm *s)
{
	if (s == NULL)
		return;
	if (s->hdr != NULL)
		munmap(s->hdr, s->maplen);
	free(s);
}

int drp_shm_unlink(const char *path)
{
	char lockpath[PATH_MAX + 8];
	int rc = unlink(path);

	snprintf(lockpath, sizeof lockpath, "%s.lock", path);
	unlink(lockpath);
	return rc == 0 || errno == ENOENT ? 0 : -1;
}

void *drp_shm_base(const struct drp_shm *s)
{
	return (char *)s->hdr + SHM_HDR_SIZE;
}

size_t drp_shm_size(const struct drp_shm *s)
{
	return s->size;
}

const char *drp_shm_path(const struct drp_shm *s)
{
	return s->path;
}

int drp_shm_created(const struct drp_shm *s)
{
	return s->created;
}

int drp_shm_lock(struct drp_shm *s, long timeout_ms)
{
	int rc = drp_shm_mutex_lock(&s->hdr->lock, timeout_ms);

	if (rc == 1)
		__atomic_add_fetch(&s->hdr->recoveries, 1, __ATOMIC_RELAXED);
	return rc;
}

void drp_shm_unlock(struct drp_shm *s)
{
	pthread_mutex_unlock(&s->hdr->lock);
}

uint64_t drp_shm_recoveries(const struct drp_shm *s)
{
	return __atomic_load_n(&s->hdr->recoveries, __ATOMIC_RELAXED);
}

static int dir_usable(const char *d)
{
	struct stat st;

	return d != NULL && d[0] == '/' && stat(d, &st) == 0 && S_ISDIR(st.st_mode) &&
	       access(d, W_OK | X_OK) == 0;
}

void drp_shm_default_dir(char *out, size_t outlen)
{
	const char *e = getenv("DRP_RUN_DIR");

	if (e != NULL && e[0] != '\0') {
		snprintf(out, outlen, "%s", e);
		return;
	}
	if (dir_usable("/run/drp")) {
		snprintf(out, outlen, "/run/drp");
		return;
	}
	e = getenv("XDG_RUNTIME_DIR");
	if (dir_usable(e)) {
		snprintf(out, outlen, "%s", e);
		return;
	}
	snprintf(out, outlen, "/dev/shm");
}

void drp_shm_wait(uint32_t *word, uint32_t expect, long timeout_ms)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	/* not FUTEX_PRIVATE: the word lives in a mapping shared between
	 * processes, so the kernel keys the wait on the file page */
	syscall(SYS_futex, word, FUTEX_WAIT, expect, tsp, NULL, 0);
}

void drp_shm_wake_all(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
