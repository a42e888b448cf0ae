/*
 * config_test.c -- config_load(): the shipped example, defaults, and every
 * kind of fault, each asserted as the exact "file:line: setting: message".
 * The access keys (listen groups, allow, deny, send_proxy) are in
 * config_access_test.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_test.h"
#include "routes.h"
#include "tunables.h"

TestSuite(config, .fini = teardown);

/* ---- what loads -------------------------------------------------------- */

Test(config, shipped_example_loads)
{
	const char *path = "etc/passthrough.conf";

	cr_assert_eq(config_load(&cfg, path, &errs), 0);
	cr_assert_eq(errs.count, 0);
	cr_assert_str_eq(cfg.path, path);
	cr_assert_eq(cfg.workers, 2);
	cr_assert_eq(cfg.listen_count, 2);
	cr_assert_str_eq(fmt_addr(&cfg.listen[0]), "127.0.0.1:8443");
	cr_assert_str_eq(fmt_addr(&cfg.listen[1]), "[::1]:8443");
	cr_assert_eq(cfg.settings.hello_ms, 5000);
	cr_assert_eq(cfg.settings.connect_ms, 3000);
	cr_assert_eq(cfg.settings.idle_ms, 600000);
	cr_assert_eq(cfg.settings.hello_bytes, 65536);
	cr_assert_eq(cfg.settings.max_connections, 100000);
	cr_assert_eq(cfg.settings.pipe_bytes, 65536);
	cr_assert_eq(cfg.settings.relay, RELAY_ADAPTIVE);
	cr_assert_eq(cfg.settings.drain_ms, DEFAULT_DRAIN_MS);
	cr_assert_eq(cfg.settings.log_level, LOG_LVL_INFO);
	cr_assert_eq(cfg.route_count, 3);
	cr_assert_str_eq(cfg.routes[0].pattern, "app.example.com");
	cr_assert_str_eq(cfg.routes[1].pattern, "*.example.org");
	cr_assert_str_eq(cfg.routes[2].pattern, "*");
	cr_assert_eq(cfg.routes[0].backend_count, 1);
	cr_assert_eq(cfg.routes[1].backend_count, 1);
	cr_assert_eq(cfg.routes[2].backend_count, 1);
	cr_assert_str_eq(fmt_addr(&cfg.routes[0].backends[0]), "127.0.0.1:9443");
	cr_assert_str_eq(fmt_addr(&cfg.routes[1].backends[0]), "127.0.0.1:9444");
	cr_assert_str_eq(fmt_addr(&cfg.routes[2].backends[0]), "127.0.0.1:9445");
	/* One route a line, in order. */
	cr_assert_gt(cfg.routes[0].line, 1);
	cr_assert_eq(cfg.routes[1].line, cfg.routes[0].line + 1);
	cr_assert_eq(cfg.routes[2].line, cfg.routes[0].line + 2);
}

Test(config, defaults_when_optional_groups_absent)
{
	expect_ok(LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.workers, 0);
	cr_assert_eq(cfg.settings.hello_ms, DEFAULT_HELLO_MS);
	cr_assert_eq(cfg.settings.connect_ms, DEFAULT_CONNECT_MS);
	cr_assert_eq(cfg.settings.idle_ms, DEFAULT_IDLE_MS);
	cr_assert_eq(cfg.settings.hello_bytes, DEFAULT_HELLO_BYTES);
	cr_assert_eq(cfg.settings.max_connections, DEFAULT_MAX_CONNECTIONS);
	cr_assert_eq(cfg.settings.pipe_bytes, DEFAULT_PIPE_BYTES);
	cr_assert_eq(cfg.settings.relay, RELAY_ADAPTIVE);
	cr_assert_eq(cfg.settings.drain_ms, DEFAULT_DRAIN_MS);
	cr_assert_eq(cfg.settings.log_level, LOG_LVL_INFO);
	cr_assert_eq(cfg.listen_count, 1);
	cr_assert_eq(cfg.route_count, 1);
	cr_assert_eq(cfg.routes[0].line, 2);
}

Test(config, defaults_when_groups_are_empty)
{
	expect_ok("timeouts = {};\nlimits = {};\ntuning = {};\nlog = {};\n"
	    LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.settings.hello_ms, DEFAULT_HELLO_MS);
	cr_assert_eq(cfg.settings.max_connections, DEFAULT_MAX_CONNECTIONS);
	cr_assert_eq(cfg.settings.pipe_bytes, DEFAULT_PIPE_BYTES);
	cr_assert_eq(cfg.settings.log_level, LOG_LVL_INFO);
}

/* Each setting at a value other than its default, the range ends among them. */
Test(config, every_setting_is_read)
{
	expect_ok("workers = 256;\n"
	    "listen = [ \"*:443\", \"[::]:443\", \"10.0.0.1:1\" ];\n"
	    "timeouts = { hello_ms = 1; connect_ms = 604800000; idle_ms = 7000L; };\n"
	    "limits = { hello_bytes = 512; max_connections = 10000000; };\n"
	    "tuning = { relay = \"splice_ring\"; pipe_bytes = 1048576; };\n"
	    "log = { level = \"debug\"; };\n"
	    ROUTES_OK);
	cr_assert_eq(cfg.workers, 256);
	cr_assert_eq(cfg.listen_count, 3);
	cr_assert_str_eq(fmt_addr(&cfg.listen[0]), "0.0.0.0:443");
	cr_assert_str_eq(fmt_addr(&cfg.listen[1]), "[::]:443");
	cr_assert_str_eq(fmt_addr(&cfg.listen[2]), "10.0.0.1:1");
	cr_assert_eq(cfg.settings.hello_ms, 1);
	cr_assert_eq(cfg.settings.connect_ms, 604800000);
	cr_assert_eq(cfg.settings.idle_ms, 7000);
	cr_assert_eq(cfg.settings.hello_bytes, 512);
	cr_assert_eq(cfg.settings.max_connections, 10000000);
	cr_assert_eq(cfg.settings.relay, RELAY_SPLICE_RING);
	cr_assert_eq(cfg.settings.pipe_bytes, 1048576);
	cr_assert_eq(cfg.settings.log_level, LOG_LVL_DEBUG);
}

