/*
 * routes_test.c -- guards the route table image (common/routes.c): pattern
 * checks, the lookup order exact > longest wildcard > default, and an image
 * that is exact-sized and position independent.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "routes.h"
#include "tunables.h"

#define NO_ROUTE	(-1)	/* look_id(): the lookup returned NULL */
#define DNS_LABEL_MAX	63
#define BIG_TABLE	100000u
#define BIG_NAME_MAX	64	/* the generated names are far shorter */

static struct addr test_backend;

static void
setup_backend(void)
{
	const char *why;

	cr_assert_eq(addr_parse(&test_backend, "192.0.2.1:443", 0, &why), 0);
}

/* An image of these patterns, one backend each, malloc'ed exactly. */
static struct routes_image *
image_of(const char *const *patterns, uint32_t count, uint32_t seed)
{
	struct route_spec *specs = calloc(count + 1, sizeof(*specs));
	struct routes_image *img;
	size_t size;
	uint32_t i;

	cr_assert_not_null(specs);
	for (i = 0; i < count; i++) {
		specs[i] = (struct route_spec){ .pattern = patterns[i],
		    .backends = &test_backend, .backend_count = 1 };
	}
	size = routes_image_size(specs, count, NULL);
	img = malloc(size);
	cr_assert_not_null(img);
	cr_assert_eq(routes_image_build(img, size, specs, count, NULL, NULL, 1, seed), 0,
	    "build failed for %u patterns", count);
	free(specs);
	return img;
}

static int
build_rc(const char *const *patterns, uint32_t count)
{
	struct route_spec specs[4];
	char buf[4096] __attribute__((aligned(8)));
	uint32_t i;

	cr_assert_leq(count, 4);
	for (i = 0; i < count; i++) {
		specs[i] = (struct route_spec){ .pattern = patterns[i],
		    .backends = &test_backend, .backend_count = 1 };
	}
	return routes_image_build(buf, sizeof(buf), specs, count, NULL, NULL, 1, 0);
}

/* The id of the route name finds (name as text; NULL = no SNI), or NO_ROUTE. */
static long
look_id(const struct routes_image *img, const char *name)
{
	const struct routes_route *r = routes_lookup(img,
	    (const uint8_t *)name, name == NULL ? 0 : strlen(name));

	return r == NULL ? NO_ROUTE : (long)r->id;
}

/* A name of exactly len bytes: 63-byte labels of 'a' (len % 64 != 0). */
static char *
long_name(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = i % (DNS_LABEL_MAX + 1) == DNS_LABEL_MAX ? '.' : 'a';
	buf[len] = '\0';
	return buf;
}

TestSuite(routes, .init = setup_backend);

/* ---- routes_pattern_key ---- */

Test(routes, pattern_key_accepts_names_wildcards_and_default)
{
	static const struct {
		const char *pattern;
		enum route_kind kind;
		const char *key;
	} cases[] = {
		{ "*", ROUTE_DEFAULT, "" },
		{ "app.example.com", ROUTE_EXACT, "app.example.com" },
		{ "App.Example.COM.", ROUTE_EXACT, "app.example.com" },
		{ "localhost", ROUTE_EXACT, "localhost" },
		{ "under_score-1.x9", ROUTE_EXACT, "under_score-1.x9" },
		{ "*.example.org", ROUTE_WILDCARD, ".example.org" },
		{ "*.Example.ORG.", ROUTE_WILDCARD, ".example.org" },
		{ "*.org", ROUTE_WILDCARD, ".org" },
	};
	char key[ROUTES_KEY_MAX + 2];
	enum route_kind kind;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = routes_pattern_key(cases[i].pattern, key, &kind, &why);

		cr_assert_eq(n, (int)strlen(cases[i].key), "%s", cases[i].pattern);
		cr_assert_str_eq(key, cases[i].key, "%s", cases[i].pattern);
		cr_assert_eq(kind, cases[i].kind, "%s", cases[i].pattern);
	}
}

