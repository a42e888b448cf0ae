/*
 * config_access_test.c -- config_load() of who may connect (master/
 * config_access.c and its keys in master/config.c): listen entries as
 * strings and as groups (accept_proxy, trusted, allow, deny), top-level and
 * per-route allow/deny, route send_proxy; each fault asserted as the exact
 * "file:line: setting: message".
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "config.h"
#include "config_int.h"
#include "config_test.h"
#include "routes.h"

TestSuite(config_access, .fini = teardown);

/* A parsed CIDR as text: "10.0.0.0/8", "::1/128". */
static const char *
fmt_cidr(const struct acl_cidr *c)
{
	static char buf[ACL_CIDR_TEXT_MAX + 1];
	char ip[INET6_ADDRSTRLEN];

	cr_assert_not_null(inet_ntop(c->family, c->addr, ip, sizeof(ip)));
	snprintf(buf, sizeof(buf), "%s/%u", ip, c->prefix);
	return buf;
}

/* ---- what loads --------------------------------------------------------- */

Test(config_access, listen_strings_and_groups_side_by_side)
{
	expect_ok("listen = ( \"127.0.0.1:8443\",\n"
	    "  { address = \"*:443\"; accept_proxy = true;\n"
	    "    trusted = [ \"10.0.0.0/8\", \"::1/128\" ];\n"
	    "    allow = [ \"192.0.2.0/24\" ]; deny = [ \"192.0.2.66/32\" ]; },\n"
	    "  { address = \"[::1]:8443\"; },\n"
	    "  \"[::1]:9443\" );\n" ROUTES_OK);
	cr_assert_eq(cfg.listen_count, 4);
	cr_assert_str_eq(fmt_addr(&cfg.listen[0]), "127.0.0.1:8443");
	cr_assert_str_eq(fmt_addr(&cfg.listen[1]), "0.0.0.0:443");
	cr_assert_str_eq(fmt_addr(&cfg.listen[2]), "[::1]:8443");
	cr_assert_str_eq(fmt_addr(&cfg.listen[3]), "[::1]:9443");
	/* listen[i] is listens[i].addr: the two views agree. */
	for (uint32_t i = 0; i < cfg.listen_count; i++)
		cr_assert(addr_equal(&cfg.listen[i], &cfg.listens[i].addr), "entry %u", i);
	cr_assert_eq(cfg.listens[1].accept_proxy, 1);
	cr_assert_eq(cfg.listens[1].trusted.allow_count, 2);
	cr_assert_str_eq(fmt_cidr(&cfg.listens[1].trusted.allow[0]), "10.0.0.0/8");
	cr_assert_str_eq(fmt_cidr(&cfg.listens[1].trusted.allow[1]), "::1/128");
	cr_assert_eq(cfg.listens[1].trusted.deny_count, 0);
	cr_assert_eq(cfg.listens[1].rules.allow_count, 1);
	cr_assert_str_eq(fmt_cidr(&cfg.listens[1].rules.allow[0]), "192.0.2.0/24");
	cr_assert_eq(cfg.listens[1].rules.deny_count, 1);
	cr_assert_str_eq(fmt_cidr(&cfg.listens[1].rules.deny[0]), "192.0.2.66/32");
	/* A string, or a group of just an address: no PROXY header, no rules. */
	for (uint32_t i = 0; i < cfg.listen_count; i += 2 + (i == 0)) {
		cr_assert_eq(cfg.listens[i].accept_proxy, 0, "entry %u", i);
		cr_assert_eq(cfg.listens[i].trusted.allow_count, 0, "entry %u", i);
		cr_assert_eq(cfg.listens[i].rules.allow_count, 0, "entry %u", i);
		cr_assert_eq(cfg.listens[i].rules.deny_count, 0, "entry %u", i);
	}
	cr_assert_eq(cfg.rules.allow_count + cfg.rules.deny_count, 0);
}

