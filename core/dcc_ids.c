/* dcc_ids: see dcc_ids.h. */
#include "dcc_ids.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAX (1024 * 1024)

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Next blank-separated word of [*p, end); returns its length (0 at end). */
static size_t next_word(const char **p, const char *end, const char **w)
{
	const char *s = *p;
	size_t n = 0;

	while (s < end && is_ws(*s))
		s++;
	*w = s;
	while (s + n < end && !is_ws(s[n]))
		n++;
	*p = s + n;
	return n;
}

uint32_t drp_dcc_parse_id(const char *s, size_t n)
{
	unsigned long v = 0;

	if (n == 4 && strncasecmp(s, "anon", 4) == 0)
		return DRP_DCC_ID_ANON;
	if (n == 9 && strncasecmp(s, "anonymous", 9) == 0)
		return DRP_DCC_ID_ANON;
	if (n == 0 || n > 8)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	/* 1 is anonymous, 100..32767 servers, 32768.. clients */
	if (v != DRP_DCC_ID_ANON && (v < 100 || v > DRP_DCC_ID_MAX))
		return 0;
	return (uint32_t)v;
}

static int copy_passwd(char *dst, const char *w, size_t n)
{
	if (n == 0 || n > DRP_DCC_PASSWD_MAX)
		return -1;
	memcpy(dst, w, n);
	dst[n] = 0;
	return 0;
}

static int id_option_ok(const char *w, size_t n)
{
	static const char *const opts[] = {"trace",  "rpt-ok", "rpt_ok", "no-reps",   "no_reps",
	                                   "simple", "ignore", "rogue",  "commercial"};

	if (n >= 6 && strncasecmp(w, "delay=", 6) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strlen(opts[i]) == n && strncasecmp(w, opts[i], n) == 0)
			return 1;
	return 0;
}

int drp_dcc_ids_parse(const char *text, size_t len, struct drp_dcc_ids *out, char *err,
                      size_t errlen)
{
	const char *p = text, *end = len ? text + len : text; /* no NULL + 0 */
	int lno = 0, cap = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *w, *q = p, *comma;
		struct drp_dcc_id_entry e;
		size_t n;

		lno++;
		p = eol ? eol + 1 : end;
		n = next_word(&q, le, &w);
		/* '#' is a comment only at the start of a line: passwords may hold it */
		if (n == 0 || w[0] == '#')
			continue;
		memset(&e, 0, sizeof(e));
		comma = memchr(w, ',', n);
		e.id = drp_dcc_parse_id(w, comma ? (size_t)(comma - w) : n);
		if (e.id == 0 || e.id == DRP_DCC_ID_ANON) {
			snprintf(err, errlen, "line %d: invalid ID", lno);
			goto fail;
		}
		while (comma != NULL) {
			const char *o = comma + 1, *next = memchr(o, ',', (size_t)(w + n - o));
			size_t on = next ? (size_t)(next - o) : (size_t)(w + n - o);

			if (!id_option_ok(o, on)) {
				snprintf(err, errlen, "line %d: invalid option \"%.*s\"", lno,
				         (int)(on > 40 ? 40 : on), o);
				goto fail;
			}
			comma = next;
		}
		for (int k = 0; k < 2; k++) {
			n = next_word(&q, le, &w);
			if (n == 0)
				break;
			if (copy_passwd(e.passwd[k], w, n) < 0) {
				snprintf(err, errlen, "line %d: password longer than %d bytes", lno,
				         DRP_DCC_PASSWD_MAX);
				goto fail;
			}
		}
		if (next_word(&q, le, &w) != 0) {
			snprintf(err, errlen, "line %d: junk after the passwords", lno);
			goto fail;
		}
		if (out->n >= DRP_DCC_IDS_MAX) {
			snprintf(err, errlen, "line %d: more than %d IDs", lno, DRP_DCC_IDS_MAX);
			goto fail;
		}
		if (out->n == cap) {
			int ncap = cap ? cap * 2 : 16;
			struct drp_dcc_id_entry *ne = realloc(out->e, (size_t)ncap * sizeof(*ne));

			if (ne == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			out->e = ne;
			cap = ncap;
		}
		out->e[out->n++] = e;
		OPENSSL_cleanse(&e, sizeof(e));
	}
	return 0;
fail:
	drp_dcc_ids_free(out);
	return -1;
}

