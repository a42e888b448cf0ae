/*
 * render.c -- the render core's front: the Gateways' listeners, the
 * TLSRoutes attached to them, the passthrough Ingresses, gathered into
 * listener groups (one per port) whose routes are unique by name, in a
 * sorted order so that equal input renders equal bytes; and the status
 * List in the order GatewayClass, Gateway, TLSRoute, each by
 * namespace/name.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render_int.h"

struct gw_group *
render_group(struct gw_result *r, int port)
{
	struct gw_group *g;
	size_t i;

	for (i = 0; i < r->ngroups; i++)
		if (r->groups[i].port == port)
			return &r->groups[i];
	if ((g = realloc(r->groups, (r->ngroups + 1) * sizeof(*g))) == NULL)
		return NULL;
	r->groups = g;
	g = memset(&r->groups[r->ngroups++], 0, sizeof(*g));
	g->port = port;
	return g;
}

/*
 * Does the candidate take a name from the route holding it? The route
 * through the more specific listener hostname (that listener is the one a
 * client of the name reaches), then a TLSRoute over an Ingress, then the
 * oldest, then by namespace/name.
 */
static int
render_wins(const char *via, int kind, const char *time, const char *source,
    const struct gw_route *have)
{
	int c;

	if (hostname_more_specific(via, have->via) || hostname_more_specific(have->via, via))
		return hostname_more_specific(via, have->via);
	if (kind != have->rank_kind)
		return kind < have->rank_kind;
	/* The oldest first, then namespace/name in alphabetical order (the spec's precedence). */
	if (time[0] && have->rank_time[0] && (c = strcmp(time, have->rank_time)) != 0)
		return c < 0;
	return strcmp(source, have->source) < 0;
}

static void
render_route_free(struct gw_route *rt)
{
	free(rt->sni);
	free(rt->backends);
	free(rt->source);
	free(rt->rank_time);
	free(rt->via);
	memset(rt, 0, sizeof(*rt));
}

int
render_add_route(struct gw_result *r, int port, const char *sni, struct gw_backend *b, size_t nb,
    const char *source, const char *via, int rank_kind, const char *rank_time)
{
	struct gw_group *g = render_group(r, port);
	struct gw_route nr = { 0 }, *slot = NULL;
	size_t i;

	if (g == NULL)
		return -1;
	for (i = 0; i < g->nroutes; i++) {
		if (strcasecmp(g->routes[i].sni, sni) != 0)
			continue;
		if (!render_wins(via, rank_kind, rank_time, source, &g->routes[i]))
			return 0;
		slot = &g->routes[i];
	}
	nr.sni = strdup(sni);
	nr.source = strdup(source);
	nr.rank_time = strdup(rank_time);
	nr.rank_kind = rank_kind;
	nr.via = via ? strdup(via) : NULL;
	nr.backends = malloc((nb ? nb : 1) * sizeof(*b));
	nr.nbackends = nb;
	if (nr.sni == NULL || nr.source == NULL || nr.rank_time == NULL || nr.backends == NULL ||
	    (via && nr.via == NULL)) {
		render_route_free(&nr);
		return -1;
	}
	memcpy(nr.backends, b, nb * sizeof(*b));
	if (slot == NULL) {
		if (g->nroutes == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 8;
			struct gw_route *rs = realloc(g->routes, cap * sizeof(*rs));

			if (rs == NULL) {
				render_route_free(&nr);
				return -1;
			}
			g->routes = rs;
			g->cap = cap;
		}
		slot = &g->routes[g->nroutes++];
	} else {
		render_route_free(slot);
	}
	*slot = nr;
	return 0;
}

/* Is pattern p (a route's sni) within the listener hostname h: equal or narrower? */
static int
render_within(const char *p, const char *h)
{
	char x[HOSTNAME_BUF];

	return strcmp(p, "*") != 0 && hostname_intersect(p, h, x) && strcmp(x, p) == 0;
}

/* Would pattern p take clients of names under h (a wider wildcard, or the default)? */
static int
render_covers(const char *p, const char *h)
{
	char x[HOSTNAME_BUF];

	return strcmp(p, h) != 0 &&
	    (strcmp(p, "*") == 0 || (p[0] == '*' && hostname_intersect(p, h, x) && !strcmp(x, h)));
}

/*
 * A client goes to the listener with the most specific hostname matching
 * its name, and only that listener's routes serve it. Within a group
 * (one port), for each served listener hostname h: routes within h that
 * came through a less specific listener are dropped, and when no route
 * has the pattern h itself but a wider one would take its names, h gets a
 * reject route (the listener has no route for them: refused, not sent to
 * the wider listener's backends).
 */
static int
render_shadow(struct gw_result *r, const struct gw_listeners *ls)
{
	size_t i, k;

	for (i = 0; i < ls->n; i++) {
		const struct gw_listener *l = &ls->l[i];
		struct gw_group *g;
		struct gw_backend reject = { .reject = 1, .weight = 1 };
		int exact = 0, covered = 0;
		char src[300];

		if (!l->served || l->hostname == NULL || (g = render_group(r, l->port)) == NULL)
			continue;
		for (k = 0; k < g->nroutes; k++) {
			struct gw_route *rt = &g->routes[k];

			if (hostname_more_specific(l->hostname, rt->via) &&
			    render_within(rt->sni, l->hostname)) {
				render_route_free(rt);
				memmove(rt, rt + 1, (g->nroutes - k - 1) * sizeof(*rt));
				g->nroutes--;
				k--;
				continue;
			}
			exact |= strcmp(rt->sni, l->hostname) == 0;
			covered |= render_covers(rt->sni, l->hostname);
		}
		if (exact || !covered)
			continue;
		snprintf(src, sizeof(src), "Gateway %s/%s listener %s: no route", l->gw->ns, l->gw->name,
		    l->name);
		if (render_add_route(r, l->port, l->hostname, &reject, 1, src, l->hostname, 0, "") != 0)
			return -1;
	}
	return 0;
}

