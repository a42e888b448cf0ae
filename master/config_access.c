/*
 * config_access.c -- who may connect: listen entries (a "host:port" string
 * or a group with accept_proxy, trusted, allow and deny) and the CIDR lists
 * of allow, deny and trusted, wherever they stand.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define LISTEN(m)	offsetof(struct config_listen, m)

static config_get_fn config_access_address;

/* A listen group; the object is its struct config_listen. */
const struct config_key config_access_listen_keys[] = {
	{ "address", config_access_address, .off = LISTEN(addr), .flags = KEY_REQUIRED,
	    .addr_flags = ADDR_WILDCARD },
	{ "accept_proxy", config_get_bool, .off = LISTEN(accept_proxy) },
	{ "trusted", config_access_cidrs, .off = LISTEN(trusted.allow),
	    .count_off = LISTEN(trusted.allow_count), .max = ACL_ENTRIES_MAX },
	{ "allow", config_access_cidrs, .off = LISTEN(rules.allow),
	    .count_off = LISTEN(rules.allow_count), .max = ACL_ENTRIES_MAX },
	{ "deny", config_access_cidrs, .off = LISTEN(rules.deny),
	    .count_off = LISTEN(rules.deny_count), .max = ACL_ENTRIES_MAX },
	{ .name = NULL }
};

int
config_addr_get(struct config_ctx *ctx, const config_setting_t *s, int flags,
    struct addr *a)
{
	char quoted[CONFIG_QUOTE_MAX];
	const char *why;

	memset(a, 0, sizeof(*a));	/* equal to no address a duplicate check meets */
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_type(ctx, s, "a string");
		return -1;
	}
	if (addr_parse(a, config_setting_get_string(s), flags, &why) != 0) {
		memset(a, 0, sizeof(*a));
		config_err(ctx, s, "%s %s", config_quote(config_setting_get_string(s),
		    quoted, sizeof(quoted)), why);
		return -1;
	}
	return 0;
}

void
config_addr_duplicate(struct config_ctx *ctx, const config_setting_t *s,
    const config_setting_t *first)
{
	char quoted[CONFIG_QUOTE_MAX], path[CONFIG_PATH_MAX];

	config_err(ctx, s, "%s duplicates %s (line %u)",
	    config_quote(config_setting_get_string(s), quoted, sizeof(quoted)),
	    config_path(first, path, sizeof(path)), config_text_line(ctx, first));
}

static void
config_access_address(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	(void)config_addr_get(ctx, s, k->addr_flags, (struct addr *)(void *)((char *)obj + k->off));
}

