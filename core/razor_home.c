/* razor_home: see razor_home.h. */

#include "razor_home.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL_FILE_MAX (1024 * 1024)

void drp_razor_kv_init(struct drp_razor_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
}

void drp_razor_kv_free(struct drp_razor_kv *kv)
{
	int i;

	for (i = 0; i < kv->n; i++) {
		free(kv->key[i]);
		free(kv->val[i]);
	}
	free(kv->key);
	free(kv->val);
	drp_razor_kv_init(kv);
}

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

static int kv_setn(struct drp_razor_kv *kv, const char *k, size_t kl, const char *v, size_t vl)
{
	char *nv;
	int i;

	for (i = 0; i < kv->n; i++) {
		if (strlen(kv->key[i]) == kl && memcmp(kv->key[i], k, kl) == 0) {
			nv = dupn(v, vl);
			if (nv == NULL)
				return -1;
			free(kv->val[i]);
			kv->val[i] = nv;
			return 0;
		}
	}
	if (kv->n == kv->cap) {
		int nc = kv->cap ? kv->cap * 2 : 16;
		char **nk = realloc(kv->key, (size_t)nc * sizeof(*nk)), **nvv;

		if (nk == NULL)
			return -1;
		kv->key = nk;
		nvv = realloc(kv->val, (size_t)nc * sizeof(*nvv));
		if (nvv == NULL)
			return -1;
		kv->val = nvv;
		kv->cap = nc;
	}
	kv->key[kv->n] = dupn(k, kl);
	kv->val[kv->n] = dupn(v, vl);
	if (kv->key[kv->n] == NULL || kv->val[kv->n] == NULL) {
		free(kv->key[kv->n]);
		free(kv->val[kv->n]);
		return -1;
	}
	kv->n++;
	return 0;
}

int drp_razor_kv_set(struct drp_razor_kv *kv, const char *key, const char *val)
{
	return kv_setn(kv, key, strlen(key), val, strlen(val));
}

const char *drp_razor_kv_get(const struct drp_razor_kv *kv, const char *key)
{
	int i;

	for (i = 0; i < kv->n; i++)
		if (strcmp(kv->key[i], key) == 0)
			return kv->val[i];
	return NULL;
}

static void trim(const char **p, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && isspace((unsigned char)(*p)[*n - 1]))
		(*n)--;
}

/* Call fn for every line that is not a '#' comment. */
static int each_line(const char *text, size_t len, int (*fn)(void *, const char *, size_t),
                     void *arg)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i), *l = text + i;
		size_t n = nl ? (size_t)(nl - l) : len - i, j = 0;

		i += n + 1;
		while (j < n && isspace((unsigned char)l[j]))
			j++;
		if (j < n && l[j] == '#')
			continue;
		if (fn(arg, l, n) < 0)
			return -1;
	}
	return 0;
}

static int kv_line(void *arg, const char *l, size_t n)
{
	const char *eq = memchr(l, '=', n), *k = l, *v;
	size_t kl, vl;

	if (eq == NULL)
		return 0;
	kl = (size_t)(eq - l);
	v = eq + 1;
	vl = n - kl - 1;
	trim(&k, &kl);
	trim(&v, &vl);
	if (kl == 0 || vl == 0)
		return 0;
	return kv_setn(arg, k, kl, v, vl);
}

int drp_razor_kv_parse(struct drp_razor_kv *kv, const char *text, size_t len)
{
	return each_line(text, len, kv_line, kv);
}

static int cmp_idx(const void *a, const void *b, void *arg)
{
	const struct drp_razor_kv *kv = arg;

	return strcmp(kv->key[*(const int *)a], kv->key[*(const int *)b]);
}

int drp_razor_kv_format(const struct drp_razor_kv *kv, const char *header, struct drp_buf *out)
{
	int *idx, i, rc = -1;

	idx = malloc((size_t)(kv->n ? kv->n : 1) * sizeof(*idx));
	if (idx == NULL)
		return -1;
	for (i = 0; i < kv->n; i++) {
		if (strpbrk(kv->key[i], "=\r\n") != NULL || strpbrk(kv->val[i], "\r\n") != NULL)
			goto out;
		idx[i] = i;
	}
	qsort_r(idx, (size_t)kv->n, sizeof(*idx), cmp_idx, (void *)kv);
	if (header != NULL && drp_buf_printf(out, "%s\n", header) < 0)
		goto out;
	for (i = 0; i < kv->n; i++)
		if (drp_buf_printf(out, "%-22s = %s\n", kv->key[idx[i]], kv->val[idx[i]]) < 0)
			goto out;
	rc = 0;
out:
	free(idx);
	return rc;
}

