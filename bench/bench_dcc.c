/*
 * bench_dcc: single-core throughput of the DCC checksum engine (every
 * checksum dccproc -a -f computes: IP, env_From, From, Message-ID,
 * Received, Body, Fuz1, Fuz2, rep) over a set of messages, repeated for
 * about N seconds, then over a synthetic message carrying a 5 MB base64
 * attachment.  The corpus runs twice: through drp_dcc_checksums(), and
 * through one drp_dcc_ck_ctx kept across messages as a worker keeps it.
 * Usage: bench_dcc [-n SECONDS] FILE...
 * Prints messages/s, checksums/s and MB/s of input mail; times are CPU
 * time of this process, so a busy machine slows the numbers less.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcc_ck.h"

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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ctx NULL: drp_dcc_checksums(), which sets up and tears down its state
 * per message; else the context kept across messages, as a worker would */
static void run(const char *label, const struct blob *v, int n, double secs,
                struct drp_dcc_ck_ctx *ctx)
{
	struct drp_envelope env = {.client_ip = "192.0.2.7", .env_from = "sender@example.com"};
	struct drp_dcc_cks *cks = malloc(sizeof(*cks));
	double t0, t, best = 0;
	size_t bytes = 0;
	long msgs = 0, sums = 0, refused = 0;
	char err[256];
	int i;

	if (cks == NULL)
		return;
	t0 = now();
	do {
		/* one pass over the set; the best pass resists a busy machine */
		double p0 = now();
		size_t pb = 0;

		for (i = 0; i < n; i++) {
			int rc = ctx ? drp_dcc_checksums_ctx(ctx, v[i].p, v[i].len, &env, NULL, cks,
			                                     err, sizeof(err))
			             : drp_dcc_checksums(v[i].p, v[i].len, &env, NULL, cks, err,
			                                 sizeof(err));

			if (rc != DRP_DCC_OK)
				refused++;
			sums += cks->n;
			pb += v[i].len;
			msgs++;
		}
		bytes += pb;
		t = now() - p0;
		if (t > 0 && pb / t > best)
			best = pb / t;
	} while (now() - t0 < secs);
	t = now() - t0;
	printf("dcc checksums, %s: %d message(s), %.1f MB in %.2f s CPU: %.0f msg/s, %.0f "
	       "checksums/s, %.1f MB/s (best pass %.1f MB/s)%s\n",
	       label, n, bytes / 1e6, t, msgs / t, sums / t, bytes / t / 1e6, best / 1e6,
	       refused ? " [refusals included]" : "");
	free(cks);
}

/* a text part and a 5 MB base64 attachment of pseudo-random bytes */
static void synth(struct blob *b)
{
	static const char head[] = "From: a@example.com\nSubject: attachment\nMIME-Version: 1.0\n"
	                           "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\n"
	                           "Content-Type: text/plain\n\nplease find the report attached\n"
	                           "\n--XX\nContent-Type: application/octet-stream\n"
	                           "Content-Transfer-Encoding: base64\n\n";
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t lines = 5 * 1024 * 1024 / 77, i, j, n = 0;
	uint32_t x = 2463534242u;

	b->p = malloc(sizeof(head) + lines * 77 + 16);
	if (b->p == NULL) {
		b->len = 0;
		return;
	}
	memcpy(b->p, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	for (i = 0; i < lines; i++) {
		for (j = 0; j < 76; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			b->p[n++] = (uint8_t)b64[x & 63];
		}
		b->p[n++] = '\n';
	}
	memcpy(b->p + n, "--XX--\n", 7);
	b->len = n + 7;
}

int main(int argc, char **argv)
{
	struct blob *v, att;
	struct drp_dcc_ck_ctx *ctx;
	double secs = 2;
	int i, n = 0, first = 1;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		secs = atof(argv[2]);
		first = 3;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: bench_dcc [-n SECONDS] FILE...\n");
		return 2;
	}
	v = calloc((size_t)(argc - first), sizeof(*v));
	for (i = first; v != NULL && i < argc; i++)
		if (load(argv[i], &v[n]) == 0)
			n++;
	if (n == 0) {
		fprintf(stderr, "bench_dcc: no messages\n");
		return 2;
	}
	ctx = drp_dcc_ck_ctx_new();
	if (ctx == NULL) {
		fprintf(stderr, "bench_dcc: no context\n");
		return 2;
	}
	run("corpus", v, n, secs, NULL);
	run("corpus, one context", v, n, secs, ctx);
	synth(&att);
	if (att.len)
		run("5 MB base64 attachment", &att, 1, secs, NULL);
	drp_dcc_ck_ctx_free(ctx);
	free(att.p);
	for (i = 0; i < n; i++)
		free(v[i].p);
	free(v);
	return 0;
}
