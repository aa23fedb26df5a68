/*
 * cache_remote: redis and memcached stores for core/cache (protocol of keys
 * and the backoff are described in cache_remote.h).
 */
#include "cache_remote.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis.h>
#include <libmemcached/memcached.h>

#include "evloop.h"

#define MC_MAX_SERVERS 32
#define GEN_EXTRA_TTL 600 /* generation outlives any check that could read it */
#define KEYNAME 192       /* prefix (<64) + "v:" + 64 hex */

/* host is what we connect to: the numeric address of the name given,
 * resolved at start and, while that fails, again between requests
 * (drp_cache_remote_resolve) -- never by a connect in a request */
struct mc_server {
	char host[256];
	char name[256];
	int resolved;
	int port;
};

struct drp_cache_remote {
	enum drp_cache_backend kind;
	char prefix[64];
	long connect_ms, io_ms, retry_ms, retry_max_ms;
	/* redis */
	char host[256];
	char name[256];
	int resolved;
	int port;
	char unix_path[256];
	char user[128];
	char password[256];
	int db;
	redisContext *rc;
	/* memcached */
	struct mc_server mc[MC_MAX_SERVERS];
	int n_mc;
	memcached_st *memc;
	/* state */
	int down;
	int broken;  /* last failure: a reused connection found closed */
	int mc_used; /* memcached: an operation succeeded since the last failure */
	uint64_t down_until;
	long backoff_ms;
	char err[128];
	int no_resolve; /* syntax check only (--check-config, fuzzing) */
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

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Copy [s, s+n) percent-decoded into out; -1 if it does not fit or is bad. */
static int copy_decoded(char *out, size_t outlen, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = hi * 16 + lo;
			i += 2;
			if (ch == 0)
				return -1;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

static int parse_port(const char *s, size_t n, int *port)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* A redis db number: decimal digits only. */
static int parse_db(const char *s, size_t n, int *db)
{
	char num[16];
	size_t i;

	if (copy_decoded(num, sizeof num, s, n) != 0 || num[0] == '\0' || strlen(num) > 6)
		return -1;
	for (i = 0; num[i] != '\0'; i++)
		if (num[i] < '0' || num[i] > '9')
			return -1;
	*db = atoi(num);
	return 0;
}

/* "host", "host:port", "[v6]", "[v6]:port" */
static int parse_hostport(const char *s, size_t n, char *host, size_t hostlen, int *port)
{
	const char *colon;

	if (n == 0)
		return -1;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL || rb == s + 1)
			return -1;
		if (copy_decoded(host, hostlen, s + 1, (size_t)(rb - s - 1)) != 0)
			return -1;
		if ((size_t)(rb + 1 - s) == n)
			return 0;
		if (rb[1] != ':')
			return -1;
		return parse_port(rb + 2, n - (size_t)(rb + 2 - s), port);
	}
	colon = memchr(s, ':', n);
	if (colon == NULL)
		return copy_decoded(host, hostlen, s, n);
	if (colon == s || copy_decoded(host, hostlen, s, (size_t)(colon - s)) != 0)
		return -1;
	return parse_port(colon + 1, n - (size_t)(colon + 1 - s), port);
}

/* The numeric address of name into host (hostlen bytes): 1 done, 0 not
 * resolvable now.  Connects then never wait on DNS. */
static int resolve_numeric(const char *name, char *host, size_t hostlen)
{
	struct addrinfo hints, *res = NULL;
	char num[NI_MAXHOST];
	int ok = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0 || res == NULL)
		return 0;
	if (getnameinfo(res->ai_addr, res->ai_addrlen, num, sizeof num, NULL, 0, NI_NUMERICHOST) ==
	        0 &&
	    strlen(num) < hostlen) {
		memcpy(host, num, strlen(num) + 1);
		ok = 1;
	}
	freeaddrinfo(res);
	return ok;
}

/* Remember the name as given and resolve it (or only check syntax). */
static void set_name(const struct drp_cache_remote *r, char *host, char *name, int *resolved)
{
	/* both are 256 bytes and host is NUL-terminated within them */
	memcpy(name, host, strnlen(host, 255) + 1);
	name[255] = '\0';
	*resolved = r->no_resolve || resolve_numeric(name, host, 256);
}