/* Length of the "label.label[...]" prefix razor's readservers accepts, 0
 * when there is none.  Labels are runs without '.' and whitespace (so a
 * ":port" rides in the last one). */
static size_t dotted_prefix(const char *t, size_t n)
{
	size_t i, lab = 0, good = 0;
	int nlabels = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || t[i] == '.' || isspace((unsigned char)t[i])) {
			if (i == lab)
				break;
			nlabels++;
			if (nlabels >= 2)
				good = i;
			if (i == n || t[i] != '.')
				break;
			lab = i + 1;
		}
	}
	return good;
}

static int lst_line(void *arg, const char *l, size_t n)
{
	struct drp_razor_lst *lst = arg;
	size_t m;

	trim(&l, &n);
	m = dotted_prefix(l, n);
	if (m == 0 || m >= DRP_RAZOR_NAME_MAX || lst->n >= DRP_RAZOR_LST_MAX)
		return 0;
	memcpy(lst->name[lst->n], l, m);
	lst->name[lst->n][m] = 0;
	lst->n++;
	return 0;
}

void drp_razor_lst_parse(struct drp_razor_lst *l, const char *text, size_t len)
{
	l->n = 0;
	each_line(text, len, lst_line, l);
}

int drp_razor_lst_hostport(const char *name, struct drp_hostport *hp)
{
	const char *colon = strchr(name, ':');
	size_t hl = colon ? (size_t)(colon - name) : strlen(name);

	if (hl == 0 || hl >= sizeof(hp->host))
		return -1;
	if (drp_hostport_parse(name, hl, DRP_RAZOR_DEFAULT_PORT, hp) < 0)
		return -1;
	hp->port = DRP_RAZOR_DEFAULT_PORT;
	/* razor connects to 2703 whenever the port is not all digits */
	if (colon != NULL && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		long p = strtol(colon + 1, NULL, 10);

		if (p <= 0 || p > 65535 || strlen(colon + 1) > 5)
			return -1;
		hp->port = (unsigned short)p;
	}
	return 0;
}

void drp_razor_lst_shuffle(struct drp_razor_lst *l)
{
	int i;

	for (i = l->n - 1; i > 0; i--) {
		unsigned r = 0;
		char tmp[DRP_RAZOR_NAME_MAX];
		int j;

		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			r = (unsigned)rand();
		j = (int)(r % (unsigned)(i + 1));
		if (j == i)
			continue;
		memcpy(tmp, l->name[i], sizeof(tmp));
		memcpy(l->name[i], l->name[j], sizeof(tmp));
		memcpy(l->name[j], tmp, sizeof(tmp));
	}
}

int drp_razor_read_small(const char *path, size_t max, struct drp_buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n;

		if (drp_buf_reserve(out, 4096) < 0) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		n = read(fd, out->p + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > max) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	drp_buf_cstr(out);
	return 0;
}

int drp_razor_lst_load(const char *dir, const char *name, struct drp_razor_lst *l, time_t *mtime,
                       char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct drp_buf b;
	struct stat st;

	l->n = 0;
	if (mtime)
		*mtime = 0;
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	drp_buf_init(&b);
	if (drp_razor_read_small(path, SMALL_FILE_MAX, &b) < 0) {
		int e = errno;

		drp_buf_free(&b);
		if (e == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -1;
	}
	if (mtime && stat(path, &st) == 0)
		*mtime = st.st_mtime;
	drp_razor_lst_parse(l, (const char *)b.p, b.len);
	drp_buf_free(&b);
	return 0;
}

int drp_razor_kv_load(const char *path, struct drp_razor_kv *kv, char *err, size_t errlen)
{
	struct drp_buf b;
	int rc;

	drp_buf_init(&b);
	if (drp_razor_read_small(path, SMALL_FILE_MAX, &b) < 0) {
		int e = errno;

		drp_buf_free(&b);
		if (e == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -1;
	}
	rc = drp_razor_kv_parse(kv, (const char *)b.p, b.len);
	drp_buf_free(&b);
	if (rc < 0)
		snprintf(err, errlen, "%s: out of memory", path);
	return rc;
}

/* Write data to path via a temporary file and rename(2), mode `mode`. */
static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                        size_t errlen)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int drp_razor_lst_save(const char *dir, const char *name, const struct drp_razor_lst *l, char *err,
                       size_t errlen)
{
	char path[PATH_MAX], lock[PATH_MAX + 8];
	struct drp_buf b;
	int i, fd, rc;

	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	/* razor-agents' writers skip the file while its .lock exists */
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", lock,
		         errno == EEXIST ? "file is locked, try again later" : strerror(errno));
		return -1;
	}
	close(fd);
	drp_buf_init(&b);
	for (i = 0; i < l->n; i++)
		if (drp_buf_printf(&b, "%s\n", l->name[i]) < 0)
			break;
	if (i < l->n) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	} else {
		rc = write_atomic(path, b.p ? (const void *)b.p : "", b.len, 0644, err, errlen);
	}
	drp_buf_free(&b);
	unlink(lock);
	return rc;
}

