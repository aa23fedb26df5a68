/*
 * net_probe: `drp health` and `drp stats` — GET /health or /metrics of a
 * running pool, for hosts and containers without curl (Docker HEALTHCHECK,
 * systemd ExecStartPost).  Two ways in: plain HTTP through the web server
 * (--url, default http://127.0.0.1:8077), or FastCGI straight to the
 * pool's socket (--fcgi unix:/run/drp/drp.sock), which also works when
 * nginx is down.  One deadline bounds connect, send and receive.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli_tools.h"
#include "evloop.h"
#include "http_fcgi.h"
#include "netaddr.h"
#include "version.h"

#define PROBE_DEFAULT_URL "http://127.0.0.1:8077"
#define PROBE_DEFAULT_TIMEOUT_MS 5000
#define PROBE_MAX_RESPONSE (16u << 20)
#define PROBE_MAX_ADDRS 8

struct target {
	int fcgi;
	int unix_sock;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct drp_hostport hp;
	char prefix[1024]; /* URL path before /health, no trailing '/' */
	char shown[1200];  /* for messages */
};

struct answer {
	int status;
	struct drp_buf body;
	struct drp_buf diag; /* FastCGI stderr */
};

void drp_cli_probe_usage(const char *cmd, FILE *f)
{
	fprintf(f,
	        "usage: drp %s [--url URL | --fcgi ADDR] [--timeout SECONDS]%s\n"
	        "\n"
	        "%s\n"
	        "\n"
	        "  --url URL        the pool behind its web server, plain HTTP\n"
	        "                   (default: probe_url from the config, else %s)\n"
	        "  --fcgi ADDR      talk FastCGI to the pool directly: unix:/path or\n"
	        "                   tcp:host:port (default: probe_fcgi from the config)\n"
	        "  --timeout SEC    whole probe budget (default 5)\n"
	        "%s"
	        "\n"
	        "Exit 0 when the pool answered 200, 1 when it answered anything else,\n"
	        "2 when it could not be reached.\n",
	        cmd, strcmp(cmd, "health") == 0 ? " [--quiet]" : "",
	        strcmp(cmd, "health") == 0
	            ? "GET /health of a running drp-fcgi pool and print the answer."
	            : "GET /metrics of a running drp-fcgi pool and print it (Prometheus text).",
	        PROBE_DEFAULT_URL,
	        strcmp(cmd, "health") == 0
	            ? "  -q, --quiet      print nothing, only the exit status\n"
	            : "");
}

static int parse_url(const char *url, struct target *t, char *err, size_t errlen)
{
	const char *host, *slash;
	size_t n;

	snprintf(t->shown, sizeof(t->shown), "%s", url);
	if (strncasecmp(url, "https://", 8) == 0) {
		snprintf(err, errlen,
		         "%s: https is not supported; probe the plain-HTTP listener or use --fcgi",
		         url);
		return -1;
	}
	if (strncasecmp(url, "http://", 7) != 0) {
		snprintf(err, errlen, "%s: not an http:// URL", url);
		return -1;
	}
	host = url + 7;
	slash = strchr(host, '/');
	n = slash ? (size_t)(slash - host) : strlen(host);
	if (drp_hostport_parse(host, n, 80, &t->hp) < 0) {
		snprintf(err, errlen, "%s: bad host or port", url);
		return -1;
	}
	if (slash != NULL) {
		n = strlen(slash);
		while (n > 0 && slash[n - 1] == '/')
			n--;
		if (n >= sizeof(t->prefix) || strpbrk(slash, " \r\n?#") != NULL) {
			snprintf(err, errlen, "%s: bad path", url);
			return -1;
		}
		memcpy(t->prefix, slash, n);
		t->prefix[n] = '\0';
	}
	return 0;
}

