/* dcc_client: see dcc_client.h. */
#include "dcc_client.h"

#include <errno.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dcc_ck.h"
#include "dcc_ids.h"

#define RTT_UNKNOWN (-1L)
#define RTT_BAD (1L << 30)
/* ordering weight of a never-measured address (the reference measures
 * every address with NOPs first; we learn from the first answers) */
#define RTT_GUESS_MS 1000
#define PROBE_BUDGET_MS 2000

struct dcc_srv {
	struct drp_hostport hp;
	int rtt_adj_ms;
	struct drp_dcc_cred cred;
};

struct dcc_addr {
	struct drp_addr a;
	int srv; /* index into ctx->srv */
	long rtt_ms;
	uint64_t rtt_updated_ms;
	uint32_t server_id;
	uint8_t vers; /* max_pkt_vers from OK, 0 unknown */
	char name[DRP_HOST_MAX + 16];
};

struct dcc_ctx {
	int enabled;
	struct dcc_srv srv[DRP_DCC_MAX_SRVR_NMS];
	int nsrv;
	struct dcc_addr addr[DRP_DCC_MAX_SRVR_ADDRS];
	int naddr;
	int cur; /* the address we stay with, -1 none */
	uint64_t resolved_ms, measured_ms;
	char resolve_err[160];
	uint32_t h, r; /* op_nums state; p is getpid() per operation, as the reference */
	long budget_ms;
	struct drp_dcc_tholds th;
	uint32_t report_tgts;
	int fail_exp;
	uint64_t fail_until_ms;
	int probe; /* measure RTTs with NOPs on refresh */
	int ipv6;  /* the map's "IPv6 off|on|only": -1, 0, 1 */
	char sub[DRP_DCC_MAX_SUB][DRP_DCC_SUB_NAME_MAX];
	struct drp_dcc_ck_opts ckopts; /* dccproc -S: dcc_substitute */
	struct drp_dcc_ck_ctx *ck;     /* checksum state kept between requests */
	/* The connected socket of the last conversation, kept for the next
	 * one to the same address (kaddr) by evloop's drp_kept_sock rules;
	 * given back only after a conversation that ended with the answer to
	 * its only transmission (no late answer can be on its way). */
	struct drp_kept_sock keep;
	struct drp_addr kaddr;
};

struct dcc_req {
	struct dcc_ctx *ctx;
	struct drp_loop *loop;
	struct drp_dcc_result *res;
	enum drp_op op;
	enum drp_dcc_op wop; /* REPORT or QUERY on the wire */
	struct drp_dcc_sum cks[DRP_DCC_PKT_MAX_CKS];
	int ncks;
	uint32_t tgts;
	uint8_t pkt[DRP_DCC_MAX_PKT];
	size_t len;
	struct drp_dcc_opnums on;
	const struct drp_dcc_cred *cred;
	int ai; /* current address */
	int fd;
	int keep; /* fd may serve the next conversation: see dcc_ctx.keep */
	long timer;
	int xmit; /* transmissions to the current address */
	uint64_t sent_ms[DRP_DCC_MAX_XMITS];
	int answered[DRP_DCC_MAX_XMITS];
	int tried[DRP_DCC_MAX_SRVR_ADDRS];
	uint64_t start_ms, deadline_ms;
	int bad_sig;
	int failed_over;
	char last_bad[160]; /* why the last datagram was ignored */
	int done;
};

/* ---- configuration ---- */

static int cfg_thold(const struct drp_config *cfg, const char *key, uint32_t def, uint32_t *out,
                     char *err, size_t errlen)
{
	const char *v = drp_config_get(cfg, key);

	*out = def;
	if (v == NULL || *v == 0)
		return 0;
	if (drp_dcc_parse_thold(v, out) < 0) {
		snprintf(err, errlen, "%s: want a count, \"many\" or \"never\", not \"%s\"", key,
		         v);
		return -1;
	}
	return 0;
}

static int load_cred(const struct drp_config *cfg, struct drp_dcc_cred *cr, int *have, char *err,
                     size_t errlen)
{
	const char *ids, *pw, *idpath = drp_config_get(cfg, "dcc_ids");
	char pwbuf[DRP_DCC_PASSWD_MAX + 1] = "";
	uint32_t id;
	int rc;

	*have = 0;
	/* a named but unreadable secret file is an error, never anonymous */
	if (drp_config_get_checked(cfg, "dcc_client_id", &ids, err, errlen) < 0 ||
	    drp_config_get_checked(cfg, "dcc_client_passwd", &pw, err, errlen) < 0)
		return -1;
	if (ids == NULL || *ids == 0)
		return drp_dcc_cred_set(cr, DRP_DCC_ID_ANON, NULL, err, errlen);
	id = drp_dcc_parse_id(ids, strlen(ids));
	if (id == 0 || (id != DRP_DCC_ID_ANON && id < DRP_DCC_ID_MIN_CLIENT)) {
		snprintf(err, errlen, "dcc_client_id: \"%s\" is not a DCC client-ID", ids);
		return -1;
	}
	if (id != DRP_DCC_ID_ANON && (pw == NULL || *pw == 0)) {
		/* the password of our ID from DCC's own ids file */
		struct drp_dcc_ids t;
		const struct drp_dcc_id_entry *e;
		int optional = idpath == NULL;

		if (drp_dcc_ids_load(idpath ? idpath : DRP_DCC_DEFAULT_IDS, optional, &t, err,
		                     errlen) < 0)
			return -1;
		e = drp_dcc_ids_find(&t, id);
		if (e != NULL)
			snprintf(pwbuf, sizeof(pwbuf), "%s", e->passwd[0]);
		drp_dcc_ids_free(&t);
		if (pwbuf[0] == 0) {
			snprintf(err, errlen,
			         "dcc_client_id %lu: no dcc_client_passwd and no entry in %s",
			         (unsigned long)id, idpath ? idpath : DRP_DCC_DEFAULT_IDS);
			return -1;
		}
		pw = pwbuf;
	}
	rc = drp_dcc_cred_set(cr, id, pw, err, errlen);
	OPENSSL_cleanse(pwbuf, sizeof(pwbuf));
	*have = rc == 0;
	return rc;
}

