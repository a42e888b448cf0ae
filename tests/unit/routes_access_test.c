/*
 * routes_access_test.c -- guards the access part of the route image
 * (common/routes.c with a struct routes_access): listen settings found by
 * address, the top level's rules standing in for a listen address without
 * its own, each route's rules and send_proxy, what the builder refuses, and
 * an image with rules in every scope that is exact-sized and position
 * independent. The rules' own verdicts are acl_test.c's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "addr.h"
#include "routes.h"
#include "tunables.h"

/* CIDRs the tests' rules point into; reset before each test. */
#define POOL_CIDRS	64u

static struct acl_cidr pool[POOL_CIDRS];
static uint32_t pool_used;
static struct addr backend;

static void
setup(void)
{
	const char *why;

	pool_used = 0;
	cr_assert_eq(addr_parse(&backend, "192.0.2.1:443", 0, &why), 0);
}

TestSuite(routes_access, .init = setup);

#define LIST(...)	((const char *const []){ __VA_ARGS__, NULL })
#define NONE		((const char *const []){ NULL })

/* A NULL-terminated list of CIDR texts, parsed into the pool. */
static const struct acl_cidr *
cidrs(const char *const *text, uint32_t *count)
{
	const struct acl_cidr *first = &pool[pool_used];
	const char *why;

	for (*count = 0; text[*count] != NULL; ++*count) {
		cr_assert_lt(pool_used, POOL_CIDRS);
		cr_assert_eq(acl_cidr_parse(text[*count], &pool[pool_used++], &why), 0,
		    "%s: %s", text[*count], why);
	}
	return first;
}

static struct routes_rules
rules(const char *const *allow, const char *const *deny)
{
	struct routes_rules r;

	r.allow = cidrs(allow, &r.allow_count);
	r.deny = cidrs(deny, &r.deny_count);
	return r;
}

/* "host:port" as listen addresses are written ("*:443" included). */
static struct addr
at(const char *text)
{
	struct addr a;
	const char *why;

	cr_assert_eq(addr_parse(&a, text, ADDR_WILDCARD, &why), 0, "%s: %s", text, why);
	return a;
}

static struct listen_spec
listen_of(const char *address, uint32_t flags, struct routes_rules trusted,
    struct routes_rules own)
{
	return (struct listen_spec){ at(address), flags, trusted, own, 0 };
}

static struct route_spec
route_of(const char *pattern, uint32_t send_proxy, struct routes_rules r)
{
	return (struct route_spec){ .pattern = pattern, .backends = &backend,
	    .backend_count = 1, .send_proxy = send_proxy, .rules = r };
}

/* An image in a block of exactly routes_image_size() bytes: ASan sees an overrun. */
static struct routes_image *
build(const struct route_spec *specs, uint32_t count, const struct routes_access *access)
{
	size_t size = routes_image_size(specs, count, access);
	struct routes_image *img = malloc(size);

	cr_assert_not_null(img);
	cr_assert_eq(routes_image_build(img, size, specs, count, access, NULL, 1, 7), 0);
	return img;
}

/* What the builder answers, given a block of routes_image_size() + extra bytes. */
static int
build_rc(const struct route_spec *specs, uint32_t count,
    const struct routes_access *access, long extra)
{
	size_t size = routes_image_size(specs, count, access);
	void *img = malloc(size + (extra > 0 ? (size_t)extra : 0));
	int rc;

	cr_assert_not_null(img);
	rc = routes_image_build(img, (size_t)((long)size + extra), specs, count, access,
	    NULL, 1, 0);
	free(img);
	return rc;
}

/* Whether the rules at off admit client ("10.1.2.3:5000", "[2001:db8::1]:5000"). */
static bool
admits(const struct routes_image *img, uint32_t off, const char *client)
{
	struct addr c = at(client);

	return acl_allows(routes_acl(img, off), &c);
}

/* The rules at off admit every client of admitted and none of denied. */
static void
expect_verdicts(const struct routes_image *img, uint32_t off,
    const char *const *admitted, const char *const *denied)
{
	for (; *admitted != NULL; admitted++)
		cr_assert(admits(img, off, *admitted), "%s should be admitted", *admitted);
	for (; *denied != NULL; denied++)
		cr_assert_not(admits(img, off, *denied), "%s should be denied", *denied);
}

