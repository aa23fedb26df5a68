/* razor_proto: see razor_proto.h. */

#include "razor_proto.h"

#include <ctype.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copy p[0..n) into the store, NUL-terminated; unescape %XX when asked. */
static int store_put(struct drp_razor_sis *s, const uint8_t *p, size_t n, int unescape,
                     uint16_t *off, uint16_t *outlen)
{
	size_t i, o = s->used;

	if (n + 1 > sizeof(s->store) - s->used)
		return -1;
	for (i = 0; i < n; i++) {
		if (unescape && p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 &&
		    hexval(p[i + 2]) >= 0) {
			s->store[o++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
			i += 2;
		} else {
			s->store[o++] = (char)p[i];
		}
	}
	s->store[o] = 0;
	*off = (uint16_t)s->used;
	*outlen = (uint16_t)(o - s->used);
	s->used = o + 1;
	return 0;
}

int drp_razor_sis_parse(const uint8_t *p, size_t len, struct drp_razor_sis *out)
{
	size_t i = 0;

	out->n = 0;
	out->used = 0;
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	while (i < len) {
		size_t start = i, end, eq, eq2;

		while (i < len && p[i] != '&')
			i++;
		end = i;
		i++; /* skip '&' */
		if (end == start)
			continue; /* razor drops empty pairs as harmless */
		if (out->n >= DRP_RAZOR_SIS_MAX)
			return -1;
		for (eq = start; eq < end && p[eq] != '='; eq++)
			;
		/* the value stops at a second raw '=' (perl's split keeps two fields) */
		for (eq2 = eq < end ? eq + 1 : end; eq2 < end && p[eq2] != '='; eq2++)
			;
		if (store_put(out, p + start, eq - start, 0, &out->f[out->n].k,
		              &out->f[out->n].klen) < 0)
			return -1;
		if (store_put(out, p + (eq < end ? eq + 1 : end), eq < end ? eq2 - eq - 1 : 0, 1,
		              &out->f[out->n].v, &out->f[out->n].vlen) < 0)
			return -1;
		out->n++;
	}
	return 0;
}

const char *drp_razor_sis_get(const struct drp_razor_sis *s, const char *key)
{
	int i;

	for (i = s->n - 1; i >= 0; i--)
		if (strcmp(s->store + s->f[i].k, key) == 0)
			return s->store + s->f[i].v;
	return NULL;
}

int drp_razor_sis_has(const struct drp_razor_sis *s, const char *key)
{
	return drp_razor_sis_get(s, key) != NULL;
}

static int unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int drp_razor_sis_encode(struct drp_buf *out, const struct drp_razor_pair *kv, int n, int escape)
{
	int order[DRP_RAZOR_Q_KV * 2], i, j;

	if (n < 0 || n > (int)(sizeof(order) / sizeof(order[0])))
		return -1;
	for (i = 0; i < n; i++)
		order[i] = i;
	/* insertion sort: n is tiny */
	for (i = 1; i < n; i++) {
		int t = order[i];

		for (j = i; j > 0 && strcmp(kv[order[j - 1]].key, kv[t].key) > 0; j--)
			order[j] = order[j - 1];
		order[j] = t;
	}
	for (i = 0; i < n; i++) {
		const struct drp_razor_pair *f = &kv[order[i]];
		const unsigned char *v = (const unsigned char *)(f->val ? f->val : "");

		if (i > 0 && drp_buf_putc(out, '&') < 0)
			return -1;
		if (drp_buf_append(out, f->key, strlen(f->key)) < 0 || drp_buf_putc(out, '=') < 0)
			return -1;
		for (; *v; v++) {
			if (!escape || unreserved(*v)) {
				if (drp_buf_putc(out, *v) < 0)
					return -1;
			} else if (drp_buf_printf(out, "%%%02X", *v) < 0) {
				return -1;
			}
		}
	}
	return drp_buf_append(out, "\r\n", 2);
}

int drp_razor_batch(const struct drp_razor_q *q, int n, long bql, long bqs, struct drp_buf *out,
                    struct drp_razor_unit *units, int maxunits)
{
	int nu = 0, last = -1, batch = 0, i;
	long linecnt = 0;
	struct drp_razor_unit *u = NULL;

	for (i = 0; i < n; i++) {
		if (last < 0) {
			last = i;
			continue;
		}
		if (!batch) {
			if (nu >= maxunits)
				return -1;
			u = &units[nu++];
			u->off = out->len;
			u->first = last;
			u->count = 2;
			u->batch = 1;
			if (drp_buf_putc(out, '-') < 0 ||
			    drp_razor_sis_encode(out, q[last].kv, q[last].n, 1) < 0 ||
			    drp_razor_sis_encode(out, q[i].kv, q[i].n, 0) < 0)
				return -1;
			batch = 1;
			linecnt = 2;
			continue;
		}
		/* razor closes a batch before adding a line once it is full */
		if ((bqs > 0 && bqs <= LONG_MAX / 1024 && (long)(out->len - u->off) > bqs * 1024) ||
		    (bql > 0 && linecnt >= bql)) {
			if (drp_buf_append(out, ".\r\n", 3) < 0)
				return -1;
			u->len = out->len - u->off;
			batch = 0;
			last = i;
			continue;
		}
		if (drp_razor_sis_encode(out, q[i].kv, q[i].n, 0) < 0)
			return -1;
		u->count++;
		linecnt++;
	}
	if (batch) {
		if (drp_buf_append(out, ".\r\n", 3) < 0)
			return -1;
		u->len = out->len - u->off;
	} else if (last >= 0) {
		if (nu >= maxunits)
			return -1;
		u = &units[nu++];
		u->off = out->len;
		u->first = last;
		u->count = 1;
		u->batch = 0;
		if (drp_razor_sis_encode(out, q[last].kv, q[last].n, 1) < 0)
			return -1;
		u->len = out->len - u->off;
	}
	return nu;
}

long drp_razor_frame(const uint8_t *p, size_t len, size_t max, char *err, size_t errlen)
{
	size_t start = 0;
	int batch;

	if (len == 0)
		return 0;
	batch = p[0] == '-';
	for (;;) {
		const uint8_t *nl = memchr(p + start, '\n', len - start);
		size_t end, l;

		if (nl == NULL) {
			if (len - start > DRP_RAZOR_LINE_MAX) {
				snprintf(err, errlen, "answer line longer than %d bytes",
				         DRP_RAZOR_LINE_MAX);
				return -1;
			}
			if (len > max) {
				snprintf(err, errlen, "answer larger than %zu bytes", max);
				return -1;
			}
			return 0;
		}
		end = (size_t)(nl - p) + 1;
		if (end - start > DRP_RAZOR_LINE_MAX + 2) {
			snprintf(err, errlen, "answer line longer than %d bytes",
			         DRP_RAZOR_LINE_MAX);
			return -1;
		}
		if (end > max) {
			snprintf(err, errlen, "answer larger than %zu bytes", max);
			return -1;
		}
		if (!batch)
			return (long)end;
		l = end - start - 1;
		while (l > 0 && p[start + l - 1] == '\r')
			l--;
		if (start > 0 && l == 1 && p[start] == '.')
			return (long)end;
		start = end;
	}
}

int drp_razor_answer_lines(const uint8_t *p, size_t len, struct drp_slice *lines, int max)
{
	size_t start = 0;
	int n = 0, batch = len > 0 && p[0] == '-';

	while (start < len) {
		const uint8_t *nl = memchr(p + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - p) : len, s = start, l;

		l = end - s;
		if (l > 0 && p[s + l - 1] == '\r')
			l--;
		if (batch && s == 0) {
			s++;
			l = l > 0 ? l - 1 : 0;
		} else if (batch && l == 1 && p[s] == '.') {
			break;
		}
		if (n >= max)
			return -1;
		lines[n++] = DRP_SLICE(p + s, l);
		if (!batch)
			break;
		start = end + 1;
	}
	return n;
}

/* ep4 is echoed into later (unescaped) batch lines, so only the shape
 * razor servers use ("7542-10": digits and '-') is accepted. */
static int valid_ep4(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int drp_razor_parse_greeting(const uint8_t *p, size_t len, struct drp_razor_greeting *g, char *err,
                             size_t errlen)
{
	struct drp_razor_sis *s = malloc(sizeof(*s));
	const char *v;
	int rc = -1;

	memset(g, 0, sizeof(*g));
	g->srl = -1;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (drp_razor_sis_parse(p, len, s) < 0) {
		snprintf(err, errlen, "bad server greeting");
		goto out;
	}
	v = drp_razor_sis_get(s, "sn");
	/* perl's truth test: "" and "0" both mean no server name */
	if (v == NULL || *v == 0 || strcmp(v, "0") == 0 || strlen(v) >= sizeof(g->sn)) {
		snprintf(err, errlen, "bad server greeting (no sn)");
		goto out;
	}
	snprintf(g->sn, sizeof(g->sn), "%s", v);
	v = drp_razor_sis_get(s, "srl");
	if (v != NULL && *v) {
		char *end;
		long x = strtol(v, &end, 10);

		g->has_srl = 1;
		g->srl = end == v ? 0 : x;
	}
	v = drp_razor_sis_get(s, "ep4");
	if (v != NULL && *v) {
		if (!valid_ep4(v)) {
			snprintf(err, errlen, "bad ep4 in server greeting");
			goto out;
		}
		snprintf(g->ep4, sizeof(g->ep4), "%s", v);
	}
	v = drp_razor_sis_get(s, "a");
	g->cg = v != NULL && strcmp(v, "cg") == 0;
	rc = 0;
out:
	free(s);
	return rc;
}

void drp_razor_srvconf_default(struct drp_razor_srvconf *c)
{
	memset(c, 0, sizeof(*c));
	c->srl = -1;
	snprintf(c->ep4, sizeof(c->ep4), "7542-10");
	c->bql = 4;
	c->ac = 0;
	c->bqs = 128;
	c->se = 0xC8;
	c->dre = 4;
	snprintf(c->zone, sizeof(c->zone), "razor2.cloudmark.com");
}

unsigned long drp_razor_parse_se(const char *s)
{
	unsigned long v = 0;
	int d, i = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; (d = hexval((unsigned char)*s)) >= 0 && i < 8; s++, i++)
		v = v * 16 + (unsigned long)d;
	return v;
}

/* perl's numeric view of a string: leading integer, else 0. */
static long pnum(const char *v)
{
	return strtol(v, NULL, 10);
}

static long clamp(long v, long lo, long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void drp_razor_srvconf_set(struct drp_razor_srvconf *c, const char *key, const char *val)
{
	if (!strcmp(key, "srl"))
		c->srl = pnum(val);
	else if (!strcmp(key, "ep4")) {
		if (valid_ep4(val))
			snprintf(c->ep4, sizeof(c->ep4), "%s", val);
	} else if (!strcmp(key, "bql"))
		c->bql = clamp(pnum(val), 0, 1L << 20);
	else if (!strcmp(key, "bqs"))
		c->bqs = clamp(pnum(val), 0, 1L << 20); /* KiB */
	else if (!strcmp(key, "ac"))
		c->ac = clamp(pnum(val), -1000000, 1000000);
	else if (!strcmp(key, "dre"))
		c->dre = pnum(val);
	else if (!strcmp(key, "se"))
		c->se = drp_razor_parse_se(val);
	else if (!strcmp(key, "zone"))
		snprintf(c->zone, sizeof(c->zone), "%s", val);
}

int drp_razor_min_cf(const char *spec, long ac, int *out)
{
	char s[64];
	size_t n = 0;
	long cf = ac, x;
	int rc = 0;
	char *end;

	for (; spec != NULL && *spec && n + 1 < sizeof(s); spec++)
		if (!isspace((unsigned char)*spec))
			s[n++] = *spec;
	s[n] = 0;
	if (!strcmp(s, "ac")) {
		cf = ac;
	} else if (!strncmp(s, "ac+", 3) || !strncmp(s, "ac-", 3)) {
		x = strtol(s + 3, &end, 10);
		/* the result is clamped to 0..100: keep the sum far from overflow */
		if (x > 1000000)
			x = 1000000;
		if (ac > 1000000 || ac < -1000000)
			ac = ac > 0 ? 1000000 : -1000000;
		if (!isdigit((unsigned char)s[3]) || *end)
			rc = -1;
		else
			cf = s[2] == '+' ? ac + x : ac - x;
	} else if (n > 0 && strspn(s, "0123456789") == n) {
		cf = strtol(s, NULL, 10);
		if (n > 6)
			cf = 100;
	} else {
		rc = -1;
	}
	if (cf > 100)
		cf = 100;
	if (cf < 0)
		cf = 0;
	*out = (int)cf;
	return rc;
}

int drp_razor_check_resp(const struct drp_razor_sis *a, int min_cf, int *ct, long *cf)
{
	const char *p = drp_razor_sis_get(a, "p"), *c = drp_razor_sis_get(a, "cf"),
	           *t = drp_razor_sis_get(a, "ct");

	/* perl truth: "" and "0" are false, anything else is true */
	*ct = t != NULL && *t && strcmp(t, "0") != 0;
	*cf = c != NULL ? pnum(c) : -1;
	if (drp_razor_sis_has(a, "err"))
		return 0;
	if (p == NULL || strcmp(p, "1") != 0)
		return 0;
	if (c != NULL)
		return *cf >= min_cf;
	return 1;
}

int drp_razor_logic(int method, int nparts, const int *spam, const int *ct, const int *skipped,
                    const int *is_text, const int *is_inline)
{
	int i, any = 0, not_spam = 0, found = 0, decider = 0, res = 0;

	if (nparts <= 0)
		return 0;
	switch (method) {
	case 1:
		for (i = 0; i < nparts; i++)
			any |= spam[i] != 0;
		return any;
	case 2:
		if (is_text == NULL || is_inline == NULL)
			return 0;
		for (i = 0; i < nparts; i++) {
			if (skipped[i])
				continue;
			if (is_inline[i] && is_text[i]) {
				decider = i;
				break;
			}
			if (!found && is_text[i]) {
				decider = i;
				found = 1;
			}
		}
		return spam[decider] != 0;
	case 3:
		if (is_text == NULL)
			return 0;
		for (i = 0; i < nparts; i++) {
			if (skipped[i] || !is_text[i])
				continue;
			found = 1;
			res = spam[i] != 0;
			if (!res)
				break;
		}
		return found ? res : spam[0] != 0;
	case 5:
		for (i = 0; i < nparts; i++) {
			if (skipped[i] || ct[i])
				continue;
			if (spam[i])
				any = 1;
			else
				not_spam = 1;
		}
		return any && !not_spam;
	case 4:
	default:
		for (i = 0; i < nparts; i++)
			if (!skipped[i] && !ct[i] && spam[i])
				any = 1;
		return any;
	}
}

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int drp_razor_hex_b64(const char *hex, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		unsigned bits = 0, k;
		int b;

		/* 12 bits: each digit's 4 bits least-significant first */
		for (k = 0; k < 3; k++) {
			int d = 0;
			unsigned j;

			if (i + k < n && (d = hexval((unsigned char)hex[i + k])) < 0)
				return -1;
			for (j = 0; j < 4; j++)
				bits = (bits << 1) | (((unsigned)d >> j) & 1u);
		}
		b = (int)(bits >> 6) & 63;
		out[o++] = b64tab[b];
		out[o++] = b64tab[bits & 63];
	}
	out[o] = 0;
	return 0;
}

static int sha1_hex(const uint8_t *a, size_t al, const uint8_t *b, size_t bl, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(ctx, a, al) == 1 &&
	     EVP_DigestUpdate(ctx, b, bl) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen != 20)
		return -1;
	drp_hex(md, 20, out);
	return 0;
}

