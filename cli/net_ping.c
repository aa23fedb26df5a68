/*
 * net_ping: `drp ping` — is every configured server of every network
 * reachable, and how far away.  The networks are set up as a worker sets
 * them up at start (ctx_new: configuration, name resolution, identities;
 * not the between-requests refresh, whose RTT probing would spend the
 * budget twice), and all pings run at once on one drp_loop under one
 * deadline (backend_timeout, or --timeout), through the optional
 * ping_start / ping_finish ops; a network without them is listed as
 * unsupported.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_tools.h"
#include "evloop.h"
#include "netif.h"

#define PING_DEFAULT_TIMEOUT_MS 5000

struct ping_net {
	const struct drp_net_ops *ops;
	void *ctx;
	void *req;
	const char *state; /* "ok", "error", "disabled", "unsupported" */
	char error[256];
	struct json_object *servers;
};

void drp_cli_ping_usage(FILE *f)
{
	fprintf(f, "usage: drp ping [--network dcc|razor|pyzor] [--timeout SECONDS] [--json]\n"
	           "\n"
	           "Sends each network's no-op request (Pyzor ping, DCC NOP, a Razor\n"
	           "connection and greeting) to every configured server at once and prints\n"
	           "one line per server: reachable or not, and the round-trip time.\n"
	           "\n"
	           "  --network NAME   only this network\n"
	           "  --timeout SEC    one budget for all of them (default: backend_timeout, 5)\n"
	           "  --json           one JSON object keyed by network instead of lines\n"
	           "\n"
	           "Exit 0 when every server answered, 1 when any did not (or nothing could\n"
	           "be pinged), 2 on a configuration error.\n");
}

static void print_text(const struct ping_net *n, int count)
{
	for (int i = 0; i < count; i++) {
		size_t k, len;

		if (n[i].servers == NULL || (len = json_object_array_length(n[i].servers)) == 0) {
			printf("%-6s %-32s %s%s%s\n", n[i].ops->name, "-", n[i].state,
			       n[i].error[0] ? ": " : "", n[i].error);
			continue;
		}
		for (k = 0; k < len; k++) {
			struct json_object *s = json_object_array_get_idx(n[i].servers, k), *v;
			const char *name = "?", *err = "";
			int ok = 0;
			long rtt = -1;

			if (json_object_object_get_ex(s, "server", &v))
				name = json_object_get_string(v);
			if (json_object_object_get_ex(s, "ok", &v))
				ok = json_object_get_boolean(v);
			if (json_object_object_get_ex(s, "rtt_ms", &v))
				rtt = (long)json_object_get_int64(v);
			if (json_object_object_get_ex(s, "error", &v))
				err = json_object_get_string(v);
			if (ok)
				printf("%-6s %-32s ok %ld ms\n", n[i].ops->name, name, rtt);
			else
				printf("%-6s %-32s FAILED%s%s\n", n[i].ops->name, name,
				       err && *err ? ": " : "", err ? err : "");
		}
	}
}

static void print_json(const struct ping_net *n, int count)
{
	struct json_object *top = json_object_new_object();

	for (int i = 0; i < count; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string(n[i].state));
		if (n[i].error[0])
			json_object_object_add(o, "error", json_object_new_string(n[i].error));
		if (n[i].servers != NULL)
			json_object_object_add(o, "servers", json_object_get(n[i].servers));
		json_object_object_add(top, n[i].ops->name, o);
	}
	printf("%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN));
	json_object_put(top);
}

int drp_cli_ping(const char *network, int argc, char **argv, struct drp_config *cfg)
{
	static const struct option opts[] = {
	    {"timeout", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const struct drp_net_ops *const all[] = {&drp_dcc_ops, &drp_razor_ops, &drp_pyzor_ops};
	struct ping_net n[3];
	struct drp_loop *loop;
	char err[256];
	long timeout_ms;
	int json = 0, c, count = 0, pinged = 0, failed = 0, cfg_err = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (drp_config_set_flag(cfg, "backend_timeout", optarg) < 0) {
				fprintf(stderr, "drp: ping: out of memory\n");
				return 2;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			drp_cli_ping_usage(stdout);
			return 0;
		default:
			drp_cli_ping_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drp: ping: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (drp_config_ms(cfg, "backend_timeout", PING_DEFAULT_TIMEOUT_MS, &timeout_ms, err,
	                  sizeof(err)) < 0 ||
	    timeout_ms <= 0) {
		fprintf(stderr, "drp: ping: %s\n",
		        timeout_ms <= 0 ? "timeout must be positive" : err);
		return 2;
	}
	loop = drp_loop_new();
	if (loop == NULL) {
		fprintf(stderr, "drp: ping: out of memory\n");
		return 2;
	}
	memset(n, 0, sizeof(n));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct ping_net *p = &n[count];

		if (network != NULL && strcmp(network, all[i]->name) != 0)
			continue;
		count++;
		p->ops = all[i];
		p->state = "error";
		if (p->ops->ctx_new(cfg, &p->ctx, p->error, sizeof(p->error)) < 0) {
			p->ctx = NULL;
			cfg_err = 1;
			continue;
		}
		if (!p->ops->enabled(p->ctx)) {
			p->state = "disabled";
			continue;
		}
		if (p->ops->ping_start == NULL) {
			p->state = "unsupported";
			continue;
		}
		p->servers = json_object_new_array();
		p->req = p->ops->ping_start(loop, p->ctx, p->servers);
		p->state = "ok";
		pinged++;
	}
	if (pinged > 0 && drp_loop_run(loop, drp_now_ms() + (uint64_t)timeout_ms) < 0)
		fprintf(stderr, "drp: ping: poll failed\n");
	for (int i = 0; i < count; i++) {
		if (n[i].servers == NULL)
			continue;
		if (n[i].req != NULL)
			n[i].ops->ping_finish(n[i].req);
		if (json_object_array_length(n[i].servers) == 0) {
			snprintf(n[i].error, sizeof(n[i].error), "no servers configured");
			n[i].state = "error";
			failed = 1;
		}
		for (size_t k = 0; k < json_object_array_length(n[i].servers); k++) {
			struct json_object *v;

			if (!json_object_object_get_ex(json_object_array_get_idx(n[i].servers, k),
			                               "ok", &v) ||
			    !json_object_get_boolean(v)) {
				n[i].state = "error";
				failed = 1;
			}
		}
	}
	if (json)
		print_json(n, count);
	else
		print_text(n, count);
	if (pinged == 0 && !cfg_err && !failed)
		fprintf(stderr, "drp: ping: no network could be pinged\n");
	for (int i = 0; i < count; i++) {
		if (n[i].servers != NULL)
			json_object_put(n[i].servers);
		if (n[i].ctx != NULL && n[i].ops->ctx_free != NULL)
			n[i].ops->ctx_free(n[i].ctx);
	}
	drp_loop_free(loop);
	if (fflush(stdout) != 0)
		return 2;
	return cfg_err ? 2 : failed || pinged == 0 ? 1 : 0;
}