static const struct routes_listen *
listen_at(const struct routes_image *img, const char *address)
{
	struct addr a = at(address);

	return routes_listen_find(img, &a);
}

static const struct routes_route *
route_for(const struct routes_image *img, const char *sni)
{
	const struct routes_route *r = routes_lookup(img, (const uint8_t *)sni, strlen(sni));

	cr_assert_not_null(r, "no route for %s", sni);
	return r;
}

/* ---- listen addresses --------------------------------------------------- */

Test(routes_access, listen_settings_are_found_by_address)
{
	struct listen_spec l[] = {
		listen_of("127.0.0.1:8443", 0, rules(NONE, NONE), rules(NONE, NONE)),
		listen_of("*:443", ROUTES_ACCEPT_PROXY,
		    rules(LIST("10.0.0.0/8", "::1/128"), NONE), rules(NONE, NONE)),
		listen_of("[::1]:8443", 0, rules(NONE, NONE), rules(NONE, NONE)),
	};
	struct routes_access access = { l, 3, rules(NONE, NONE), 1 };
	struct route_spec r = route_of("*", ROUTES_PROXY_NONE, rules(NONE, NONE));
	struct routes_image *img = build(&r, 1, &access);
	const struct routes_listen *plain, *proxied;

	cr_assert_eq(img->listen_count, 3);
	plain = listen_at(img, "127.0.0.1:8443");
	proxied = listen_at(img, "0.0.0.0:443");
	cr_assert_not_null(plain);
	cr_assert_not_null(proxied);
	cr_assert_eq(plain->flags, 0);
	cr_assert_eq(plain->trusted_off, 0);
	cr_assert_eq(proxied->flags, ROUTES_ACCEPT_PROXY);
	cr_assert(addr_equal(&proxied->addr, &l[1].addr));
	cr_assert_neq(proxied->trusted_off, 0);
	expect_verdicts(img, proxied->trusted_off, LIST("10.1.2.3:5000", "[::1]:5000"),
	    LIST("192.0.2.1:5000", "[::2]:5000"));
	/* In configuration order: the third entry after the first. */
	cr_assert_eq(listen_at(img, "[::1]:8443"), &plain[2]);
	/* Another port, another address, another family: no settings. */
	cr_assert_null(listen_at(img, "127.0.0.1:8444"));
	cr_assert_null(listen_at(img, "127.0.0.2:8443"));
	cr_assert_null(listen_at(img, "[::]:443"));
	free(img);
}

Test(routes_access, listen_without_rules_takes_the_top_levels)
{
	struct listen_spec l[] = {
		listen_of("127.0.0.1:8443", 0, rules(NONE, NONE), rules(NONE, NONE)),
		listen_of("127.0.0.1:8444", 0, rules(NONE, NONE),
		    rules(NONE, LIST("192.0.2.66/32"))),
	};
	struct routes_access access = { l, 2, rules(LIST("192.0.2.0/24"), NONE), 1 };
	struct route_spec r = route_of("*", ROUTES_PROXY_NONE, rules(NONE, NONE));
	struct routes_image *img = build(&r, 1, &access);
	const struct routes_listen *bare = listen_at(img, "127.0.0.1:8443");
	const struct routes_listen *own = listen_at(img, "127.0.0.1:8444");

	cr_assert_neq(img->acl_off, 0);
	expect_verdicts(img, img->acl_off, LIST("192.0.2.7:1"), LIST("198.51.100.1:1"));
	/* Without its own rules a listen address has the top level's. */
	cr_assert_eq(bare->acl_off, img->acl_off);
	/* With its own, the top level's do not decide there: not nearest. */
	cr_assert_neq(own->acl_off, 0);
	cr_assert_neq(own->acl_off, img->acl_off);
	expect_verdicts(img, own->acl_off, LIST("198.51.100.1:1", "192.0.2.7:1"),
	    LIST("192.0.2.66:1"));
	/* Neither has trusted sources, nor the route rules. */
	cr_assert_eq(bare->trusted_off, 0);
	cr_assert_eq(own->trusted_off, 0);
	cr_assert_eq(route_for(img, "x")->acl_off, 0);
	free(img);
}

