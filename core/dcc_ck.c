/*
 * dcc_ck: the checksum driver (protocol doc 8).  Reads the header block
 * the way dccproc does (fgets() lines into a 20 KB buffer, continuation
 * lines joined, over-long fields folded at 1 KB, NUL bytes ending what a
 * field shows), computes the header and envelope checksums, takes the IP
 * from a Received: field for -R, and hands the body to the walker in
 * dcc_ckbody.c in the reference's fread() chunks.  Owns the type names.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "dcc_ck.h"
#include "dcc_ck_int.h"

static const char *const type_names[] = {
    [DRP_DCC_CK_IP] = "IP",
    [DRP_DCC_CK_ENV_FROM] = "env_From",
    [DRP_DCC_CK_FROM] = "From",
    [DRP_DCC_CK_SUB] = "substitute",
    [DRP_DCC_CK_MESSAGE_ID] = "Message-ID",
    [DRP_DCC_CK_RECEIVED] = "Received",
    [DRP_DCC_CK_BODY] = "Body",
    [DRP_DCC_CK_FUZ1] = "Fuz1",
    [DRP_DCC_CK_FUZ2] = "Fuz2",
    [DRP_DCC_CK_REP_TOTAL] = "rep-total",
    [DRP_DCC_CK_REP] = "rep",
    [DRP_DCC_CK_SRVR_ID] = "server-ID",
    [DRP_DCC_CK_ENV_TO] = "env_To",
};

/* dccproc formats a checksum's label into 26 bytes */
#define LABEL_MAX 26

const char *drp_dcc_type_name(int type)
{
	if (type <= 0 || (size_t)type >= sizeof(type_names) / sizeof(type_names[0]) ||
	    !type_names[type])
		return "?";
	return type_names[type];
}

const char *drp_dcc_ck_label(const struct drp_dcc_ck *ck, char *out, size_t outlen)
{
	size_t n = outlen < LABEL_MAX ? outlen : LABEL_MAX;

	if (outlen == 0)
		return out;
	char full[16 + DRP_DCC_SUB_NAME_MAX];

	if (ck->type == DRP_DCC_CK_SUB)
		snprintf(full, sizeof(full), "substitute %s", ck->sub_name);
	else
		snprintf(full, sizeof(full), "%s", drp_dcc_type_name(ck->type));
	if (strlen(full) >= n)
		full[n - 1] = '\0';
	memcpy(out, full, strlen(full) + 1);
	return out;
}

/* --- substitute headers (-S) --- */

struct sub_name {
	char nm[DRP_DCC_SUB_NAME_MAX]; /* lowercase */
	size_t len;
	int first; /* "+name": keep the first instance, not the last */
};

struct sub_slot {
	int used;
	int name; /* index into the names */
	uint8_t sum[16];
	int report;
};

struct sub_set {
	struct sub_name names[DRP_DCC_MAX_SUB];
	int n;
	/* slot 0 is the one at type 4; the others print after every type */
	struct sub_slot slot[DRP_DCC_MAX_SUB];
};

static int sub_add(struct sub_set *ss, const char *hdr, char *err, size_t errlen)
{
	const char *p;
	size_t len, i;
	int first = 0, k;

	if (ss->n >= DRP_DCC_MAX_SUB) {
		snprintf(err, errlen, "too many substitute headers with \"%.64s\"", hdr);
		return -1;
	}
	if (*hdr == '+') {
		first = 1;
		++hdr;
	}
	for (p = hdr; *p != '\0'; p++) {
		if (*p == ':' && p[1] == '\0')
			break;
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == ':') {
			snprintf(err, errlen, "illegal SMTP field name character in \"%.64s\"",
			         hdr);
			return -1;
		}
	}
	len = (size_t)(p - hdr);
	if (len == 0) {
		snprintf(err, errlen, "illegal empty field name");
		return -1;
	}
	if (len >= DRP_DCC_SUB_NAME_MAX) {
		snprintf(err, errlen, "substitute header name too long");
		return -1;
	}
	for (k = 0; k < ss->n; k++)
		if (ss->names[k].len == len && strncasecmp(ss->names[k].nm, hdr, len) == 0)
			return 0; /* duplicates are ignored */
	for (i = 0; i < len; i++) {
		char c = hdr[i];

		ss->names[ss->n].nm[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 'a' - 'A') : c;
	}
	ss->names[ss->n].nm[len] = '\0';
	ss->names[ss->n].len = len;
	ss->names[ss->n].first = first;
	ss->n++;
	return 0;
}