Test(config_access, listen_array_form_fills_both_views)
{
	expect_ok("listen = [ \"127.0.0.1:8443\", \"*:8443\" ];\n" ROUTES_OK);
	cr_assert_eq(cfg.listen_count, 2);
	cr_assert_not_null(cfg.listens);
	cr_assert(addr_equal(&cfg.listen[0], &cfg.listens[0].addr));
	cr_assert(addr_equal(&cfg.listen[1], &cfg.listens[1].addr));
	cr_assert_str_eq(fmt_addr(&cfg.listens[1].addr), "0.0.0.0:8443");
	cr_assert_eq(cfg.listens[0].accept_proxy + cfg.listens[1].accept_proxy, 0);
}

/* Bare addresses are host entries; IPv6 and prefix 0 pass. */
Test(config_access, top_level_allow_and_deny)
{
	expect_ok(LISTEN_OK ROUTES_OK
	    "allow = [ \"127.0.0.0/8\", \"2001:db8::/32\", \"0.0.0.0/0\" ];\n"
	    "deny = ( \"127.0.0.2\", \"2001:db8::1\" );\n");
	cr_assert_eq(cfg.rules.allow_count, 3);
	cr_assert_str_eq(fmt_cidr(&cfg.rules.allow[0]), "127.0.0.0/8");
	cr_assert_str_eq(fmt_cidr(&cfg.rules.allow[1]), "2001:db8::/32");
	cr_assert_str_eq(fmt_cidr(&cfg.rules.allow[2]), "0.0.0.0/0");
	cr_assert_eq(cfg.rules.deny_count, 2);
	cr_assert_str_eq(fmt_cidr(&cfg.rules.deny[0]), "127.0.0.2/32");
	cr_assert_str_eq(fmt_cidr(&cfg.rules.deny[1]), "2001:db8::1/128");
	/* The listen entry's own lists stay empty: the top level's are not copied. */
	cr_assert_eq(cfg.listens[0].rules.allow_count, 0);
}

Test(config_access, route_send_proxy_and_rules)
{
	expect_ok(LISTEN_OK "routes = (\n"
	    "  { sni = \"a.example\"; backends = [ \"127.0.0.1:1\" ]; send_proxy = \"v1\"; },\n"
	    "  { sni = \"b.example\"; backends = [ \"127.0.0.1:1\" ]; send_proxy = \"v2\";\n"
	    "    allow = [ \"10.0.0.0/8\" ]; deny = [ \"10.9.0.0/16\" ]; },\n"
	    "  { sni = \"c.example\"; backends = [ \"127.0.0.1:1\" ]; send_proxy = \"none\"; },\n"
	    "  { sni = \"*\"; backends = [ \"127.0.0.1:1\" ]; deny = [ \"::/0\" ]; }\n"
	    ");\n");
	cr_assert_eq(cfg.route_count, 4);
	cr_assert_eq(cfg.routes[0].send_proxy, ROUTES_PROXY_V1);
	cr_assert_eq(cfg.routes[1].send_proxy, ROUTES_PROXY_V2);
	cr_assert_eq(cfg.routes[2].send_proxy, ROUTES_PROXY_NONE);
	cr_assert_eq(cfg.routes[3].send_proxy, ROUTES_PROXY_NONE);	/* absent */
	cr_assert_eq(cfg.routes[0].rules.allow_count + cfg.routes[0].rules.deny_count, 0);
	cr_assert_eq(cfg.routes[1].rules.allow_count, 1);
	cr_assert_str_eq(fmt_cidr(&cfg.routes[1].rules.allow[0]), "10.0.0.0/8");
	cr_assert_eq(cfg.routes[1].rules.deny_count, 1);
	cr_assert_str_eq(fmt_cidr(&cfg.routes[1].rules.deny[0]), "10.9.0.0/16");
	cr_assert_eq(cfg.routes[3].rules.allow_count, 0);
	cr_assert_eq(cfg.routes[3].rules.deny_count, 1);
	cr_assert_str_eq(fmt_cidr(&cfg.routes[3].rules.deny[0]), "::/0");
}

/* ---- accept_proxy and trusted ------------------------------------------- */

Test(config_access, accept_proxy_without_trusted)
{
	expect_errors("listen = ( { address = \"127.0.0.1:8443\";\n"
	    "  accept_proxy = true; } );\n" ROUTES_OK,
	    ":2: listen[0].accept_proxy: needs trusted: the addresses of the balancers "
	    "that may send a PROXY header (trusted = [ \"10.0.0.0/8\" ];)",
	    NULL);
}

