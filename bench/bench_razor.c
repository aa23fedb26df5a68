/*
 * bench_razor: the razor signature engines, single core, in-process.
 *
 *   bench_razor [-t SECONDS] [-e EP4] FILE...   corpus rate: every file in
 *       turn (prepare + sign, engines 4 and 8) until SECONDS have passed;
 *       prints messages/s, signatures/s and MB/s.
 *   bench_razor -L MB [-t SECONDS]   large synthetic messages (one text part,
 *       and a multipart of 50 KiB HTML/base64/QP parts), MB/s for each.
 *   bench_razor -L MB -D   writes the large multipart message to stdout.
 *
 * Time is this process's CPU time, so a busy machine does not skew the
 * comparison with the Perl side.  Output lines are "key value" pairs for
 * bench/razor_sig.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "razor_sig.h"

struct msgbuf {
	uint8_t *p;
	size_t n;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, struct msgbuf *m)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		if (f)
			fclose(f);
		return -1;
	}
	m->n = (size_t)n;
	m->p = malloc(m->n + 1);
	if (m->p == NULL || fread(m->p, 1, m->n, f) != m->n) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* One message through the whole pipeline; returns the signature count. */
static long one(const struct msgbuf *m, const char *ep4)
{
	struct drp_razor_msg rm;
	struct drp_razor_sigs s = {NULL, 0, 0};
	char err[256];
	long n = 0;

	if (drp_razor_prepare(m->p, m->n, &rm, err, sizeof(err)) == 0 &&
	    drp_razor_sign(&rm, DRP_RAZOR_E4 | DRP_RAZOR_E8, ep4, &s, err, sizeof(err)) >= 0)
		n = (long)s.n;
	drp_razor_sigs_free(&s);
	drp_razor_msg_free(&rm);
	return n;
}

