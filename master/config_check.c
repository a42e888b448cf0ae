/*
 * config_check.c -- active health checks in the configuration: a route's
 * check = { interval_ms; timeout_ms; rise; fall; send_proxy; } for all its
 * backends, and a backend group's own, which overrides it key by key (a
 * key neither gives takes the default). Resolved once the route is read,
 * into one check per backend; the master's checks (master/checks.c) run
 * them.
 */
#include <stddef.h>
#include <string.h>

#include "config_int.h"
#include "tunables.h"

#define CHECK(m)	offsetof(struct config_check, m)

const struct config_key config_check_keys[] = {
	{ "interval_ms", config_get_uint, .off = CHECK(interval_ms),
	    .min = MIN_CHECK_INTERVAL_MS, .max = MAX_CHECK_INTERVAL_MS },
	{ "timeout_ms", config_get_uint, .off = CHECK(timeout_ms),
	    .min = MIN_CHECK_TIMEOUT_MS, .max = MAX_CHECK_INTERVAL_MS },
	{ "rise", config_get_uint, .off = CHECK(rise), .min = 1, .max = MAX_CHECK_COUNT },
	{ "fall", config_get_uint, .off = CHECK(fall), .min = 1, .max = MAX_CHECK_COUNT },
	{ "send_proxy", config_get_bool, .off = CHECK(proxy) },
	{ .name = NULL }
};

void
config_check_get(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config_check *c = (struct config_check *)(void *)((char *)obj + k->off);

	if (!config_setting_is_group(s)) {
		config_err_type(ctx, s, "a group");
		return;
	}
	memset(c, 0, sizeof(*c));
	c->proxy = -1;
	c->set = 1;
	config_walk(ctx, s, k->members, c);
}

/* own's value, else the route's (when it has a check), else the default. */
static uint32_t
config_check_pick(uint32_t own, uint32_t route, uint32_t dflt)
{
	return own != 0 ? own : route != 0 ? route : dflt;
}

/*
 * own (NULL: none) over the route's check (set 0: none) over the defaults,
 * for a route sending send_proxy. Faults are reported at s, the check group
 * they come from. Returns the check resolved.
 */
static struct config_check
config_check_resolve(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_check *own, const struct config_check *route, uint32_t send_proxy)
{
	static const struct config_check none = { .proxy = -1 };
	const struct config_check *r = route->set ? route : &none;
	struct config_check c = { .set = 1 };
	const config_setting_t *p;

	if (own == NULL)
		own = &none;
	c.interval_ms = config_check_pick(own->interval_ms, r->interval_ms,
	    DEFAULT_CHECK_INTERVAL_MS);
	/* Not given: the default, or the interval when that is shorter (HAProxy: inter). */
	c.timeout_ms = config_check_pick(own->timeout_ms, r->timeout_ms,
	    c.interval_ms < DEFAULT_CHECK_TIMEOUT_MS ? c.interval_ms : DEFAULT_CHECK_TIMEOUT_MS);
	c.rise = config_check_pick(own->rise, r->rise, DEFAULT_CHECK_RISE);
	c.fall = config_check_pick(own->fall, r->fall, DEFAULT_CHECK_FALL);
	c.proxy = own->proxy >= 0 ? own->proxy : r->proxy;
	/* By default a check speaks to the backend as the route's clients do. */
	c.send_proxy = c.proxy == 0 ? ROUTES_PROXY_NONE : send_proxy;
	if (c.timeout_ms > c.interval_ms) {
		p = config_setting_get_member(s, "timeout_ms");
		config_err(ctx, p != NULL ? p : s, "%s%u ms is longer than interval_ms %u ms",
		    p != NULL ? "" : "timeout_ms ", c.timeout_ms, c.interval_ms);
	}
	if (c.proxy == 1 && send_proxy == ROUTES_PROXY_NONE &&
	    (p = config_setting_get_member(s, "send_proxy")) != NULL)
		config_err(ctx, p, "needs the route's send_proxy (\"v1\" or \"v2\"): "
		    "it says which header a check sends");
	return c;
}

void
config_check_route(struct config_ctx *ctx, const config_setting_t *g, struct config_route *r)
{
	const config_setting_t *rs = config_setting_get_member(g, "check");
	const config_setting_t *bs = config_setting_get_member(g, "backends"), *e, *own;
	struct config_check route = { 0 }, c;

	if (rs != NULL && r->check.set)	/* its faults reported once, not per backend */
		route = config_check_resolve(ctx, rs, NULL, &r->check, r->send_proxy);
	for (uint32_t i = 0; bs != NULL && r->backend_checks != NULL && i < r->backend_count; i++) {
		e = config_setting_get_elem(bs, i);
		own = e != NULL && config_setting_is_group(e) ?
		    config_setting_get_member(e, "check") : NULL;
		c = route;
		if (r->backend_flags[i] & ROUTES_BACKEND_REJECT) {
			if (own != NULL)
				config_err(ctx, own, "a reject backend has no address to check");
			memset(&c, 0, sizeof(c));
		} else if (own != NULL && r->backend_checks[i].set)
			c = config_check_resolve(ctx, own, &r->backend_checks[i], &r->check,
			    r->send_proxy);
		r->backend_checks[i] = c;
		if (c.set)
			r->backend_flags[i] |= ROUTES_BACKEND_CHECKED;
	}
}