Test(config_access, accept_proxy_with_an_empty_trusted)
{
	expect_errors("listen = ( { address = \"127.0.0.1:8443\"; accept_proxy = true;\n"
	    "  trusted = [ ]; } );\n" ROUTES_OK,
	    ":2: listen[0].trusted: is empty: leave it out, or list addresses (\"10.0.0.0/8\")",
	    NULL);
}

Test(config_access, trusted_without_accept_proxy)
{
	expect_errors("listen = ( { address = \"127.0.0.1:8443\";\n"
	    "  trusted = [ \"10.0.0.0/8\" ]; },\n"
	    "  { address = \"127.0.0.1:8444\"; accept_proxy = false;\n"
	    "    trusted = [ \"10.0.0.0/8\" ]; } );\n" ROUTES_OK,
	    ":2: listen[0].trusted: needs accept_proxy = true; (only a PROXY header "
	    "is checked against it)",
	    ":4: listen[1].trusted: is set but accept_proxy is false: only a PROXY "
	    "header is checked against it",
	    NULL);
}

/* ---- CIDR lists --------------------------------------------------------- */

Test(config_access, bad_cidrs_each_why)
{
	expect_errors(LISTEN_OK ROUTES_OK "allow = [\n"
	    "  \"10.0.0.1/8\",\n"
	    "  \"10.0.0.0/33\",\n"
	    "  \"example.com\",\n"
	    "  \"::1%eth0\",\n"
	    "  \"2001:db8::/129\",\n"
	    "  \"10.0.0.0/\",\n"
	    "  \"10.0.0.0/x\",\n"
	    "  \"/8\",\n"
	    "  \"\"\n"
	    "];\n",
	    ":4: allow[0]: \"10.0.0.1/8\" has address bits set past the prefix length "
	    "(an entry is a network address: 10.0.0.0/8, not 10.0.0.1/8)",
	    ":5: allow[1]: \"10.0.0.0/33\" has a prefix length past 32, the bits of an "
	    "IPv4 address",
	    ":6: allow[2]: \"example.com\" is not a valid IPv4 address (a.b.c.d, or an "
	    "IPv6 address)",
	    ":7: allow[3]: \"::1%eth0\" has an IPv6 zone ('%'), which an address rule "
	    "cannot match",
	    ":8: allow[4]: \"2001:db8::/129\" has a prefix length past 128, the bits of "
	    "an IPv6 address",
	    ":9: allow[5]: \"10.0.0.0/\" has an empty prefix length after '/'",
	    ":10: allow[6]: \"10.0.0.0/x\" has a prefix length that is not a decimal number",
	    ":11: allow[7]: \"/8\" has no address before '/'",
	    ":12: allow[8]: \"\" is empty",
	    NULL);
}

/* The same parser stands behind every scope; each names its own path. */
Test(config_access, bad_cidrs_in_every_scope)
{
	expect_errors("listen = ( { address = \"127.0.0.1:8443\"; accept_proxy = true;\n"
	    "  trusted = [ \"10.0.0.1/8\" ];\n"
	    "  allow = [ \"10.0.0.0/33\" ];\n"
	    "  deny = [ \"example.com\" ]; } );\n"
	    "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:1\" ];\n"
	    "  allow = [ \"::1%eth0\" ];\n"
	    "  deny = [ \"10.0.0.1/8\" ]; } );\n"
	    "deny = [ \"10.0.0.0/33\" ];\n",
	    ":2: listen[0].trusted[0]: \"10.0.0.1/8\" has address bits set past the "
	    "prefix length (an entry is a network address: 10.0.0.0/8, not 10.0.0.1/8)",
	    ":3: listen[0].allow[0]: \"10.0.0.0/33\" has a prefix length past 32, the "
	    "bits of an IPv4 address",
	    ":4: listen[0].deny[0]: \"example.com\" is not a valid IPv4 address "
	    "(a.b.c.d, or an IPv6 address)",
	    ":6: routes[0].allow[0]: \"::1%eth0\" has an IPv6 zone ('%'), which an "
	    "address rule cannot match",
	    ":7: routes[0].deny[0]: \"10.0.0.1/8\" has address bits set past the "
	    "prefix length (an entry is a network address: 10.0.0.0/8, not 10.0.0.1/8)",
	    ":8: deny[0]: \"10.0.0.0/33\" has a prefix length past 32, the bits of an "
	    "IPv4 address",
	    NULL);
}

