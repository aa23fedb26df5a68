/*
 * worker: one FastCGI connection at a time, one request at a time.
 *
 * The listening socket is non-blocking and shared by every worker of the
 * pool; a worker polls it (so it can refresh the networks when idle and
 * notice signals), accepts, and serves that connection until the web
 * server closes it or stops asking for FCGI_KEEP_CONN.  While a kept
 * connection is idle the worker also watches the listening socket and
 * gives the idle connection up when a new one waits: one pinned idle
 * connection must not starve the queue (nginx retries a request on a
 * cached connection that was closed).
 */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "fcgi.h"
#include "http_fcgi.h"

#define MAX_PARAMS (64 * 1024)
#define DISCARD_MS 1000

struct conn {
	int fd;
	struct drp_buf in;
	size_t off; /* parsed up to here */
	int eof;
};

/* Read more bytes before `deadline`.  1 read, 0 EOF, -1 error or timeout.
 * With listen_fd >= 0 (an idle kept connection) also returns -2 when a new
 * connection is waiting or a stop was requested. */
static int fill(struct conn *c, uint64_t deadline, int listen_fd)
{
	for (;;) {
		struct pollfd p[2];
		uint64_t now = drp_now_ms();
		ssize_t n;
		int np = 1, r;

		if (c->off > 0 && c->off == c->in.len) {
			c->in.len = 0;
			c->off = 0;
		}
		if (drp_buf_reserve(&c->in, 16384) < 0)
			return -1;
		n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1);
		if (n > 0) {
			c->in.len += (size_t)n;
			return 1;
		}
		if (n == 0) {
			c->eof = 1;
			return 0;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (listen_fd >= 0 && fcgi_stop)
			return -2;
		if (now >= deadline)
			return -1;
		p[0].fd = c->fd;
		p[0].events = POLLIN;
		if (listen_fd >= 0) {
			p[1].fd = listen_fd;
			p[1].events = POLLIN;
			np = 2;
		}
		r = poll(p, (nfds_t)np, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0 && np == 2 && (p[1].revents & POLLIN) && !(p[0].revents & POLLIN))
			return -2;
	}
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		{
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			uint64_t now = drp_now_ms();

			if (now >= deadline)
				return -1;
			if (poll(&pf, 1, (int)(deadline - now)) < 0 && errno != EINTR)
				return -1;
		}
	}
	return 0;
}

/* Next record, reading as needed.  1 ok, 0 clean EOF before a record,
 * -1 error/timeout/garbage, -2 preempted (idle wait only). */
static int next_record(struct conn *c, struct drp_fcgi_record *r, uint64_t deadline, int listen_fd)
{
	for (;;) {
		long n = drp_fcgi_parse(c->in.p + c->off, c->in.len - c->off, r);
		int f;

		if (n < 0)
			return -1;
		if (n > 0) {
			c->off += (size_t)n;
			return 1;
		}
		if (c->eof)
			return c->in.len == c->off ? 0 : -1;
		f = fill(c, deadline, listen_fd);
		if (f == 0)
			return c->in.len == c->off ? 0 : -1;
		if (f < 0)
			return f;
		listen_fd = -1; /* bytes arrived: this request is ours */
	}
}

/* Management records (request id 0): answer GET_VALUES, refuse the rest. */
static int management(struct conn *c, const struct drp_fcgi_record *r, uint64_t deadline)
{
	struct drp_buf out, body;
	int rc;

	drp_buf_init(&out);
	drp_buf_init(&body);
	if (r->type == DRP_FCGI_GET_VALUES) {
		const uint8_t *p = r->content;
		size_t n = r->len;
		struct drp_slice k, v;

		while (drp_fcgi_nv_next(&p, &n, &k, &v) == 1) {
			const char *val = NULL;

			if (drp_slice_ieq(k, "FCGI_MAX_CONNS") || drp_slice_ieq(k, "FCGI_MAX_REQS"))
				val = "1";
			else if (drp_slice_ieq(k, "FCGI_MPXS_CONNS"))
				val = "0";
			if (val != NULL)
				drp_fcgi_nv_put(&body, (const char *)k.p, k.len, val, 1);
		}
		drp_fcgi_put_record(&out, DRP_FCGI_GET_VALUES_RESULT, 0, body.p, body.len);
	} else {
		uint8_t t[8] = {r->type};

		drp_fcgi_put_record(&out, DRP_FCGI_UNKNOWN_TYPE, 0, t, sizeof(t));
	}
	rc = write_all(c->fd, out.p, out.len, deadline);
	drp_buf_free(&out);
	drp_buf_free(&body);
	return rc;
}