static int parse_fcgi(const char *addr, struct target *t, char *err, size_t errlen)
{
	const char *path = NULL;

	t->fcgi = 1;
	snprintf(t->shown, sizeof(t->shown), "%s", addr);
	if (strncmp(addr, "unix:", 5) == 0)
		path = addr + 5;
	else if (addr[0] == '/')
		path = addr;
	if (path != NULL) {
		if (*path == '\0' || strlen(path) >= sizeof(t->unix_path)) {
			snprintf(err, errlen, "%s: bad socket path", addr);
			return -1;
		}
		t->unix_sock = 1;
		snprintf(t->unix_path, sizeof(t->unix_path), "%s", path);
		return 0;
	}
	if (strncmp(addr, "tcp:", 4) == 0)
		addr += 4;
	if (drp_hostport_parse(addr, strlen(addr), 0, &t->hp) < 0 || t->hp.port == 0) {
		snprintf(err, errlen, "%s: want unix:/path or tcp:host:port", t->shown);
		return -1;
	}
	return 0;
}

/* 1 ready, 0 deadline passed, -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		uint64_t now = drp_now_ms();
		int rc;

		if (now >= deadline)
			return 0;
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc > 0)
			return 1;
	}
}

static int connect_one(const struct sockaddr *sa, socklen_t len, uint64_t deadline, char *err,
                       size_t errlen)
{
	int fd = drp_tcp_connect(sa, len), rc, e;

	if (fd < 0) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		return -1;
	}
	rc = wait_fd(fd, POLLOUT, deadline);
	e = rc > 0 ? drp_sock_error(fd) : 0;
	if (rc <= 0 || e != 0) {
		snprintf(err, errlen, "connect: %s",
		         rc == 0 ? "timed out" : strerror(rc < 0 ? errno : e));
		close(fd);
		return -1;
	}
	return fd;
}

static int open_target(const struct target *t, uint64_t deadline, char *err, size_t errlen)
{
	struct drp_addr a[PROBE_MAX_ADDRS];
	char why[256] = "no address";
	int n, i;

	if (t->unix_sock) {
		struct sockaddr_un su = {.sun_family = AF_UNIX};
		int fd;

		memcpy(su.sun_path, t->unix_path, strlen(t->unix_path) + 1);
		fd = connect_one((struct sockaddr *)&su, sizeof(su), deadline, why, sizeof(why));
		if (fd < 0)
			snprintf(err, errlen, "%s: %s", t->shown, why);
		return fd;
	}
	n = drp_resolve(&t->hp, SOCK_STREAM, a, PROBE_MAX_ADDRS, why, sizeof(why));
	for (i = 0; i < n; i++) {
		int fd =
		    connect_one((struct sockaddr *)&a[i].ss, a[i].len, deadline, why, sizeof(why));

		if (fd >= 0)
			return fd;
	}
	snprintf(err, errlen, "%s: %s", t->shown, why);
	return -1;
}

static int send_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			int rc = wait_fd(fd, POLLOUT, deadline);

			if (rc <= 0) {
				if (rc == 0)
					errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one chunk; 1 got bytes, 0 EOF, -1 error (errno; ETIMEDOUT). */
static int recv_some(int fd, struct drp_buf *b, uint64_t deadline)
{
	for (;;) {
		ssize_t r;
		int rc;

		if (b->len > PROBE_MAX_RESPONSE) {
			errno = EFBIG;
			return -1;
		}
		if (drp_buf_reserve(b, 16384) < 0)
			return -1;
		r = recv(fd, b->p + b->len, b->cap - b->len - 1, 0);
		if (r > 0) {
			b->len += (size_t)r;
			return 1;
		}
		if (r == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc <= 0) {
			if (rc == 0)
				errno = ETIMEDOUT;
			return -1;
		}
	}
}

/* End of the header block (index of the body) or 0 when absent. */
static size_t header_end(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\n' && p[i + 1] == '\n')
			return i + 2;
		if (i + 3 < n && p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
		    p[i + 3] == '\n')
			return i + 4;
	}
	return 0;
}

/* Value of header `name` in the block [p, p+n), as a slice, or len 0. */
static struct drp_slice header_value(const uint8_t *p, size_t n, const char *name)
{
	size_t nl = strlen(name);
	const uint8_t *end = p + n;