/* "kernel" is read as asked: whether it can run is the master's to decide (kernelrelay.c). */
Test(config, relay_kernel_is_read)
{
	expect_ok("tuning = { relay = \"kernel\"; };\n" LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.settings.relay, RELAY_KERNEL);
}

Test(config, other_low_values_are_read)
{
	expect_ok("workers = 0;\n"
	    "limits = { hello_bytes = 1048576; max_connections = 1; };\n"
	    "tuning = { relay = \"splice\"; pipe_bytes = 4096; };\n"
	    "log = { level = \"error\"; };\n"
	    LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.workers, 0);
	cr_assert_eq(cfg.settings.hello_bytes, 1048576);
	cr_assert_eq(cfg.settings.max_connections, 1);
	cr_assert_eq(cfg.settings.relay, RELAY_SPLICE);
	cr_assert_eq(cfg.settings.pipe_bytes, 4096);
	cr_assert_eq(cfg.settings.log_level, LOG_LVL_ERROR);
}

Test(config, log_levels_warn_and_info)
{
	expect_ok("log = { level = \"warn\"; };\n" LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.settings.log_level, LOG_LVL_WARN);
	config_free(&cfg);
	reset_temp();
	expect_ok("log = { level = \"info\"; };\n" LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.settings.log_level, LOG_LVL_INFO);
}

Test(config, ipv6_and_hostname_backends_parse)
{
	char other[ADDR_STRLEN];
	const struct addr *a;

	expect_ok(LISTEN_OK
	    "routes = ( { sni = \"a.example\";\n"
	    "  backends = [ \"[::1]:9443\", \"[2001:db8::1]:443\", \"localhost:9443\" ]; } );\n");
	cr_assert_eq(cfg.route_count, 1);
	cr_assert_eq(cfg.routes[0].backend_count, 3);
	cr_assert_str_eq(fmt_addr(&cfg.routes[0].backends[0]), "[::1]:9443");
	cr_assert_str_eq(fmt_addr(&cfg.routes[0].backends[1]), "[2001:db8::1]:443");
	/* localhost may resolve to either loopback, by the system's preference. */
	a = &cfg.routes[0].backends[2];
	addr_format(a, other, sizeof(other));
	cr_assert(strcmp(other, "127.0.0.1:9443") == 0 || strcmp(other, "[::1]:9443") == 0,
	    "localhost:9443 resolved to %s", other);
}

Test(config, routes_keep_order_patterns_and_lines)
{
	expect_ok(LISTEN_OK
	    "routes = (\n"
	    "  { sni = \"App.Example.com.\"; backends = [ \"127.0.0.1:1\", \"127.0.0.1:2\" ]; },\n"
	    "  {\n"
	    "    sni = \"*.example.org\";\n"
	    "    backends = [ \"127.0.0.1:3\" ];\n"
	    "  }\n"
	    ");\n");
	cr_assert_eq(cfg.route_count, 2);
	cr_assert_str_eq(cfg.routes[0].pattern, "App.Example.com.");	/* as written */
	cr_assert_eq(cfg.routes[0].line, 3);
	cr_assert_eq(cfg.routes[0].backend_count, 2);
	cr_assert_str_eq(fmt_addr(&cfg.routes[0].backends[1]), "127.0.0.1:2");
	cr_assert_str_eq(cfg.routes[1].pattern, "*.example.org");
	cr_assert_eq(cfg.routes[1].line, 5);	/* the line of its sni */
	cr_assert_str_eq(fmt_addr(&cfg.routes[1].backends[0]), "127.0.0.1:3");
}

Test(config, listen_and_backends_may_be_lists)
{
	expect_ok("listen = ( \"127.0.0.1:1\" );\n"
	    "routes = ( { sni = \"*\"; backends = ( \"127.0.0.1:2\" ); } );\n");
	cr_assert_eq(cfg.listen_count, 1);
	cr_assert_eq(cfg.routes[0].backend_count, 1);
}

/* ---- the file itself --------------------------------------------------- */

Test(config, missing_file)
{
	const char *path = "/tmp/config_test.does-not-exist.conf";

	cr_assert_eq(config_load(&cfg, path, &errs), -1);
	cr_assert_eq(errs.count, 1);
	cr_assert_str_eq(errs.msg[0],
	    "/tmp/config_test.does-not-exist.conf: cannot open: No such file or directory");
	cr_assert_null(cfg.path);
}

Test(config, directory_is_not_a_file)
{
	cr_assert_eq(config_load(&cfg, "/tmp", &errs), -1);
	cr_assert_eq(errs.count, 1);
	cr_assert_str_eq(errs.msg[0], "/tmp: cannot read: Is a directory");
}

Test(config, syntax_error)
{
	expect_errors(LISTEN_OK "workers = ;\n" ROUTES_OK,
	    ":2: syntax error", NULL);
}

/* The string runs to the end of the file (line 5), where libconfig notices. */
Test(config, syntax_error_unterminated_string)
{
	expect_errors(LISTEN_OK ROUTES_OK "\nlog = { level = \"info; };\n",
	    ":5: syntax error", NULL);
}

Test(config, duplicate_setting_is_libconfigs_error)
{
	expect_errors(LISTEN_OK "workers = 1;\n" ROUTES_OK "workers = 2;\n",
	    ":4: duplicate setting name", NULL);
}

