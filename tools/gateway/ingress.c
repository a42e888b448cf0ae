/*
 * ingress.c -- passthrough Ingresses (networking.k8s.io/v1) carried over
 * from ingress-nginx: an Ingress annotated
 * nginx.ingress.kubernetes.io/ssl-passthrough "true" (as ingress-nginx
 * reads a boolean: true, True, TRUE, t, T, 1) of the Ingress class asked
 * for (spec.ingressClassName, or the older kubernetes.io/ingress.class
 * annotation) sends each rule's host to its first path's backend Service
 * (port by number or by name; spec.defaultBackend when the rule has no
 * path), on the Ingress port's group. A Service that cannot be resolved
 * is a reject backend, as for a TLSRoute. Other Ingresses are not ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

#define INGRESS_PASSTHROUGH	"nginx.ingress.kubernetes.io/ssl-passthrough"
#define INGRESS_CLASS_ANNOT	"kubernetes.io/ingress.class"

static int
ingress_true(const char *v)
{
	static const char *const yes[] = { "true", "True", "TRUE", "t", "T", "1" };
	size_t i;

	for (i = 0; v != NULL && i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcmp(v, yes[i]))
			return 1;
	return 0;
}

/* Is this Ingress ours: passthrough and of our class? -1: malformed. */
static int
ingress_ours(const struct gw_object *ing, const struct gw_options *o, struct gw_err *e)
{
	json_t *md, *ann, *spec;
	const char *pass, *cls, *acls;

	if (field_obj(ing, ing->j, "", "metadata", &md, e) ||
	    field_obj(ing, md, "metadata", "annotations", &ann, e) ||
	    field_str(ing, ann, "metadata.annotations", INGRESS_PASSTHROUGH, &pass, e) ||
	    field_str(ing, ann, "metadata.annotations", INGRESS_CLASS_ANNOT, &acls, e) ||
	    field_obj(ing, ing->j, "", "spec", &spec, e) ||
	    field_str(ing, spec, "spec", "ingressClassName", &cls, e))
		return -1;
	if (!ingress_true(pass))
		return 0;
	return cls ? strcmp(cls, o->ingress_class) == 0 : acls && strcmp(acls, o->ingress_class) == 0;
}

/* The backend.service of a path or of the default backend into *b. */
static int
ingress_backend(const struct gw_input *in, const struct gw_object *ing, const json_t *be,
    struct backend_set *b, struct gw_err *e)
{
	json_t *svc, *port;
	const char *name, *pname;
	long long num;

	if (field_obj(ing, be, "backend", "service", &svc, e) ||
	    field_str(ing, svc, "backend.service", "name", &name, e) ||
	    field_obj(ing, svc, "backend.service", "port", &port, e) ||
	    field_int(ing, port, "backend.service.port", "number", 1, 65535, 0, &num, e) ||
	    field_str(ing, port, "backend.service.port", "name", &pname, e))
		return -1;
	b->weight = 1;
	if (name == NULL || (num == 0 && pname == NULL)) {
		b->outcome = BACKEND_NOT_FOUND;
		snprintf(b->why, sizeof(b->why), "no backend.service with a name and a port");
		return 0;
	}
	return backend_service(in, ing->ns, name, num, num ? NULL : pname, b, e);
}

/* One rule: its host to its backend. */
static int
ingress_rule(const struct gw_input *in, const struct gw_options *o, const struct gw_object *ing,
    const json_t *rule, const json_t *defbe, struct gw_result *r, struct gw_err *e)
{
	struct backend_set set = { 0 };
	struct gw_backend *bs = NULL;
	const char *host, *ts;
	json_t *http, *paths, *pbe = NULL;
	const json_t *be;
	char src[300];
	size_t nbs = 0;
	int rc = -1;

	if (field_str(ing, rule, "spec.rules[]", "host", &host, e) ||
	    field_obj(ing, rule, "spec.rules[]", "http", &http, e) ||
	    field_arr(ing, http, "spec.rules[].http", "paths", &paths, e))
		return -1;
	if (host == NULL)
		return 0;	/* no name to route by */
	if (!hostname_valid(host))
		return field_fail(ing, rule, e, "spec.rules[]: host \"%s\" is not a valid host name", host);
	if (json_array_size(paths) > 0 &&
	    field_obj(ing, json_array_get(paths, 0), "spec.rules[].http.paths[0]", "backend", &pbe, e))
		return -1;
	be = pbe ? pbe : defbe;
	if (be == NULL) {
		set.weight = 1;
		set.outcome = BACKEND_NOT_FOUND;
	} else if (ingress_backend(in, ing, be, &set, e) != 0) {
		goto bad;
	}
	if (backend_spread(&set, 1, &bs, &nbs) != 0) {
		gw_fail(e, ing->file, ing->line, "out of memory");
		goto bad;
	}
	ts = json_string_value(json_object_get(json_object_get(ing->j, "metadata"),
	    "creationTimestamp"));
	snprintf(src, sizeof(src), "Ingress %s/%s", ing->ns, ing->name);
	rc = render_add_route(r, o->ingress_port, host, bs, nbs, src, NULL, 1, ts ? ts : "");
	if (rc != 0)
		gw_fail(e, ing->file, ing->line, "out of memory");
bad:
	free(bs);
	backend_set_free(&set);
	return rc;
}

int
ingress_render(const struct gw_input *in, const struct gw_options *o, struct gw_result *r,
    struct gw_err *e)
{
	size_t i, k;

	for (i = 0; i < in->n; i++) {
		const struct gw_object *ing = &in->objs[i];
		json_t *spec, *rules, *rule, *defbe;
		int rc;

		if (strcmp(ing->kind, "Ingress") != 0 ||
		    strcmp(ing->apiversion, "networking.k8s.io/v1") != 0)
			continue;
		if ((rc = ingress_ours(ing, o, e)) < 0)
			return -1;
		if (rc == 0)
			continue;
		if (render_group(r, o->ingress_port) == NULL)
			return gw_fail(e, ing->file, ing->line, "out of memory");
		if (field_obj(ing, ing->j, "", "spec", &spec, e) ||
		    field_arr(ing, spec, "spec", "rules", &rules, e) ||
		    field_obj(ing, spec, "spec", "defaultBackend", &defbe, e))
			return -1;
		json_array_foreach(rules, k, rule)
			if (ingress_rule(in, o, ing, rule, defbe, r, e) != 0)
				return -1;
	}
	return 0;
}
