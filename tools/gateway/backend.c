/*
 * backend.c -- where a backendRef's connections go: a Service port to its
 * ready endpoints (discovery.k8s.io/v1 EndpointSlices labelled with the
 * Service's name; the slice port named as the Service port is), else to
 * its ClusterIP and port; ReferenceGrants for references into another
 * namespace; and the references' weights spread over their endpoints.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

/* Above this least common multiple of endpoint counts, weights are rounded instead. */
#define BACKEND_LCM_MAX	10000

/* The first object of the input that is kind ns/name, or NULL. */
static const struct gw_object *
backend_find(const struct gw_input *in, const char *kind, const char *ns, const char *name)
{
	const json_t *at = load_index(in, LOAD_BY_NAME, kind, ns, name), *pos;
	size_t i;

	json_array_foreach(at, i, pos) {
		const struct gw_object *o = &in->objs[json_integer_value(pos)];

		if (!strcmp(o->kind, kind) && !strcmp(o->ns, ns) && !strcmp(o->name, name))
			return o;
	}
	return NULL;
}

/* Appends "IP:PORT" ("[IP]:PORT" for IPv6) to b. */
static int
backend_add(struct backend_set *b, const char *ip, long long port)
{
	char (*a)[80];

	struct in6_addr a6;

	/* Only numeric addresses: nothing else may reach the configuration's text. */
	if (inet_pton(AF_INET, ip, &a6) != 1 && inet_pton(AF_INET6, ip, &a6) != 1)
		return 0;
	if ((a = realloc(b->addrs, (b->n + 1) * sizeof(*a))) == NULL)
		return -ENOMEM;
	b->addrs = a;
	snprintf(a[b->n++], sizeof(a[0]), strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, port);
	return 0;
}

/* One slice's ready endpoints on the port named pname. */
static int
backend_slice(const struct gw_object *s, const char *pname, struct backend_set *b,
    struct gw_err *e)
{
	json_t *ports, *eps, *p, *ep;
	const char *type, *name;
	long long port = -1;
	size_t i, k;

	if (field_str(s, s->j, "", "addressType", &type, e) ||
	    field_arr(s, s->j, "", "ports", &ports, e) ||
	    field_arr(s, s->j, "", "endpoints", &eps, e))
		return -1;
	if (type != NULL && strcmp(type, "IPv4") != 0 && strcmp(type, "IPv6") != 0)
		return 0;	/* FQDN: not an address passthrough can take from here */
	json_array_foreach(ports, i, p) {
		long long n;

		if (field_str(s, p, "ports[]", "name", &name, e) ||
		    field_int(s, p, "ports[]", "port", 1, 65535, -1, &n, e))
			return -1;
		if (strcmp(name ? name : "", pname) == 0)
			port = n;
	}
	if (port < 0)
		return 0;
	json_array_foreach(eps, i, ep) {
		json_t *cond, *addrs, *ready, *a;

		if (field_obj(s, ep, "endpoints[]", "conditions", &cond, e) ||
		    field_arr(s, ep, "endpoints[]", "addresses", &addrs, e))
			return -1;
		ready = json_object_get(cond, "ready");
		if (ready != NULL && !json_is_null(ready) && !json_is_boolean(ready))
			return field_fail(s, cond, e, "endpoints[].conditions.ready: not a boolean");
		if (json_is_false(ready))
			continue;
		json_array_foreach(addrs, k, a) {
			if (!json_is_string(a))
				return field_fail(s, ep, e, "endpoints[].addresses: not strings");
			if (backend_add(b, json_string_value(a), port) != 0)
				return gw_fail(e, s->file, s->line, "out of memory");
		}
	}
	return 1;
}

/* The Service's port entry matching port (number) or port_name; 0: none. */
static int
backend_service_port(const struct gw_object *svc, long long port, const char *port_name,
    long long *num, const char **name, struct gw_err *e)
{
	json_t *spec, *ports, *p;
	size_t i;

	if (field_obj(svc, svc->j, "", "spec", &spec, e) ||
	    field_arr(svc, spec, "spec", "ports", &ports, e))
		return -1;
	json_array_foreach(ports, i, p) {
		const char *pn;
		long long n;

		if (field_str(svc, p, "spec.ports[]", "name", &pn, e) ||
		    field_int(svc, p, "spec.ports[]", "port", 1, 65535, -1, &n, e))
			return -1;
		if (port_name ? strcmp(port_name, pn ? pn : "") == 0 : n == port) {
			*num = n;
			*name = pn ? pn : "";
			return 1;
		}
	}
	return 0;
}