Test(routes, pattern_key_accepts_the_longest_names)
{
	char name[ROUTES_KEY_MAX + 8], key[ROUTES_KEY_MAX + 2];
	char label[DNS_LABEL_MAX + 8];
	enum route_kind kind;
	const char *why;

	long_name(name, ROUTES_KEY_MAX);
	cr_assert_eq(routes_pattern_key(name, key, &kind, &why), (int)ROUTES_KEY_MAX);
	cr_assert_str_eq(key, name);
	strcat(name, ".");	/* the trailing dot does not count */
	cr_assert_eq(routes_pattern_key(name, key, &kind, &why), (int)ROUTES_KEY_MAX);
	/* "*." + 251 bytes is a 253-byte name; the key drops the '*'. */
	name[0] = '*';
	name[1] = '.';
	long_name(name + 2, ROUTES_KEY_MAX - 2);
	cr_assert_eq(routes_pattern_key(name, key, &kind, &why),
	    (int)ROUTES_KEY_MAX - 1);
	cr_assert_eq(kind, ROUTE_WILDCARD);
	cr_assert_eq(key[0], '.');
	memset(label, 'b', DNS_LABEL_MAX);
	strcpy(label + DNS_LABEL_MAX, ".c");
	cr_assert_eq(routes_pattern_key(label, key, &kind, &why),
	    DNS_LABEL_MAX + 2);
}

Test(routes, pattern_key_rejects_with_a_reason_for_each_fault)
{
	static const char star[] = "has '*' other than as the whole first label";
	static const char empty_label[] = "has an empty label";
	static const char bad_char[] =
	    "has a character other than letters, digits, '-', '_' and '.'";
	static const char bare_star[] =
	    "is a wildcard without a suffix (\"*\" alone is the default route)";
	static const struct {
		const char *pattern;
		const char *why;
	} cases[] = {
		{ "", "is empty" },
		{ NULL, "is empty" },
		{ "a*.b", star },
		{ "*a.b", star },
		{ "a.*.b", star },
		{ "**.a", star },
		{ "a.b*", star },
		{ "*.*.b", star },
		{ "*.", bare_star },
		{ ".", empty_label },
		{ ".a.b", empty_label },
		{ "a..b", empty_label },
		{ "a.b..", empty_label },
		{ "*..a", empty_label },
		{ "a b.com", bad_char },
		{ "a/b", bad_char },
		{ "a.com:443", bad_char },
		{ "caf\xc3\xa9.fr", bad_char },
	};
	char key[ROUTES_KEY_MAX + 2];
	enum route_kind kind;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = routes_pattern_key(cases[i].pattern, key, &kind, &why);

		cr_assert_eq(n, -EINVAL, "\"%s\" accepted", cases[i].pattern);
		cr_assert_str_eq(why, cases[i].why, "\"%s\"", cases[i].pattern);
	}
}

Test(routes, pattern_key_rejects_overlong_names_and_labels)
{
	char name[2 * ROUTES_KEY_MAX], key[ROUTES_KEY_MAX + 2];
	enum route_kind kind;
	const char *why;

	long_name(name, ROUTES_KEY_MAX + 1);
	cr_assert_eq(routes_pattern_key(name, key, &kind, &why), -EINVAL);
	cr_assert_str_eq(why, "is longer than 253 characters");
	long_name(name, sizeof(name) - 1);	/* far past the bound */
	cr_assert_eq(routes_pattern_key(name, key, &kind, &why), -EINVAL);
	cr_assert_str_eq(why, "is longer than 253 characters");
	name[0] = '*';
	name[1] = '.';
	long_name(name + 2, ROUTES_KEY_MAX - 1);	/* a 254-byte wildcard */
	cr_assert_eq(routes_pattern_key(name, key, &kind, &why), -EINVAL);
	cr_assert_str_eq(why, "is longer than 253 characters");
	memset(name, 'x', DNS_LABEL_MAX + 1);
	strcpy(name + DNS_LABEL_MAX + 1, ".com");
	cr_assert_eq(routes_pattern_key(name, key, &kind, &why), -EINVAL);
	cr_assert_str_eq(why, "has a label longer than 63 characters");
}