/* --- str2ck (8.2) --- */

/* One MD5 for the header checksums, in a context reused per message. */
struct hasher {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	int failed;
};

static void md5_once(struct hasher *h, const void *a, size_t alen, const void *b, size_t blen,
                     uint8_t out[16])
{
	unsigned len = 16;

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    (alen && EVP_DigestUpdate(h->ctx, a, alen) != 1) ||
	    (blen && EVP_DigestUpdate(h->ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, &len) != 1) {
		memset(out, 0, 16);
		h->failed = 1;
	}
}

/* Normalise a NUL-terminated value and hash it after an optional prefix
 * (the substitute header's name). */
static void str2ck(struct hasher *h, const char *pre, size_t prelen, const char *str,
                   uint8_t out[16])
{
	uint8_t cbuf[DCC_HDR_CK_MAX];
	size_t len = 0;
	unsigned char c;

	while ((c = (unsigned char)*str++) != '\0' && len < sizeof(cbuf)) {
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '<' || c == '>' ||
		    c == '\'' || c == '"' || c == ',')
			continue;
		cbuf[len++] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 'a' - 'A') : c;
	}
	while (len > 0 && cbuf[len - 1] == '.')
		--len;
	md5_once(h, pre, prelen, cbuf, len, out);
}

/* Substitute checksum of header hdr (value after "name:" unless str). */
static int sub_get(struct hasher *h, struct sub_set *ss, const char *hdr, const char *str,
                   int report)
{
	struct sub_name *sn = NULL;
	int k;

	for (k = 0; k < ss->n; k++) {
		sn = &ss->names[k];
		if (strncasecmp(hdr, sn->nm, sn->len) == 0 &&
		    (hdr[sn->len] == '\0' || hdr[sn->len] == ':'))
			break;
	}
	if (k == ss->n)
		return 0;
	if (str == NULL)
		str = hdr + sn->len + 1;
	for (int i = 0; i < DRP_DCC_MAX_SUB; i++) {
		struct sub_slot *sl = &ss->slot[i];

		if (sl->used && sl->name == k && sn->first)
			return 0;
		if (!sl->used || sl->name == k) {
			sl->used = 1;
			sl->name = k;
			sl->report = report;
			str2ck(h, sn->nm, sn->len, str, sl->sum);
			return 1;
		}
	}
	return 0;
}

/* --- IP addresses --- */

/* dccproc's str2su(): a dotted quad as inet_aton() takes it, or IPv6;
 * out is the 16-byte IPv6 form (IPv4 mapped). */
static int str2ip(const char *str, size_t len, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in_addr a4;
	const char *colon;

	while (len > 0 && (*str == ' ' || *str == '\t' || *str == '\r' || *str == '\n')) {
		str++;
		len--;
	}
	while (len > 0 && (str[len - 1] == ' ' || str[len - 1] == '\t' || str[len - 1] == '\r' ||
	                   str[len - 1] == '\n'))
		len--;
	if (len == 0 || len >= INET6_ADDRSTRLEN)
		return 0;
	memcpy(buf, str, len);
	buf[len] = '\0';
	if (strspn(buf, "0123456789.") == len && len < INET_ADDRSTRLEN && inet_aton(buf, &a4)) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 1;
	}
	if (strspn(buf, "0123456789abcdefABCDEF.:") != len)
		return 0;
	colon = strchr(buf, ':');
	if (colon == NULL || colon >= &buf[len - 1])
		return 0;
	return inet_pton(AF_INET6, buf, out) == 1;
}

static size_t get_ipaddr(const char *p, uint8_t out[16])
{
	size_t skip = 0, n;

	if (strncasecmp(p, "IPv6:", 5) == 0) {
		skip = 5;
		p += 5;
	}
	n = strspn(p, "0123456789abcdefABCDEF.:");
	if (n < 2 || n > INET6_ADDRSTRLEN)
		return 0;
	if (!str2ip(p, n, out))
		return 0;
	return skip + n;
}

#define WS " \t\n\r"

/* parse_received(): "" = address found (in ip, helo copied), a non-empty
 * string = a known local hop to look past, NULL = not understood. */