Test(config, mixed_array_is_libconfigs_error)
{
	expect_errors("listen = [ \"127.0.0.1:1\", 2 ];\n" ROUTES_OK,
	    ":1: mismatched element type in array", NULL);
}

Test(config, nul_byte_is_refused)
{
	static const char text[] = LISTEN_OK "#x\n" ROUTES_OK;
	char copy[sizeof(text)], want[256];
	int fd = mkstemp(conf_path);

	/* libconfig would stop at the NUL and never see the routes. */
	memcpy(copy, text, sizeof(text));
	copy[strlen(LISTEN_OK) + 1] = '\0';	/* the 'x' of the comment on line 2 */
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, copy, sizeof(copy) - 1), (ssize_t)(sizeof(copy) - 1));
	close(fd);
	cr_assert_eq(config_load(&cfg, conf_path, &errs), -1);
	cr_assert_eq(errs.count, 1);
	snprintf(want, sizeof(want), "%s:2: has a NUL byte", conf_path);
	cr_assert_str_eq(errs.msg[0], want);
	cr_assert_null(cfg.path);
}

/* libconfig 1.5 reads 4294967296 as 0 and 4295567296 as 600000: refused. */
Test(config, integer_too_wide_for_libconfig_is_refused)
{
	expect_errors(LISTEN_OK
	    "timeouts = { idle_ms = 4295567296; # \"4294967296\" in a comment is fine\n"
	    "  hello_ms = 5000; };\n"
	    "limits = { max_connections = -2147483649; hello_bytes = 0x80000000; };\n"
	    "workers = 2147483647; # fits, then out of range: not reached\n"
	    ROUTES_OK,
	    ":2: 4295567296 does not fit in 32 bits (libconfig 1.5 would wrap it); "
	    "add L for a 64-bit integer",
	    ":4: -2147483649 does not fit in 32 bits (libconfig 1.5 would wrap it); "
	    "add L for a 64-bit integer",
	    ":4: 0x80000000 does not fit in 32 bits (libconfig 1.5 would wrap it); "
	    "add L for a 64-bit integer",
	    NULL);
}

Test(config, wide_integer_with_l_suffix_is_range_checked)
{
	expect_errors(LISTEN_OK "timeouts = { idle_ms = 4295567296L; };\n" ROUTES_OK,
	    ":2: timeouts.idle_ms: 4295567296 is out of range 1..604800000", NULL);
}

Test(config, floats_and_strings_are_not_wide_integers)
{
	expect_errors(LISTEN_OK "x = 1e12; y = 12345678901.5; z = \"99999999999\";\n" ROUTES_OK,
	    ":2: unknown setting \"x\"",
	    ":2: unknown setting \"y\"",
	    ":2: unknown setting \"z\"",
	    NULL);
}

/* ---- keys -------------------------------------------------------------- */

Test(config, unknown_settings_in_every_group)
{
	expect_errors(LISTEN_OK
	    "wrokers = 2;\n"
	    "timeouts = { hello_ms = 5000; helo_ms = 1; };\n"
	    "limits = { helo_bytes = 65536; };\n"
	    "tuning = {\n  relay = \"splice\";\n  pipe = 4096;\n};\n"
	    "log = { file = \"/var/log/x\"; };\n"
	    "routes = ( { sni = \"*\"; backend = [ \"127.0.0.1:1\" ]; backends = [ \"127.0.0.1:2\" ]; } );\n",
	    ":2: unknown setting \"wrokers\"",
	    ":3: timeouts: unknown setting \"helo_ms\"",
	    ":4: limits: unknown setting \"helo_bytes\"",
	    ":7: tuning: unknown setting \"pipe\"",
	    ":9: log: unknown setting \"file\"",
	    ":10: routes[0]: unknown setting \"backend\"",
	    NULL);
}

/* ---- types ------------------------------------------------------------- */

Test(config, wrong_types_for_numbers)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "workers = \"2\";\n"
	    "timeouts = { hello_ms = 5.0; connect_ms = true; idle_ms = [ 1 ]; };\n"
	    "limits = { hello_bytes = \"64k\"; max_connections = 1.5e3; };\n"
	    "tuning = { pipe_bytes = { }; };\n",
	    ":3: workers: expected an integer, got a string",
	    ":4: timeouts.hello_ms: expected an integer, got a float",
	    ":4: timeouts.connect_ms: expected an integer, got a boolean",
	    ":4: timeouts.idle_ms: expected an integer, got an array",
	    ":5: limits.hello_bytes: expected an integer, got a string",
	    ":5: limits.max_connections: expected an integer, got a float",
	    ":6: tuning.pipe_bytes: expected an integer, got a group",
	    NULL);
}

Test(config, wrong_types_for_strings_and_groups)
{
	expect_errors(
	    "listen = \"127.0.0.1:8443\";\n"
	    "timeouts = 5;\n"
	    "limits = [ 1 ];\n"
	    "tuning = ( );\n"
	    "log = \"debug\";\n"
	    ROUTES_OK,
	    ":1: listen: expected an array, got a string",
	    ":2: timeouts: expected a group, got an integer",
	    ":3: limits: expected a group, got an array",
	    ":4: tuning: expected a group, got a list",
	    ":5: log: expected a group, got a string",
	    NULL);
}

Test(config, wrong_types_inside_groups)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "tuning = { relay = 1; };\n"
	    "log = { level = 3; };\n",
	    ":3: tuning.relay: expected a string, got an integer",
	    ":4: log.level: expected a string, got an integer",
	    NULL);
}

