/* svc: see svc.h. */
#include "svc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verdict.h"

const struct drp_net_ops *const drp_svc_networks[3] = {&drp_dcc_ops, &drp_razor_ops,
                                                       &drp_pyzor_ops};

#define DEFAULT_REFRESH_MS (300L * 1000)

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int drp_svc_parse_size(const char *key, const char *v, size_t def, size_t *out, char *err,
                       size_t errlen)
{
	unsigned long long n, mul = 1;
	char *end;

	if (v == NULL || *v == 0) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *v == '-')
		goto bad;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		mul = 1024;
		end++;
		break;
	case 'm':
		mul = 1024 * 1024;
		end++;
		break;
	case 'g':
		mul = 1024ull * 1024 * 1024;
		end++;
		break;
	}
	if (tolower((unsigned char)*end) == 'b' || tolower((unsigned char)*end) == 'i')
		end++;
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end != 0 || n > (1ull << 40) / mul)
		goto bad;
	*out = (size_t)(n * mul);
	return 0;
bad:
	snprintf(err, errlen, "%s: not a size: '%s'", key, v);
	return -1;
}

/* The keys the service itself reads (the networks and the cache validate
 * their own).  Kept in one table so --check-config and docs agree. */
static const struct {
	const char *key;
	const char *def;
	int secret;
} svc_keys[] = {
    {"listen", "", 0},
    {"workers", "", 0},
    {"socket_mode", "0660", 0},
    {"backend_timeout", "5", 0},
    {"max_body", "8m", 0},
    {"refresh_interval", "300", 0},
    {"request_timeout", "30", 0},
    {"metrics_path", "", 0},
    {"log_file", "", 0},
    {"web_server_addrs", "", 0},
    {"token", "", 1},
    {"token_file", "", 0},
    {"check_token", "", 1},
    {"check_token_file", "", 0},
    {"cache", "embedded", 0},
    {"cache_ttl", "300", 0},
    {"cache_entries", "20000", 0},
    {"cache_bytes", "16m", 0},
    {"cache_path", "", 0},
    {"cache_timeout", "20ms", 0},
    {"cache_connect_timeout", "20ms", 0},
};

int drp_svc_known_key(const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < sizeof(svc_keys) / sizeof(svc_keys[0]); i++) {
		size_t k = strlen(svc_keys[i].key);

		if (strcmp(svc_keys[i].key, key) == 0 ||
		    (n == k + 5 && strncmp(key, svc_keys[i].key, k) == 0 &&
		     strcmp(key + k, "_file") == 0))
			return 1;
	}
	/* the networks and the cache validate their own families */
	return strncmp(key, "cache_", 6) == 0 || strncmp(key, "dcc_", 4) == 0 ||
	       strncmp(key, "razor_", 6) == 0 || strncmp(key, "pyzor_", 6) == 0;
}

int drp_svc_check_config(const struct drp_config *cfg, char *err, size_t errlen)
{
	struct drp_auth *auth;
	struct drp_cache_opts co;
	size_t sz;
	long v;

	if (drp_config_ms(cfg, "backend_timeout", 5000, &v, err, errlen) < 0)
		return -1;
	if (v < 1 || v > 600000) {
		snprintf(err, errlen, "backend_timeout: must be between 1ms and 600s");
		return -1;
	}
	if (drp_svc_parse_size("max_body", drp_config_get(cfg, "max_body"),
	                       DRP_SVC_DEFAULT_MAX_BODY, &sz, err, errlen) < 0)
		return -1;
	if (sz < 1024) {
		snprintf(err, errlen, "max_body: must be at least 1k");
		return -1;
	}
	if (drp_config_ms(cfg, "refresh_interval", DEFAULT_REFRESH_MS, &v, err, errlen) < 0 ||
	    drp_config_ms(cfg, "request_timeout", 30000, &v, err, errlen) < 0)
		return -1;
	if (drp_config_long(cfg, "workers", 0, &v, err, errlen) < 0)
		return -1;
	if (v < 0 || v > DRP_METRICS_WORKERS) {
		snprintf(err, errlen, "workers: must be between 1 and %d", DRP_METRICS_WORKERS);
		return -1;
	}
	{
		const char *m = drp_config_get(cfg, "socket_mode");
		char *end;

		if (m != NULL && *m && (strtol(m, &end, 8) > 0777 || *end != 0 || end == m)) {
			snprintf(err, errlen, "socket_mode: not an octal mode: '%s'", m);
			return -1;
		}
	}
	{
		const char *l = drp_config_get(cfg, "listen");

		if (l != NULL && *l && strncmp(l, "unix:", 5) != 0 && strncmp(l, "tcp:", 4) != 0) {
			snprintf(err, errlen,
			         "listen: expected unix:/path or tcp:host:port, got '%s'", l);
			return -1;
		}
	}
	auth = calloc(1, sizeof(*auth));
	if (auth == NULL)
		return -1;
	if (drp_auth_load(auth, cfg, err, errlen) < 0) {
		free(auth);
		return -1;
	}
	drp_auth_clear(auth);
	free(auth);
	return drp_cache_opts_from_config(&co, cfg, err, errlen);
}

