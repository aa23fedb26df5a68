/*
 * libFuzzer: the DCC checksum engine on arbitrary mail.  The seeds are the
 * messages of tests/data, so the fuzzer starts from real MIME structure.
 * The first input byte picks the dccproc options (-a, -f, -R, -S, --helo)
 * so the envelope and Received: parsers are reached too; with bit 7 the
 * message also goes through a context kept across inputs, which must give
 * the same checksums (no state leaks between messages).  Checks that a
 * result is either checksums in strictly ascending type order (substitute
 * extras at the end) or a refusal with a reason, never both.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcc_ck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_envelope env;
	struct drp_dcc_ck_opts opts;
	static struct drp_dcc_cks cks;
	char err[256], label[64];
	uint8_t sel;
	int rc, i, last = 0;

	if (size < 1)
		return 0;
	sel = data[0];
	memset(&env, 0, sizeof(env));
	memset(&opts, 0, sizeof(opts));
	if (sel & 1)
		env.client_ip = (sel & 2) ? "192.0.2.7" : "2001:db8::7";
	if (sel & 4)
		env.env_from = "<sender@example.com>";
	if (sel & 8)
		env.ip_from_received = 1;
	if (sel & 16) {
		opts.substitute[opts.n_substitute++] = "Subject";
		opts.substitute[opts.n_substitute++] = "+X-Mailer";
		opts.substitute[opts.n_substitute++] = "mail_host";
		opts.substitute[opts.n_substitute++] = "helo";
	}
	if (sel & 32)
		env.helo = "helo.example";
	if (sel & 64) {
		env.env_rcpt[0] = "rcpt@example.com";
		env.n_rcpt = 1;
	}
	err[0] = '\0';
	rc = drp_dcc_checksums(data + 1, size - 1, &env, &opts, &cks, err, sizeof(err));
	if (sel & 128) {
		/* a context kept across inputs must give what a fresh one
		 * gives: nothing of an earlier message may show */
		static struct drp_dcc_ck_ctx *ctx;
		static struct drp_dcc_cks again;

		if (ctx == NULL && (ctx = drp_dcc_ck_ctx_new()) == NULL)
			abort();
		if (drp_dcc_checksums_ctx(ctx, data + 1, size - 1, &env, &opts, &again, err,
		                          sizeof(err)) != rc ||
		    again.n != cks.n)
			abort();
		for (i = 0; i < cks.n; i++)
			if (again.ck[i].type != cks.ck[i].type ||
			    again.ck[i].report != cks.ck[i].report ||
			    strcmp(again.ck[i].sub_name, cks.ck[i].sub_name) != 0 ||
			    memcmp(again.ck[i].sum, cks.ck[i].sum, DRP_DCC_SUM_LEN) != 0)
				abort();
	}
	if (rc != DRP_DCC_OK) {
		if (cks.n != 0 || err[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; i < cks.n; i++) {
		int t = cks.ck[i].type;

		if (t < DRP_DCC_CK_IP || t > DRP_DCC_CK_ENV_TO)
			abort();
		/* ascending, except env_To repeats and the extra substitutes */
		if (t < last && t != DRP_DCC_CK_SUB)
			abort();
		if (t == last && t != DRP_DCC_CK_ENV_TO && t != DRP_DCC_CK_SUB)
			abort();
		last = t;
		if (strcmp(drp_dcc_ck_label(&cks.ck[i], label, sizeof(label)), "?") == 0)
			abort();
	}
	return 0;
}
