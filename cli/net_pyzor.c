/*
 * net_pyzor: `drp <cmd> --network pyzor`.  digest prints what `pyzor
 * digest` prints (40 hex + newline; --predigest / --normalized print the
 * lines instead); check/report/revoke run one message through drp_pyzor_ops
 * on their own drp_loop and print {"pyzor":{...}}; `check --ping` and
 * `check --info` send those pyzor operations instead of check.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "evloop.h"
#include "netif.h"
#include "pyzor_client.h"
#include "pyzor_digest.h"

static void usage(FILE *f, const char *cmd)
{
	fprintf(f,
	        "usage: drp %s --network pyzor [--pyzor-home DIR] [--server HOST[:PORT],...]\n"
	        "       [--timeout SEC] [--nul-rule] [--predigest|--normalized] [--ping|--info]\n"
	        "       < message\n"
	        "config keys: pyzor_home pyzor_servers pyzor_user pyzor_key pyzor_timeout\n"
	        "             pyzor_report_threshold pyzor_whitelist_threshold pyzor_nul_rule\n"
	        "             pyzor_enable backend_timeout (see docs/pyzor.md)\n",
	        cmd);
}

enum { SHOW_DIGEST, SHOW_PREDIGEST, SHOW_NORMALIZED };

struct opts {
	int show;
	int pyop;         /* -1: from the command */
	int request_only; /* print the datagram instead of sending it */
	const char *digest, *thread, *time;
};