static int is_secret(const char *key)
{
	size_t n = strlen(key);

	if (n > 5 && strcmp(key + n - 5, "_file") == 0)
		return 0;
	return strstr(key, "token") != NULL || strstr(key, "pass") != NULL ||
	       strstr(key, "secret") != NULL || (n >= 3 && strcmp(key + n - 3, "key") == 0);
}

/* "redis://:pw@host" → "redis://:***@host" */
static void mask_url(const char *v, struct drp_buf *out)
{
	const char *s = strstr(v, "://"), *at;

	if (s == NULL || (at = strchr(s + 3, '@')) == NULL) {
		const char *pw = strstr(v, "password=");

		if (pw != NULL) {
			drp_buf_append(out, v, (size_t)(pw - v) + 9);
			drp_buf_printf(out, "***");
			pw += 9;
			while (*pw && *pw != '&')
				pw++;
			drp_buf_printf(out, "%s", pw);
			return;
		}
		drp_buf_printf(out, "%s", v);
		return;
	}
	drp_buf_append(out, v, (size_t)(s + 3 - v));
	drp_buf_printf(out, "***%s", at);
}

static int seen(const char **keys, size_t n, const char *k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i], k) == 0)
			return 1;
	return 0;
}

extern char **environ;

int drp_svc_dump_config(const struct drp_config *cfg, struct drp_buf *out)
{
	const char *keys[512];
	char kbuf[128][64];
	size_t n = 0, i, nk = 0;
	char **e;

	for (i = 0; i < sizeof(svc_keys) / sizeof(svc_keys[0]) && n < 512; i++)
		keys[n++] = svc_keys[i].key;
	for (i = 0; i < drp_config_count(cfg) && n < 512; i++)
		if (!seen(keys, n, drp_config_key_at(cfg, i)))
			keys[n++] = drp_config_key_at(cfg, i);
	/* keys given only through the environment */
	for (e = environ; *e && n < 512 && nk < 128; e++) {
		const char *eq = strchr(*e, '='), *name = *e;
		size_t l;

		if (eq == NULL)
			continue;
		if (strncmp(name, "DRP_", 4) == 0)
			name += 4;
		else if (strncmp(name, "PYZOR_", 6) && strncmp(name, "RAZOR_", 6) &&
		         strncmp(name, "DCC_", 4))
			continue;
		l = (size_t)(eq - name);
		if (l == 0 || l >= sizeof(kbuf[0]) || strncmp(*e, "DRP_CONFIG=", 11) == 0)
			continue;
		for (i = 0; i < l; i++)
			kbuf[nk][i] = (char)tolower((unsigned char)name[i]);
		kbuf[nk][l] = 0;
		if (!seen(keys, n, kbuf[nk]))
			keys[n++] = kbuf[nk++];
	}
	for (i = 0; i < n; i++) {
		const char *k = keys[i], *v = drp_config_get(cfg, k),
		           *src = drp_config_source(cfg, k);
		char env[128];
		size_t j;
		const char *def = NULL;

		for (j = 0; j < sizeof(svc_keys) / sizeof(svc_keys[0]); j++)
			if (strcmp(svc_keys[j].key, k) == 0)
				def = svc_keys[j].def;
		drp_config_env_name(k, env, sizeof(env));
		drp_buf_printf(out, "%s = ", k);
		if (v == NULL)
			drp_buf_printf(out, "%s", def ? def : "");
		else if (is_secret(k))
			drp_buf_printf(out, "%s", *v ? "********" : "");
		else if (strcmp(k, "cache") == 0)
			mask_url(v, out);
		else
			drp_buf_printf(out, "%s", v);
		drp_buf_printf(out, "    # %s, %s\n", v ? (src ? src : "?") : "default", env);
	}
	return 0;
}

