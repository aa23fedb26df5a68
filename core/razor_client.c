/* razor_client: see razor_client.h.
 *
 * One state machine (struct rz_sess) drives every Razor2 TCP conversation:
 * the request-path ones (check, report, revoke) on the caller's loop, and
 * the between-requests ones (discovery, state probe, registration) on a
 * private loop run to razor_timeout.  Each step sends one unit and waits
 * for exactly one framed answer; a unit's answer must hold as many lines
 * as the unit held queries. */
#include "razor_client.h"

#include <errno.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "razor_home.h"
#include "razor_proto.h"
#include "razor_sig.h"

#define RZ_MAX_SERVERS (2 * DRP_RAZOR_LST_MAX)
#define RZ_DEFAULT_HOME "/var/lib/razor"
#define RZ_DEFAULT_DISCOVERY "discovery.razor.cloudmark.com"
#define RZ_DEFAULT_TIMEOUT_MS 10000
#define RZ_MAX_QUERIES 4096
#define RZ_MAX_UNITS 4096
#define RZ_USER_MAX 128
#define RZ_PASS_MAX 256
#define RZ_DEFAULT_KEEPALIVE_MS 10000

struct rz_server {
	char name[DRP_RAZOR_NAME_MAX]; /* as listed: host or host:port */
	struct drp_hostport hp;
	struct drp_addr addr;
	int resolved;
	struct drp_razor_kv state; /* server.<host>.conf: defaults + state answer */
	struct drp_razor_srvconf conf;
	int dirty; /* state changed by a request: write it back */
};

/* The connection of a session that ended cleanly, kept for the next
 * request of this process (razor_keepalive).  The server keeps a session's
 * state per connection (razor-agents authenticates once per connection and
 * then sends every report on it), so the greeting and the authentication
 * stay valid for as long as the connection does. */
struct rz_keep {
	int active;
	int fd;
	int srv;   /* index in rz_ctx.srv */
	pid_t pid; /* the process that owns it: a forked copy must not talk on it */
	uint64_t used_ms;
	int authed; /* a=auth succeeded on it */
	struct drp_razor_greeting greet;
};

struct rz_ctx {
	int enabled;
	char home[PATH_MAX];
	char discovery[512]; /* razordiscovery / razor_discovery: host[:port] list */
	int discovery_override;
	int explicit_servers; /* razor_servers: no discovery, no .lst files (razor's -rs) */
	char lst_cat[PATH_MAX], lst_nom[PATH_MAX], lst_disc[PATH_MAX];
	long rediscovery_wait;
	int turn_off_discovery;
	char min_cf[32];
	int logic_method;
	char identity[PATH_MAX];
	char user[RZ_USER_MAX], pass[RZ_PASS_MAX];
	int have_ident;
	long timeout_ms;
	long connect_ms;   /* connect + greeting per server before trying the next */
	long keepalive_ms; /* idle limit of a kept connection, 0: one connection per request */
	struct rz_keep keep;

	struct rz_server *srv;
	int nsrv;
	int cat[RZ_MAX_SERVERS], ncat;
	int nom[RZ_MAX_SERVERS], nnom;
	int force_discovery;
	time_t discovered;
	char warn[256]; /* last non-fatal problem (discovery, writes) */
};

enum rz_mode { M_CHECK, M_REPORT, M_REVOKE, M_DISCOVER, M_REGISTER, M_PROBE };

enum rz_step {
	ST_CONNECT,
	ST_GREETING,
	ST_STATE,
	ST_AI,
	ST_REREG,
	ST_AUTH,
	ST_REG,
	ST_UNITS,
	ST_UPLOAD,
	ST_CSL,
	ST_NSL,
	ST_DONE,
};

struct rz_sess {
	struct drp_loop *loop;
	struct rz_ctx *ctx;
	enum rz_mode mode;
	enum rz_step step;
	struct drp_razor_result *res;
	uint64_t t0;
	int fd;
	int watched;
	long timer; /* connect/greeting deadline of the current server, 0: none */

	/* servers to try, in order; a bare address for discovery */
	const int *list;
	int nlist, cur;
	struct drp_addr daddr;
	struct rz_server *srv;

	struct drp_buf out;
	size_t out_off;
	struct drp_buf in;
	int expect; /* answer lines the pending unit needs; 0: none pending */

	struct drp_razor_greeting greet;
	struct drp_razor_srvconf conf;
	char ep4[DRP_RAZOR_EP4_MAX];
	int min_cf;
	unsigned engines;
	int reregistered;
	int authed;        /* a=auth succeeded on this connection */
	int reused;        /* the connection came from rz_ctx.keep */
	int retried;       /* a kept connection failed and was replaced */
	int got_bytes;     /* something was read on this connection */
	unsigned conn_gen; /* bumped whenever fd is replaced */

	/* message, signatures and the queries made of them */
	struct drp_razor_msg msg;
	int have_msg;
	struct drp_razor_sigs sigs;
	struct drp_razor_q *q;
	int *qpart; /* part index of each query */
	int nq;
	struct drp_buf qbuf;
	struct drp_razor_unit *units;
	int nunits, unit;
	int *spam, *ct;   /* per part (check) */
	int *wants_mail;  /* per mail (report) */
	int refused;      /* answers with err (other than a wanted mail) */
	char refusal[64]; /* the first such err */

	/* discovery and registration outcomes */
	struct drp_razor_lst csl, nsl;
	struct drp_razor_kv ident;
	const char *reg_user, *reg_pass;
};

/* snprintf that truncates silently: used for diagnostics and names whose
 * bounds were checked when they were parsed. */
