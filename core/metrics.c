/* metrics: see metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shm.h"

#define MAGIC 0x6472706d65747231ull /* "drpmetr1" */
#define LAYOUT 3

/* Status codes the API produces; anything else lands in "other". */
static const int codes[] = {200, 400, 401, 403, 404, 405, 413, 415, 500, 502, 503, 504, 0};
#define NCODES (sizeof(codes) / sizeof(codes[0]))
/* Histogram bounds in microseconds (rendered as seconds). */
static const uint64_t bounds_us[] = {1000,   2500,   5000,    10000,   25000,   50000,   100000,
                                     250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define NB (sizeof(bounds_us) / sizeof(bounds_us[0]))
static const char *const ep_names[DRP_EP_N] = {"check",  "report",  "revoke",
                                               "health", "metrics", "other"};
static const char *const cache_names[DRP_MC_N] = {"hits", "misses", "coalesced", "stores",
                                                  "backend_errors"};
static const char *const net_names[] = {"dcc", "razor", "pyzor"};
#define NNET 3

struct hist {
	uint64_t bucket[NB + 1]; /* last: +Inf */
	uint64_t sum_us;
	uint64_t count;
};

/* id: the worker's pid in the low PID_BITS, its start time (clock ticks
 * after boot, 0 unknown) above: together they name one process even when
 * the kernel hands a dead worker's pid to another, and one atomic word
 * claims a slot */
struct worker_slot {
	uint64_t id;
	uint32_t busy;
	uint32_t unused;
	uint64_t requests;
};

#define PID_BITS 22 /* Linux pid_max is at most 2^22 */
#define ID_PID(id) ((pid_t)((id) & ((1u << PID_BITS) - 1)))

struct area {
	uint64_t requests[DRP_EP_N][NCODES];
	struct hist req_hist[DRP_EP_N];
	uint64_t cache[DRP_MC_N];
	uint64_t net[NNET][4];      /* queries, errors, timeouts, listed */
	uint64_t net_conn[NNET][3]; /* DRP_CONN_NEW, _KEPT, _RENEWED */
	struct hist net_hist[NNET];
	uint64_t worker_restarts;
	uint64_t started_unix;
	struct worker_slot w[DRP_METRICS_WORKERS];
};

struct drp_metrics {
	struct drp_shm *shm; /* NULL: private */
	struct area *a;
	int slot; /* -1: none */
};

static void add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int drp_metrics_open(struct drp_metrics **out, const char *path, char *err, size_t errlen)
{
	struct drp_metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (m == NULL) {
		snprintf(err, errlen, "metrics: out of memory");
		return -1;
	}
	m->slot = -1;
	if (path == NULL) {
		m->a = calloc(1, sizeof(*m->a));
		if (m->a == NULL) {
			free(m);
			snprintf(err, errlen, "metrics: out of memory");
			return -1;
		}
	} else {
		if (drp_shm_open(&m->shm, path, MAGIC, LAYOUT, sizeof(struct area), NULL, NULL, err,
		                 errlen) < 0) {
			free(m);
			return -1;
		}
		m->a = drp_shm_base(m->shm);
	}
	if (get(&m->a->started_unix) == 0) {
		uint64_t zero = 0, now = (uint64_t)time(NULL);

		__atomic_compare_exchange_n(&m->a->started_unix, &zero, now, 0, __ATOMIC_RELAXED,
		                            __ATOMIC_RELAXED);
	}
	*out = m;
	return 0;
}

void drp_metrics_close(struct drp_metrics *m)
{
	if (m == NULL)
		return;
	if (m->shm != NULL)
		drp_shm_close(m->shm);
	else
		free(m->a);
	free(m);
}

uint64_t drp_metrics_process_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	uint64_t v = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the command name may hold anything, ')' included: skip to the last */
	p = strrchr(buf, ')');
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

static uint64_t make_id(pid_t pid)
{
	return drp_metrics_process_start(pid) << PID_BITS | (uint64_t)pid;
}

int drp_metrics_process_alive(pid_t pid, uint64_t start)
{
	uint64_t now;

	if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
		return 0;
	if (start == 0)
		return 1; /* no /proc when it started: the pid must do */
	now = drp_metrics_process_start(pid);
	return now == 0 || now == start;
}

static int id_alive(uint64_t id)
{
	return drp_metrics_process_alive(ID_PID(id), id >> PID_BITS);
}

void drp_metrics_worker_start(struct drp_metrics *m, pid_t pid)
{
	uint64_t me = make_id(pid);
	int i;

	for (i = 0; i < DRP_METRICS_WORKERS; i++) {
		struct worker_slot *w = &m->a->w[i];
		uint64_t cur = __atomic_load_n(&w->id, __ATOMIC_ACQUIRE);

		if (cur == me || cur == 0 || !id_alive(cur)) {
			if (cur == me ||
			    __atomic_compare_exchange_n(&w->id, &cur, me, 0, __ATOMIC_ACQ_REL,
			                                __ATOMIC_RELAXED)) {
				__atomic_store_n(&w->busy, 0, __ATOMIC_RELEASE);
				m->slot = i;
				return;
			}
		}
	}
	m->slot = -1;
}

void drp_metrics_worker_busy(struct drp_metrics *m, int busy)
{
	if (m->slot >= 0)
		__atomic_store_n(&m->a->w[m->slot].busy, busy ? 1u : 0u, __ATOMIC_RELEASE);
}

void drp_metrics_worker_stop(struct drp_metrics *m)
{
	if (m->slot < 0)
		return;
	__atomic_store_n(&m->a->w[m->slot].busy, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&m->a->w[m->slot].id, 0, __ATOMIC_RELEASE);
	m->slot = -1;
}

void drp_metrics_workers(struct drp_metrics *m, int *alive, int *busy)
{
	int i;

	*alive = *busy = 0;
	for (i = 0; i < DRP_METRICS_WORKERS; i++) {
		if (!id_alive(__atomic_load_n(&m->a->w[i].id, __ATOMIC_ACQUIRE)))
			continue;
		(*alive)++;
		if (__atomic_load_n(&m->a->w[i].busy, __ATOMIC_ACQUIRE))
			(*busy)++;
	}
}

static size_t code_index(int status)
{
	size_t i;

	for (i = 0; i + 1 < NCODES; i++)
		if (codes[i] == status)
			return i;
	return NCODES - 1;
}

static void observe(struct hist *h, uint64_t us)
{
	size_t i;

	for (i = 0; i < NB && us > bounds_us[i]; i++)
		;
	add(&h->bucket[i], 1);
	add(&h->sum_us, us);
	add(&h->count, 1);
}

void drp_metrics_request(struct drp_metrics *m, enum drp_metrics_ep ep, int status,
                         uint64_t duration_us)
{
	if ((unsigned)ep >= DRP_EP_N)
		ep = DRP_EP_OTHER;
	add(&m->a->requests[ep][code_index(status)], 1);
	observe(&m->a->req_hist[ep], duration_us);
	if (m->slot >= 0)
		add(&m->a->w[m->slot].requests, 1);
}

void drp_metrics_cache(struct drp_metrics *m, enum drp_metrics_cache_ev ev)
{
	if ((unsigned)ev < DRP_MC_N)
		add(&m->a->cache[ev], 1);
}

static int net_index(const char *name)
{
	int i;

	for (i = 0; i < NNET; i++)
		if (strcmp(net_names[i], name) == 0)
			return i;
	return -1;
}

void drp_metrics_fanout(struct drp_metrics *m, const struct drp_fanout_result *r)
{
	int i;

	for (i = 0; i < r->n; i++) {
		const struct drp_net_result *nr = r->res[i];
		int k = net_index(r->ops[i]->name);

		if (k < 0 || nr->status == DRP_ST_DISABLED)
			continue;
		add(&m->a->net[k][0], 1);
		if (nr->conn >= DRP_CONN_NEW && nr->conn <= DRP_CONN_RENEWED)
			add(&m->a->net_conn[k][nr->conn - DRP_CONN_NEW], 1);
		if (nr->status == DRP_ST_ERROR)
			add(&m->a->net[k][1], 1);
		else if (nr->status == DRP_ST_TIMEOUT)
			add(&m->a->net[k][2], 1);
		else if (nr->status == DRP_ST_OK && r->ops[i]->listed != NULL &&
		         r->ops[i]->listed(nr))
			add(&m->a->net[k][3], 1);
		observe(&m->a->net_hist[k],
		        (uint64_t)(nr->latency_ms > 0 ? nr->latency_ms : 0) * 1000);
	}
}

void drp_metrics_worker_restart(struct drp_metrics *m)
{
	add(&m->a->worker_restarts, 1);
}

uint64_t drp_metrics_requests(struct drp_metrics *m, enum drp_metrics_ep ep, int status)
{
	return (unsigned)ep < DRP_EP_N ? get(&m->a->requests[ep][code_index(status)]) : 0;
}

uint64_t drp_metrics_cache_count(struct drp_metrics *m, enum drp_metrics_cache_ev ev)
{
	return (unsigned)ev < DRP_MC_N ? get(&m->a->cache[ev]) : 0;
}

uint64_t drp_metrics_conn_count(struct drp_metrics *m, const char *net, enum drp_conn conn)
{
	int k = net_index(net);

	if (k < 0 || conn < DRP_CONN_NEW || conn > DRP_CONN_RENEWED)
		return 0;
	return get(&m->a->net_conn[k][conn - DRP_CONN_NEW]);
}

uint64_t drp_metrics_net_count(struct drp_metrics *m, const char *net, int ev)
{
	int k = net_index(net);

	return k >= 0 && ev >= 0 && ev < 4 ? get(&m->a->net[k][ev]) : 0;
}

static int hist_render(struct drp_buf *o, const char *name, const char *labels,
                       const struct hist *h)
{
	uint64_t cum = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i < NB; i++) {
		cum += get(&h->bucket[i]);
		rc |= drp_buf_printf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
		                     *labels ? "," : "", (double)bounds_us[i] / 1e6,
		                     (unsigned long long)cum);
	}
	cum += get(&h->bucket[NB]);
	rc |= drp_buf_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
	                     *labels ? "," : "", (unsigned long long)cum);
	rc |= drp_buf_printf(o, "%s_sum{%s} %.6f\n", name, labels, (double)get(&h->sum_us) / 1e6);
	rc |= drp_buf_printf(o, "%s_count{%s} %llu\n", name, labels,
	                     (unsigned long long)get(&h->count));
	return rc;
}

