/* mime: see mime.h. */
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "hdr.h"
#include "msg.h"

static int is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_tspecial(uint8_t c)
{
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == ',' || c == ';' ||
	       c == ':' || c == '\\' || c == '"' || c == '/' || c == '[' || c == ']' || c == '?' ||
	       c == '=';
}

static void lower_copy(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t i;

	if (n >= outlen)
		n = outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
	out[n] = 0;
}

int drp_mime_ctype(struct drp_slice v, char *type, size_t tlen, char *subtype, size_t slen)
{
	size_t i = 0, a, b;

	while (i < v.len && (is_wsp(v.p[i])))
		i++;
	a = i;
	while (i < v.len && !is_wsp(v.p[i]) && !is_tspecial(v.p[i]))
		i++;
	b = i;
	while (i < v.len && is_wsp(v.p[i]))
		i++;
	if (b == a || i >= v.len || v.p[i] != '/')
		goto bad;
	lower_copy(v.p + a, b - a, type, tlen);
	i++;
	while (i < v.len && is_wsp(v.p[i]))
		i++;
	a = i;
	while (i < v.len && !is_wsp(v.p[i]) && !is_tspecial(v.p[i]))
		i++;
	if (i == a)
		goto bad;
	lower_copy(v.p + a, i - a, subtype, slen);
	return 0;
bad:
	snprintf(type, tlen, "text");
	snprintf(subtype, slen, "plain");
	return -1;
}

/* One parameter: attribute and value (unquoted into val). */
struct param {
	struct drp_slice attr;
	struct drp_buf val;
};

/* Parse the next "; attr=value" starting at *pos; 1 got one, 0 end. */
static int next_param(struct drp_slice v, size_t *pos, struct param *pr)
{
	size_t i = *pos, a;

	for (;;) {
		while (i < v.len && v.p[i] != ';')
			i++;
		if (i >= v.len) {
			*pos = i;
			return 0;
		}
		i++;
		while (i < v.len && is_wsp(v.p[i]))
			i++;
		a = i;
		while (i < v.len && v.p[i] != '=' && v.p[i] != ';' && !is_wsp(v.p[i]))
			i++;
		pr->attr = DRP_SLICE(v.p + a, i - a);
		while (i < v.len && is_wsp(v.p[i]))
			i++;
		if (i >= v.len || v.p[i] != '=' || pr->attr.len == 0)
			continue;
		i++;
		while (i < v.len && is_wsp(v.p[i]))
			i++;
		drp_buf_reset(&pr->val);
		if (i < v.len && v.p[i] == '"') {
			i++;
			while (i < v.len && v.p[i] != '"') {
				if (v.p[i] == '\\' && i + 1 < v.len)
					i++;
				if (v.p[i] != '\r' && v.p[i] != '\n' &&
				    drp_buf_putc(&pr->val, v.p[i]) < 0)
					return -1;
				i++;
			}
			if (i < v.len)
				i++;
		} else {
			a = i;
			while (i < v.len && v.p[i] != ';' && !is_wsp(v.p[i]))
				i++;
			if (drp_buf_append(&pr->val, v.p + a, i - a) < 0)
				return -1;
		}
		*pos = i;
		return 1;
	}
}

static int hexv(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static int pct_decode(const uint8_t *p, size_t n, struct drp_buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n && hexv(p[i + 1]) >= 0 && hexv(p[i + 2]) >= 0) {
			if (drp_buf_putc(out, (uint8_t)(hexv(p[i + 1]) << 4 | hexv(p[i + 2]))) < 0)
				return -1;
			i += 2;
		} else if (drp_buf_putc(out, p[i]) < 0)
			return -1;
	}
	return 0;
}

#define MAX_SECTIONS 64