static void put(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void put(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* the kept connection */

/* Forget the kept connection; `quit` says goodbye first as razor does.  A
 * copy inherited over fork() is only closed: the parent still owns the
 * conversation. */
static void keep_drop(struct rz_ctx *c, int quit)
{
	if (!c->keep.active)
		return;
	if (quit && c->keep.pid == getpid())
		(void)send(c->keep.fd, "a=q\r\n", 5, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(c->keep.fd);
	c->keep.active = 0;
	c->keep.fd = -1;
}

/* The kept connection to server `srv`, if it is still worth using: same
 * process, younger than the idle limit, and neither closed by the server
 * nor holding bytes nobody asked for.  -1 otherwise (and it is dropped). */
static int keep_take(struct rz_ctx *c, int srv)
{
	struct rz_keep *k = &c->keep;
	uint8_t b;
	ssize_t n;
	int fd;

	if (!k->active)
		return -1;
	if (k->pid != getpid()) {
		keep_drop(c, 0);
		return -1;
	}
	if (k->srv != srv || c->keepalive_ms <= 0 ||
	    drp_now_ms() - k->used_ms >= (uint64_t)c->keepalive_ms) {
		keep_drop(c, 1);
		return -1;
	}
	do
		n = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		/* closed, reset, or talking out of turn */
		keep_drop(c, 0);
		return -1;
	}
	fd = k->fd;
	k->active = 0;
	k->fd = -1;
	return fd;
}

/* ------------------------------------------------------------------ */
/* session plumbing */

static void sess_close(struct rz_sess *s)
{
	if (s->timer > 0)
		drp_loop_cancel(s->loop, s->timer);
	s->timer = 0;
	if (s->fd >= 0) {
		if (s->watched)
			drp_loop_unwatch(s->loop, s->fd);
		close(s->fd);
	}
	s->fd = -1;
	s->watched = 0;
}

static void sess_end(struct rz_sess *s, enum drp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sess_end(struct rz_sess *s, enum drp_status st, const char *fmt, ...)
{
	if (s->step == ST_DONE)
		return;
	sess_close(s);
	s->step = ST_DONE;
	s->expect = 0;
	s->res->net.status = st;
	s->res->net.latency_ms = (long)(drp_now_ms() - s->t0);
	if (fmt != NULL) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(s->res->net.error, sizeof(s->res->net.error), fmt, ap);
		va_end(ap);
	} else {
		s->res->net.error[0] = 0;
	}
}

static void on_io(struct drp_loop *l, int fd, unsigned ev, void *arg);
static int sess_retry(struct rz_sess *s);

static void flush_out(struct rz_sess *s)
{
	while (s->out_off < s->out.len) {
		ssize_t n =
		    send(s->fd, s->out.p + s->out_off, s->out.len - s->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			int e = errno;

			if (sess_retry(s))
				return;
			sess_end(s, DRP_ST_ERROR, "%s: send: %s", s->res->server, strerror(e));
			return;
		}
		s->out_off += (size_t)n;
	}
	if (s->out_off == s->out.len) {
		drp_buf_reset(&s->out);
		s->out_off = 0;
	}
	drp_loop_events(s->loop, s->fd, DRP_EV_READ | (s->out.len ? DRP_EV_WRITE : 0));
}

/* Queue one unit; `expect` answer lines (0: the unit has no answer). */
static void send_unit(struct rz_sess *s, const void *p, size_t n, int expect, enum rz_step next)
{
	if (drp_buf_append(&s->out, p, n) < 0) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	s->expect = expect;
	s->step = next;
	flush_out(s);
}

static void send_str(struct rz_sess *s, const char *str, int expect, enum rz_step next)
{
	send_unit(s, str, strlen(str), expect, next);
}

static void send_pairs(struct rz_sess *s, const struct drp_razor_pair *kv, int n, enum rz_step next)
{
	struct drp_buf b;

	drp_buf_init(&b);
	if (drp_razor_sis_encode(&b, kv, n, 1) < 0) {
		drp_buf_free(&b);
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	send_unit(s, b.p, b.len, 1, next);
	drp_buf_free(&b);
}

/* After a clean end of a request session (every answer framed and
 * consumed, nothing queued either way) hand the connection to the context
 * instead of quitting.  1 when it was kept. */
static int sess_keep(struct rz_sess *s)
{
	struct rz_ctx *c = s->ctx;
	struct rz_keep *k = &c->keep;

	if (c->keepalive_ms <= 0 || s->list == NULL || s->srv == NULL || s->fd < 0 || !s->watched ||
	    s->out.len > 0 || s->in.len > 0 || s->expect != 0 ||
	    (s->mode != M_CHECK && s->mode != M_REPORT && s->mode != M_REVOKE))
		return 0;
	keep_drop(c, 1);
	if (s->timer > 0)
		drp_loop_cancel(s->loop, s->timer);
	s->timer = 0;
	drp_loop_unwatch(s->loop, s->fd);
	k->active = 1;
	k->fd = s->fd;
	k->srv = (int)(s->srv - c->srv);
	k->pid = getpid();
	k->used_ms = drp_now_ms();
	k->authed = s->authed;
	k->greet = s->greet;
	s->fd = -1;
	s->watched = 0;
	return 1;
}

/* Say goodbye (razor sends a=q and does not wait) and finish ok; a request
 * session may keep its connection for the next request instead. */
static void sess_quit(struct rz_sess *s)
{
	if (!sess_keep(s) && s->fd >= 0 && s->out.len == 0)
		(void)send(s->fd, "a=q\r\n", 5, MSG_NOSIGNAL | MSG_DONTWAIT);
	sess_end(s, DRP_ST_OK, NULL);
}

static int sess_connect(struct rz_sess *s);

/* Before any query was sent a failed server may be replaced by the next. */
static void try_next(struct rz_sess *s, const char *why)
{
	sess_close(s);
	drp_buf_reset(&s->in);
	drp_buf_reset(&s->out);
	s->out_off = 0;
	if (s->list != NULL && s->cur + 1 < s->nlist) {
		s->cur++;
		if (sess_connect(s) == 0)
			return;
		if (s->step == ST_DONE)
			return;
	}
	sess_end(s, DRP_ST_ERROR, "%s", why);
}

/* Forget the signatures and the queries made of them (a session that
 * starts over computes them again). */
static void sess_drop_queries(struct rz_sess *s)
{
	drp_razor_sigs_free(&s->sigs);
	free(s->q);
	free(s->qpart);
	free(s->units);
	free(s->spam);
	free(s->ct);
	free(s->wants_mail);
	s->q = NULL;
	s->units = NULL;
	s->qpart = s->spam = s->ct = s->wants_mail = NULL;
}

/* A kept connection the server let go while it sat idle fails on the
 * first unit with nothing read back (EOF, RST, EPIPE): start over once on a
 * new connection, as the first session of a connection, within the same
 * budget.  Once any answer byte arrived the failure is the request's.
 * 1 when the session was restarted (or ended trying). */
static int sess_retry(struct rz_sess *s)
{
	struct drp_razor_result *r = s->res;

	if (!s->reused || s->got_bytes || s->retried || s->step == ST_DONE)
		return 0;
	s->retried = 1;
	s->reused = 0;
	r->net.conn = DRP_CONN_RENEWED;
	s->authed = 0;
	s->reregistered = 0;
	sess_close(s);
	drp_buf_reset(&s->in);
	drp_buf_reset(&s->out);
	drp_buf_reset(&s->qbuf);
	s->out_off = 0;
	s->expect = 0;
	sess_drop_queries(s);
	s->nq = s->nunits = s->unit = 0;
	s->refused = 0;
	s->refusal[0] = 0;
	r->hit = r->cf = r->min_cf = r->nparts = r->nqueries = 0;
	r->spam_parts = r->contention = r->accepted = r->uploaded = 0;
	r->ep4[0] = 0;
	sess_connect(s);
	return 1;
}

static void on_connect_timeout(struct drp_loop *l, void *arg)
{
	struct rz_sess *s = arg;
	char why[512];

	s->timer = 0;
	if (s->step != ST_CONNECT && s->step != ST_GREETING)
		return;
	put(why, sizeof(why), "%s: no greeting within %ld ms", s->res->server, s->ctx->connect_ms);
	try_next(s, why);
}

static int sess_connect(struct rz_sess *s)
{
	const struct drp_addr *a;

	for (;;) {
		if (s->list != NULL) {
			s->srv = &s->ctx->srv[s->list[s->cur]];
			snprintf(s->res->server, sizeof(s->res->server), "%s", s->srv->name);
			if (!s->srv->resolved) {
				if (s->cur + 1 < s->nlist) {
					s->cur++;
					continue;
				}
				sess_end(s, DRP_ST_ERROR, "%s: address not resolved", s->srv->name);
				return -1;
			}
			a = &s->srv->addr;
		} else {
			a = &s->daddr;
		}
		s->fd = drp_tcp_connect((const struct sockaddr *)&a->ss, a->len);
		if (s->fd >= 0) {
			s->conn_gen++;
			if (s->res->net.conn != DRP_CONN_RENEWED)
				s->res->net.conn = DRP_CONN_NEW;
			s->got_bytes = 0;
			break;
		}
		if (s->list != NULL && s->cur + 1 < s->nlist) {
			s->cur++;
			continue;
		}
		sess_end(s, DRP_ST_ERROR, "%s: connect: %s", s->res->server, strerror(errno));
		return -1;
	}
	if (drp_loop_watch(s->loop, s->fd, DRP_EV_WRITE, on_io, s) < 0) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return -1;
	}
	s->watched = 1;
	s->step = ST_CONNECT;
	s->expect = 0;
	/* a silent server must not eat the budget while others are listed */
	if (s->list != NULL && s->cur + 1 < s->nlist && s->ctx->connect_ms > 0)
		s->timer =
		    drp_loop_timer(s->loop, (uint64_t)s->ctx->connect_ms, on_connect_timeout, s);
	return 0;
}

/* ------------------------------------------------------------------ */
/* conversation steps */

static void start_queries(struct rz_sess *s);
static void after_auth(struct rz_sess *s);

static void send_ai(struct rz_sess *s)
{
	const struct drp_razor_pair kv[] = {
	    {"a", "ai"},
	    {"cn", DRP_RAZOR_CN},
	    {"cv", DRP_RAZOR_CV},
	    {"user", s->reg_user ? s->reg_user : s->ctx->user},
	};

	send_pairs(s, kv, 4, ST_AI);
}

static void send_reg(struct rz_sess *s, const char *user, const char *pass, enum rz_step next)
{
	struct drp_razor_pair kv[4] = {{"a", "reg"}, {"registrar", DRP_RAZOR_REGISTRAR}};
	int n = 2;

	if (user != NULL && *user)
		kv[n++] = (struct drp_razor_pair){"user", user};
	if (pass != NULL && *pass)
		kv[n++] = (struct drp_razor_pair){"pass", pass};
	send_pairs(s, kv, n, next);
}

static void after_state(struct rz_sess *s)
{
	unsigned long se = s->conf.se;

	snprintf(s->ep4, sizeof(s->ep4), "%s", s->greet.ep4[0] ? s->greet.ep4 : s->conf.ep4);
	snprintf(s->res->ep4, sizeof(s->res->ep4), "%s", s->ep4);
	drp_razor_min_cf(s->ctx->min_cf, s->conf.ac, &s->min_cf);
	s->res->min_cf = s->min_cf;
	s->engines = 0;
	if (se & (1ul << 3))
		s->engines |= DRP_RAZOR_E4;
	if (se & (1ul << 7))
		s->engines |= DRP_RAZOR_E8;
	switch (s->mode) {
	case M_PROBE:
	case M_DISCOVER:
		sess_quit(s);
		return;
	case M_CHECK:
		start_queries(s);
		return;
	case M_REGISTER:
		send_reg(s, s->reg_user, s->reg_pass, ST_REG);
		return;
	case M_REPORT:
	case M_REVOKE:
		if (!s->ctx->have_ident) {
			sess_end(s, DRP_ST_ERROR, "no razor identity in %s (drp-register razor)",
			         s->ctx->home);
			return;
		}
		/* the server remembers a=auth per connection */
		if (s->authed) {
			after_auth(s);
			return;
		}
		send_ai(s);
		return;
	}
}

static void on_greeting(struct rz_sess *s, const uint8_t *p, size_t n)
{
	char err[128];

	if (s->timer > 0)
		drp_loop_cancel(s->loop, s->timer);
	s->timer = 0;

	if (s->mode == M_DISCOVER) {
		/* razor does not parse a discovery server's greeting */
		send_str(s, "a=g&pm=csl\r\n", 1, ST_CSL);
		return;
	}
	if (drp_razor_parse_greeting(p, n, &s->greet, err, sizeof(err)) < 0) {
		char why[512];

		put(why, sizeof(why), "%s: %s", s->res->server, err);
		try_next(s, why);
		return;
	}
	if (s->mode == M_PROBE) {
		/* reachable and speaking Razor2: enough for a ping */
		sess_quit(s);
		return;
	}
	s->conf = s->srv->conf;
	if (s->greet.cg) {
		if (drp_buf_append(&s->out, "cn=" DRP_RAZOR_CN "&cv=" DRP_RAZOR_CV "\r\n",
		                   strlen("cn=" DRP_RAZOR_CN "&cv=" DRP_RAZOR_CV "\r\n")) < 0) {
			sess_end(s, DRP_ST_ERROR, "out of memory");
			return;
		}
	}
	if (!s->greet.has_srl || s->greet.srl > s->conf.srl) {
		send_str(s, "a=g&pm=state\r\n", -1, ST_STATE);
		return;
	}
	after_state(s);
}

static void on_state(struct rz_sess *s, struct drp_slice *lines, int n)
{
	struct drp_razor_sis *a = malloc(sizeof(*a));
	struct rz_server *srv = s->srv;
	char srl[32];
	int i, j;

	if (a == NULL) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		if (drp_razor_sis_parse(lines[i].p, lines[i].len, a) < 0)
			continue;
		for (j = 0; j < a->n; j++) {
			const char *k = a->store + a->f[j].k, *v = a->store + a->f[j].v;

			if (*k == 0 || strpbrk(k, "=\r\n") || strpbrk(v, "\r\n") ||
			    strlen(v) != a->f[j].vlen)
				continue;
			drp_razor_srvconf_set(&s->conf, k, v);
			drp_razor_kv_set(&srv->state, k, v);
		}
	}
	free(a);
	s->conf.srl = s->greet.srl;
	snprintf(srl, sizeof(srl), "%ld", s->greet.srl);
	drp_razor_kv_set(&srv->state, "srl", srl);
	/* the context is this process's cache of the server: razor-agents
	 * also updates it, writes server.<host>.conf and rediscovers */
	srv->conf = s->conf;
	srv->dirty = 1;
	s->ctx->force_discovery = 1;
	after_state(s);
}

static int add_query(struct rz_sess *s, int part, const char *a, int e, const char *ep4,
                     const char *sig)
{
	static const char *const eng[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
	struct drp_razor_q *q;

	if (s->nq >= RZ_MAX_QUERIES || e < 0 || e > 9)
		return -1;
	q = &s->q[s->nq];
	q->n = 0;
	q->kv[q->n++] = (struct drp_razor_pair){"a", a};
	q->kv[q->n++] = (struct drp_razor_pair){"e", eng[e]};
	if (ep4 != NULL)
		q->kv[q->n++] = (struct drp_razor_pair){"ep4", ep4};
	q->kv[q->n++] = (struct drp_razor_pair){"s", sig};
	s->qpart[s->nq] = part;
	s->nq++;
	return 0;
}

static int alloc_queries(struct rz_sess *s)
{
	size_t n = s->sigs.n + 1, np = s->msg.nparts + 1, nm = s->msg.nmails + 1;

	if (n > RZ_MAX_QUERIES)
		n = RZ_MAX_QUERIES;
	s->q = calloc(n, sizeof(*s->q));
	s->qpart = calloc(n, sizeof(*s->qpart));
	s->units = calloc(n, sizeof(*s->units));
	s->spam = calloc(np, sizeof(*s->spam));
	s->ct = calloc(np, sizeof(*s->ct));
	s->wants_mail = calloc(nm, sizeof(*s->wants_mail));
	return s->q && s->qpart && s->units && s->spam && s->ct && s->wants_mail ? 0 : -1;
}

static void send_next_unit(struct rz_sess *s, enum rz_step step)
{
	const struct drp_razor_unit *u = &s->units[s->unit];

	send_unit(s, s->qbuf.p + u->off, u->len, u->count, step);
}

static int batch_queries(struct rz_sess *s)
{
	drp_buf_reset(&s->qbuf);
	s->unit = 0;
	s->nunits = drp_razor_batch(s->q, s->nq, s->conf.bql, s->conf.bqs, &s->qbuf, s->units,
	                            s->nq > 0 ? s->nq : 1);
	return s->nunits;
}

/* Check: the signatures for this server's ep4, one query per signature. */
static void start_queries(struct rz_sess *s)
{
	char err[160];
	size_t i;

	if (drp_razor_sign(&s->msg, s->engines, s->ep4, &s->sigs, err, sizeof(err)) < 0) {
		sess_end(s, DRP_ST_ERROR, "signatures: %s", err);
		return;
	}
	if (alloc_queries(s) < 0) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	for (i = 0; i < s->sigs.n; i++) {
		const struct drp_razor_sig *g = &s->sigs.v[i];

		if (add_query(s, (int)g->part, "c", g->engine, g->engine == 4 ? s->ep4 : NULL,
		              g->s) < 0) {
			sess_end(s, DRP_ST_ERROR, "too many signatures");
			return;
		}
	}
	s->res->nqueries = s->nq;
	if (s->nq == 0) {
		/* razor-check: "No queries, no spam" */
		sess_quit(s);
		return;
	}
	if (batch_queries(s) < 0) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	send_next_unit(s, ST_UNITS);
}

static void after_auth(struct rz_sess *s)
{
	char err[160];
	size_t i;
	long dre = s->conf.dre;

	if (s->mode == M_REGISTER) {
		drp_razor_kv_set(&s->ident, "user", s->reg_user);
		drp_razor_kv_set(&s->ident, "pass", s->reg_pass);
		sess_quit(s);
		return;
	}
	/* rcheck sends only the default report engine's signatures; razor
	 * falls back to 4 when the server names none, and only 4 is a single
	 * signature per part */
	if (dre != 4)
		dre = 4;
	if (drp_razor_sign(&s->msg, s->mode == M_REPORT ? DRP_RAZOR_E4 : s->engines, s->ep4,
	                   &s->sigs, err, sizeof(err)) < 0) {
		sess_end(s, DRP_ST_ERROR, "signatures: %s", err);
		return;
	}
	if (alloc_queries(s) < 0) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	for (i = 0; i < s->sigs.n; i++) {
		const struct drp_razor_sig *g = &s->sigs.v[i];
		int rc;

		if (s->mode == M_REPORT)
			rc = add_query(s, (int)g->part, "r", (int)dre, s->ep4, g->s);
		else
			rc = add_query(s, (int)g->part, "revoke", g->engine, NULL, g->s);
		if (rc < 0) {
			sess_end(s, DRP_ST_ERROR, "too many signatures");
			return;
		}
	}
	s->res->nqueries = s->nq;
	if (s->nq == 0) {
		sess_quit(s);
		return;
	}
	if (batch_queries(s) < 0) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	send_next_unit(s, ST_UNITS);
}

static void on_ai(struct rz_sess *s, struct drp_razor_sis *a)
{
	const char *e = drp_razor_sis_get(a, "err"), *chal = drp_razor_sis_get(a, "achal");
	const char *user = s->reg_user ? s->reg_user : s->ctx->user;
	const char *pass = s->reg_pass ? s->reg_pass : s->ctx->pass;
	char aresp[29];
	struct drp_razor_pair kv[2] = {{"a", "auth"}, {"aresp", aresp}};

	if (e != NULL) {
		/* 213: unknown user; razor registers the same credentials once */
		if (strcmp(e, "213") == 0 && !s->reregistered) {
			s->reregistered = 1;
			send_reg(s, user, pass, ST_REREG);
			return;
		}
		sess_end(s, DRP_ST_ERROR, "%s: authentication: err=%s", s->res->server, e);
		return;
	}
	if (chal == NULL || drp_razor_aresp((const uint8_t *)pass, strlen(pass),
	                                    (const uint8_t *)chal, strlen(chal), aresp) < 0) {
		sess_end(s, DRP_ST_ERROR, "%s: authentication: no usable challenge",
		         s->res->server);
		return;
	}
	send_pairs(s, kv, 2, ST_AUTH);
}

static void on_reg(struct rz_sess *s, struct drp_razor_sis *a, int rereg)
{
	const char *e = drp_razor_sis_get(a, "err"), *res = drp_razor_sis_get(a, "res");
	int i;

	if (rereg) {
		const char *u = drp_razor_sis_get(a, "user"), *p = drp_razor_sis_get(a, "pass");
		const char *user = s->reg_user ? s->reg_user : s->ctx->user;
		const char *pass = s->reg_pass ? s->reg_pass : s->ctx->pass;

		/* the echoed password is a secret: compare it in constant time */
		if (e == NULL && res && !strcmp(res, "1") && u && p && !strcmp(u, user) &&
		    strlen(p) == strlen(pass) && CRYPTO_memcmp(p, pass, strlen(pass)) == 0) {
			send_ai(s);
			return;
		}
		sess_end(s, DRP_ST_ERROR, "%s: authentication: err=213 (unknown user)",
		         s->res->server);
		return;
	}
	if (e != NULL && strcmp(e, "210") == 0 && s->reg_user && *s->reg_user && s->reg_pass &&
	    *s->reg_pass) {
		/* the user exists: keep it if our password is right */
		s->reregistered = 1;
		send_ai(s);
		return;
	}
	if (e != NULL) {
		sess_end(s, DRP_ST_ERROR, "%s: registration: err=%s%s", s->res->server, e,
		         strcmp(e, "210") == 0 ? " (user exists)" : "");
		return;
	}
	if (res == NULL || strcmp(res, "1") != 0) {
		sess_end(s, DRP_ST_ERROR, "%s: registration: no success (res=%s)", s->res->server,
		         res ? res : "");
		return;
	}
	for (i = 0; i < a->n; i++) {
		const char *k = a->store + a->f[i].k, *v = a->store + a->f[i].v;

		if (!strcmp(k, "res") || *k == 0 || strpbrk(k, "=\r\n") || strpbrk(v, "\r\n"))
			continue;
		drp_razor_kv_set(&s->ident, k, v);
	}
	if (drp_razor_kv_get(&s->ident, "user") == NULL ||
	    drp_razor_kv_get(&s->ident, "pass") == NULL) {
		sess_end(s, DRP_ST_ERROR, "%s: registration answer without user/pass",
		         s->res->server);
		return;
	}
	sess_quit(s);
}

static void note_refusal(struct rz_sess *s, const char *e)
{
	if (s->refused++ == 0)
		snprintf(s->refusal, sizeof(s->refusal), "%s", e);
}

/* The upload units of razor's make_query(report): the prepared header of
 * the mail, then "\r\n" + each prepared part while it stays under bqs KiB;
 * a mail that does not fit starts another unit with the header again. */
static int build_uploads(struct rz_sess *s)
{
	size_t m, limit = s->conf.bqs > 0 ? (size_t)s->conf.bqs * 1024 : (size_t)-1;
	int nu = 0;

	drp_buf_reset(&s->qbuf);
	for (m = 0; m < s->msg.nmails; m++) {
		const struct drp_razor_mail *ml = &s->msg.mails[m];
		size_t n = 0;

		if (!s->wants_mail[m] || ml->nparts == 0)
			continue;
		while (n < ml->nparts) {
			size_t off = s->qbuf.len, len = ml->header.len;
			int added = 0;

			if (nu >= s->nq + 1 && nu >= RZ_MAX_UNITS)
				return -1;
			if (drp_buf_append(&s->qbuf, "-a=r&message=*\r\n", 16) < 0 ||
			    drp_buf_append(&s->qbuf, ml->header.p, ml->header.len) < 0)
				return -1;
			while (n < ml->nparts) {
				const struct drp_buf *b =
				    &s->msg.parts[ml->first_part + n].prepared;

				/* razor would spin forever on a part that never
				 * fits; drp sends it alone */
				if (added && b->len + len >= limit)
					break;
				if (drp_buf_append(&s->qbuf, "\r\n", 2) < 0 ||
				    drp_buf_append(&s->qbuf, b->p, b->len) < 0)
					return -1;
				len += 2 + b->len;
				added++;
				n++;
			}
			if (drp_buf_append(&s->qbuf, "\r\n.\r\n", 5) < 0)
				return -1;
			if (nu >= s->nq + 1) {
				struct drp_razor_unit *nuv =
				    realloc(s->units, (size_t)(nu + 1) * sizeof(*nuv));

				if (nuv == NULL)
					return -1;
				s->units = nuv;
			}
			s->units[nu].off = off;
			s->units[nu].len = s->qbuf.len - off;
			s->units[nu].first = 0;
			s->units[nu].count = 1;
			s->units[nu].batch = 1;
			nu++;
		}
	}
	s->nunits = nu;
	s->unit = 0;
	return nu;
}

static void finish_check(struct rz_sess *s)
{
	size_t m, np = s->msg.nparts ? s->msg.nparts : 1;
	int *sent = calloc(np, sizeof(int)), *spam = calloc(np, sizeof(int)),
	    *skip = calloc(np, sizeof(int)), *txt = calloc(np, sizeof(int)),
	    *inl = calloc(np, sizeof(int));
	int hit = 0, j;

	if (!sent || !spam || !skip || !txt || !inl) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		goto out;
	}
	for (j = 0; j < s->nq; j++)
		sent[s->qpart[j]] = 1;
	for (m = 0; m < s->msg.nmails; m++) {
		const struct drp_razor_mail *ml = &s->msg.mails[m];
		size_t i, f = ml->first_part;

		for (i = f; i < f + ml->nparts; i++) {
			spam[i] = s->spam[i] > 0;
			/* erased parts are ignored; a part that kept no
			 * signature still counts, as not spam */
			skip[i] = s->msg.parts[i].skipped;
			txt[i] = s->msg.parts[i].is_text;
			inl[i] = s->msg.parts[i].is_inline;
			if (!sent[i])
				continue;
			s->res->nparts++;
			s->res->spam_parts += spam[i];
			s->res->contention += s->ct[i] != 0;
		}
		if (ml->nparts > 0 &&
		    drp_razor_logic(s->ctx->logic_method, (int)ml->nparts, spam + f, s->ct + f,
		                    skip + f, txt + f, inl + f))
			hit = 1;
	}
	s->res->hit = hit;
	sess_quit(s);
out:
	free(sent);
	free(spam);
	free(skip);
	free(txt);
	free(inl);
}

static void on_units(struct rz_sess *s, struct drp_slice *lines, int n)
{
	const struct drp_razor_unit *u = &s->units[s->unit];
	struct drp_razor_sis *a = malloc(sizeof(*a));
	int i;

	if (a == NULL) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	if (n != u->count) {
		free(a);
		sess_end(s, DRP_ST_ERROR, "%s: %d answers to %d queries", s->res->server, n,
		         u->count);
		return;
	}
	for (i = 0; i < n; i++) {
		int qi = u->first + i, part = s->qpart[qi], ct = 0;
		const char *e, *r;
		long cf;

		if (drp_razor_sis_parse(lines[i].p, lines[i].len, a) < 0) {
			free(a);
			sess_end(s, DRP_ST_ERROR, "%s: malformed answer line", s->res->server);
			return;
		}
		e = drp_razor_sis_get(a, "err");
		r = drp_razor_sis_get(a, "res");
		switch (s->mode) {
		case M_CHECK:
			s->spam[part] += drp_razor_check_resp(a, s->min_cf, &ct, &cf);
			s->ct[part] = ct;
			if (e != NULL)
				note_refusal(s, e);
			else if (cf > s->res->cf && drp_razor_sis_get(a, "p") &&
			         !strcmp(drp_razor_sis_get(a, "p"), "1"))
				s->res->cf = cf > 100 ? 100 : (int)cf;
			break;
		case M_REPORT:
			if (e != NULL && strcmp(e, "230") == 0)
				s->wants_mail[s->msg.parts[part].mail] = 1;
			else if (e != NULL)
				note_refusal(s, e);
			else if (r != NULL && strcmp(r, "1") == 0)
				s->res->accepted++;
			else
				note_refusal(s, r ? r : "?");
			break;
		default:
			if (e != NULL)
				note_refusal(s, e);
			else if (r != NULL && strcmp(r, "1") == 0)
				s->res->accepted++;
			else
				note_refusal(s, r ? r : "?");
			break;
		}
	}
	free(a);
	if (++s->unit < s->nunits) {
		send_next_unit(s, ST_UNITS);
		return;
	}
	if (s->mode == M_CHECK) {
		finish_check(s);
		return;
	}
	if (s->mode == M_REPORT) {
		int nu = build_uploads(s);

		if (nu < 0) {
			sess_end(s, DRP_ST_ERROR, "out of memory");
			return;
		}
		if (nu > 0) {
			send_next_unit(s, ST_UPLOAD);
			return;
		}
	}
	if (s->refused) {
		sess_end(s, DRP_ST_ERROR, "%s: %d of %d queries refused (%s)", s->res->server,
		         s->refused, s->nq, s->refusal);
		return;
	}
	sess_quit(s);
}

static void on_upload(struct rz_sess *s, struct drp_razor_sis *a)
{
	const char *e = drp_razor_sis_get(a, "err"), *r = drp_razor_sis_get(a, "res");

	if (e != NULL)
		note_refusal(s, e);
	else if (r == NULL || strcmp(r, "1") != 0)
		note_refusal(s, r ? r : "?");
	else
		s->res->uploaded = 1;
	if (++s->unit < s->nunits) {
		send_next_unit(s, ST_UPLOAD);
		return;
	}
	if (s->refused) {
		sess_end(s, DRP_ST_ERROR, "%s: report refused (%s)", s->res->server, s->refusal);
		return;
	}
	sess_quit(s);
}

static void on_list(struct rz_sess *s, struct drp_slice *lines, int n, const char *key,
                    struct drp_razor_lst *l)
{
	struct drp_razor_sis *a = malloc(sizeof(*a));
	int i, j;

	if (a == NULL) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		const char *v;
		struct drp_razor_lst one;

		if (drp_razor_sis_parse(lines[i].p, lines[i].len, a) < 0)
			continue;
		v = drp_razor_sis_get(a, key);
		if (v == NULL || *v == 0)
			continue;
		/* the same filter as a .lst line, so what we store reads back */
		drp_razor_lst_parse(&one, v, strlen(v));
		if (one.n != 1 || strcmp(one.name[0], v) != 0)
			continue;
		for (j = 0; j < l->n; j++)
			if (!strcmp(l->name[j], v))
				break;
		if (j == l->n && l->n < DRP_RAZOR_LST_MAX)
			snprintf(l->name[l->n++], DRP_RAZOR_NAME_MAX, "%s", v);
	}
	free(a);
	if (s->step == ST_CSL)
		send_str(s, "a=g&pm=nsl\r\n", 1, ST_NSL);
	else
		sess_quit(s);
}

