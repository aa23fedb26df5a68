/* netaddr: see netaddr.h. */

#include "netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, size_t n, unsigned short *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

int drp_hostport_parse(const char *s, size_t n, unsigned short default_port,
                       struct drp_hostport *out)
{
	const char *host = s, *colon;
	size_t hlen = n;

	out->port = default_port;
	if (n == 0)
		return -1;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL)
			return -1;
		host = s + 1;
		hlen = (size_t)(rb - host);
		if ((size_t)(rb - s) + 1 < n) {
			if (rb[1] != ':' ||
			    parse_port(rb + 2, n - (size_t)(rb - s) - 2, &out->port) < 0)
				return -1;
		}
	} else {
		colon = memchr(s, ':', n);
		/* a second colon means a bare IPv6 address without a port */
		if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1) == NULL) {
			hlen = (size_t)(colon - s);
			if (parse_port(colon + 1, n - hlen - 1, &out->port) < 0)
				return -1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(out->host))
		return -1;
	memcpy(out->host, host, hlen);
	out->host[hlen] = 0;
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)out->host[i];

		if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_' || c == '%'))
			return -1;
	}
	return 0;
}

int drp_hostport_list(const char *s, unsigned short default_port, struct drp_hostport *out, int max,
                      char *err, size_t errlen)
{
	int count = 0;

	while (*s) {
		size_t n;

		while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == 0)
			break;
		n = strcspn(s, ", \t\r\n");
		if (count >= max) {
			snprintf(err, errlen, "too many servers (max %d)", max);
			return -1;
		}
		if (drp_hostport_parse(s, n, default_port, &out[count]) < 0) {
			snprintf(err, errlen, "bad server address '%.*s'", (int)(n > 200 ? 200 : n),
			         s);
			return -1;
		}
		count++;
		s += n;
	}
	return count;
}

int drp_resolve(const struct drp_hostport *hp, int socktype, struct drp_addr *out, int max,
                char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char port[8];
	int rc, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_ADDRCONFIG;
	if (drp_host_is_numeric(hp->host))
		hints.ai_flags = AI_NUMERICHOST;
	snprintf(port, sizeof(port), "%u", hp->port);
	rc = getaddrinfo(hp->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", hp->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out[n].ss))
			continue;
		memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
		out[n].len = ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(err, errlen, "%s: no usable address", hp->host);
		return -1;
	}
	return n;
}

int drp_host_is_numeric(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char tmp[DRP_HOST_MAX];
	const char *pct = strchr(host, '%');

	if (inet_pton(AF_INET, host, buf) == 1)
		return 1;
	if (pct != NULL) {
		size_t n = (size_t)(pct - host);

		if (n >= sizeof(tmp))
			return 0;
		memcpy(tmp, host, n);
		tmp[n] = 0;
		host = tmp;
	}
	return inet_pton(AF_INET6, host, buf) == 1;
}

int drp_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

void drp_addr_str(const struct sockaddr *sa, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, ntohs(s->sin6_port));
	} else {
		snprintf(out, outlen, "?");
	}
}