int drp_cache_remote_resolve(struct drp_cache_remote *r)
{
	int i, got = 0;

	if (r->kind == DRP_CACHE_REDIS && r->unix_path[0] == '\0' && !r->resolved &&
	    resolve_numeric(r->name, r->host, sizeof r->host))
		got = r->resolved = 1;
	for (i = 0; i < r->n_mc; i++)
		if (!r->mc[i].resolved &&
		    resolve_numeric(r->mc[i].name, r->mc[i].host, sizeof r->mc[i].host))
			got = r->mc[i].resolved = 1;
	/* nothing was connected while a name was missing: the next use
	 * connects at once instead of waiting out the backoff */
	if (got)
		r->down_until = 0;
	return got;
}

static int parse_query(struct drp_cache_remote *r, const char *q, char *err, size_t errlen)
{
	while (q != NULL && *q != '\0') {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', n);

		if (eq == NULL) {
			seterr(err, errlen, "cache: bad query parameter in redis URL");
			return -1;
		}
		if ((size_t)(eq - q) == 2 && strncmp(q, "db", 2) == 0) {
			if (parse_db(eq + 1, n - 3, &r->db) != 0) {
				seterr(err, errlen, "cache: bad redis db");
				return -1;
			}
		} else if ((size_t)(eq - q) == 8 && strncmp(q, "password", 8) == 0) {
			if (copy_decoded(r->password, sizeof r->password, eq + 1, n - 9) != 0)
				goto bad;
		} else if (((size_t)(eq - q) == 4 && strncmp(q, "user", 4) == 0) ||
		           ((size_t)(eq - q) == 8 && strncmp(q, "username", 8) == 0)) {
			size_t kl = (size_t)(eq - q) + 1;

			if (copy_decoded(r->user, sizeof r->user, eq + 1, n - kl) != 0)
				goto bad;
		} else {
			seterr(err, errlen, "cache: unknown redis URL parameter '%.*s'",
			       (int)(eq - q), q);
			return -1;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
bad:
	seterr(err, errlen, "cache: bad redis URL parameter");
	return -1;
}

/* userinfo is "[user][:password]" */
static int parse_userinfo(struct drp_cache_remote *r, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);

	if (colon == NULL)
		return copy_decoded(r->password, sizeof r->password, s, n);
	if (copy_decoded(r->user, sizeof r->user, s, (size_t)(colon - s)) != 0)
		return -1;
	return copy_decoded(r->password, sizeof r->password, colon + 1,
	                    n - (size_t)(colon + 1 - s));
}

static int parse_redis(struct drp_cache_remote *r, const char *url, char *err, size_t errlen)
{
	const char *rest = strstr(url, "://") + 3;
	int is_unix =
	    strncasecmp(url, "redis+unix://", 13) == 0 || strncasecmp(url, "unix://", 7) == 0;
	const char *q = strchr(rest, '?');
	size_t n = q ? (size_t)(q - rest) : strlen(rest);
	const char *at = NULL;
	size_t i;

	r->port = 6379;
	for (i = 0; i < n; i++)
		if (rest[i] == '@')
			at = rest + i;
	if (at != NULL) {
		if (parse_userinfo(r, rest, (size_t)(at - rest)) != 0) {
			seterr(err, errlen, "cache: bad credentials in redis URL");
			return -1;
		}
		n -= (size_t)(at + 1 - rest);
		rest = at + 1;
	}
	if (is_unix) {
		if (n == 0 || rest[0] != '/' ||
		    copy_decoded(r->unix_path, sizeof r->unix_path, rest, n) != 0) {
			seterr(err, errlen, "cache: redis+unix:// needs an absolute socket path");
			return -1;
		}
	} else {
		const char *slash = memchr(rest, '/', n);
		size_t hn = slash ? (size_t)(slash - rest) : n;

		if (parse_hostport(rest, hn, r->host, sizeof r->host, &r->port) != 0) {
			seterr(err, errlen, "cache: bad host:port in redis URL");
			return -1;
		}
		if (slash != NULL && (size_t)(slash + 1 - rest) < n) {
			size_t dn = n - (size_t)(slash + 1 - rest);

			if (parse_db(slash + 1, dn, &r->db) != 0) {
				seterr(err, errlen, "cache: bad redis db number");
				return -1;
			}
		}
		set_name(r, r->host, r->name, &r->resolved);
	}
	return parse_query(r, q ? q + 1 : NULL, err, errlen);
}

static int parse_memcached(struct drp_cache_remote *r, const char *url, char *err, size_t errlen)
{
	const char *s = strstr(url, "://") + 3;
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		n--;
	while (n > 0) {
		const char *comma = memchr(s, ',', n);
		size_t len = comma ? (size_t)(comma - s) : n;
		struct mc_server *m;

		if (r->n_mc == MC_MAX_SERVERS) {
			seterr(err, errlen, "cache: more than %d memcached servers",
			       MC_MAX_SERVERS);
			return -1;
		}
		m = &r->mc[r->n_mc];
		m->port = 11211;
		if (parse_hostport(s, len, m->host, sizeof m->host, &m->port) != 0) {
			seterr(err, errlen, "cache: bad memcached server '%.*s'", (int)len, s);
			return -1;
		}
		set_name(r, m->host, m->name, &m->resolved);
		r->n_mc++;
		if (comma == NULL)
			break;
		n -= len + 1;
		s = comma + 1;
	}
	if (r->n_mc == 0) {
		seterr(err, errlen, "cache: memcached:// needs at least one server");
		return -1;
	}
	return 0;
}

static int parse_url(struct drp_cache_remote *r, const struct drp_cache_opts *o, char *err,
                     size_t errlen)
{
	/* drp_cache_opts_parse_url chose the backend from the scheme */
	if (strstr(o->url, "://") == NULL) {
		seterr(err, errlen, "cache: not a URL");
		return -1;
	}
	if (o->backend == DRP_CACHE_REDIS)
		return parse_redis(r, o->url, err, errlen);
	if (o->backend == DRP_CACHE_MEMCACHED)
		return parse_memcached(r, o->url, err, errlen);
	seterr(err, errlen, "cache: not a remote backend");
	return -1;
}

int drp_cache_remote_check_url(const struct drp_cache_opts *o, char *err, size_t errlen)
{
	struct drp_cache_remote *r = calloc(1, sizeof *r);
	int rc;

	if (r == NULL) {
		seterr(err, errlen, "cache: out of memory");
		return -1;
	}
	r->no_resolve = 1;
	rc = parse_url(r, o, err, errlen);
	explicit_bzero(r->password, sizeof r->password);
	free(r);
	return rc;
}

int drp_cache_remote_new(struct drp_cache_remote **out, const struct drp_cache_opts *o, char *err,
                         size_t errlen)
{
	struct drp_cache_remote *r = calloc(1, sizeof *r);

	*out = NULL;
	if (r == NULL) {
		seterr(err, errlen, "cache: out of memory");
		return -1;
	}
	r->kind = o->backend;
	snprintf(r->prefix, sizeof r->prefix, "%s", o->prefix);
	r->connect_ms = o->connect_timeout_ms;
	r->io_ms = o->timeout_ms;
	r->retry_ms = o->retry_ms > 0 ? o->retry_ms : 1;
	r->retry_max_ms = o->retry_max_ms > r->retry_ms ? o->retry_max_ms : r->retry_ms;
	if (parse_url(r, o, err, errlen) != 0) {
		explicit_bzero(r->password, sizeof r->password);
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void drp_cache_remote_free(struct drp_cache_remote *r)
{
	if (r == NULL)
		return;
	if (r->rc != NULL)
		redisFree(r->rc);
	if (r->memc != NULL)
		memcached_free(r->memc);
	explicit_bzero(r->password, sizeof r->password);
	free(r);
}

int drp_cache_remote_usable(struct drp_cache_remote *r)
{
	if (!r->down)
		return 1;
	/* memcached parks failed servers itself, per server */
	if (r->kind == DRP_CACHE_MEMCACHED)
		return 1;
	return drp_now_ms() >= r->down_until;
}

int drp_cache_remote_down(const struct drp_cache_remote *r)
{
	return r->down;
}

const char *drp_cache_remote_error(const struct drp_cache_remote *r)
{
	return r->err;
}

void drp_cache_remote_forget(struct drp_cache_remote *r)
{
	if (r->rc != NULL) {
		/* redisFree only closes our copy of the descriptor */
		redisFree(r->rc);
		r->rc = NULL;
	}
	/* memcached_free would send "quit" on the parent's connections: leave
	 * the handle to the parent (one small allocation per fork) */
	r->memc = NULL;
}

static void mark_ok(struct drp_cache_remote *r)
{
	r->mc_used = 1;
	r->down = 0;
	r->backoff_ms = 0;
}

static int fail(struct drp_cache_remote *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(struct drp_cache_remote *r, const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	r->broken =
	    r->rc != NULL && (r->rc->err == REDIS_ERR_EOF ||
	                      (r->rc->err == REDIS_ERR_IO && (e == ECONNRESET || e == EPIPE)));
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof r->err, fmt, ap);
	va_end(ap);
	if (r->rc != NULL) {
		redisFree(r->rc);
		r->rc = NULL;
	}
	r->backoff_ms = r->down ? r->backoff_ms * 2 : r->retry_ms;
	if (r->backoff_ms > r->retry_max_ms)
		r->backoff_ms = r->retry_max_ms;
	r->down = 1;
	r->down_until = drp_now_ms() + (uint64_t)r->backoff_ms;
	return -1;
}

static void key_name(const struct drp_cache_remote *r, char kind, const uint8_t key[32], char *out,
                     size_t outlen)
{
	char hex[65];

	drp_hex(key, 32, hex);
	snprintf(out, outlen, "%s%c:%s", r->prefix, kind, hex);
}

/* ---- redis ---- */

static struct timeval ms_tv(long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	return tv;
}

static int redis_simple(struct drp_cache_remote *r, redisReply *rep, const char *what)
{
	if (rep == NULL)
		return fail(r, "redis %s: %s", what,
		            r->rc && r->rc->errstr[0] ? r->rc->errstr : "no reply");
	if (rep->type == REDIS_REPLY_ERROR) {
		fail(r, "redis %s: %.80s", what, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

static int redis_connect(struct drp_cache_remote *r)
{
	redisReply *rep;

	if (r->rc != NULL)
		return 0;
	if (r->unix_path[0] != '\0')
		r->rc = redisConnectUnixWithTimeout(r->unix_path, ms_tv(r->connect_ms));
	else if (!r->resolved)
		return fail(r, "redis: cannot resolve %s (tried again between requests)", r->name);
	else
		r->rc = redisConnectWithTimeout(r->host, r->port, ms_tv(r->connect_ms));
	if (r->rc == NULL)
		return fail(r, "redis connect: out of memory");
	if (r->rc->err)
		return fail(r, "redis connect: %s", r->rc->errstr);
	if (redisSetTimeout(r->rc, ms_tv(r->io_ms)) != REDIS_OK)
		return fail(r, "redis: cannot set timeouts");
	if (r->password[0] != '\0') {
		if (r->user[0] != '\0')
			rep = redisCommand(r->rc, "AUTH %s %s", r->user, r->password);
		else
			rep = redisCommand(r->rc, "AUTH %s", r->password);
		if (redis_simple(r, rep, "AUTH") != 0)
			return -1;
	}
	if (r->db != 0) {
		rep = redisCommand(r->rc, "SELECT %d", r->db);
		if (redis_simple(r, rep, "SELECT") != 0)
			return -1;
	}
	return 0;
}

static int redis_reply(struct drp_cache_remote *r, redisReply **rep, const char *what)
{
	void *p = NULL;

	if (redisGetReply(r->rc, &p) != REDIS_OK || p == NULL) {
		if (p != NULL)
			freeReplyObject(p);
		return fail(r, "redis %s: %s", what, r->rc->errstr[0] ? r->rc->errstr : "no reply");
	}
	*rep = p;
	if ((*rep)->type == REDIS_REPLY_ERROR) {
		fail(r, "redis %s: %.80s", what, (*rep)->str);
		freeReplyObject(*rep);
		*rep = NULL;
		return -1;
	}
	return 0;
}

/* string/nil element into a gen buffer; -1 for other types */
static int take_gen(const redisReply *e, char gen[24], int *genlen)
{
	if (e->type == REDIS_REPLY_NIL) {
		*genlen = -1;
		return 0;
	}
	if (e->type == REDIS_REPLY_INTEGER) {
		*genlen = snprintf(gen, 24, "%lld", e->integer);
		return 0;
	}
	if (e->type != REDIS_REPLY_STRING || e->len >= 24)
		return -1;
	memcpy(gen, e->str, e->len);
	gen[e->len] = '\0';
	*genlen = (int)e->len;
	return 0;
}

static int redis_get(struct drp_cache_remote *r, const uint8_t key[32], struct drp_buf *val,
                     int *found, char gen[24], int *genlen)
{
	char kv[KEYNAME], kg[KEYNAME];
	redisReply *rep;
	const redisReply *v;

	if (redis_connect(r) != 0)
		return -1;
	key_name(r, 'v', key, kv, sizeof kv);
	key_name(r, 'g', key, kg, sizeof kg);
	if (gen != NULL)
		redisAppendCommand(r->rc, "MGET %s %s", kv, kg);
	else
		redisAppendCommand(r->rc, "GET %s", kv);
	if (redis_reply(r, &rep, gen ? "MGET" : "GET") != 0)
		return -1;
	v = rep;
	if (gen != NULL) {
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    take_gen(rep->element[1], gen, genlen) != 0) {
			freeReplyObject(rep);
			return fail(r, "redis MGET: unexpected reply");
		}
		v = rep->element[0];
	}
	*found = 0;
	if (v->type == REDIS_REPLY_STRING) {
		if (v->len <= DRP_CACHE_VALUE_MAX) {
			drp_buf_reset(val);
			if (drp_buf_append(val, v->str, v->len) != 0) {
				freeReplyObject(rep);
				return fail(r, "out of memory");
			}
			*found = 1;
		}
	} else if (v->type != REDIS_REPLY_NIL) {
		freeReplyObject(rep);
		return fail(r, "redis GET: unexpected reply");
	}
	freeReplyObject(rep);
	mark_ok(r);
	return 0;
}

static int redis_put(struct drp_cache_remote *r, const uint8_t key[32], const void *val, size_t len,
                     long ttl_s, const char *gen, int genlen, int *stored)
{
	char kv[KEYNAME], kg[KEYNAME], now[24];
	redisReply *rep;
	int nowlen = -1;

	*stored = 0;
	if (redis_connect(r) != 0)
		return -1;
	key_name(r, 'v', key, kv, sizeof kv);
	key_name(r, 'g', key, kg, sizeof kg);
	redisAppendCommand(r->rc, "SET %s %b EX %ld", kv, val, len, ttl_s);
	if (gen != NULL)
		redisAppendCommand(r->rc, "GET %s", kg);
	if (redis_reply(r, &rep, "SET") != 0)
		return -1;
	freeReplyObject(rep);
	if (gen != NULL) {
		if (redis_reply(r, &rep, "GET") != 0)
			return -1;
		if (take_gen(rep, now, &nowlen) != 0) {
			freeReplyObject(rep);
			return fail(r, "redis GET: unexpected reply");
		}
		freeReplyObject(rep);
		if (nowlen != genlen || (genlen > 0 && memcmp(now, gen, (size_t)genlen) != 0)) {
			/* invalidated while we computed it: take it back */
			rep = redisCommand(r->rc, "DEL %s", kv);
			if (redis_simple(r, rep, "DEL") != 0)
				return -1;
			mark_ok(r);
			return 0;
		}
	}
	*stored = 1;
	mark_ok(r);
	return 0;
}

static int redis_invalidate(struct drp_cache_remote *r, const uint8_t key[32], long ttl_s)
{
	char kv[KEYNAME], kg[KEYNAME];
	redisReply *rep;
	int i;

	if (redis_connect(r) != 0)
		return -1;
	key_name(r, 'v', key, kv, sizeof kv);
	key_name(r, 'g', key, kg, sizeof kg);
	/* generation first, then the verdict: see cache_remote.h */
	redisAppendCommand(r->rc, "INCR %s", kg);
	redisAppendCommand(r->rc, "EXPIRE %s %ld", kg, ttl_s + GEN_EXTRA_TTL);
	redisAppendCommand(r->rc, "DEL %s", kv);
	for (i = 0; i < 3; i++) {
		if (redis_reply(r, &rep, "INCR/DEL") != 0)
			return -1;
		freeReplyObject(rep);
	}
	mark_ok(r);
	return 0;
}

/* ---- memcached ---- */

/* memcached reads an exptime over 30 days as an absolute unix time */
static time_t mc_exptime(long s)
{
	if (s > 30L * 24 * 3600)
		return time(NULL) + (time_t)s;
	return (time_t)s;
}

/* The connection had worked and broke (the server restarted, an idle
 * timeout), as opposed to a server that is parked, timing out or refusing
 * us: worth one immediate retry. */
static int mc_fail(struct drp_cache_remote *r, memcached_return_t rc, const char *what)
{
	int used = r->mc_used;

	fail(r, "memcached %s: %s", what, memcached_strerror(r->memc, rc));
	r->broken = used && rc != MEMCACHED_TIMEOUT &&
	            rc != MEMCACHED_SERVER_TEMPORARILY_DISABLED &&
	            rc != MEMCACHED_SERVER_MARKED_DEAD;
	r->mc_used = 0;
	return -1;
}

static int mc_connect(struct drp_cache_remote *r)
{
	int i;
	long retry_s;

	if (r->memc != NULL)
		return 0;
	/* every server or none: a partial ring would hash keys elsewhere
	 * than the other scanner hosts do */
	for (i = 0; i < r->n_mc; i++)
		if (!r->mc[i].resolved)
			return fail(r,
			            "memcached: cannot resolve %s (tried again between requests)",
			            r->mc[i].name);
	r->memc = memcached_create(NULL);
	if (r->memc == NULL)
		return fail(r, "memcached: out of memory");
	for (i = 0; i < r->n_mc; i++) {
		if (memcached_server_add(r->memc, r->mc[i].host, (in_port_t)r->mc[i].port) !=
		    MEMCACHED_SUCCESS) {
			memcached_free(r->memc);
			r->memc = NULL;
			return fail(r, "memcached: bad server %s", r->mc[i].host);
		}
	}
	retry_s = (r->retry_ms + 999) / 1000;
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
	                       MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
	                       (uint64_t)r->connect_ms);
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, (uint64_t)r->io_ms);
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)r->io_ms * 1000);
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)r->io_ms * 1000);
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, (uint64_t)retry_s);
	/* 2: the first failure of a connection that had worked is retried
	 * at once (see retry_ok); a second one parks the server */
	memcached_behavior_set(r->memc, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 2);
	return 0;
}