/* One complete answer (or greeting line) at the head of s->in. */
static void on_answer(struct rz_sess *s, const uint8_t *p, size_t n)
{
	struct drp_slice lines[256];
	struct drp_razor_sis *a;
	int nl;

	if (s->step == ST_GREETING) {
		on_greeting(s, p, n);
		return;
	}
	nl = drp_razor_answer_lines(p, n, lines, 256);
	if (nl < 0) {
		sess_end(s, DRP_ST_ERROR, "%s: answer has too many lines", s->res->server);
		return;
	}
	switch (s->step) {
	case ST_STATE:
		on_state(s, lines, nl);
		return;
	case ST_UNITS:
		on_units(s, lines, nl);
		return;
	case ST_CSL:
		on_list(s, lines, nl, "csl", &s->csl);
		return;
	case ST_NSL:
		on_list(s, lines, nl, "nsl", &s->nsl);
		return;
	default:
		break;
	}
	if (nl != 1) {
		sess_end(s, DRP_ST_ERROR, "%s: %d answers to 1 query", s->res->server, nl);
		return;
	}
	a = malloc(sizeof(*a));
	if (a == NULL) {
		sess_end(s, DRP_ST_ERROR, "out of memory");
		return;
	}
	if (drp_razor_sis_parse(lines[0].p, lines[0].len, a) < 0) {
		free(a);
		sess_end(s, DRP_ST_ERROR, "%s: malformed answer", s->res->server);
		return;
	}
	switch (s->step) {
	case ST_AI:
		on_ai(s, a);
		break;
	case ST_REREG:
		on_reg(s, a, 1);
		break;
	case ST_REG:
		on_reg(s, a, 0);
		break;
	case ST_AUTH: {
		const char *e = drp_razor_sis_get(a, "err"), *r = drp_razor_sis_get(a, "res");

		if (e != NULL || r == NULL || strcmp(r, "1") != 0)
			sess_end(s, DRP_ST_ERROR, "%s: authentication failed for user %s%s%s",
			         s->res->server, s->reg_user ? s->reg_user : s->ctx->user,
			         e ? ": err=" : "", e ? e : "");
		else {
			s->authed = 1;
			after_auth(s);
		}
		break;
	}
	case ST_UPLOAD:
		on_upload(s, a);
		break;
	default:
		sess_end(s, DRP_ST_ERROR, "%s: unexpected answer", s->res->server);
		break;
	}
	free(a);
}

