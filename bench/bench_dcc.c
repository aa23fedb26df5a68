/*
 * bench_dcc: single-core throughput of the DCC checksum engine (every
 * checksum dccproc -a -f computes: IP, env_From, From, Message-ID,
 * Received, Body, Fuz1, Fuz2, rep) over a set of messages, repeated for
 * about N seconds.  Usage: bench_dcc [-n SECONDS] FILE...
 * Prints messages/s, checksums/s and MB/s of input mail.
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

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct drp_envelope env = {.client_ip = "192.0.2.7", .env_from = "sender@example.com"};
	struct drp_dcc_cks *cks = malloc(sizeof(*cks));
	struct blob *v;
	double secs = 2, t0, t, best = 0;
	size_t bytes = 0;
	long msgs = 0, sums = 0, refused = 0;
	int i, n = 0, first = 1;
	char err[256];

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		secs = atof(argv[2]);
		first = 3;
	}
	if (argc <= first || cks == NULL) {
		fprintf(stderr, "usage: bench_dcc [-n SECONDS] FILE...\n");
		return 2;
	}
	v = calloc((size_t)(argc - first), sizeof(*v));
	for (i = first; i < argc; i++)
		if (load(argv[i], &v[n]) == 0)
			n++;
	if (n == 0) {
		fprintf(stderr, "bench_dcc: no messages\n");
		return 2;
	}
	t0 = now();
	do {
		/* one pass over the set; the best pass resists a busy machine */
		double p0 = now();
		size_t pb = 0;

		for (i = 0; i < n; i++) {
			if (drp_dcc_checksums(v[i].p, v[i].len, &env, NULL, cks, err,
			                      sizeof(err)) != DRP_DCC_OK)
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
	printf("dcc checksums: %d messages, %.1f MB mail in %.2f s: %.0f msg/s, %.0f checksums/s, "
	       "%.1f MB/s (best pass %.1f MB/s)%s\n",
	       n, bytes / 1e6, t, msgs / t, sums / t, bytes / t / 1e6, best / 1e6,
	       refused ? " [some refused]" : "");
	for (i = 0; i < n; i++)
		free(v[i].p);
	free(v);
	free(cks);
	return 0;
}