/* ---- routes ------------------------------------------------------------- */

Test(routes_access, routes_carry_their_rules_and_send_proxy)
{
	struct route_spec r[] = {
		route_of("a.example.com", ROUTES_PROXY_V1,
		    rules(LIST("10.0.0.0/8"), LIST("10.9.0.0/16"))),
		route_of("b.example.com", ROUTES_PROXY_V2, rules(NONE, NONE)),
		route_of("*.example.org", ROUTES_PROXY_NONE,
		    rules(NONE, LIST("2001:db8::/32"))),
		route_of("*", ROUTES_PROXY_V2, rules(LIST("192.0.2.0/24"), NONE)),
	};
	struct routes_image *img = build(r, 4, NULL);
	const struct routes_route *a = route_for(img, "a.example.com");
	const struct routes_route *b = route_for(img, "B.example.com");
	const struct routes_route *org = route_for(img, "www.example.org");
	const struct routes_route *dflt = route_for(img, "other.example");

	cr_assert_eq(a->send_proxy, ROUTES_PROXY_V1);
	cr_assert_eq(b->send_proxy, ROUTES_PROXY_V2);
	cr_assert_eq(org->send_proxy, ROUTES_PROXY_NONE);
	cr_assert_eq(dflt->send_proxy, ROUTES_PROXY_V2);
	expect_verdicts(img, a->acl_off, LIST("10.1.2.3:1"), LIST("10.9.1.1:1", "192.0.2.1:1"));
	cr_assert_eq(b->acl_off, 0);
	expect_verdicts(img, b->acl_off, LIST("192.0.2.1:1", "[2001:db8::5]:1"), NONE);
	expect_verdicts(img, org->acl_off, LIST("[2001:db9::5]:1", "10.9.1.1:1"),
	    LIST("[2001:db8::5]:1"));
	expect_verdicts(img, dflt->acl_off, LIST("192.0.2.1:1"), LIST("10.1.2.3:1"));
	/* Each route its own image of rules. */
	cr_assert_neq(a->acl_off, org->acl_off);
	cr_assert_neq(a->acl_off, dflt->acl_off);
	free(img);
}

Test(routes_access, no_access_gives_no_listens_and_no_rules)
{
	struct route_spec r = route_of("*", ROUTES_PROXY_NONE, rules(NONE, NONE));
	struct routes_access empty = { NULL, 0, rules(NONE, NONE), 1 };
	struct routes_image *img = build(&r, 1, NULL);
	struct routes_image *img2 = build(&r, 1, &empty);

	cr_assert_eq(routes_image_size(&r, 1, NULL), routes_image_size(&r, 1, &empty));
	cr_assert_eq(img->listen_count, 0);
	cr_assert_eq(img->acl_off, 0);
	cr_assert_null(listen_at(img, "127.0.0.1:8443"));
	cr_assert_eq(route_for(img, "x")->acl_off, 0);
	cr_assert_null(routes_acl(img, 0));
	/* No rules admit everyone. */
	expect_verdicts(img, 0, LIST("192.0.2.1:1", "[2001:db8::1]:1"), NONE);
	cr_assert_eq(img2->listen_count, 0);
	cr_assert_eq(img2->acl_off, 0);
	free(img);
	free(img2);
}

/* ---- refusals ----------------------------------------------------------- */

Test(routes_access, accept_proxy_without_trusted_is_refused)
{
	struct listen_spec l = listen_of("127.0.0.1:8443", ROUTES_ACCEPT_PROXY,
	    rules(NONE, NONE), rules(LIST("10.0.0.0/8"), NONE));
	struct routes_access access = { &l, 1, rules(NONE, NONE), 1 };
	struct route_spec r = route_of("*", ROUTES_PROXY_NONE, rules(NONE, NONE));

	cr_assert_eq(build_rc(&r, 1, &access, 0), -EINVAL);
	l.trusted = rules(LIST("10.0.0.0/8"), NONE);
	cr_assert_eq(build_rc(&r, 1, &access, 0), 0);
}