void drp_svc_cache_key(const uint8_t *body, size_t len, const struct drp_envelope *env,
                       uint8_t key[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int kl = 0;
	int i;

	/* Every field length-prefixed and tagged so no two different
	 * (body, envelope) pairs serialise alike. */
	static const char tag[] = "drp-verdict-v1";
	uint8_t l8[9];

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		memset(key, 0, 32);
		EVP_MD_CTX_free(c);
		return;
	}
	EVP_DigestUpdate(c, tag, sizeof(tag));
#define FIELD(t, p, n)                                                                             \
	do {                                                                                       \
		uint64_t n_ = (uint64_t)(n);                                                       \
		int k_;                                                                            \
		l8[0] = (uint8_t)(t);                                                              \
		for (k_ = 0; k_ < 8; k_++)                                                         \
			l8[1 + k_] = (uint8_t)(n_ >> (56 - 8 * k_));                               \
		EVP_DigestUpdate(c, l8, 9);                                                        \
		if (n_)                                                                            \
			EVP_DigestUpdate(c, (p), (size_t)n_);                                      \
	} while (0)
	FIELD('B', body, len);
	if (env != NULL) {
		if (env->client_ip)
			FIELD('I', env->client_ip, strlen(env->client_ip));
		if (env->helo)
			FIELD('H', env->helo, strlen(env->helo));
		if (env->env_from)
			FIELD('F', env->env_from, strlen(env->env_from));
		for (i = 0; i < env->n_rcpt; i++)
			FIELD('T', env->env_rcpt[i], strlen(env->env_rcpt[i]));
		if (env->ip_from_received)
			FIELD('R', "", 0);
	}
#undef FIELD
	EVP_DigestFinal_ex(c, key, &kl);
	EVP_MD_CTX_free(c);
}

int drp_svc_init(struct drp_svc *s, struct drp_config *cfg, const struct drp_svc_opts *o, char *err,
                 size_t errlen)
{
	struct drp_svc_opts def = {0};
	struct drp_cache_opts co;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	if (o == NULL)
		o = &def;
	if (drp_svc_check_config(cfg, err, errlen) < 0)
		goto fail_cfg;
	drp_svc_parse_size("max_body", drp_config_get(cfg, "max_body"), DRP_SVC_DEFAULT_MAX_BODY,
	                   &s->max_body, err, errlen);
	drp_config_ms(cfg, "refresh_interval", DEFAULT_REFRESH_MS, &s->refresh_ms, err, errlen);
	if (drp_auth_load(&s->auth, cfg, err, errlen) < 0)
		goto fail_cfg;
	if (drp_fanout_init(&s->fo, cfg, o->ops ? o->ops : drp_svc_networks, o->ops ? o->nops : 3,
	                    err, errlen) < 0)
		goto fail_auth;
	/* a coalesced check waits for its leader's whole budget, plus slack */
	s->cache_wait_ms = s->fo.timeout_ms + 500;
	if (drp_metrics_open(&s->metrics, o->metrics_path, err, errlen) < 0)
		goto fail_fo;
	if (!o->no_cache) {
		if (drp_cache_opts_from_config(&co, cfg, err, errlen) < 0)
			goto fail_metrics;
		if (co.backend != DRP_CACHE_OFF && co.ttl_s > 0 &&
		    drp_cache_open(&s->cache, &co, err, errlen) < 0)
			goto fail_metrics;
	}
	return 0;
fail_metrics:
	drp_metrics_close(s->metrics);
fail_fo:
	drp_fanout_free(&s->fo);
fail_auth:
	drp_auth_clear(&s->auth);
fail_cfg:
	s->cfg = NULL;
	return -1;
}