static int mc_ok(memcached_return_t rc)
{
	return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_END ||
	       rc == MEMCACHED_BUFFERED;
}

static int mc_get(struct drp_cache_remote *r, const uint8_t key[32], struct drp_buf *val,
                  int *found, char gen[24], int *genlen)
{
	size_t plen;
	char kv[KEYNAME], kg[KEYNAME];
	const char *keys[2];
	size_t lens[2];
	memcached_return_t rc;
	memcached_result_st *res;
	int errors = 0;

	*found = 0;
	if (genlen != NULL)
		*genlen = -1;
	if (mc_connect(r) != 0)
		return -1;
	key_name(r, 'v', key, kv, sizeof kv);
	key_name(r, 'g', key, kg, sizeof kg);
	plen = strlen(r->prefix) + 2; /* group key: the hex, same server for both */
	keys[0] = kv;
	keys[1] = kg;
	lens[0] = strlen(kv);
	lens[1] = strlen(kg);
	rc = memcached_mget_by_key(r->memc, kv + plen, 64, keys, lens, gen != NULL ? 2 : 1);
	if (!mc_ok(rc) && rc != MEMCACHED_SOME_ERRORS)
		return mc_fail(r, rc, "get");
	if (rc == MEMCACHED_SOME_ERRORS)
		errors++;
	while ((res = memcached_fetch_result(r->memc, NULL, &rc)) != NULL) {
		const char *k = memcached_result_key_value(res);
		size_t kl = memcached_result_key_length(res);
		const char *v = memcached_result_value(res);
		size_t vl = memcached_result_length(res);

		if (kl == lens[0] && memcmp(k, kv, kl) == 0 && vl <= DRP_CACHE_VALUE_MAX) {
			drp_buf_reset(val);
			if (drp_buf_append(val, v, vl) == 0)
				*found = 1;
		} else if (gen != NULL && kl == lens[1] && memcmp(k, kg, kl) == 0 && vl < 24) {
			memcpy(gen, v, vl);
			gen[vl] = '\0';
			*genlen = (int)vl;
		}
		memcached_result_free(res);
	}
	if (!mc_ok(rc))
		errors++;
	if (errors) {
		/* a server of the pair failed: the generation may be unknown */
		*found = 0;
		return mc_fail(r, rc, "get");
	}
	mark_ok(r);
	return 0;
}