static int parse_opts(int argc, char **argv, struct drp_config *cfg, struct opts *o)
{
	static const struct option lo[] = {
	    {"pyzor-home", required_argument, NULL, 'H'},
	    {"server", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"nul-rule", no_argument, NULL, 'N'},
	    {"predigest", no_argument, NULL, 'p'},
	    {"normalized", no_argument, NULL, 'n'},
	    {"ping", no_argument, NULL, 'P'},
	    {"info", no_argument, NULL, 'I'},
	    {"request-only", no_argument, NULL, 'R'},
	    {"digest", required_argument, NULL, 'D'},
	    {"thread", required_argument, NULL, 'T'},
	    {"time", required_argument, NULL, 'W'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key, *val;
	int c;

	memset(o, 0, sizeof(*o));
	o->show = SHOW_DIGEST;
	o->pyop = -1;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		key = NULL;
		val = optarg;
		switch (c) {
		case 'H':
			key = "pyzor_home";
			break;
		case 's':
			key = "pyzor_servers";
			break;
		case 't':
			key = "pyzor_timeout";
			break;
		case 'N':
			key = "pyzor_nul_rule";
			val = "1";
			break;
		case 'p':
			o->show = SHOW_PREDIGEST;
			break;
		case 'n':
			o->show = SHOW_NORMALIZED;
			break;
		case 'P':
			o->pyop = DRP_PYZOR_PING;
			break;
		case 'I':
			o->pyop = DRP_PYZOR_INFO;
			break;
		case 'R':
			o->request_only = 1;
			break;
		case 'D':
			o->digest = optarg;
			break;
		case 'T':
			o->thread = optarg;
			break;
		case 'W':
			o->time = optarg;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 1;
		default:
			usage(stderr, argv[0]);
			return -1;
		}
		if (key != NULL && drp_config_set_flag(cfg, key, val) < 0) {
			fprintf(stderr, "drp: out of memory\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drp: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void print_lines(const struct drp_pyzor_lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct drp_slice s = drp_pyzor_line(l, i);

		fwrite(s.p, 1, s.len, stdout);
		putchar('\n');
	}
}

static int digest(struct drp_slice msg, struct drp_config *cfg, const struct opts *o)
{
	struct drp_pyzor_lines norm, fed;
	unsigned flags = 0, seen = 0;
	char hex[41], err[160];
	int nul = 0, rc = 0;

	if (drp_config_bool(cfg, "pyzor_nul_rule", 0, &nul, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s\n", err);
		return 2;
	}
	if (nul)
		flags |= DRP_PYZOR_NUL_RULE;
	if (o->show == SHOW_DIGEST) {
		if (drp_pyzor_digest(msg.p, msg.len, flags, hex, &seen, err, sizeof(err)) < 0) {
			fprintf(stderr, "drp: %s\n", err);
			return 2;
		}
		printf("%s\n", hex);
	} else {
		drp_pyzor_lines_init(&norm);
		drp_pyzor_lines_init(&fed);
		if (drp_pyzor_normalized(msg.p, msg.len, flags, &norm, &seen, err, sizeof(err)) <
		        0 ||
		    drp_pyzor_sample(&norm, &fed) < 0) {
			fprintf(stderr, "drp: pyzor: out of memory\n");
			rc = 2;
		} else {
			print_lines(o->show == SHOW_PREDIGEST ? &fed : &norm);
		}
		drp_pyzor_lines_free(&norm);
		drp_pyzor_lines_free(&fed);
	}
	if (seen & DRP_PYZOR_SAW_HTML_CRASH)
		fprintf(stderr, "drp: pyzor: note: pyzor 1.0.0 crashes on this message's HTML "
		                "(`<![` + unknown keyword); the text before it was used\n");
	return rc;
}

/* --request-only: the signed datagram drp would send, as written by
 * drp_pyzor_build_request, with the account of pyzor_user/pyzor_key (or
 * anonymous) and optional fixed thread/time/digest, on stdout. */
static int request_only(enum drp_op op, struct drp_slice msg, struct drp_config *cfg,
                        const struct opts *o)
{
	struct drp_pyzor_account acct;
	const char *user = drp_config_get(cfg, "pyzor_user");
	const char *key = drp_config_get(cfg, "pyzor_key");
	enum drp_pyzor_op pop;
	char hex[41], err[160];
	uint8_t pkt[1024];
	long long now = (long long)time(NULL);
	unsigned thread = 1024;
	int n;

	memset(&acct, 0, sizeof(acct));
	if (user != NULL && *user) {
		snprintf(acct.user, sizeof(acct.user), "%s", user);
		snprintf(acct.key, sizeof(acct.key), "%s", key ? key : "");
	}
	if (o->pyop >= 0)
		pop = (enum drp_pyzor_op)o->pyop;
	else
		pop = op == DRP_OP_CHECK    ? DRP_PYZOR_CHECK
		      : op == DRP_OP_REPORT ? DRP_PYZOR_REPORT
		                            : DRP_PYZOR_WHITELIST;
	if (o->thread)
		thread = (unsigned)strtoul(o->thread, NULL, 10);
	if (o->time)
		now = strtoll(o->time, NULL, 10);
	if (o->digest) {
		snprintf(hex, sizeof(hex), "%s", o->digest);
	} else if (drp_pyzor_digest(msg.p, msg.len, 0, hex, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp: %s\n", err);
		return 2;
	}
	n = drp_pyzor_build_request(pop, hex, thread, &acct, now, pkt, sizeof(pkt));
	if (n < 0) {
		fprintf(stderr, "drp: pyzor: request too long\n");
		return 2;
	}
	fwrite(pkt, 1, (size_t)n, stdout);
	return 0;
}

static int run(const char *cmd, enum drp_op op, struct drp_slice msg, struct drp_config *cfg,
               const struct opts *o)
{
	const struct drp_net_ops *ops = &drp_pyzor_ops;
	struct drp_pyzor_result *res = NULL;
	struct json_object *top, *obj;
	struct drp_loop *loop = NULL;
	void *ctx = NULL, *req;
	char err[256] = "";
	int rc = 2;

	if (ops->ctx_new(cfg, &ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp: pyzor: %s\n", err);
		return 2;
	}
	if (!ops->enabled(ctx)) {
		fprintf(stderr, "drp: pyzor is disabled (pyzor_enable)\n");
		ops->ctx_free(ctx);
		return 2;
	}
	loop = drp_loop_new();
	res = calloc(1, sizeof(*res));
	if (loop == NULL || res == NULL) {
		fprintf(stderr, "drp: out of memory\n");
		goto out;
	}
	if (o->pyop >= 0) {
		char hex[41] = "";

		if (o->pyop == DRP_PYZOR_INFO &&
		    drp_pyzor_digest(msg.p, msg.len, drp_pyzor_ctx_flags(ctx), hex, NULL, err,
		                     sizeof(err)) < 0) {
			fprintf(stderr, "drp: %s\n", err);
			goto out;
		}
		req = drp_pyzor_start_op(loop, ctx, (enum drp_pyzor_op)o->pyop, hex, res);
	} else {
		req = ops->start(loop, ctx, op, msg.p, msg.len, NULL, res);
	}
	if (req != NULL) {
		/* the client's own timer ends the exchange; the loop deadline is a
		 * backstop */
		drp_loop_run(loop, drp_now_ms() + (uint64_t)drp_pyzor_ctx_timeout(ctx) + 1000);
		ops->finish(req);
	}
	top = json_object_new_object();
	obj = json_object_new_object();
	ops->result_json(res, o->pyop >= 0 ? DRP_OP_REPORT : op, obj);
	if (o->pyop == DRP_PYZOR_PING || o->pyop == DRP_PYZOR_INFO)
		json_object_object_add(
		    obj, "op", json_object_new_string(o->pyop == DRP_PYZOR_PING ? "ping" : "info"));
	json_object_object_add(top, "pyzor", obj);
	printf("%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN));
	json_object_put(top);
	if (res->net.status != DRP_ST_OK)
		rc = 2;
	else if (op == DRP_OP_CHECK && o->pyop < 0)
		rc = ops->listed(res) ? 0 : 1;
	else
		rc = 0;
	(void)cmd;
out:
	free(res);
	drp_loop_free(loop);
	ops->ctx_free(ctx);
	return rc;
}

int drp_cli_pyzor(const char *cmd, int argc, char **argv, struct drp_slice msg,
                  struct drp_config *cfg)
{
	struct opts o;
	enum drp_op op;
	int prc;

	prc = parse_opts(argc, argv, cfg, &o);
	if (prc != 0)
		return prc > 0 ? 0 : 2;
	if (strcmp(cmd, "digest") == 0)
		return digest(msg, cfg, &o);
	if (strcmp(cmd, "check") == 0)
		op = DRP_OP_CHECK;
	else if (strcmp(cmd, "report") == 0)
		op = DRP_OP_REPORT;
	else if (strcmp(cmd, "revoke") == 0)
		op = DRP_OP_REVOKE;
	else {
		fprintf(stderr, "drp: %s --network pyzor: unknown command\n", cmd);
		return 2;
	}
	if (o.pyop >= 0 && op != DRP_OP_CHECK) {
		fprintf(stderr, "drp: --ping/--info go with the check command\n");
		return 2;
	}
	if (o.request_only)
		return request_only(op, msg, cfg, &o);
	return run(cmd, op, msg, cfg, &o);
}
