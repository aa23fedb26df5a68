/* verdict: see verdict.h. */
#include "verdict.h"

#include <json-c/json.h>
#include <string.h>

static const char *const net_names[] = {"dcc", "razor", "pyzor"};

static int find(const struct drp_fanout_result *r, const char *name)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->ops[i]->name, name) == 0)
			return i;
	return -1;
}

static int has_type(struct json_object *o, const char *key, json_type t)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, t);
}

static void put(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

/* gozer's fields with gozer's types whatever the network printed, and
 * never a clean-looking answer from a network that did not answer. */
static void gozer_fields(const char *name, enum drp_status st, struct json_object *o)
{
	int ok = st == DRP_ST_OK;

	if (strcmp(name, "dcc") == 0) {
		struct json_object *a;
		const char *s = NULL;

		if (json_object_object_get_ex(o, "action", &a) &&
		    json_object_is_type(a, json_type_string))
			s = json_object_get_string(a);
		if (!ok || s == NULL ||
		    (strcmp(s, "reject") && strcmp(s, "accept") && strcmp(s, "unknown")))
			put(o, "action", json_object_new_string("unknown"));
		if (!ok || !has_type(o, "bulk", json_type_int))
			put(o, "bulk", NULL);
	} else if (strcmp(name, "razor") == 0) {
		if (!ok || !has_type(o, "hit", json_type_boolean))
			put(o, "hit", json_object_new_boolean(0));
	} else if (strcmp(name, "pyzor") == 0) {
		if (!ok || !has_type(o, "count", json_type_int))
			put(o, "count", json_object_new_int64(0));
		if (!ok || !has_type(o, "wl", json_type_int))
			put(o, "wl", json_object_new_int64(0));
	}
}

static struct json_object *net_object(const struct drp_fanout_result *r, const char *name)
{
	struct json_object *o = json_object_new_object();
	int i = find(r, name);
	enum drp_status st = DRP_ST_DISABLED;
	long lat = 0;
	const char *err = "";

	if (o == NULL)
		return NULL;
	if (i >= 0) {
		const struct drp_net_result *nr = r->res[i];

		st = nr->status;
		lat = nr->latency_ms;
		err = nr->error;
		if (st != DRP_ST_DISABLED && r->ops[i]->result_json != NULL)
			r->ops[i]->result_json(nr, r->op, o);
	}
	if (r->op == DRP_OP_CHECK)
		gozer_fields(name, st, o);
	put(o, "status", json_object_new_string(drp_status_name(st)));
	put(o, "latency_ms", json_object_new_int64(lat));
	if (st != DRP_ST_OK && st != DRP_ST_DISABLED)
		put(o, "error", json_object_new_string(err[0] ? err : drp_status_name(st)));
	else
		json_object_object_del(o, "error");
	return o;
}

struct json_object *drp_verdict_json(const struct drp_fanout_result *r)
{
	struct json_object *top = json_object_new_object(), *detail = NULL;
	size_t k;

	if (top == NULL)
		return NULL;
	if (r->op != DRP_OP_CHECK) {
		detail = json_object_new_object();
		if (detail == NULL) {
			json_object_put(top);
			return NULL;
		}
	}
	for (k = 0; k < sizeof(net_names) / sizeof(net_names[0]); k++) {
		const char *name = net_names[k];
		struct json_object *o = net_object(r, name);
		int i = find(r, name);
		const struct drp_net_result *nr = i >= 0 ? r->res[i] : NULL;

		if (o == NULL) {
			json_object_put(top);
			json_object_put(detail);
			return NULL;
		}
		if (r->op == DRP_OP_CHECK) {
			put(top, name, o);
			continue;
		}
		if (r->op == DRP_OP_REVOKE && strcmp(name, "dcc") == 0)
			put(top, name, NULL);
		else
			put(top, name,
			    json_object_new_boolean(nr != NULL && nr->status == DRP_ST_OK));
		put(detail, name, o);
	}
	if (detail != NULL)
		put(top, "detail", detail);
	return top;
}

int drp_verdict_append(const struct drp_fanout_result *r, struct drp_buf *out)
{
	struct json_object *o = drp_verdict_json(r);
	const char *s;
	size_t n;
	int rc;

	if (o == NULL)
		return -1;
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
	rc = s == NULL ? -1 : drp_buf_append(out, s, n);
	json_object_put(o);
	return rc;
}