Test(config, wrong_types_in_lists)
{
	expect_errors("listen = [ 8443 ];\n"
	    "routes = (\n"
	    "  \"*\",\n"
	    "  { sni = 1; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"a.example\"; backends = \"127.0.0.1:1\"; },\n"
	    "  { sni = \"b.example\"; backends = [ 9443 ]; },\n"
	    "  { sni = \"c.example\"; backends = ( \"127.0.0.1:1\", { } ); }\n"
	    ");\n",
	    ":1: listen[0]: expected a string or a group, got an integer",
	    ":3: routes[0]: expected a group, got a string",
	    ":4: routes[1].sni: expected a string, got an integer",
	    ":5: routes[2].backends: expected an array, got a string",
	    ":6: routes[3].backends[0]: expected a string or a group, got an integer",
	    ":7: routes[4].backends[1]: needs address (or reject = true; for a share that gets an alert)",
	    NULL);
}

/* ---- ranges and values ------------------------------------------------- */

Test(config, numbers_out_of_range_low)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "workers = -1;\n"
	    "timeouts = { hello_ms = 0; connect_ms = 0; idle_ms = 0; };\n"
	    "limits = { hello_bytes = 511; max_connections = 0; };\n"
	    "tuning = { pipe_bytes = 2048; };\n",
	    ":3: workers: -1 is out of range 0..256",
	    ":4: timeouts.hello_ms: 0 is out of range 1..604800000",
	    ":4: timeouts.connect_ms: 0 is out of range 1..604800000",
	    ":4: timeouts.idle_ms: 0 is out of range 1..604800000",
	    ":5: limits.hello_bytes: 511 is out of range 512..1048576",
	    ":5: limits.max_connections: 0 is out of range 1..10000000",
	    ":6: tuning.pipe_bytes: 2048 is out of range 4096..1048576",
	    NULL);
}

Test(config, numbers_out_of_range_high)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "workers = 257;\n"
	    "timeouts = { hello_ms = 604800001; connect_ms = 604800001; idle_ms = 604800001; };\n"
	    "limits = { hello_bytes = 1048577; max_connections = 10000001; };\n"
	    "tuning = { pipe_bytes = 2097152; };\n",
	    ":3: workers: 257 is out of range 0..256",
	    ":4: timeouts.hello_ms: 604800001 is out of range 1..604800000",
	    ":4: timeouts.connect_ms: 604800001 is out of range 1..604800000",
	    ":4: timeouts.idle_ms: 604800001 is out of range 1..604800000",
	    ":5: limits.hello_bytes: 1048577 is out of range 512..1048576",
	    ":5: limits.max_connections: 10000001 is out of range 1..10000000",
	    ":6: tuning.pipe_bytes: 2097152 is out of range 4096..1048576",
	    NULL);
}

Test(config, pipe_bytes_must_be_a_power_of_two)
{
	expect_errors(LISTEN_OK ROUTES_OK "tuning = { pipe_bytes = 65537; };\n",
	    ":3: tuning.pipe_bytes: 65537 is not a power of two", NULL);
}

Test(config, enumerations_name_their_choices)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "tuning = { relay = \"foo\"; };\n"
	    "log = { level = \"Info\"; };\n",
	    ":3: tuning.relay: \"foo\" is not one of \"splice\", \"splice_ring\", \"adaptive\", \"kernel\"",
	    ":4: log.level: \"Info\" is not one of \"error\", \"warn\", \"info\", \"debug\"",
	    NULL);
}

/* ---- listen ------------------------------------------------------------ */

Test(config, bad_listen_addresses)
{
	expect_errors("listen = [\n"
	    "  \"127.0.0.1\",\n"
	    "  \"localhost:8443\",\n"
	    "  \"::1:8443\",\n"
	    "  \"127.0.0.1:99999\"\n"
	    "];\n" ROUTES_OK,
	    ":2: listen[0]: \"127.0.0.1\" has no port",
	    ":3: listen[1]: \"localhost:8443\" is not a numeric IP address",
	    ":4: listen[2]: \"::1:8443\" is an IPv6 address without [brackets]",
	    ":5: listen[3]: \"127.0.0.1:99999\" has a port outside 1..65535",
	    NULL);
}

Test(config, duplicate_listen_addresses)
{
	expect_errors("listen = [ \"127.0.0.1:8443\", \"[::1]:8443\",\n"
	    "  \"*:8443\", \"0.0.0.0:8443\",\n"
	    "  \"[0:0::1]:8443\", \"127.0.0.1:8443\" ];\n" ROUTES_OK,
	    ":2: listen[3]: \"0.0.0.0:8443\" duplicates listen[2] (line 2)",
	    ":3: listen[4]: \"[0:0::1]:8443\" duplicates listen[1] (line 1)",
	    ":3: listen[5]: \"127.0.0.1:8443\" duplicates listen[0] (line 1)",
	    NULL);
}

Test(config, empty_listen)
{
	expect_errors(ROUTES_OK "listen = [ ];\n",
	    ":2: listen: is empty", NULL);
}

Test(config, too_many_listen_addresses)
{
	char text[8192];
	size_t n = 0;
	unsigned i;

	n += (size_t)snprintf(text + n, sizeof(text) - n, ROUTES_OK "listen = [\n");
	for (i = 0; i < MAX_LISTEN + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  \"127.0.0.1:%u\",\n", i + 1);
	snprintf(text + n - 2, sizeof(text) - n + 2, "\n];\n");
	expect_errors(text, ":2: listen: has 65 addresses, more than 64", NULL);
}

/* ---- routes ------------------------------------------------------------ */