/* The parameters a request uses, as NUL-terminated copies in `store`. */
struct params {
	struct drp_buf store;
	size_t method, uri, doc_uri, clen, auth, token, ip, helo, from;
	size_t rcpt[DRP_SVC_MAX_RCPT_HDRS];
	int nrcpt;
	int bad;
};

static void params_reset(struct params *p)
{
	drp_buf_reset(&p->store);
	p->method = p->uri = p->doc_uri = p->clen = p->auth = p->token = p->ip = p->helo = p->from =
	    (size_t)-1;
	p->nrcpt = 0;
	p->bad = 0;
	drp_buf_putc(&p->store, 0); /* offset 0 is never a value */
}

static void params_parse(struct params *ps, const uint8_t *p, size_t n)
{
	struct drp_slice k, v;
	int rc;

	while ((rc = drp_fcgi_nv_next(&p, &n, &k, &v)) == 1) {
		size_t *slot = NULL, off;
		static const struct {
			const char *name;
			size_t off;
		} names[] = {
		    {"REQUEST_METHOD", offsetof(struct params, method)},
		    {"REQUEST_URI", offsetof(struct params, uri)},
		    {"DOCUMENT_URI", offsetof(struct params, doc_uri)},
		    {"CONTENT_LENGTH", offsetof(struct params, clen)},
		    {"HTTP_AUTHORIZATION", offsetof(struct params, auth)},
		    {"HTTP_X_DRP_TOKEN", offsetof(struct params, token)},
		    {"HTTP_X_DRP_CLIENT_IP", offsetof(struct params, ip)},
		    {"HTTP_X_DRP_HELO", offsetof(struct params, helo)},
		    {"HTTP_X_DRP_ENV_FROM", offsetof(struct params, from)},
		};
		size_t i;

		if (k.len == 19 && memcmp(k.p, "HTTP_X_DRP_ENV_RCPT", 19) == 0) {
			if (ps->nrcpt == DRP_SVC_MAX_RCPT_HDRS) {
				ps->bad = 1;
				continue;
			}
			slot = &ps->rcpt[ps->nrcpt++];
		}
		for (i = 0; slot == NULL && i < sizeof(names) / sizeof(names[0]); i++)
			if (k.len == strlen(names[i].name) &&
			    memcmp(k.p, names[i].name, k.len) == 0)
				slot = (size_t *)((char *)ps + names[i].off);
		if (slot == NULL)
			continue;
		if (memchr(v.p, 0, v.len) != NULL) {
			ps->bad = 1;
			continue;
		}
		off = ps->store.len;
		if (drp_buf_append(&ps->store, v.p, v.len) < 0 || drp_buf_putc(&ps->store, 0) < 0) {
			ps->bad = 1;
			return;
		}
		*slot = off;
	}
	if (rc < 0)
		ps->bad = 1;
}

static const char *pstr(const struct params *p, size_t off)
{
	return off == (size_t)-1 ? NULL : (const char *)p->store.p + off;
}

static int respond(struct conn *c, uint16_t id, const struct drp_svc_resp *resp, uint64_t deadline)
{
	struct drp_buf out, head;
	int rc = -1;

	drp_buf_init(&out);
	drp_buf_init(&head);
	if (drp_svc_head(resp, &head) == 0 &&
	    drp_buf_reserve(&out, head.len + resp->body.len + 64) == 0 &&
	    drp_fcgi_put_stream(&out, DRP_FCGI_STDOUT, id, head.p, head.len) == 0 &&
	    (resp->body.len == 0 ||
	     drp_fcgi_put_stream(&out, DRP_FCGI_STDOUT, id, resp->body.p, resp->body.len) == 0) &&
	    drp_fcgi_put_stream(&out, DRP_FCGI_STDOUT, id, NULL, 0) == 0 &&
	    drp_fcgi_put_end(&out, id, 0, DRP_FCGI_REQUEST_COMPLETE) == 0)
		rc = write_all(c->fd, out.p, out.len, deadline);
	drp_buf_free(&out);
	drp_buf_free(&head);
	return rc;
}

