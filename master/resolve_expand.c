/*
 * resolve_expand.c -- the backends a generation publishes: each backend
 * named by a host name becomes one backend per address the name has now,
 * with the configured backend's weight and flags, and remembers which
 * configured backend it came from (route_spec.backend_src).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve.h"
#include "tunables.h"

/* Configured backend k of r as addresses: its name's current ones, or itself. */
static const struct addr *
resolve_expand_addrs(const struct config_route *r, uint32_t k, uint32_t *n)
{
	if (r->hosts != NULL && r->hosts[k].name != NULL && r->hosts[k].addr_count > 0) {
		*n = r->hosts[k].addr_count;
		return r->hosts[k].addrs;
	}
	*n = 1;
	return &r->backends[k];
}

/* An upper bound of route r's backends after expansion. */
static uint32_t
resolve_expand_bound(const struct config_route *r)
{
	uint64_t n = 0;
	uint32_t c;

	for (uint32_t k = 0; k < r->backend_count; k++) {
		(void)resolve_expand_addrs(r, k, &c);
		n += c;
	}
	return n > MAX_BACKENDS_PER_ROUTE ? MAX_BACKENDS_PER_ROUTE : (uint32_t)n;
}

/* 1 when a (not a reject backend's zero) is among the route's first n. */
static int
resolve_expand_has(const struct addr *v, uint32_t n, const struct addr *a)
{
	if (a->len == 0)
		return 0;
	/* Quadratic, but bounded by MAX_BACKENDS_PER_ROUTE. */
	for (uint32_t i = 0; i < n; i++)
		if (addr_equal(&v[i], a))
			return 1;
	return 0;
}

/* Route ri's backends from x->total on; returns how many were left out (over the cap). */
static uint32_t
resolve_expand_route(const struct config_route *r, uint32_t ri, struct resolve_expansion *x)
{
	struct addr *v = &x->addrs[x->total];
	const struct addr *a;
	uint32_t n = 0, c, cut = 0;

	for (uint32_t k = 0; k < r->backend_count; k++) {
		a = resolve_expand_addrs(r, k, &c);
		for (uint32_t j = 0; j < c; j++) {
			if (resolve_expand_has(v, n, &a[j]))
				continue;
			if (n == MAX_BACKENDS_PER_ROUTE) {
				cut++;
				continue;
			}
			v[n] = a[j];
			x->weights[x->total + n] = r->weights != NULL ? r->weights[k] : 1;
			x->flags[x->total + n] = r->backend_flags != NULL ? r->backend_flags[k] : 0;
			x->src[x->total + n] = k;
			n++;
		}
	}
	x->first[ri] = x->total;
	x->count[ri] = n;
	x->total += n;
	return cut;
}

int
resolve_expand(const struct config *cfg, struct resolve_expansion *x)
{
	uint64_t total = 0;
	uint32_t cut;

	memset(x, 0, sizeof(*x));
	for (uint32_t i = 0; i < cfg->route_count; i++)
		total += resolve_expand_bound(&cfg->routes[i]);
	x->addrs = calloc(total + 1, sizeof(*x->addrs));
	x->weights = calloc(total + 1, sizeof(*x->weights));
	x->flags = calloc(total + 1, sizeof(*x->flags));
	x->src = calloc(total + 1, sizeof(*x->src));
	x->first = calloc(cfg->route_count + 1, sizeof(*x->first));
	x->count = calloc(cfg->route_count + 1, sizeof(*x->count));
	if (x->addrs == NULL || x->weights == NULL || x->flags == NULL || x->src == NULL ||
	    x->first == NULL || x->count == NULL) {
		resolve_expansion_free(x);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cfg->route_count; i++) {
		cut = resolve_expand_route(&cfg->routes[i], i, x);
		if (cut > 0)
			log_warn("route %s: its host names give %u addresses more than the %u "
			    "backends a route holds; the first %u are used", cfg->routes[i].pattern,
			    cut, MAX_BACKENDS_PER_ROUTE, MAX_BACKENDS_PER_ROUTE);
	}
	return 0;
}

void
resolve_expansion_free(struct resolve_expansion *x)
{
	free(x->addrs);
	free(x->weights);
	free(x->flags);
	free(x->src);
	free(x->first);
	free(x->count);
	memset(x, 0, sizeof(*x));
}