/* ---- lookup order ---- */

Test(routes, lookup_exact_name_finds_its_route)
{
	static const char *const p[] = { "a.example.com", "b.example.com", "*" };
	struct routes_image *img = image_of(p, 3, 7);
	static const char sni[] = "b.example.com.and-more";

	cr_assert_eq(look_id(img, "a.example.com"), 0);
	cr_assert_eq(look_id(img, "b.example.com"), 1);
	/* SNI bytes are not NUL-terminated: only len counts. */
	cr_assert_eq(routes_lookup(img, (const uint8_t *)sni, 13)->id, 1);
	free(img);
}

Test(routes, lookup_wildcard_matches_one_and_two_labels_deep)
{
	static const char *const p[] = { "*.example.org" };
	struct routes_image *img = image_of(p, 1, 7);

	cr_assert_eq(look_id(img, "a.example.org"), 0);
	cr_assert_eq(look_id(img, "a.b.example.org"), 0);
	cr_assert_eq(look_id(img, "x.y.z.example.org"), 0);
	free(img);
}

Test(routes, lookup_wildcard_does_not_match_its_bare_suffix)
{
	static const char *const p[] = { "*.example.org", "*" };
	struct routes_image *img = image_of(p, 2, 7);

	cr_assert_eq(look_id(img, "example.org"), 1);
	cr_assert_eq(look_id(img, "org"), 1);
	cr_assert_eq(look_id(img, "aexample.org"), 1);
	free(img);
}

Test(routes, lookup_most_specific_wildcard_wins)
{
	static const char *const p[] = { "*.example.org", "*.b.example.org", "*.org" };
	struct routes_image *img = image_of(p, 3, 7);

	cr_assert_eq(look_id(img, "a.b.example.org"), 1);
	cr_assert_eq(look_id(img, "x.a.b.example.org"), 1);
	cr_assert_eq(look_id(img, "b.example.org"), 0);
	cr_assert_eq(look_id(img, "a.c.example.org"), 0);
	cr_assert_eq(look_id(img, "example.org"), 2);
	free(img);
}

Test(routes, lookup_exact_beats_wildcard)
{
	static const char *const p[] = { "*.example.org", "a.example.org" };
	struct routes_image *img = image_of(p, 2, 7);

	cr_assert_eq(look_id(img, "a.example.org"), 1);
	cr_assert_eq(look_id(img, "b.example.org"), 0);
	free(img);
}

Test(routes, lookup_ignores_case_of_sni)
{
	static const char *const p[] = { "App.Example.com", "*.Example.ORG" };
	struct routes_image *img = image_of(p, 2, 7);

	cr_assert_eq(look_id(img, "APP.EXAMPLE.COM"), 0);
	cr_assert_eq(look_id(img, "app.example.com"), 0);
	cr_assert_eq(look_id(img, "WWW.eXample.Org"), 1);
	free(img);
}

Test(routes, lookup_ignores_one_trailing_dot)
{
	static const char *const p[] = { "app.example.com.", "*.example.org", "*" };
	struct routes_image *img = image_of(p, 3, 7);

	cr_assert_eq(look_id(img, "app.example.com."), 0);
	cr_assert_eq(look_id(img, "app.example.com"), 0);
	cr_assert_eq(look_id(img, "a.example.org."), 1);
	/* Two trailing dots leave an empty label: no host name. */
	cr_assert_eq(look_id(img, "app.example.com.."), 2);
	free(img);
}

Test(routes, lookup_without_sni_gives_default)
{
	static const char *const p[] = { "a.example.com", "*", "*.example.com" };
	struct routes_image *img = image_of(p, 3, 7);

	cr_assert_eq(look_id(img, NULL), 1);
	cr_assert_eq(routes_lookup(img, (const uint8_t *)"a.example.com", 0)->id, 1);
	cr_assert_eq(look_id(img, "."), 1);
	free(img);
}