static void process_input(struct rz_sess *s)
{
	while (s->step != ST_DONE && s->in.len > 0) {
		char err[96];
		long n;

		if (s->expect == 0) {
			/* nothing asked: a server talking out of turn would
			 * shift every later answer */
			sess_end(s, DRP_ST_ERROR, "%s: unsolicited data from server",
			         s->res->server);
			return;
		}
		if (s->step == ST_GREETING) {
			const uint8_t *nl = memchr(s->in.p, '\n', s->in.len);

			if (nl == NULL) {
				if (s->in.len > DRP_RAZOR_LINE_MAX)
					sess_end(s, DRP_ST_ERROR, "%s: greeting too long",
					         s->res->server);
				return;
			}
			n = nl - s->in.p + 1;
		} else {
			n = drp_razor_frame(s->in.p, s->in.len, DRP_RAZOR_ANSWER_MAX, err,
			                    sizeof(err));
			if (n < 0) {
				sess_end(s, DRP_ST_ERROR, "%s: %s", s->res->server, err);
				return;
			}
			if (n == 0)
				return;
		}
		{
			/* consume before acting: the handler may queue the next unit */
			uint8_t *copy = malloc((size_t)n);

			if (copy == NULL) {
				sess_end(s, DRP_ST_ERROR, "out of memory");
				return;
			}
			memcpy(copy, s->in.p, (size_t)n);
			memmove(s->in.p, s->in.p + n, s->in.len - (size_t)n);
			s->in.len -= (size_t)n;
			s->expect = 0;
			on_answer(s, copy, (size_t)n);
			free(copy);
		}
	}
}

