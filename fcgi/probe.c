/* probe: a minimal FastCGI client for `drp-fcgi --probe` (container and
 * systemd healthchecks without curl): one GET, print the body, exit 0 on
 * Status 200. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "fcgi.h"
#include "http_fcgi.h"
#include "netaddr.h"

static int connect_to(const char *addr, char *err, size_t errlen)
{
	int fd;

	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		if (strlen(addr + 5) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "socket path too long");
			return -1;
		}
		strcpy(sun.sun_path, addr + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
	} else if (strncmp(addr, "tcp:", 4) == 0) {
		struct drp_hostport hp;
		struct drp_addr a;

		if (drp_hostport_parse(addr + 4, strlen(addr + 4), 9077, &hp) < 0 ||
		    drp_resolve(&hp, SOCK_STREAM, &a, 1, err, errlen) != 1)
			return -1;
		fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a.ss, a.len) == 0)
			return fd;
	} else {
		snprintf(err, errlen, "expected unix:/path or tcp:host:port");
		return -1;
	}
	snprintf(err, errlen, "connect %s: %s", addr, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int fcgi_probe(const char *addr, const char *uri, long timeout_ms)
{
	uint8_t begin[8] = {0, DRP_FCGI_RESPONDER, 0};
	struct drp_buf out, params, in, body;
	uint64_t deadline = drp_now_ms() + (uint64_t)timeout_ms;
	char err[256];
	int fd = connect_to(addr, err, sizeof(err)), rc = 1, done = 0;
	size_t off = 0;

	if (fd < 0) {
		fprintf(stderr, "drp-fcgi --probe: %s\n", err);
		return 1;
	}
	drp_buf_init(&out);
	drp_buf_init(&params);
	drp_buf_init(&in);
	drp_buf_init(&body);
	drp_fcgi_put_record(&out, DRP_FCGI_BEGIN_REQUEST, 1, begin, sizeof(begin));
	drp_fcgi_nv_put(&params, "REQUEST_METHOD", 14, "GET", 3);
	drp_fcgi_nv_put(&params, "REQUEST_URI", 11, uri, strlen(uri));
	drp_fcgi_put_stream(&out, DRP_FCGI_PARAMS, 1, params.p, params.len);
	drp_fcgi_put_stream(&out, DRP_FCGI_PARAMS, 1, NULL, 0);
	drp_fcgi_put_stream(&out, DRP_FCGI_STDIN, 1, NULL, 0);
	if (write(fd, out.p, out.len) != (ssize_t)out.len) {
		fprintf(stderr, "drp-fcgi --probe: write: %s\n", strerror(errno));
		goto out;
	}
	while (!done) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct drp_fcgi_record r;
		uint64_t now = drp_now_ms();
		ssize_t n;
		long k;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0) {
			fprintf(stderr, "drp-fcgi --probe: timeout\n");
			goto out;
		}
		if (drp_buf_reserve(&in, 8192) < 0)
			goto out;
		n = read(fd, in.p + in.len, in.cap - in.len - 1);
		if (n <= 0) {
			fprintf(stderr, "drp-fcgi --probe: connection closed\n");
			goto out;
		}
		in.len += (size_t)n;
		while ((k = drp_fcgi_parse(in.p + off, in.len - off, &r)) > 0) {
			off += (size_t)k;
			if (r.type == DRP_FCGI_STDOUT)
				drp_buf_append(&body, r.content, r.len);
			else if (r.type == DRP_FCGI_END_REQUEST)
				done = 1;
		}
		if (k < 0) {
			fprintf(stderr, "drp-fcgi --probe: not a FastCGI answer\n");
			goto out;
		}
	}
	{
		const char *s = drp_buf_cstr(&body);
		const char *hend = strstr(s, "\r\n\r\n");

		rc = strncmp(s, "Status: 200", 11) == 0 ? 0 : 1;
		if (hend != NULL)
			fputs(hend + 4, stdout);
		if (rc != 0 && hend != NULL)
			fprintf(stderr, "drp-fcgi --probe: %.*s\n", (int)strcspn(s, "\r\n"), s);
	}
out:
	close(fd);
	drp_buf_free(&out);
	drp_buf_free(&params);
	drp_buf_free(&in);
	drp_buf_free(&body);
	return rc;
}