Test(routes, lookup_unknown_name_gives_default)
{
	static const char *const p[] = { "a.example.com", "*.example.org", "*" };
	struct routes_image *img = image_of(p, 3, 7);

	cr_assert_eq(look_id(img, "b.example.com"), 2);
	cr_assert_eq(look_id(img, "a.example.com.evil"), 2);
	cr_assert_eq(look_id(img, "x.example.net"), 2);
	free(img);
}

Test(routes, lookup_unknown_without_default_gives_null)
{
	static const char *const p[] = { "a.example.com", "*.example.org" };
	struct routes_image *img = image_of(p, 2, 7);

	cr_assert_eq(look_id(img, "b.example.com"), NO_ROUTE);
	cr_assert_eq(look_id(img, NULL), NO_ROUTE);
	cr_assert_eq(look_id(img, ".example.org"), NO_ROUTE);
	free(img);
}

Test(routes, lookup_leading_dot_name_matches_no_exact_or_wildcard_route)
{
	static const char *const p[] = { "example.org", "*.example.org", "*" };
	static const char *const odd[] = {
		".example.org", ".", "..", "...", ".a", "a.", "a..example.org",
		".a.example.org", "a.example.org..",
	};
	struct routes_image *img = image_of(p, 3, 7);
	size_t i;

	/* ".example.org" is the wildcard's key, but not a host name. */
	cr_assert_eq(look_id(img, ".example.org"), 2);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		cr_assert_eq(look_id(img, odd[i]), 2, "\"%s\"", odd[i]);
	cr_assert_eq(look_id(img, "example.org"), 0);
	free(img);
}

Test(routes, lookup_name_longer_than_253_gives_default)
{
	static const char *const p[] = { "*.org", "*" };
	struct routes_image *img = image_of(p, 2, 7);
	char name[ROUTES_KEY_MAX + 8];

	long_name(name, ROUTES_KEY_MAX - 4);
	strcat(name, ".org");		/* 253 bytes */
	cr_assert_eq(look_id(img, name), 0);
	strcat(name, ".");		/* a trailing dot does not count */
	cr_assert_eq(look_id(img, name), 0);
	long_name(name, ROUTES_KEY_MAX - 3);
	strcat(name, ".org");		/* 254 bytes */
	cr_assert_eq(look_id(img, name), 1);
	free(img);
}

Test(routes, lookup_results_do_not_depend_on_seed)
{
	static const char *const p[] = {
		"a.example.com", "*.example.com", "*.b.example.com", "*",
	};
	static const uint32_t seeds[] = { 0, 1, 0x9e3779b9u, UINT32_MAX };
	size_t i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct routes_image *img = image_of(p, 4, seeds[i]);

		cr_assert_eq(img->seed, seeds[i]);
		cr_assert_eq(look_id(img, "a.example.com"), 0);
		cr_assert_eq(look_id(img, "c.example.com"), 1);
		cr_assert_eq(look_id(img, "c.b.example.com"), 2);
		cr_assert_eq(look_id(img, "example.com"), 3);
		free(img);
	}
}

/* ---- building ---- */

Test(routes, build_rejects_duplicates_also_by_case_and_trailing_dot)
{
	static const char *const dup[][2] = {
		{ "a.example.com", "a.example.com" },
		{ "a.example.com", "A.Example.COM" },
		{ "a.example.com", "a.example.com." },
		{ "*.example.com", "*.EXAMPLE.com." },
		{ "*", "*" },
	};
	static const char *const distinct[] = { "example.com", "*.example.com" };
	size_t i;

	for (i = 0; i < sizeof(dup) / sizeof(dup[0]); i++)
		cr_assert_eq(build_rc(dup[i], 2), -EINVAL, "%s / %s",
		    dup[i][0], dup[i][1]);
	cr_assert_eq(build_rc(distinct, 2), 0);
}