Test(routes_access, a_listen_address_twice_is_refused)
{
	struct listen_spec l[] = {
		listen_of("0.0.0.0:443", 0, rules(NONE, NONE), rules(NONE, NONE)),
		listen_of("127.0.0.1:8443", 0, rules(NONE, NONE), rules(NONE, NONE)),
		listen_of("*:443", 0, rules(NONE, NONE), rules(NONE, NONE)),
	};
	struct routes_access access = { l, 3, rules(NONE, NONE), 1 };
	struct route_spec r = route_of("*", ROUTES_PROXY_NONE, rules(NONE, NONE));

	cr_assert_eq(build_rc(&r, 1, &access, 0), -EINVAL);
	access.listen_count = 2;
	cr_assert_eq(build_rc(&r, 1, &access, 0), 0);
}

Test(routes_access, more_than_max_listen_addresses_are_refused)
{
	struct listen_spec l[MAX_LISTEN + 1];
	struct routes_access access = { l, MAX_LISTEN + 1, rules(NONE, NONE), 1 };
	struct route_spec r = route_of("*", ROUTES_PROXY_NONE, rules(NONE, NONE));
	char text[ADDR_STRLEN];
	struct routes_image *img;

	for (uint32_t i = 0; i < MAX_LISTEN + 1; i++) {
		snprintf(text, sizeof(text), "127.0.0.1:%u", 1000 + i);
		l[i] = listen_of(text, 0, rules(NONE, NONE), rules(NONE, NONE));
	}
	cr_assert_eq(build_rc(&r, 1, &access, 0), -EINVAL);
	access.listen_count = MAX_LISTEN;
	img = build(&r, 1, &access);
	cr_assert_eq(img->listen_count, MAX_LISTEN);
	cr_assert_not_null(listen_at(img, "127.0.0.1:1063"));
	cr_assert_null(listen_at(img, "127.0.0.1:1064"));
	free(img);
}

Test(routes_access, send_proxy_past_v2_is_refused)
{
	struct route_spec r = route_of("*", ROUTES_PROXY_V2 + 1, rules(NONE, NONE));

	cr_assert_eq(build_rc(&r, 1, NULL, 0), -EINVAL);
	r.send_proxy = ROUTES_PROXY_V2;
	cr_assert_eq(build_rc(&r, 1, NULL, 0), 0);
}

/*
 * An entry acl_cidr_parse() would refuse (a bit set past its prefix) is
 * refused in every scope it can stand in: the builder does not trust its
 * caller to have parsed.
 */
Test(routes_access, a_rule_acl_build_refuses_is_refused_in_every_scope)
{
	struct acl_cidr bad;
	struct routes_rules with_bad = { &bad, 1, NULL, 0 };
	struct listen_spec l = listen_of("127.0.0.1:8443", ROUTES_ACCEPT_PROXY,
	    rules(LIST("10.0.0.0/8"), NONE), rules(NONE, NONE));
	struct routes_access access = { &l, 1, rules(NONE, NONE), 1 };
	struct route_spec r = route_of("*", ROUTES_PROXY_NONE, rules(NONE, NONE));
	const char *why;

	cr_assert_eq(acl_cidr_parse("10.0.0.0/8", &bad, &why), 0);
	bad.addr[3] = 1;	/* "10.0.0.1/8" */
	cr_assert_eq(build_rc(&r, 1, &access, 0), 0);

	access.rules = with_bad;	/* the top level */
	cr_assert_eq(build_rc(&r, 1, &access, 0), -EINVAL);
	access.rules = rules(NONE, NONE);
	l.rules = (struct routes_rules){ NULL, 0, &bad, 1 };	/* a listen's deny */
	cr_assert_eq(build_rc(&r, 1, &access, 0), -EINVAL);
	l.rules = rules(NONE, NONE);
	l.trusted = with_bad;	/* a listen's trusted */
	cr_assert_eq(build_rc(&r, 1, &access, 0), -EINVAL);
	l.trusted = rules(LIST("10.0.0.0/8"), NONE);
	r.rules = with_bad;	/* the route's */
	cr_assert_eq(build_rc(&r, 1, &access, 0), -EINVAL);
	cr_assert_eq(build_rc(&r, 1, NULL, 0), -EINVAL);
}