static int plain_name(const char *s)
{
	if (*s == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s; s++)
		if (*s == '/' || isspace((unsigned char)*s) || !isprint((unsigned char)*s))
			return 0;
	return 1;
}

int drp_razor_srvconf_path(const char *dir, const char *host, char *out, size_t outlen)
{
	if (!plain_name(host))
		return -1;
	if (snprintf(out, outlen, "%s/server.%s.conf", dir, host) >= (int)outlen)
		return -1;
	return 0;
}

int drp_razor_srvconf_save(const char *dir, const char *host, const struct drp_razor_kv *kv,
                           char *err, size_t errlen)
{
	char path[PATH_MAX], hdr[160], when[64];
	struct drp_buf b;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if (drp_razor_srvconf_path(dir, host, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "bad server name for a state file");
		return -1;
	}
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
	snprintf(hdr, sizeof(hdr), "#\n# Autogenerated by Razor-Agents v2.84, %s\n", when);
	drp_buf_init(&b);
	if (drp_razor_kv_format(kv, hdr, &b) < 0) {
		snprintf(err, errlen, "%s: cannot format", path);
		drp_buf_free(&b);
		return -1;
	}
	rc = write_atomic(path, b.p, b.len, 0644, err, errlen);
	drp_buf_free(&b);
	return rc;
}

int drp_razor_ident_load(const char *dir, const char *identity, char *user, size_t userlen,
                         char *pass, size_t passlen, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct drp_razor_kv kv;
	const char *u, *p;
	int rc;

	if (identity == NULL || *identity == 0)
		identity = "identity";
	if (identity[0] == '/')
		snprintf(path, sizeof(path), "%s", identity);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, identity);
	drp_razor_kv_init(&kv);
	rc = drp_razor_kv_load(path, &kv, err, errlen);
	if (rc != 0) {
		drp_razor_kv_free(&kv);
		return rc;
	}
	u = drp_razor_kv_get(&kv, "user");
	p = drp_razor_kv_get(&kv, "pass");
	if (u == NULL || p == NULL || strlen(u) >= userlen || strlen(p) >= passlen) {
		snprintf(err, errlen, "%s: no usable user/pass", path);
		drp_razor_kv_free(&kv);
		return -1;
	}
	snprintf(user, userlen, "%s", u);
	snprintf(pass, passlen, "%s", p);
	drp_razor_kv_free(&kv);
	return 0;
}

int drp_razor_ident_save(const char *dir, const struct drp_razor_kv *ident, int link,
                         char *path_out, size_t path_outlen, char *err, size_t errlen)
{
	char base[DRP_RAZOR_NAME_MAX + 16], path[PATH_MAX], bak[PATH_MAX + 8], syml[PATH_MAX];
	const char *user = drp_razor_kv_get(ident, "user");
	struct drp_buf b;
	struct stat st;
	int rc;

	if (user == NULL || !plain_name(user) || strlen(user) > DRP_RAZOR_NAME_MAX) {
		snprintf(err, errlen, "unusable identity user name");
		return -1;
	}
	snprintf(base, sizeof(base), "identity-%s", user);
	if (snprintf(path, sizeof(path), "%s/%s", dir, base) >= (int)sizeof(path) ||
	    snprintf(syml, sizeof(syml), "%s/identity", dir) >= (int)sizeof(syml)) {
		snprintf(err, errlen, "razorhome path too long");
		return -1;
	}
	snprintf(bak, sizeof(bak), "%s.bak", path);
	if (stat(path, &st) == 0 && st.st_size > 0)
		rename(path, bak);
	drp_buf_init(&b);
	if (drp_razor_kv_format(ident, NULL, &b) < 0) {
		snprintf(err, errlen, "identity cannot be written");
		drp_buf_free(&b);
		return -1;
	}
	rc = write_atomic(path, b.p, b.len, 0600, err, errlen);
	drp_buf_free(&b);
	if (rc < 0)
		return -1;
	snprintf(path_out, path_outlen, "%s", path);
	/* stat follows the link: a dangling `identity` counts as none */
	if (!link && stat(syml, &st) == 0)
		return 0;
	unlink(syml);
	if (symlink(base, syml) < 0) {
		snprintf(err, errlen, "created %s, but could not symlink %s: %s", path, syml,
		         strerror(errno));
		return -1;
	}
	return 0;
}