Test(config_access, empty_lists_and_wrong_types)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "allow = [ ];\n"
	    "deny = ( \"10.0.0.0/8\", 5, [ \"a\" ] );\n",
	    ":3: allow: is empty: leave it out, or list addresses (\"10.0.0.0/8\")",
	    ":4: deny[1]: expected a string, got an integer",
	    ":4: deny[2]: expected a string, got an array",
	    NULL);
	config_errors_free(&errs);
	reset_temp();
	expect_errors(LISTEN_OK "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:1\" ];\n"
	    "  allow = \"10.0.0.0/8\"; deny = [ 10 ]; } );\n",
	    ":3: routes[0].allow: expected an array of addresses (\"10.0.0.0/8\", "
	    "\"2001:db8::/32\"), got a string",
	    ":3: routes[0].deny[0]: expected a string, got an integer",
	    NULL);
}

/* ---- send_proxy --------------------------------------------------------- */

Test(config_access, send_proxy_names_its_choices)
{
	expect_errors(LISTEN_OK "routes = (\n"
	    "  { sni = \"a.example\"; backends = [ \"127.0.0.1:1\" ]; send_proxy = \"v3\"; },\n"
	    "  { sni = \"b.example\"; backends = [ \"127.0.0.1:1\" ]; send_proxy = \"V1\"; },\n"
	    "  { sni = \"c.example\"; backends = [ \"127.0.0.1:1\" ]; send_proxy = 2; }\n"
	    ");\n",
	    ":3: routes[0].send_proxy: \"v3\" is not one of \"none\", \"v1\", \"v2\"",
	    ":4: routes[1].send_proxy: \"V1\" is not one of \"none\", \"v1\", \"v2\"",
	    ":5: routes[2].send_proxy: expected a string, got an integer",
	    NULL);
}

/* ---- listen entries ----------------------------------------------------- */

Test(config_access, listen_entry_neither_string_nor_group)
{
	expect_errors("listen = ( \"127.0.0.1:8443\",\n"
	    "  8444,\n"
	    "  [ \"127.0.0.1:8445\" ],\n"
	    "  ( \"127.0.0.1:8446\" ) );\n" ROUTES_OK,
	    ":2: listen[1]: expected a string or a group, got an integer",
	    ":3: listen[2]: expected a string or a group, got an array",
	    ":4: listen[3]: expected a string or a group, got a list",
	    NULL);
}

Test(config_access, listen_group_unknown_key_and_missing_address)
{
	expect_errors("listen = (\n"
	    "  { address = \"127.0.0.1:8443\"; acept_proxy = true; },\n"
	    "  { allow = [ \"10.0.0.0/8\" ]; },\n"
	    "  { address = 8444; }\n"
	    ");\n" ROUTES_OK,
	    ":2: listen[0]: unknown setting \"acept_proxy\"",
	    ":3: listen[1].address: is required",
	    ":4: listen[2].address: expected a string, got an integer",
	    NULL);
}

Test(config_access, listen_group_bad_address)
{
	expect_errors("listen = ( { address = \"localhost:8443\"; },\n"
	    "  { address = \"127.0.0.1\"; } );\n" ROUTES_OK,
	    ":1: listen[0].address: \"localhost:8443\" is not a numeric IP address",
	    ":2: listen[1].address: \"127.0.0.1\" has no port",
	    NULL);
}