static int load_servers(const struct drp_config *cfg, struct dcc_ctx *ctx, char *err, size_t errlen)
{
	const char *list = drp_config_get(cfg, "dcc_servers");
	const char *map = drp_config_get(cfg, "dcc_map");
	struct drp_dcc_cred cr;
	int have_cred, n;

	if (load_cred(cfg, &cr, &have_cred, err, errlen) < 0)
		return -1;
	if (list != NULL && *list != 0) {
		struct drp_hostport hp[DRP_DCC_MAX_SRVR_NMS];

		n = drp_hostport_list(list, DRP_DCC_PORT, hp, DRP_DCC_MAX_SRVR_NMS, err, errlen);
		if (n <= 0) {
			if (n == 0)
				snprintf(err, errlen, "dcc_servers: empty");
			return -1;
		}
		for (int i = 0; i < n; i++) {
			ctx->srv[i].hp = hp[i];
			ctx->srv[i].cred = cr;
		}
		ctx->nsrv = n;
	} else if (map != NULL && *map != 0) {
		struct drp_dcc_map m;

		if (drp_dcc_map_load(map, &m, err, errlen) < 0)
			return -1;
		if (m.n == 0) {
			snprintf(err, errlen, "%s: no DCC servers", map);
			return -1;
		}
		for (int i = 0; i < m.n; i++) {
			struct dcc_srv *s = &ctx->srv[i];

			s->hp = m.s[i].hp;
			s->rtt_adj_ms = m.s[i].rtt_adj_ms;
			if (have_cred) {
				s->cred = cr; /* the configured ID wins over the map's */
			} else if (drp_dcc_cred_set(&s->cred, m.s[i].id, m.s[i].passwd, err,
			                            errlen) < 0) {
				OPENSSL_cleanse(&m, sizeof(m));
				return -1;
			}
		}
		ctx->nsrv = m.n;
		ctx->ipv6 = m.ipv6;
		OPENSSL_cleanse(&m, sizeof(m));
	} else {
		struct drp_hostport hp[DRP_DCC_MAX_SRVR_NMS];

		n = drp_hostport_list(DRP_DCC_DEFAULT_SERVERS, DRP_DCC_PORT, hp,
		                      DRP_DCC_MAX_SRVR_NMS, err, errlen);
		if (n <= 0)
			return -1;
		for (int i = 0; i < n; i++) {
			ctx->srv[i].hp = hp[i];
			ctx->srv[i].rtt_adj_ms = DRP_DCC_DEFAULT_RTT_ADJ_MS;
			ctx->srv[i].cred = cr;
		}
		ctx->nsrv = n;
	}
	OPENSSL_cleanse(&cr, sizeof(cr));
	return 0;
}

/* dccproc -S: header names whose values become substitute checksums */
static int load_substitute(const struct drp_config *cfg, struct dcc_ctx *ctx, char *err,
                           size_t errlen)
{
	const char *v = drp_config_get(cfg, "dcc_substitute");

	while (v != NULL && *v != 0) {
		size_t n;

		v += strspn(v, ", \t\r\n");
		n = strcspn(v, ", \t\r\n");
		if (n == 0)
			break;
		if (ctx->ckopts.n_substitute >= DRP_DCC_MAX_SUB || n >= DRP_DCC_SUB_NAME_MAX ||
		    memchr(v, ':', n) != NULL) {
			snprintf(err, errlen,
			         "dcc_substitute: at most %d header names of < %d bytes",
			         DRP_DCC_MAX_SUB, DRP_DCC_SUB_NAME_MAX);
			return -1;
		}
		memcpy(ctx->sub[ctx->ckopts.n_substitute], v, n);
		ctx->sub[ctx->ckopts.n_substitute][n] = 0;
		ctx->ckopts.substitute[ctx->ckopts.n_substitute] =
		    ctx->sub[ctx->ckopts.n_substitute];
		ctx->ckopts.n_substitute++;
		v += n;
	}
	return 0;
}

/* Resolve every name; keep the RTTs of addresses we already knew. */
static int resolve_all(struct dcc_ctx *ctx, char *err, size_t errlen)
{
	struct dcc_addr na[DRP_DCC_MAX_SRVR_ADDRS];
	int nn = 0;

	ctx->resolve_err[0] = 0;
	for (int s = 0; s < ctx->nsrv && nn < DRP_DCC_MAX_SRVR_ADDRS; s++) {
		struct drp_addr a[DRP_DCC_MAX_SRVR_ADDRS];
		char rerr[160];
		int k = drp_resolve(&ctx->srv[s].hp, SOCK_DGRAM, a, DRP_DCC_MAX_SRVR_ADDRS - nn,
		                    rerr, sizeof(rerr));

		if (k < 0) {
			/* keep what this name resolved to before: a DNS hiccup
			 * must not drop a working server */
			snprintf(ctx->resolve_err, sizeof(ctx->resolve_err), "%s", rerr);
			for (int j = 0; j < ctx->naddr && nn < DRP_DCC_MAX_SRVR_ADDRS; j++)
				if (ctx->addr[j].srv == s)
					na[nn++] = ctx->addr[j];
			continue;
		}
		for (int i = 0; i < k; i++) {
			int fam = a[i].ss.ss_family;
			struct dcc_addr *d;

			if ((ctx->ipv6 < 0 && fam == AF_INET6) || (ctx->ipv6 > 0 && fam == AF_INET))
				continue;
			d = &na[nn++];

			memset(d, 0, sizeof(*d));
			d->a = a[i];
			d->srv = s;
			d->rtt_ms = RTT_UNKNOWN;
			for (int j = 0; j < ctx->naddr; j++) {
				if (ctx->addr[j].srv == s &&
				    drp_addr_equal((const struct sockaddr *)&ctx->addr[j].a.ss,
				                   (const struct sockaddr *)&a[i].ss)) {
					*d = ctx->addr[j];
					d->srv = s;
				}
			}
			drp_addr_str((const struct sockaddr *)&d->a.ss, d->name, sizeof(d->name));
		}
	}
	ctx->resolved_ms = drp_now_ms();
	if (nn == 0) {
		snprintf(err, errlen, "no DCC server addresses: %s",
		         ctx->resolve_err[0] ? ctx->resolve_err : "no names");
		return -1;
	}
	memcpy(ctx->addr, na, sizeof(na[0]) * (size_t)nn);
	ctx->naddr = nn;
	ctx->cur = -1;
	return 0;
}

/* ---- server choice ---- */

static long effective_rtt(const struct dcc_ctx *ctx, const struct dcc_addr *a)
{
	long rtt = a->rtt_ms;

	if (rtt == RTT_BAD || rtt >= DRP_DCC_MAX_RTT_MS)
		return RTT_BAD;
	if (rtt == RTT_UNKNOWN)
		rtt = RTT_GUESS_MS;
	rtt += ctx->srv[a->srv].rtt_adj_ms;
	/* the reference penalises servers speaking versions older than 9 */
	if (a->vers != 0 && a->vers < 9)
		rtt += 667;
	return rtt;
}