int drp_metrics_render(struct drp_metrics *m, const char *version, struct drp_buf *o)
{
	struct area *a = m->a;
	int rc = 0, alive, busy, e, k;
	size_t c;
	char labels[64];

	rc |= drp_buf_printf(o,
	                     "# HELP drp_build_info drp build.\n# TYPE drp_build_info gauge\n"
	                     "drp_build_info{version=\"%s\"} 1\n",
	                     version);
	rc |= drp_buf_printf(o,
	                     "# HELP drp_start_time_seconds When the pool's metrics began.\n"
	                     "# TYPE drp_start_time_seconds gauge\ndrp_start_time_seconds %llu\n",
	                     (unsigned long long)get(&a->started_unix));
	rc |= drp_buf_printf(o, "# HELP drp_requests_total HTTP requests by endpoint and status.\n"
	                        "# TYPE drp_requests_total counter\n");
	for (e = 0; e < DRP_EP_N; e++)
		for (c = 0; c < NCODES; c++) {
			uint64_t v = get(&a->requests[e][c]);
			char code[16];

			if (v == 0)
				continue;
			if (codes[c])
				snprintf(code, sizeof(code), "%d", codes[c]);
			else
				snprintf(code, sizeof(code), "other");
			rc |= drp_buf_printf(
			    o, "drp_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
			    ep_names[e], code, (unsigned long long)v);
		}
	rc |= drp_buf_printf(o, "# HELP drp_request_duration_seconds Request wall time.\n"
	                        "# TYPE drp_request_duration_seconds histogram\n");
	for (e = 0; e < DRP_EP_N; e++) {
		snprintf(labels, sizeof(labels), "endpoint=\"%s\"", ep_names[e]);
		rc |= hist_render(o, "drp_request_duration_seconds", labels, &a->req_hist[e]);
	}
	for (c = 0; c < DRP_MC_N; c++)
		rc |= drp_buf_printf(
		    o, "# TYPE drp_cache_%s_total counter\ndrp_cache_%s_total %llu\n",
		    cache_names[c], cache_names[c], (unsigned long long)get(&a->cache[c]));
	{
		static const char *const what[4] = {"queries", "errors", "timeouts", "listed"};
		int w;

		for (w = 0; w < 4; w++) {
			rc |= drp_buf_printf(o, "# TYPE drp_network_%s_total counter\n", what[w]);
			for (k = 0; k < NNET; k++)
				rc |= drp_buf_printf(
				    o, "drp_network_%s_total{network=\"%s\"} %llu\n", what[w],
				    net_names[k], (unsigned long long)get(&a->net[k][w]));
		}
	}
	{
		static const char *const kind[3] = {"new", "kept", "renewed"};
		int w;

		/* Razor is the one network with connections: a request's
		 * connection is new, kept from an earlier request, or renewed
		 * (a kept one the server had let go, replaced in the request) */
		rc |=
		    drp_buf_printf(o, "# HELP drp_network_connections_total How requests reached a "
		                      "connection-oriented network's server.\n"
		                      "# TYPE drp_network_connections_total counter\n");
		k = net_index("razor");
		for (w = 0; w < 3 && k >= 0; w++)
			rc |= drp_buf_printf(o,
			                     "drp_network_connections_total{network=\"%s\","
			                     "connection=\"%s\"} %llu\n",
			                     net_names[k], kind[w],
			                     (unsigned long long)get(&a->net_conn[k][w]));
	}
	rc |= drp_buf_printf(o, "# HELP drp_network_duration_seconds Per-network answer time.\n"
	                        "# TYPE drp_network_duration_seconds histogram\n");
	for (k = 0; k < NNET; k++) {
		snprintf(labels, sizeof(labels), "network=\"%s\"", net_names[k]);
		rc |= hist_render(o, "drp_network_duration_seconds", labels, &a->net_hist[k]);
	}
	drp_metrics_workers(m, &alive, &busy);
	rc |= drp_buf_printf(o,
	                     "# TYPE drp_workers_alive gauge\ndrp_workers_alive %d\n"
	                     "# TYPE drp_workers_busy gauge\ndrp_workers_busy %d\n"
	                     "# TYPE drp_worker_restarts_total counter\n"
	                     "drp_worker_restarts_total %llu\n",
	                     alive, busy, (unsigned long long)get(&a->worker_restarts));
	return rc ? -1 : 0;
}