/* Throw away the rest of a STDIN stream (nothing kept).  1 when the stream
 * ended, 0 when it did not within the deadline. */
static int discard_stdin(struct conn *c, uint16_t id, uint64_t deadline)
{
	struct drp_fcgi_record r;

	for (;;) {
		if (next_record(c, &r, deadline, -1) != 1)
			return 0;
		if (r.id == id && r.type == DRP_FCGI_STDIN && r.len == 0)
			return 1;
		if (r.id == id && r.type == DRP_FCGI_ABORT_REQUEST)
			return 0;
	}
}

struct worker {
	const struct fcgi_opts *o;
	struct drp_svc svc;
	int listen_fd;
};

/* Serve one connection.  Returns when it is closed. */
static void serve(struct worker *w, int fd)
{
	struct conn c = {.fd = fd};
	struct params ps;
	struct drp_buf body;
	int keep = 1, first = 1;

	drp_buf_init(&c.in);
	drp_buf_init(&ps.store);
	drp_buf_init(&body);
	while (keep && !fcgi_stop) {
		struct drp_fcgi_record r;
		struct drp_svc_req req;
		struct drp_svc_resp resp;
		uint64_t deadline;
		uint16_t id = 0;
		int rc, need_body, ok = 1, ended = 0;
		size_t params_len = 0;

		/* wait for BEGIN_REQUEST; an idle kept connection yields to a
		 * waiting one */
		for (;;) {
			deadline = drp_now_ms() + (uint64_t)w->o->request_timeout_ms;
			rc = next_record(&c, &r, deadline, first ? -1 : w->listen_fd);
			if (rc != 1)
				goto done;
			if (r.id == 0) {
				if (management(&c, &r, deadline) < 0)
					goto done;
				continue;
			}
			if (r.type == DRP_FCGI_BEGIN_REQUEST && r.len >= 8)
				break;
			/* stray records of an aborted request: ignore */
		}
		first = 0;
		id = r.id;
		keep = (r.content[2] & DRP_FCGI_KEEP_CONN) != 0;
		if (((r.content[0] << 8) | r.content[1]) != DRP_FCGI_RESPONDER) {
			struct drp_buf out;

			drp_buf_init(&out);
			drp_fcgi_put_end(&out, id, 0, DRP_FCGI_UNKNOWN_ROLE);
			rc = write_all(fd, out.p, out.len, deadline);
			drp_buf_free(&out);
			if (rc < 0)
				goto done;
			continue;
		}
		drp_metrics_worker_busy(w->svc.metrics, 1);
		params_reset(&ps);
		drp_buf_reset(&body);
		/* PARAMS until the empty record */
		for (;;) {
			if (next_record(&c, &r, deadline, -1) != 1)
				goto done;
			if (r.id != id) {
				if (r.type == DRP_FCGI_BEGIN_REQUEST) {
					struct drp_buf out;

					drp_buf_init(&out);
					drp_fcgi_put_end(&out, r.id, 0, DRP_FCGI_CANT_MPX_CONN);
					rc = write_all(fd, out.p, out.len, deadline);
					drp_buf_free(&out);
					if (rc < 0)
						goto done;
				}
				continue;
			}
			if (r.type == DRP_FCGI_ABORT_REQUEST)
				goto aborted;
			if (r.type != DRP_FCGI_PARAMS)
				continue;
			if (r.len == 0)
				break;
			params_len += r.len;
			if (params_len > MAX_PARAMS) {
				ps.bad = 1;
				continue;
			}
			/* params may straddle records: gather them first */
			if (drp_buf_append(&body, r.content, r.len) < 0)
				ps.bad = 1;
		}
		params_parse(&ps, body.p, body.len);
		drp_buf_reset(&body);
		memset(&req, 0, sizeof(req));
		drp_svc_resp_init(&resp);
		req.method = pstr(&ps, ps.method);
		req.uri = pstr(&ps, ps.uri) ? pstr(&ps, ps.uri) : pstr(&ps, ps.doc_uri);
		req.authorization = pstr(&ps, ps.auth);
		req.x_token = pstr(&ps, ps.token);
		req.client_ip = pstr(&ps, ps.ip);
		req.helo = pstr(&ps, ps.helo);
		req.env_from = pstr(&ps, ps.from);
		for (req.nrcpt = 0; req.nrcpt < ps.nrcpt; req.nrcpt++)
			req.rcpt[req.nrcpt] = pstr(&ps, ps.rcpt[req.nrcpt]);
		req.content_length = -1;
		if (pstr(&ps, ps.clen) && *pstr(&ps, ps.clen)) {
			char *end;

			req.content_length = strtoll(pstr(&ps, ps.clen), &end, 10);
			if (*end || req.content_length < 0)
				ps.bad = 1;
		}
		if (ps.bad) {
			req.t0_us = drp_now_ms() * 1000;
			req.ep = DRP_EP_OTHER;
			drp_svc_error(&resp, 400, "malformed request parameters");
			need_body = 0;
			resp.close = 1;
		} else
			need_body = drp_svc_route(&w->svc, &req, &resp);
		if (need_body) {
			/* STDIN until the empty record, bounded by max_body */
			for (;;) {
				if (next_record(&c, &r, deadline, -1) != 1) {
					ok = 0;
					break;
				}
				if (r.id != id || r.type != DRP_FCGI_STDIN) {
					if (r.id == id && r.type == DRP_FCGI_ABORT_REQUEST) {
						ok = 0;
						break;
					}
					continue;
				}
				if (r.len == 0) {
					ended = 1;
					break;
				}
				if (body.len + r.len > w->svc.max_body) {
					drp_svc_error(&resp, 413, "message larger than max_body");
					resp.close = 1;
					need_body = 0;
					break;
				}
				if (drp_buf_append(&body, r.content, r.len) < 0) {
					drp_svc_error(&resp, 500, "out of memory");
					resp.close = 1;
					need_body = 0;
					break;
				}
			}
			if (!ok) {
				drp_svc_resp_free(&resp);
				goto aborted;
			}
			if (need_body) {
				req.body = body.p;
				req.body_len = body.len;
				drp_svc_handle(&w->svc, &req, &resp);
			}
		}
		if (respond(&c, id, &resp, drp_now_ms() + (uint64_t)w->o->request_timeout_ms) < 0)
			ok = 0;
		drp_svc_done(&w->svc, &req, &resp);
		if (resp.close)
			keep = 0;
		drp_svc_resp_free(&resp);
		drp_metrics_worker_busy(w->svc.metrics, 0);
		if (!ok)
			goto done;
		if (!ended) {
			/* the web server may still be sending the body we did not
			 * want: take our side down and let it finish, discarding */
			if (!keep)
				shutdown(fd, SHUT_WR);
			if (!discard_stdin(&c, id, drp_now_ms() + DISCARD_MS))
				goto done;
		}
		drp_buf_reset(&body);
		continue;
	aborted:
		drp_metrics_worker_busy(w->svc.metrics, 0);
		{
			struct drp_buf out;

			drp_buf_init(&out);
			drp_fcgi_put_end(&out, id, 0, DRP_FCGI_REQUEST_COMPLETE);
			write_all(fd, out.p, out.len, drp_now_ms() + 1000);
			drp_buf_free(&out);
		}
	}
done:
	drp_metrics_worker_busy(w->svc.metrics, 0);
	close(fd);
	drp_buf_free(&c.in);
	drp_buf_free(&ps.store);
	if (body.p != NULL)
		memset(body.p, 0, body.cap);
	drp_buf_free(&body);
}

