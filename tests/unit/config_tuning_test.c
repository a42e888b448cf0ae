/*
 * config_tuning_test.c -- config_load() of the tuning group
 * (master/config_tuning.c): tuning.events read as written, its default,
 * and relay "splice_ring" refused where the workers are told to run on
 * epoll, as the exact "file:line: setting: message".
 */
#include <criterion/criterion.h>

#include "config.h"
#include "config_test.h"
#include "routes.h"

TestSuite(config_tuning, .fini = teardown);

Test(config_tuning, events_defaults_to_auto)
{
	expect_ok(LISTEN_OK ROUTES_OK);
	cr_assert_eq(cfg.events, CONFIG_EVENTS_AUTO);
}

Test(config_tuning, events_each_value_is_read)
{
	static const uint32_t want[] = { CONFIG_EVENTS_AUTO, CONFIG_EVENTS_IO_URING,
	    CONFIG_EVENTS_EPOLL };
	char text[512];

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(text, sizeof(text), LISTEN_OK ROUTES_OK
		    "tuning = { events = \"%s\"; };\n", config_events_names[want[i]]);
		expect_ok(text);
		cr_assert_eq(cfg.events, want[i], "events = \"%s\"", config_events_names[want[i]]);
		config_free(&cfg);
		reset_temp();
	}
}

Test(config_tuning, events_names_its_choices)
{
	expect_errors(LISTEN_OK ROUTES_OK "tuning = { events = \"poll\"; };\n",
	    ":3: tuning.events: \"poll\" is not one of \"auto\", \"io_uring\", \"epoll\"", NULL);
}

/* The ring splice is an io_uring request: with epoll forced it cannot run. */
Test(config_tuning, splice_ring_with_epoll_is_refused_at_relay)
{
	expect_errors(LISTEN_OK ROUTES_OK
	    "tuning = {\n"
	    "  events = \"epoll\";\n"
	    "  relay = \"splice_ring\";\n"
	    "};\n",
	    ":5: tuning.relay: \"splice_ring\" needs io_uring (IORING_OP_SPLICE), and "
	    "tuning.events is \"epoll\": relay with \"splice\" or \"adaptive\"", NULL);
}

/* "auto" and "io_uring" keep it: the master settles "auto" (master/events.c). */
Test(config_tuning, splice_ring_with_auto_or_io_uring_loads)
{
	expect_ok(LISTEN_OK ROUTES_OK "tuning = { relay = \"splice_ring\"; events = \"auto\"; };\n");
	cr_assert_eq(cfg.settings.relay, RELAY_SPLICE_RING);
	config_free(&cfg);
	reset_temp();
	expect_ok(LISTEN_OK ROUTES_OK
	    "tuning = { relay = \"splice_ring\"; events = \"io_uring\"; };\n");
	cr_assert_eq(cfg.events, CONFIG_EVENTS_IO_URING);
}