static const char *parse_received(const char *h, uint8_t ip[16], char *helo, size_t helolen)
{
	const char *t, *hname, *h1, *n;
	size_t hlen, alen;

	if (strncasecmp(h, "Received:", 9) == 0)
		h += 8;
	h += strspn(h, WS);
	if (strncasecmp(h, "from", 4) != 0) {
		if (strncmp(h, "(qmail ", 7) == 0) {
			size_t d;

			h += 7;
			d = strspn(h, "0123456789");
			if (d == 0)
				return NULL;
			h += d;
			if (strncmp(h, " invoked from network)", 22) == 0 ||
			    strncmp(h, " invoked by uid ", 16) == 0)
				return "qmail";
			return NULL;
		}
		if (strncmp(h, "(from ", 6) == 0) {
			h = strpbrk(h + 6, WS "@");
			if (h == NULL || *h != '@')
				return NULL;
			h = strpbrk(h, WS ")");
			if (h == NULL || *h != ')')
				return NULL;
			h += 1 + strspn(h + 1, WS);
			if (strncmp(h, "by ", 3) != 0)
				return NULL;
			return strstr(h + 3, "/Submit") ? "sendmail Submit" : NULL;
		}
		if (strncmp(h, "by ", 3) == 0) {
			h = strpbrk(h + 3, WS);
			if (h == NULL)
				return NULL;
			++h;
			if (strncmp(h, "(Postfix)", 9) == 0)
				return "postfix";
			if (strncmp(h, "with SMTP id", 12) == 0)
				return "gmail";
			return NULL;
		}
		return NULL;
	}
	h += 4;
	if (strspn(h, WS) == 0)
		return NULL;
	h += strspn(h, WS);

	hname = h;
	t = strpbrk(hname, WS "([");
	if (t == NULL)
		return NULL;
	/* a HELO like [127.0.0.1] is not taken for the address */
	if (t == hname && *hname == '[' && (h1 = strpbrk(hname + 1, WS "([")) != NULL)
		t = h1;
	hlen = (size_t)(t - hname);
	t += strspn(t, WS);

	if (*t == '(') {
		++t;
		if ((alen = get_ipaddr(t, ip)) > 0 && t[alen] == ')') {
			; /* qmail: from name (addr) */
		} else if (strncmp(t, "HELO ", 5) == 0 && t[5] != '[') {
			hname = t + 5;
			t = strpbrk(hname, " \t'\"()[]");
			if (t == NULL)
				return NULL;
			hlen = (size_t)(t - hname);
			if (hlen == 0 || strncmp(t, ") (", 3) != 0)
				return NULL;
			t += 3;
			if ((alen = get_ipaddr(t, ip)) > 0 && t[alen] == ')')
				;
			else if (t[0] == '[' && (alen = get_ipaddr(t + 1, ip)) > 0 &&
			         t[1 + alen] == ']' && t[2 + alen] == ')')
				;
			else
				return NULL;
		} else {
			/* from helo (name [addr] ... */
			t = strpbrk(t, WS "[");
			if (t == NULL)
				return NULL;
			t += strspn(t, WS);
			if (*t != '[')
				return NULL;
			if (get_ipaddr(t + 1, ip) == 0)
				return NULL;
		}
	} else if (*t == '[') {
		/* from name [addr] ...: no HELO */
		hlen = 0;
		if (get_ipaddr(t + 1, ip) == 0)
			return NULL;
	} else if (strncasecmp(t, "by ", 3) == 0) {
		t += 3;
		n = strchr(t, ' ');
		if (n == NULL || n > t + DCC_URL_HOST_MAX)
			return NULL;
		return strncasecmp(n, " with LMTP", 10) == 0 ? "LMTP" : NULL;
	} else {
		return NULL;
	}
	if (helo != NULL && helolen > 0) {
		if (hlen >= helolen)
			hlen = helolen - 1;
		memcpy(helo, hname, hlen);
		helo[hlen] = '\0';
	}
	return "";
}

/* --- the header reader (dccproc's get_hdr) --- */

struct reader {
	const uint8_t *msg;
	size_t len, pos;
};

/* fgets() into buf[at..]: a line through its LF, or room-1 bytes.
 * Returns the bytes taken (0 at EOF); the field sees them only up to the
 * first NUL, which is what strlen() after fgets() gives. */
