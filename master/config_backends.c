/*
 * config_backends.c -- a route's backends: "host:port" strings (weight 1)
 * and groups { address = "host:port"; weight = N; } or { reject = true;
 * weight = N; }, in a list (or, strings only, an array), no address twice.
 * A host name is resolved here, every address of it (addr_resolve_all), and
 * kept as written (struct config_host) for the master to resolve again.
 * A group may carry its own check = { ... } (config_check.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "tunables.h"

/* One backend group as read. */
struct config_backend {
	struct addr addr;
	uint32_t weight;
	int reject;
	struct config_host host;	/* a host name's; name NULL for an address */
	struct config_check check;	/* its own check = { ... }; set 0: none */
};

#define BACKEND(m)	offsetof(struct config_backend, m)

static config_get_fn config_backends_address;

const struct config_key config_backends_keys[] = {
	{ "address", config_backends_address, .off = BACKEND(addr) },
	{ "weight", config_get_uint, .off = BACKEND(weight), .min = 0, .max = ROUTES_WEIGHT_MAX },
	{ "reject", config_get_bool, .off = BACKEND(reject) },
	{ "check", config_check_get, .off = BACKEND(check), .members = config_check_keys },
	{ .name = NULL }
};

/*
 * "name:port": every address the name resolves to into b->host (a copy of
 * the name too), the first into b->addr. A name that does not resolve is a
 * fault: the file names a backend that is not there.
 */
static void
config_backends_resolve(struct config_ctx *ctx, const config_setting_t *s,
    struct config_backend *b, const char *host, uint16_t port)
{
	char quoted[CONFIG_QUOTE_MAX];
	struct addr *v = calloc(RESOLVE_ADDRS_MAX, sizeof(*v));
	const char *why;
	uint32_t n;

	if (v == NULL || (b->host.name = strdup(host)) == NULL) {
		free(v);
		config_err(ctx, s, "out of memory");
		return;
	}
	if (addr_resolve_all(host, port, v, RESOLVE_ADDRS_MAX, &n, &why) != 0) {
		free(v);
		free(b->host.name);
		b->host.name = NULL;
		config_err(ctx, s, "%s %s", config_quote(config_setting_get_string(s),
		    quoted, sizeof(quoted)), why);
		return;
	}
	b->host.addrs = realloc(v, n * sizeof(*v));
	if (b->host.addrs == NULL)
		b->host.addrs = v;
	b->host.addr_count = n;
	b->host.port = port;
	b->addr = b->host.addrs[0];
}

/* A backend's address string at s: a numeric address, or a host name. */
static void
config_backends_addr(struct config_ctx *ctx, const config_setting_t *s,
    struct config_backend *b)
{
	char host[ADDR_HOST_MAX];
	uint16_t port;

	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    addr_name_split(config_setting_get_string(s), host, &port))
		config_backends_resolve(ctx, s, b, host, port);
	else
		(void)config_addr_get(ctx, s, 0, &b->addr);
}

static void
config_backends_address(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	(void)k;
	config_backends_addr(ctx, s, obj);
}

/* Backend b (configured index i) is stored in route r; hosts made when first needed. */
static void
config_backends_store(struct config_ctx *ctx, const config_setting_t *s,
    struct config_route *r, uint32_t i, struct config_backend *b)
{
	r->backends[i] = b->addr;
	r->weights[i] = b->weight;
	r->backend_flags[i] = b->reject ? ROUTES_BACKEND_REJECT : 0;
	r->backend_checks[i] = b->check;	/* resolved by config_check_route() */
	if (b->host.name == NULL)
		return;
	if (r->hosts == NULL && (r->hosts = calloc(r->backend_count, sizeof(*r->hosts))) == NULL) {
		config_err(ctx, s, "out of memory");
		free(b->host.name);
		free(b->host.addrs);
		return;
	}
	r->hosts[i] = b->host;
}

/*
 * Backend j before backend i is the same: the same address (both literal),
 * or the same host name and port (both names). A name and an address that
 * meet are not a fault: names move (the expansion keeps the first).
 */
static int
config_backends_same(const struct config_route *r, uint32_t j, uint32_t i)
{
	const struct config_host *a = r->hosts != NULL ? &r->hosts[j] : NULL;
	const struct config_host *b = r->hosts != NULL ? &r->hosts[i] : NULL;

	if (a != NULL && b != NULL && (a->name != NULL || b->name != NULL))
		return a->name != NULL && b->name != NULL && a->port == b->port &&
		    strcasecmp(a->name, b->name) == 0;
	return addr_equal(&r->backends[j], &r->backends[i]);
}

/*
 * A group, walked with keys (config_backends_keys): an address or reject =
 * true, not both. Returns the address setting, or NULL.
 */
static const config_setting_t *
config_backends_group(struct config_ctx *ctx, const config_setting_t *g,
    const struct config_key *keys, struct config_backend *b)
{
	const config_setting_t *a = config_setting_get_member(g, "address");

	config_walk(ctx, g, keys, b);
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
			a = config_backends_group(ctx, e, k->members, &b);
		else if (config_setting_type(e) == CONFIG_TYPE_STRING)
			config_backends_addr(ctx, e, &b);
		else
			config_err_type(ctx, e, "a string or a group");
		config_backends_store(ctx, e, r, i, &b);
		if (b.addr.len == 0)
			continue;	/* a reject backend, or reported */
		/* Quadratic, but bounded by MAX_BACKENDS_PER_ROUTE. */
		for (j = 0; j < i && (r->backends[j].len == 0 || !config_backends_same(r, j, i)); j++)
			;
		if (j < i)
			config_addr_duplicate(ctx, a, config_setting_get_elem(s, j));
	}
}
