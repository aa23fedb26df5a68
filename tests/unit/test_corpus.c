/* The whole tests/data corpus through the message layer, checking the
 * tree's invariants (every slice lies inside the message, parents precede
 * children, child counts add up, decoding never fails), then through the
 * three fingerprint engines, each of which must produce its fingerprints
 * or a stated refusal.  Under `make valgrind` this is the corpus walk. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcc_ck.h"
#include "hdr.h"
#include "mime.h"
#include "msg.h"
#include "pyzor_digest.h"
#include "razor_sig.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/data"
#endif

static int inside(struct drp_slice s, const uint8_t *p, size_t n)
{
	return s.len == 0 || (s.p >= p && s.p + s.len <= p + n);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)n + 1);
		if (p != NULL)
			*len = fread(p, 1, (size_t)n, f);
	}
	fclose(f);
	return p;
}

START_TEST(corpus_invariants)
{
	DIR *d = opendir(DATA_DIR);
	struct dirent *e;
	int files = 0;

	ck_assert_msg(d != NULL, "run from the repository root");
	while ((e = readdir(d)) != NULL) {
		char path[512];
		size_t len = 0;
		uint8_t *p;
		struct drp_msg m;
		struct drp_mime t;
		struct drp_buf b;
		int i, *kids;

		if (strstr(e->d_name, ".eml") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", DATA_DIR, e->d_name);
		p = slurp(path, &len);
		ck_assert_msg(p != NULL, "%s", path);
		files++;
		drp_msg_parse(p, len, &m);
		ck_assert(inside(m.header, p, len) && inside(m.body, p, len));
		ck_assert_uint_le(m.from_line.len + m.header.len + m.body.len, len);
		ck_assert_int_eq(drp_mime_parse(p, len, NULL, &t), 0);
		ck_assert_int_ge(t.n, 1);
		kids = calloc((size_t)t.n, sizeof(int));
		drp_buf_init(&b);
		for (i = 0; i < t.n; i++) {
			struct drp_mime_part *pt = &t.parts[i];

			ck_assert_msg(inside(pt->header, p, len) && inside(pt->body, p, len),
			              "%s part %d", e->d_name, i);
			ck_assert(pt->parent < i);
			ck_assert(i == 0 || pt->parent >= 0);
			if (pt->parent >= 0) {
				kids[pt->parent]++;
				ck_assert_int_eq(pt->depth, t.parts[pt->parent].depth + 1);
			}
			ck_assert(pt->type[0] && pt->subtype[0]);
			drp_buf_reset(&b);
			ck_assert_int_eq(drp_mime_part_text(pt, &b), 0);
		}
		for (i = 0; i < t.n; i++)
			ck_assert_int_eq(kids[i], t.parts[i].nchildren);
		{
			char hex[41], err[256];
			unsigned seen = 0;
			struct drp_razor_msg rm;
			struct drp_razor_sigs rs = {0};
			struct drp_dcc_cks cks;
			int rc;

			ck_assert_msg(drp_pyzor_digest(p, len, 0, hex, &seen, err, sizeof(err)) ==
			                  0,
			              "%s: pyzor: %s", e->d_name, err);
			ck_assert_uint_eq(strlen(hex), 40);
			ck_assert_msg(drp_razor_prepare(p, len, &rm, err, sizeof(err)) == 0,
			              "%s: razor: %s", e->d_name, err);
			ck_assert_int_ge(drp_razor_sign(&rm, DRP_RAZOR_E4 | DRP_RAZOR_E8, "7542-10",
			                                &rs, err, sizeof(err)),
			                 0);
			drp_razor_sigs_free(&rs);
			drp_razor_msg_free(&rm);
			rc = drp_dcc_checksums(p, len, NULL, NULL, &cks, err, sizeof(err));
			ck_assert_msg(rc == DRP_DCC_OK || (rc == DRP_DCC_REFUSED && err[0]),
			              "%s: dcc rc %d: %s", e->d_name, rc, err);
			ck_assert(rc != DRP_DCC_OK || cks.n > 0);
		}
		free(kids);
		drp_buf_free(&b);
		drp_mime_free(&t);
		free(p);
	}
	closedir(d);
	ck_assert_int_ge(files, 70);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("corpus");
	TCase *tc = tcase_create("walk");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, corpus_invariants);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
