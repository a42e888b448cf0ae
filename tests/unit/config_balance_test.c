/*
 * config_balance_test.c -- guards a route's balance key (master/config.c):
 * roundrobin by default, leastconn and random2 by name, and its errors
 * as "file:line: setting: message".
 */
#include "config_test.h"
#include "routes.h"

TestSuite(config_balance, .fini = teardown);

Test(config_balance, each_mode_by_name_and_roundrobin_by_default)
{
	expect_ok(LISTEN_OK "routes = (\n"
	    "  { sni = \"a.example\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"b.example\"; backends = [ \"127.0.0.1:1\" ]; balance = \"roundrobin\"; },\n"
	    "  { sni = \"c.example\"; backends = [ \"127.0.0.1:1\" ]; balance = \"leastconn\"; },\n"
	    "  { sni = \"d.example\"; backends = [ \"127.0.0.1:1\" ]; balance = \"random2\"; }\n"
	    ");\n");
	cr_assert_eq(cfg.route_count, 4);
	cr_assert_eq(cfg.routes[0].balance, ROUTES_BALANCE_ROUNDROBIN);
	cr_assert_eq(cfg.routes[1].balance, ROUTES_BALANCE_ROUNDROBIN);
	cr_assert_eq(cfg.routes[2].balance, ROUTES_BALANCE_LEASTCONN);
	cr_assert_eq(cfg.routes[3].balance, ROUTES_BALANCE_RANDOM2);
}

Test(config_balance, an_unknown_mode_names_the_choices)
{
	expect_errors(LISTEN_OK "routes = (\n"
	    "  { sni = \"a.example\"; backends = [ \"127.0.0.1:1\" ]; balance = \"leastconns\"; },\n"
	    "  { sni = \"b.example\"; backends = [ \"127.0.0.1:1\" ]; balance = \"LeastConn\"; },\n"
	    "  { sni = \"c.example\"; backends = [ \"127.0.0.1:1\" ]; balance = 2; }\n"
	    ");\n",
	    ":3: routes[0].balance: \"leastconns\" is not one of \"roundrobin\", \"leastconn\", \"random2\"",
	    ":4: routes[1].balance: \"LeastConn\" is not one of \"roundrobin\", \"leastconn\", \"random2\"",
	    ":5: routes[2].balance: expected a string, got an integer",
	    NULL);
}
