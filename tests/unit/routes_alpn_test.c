/*
 * routes_alpn_test.c -- guards ALPN routing in the route image
 * (common/routes.c, common/routes_alpn.c): routes that share a pattern and
 * differ by alpn, the order a lookup tries them in, and the clashes a
 * build refuses.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "routes_test.h"

/* Builds specs into *img (one group). Returns the build's result. */
static int
build(const struct spec *in, uint32_t count, struct routes_image **img)
{
	return build_groups(in, count, 0, img);
}

/* The id of the route for sni (NULL: none) and the offered names, or NONE. */
static long
pick(const struct routes_image *img, const char *sni, const char *offered)
{
	uint8_t alpn[256];
	size_t alen = wire(offered, alpn);
	const struct routes_route *r = routes_lookup_alpn(img, (const uint8_t *)sni,
	    sni != NULL ? strlen(sni) : 0, alen > 0 ? alpn : NULL, alen);

	return r != NULL ? (long)r->id : NONE;
}

static const struct spec table[] = {
	{ "a.example.com", { NULL }, 0 },				/* 0 */
	{ "a.example.com", { "acme-tls/1", NULL }, 0 },		/* 1 */
	{ "*.example.com", { "h2", "http/1.1", NULL }, 0 },	/* 2 */
	{ "b.example.com", { "acme-tls/1", NULL }, 0 },		/* 3 */
	{ "*", { NULL }, 0 },					/* 4 */
	{ "*", { "h2", NULL }, 0 },				/* 5 */
};

Test(routes_alpn, a_listed_protocol_beats_the_route_without_alpn)
{
	struct routes_image *img;

	cr_assert_eq(build(table, 6, &img), 0);
	cr_assert_eq(pick(img, "a.example.com", "acme-tls/1"), 1);
	cr_assert_eq(pick(img, "A.Example.Com.", "acme-tls/1"), 1);
	cr_assert_eq(pick(img, "a.example.com", "h2"), 0, "h2 is not a.example.com's: its plain route");
	cr_assert_eq(pick(img, "a.example.com", NULL), 0);
	/* Any offered protocol counts, whatever its place in the client's list. */
	cr_assert_eq(pick(img, "a.example.com", "http/1.1,acme-tls/1"), 1);
	free(img);
}

Test(routes_alpn, no_match_and_no_plain_route_tries_the_next_pattern)
{
	struct routes_image *img;

	cr_assert_eq(build(table, 6, &img), 0);
	cr_assert_eq(pick(img, "b.example.com", "acme-tls/1"), 3);
	cr_assert_eq(pick(img, "b.example.com", "h2"), 2, "b's only route lists no h2: the wildcard's does");
	cr_assert_eq(pick(img, "b.example.com", NULL), 4, "neither b nor the wildcard has a plain route");
	cr_assert_eq(pick(img, "c.example.com", "http/1.1"), 2);
	cr_assert_eq(pick(img, "other.org", "h2"), 5);
	cr_assert_eq(pick(img, "other.org", "x,y"), 4);
	cr_assert_eq(pick(img, NULL, "h2"), 5, "no SNI: the default pattern, by ALPN too");
	cr_assert_eq(pick(img, "bad..name", NULL), 4);
	free(img);
}

Test(routes_alpn, a_pattern_without_a_fitting_route_anywhere_finds_nothing)
{
	static const struct spec only[] = {
		{ "acme.example.com", { "acme-tls/1", NULL }, 0 },
	};
	struct routes_image *img;

	cr_assert_eq(build(only, 1, &img), 0);
	cr_assert_eq(pick(img, "acme.example.com", "acme-tls/1"), 0);
	cr_assert_eq(pick(img, "acme.example.com", "h2"), NONE);
	cr_assert_eq(pick(img, "acme.example.com", NULL), NONE);
	free(img);
}