/* The best address not in `skip`; stays with ctx->cur unless another is
 * clearly better (by more than the server delay), like pick_srvr. */
static int pick_addr(struct dcc_ctx *ctx, const int *skip)
{
	int best = -1;
	long best_rtt = 0;

	for (int i = 0; i < ctx->naddr; i++) {
		long r;

		if (skip != NULL && skip[i])
			continue;
		r = effective_rtt(ctx, &ctx->addr[i]);
		if (best < 0 || r < best_rtt) {
			best = i;
			best_rtt = r;
		}
	}
	if (best < 0)
		return -1;
	if (ctx->cur >= 0 && ctx->cur < ctx->naddr && (skip == NULL || !skip[ctx->cur])) {
		long cr = effective_rtt(ctx, &ctx->addr[ctx->cur]);

		if (cr != RTT_BAD && cr <= best_rtt + DRP_DCC_DCCD_DELAY_MS)
			return ctx->cur;
	}
	if (skip == NULL)
		ctx->cur = best;
	return best;
}

static void age_avg(long *v, long n, long a, long b)
{
	*v = (*v * a + n * b + (a + b) / 2) / (a + b);
}

/* update_rtt of the reference: quick to learn, slow to forget */
static void update_rtt(struct dcc_addr *a, long ms, uint64_t now)
{
	if (ms < 0)
		ms = 0;
	if (a->rtt_ms == RTT_UNKNOWN || a->rtt_ms == RTT_BAD) {
		a->rtt_ms = ms;
		a->rtt_updated_ms = now;
	} else if (now < a->rtt_updated_ms + DRP_DCC_FAST_RTT_MS) {
		age_avg(&a->rtt_ms, ms, 2, 1);
	} else {
		age_avg(&a->rtt_ms, ms, 9, 1);
		a->rtt_updated_ms = now;
	}
	if (a->rtt_ms > DRP_DCC_MAX_RTT_MS)
		a->rtt_ms = DRP_DCC_MAX_RTT_MS;
}

static long retrans_ms(long rtt, int xmit)
{
	long b;

	if (rtt == RTT_UNKNOWN || rtt < DRP_DCC_MIN_RTT_MS)
		rtt = DRP_DCC_MIN_RTT_MS;
	if (rtt > DRP_DCC_MAX_RTT_MS)
		rtt = DRP_DCC_MAX_RTT_MS;
	b = (rtt << xmit) + DRP_DCC_DCCD_DELAY_MS;
	return b > DRP_DCC_MAX_RTT_MS ? DRP_DCC_MAX_RTT_MS : b;
}

static void fail_more(struct dcc_ctx *ctx, uint64_t now)
{
	if (ctx->fail_exp != 0 && ctx->fail_until_ms >= now)
		return;
	if (now >= ctx->fail_until_ms + ((uint64_t)DRP_DCC_INIT_FAIL_MS << ctx->fail_exp))
		ctx->fail_exp = 0;
	if (++ctx->fail_exp > DRP_DCC_MAX_FAIL_EXP)
		ctx->fail_exp = DRP_DCC_MAX_FAIL_EXP;
	ctx->fail_until_ms = now + ((uint64_t)DRP_DCC_INIT_FAIL_MS << ctx->fail_exp);
	ctx->measured_ms = 0; /* measure again after the backoff */
}

/* ---- context ---- */

static void dcc_ctx_free(void *p)
{
	if (p != NULL) {
		struct dcc_ctx *ctx = p;

		drp_kept_close(&ctx->keep);
		drp_dcc_ck_ctx_free(ctx->ck);
		OPENSSL_cleanse(p, sizeof(struct dcc_ctx));
		free(p);
	}
}

static int dcc_ctx_new(const struct drp_config *cfg, void **ctxp, char *err, size_t errlen)
{
	struct dcc_ctx *ctx = calloc(1, sizeof(*ctx));
	char host[256] = "";
	int en;

	*ctxp = NULL;
	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ctx->cur = -1;
	drp_kept_init(&ctx->keep);
	if (drp_config_bool(cfg, "dcc_enable", 1, &en, err, errlen) < 0)
		goto fail;
	if (!en) {
		*ctxp = ctx;
		return 0;
	}
	if (drp_config_ms(cfg, "backend_timeout", 5000, &ctx->budget_ms, err, errlen) < 0)
		goto fail;
	if (ctx->budget_ms <= 0) {
		snprintf(err, errlen, "backend_timeout: must be positive");
		goto fail;
	}
	{
		uint32_t all;

		if (cfg_thold(cfg, "dcc_threshold", DRP_DCC_TGTS_TOO_MANY, &all, err, errlen) < 0 ||
		    cfg_thold(cfg, "dcc_threshold_body", all, &ctx->th.body, err, errlen) < 0 ||
		    cfg_thold(cfg, "dcc_threshold_fuz1", all, &ctx->th.fuz1, err, errlen) < 0 ||
		    cfg_thold(cfg, "dcc_threshold_fuz2", all, &ctx->th.fuz2, err, errlen) < 0)
			goto fail;
	}
	{
		const char *t = drp_config_get(cfg, "dcc_report_tgts");
		uint32_t v;

		/* dccproc -t many: one copy flagged as known spam */
		ctx->report_tgts = 1 | DRP_DCC_TGTS_SPAM;
		if (t != NULL && *t != 0) {
			if (drp_dcc_parse_thold(t, &v) < 0 || v == UINT32_MAX ||
			    (v != DRP_DCC_TGTS_TOO_MANY && v > DRP_DCC_TGTS_RPT_MAX)) {
				snprintf(err, errlen,
				         "dcc_report_tgts: want 1..%u or \"many\", not \"%s\"",
				         DRP_DCC_TGTS_RPT_MAX, t);
				goto fail;
			}
			if (v != DRP_DCC_TGTS_TOO_MANY)
				ctx->report_tgts = v;
		}
	}
	if (load_substitute(cfg, ctx, err, errlen) < 0 ||
	    drp_config_bool(cfg, "dcc_probe", 1, &ctx->probe, err, errlen) < 0 ||
	    load_servers(cfg, ctx, err, errlen) < 0)
		goto fail;
	gethostname(host, sizeof(host) - 1);
	ctx->h = drp_dcc_host_num(gethostid(), host);
	/* the reference keeps r in its map across runs; without a map, start
	 * somewhere no earlier run of this pid is likely to have used */
	if (RAND_bytes((unsigned char *)&ctx->r, sizeof(ctx->r)) != 1)
		ctx->r = (uint32_t)drp_now_ms();
	ctx->r &= 0x7fffffff;
	/* NULL (out of memory) only costs speed: requests then use one-shot state */
	ctx->ck = drp_dcc_ck_ctx_new();
	ctx->enabled = 1;
	/* a resolution failure is not a configuration error: requests say so */
	resolve_all(ctx, err, errlen);
	err[0] = 0;
	*ctxp = ctx;
	return 0;
fail:
	dcc_ctx_free(ctx);
	return -1;
}