	while (p < end) {
		const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *le = eol ? eol : end;

		if ((size_t)(le - p) > nl && p[nl] == ':' &&
		    drp_slice_ieq(DRP_SLICE(p, nl), name)) {
			const uint8_t *v = p + nl + 1;

			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			while (le > v && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
				le--;
			return DRP_SLICE(v, (size_t)(le - v));
		}
		p = eol ? eol + 1 : end;
	}
	return DRP_SLICE(NULL, 0);
}

static int dechunk(const uint8_t *p, size_t n, struct drp_buf *out)
{
	const uint8_t *end = p + n;

	for (;;) {
		unsigned long sz = 0;
		int digits = 0;

		while (p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		                   (*p >= 'A' && *p <= 'F'))) {
			int d = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;

			if (sz > PROBE_MAX_RESPONSE)
				return -1;
			sz = sz * 16 + (unsigned long)d;
			digits++;
			p++;
		}
		if (digits == 0)
			return -1;
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			return -1;
		p++;
		if (sz == 0)
			return 0;
		if ((size_t)(end - p) < sz)
			return -1;
		if (drp_buf_append(out, p, sz) < 0)
			return -1;
		p += sz;
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
	}
}

/* The n decimal digits at s as a number, or -1 when not all digits. */
static long digits(const uint8_t *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * An HTTP/1.x answer read to EOF: status line, headers, body (chunked or
 * bounded by Content-Length).  0, or -1 with the reason in *why.
 */
static int http_parse_answer(const uint8_t *p, size_t n, struct answer *ans, const char **why)
{
	struct drp_slice te, cl;
	size_t he, blen;
	long code;

	*why = "not an HTTP answer";
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    (code = digits(p + 9, 3)) < 100 || (he = header_end(p, n)) == 0)
		return -1;
	ans->status = (int)code;
	te = header_value(p, he, "Transfer-Encoding");
	cl = header_value(p, he, "Content-Length");
	if (te.len > 0 && drp_slice_ieq(te, "chunked")) {
		*why = "bad chunked answer";
		return dechunk(p + he, n - he, &ans->body);
	}
	blen = n - he;
	if (cl.len > 0) {
		long v = digits(cl.p, cl.len);

		if (v < 0) {
			*why = "bad Content-Length";
			return -1;
		}
		if ((unsigned long)v < blen)
			blen = (size_t)v;
	}
	*why = "out of memory";
	return drp_buf_append(&ans->body, p + he, blen);
}

/*
 * FastCGI records of request 1 at p[0..n): STDOUT appended to out, STDERR
 * to diag, *used set to the bytes of the whole records taken.  1 when
 * END_REQUEST came, 0 when more bytes are needed, -1 when malformed.
 */
static int fcgi_take_records(const uint8_t *p, size_t n, size_t *used, struct drp_buf *out,
                             struct drp_buf *diag)
{
	*used = 0;
	for (;;) {
		struct drp_fcgi_record r;
		long k = drp_fcgi_parse(p + *used, n - *used, &r);

		if (k < 0)
			return -1;
		if (k == 0)
			return 0;
		*used += (size_t)k;
		if (r.id != 1)
			continue; /* management records and strangers */
		if (r.type == DRP_FCGI_STDOUT && drp_buf_append(out, r.content, r.len) < 0)
			return -1;
		if (r.type == DRP_FCGI_STDERR && drp_buf_append(diag, r.content, r.len) < 0)
			return -1;
		if (r.type == DRP_FCGI_END_REQUEST)
			return 1;
	}
}

/* A CGI answer: headers ("Status: NNN ..." when not 200), blank line, body. */
static int cgi_parse_answer(const uint8_t *p, size_t n, struct answer *ans, const char **why)
{
	size_t he = header_end(p, n);
	struct drp_slice st;

	*why = "FastCGI answer without CGI headers";
	if (he == 0)
		return -1;
	ans->status = 200;
	st = header_value(p, he, "Status");
	if (st.len > 0) {
		*why = "bad Status header";
		if (st.len < 3 || (st.len > 3 && st.p[3] != ' ') ||
		    (ans->status = (int)digits(st.p, 3)) < 100)
			return -1;
	}
	*why = "out of memory";
	return drp_buf_append(&ans->body, p + he, n - he);
}