Test(config, bad_backend_addresses_each_why)
{
	expect_errors(LISTEN_OK
	    "routes = (\n"
	    "  { sni = \"*\"; backends = [\n"
	    "      \"127.0.0.1\",\n"
	    "      \"127.0.0.1:0\",\n"
	    "      \"127.0.0.1:https\",\n"
	    "      \"127.0.0.1:\",\n"
	    "      \"[::g]:443\",\n"
	    "      \"[::1:443\",\n"
	    "      \"[::1]443\",\n"
	    "      \":443\",\n"
	    "      \"no-such-host.invalid:443\"\n"
	    "  ]; }\n"
	    ");\n",
	    ":4: routes[0].backends[0]: \"127.0.0.1\" has no port",
	    ":5: routes[0].backends[1]: \"127.0.0.1:0\" has a port outside 1..65535",
	    ":6: routes[0].backends[2]: \"127.0.0.1:https\" has a port that is not a number",
	    ":7: routes[0].backends[3]: \"127.0.0.1:\" has an empty port",
	    ":8: routes[0].backends[4]: \"[::g]:443\" has an invalid IPv6 address",
	    ":9: routes[0].backends[5]: \"[::1:443\" has '[' without ']'",
	    ":10: routes[0].backends[6]: \"[::1]443\" has no port",
	    ":11: routes[0].backends[7]: \":443\" has no host",
	    /* libconfig says line 13 (the "]" after it); the string is on 12. */
	    ":12: routes[0].backends[8]: \"no-such-host.invalid:443\" names a host that does not resolve",
	    NULL);
}

Test(config, duplicate_backend_in_one_route)
{
	expect_errors(LISTEN_OK
	    "routes = (\n"
	    "  { sni = \"a.example\"; backends = [ \"127.0.0.1:1\", \"127.0.0.1:2\" ]; },\n"
	    "  { sni = \"b.example\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"c.example\"; backends = [ \"127.0.0.1:2\",\n"
	    "      \"127.0.0.1:02\" ]; }\n"
	    ");\n",
	    ":6: routes[2].backends[1]: \"127.0.0.1:02\" duplicates routes[2].backends[0] (line 5)",
	    NULL);
}

Test(config, empty_backends)
{
	expect_errors(LISTEN_OK
	    "routes = (\n"
	    "  { sni = \"a.example\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"b.example\"; backends = ( ); },\n"
	    "  { sni = \"c.example\";\n"
	    "    backends = [ ]; }\n"
	    ");\n",
	    ":4: routes[1].backends: is empty",
	    ":6: routes[2].backends: is empty",
	    NULL);
}

Test(config, too_many_backends)
{
	size_t size = 64 * (MAX_BACKENDS_PER_ROUTE + 2), n = 0;
	char *text = malloc(size);
	unsigned i;

	cr_assert_not_null(text);
	n += (size_t)snprintf(text + n, size - n, LISTEN_OK
	    "routes = ( { sni = \"*\"; backends = [\n");
	for (i = 0; i < MAX_BACKENDS_PER_ROUTE + 1; i++)
		n += (size_t)snprintf(text + n, size - n, "\"10.0.%u.%u:443\",\n",
		    i / 256, i % 256);
	snprintf(text + n - 2, size - n + 2, " ]; } );\n");
	expect_errors(text, ":2: routes[0].backends: has 1025 entries, more than 1024", NULL);
	free(text);
}

Test(config, missing_sni_and_backends)
{
	expect_errors(LISTEN_OK
	    "routes = (\n"
	    "  { backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  {\n"
	    "    sni = \"a.example\";\n"
	    "  },\n"
	    "  { }\n"
	    ");\n",
	    ":3: routes[0].sni: is required",
	    ":4: routes[1].backends: is required",
	    ":7: routes[2].sni: is required",
	    ":7: routes[2].backends: is required",
	    NULL);
}

Test(config, bad_patterns)
{
	static const char *const patterns[] = {
		"a*.example.com", "*", "", "x..example", "*.", "bad name", NULL,
	};
	char key[ROUTES_KEY_MAX + 2], want[6][256];
	enum route_kind kind;
	const char *why;
	int i;

	/* The reasons are routes_pattern_key()'s; this checks they reach the message. */
	for (i = 0; i < 6; i++) {
		if (i == 1)
			continue;	/* "*" is valid: the default route */
		cr_assert_lt(routes_pattern_key(patterns[i], key, &kind, &why), 0, "%s", patterns[i]);
		cr_assert_not_null(why);
		snprintf(want[i], sizeof(want[i]), ":%d: routes[%d].sni: \"%s\" %s",
		    i + 3, i, patterns[i], why);
	}
	expect_errors(LISTEN_OK
	    "routes = (\n"
	    "  { sni = \"a*.example.com\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"*\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"x..example\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"*.\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"bad name\"; backends = [ \"127.0.0.1:1\" ]; }\n"
	    ");\n",
	    want[0], want[2], want[3], want[4], want[5], NULL);
}

Test(config, duplicate_sni_by_case_and_trailing_dot)
{
	expect_errors(LISTEN_OK
	    "routes = (\n"
	    "  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"*.example.org\"; backends = [ \"127.0.0.1:2\" ]; },\n"
	    "  { sni = \"*\"; backends = [ \"127.0.0.1:3\" ]; },\n"
	    "  { sni = \"App.example.com.\"; backends = [ \"127.0.0.1:4\" ]; },\n"
	    "  { sni = \"example.org\"; backends = [ \"127.0.0.1:5\" ]; },\n"
	    "  { sni = \"*.EXAMPLE.org.\"; backends = [ \"127.0.0.1:6\" ]; },\n"
	    "  {\n"
	    "    sni = \"*\"; backends = [ \"127.0.0.1:7\" ]; },\n"
	    "  { sni = \"APP.EXAMPLE.COM\"; backends = [ \"127.0.0.1:8\" ]; }\n"
	    ");\n",
	    ":6: routes[3].sni: \"App.example.com.\" duplicates routes[0] (line 3)",
	    ":8: routes[5].sni: \"*.EXAMPLE.org.\" duplicates routes[1] (line 4)",
	    ":10: routes[6].sni: \"*\" duplicates routes[2] (line 5)",
	    ":11: routes[7].sni: \"APP.EXAMPLE.COM\" duplicates routes[0] (line 3)",
	    NULL);
}