static size_t rd_line(struct reader *r, char *buf, size_t at, size_t room, size_t *visible)
{
	size_t avail = r->len - r->pos, take;
	const uint8_t *lf;

	if (avail == 0 || room < 2)
		return 0;
	take = avail < room - 1 ? avail : room - 1;
	lf = memchr(r->msg + r->pos, '\n', take);
	if (lf != NULL)
		take = (size_t)(lf - (r->msg + r->pos)) + 1;
	memcpy(buf + at, r->msg + r->pos, take);
	buf[at + take] = '\0';
	r->pos += take;
	*visible = strnlen(buf + at, take);
	return take;
}

static int is_xdcc(const char *b, size_t len)
{
	const char *e;
	size_t n;

	if (b[0] != 'X' && b[0] != 'x')
		return 0;
	if (len <= 15 || strncasecmp(b, "X-DCC-", 6) != 0)
		return 0;
	b += 6;
	len -= 6;
	e = memchr(b, ':', len);
	if (e != NULL) {
		len = (size_t)(e - b);
		if (len < 8)
			return 0;
	}
	n = len - 8;
	return strncasecmp(b + n, "-Metrics", 8) == 0;
}

/* One header field into buf; its length, or -1 at the end of the input. */
static long get_hdr(struct reader *r, char *buf, int *seen_hdr)
{
	size_t hlen = 0, vis;
	int skip = 0;

	for (;;) {
		if (rd_line(r, buf, hlen, DCC_IO_BUF - hlen, &vis) == 0)
			return -1;
		/* an X-DCC-...-Metrics field of an earlier run is dropped */
		if (hlen == 0 && is_xdcc(buf, vis)) {
			*seen_hdr = 1;
			skip = 1;
		}
		hlen += vis;
		if (hlen > 2 * DCC_HDR_CK_MAX) {
			char last = buf[hlen - 1];

			hlen = DCC_HDR_CK_MAX;
			buf[hlen++] = '\r';
			buf[hlen++] = '\n';
			if (last != '\n')
				continue;
		}
		if (hlen > 2 && r->pos < r->len &&
		    (r->msg[r->pos] == ' ' || r->msg[r->pos] == '\t'))
			continue;
		if (!skip)
			return (long)hlen;
		skip = 0;
		hlen = 0;
	}
}

static int parse_unix_from(const char *h, char *out, size_t outlen)
{
	const char *sp;
	size_t i;

	if (strncmp(h, "From ", 5) != 0)
		return 0;
	h += 5;
	h += strspn(h, " ");
	sp = strchr(h, ' ');
	if (sp == NULL)
		return 0;
	i = (size_t)(sp - h);
	if (i >= outlen)
		i = outlen - 1;
	if (i == 0)
		return 0;
	memcpy(out, h, i);
	out[i] = '\0';
	return 1;
}

static int parse_return_path(const char *h, char *out, size_t outlen)
{
	size_t i;

	if (strncasecmp(h, "Return-Path:", 12) != 0)
		return 0;
	h += 12;
	h += strspn(h, " \t");
	i = strlen(h);
	while (i > 0 && (h[i - 1] == '\r' || h[i - 1] == '\n'))
		--i;
	if (i >= outlen - 1)
		i = outlen - 1;
	if (i == 0)
		return 0;
	memcpy(out, h, i);
	out[i] = '\0';
	return 1;
}

static int parse_mail_host(const char *env_from, char *out, size_t outlen)
{
	const char *p = strchr(env_from, '@'), *e, *x;
	size_t i;

	if (p == NULL)
		return 0;
	++p;
	e = strchr(p, '>');
	if (e == NULL)
		e = p + strlen(p);
	x = strpbrk(p, ";@,");
	if (x != NULL && x < e)
		return 0; /* source routes */
	i = (size_t)(e - p);
	if (i >= outlen)
		i = outlen - 1;
	if (i == 0)
		return 0;
	memcpy(out, p, i);
	out[i] = '\0';
	return 1;
}

/* --- the driver --- */

struct fixed {
	int have, report;
	uint8_t sum[16];
};

struct work {
	struct drp_dcc_state st;
	char buf[DCC_IO_BUF + 1];
	char env_from[DCC_HDR_CK_MAX + 1];
	struct sub_set subs;
	struct fixed ck[DRP_DCC_CK_ENV_TO + 1];
	struct hasher h;
};

static void set_ip(struct work *w, const uint8_t ip[16])
{
	static const int types[] = {DRP_DCC_CK_IP, DRP_DCC_CK_REP_TOTAL, DRP_DCC_CK_REP};

	uint8_t sum[16];

	/* one MD5 serves all three: the same 16 bytes are hashed */
	md5_once(&w->h, ip, 16, NULL, 0, sum);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		w->ck[types[i]].have = 1;
		w->ck[types[i]].report = 1;
		memcpy(w->ck[types[i]].sum, sum, 16);
	}
}

