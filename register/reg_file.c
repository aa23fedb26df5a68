/* reg_file: reading, creating and atomically replacing the identity files. */
#include "reg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

void reg_err(const char *fmt, ...)
{
	va_list ap;

	fputs("drp-register: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int reg_path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n;

	if (name[0] == '/')
		n = snprintf(out, outlen, "%s", name);
	else
		n = snprintf(out, outlen, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int reg_read_file(const char *path, struct drp_buf *b, size_t max, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	drp_buf_reset(b);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (drp_buf_reserve(b, 4096) < 0) {
			snprintf(err, errlen, "%s: out of memory", path);
			close(fd);
			return -1;
		}
		n = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len > max) {
			snprintf(err, errlen, "%s: larger than %zu bytes, not an identity file",
			         path, max);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 1;
}

/* Split path into its directory (out) and return the last component. */
static const char *split_dir(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(dir, dirlen, ".");
		return path;
	}
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/file" lives in "/" */
	if (n >= dirlen)
		n = dirlen - 1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return slash + 1;
}

static int mkdir_p(char *dir, mode_t mode, int *created, char *err, size_t errlen)
{
	struct stat st;
	char *slash;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a directory", dir);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, mode, created, err, errlen) < 0) {
			*slash = '/';
			return -1;
		}
		*slash = '/';
	}
	if (mkdir(dir, mode) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
		return -1;
	}
	/* the umask must not loosen or tighten what the format asks for */
	if (chmod(dir, mode) < 0) {
		snprintf(err, errlen, "%s: cannot set mode %03o: %s", dir, (unsigned)mode,
		         strerror(errno));
		return -1;
	}
	*created = 1;
	return 0;
}

int reg_ensure_dir(const char *path, mode_t mode, int *created, char *err, size_t errlen)
{
	char dir[PATH_MAX];

	*created = 0;
	split_dir(path, dir, sizeof(dir));
	return mkdir_p(dir, mode, created, err, errlen);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int reg_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                     size_t errlen)
{
	char target[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 16];
	const char *base;
	struct stat st, dst;
	int fd, dfd, have_old;

	/* replacing a symlink would cut the link (razor's `identity` is one):
	 * write where it points instead */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		if (realpath(path, target) == NULL) {
			snprintf(err, errlen, "%s: dangling symlink: %s", path, strerror(errno));
			return -1;
		}
	} else if (snprintf(target, sizeof(target), "%s", path) >= (int)sizeof(target)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	base = split_dir(target, dir, sizeof(dir));
	have_old = stat(target, &st) == 0;
	if (have_old && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a regular file", target);
		return -1;
	}
	if (stat(dir, &dst) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a file in %s: %s", target, dir,
		         strerror(errno));
		return -1;
	}
	if (write_all(fd, data, len) < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "%s: cannot set mode %03o: %s", tmp, (unsigned)mode,
		         strerror(errno));
		goto fail;
	}
	/* root writing for a service account: the file must stay readable by
	 * whoever owned the old file (or owns the directory) */
	if (geteuid() == 0) {
		uid_t uid = have_old ? st.st_uid : dst.st_uid;
		gid_t gid = have_old ? st.st_gid : dst.st_gid;

		if (fchown(fd, uid, gid) < 0) {
			snprintf(err, errlen, "%s: cannot set owner %ld:%ld: %s", tmp, (long)uid,
			         (long)gid, strerror(errno));
			goto fail;
		}
	}
	if (fsync(fd) < 0) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, target) < 0) {
		snprintf(err, errlen, "%s: cannot replace: %s", target, strerror(errno));
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		/* the rename is durable only once the directory is */
		if (fsync(dfd) < 0 && errno != EINVAL) {
			snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
			close(dfd);
			return -1;
		}
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

static int read_line_fd(int fd, char *out, size_t outlen)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= outlen) {
			errno = E2BIG;
			return -1;
		}
		out[n++] = c;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return 0;
}

static int ask_tty(const char *prompt, char *out, size_t outlen, char *err, size_t errlen)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc, echo_off;

	if (fd < 0) {
		snprintf(err, errlen, "no terminal to ask for the %s (use a file)", prompt);
		return -1;
	}
	echo_off = tcgetattr(fd, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	dprintf(fd, "Enter %s: ", prompt);
	rc = read_line_fd(fd, out, outlen);
	dprintf(fd, "\n");
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "reading the %s from the terminal: %s", prompt,
		         strerror(errno));
		return -1;
	}
	return 0;
}

int reg_read_secret(const char *path, const char *prompt, int confirm, char *out, size_t outlen,
                    char *err, size_t errlen)
{
	if (path == NULL) {
		char again[512];

		if (ask_tty(prompt, out, outlen, err, errlen) < 0)
			return -1;
		if (confirm) {
			if (ask_tty(prompt, again, sizeof(again), err, errlen) < 0)
				return -1;
			if (strcmp(out, again) != 0) {
				snprintf(err, errlen, "the two %ss do not match", prompt);
				return -1;
			}
		}
		return 0;
	}
	if (strcmp(path, "-") == 0) {
		if (read_line_fd(0, out, outlen) < 0) {
			snprintf(err, errlen, "reading the %s from stdin: %s", prompt,
			         strerror(errno));
			return -1;
		}
		return 0;
	} else {
		int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

		if (fd < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			return -1;
		}
		rc = read_line_fd(fd, out, outlen);
		close(fd);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", path,
			         errno == E2BIG ? "first line too long" : strerror(errno));
			return -1;
		}
		return 0;
	}
}

int reg_random(uint8_t *out, size_t n)
{
	return n > INT_MAX || RAND_bytes(out, (int)n) != 1 ? -1 : 0;
}

int reg_random_alnum(char *out, size_t n)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t i = 0;

	while (i < n) {
		uint8_t r[64];
		size_t k;

		if (reg_random(r, sizeof(r)) < 0)
			return -1;
		/* 62 * 4 = 248: reject the top bytes so every character is equally likely */
		for (k = 0; k < sizeof(r) && i < n; k++)
			if (r[k] < 248)
				out[i++] = set[r[k] % 62];
	}
	out[n] = '\0';
	return 0;
}

void reg_print_var(const char *name, const char *value)
{
	const char *p;

	for (p = value; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._@+-/=,:%", *p)))
			break;
	if (*p == '\0' && *value != '\0') {
		printf("%s=%s\n", name, value);
		return;
	}
	printf("%s='", name);
	for (p = value; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	}
	fputs("'\n", stdout);
}