/* TCP peers may be limited to the web servers' addresses (config
 * web_server_addrs, or libfcgi's FCGI_WEB_SERVER_ADDRS): the FastCGI port
 * bypasses nginx's limits.  Unix-socket peers are governed by the socket's
 * mode instead. */
static int peer_allowed(const struct drp_svc *svc, const struct sockaddr *sa, socklen_t len)
{
	const char *list = drp_config_get(svc->cfg, "web_server_addrs");
	char host[64];
	size_t hl;
	const char *p;

	if (list == NULL || *list == 0)
		list = getenv("FCGI_WEB_SERVER_ADDRS");
	if (list == NULL || *list == 0 || len == 0 ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 1;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
	else {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], host, sizeof(host));
		else
			inet_ntop(AF_INET6, a, host, sizeof(host));
	}
	hl = strlen(host);
	for (p = list; *p;) {
		size_t n = strcspn(p, ", \t");

		if (n == hl && strncmp(p, host, n) == 0)
			return 1;
		p += n;
		p += strspn(p, ", \t");
	}
	fcgi_log("refused a FastCGI connection from %s (not in web_server_addrs)", host);
	return 0;
}

static int build_svc(struct worker *w, char *err, size_t errlen)
{
	struct drp_config *cfg = fcgi_load_config(w->o, err, errlen);
	struct drp_svc_opts so = {.metrics_path = w->o->metrics_path};

	if (cfg == NULL)
		return -1;
	if (drp_svc_init(&w->svc, cfg, &so, err, errlen) < 0) {
		drp_config_free(cfg);
		return -1;
	}
	return 0;
}

