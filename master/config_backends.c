/*
 * config_backends.c -- a route's backends: "host:port" strings (weight 1)
 * and groups { address = "host:port"; weight = N; } or { reject = true;
 * weight = N; }, in a list (or, strings only, an array), no address twice.
 * A group may carry its own check = { ... } (config_check.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* One backend group as read. */
struct config_backend {
	struct addr addr;
	uint32_t weight;
	int reject;
	struct config_check check;	/* its own check = { ... }; set 0: none */
};

#define BACKEND(m)	offsetof(struct config_backend, m)

static config_get_fn config_backends_address;

static const struct config_key config_backends_keys[] = {
	{ "address", config_backends_address, .off = BACKEND(addr), .addr_flags = ADDR_RESOLVE },
	{ "weight", config_get_uint, .off = BACKEND(weight), .min = 0, .max = ROUTES_WEIGHT_MAX },
	{ "reject", config_get_bool, .off = BACKEND(reject) },
	{ "check", config_check_get, .off = BACKEND(check) },
	{ .name = NULL }
};

static void
config_backends_address(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	(void)config_addr_get(ctx, s, k->addr_flags, (struct addr *)(void *)((char *)obj + k->off));
}

/* A group: an address or reject = true, not both. Returns the address setting, or NULL. */
static const config_setting_t *
config_backends_group(struct config_ctx *ctx, const config_setting_t *g,
    struct config_backend *b)
{
	const config_setting_t *a = config_setting_get_member(g, "address");

	config_walk(ctx, g, config_backends_keys, b);
	if (a != NULL && b->reject)
		config_err(ctx, config_setting_get_member(g, "reject"),
		    "and address exclude each other: a reject backend has no address");
	else if (a == NULL && !b->reject)
		config_err(ctx, g, "needs address (or reject = true; for a share that gets an alert)");
	return a;
}

void
config_backends_get(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config_route *r = obj;
	const config_setting_t *e, *a;
	struct config_backend b;
	uint32_t i, j, n;

	n = config_list_length(ctx, s, 1, "entries", k->max);
	if (n == 0)
		return;
	r->backends = calloc(n, sizeof(*r->backends));
	r->weights = calloc(n, sizeof(*r->weights));
	r->backend_flags = calloc(n, sizeof(*r->backend_flags));
	r->backend_checks = calloc(n, sizeof(*r->backend_checks));
	if (r->backends == NULL || r->weights == NULL || r->backend_flags == NULL ||
	    r->backend_checks == NULL) {
		config_err(ctx, s, "out of memory");
		return;	/* config_load() frees what was made */
	}
	r->backend_count = n;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		memset(&b, 0, sizeof(b));
		b.weight = 1;
		a = e;
		if (config_setting_is_group(e))
			a = config_backends_group(ctx, e, &b);
		else if (config_setting_type(e) == CONFIG_TYPE_STRING)
			(void)config_addr_get(ctx, e, k->addr_flags, &b.addr);
		else
			config_err_type(ctx, e, "a string or a group");
		r->backends[i] = b.addr;
		r->weights[i] = b.weight;
		r->backend_flags[i] = b.reject ? ROUTES_BACKEND_REJECT : 0;
		r->backend_checks[i] = b.check;	/* resolved by config_check_route() */
		if (b.addr.len == 0)
			continue;	/* a reject backend, or reported */
		/* Quadratic, but bounded by MAX_BACKENDS_PER_ROUTE. */
		for (j = 0; j < i && !addr_equal(&r->backends[j], &b.addr); j++)
			;
		if (j < i)
			config_addr_duplicate(ctx, a, config_setting_get_elem(s, j));
	}
}
