/*
 * routes_group_test.c -- guards listener groups in the route image
 * (common/routes.c, common/routes_lookup.c): the same name in two groups is
 * two routes, each group has its own default, a group may have no routes,
 * ALPN alternatives chain per group, and a build refuses a group it was not
 * told of.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes_test.h"
#include "tunables.h"

/* The id of the route group g gives sni (NULL: none) and the offered names, or NONE. */
static long
pick(const struct routes_image *img, uint32_t g, const char *sni, const char *offered)
{
	uint8_t alpn[256];
	size_t alen = wire(offered, alpn);
	const struct routes_route *r = routes_lookup_group(img, g, (const uint8_t *)sni,
	    sni != NULL ? strlen(sni) : 0, alen > 0 ? alpn : NULL, alen);

	if (r != NULL)
		cr_assert_eq(r->group, g, "route %u of group %u found for group %u", r->id,
		    r->group, g);
	return r == NULL ? NONE : (long)r->id;
}

Test(routes_group, the_same_name_in_two_groups_is_two_routes)
{
	static const struct spec s[] = {
		{ "app.example.com", { NULL }, 0 },
		{ "APP.example.com.", { NULL }, 1 },
		{ "*.example.com", { NULL }, 1 },
		{ "*.example.com", { NULL }, 0 },
	};
	struct routes_image *img;

	cr_assert_eq(build_groups(s, 4, 2, &img), 0);
	cr_assert_eq(img->group_count, 2);
	cr_assert_eq(pick(img, 0, "app.example.com", NULL), 0);
	cr_assert_eq(pick(img, 1, "app.example.com", NULL), 1);
	cr_assert_eq(pick(img, 1, "App.Example.Com.", NULL), 1);
	cr_assert_eq(pick(img, 0, "b.example.com", NULL), 3);
	cr_assert_eq(pick(img, 1, "b.example.com", NULL), 2);
	/* routes_lookup_alpn() and routes_lookup() are group 0's. */
	cr_assert_eq(routes_lookup(img, (const uint8_t *)"app.example.com", 15)->id, 0);
	cr_assert_eq(routes_lookup_alpn(img, (const uint8_t *)"b.example.com", 13, NULL, 0)->id, 3);
	free(img);
}

Test(routes_group, a_name_only_one_group_has_is_unknown_to_the_other)
{
	static const struct spec s[] = {
		{ "only.example.com", { NULL }, 1 },
		{ "*.wild.example", { NULL }, 1 },
	};
	struct routes_image *img;

	cr_assert_eq(build_groups(s, 2, 2, &img), 0);
	cr_assert_eq(pick(img, 1, "only.example.com", NULL), 0);
	cr_assert_eq(pick(img, 0, "only.example.com", NULL), NONE);
	cr_assert_eq(pick(img, 1, "a.wild.example", NULL), 1);
	cr_assert_eq(pick(img, 0, "a.wild.example", NULL), NONE);
	free(img);
}

Test(routes_group, each_group_has_its_own_default)
{
	static const struct spec s[] = {
		{ "a.example.com", { NULL }, 0 },
		{ "*", { NULL }, 2 },
		{ "*", { NULL }, 0 },
		{ "a.example.com", { NULL }, 1 },
	};
	struct routes_image *img;

	cr_assert_eq(build_groups(s, 4, 3, &img), 0);
	cr_assert_eq(img->default_route, 2, "the header's default is group 0's");
	cr_assert_eq(pick(img, 0, "z.example.com", NULL), 2);
	cr_assert_eq(pick(img, 2, "z.example.com", NULL), 1);
	cr_assert_eq(pick(img, 2, "a.example.com", NULL), 1);
	cr_assert_eq(pick(img, 2, NULL, NULL), 1);
	cr_assert_eq(pick(img, 0, NULL, NULL), 2);
	/* Group 1 has no default: no SNI, or a name it lacks, finds nothing. */
	cr_assert_eq(pick(img, 1, "a.example.com", NULL), 3);
	cr_assert_eq(pick(img, 1, "z.example.com", NULL), NONE);
	cr_assert_eq(pick(img, 1, NULL, NULL), NONE);
	free(img);
}

Test(routes_group, a_group_without_routes_finds_nothing)
{
	static const struct spec s[] = {
		{ "*", { NULL }, 0 },
		{ "a.example.com", { NULL }, 0 },
	};
	struct routes_image *img;

	cr_assert_eq(build_groups(s, 2, 2, &img), 0);
	cr_assert_eq(pick(img, 1, "a.example.com", NULL), NONE);
	cr_assert_eq(pick(img, 1, NULL, NULL), NONE);
	cr_assert_eq(pick(img, 1, "a.example.com", "h2"), NONE);
	free(img);
	/* No routes at all: a valid image in which nothing is found. */
	cr_assert_eq(build_groups(NULL, 0, 1, &img), 0);
	cr_assert_eq(img->route_count, 0);
	cr_assert_eq(img->default_route, ROUTES_NONE);
	cr_assert_eq(pick(img, 0, "a.example.com", NULL), NONE);
	cr_assert_eq(pick(img, 0, NULL, NULL), NONE);
	free(img);
}