int fcgi_worker_run(const struct fcgi_opts *o, int reload_self)
{
	struct worker w = {.o = o, .listen_fd = o->listen_fd};
	char err[512];

	if (build_svc(&w, err, sizeof(err)) < 0) {
		fcgi_log("%s", err);
		return 1;
	}
	drp_metrics_worker_start(w.svc.metrics, getpid());
	if (o->ready_fd > 0) {
		if (write(o->ready_fd, "R", 1) < 0)
			fcgi_log("telling the master we are ready: %s", strerror(errno));
		close(o->ready_fd);
	}
	while (!fcgi_stop) {
		struct pollfd p = {.fd = w.listen_fd, .events = POLLIN};
		long due;
		int fd;

		if (fcgi_reload) {
			fcgi_reload = 0;
			if (reload_self) {
				struct worker nw = {.o = o, .listen_fd = o->listen_fd};

				if (build_svc(&nw, err, sizeof(err)) < 0) {
					fcgi_log("reload failed, keeping the old configuration: %s",
					         err);
				} else {
					drp_metrics_worker_stop(w.svc.metrics);
					drp_svc_free(&w.svc);
					w.svc = nw.svc;
					drp_metrics_worker_start(w.svc.metrics, getpid());
					fcgi_log("configuration reloaded");
				}
			}
		}
		due = drp_svc_idle_due(&w.svc, drp_now_ms());
		if (due == 0) {
			/* refresh (DNS, discovery: may block) when nobody waits,
			 * or anyway once it is a whole period overdue */
			struct pollfd q = {.fd = w.listen_fd, .events = POLLIN};

			if (poll(&q, 1, 0) == 0 ||
			    drp_now_ms() - w.svc.fo.refreshed_ms > 2 * (uint64_t)w.svc.refresh_ms) {
				drp_svc_idle(&w.svc, drp_now_ms());
				continue;
			}
			due = 1000;
		}
		if (poll(&p, 1, due > 1000 ? 1000 : (int)due) <= 0)
			continue;
		{
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);

			fd = accept4(w.listen_fd, (struct sockaddr *)&peer, &pl,
			             SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0)
				continue; /* another worker took it, or a transient error */
			if (!peer_allowed(&w.svc, (struct sockaddr *)&peer, pl)) {
				close(fd);
				continue;
			}
		}
		serve(&w, fd);
	}
	w.svc.draining = 1;
	drp_metrics_worker_stop(w.svc.metrics);
	drp_svc_free(&w.svc);
	return 0;
}