static int mc_gen(struct drp_cache_remote *r, const char *kg, size_t plen, char now[24],
                  int *nowlen)
{
	memcached_return_t rc;
	size_t vl = 0;
	uint32_t flags;
	char *v = memcached_get_by_key(r->memc, kg + plen, 64, kg, strlen(kg), &vl, &flags, &rc);

	*nowlen = -1;
	if (v != NULL) {
		if (vl < 24) {
			memcpy(now, v, vl);
			now[vl] = '\0';
			*nowlen = (int)vl;
		}
		free(v);
		return 0;
	}
	if (rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_SUCCESS)
		return 0;
	return mc_fail(r, rc, "get");
}

static int mc_put(struct drp_cache_remote *r, const uint8_t key[32], const void *val, size_t len,
                  long ttl_s, const char *gen, int genlen, int *stored)
{
	size_t plen;
	char kv[KEYNAME], kg[KEYNAME], now[24];
	memcached_return_t rc;
	int nowlen;

	*stored = 0;
	if (mc_connect(r) != 0)
		return -1;
	key_name(r, 'v', key, kv, sizeof kv);
	key_name(r, 'g', key, kg, sizeof kg);
	plen = strlen(r->prefix) + 2; /* group key: the hex, same server for both */
	rc = memcached_set_by_key(r->memc, kv + plen, 64, kv, strlen(kv), val, len,
	                          mc_exptime(ttl_s), 0);
	if (rc != MEMCACHED_SUCCESS)
		return mc_fail(r, rc, "set");
	if (gen != NULL) {
		if (mc_gen(r, kg, plen, now, &nowlen) != 0) {
			memcached_delete_by_key(r->memc, kv + plen, 64, kv, strlen(kv), 0);
			return -1;
		}
		if (nowlen != genlen || (genlen > 0 && memcmp(now, gen, (size_t)genlen) != 0)) {
			rc = memcached_delete_by_key(r->memc, kv + plen, 64, kv, strlen(kv), 0);
			if (!mc_ok(rc))
				return mc_fail(r, rc, "delete");
			mark_ok(r);
			return 0;
		}
	}
	*stored = 1;
	mark_ok(r);
	return 0;
}