static int dcc_enabled(const void *ctxp)
{
	const struct dcc_ctx *ctx = ctxp;

	return ctx != NULL && ctx->enabled;
}

/* ---- the request ---- */

static void req_close(struct dcc_req *q)
{
	if (q->timer > 0)
		drp_loop_cancel(q->loop, q->timer);
	q->timer = 0;
	if (q->fd >= 0) {
		struct dcc_ctx *ctx = q->ctx;

		drp_loop_unwatch(q->loop, q->fd);
		if (q->keep) {
			drp_kept_put(&ctx->keep, q->fd);
			ctx->kaddr = ctx->addr[q->ai].a;
		} else {
			close(q->fd);
		}
	}
	q->fd = -1;
	q->keep = 0;
}

static int same_addr(const struct drp_addr *a, const struct drp_addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* A connected socket for address a: the kept one when it fits, else new. */
static int addr_socket(struct dcc_ctx *ctx, const struct dcc_addr *a)
{
	int fd;

	if (ctx->keep.fd >= 0 && !same_addr(&ctx->kaddr, &a->a))
		drp_kept_close(&ctx->keep);
	fd = drp_kept_take(&ctx->keep);
	if (fd >= 0) {
		uint8_t junk[64];

		/* whatever arrived since (a duplicate, a spoof, an ICMP error
		 * for an old datagram) belongs to no conversation of ours */
		for (int k = 0; k < 32 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) >= 0; k++)
			;
		return fd;
	}
	fd = drp_udp_socket(a->a.ss.ss_family);
	/* connected: the kernel drops datagrams from any other address or
	 * port, and an ICMP unreachable comes back as ECONNREFUSED */
	if (fd >= 0 && connect(fd, (const struct sockaddr *)&a->a.ss, a->a.len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Charge the current address for the transmissions it did not answer
 * (resp_rates of the reference). */
static void penalize(struct dcc_req *q, uint64_t now)
{
	struct dcc_addr *a = &q->ctx->addr[q->ai];
	long answered_delay = 0;
	int any = 0;

	for (int i = 0; i < q->xmit; i++)
		if (q->answered[i]) {
			any = 1;
			break;
		}
	for (int i = 0; i < q->xmit; i++) {
		long us;

		if (q->answered[i])
			continue;
		us = (long)(now - q->sent_ms[i]);
		if (us < answered_delay)
			us = answered_delay;
		us += DRP_DCC_DCCD_DELAY_MS;
		if (any || a->rtt_ms == RTT_UNKNOWN || us >= a->rtt_ms)
			update_rtt(a, us, now);
	}
	if (!any && q->xmit >= DRP_DCC_MAX_XMITS)
		a->rtt_ms = RTT_BAD;
}

static void finish_with(struct dcc_req *q, enum drp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish_with(struct dcc_req *q, enum drp_status st, const char *fmt, ...)
{
	uint64_t now = drp_now_ms();

	if (q->done)
		return;
	q->done = 1;
	q->res->net.status = st;
	q->res->net.latency_ms = (long)(now - q->start_ms);
	q->res->net.error[0] = 0;
	if (fmt != NULL) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(q->res->net.error, sizeof(q->res->net.error), fmt, ap);
		va_end(ap);
	}
	req_close(q);
}

static int send_xmit(struct dcc_req *q);
static void on_timer(struct drp_loop *l, void *arg);
static void on_read(struct drp_loop *l, int fd, unsigned ev, void *arg);

/* Start the conversation with address ai: a socket (the kept one when it
 * fits), new r, t from 1. */
static int begin_addr(struct dcc_req *q, int ai)
{
	struct dcc_ctx *ctx = q->ctx;
	struct dcc_addr *a = &ctx->addr[ai];
	char err[160];
	int n;

	req_close(q);
	q->ai = ai;
	q->tried[ai] = 1;
	q->xmit = 0;
	memset(q->answered, 0, sizeof(q->answered));
	q->cred = &ctx->srv[a->srv].cred;
	q->on.h = ctx->h;
	q->on.p = (uint32_t)getpid();
	q->on.r = ++ctx->r;
	q->on.t = 0;
	n = drp_dcc_build(q->wop, q->cred, &q->on, q->tgts, q->cks, q->ncks, q->pkt, sizeof(q->pkt),
	                  err, sizeof(err));
	if (n < 0) {
		finish_with(q, DRP_ST_ERROR, "%s", err);
		return -1;
	}
	q->len = (size_t)n;
	q->res->client_id = q->cred->id;
	snprintf(q->res->server, sizeof(q->res->server), "%s", a->name);
	q->fd = addr_socket(ctx, a);
	if (q->fd < 0 || drp_loop_watch(q->loop, q->fd, DRP_EV_READ, on_read, q) < 0) {
		finish_with(q, DRP_ST_ERROR, "socket for %s: %s", a->name, strerror(errno));
		return -1;
	}
	return send_xmit(q);
}

/* Another address for a request whose server did not answer at all:
 * a REPORT is never sent elsewhere (it would be counted twice in the
 * flooded network); like ask.c, the retry is a QUERY. */
static int fail_over(struct dcc_req *q, const char *why)
{
	int next = pick_addr(q->ctx, q->tried);
	uint64_t now = drp_now_ms();

	if (next < 0 || now + DRP_DCC_MIN_RTT_MS > q->deadline_ms)
		return -1;
	q->failed_over = 1;
	if (q->wop == DRP_DCC_OP_REPORT) {
		q->wop = DRP_DCC_OP_QUERY;
		q->tgts = 0;
	}
	snprintf(q->last_bad, sizeof(q->last_bad), "%s", why);
	return begin_addr(q, next);
}

/* Time left for the current address: the budget minus, when another
 * address exists, what one try there needs. */
static long remaining_ms(struct dcc_req *q, uint64_t now)
{
	long remaining = (long)(q->deadline_ms > now ? q->deadline_ms - now : 0);
	int spare = pick_addr(q->ctx, q->tried);

	if (spare >= 0) {
		long reserve = retrans_ms(q->ctx->addr[spare].rtt_ms, 0);

		remaining = remaining > reserve ? remaining - reserve : 0;
	}
	return remaining;
}

/* One transmission and the wait after it (dcc_clnt_op's schedule). */
static int send_xmit(struct dcc_req *q)
{
	struct dcc_addr *a = &q->ctx->addr[q->ai];
	uint64_t now = drp_now_ms();
	long wait, remaining = remaining_ms(q, now);

	wait = retrans_ms(a->rtt_ms, q->xmit);
	if (wait > remaining)
		wait = remaining;
	/* wait as long as possible after the last try */
	if (q->xmit + 1 == DRP_DCC_MAX_XMITS && wait < DRP_DCC_MAX_RTT_MS)
		wait = remaining < DRP_DCC_MAX_RTT_MS ? remaining : DRP_DCC_MAX_RTT_MS;
	q->on.t++;
	drp_dcc_set_t(q->pkt, q->len, q->on.t, q->cred);
	q->sent_ms[q->xmit] = now;
	q->answered[q->xmit] = 0;
	q->xmit++;
	q->res->xmits++;
	if (send(q->fd, q->pkt, q->len, 0) < 0 && errno == ECONNREFUSED) {
		a->rtt_ms = RTT_BAD;
		if (fail_over(q, "port unreachable") == 0)
			return 0;
		finish_with(q, DRP_ST_ERROR, "DCC server %s: port unreachable", a->name);
		return -1;
	}
	/* any other send failure is a loss like any other: the schedule copes */
	if (wait < 1)
		wait = 1;
	q->timer = drp_loop_timer(q->loop, (uint64_t)wait, on_timer, q);
	if (q->timer < 0) {
		q->timer = 0;
		finish_with(q, DRP_ST_ERROR, "out of timers");
		return -1;
	}
	return 0;
}

static void give_up(struct dcc_req *q)
{
	struct dcc_addr *a = &q->ctx->addr[q->ai];
	uint64_t now = drp_now_ms();

	penalize(q, now);
	if (q->bad_sig) {
		finish_with(q, DRP_ST_ERROR,
		            "DCC server %s rejected our password for ID %lu (answer not signed "
		            "with it)",
		            a->name, (unsigned long)q->cred->id);
		return;
	}
	if (fail_over(q, "no answer") == 0)
		return;
	fail_more(q->ctx, now);
	if (q->last_bad[0] != 0 && strcmp(q->last_bad, "no answer") != 0 &&
	    strcmp(q->last_bad, "port unreachable") != 0)
		finish_with(q, DRP_ST_ERROR, "no valid DCC answer from %s after %ld ms: %s",
		            a->name, (long)(now - q->start_ms), q->last_bad);
	else
		finish_with(q, DRP_ST_TIMEOUT, "no DCC answer from %s after %ld ms", a->name,
		            (long)(now - q->start_ms));
}

static void on_timer(struct drp_loop *l, void *arg)
{
	struct dcc_req *q = arg;

	q->timer = 0;
	if (q->done)
		return;
	/* after an answer that failed our password the server is treating us
	 * as anonymous: more tries would only delay the error */
	if (q->bad_sig || q->xmit >= DRP_DCC_MAX_XMITS ||
	    remaining_ms(q, drp_now_ms()) < DRP_DCC_MIN_RTT_MS) {
		give_up(q);
		return;
	}
	send_xmit(q);
}

static int is_body(unsigned t)
{
	return t == DRP_DCC_CK_BODY || t == DRP_DCC_CK_FUZ1 || t == DRP_DCC_CK_FUZ2;
}

void drp_dcc_verdict(struct drp_dcc_result *r, const struct drp_dcc_tholds *th)
{
	int bulk = 0, ok2 = 0;

	r->have_bulk = 0;
	r->bulk = 0;
	r->whitelisted = 0;
	for (int i = 0; i < r->n; i++) {
		const struct drp_dcc_count *c = &r->counts[i];
		uint32_t thold = UINT32_MAX;

		switch (c->type) {
		case DRP_DCC_CK_IP:
		case DRP_DCC_CK_ENV_FROM:
		case DRP_DCC_CK_FROM:
			/* the server's whitelist, honoured for these types by default */
			if (c->c == DRP_DCC_TGTS_OK)
				r->whitelisted = 1;
			else if (c->c == DRP_DCC_TGTS_OK2 && ++ok2 >= 2)
				r->whitelisted = 1;
			continue;
		case DRP_DCC_CK_BODY:
			thold = th->body;
			break;
		case DRP_DCC_CK_FUZ1:
			thold = th->fuz1;
			break;
		case DRP_DCC_CK_FUZ2:
			thold = th->fuz2;
			break;
		default:
			continue;
		}
		if (c->p == DRP_DCC_TGTS_INVALID && c->c == 0)
			continue; /* not counted by this server */
		if (c->c == DRP_DCC_TGTS_OK || c->c == DRP_DCC_TGTS_OK2) {
			r->whitelisted = 1;
			continue;
		}
		if (c->c <= DRP_DCC_TGTS_TOO_MANY) {
			if (!r->have_bulk || c->c > r->bulk)
				r->bulk = c->c;
			r->have_bulk = 1;
			if (thold != UINT32_MAX && thold <= c->c)
				bulk = 1;
		}
	}
	r->action = (bulk && !r->whitelisted) ? DRP_DCC_ACT_REJECT : DRP_DCC_ACT_ACCEPT;
}

void drp_dcc_metrics(const struct drp_dcc_result *r, char *out, size_t outlen)
{
	size_t off = 0;

	out[0] = 0;
	if (r->action == DRP_DCC_ACT_REJECT)
		off += (size_t)snprintf(out, outlen, "bulk");
	else if (r->whitelisted)
		off += (size_t)snprintf(out, outlen, "whitelist");
	for (int i = 0; i < r->n && off < outlen; i++) {
		const struct drp_dcc_count *c = &r->counts[i];
		char v[24];

		if (!is_body(c->type) || (c->p == DRP_DCC_TGTS_INVALID && c->c == 0))
			continue;
		drp_dcc_tgts_str(c->c, v, sizeof(v));
		off += (size_t)snprintf(out + off, outlen - off, "%s%s=%s", off ? " " : "",
		                        drp_dcc_type_name(c->type), v);
	}
}

static void take_answer(struct dcc_req *q, const struct drp_dcc_answer *an, int xi, uint64_t now)
{
	struct dcc_addr *a = &q->ctx->addr[q->ai];
	struct drp_dcc_result *r = q->res;

	q->answered[xi] = 1;
	update_rtt(a, (long)(now - q->sent_ms[xi]), now);
	penalize(q, now);
	q->ctx->fail_exp = 0;
	q->ctx->cur = q->ai;
	a->server_id = an->sender;
	r->server_id = an->sender;
	if (an->op == DRP_DCC_OP_ERROR) {
		finish_with(q, DRP_ST_ERROR, "DCC server %s: %s", a->name, an->errmsg);
		return;
	}
	if (an->n != q->ncks) {
		finish_with(q, DRP_ST_ERROR, "DCC server %s answered %d counts for %d checksums",
		            a->name, an->n, q->ncks);
		return;
	}
	r->n = an->n;
	for (int i = 0; i < an->n; i++) {
		r->counts[i].type = q->cks[i].type;
		r->counts[i].c = an->c[i];
		r->counts[i].p = an->p[i];
	}
	drp_dcc_verdict(r, &q->ctx->th);
	if (q->op == DRP_OP_REPORT && q->failed_over) {
		/* counts from a QUERY elsewhere: the report itself is unconfirmed */
		finish_with(q, DRP_ST_ERROR, "report not confirmed: %s; counts from a query to %s",
		            q->last_bad, a->name);
		return;
	}
	r->reported = q->op == DRP_OP_REPORT;
	q->keep = q->xmit == 1;
	finish_with(q, DRP_ST_OK, NULL);
}

static void on_read(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct dcc_req *q = arg;

	for (int k = 0; k < 16 && !q->done; k++) {
		uint8_t buf[DRP_DCC_MAX_ANSWER + 1];
		struct drp_dcc_answer an;
		char err[160];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint64_t now = drp_now_ms();
		int xi = -1;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				struct dcc_addr *a = &q->ctx->addr[q->ai];

				a->rtt_ms = RTT_BAD;
				if (fail_over(q, "port unreachable") < 0)
					finish_with(q, DRP_ST_ERROR,
					            "DCC server %s: port unreachable", a->name);
			}
			return;
		}
		if ((size_t)n > DRP_DCC_MAX_ANSWER) {
			snprintf(q->last_bad, sizeof(q->last_bad), "oversized datagram");
			continue;
		}
		if (drp_dcc_decode(buf, (size_t)n, &an, err, sizeof(err)) < 0) {
			snprintf(q->last_bad, sizeof(q->last_bad), "%s", err);
			continue;
		}
		if (!drp_dcc_matches(&an, &q->on) ||
		    (an.op != DRP_DCC_OP_ANSWER && an.op != DRP_DCC_OP_ERROR)) {
			snprintf(q->last_bad, sizeof(q->last_bad), "stray datagram (op %u)",
			         (unsigned)an.op);
			continue;
		}
		/* transmission i of this address carried t = i + 1 */
		if (an.on.t >= 1 && an.on.t <= (uint32_t)q->xmit && !q->answered[an.on.t - 1])
			xi = (int)an.on.t - 1;
		if (xi < 0) {
			snprintf(q->last_bad, sizeof(q->last_bad),
			         "answer to no transmission of ours");
			continue;
		}
		if (q->cred->id != DRP_DCC_ID_ANON && !drp_dcc_sig_ok(buf, (size_t)n, q->cred)) {
			/* not from the server we share a secret with, or it
			 * does not know our password: never trust its counts */
			q->bad_sig = 1;
			q->answered[xi] = 1;
			snprintf(q->last_bad, sizeof(q->last_bad), "answer with a bad signature");
			continue;
		}
		take_answer(q, &an, xi, now);
	}
}

static void *dcc_start(struct drp_loop *loop, void *ctxp, enum drp_op op, const uint8_t *msg,
                       size_t len, const struct drp_envelope *env, void *resp)
{
	struct dcc_ctx *ctx = ctxp;
	struct drp_dcc_result *r = resp;
	struct drp_dcc_cks *cks;
	struct dcc_req *q;
	uint64_t now = drp_now_ms();
	char err[160];
	int rc, ai;

	r->action = DRP_DCC_ACT_UNKNOWN;
	r->applicable = 1;
	if (ctx == NULL || !ctx->enabled) {
		r->net.status = DRP_ST_DISABLED;
		return NULL;
	}
	if (op == DRP_OP_REVOKE) {
		r->applicable = 0;
		r->net.status = DRP_ST_DISABLED;
		snprintf(r->net.error, sizeof(r->net.error), "DCC has no un-report");
		return NULL;
	}
	if (ctx->fail_exp != 0 && now < ctx->fail_until_ms) {
		r->net.status = DRP_ST_ERROR;
		snprintf(r->net.error, sizeof(r->net.error),
		         "continue not asking DCC %ld seconds after %d failures",
		         (long)((ctx->fail_until_ms - now + 999) / 1000), ctx->fail_exp);
		return NULL;
	}
	if (ctx->naddr == 0) {
		r->net.status = DRP_ST_ERROR;
		snprintf(r->net.error, sizeof(r->net.error), "no DCC server addresses%s%.120s",
		         ctx->resolve_err[0] ? ": " : "", ctx->resolve_err);
		return NULL;
	}
	cks = malloc(sizeof(*cks));
	q = calloc(1, sizeof(*q));
	if (cks == NULL || q == NULL) {
		free(cks);
		free(q);
		r->net.status = DRP_ST_ERROR;
		snprintf(r->net.error, sizeof(r->net.error), "out of memory");
		return NULL;
	}
	rc =
	    ctx->ck != NULL
	        ? drp_dcc_checksums_ctx(ctx->ck, msg, len, env, &ctx->ckopts, cks, err, sizeof(err))
	        : drp_dcc_checksums(msg, len, env, &ctx->ckopts, cks, err, sizeof(err));
	if (rc != DRP_DCC_OK) {
		r->net.status = DRP_ST_ERROR;
		snprintf(r->net.error, sizeof(r->net.error), "%s%.120s",
		         rc == DRP_DCC_REFUSED ? "message refused: " : "", err);
		r->net.latency_ms = (long)(drp_now_ms() - now);
		free(cks);
		free(q);
		return NULL;
	}
	for (int i = 0; i < cks->n && q->ncks < DRP_DCC_PKT_MAX_CKS; i++) {
		const struct drp_dcc_ck *c = &cks->ck[i];

		/* one of each type, in type order, only those dccproc sends */
		if (!c->report || c->type < 1 || c->type > DRP_DCC_PKT_TYPE_MAX)
			continue;
		if (q->ncks > 0 && q->cks[q->ncks - 1].type >= c->type)
			continue;
		q->cks[q->ncks].type = (uint8_t)c->type;
		memcpy(q->cks[q->ncks].sum, c->sum, 16);
		q->ncks++;
	}
	free(cks);
	if (q->ncks == 0) {
		/* dccproc pretends the server said 0 for a message without
		 * checksums worth sending */
		free(q);
		r->net.status = DRP_ST_OK;
		r->action = DRP_DCC_ACT_ACCEPT;
		r->net.latency_ms = (long)(drp_now_ms() - now);
		return NULL;
	}
	q->ctx = ctx;
	q->loop = loop;
	q->res = r;
	q->op = op;
	q->fd = -1;
	q->start_ms = now;
	q->deadline_ms = now + (uint64_t)ctx->budget_ms;
	if (op == DRP_OP_REPORT) {
		q->wop = DRP_DCC_OP_REPORT;
		q->tgts = ctx->report_tgts;
	} else {
		q->wop = DRP_DCC_OP_QUERY;
		q->tgts = 0;
	}
	r->net.status = DRP_ST_PENDING;
	ai = pick_addr(ctx, NULL);
	begin_addr(q, ai);
	return q;
}

static void dcc_finish(void *req)
{
	struct dcc_req *q = req;

	if (q == NULL)
		return;
	if (!q->done) {
		uint64_t now = drp_now_ms();

		penalize(q, now);
		if (q->bad_sig)
			finish_with(q, DRP_ST_ERROR,
			            "DCC server %s rejected our password for ID %lu",
			            q->ctx->addr[q->ai].name, (unsigned long)q->cred->id);
		else if (q->last_bad[0] != 0 && strcmp(q->last_bad, "no answer") != 0)
			finish_with(q, DRP_ST_TIMEOUT, "no valid DCC answer from %s: %s",
			            q->ctx->addr[q->ai].name, q->last_bad);
		else {
			/* nothing at all came back: like the reference, stop
			 * asking for a while rather than delay every message */
			fail_more(q->ctx, now);
			finish_with(q, DRP_ST_TIMEOUT, "no DCC answer from %s within the budget",
			            q->ctx->addr[q->ai].name);
		}
	}
	req_close(q);
	free(q);
}

/* ---- RTT measurement with NOPs (refresh and `drp ping`) ---- */

struct dcc_probe_one {
	struct dcc_probe *pr;
	int ai, fd;
	struct drp_dcc_opnums on;
	uint8_t pkt[DRP_DCC_NOP_LEN];
	uint64_t sent_ms;
	long rtt_ms; /* -1 no answer */
	int bad_sig;
	int done; /* answered, or failed for good */
	char err[120];
};

struct dcc_probe {
	struct dcc_ctx *ctx;
	struct drp_loop *loop;
	struct json_object *out;
	long timer;
	int n;
	struct dcc_probe_one one[DRP_DCC_MAX_SRVR_ADDRS];
};

static void probe_read(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct dcc_probe_one *o = arg;
	const struct drp_dcc_cred *cr = &o->pr->ctx->srv[o->pr->ctx->addr[o->ai].srv].cred;

	for (int k = 0; k < 8; k++) {
		uint8_t buf[DRP_DCC_MAX_ANSWER + 1];
		struct drp_dcc_answer an;
		char err[120];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == ECONNREFUSED) {
				snprintf(o->err, sizeof(o->err), "port unreachable");
				drp_loop_unwatch(l, fd);
			}
			return;
		}
		if ((size_t)n > DRP_DCC_MAX_ANSWER ||
		    drp_dcc_decode(buf, (size_t)n, &an, err, sizeof(err)) < 0) {
			snprintf(o->err, sizeof(o->err), "bad answer");
			continue;
		}
		if (an.op != DRP_DCC_OP_OK || !drp_dcc_matches(&an, &o->on))
			continue;
		if (cr->id != DRP_DCC_ID_ANON && !drp_dcc_sig_ok(buf, (size_t)n, cr)) {
			o->bad_sig = 1;
			snprintf(o->err, sizeof(o->err), "rejected our password for ID %lu",
			         (unsigned long)cr->id);
			continue;
		}
		o->rtt_ms = (long)(drp_now_ms() - o->sent_ms);
		o->pr->ctx->addr[o->ai].server_id = an.sender;
		o->pr->ctx->addr[o->ai].vers = an.max_pkt_vers;
		o->err[0] = 0;
		drp_loop_unwatch(l, fd);
		o->done = 1;
		/* every address answered: no need to wait out the budget */
		for (int i = 0; i < o->pr->n; i++)
			if (!o->pr->one[i].done)
				return;
		if (o->pr->timer > 0)
			drp_loop_cancel(l, o->pr->timer);
		o->pr->timer = 0;
		return;
	}
}