static void put(struct drp_dcc_cks *out, int type, int report, const char *sub,
                const uint8_t sum[16])
{
	struct drp_dcc_ck *c;

	if (out->n >= DRP_DCC_MAX_CKS)
		return;
	c = &out->ck[out->n++];
	c->type = type;
	c->report = report;
	snprintf(c->sub_name, sizeof(c->sub_name), "%s", sub ? sub : "");
	memcpy(c->sum, sum, 16);
}

static int refuse(struct drp_dcc_cks *out, char *err, size_t errlen, const char *why)
{
	out->n = 0;
	snprintf(err, errlen, "%s", why);
	return DRP_DCC_REFUSED;
}

static int run(struct work *w, const uint8_t *msg, size_t len, const struct drp_envelope *env,
               const struct drp_dcc_ck_opts *opts, struct drp_dcc_cks *out, char *err,
               size_t errlen)
{
	struct reader rd = {msg, len, 0};
	const char *env_from = NULL;
	char helo[DCC_URL_HOST_MAX + 8 + 1] = "";
	uint8_t ip[16], body[16], fuz1[16], fuz2[16];
	int seen_hdr = 0, sender_set = 0, std_received = 0;
	int body_ok, fuz1_ok, fuz2_ok, i;

	if (opts != NULL && (opts->n_substitute < 0 || opts->n_substitute > DRP_DCC_MAX_SUB)) {
		snprintf(err, errlen, "too many substitute headers (at most %d)", DRP_DCC_MAX_SUB);
		return DRP_DCC_ERROR;
	}
	for (i = 0; opts != NULL && i < opts->n_substitute; i++) {
		if (opts->substitute[i] == NULL)
			continue;
		if (sub_add(&w->subs, opts->substitute[i], err, errlen) < 0)
			return DRP_DCC_ERROR;
	}
	/* "0.0.0.0" is SpamAssassin's "unknown", which dccproc ignores */
	if (env != NULL && env->client_ip != NULL && env->client_ip[0] != '\0' &&
	    strcmp(env->client_ip, "0.0.0.0") != 0) {
		if (!str2ip(env->client_ip, strlen(env->client_ip), ip)) {
			snprintf(err, errlen, "bad client IP address \"%.64s\"", env->client_ip);
			return DRP_DCC_ERROR;
		}
		set_ip(w, ip);
		sender_set = 1;
	}
	if (env != NULL && env->env_from != NULL)
		env_from = env->env_from;
	if (env != NULL && env->ip_from_received)
		std_received = 1;
	if (drp_dcc_body_init(&w->st, w->h.md) < 0) {
		snprintf(err, errlen, "out of memory");
		return DRP_DCC_ERROR;
	}

	for (;;) {
		long hlen = get_hdr(&rd, w->buf, &seen_hdr);
		const char *b = w->buf;

		if (hlen < 0)
			return refuse(out, err, errlen, "missing message body");
		if (hlen <= 2 && (b[0] == '\n' || (b[0] == '\r' && b[1] == '\n'))) {
			if (!seen_hdr)
				return refuse(out, err, errlen, "missing SMTP header lines");
			break;
		}
		if (strncasecmp(b, "From:", 5) == 0) {
			str2ck(&w->h, NULL, 0, b + 5, w->ck[DRP_DCC_CK_FROM].sum);
			w->ck[DRP_DCC_CK_FROM].have = w->ck[DRP_DCC_CK_FROM].report = 1;
			seen_hdr = 1;
			continue;
		}
		if (strncasecmp(b, "Message-ID:", 11) == 0) {
			str2ck(&w->h, NULL, 0, b + 11, w->ck[DRP_DCC_CK_MESSAGE_ID].sum);
			w->ck[DRP_DCC_CK_MESSAGE_ID].have = w->ck[DRP_DCC_CK_MESSAGE_ID].report = 1;
			seen_hdr = 1;
			continue;
		}
		if (!seen_hdr && env_from == NULL &&
		    parse_unix_from(b, w->env_from, sizeof(w->env_from))) {
			env_from = w->env_from;
			seen_hdr = 1;
			continue;
		}
		if (env_from == NULL && parse_return_path(b, w->env_from, sizeof(w->env_from))) {
			env_from = w->env_from;
			seen_hdr = 1;
			continue;
		}
		if (strncasecmp(b, "Received:", 9) == 0) {
			const char *r;

			seen_hdr = 1;
			/* the last one (the earliest hop) is the checksum */
			str2ck(&w->h, NULL, 0, b + 9, w->ck[DRP_DCC_CK_RECEIVED].sum);
			w->ck[DRP_DCC_CK_RECEIVED].have = w->ck[DRP_DCC_CK_RECEIVED].report = 1;
			/* -R: the newest hop that names its client */
			if (sender_set || !std_received)
				continue;
			r = parse_received(b + 9, ip, helo, sizeof(helo));
			if (r == NULL) {
				std_received = 0; /* never skip a hop not understood */
			} else if (*r != '\0') {
				std_received = 1;
			} else {
				set_ip(w, ip);
				sender_set = 1;
				std_received = 0;
			}
			continue;
		}
		drp_dcc_mime_top_hdr(&w->st, (const uint8_t *)b, strlen(b));
		if (sub_get(&w->h, &w->subs, b, NULL, 1))
			seen_hdr = 1;
		if (!seen_hdr) {
			for (const char *p = b;; p++) {
				if (*p == ':') {
					seen_hdr = 1;
					break;
				}
				if ((signed char)*p <= ' ' || (unsigned char)*p >= 0x7f)
					break;
			}
		}
	}

	if (!w->ck[DRP_DCC_CK_MESSAGE_ID].have) {
		/* shown, but not sent to the server */
		str2ck(&w->h, NULL, 0, "", w->ck[DRP_DCC_CK_MESSAGE_ID].sum);
		w->ck[DRP_DCC_CK_MESSAGE_ID].have = 1;
		w->ck[DRP_DCC_CK_MESSAGE_ID].report = 0;
	}
	if (env_from != NULL) {
		char mail_host[DCC_URL_HOST_MAX];

		str2ck(&w->h, NULL, 0, env_from, w->ck[DRP_DCC_CK_ENV_FROM].sum);
		w->ck[DRP_DCC_CK_ENV_FROM].have = w->ck[DRP_DCC_CK_ENV_FROM].report = 1;
		if (parse_mail_host(env_from, mail_host, sizeof(mail_host)))
			sub_get(&w->h, &w->subs, "mail_host", mail_host, 1);
	}

	/* the body, in dccproc's fread() chunks */
	while (rd.pos < rd.len) {
		size_t n = rd.len - rd.pos;

		if (n > DCC_IO_BUF)
			n = DCC_IO_BUF;
		drp_dcc_body_chunk(&w->st, rd.msg + rd.pos, n);
		rd.pos += n;
	}
	drp_dcc_body_fin(&w->st, body, &body_ok, fuz1, &fuz1_ok, fuz2, &fuz2_ok);
	if (fuz2_ok < 0) {
		snprintf(err, errlen, "out of memory");
		return DRP_DCC_ERROR;
	}

	/* HELO (dccm and dccproc -E) is computed after the server was asked */
	if (env != NULL && env->helo != NULL && env->helo[0] != '\0')
		snprintf(helo, sizeof(helo), "%s", env->helo);
	if (helo[0] != '\0')
		sub_get(&w->h, &w->subs, "helo", helo, 0);

	for (i = DRP_DCC_CK_IP; i <= DRP_DCC_CK_REP; i++) {
		struct fixed *f = &w->ck[i];

		switch (i) {
		case DRP_DCC_CK_SUB:
			if (w->subs.slot[0].used)
				put(out, i, w->subs.slot[0].report,
				    w->subs.names[w->subs.slot[0].name].nm, w->subs.slot[0].sum);
			break;
		case DRP_DCC_CK_BODY:
			if (body_ok)
				put(out, i, 1, NULL, body);
			break;
		case DRP_DCC_CK_FUZ1:
			if (fuz1_ok)
				put(out, i, 1, NULL, fuz1);
			break;
		case DRP_DCC_CK_FUZ2:
			if (fuz2_ok)
				put(out, i, 1, NULL, fuz2);
			break;
		default:
			if (f->have)
				put(out, i, f->report, NULL, f->sum);
			break;
		}
	}
	/* env_To: dccm's per-recipient checksum, never reported by dccproc */
	for (i = 0; env != NULL && i < env->n_rcpt && i < DRP_ENV_MAX_RCPT; i++) {
		uint8_t sum[16];

		if (env->env_rcpt[i] == NULL)
			continue;
		str2ck(&w->h, NULL, 0, env->env_rcpt[i], sum);
		put(out, DRP_DCC_CK_ENV_TO, 0, NULL, sum);
	}
	for (i = 1; i < DRP_DCC_MAX_SUB; i++) {
		struct sub_slot *sl = &w->subs.slot[i];

		/* these sit past DCC_CK_TYPE_LAST in dccproc's table, beyond
		 * what its REPORT/QUERY builder sends (clntlib/ask.c) */
		if (sl->used)
			put(out, DRP_DCC_CK_SUB, 0, w->subs.names[sl->name].nm, sl->sum);
	}
	return DRP_DCC_OK;
}