Test(routes_group, alpn_alternatives_chain_per_group)
{
	static const struct spec s[] = {
		{ "x.example.com", { "acme-tls/1", NULL }, 0 },
		{ "x.example.com", { "acme-tls/1", NULL }, 1 },	/* no clash: another group */
		{ "x.example.com", { NULL }, 0 },
		{ "*.example.com", { NULL }, 1 },
		{ "x.example.com", { "h2", NULL }, 1 },
	};
	struct routes_image *img;

	cr_assert_eq(build_groups(s, 5, 2, &img), 0);
	cr_assert_eq(pick(img, 0, "x.example.com", "acme-tls/1"), 0);
	cr_assert_eq(pick(img, 1, "x.example.com", "acme-tls/1"), 1);
	cr_assert_eq(pick(img, 0, "x.example.com", "h2"), 2);
	cr_assert_eq(pick(img, 1, "x.example.com", "h2"), 4);
	/* Group 1 has no ALPN-less route for the name: the next pattern, its own. */
	cr_assert_eq(pick(img, 1, "x.example.com", "http/1.1"), 3);
	cr_assert_eq(pick(img, 1, "x.example.com", NULL), 3);
	cr_assert_eq(pick(img, 0, "x.example.com", NULL), 2);
	free(img);
}

Test(routes_group, patterns_are_unique_per_group_not_across)
{
	static const struct spec dup[] = {
		{ "a.example.com", { NULL }, 1 },
		{ "a.example.com", { NULL }, 0 },
		{ "A.example.com.", { NULL }, 1 },
	};
	static const struct spec defaults[] = {
		{ "*", { NULL }, 0 },
		{ "*", { NULL }, 1 },
		{ "*", { NULL }, 1 },
	};
	struct routes_image *img;

	cr_assert_eq(build_groups(dup, 2, 2, &img), 0);
	free(img);
	cr_assert_eq(build_groups(dup, 3, 2, &img), -EINVAL);
	cr_assert_eq(build_groups(defaults, 2, 2, &img), 0);
	free(img);
	cr_assert_eq(build_groups(defaults, 3, 2, &img), -EINVAL);
}

Test(routes_group, a_group_the_build_was_not_told_of_is_refused)
{
	static const struct spec s[] = {
		{ "a.example.com", { NULL }, 0 },
		{ "b.example.com", { NULL }, 2 },
	};
	struct route_spec spec = { .pattern = "a.example.com", .backends = &backend,
	    .backend_count = 1 };
	struct listen_spec l = { .group = 1 };
	struct routes_access access = { .listens = &l, .listen_count = 1 };
	struct routes_image *img;
	uint64_t buf[1024];	/* images are 8-byte aligned */
	const char *why;

	cr_assert_eq(build_groups(s, 2, 2, &img), -EINVAL);
	cr_assert_eq(build_groups(s, 2, 3, &img), 0);
	free(img);
	/* A listen address in group 1 of one group (group_count 0 means 1). */
	cr_assert_eq(addr_parse(&l.addr, "127.0.0.1:443", 0, &why), 0);
	cr_assert_eq(routes_image_build(buf, sizeof(buf), &spec, 1, &access, NULL, 1, 7),
	    -EINVAL);
	l.group = 0;
	cr_assert_eq(routes_image_build(buf, sizeof(buf), &spec, 1, &access, NULL, 1, 7), 0);
	access.group_count = MAX_LISTEN + 1;
	cr_assert_eq(routes_image_build(buf, sizeof(buf), &spec, 1, &access, NULL, 1, 7),
	    -EINVAL);
}

Test(routes_group, a_listen_address_knows_its_group)
{
	static const struct spec s[] = {
		{ "*", { NULL }, 0 },
		{ "*", { NULL }, 2 },
	};
	struct routes_image *img;
	struct addr a;
	const char *why;

	cr_assert_eq(build_groups(s, 2, 3, &img), 0);
	for (uint32_t g = 0; g < 3; g++) {
		char text[32];

		snprintf(text, sizeof(text), "127.0.0.1:%u", 1000 + g);
		cr_assert_eq(addr_parse(&a, text, 0, &why), 0);
		cr_assert_not_null(routes_listen_find(img, &a));
		cr_assert_eq(routes_listen_find(img, &a)->group, g);
	}
	/* A group past group_count finds nothing, not another group's route. */
	cr_assert_eq(pick(img, 3, NULL, NULL), NONE);
	cr_assert_eq(pick(img, UINT32_MAX, NULL, NULL), NONE);
	free(img);
}
