/*
 * gateway.c -- GatewayClasses and Gateways: which classes are this
 * controller's (controllerName), which Gateways it takes (their class is
 * --gateway-class with no GatewayClass object saying otherwise, or a class
 * whose controllerName is ours), their listeners (TLS with tls.mode
 * Passthrough served, every other one reported unsupported), who may
 * attach to a listener (allowedRoutes), and the status of both kinds.
 */
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

/* Is the GatewayClass named cls this controller's? -1: malformed. */
static int
gateway_class_ours(const struct gw_input *in, const struct gw_options *o, const char *cls,
    struct gw_err *e)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		const struct gw_object *c = &in->objs[i];
		const char *ctl;
		json_t *spec;

		if (strcmp(c->kind, "GatewayClass") != 0 || strcmp(c->name, cls) != 0)
			continue;
		if (field_obj(c, c->j, "", "spec", &spec, e) ||
		    field_str(c, spec, "spec", "controllerName", &ctl, e))
			return -1;
		return ctl != NULL && strcmp(ctl, o->controller_name) == 0;
	}
	return strcmp(cls, o->gateway_class) == 0;
}

/* The GatewayClasses that are ours: Accepted. */
static int
gateway_classes(const struct gw_input *in, const struct gw_options *o, json_t *items,
    struct gw_err *e)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		const struct gw_object *c = &in->objs[i];
		json_t *conds;
		int rc;

		if (strcmp(c->kind, "GatewayClass") != 0)
			continue;
		if ((rc = gateway_class_ours(in, o, c->name, e)) < 0)
			return -1;
		if (rc == 0)
			continue;
		conds = json_pack("[o]", status_condition("Accepted", 1, "Accepted",
		    "passthrough-gateway serves this class", status_generation(c), o->now));
		json_array_append_new(items, status_item(c, json_pack("{s:o}", "conditions", conds)));
	}
	return 0;
}

/* allowedRoutes of one listener: namespaces (from, selector) and kinds. */
static int
gateway_allowed(const struct gw_object *g, struct gw_listener *l, struct gw_err *e)
{
	json_t *ar, *nsj, *kinds, *k;
	size_t i;

	if (field_obj(g, l->spec, "spec.listeners[]", "allowedRoutes", &ar, e) ||
	    field_obj(g, ar, "allowedRoutes", "namespaces", &nsj, e) ||
	    field_str(g, nsj, "allowedRoutes.namespaces", "from", &l->from, e) ||
	    field_arr(g, ar, "allowedRoutes", "kinds", &kinds, e))
		return -1;
	l->selector = json_object_get(nsj, "selector");
	if (l->from == NULL)
		l->from = "Same";
	if (strcmp(l->from, "Same") && strcmp(l->from, "All") && strcmp(l->from, "Selector") &&
	    strcmp(l->from, "None"))
		return field_fail(g, nsj, e, "allowedRoutes.namespaces.from: \"%s\" is not Same, All, "
		    "Selector or None", l->from);
	l->kinds_ok = l->served && json_array_size(kinds) == 0;
	json_array_foreach(kinds, i, k) {
		const char *grp, *kind;

		if (field_str(g, k, "allowedRoutes.kinds[]", "group", &grp, e) ||
		    field_str(g, k, "allowedRoutes.kinds[]", "kind", &kind, e))
			return -1;
		if (l->served && kind && !strcmp(kind, "TLSRoute") && !strcmp(grp ? grp : GW_GROUP, GW_GROUP))
			l->kinds_ok = 1;
		else
			l->kinds_invalid = 1;
	}
	return 0;
}

/* One listener of Gateway g into ls. */
static int
gateway_listener(const struct gw_object *g, const json_t *lj, struct gw_listeners *ls,
    struct gw_err *e)
{
	struct gw_listener *l, *grown;
	const char *proto, *mode;
	json_t *tls;
	long long port;