void
config_access_cidrs(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	char quoted[CONFIG_QUOTE_MAX];
	const config_setting_t *e;
	struct acl_cidr *v;
	const char *why;
	uint32_t i, n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		config_err_type(ctx, s, "an array of addresses (\"10.0.0.0/8\", \"2001:db8::/32\")");
		return;
	}
	n = (uint32_t)config_setting_length(s);
	if (n == 0) {
		config_err(ctx, s, "is empty: leave it out, or list addresses (\"10.0.0.0/8\")");
		return;
	}
	if (n > k->max) {
		config_err(ctx, s, "has %u entries, more than %u", n, k->max);
		return;
	}
	if ((v = config_list_alloc(ctx, s, k, obj, n, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			config_err_type(ctx, e, "a string");
		else if (acl_cidr_parse(config_setting_get_string(e), &v[i], &why) != 0)
			config_err(ctx, e, "%s %s", config_quote(config_setting_get_string(e),
			    quoted, sizeof(quoted)), why);
	}
}

void
config_access_rules_check(struct config_ctx *ctx, const config_setting_t *g,
    const struct config_rules *r)
{
	const config_setting_t *deny = config_setting_get_member(g, "deny");

	/* Each list is within ACL_ENTRIES_MAX already; one image holds both. */
	if (deny != NULL && (uint64_t)r->allow_count + r->deny_count > ACL_ENTRIES_MAX)
		config_err(ctx, deny, "and allow have %llu entries together, more than %u",
		    (unsigned long long)r->allow_count + r->deny_count, ACL_ENTRIES_MAX);
}

/* trusted and accept_proxy come together: one without the other is a mistake. */
static void
config_access_listen_check(struct config_ctx *ctx, const config_setting_t *g,
    const struct config_listen *l)
{
	const config_setting_t *ap = config_setting_get_member(g, "accept_proxy");
	const config_setting_t *tr = config_setting_get_member(g, "trusted");

	if (l->accept_proxy && tr == NULL)
		config_err(ctx, ap, "needs trusted: the addresses of the balancers that "
		    "may send a PROXY header (trusted = [ \"10.0.0.0/8\" ];)");
	else if (!l->accept_proxy && tr != NULL && ap != NULL &&
	    config_setting_type(ap) == CONFIG_TYPE_BOOL)
		config_err(ctx, tr, "is set but accept_proxy is false: only a PROXY header "
		    "is checked against it");
	else if (tr != NULL && ap == NULL)
		config_err(ctx, tr, "needs accept_proxy = true; (only a PROXY header is "
		    "checked against it)");
}

/*
 * The setting of listen entry j (an index in cfg->listens) that an entry of
 * list s (the entries from first on) is compared with: in s, or in the
 * listen list of an earlier listener group (s is then listeners[g].listen).
 */
static const config_setting_t *
config_access_listen_entry(struct config_ctx *ctx, const config_setting_t *s,
    uint32_t first, uint32_t j)
{
	const struct config_group *g;
	const config_setting_t *groups;

	if (j >= first)
		return config_setting_get_elem(s, j - first);
	g = &ctx->cfg->groups[ctx->cfg->listens[j].group];
	groups = config_setting_parent(config_setting_parent(s));
	return config_setting_get_elem(config_setting_get_member(config_setting_get_elem(groups,
	    ctx->cfg->listens[j].group), "listen"), j - g->listen_first);
}

void
config_access_listen_fill(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, uint32_t first, uint32_t n, uint32_t group)
{
	struct config *cfg = ctx->cfg;
	const config_setting_t *e;
	struct config_listen *l;
	uint32_t i, j;

	for (i = first; i < first + n; i++) {
		e = config_setting_get_elem(s, i - first);
		l = &cfg->listens[i];
		l->group = group;
		if (config_setting_is_group(e)) {
			config_walk(ctx, e, k->members, l);
			config_access_listen_check(ctx, e, l);
			config_access_rules_check(ctx, e, &l->rules);
		} else if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			(void)config_addr_get(ctx, e, k->addr_flags, &l->addr);
		} else {
			config_err_type(ctx, e, "a string or a group");
		}
		cfg->listen[i] = l->addr;
		if (cfg->listen[i].len == 0)
			continue;	/* reported */
		/* Quadratic, but bounded by MAX_LISTEN. */
		for (j = 0; j < i && !addr_equal(&cfg->listen[j], &cfg->listen[i]); j++)
			;
		if (j < i)
			config_addr_duplicate(ctx, config_setting_is_group(e) ?
			    config_setting_get_member(e, "address") : e,
			    config_access_listen_entry(ctx, s, first, j));
	}
}

void
config_access_listen(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	uint32_t n;

	if (config_setting_is_group(s)) {	/* one group, not in a list */
		config_err_type(ctx, s, "a list: listen = ( \"host:port\", { address = ... } )");
		return;
	}
	n = config_list_length(ctx, s, 1, "addresses", k->max);
	if (n == 0)
		return;
	cfg->listens = calloc(n, sizeof(*cfg->listens));
	cfg->listen = calloc(n, sizeof(*cfg->listen));
	if (cfg->listens == NULL || cfg->listen == NULL) {
		config_err(ctx, s, "out of memory");
		return;	/* config_load() frees what was made */
	}
	cfg->listen_count = n;
	config_access_listen_fill(ctx, s, k, 0, n, 0);
}

void
config_access_rules_free(struct config_rules *r)
{
	free(r->allow);
	free(r->deny);
	memset(r, 0, sizeof(*r));
}