Test(config, backends_with_weights_and_a_reject_share)
{
	expect_ok(LISTEN_OK
	    "routes = ( { sni = \"*\"; backends = (\n"
	    "  \"127.0.0.1:1\",\n"
	    "  { address = \"127.0.0.1:2\"; weight = 3; },\n"
	    "  { address = \"127.0.0.1:3\"; weight = 0; },\n"
	    "  { reject = true; weight = 1000000; }\n"
	    "); } );\n");
	cr_assert_eq(cfg.routes[0].backend_count, 4);
	cr_assert_eq(cfg.routes[0].weights[0], 1, "a string is weight 1");
	cr_assert_eq(cfg.routes[0].weights[1], 3);
	cr_assert_eq(cfg.routes[0].weights[2], 0);
	cr_assert_str_eq(fmt_addr(&cfg.routes[0].backends[2]), "127.0.0.1:3");
	cr_assert_eq(cfg.routes[0].backend_flags[3], ROUTES_BACKEND_REJECT);
	cr_assert_eq(cfg.routes[0].backends[3].len, 0, "a reject backend has no address");
}

Test(config, backend_group_faults)
{
	expect_errors(LISTEN_OK
	    "routes = ( { sni = \"*\"; backends = (\n"
	    "  \"127.0.0.1:1\",\n"
	    "  { address = \"127.0.0.1:1\"; weight = 2; },\n"
	    "  { address = \"127.0.0.1:2\"; weight = 1000001; },\n"
	    "  { address = \"127.0.0.1:3\"; reject = true; },\n"
	    "  { weight = 1; },\n"
	    "  { address = \"127.0.0.1:4\"; weight = \"3\"; wieght = 3; },\n"
	    "  5\n"
	    "); } );\n",
	    ":4: routes[0].backends[1].address: \"127.0.0.1:1\" duplicates routes[0].backends[0] (line 3)",
	    ":5: routes[0].backends[2].weight: 1000001 is out of range 0..1000000",
	    ":6: routes[0].backends[3].reject: and address exclude each other: a reject backend "
	    "has no address",
	    ":7: routes[0].backends[4]: needs address (or reject = true; for a share that gets an alert)",
	    ":8: routes[0].backends[5].weight: expected an integer, got a string",
	    ":8: routes[0].backends[5]: unknown setting \"wieght\"",
	    ":9: routes[0].backends[6]: expected a string or a group, got an integer",
	    NULL);
}

Test(config, route_limits_and_timeouts)
{
	expect_ok(LISTEN_OK
	    "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:1\" ]; max_connections = 500;\n"
	    "  timeouts = { connect_ms = 250; idle_ms = 30000; }; } );\n");
	cr_assert_eq(cfg.routes[0].max_connections, 500);
	cr_assert_eq(cfg.routes[0].connect_ms, 250);
	cr_assert_eq(cfg.routes[0].idle_ms, 30000);
	config_free(&cfg);
	reset_temp();
	expect_errors(LISTEN_OK
	    "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:1\" ]; max_connections = 0;\n"
	    "  timeouts = { connect_ms = 0; hello_ms = 5; }; } );\n",
	    ":2: routes[0].max_connections: 0 is out of range 1..10000000",
	    ":3: routes[0].timeouts.connect_ms: 0 is out of range 1..604800000",
	    ":3: routes[0].timeouts: unknown setting \"hello_ms\"",
	    NULL);
}

Test(config, one_sni_several_routes_that_differ_by_alpn)
{
	expect_ok(LISTEN_OK
	    "routes = (\n"
	    "  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"App.example.com.\"; alpn = [ \"acme-tls/1\" ]; backends = [ \"127.0.0.1:2\" ]; },\n"
	    "  { sni = \"app.example.com\"; alpn = [ \"h2\", \"http/1.1\" ]; backends = [ \"127.0.0.1:3\" ]; }\n"
	    ");\n");
	cr_assert_eq(cfg.routes[0].alpn_count, 0);
	cr_assert_eq(cfg.routes[1].alpn_count, 1);
	cr_assert_str_eq(cfg.routes[1].alpn[0], "acme-tls/1");
	cr_assert_eq(cfg.routes[2].alpn_count, 2);
	cr_assert_str_eq(cfg.routes[2].alpn[1], "http/1.1");
}

Test(config, alpn_clashes_and_bad_names)
{
	expect_errors(LISTEN_OK
	    "routes = (\n"
	    "  { sni = \"a.example.com\"; alpn = [ \"h2\", \"acme-tls/1\" ]; backends = [ \"127.0.0.1:1\" ]; },\n"
	    "  { sni = \"a.example.com\"; alpn = [ \"http/1.1\", \"acme-tls/1\" ]; backends = [ \"127.0.0.1:2\" ]; },\n"
	    "  { sni = \"a.example.com\"; backends = [ \"127.0.0.1:3\" ]; },\n"
	    "  { sni = \"a.example.com\"; backends = [ \"127.0.0.1:4\" ]; },\n"
	    "  { sni = \"b.example.com\"; alpn = [ \"h2\", \"h2\", \"\", \"a b\" ]; backends = [ \"127.0.0.1:5\" ]; },\n"
	    "  { sni = \"c.example.com\"; alpn = [ ]; backends = [ \"127.0.0.1:6\" ]; },\n"
	    "  { sni = \"d.example.com\"; alpn = \"h2\"; backends = [ \"127.0.0.1:7\" ]; }\n"
	    ");\n",
	    ":4: routes[1].alpn[1]: \"acme-tls/1\" is also in routes[0].alpn (line 3), for the same sni",
	    ":6: routes[3].sni: \"a.example.com\" duplicates routes[2] (line 5)",
	    ":7: routes[4].alpn[1]: \"h2\" is listed twice",
	    ":7: routes[4].alpn[2]: \"\" is not a protocol name of 1 to 255 letters, digits and "
	    "'.', '_', '-', '/', '+', ':', '~'",
	    ":7: routes[4].alpn[3]: \"a b\" is not a protocol name of 1 to 255 letters, digits and "
	    "'.', '_', '-', '/', '+', ':', '~'",
	    ":8: routes[5].alpn: is empty",
	    ":9: routes[6].alpn: expected an array, got a string",
	    NULL);
}

