/* msg: see msg.h. */
#include "msg.h"

#include <string.h>

size_t drp_line_len(const uint8_t *p, const uint8_t *end, size_t *eol)
{
	const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		*eol = 0;
		return (size_t)(end - p);
	}
	*eol = (nl > p && nl[-1] == '\r') ? 2 : 1;
	return (size_t)(nl - p) + 1;
}

/* A header field starts with a printable, colon-free name then ':'.  RFC
 * 5322 names are %d33-126 except ':'; whitespace before the colon is the
 * obsolete syntax some mailers still emit, so it is accepted. */
static int is_field_start(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
		i++;
	if (i == 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

void drp_msg_parse(const uint8_t *p, size_t len, struct drp_msg *m)
{
	const uint8_t *end = p + len, *cur = p, *hstart;
	size_t eol, n;

	memset(m, 0, sizeof(*m));
	m->raw = DRP_SLICE(p, len);
	if (len == 0)
		return;
	n = drp_line_len(cur, end, &eol);
	m->crlf = eol == 2;
	if (n >= 5 && memcmp(cur, "From ", 5) == 0) {
		m->from_line = DRP_SLICE(cur, n - eol);
		cur += n;
	}
	hstart = cur;
	if (cur < end) {
		n = drp_line_len(cur, end, &eol);
		if (n != eol && !is_field_start(cur, n - eol)) {
			/* no header at all: everything is body */
			m->header = DRP_SLICE(hstart, 0);
			m->body = DRP_SLICE(cur, (size_t)(end - cur));
			m->has_body = 1;
			return;
		}
	}
	while (cur < end) {
		n = drp_line_len(cur, end, &eol);
		if (n == eol && eol > 0) {
			m->header = DRP_SLICE(hstart, (size_t)(cur - hstart));
			m->body = DRP_SLICE(cur + n, (size_t)(end - cur - n));
			m->has_body = 1;
			return;
		}
		cur += n;
	}
	m->header = DRP_SLICE(hstart, (size_t)(end - hstart));
	m->body = DRP_SLICE(end, 0);
}