static void append(struct msgbuf *m, size_t *cap, const char *s, size_t n)
{
	if (m->n + n > *cap) {
		while (m->n + n > *cap)
			*cap *= 2;
		m->p = realloc(m->p, *cap);
		if (m->p == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	memcpy(m->p + m->n, s, n);
	m->n += n;
}
#define APPEND(m, cap, lit) append((m), (cap), lit, sizeof(lit) - 1)

/* Pseudo-random prose with URLs and HTML (fixed LCG, reproducible). */
static void prose(struct msgbuf *m, size_t *cap, size_t bytes, unsigned *seed, int html)
{
	static const char *const w[] = {"the ",  "offer ", "click ", "here ", "now ",    "money ",
	                                "free ", "best ",  "price ", "dear ", "friend ", "win "};
	size_t start = m->n, col = 0;
	char tmp[96];

	while (m->n - start < bytes) {
		*seed = *seed * 1103515245u + 12345u;
		unsigned r = (*seed >> 16) % 100;
		int k;

		if (r < 3)
			k = snprintf(tmp, sizeof(tmp), "http://www.host%u.example.com/p?q=%u ",
			             *seed % 977, *seed % 13);
		else if (r < 6 && html)
			k = snprintf(tmp, sizeof(tmp), "<a href=\"http://l%u.example.org/\">x</a> ",
			             *seed % 31);
		else if (r < 9 && html)
			k = snprintf(tmp, sizeof(tmp), "<b>&amp;</b> ");
		else
			k = snprintf(tmp, sizeof(tmp), "%s", w[r % 12]);
		append(m, cap, tmp, (size_t)k);
		col += (size_t)k;
		if (col > 70) {
			APPEND(m, cap, "\n");
			col = 0;
		}
	}
	APPEND(m, cap, "\n");
}

static void make_large(struct msgbuf *m, size_t mb, int multipart)
{
	size_t cap = 1 << 20, target = mb << 20;
	unsigned seed = 42;
	int part = 0;

	m->n = 0;
	m->p = malloc(cap);
	APPEND(m, &cap, "From: a@example.com\nTo: b@example.com\nSubject: large\n");
	if (!multipart) {
		APPEND(m, &cap, "Content-Type: text/plain\n\n");
		prose(m, &cap, target, &seed, 0);
		return;
	}
	APPEND(m, &cap,
	       "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=_b\"\n\n"
	       "preamble\n");
	while (m->n < target) {
		switch (part++ % 3) {
		case 0:
			APPEND(m, &cap, "--=_b\nContent-Type: text/html\n\n");
			prose(m, &cap, 50000, &seed, 1);
			break;
		case 1: {
			/* base64 of prose */
			static const char b64[] =
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			struct msgbuf t = {NULL, 0};
			size_t tc = 1 << 16, i;
			char line[80];
			int col = 0;

			t.p = malloc(tc);
			prose(&t, &tc, 37000, &seed, 0);
			APPEND(m, &cap,
			       "--=_b\nContent-Type: text/plain\n"
			       "Content-Transfer-Encoding: base64\n\n");
			for (i = 0; i + 3 <= t.n; i += 3) {
				unsigned v =
				    (unsigned)t.p[i] << 16 | (unsigned)t.p[i + 1] << 8 | t.p[i + 2];

				line[col++] = b64[v >> 18];
				line[col++] = b64[(v >> 12) & 63];
				line[col++] = b64[(v >> 6) & 63];
				line[col++] = b64[v & 63];
				if (col == 76) {
					line[col++] = '\n';
					append(m, &cap, line, (size_t)col);
					col = 0;
				}
			}
			line[col++] = '\n';
			append(m, &cap, line, (size_t)col);
			free(t.p);
			break;
		}
		default:
			APPEND(m, &cap,
			       "--=_b\nContent-Type: text/plain; charset=iso-8859-1\n"
			       "Content-Transfer-Encoding: quoted-printable\n\n");
			prose(m, &cap, 50000, &seed, 0);
			break;
		}
	}
	APPEND(m, &cap, "--=_b--\n");
}

int main(int argc, char **argv)
{
	double secs = 3, t0, t;
	const char *ep4 = DRP_RAZOR_DEFAULT_EP4;
	size_t large = 0, nm, i, bytes = 0;
	struct msgbuf *ms;
	long msgs = 0, sigs = 0;
	int c, dump = 0;

	while ((c = getopt(argc, argv, "t:e:L:D")) != -1) {
		switch (c) {
		case 't':
			secs = atof(optarg);
			break;
		case 'e':
			ep4 = optarg;
			break;
		case 'L':
			large = (size_t)atol(optarg);
			break;
		case 'D':
			dump = 1;
			break;
		default:
			fprintf(stderr, "usage: bench_razor [-t SECS] [-e EP4] FILE... | -L MB\n");
			return 2;
		}
	}
	if (large && dump) {
		struct msgbuf m;

		make_large(&m, large, 1);
		fwrite(m.p, 1, m.n, stdout);
		free(m.p);
		return 0;
	}
	if (large) {
		int mp;

		for (mp = 0; mp < 2; mp++) {
			struct msgbuf m;
			long it = 0;

			make_large(&m, large, mp);
			t0 = now();
			do {
				sigs = one(&m, ep4);
				it++;
			} while ((t = now() - t0) < secs);
			printf("large_%s_bytes %zu\n", mp ? "multipart" : "text", m.n);
			printf("large_%s_sigs %ld\n", mp ? "multipart" : "text", sigs);
			printf("large_%s_mb_per_s %.1f\n", mp ? "multipart" : "text",
			       (double)m.n * (double)it / t / 1e6);
			free(m.p);
		}
		return 0;
	}
	nm = (size_t)(argc - optind);
	if (nm == 0) {
		fprintf(stderr, "bench_razor: no files\n");
		return 2;
	}
	ms = calloc(nm, sizeof(*ms));
	for (i = 0; i < nm; i++)
		if (load(argv[optind + (int)i], &ms[i]) < 0) {
			perror(argv[optind + (int)i]);
			return 2;
		}
	t0 = now();
	do {
		for (i = 0; i < nm; i++) {
			sigs += one(&ms[i], ep4);
			bytes += ms[i].n;
		}
		msgs += (long)nm;
	} while ((t = now() - t0) < secs);
	printf("messages %ld\nsignatures %ld\nseconds %.3f\n", msgs, sigs, t);
	printf("msgs_per_s %.0f\nsigs_per_s %.0f\nmb_per_s %.1f\n", (double)msgs / t,
	       (double)sigs / t, (double)bytes / t / 1e6);
	for (i = 0; i < nm; i++)
		free(ms[i].p);
	free(ms);
	return 0;
}