Test(config, missing_listen_and_routes)
{
	expect_errors("workers = 1;\n",
	    ":1: listen: is required",
	    ":1: routes: is required",
	    NULL);
}

Test(config, empty_file)
{
	expect_errors("",
	    ":1: listen: is required",
	    ":1: routes: is required",
	    NULL);
}

Test(config, routes_not_a_list)
{
	expect_errors(LISTEN_OK
	    "routes = { sni = \"*\"; backends = [ \"127.0.0.1:1\" ]; };\n",
	    ":2: routes: expected a list, got a group", NULL);
}

Test(config, routes_as_an_array)
{
	expect_errors(LISTEN_OK "routes = [ \"*\" ];\n",
	    ":2: routes: expected a list, got an array", NULL);
}

/* ---- several faults, lines -------------------------------------------- */

Test(config, several_faults_all_reported_in_order)
{
	expect_errors(
	    "workers = 1000;\n"
	    "listen = [ \"127.0.0.1:8443\",\n"
	    "           \"127.0.0.1\" ];\n"
	    "timeouts = {\n"
	    "  hello_ms = 0;\n"
	    "  idle_ms = \"10m\";\n"
	    "};\n"
	    "tuning = { relay = \"copy\"; };\n"
	    "routes = (\n"
	    "  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:9443\" ]; },\n"
	    "  { sni = \"*.example.org\";\n"
	    "    backends = [\n"
	    "      \"127.0.0.1\"\n"
	    "    ];\n"
	    "  },\n"
	    "  { sni = \"App.example.com.\"; backends = [ ]; },\n"
	    "  { sni = \"*\"; backends = [ \"127.0.0.1:9445\" ]; extra = 1; }\n"
	    ");\n"
	    "wrokers = 2;\n",
	    ":1: workers: 1000 is out of range 0..256",
	    ":3: listen[1]: \"127.0.0.1\" has no port",
	    ":5: timeouts.hello_ms: 0 is out of range 1..604800000",
	    ":6: timeouts.idle_ms: expected an integer, got a string",
	    ":8: tuning.relay: \"copy\" is not one of \"splice\", \"splice_ring\", \"adaptive\", \"kernel\"",
	    ":13: routes[1].backends[0]: \"127.0.0.1\" has no port",
	    ":16: routes[2].backends: is empty",
	    ":16: routes[2].sni: \"App.example.com.\" duplicates routes[0] (line 10)",
	    ":17: routes[3]: unknown setting \"extra\"",
	    ":19: unknown setting \"wrokers\"",
	    NULL);
}

/* A string in an array keeps its own line even where libconfig gives the next token's. */
Test(config, string_elements_report_their_own_line)
{
	expect_errors(LISTEN_OK
	    "routes = ( { sni = \"*\"; backends = [\n"
	    "  \"127.0.0.1:1\"   # a \"quoted\" comment does not count\n"
	    "  # \"nor\" does a comment line\n"
	    "  , \"127.0.0.1\"\n"
	    "  /* \"or\" this */\n"
	    "\n"
	    "]; } );\n",
	    ":5: routes[0].backends[1]: \"127.0.0.1\" has no port", NULL);
}

Test(config, quoted_text_is_escaped_in_messages)
{
	expect_errors(LISTEN_OK ROUTES_OK "log = { level = \"de\\\"b\\tug\"; };\n",
	    ":3: log.level: \"de\\\"b\\x09ug\" is not one of \"error\", \"warn\", \"info\", \"debug\"",
	    NULL);
}

/* Faults in an @included file name that file. */
Test(config, faults_in_included_files_name_them)
{
	char inc_path[] = "/tmp/config_test_inc.XXXXXX", text[512], want[512];

	write_temp(inc_path, "# included\nworkers = \"two\";\n");
	snprintf(text, sizeof(text), LISTEN_OK "@include \"%s\"\n" ROUTES_OK "log = 1;\n", inc_path);
	cr_assert_eq(load(text), -1);
	unlink(inc_path);
	cr_assert_eq(errs.count, 2);
	snprintf(want, sizeof(want), "%s:2: workers: expected an integer, got a string", inc_path);
	cr_assert_str_eq(errs.msg[0], want);
	snprintf(want, sizeof(want), "%s:4: log: expected a group, got an integer", conf_path);
	cr_assert_str_eq(errs.msg[1], want);
}

/* ---- freeing ----------------------------------------------------------- */

Test(config, free_tolerates_zeroed_and_double_calls)
{
	struct config c;
	struct config_errors e;

	memset(&c, 0, sizeof(c));
	memset(&e, 0, sizeof(e));
	config_free(&c);
	config_free(&c);
	config_errors_free(&e);
	config_errors_free(&e);
	expect_ok(LISTEN_OK ROUTES_OK);
	config_free(&cfg);
	cr_assert_null(cfg.routes);
	cr_assert_eq(cfg.route_count, 0);
	config_free(&cfg);
	reset_temp();
	expect_errors("", ":1: listen: is required", ":1: routes: is required", NULL);
	config_errors_free(&errs);
	cr_assert_null(errs.msg);
	cr_assert_eq(errs.count, 0);
	config_errors_free(&errs);
}

