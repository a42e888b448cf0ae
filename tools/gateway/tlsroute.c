/*
 * tlsroute.c -- TLSRoutes (gateway.networking.k8s.io v1, v1alpha2 and
 * any other version of the group): each parentRef attaches to the
 * listeners of one of our Gateways that it selects (sectionName, port),
 * that allow it (allowedRoutes) and whose hostname intersects the route's;
 * the route's backendRefs (of every rule: TLS has nothing to match rules
 * by) become one list of backends, an unresolvable reference a reject
 * share of its weight. Writes status.parents[] for the parents that are
 * ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

/* A route's references resolved: the backends and the ResolvedRefs condition. */
struct tlsroute_refs {
	struct gw_backend *backends;
	size_t nbackends;
	const char *reason;		/* NULL: all resolved */
	char message[512];
};

static const char *
tlsroute_reason(enum backend_outcome o)
{
	switch (o) {
	case BACKEND_NOT_FOUND:
		return "BackendNotFound";
	case BACKEND_NOT_PERMITTED:
		return "RefNotPermitted";
	case BACKEND_INVALID_KIND:
		return "InvalidKind";
	default:
		return "ResolvedRefs";
	}
}

/* One backendRef into *b. */
static int
tlsroute_ref(const struct gw_input *in, const struct gw_object *rt, const json_t *ref,
    struct backend_set *b, struct gw_err *e)
{
	const char *grp, *kind, *ns, *name;
	long long port;

	if (!json_is_object(ref))
		return field_fail(rt, rt->j, e, "backendRefs: an item that is not an object");
	if (field_str(rt, ref, "backendRefs[]", "group", &grp, e) ||
	    field_str(rt, ref, "backendRefs[]", "kind", &kind, e) ||
	    field_str(rt, ref, "backendRefs[]", "namespace", &ns, e) ||
	    field_str(rt, ref, "backendRefs[]", "name", &name, e) ||
	    field_int(rt, ref, "backendRefs[]", "port", 1, 65535, 0, &port, e) ||
	    field_int(rt, ref, "backendRefs[]", "weight", 0, GW_WEIGHT_MAX, 1, &b->weight, e))
		return -1;
	if (name == NULL)
		return field_fail(rt, ref, e, "backendRefs[]: no name");
	ns = ns && ns[0] ? ns : rt->ns;
	if ((grp && grp[0]) || (kind && strcmp(kind, "Service") != 0)) {
		b->outcome = BACKEND_INVALID_KIND;
		snprintf(b->why, sizeof(b->why), "%s%s%s %s: only Services are backends",
		    grp ? grp : "", grp && grp[0] ? "/" : "", kind ? kind : "Service", name);
		return 0;
	}
	if (port == 0)
		return field_fail(rt, ref, e, "backendRefs[] %s: a Service reference needs a port", name);
	if (strcmp(ns, rt->ns) != 0) {
		int ok = backend_ref_granted(in, GW_GROUP, "TLSRoute", rt->ns, ns, name, e);

		if (ok < 0)
			return -1;
		if (!ok) {
			b->outcome = BACKEND_NOT_PERMITTED;
			snprintf(b->why, sizeof(b->why), "Service %s/%s: no ReferenceGrant in %s lets "
			    "TLSRoutes of %s refer to it", ns, name, ns, rt->ns);
			return 0;
		}
	}
	return backend_service(in, ns, name, port, NULL, b, e);
}

/* Every rule's backendRefs, resolved and spread. */
static int
tlsroute_refs(const struct gw_input *in, const struct gw_object *rt, const json_t *rules,
    struct tlsroute_refs *out, struct gw_err *e)
{
	struct backend_set *sets = NULL, *grown;
	size_t n = 0, i, k;
	json_t *rule, *refs, *ref;
	int rc = -1;

