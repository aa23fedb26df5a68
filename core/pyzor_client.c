/* pyzor_client: see pyzor_client.h.  Protocol facts: shared/docs/pyzor-protocol.md
 * sections 1-6 (pyzor 1.0.0 client.py, message.py, account.py, bin/pyzor). */
#include "pyzor_client.h"

#include <errno.h>
#include <limits.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "pyzor_digest.h"

struct pz_server {
	struct drp_hostport hp;
	char name[DRP_HOST_MAX + 8]; /* "host:port" as configured */
	struct drp_addr addr;
	int resolved;
	char resolve_err[96];
	struct drp_pyzor_account acct;
	char hkey[41]; /* hex(SHA1(user ":" key)): the same for every request */
};

/* SHA-1 with the implementation fetched once and one reusable EVP context:
 * EVP_Digest(EVP_sha1()) looks the algorithm up again on every call. */
struct pz_sha {
	EVP_MD *md;
	EVP_MD_CTX *mc;
};

struct pz_req;

struct pz_ctx {
	int enabled;
	unsigned flags;
	long timeout_ms;
	long report_threshold, whitelist_threshold;
	int nservers;
	struct pz_server srv[DRP_PYZOR_MAX_SERVERS];
	struct pz_sha sha;
	struct drp_pyzor_digester *dg; /* digest scratch kept between requests */
	/* thread ids come from this pool of RAND_bytes output, refilled when
	 * used up, rather than one RAND_bytes call per server and request */
	unsigned char rnd[128];
	size_t rnd_pos;
	/* one request's state kept for reuse: a worker runs one at a time */
	struct pz_req *spare;
	/* The spare request's sockets (one per family), kept between requests
	 * (evloop's drp_kept_sock rules); not given back after a request
	 * that left a server unanswered (a late reply must not meet a later
	 * request) or after a socket error. */
	struct drp_kept_sock keep[2];
};

struct pz_conv {
	int sock; /* index in pz_req.fd, -1 when nothing was sent */
	unsigned thread;
	int done;
	int ignored; /* replies dropped (wrong source, thread, garbage) */
	char ignored_why[96];
	uint64_t t0;
};

struct pz_req {
	struct drp_loop *loop;
	struct pz_ctx *ctx;
	enum drp_pyzor_op op;
	struct drp_pyzor_result *res;
	struct pz_conv conv[DRP_PYZOR_MAX_SERVERS];
	int fd[2]; /* one socket per address family (IPv4, IPv6) for all servers */
	int pending;
	long timer;
	uint64_t t0;
	int final;
};

/* ------------------------------------------------------------ signing */

static void sha1(struct pz_sha *h, const void *p, size_t n, unsigned char out[20])
{
	unsigned int len = 20;

	if (h != NULL && h->mc != NULL && EVP_DigestInit_ex2(h->mc, h->md, NULL) == 1 &&
	    EVP_DigestUpdate(h->mc, p, n) == 1 && EVP_DigestFinal_ex(h->mc, out, &len) == 1)
		return;
	EVP_Digest(p, n, out, &len, EVP_sha1(), NULL);
}

static void hash_key(struct pz_sha *h, const char *user, const char *key, char out[41])
{
	char buf[DRP_PYZOR_USER_MAX + DRP_PYZOR_KEY_MAX + 2];
	unsigned char md[20];
	size_t i, n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s:", user);
	for (i = 0; key[i] && n + 1 < sizeof(buf); i++)
		buf[n++] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
	sha1(h, buf, n, md);
	OPENSSL_cleanse(buf, sizeof(buf));
	drp_hex(md, 20, out);
}

void drp_pyzor_hash_key(const char *user, const char *key, char out[41])
{
	hash_key(NULL, user, key, out);
}

static const char *op_name(enum drp_pyzor_op op)
{
	switch (op) {
	case DRP_PYZOR_PING:
		return "ping";
	case DRP_PYZOR_CHECK:
		return "check";
	case DRP_PYZOR_REPORT:
		return "report";
	case DRP_PYZOR_WHITELIST:
		return "whitelist";
	case DRP_PYZOR_INFO:
		return "info";
	}
	return "ping";
}