/* Each key stands in its own scope only: elsewhere it is unknown, not ignored. */
Test(config_access, access_keys_out_of_their_scope_are_unknown)
{
	expect_errors("listen = ( { address = \"127.0.0.1:8443\"; send_proxy = \"v1\"; } );\n"
	    "accept_proxy = true;\n"
	    "trusted = [ \"10.0.0.0/8\" ];\n"
	    "send_proxy = \"v2\";\n"
	    "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:1\" ];\n"
	    "  accept_proxy = true; trusted = [ \"10.0.0.0/8\" ]; } );\n",
	    ":1: listen[0]: unknown setting \"send_proxy\"",
	    ":2: unknown setting \"accept_proxy\"",
	    ":3: unknown setting \"trusted\"",
	    ":4: unknown setting \"send_proxy\"",
	    ":6: routes[0]: unknown setting \"accept_proxy\"",
	    ":6: routes[0]: unknown setting \"trusted\"",
	    NULL);
}

/* A group's address is compared with the strings' either way round. */
Test(config_access, duplicate_address_between_a_string_and_a_group)
{
	expect_errors("listen = ( \"127.0.0.1:8443\",\n"
	    "  { address = \"*:443\"; },\n"
	    "  { address = \"127.0.0.1:8443\"; accept_proxy = true;\n"
	    "    trusted = [ \"10.0.0.0/8\" ]; },\n"
	    "  \"0.0.0.0:443\" );\n" ROUTES_OK,
	    ":3: listen[2].address: \"127.0.0.1:8443\" duplicates listen[0] (line 1)",
	    ":5: listen[3]: \"0.0.0.0:443\" duplicates listen[1] (line 2)",
	    NULL);
}

/* Faults in the new keys come in file order with the old ones. */
Test(config_access, faults_of_every_kind_in_order)
{
	expect_errors("workers = -1;\n"
	    "listen = ( { address = \"127.0.0.1:8443\"; accept_proxy = true; } );\n"
	    "allow = [ \"10.0.0.1/8\" ];\n"
	    "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:1\" ]; send_proxy = \"v3\"; } );\n",
	    ":1: workers: -1 is out of range 0..256",
	    ":2: listen[0].accept_proxy: needs trusted: the addresses of the balancers "
	    "that may send a PROXY header (trusted = [ \"10.0.0.0/8\" ];)",
	    ":3: allow[0]: \"10.0.0.1/8\" has address bits set past the prefix length "
	    "(an entry is a network address: 10.0.0.0/8, not 10.0.0.1/8)",
	    ":4: routes[0].send_proxy: \"v3\" is not one of \"none\", \"v1\", \"v2\"",
	    NULL);
}

/*
 * A scope's allow and deny share one image: together within ACL_ENTRIES_MAX.
 * The check is called on counts set by hand: a file of a million entries
 * takes minutes under AddressSanitizer (libconfig grows its lists by
 * realloc, which ASan always copies).
 */
Test(config_access, allow_and_deny_together_past_the_entry_limit)
{
	struct config_rules r = { .allow_count = ACL_ENTRIES_MAX / 2 + 1,
	    .deny_count = ACL_ENTRIES_MAX / 2 };
	struct config_errors e = { 0 };
	struct config_ctx ctx = { .errs = &e, .path = "t.conf" };
	char want[128];
	config_t lc;

	config_init(&lc);
	cr_assert_eq(config_read_string(&lc, "allow = [ \"10.0.0.0/8\" ];\n"
	    "deny = [ \"11.0.0.0/8\" ];\n"), CONFIG_TRUE);
	config_access_rules_check(&ctx, config_root_setting(&lc), &r);
	snprintf(want, sizeof(want), "t.conf:2: deny: and allow have %u entries together, "
	    "more than %u", ACL_ENTRIES_MAX + 1, ACL_ENTRIES_MAX);
	cr_assert_eq(e.count, 1);
	cr_assert_str_eq(e.msg[0], want);
	r.allow_count--;
	config_access_rules_check(&ctx, config_root_setting(&lc), &r);
	cr_assert_eq(e.count, 1, "exactly ACL_ENTRIES_MAX together is fine");
	config_errors_free(&e);
	config_destroy(&lc);
}

Test(config_access, listen_as_one_group_says_to_make_it_a_list)
{
	expect_errors("listen = { address = \"127.0.0.1:8443\"; };\n" ROUTES_OK,
	    ":1: listen: expected a list: listen = ( \"host:port\", { address = ... } ), got a group",
	    NULL);
}
