/*
 * net_razor_digest: `drp digest --network razor` -- the signatures
 * razor-agents 2.85 would send for the message on stdin, one
 * "PART<TAB>ENGINE<TAB>SIGNATURE" line each, in its query order.
 *
 * --show parts|sums|prepared|vr4|vr8|header prints the intermediate texts
 * instead (for diffing against the reference): `parts` one row per part
 * (part, prepared length, VR8 and VR4 cleaned lengths, used/skipped),
 * `sums` the same plus the SHA-1 of each text, after one row per message
 * with its prepared header;
 * the others the raw bytes, of one part with --part N, else of every part
 * after a "== part N len L" line.  Nothing is written anywhere but stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "razor_sig.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: drp digest --network razor [--ep4 SEED-SEP] [--engines 4,8]\n"
	           "       [--show parts|sums|prepared|vr4|vr8|header [--part N]] < message\n");
}

static struct drp_slice shown(const struct drp_razor_msg *m, size_t i, const char *what)
{
	const struct drp_razor_part *pt = &m->parts[i];

	if (!strcmp(what, "prepared"))
		return DRP_SLICE(pt->prepared.p, pt->prepared.len);
	if (!strcmp(what, "vr4"))
		return pt->vr4;
	return pt->vr8;
}

static const char *sha1_hex(struct drp_slice b, char hex[41])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(b.p ? (const void *)b.p : "", b.len, md, &n, EVP_sha1(), NULL) != 1)
		n = 0;
	drp_hex(md, n, hex);
	return hex;
}

static int show(const struct drp_razor_msg *m, const char *what, const char *part)
{
	char id[32], h1[41], h2[41], h3[41];
	size_t i;

	if (!strcmp(what, "sums")) {
		for (i = 0; i < m->nmails; i++)
			printf(
			    "mail\t%zu\t%zu\t%s\n", i + 1, m->mails[i].header.len,
			    sha1_hex(DRP_SLICE(m->mails[i].header.p, m->mails[i].header.len), h1));
		for (i = 0; i < m->nparts; i++) {
			const struct drp_razor_part *pt = &m->parts[i];

			drp_razor_part_id(m, i, id, sizeof(id));
			printf("%s\t%zu\t%zu\t%zu\t%s\t%s\t%s\t%s\n", id, pt->prepared.len,
			       pt->vr8.len, pt->vr4.len, pt->skipped ? "skipped" : "used",
			       sha1_hex(DRP_SLICE(pt->prepared.p, pt->prepared.len), h1),
			       sha1_hex(pt->vr8, h2), sha1_hex(pt->vr4, h3));
		}
		return 0;
	}

	if (!strcmp(what, "parts")) {
		for (i = 0; i < m->nparts; i++) {
			const struct drp_razor_part *pt = &m->parts[i];

			drp_razor_part_id(m, i, id, sizeof(id));
			printf("%s\t%zu\t%zu\t%zu\t%s\n", id, pt->prepared.len, pt->vr8.len,
			       pt->vr4.len, pt->skipped ? "skipped" : "used");
		}
		return 0;
	}
	if (!strcmp(what, "header")) {
		for (i = 0; i < m->nmails; i++) {
			if (m->nmails > 1)
				printf("== mail %zu len %zu\n", i + 1, m->mails[i].header.len);
			fwrite(m->mails[i].header.p, 1, m->mails[i].header.len, stdout);
		}
		return 0;
	}
	if (strcmp(what, "prepared") && strcmp(what, "vr4") && strcmp(what, "vr8")) {
		fprintf(stderr, "drp: --show: unknown text '%s'\n", what);
		return 2;
	}
	for (i = 0; i < m->nparts; i++) {
		struct drp_slice b = shown(m, i, what);

		drp_razor_part_id(m, i, id, sizeof(id));
		if (part != NULL) {
			if (strcmp(part, id))
				continue;
			fwrite(b.p, 1, b.len, stdout);
			return 0;
		}
		printf("== part %s len %zu\n", id, b.len);
		fwrite(b.p, 1, b.len, stdout);
		putchar('\n');
	}
	if (part != NULL) {
		fprintf(stderr, "drp: no part %s\n", part);
		return 2;
	}
	return 0;
}

int drp_cli_razor_digest(int argc, char **argv, struct drp_slice msg, struct drp_config *cfg)
{
	static const struct option longopts[] = {
	    {"ep4", required_argument, NULL, 'e'},  {"engines", required_argument, NULL, 'E'},
	    {"show", required_argument, NULL, 's'}, {"part", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	const char *ep4 = DRP_RAZOR_DEFAULT_EP4, *what = NULL, *part = NULL;
	unsigned engines = DRP_RAZOR_E4 | DRP_RAZOR_E8;
	struct drp_razor_msg m;
	struct drp_razor_sigs sigs = {NULL, 0, 0};
	char err[256], id[32];
	size_t i;
	int c, rc;

	(void)cfg;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			ep4 = optarg;
			break;
		case 'E':
			engines = 0;
			if (strchr(optarg, '4'))
				engines |= DRP_RAZOR_E4;
			if (strchr(optarg, '8'))
				engines |= DRP_RAZOR_E8;
			break;
		case 's':
			what = optarg;
			break;
		case 'p':
			part = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "drp: digest --network razor: bad option '%s'\n",
			        argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (drp_razor_prepare(msg.p, msg.len, &m, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s\n", err);
		drp_razor_msg_free(&m);
		return 2;
	}
	if (what != NULL) {
		rc = show(&m, what, part);
		drp_razor_msg_free(&m);
		return rc;
	}
	if (drp_razor_sign(&m, engines, ep4, &sigs, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s\n", err);
		drp_razor_msg_free(&m);
		return 2;
	}
	for (i = 0; i < sigs.n; i++) {
		drp_razor_part_id(&m, sigs.v[i].part, id, sizeof(id));
		printf("%s\t%d\t%s\n", id, sigs.v[i].engine, sigs.v[i].s);
	}
	drp_razor_sigs_free(&sigs);
	drp_razor_msg_free(&m);
	return fflush(stdout) == 0 ? 0 : 2;
}