int drp_mime_param(struct drp_slice v, const char *name, struct drp_buf *out)
{
	struct param pr;
	struct drp_buf plain, sect[MAX_SECTIONS], raw;
	int have_plain = 0, have_ext = 0, sect_enc[MAX_SECTIONS], nsect = 0, rc = 0, r, i;
	char charset[64] = "";
	size_t pos = 0, nl = strlen(name);

	drp_buf_init(&pr.val);
	drp_buf_init(&plain);
	drp_buf_init(&raw);
	for (i = 0; i < MAX_SECTIONS; i++) {
		drp_buf_init(&sect[i]);
		sect_enc[i] = -1;
	}
	while ((r = next_param(v, &pos, &pr)) == 1) {
		struct drp_slice a = pr.attr;
		size_t k;
		int idx = 0, enc = 0;

		if (a.len < nl || !drp_slice_iprefix(a, name))
			continue;
		if (a.len == nl) {
			if (!have_plain) {
				if (drp_buf_append(&plain, pr.val.p, pr.val.len) < 0)
					r = -1;
				have_plain = 1;
			}
			continue;
		}
		if (a.p[nl] != '*')
			continue;
		k = nl + 1;
		if (k == a.len) {
			enc = 1; /* name*=charset'lang'value */
			idx = 0;
		} else {
			idx = 0;
			while (k < a.len && a.p[k] >= '0' && a.p[k] <= '9' && idx < 1000)
				idx = idx * 10 + (a.p[k++] - '0');
			if (k < a.len && a.p[k] == '*') {
				enc = 1;
				k++;
			}
			if (k != a.len || idx >= MAX_SECTIONS)
				continue;
		}
		if (sect_enc[idx] >= 0)
			continue; /* duplicate section: first wins */
		sect_enc[idx] = enc;
		if (drp_buf_append(&sect[idx], pr.val.p, pr.val.len) < 0)
			r = -1;
		have_ext = 1;
		if (idx + 1 > nsect)
			nsect = idx + 1;
	}
	if (r < 0) {
		rc = -1;
		goto done;
	}
	if (have_ext && sect_enc[0] >= 0) {
		for (i = 0; i < nsect && sect_enc[i] >= 0; i++) {
			const uint8_t *p = sect[i].p;
			size_t n = sect[i].len;

			if (sect_enc[i] && i == 0) {
				/* charset'language'value */
				const uint8_t *q1 = p ? memchr(p, '\'', n) : NULL;
				const uint8_t *q2 =
				    q1 ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - p)) : NULL;

				if (q1 && q2) {
					lower_copy(p, (size_t)(q1 - p), charset, sizeof(charset));
					n -= (size_t)(q2 + 1 - p);
					p = q2 + 1;
				}
			}
			if (sect_enc[i] ? pct_decode(p, n, &raw) : drp_buf_append(&raw, p, n)) {
				rc = -1;
				goto done;
			}
		}
		rc = drp_charset_to_utf8(*charset ? charset : "utf-8", raw.p, raw.len, out) < 0 ? -1
		                                                                                : 1;
	} else if (have_plain) {
		rc = drp_buf_append(&plain, "", 0) < 0 ? -1 : 0;
		if (rc == 0)
			rc = drp_buf_append(out, plain.p, plain.len) < 0 ? -1 : 1;
	}
done:
	drp_buf_free(&pr.val);
	drp_buf_free(&plain);
	drp_buf_free(&raw);
	for (i = 0; i < MAX_SECTIONS; i++)
		drp_buf_free(&sect[i]);
	return rc;
}

struct parser {
	struct drp_mime *m;
	int max_depth, max_parts;
};

static int add_part(struct parser *ps, int parent, int depth)
{
	struct drp_mime *m = ps->m;

	if (m->n == m->cap) {
		int nc = m->cap ? m->cap * 2 : 8;
		struct drp_mime_part *np = realloc(m->parts, (size_t)nc * sizeof(*np));

		if (np == NULL)
			return -1;
		m->parts = np;
		m->cap = nc;
	}
	memset(&m->parts[m->n], 0, sizeof(m->parts[0]));
	m->parts[m->n].parent = parent;
	m->parts[m->n].depth = depth;
	if (parent >= 0)
		m->parts[parent].nchildren++;
	return m->n++;
}

/* Is the line at p (length n without EOL) "--boundary" or "--boundary--"?
 * Returns 1 for a delimiter, 2 for the close delimiter, else 0.  Trailing
 * whitespace after the boundary is allowed (RFC 2046 transport padding). */
static int boundary_line(const uint8_t *p, size_t n, const char *b, size_t bl)
{
	size_t i;
	int close = 0;

	if (n < bl + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bl) != 0)
		return 0;
	i = bl + 2;
	if (i + 2 <= n && p[i] == '-' && p[i + 1] == '-') {
		close = 1;
		i += 2;
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return 0;
	return close ? 2 : 1;
}

static int parse_entity(struct parser *ps, const uint8_t *p, size_t len, int parent, int depth,
                        int digest_child);

static int parse_multipart(struct parser *ps, int idx, const uint8_t *p, size_t len, int depth,
                           int is_digest)
{
	const uint8_t *end = p + len, *cur = p, *part_start = NULL;
	char bnd[256];
	size_t bl, eol;
	int seen_close = 0;

	snprintf(bnd, sizeof(bnd), "%s", ps->m->parts[idx].boundary);
	bl = strlen(bnd);
	while (cur < end) {
		size_t n = drp_line_len(cur, end, &eol);
		int k = boundary_line(cur, n - eol, bnd, bl);

		if (k) {
			/* the EOL before the delimiter belongs to it */
			const uint8_t *stop = cur;

			if (stop > p && stop[-1] == '\n') {
				stop--;
				if (stop > p && stop[-1] == '\r')
					stop--;
			}
			if (part_start == NULL) {
				ps->m->parts[idx].preamble = DRP_SLICE(p, (size_t)(stop - p));
			} else {
				if (stop < part_start)
					stop = part_start;
				if (parse_entity(ps, part_start, (size_t)(stop - part_start), idx,
				                 depth + 1, is_digest) < 0)
					return -1;
			}
			cur += n;
			if (k == 2) {
				seen_close = 1;
				ps->m->parts[idx].epilogue = DRP_SLICE(cur, (size_t)(end - cur));
				break;
			}
			part_start = cur;
			continue;
		}
		cur += n;
	}
	if (!seen_close) {
		ps->m->parts[idx].flags |= DRP_MIME_UNTERMINATED;
		if (part_start != NULL) {
			if (parse_entity(ps, part_start, (size_t)(end - part_start), idx, depth + 1,
			                 is_digest) < 0)
				return -1;
		} else {
			ps->m->parts[idx].preamble = DRP_SLICE(p, len);
		}
	}
	return 0;
}

