/*
 * bench_pyzor: pyzor digest throughput, single core.
 *   bench_pyzor corpus SECONDS FILE...   msg/s and MB/s over the files
 *   bench_pyzor large SECONDS             MB/s on large synthetic messages
 *   bench_pyzor exchange N FILE SERVERS    CPU per `check` request of this
 *       process (digest + UDP exchange with SERVERS, e.g. a loopback pyzord),
 *       and of the digest alone: the Pyzor share of the service's miss path
 * Prints "key value" lines for bench/pyzor.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "evloop.h"
#include "netif.h"
#include "pyzor_client.h"
#include "pyzor_digest.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct msg {
	unsigned char *p;
	size_t n;
};

static int load(const char *path, struct msg *m)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0) {
		if (f)
			fclose(f);
		return -1;
	}
	rewind(f);
	m->p = malloc((size_t)n + 1);
	m->n = m->p ? fread(m->p, 1, (size_t)n, f) : 0;
	fclose(f);
	return m->p ? 0 : -1;
}

/* digest every message in turn until `secs` pass; returns digests done */
static long run(struct msg *ms, int n, double secs, double *elapsed, size_t *bytes)
{
	double t0 = now_s(), t;
	long done = 0;
	char hex[41], err[128];

	*bytes = 0;
	do {
		int i;

		for (i = 0; i < n; i++) {
			if (drp_pyzor_digest(ms[i].p, ms[i].n, 0, hex, NULL, err, sizeof(err)) <
			    0) {
				fprintf(stderr, "bench_pyzor: %s\n", err);
				exit(1);
			}
			*bytes += ms[i].n;
			done++;
		}
		t = now_s() - t0;
	} while (t < secs);
	*elapsed = t;
	return done;
}

/* A large text/plain body of ordinary words, and one with a big base64
 * attachment (the usual shape of a large mail). */
static void synth(struct msg *m, int kind, size_t size)
{
	static const char *words[] = {"hello", "world", "cheap", "offer",  "click", "here",
	                              "money", "free",  "dear",  "friend", "now",   "today"};
	size_t o = 0, i = 0;

	m->p = malloc(size + 256);
	if (kind == 0) {
		o += (size_t)sprintf((char *)m->p, "Subject: big\nContent-Type: text/plain\n\n");
		while (o < size) {
			o += (size_t)sprintf((char *)m->p + o, "%s%s", words[(i * 7 + i / 13) % 12],
			                     (i % 11 == 10) ? "\n" : " ");
			i++;
		}
	} else {
		o += (size_t)sprintf(
		    (char *)m->p, "Subject: big\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		                  "Content-Type: text/plain\n\nsee the attached file please\n--b\n"
		                  "Content-Type: application/pdf\nContent-Transfer-Encoding: "
		                  "base64\n\n");
		while (o < size) {
			for (int k = 0; k < 76; k++)
				m->p[o++] =
				    (unsigned char)("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
				                    "u"
				                    "vwxyz0123456789+/"[(i * 31 + (size_t)k * 7) %
				                                        64]);
			m->p[o++] = '\n';
			i++;
		}
		o += (size_t)sprintf((char *)m->p + o, "--b--\n");
	}
	m->n = o;
}

/* N check requests as the service's fan-out makes them (start, loop,
 * finish on one long-lived ctx and loop); CPU time per request. */
static int exchange(long n, const char *file, const char *servers)
{
	struct drp_config *cfg = drp_config_new();
	struct drp_loop *loop = drp_loop_new();
	struct drp_pyzor_result res;
	struct msg m;
	void *ctx = NULL;
	char err[256], hex[41];
	double t0, dig, req;
	long i, ok = 0;

	if (cfg == NULL || loop == NULL || load(file, &m) < 0) {
		fprintf(stderr, "bench_pyzor: cannot set up\n");
		return 1;
	}
	drp_config_set_flag(cfg, "pyzor_servers", servers);
	drp_config_set_flag(cfg, "pyzor_home", "/nonexistent");
	drp_config_set_flag(cfg, "pyzor_timeout", "2");
	if (drp_pyzor_ops.ctx_new(cfg, &ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_pyzor: %s\n", err);
		return 1;
	}
	{
		/* the digest alone, as the request path computes it */
		struct drp_pyzor_digester *d = drp_pyzor_digester_new();

		t0 = now_s();
		for (i = 0; i < n && d != NULL; i++)
			drp_pyzor_digest_with(d, m.p, m.n, 0, hex, NULL, err, sizeof(err));
		dig = (now_s() - t0) / (double)n;
		drp_pyzor_digester_free(d);
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		void *r;

		memset(&res, 0, sizeof(res));
		r = drp_pyzor_ops.start(loop, ctx, DRP_OP_CHECK, m.p, m.n, NULL, &res);
		if (r != NULL) {
			drp_loop_run(loop, drp_now_ms() + 2000);
			drp_pyzor_ops.finish(r);
		}
		ok += res.net.status == DRP_ST_OK;
	}
	req = (now_s() - t0) / (double)n;
	printf("requests %ld\nanswered %ld\nbytes %zu\ndigest_us %.1f\nrequest_us %.1f\n"
	       "exchange_us %.1f\n",
	       n, ok, m.n, dig * 1e6, req * 1e6, (req - dig) * 1e6);
	drp_pyzor_ops.ctx_free(ctx);
	drp_loop_free(loop);
	drp_config_free(cfg);
	free(m.p);
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	double secs, el;
	size_t bytes;
	long done;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_pyzor corpus|large SECONDS [FILE...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "exchange") && argc == 5)
		return exchange(atol(argv[2]), argv[3], argv[4]);
	secs = atof(argv[2]);
	if (!strcmp(argv[1], "corpus")) {
		int n = argc - 3, i, k = 0;
		struct msg *ms = calloc((size_t)n + 1, sizeof(*ms));

		for (i = 0; i < n; i++)
			if (load(argv[3 + i], &ms[k]) == 0)
				k++;
		done = run(ms, k, secs, &el, &bytes);
		printf("messages %d\nmsg_per_s %.0f\nmb_per_s %.1f\n", k, (double)done / el,
		       (double)bytes / el / 1e6);
		return 0;
	}
	for (int kind = 0; kind < 2; kind++) {
		struct msg m;

		synth(&m, kind, 16u << 20);
		done = run(&m, 1, secs, &el, &bytes);
		printf("%s_mb_per_s %.1f\n", kind ? "large_attachment" : "large_text",
		       (double)bytes / el / 1e6);
		free(m.p);
	}
	return 0;
}