Test(routes, build_rejects_invalid_pattern_without_loader_checks)
{
	static const char *const bad[][1] = {
		{ "a*.b" }, { "" }, { NULL }, { "a..b" }, { "*." },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(build_rc(bad[i], 1), -EINVAL, "%s", bad[i][0]);
}

Test(routes, build_rejects_route_without_backends)
{
	struct route_spec spec = { .pattern = "a.example.com", .backends = &test_backend, .backend_count = 0 };
	char buf[1024] __attribute__((aligned(8)));

	cr_assert_eq(routes_image_build(buf, sizeof(buf), &spec, 1, NULL, NULL, 1, 0),
	    -EINVAL);
	spec.backend_count = 1;
	spec.backends = NULL;
	cr_assert_eq(routes_image_build(buf, sizeof(buf), &spec, 1, NULL, NULL, 1, 0),
	    -EINVAL);
}

Test(routes, build_fills_header_and_settings)
{
	static const char *const p[] = { "a.example.com", "*.example.org", "*" };
	const struct routes_settings settings = {
		.hello_ms = 1, .connect_ms = 2, .idle_ms = 3, .hello_bytes = 4,
		.max_connections = 5, .pipe_bytes = 6, .relay = RELAY_SPLICE_RING,
	};
	struct route_spec specs[3];
	struct routes_image *img;
	size_t size, i;

	for (i = 0; i < 3; i++)
		specs[i] = (struct route_spec){ .pattern = p[i], .backends = &test_backend, .backend_count = 1 };
	size = routes_image_size(specs, 3, NULL);
	img = malloc(size);
	cr_assert_not_null(img);
	cr_assert_eq(routes_image_build(img, size, specs, 3, NULL, &settings, 42,
	    0xabcdu), 0);
	cr_assert_eq(img->magic, ROUTES_MAGIC);
	cr_assert_eq(img->version, ROUTES_VERSION);
	cr_assert_eq(img->generation, 42);
	cr_assert_eq(img->size, size);
	cr_assert_eq(img->seed, 0xabcdu);
	cr_assert_eq(img->route_count, 3);
	cr_assert_eq(img->backend_count, 3);
	cr_assert_eq(img->default_route, 2);
	cr_assert_geq(img->bucket_count, 8);
	cr_assert_eq(img->bucket_count & (img->bucket_count - 1), 0);
	cr_assert_eq(img->routes_off % 8, 0);
	cr_assert_eq(img->backends_off % 8, 0);
	cr_assert_eq(img->buckets_off % 8, 0);
	cr_assert_eq(memcmp(&img->settings, &settings, sizeof(settings)), 0);
	cr_assert_eq(routes_at(img, 1)->kind, ROUTE_WILDCARD);
	cr_assert_eq(routes_at(img, 1)->key_len, strlen(".example.org"));
	cr_assert_eq(memcmp((char *)img + routes_at(img, 1)->key_off,
	    ".example.org", routes_at(img, 1)->key_len), 0);
	free(img);
}

Test(routes, build_copies_each_routes_backends)
{
	static const char *const text[] = {
		"10.0.0.1:443",
		"10.0.0.2:8443", "[2001:db8::1]:443", "127.0.0.1:1",
		"[::1]:65535", "192.0.2.9:443",
	};
	static const uint32_t per_route[] = { 1, 3, 2 };
	static const char *const p[] = { "one.test", "*.three.test", "*" };
	struct addr addrs[6];
	struct route_spec specs[3];
	struct routes_image *img;
	const char *why;
	uint32_t i, k, first = 0;
	size_t size;

	for (i = 0; i < 6; i++)
		cr_assert_eq(addr_parse(&addrs[i], text[i], 0, &why), 0, "%s", text[i]);
	for (i = 0; i < 3; i++) {
		specs[i] = (struct route_spec){ .pattern = p[i], .backends = &addrs[first], .backend_count = per_route[i] };
		first += per_route[i];
	}
	size = routes_image_size(specs, 3, NULL);
	img = malloc(size);
	cr_assert_not_null(img);
	cr_assert_eq(routes_image_build(img, size, specs, 3, NULL, NULL, 1, 3), 0);
	cr_assert_eq(img->backend_count, 6);
	first = 0;
	for (i = 0; i < 3; i++) {
		const struct routes_route *r = routes_at(img, i);
		const struct routes_backend *b = routes_backends(img, r);

		cr_assert_eq(r->id, i);
		cr_assert_eq(r->backend_first, first);
		cr_assert_eq(r->backend_count, per_route[i]);
		for (k = 0; k < per_route[i]; k++)
			cr_assert(addr_equal(&b[k].addr, &addrs[first + k]),
			    "route %u backend %u is not %s", i, k, text[first + k]);
		first += per_route[i];
	}
	cr_assert_eq(routes_backends(img, routes_lookup(img,
	    (const uint8_t *)"x.three.test", 12))[2].addr.u.sa.sa_family,
	    AF_INET);
	free(img);
}

Test(routes, image_works_after_copy_to_another_address)
{
	static const char *const p[] = { "a.example.com", "*.example.org", "*" };
	struct routes_image *img = image_of(p, 3, 11);
	size_t size = img->size;
	char *other = malloc(size + 64);
	struct routes_image *moved;

	cr_assert_not_null(other);
	moved = (struct routes_image *)(other + 64);
	memcpy(moved, img, size);
	/* Poison the original: a stored pointer into it would now misroute. */
	memset(img, 0xff, size);
	free(img);
	cr_assert_eq(look_id(moved, "A.example.com"), 0);
	cr_assert_eq(look_id(moved, "x.y.example.org"), 1);
	cr_assert_eq(look_id(moved, "example.org"), 2);
	cr_assert(addr_equal(&routes_backends(moved, routes_at(moved, 1))->addr,
	    &test_backend));
	free(other);
}

Test(routes, build_fits_exactly_in_image_size)
{
	static const char *const p[] = {
		"a.example.com", "*.example.org", "*", "Z.",
		"*.b.example.org", "x-y_z.test",
	};
	struct route_spec specs[6];
	unsigned char *buf;
	size_t size, i;

	for (i = 0; i < 6; i++)
		specs[i] = (struct route_spec){ .pattern = p[i], .backends = &test_backend, .backend_count = 1 };
	size = routes_image_size(specs, 6, NULL);
	/* Exactly size bytes: ASan reports any write past the end. */
	buf = malloc(size);
	cr_assert_not_null(buf);
	cr_assert_eq(routes_image_build(buf, size, specs, 6, NULL, NULL, 1, 5), 0);
	cr_assert_eq(((struct routes_image *)buf)->size, size);
	cr_assert_eq(size % 8, 0);
	free(buf);
	/* One byte short is refused before anything is written. */
	buf = malloc(size - 1);
	cr_assert_not_null(buf);
	cr_assert_eq(routes_image_build(buf, size - 1, specs, 6, NULL, NULL, 1, 5),
	    -ENOSPC);
	free(buf);
	/* A roomier buffer is untouched past size. */
	buf = malloc(size + 64);
	cr_assert_not_null(buf);
	memset(buf, 0xa5, size + 64);
	cr_assert_eq(routes_image_build(buf, size + 64, specs, 6, NULL, NULL, 1, 5), 0);
	for (i = size; i < size + 64; i++)
		cr_assert_eq(buf[i], 0xa5, "byte %zu written", i);
	free(buf);
}

Test(routes, build_of_no_routes_gives_null_lookups)
{
	struct routes_image *img = image_of(NULL, 0, 1);

	cr_assert_eq(img->route_count, 0);
	cr_assert_eq(look_id(img, "a.example.com"), NO_ROUTE);
	cr_assert_eq(look_id(img, NULL), NO_ROUTE);
	free(img);
}

/* ---- scale ---- */

/*
 * Route i of the big table: a third exact names, a third wildcards, a third
 * exact names written in mixed case; a default comes last.
 */
static void
big_pattern(char *buf, uint32_t i)
{
	switch (i % 3) {
	case 0:
		snprintf(buf, BIG_NAME_MAX, "host%u.zone%u.example.com", i, i % 101);
		break;
	case 1:
		snprintf(buf, BIG_NAME_MAX, "*.w%u.example.net", i);
		break;
	default:
		snprintf(buf, BIG_NAME_MAX, "Svc-%u.Example.ORG", i);
		break;
	}
}

/* A name route i matches, of two labels in place of the '*' for wildcards. */
static void
big_name(char *buf, uint32_t i)
{
	switch (i % 3) {
	case 0:
		snprintf(buf, BIG_NAME_MAX, "HOST%u.zone%u.example.com.", i, i % 101);
		break;
	case 1:
		snprintf(buf, BIG_NAME_MAX, "a.b%u.w%u.example.net", i % 7, i);
		break;
	default:
		snprintf(buf, BIG_NAME_MAX, "svc-%u.example.org", i);
		break;
	}
}

/* A name like route i's that no route has: only the default takes it. */
static void
big_miss(char *buf, uint32_t i)
{
	switch (i % 3) {
	case 0:
		snprintf(buf, BIG_NAME_MAX, "host%u.zone%u.example.com", i, i % 101 + 1);
		break;
	case 1:
		snprintf(buf, BIG_NAME_MAX, "w%u.example.net", i);	/* bare suffix */
		break;
	default:
		snprintf(buf, BIG_NAME_MAX, "svc-%u.example.org", i + BIG_TABLE);
		break;
	}
}

Test(routes, lookup_100k_routes_each_name_finds_its_own_route)
{
	const uint32_t count = BIG_TABLE + 1;
	char *arena = malloc((size_t)count * BIG_NAME_MAX);
	const char **patterns = malloc(count * sizeof(*patterns));
	struct routes_image *img;
	char name[BIG_NAME_MAX];
	uint32_t i;

	cr_assert_not_null(arena);
	cr_assert_not_null(patterns);
	for (i = 0; i < BIG_TABLE; i++) {
		big_pattern(arena + (size_t)i * BIG_NAME_MAX, i);
		patterns[i] = arena + (size_t)i * BIG_NAME_MAX;
	}
	patterns[BIG_TABLE] = "*";
	img = image_of(patterns, count, 0x5eed);
	for (i = 0; i < BIG_TABLE; i++) {
		big_name(name, i);
		if (look_id(img, name) != (long)i)
			cr_assert_fail("\"%s\" found %ld, not %u", name,
			    look_id(img, name), i);
	}
	for (i = 0; i < BIG_TABLE; i += 7) {
		big_miss(name, i);
		cr_assert_eq(look_id(img, name), (long)BIG_TABLE, "\"%s\"", name);
	}
	free(img);
	free(patterns);
	free(arena);
}

Test(routes, stats_ids_are_carried_into_the_image)
{
	static const uint32_t backend_ids[2] = { 7, 9 };
	struct addr backends[2];
	struct route_spec spec;
	const struct routes_route *r;
	const char *why;
	size_t size;
	void *img;

	cr_assert_eq(addr_parse(&backends[0], "127.0.0.1:1", 0, &why), 0);
	cr_assert_eq(addr_parse(&backends[1], "127.0.0.1:2", 0, &why), 0);
	spec = (struct route_spec){ .pattern = "a.example.com", .backends = backends,
	    .backend_count = 2, .stats_id = 42, .backend_stats_ids = backend_ids };
	size = routes_image_size(&spec, 1, NULL);
	img = malloc(size);
	cr_assert_eq(routes_image_build(img, size, &spec, 1, NULL, NULL, 1, 5), 0);
	r = routes_lookup(img, (const uint8_t *)"a.example.com", 13);
	cr_assert_not_null(r);
	cr_assert_eq(r->stats_id, 42);
	cr_assert_eq(routes_backends(img, r)[0].stats_id, 7);
	cr_assert_eq(routes_backends(img, r)[1].stats_id, 9);
	free(img);
}
