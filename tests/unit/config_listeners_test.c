/*
 * config_listeners_test.c -- config_load() of listener groups (master/
 * config_listeners.c): listeners = ( { listen; routes; allow; deny; } ) as
 * an alternative to the top-level listen and routes, patterns unique per
 * group, a listen address in one group only, empty route lists; each fault
 * asserted as the exact "file:line: setting: message".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_test.h"
#include "routes.h"

TestSuite(config_listeners, .fini = teardown);

#define ROUTE(sni, backend) "{ sni = \"" sni "\"; backends = [ \"" backend "\" ]; }"

/* ---- what loads --------------------------------------------------------- */

Test(config_listeners, two_groups_keep_their_entries_apart)
{
	expect_ok("listeners = (\n"
	    "  { listen = [ \"127.0.0.1:8443\", \"[::1]:8443\" ];\n"
	    "    routes = ( " ROUTE("a.example.com", "127.0.0.1:9001") ",\n"
	    "               " ROUTE("*", "127.0.0.1:9002") " ); },\n"
	    "  { listen = ( { address = \"127.0.0.1:6443\"; allow = [ \"10.0.0.0/8\" ]; } );\n"
	    "    allow = [ \"192.0.2.0/24\" ]; deny = [ \"192.0.2.66\" ];\n"
	    "    routes = ( " ROUTE("a.example.com", "127.0.0.1:9003") " ); }\n"
	    ");\n");
	cr_assert_eq(cfg.group_count, 2);
	cr_assert_eq(cfg.listen_count, 3);
	cr_assert_eq(cfg.route_count, 3);
	cr_assert_str_eq(fmt_addr(&cfg.listen[2]), "127.0.0.1:6443");
	cr_assert_eq(cfg.listens[0].group, 0);
	cr_assert_eq(cfg.listens[1].group, 0);
	cr_assert_eq(cfg.listens[2].group, 1);
	cr_assert_eq(cfg.listens[2].rules.allow_count, 1);
	cr_assert_eq(cfg.routes[0].group, 0);
	cr_assert_eq(cfg.routes[1].group, 0);
	cr_assert_eq(cfg.routes[2].group, 1);
	cr_assert_str_eq(cfg.routes[2].pattern, "a.example.com");
	cr_assert_str_eq(fmt_addr(&cfg.routes[2].backends[0]), "127.0.0.1:9003");
	cr_assert_eq(cfg.groups[0].listen_first, 0);
	cr_assert_eq(cfg.groups[0].listen_count, 2);
	cr_assert_eq(cfg.groups[0].route_first, 0);
	cr_assert_eq(cfg.groups[0].route_count, 2);
	cr_assert_eq(cfg.groups[1].listen_first, 2);
	cr_assert_eq(cfg.groups[1].listen_count, 1);
	cr_assert_eq(cfg.groups[1].route_first, 2);
	cr_assert_eq(cfg.groups[1].route_count, 1);
	cr_assert_eq(cfg.groups[0].rules.allow_count + cfg.groups[0].rules.deny_count, 0);
	cr_assert_eq(cfg.groups[1].rules.allow_count, 1);
	cr_assert_eq(cfg.groups[1].rules.deny_count, 1);
	cr_assert_eq(cfg.groups[1].line, 5);
}

Test(config_listeners, a_file_without_listeners_is_one_group)
{
	expect_ok(LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.group_count, 1);
	cr_assert_eq(cfg.groups[0].listen_count, 1);
	cr_assert_eq(cfg.groups[0].route_count, 1);
	cr_assert_eq(cfg.listens[0].group, 0);
	cr_assert_eq(cfg.routes[0].group, 0);
}

Test(config_listeners, empty_route_lists_load)
{
	expect_ok(LISTEN_OK "routes = ( );\n");
	cr_assert_eq(cfg.route_count, 0);
	config_free(&cfg);
	reset_temp();
	expect_ok(LISTEN_OK "routes = [ ];\n");
	cr_assert_eq(cfg.route_count, 0);
	config_free(&cfg);
	reset_temp();
	expect_ok("listeners = ( { listen = [ \"127.0.0.1:8443\" ]; routes = ( ); },\n"
	    "  { listen = [ \"127.0.0.1:8444\" ]; routes = ( " ROUTE("*", "127.0.0.1:9001") " ); } );\n");
	cr_assert_eq(cfg.route_count, 1);
	cr_assert_eq(cfg.groups[0].route_count, 0);
	cr_assert_eq(cfg.groups[1].route_first, 0);
	cr_assert_eq(cfg.routes[0].group, 1);
}