/* hk: the account's hashed key (hash_key) */
static int build_request(struct pz_sha *h, enum drp_pyzor_op op, const char *digest,
                         unsigned thread, const char *user, const char *hk, long long now,
                         uint8_t *out, size_t outlen)
{
	unsigned char inner[20 + 1 + 24 + 1 + 40], md[20];
	char sig[41];
	int n, m;

	n = snprintf((char *)out, outlen, "Op: %s\n", op_name(op));
	if (op != DRP_PYZOR_PING && n >= 0 && (size_t)n < outlen)
		n += snprintf((char *)out + n, outlen - (size_t)n, "Op-Digest: %s\n", digest);
	if ((op == DRP_PYZOR_REPORT || op == DRP_PYZOR_WHITELIST) && n >= 0 && (size_t)n < outlen)
		n += snprintf((char *)out + n, outlen - (size_t)n, "Op-Spec: 20,3,60,3\n");
	if (n >= 0 && (size_t)n < outlen)
		n += snprintf((char *)out + n, outlen - (size_t)n,
		              "Thread: %u\nPV: 2.1\nUser: %s\nTime: %lld", thread, user, now);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	/* Sig = SHA1( SHA1raw(signed text) ":" time ":" hashed key ) */
	sha1(h, out, (size_t)n, md);
	memcpy(inner, md, 20);
	m = snprintf((char *)inner + 20, sizeof(inner) - 20, ":%lld:%s", now, hk);
	sha1(h, inner, 20 + (size_t)m, md);
	drp_hex(md, 20, sig);
	m = snprintf((char *)out + n, outlen - (size_t)n, "\nSig: %s\n\n", sig);
	if (m < 0 || (size_t)(n + m) >= outlen)
		return -1;
	return n + m;
}

int drp_pyzor_build_request(enum drp_pyzor_op op, const char *digest, unsigned thread,
                            const struct drp_pyzor_account *acct, long long now, uint8_t *out,
                            size_t outlen)
{
	const char *user = acct && acct->user[0] ? acct->user : "anonymous";
	const char *key = acct && acct->user[0] ? acct->key : "";
	char hk[41];

	hash_key(NULL, user, key, hk);
	return build_request(NULL, op, digest, thread, user, hk, now, out, outlen);
}

/* ------------------------------------------------------------ replies */