/* Read a whole small file; the caller cleanses and frees *buf. */
static int slurp(const char *path, int private, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	char *b;

	*buf = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path, FILE_MAX);
		close(fd);
		return -1;
	}
	if (private && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s is not private (mode %03o; want 0600)", path,
		         (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	b = malloc((size_t)st.st_size + 1);
	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

static void burn(char *buf, size_t len)
{
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
}

int drp_dcc_ids_load(const char *path, int optional, struct drp_dcc_ids *out, char *err,
                     size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (optional && access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (slurp(path, 1, &buf, &len, err, errlen) < 0)
		return -1;
	rc = drp_dcc_ids_parse(buf, len, out, err, errlen);
	if (rc < 0) {
		char tmp[200];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "%s: %s", path, tmp);
	}
	burn(buf, len);
	return rc;
}

const struct drp_dcc_id_entry *drp_dcc_ids_find(const struct drp_dcc_ids *ids, uint32_t id)
{
	for (int i = 0; i < ids->n; i++)
		if (ids->e[i].id == id)
			return &ids->e[i];
	return NULL;
}

void drp_dcc_ids_free(struct drp_dcc_ids *ids)
{
	if (ids->e != NULL) {
		OPENSSL_cleanse(ids->e, (size_t)ids->n * sizeof(ids->e[0]));
		free(ids->e);
	}
	memset(ids, 0, sizeof(*ids));
}

int drp_dcc_ids_write(const char *path, uint32_t id, const char *passwd, char *err, size_t errlen)
{
	struct drp_dcc_cred cr;
	struct drp_buf nb;
	char *old = NULL, tmp[4096];
	size_t oldlen = 0;
	int fd, rc = -1, replaced = 0;

	if (id < DRP_DCC_ID_MIN_CLIENT || drp_dcc_cred_set(&cr, id, passwd, err, errlen) < 0) {
		if (id < DRP_DCC_ID_MIN_CLIENT)
			snprintf(err, errlen, "%lu is not a DCC client-ID", (unsigned long)id);
		return -1;
	}
	if (access(path, F_OK) == 0 && slurp(path, 1, &old, &oldlen, err, errlen) < 0)
		return -1;
	drp_buf_init(&nb);
	for (const char *p = old, *end = old + oldlen; p != NULL && p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *q = p, *w;
		size_t n = next_word(&q, le, &w);
		const char *comma = n ? memchr(w, ',', n) : NULL;

		if (n > 0 && w[0] != '#' &&
		    drp_dcc_parse_id(w, comma ? (size_t)(comma - w) : n) == id) {
			if (!replaced &&
			    drp_buf_printf(&nb, "%lu\t%s\n", (unsigned long)id, cr.passwd) < 0)
				goto out;
			replaced = 1;
		} else if (drp_buf_append(&nb, p, (size_t)(le - p)) < 0 ||
		           drp_buf_putc(&nb, '\n') < 0) {
			goto out;
		}
		p = eol ? eol + 1 : end;
	}
	if (!replaced && drp_buf_printf(&nb, "%lu\t%s\n", (unsigned long)id, cr.passwd) < 0)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write(fd, nb.p, nb.len) != (ssize_t)nb.len || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && err[0] == 0)
		snprintf(err, errlen, "out of memory");
	if (nb.p != NULL)
		OPENSSL_cleanse(nb.p, nb.cap);
	drp_buf_free(&nb);
	burn(old, oldlen);
	OPENSSL_cleanse(&cr, sizeof(cr));
	return rc;
}

/* "RTT+N ms", "RTT -N", "rtt+N" ...: [*p, le) starts at "rtt" */
static int parse_rtt(const char **pp, const char *le, int *adj)
{
	const char *p = *pp + 3;
	long v = 0;
	int neg = 0, digits = 0;

	while (p < le && (*p == ' ' || *p == '\t'))
		p++;
	if (p < le && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	while (p < le && *p >= '0' && *p <= '9' && digits < 9) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0)
		return -1;
	{
		const char *s = p;

		while (s < le && (*s == ' ' || *s == '\t'))
			s++;
		if (le - s >= 2 && strncasecmp(s, "ms", 2) == 0 && (le - s == 2 || is_ws(s[2])))
			p = s + 2;
	}
	if (p < le && !is_ws(*p))
		return -1;
	if (v > DRP_DCC_RTT_ADJ_MAX)
		v = DRP_DCC_RTT_ADJ_MAX; /* the reference clamps (and complains) */
	*adj = (int)(neg ? -v : v);
	*pp = p;
	return 0;
}

static int word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(w, lit, n) == 0;
}