static int mc_invalidate(struct drp_cache_remote *r, const uint8_t key[32], long ttl_s)
{
	size_t plen;
	char kv[KEYNAME], kg[KEYNAME];
	memcached_return_t rc;
	uint64_t nv;
	int tries;

	if (mc_connect(r) != 0)
		return -1;
	key_name(r, 'v', key, kv, sizeof kv);
	key_name(r, 'g', key, kg, sizeof kg);
	plen = strlen(r->prefix) + 2; /* group key: the hex, same server for both */
	/* incr does not create; add does not overwrite: loop until one wins */
	for (tries = 0; tries < 3; tries++) {
		rc = memcached_increment_by_key(r->memc, kg + plen, 64, kg, strlen(kg), 1, &nv);
		if (rc == MEMCACHED_SUCCESS)
			break;
		if (rc != MEMCACHED_NOTFOUND)
			return mc_fail(r, rc, "incr");
		rc = memcached_add_by_key(r->memc, kg + plen, 64, kg, strlen(kg), "1", 1,
		                          mc_exptime(ttl_s + GEN_EXTRA_TTL), 0);
		if (rc == MEMCACHED_SUCCESS)
			break;
		if (rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS)
			return mc_fail(r, rc, "add");
	}
	if (tries == 3)
		return fail(r, "memcached: generation bump kept racing");
	memcached_touch_by_key(r->memc, kg + plen, 64, kg, strlen(kg),
	                       mc_exptime(ttl_s + GEN_EXTRA_TTL));
	rc = memcached_delete_by_key(r->memc, kv + plen, 64, kv, strlen(kv), 0);
	if (!mc_ok(rc))
		return mc_fail(r, rc, "delete");
	mark_ok(r);
	return 0;
}

