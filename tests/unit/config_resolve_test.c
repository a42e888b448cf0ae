/*
 * config_resolve_test.c -- config_load() of backends named by host name
 * (master/config_backends.c) and the top-level resolve_ms: a name keeps
 * its text and every address it resolved to; a literal address has none;
 * each fault asserted as the exact "file:line: setting: message".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_test.h"
#include "tunables.h"

TestSuite(config_resolve, .fini = teardown);

Test(config_resolve, resolve_ms_default_off_and_range)
{
	expect_ok(LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.resolve_ms, DEFAULT_RESOLVE_MS);
	config_free(&cfg);
	reset_temp();
	expect_ok("resolve_ms = 0;\n" LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.resolve_ms, 0);
	config_free(&cfg);
	reset_temp();
	expect_ok("resolve_ms = 1000;\n" LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.resolve_ms, 1000);
	config_free(&cfg);
	reset_temp();
	expect_errors("resolve_ms = 999;\n" LISTEN_OK ROUTES_OK,
	    ":1: resolve_ms: 999 is below 1000 (0 turns resolving again off)", NULL);
	config_errors_free(&errs);
	reset_temp();
	expect_errors("resolve_ms = 86400001;\n" LISTEN_OK ROUTES_OK,
	    ":1: resolve_ms: 86400001 is out of range 0..86400000", NULL);
	config_errors_free(&errs);
	reset_temp();
	expect_errors("resolve_ms = \"30s\";\n" LISTEN_OK ROUTES_OK,
	    ":1: resolve_ms: expected an integer, got a string", NULL);
}

Test(config_resolve, a_name_keeps_its_text_and_addresses)
{
	const struct config_route *r;

	expect_ok(LISTEN_OK
	    "routes = ( { sni = \"a.example\";\n"
	    "  backends = ( \"127.0.0.1:1\", \"LocalHost:9443\", { address = \"localhost:9444\"; weight = 3; } ); } );\n");
	r = &cfg.routes[0];
	cr_assert_eq(r->backend_count, 3);
	cr_assert_not_null(r->hosts);
	cr_assert_null(r->hosts[0].name, "a literal address has no name");
	cr_assert_str_eq(r->hosts[1].name, "LocalHost");
	cr_assert_eq(r->hosts[1].port, 9443);
	cr_assert_geq(r->hosts[1].addr_count, 1);
	cr_assert_leq(r->hosts[1].addr_count, 2);
	cr_assert(addr_equal(&r->backends[1], &r->hosts[1].addrs[0]), "backends[] has the first");
	cr_assert_str_eq(r->hosts[2].name, "localhost");
	cr_assert_eq(r->weights[2], 3);
	for (uint32_t i = 0; i < r->hosts[2].addr_count; i++)
		cr_assert_eq(ntohs(r->hosts[2].addrs[i].u.in.sin_port), 9444);
}

Test(config_resolve, literal_addresses_only_have_no_hosts)
{
	expect_ok(LISTEN_OK ROUTES_OK);
	cr_assert_null(cfg.routes[0].hosts);
}

Test(config_resolve, faults_of_names)
{
	expect_errors(LISTEN_OK
	    "routes = ( { sni = \"a.example\"; backends = (\n"
	    "  \"localhost:443\",\n"
	    "  \"LOCALHOST:443\",\n"
	    "  \"127.0.0.1:443\",\n"
	    "  { address = \"no-such-host.invalid:443\"; },\n"
	    "  \"localhost:\" ); } );\n",
	    ":4: routes[0].backends[1]: \"LOCALHOST:443\" duplicates routes[0].backends[0] (line 3)",
	    ":6: routes[0].backends[3].address: \"no-such-host.invalid:443\" names a host that does not resolve",
	    ":7: routes[0].backends[4]: \"localhost:\" has an empty port", NULL);
}
