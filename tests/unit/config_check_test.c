/*
 * config_check_test.c -- config_load() of active health checks
 * (master/config_check.c): a route's check = { ... } for all its backends,
 * a backend group's own overriding it key by key, the defaults, which
 * backends end up checked (ROUTES_BACKEND_CHECKED) with what PROXY header,
 * and each fault as the exact "file:line: setting: message".
 */
#include <criterion/criterion.h>

#include "config.h"
#include "config_test.h"
#include "routes.h"
#include "tunables.h"

TestSuite(config_check, .fini = teardown);

static void
assert_check(const struct config_check *c, uint32_t interval, uint32_t timeout,
    uint32_t rise, uint32_t fall, uint32_t send_proxy)
{
	cr_assert_eq(c->set, 1, "checked");
	cr_assert_eq(c->interval_ms, interval);
	cr_assert_eq(c->timeout_ms, timeout);
	cr_assert_eq(c->rise, rise);
	cr_assert_eq(c->fall, fall);
	cr_assert_eq(c->send_proxy, send_proxy);
}

Test(config_check, route_check_covers_every_backend_and_a_group_overrides_it)
{
	expect_ok(LISTEN_OK "routes = ( { sni = \"*\";\n"
	    "  check = { interval_ms = 500; timeout_ms = 200; fall = 2; };\n"
	    "  backends = ( \"127.0.0.1:1\",\n"
	    "    { address = \"127.0.0.1:2\"; weight = 3; check = { rise = 5; interval_ms = 1000; }; },\n"
	    "    { reject = true; weight = 1; } ); } );\n");
	const struct config_route *r = &cfg.routes[0];

	cr_assert_eq(r->backend_count, 3);
	assert_check(&r->backend_checks[0], 500, 200, DEFAULT_CHECK_RISE, 2, ROUTES_PROXY_NONE);
	/* Its own keys win; the others come from the route's check. */
	assert_check(&r->backend_checks[1], 1000, 200, 5, 2, ROUTES_PROXY_NONE);
	cr_assert(r->backend_flags[0] & ROUTES_BACKEND_CHECKED);
	cr_assert(r->backend_flags[1] & ROUTES_BACKEND_CHECKED);
	cr_assert_eq(cfg.routes[0].weights[1], 3);
	/* A reject backend has no address: never checked. */
	cr_assert_eq(r->backend_checks[2].set, 0);
	cr_assert_eq(r->backend_flags[2], ROUTES_BACKEND_REJECT);
}

Test(config_check, no_check_anywhere_checks_nothing_and_an_empty_group_takes_the_defaults)
{
	expect_ok(LISTEN_OK "routes = (\n"
	    "  { sni = \"a.example\"; backends = ( \"127.0.0.1:1\", { address = \"127.0.0.1:2\"; } ); },\n"
	    "  { sni = \"b.example\"; backends = ( \"127.0.0.1:3\",\n"
	    "      { address = \"127.0.0.1:4\"; check = { }; } ); } );\n");
	for (uint32_t k = 0; k < 2; k++) {
		cr_assert_eq(cfg.routes[0].backend_checks[k].set, 0);
		cr_assert_eq(cfg.routes[0].backend_flags[k] & ROUTES_BACKEND_CHECKED, 0);
	}
	cr_assert_eq(cfg.routes[1].backend_checks[0].set, 0, "the route has no check");
	cr_assert_eq(cfg.routes[1].backend_flags[0] & ROUTES_BACKEND_CHECKED, 0);
	assert_check(&cfg.routes[1].backend_checks[1], DEFAULT_CHECK_INTERVAL_MS,
	    DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_CHECK_RISE, DEFAULT_CHECK_FALL, ROUTES_PROXY_NONE);
	cr_assert(cfg.routes[1].backend_flags[1] & ROUTES_BACKEND_CHECKED);
}