void drp_svc_free(struct drp_svc *s)
{
	if (s->cache != NULL)
		drp_cache_close(s->cache);
	if (s->metrics != NULL)
		drp_metrics_close(s->metrics);
	drp_fanout_free(&s->fo);
	drp_auth_clear(&s->auth);
	drp_config_free(s->cfg);
	memset(s, 0, sizeof(*s));
}

void drp_svc_resp_init(struct drp_svc_resp *r)
{
	memset(r, 0, sizeof(*r));
	drp_buf_init(&r->body);
}

void drp_svc_resp_free(struct drp_svc_resp *r)
{
	drp_buf_free(&r->body);
}

void drp_svc_error(struct drp_svc_resp *resp, int status, const char *msg)
{
	struct json_object *o = json_object_new_object();

	resp->status = status;
	resp->ctype = "application/json";
	drp_buf_reset(&resp->body);
	if (o != NULL) {
		size_t n;
		const char *s;

		json_object_object_add(o, "error", json_object_new_string(msg));
		s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
		drp_buf_append(&resp->body, s, n);
		json_object_put(o);
	}
	drp_buf_putc(&resp->body, '\n');
}

static const char *reason(int st)
{
	switch (st) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	}
	return "Unknown";
}

int drp_svc_head(const struct drp_svc_resp *r, struct drp_buf *out)
{
	int rc = drp_buf_printf(out, "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
	                        r->status, reason(r->status),
	                        r->ctype ? r->ctype : "application/json", r->body.len);

	if (r->cache != NULL)
		rc |= drp_buf_printf(out, "X-DRP-Cache: %s\r\n", r->cache);
	if (r->status == 401)
		rc |= drp_buf_printf(out, "WWW-Authenticate: Bearer realm=\"drp\"\r\n");
	if (r->status == 405)
		rc |= drp_buf_printf(out, "Allow: %s\r\n", r->allow ? r->allow : "POST");
	rc |= drp_buf_printf(out, "Cache-Control: no-store\r\n\r\n");
	return rc;
}

/* Path without the query string, as a slice of uri. */
static size_t path_len(const char *uri)
{
	const char *q = strchr(uri, '?');

	return q ? (size_t)(q - uri) : strlen(uri);
}

static int path_is(const char *uri, const char *p)
{
	size_t n = path_len(uri);

	return n == strlen(p) && memcmp(uri, p, n) == 0;
}

static void health(struct drp_svc *s, const struct drp_svc_req *req, struct drp_svc_resp *resp)
{
	const char *why = NULL;
	int detail = strstr(req->uri, "?detail") != NULL || strstr(req->uri, "&detail") != NULL;
	struct drp_cache_stats cs;
	int alive, busy;

	if (s->draining)
		why = "draining";
	else if (s->auth.n == 0)
		why = "no API token configured";
	else if (drp_fanout_enabled(&s->fo) == 0)
		why = "no network enabled";
	resp->status = why ? 503 : 200;
	if (!detail) {
		resp->ctype = "text/plain";
		drp_buf_printf(&resp->body, "%s\n", why ? why : "ok");
		return;
	}
	resp->ctype = "application/json";
	drp_metrics_workers(s->metrics, &alive, &busy);
	if (s->cache != NULL)
		drp_cache_stats(s->cache, &cs);
	else {
		memset(&cs, 0, sizeof(cs));
		cs.backend = "off";
		cs.backend_up = -1;
	}
	{
		struct json_object *o = json_object_new_object(), *c, *w, *n;
		int i;
		size_t len;
		const char *str;

		if (o == NULL)
			return;
		json_object_object_add(o, "status", json_object_new_string(why ? why : "ok"));
		c = json_object_new_object();
		json_object_object_add(c, "backend", json_object_new_string(cs.backend));
		json_object_object_add(
		    c, "up", cs.backend_up < 0 ? NULL : json_object_new_boolean(cs.backend_up));
		if (cs.last_error[0])
			json_object_object_add(c, "last_error",
			                       json_object_new_string(cs.last_error));
		json_object_object_add(c, "entries", json_object_new_int64((int64_t)cs.entries));
		json_object_object_add(o, "cache", c);
		w = json_object_new_object();
		json_object_object_add(w, "alive", json_object_new_int(alive));
		json_object_object_add(w, "busy", json_object_new_int(busy));
		json_object_object_add(o, "workers", w);
		n = json_object_new_object();
		for (i = 0; i < s->fo.n; i++)
			json_object_object_add(
			    n, s->fo.net[i].ops->name,
			    json_object_new_string(s->fo.net[i].enabled ? "enabled" : "disabled"));
		json_object_object_add(o, "networks", n);
		if (s->last_refresh_error[0])
			json_object_object_add(o, "last_refresh_error",
			                       json_object_new_string(s->last_refresh_error));
		str = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
		drp_buf_append(&resp->body, str, len);
		drp_buf_putc(&resp->body, '\n');
		json_object_put(o);
	}
}