static void probe_timeout(struct drp_loop *l, void *arg)
{
	struct dcc_probe *pr = arg;

	pr->timer = 0;
	for (int i = 0; i < pr->n; i++)
		if (pr->one[i].fd >= 0)
			drp_loop_unwatch(l, pr->one[i].fd);
}

static struct dcc_probe *probe_start(struct drp_loop *loop, struct dcc_ctx *ctx, long budget)
{
	struct dcc_probe *pr = calloc(1, sizeof(*pr));
	char err[120];

	if (pr == NULL)
		return NULL;
	pr->ctx = ctx;
	pr->loop = loop;
	for (int i = 0; i < ctx->naddr; i++) {
		struct dcc_probe_one *o = &pr->one[pr->n++];
		struct dcc_addr *a = &ctx->addr[i];

		o->pr = pr;
		o->ai = i;
		o->rtt_ms = -1;
		o->on.h = ctx->h;
		o->on.p = (uint32_t)getpid();
		o->on.r = ++ctx->r;
		o->on.t = 1;
		o->fd = drp_udp_socket(a->a.ss.ss_family);
		if (o->fd < 0 || connect(o->fd, (const struct sockaddr *)&a->a.ss, a->a.len) < 0 ||
		    drp_dcc_build(DRP_DCC_OP_NOP, &ctx->srv[a->srv].cred, &o->on, 0, NULL, 0,
		                  o->pkt, sizeof(o->pkt), err, sizeof(err)) < 0 ||
		    drp_loop_watch(loop, o->fd, DRP_EV_READ, probe_read, o) < 0) {
			snprintf(o->err, sizeof(o->err), "socket: %s", strerror(errno));
			o->done = 1;
			if (o->fd >= 0)
				close(o->fd);
			o->fd = -1;
			continue;
		}
		o->sent_ms = drp_now_ms();
		if (send(o->fd, o->pkt, sizeof(o->pkt), 0) < 0)
			snprintf(o->err, sizeof(o->err), "send: %s", strerror(errno));
	}
	pr->timer = drp_loop_timer(loop, (uint64_t)budget, probe_timeout, pr);
	return pr;
}