int
backend_service(const struct gw_input *in, const char *ns, const char *name, long long port,
    const char *port_name, struct backend_set *b, struct gw_err *e)
{
	const struct gw_object *svc = backend_find(in, "Service", ns, name);
	const char *pname, *ip;
	const json_t *pos;
	json_t *spec;
	long long num;
	int slices = 0, rc;
	size_t i;

	b->outcome = BACKEND_NOT_FOUND;
	if (svc == NULL) {
		snprintf(b->why, sizeof(b->why), "Service %s/%s not found", ns, name);
		return 0;
	}
	if ((rc = backend_service_port(svc, port, port_name, &num, &pname, e)) < 0)
		return -1;
	if (rc == 0) {
		if (port_name)
			snprintf(b->why, sizeof(b->why), "Service %s/%s has no port named %s", ns, name,
			    port_name);
		else
			snprintf(b->why, sizeof(b->why), "Service %s/%s has no port %lld", ns, name, port);
		return 0;
	}
	b->outcome = BACKEND_RESOLVED;
	json_array_foreach(load_index(in, LOAD_BY_SERVICE, "Service", ns, name), i, pos) {
		const struct gw_object *s = &in->objs[json_integer_value(pos)];
		const char *owner = json_string_value(json_object_get(json_object_get(
		    json_object_get(s->j, "metadata"), "labels"), "kubernetes.io/service-name"));

		if (strcmp(s->kind, "EndpointSlice") != 0 || strcmp(s->ns, ns) != 0 ||
		    owner == NULL || strcmp(owner, name) != 0)
			continue;
		slices = 1;
		if (backend_slice(s, pname, b, e) < 0)
			return -1;
	}
	if (slices) {
		if (b->n == 0)
			snprintf(b->why, sizeof(b->why), "Service %s/%s has no ready endpoint: its "
			    "share is refused", ns, name);
		return 0;
	}
	if (field_obj(svc, svc->j, "", "spec", &spec, e) ||
	    field_str(svc, spec, "spec", "clusterIP", &ip, e))
		return -1;
	if (ip != NULL && ip[0] != '\0' && strcmp(ip, "None") != 0 &&
	    backend_add(b, ip, num) != 0)
		return gw_fail(e, svc->file, svc->line, "out of memory");
	if (b->n == 0)
		snprintf(b->why, sizeof(b->why), "Service %s/%s has no ClusterIP and no "
		    "EndpointSlice: its share is refused", ns, name);
	return 0;
}

/* Does one ReferenceGrant's from list hold the referrer, and its to list the Service? */
static int
backend_grant(const struct gw_object *g, const char *fgroup, const char *fkind, const char *fns,
    const char *to_name, struct gw_err *e)
{
	json_t *spec, *from, *to, *x;
	int from_ok = 0;
	size_t i;

	if (field_obj(g, g->j, "", "spec", &spec, e) || field_arr(g, spec, "spec", "from", &from, e) ||
	    field_arr(g, spec, "spec", "to", &to, e))
		return -1;
	json_array_foreach(from, i, x) {
		const char *gr, *k, *n;

		if (field_str(g, x, "spec.from[]", "group", &gr, e) ||
		    field_str(g, x, "spec.from[]", "kind", &k, e) ||
		    field_str(g, x, "spec.from[]", "namespace", &n, e))
			return -1;
		if (strcmp(gr ? gr : "", fgroup) == 0 && k && !strcmp(k, fkind) && n && !strcmp(n, fns))
			from_ok = 1;
	}
	if (!from_ok)
		return 0;
	json_array_foreach(to, i, x) {
		const char *gr, *k, *n;

		if (field_str(g, x, "spec.to[]", "group", &gr, e) ||
		    field_str(g, x, "spec.to[]", "kind", &k, e) ||
		    field_str(g, x, "spec.to[]", "name", &n, e))
			return -1;
		if ((gr == NULL || gr[0] == '\0') && k && !strcmp(k, "Service") &&
		    (n == NULL || n[0] == '\0' || !strcmp(n, to_name)))
			return 1;
	}
	return 0;
}