static int parse_entity(struct parser *ps, const uint8_t *p, size_t len, int parent, int depth,
                        int digest_child)
{
	struct drp_msg mv;
	struct drp_hdr_field f;
	struct drp_mime_part *pt;
	struct drp_buf tmp;
	int idx;

	if (ps->m->n >= ps->max_parts) {
		ps->m->flags |= DRP_MIME_LIMIT_PARTS;
		return 0;
	}
	idx = add_part(ps, parent, depth);
	if (idx < 0)
		return -1;
	drp_msg_parse(p, len, &mv);
	pt = &ps->m->parts[idx];
	pt->header = mv.header;
	pt->body = mv.has_body ? mv.body : DRP_SLICE(len ? p + len : p, 0);
	if (drp_hdr_find(mv.header, "Content-Type", 0, &f)) {
		drp_mime_ctype(f.value, pt->type, sizeof(pt->type), pt->subtype,
		               sizeof(pt->subtype));
		drp_buf_init(&tmp);
		if (drp_mime_param(f.value, "charset", &tmp) > 0)
			lower_copy(tmp.p, tmp.len, pt->charset, sizeof(pt->charset));
		drp_buf_reset(&tmp);
		if (drp_mime_param(f.value, "boundary", &tmp) > 0 && tmp.len > 0 &&
		    tmp.len < sizeof(pt->boundary)) {
			memcpy(pt->boundary, tmp.p, tmp.len);
			pt->boundary[tmp.len] = 0;
		}
		drp_buf_free(&tmp);
	} else if (digest_child) {
		snprintf(pt->type, sizeof(pt->type), "message");
		snprintf(pt->subtype, sizeof(pt->subtype), "rfc822");
	} else {
		snprintf(pt->type, sizeof(pt->type), "text");
		snprintf(pt->subtype, sizeof(pt->subtype), "plain");
	}
	if (drp_hdr_find(mv.header, "Content-Transfer-Encoding", 0, &f))
		pt->cte = drp_cte_parse(f.value);
	if (strcmp(pt->type, "multipart") == 0) {
		if (pt->boundary[0] == 0) {
			pt->flags |= DRP_MIME_NO_BOUNDARY;
			return 0;
		}
		if (depth + 1 > ps->max_depth) {
			ps->m->flags |= DRP_MIME_LIMIT_DEPTH;
			return 0;
		}
		return parse_multipart(ps, idx, pt->body.p, pt->body.len, depth,
		                       strcmp(pt->subtype, "digest") == 0);
	}
	if (strcmp(pt->type, "message") == 0 && strcmp(pt->subtype, "rfc822") == 0 &&
	    pt->cte == DRP_CTE_IDENTITY) {
		if (depth + 1 > ps->max_depth) {
			ps->m->flags |= DRP_MIME_LIMIT_DEPTH;
			return 0;
		}
		return parse_entity(ps, pt->body.p, pt->body.len, idx, depth + 1, 0);
	}
	return 0;
}

int drp_mime_parse(const uint8_t *msg, size_t len, const struct drp_mime_limits *lim,
                   struct drp_mime *out)
{
	struct parser ps;

	memset(out, 0, sizeof(*out));
	ps.m = out;
	ps.max_depth = lim && lim->max_depth > 0 ? lim->max_depth : 32;
	ps.max_parts = lim && lim->max_parts > 0 ? lim->max_parts : 1000;
	if (parse_entity(&ps, msg, len, -1, 0, 0) < 0) {
		drp_mime_free(out);
		return -1;
	}
	return 0;
}

void drp_mime_free(struct drp_mime *m)
{
	free(m->parts);
	memset(m, 0, sizeof(*m));
}

int drp_mime_part_decode(const struct drp_mime_part *p, struct drp_buf *out)
{
	return drp_transfer_decode(p->cte, p->body.p, p->body.len, out);
}

int drp_mime_part_text(const struct drp_mime_part *p, struct drp_buf *out)
{
	struct drp_buf raw;
	int rc;

	drp_buf_init(&raw);
	rc = drp_mime_part_decode(p, &raw);
	if (rc == 0)
		rc = drp_charset_to_utf8(p->charset, raw.p, raw.len, out);
	drp_buf_free(&raw);
	return rc;
}