Test(config_listeners, a_pattern_may_repeat_in_another_group)
{
	expect_ok("listeners = (\n"
	    "  { listen = [ \"127.0.0.1:8443\" ]; routes = ( " ROUTE("*", "127.0.0.1:9001") ",\n"
	    "    " ROUTE("A.example.com", "127.0.0.1:9001") " ); },\n"
	    "  { listen = [ \"127.0.0.1:8444\" ]; routes = ( " ROUTE("*", "127.0.0.1:9002") ",\n"
	    "    " ROUTE("a.example.com.", "127.0.0.1:9002") " ); } );\n");
	cr_assert_eq(cfg.route_count, 4);
}

/* ---- what fails --------------------------------------------------------- */

Test(config_listeners, listeners_with_top_level_listen_or_routes)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "listeners = ( { listen = [ \"127.0.0.1:8444\" ]; routes = ( ); } );\n",
	    ":3: listeners: cannot be used with the top-level listen (line 1): each listener "
	    "group has its own listen and routes",
	    ":3: listeners: cannot be used with the top-level routes (line 2): each listener "
	    "group has its own listen and routes",
	    NULL);
	config_errors_free(&errs);
	reset_temp();
	expect_errors("listeners = ( { listen = [ \"127.0.0.1:8444\" ]; routes = ( ); } );\n"
	    "\n" ROUTES_OK,
	    ":1: listeners: cannot be used with the top-level routes (line 3): each listener "
	    "group has its own listen and routes",
	    NULL);
}

Test(config_listeners, an_address_in_two_groups)
{
	expect_errors("listeners = (\n"
	    "  { listen = [ \"127.0.0.1:8443\", \"127.0.0.1:8445\" ]; routes = ( ); },\n"
	    "  { listen = ( \"127.0.0.1:8444\",\n"
	    "      { address = \"127.0.0.1:8445\"; } ); routes = ( ); } );\n",
	    ":4: listeners[1].listen[1].address: \"127.0.0.1:8445\" duplicates "
	    "listeners[0].listen[1] (line 2)",
	    NULL);
}

Test(config_listeners, a_pattern_twice_in_one_group)
{
	expect_errors("listeners = (\n"
	    "  { listen = [ \"127.0.0.1:8443\" ]; routes = ( " ROUTE("*", "127.0.0.1:9001") " ); },\n"
	    "  { listen = [ \"127.0.0.1:8444\" ]; routes = (\n"
	    "    " ROUTE("a.example.com", "127.0.0.1:9002") ",\n"
	    "    " ROUTE("A.example.com", "127.0.0.1:9002") " ); } );\n",
	    ":5: listeners[1].routes[1].sni: \"A.example.com\" duplicates routes[0] (line 4)",
	    NULL);
}

Test(config_listeners, a_group_needs_listen_and_routes)
{
	expect_errors("listeners = (\n"
	    "  { listen = [ \"127.0.0.1:8443\" ]; },\n"
	    "  { routes = ( ); allow = [ \"10.0.0.0/8\" ]; },\n"
	    "  \"127.0.0.1:8445\",\n"
	    "  { listen = [ ]; routes = ( ); color = 1; } );\n",
	    ":2: listeners[0].routes: is required",
	    ":3: listeners[1].listen: is required",
	    ":4: listeners[2]: expected a group: { listen = ( ... ); routes = ( ... ); }, got a string",
	    ":5: listeners[3].listen: is empty",
	    ":5: listeners[3]: unknown setting \"color\"",
	    NULL);
}

Test(config_listeners, listeners_must_be_a_list_of_groups)
{
	expect_errors("listeners = ( );\n", ":1: listeners: is empty", NULL);
	config_errors_free(&errs);
	reset_temp();
	expect_errors("listeners = { listen = [ \"127.0.0.1:8443\" ]; routes = ( ); };\n",
	    ":1: listeners: expected a list, got a group", NULL);
}

Test(config_listeners, routes_must_be_a_list)
{
	expect_errors(LISTEN_OK "routes = [ \"a\" ];\n",
	    ":2: routes: expected a list, got an array", NULL);
}