static int http_get(const struct target *t, const char *uri, uint64_t deadline, struct answer *ans,
                    char *err, size_t errlen)
{
	struct drp_buf req, in;
	int fd, rc = -1, r;
	const char *why;
	char host[DRP_HOST_MAX + 16];

	fd = open_target(t, deadline, err, errlen);
	if (fd < 0)
		return -1;
	drp_buf_init(&req);
	drp_buf_init(&in);
	if (strchr(t->hp.host, ':') != NULL)
		snprintf(host, sizeof(host), "[%s]:%u", t->hp.host, t->hp.port);
	else
		snprintf(host, sizeof(host), "%s:%u", t->hp.host, t->hp.port);
	/* HTTP/1.0 with Connection: close: the answer ends at EOF, unchunked */
	if (drp_buf_printf(&req,
	                   "GET %s%s HTTP/1.0\r\nHost: %s\r\nUser-Agent: drp/%s\r\n"
	                   "Accept: */*\r\nConnection: close\r\n\r\n",
	                   t->prefix, uri, host, DRP_VERSION) < 0 ||
	    send_all(fd, req.p, req.len, deadline) < 0) {
		snprintf(err, errlen, "%s: send: %s", t->shown, strerror(errno));
		goto out;
	}
	while ((r = recv_some(fd, &in, deadline)) > 0)
		;
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", t->shown,
		         errno == ETIMEDOUT ? "no complete answer within the timeout"
		                            : strerror(errno));
		goto out;
	}
	if (http_parse_answer(in.p, in.len, ans, &why) < 0) {
		snprintf(err, errlen, "%s: %s", t->shown, why);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	drp_buf_free(&req);
	drp_buf_free(&in);
	return rc;
}