/* The option line cdcc writes first: "version=3", "IPv6 on|off|only", ... */
static int option_line(const char *p, const char *le, struct drp_dcc_map *m)
{
	const char *w, *q = p;
	size_t n;
	int any = 0;

	while ((n = next_word(&q, le, &w)) != 0) {
		if (n > 8 && strncasecmp(w, "version=", 8) == 0) {
			any = 1;
		} else if (word_is(w, n, "IPv6")) {
			n = next_word(&q, le, &w);
			if (word_is(w, n, "off"))
				m->ipv6 = -1;
			else if (word_is(w, n, "on"))
				m->ipv6 = 0;
			else if (word_is(w, n, "only"))
				m->ipv6 = 1;
			else
				return -1;
			any = 1;
		} else if (word_is(w, n, "use")) {
			n = next_word(&q, le, &w);
			if (!word_is(w, n, "SOCKS"))
				return -1;
			any = 1;
		} else if (n >= 4 && strncasecmp(w, "src=", 4) == 0) {
			any = 1;
		} else {
			return any ? -1 : 0;
		}
	}
	return any;
}

int drp_dcc_map_parse(const char *text, size_t len, struct drp_dcc_map *out, char *err,
                      size_t errlen)
{
	const char *p = text, *end = len ? text + len : text; /* no NULL + 0 */
	int lno = 0, first = 1;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *w, *q = p, *comma;
		struct drp_dcc_map_entry e;
		int grey = 0;
		size_t n;

		lno++;
		p = eol ? eol + 1 : end;
		n = next_word(&q, le, &w);
		if (n == 0 || w[0] == '#')
			continue;
		if (first) {
			int o;

			first = 0;
			o = option_line(w, le, out);
			if (o < 0) {
				snprintf(err, errlen, "line %d: bad option line", lno);
				return -1;
			}
			if (o > 0)
				continue;
		}
		memset(&e, 0, sizeof(e));
		e.id = DRP_DCC_ID_ANON;
		comma = memchr(w, ',', n);
		{
			size_t hn = comma ? (size_t)(comma - w) : n;
			const char *ps = comma ? comma + 1 : NULL;
			size_t pn = comma ? n - hn - 1 : 0;
			char tok[DRP_HOST_MAX + 8];

			e.hp.port = DRP_DCC_PORT;
			if (hn == 0 || hn >= DRP_HOST_MAX) {
				snprintf(err, errlen, "line %d: bad server name", lno);
				return -1;
			}
			/* "@" is the local host in the reference's sample map */
			if (hn == 1 && w[0] == '@')
				snprintf(tok, sizeof(tok), "localhost");
			else
				snprintf(tok, sizeof(tok), "%.*s", (int)hn, w);
			if (drp_hostport_parse(tok, strlen(tok), DRP_DCC_PORT, &e.hp) < 0 ||
			    strchr(tok, '[') != NULL) {
				snprintf(err, errlen, "line %d: bad server name", lno);
				return -1;
			}
			e.hp.port = DRP_DCC_PORT;
			if (pn > 0 && !(pn == 1 && ps[0] == '-')) {
				unsigned long port = 0;

				for (size_t i = 0; i < pn; i++) {
					if (ps[i] < '0' || ps[i] > '9' || port > 65535) {
						port = 0;
						break;
					}
					port = port * 10 + (unsigned long)(ps[i] - '0');
				}
				if (port == 0 || port > 65535) {
					snprintf(err, errlen, "line %d: bad port", lno);
					return -1;
				}
				e.hp.port = (unsigned short)port;
			}
		}
		for (;;) {
			const char *save = q;

			n = next_word(&q, le, &w);
			if (n >= 8 && strncasecmp(w, "greylist", 8) == 0 && n == 8) {
				grey = 1;
				continue;
			}
			if (n >= 3 && strncasecmp(w, "rtt", 3) == 0) {
				const char *r = w;

				if (parse_rtt(&r, le, &e.rtt_adj_ms) < 0) {
					snprintf(err, errlen, "line %d: invalid RTT adjustment",
					         lno);
					return -1;
				}
				q = r;
				continue;
			}
			q = save;
			break;
		}
		n = next_word(&q, le, &w);
		if (n > 0) {
			e.id = drp_dcc_parse_id(w, n);
			if (e.id == 0 ||
			    (e.id != DRP_DCC_ID_ANON && e.id < DRP_DCC_ID_MIN_CLIENT)) {
				snprintf(err, errlen, "line %d: invalid client-ID \"%.*s\"", lno,
				         (int)(n > 20 ? 20 : n), w);
				return -1;
			}
			n = next_word(&q, le, &w);
			if (n > 0 && copy_passwd(e.passwd, w, n) < 0) {
				snprintf(err, errlen, "line %d: invalid password", lno);
				return -1;
			}
			if (e.id != DRP_DCC_ID_ANON && e.passwd[0] == 0) {
				snprintf(err, errlen, "line %d: client-ID %lu without a password",
				         lno, (unsigned long)e.id);
				return -1;
			}
			if (next_word(&q, le, &w) != 0) {
				snprintf(err, errlen, "line %d: junk after the password", lno);
				return -1;
			}
			if (e.id == DRP_DCC_ID_ANON)
				e.passwd[0] = 0;
		}
		if (grey)
			continue; /* greylist servers are not DCC servers */
		if (out->n >= DRP_DCC_MAP_MAX) {
			snprintf(err, errlen, "line %d: more than %d DCC servers", lno,
			         DRP_DCC_MAP_MAX);
			return -1;
		}
		out->s[out->n++] = e;
	}
	return 0;
}