static void metrics_page(struct drp_svc *s, struct drp_svc_resp *resp)
{
	struct drp_cache_stats cs;

	resp->status = 200;
	resp->ctype = "text/plain; version=0.0.4";
	drp_metrics_render(s->metrics, DRP_VERSION_STRING, &resp->body);
	if (s->cache == NULL)
		return;
	drp_cache_stats(s->cache, &cs);
	drp_buf_printf(
	    &resp->body,
	    "# TYPE drp_cache_backend_up gauge\ndrp_cache_backend_up{backend=\"%s\"} %d\n"
	    "# TYPE drp_cache_pool_backend_errors_total counter\n"
	    "drp_cache_pool_backend_errors_total %llu\n"
	    "# TYPE drp_cache_pool_hits_total counter\ndrp_cache_pool_hits_total %llu\n"
	    "# TYPE drp_cache_pool_coalesced_total counter\n"
	    "drp_cache_pool_coalesced_total %llu\n"
	    "# TYPE drp_cache_entries gauge\ndrp_cache_entries %llu\n"
	    "# TYPE drp_cache_evictions_total counter\ndrp_cache_evictions_total %llu\n",
	    cs.backend, cs.backend_up, (unsigned long long)cs.backend_errors,
	    (unsigned long long)cs.hits, (unsigned long long)cs.coalesced,
	    (unsigned long long)cs.entries, (unsigned long long)cs.evictions);
}

int drp_svc_route(struct drp_svc *s, struct drp_svc_req *req, struct drp_svc_resp *resp)
{
	int is_post, is_get;
	enum drp_auth_rc ar;
	char msg[160];

	req->t0_us = now_us();
	resp->ctype = "application/json";
	if (req->method == NULL || req->uri == NULL) {
		req->ep = DRP_EP_OTHER;
		drp_svc_error(resp, 400, "not an HTTP request");
		return 0;
	}
	is_post = strcmp(req->method, "POST") == 0;
	is_get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (path_is(req->uri, "/health") || path_is(req->uri, "/metrics")) {
		int h = path_is(req->uri, "/health");

		req->ep = h ? DRP_EP_HEALTH : DRP_EP_METRICS;
		if (!is_get) {
			drp_svc_error(resp, 405, "method not allowed: use GET");
			resp->allow = "GET, HEAD";
			return 0;
		}
		if (h)
			health(s, req, resp);
		else
			metrics_page(s, resp);
		if (strcmp(req->method, "HEAD") == 0)
			drp_buf_reset(&resp->body);
		return 0;
	}
	if (path_is(req->uri, "/check")) {
		req->ep = DRP_EP_CHECK;
		req->op = DRP_OP_CHECK;
	} else if (path_is(req->uri, "/report")) {
		req->ep = DRP_EP_REPORT;
		req->op = DRP_OP_REPORT;
	} else if (path_is(req->uri, "/revoke")) {
		req->ep = DRP_EP_REVOKE;
		req->op = DRP_OP_REVOKE;
	} else {
		req->ep = DRP_EP_OTHER;
		drp_svc_error(resp, 404,
		              "no such endpoint (POST /check, /report, /revoke; GET "
		              "/health, /metrics)");
		return 0;
	}
	if (!is_post) {
		drp_svc_error(resp, 405, "method not allowed: use POST");
		return 0;
	}
	if (s->draining) {
		drp_svc_error(resp, 503, "shutting down");
		resp->close = 1;
		return 0;
	}
	ar = drp_auth_check(&s->auth, req->authorization, req->x_token, req->op);
	switch (ar) {
	case DRP_AUTH_OK:
		break;
	case DRP_AUTH_UNCONFIGURED:
		drp_svc_error(resp, 503, drp_auth_reason(ar));
		return 0;
	case DRP_AUTH_FORBIDDEN:
		drp_svc_error(resp, 403, drp_auth_reason(ar));
		return 0;
	default:
		drp_svc_error(resp, 401, drp_auth_reason(ar));
		return 0;
	}
	if (req->content_length > 0 && (unsigned long long)req->content_length > s->max_body) {
		snprintf(msg, sizeof(msg), "message larger than max_body (%zu bytes)", s->max_body);
		drp_svc_error(resp, 413, msg);
		resp->close = 1;
		return 0;
	}
	return 1;
}

