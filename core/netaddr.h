/*
 * netaddr: server lists.  Parses "host[:port]" lists (IPv4, [IPv6]:port,
 * bare IPv6, hostnames; separated by commas, spaces or newlines) and
 * resolves them with getaddrinfo.  Resolution happens at start-up and in
 * background refreshes, never on the request path: a request only ever sees
 * already-resolved struct sockaddr_storage values.
 */
#ifndef DRP_NETADDR_H
#define DRP_NETADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#define DRP_HOST_MAX 256

struct drp_hostport {
	char host[DRP_HOST_MAX]; /* without brackets */
	unsigned short port;
};

struct drp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parse one "host[:port]" token; default_port when absent. 0 or -1. */
int drp_hostport_parse(const char *s, size_t n, unsigned short default_port,
                       struct drp_hostport *out);
/* Parse a list; returns count (<= max) or -1 naming the bad token in err. */
int drp_hostport_list(const char *s, unsigned short default_port, struct drp_hostport *out, int max,
                      char *err, size_t errlen);
/* Resolve to at most max addresses (UDP or TCP per socktype); count or -1. */
int drp_resolve(const struct drp_hostport *hp, int socktype, struct drp_addr *out, int max,
                char *err, size_t errlen);
/* Loopback / numeric test: 1 when the host is a numeric address. */
int drp_host_is_numeric(const char *host);
/* Same address and port. */
int drp_addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* "ip:port" / "[ip6]:port" for logs and JSON. */
void drp_addr_str(const struct sockaddr *sa, char *out, size_t outlen);

#endif