int drp_dcc_map_load(const char *path, struct drp_dcc_map *out, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	if (slurp(path, 1, &buf, &len, err, errlen) < 0)
		return -1;
	if (memchr(buf, 0, len) != NULL) {
		snprintf(err, errlen,
		         "%s: a binary DCC map; give its text form (cdcc -q info > map.txt)", path);
		burn(buf, len);
		return -1;
	}
	rc = drp_dcc_map_parse(buf, len, out, err, errlen);
	if (rc < 0) {
		char tmp[200];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "%s: %s", path, tmp);
	}
	burn(buf, len);
	return rc;
}

int drp_dcc_map_format(const struct drp_dcc_map *m, struct drp_buf *out)
{
	if (m->ipv6 != 0 && drp_buf_printf(out, "IPv6 %s\n", m->ipv6 < 0 ? "off" : "only") < 0)
		return -1;
	for (int i = 0; i < m->n; i++) {
		const struct drp_dcc_map_entry *e = &m->s[i];

		if (drp_buf_printf(out, "%s,%u", e->hp.host, (unsigned)e->hp.port) < 0)
			return -1;
		if (e->rtt_adj_ms != 0 && drp_buf_printf(out, "\tRTT%+d ms", e->rtt_adj_ms) < 0)
			return -1;
		if (e->id == DRP_DCC_ID_ANON) {
			if (drp_buf_printf(out, "\tanon\n") < 0)
				return -1;
		} else if (drp_buf_printf(out, "\t%lu %s\n", (unsigned long)e->id, e->passwd) < 0) {
			return -1;
		}
	}
	return 0;
}