static int fcgi_get(const struct target *t, const char *uri, uint64_t deadline, struct answer *ans,
                    char *err, size_t errlen)
{
	static const uint8_t begin[8] = {0, DRP_FCGI_RESPONDER, 0, 0, 0, 0, 0, 0};
	struct drp_buf req, params, in, out;
	int fd, rc = -1;
	size_t off = 0;
	const char *why;
	const char *const kv[][2] = {
	    {"GATEWAY_INTERFACE", "CGI/1.1"},
	    {"SERVER_PROTOCOL", "HTTP/1.1"},
	    {"SERVER_SOFTWARE", "drp-cli/" DRP_VERSION},
	    {"REQUEST_METHOD", "GET"},
	    {"REQUEST_URI", uri},
	    {"DOCUMENT_URI", uri},
	    {"SCRIPT_NAME", uri},
	    {"QUERY_STRING", ""},
	    {"CONTENT_LENGTH", "0"},
	    {"SERVER_NAME", "localhost"},
	    {"REMOTE_ADDR", "127.0.0.1"},
	};

	fd = open_target(t, deadline, err, errlen);
	if (fd < 0)
		return -1;
	drp_buf_init(&req);
	drp_buf_init(&params);
	drp_buf_init(&in);
	drp_buf_init(&out);
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (drp_fcgi_nv_put(&params, kv[i][0], strlen(kv[i][0]), kv[i][1],
		                    strlen(kv[i][1])) < 0)
			goto oom;
	if (drp_fcgi_put_record(&req, DRP_FCGI_BEGIN_REQUEST, 1, begin, sizeof(begin)) < 0 ||
	    drp_fcgi_put_stream(&req, DRP_FCGI_PARAMS, 1, params.p, params.len) < 0 ||
	    drp_fcgi_put_stream(&req, DRP_FCGI_PARAMS, 1, NULL, 0) < 0 ||
	    drp_fcgi_put_stream(&req, DRP_FCGI_STDIN, 1, NULL, 0) < 0)
		goto oom;
	if (send_all(fd, req.p, req.len, deadline) < 0) {
		snprintf(err, errlen, "%s: send: %s", t->shown, strerror(errno));
		goto out;
	}
	for (;;) {
		size_t used = 0;
		int rr = fcgi_take_records(in.p + off, in.len - off, &used, &out, &ans->diag);
		int got;

		off += used;
		if (rr < 0) {
			snprintf(err, errlen, "%s: not a FastCGI answer", t->shown);
			goto out;
		}
		if (rr > 0)
			break;
		got = recv_some(fd, &in, deadline);
		if (got <= 0) {
			snprintf(err, errlen, "%s: %s", t->shown,
			         got == 0 ? "connection closed before the end of the answer"
			         : errno == ETIMEDOUT ? "no complete answer within the timeout"
			                              : strerror(errno));
			goto out;
		}
	}
	if (cgi_parse_answer(out.p, out.len, ans, &why) < 0) {
		snprintf(err, errlen, "%s: %s", t->shown, why);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	close(fd);
	drp_buf_free(&req);
	drp_buf_free(&params);
	drp_buf_free(&in);
	drp_buf_free(&out);
	return rc;
}

enum { OPT_URL = 256, OPT_FCGI, OPT_TIMEOUT };

int drp_cli_probe(const char *cmd, int argc, char **argv, struct drp_config *cfg)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, OPT_URL},
	    {"fcgi", required_argument, NULL, OPT_FCGI},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *fcgi = NULL,
	           *uri = strcmp(cmd, "health") == 0 ? "/health" : "/metrics";
	int quiet = 0, c, rc;
	long timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;
	struct target t;
	struct answer ans;
	char err[2048];

	optind = 0;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_URL:
			url = optarg;
			break;
		case OPT_FCGI:
			fcgi = optarg;
			break;
		case OPT_TIMEOUT: {
			char *end;
			double s = strtod(optarg, &end);

			if (end == optarg || *end || !(s > 0 && s <= 3600)) {
				fprintf(stderr,
				        "drp: %s: --timeout wants seconds (0 < s <= 3600)\n", cmd);
				return 2;
			}
			timeout_ms = (long)(s * 1000 + 0.5);
			if (timeout_ms < 1)
				timeout_ms = 1;
			break;
		}
		case 'q':
			if (strcmp(cmd, "health") != 0) {
				drp_cli_probe_usage(cmd, stderr);
				return 2;
			}
			quiet = 1;
			break;
		case 'h':
			drp_cli_probe_usage(cmd, stdout);
			return 0;
		default:
			drp_cli_probe_usage(cmd, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drp: %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return 2;
	}
	if (url != NULL && fcgi != NULL) {
		fprintf(stderr, "drp: %s: --url and --fcgi exclude each other\n", cmd);
		return 2;
	}
	if (url == NULL && fcgi == NULL) {
		fcgi = drp_config_get(cfg, "probe_fcgi");
		if (fcgi == NULL)
			url = drp_config_get(cfg, "probe_url");
		if (fcgi == NULL && url == NULL)
			url = PROBE_DEFAULT_URL;
	}
	memset(&t, 0, sizeof(t));
	if ((fcgi ? parse_fcgi(fcgi, &t, err, sizeof(err)) : parse_url(url, &t, err, sizeof(err))) <
	    0) {
		fprintf(stderr, "drp: %s: %s\n", cmd, err);
		return 2;
	}
	memset(&ans, 0, sizeof(ans));
	drp_buf_init(&ans.body);
	drp_buf_init(&ans.diag);
	rc = (t.fcgi ? fcgi_get : http_get)(&t, uri, drp_now_ms() + (uint64_t)timeout_ms, &ans, err,
	                                    sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "drp: %s: %s\n", cmd, err);
		rc = 2;
	} else {
		if (!quiet && ans.body.len > 0) {
			fwrite(ans.body.p, 1, ans.body.len, stdout);
			/* "ok" from some servers has no line end; a shell prompt would follow it */
			if (ans.body.p[ans.body.len - 1] != '\n')
				putchar('\n');
		}
		if (ans.diag.len > 0)
			fprintf(stderr, "drp: %s: pool said: %.*s\n", cmd, (int)ans.diag.len,
			        (const char *)ans.diag.p);
		if (ans.status != 200) {
			if (!quiet)
				fprintf(stderr, "drp: %s: %s%s answered %d\n", cmd, t.shown,
				        t.fcgi ? "" : uri, ans.status);
			rc = 1;
		} else {
			rc = 0;
		}
	}
	drp_buf_free(&ans.body);
	drp_buf_free(&ans.diag);
	if (fflush(stdout) != 0)
		rc = 2;
	return rc;
}