int
backend_ref_granted(const struct gw_input *in, const char *fgroup, const char *fkind,
    const char *fns, const char *to_ns, const char *to_name, struct gw_err *e)
{
	const json_t *pos;
	size_t i;
	int rc;

	json_array_foreach(load_index(in, LOAD_BY_NS, "ReferenceGrant", to_ns, NULL), i, pos) {
		const struct gw_object *g = &in->objs[json_integer_value(pos)];

		if (strcmp(g->kind, "ReferenceGrant") != 0 || strcmp(g->ns, to_ns) != 0 ||
		    strncmp(g->apiversion, GW_GROUP "/", strlen(GW_GROUP) + 1) != 0)
			continue;
		if ((rc = backend_grant(g, fgroup, fkind, fns, to_name, e)) != 0)
			return rc;
	}
	return 0;
}

static long long
backend_gcd(long long a, long long b)
{
	while (b) {
		long long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Adds (address or reject, weight) to the list, merging an equal entry. */
static int
backend_put(struct gw_backend **out, size_t *n, const char *addr, long long w)
{
	struct gw_backend *b;
	size_t i;

	for (i = 0; i < *n; i++)
		if (((*out)[i].reject && addr == NULL) ||
		    (addr != NULL && !(*out)[i].reject && !strcmp((*out)[i].address, addr))) {
			(*out)[i].weight += w;
			if ((*out)[i].weight > GW_WEIGHT_MAX)
				(*out)[i].weight = GW_WEIGHT_MAX;
			return 0;
		}
	if ((b = realloc(*out, (*n + 1) * sizeof(*b))) == NULL)
		return -ENOMEM;
	*out = b;
	b[*n] = (struct gw_backend){ .reject = addr == NULL, .weight = w };
	if (addr)
		snprintf(b[*n].address, sizeof(b[*n].address), "%s", addr);
	(*n)++;
	return 0;
}

/* The scale that keeps the references' shares exact: lcm of their endpoint counts, or 0. */
static long long
backend_lcm(const struct backend_set *sets, size_t n)
{
	long long l = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		long long c = sets[i].n ? (long long)sets[i].n : 1;

		if (sets[i].weight == 0)
			continue;
		l = l / backend_gcd(l, c) * c;
		if (l > BACKEND_LCM_MAX)
			return 0;
	}
	return l;
}

int
backend_spread(const struct backend_set *sets, size_t n, struct gw_backend **out, size_t *nout)
{
	long long l = backend_lcm(sets, n), g = 0;
	double most = 0, scale;
	size_t i, k;

	*out = NULL;
	*nout = 0;
	/* Each endpoint's exact share: weight * l / count (a double when l was too large). */
	for (i = 0; i < n; i++) {
		double c = sets[i].n ? (double)sets[i].n : 1;
		double w = (double)sets[i].weight * (l ? (double)l : 1) / c;

		if (w > most)
			most = w;
	}
	scale = most > GW_WEIGHT_MAX ? GW_WEIGHT_MAX / most : 1;
	for (i = 0; i < n; i++) {
		double c = sets[i].n ? (double)sets[i].n : 1;
		double w = (double)sets[i].weight * (l ? (double)l : 1) / c * scale;
		long long iw = sets[i].weight == 0 ? 0 : (long long)(w + 0.5) < 1 ? 1 :
		    (long long)(w + 0.5);

		if (sets[i].n == 0 && backend_put(out, nout, NULL, iw) != 0)
			return -ENOMEM;
		for (k = 0; k < sets[i].n; k++)
			if (backend_put(out, nout, sets[i].addrs[k], iw) != 0)
				return -ENOMEM;
	}
	if (*nout == 0 && backend_put(out, nout, NULL, 1) != 0)	/* no reference at all */
		return -ENOMEM;
	for (i = 0; i < *nout; i++)
		g = backend_gcd(g, (*out)[i].weight);
	for (i = 0; g > 1 && i < *nout; i++)
		(*out)[i].weight /= g;
	return 0;
}

void
backend_set_free(struct backend_set *b)
{
	free(b->addrs);
	b->addrs = NULL;
	b->n = 0;
}