	json_array_foreach(rules, i, rule) {
		if (field_arr(rt, rule, "spec.rules[]", "backendRefs", &refs, e))
			goto bad;
		json_array_foreach(refs, k, ref) {
			if ((grown = realloc(sets, (n + 1) * sizeof(*sets))) == NULL) {
				gw_fail(e, rt->file, rt->line, "out of memory");
				goto bad;
			}
			sets = grown;
			memset(&sets[n], 0, sizeof(sets[n]));
			if (tlsroute_ref(in, rt, ref, &sets[n++], e) != 0)
				goto bad;
		}
	}
	for (i = 0; i < n; i++) {
		size_t used = strlen(out->message);

		/* A resolved Service without endpoints is named too, with ResolvedRefs True. */
		if (sets[i].outcome == BACKEND_RESOLVED && (sets[i].n > 0 || !sets[i].why[0]))
			continue;
		if (out->reason == NULL && sets[i].outcome != BACKEND_RESOLVED)
			out->reason = tlsroute_reason(sets[i].outcome);
		snprintf(out->message + used, sizeof(out->message) - used, "%s%s", used ? "; " : "",
		    sets[i].why);
	}
	if (backend_spread(sets, n, &out->backends, &out->nbackends) != 0) {
		gw_fail(e, rt->file, rt->line, "out of memory");
		goto bad;
	}
	rc = 0;
bad:
	for (i = 0; i < n; i++)
		backend_set_free(&sets[i]);
	free(sets);
	return rc;
}

/* The route's hostnames on listener l, added as routes of its group; how many. */
static int
tlsroute_attach(const struct gw_object *rt, const json_t *hosts, struct gw_listener *l,
    const struct tlsroute_refs *refs, struct gw_result *r)
{
	const char *ts = json_string_value(json_object_get(json_object_get(rt->j, "metadata"),
	    "creationTimestamp"));
	char src[300], name[HOSTNAME_BUF];
	json_t *h;
	size_t i;
	int found = 0;

	snprintf(src, sizeof(src), "TLSRoute %s/%s", rt->ns, rt->name);
	if (json_array_size(hosts) == 0) {
		snprintf(name, sizeof(name), "%s", l->hostname ? l->hostname : "*");
		return render_add_route(r, l->port, name, refs->backends, refs->nbackends, src,
		    l->hostname, 0, ts ? ts : "") == 0 ? 1 : -1;
	}
	json_array_foreach(hosts, i, h) {
		if (!hostname_intersect(json_string_value(h), l->hostname, name))
			continue;
		found++;
		if (render_add_route(r, l->port, name, refs->backends, refs->nbackends, src,
		    l->hostname, 0, ts ? ts : "") != 0)
			return -1;
	}
	return found;
}

/* One parentRef: its Accepted condition, and the routes it adds; NULL: not our parent. */
static json_t *
tlsroute_parent(const struct gw_input *in, const struct gw_options *o, struct gw_listeners *ls,
    const struct gw_object *rt, const json_t *pref, const json_t *hosts,
    const struct tlsroute_refs *refs, struct gw_result *r, struct gw_err *e, int *err)
{
	const char *grp, *kind, *ns, *name, *section, *reason = "NoMatchingParent";
	long long port, gen = status_generation(rt);
	const struct gw_object *g = NULL;
	int matched = 0, allowed = 0, attached = 0, rc = 0;
	size_t i;

	*err = -1;
	if (field_str(rt, pref, "spec.parentRefs[]", "group", &grp, e) ||
	    field_str(rt, pref, "spec.parentRefs[]", "kind", &kind, e) ||
	    field_str(rt, pref, "spec.parentRefs[]", "namespace", &ns, e) ||
	    field_str(rt, pref, "spec.parentRefs[]", "name", &name, e) ||
	    field_str(rt, pref, "spec.parentRefs[]", "sectionName", &section, e) ||
	    field_int(rt, pref, "spec.parentRefs[]", "port", 1, 65535, 0, &port, e))
		return NULL;
	*err = 0;
	if (strcmp(grp ? grp : GW_GROUP, GW_GROUP) || strcmp(kind ? kind : "Gateway", "Gateway") ||
	    name == NULL)
		return NULL;
	ns = ns && ns[0] ? ns : rt->ns;
	for (i = 0; i < ls->ngws; i++)
		if (!strcmp(ls->gws[i]->ns, ns) && !strcmp(ls->gws[i]->name, name))
			g = ls->gws[i];
	if (g == NULL)
		return NULL;
	*err = -1;
	for (i = 0; i < ls->n; i++) {
		struct gw_listener *l = &ls->l[i];

		if (l->gw != g || (section && strcmp(section, l->name)) || (port && port != l->port))
			continue;
		matched++;
		if (!l->served || !l->kinds_ok || (rc = gateway_allows(in, l, rt->ns, e)) == 0)
			continue;
		if (rc < 0)
			return NULL;
		allowed++;
		if ((rc = tlsroute_attach(rt, hosts, l, refs, r)) < 0) {
			gw_fail(e, rt->file, rt->line, "out of memory");
			return NULL;
		}
		if (rc > 0) {
			attached++;
			l->attached++;
		}
	}
	*err = 0;
	if (matched && !allowed)
		reason = "NotAllowedByListeners";
	else if (allowed && !attached)
		reason = "NoMatchingListenerHostname";
	return json_pack("{so ss s[o o]}", "parentRef", status_copy(pref),
	    "controllerName", o->controller_name, "conditions",
	    status_condition("Accepted", attached > 0, attached ? "Accepted" : reason,
	        attached ? "attached to the Gateway's TLS passthrough listeners" :
	        !matched ? "no listener matches the parentRef's sectionName and port" :
	        !allowed ? "no listener allows this route (allowedRoutes, or not TLS Passthrough)" :
	        "no listener hostname intersects the route's hostnames", gen, o->now),
	    status_condition("ResolvedRefs", refs->reason == NULL,
	        refs->reason ? refs->reason : "ResolvedRefs",
	        refs->message[0] ? refs->message : "every backendRef resolved", gen, o->now));
}

