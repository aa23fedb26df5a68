/* hdr: see hdr.h. */
#include "hdr.h"

#include <string.h>

#include "charset.h"
#include "decode.h"
#include "msg.h"

void drp_hdr_iter_init(struct drp_hdr_iter *it, struct drp_slice block)
{
	it->p = block.p;
	it->end = block.len ? block.p + block.len : block.p; /* no NULL + 0 */
}

static int is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

int drp_hdr_next(struct drp_hdr_iter *it, struct drp_hdr_field *f)
{
	while (it->p < it->end) {
		const uint8_t *start = it->p, *colon, *q, *fend;
		size_t eol, n = drp_line_len(it->p, it->end, &eol);

		it->p += n;
		if (is_wsp(*start))
			continue; /* stray continuation: no field to attach to */
		colon = memchr(start, ':', n - eol);
		if (colon == NULL || colon == start)
			continue;
		/* continuation lines */
		while (it->p < it->end && is_wsp(*it->p))
			it->p += drp_line_len(it->p, it->end, &eol);
		fend = it->p;
		q = colon;
		while (q > start && is_wsp(q[-1]))
			q--;
		f->name = DRP_SLICE(start, (size_t)(q - start));
		f->raw = DRP_SLICE(start, (size_t)(fend - start));
		/* strip the field's final EOL from the value */
		q = fend;
		if (q > colon + 1 && q[-1] == '\n')
			q--;
		if (q > colon + 1 && q[-1] == '\r')
			q--;
		f->value = DRP_SLICE(colon + 1, (size_t)(q - colon - 1));
		if (f->name.len == 0)
			continue;
		return 1;
	}
	return 0;
}

int drp_hdr_find(struct drp_slice block, const char *name, int nth, struct drp_hdr_field *f)
{
	struct drp_hdr_iter it;

	drp_hdr_iter_init(&it, block);
	while (drp_hdr_next(&it, f))
		if (drp_slice_ieq(f->name, name) && nth-- == 0)
			return 1;
	return 0;
}

int drp_hdr_count(struct drp_slice block, const char *name)
{
	struct drp_hdr_iter it;
	struct drp_hdr_field f;
	int n = 0;

	drp_hdr_iter_init(&it, block);
	while (drp_hdr_next(&it, &f))
		if (drp_slice_ieq(f.name, name))
			n++;
	return n;
}

int drp_hdr_unfold(struct drp_slice v, struct drp_buf *out)
{
	size_t i = 0, j = v.len;

	while (i < j && (is_wsp(v.p[i]) || v.p[i] == '\r' || v.p[i] == '\n'))
		i++;
	while (j > i && (is_wsp(v.p[j - 1]) || v.p[j - 1] == '\r' || v.p[j - 1] == '\n'))
		j--;
	if (drp_buf_reserve(out, j - i) < 0)
		return -1;
	for (; i < j; i++)
		if (v.p[i] != '\r' && v.p[i] != '\n')
			out->p[out->len++] = v.p[i];
	return 0;
}

/* Parse "=?charset?X?text?=" at p; on success fills the parts and returns
 * the encoded word's length, else 0. */
static size_t encoded_word(const uint8_t *p, size_t n, struct drp_slice *cs, uint8_t *enc,
                           struct drp_slice *text)
{
	size_t i, q1, q2;

	if (n < 8 || p[0] != '=' || p[1] != '?')
		return 0;
	for (i = 2; i < n && p[i] != '?'; i++)
		if (p[i] <= ' ' || p[i] >= 127)
			return 0;
	if (i >= n || i == 2)
		return 0;
	q1 = i;
	if (q1 + 2 >= n || p[q1 + 2] != '?')
		return 0;
	*enc = p[q1 + 1] | 0x20;
	if (*enc != 'b' && *enc != 'q')
		return 0;
	q2 = q1 + 3;
	for (i = q2; i + 1 < n; i++) {
		if (p[i] == '?' && p[i + 1] == '=') {
			*cs = DRP_SLICE(p + 2, q1 - 2);
			*text = DRP_SLICE(p + q2, i - q2);
			return i + 2;
		}
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			return 0;
	}
	return 0;
}