Test(routes_alpn, a_torn_client_list_is_read_up_to_the_tear)
{
	struct routes_image *img;
	const uint8_t torn[] = { 2, 'h', '2', 9, 'a', 'c' };	/* "h2", then a name past the end */
	const uint8_t first_torn[] = { 10, 'a', 'c', 'm', 'e' };

	cr_assert_eq(build(table, 6, &img), 0);
	cr_assert_eq(routes_lookup_alpn(img, (const uint8_t *)"c.example.com", 13, torn,
	    sizeof(torn))->id, 2);
	cr_assert_eq(routes_lookup_alpn(img, (const uint8_t *)"a.example.com", 13, first_torn,
	    sizeof(first_torn))->id, 0);
	free(img);
}

Test(routes_alpn, clashes_within_a_pattern_are_refused)
{
	static const struct spec two_plain[] = {
		{ "a.example.com", { NULL }, 0 }, { "A.example.com.", { NULL }, 0 },
	};
	static const struct spec shared[] = {
		{ "a.example.com", { "h2", "acme-tls/1", NULL }, 0 },
		{ "a.example.com", { "http/1.1", "h2", NULL }, 0 },
	};
	static const struct spec two_defaults[] = {
		{ "*", { "h2", NULL }, 0 }, { "*", { NULL }, 0 }, { "*", { NULL }, 0 },
	};
	static const struct spec apart[] = {
		{ "a.example.com", { "h2", NULL }, 0 },
		{ "a.example.com", { "http/1.1", NULL }, 0 },
		{ "a.example.com", { NULL }, 0 },
		{ "*.example.com", { "h2", NULL }, 0 },	/* another pattern: no clash */
	};
	struct routes_image *img;

	cr_assert_eq(build(two_plain, 2, &img), -EINVAL);
	cr_assert_eq(build(shared, 2, &img), -EINVAL);
	cr_assert_eq(build(two_defaults, 3, &img), -EINVAL);
	cr_assert_eq(build(apart, 4, &img), 0);
	cr_assert_eq(pick(img, "a.example.com", "http/1.1"), 1);
	cr_assert_eq(pick(img, "a.example.com", "h2,http/1.1"), 0, "the first route that fits, in order");
	free(img);
}

Test(routes_alpn, names_are_checked_and_kept_in_wire_form)
{
	static const char *const ok[] = { "h2", "acme-tls/1" };
	static const char *const empty[] = { "h2", "" };
	char long_name[ROUTES_ALPN_NAME_MAX + 2];
	const char *too_long[] = { long_name };
	const char *many[ROUTES_ALPN_NAMES_MAX + 1];
	static const uint8_t offered[] = { 2, 'h', '3', 2, 'h', '2' };
	uint8_t out[32];
	size_t size, n;

	cr_assert_eq(routes_alpn_size(ok, 2, &size), 0);
	cr_assert_eq(size, 1 + 2 + 1 + 10);
	routes_alpn_write(out, ok, 2);
	cr_assert_eq(memcmp(out, "\x02h2\x0a" "acme-tls/1", size), 0);
	cr_assert_eq(routes_alpn_choose(out, size, offered, sizeof(offered), &n), offered + 4,
	    "h2, the client's first name the list holds");
	cr_assert_eq(n, 2);
	cr_assert_eq(routes_alpn_size(empty, 2, &size), -EINVAL);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	cr_assert_eq(routes_alpn_size(too_long, 1, &size), -EINVAL);
	long_name[ROUTES_ALPN_NAME_MAX] = '\0';
	cr_assert_eq(routes_alpn_size(too_long, 1, &size), 0);
	for (unsigned i = 0; i <= ROUTES_ALPN_NAMES_MAX; i++)
		many[i] = "h2";
	cr_assert_eq(routes_alpn_size(many, ROUTES_ALPN_NAMES_MAX + 1, &size), -EINVAL);
}

Test(routes_alpn, routes_without_alpn_cost_no_chain)
{
	struct routes_image *img;

	cr_assert_eq(build(table, 6, &img), 0);
	cr_assert_eq(routes_at(img, 3)->alt, ROUTES_NONE);
	cr_assert_eq(routes_at(img, 0)->alt, 1, "the pattern's routes are chained in order");
	cr_assert_eq(routes_at(img, 4)->alt, 5);
	cr_assert_eq(routes_at(img, 0)->alpn_len, 0);
	cr_assert_eq(routes_at(img, 2)->alpn_len, 1 + 2 + 1 + 8);
	free(img);
}