	if ((grown = realloc(ls->l, (ls->n + 1) * sizeof(*grown))) == NULL)
		return gw_fail(e, g->file, g->line, "out of memory");
	ls->l = grown;
	l = memset(&ls->l[ls->n], 0, sizeof(*l));
	l->gw = g;
	l->spec = lj;
	if (!json_is_object(lj))
		return field_fail(g, g->j, e, "spec.listeners: an item that is not an object");
	if (field_str(g, lj, "spec.listeners[]", "name", &l->name, e) ||
	    field_str(g, lj, "spec.listeners[]", "hostname", &l->hostname, e) ||
	    field_int(g, lj, "spec.listeners[]", "port", 1, 65535, 0, &port, e) ||
	    field_str(g, lj, "spec.listeners[]", "protocol", &proto, e) ||
	    field_obj(g, lj, "spec.listeners[]", "tls", &tls, e) ||
	    field_str(g, tls, "spec.listeners[].tls", "mode", &mode, e))
		return -1;
	if (l->name == NULL || port == 0 || proto == NULL)
		return field_fail(g, lj, e, "spec.listeners[]: a listener needs name, port and protocol");
	if (l->hostname != NULL && !hostname_valid(l->hostname))
		return field_fail(g, lj, e, "spec.listeners[] %s: hostname \"%s\" is not a valid "
		    "host name", l->name, l->hostname);
	l->port = (int)port;
	if (strcmp(proto, "TLS") != 0)
		l->unsupported = "UnsupportedProtocol";
	else if (mode == NULL || strcmp(mode, "Passthrough") != 0)
		l->unsupported = "UnsupportedValue";	/* TLS Terminate (the default mode) */
	l->served = l->unsupported == NULL;
	if (gateway_allowed(g, l, e) != 0)
		return -1;
	ls->n++;
	return 0;
}

int
gateway_collect(const struct gw_input *in, const struct gw_options *o, struct gw_listeners *ls,
    json_t *items, struct gw_err *e)
{
	size_t i, k;

	if (gateway_classes(in, o, items, e) != 0)
		return -1;
	for (i = 0; i < in->n; i++) {
		const struct gw_object *g = &in->objs[i], **gws;
		const char *cls;
		json_t *spec, *lst, *lj;
		int rc;

		if (strcmp(g->kind, "Gateway") != 0 ||
		    strncmp(g->apiversion, GW_GROUP "/", strlen(GW_GROUP) + 1) != 0)
			continue;
		if (field_obj(g, g->j, "", "spec", &spec, e) ||
		    field_str(g, spec, "spec", "gatewayClassName", &cls, e) ||
		    field_arr(g, spec, "spec", "listeners", &lst, e))
			return -1;
		if (cls == NULL || (rc = gateway_class_ours(in, o, cls, e)) == 0)
			continue;
		if (rc < 0)
			return -1;
		if ((gws = realloc(ls->gws, (ls->ngws + 1) * sizeof(*gws))) == NULL)
			return gw_fail(e, g->file, g->line, "out of memory");
		ls->gws = gws;
		gws[ls->ngws++] = g;
		json_array_foreach(lst, k, lj)
			if (gateway_listener(g, lj, ls, e) != 0)
				return -1;
	}
	return 0;
}

/* Does the label selector sel match labels? matchLabels and matchExpressions; -1: malformed. */
static int
gateway_selects(const struct gw_object *g, const json_t *sel, const json_t *labels,
    struct gw_err *e)
{
	json_t *ml = json_object_get(sel, "matchLabels"), *mx = json_object_get(sel, "matchExpressions");
	json_t *x, *vals, *v;
	const char *key, *op;
	size_t i, k;

	json_object_foreach(ml, key, v) {
		const char *have = json_string_value(json_object_get(labels, key));

		if (!strcmp(key, YAMLDOC_LINE_KEY))
			continue;
		if (!json_is_string(v))
			return field_fail(g, ml, e, "selector.matchLabels.%s: not a string", key);
		if (have == NULL || strcmp(have, json_string_value(v)) != 0)
			return 0;
	}
	json_array_foreach(mx, i, x) {
		const char *have;
		int in_vals = 0;

		if (field_str(g, x, "selector.matchExpressions[]", "key", &key, e) ||
		    field_str(g, x, "selector.matchExpressions[]", "operator", &op, e) ||
		    field_arr(g, x, "selector.matchExpressions[]", "values", &vals, e))
			return -1;
		if (key == NULL || op == NULL)
			return field_fail(g, x, e, "selector.matchExpressions[]: needs key and operator");
		have = json_string_value(json_object_get(labels, key));
		json_array_foreach(vals, k, v)
			if (have != NULL && json_is_string(v) && !strcmp(have, json_string_value(v)))
				in_vals = 1;
		if ((!strcmp(op, "In") && !in_vals) || (!strcmp(op, "NotIn") && in_vals) ||
		    (!strcmp(op, "Exists") && have == NULL) ||
		    (!strcmp(op, "DoesNotExist") && have != NULL))
			return 0;
		if (strcmp(op, "In") && strcmp(op, "NotIn") && strcmp(op, "Exists") &&
		    strcmp(op, "DoesNotExist"))
			return field_fail(g, x, e, "selector: unknown operator \"%s\"", op);
	}
	return 1;
}