Test(config_check, checks_send_the_routes_proxy_header_unless_told_not_to)
{
	expect_ok(LISTEN_OK "routes = (\n"
	    "  { sni = \"a.example\"; send_proxy = \"v2\"; check = { };\n"
	    "    backends = ( \"127.0.0.1:1\", { address = \"127.0.0.1:2\"; check = { send_proxy = false; }; } ); },\n"
	    "  { sni = \"b.example\"; send_proxy = \"v1\"; check = { send_proxy = true; };\n"
	    "    backends = [ \"127.0.0.1:3\" ]; },\n"
	    "  { sni = \"c.example\"; send_proxy = \"v1\"; check = { send_proxy = false; };\n"
	    "    backends = ( { address = \"127.0.0.1:4\"; check = { send_proxy = true; }; } ); } );\n");
	cr_assert_eq(cfg.routes[0].backend_checks[0].send_proxy, ROUTES_PROXY_V2);
	cr_assert_eq(cfg.routes[0].backend_checks[1].send_proxy, ROUTES_PROXY_NONE);
	cr_assert_eq(cfg.routes[1].backend_checks[0].send_proxy, ROUTES_PROXY_V1);
	cr_assert_eq(cfg.routes[2].backend_checks[0].send_proxy, ROUTES_PROXY_V1);
}

Test(config_check, bounds_types_and_keys)
{
	expect_errors(LISTEN_OK "routes = ( { sni = \"*\";\n"
	    "  check = { interval_ms = 99; timeout_ms = 9; rise = 0; fall = 101; };\n"
	    "  backends = ( \"127.0.0.1:1\",\n"
	    "    { address = \"127.0.0.1:2\"; check = { interval_ms = \"2s\"; rise = 101; fal = 3; }; },\n"
	    "    { address = \"127.0.0.1:3\"; check = 5; },\n"
	    "    { address = \"127.0.0.1:4\"; check = { send_proxy = 1; interval_ms = 3600001; }; } ); } );\n",
	    ":3: routes[0].check.interval_ms: 99 is out of range 100..3600000",
	    ":3: routes[0].check.timeout_ms: 9 is out of range 10..3600000",
	    ":3: routes[0].check.rise: 0 is out of range 1..100",
	    ":3: routes[0].check.fall: 101 is out of range 1..100",
	    ":5: routes[0].backends[1].check.interval_ms: expected an integer, got a string",
	    ":5: routes[0].backends[1].check.rise: 101 is out of range 1..100",
	    ":5: routes[0].backends[1].check: unknown setting \"fal\"",
	    ":6: routes[0].backends[2].check: expected a group, got an integer",
	    ":7: routes[0].backends[3].check.send_proxy: expected true or false, got an integer",
	    ":7: routes[0].backends[3].check.interval_ms: 3600001 is out of range 100..3600000",
	    NULL);
}

Test(config_check, timeout_longer_than_interval_reject_and_send_proxy_without_one)
{
	expect_errors(LISTEN_OK "routes = ( { sni = \"*\";\n"
	    "  check = { interval_ms = 500; timeout_ms = 600; };\n"
	    "  backends = ( \"127.0.0.1:1\",\n"
	    "    { address = \"127.0.0.1:2\"; check = { interval_ms = 100; }; },\n"
	    "    { address = \"127.0.0.1:3\"; check = { timeout_ms = 400; send_proxy = true; }; },\n"
	    "    { reject = true; check = { }; } ); } );\n",
	    ":3: routes[0].check.timeout_ms: 600 ms is longer than interval_ms 500 ms",
	    ":5: routes[0].backends[1].check: timeout_ms 600 ms is longer than interval_ms 100 ms",
	    ":6: routes[0].backends[2].check.send_proxy: needs the route's send_proxy "
	    "(\"v1\" or \"v2\"): it says which header a check sends",
	    ":7: routes[0].backends[3].check: a reject backend has no address to check",
	    NULL);
}

Test(config_check, a_short_interval_shortens_the_default_timeout)
{
	expect_ok(LISTEN_OK "routes = ( { sni = \"*\"; check = { interval_ms = 300; };\n"
	    "  backends = ( \"127.0.0.1:1\", { address = \"127.0.0.1:2\"; check = { interval_ms = 5000; }; } ); } );\n");
	assert_check(&cfg.routes[0].backend_checks[0], 300, 300, DEFAULT_CHECK_RISE,
	    DEFAULT_CHECK_FALL, ROUTES_PROXY_NONE);
	assert_check(&cfg.routes[0].backend_checks[1], 5000, DEFAULT_CHECK_TIMEOUT_MS,
	    DEFAULT_CHECK_RISE, DEFAULT_CHECK_FALL, ROUTES_PROXY_NONE);
}