static void probe_end(struct dcc_probe *pr)
{
	uint64_t now = drp_now_ms();

	if (pr->timer > 0)
		drp_loop_cancel(pr->loop, pr->timer);
	for (int i = 0; i < pr->n; i++) {
		struct dcc_probe_one *o = &pr->one[i];
		struct dcc_addr *a = &pr->ctx->addr[o->ai];

		if (o->fd >= 0) {
			drp_loop_unwatch(pr->loop, o->fd);
			close(o->fd);
		}
		if (o->rtt_ms >= 0)
			update_rtt(a, o->rtt_ms, now);
		else
			a->rtt_ms = RTT_BAD;
		if (pr->out != NULL) {
			struct json_object *j = json_object_new_object();

			json_object_object_add(j, "server", json_object_new_string(a->name));
			json_object_object_add(j, "ok", json_object_new_boolean(o->rtt_ms >= 0));
			json_object_object_add(j, "rtt_ms", json_object_new_int64(o->rtt_ms));
			if (o->rtt_ms < 0)
				json_object_object_add(
				    j, "error",
				    json_object_new_string(o->err[0] ? o->err : "no answer"));
			json_object_array_add(pr->out, j);
		}
	}
	pr->ctx->measured_ms = now;
	pr->ctx->cur = -1;
	pick_addr(pr->ctx, NULL);
	free(pr);
}