/* ---- dispatch ---- */

struct backoff {
	int down;
	uint64_t down_until;
	long backoff_ms;
};

/* A connection that worked before and is found closed (the server restarted,
 * an idle timeout) is not an outage: reconnect and try once more before
 * counting a failure.  Timeouts are not retried: that would double them. */
static int retry_ok(struct drp_cache_remote *r, int reused, const struct backoff *b)
{
	if (!reused || !r->broken)
		return 0;
	r->down = b->down;
	r->down_until = b->down_until;
	r->backoff_ms = b->backoff_ms;
	r->broken = 0;
	return 1;
}

static int reused_conn(const struct drp_cache_remote *r)
{
	return r->kind == DRP_CACHE_REDIS ? r->rc != NULL : r->mc_used;
}

int drp_cache_remote_get(struct drp_cache_remote *r, const uint8_t key[DRP_CACHE_KEY_LEN],
                         struct drp_buf *val, int *found, char gen[24], int *genlen)
{
	struct backoff b = {r->down, r->down_until, r->backoff_ms};
	int reused = reused_conn(r), rc, tries;

	for (tries = 0; tries < 2; tries++) {
		*found = 0;
		if (genlen != NULL)
			*genlen = -1;
		if (r->kind == DRP_CACHE_REDIS)
			rc = redis_get(r, key, val, found, gen, genlen);
		else
			rc = mc_get(r, key, val, found, gen, genlen);
		if (rc == 0 || !retry_ok(r, reused, &b))
			break;
	}
	return rc;
}