/* the per-message state of a context; the rest is reused as it is */
struct drp_dcc_ck_ctx {
	struct work w;
};

struct drp_dcc_ck_ctx *drp_dcc_ck_ctx_new(void)
{
	struct drp_dcc_ck_ctx *c = malloc(sizeof(*c));
	struct work *w;

	if (c == NULL)
		return NULL;
	/* the 20 KB line buffer needs no clearing */
	w = &c->w;
	w->st.body_md5 = w->st.fuz1.md5 = NULL;
	w->st.fuz2.rec = NULL;
	w->st.fuz2.rec_cap = 0;
	w->st.fuz2.win = NULL;
	w->st.fuz2.win_cap = 0;
	w->st.bacc = NULL;
	w->st.bacc_cap = 0;
	for (int i = 0; i < DCC_FUZ2_LANGS; i++)
		w->st.fuz2.lmd5[i] = NULL;
	memset(w->st.fuz2.wc_key, 0, sizeof(w->st.fuz2.wc_key));
	memset(w->st.fuz2.wc_bits, 0, sizeof(w->st.fuz2.wc_bits));
	/* one explicit fetch per context instead of one per digest */
	w->h.md = EVP_MD_fetch(NULL, "MD5", NULL);
	w->h.ctx = EVP_MD_CTX_new();
	if (w->h.md == NULL || w->h.ctx == NULL) {
		drp_dcc_ck_ctx_free(c);
		return NULL;
	}
	return c;
}