static int dcc_ctx_refresh(void *ctxp, char *err, size_t errlen)
{
	struct dcc_ctx *ctx = ctxp;
	uint64_t now = drp_now_ms();
	int rc = 0;

	if (ctx == NULL || !ctx->enabled)
		return 0;
	if (ctx->naddr == 0 || now >= ctx->resolved_ms + DRP_DCC_RESOLVE_MS)
		rc = resolve_all(ctx, err, errlen);
	/* measuring only matters when there is a choice */
	if (ctx->probe && ctx->naddr > 1 &&
	    (ctx->measured_ms == 0 || now >= ctx->measured_ms + DRP_DCC_FAST_RTT_MS)) {
		struct drp_loop *l = drp_loop_new();
		struct dcc_probe *pr;
		long b = ctx->budget_ms < PROBE_BUDGET_MS ? ctx->budget_ms : PROBE_BUDGET_MS;

		if (l == NULL)
			return rc;
		pr = probe_start(l, ctx, b);
		if (pr != NULL) {
			drp_loop_run(l, drp_now_ms() + (uint64_t)b);
			probe_end(pr);
		}
		drp_loop_free(l);
	}
	return rc;
}

static void *dcc_ping_start(struct drp_loop *loop, void *ctxp, struct json_object *out)
{
	struct dcc_ctx *ctx = ctxp;
	struct dcc_probe *pr;

	if (ctx == NULL || !ctx->enabled)
		return NULL;
	pr = probe_start(loop, ctx, ctx->budget_ms);
	if (pr != NULL)
		pr->out = out;
	return pr;
}