static int
render_cmp_group(const void *a, const void *b)
{
	return ((const struct gw_group *)a)->port - ((const struct gw_group *)b)->port;
}

static int
render_cmp_route(const void *a, const void *b)
{
	return strcmp(((const struct gw_route *)a)->sni, ((const struct gw_route *)b)->sni);
}

static int
render_kind_rank(const char *kind)
{
	return !strcmp(kind, "GatewayClass") ? 0 : !strcmp(kind, "Gateway") ? 1 : 2;
}

static int
render_cmp_item(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_t *mx = json_object_get(x, "metadata"), *my = json_object_get(y, "metadata");
	const char *nx = json_string_value(json_object_get(mx, "namespace"));
	const char *ny = json_string_value(json_object_get(my, "namespace"));
	int c = render_kind_rank(json_string_value(json_object_get(x, "kind"))) -
	    render_kind_rank(json_string_value(json_object_get(y, "kind")));

	if (c == 0)
		c = strcmp(nx ? nx : "", ny ? ny : "");
	if (c == 0)
		c = strcmp(json_string_value(json_object_get(mx, "name")),
		    json_string_value(json_object_get(my, "name")));
	return c;
}

/* Groups by port, routes by name, status items by kind and namespace/name. */
static int
render_sort(struct gw_result *r, json_t *items)
{
	size_t n = json_array_size(items), i;
	json_t **v;

	/* qsort() wants a pointer even for nothing: a group without routes has none. */
	if (r->ngroups > 1)
		qsort(r->groups, r->ngroups, sizeof(*r->groups), render_cmp_group);
	for (i = 0; i < r->ngroups; i++)
		if (r->groups[i].nroutes > 1)
			qsort(r->groups[i].routes, r->groups[i].nroutes, sizeof(struct gw_route),
			    render_cmp_route);
	if (n == 0)
		return 0;
	if ((v = malloc(n * sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(items, i));
	qsort(v, n, sizeof(*v), render_cmp_item);
	json_array_clear(items);
	for (i = 0; i < n; i++)
		json_array_append_new(items, v[i]);
	free(v);
	return 0;
}

/*
 * What passthrough would refuse: more than GW_LISTEN_MAX listen addresses
 * (two per group without --listen-address), more than GW_BACKENDS_MAX
 * backends in a route. Refused here with the names, not by a reload later.
 */
static int
render_limits(const struct gw_result *r, const struct gw_options *o, struct gw_err *e)
{
	size_t per = o->listen_address ? 1 : 2, i, k;

	if (r->ngroups * per > GW_LISTEN_MAX)
		return gw_fail(e, NULL, 0, "%zu ports to listen on (%zu addresses): "
		    "passthrough listens on at most %d addresses", r->ngroups, r->ngroups * per,
		    GW_LISTEN_MAX);
	for (i = 0; i < r->ngroups; i++)
		for (k = 0; k < r->groups[i].nroutes; k++)
			if (r->groups[i].routes[k].nbackends > GW_BACKENDS_MAX)
				return gw_fail(e, NULL, 0, "%s: %s on port %d has %zu "
				    "backends: passthrough takes at most %d", r->groups[i].routes[k].source,
				    r->groups[i].routes[k].sni, r->groups[i].port,
				    r->groups[i].routes[k].nbackends, GW_BACKENDS_MAX);
	return 0;
}

int
render_run(const struct gw_input *in, const struct gw_options *o, struct gw_result *r,
    struct gw_err *e)
{
	struct gw_listeners ls = { 0 };
	json_t *items = json_array();
	size_t i;

	memset(r, 0, sizeof(*r));
	r->status = json_pack("{ss ss so}", "apiVersion", "v1", "kind", "List", "items", items);
	if (r->status == NULL) {
		gw_fail(e, NULL, 0, "out of memory");
		goto bad;
	}
	if (gateway_collect(in, o, &ls, items, e) != 0)
		goto bad;
	for (i = 0; i < ls.n; i++)
		if (ls.l[i].served && render_group(r, ls.l[i].port) == NULL)
			goto oom;
	if (tlsroute_render(in, o, &ls, r, items, e) != 0)
		goto bad;
	if (gateway_status(&ls, o, items) != 0)
		goto oom;
	if (ingress_render(in, o, r, e) != 0)
		goto bad;
	if (render_shadow(r, &ls) != 0)
		goto oom;
	/* Nothing to serve: the Ingress port, every name refused (passthrough needs a listener). */
	if (r->ngroups == 0 && render_group(r, o->ingress_port) == NULL)
		goto oom;
	if (render_limits(r, o, e) != 0)
		goto bad;
	if (render_sort(r, items) != 0)
		goto oom;
	gateway_free(&ls);
	return 0;
oom:
	gw_fail(e, NULL, 0, "out of memory");
bad:
	gateway_free(&ls);
	render_free(r);
	return -1;
}

void
render_free(struct gw_result *r)
{
	size_t i, k;

	for (i = 0; i < r->ngroups; i++) {
		for (k = 0; k < r->groups[i].nroutes; k++)
			render_route_free(&r->groups[i].routes[k]);
		free(r->groups[i].routes);
	}
	free(r->groups);
	json_decref(r->status);
	memset(r, 0, sizeof(*r));
}