/* One TLSRoute: its spec read, its parents attached, its status item. */
static int
tlsroute_one(const struct gw_input *in, const struct gw_options *o, struct gw_listeners *ls,
    const struct gw_object *rt, struct gw_result *r, json_t *items, struct gw_err *e)
{
	struct tlsroute_refs refs = { 0 };
	json_t *spec, *prefs, *hosts, *rules, *h, *pref, *parents = json_array();
	size_t i;
	int rc = -1, err;

	if (parents == NULL || field_obj(rt, rt->j, "", "spec", &spec, e) ||
	    field_arr(rt, spec, "spec", "parentRefs", &prefs, e) ||
	    field_arr(rt, spec, "spec", "hostnames", &hosts, e) ||
	    field_arr(rt, spec, "spec", "rules", &rules, e))
		goto bad;
	json_array_foreach(hosts, i, h)
		if (!json_is_string(h) || !hostname_valid(json_string_value(h))) {
			field_fail(rt, spec, e, "spec.hostnames[%zu]: not a valid host name", i);
			goto bad;
		}
	if (tlsroute_refs(in, rt, rules, &refs, e) != 0)
		goto bad;
	json_array_foreach(prefs, i, pref) {
		json_t *st;

		if (!json_is_object(pref)) {
			field_fail(rt, spec, e, "spec.parentRefs[%zu]: not an object", i);
			goto bad;
		}
		st = tlsroute_parent(in, o, ls, rt, pref, hosts, &refs, r, e, &err);
		if (err)
			goto bad;
		if (st != NULL)
			json_array_append_new(parents, st);
	}
	rc = 0;
	if (json_array_size(parents) > 0)
		rc = json_array_append_new(items, status_item(rt, json_pack("{sO}", "parents",
		    parents)));
	if (rc != 0)
		gw_fail(e, rt->file, rt->line, "out of memory");
bad:
	json_decref(parents);
	free(refs.backends);
	return rc;
}

int
tlsroute_render(const struct gw_input *in, const struct gw_options *o, struct gw_listeners *ls,
    struct gw_result *r, json_t *items, struct gw_err *e)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		const struct gw_object *rt = &in->objs[i];

		if (strcmp(rt->kind, "TLSRoute") != 0 ||
		    strncmp(rt->apiversion, GW_GROUP "/", strlen(GW_GROUP) + 1) != 0)
			continue;
		if (tlsroute_one(in, o, ls, rt, r, items, e) != 0)
			return -1;
	}
	return 0;
}