void drp_dcc_ck_ctx_free(struct drp_dcc_ck_ctx *c)
{
	if (c == NULL)
		return;
	drp_dcc_body_free(&c->w.st);
	EVP_MD_CTX_free(c->w.h.ctx);
	EVP_MD_free((EVP_MD *)c->w.h.md);
	free(c);
}

int drp_dcc_checksums_ctx(struct drp_dcc_ck_ctx *c, const uint8_t *msg, size_t len,
                          const struct drp_envelope *env, const struct drp_dcc_ck_opts *opts,
                          struct drp_dcc_cks *out, char *err, size_t errlen)
{
	struct work *w = &c->w;
	int rc;

	out->n = 0;
	if (msg == NULL && len != 0) {
		snprintf(err, errlen, "no message");
		return DRP_DCC_ERROR;
	}
	memset(&w->subs, 0, sizeof(w->subs));
	memset(w->ck, 0, sizeof(w->ck));
	w->h.failed = 0;
	rc = run(w, msg ? msg : (const uint8_t *)"", len, env, opts, out, err, errlen);
	if (rc == DRP_DCC_OK && w->h.failed) {
		snprintf(err, errlen, "MD5 failed");
		rc = DRP_DCC_ERROR;
	}
	drp_dcc_body_done(&w->st);
	if (rc != DRP_DCC_OK)
		out->n = 0;
	return rc;
}

int drp_dcc_checksums(const uint8_t *msg, size_t len, const struct drp_envelope *env,
                      const struct drp_dcc_ck_opts *opts, struct drp_dcc_cks *out, char *err,
                      size_t errlen)
{
	struct drp_dcc_ck_ctx *c;
	int rc;

	out->n = 0;
	if (msg == NULL && len != 0) {
		snprintf(err, errlen, "no message");
		return DRP_DCC_ERROR;
	}
	c = drp_dcc_ck_ctx_new();
	if (c == NULL) {
		snprintf(err, errlen, "out of memory or MD5 unavailable");
		return DRP_DCC_ERROR;
	}
	rc = drp_dcc_checksums_ctx(c, msg, len, env, opts, out, err, errlen);
	drp_dcc_ck_ctx_free(c);
	return rc;
}