/* A full image, rules in every scope, for the size and copy tests. */
struct full {
	struct listen_spec l[2];
	struct routes_access access;
	struct route_spec r[2];
};

static void
full_fill(struct full *f)
{
	f->l[0] = listen_of("*:443", ROUTES_ACCEPT_PROXY,
	    rules(LIST("10.0.0.0/8", "::1"), NONE),
	    rules(LIST("192.0.2.0/24"), LIST("192.0.2.66")));
	f->l[1] = listen_of("[::1]:8443", 0, rules(NONE, NONE), rules(NONE, NONE));
	f->access = (struct routes_access){ f->l, 2,
	    rules(LIST("127.0.0.0/8", "::1"), LIST("127.0.0.2")), 1 };
	f->r[0] = route_of("a.example.com", ROUTES_PROXY_V2,
	    rules(LIST("192.0.2.0/25"), NONE));
	f->r[1] = route_of("*", ROUTES_PROXY_V1, rules(NONE, NONE));
}

Test(routes_access, too_small_a_block_is_refused)
{
	struct full f;

	full_fill(&f);
	cr_assert_eq(build_rc(f.r, 2, &f.access, 0), 0);
	cr_assert_eq(build_rc(f.r, 2, &f.access, -1), -ENOSPC);
	cr_assert_eq(build_rc(f.r, 2, &f.access, -8), -ENOSPC);
}

/* The last scope's rules end at the image's last byte: no slack, no overrun. */
Test(routes_access, rules_end_exactly_at_the_image_size)
{
	struct full f;
	struct routes_image *img;
	const struct routes_listen *l;
	uint32_t end = 0, offs[5];
	size_t size;

	full_fill(&f);
	size = routes_image_size(f.r, 2, &f.access);
	img = build(f.r, 2, &f.access);
	l = listen_at(img, "0.0.0.0:443");
	offs[0] = img->acl_off;
	offs[1] = l->trusted_off;
	offs[2] = l->acl_off;
	offs[3] = route_for(img, "a.example.com")->acl_off;
	offs[4] = listen_at(img, "[::1]:8443")->acl_off;
	cr_assert_eq(offs[4], img->acl_off);
	for (int i = 0; i < 4; i++) {
		cr_assert_neq(offs[i], 0);
		cr_assert_eq(offs[i] % 8, 0, "scope %d at %u: not aligned", i, offs[i]);
		if (offs[i] + routes_acl(img, offs[i])->size > end)
			end = offs[i] + routes_acl(img, offs[i])->size;
	}
	cr_assert_eq(end, size);
	free(img);
}

Test(routes_access, image_answers_after_a_copy_elsewhere)
{
	struct full f;
	struct routes_image *img, *copy;
	const struct routes_listen *l;
	size_t size;

	full_fill(&f);
	size = routes_image_size(f.r, 2, &f.access);
	img = build(f.r, 2, &f.access);
	copy = malloc(size);
	cr_assert_not_null(copy);
	memcpy(copy, img, size);
	memset(img, 0xa5, size);
	free(img);

	l = listen_at(copy, "0.0.0.0:443");
	cr_assert_not_null(l);
	cr_assert_eq(l->flags, ROUTES_ACCEPT_PROXY);
	expect_verdicts(copy, l->trusted_off, LIST("10.1.2.3:1", "[::1]:1"),
	    LIST("192.0.2.1:1"));
	expect_verdicts(copy, l->acl_off, LIST("192.0.2.1:1"),
	    LIST("192.0.2.66:1", "127.0.0.1:1"));
	l = listen_at(copy, "[::1]:8443");
	cr_assert_not_null(l);
	expect_verdicts(copy, l->acl_off, LIST("127.0.0.1:1", "[::1]:1"),
	    LIST("127.0.0.2:1", "192.0.2.1:1"));
	cr_assert_eq(route_for(copy, "a.example.com")->send_proxy, ROUTES_PROXY_V2);
	expect_verdicts(copy, route_for(copy, "a.example.com")->acl_off,
	    LIST("192.0.2.1:1"), LIST("192.0.2.200:1"));
	cr_assert_eq(route_for(copy, "b.example.com")->send_proxy, ROUTES_PROXY_V1);
	free(copy);
}
