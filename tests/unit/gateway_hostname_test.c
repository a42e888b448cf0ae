/*
 * gateway_hostname_test.c -- tools/gateway/hostname.c: which Gateway API
 * host names are valid, and the table of a route hostname intersected
 * with a listener hostname (the TLSRoute spec's examples first).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "render_int.h"

/* Route hostname, listener hostname (NULL: none), the intersection (NULL: none). */
static const struct {
	const char *route, *listener, *want;
} table[] = {
	/* The spec's examples (TLSRouteSpec.Hostnames). */
	{ "test.example.com", "test.example.com", "test.example.com" },
	{ "*.example.com", "test.example.com", "test.example.com" },
	{ "test.example.com", "*.example.com", "test.example.com" },
	{ "*.example.com", "*.example.com", "*.example.com" },
	{ "example.com", "*.example.com", NULL },		/* a wildcard never matches its suffix */
	{ "test.example.net", "*.example.com", NULL },
	{ "something.example.com", "*.example.com", "something.example.com" },
	/* A wildcard matches any depth below it. */
	{ "foo.test.example.com", "*.example.com", "foo.test.example.com" },
	{ "*.example.com", "foo.test.example.com", "foo.test.example.com" },
	/* Two wildcards: the narrower. */
	{ "*.a.example.com", "*.example.com", "*.a.example.com" },
	{ "*.example.com", "*.a.example.com", "*.a.example.com" },
	{ "*.a.example.com", "*.b.example.com", NULL },
	/* Exact names must be equal; a label boundary counts. */
	{ "a.example.com", "b.example.com", NULL },
	{ "xexample.com", "*.example.com", NULL },
	{ "*.xexample.com", "*.example.com", NULL },
	/* No listener hostname: the route's own. */
	{ "a.example.com", NULL, "a.example.com" },
	{ "*.example.com", NULL, "*.example.com" },
};

Test(gateway_hostname, intersection_table)
{
	char out[HOSTNAME_BUF];
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		int got = hostname_intersect(table[i].route, table[i].listener, out);

		if (table[i].want == NULL)
			cr_expect_eq(got, 0, "%s on %s: want none, got %s", table[i].route,
			    table[i].listener, got ? out : "");
		else
			cr_expect(got == 1 && strcmp(out, table[i].want) == 0, "%s on %s: want %s, got %s",
			    table[i].route, table[i].listener ? table[i].listener : "(none)",
			    table[i].want, got ? out : "none");
	}
}

Test(gateway_hostname, validity)
{
	static const char *const good[] = { "a", "example.com", "*.example.com", "a-b.c0.example",
	    "xn--bcher-kva.example", "1a.example.com" };
	static const char *const bad[] = { "", "*", "*.", "**.example.com", "a.*.example.com",
	    "Example.com", "-a.example.com", "a-.example.com", "a..example.com", "example.com.",
	    ".example.com", "a_b.example.com", "192.168.0.1", "a b.example.com", "*example.com",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect(hostname_valid(good[i]), "\"%s\" is valid", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!hostname_valid(bad[i]), "\"%s\" is not valid", bad[i]);
}

Test(gateway_hostname, specificity)
{
	cr_expect(hostname_more_specific("a.example.com", "*.example.com"));
	cr_expect(hostname_more_specific("*.a.example.com", "*.example.com"));
	cr_expect(!hostname_more_specific("*.example.com", "*.a.example.com"));
	cr_expect(hostname_more_specific("*.example.com", NULL));
	cr_expect(!hostname_more_specific(NULL, "*.example.com"));
}