static int parse_long(const char *s, size_t n, long *out)
{
	long v = 0;
	size_t i = 0;
	int neg = 0;

	/* Python int(): surrounding whitespace, sign, digits */
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (LONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

int drp_pyzor_parse_reply(const uint8_t *p, size_t len, enum drp_pyzor_op op, unsigned thread,
                          struct drp_pyzor_reply *out, char *err, size_t errlen)
{
	int have_code = 0, have_diag = 0, have_pv = 0, have_thread = 0;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	out->count = out->wl_count = -1;
	out->entered = out->updated = out->wl_entered = out->wl_updated = -1;
	if (len == 0 || len > DRP_PYZOR_MAX_PACKET) {
		snprintf(err, errlen, "empty or oversized reply");
		return -1;
	}
	while (i < len) {
		const char *l = (const char *)p + i, *c;
		size_t n, nl;
		const uint8_t *e = memchr(p + i, '\n', len - i);
		long v;

		n = e ? (size_t)(e - (p + i)) : len - i;
		i += n + (e != NULL);
		nl = n;
		if (nl && l[nl - 1] == '\r')
			nl--;
		if (nl == 0)
			continue; /* pyzord collapses blank lines; the block ends */
		c = memchr(l, ':', nl);
		if (c == NULL) {
			snprintf(err, errlen, "malformed reply line");
			return -1;
		}
		{
			struct drp_slice name = DRP_SLICE(l, (size_t)(c - l));
			const char *v0 = c + 1;
			size_t vn = nl - (size_t)(c - l) - 1;
			long *dst = NULL;

			while (vn && (*v0 == ' ' || *v0 == '\t')) {
				v0++;
				vn--;
			}
			if (drp_slice_ieq(name, "Code")) {
				if (have_code || parse_long(v0, vn, &v) < 0) {
					snprintf(err, errlen, "bad Code");
					return -1;
				}
				out->code = (int)v;
				have_code = 1;
			} else if (drp_slice_ieq(name, "Diag")) {
				size_t k = vn < sizeof(out->diag) - 1 ? vn : sizeof(out->diag) - 1;

				if (have_diag)
					continue;
				memcpy(out->diag, v0, k);
				out->diag[k] = 0;
				for (; k > 0; k--)
					if ((unsigned char)out->diag[k - 1] < 0x20)
						out->diag[k - 1] = '?';
				have_diag = 1;
			} else if (drp_slice_ieq(name, "PV")) {
				have_pv = 1;
			} else if (drp_slice_ieq(name, "Thread")) {
				if (have_thread || parse_long(v0, vn, &v) < 0 || v < 0 ||
				    v > 65535) {
					snprintf(err, errlen, "bad Thread");
					return -1;
				}
				out->thread = v;
				have_thread = 1;
			} else if (drp_slice_ieq(name, "Count")) {
				dst = &out->count;
			} else if (drp_slice_ieq(name, "WL-Count")) {
				dst = &out->wl_count;
			} else if (drp_slice_ieq(name, "Entered")) {
				dst = &out->entered;
			} else if (drp_slice_ieq(name, "Updated")) {
				dst = &out->updated;
			} else if (drp_slice_ieq(name, "WL-Entered")) {
				dst = &out->wl_entered;
			} else if (drp_slice_ieq(name, "WL-Updated")) {
				dst = &out->wl_updated;
			}
			if (dst != NULL && *dst == -1) {
				if (parse_long(v0, vn, &v) < 0 || v < 0) {
					snprintf(err, errlen, "bad %.*s", (int)name.len, name.p);
					return -1;
				}
				*dst = v;
			}
		}
	}
	if (!have_code || !have_diag || !have_pv || !have_thread) {
		snprintf(err, errlen, "incomplete reply (Code, Diag, PV and Thread are required)");
		return -1;
	}
	/* pyzor only warns for a thread in the reserved range 0-1023 */
	if ((unsigned)out->thread != thread && out->thread >= 1024) {
		snprintf(err, errlen, "unexpected thread id %ld (expected %u)", out->thread,
		         thread);
		return -1;
	}
	if (out->code == 200 && op == DRP_PYZOR_CHECK && (out->count < 0 || out->wl_count < 0)) {
		snprintf(err, errlen, "check reply without Count/WL-Count");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------ home files */

int drp_pyzor_parse_servers(const char *text, size_t len, struct drp_hostport *out, int max)
{
	size_t i = 0;
	int n = 0;

	while (i < len && n < max) {
		const char *l = text + i, *e = memchr(l, '\n', len - i), *colon = NULL;
		size_t ln = e ? (size_t)(e - l) : len - i, a = 0, b, k;

		i += ln + (e != NULL);
		b = ln;
		while (a < b && (l[a] == ' ' || (l[a] >= '\t' && l[a] <= '\r')))
			a++;
		while (b > a && (l[b - 1] == ' ' || (l[b - 1] >= '\t' && l[b - 1] <= '\r')))
			b--;
		/* ^[^#][A-Za-z0-9.-]+:\d+  (anchored at the start only); split at the
		 * last colon */
		if (b - a < 4 || l[a] == '#')
			continue;
		for (k = a + 1; k < b; k++) {
			char c = l[k];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-'))
				break;
		}
		if (k == a + 1 || k >= b || l[k] != ':' || k + 1 >= b || l[k + 1] < '0' ||
		    l[k + 1] > '9')
			continue;
		for (k = b; k > a; k--)
			if (l[k - 1] == ':') {
				colon = l + k - 1;
				break;
			}
		{
			size_t hl = (size_t)(colon - (l + a));
			long port;

			if (hl == 0 || hl >= sizeof(out[n].host) ||
			    parse_long(colon + 1, (size_t)(l + b - colon - 1), &port) < 0 ||
			    port < 1 || port > 65535)
				continue;
			memcpy(out[n].host, l + a, hl);
			out[n].host[hl] = 0;
			out[n].port = (unsigned short)port;
			n++;
		}
	}
	return n;
}

static size_t trim(const char **s, size_t n)
{
	while (n && (**s == ' ' || **s == '\t' || **s == '\r')) {
		(*s)++;
		n--;
	}
	while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t' || (*s)[n - 1] == '\r'))
		n--;
	return n;
}

int drp_pyzor_find_account(const char *text, size_t len, const char *host, unsigned short port,
                           struct drp_pyzor_account *out)
{
	size_t i = 0;
	int found = 0;

	while (i < len) {
		const char *l = text + i, *e = memchr(l, '\n', len - i);
		size_t ln = e ? (size_t)(e - l) : len - i;
		const char *f[5];
		size_t fl[5], k, nf = 0, start = 0;

		i += ln + (e != NULL);
		{
			const char *t = l;
			size_t tn = trim(&t, ln);

			if (tn == 0 || t[0] == '#')
				continue;
		}
		/* host : port : user : salt,key -- exactly four fields */
		for (k = 0; k <= ln && nf < 5; k++) {
			if (k == ln || l[k] == ':') {
				f[nf] = l + start;
				fl[nf] = trim(&f[nf], k - start);
				nf++;
				start = k + 1;
			}
		}
		if (nf != 4)
			continue;
		{
			const char *comma = memchr(f[3], ',', fl[3]), *key;
			size_t keyl;
			long p;

			if (comma == NULL ||
			    memchr(comma + 1, ',', fl[3] - (size_t)(comma - f[3]) - 1))
				continue;
			key = comma + 1;
			keyl = fl[3] - (size_t)(key - f[3]);
			if ((comma == f[3] && keyl == 0) || parse_long(f[1], fl[1], &p) < 0)
				continue;
			if (fl[0] != strlen(host) || memcmp(f[0], host, fl[0]) || p != port)
				continue;
			if (fl[2] == 0 || fl[2] >= sizeof(out->user) || keyl >= sizeof(out->key))
				continue;
			memcpy(out->user, f[2], fl[2]);
			out->user[fl[2]] = 0;
			memcpy(out->key, key, keyl);
			out->key[keyl] = 0;
			found = 1; /* pyzor keeps the last line for a server */
		}
	}
	return found;
}

/* ------------------------------------------------------ the context */

static int read_small_file(const char *path, char **out, size_t *outlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	*out = NULL;
	*outlen = 0;
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	buf = malloc(65537);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, 65536, f);
	fclose(f);
	buf[n] = 0;
	*out = buf;
	*outlen = n;
	return 0;
}

static void server_name(struct pz_server *s)
{
	if (strchr(s->hp.host, ':'))
		snprintf(s->name, sizeof(s->name), "[%s]:%u", s->hp.host, s->hp.port);
	else
		snprintf(s->name, sizeof(s->name), "%s:%u", s->hp.host, s->hp.port);
}

static int pz_resolve_all(struct pz_ctx *c, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < c->nservers; i++) {
		struct pz_server *s = &c->srv[i];
		struct drp_addr a;

		char why[sizeof(s->resolve_err)] = "";

		if (drp_resolve(&s->hp, SOCK_DGRAM, &a, 1, why, sizeof(why)) == 1) {
			s->addr = a;
			s->resolved = 1;
			s->resolve_err[0] = 0;
		} else if (!s->resolved) {
			/* keep the last good address on a failed refresh */
			if (why[0] == 0)
				snprintf(why, sizeof(why), "cannot resolve a server name");
			memcpy(s->resolve_err, why, sizeof(why));
		}
	}
	return 0;
}

static int pz_ctx_new(const struct drp_config *cfg, void **ctxp, char *err, size_t errlen)
{
	struct pz_ctx *c = calloc(1, sizeof(*c));
	const char *home, *list, *user, *key;
	char path[4096], *text = NULL;
	size_t tlen = 0;
	int en = 1, nul = 0, i;

	*ctxp = NULL;
	if (c == NULL) {
		snprintf(err, errlen, "pyzor: out of memory");
		return -1;
	}
	drp_kept_init(&c->keep[0]);
	drp_kept_init(&c->keep[1]);
	if (drp_config_bool(cfg, "pyzor_enable", 1, &en, err, errlen) < 0 ||
	    drp_config_bool(cfg, "pyzor_nul_rule", 0, &nul, err, errlen) < 0 ||
	    drp_config_ms(cfg, "backend_timeout", 5000, &c->timeout_ms, err, errlen) < 0 ||
	    drp_config_long(cfg, "pyzor_report_threshold", 0, &c->report_threshold, err, errlen) <
	        0 ||
	    drp_config_long(cfg, "pyzor_whitelist_threshold", 0, &c->whitelist_threshold, err,
	                    errlen) < 0)
		goto fail;
	if (drp_config_get(cfg, "pyzor_timeout") != NULL &&
	    drp_config_ms(cfg, "pyzor_timeout", 5000, &c->timeout_ms, err, errlen) < 0)
		goto fail;
	if (c->timeout_ms <= 0) {
		snprintf(err, errlen, "pyzor_timeout: must be positive");
		goto fail;
	}
	c->enabled = en;
	c->flags = nul ? DRP_PYZOR_NUL_RULE : 0;
	if (!en) {
		*ctxp = c;
		return 0;
	}
	home = drp_config_get(cfg, "pyzor_home");
	if (home == NULL || !*home)
		home = "/var/lib/pyzor";
	list = drp_config_get(cfg, "pyzor_servers");
	if (list != NULL && *list) {
		struct drp_hostport hp[DRP_PYZOR_MAX_SERVERS];
		int n =
		    drp_hostport_list(list, DRP_PYZOR_PORT, hp, DRP_PYZOR_MAX_SERVERS, err, errlen);

		if (n < 0)
			goto fail;
		for (i = 0; i < n; i++)
			c->srv[i].hp = hp[i];
		c->nservers = n;
	} else {
		struct drp_hostport hp[DRP_PYZOR_MAX_SERVERS];
		int n;

		snprintf(path, sizeof(path), "%s/servers", home);
		if (read_small_file(path, &text, &tlen) < 0) {
			snprintf(err, errlen, "pyzor: cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		n = text ? drp_pyzor_parse_servers(text, tlen, hp, DRP_PYZOR_MAX_SERVERS) : 0;
		free(text);
		text = NULL;
		for (i = 0; i < n; i++)
			c->srv[i].hp = hp[i];
		c->nservers = n;
	}
	if (c->nservers == 0) {
		snprintf(c->srv[0].hp.host, sizeof(c->srv[0].hp.host), "public.pyzor.org");
		c->srv[0].hp.port = DRP_PYZOR_PORT;
		c->nservers = 1;
	}
	/* accounts: the pyzor home file, per server; pyzor_user/pyzor_key for all */
	/* an unreadable *_file is an error: signing with an empty key would
	 * only show up as every request being refused */
	if (drp_config_get_checked(cfg, "pyzor_user", &user, err, errlen) < 0 ||
	    drp_config_get_checked(cfg, "pyzor_key", &key, err, errlen) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/accounts", home);
	if ((user == NULL || !*user) && read_small_file(path, &text, &tlen) < 0) {
		snprintf(err, errlen, "pyzor: cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	for (i = 0; i < c->nservers; i++) {
		struct pz_server *s = &c->srv[i];

		server_name(s);
		if (user != NULL && *user) {
			if (strlen(user) >= sizeof(s->acct.user) ||
			    (key && strlen(key) >= sizeof(s->acct.key))) {
				snprintf(err, errlen, "pyzor_user/pyzor_key: too long");
				goto fail;
			}
			snprintf(s->acct.user, sizeof(s->acct.user), "%s", user);
			snprintf(s->acct.key, sizeof(s->acct.key), "%s", key ? key : "");
		} else if (text != NULL) {
			drp_pyzor_find_account(text, tlen, s->hp.host, s->hp.port, &s->acct);
		}
	}
	free(text);
	c->sha.md = EVP_MD_fetch(NULL, "SHA1", NULL);
	c->sha.mc = c->sha.md ? EVP_MD_CTX_new() : NULL;
	for (i = 0; i < c->nservers; i++) {
		struct pz_server *s = &c->srv[i];

		hash_key(&c->sha, s->acct.user[0] ? s->acct.user : "anonymous",
		         s->acct.user[0] ? s->acct.key : "", s->hkey);
	}
	c->rnd_pos = sizeof(c->rnd);
	c->dg = drp_pyzor_digester_new(); /* NULL: one-shot digests instead */
	pz_resolve_all(c, err, errlen);
	*ctxp = c;
	return 0;
fail:
	free(text);
	free(c);
	return -1;
}

static int pz_ctx_refresh(void *ctx, char *err, size_t errlen)
{
	struct pz_ctx *c = ctx;

	return c && c->enabled ? pz_resolve_all(c, err, errlen) : 0;
}

static int pz_enabled(const void *ctx)
{
	const struct pz_ctx *c = ctx;

	return c != NULL && c->enabled;
}

static void pz_ctx_free(void *ctx)
{
	struct pz_ctx *c = ctx;

	if (c == NULL)
		return;
	for (int k = 0; k < 2; k++)
		drp_kept_close(&c->keep[k]);
	drp_pyzor_digester_free(c->dg);
	EVP_MD_CTX_free(c->sha.mc);
	EVP_MD_free(c->sha.md);
	free(c->spare);
	OPENSSL_cleanse(c, sizeof(*c)); /* keys */
	free(c);
}

unsigned drp_pyzor_ctx_flags(const void *ctx)
{
	return ctx ? ((const struct pz_ctx *)ctx)->flags : 0;
}

long drp_pyzor_ctx_timeout(const void *ctx)
{
	return ctx ? ((const struct pz_ctx *)ctx)->timeout_ms : 5000;
}

/* ------------------------------------------------- the conversation */

/* keep: the sockets go back to the ctx (spare request, all answered) */
static void req_close(struct pz_req *r, int keep)
{
	int k;

	for (k = 0; k < 2; k++)
		if (r->fd[k] >= 0) {
			drp_loop_unwatch(r->loop, r->fd[k]);
			if (keep && r == r->ctx->spare)
				drp_kept_put(&r->ctx->keep[k], r->fd[k]);
			else
				close(r->fd[k]);
			r->fd[k] = -1;
		}
}

/* A socket of family index k for request r: the ctx's own for the spare
 * request, else a new one. */
static int req_socket(struct pz_req *r, int k, int family)
{
	int fd;

	if (r != r->ctx->spare)
		return drp_udp_socket(family);
	fd = drp_kept_take(&r->ctx->keep[k]);
	return fd >= 0 ? fd : drp_udp_socket(family);
}

/* Every server answered (or failed, or time ran out): pyzor's verdict. */
static void req_conclude(struct pz_req *r, enum drp_status leftover)
{
	struct drp_pyzor_result *res = r->res;
	int i, all_ok = 1, hit = 0, wl = 0, any_timeout = 0;
	uint64_t now;

	if (r->final)
		return;
	r->final = 1;
	if (r->timer > 0)
		drp_loop_cancel(r->loop, r->timer);
	req_close(r, r->pending == 0);
	now = drp_now_ms();
	res->count = res->wl = 0;
	for (i = 0; i < res->nservers; i++) {
		struct drp_pyzor_server_result *s = &res->servers[i];

		if (s->status == DRP_ST_PENDING) {
			s->status = leftover;
			s->latency_ms = (long)(now - r->t0);
			if (r->conv[i].ignored)
				snprintf(s->diag, sizeof(s->diag),
				         "no valid reply (%d ignored: %s)", r->conv[i].ignored,
				         r->conv[i].ignored_why);
			else
				snprintf(s->diag, sizeof(s->diag), "no reply within the budget");
		}
		if (s->status == DRP_ST_TIMEOUT)
			any_timeout = 1;
		if (s->status != DRP_ST_OK || s->code != 200) {
			all_ok = 0;
			continue;
		}
		if (s->count > res->count)
			res->count = s->count;
		if (s->wl_count > res->wl)
			res->wl = s->wl_count;
		if (r->op == DRP_PYZOR_CHECK) {
			if (s->wl_count > r->ctx->whitelist_threshold)
				wl = 1;
			else if (s->count > r->ctx->report_threshold)
				hit = 1;
		}
	}
	res->listed = all_ok && hit && !wl;
	res->net.latency_ms = (long)(now - r->t0);
	if (all_ok) {
		res->net.status = DRP_ST_OK;
		res->net.error[0] = 0;
		return;
	}
	res->net.status = any_timeout ? DRP_ST_TIMEOUT : DRP_ST_ERROR;
	for (i = 0; i < res->nservers; i++) {
		struct drp_pyzor_server_result *s = &res->servers[i];

		if (s->status != DRP_ST_OK || s->code != 200) {
			if (s->code)
				snprintf(res->net.error, sizeof(res->net.error), "%s: (%d, '%s')",
				         s->name, s->code, s->diag);
			else
				snprintf(res->net.error, sizeof(res->net.error), "%s: %s", s->name,
				         s->diag);
			break;
		}
	}
}

static void req_release(struct pz_req *r)
{
	if (r == r->ctx->spare)
		r->loop = NULL; /* free for the next request */
	else
		free(r);
}

static void on_timeout(struct drp_loop *l, void *arg)
{
	struct pz_req *r = arg;

	r->timer = 0;
	req_conclude(r, DRP_ST_TIMEOUT);
}

static void conv_ignored(struct pz_conv *cv, const char *why)
{
	cv->ignored++;
	snprintf(cv->ignored_why, sizeof(cv->ignored_why), "%s", why);
}

/* One datagram on socket k: the server it comes from (by address, then by
 * thread when several servers share an address) gets its answer. */
static void on_datagram(struct pz_req *r, int k, const uint8_t *buf, size_t n,
                        const struct sockaddr *from)
{
	int i, cand = 0;
	char why[96] = "reply from another address";

	for (i = 0; i < r->res->nservers; i++) {
		struct drp_pyzor_server_result *s = &r->res->servers[i];
		struct pz_conv *cv = &r->conv[i];
		struct drp_pyzor_reply rep;

		if (cv->sock != k || s->status != DRP_ST_PENDING ||
		    !drp_addr_equal(from, (const struct sockaddr *)&r->ctx->srv[i].addr.ss))
			continue;
		cand++;
		if (drp_pyzor_parse_reply(buf, n, r->op, cv->thread, &rep, why, sizeof(why)) < 0)
			continue;
		s->status = DRP_ST_OK;
		s->code = rep.code;
		s->count = rep.count;
		s->wl_count = rep.wl_count;
		s->entered = rep.entered;
		s->updated = rep.updated;
		s->wl_entered = rep.wl_entered;
		s->wl_updated = rep.wl_updated;
		snprintf(s->diag, sizeof(s->diag), "%s", rep.diag);
		s->latency_ms = (long)(drp_now_ms() - r->t0);
		r->pending--;
		return;
	}
	/* nobody took it: every server still waiting on this socket (from that
	 * address, when there is one) counts it as ignored */
	for (i = 0; i < r->res->nservers; i++)
		if (r->conv[i].sock == k && r->res->servers[i].status == DRP_ST_PENDING &&
		    (cand == 0 ||
		     drp_addr_equal(from, (const struct sockaddr *)&r->ctx->srv[i].addr.ss)))
			conv_ignored(&r->conv[i], why);
}

/* Datagrams read per callback: a flood of junk must not keep the worker here
 * past the deadline; poll is level-triggered, so the rest waits one turn. */
#define PZ_READ_BUDGET 32

static void on_read(struct drp_loop *l, int fd, unsigned events, void *arg)
{
	struct pz_req *r = arg;
	int k = fd == r->fd[0] ? 0 : fd == r->fd[1] ? 1 : -1, budget = PZ_READ_BUDGET;

	if (k < 0)
		return;
	while (r->pending > 0 && budget-- > 0) {
		uint8_t buf[DRP_PYZOR_MAX_PACKET + 1];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		int i;

		if (n >= 0) {
			on_datagram(r, k, buf, (size_t)n, (struct sockaddr *)&from);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* ICMP errors on an unconnected socket are not reported; anything
		 * else fails every server still waiting on this socket */
		for (i = 0; i < r->res->nservers; i++) {
			struct drp_pyzor_server_result *s = &r->res->servers[i];

			if (r->conv[i].sock != k || s->status != DRP_ST_PENDING)
				continue;
			s->status = DRP_ST_ERROR;
			s->latency_ms = (long)(drp_now_ms() - r->t0);
			snprintf(s->diag, sizeof(s->diag), "socket error: %s", strerror(errno));
			r->pending--;
		}
		drp_loop_unwatch(l, fd);
		close(fd);
		r->fd[k] = -1;
		break;
	}
	if (r->pending == 0)
		req_conclude(r, DRP_ST_TIMEOUT);
}

static unsigned random_thread(struct pz_ctx *c)
{
	unsigned v;

	if (c->rnd_pos + 2 > sizeof(c->rnd)) {
		if (RAND_bytes(c->rnd, sizeof(c->rnd)) != 1)
			return 1024 + (unsigned)(drp_now_ms() % 64512);
		c->rnd_pos = 0;
	}
	v = (unsigned)c->rnd[c->rnd_pos] << 8 | c->rnd[c->rnd_pos + 1];
	c->rnd_pos += 2;
	return 1024 + v % 64512; /* [1024, 65535] */
}

void *drp_pyzor_start_op(struct drp_loop *loop, void *ctx, enum drp_pyzor_op op, const char *digest,
                         struct drp_pyzor_result *res)
{
	struct pz_ctx *c = ctx;
	struct pz_req *r;
	long long now = (long long)time(NULL);
	int i;

	if (c == NULL || !c->enabled) {
		res->net.status = DRP_ST_DISABLED;
		return NULL;
	}
	if (digest != NULL)
		snprintf(res->digest, sizeof(res->digest), "%s", digest);
	if (c->spare == NULL)
		c->spare = calloc(1, sizeof(*c->spare));
	r = c->spare != NULL && c->spare->loop == NULL ? c->spare : malloc(sizeof(*r));
	if (r == NULL) {
		res->net.status = DRP_ST_ERROR;
		snprintf(res->net.error, sizeof(res->net.error), "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->ctx = c;
	r->op = op;
	r->res = res;
	r->pending = 0;
	r->timer = 0;
	r->final = 0;
	r->fd[0] = r->fd[1] = -1;
	r->t0 = drp_now_ms();
	res->net.status = DRP_ST_PENDING;
	res->nservers = c->nservers;
	for (i = 0; i < c->nservers; i++) {
		struct drp_pyzor_server_result *s = &res->servers[i];
		struct pz_server *sv = &c->srv[i];
		struct pz_conv *cv = &r->conv[i];
		uint8_t pkt[1024];
		int n, k;

		cv->sock = -1;
		cv->ignored = 0;
		cv->ignored_why[0] = 0;
		memcpy(s->name, sv->name, sizeof(s->name));
		s->count = s->wl_count = -1;
		s->entered = s->updated = s->wl_entered = s->wl_updated = -1;
		s->status = DRP_ST_PENDING;
		if (!sv->resolved) {
			s->status = DRP_ST_ERROR;
			snprintf(s->diag, sizeof(s->diag), "%s", sv->resolve_err);
			continue;
		}
		cv->thread = random_thread(c);
		n = build_request(&c->sha, op, res->digest, cv->thread,
		                  sv->acct.user[0] ? sv->acct.user : "anonymous", sv->hkey, now,
		                  pkt, sizeof(pkt));
		k = sv->addr.ss.ss_family == AF_INET6;
		if (n > 0 && r->fd[k] < 0) {
			r->fd[k] = req_socket(r, k, sv->addr.ss.ss_family);
			if (r->fd[k] >= 0 &&
			    drp_loop_watch(loop, r->fd[k], DRP_EV_READ, on_read, r) < 0) {
				close(r->fd[k]);
				r->fd[k] = -1;
			}
		}
		if (n <= 0 || r->fd[k] < 0 ||
		    sendto(r->fd[k], pkt, (size_t)n, 0, (struct sockaddr *)&sv->addr.ss,
		           sv->addr.len) != n) {
			s->status = DRP_ST_ERROR;
			snprintf(s->diag, sizeof(s->diag), "cannot send: %s",
			         n <= 0 ? "request too long" : strerror(errno));
			continue;
		}
		cv->sock = k;
		r->pending++;
	}
	if (r->pending == 0) {
		req_conclude(r, DRP_ST_ERROR);
		req_release(r);
		return NULL;
	}
	r->timer = drp_loop_timer(loop, (uint64_t)c->timeout_ms, on_timeout, r);
	return r;
}

static void *pz_start(struct drp_loop *loop, void *ctx, enum drp_op op, const uint8_t *msg,
                      size_t len, const struct drp_envelope *env, void *resp)
{
	struct drp_pyzor_result *res = resp;
	struct pz_ctx *c = ctx;
	char hex[41], err[128];

	if (c == NULL || !c->enabled) {
		res->net.status = DRP_ST_DISABLED;
		return NULL;
	}
	if ((c->dg ? drp_pyzor_digest_with(c->dg, msg, len, c->flags, hex, NULL, err, sizeof(err))
	           : drp_pyzor_digest(msg, len, c->flags, hex, NULL, err, sizeof(err))) < 0) {
		res->net.status = DRP_ST_ERROR;
		snprintf(res->net.error, sizeof(res->net.error), "%s", err);
		return NULL;
	}
	return drp_pyzor_start_op(loop, ctx,
	                          op == DRP_OP_CHECK    ? DRP_PYZOR_CHECK
	                          : op == DRP_OP_REPORT ? DRP_PYZOR_REPORT
	                                                : DRP_PYZOR_WHITELIST,
	                          hex, res);
}

static void pz_finish(void *req)
{
	struct pz_req *r = req;

	if (r == NULL)
		return;
	req_conclude(r, DRP_ST_TIMEOUT);
	req_release(r);
}

static void pz_result_json(const void *resp, enum drp_op op, struct json_object *obj)
{
	const struct drp_pyzor_result *r = resp;
	struct json_object *arr;
	int i;

	if (op == DRP_OP_CHECK) {
		json_object_object_add(obj, "count", json_object_new_int64(r->count));
		json_object_object_add(obj, "wl", json_object_new_int64(r->wl));
	}
	json_object_object_add(obj, "status",
	                       json_object_new_string(drp_status_name(r->net.status)));
	json_object_object_add(obj, "latency_ms", json_object_new_int64(r->net.latency_ms));
	if (r->net.status != DRP_ST_OK && r->net.error[0])
		json_object_object_add(obj, "error", json_object_new_string(r->net.error));
	if (r->digest[0])
		json_object_object_add(obj, "digest", json_object_new_string(r->digest));
	arr = json_object_new_array();
	for (i = 0; i < r->nservers; i++) {
		const struct drp_pyzor_server_result *s = &r->servers[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "server", json_object_new_string(s->name));
		json_object_object_add(o, "status",
		                       json_object_new_string(drp_status_name(s->status)));
		if (s->code)
			json_object_object_add(o, "code", json_object_new_int(s->code));
		json_object_object_add(o, "diag", json_object_new_string(s->diag));
		if (s->count >= 0)
			json_object_object_add(o, "count", json_object_new_int64(s->count));
		if (s->wl_count >= 0)
			json_object_object_add(o, "wl", json_object_new_int64(s->wl_count));
		if (s->entered >= 0) {
			json_object_object_add(o, "entered", json_object_new_int64(s->entered));
			json_object_object_add(o, "updated", json_object_new_int64(s->updated));
			json_object_object_add(o, "wl_entered",
			                       json_object_new_int64(s->wl_entered));
			json_object_object_add(o, "wl_updated",
			                       json_object_new_int64(s->wl_updated));
		}
		json_object_object_add(o, "latency_ms", json_object_new_int64(s->latency_ms));
		json_object_array_add(arr, o);
	}
	json_object_object_add(obj, "servers", arr);
}

static int pz_listed(const void *resp)
{
	const struct drp_pyzor_result *r = resp;

	return r->net.status == DRP_ST_OK && r->listed;
}

/* ------------------------------------------------------- drp ping */

/* `drp ping`: the pyzor ping op through the ordinary conversation (same
 * reply validation, same budget), turned into the netif ping objects. */
struct pz_ping {
	struct drp_pyzor_result res;
	void *req;
	struct json_object *out;
};

static void *pz_ping_start(struct drp_loop *loop, void *ctx, struct json_object *out)
{
	struct pz_ping *p;

	if (!pz_enabled(ctx))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->out = out;
	/* NULL means every server already failed (e.g. unresolved): the
	 * objects are still written by ping_finish */
	p->req = drp_pyzor_start_op(loop, ctx, DRP_PYZOR_PING, NULL, &p->res);
	return p;
}

static void pz_ping_finish(void *req)
{
	struct pz_ping *p = req;
	int i;

	if (p == NULL)
		return;
	pz_finish(p->req);
	for (i = 0; i < p->res.nservers && p->out != NULL; i++) {
		const struct drp_pyzor_server_result *s = &p->res.servers[i];
		struct json_object *o = json_object_new_object();
		int ok = s->status == DRP_ST_OK && s->code == 200;

		json_object_object_add(o, "server", json_object_new_string(s->name));
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		json_object_object_add(o, "rtt_ms", json_object_new_int64(ok ? s->latency_ms : -1));
		if (!ok) {
			char why[sizeof(s->diag) + 48];

			if (s->code)
				snprintf(why, sizeof(why), "(%d, '%s')", s->code, s->diag);
			else
				snprintf(why, sizeof(why), "%s%s",
				         s->status == DRP_ST_TIMEOUT ? "timeout: " : "", s->diag);
			json_object_object_add(o, "error", json_object_new_string(why));
		}
		json_object_array_add(p->out, o);
	}
	free(p);
}

const struct drp_net_ops drp_pyzor_ops = {
    .name = "pyzor",
    .result_size = sizeof(struct drp_pyzor_result),
    .ctx_new = pz_ctx_new,
    .ctx_refresh = pz_ctx_refresh,
    .enabled = pz_enabled,
    .ctx_free = pz_ctx_free,
    .start = pz_start,
    .finish = pz_finish,
    .result_json = pz_result_json,
    .listed = pz_listed,
    .ping_start = pz_ping_start,
    .ping_finish = pz_ping_finish,
};