int
gateway_allows(const struct gw_input *in, const struct gw_listener *l, const char *ns,
    struct gw_err *e)
{
	const json_t *pos;
	json_t *labels;
	size_t i;
	int rc;

	if (!strcmp(l->from, "All"))
		return 1;
	if (!strcmp(l->from, "Same"))
		return strcmp(ns, l->gw->ns) == 0;
	if (!strcmp(l->from, "None") || !json_is_object(l->selector))
		return 0;
	/* The namespace's labels, with the one Kubernetes gives every namespace. */
	labels = json_pack("{ss}", "kubernetes.io/metadata.name", ns);
	json_array_foreach(load_index(in, LOAD_BY_NAME, "Namespace", "", ns), i, pos) {
		const struct gw_object *n = &in->objs[json_integer_value(pos)];
		json_t *have = json_object_get(json_object_get(n->j, "metadata"), "labels");

		if (labels != NULL && !strcmp(n->kind, "Namespace") && !strcmp(n->name, ns) &&
		    json_is_object(have))
			json_object_update_missing(labels, have);
	}
	if (labels == NULL)
		return gw_fail(e, l->gw->file, l->gw->line, "out of memory");
	rc = gateway_selects(l->gw, l->selector, labels, e);
	json_decref(labels);
	return rc;
}

/* One listener's status entry. */
static json_t *
gateway_listener_status(const struct gw_listener *l, const struct gw_options *o, long long gen)
{
	json_t *kinds = json_array(), *conds;

	if (l->kinds_ok)
		json_array_append_new(kinds, json_pack("{ss ss}", "group", GW_GROUP, "kind", "TLSRoute"));
	conds = json_pack("[o o o]",
	    status_condition("Accepted", l->served, l->served ? "Accepted" : l->unsupported,
	        l->served ? "TLS passthrough listener" : "passthrough serves only protocol TLS "
	        "with tls.mode Passthrough", gen, o->now),
	    status_condition("ResolvedRefs", !l->kinds_invalid,
	        l->kinds_invalid ? "InvalidRouteKinds" : "ResolvedRefs",
	        l->kinds_invalid ? "only TLSRoute (gateway.networking.k8s.io) attaches here" :
	        "references resolved", gen, o->now),
	    status_condition("Programmed", l->served, l->served ? "Programmed" : "Invalid",
	        l->served ? "in the rendered configuration" : "not served", gen, o->now));
	return json_pack("{ss so sI so}", "name", l->name, "supportedKinds", kinds,
	    "attachedRoutes", (json_int_t)l->attached, "conditions", conds);
}

int
gateway_status(const struct gw_listeners *ls, const struct gw_options *o, json_t *items)
{
	size_t i, k;

	for (i = 0; i < ls->ngws; i++) {
		const struct gw_object *g = ls->gws[i];
		long long gen = status_generation(g);
		json_t *lst = json_array(), *conds;
		size_t served = 0, all = 0;

		for (k = 0; k < ls->n; k++) {
			if (ls->l[k].gw != g)
				continue;
			all++;
			served += (size_t)ls->l[k].served;
			json_array_append_new(lst, gateway_listener_status(&ls->l[k], o, gen));
		}
		conds = json_pack("[o o]",
		    status_condition("Accepted", served > 0, served == all ? "Accepted" :
		        "ListenersNotValid", served == all ? "all listeners are served" :
		        served ? "some listeners are not TLS Passthrough" :
		        "no listener is TLS Passthrough", gen, o->now),
		    status_condition("Programmed", served > 0, served ? "Programmed" : "Invalid",
		        served ? "in the rendered configuration" : "nothing to serve", gen, o->now));
		if (json_array_append_new(items, status_item(g, json_pack("{so so}", "conditions",
		    conds, "listeners", lst))) != 0)
			return -1;
	}
	return 0;
}

void
gateway_free(struct gw_listeners *ls)
{
	free(ls->l);
	free(ls->gws);
	*ls = (struct gw_listeners){ 0 };
}