/* A second load after a failed one starts clean: no stale state, errors appended. */
Test(config, errors_are_appended)
{
	char first[] = "/tmp/config_test.XXXXXX";
	char want[256];

	write_temp(first, "workers = \"x\";\n" LISTEN_OK ROUTES_OK);
	cr_assert_eq(config_load(&cfg, first, &errs), -1);
	cr_assert_eq(errs.count, 1);
	cr_assert_eq(load("workers = 300;\n" LISTEN_OK ROUTES_OK), -1);
	unlink(first);
	cr_assert_eq(errs.count, 2);
	snprintf(want, sizeof(want), "%s:1: workers: expected an integer, got a string", first);
	cr_assert_str_eq(errs.msg[0], want);
	snprintf(want, sizeof(want), "%s:1: workers: 300 is out of range 0..256", conf_path);
	cr_assert_str_eq(errs.msg[1], want);
}

/* ---- lifecycle settings -------------------------------------------------- */

Test(config, lifecycle_settings_are_read)
{
	expect_ok(LISTEN_OK ROUTES_OK
	    "pid_file = \"/run/pt.pid\";\n"
	    "user = \"nobody\";\n"
	    "group = \"nogroup\";\n"
	    "watch_config = true;\n"
	    "timeouts = { drain_ms = 1234; };\n"
	    "log = { error = \"/var/log/pt.log\"; };\n");
	cr_assert_str_eq(cfg.pid_file, "/run/pt.pid");
	cr_assert_str_eq(cfg.user, "nobody");
	cr_assert_str_eq(cfg.group, "nogroup");
	cr_assert_eq(cfg.uid, 65534);
	cr_assert_eq(cfg.gid, 65534);
	cr_assert_eq(cfg.watch_config, 1);
	cr_assert_eq(cfg.settings.drain_ms, 1234);
	cr_assert_str_eq(cfg.error_log, "/var/log/pt.log");
}

Test(config, lifecycle_defaults)
{
	expect_ok(LISTEN_OK ROUTES_OK);
	cr_assert_null(cfg.pid_file);
	/* As root the workers default to nobody (below); otherwise they stay who started them. */
	if (geteuid() != 0)
		cr_assert_null(cfg.user);
	cr_assert_null(cfg.group);
	cr_assert_null(cfg.error_log);
	cr_assert_eq(cfg.watch_config, 0);
	cr_assert_eq(cfg.settings.drain_ms, DEFAULT_DRAIN_MS);
}

/* As nginx: a root start that names no user runs its workers as nobody, never root. */
Test(config, root_without_user_runs_workers_as_nobody)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: as anyone else the workers stay that user");
	expect_ok(LISTEN_OK ROUTES_OK);
	cr_assert_str_eq(cfg.user, "nobody");
	cr_assert_eq(cfg.uid, 65534);
	cr_assert_eq(cfg.gid, 65534);
}

/* group alone would change the gid and leave the workers' uid 0. */
Test(config, group_without_user_is_a_fault)
{
	expect_errors(LISTEN_OK ROUTES_OK "\ngroup = \"nogroup\";\n",
	    ":4: group: needs user: workers switch to a user, and to a group only with it",
	    NULL);
}

Test(config, user_without_group_takes_its_primary_group)
{
	expect_ok(LISTEN_OK ROUTES_OK "user = \"root\";\n");
	cr_assert_eq(cfg.uid, 0);
	cr_assert_eq(cfg.gid, 0);
}

Test(config, lifecycle_faults)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "pid_file = 3;\n"
	    "user = \"no-such-user-here\";\n"
	    "group = \"no-such-group-here\";\n"
	    "watch_config = 1;\n"
	    "log = { error = \"\"; };\n"
	    "timeouts = { drain_ms = -1; };\n",
	    ":3: pid_file: expected a string, got an integer",
	    ":4: user: \"no-such-user-here\" names no user",
	    ":5: group: \"no-such-group-here\" names no group",
	    ":6: watch_config: expected true or false, got an integer",
	    ":7: log.error: is empty",
	    ":8: timeouts.drain_ms: -1 is out of range 0..604800000",
	    NULL);
}

Test(config, pid_file_is_read_from_a_broken_file)
{
	char *pid_file;

	write_temp(conf_path, "pid_file = \"/run/x.pid\";\nworkers = \"two\";\n");
	pid_file = config_pid_file(conf_path);
	cr_assert_not_null(pid_file);
	cr_assert_str_eq(pid_file, "/run/x.pid");
	free(pid_file);
	reset_temp();
	write_temp(conf_path, "workers = 2;\n");
	cr_assert_null(config_pid_file(conf_path));
}

Test(config, pid_file_is_found_in_a_file_with_a_syntax_error)
{
	char *pid_file;

	write_temp(conf_path, "workers = 2;\n  pid_file = \"/run/y.pid\";\nworkers = \"x\";\nlisten = [ ;\n");
	pid_file = config_pid_file(conf_path);
	cr_assert_not_null(pid_file);
	cr_assert_str_eq(pid_file, "/run/y.pid");
	free(pid_file);
}

Test(config, pid_file_in_a_comment_of_a_valid_file_is_not_taken)
{
	write_temp(conf_path, "/*\npid_file = \"/run/old.pid\";\n*/\nworkers = 2;\n");
	cr_assert_null(config_pid_file(conf_path));
}