static void on_io(struct drp_loop *l, int fd, unsigned ev, void *arg)
{
	struct rz_sess *s = arg;
	unsigned gen = s->conn_gen;

	if (s->step == ST_CONNECT) {
		int e = drp_sock_error(fd);

		if (e != 0) {
			char why[512];

			put(why, sizeof(why), "%s: connect: %s", s->res->server, strerror(e));
			try_next(s, why);
			return;
		}
		s->step = ST_GREETING;
		s->expect = 1;
		drp_loop_events(l, fd, DRP_EV_READ);
		return;
	}
	if ((ev & DRP_EV_WRITE) && s->out.len > 0) {
		flush_out(s);
		if (s->step == ST_DONE || s->conn_gen != gen)
			return;
	}
	if (ev & (DRP_EV_READ | DRP_EV_ERROR)) {
		for (;;) {
			ssize_t n;

			if (drp_buf_reserve(&s->in, 4096) < 0) {
				sess_end(s, DRP_ST_ERROR, "out of memory");
				return;
			}
			n = recv(fd, s->in.p + s->in.len, 4096, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				int e = n < 0 ? errno : 0;

				if (s->in.len == 0 && sess_retry(s))
					return;
				process_input(s);
				if (s->step == ST_DONE)
					return;
				if (s->step == ST_GREETING && s->in.len == 0) {
					char why[512];

					put(why, sizeof(why), "%s: closed before greeting",
					    s->res->server);
					try_next(s, why);
					return;
				}
				sess_end(s, DRP_ST_ERROR, "%s: connection %s%s%s", s->res->server,
				         e ? "error: " : "closed",
				         e ? strerror(e) : (s->in.len ? " mid-answer" : ""), "");
				return;
			}
			s->in.len += (size_t)n;
			s->got_bytes = 1;
			if (s->in.len > DRP_RAZOR_ANSWER_MAX + DRP_RAZOR_LINE_MAX) {
				sess_end(s, DRP_ST_ERROR, "%s: answer too large", s->res->server);
				return;
			}
			process_input(s);
			if (s->step == ST_DONE)
				return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* sessions */

static struct rz_sess *sess_new(struct drp_loop *loop, struct rz_ctx *ctx, enum rz_mode mode,
                                struct drp_razor_result *res)
{
	struct rz_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->loop = loop;
	s->ctx = ctx;
	s->mode = mode;
	s->res = res;
	s->fd = -1;
	s->t0 = drp_now_ms();
	s->step = ST_CONNECT;
	drp_buf_init(&s->out);
	drp_buf_init(&s->in);
	drp_buf_init(&s->qbuf);
	drp_razor_kv_init(&s->ident);
	res->net.status = DRP_ST_PENDING;
	return s;
}

static void sess_free(struct rz_sess *s)
{
	if (s == NULL)
		return;
	sess_close(s);
	drp_buf_free(&s->out);
	drp_buf_free(&s->in);
	drp_buf_free(&s->qbuf);
	if (s->have_msg)
		drp_razor_msg_free(&s->msg);
	sess_drop_queries(s);
	drp_razor_kv_free(&s->ident);
	free(s);
}

/* Finish a session: anything still running ran out of time. */
static void sess_finish(struct rz_sess *s)
{
	if (s->step != ST_DONE) {
		const char *what = s->step == ST_CONNECT    ? "connecting"
		                   : s->step == ST_GREETING ? "waiting for the greeting"
		                                            : "waiting for an answer";

		sess_end(s, DRP_ST_TIMEOUT, "%s: timeout %s", s->res->server, what);
	}
}

/* Run a session on a private loop to the configured timeout. */
static void sess_run_sync(struct rz_sess *s, long timeout_ms)
{
	if (s->step != ST_DONE)
		drp_loop_run(s->loop, drp_now_ms() + (uint64_t)timeout_ms);
	sess_finish(s);
}

/* ------------------------------------------------------------------ */
/* context */

/* A server by its list name; hp (may be NULL) when already parsed, as for
 * razor_servers, which also allows [IPv6]:port. */
static int add_server(struct rz_ctx *c, const char *name, const struct drp_hostport *hp)
{
	struct rz_server *v, *sv;
	char path[PATH_MAX], err[160];
	int i;

	for (i = 0; i < c->nsrv; i++)
		if (!strcmp(c->srv[i].name, name))
			return i;
	if (c->nsrv >= RZ_MAX_SERVERS)
		return -1;
	v = realloc(c->srv, (size_t)(c->nsrv + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	c->srv = v;
	sv = &c->srv[c->nsrv];
	memset(sv, 0, sizeof(*sv));
	snprintf(sv->name, sizeof(sv->name), "%s", name);
	if (hp != NULL)
		sv->hp = *hp;
	else if (drp_razor_lst_hostport(name, &sv->hp) < 0)
		return -1;
	drp_razor_kv_init(&sv->state);
	drp_razor_srvconf_default(&sv->conf);
	/* default_server_conf, then the cached server.<host>.conf */
	drp_razor_kv_set(&sv->state, "srl", "-1");
	drp_razor_kv_set(&sv->state, "ep4", "7542-10");
	drp_razor_kv_set(&sv->state, "bql", "4");
	drp_razor_kv_set(&sv->state, "ac", "0");
	drp_razor_kv_set(&sv->state, "bqs", "128");
	drp_razor_kv_set(&sv->state, "se", "C8");
	drp_razor_kv_set(&sv->state, "dre", "4");
	drp_razor_kv_set(&sv->state, "zone", "razor2.cloudmark.com");
	drp_razor_kv_set(&sv->state, "logic_method", "4");
	/* razor keeps this per host, also for a -rs server */
	if (c->home[0] && drp_razor_srvconf_path(c->home, sv->hp.host, path, sizeof(path)) == 0)
		drp_razor_kv_load(path, &sv->state, err, sizeof(err));
	for (i = 0; i < sv->state.n; i++)
		drp_razor_srvconf_set(&sv->conf, sv->state.key[i], sv->state.val[i]);
	c->nsrv++;
	return c->nsrv - 1;
}

static void resolve_all(struct rz_ctx *c)
{
	int i;

	for (i = 0; i < c->nsrv; i++) {
		char err[160];
		struct drp_addr a[2];

		if (drp_resolve(&c->srv[i].hp, SOCK_STREAM, a, 2, err, sizeof(err)) > 0) {
			c->srv[i].addr = a[0];
			c->srv[i].resolved = 1;
		} else {
			snprintf(c->warn, sizeof(c->warn), "%s", err);
		}
	}
}

static void set_list(struct rz_ctx *c, const struct drp_razor_lst *l, int *idx, int *n)
{
	int i;

	*n = 0;
	for (i = 0; i < l->n; i++) {
		int k = add_server(c, l->name[i], NULL);

		if (k >= 0)
			idx[(*n)++] = k;
	}
}

/* Discovery as razor-agents does it: ask each discovery server for csl and
 * nsl, take the union, shuffle, write the .lst files. */
static int discover(struct rz_ctx *c, char *err, size_t errlen)
{
	struct drp_razor_lst disc, csl, nsl;
	struct drp_hostport hps[8];
	time_t mt;
	char herr[160], why[200] = "no discovery server";
	int i, nd = 0;

	csl.n = nsl.n = 0;
	disc.n = 0;
	if (!c->discovery_override &&
	    drp_razor_lst_load(c->home, c->lst_disc, &disc, &mt, herr, sizeof(herr)) == 0 &&
	    disc.n > 0 && time(NULL) - mt < 7 * 86400) {
		for (i = 0; i < disc.n && nd < 8; i++)
			if (drp_razor_lst_hostport(disc.name[i], &hps[nd]) == 0)
				nd++;
	}
	if (nd == 0) {
		nd = drp_hostport_list(c->discovery, DRP_RAZOR_PORT, hps, 8, herr, sizeof(herr));
		if (nd <= 0) {
			put(err, errlen, "razor_discovery: %s", nd < 0 ? herr : "empty");
			return -1;
		}
		if (!c->discovery_override) {
			struct drp_razor_lst w;

			w.n = 0;
			for (i = 0; i < nd && i < DRP_RAZOR_LST_MAX; i++)
				put(w.name[w.n++], DRP_RAZOR_NAME_MAX, "%s", hps[i].host);
			drp_razor_lst_save(c->home, c->lst_disc, &w, herr, sizeof(herr));
		}
	}
	for (i = 0; i < nd; i++) {
		struct drp_razor_result r;
		struct drp_addr a[1];
		struct drp_loop *loop;
		struct rz_sess *s;
		int j;

		memset(&r, 0, sizeof(r));
		if (drp_resolve(&hps[i], SOCK_STREAM, a, 1, herr, sizeof(herr)) <= 0) {
			snprintf(why, sizeof(why), "%s", herr);
			continue;
		}
		loop = drp_loop_new();
		s = loop ? sess_new(loop, c, M_DISCOVER, &r) : NULL;
		if (s == NULL) {
			drp_loop_free(loop);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->daddr = a[0];
		put(r.server, sizeof(r.server), "%s:%u", hps[i].host, hps[i].port);
		if (sess_connect(s) == 0)
			sess_run_sync(s, c->timeout_ms);
		if (r.net.status == DRP_ST_OK) {
			for (j = 0; j < s->csl.n; j++)
				if (csl.n < DRP_RAZOR_LST_MAX)
					memcpy(csl.name[csl.n++], s->csl.name[j],
					       DRP_RAZOR_NAME_MAX);
			for (j = 0; j < s->nsl.n; j++)
				if (nsl.n < DRP_RAZOR_LST_MAX)
					memcpy(nsl.name[nsl.n++], s->nsl.name[j],
					       DRP_RAZOR_NAME_MAX);
		} else {
			snprintf(why, sizeof(why), "%s", r.net.error);
		}
		sess_free(s);
		drp_loop_free(loop);
	}
	if (csl.n == 0 || nsl.n == 0) {
		snprintf(err, errlen, "discovery failed: %s", why);
		return -1;
	}
	drp_razor_lst_shuffle(&csl);
	drp_razor_lst_shuffle(&nsl);
	if (drp_razor_lst_save(c->home, c->lst_cat, &csl, herr, sizeof(herr)) < 0 ||
	    drp_razor_lst_save(c->home, c->lst_nom, &nsl, herr, sizeof(herr)) < 0)
		snprintf(c->warn, sizeof(c->warn), "discovery lists not saved: %s", herr);
	set_list(c, &csl, c->cat, &c->ncat);
	set_list(c, &nsl, c->nom, &c->nnom);
	c->discovered = time(NULL);
	c->force_discovery = 0;
	return 0;
}

/* Load the lists, discovering when they are missing, empty or stale. */
static int load_servers(struct rz_ctx *c, char *err, size_t errlen)
{
	struct drp_razor_lst cat, nom;
	time_t mc = 0, mn = 0, now = time(NULL);
	char herr[160];
	int need;

	if (c->explicit_servers)
		return 0;
	cat.n = nom.n = 0;
	if (drp_razor_lst_load(c->home, c->lst_cat, &cat, &mc, herr, sizeof(herr)) < 0)
		snprintf(c->warn, sizeof(c->warn), "%s", herr);
	if (drp_razor_lst_load(c->home, c->lst_nom, &nom, &mn, herr, sizeof(herr)) < 0)
		snprintf(c->warn, sizeof(c->warn), "%s", herr);
	need = cat.n == 0 || nom.n == 0;
	/* a read-only razorhome keeps old mtimes: our own discovery counts too */
	if (mc < c->discovered)
		mc = c->discovered;
	if (mn < c->discovered)
		mn = c->discovered;
	if (!c->turn_off_discovery &&
	    (now - mc >= c->rediscovery_wait || now - mn >= c->rediscovery_wait))
		need = 1;
	if (c->force_discovery)
		need = 1;
	if (need && discover(c, herr, sizeof(herr)) == 0)
		return 0;
	if (need)
		snprintf(c->warn, sizeof(c->warn), "%s", herr);
	/* stale lists beat none: keep serving from them */
	if (cat.n == 0 && nom.n == 0) {
		if (c->ncat > 0 || c->nnom > 0)
			return 0;
		snprintf(err, errlen, "%s", need ? herr : "no razor servers");
		return -1;
	}
	drp_razor_lst_shuffle(&cat);
	drp_razor_lst_shuffle(&nom);
	set_list(c, &cat, c->cat, &c->ncat);
	set_list(c, &nom, c->nom, &c->nnom);
	return 0;
}

static void ctx_free(struct rz_ctx *c)
{
	int i;

	if (c == NULL)
		return;
	keep_drop(c, 1);
	for (i = 0; i < c->nsrv; i++)
		drp_razor_kv_free(&c->srv[i].state);
	free(c->srv);
	OPENSSL_cleanse(c->pass, sizeof(c->pass));
	free(c);
}

static const char *conf_or(const struct drp_config *cfg, const char *key,
                           const struct drp_razor_kv *agent, const char *akey, const char *def)
{
	const char *v = key != NULL ? drp_config_get(cfg, key) : NULL;

	if (v != NULL && *v)
		return v;
	if (agent != NULL && akey != NULL && (v = drp_razor_kv_get(agent, akey)) != NULL)
		return v;
	return def;
}

static void home_path(const struct rz_ctx *c, const char *name, char *out, size_t outlen)
{
	if (name[0] == '/')
		snprintf(out, outlen, "%s", name);
	else
		put(out, outlen, "%s/%s", c->home, name);
}

static int ctx_build(const struct drp_config *cfg, struct rz_ctx **out, int need_servers, char *err,
                     size_t errlen)
{
	struct rz_ctx *c = calloc(1, sizeof(*c));
	struct drp_razor_kv agent;
	char path[PATH_MAX], herr[160];
	const char *v, *pass = NULL;
	long n;
	int en = 1;

	*out = NULL;
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	drp_razor_kv_init(&agent);
	/* razor_enable like dcc_enable / pyzor_enable; razor_enabled also read */
	if (drp_config_get(cfg, "razor_enable") == NULL &&
	    drp_config_bool(cfg, "razor_enabled", 1, &en, err, errlen) < 0)
		goto fail;
	if (drp_config_bool(cfg, "razor_enable", en, &en, err, errlen) < 0 ||
	    drp_config_ms(cfg, "razor_connect_timeout", 1500, &c->connect_ms, err, errlen) < 0 ||
	    drp_config_ms(cfg, "razor_timeout", RZ_DEFAULT_TIMEOUT_MS, &c->timeout_ms, err,
	                  errlen) < 0 ||
	    drp_config_ms(cfg, "razor_keepalive", RZ_DEFAULT_KEEPALIVE_MS, &c->keepalive_ms, err,
	                  errlen) < 0)
		goto fail;
	if (c->keepalive_ms < 0) {
		snprintf(err, errlen, "razor_keepalive: must not be negative");
		goto fail;
	}
	c->enabled = en;
	*out = c;
	if (!en)
		return 0;
	v = drp_config_get(cfg, "razor_home");
	snprintf(c->home, sizeof(c->home), "%s", v && *v ? v : RZ_DEFAULT_HOME);
	put(path, sizeof(path), "%s/razor-agent.conf", c->home);
	if (drp_razor_kv_load(path, &agent, herr, sizeof(herr)) < 0)
		snprintf(c->warn, sizeof(c->warn), "%s", herr);

	v = drp_config_get(cfg, "razor_discovery");
	c->discovery_override = v != NULL && *v;
	snprintf(c->discovery, sizeof(c->discovery), "%s",
	         conf_or(cfg, "razor_discovery", &agent, "razordiscovery", RZ_DEFAULT_DISCOVERY));
	snprintf(c->min_cf, sizeof(c->min_cf), "%s",
	         conf_or(cfg, "razor_min_cf", &agent, "min_cf", "ac"));
	if (drp_razor_min_cf(c->min_cf, 0, &en) < 0) {
		snprintf(err, errlen, "razor_min_cf: expected ac, ac+N, ac-N or N: '%s'",
		         c->min_cf);
		goto fail;
	}
	v = conf_or(cfg, "razor_logic_method", &agent, "logic_method", "4");
	c->logic_method = (int)strtol(v, NULL, 10);
	if (c->logic_method < 1 || c->logic_method > 5)
		c->logic_method = 4;
	v = drp_razor_kv_get(&agent, "turn_off_discovery");
	c->turn_off_discovery = v != NULL && strcmp(v, "0") != 0 && *v;
	v = drp_razor_kv_get(&agent, "rediscovery_wait");
	n = v ? strtol(v, NULL, 10) : 172800;
	c->rediscovery_wait = n > 0 ? n : 172800;
	home_path(c, conf_or(cfg, NULL, &agent, "listfile_catalogue", "servers.catalogue.lst"),
	          c->lst_cat, sizeof(c->lst_cat));
	home_path(c, conf_or(cfg, NULL, &agent, "listfile_nomination", "servers.nomination.lst"),
	          c->lst_nom, sizeof(c->lst_nom));
	home_path(c, conf_or(cfg, NULL, &agent, "listfile_discovery", "servers.discovery.lst"),
	          c->lst_disc, sizeof(c->lst_disc));
	snprintf(c->identity, sizeof(c->identity), "%s",
	         conf_or(cfg, NULL, &agent, "identity", "identity"));

	/* identity: razor_user/razor_pass, else the razorhome's identity (an
	 * unreadable razor_*_file is an error, not a silent fallback) */
	if (drp_config_get_checked(cfg, "razor_user", &v, err, errlen) < 0 ||
	    drp_config_get_checked(cfg, "razor_pass", &pass, err, errlen) < 0)
		goto fail;
	if (v != NULL && *v) {
		const char *p = pass;

		if (p == NULL || *p == 0) {
			snprintf(err, errlen, "razor_user is set but razor_pass is not");
			goto fail;
		}
		if (strlen(v) >= sizeof(c->user) || strlen(p) >= sizeof(c->pass)) {
			snprintf(err, errlen, "razor_user/razor_pass too long");
			goto fail;
		}
		snprintf(c->user, sizeof(c->user), "%s", v);
		snprintf(c->pass, sizeof(c->pass), "%s", p);
		c->have_ident = 1;
	} else if (drp_razor_ident_load(c->home, c->identity, c->user, sizeof(c->user), c->pass,
	                                sizeof(c->pass), herr, sizeof(herr)) == 0) {
		c->have_ident = 1;
	}

	v = drp_config_get(cfg, "razor_servers");
	if (v != NULL && *v) {
		struct drp_hostport hp[DRP_RAZOR_LST_MAX];
		int k, i;

		c->explicit_servers = 1;
		k = drp_hostport_list(v, DRP_RAZOR_PORT, hp, DRP_RAZOR_LST_MAX, herr, sizeof(herr));
		if (k <= 0) {
			snprintf(err, errlen, "razor_servers: %s", k < 0 ? herr : "empty");
			goto fail;
		}
		for (i = 0; i < k; i++) {
			char name[DRP_RAZOR_NAME_MAX];
			int idx;

			put(name, sizeof(name), strchr(hp[i].host, ':') ? "[%s]:%u" : "%s:%u",
			    hp[i].host, hp[i].port);
			idx = add_server(c, name, &hp[i]);
			if (idx < 0) {
				snprintf(err, errlen, "razor_servers: bad server '%s'", name);
				goto fail;
			}
			c->cat[c->ncat++] = idx;
			c->nom[c->nnom++] = idx;
		}
	}
	drp_razor_kv_free(&agent);
	if (need_servers && load_servers(c, herr, sizeof(herr)) < 0)
		snprintf(c->warn, sizeof(c->warn), "%s", herr);
	resolve_all(c);
	return 0;
fail:
	drp_razor_kv_free(&agent);
	ctx_free(c);
	*out = NULL;
	return -1;
}

/* ------------------------------------------------------------------ */
/* replay: one session against canned server bytes (tests, fuzzing) */

struct rz_feed {
	struct rz_sess *s;
	int fd;
	const uint8_t *p;
	size_t n, off, chunk;
	struct drp_buf *sent;
	int eof;
};

static void feed_tick(struct drp_loop *l, void *arg)
{
	struct rz_feed *f = arg;
	uint8_t buf[4096];
	ssize_t r;

	while ((r = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (f->sent != NULL && f->sent->len < (1u << 20))
			drp_buf_append(f->sent, buf, (size_t)r);
	if (f->s->step == ST_DONE)
		return;
	if (f->off < f->n) {
		size_t want = f->n - f->off;

		if (f->chunk > 0 && want > f->chunk)
			want = f->chunk;
		r = send(f->fd, f->p + f->off, want, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0)
			f->off += (size_t)r;
	} else if (!f->eof) {
		/* everything said: the client must finish on what it has */
		shutdown(f->fd, SHUT_WR);
		f->eof = 1;
	}
	drp_loop_timer(l, 0, feed_tick, f);
}

int drp_razor_replay(enum drp_op op, const uint8_t *msg, size_t len, const uint8_t *server,
                     size_t slen, size_t chunk, struct drp_razor_result *res, struct drp_buf *sent)
{
	struct rz_ctx *c = calloc(1, sizeof(*c));
	struct drp_loop *loop = drp_loop_new();
	struct rz_sess *s = NULL;
	struct rz_feed f;
	char err[160];
	int sv[2] = {-1, -1}, rc = -1;
	enum rz_mode mode = op == DRP_OP_REPORT   ? M_REPORT
	                    : op == DRP_OP_REVOKE ? M_REVOKE
	                                          : M_CHECK;

	memset(res, 0, sizeof(*res));
	if (c == NULL || loop == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		goto out;
	c->enabled = 1;
	c->explicit_servers = 1;
	c->timeout_ms = 1000;
	c->logic_method = 4;
	snprintf(c->min_cf, sizeof(c->min_cf), "ac");
	snprintf(c->user, sizeof(c->user), "replay");
	snprintf(c->pass, sizeof(c->pass), "secret");
	c->have_ident = 1;
	if (add_server(c, "127.0.0.1:2703", NULL) < 0)
		goto out;
	c->cat[c->ncat++] = 0;
	c->nom[c->nnom++] = 0;
	s = sess_new(loop, c, mode, res);
	if (s == NULL)
		goto out;
	s->list = c->cat;
	s->nlist = 1;
	s->srv = &c->srv[0];
	snprintf(res->server, sizeof(res->server), "replay");
	if (drp_razor_prepare(msg, len, &s->msg, err, sizeof(err)) < 0) {
		s->have_msg = 1;
		goto out;
	}
	s->have_msg = 1;
	s->fd = sv[0];
	sv[0] = -1;
	if (drp_loop_watch(loop, s->fd, DRP_EV_READ, on_io, s) < 0)
		goto out;
	s->watched = 1;
	s->step = ST_GREETING;
	s->expect = 1;
	memset(&f, 0, sizeof(f));
	f.s = s;
	f.fd = sv[1];
	f.p = server;
	f.n = slen;
	f.chunk = chunk;
	f.sent = sent;
	drp_loop_timer(loop, 0, feed_tick, &f);
	drp_loop_run(loop, drp_now_ms() + 2000);
	sess_finish(s);
	feed_tick(loop, &f); /* collect the last bytes the client sent */
	rc = 0;
out:
	sess_free(s);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	drp_loop_free(loop);
	ctx_free(c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* the drp_net_ops table */

static void write_dirty(struct rz_ctx *c)
{
	char herr[200];
	int i;

	for (i = 0; i < c->nsrv; i++) {
		if (!c->srv[i].dirty)
			continue;
		c->srv[i].dirty = 0;
		if (c->home[0] == 0)
			continue;
		if (drp_razor_srvconf_save(c->home, c->srv[i].hp.host, &c->srv[i].state, herr,
		                           sizeof(herr)) < 0)
			snprintf(c->warn, sizeof(c->warn), "%s", herr);
	}
}

static int rz_ctx_new(const struct drp_config *cfg, void **ctx, char *err, size_t errlen)
{
	struct rz_ctx *c;

	*ctx = NULL;
	if (ctx_build(cfg, &c, 1, err, errlen) < 0)
		return -1;
	*ctx = c;
	return 0;
}

static int rz_ctx_refresh(void *ctx, char *err, size_t errlen)
{
	struct rz_ctx *c = ctx;
	char herr[200];

	if (c == NULL || !c->enabled)
		return 0;
	/* lists, addresses and server state may change below */
	keep_drop(c, 1);
	write_dirty(c);
	if (!c->explicit_servers && load_servers(c, herr, sizeof(herr)) < 0) {
		snprintf(err, errlen, "%s", herr);
		return -1;
	}
	resolve_all(c);
	return 0;
}

static int rz_enabled(const void *ctx)
{
	const struct rz_ctx *c = ctx;

	return c != NULL && c->enabled;
}

static void rz_ctx_free(void *ctx)
{
	struct rz_ctx *c = ctx;

	if (c != NULL && c->enabled)
		write_dirty(c);
	ctx_free(c);
}

/* Continue on the kept connection when it goes to the server this request
 * would connect to first: the greeting and state of its first session
 * still hold, and so does its authentication.  -1: connect as usual. */
static int sess_reuse(struct rz_sess *s)
{
	struct rz_ctx *c = s->ctx;
	int i, fd;

	if (!c->keep.active)
		return -1;
	for (i = 0; i < s->nlist; i++)
		if (c->srv[s->list[i]].resolved)
			break;
	if (i == s->nlist) {
		keep_drop(c, 1);
		return -1;
	}
	fd = keep_take(c, s->list[i]);
	if (fd < 0)
		return -1;
	if (drp_loop_watch(s->loop, fd, DRP_EV_READ, on_io, s) < 0) {
		close(fd);
		return -1;
	}
	s->cur = i;
	s->srv = &c->srv[s->list[i]];
	snprintf(s->res->server, sizeof(s->res->server), "%s", s->srv->name);
	s->fd = fd;
	s->watched = 1;
	s->conn_gen++;
	s->reused = 1;
	s->res->net.conn = DRP_CONN_KEPT;
	s->authed = c->keep.authed;
	s->greet = c->keep.greet;
	s->conf = s->srv->conf;
	s->expect = 0;
	after_state(s);
	return 0;
}

static void *rz_start(struct drp_loop *loop, void *ctx, enum drp_op op, const uint8_t *msg,
                      size_t len, const struct drp_envelope *env, void *res)
{
	struct rz_ctx *c = ctx;
	struct drp_razor_result *r = res;
	enum rz_mode mode = op == DRP_OP_REPORT   ? M_REPORT
	                    : op == DRP_OP_REVOKE ? M_REVOKE
	                                          : M_CHECK;
	struct rz_sess *s;
	char err[160];
	size_t i;
	int usable = 0;

	if (c == NULL || !c->enabled) {
		r->net.status = DRP_ST_DISABLED;
		return NULL;
	}
	s = sess_new(loop, c, mode, r);
	if (s == NULL) {
		r->net.status = DRP_ST_ERROR;
		snprintf(r->net.error, sizeof(r->net.error), "out of memory");
		return NULL;
	}
	s->list = mode == M_CHECK ? c->cat : c->nom;
	s->nlist = mode == M_CHECK ? c->ncat : c->nnom;
	if (drp_razor_prepare(msg, len, &s->msg, err, sizeof(err)) < 0) {
		s->have_msg = 1;
		sess_end(s, DRP_ST_ERROR, "%s", err);
		goto done;
	}
	s->have_msg = 1;
	for (i = 0; i < s->msg.nparts; i++)
		usable += !s->msg.parts[i].skipped;
	if (usable == 0) {
		/* no part gets a signature: razor sends nothing and says "not spam" */
		sess_end(s, DRP_ST_OK, NULL);
		goto done;
	}
	if ((mode == M_REPORT || mode == M_REVOKE) && !c->have_ident) {
		sess_end(s, DRP_ST_ERROR, "no razor identity in %s (drp-register razor)", c->home);
		goto done;
	}
	if (s->nlist == 0) {
		sess_end(s, DRP_ST_ERROR, "no razor servers%s%s", c->warn[0] ? ": " : "", c->warn);
		goto done;
	}
	if (sess_reuse(s) == 0)
		return s;
	if (sess_connect(s) < 0)
		goto done;
	return s;
done:
	sess_free(s);
	return NULL;
}

static void rz_finish(void *req)
{
	struct rz_sess *s = req;

	if (s == NULL)
		return;
	sess_finish(s);
	sess_free(s);
}

static void rz_result_json(const void *res, enum drp_op op, struct json_object *obj)
{
	const struct drp_razor_result *r = res;

	if (op == DRP_OP_CHECK) {
		json_object_object_add(obj, "hit", json_object_new_boolean(r->hit != 0));
		json_object_object_add(obj, "cf", json_object_new_int(r->cf));
		json_object_object_add(obj, "min_cf", json_object_new_int(r->min_cf));
		json_object_object_add(obj, "parts", json_object_new_int(r->nparts));
	} else {
		json_object_object_add(obj, "accepted", json_object_new_int(r->accepted));
		if (op == DRP_OP_REPORT)
			json_object_object_add(obj, "uploaded",
			                       json_object_new_boolean(r->uploaded != 0));
	}
	json_object_object_add(obj, "queries", json_object_new_int(r->nqueries));
	if (r->net.conn != DRP_CONN_NONE) {
		static const char *const conn[] = {"", "new", "kept", "renewed"};

		json_object_object_add(obj, "connection",
		                       json_object_new_string(conn[r->net.conn]));
	}
	json_object_object_add(obj, "status",
	                       json_object_new_string(drp_status_name(r->net.status)));
	json_object_object_add(obj, "latency_ms", json_object_new_int64(r->net.latency_ms));
	if (r->server[0])
		json_object_object_add(obj, "server", json_object_new_string(r->server));
	if (r->net.error[0])
		json_object_object_add(obj, "error", json_object_new_string(r->net.error));
}

static int rz_listed(const void *res)
{
	const struct drp_razor_result *r = res;

	return r->net.status == DRP_ST_OK && r->hit;
}

/* drp ping: one connection per known server, a greeting is a pong. */
struct rz_ping {
	int n;
	int idx[RZ_MAX_SERVERS];
	struct rz_sess *s[RZ_MAX_SERVERS];
	struct drp_razor_result r[RZ_MAX_SERVERS];
	struct json_object *out;
};

static void *rz_ping_start(struct drp_loop *loop, void *ctx, struct json_object *out)
{
	struct rz_ctx *c = ctx;
	struct rz_ping *p;
	int i, j;

	if (c == NULL || !c->enabled)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->out = out;
	for (i = 0; i < c->ncat + c->nnom; i++) {
		int k = i < c->ncat ? c->cat[i] : c->nom[i - c->ncat];

		for (j = 0; j < p->n; j++)
			if (p->idx[j] == k)
				break;
		if (j < p->n || p->n >= RZ_MAX_SERVERS)
			continue;
		p->idx[p->n] = k;
		p->s[p->n] = sess_new(loop, c, M_PROBE, &p->r[p->n]);
		if (p->s[p->n] == NULL)
			break;
		p->s[p->n]->list = &p->idx[p->n];
		p->s[p->n]->nlist = 1;
		sess_connect(p->s[p->n]);
		p->n++;
	}
	return p;
}

static void rz_ping_finish(void *req)
{
	struct rz_ping *p = req;
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		struct drp_razor_result *r = &p->r[i];
		struct json_object *o = json_object_new_object();
		int ok;

		sess_finish(p->s[i]);
		ok = r->net.status == DRP_ST_OK;
		json_object_object_add(o, "server", json_object_new_string(r->server));
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		json_object_object_add(o, "rtt_ms", json_object_new_int64(r->net.latency_ms));
		if (!ok)
			json_object_object_add(o, "error", json_object_new_string(r->net.error));
		if (p->out != NULL)
			json_object_array_add(p->out, o);
		else
			json_object_put(o);
		sess_free(p->s[i]);
	}
	free(p);
}

int drp_razor_register(const struct drp_config *cfg, const struct drp_razor_reg *reg,
                       char *user_out, size_t user_outlen, char *err, size_t errlen)
{
	struct drp_razor_result r;
	struct drp_loop *loop = NULL;
	struct rz_sess *s = NULL;
	struct rz_ctx *c;
	char path[PATH_MAX];
	int rc = -1;

	if (ctx_build(cfg, &c, 1, err, errlen) < 0)
		return -1;
	if (!c->enabled) {
		snprintf(err, errlen, "razor is disabled (razor_enable)");
		goto out;
	}
	if (c->nnom == 0) {
		snprintf(err, errlen, "no razor nomination servers%s%s", c->warn[0] ? ": " : "",
		         c->warn);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	loop = drp_loop_new();
	s = loop ? sess_new(loop, c, M_REGISTER, &r) : NULL;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	s->list = c->nom;
	s->nlist = c->nnom;
	s->reg_user = reg->user;
	s->reg_pass = reg->pass;
	if (sess_connect(s) == 0)
		sess_run_sync(s, c->timeout_ms);
	if (r.net.status != DRP_ST_OK) {
		snprintf(err, errlen, "%s", r.net.error[0] ? r.net.error : "registration failed");
		goto out;
	}
	if (drp_razor_ident_save(c->home, &s->ident, reg->link, path, sizeof(path), err, errlen) <
	    0)
		goto out;
	snprintf(user_out, user_outlen, "%s", drp_razor_kv_get(&s->ident, "user"));
	rc = 0;
out:
	sess_free(s);
	drp_loop_free(loop);
	rz_ctx_free(c);
	return rc;
}

const struct drp_net_ops drp_razor_ops = {
    .name = "razor",
    .result_size = sizeof(struct drp_razor_result),
    .ctx_new = rz_ctx_new,
    .ctx_refresh = rz_ctx_refresh,
    .enabled = rz_enabled,
    .ctx_free = rz_ctx_free,
    .start = rz_start,
    .finish = rz_finish,
    .result_json = rz_result_json,
    .listed = rz_listed,
    .ping_start = rz_ping_start,
    .ping_finish = rz_ping_finish,
};
