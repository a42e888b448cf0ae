/*
 * config_listeners.c -- listener groups: listeners = ( { listen = ( ... );
 * routes = ( ... ); allow = [ ... ]; deny = [ ... ]; }, ... ), each group
 * its own routes for its own listen addresses, as an alternative to the
 * top-level listen and routes (which are then one group).
 *
 * A group's listen entries and routes are stored contiguously in the same
 * cfg->listens and cfg->routes a file without listeners fills, each with
 * its group's index; cfg->groups says where each group's entries are.
 */
#include <stddef.h>
#include <stdlib.h>

#include "config_int.h"
#include "tunables.h"

#define GROUP(m)	offsetof(struct config_group, m)

static config_get_fn config_listeners_listen, config_listeners_routes;

/* One element of listeners; the object is its struct config_group. */
const struct config_key config_listeners_keys[] = {
	{ "listen", config_listeners_listen, .max = MAX_LISTEN, .flags = KEY_REQUIRED,
	    .addr_flags = ADDR_WILDCARD, .members = config_access_listen_keys },
	{ "routes", config_listeners_routes, .flags = KEY_REQUIRED, .members = config_route_keys },
	{ "allow", config_access_cidrs, .off = GROUP(rules.allow),
	    .count_off = GROUP(rules.allow_count), .max = ACL_ENTRIES_MAX },
	{ "deny", config_access_cidrs, .off = GROUP(rules.deny),
	    .count_off = GROUP(rules.deny_count), .max = ACL_ENTRIES_MAX },
	{ .name = NULL }
};

static uint32_t
config_listeners_index(const struct config_ctx *ctx, const struct config_group *g)
{
	return (uint32_t)(g - ctx->cfg->groups);
}

/* A group's listen: as the top level's, into the group's place in cfg->listens. */
static void
config_listeners_listen(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config_group *g = obj;
	uint32_t n;

	if (config_setting_is_group(s)) {	/* one group, not in a list */
		config_err_type(ctx, s, "a list: listen = ( \"host:port\", { address = ... } )");
		return;
	}
	n = config_list_length(ctx, s, 1, "addresses", k->max);
	/* g->listen_count was counted from the same list by config_listeners_count(). */
	if (n != 0 && n == g->listen_count)
		config_access_listen_fill(ctx, s, k, g->listen_first, n, config_listeners_index(ctx, g));
}

/* A group's routes: as the top level's (an empty list too), into its place in cfg->routes. */
static void
config_listeners_routes(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config_group *g = obj;
	uint32_t n;

	n = config_routes_length(ctx, s);
	if (n == g->route_count)
		config_routes_fill(ctx, s, k, g->route_first, n, config_listeners_index(ctx, g));
}

/* Entries of group e's list named name (0 when it is no list or array: reported later). */
static uint32_t
config_listeners_length(const config_setting_t *e, const char *name)
{
	const config_setting_t *m = config_setting_is_group(e) ?
	    config_setting_get_member(e, name) : NULL;

	if (m == NULL || (!config_setting_is_list(m) && !config_setting_is_array(m)))
		return 0;
	return (uint32_t)config_setting_length(m);
}

/*
 * Places each group's entries in cfg->listens and cfg->routes; their
 * totals in *listens and *routes. 0, or -1 when the totals are too many
 * (reported).
 */
static int
config_listeners_count(struct config_ctx *ctx, const config_setting_t *s, uint32_t *listens,
    uint32_t *routes)
{
	struct config_group *g;
	uint64_t nl = 0, nr = 0;

	for (uint32_t i = 0; i < ctx->cfg->group_count; i++) {
		g = &ctx->cfg->groups[i];
		g->line = (int)config_text_line(ctx, config_setting_get_elem(s, i));
		g->listen_first = (uint32_t)nl;
		g->listen_count = config_listeners_length(config_setting_get_elem(s, i), "listen");
		g->route_first = (uint32_t)nr;
		g->route_count = config_listeners_length(config_setting_get_elem(s, i), "routes");
		nl += g->listen_count;
		nr += g->route_count;
	}
	if (nl > MAX_LISTEN)
		config_err(ctx, s, "have %llu listen addresses together, more than %u",
		    (unsigned long long)nl, MAX_LISTEN);
	if (nr > MAX_ROUTES)
		config_err(ctx, s, "have %llu routes together, more than %u",
		    (unsigned long long)nr, MAX_ROUTES);
	*listens = (uint32_t)nl;
	*routes = (uint32_t)nr;
	return nl > MAX_LISTEN || nr > MAX_ROUTES ? -1 : 0;
}

/* listeners with the top-level listen or routes: reported, naming both lines; 1 then. */
static int
config_listeners_conflict(struct config_ctx *ctx, const config_setting_t *s)
{
	static const char *const names[] = { "listen", "routes" };
	const config_setting_t *m;
	int found = 0;

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		m = config_setting_get_member(config_setting_parent(s), names[i]);
		if (m == NULL)
			continue;
		config_err(ctx, s, "cannot be used with the top-level %s (line %u): each "
		    "listener group has its own listen and routes", names[i],
		    config_text_line(ctx, m));
		found = 1;
	}
	return found;
}

void
config_listeners_get(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	const config_setting_t *e;
	uint32_t n, listens, routes;

	if (config_listeners_conflict(ctx, s))
		return;
	n = config_list_length(ctx, s, 0, "listener groups", k->max);
	if (n == 0 || n > k->max)
		return;
	if ((cfg->groups = calloc(n, sizeof(*cfg->groups))) == NULL) {
		config_err(ctx, s, "out of memory");
		return;
	}
	cfg->group_count = n;
	if (config_listeners_count(ctx, s, &listens, &routes) != 0)
		return;
	cfg->listens = calloc((size_t)listens + 1, sizeof(*cfg->listens));
	cfg->listen = calloc((size_t)listens + 1, sizeof(*cfg->listen));
	cfg->routes = calloc((size_t)routes + 1, sizeof(*cfg->routes));
	if (cfg->listens == NULL || cfg->listen == NULL || cfg->routes == NULL ||
	    config_sni_init(&ctx->sni, routes) != 0) {
		config_err(ctx, s, "out of memory");
		return;	/* config_load() frees what was made */
	}
	cfg->listen_count = listens;
	cfg->route_count = routes;
	for (uint32_t i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (!config_setting_is_group(e)) {
			config_err_type(ctx, e, "a group: { listen = ( ... ); routes = ( ... ); }");
			continue;
		}
		config_walk(ctx, e, k->members, &cfg->groups[i]);
		config_access_rules_check(ctx, e, &cfg->groups[i].rules);
	}
}

void
config_listeners_check(struct config_ctx *ctx, const config_setting_t *root)
{
	static const char *const names[] = { "listen", "routes" };
	struct config *cfg = ctx->cfg;

	if (config_setting_get_member(root, "listeners") != NULL)
		return;	/* the groups are made, or their faults reported */
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (config_setting_get_member(root, names[i]) == NULL)
			config_err_at(ctx, config_file(ctx, root), config_text_line(ctx, root),
			    names[i], "is required");
	if ((cfg->groups = calloc(1, sizeof(*cfg->groups))) == NULL) {
		config_err_at(ctx, ctx->path, 0, "", "out of memory");
		return;
	}
	cfg->group_count = 1;
	cfg->groups[0].listen_count = cfg->listen_count;
	cfg->groups[0].route_count = cfg->route_count;
}