int drp_hdr_decode(struct drp_slice value, struct drp_buf *out)
{
	struct drp_buf uf, tmp;
	size_t i = 0, pending_ws_at = 0, pending_ws_len = 0;
	int prev_encoded = 0, rc = 0;

	drp_buf_init(&uf);
	drp_buf_init(&tmp);
	if (drp_hdr_unfold(value, &uf) < 0)
		return -1;
	while (i < uf.len && rc == 0) {
		struct drp_slice cs, text;
		uint8_t enc;
		size_t n = encoded_word(uf.p + i, uf.len - i, &cs, &enc, &text);

		if (n > 0) {
			char csname[64];
			size_t cl = cs.len;
			const uint8_t *star = memchr(cs.p, '*', cs.len); /* RFC 2231 language */

			if (star != NULL)
				cl = (size_t)(star - cs.p);
			if (cl >= sizeof(csname))
				cl = sizeof(csname) - 1;
			memcpy(csname, cs.p, cl);
			csname[cl] = 0;
			/* whitespace between two encoded words is not displayed */
			if (!prev_encoded && pending_ws_len > 0)
				rc = drp_buf_append(out, uf.p + pending_ws_at, pending_ws_len);
			pending_ws_len = 0;
			drp_buf_reset(&tmp);
			if (rc == 0)
				rc = enc == 'b' ? drp_b64_decode(text.p, text.len, &tmp)
				                : drp_qp_decode(text.p, text.len, &tmp, 1);
			if (rc == 0)
				rc = drp_charset_to_utf8(csname, tmp.p, tmp.len, out);
			prev_encoded = 1;
			i += n;
			continue;
		}
		if (is_wsp(uf.p[i])) {
			size_t s = i;

			while (i < uf.len && is_wsp(uf.p[i]))
				i++;
			if (pending_ws_len == 0)
				pending_ws_at = s;
			pending_ws_len = i - pending_ws_at;
			continue;
		}
		if (pending_ws_len > 0) {
			rc = drp_buf_append(out, uf.p + pending_ws_at, pending_ws_len);
			pending_ws_len = 0;
		}
		/* plain run up to the next whitespace or encoded word */
		{
			size_t s = i;

			i++;
			while (i < uf.len && !is_wsp(uf.p[i]) &&
			       !(uf.p[i] == '=' && i + 1 < uf.len && uf.p[i + 1] == '?'))
				i++;
			if (rc == 0)
				rc = drp_charset_to_utf8("utf-8", uf.p + s, i - s, out);
		}
		prev_encoded = 0;
	}
	if (rc == 0 && pending_ws_len > 0)
		rc = drp_buf_append(out, uf.p + pending_ws_at, pending_ws_len);
	drp_buf_free(&uf);
	drp_buf_free(&tmp);
	return rc;
}

/* Copy value without (comments), keeping quoted strings intact. */
static int strip_comments(struct drp_slice v, struct drp_buf *out)
{
	size_t i;
	int depth = 0, quoted = 0;

	for (i = 0; i < v.len; i++) {
		uint8_t c = v.p[i];

		if (c == '\\' && i + 1 < v.len && (quoted || depth)) {
			if (!depth &&
			    (drp_buf_putc(out, c) < 0 || drp_buf_putc(out, v.p[i + 1]) < 0))
				return -1;
			i++;
			continue;
		}
		if (!quoted && c == '(') {
			depth++;
			continue;
		}
		if (!quoted && depth && c == ')') {
			depth--;
			continue;
		}
		if (depth)
			continue;
		if (c == '"')
			quoted = !quoted;
		if (c == '\r' || c == '\n')
			continue;
		if (drp_buf_putc(out, c) < 0)
			return -1;
	}
	return 0;
}

int drp_hdr_address(struct drp_slice value, struct drp_buf *out)
{
	struct drp_buf s;
	size_t i, lt = 0, gt = 0, a, b;
	int quoted = 0, found = 0, rc = -1;

	drp_buf_init(&s);
	if (strip_comments(value, &s) < 0)
		goto done;
	for (i = 0; i < s.len; i++) {
		if (s.p[i] == '"')
			quoted = !quoted;
		else if (!quoted && s.p[i] == '<') {
			size_t j;

			for (j = i + 1; j < s.len && s.p[j] != '>'; j++)
				;
			if (j < s.len) {
				lt = i + 1;
				gt = j;
				found = 1;
				i = j;
			}
		}
	}
	if (found) {
		a = lt;
		b = gt;
	} else {
		/* first whitespace-delimited word holding '@', else everything */
		size_t ws = 0;

		a = 0;
		b = s.len;
		for (i = 0; i <= s.len; i++) {
			if (i == s.len || s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == ',') {
				if (i > ws && memchr(s.p + ws, '@', i - ws) != NULL) {
					a = ws;
					b = i;
					break;
				}
				ws = i + 1;
			}
		}
	}
	while (a < b && (s.p[a] == ' ' || s.p[a] == '\t'))
		a++;
	while (b > a && (s.p[b - 1] == ' ' || s.p[b - 1] == '\t'))
		b--;
	if (b > a || found) {
		rc = drp_buf_append(out, s.p + a, b - a);
		if (rc == 0 && b == a)
			rc = -1;
	}
done:
	drp_buf_free(&s);
	return rc;
}