static int header_ok(const char *v, size_t max)
{
	size_t n = 0;

	for (; v[n]; n++)
		if ((unsigned char)v[n] < 0x20 || v[n] == 0x7f)
			return 0;
	return n <= max;
}

/* The envelope from the X-DRP-* headers; rcpt values are split on commas
 * into `store` (kept alive by the caller).  NULL-free; 0 or -1 with msg. */
static int envelope(const struct drp_svc_req *req, struct drp_envelope *env, struct drp_buf *store,
                    char *msg, size_t msglen)
{
	size_t offs[DRP_ENV_MAX_RCPT];
	int i;

	memset(env, 0, sizeof(*env));
	if (req->client_ip != NULL && *req->client_ip) {
		unsigned char a[16];

		if (inet_pton(AF_INET, req->client_ip, a) != 1 &&
		    inet_pton(AF_INET6, req->client_ip, a) != 1) {
			snprintf(msg, msglen, "X-DRP-Client-IP: not an IP address");
			return -1;
		}
		env->client_ip = req->client_ip;
	}
	if (req->helo != NULL && *req->helo) {
		if (!header_ok(req->helo, 255)) {
			snprintf(msg, msglen, "X-DRP-Helo: bad value");
			return -1;
		}
		env->helo = req->helo;
	}
	if (req->env_from != NULL && *req->env_from) {
		if (!header_ok(req->env_from, 512)) {
			snprintf(msg, msglen, "X-DRP-Env-From: bad value");
			return -1;
		}
		env->env_from = req->env_from;
	}
	for (i = 0; i < req->nrcpt; i++) {
		const char *p = req->rcpt[i];

		if (!header_ok(p, 65536)) {
			snprintf(msg, msglen, "X-DRP-Env-Rcpt: bad value");
			return -1;
		}
		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			const char *a = p, *b = p + n;

			while (a < b && (*a == ' ' || *a == '\t'))
				a++;
			while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (b > a) {
				if (env->n_rcpt == DRP_ENV_MAX_RCPT) {
					snprintf(msg, msglen,
					         "X-DRP-Env-Rcpt: more than %d recipients",
					         DRP_ENV_MAX_RCPT);
					return -1;
				}
				if (b - a > 512) {
					snprintf(msg, msglen, "X-DRP-Env-Rcpt: address too long");
					return -1;
				}
				offs[env->n_rcpt++] = store->len;
				if (drp_buf_append(store, a, (size_t)(b - a)) < 0 ||
				    drp_buf_putc(store, 0) < 0) {
					snprintf(msg, msglen, "out of memory");
					return -1;
				}
			}
			p += n;
			if (*p == ',')
				p++;
		}
	}
	for (i = 0; i < env->n_rcpt; i++)
		env->env_rcpt[i] = (const char *)store->p + offs[i];
	return 0;
}