static void dcc_ping_finish(void *req)
{
	if (req != NULL)
		probe_end(req);
}

/* ---- output ---- */

static void dcc_result_json(const void *resp, enum drp_op op, struct json_object *obj)
{
	const struct drp_dcc_result *r = resp;
	int ok = r->net.status == DRP_ST_OK;
	const char *action = "unknown";
	struct json_object *counts;
	char metrics[160];

	if (op == DRP_OP_REVOKE || !r->applicable) {
		json_object_object_add(obj, "applicable", json_object_new_boolean(0));
		json_object_object_add(obj, "status",
		                       json_object_new_string(drp_status_name(r->net.status)));
		json_object_object_add(obj, "latency_ms", json_object_new_int64(0));
		return;
	}
	if (ok && r->action == DRP_DCC_ACT_REJECT)
		action = "reject";
	else if (ok && r->action == DRP_DCC_ACT_ACCEPT)
		action = "accept";
	json_object_object_add(obj, "action", json_object_new_string(action));
	json_object_object_add(obj, "bulk",
	                       ok && r->have_bulk ? json_object_new_int64(r->bulk) : NULL);
	/* the real counts, whatever the verdict (types the server counts) */
	counts = json_object_new_object();
	for (int i = 0; i < r->n; i++) {
		const struct drp_dcc_count *c = &r->counts[i];

		if (c->p == DRP_DCC_TGTS_INVALID && c->c == 0)
			continue;
		json_object_object_add(counts, drp_dcc_type_name(c->type),
		                       json_object_new_int64(c->c));
	}
	json_object_object_add(obj, "counts", counts);
	if (r->n > 0) {
		drp_dcc_metrics(r, metrics, sizeof(metrics));
		json_object_object_add(obj, "metrics", json_object_new_string(metrics));
	}
	json_object_object_add(obj, "whitelisted", json_object_new_boolean(r->whitelisted));
	if (op == DRP_OP_REPORT)
		json_object_object_add(obj, "reported", json_object_new_boolean(r->reported));
	if (r->server[0] != 0)
		json_object_object_add(obj, "server", json_object_new_string(r->server));
	if (r->server_id != 0)
		json_object_object_add(obj, "server_id", json_object_new_int64(r->server_id));
	if (r->client_id != 0)
		json_object_object_add(obj, "client_id", json_object_new_int64(r->client_id));
	json_object_object_add(obj, "status",
	                       json_object_new_string(drp_status_name(r->net.status)));
	json_object_object_add(obj, "latency_ms", json_object_new_int64(r->net.latency_ms));
	if (!ok && r->net.error[0] != 0)
		json_object_object_add(obj, "error", json_object_new_string(r->net.error));
}

static int dcc_listed(const void *resp)
{
	const struct drp_dcc_result *r = resp;

	return r->net.status == DRP_ST_OK && r->action == DRP_DCC_ACT_REJECT;
}

const struct drp_net_ops drp_dcc_ops = {
    .name = "dcc",
    .result_size = sizeof(struct drp_dcc_result),
    .ctx_new = dcc_ctx_new,
    .ctx_refresh = dcc_ctx_refresh,
    .enabled = dcc_enabled,
    .ctx_free = dcc_ctx_free,
    .start = dcc_start,
    .finish = dcc_finish,
    .result_json = dcc_result_json,
    .listed = dcc_listed,
    .ping_start = dcc_ping_start,
    .ping_finish = dcc_ping_finish,
};