int drp_cache_remote_put(struct drp_cache_remote *r, const uint8_t key[DRP_CACHE_KEY_LEN],
                         const void *val, size_t len, long ttl_s, const char *gen, int genlen,
                         int *stored)
{
	struct backoff b = {r->down, r->down_until, r->backoff_ms};
	int reused = reused_conn(r), rc, tries;

	for (tries = 0; tries < 2; tries++) {
		if (r->kind == DRP_CACHE_REDIS)
			rc = redis_put(r, key, val, len, ttl_s, gen, genlen, stored);
		else
			rc = mc_put(r, key, val, len, ttl_s, gen, genlen, stored);
		if (rc == 0 || !retry_ok(r, reused, &b))
			break;
	}
	return rc;
}

int drp_cache_remote_invalidate(struct drp_cache_remote *r, const uint8_t key[DRP_CACHE_KEY_LEN],
                                long ttl_s)
{
	struct backoff b = {r->down, r->down_until, r->backoff_ms};
	int reused = reused_conn(r), rc, tries;

	for (tries = 0; tries < 2; tries++) {
		if (r->kind == DRP_CACHE_REDIS)
			rc = redis_invalidate(r, key, ttl_s);
		else
			rc = mc_invalidate(r, key, ttl_s);
		if (rc == 0 || !retry_ok(r, reused, &b))
			break;
	}
	return rc;
}