int drp_svc_run(struct drp_svc *s, enum drp_op op, const uint8_t *msg, size_t len,
                const struct drp_envelope *env, struct drp_buf *out, int *listed, int *cacheable,
                char *err, size_t errlen)
{
	struct drp_fanout_result r;

	if (drp_fanout_run(&s->fo, op, msg, len, env, &r, err, errlen) < 0)
		return -1;
	if (s->metrics != NULL)
		drp_metrics_fanout(s->metrics, &r);
	if (listed != NULL)
		*listed = drp_fanout_listed(&r);
	if (cacheable != NULL)
		*cacheable = drp_fanout_all_ok(&r) && drp_fanout_enabled(&s->fo) > 0;
	if (drp_verdict_append(&r, out) < 0) {
		drp_fanout_result_free(&r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	drp_fanout_result_free(&r);
	return 0;
}

void drp_svc_handle(struct drp_svc *s, struct drp_svc_req *req, struct drp_svc_resp *resp)
{
	struct drp_envelope env;
	struct drp_buf store;
	char msg[256];
	uint8_t key[32];
	int cacheable = 0;

	drp_buf_init(&store);
	if (envelope(req, &env, &store, msg, sizeof(msg)) < 0) {
		drp_svc_error(resp, 400, msg);
		goto out;
	}
	if (req->body_len > s->max_body) {
		drp_svc_error(resp, 413, "message larger than max_body");
		goto out;
	}
	if (req->body_len == 0) {
		drp_svc_error(resp, 400, "empty body: POST the raw message");
		goto out;
	}
	drp_buf_reset(&resp->body);
	resp->ctype = "application/json";
	drp_svc_cache_key(req->body, req->body_len, &env, key);
	if (req->op == DRP_OP_CHECK && s->cache != NULL) {
		struct drp_cache_ticket t;
		enum drp_cache_res cr = drp_cache_begin(
		    s->cache, &t, key, drp_now_ms() + (uint64_t)s->cache_wait_ms, &resp->body);

		if (cr == DRP_CACHE_HIT || cr == DRP_CACHE_COALESCED) {
			drp_metrics_cache(s->metrics,
			                  cr == DRP_CACHE_HIT ? DRP_MC_HIT : DRP_MC_COALESCED);
			resp->status = 200;
			resp->cache = cr == DRP_CACHE_HIT ? "hit" : "coalesced";
			goto out;
		}
		drp_metrics_cache(s->metrics, DRP_MC_MISS);
		drp_buf_reset(&resp->body);
		if (drp_svc_run(s, req->op, req->body, req->body_len, &env, &resp->body, NULL,
		                &cacheable, msg, sizeof(msg)) < 0) {
			drp_cache_finish(s->cache, &t, NULL, 0, 0);
			drp_svc_error(resp, 500, msg);
			goto out;
		}
		if (drp_cache_finish(s->cache, &t, resp->body.p, resp->body.len, cacheable) == 1)
			drp_metrics_cache(s->metrics, DRP_MC_STORE);
		resp->status = 200;
		resp->cache = "miss";
		goto out;
	}
	/* report/revoke change the answer: forget it before and after, so a
	 * check racing with us cannot store the old one. */
	if (req->op != DRP_OP_CHECK && s->cache != NULL && drp_cache_invalidate(s->cache, key) < 0)
		drp_metrics_cache(s->metrics, DRP_MC_ERROR);
	if (drp_svc_run(s, req->op, req->body, req->body_len, &env, &resp->body, NULL, NULL, msg,
	                sizeof(msg)) < 0) {
		drp_svc_error(resp, 500, msg);
		goto out;
	}
	if (req->op != DRP_OP_CHECK && s->cache != NULL && drp_cache_invalidate(s->cache, key) < 0)
		drp_metrics_cache(s->metrics, DRP_MC_ERROR);
	resp->status = 200;
out:
	if (resp->status == 200)
		drp_buf_putc(&resp->body, '\n');
	drp_buf_free(&store);
}

void drp_svc_done(struct drp_svc *s, const struct drp_svc_req *req, const struct drp_svc_resp *resp)
{
	uint64_t t = now_us();

	drp_metrics_request(s->metrics, (enum drp_metrics_ep)req->ep, resp->status,
	                    t > req->t0_us ? t - req->t0_us : 0);
}

long drp_svc_idle_due(const struct drp_svc *s, uint64_t now_ms)
{
	uint64_t due = s->fo.refreshed_ms + (uint64_t)s->refresh_ms;

	if (s->refresh_ms <= 0)
		return 3600 * 1000;
	return due > now_ms ? (long)(due - now_ms) : 0;
}

int drp_svc_idle(struct drp_svc *s, uint64_t now_ms)
{
	char err[256] = "";

	if (drp_svc_idle_due(s, now_ms) > 0)
		return 0;
	if (drp_fanout_refresh(&s->fo, err, sizeof(err)) > 0)
		snprintf(s->last_refresh_error, sizeof(s->last_refresh_error), "%s", err);
	else
		s->last_refresh_error[0] = 0;
	drp_cache_refresh(s->cache);
	return 1;
}
