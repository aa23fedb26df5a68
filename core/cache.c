/*
 * cache: verdict cache front end (see cache.h).  Implementation in progress:
 * this first version only parses options and behaves as "off".
 */
#include "cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct drp_cache {
	struct drp_cache_opts o;
};

void drp_cache_opts_default(struct drp_cache_opts *o)
{
	memset(o, 0, sizeof *o);
	o->backend = DRP_CACHE_EMBEDDED;
	o->ttl_s = 300;
	o->entries = 20000;
	o->bytes = 16L << 20;
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
		snprintf(err, errlen,
		         "cache: unknown backend '%s' (off, embedded, redis://, "
		         "redis+unix://, memcached://)",
		         v);
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

int drp_cache_open(struct drp_cache **out, const struct drp_cache_opts *o, char *err, size_t errlen)
{
	struct drp_cache *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(err, errlen, "cache: out of memory");
		return -1;
	}
	c->o = *o;
	*out = c;
	return 0;
}

void drp_cache_close(struct drp_cache *c)
{
	free(c);
}

enum drp_cache_backend drp_cache_backend(const struct drp_cache *c)
{
	return DRP_CACHE_OFF;
}

enum drp_cache_res drp_cache_begin(struct drp_cache *c, struct drp_cache_ticket *t,
                                   const uint8_t key[DRP_CACHE_KEY_LEN], uint64_t wait_deadline_ms,
                                   struct drp_buf *out)
{
	memset(t, 0, sizeof *t);
	memcpy(t->key, key, DRP_CACHE_KEY_LEN);
	t->flight = -1;
	t->no_store = 1;
	return DRP_CACHE_MISS;
}

int drp_cache_finish(struct drp_cache *c, struct drp_cache_ticket *t, const void *val, size_t len,
                     int cacheable)
{
	t->done = 1;
	return 0;
}

int drp_cache_invalidate(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN])
{
	return 0;
}

int drp_cache_get(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN], struct drp_buf *out)
{
	return 0;
}

int drp_cache_put(struct drp_cache *c, const uint8_t key[DRP_CACHE_KEY_LEN], const void *val,
                  size_t len)
{
	return -1;
}

void drp_cache_stats(struct drp_cache *c, struct drp_cache_stats *st)
{
	memset(st, 0, sizeof *st);
	st->backend_up = -1;
	st->backend = "off";
}

void drp_cache_key_hex(const uint8_t key[DRP_CACHE_KEY_LEN], char out[65])
{
	drp_hex(key, DRP_CACHE_KEY_LEN, out);
}