int drp_razor_aresp(const uint8_t *pass, size_t passlen, const uint8_t *chal, size_t chlen,
                    char out[29])
{
	size_t kl = passlen > 64 ? passlen : 64, i;
	uint8_t *k1, *k2;
	char inner[41], outer[41];
	int rc = -1;

	out[0] = 0;
	/* razor's hmac gives up on a false (empty or "0") challenge */
	if (passlen == 0 || chlen == 0 || (chlen == 1 && chal[0] == '0'))
		return -1;
	k1 = malloc(kl);
	k2 = malloc(kl);
	if (k1 == NULL || k2 == NULL)
		goto out;
	/* perl's string xor: the shorter operand is NUL-extended */
	for (i = 0; i < kl; i++) {
		uint8_t pb = i < passlen ? pass[i] : 0;

		k1[i] = (uint8_t)((i < 64 ? 0x36 : 0) ^ pb);
		k2[i] = (uint8_t)((i < 64 ? 0x5c : 0) ^ pb);
	}
	if (sha1_hex(k2, kl, chal, chlen, inner) < 0 ||
	    sha1_hex(k1, kl, (const uint8_t *)inner, 40, outer) < 0)
		goto out;
	rc = drp_razor_hex_b64(outer, 40, out);
out:
	if (k1)
		OPENSSL_cleanse(k1, kl);
	if (k2)
		OPENSSL_cleanse(k2, kl);
	free(k1);
	free(k2);
	return rc;
}
