/*
 * bench_mime: single-core throughput of the message layer — MIME parse plus
 * transfer decode (and charset conversion of text parts) over a set of
 * messages, and over a synthetic message carrying a 5 MB base64 attachment.
 * Usage: bench_mime [-n SECONDS] FILE...   Prints MB/s of input mail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "evloop.h"
#include "mime.h"

struct blob {
	uint8_t *p;
	size_t len;
};

static int load(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b->p = malloc((size_t)n + 1);
	b->len = b->p ? fread(b->p, 1, (size_t)n, f) : 0;
	fclose(f);
	return b->p ? 0 : -1;
}

static size_t work(const struct blob *b, struct drp_buf *out)
{
	struct drp_mime t;
	size_t decoded = 0;
	int i;

	if (drp_mime_parse(b->p, b->len, NULL, &t) < 0)
		return 0;
	for (i = 0; i < t.n; i++) {
		if (strcmp(t.parts[i].type, "multipart") == 0)
			continue;
		drp_buf_reset(out);
		if (strcmp(t.parts[i].type, "text") == 0)
			drp_mime_part_text(&t.parts[i], out);
		else
			drp_mime_part_decode(&t.parts[i], out);
		decoded += out->len;
	}
	drp_mime_free(&t);
	return decoded;
}

static void run(const char *label, struct blob *v, int n, double secs)
{
	struct drp_buf out;
	uint64_t t0 = drp_now_ms(), t;
	size_t bytes = 0, iters = 0, sink = 0;
	int i;

	drp_buf_init(&out);
	do {
		for (i = 0; i < n; i++) {
			sink += work(&v[i], &out);
			bytes += v[i].len;
		}
		iters++;
		t = drp_now_ms();
	} while ((double)(t - t0) < secs * 1000.0);
	printf("%-28s %8.1f MB/s  %10.0f msg/s  (%zu passes, decoded %zu)\n", label,
	       (double)bytes / 1e6 / ((double)(t - t0) / 1000.0),
	       (double)(iters * (size_t)n) / ((double)(t - t0) / 1000.0), iters, sink / iters);
	drp_buf_free(&out);
}

int main(int argc, char **argv)
{
	double secs = 2.0;
	struct blob *v, big;
	struct drp_buf b, raw;
	int i = 1, n = 0;
	size_t k;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		secs = atof(argv[2]);
		i = 3;
	}
	v = calloc((size_t)argc, sizeof(*v));
	for (; i < argc; i++)
		if (load(argv[i], &v[n]) == 0)
			n++;
	if (n > 0)
		run("corpus (parse+decode)", v, n, secs);
	/* 5 MB attachment, 76-column base64 lines */
	drp_buf_init(&b);
	drp_buf_init(&raw);
	for (k = 0; k < 5u * 1024 * 1024; k++)
		drp_buf_putc(&raw, (uint8_t)(k * 2654435761u >> 13));
	drp_buf_printf(&b, "From: a@example.org\nSubject: big\nMIME-Version: 1.0\n"
	                   "Content-Type: multipart/mixed; boundary=\"zz\"\n\n--zz\n"
	                   "Content-Type: text/plain\n\nsee attachment\n--zz\n"
	                   "Content-Type: application/octet-stream\n"
	                   "Content-Transfer-Encoding: base64\n\n");
	{
		struct drp_buf enc;

		drp_buf_init(&enc);
		drp_b64_encode(raw.p, raw.len, &enc);
		for (k = 0; k < enc.len; k += 76) {
			drp_buf_append(&b, enc.p + k, enc.len - k < 76 ? enc.len - k : 76);
			drp_buf_putc(&b, '\n');
		}
		drp_buf_free(&enc);
	}
	drp_buf_printf(&b, "--zz--\n");
	big.p = b.p;
	big.len = b.len;
	run("5MB base64 attachment", &big, 1, secs);
	drp_buf_free(&b);
	drp_buf_free(&raw);
	for (i = 0; i < n; i++)
		free(v[i].p);
	free(v);
	return 0;
}
