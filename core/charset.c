/* charset: see charset.h.  iconv descriptors are opened per call: mail
 * charsets vary per part and caching them would be global mutable state. */
#include "charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

static const uint8_t replacement[] = {0xef, 0xbf, 0xbd};

size_t drp_utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (n >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

static int utf8_copy(const uint8_t *in, size_t n, struct drp_buf *out)
{
	size_t i = 0;

	if (drp_buf_reserve(out, n) < 0)
		return -1;
	while (i < n) {
		size_t run = i, k;

		while (run < n && in[run] < 0x80)
			run++;
		if (run > i) {
			if (drp_buf_append(out, in + i, run - i) < 0)
				return -1;
			i = run;
			if (i >= n)
				break;
		}
		k = drp_utf8_seq(in + i, n - i);
		if (k == 0) {
			if (drp_buf_append(out, replacement, 3) < 0)
				return -1;
			i++;
		} else {
			if (drp_buf_append(out, in + i, k) < 0)
				return -1;
			i += k;
		}
	}
	return 0;
}

/* Copy the name, trimmed, without quotes or an RFC 2231 "*lang" part. */
static void norm_name(const char *cs, char *out, size_t outlen)
{
	size_t i = 0;

	while (*cs == ' ' || *cs == '\t' || *cs == '"' || *cs == '\'')
		cs++;
	while (*cs && *cs != '*' && *cs != '"' && *cs != '\'' && *cs != ' ' && *cs != '\t' &&
	       i + 1 < outlen)
		out[i++] = *cs++;
	out[i] = 0;
}

static int is_utf8_name(const char *n)
{
	return !strcasecmp(n, "utf-8") || !strcasecmp(n, "utf8") || !strcasecmp(n, "us-ascii") ||
	       !strcasecmp(n, "ascii") || !strcasecmp(n, "ansi_x3.4-1968");
}

static iconv_t open_cd(const char *name)
{
	char tmp[80];

	if (*name == 0)
		return (iconv_t)-1;
	snprintf(tmp, sizeof(tmp), "%s", name);
	return iconv_open("UTF-8", tmp);
}

int drp_charset_known(const char *charset)
{
	char name[64];
	iconv_t cd;

	norm_name(charset ? charset : "", name, sizeof(name));
	if (is_utf8_name(name))
		return 1;
	cd = open_cd(name);
	if (cd == (iconv_t)-1)
		return 0;
	iconv_close(cd);
	return 1;
}

int drp_charset_to_utf8(const char *charset, const uint8_t *in, size_t n, struct drp_buf *out)
{
	char name[64];
	iconv_t cd;
	char *ip = (char *)(uintptr_t)in;
	size_t il = n;

	norm_name(charset ? charset : "", name, sizeof(name));
	if (is_utf8_name(name))
		return utf8_copy(in, n, out);
	cd = open_cd(name);
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", "WINDOWS-1252");
	if (cd == (iconv_t)-1)
		return utf8_copy(in, n, out);
	while (il > 0) {
		char *op;
		size_t ol, r;

		if (drp_buf_reserve(out, il * 4 + 16) < 0) {
			iconv_close(cd);
			return -1;
		}
		op = (char *)out->p + out->len;
		ol = out->cap - out->len - 1;
		r = iconv(cd, &ip, &il, &op, &ol);
		out->len = (size_t)((uint8_t *)op - out->p);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		/* EILSEQ or EINVAL (truncated tail): replace one byte, go on */
		if (drp_buf_append(out, replacement, 3) < 0) {
			iconv_close(cd);
			return -1;
		}
		ip++;
		il--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* flush shift state (ISO-2022) */
	{
		char *op;
		size_t ol;

		if (drp_buf_reserve(out, 16) == 0) {
			op = (char *)out->p + out->len;
			ol = out->cap - out->len - 1;
			iconv(cd, NULL, NULL, &op, &ol);
			out->len = (size_t)((uint8_t *)op - out->p);
		}
	}
	iconv_close(cd);
	return 0;
}
