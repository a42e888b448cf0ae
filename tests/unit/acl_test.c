/*
 * acl_test.c -- guards the address rules (common/acl.c): CIDR parsing and
 * its refusals, the verdict rules of a scope (longest prefix wins, a tie
 * denies, allow entries make the unlisted denied), IPv4-mapped clients, an
 * image that is exact-sized and position independent, and agreement with a
 * naive linear longest-prefix match on random rules.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "acl.h"
#include "addr.h"

#define CANARY		0xa5
#define CANARY_BYTES	64

/* The client ip ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"), port 443. */
static struct addr
client_of(const char *ip)
{
	char text[ADDR_STRLEN];
	struct addr a;
	const char *why;

	snprintf(text, sizeof(text), strchr(ip, ':') ? "[%s]:443" : "%s:443", ip);
	cr_assert_eq(addr_parse(&a, text, 0, &why), 0, "%s: %s", text, why);
	return a;
}

/* Parses a NULL-terminated list; malloc'ed, one spare so it is never NULL. */
static struct acl_cidr *
list_parse(const char *const *list, uint32_t *count)
{
	struct acl_cidr *out;
	const char *why;
	uint32_t i;

	for (*count = 0; list[*count] != NULL; ++*count)
		;
	out = calloc(*count + 1, sizeof(*out));
	cr_assert_not_null(out);
	for (i = 0; i < *count; i++)
		cr_assert_eq(acl_cidr_parse(list[i], &out[i], &why), 0,
		    "%s: %s", list[i], why);
	return out;
}

/* The scope of these lists, malloc'ed exactly acl_size() bytes. */
static struct acl *
scope_of(const char *const *allow, const char *const *deny)
{
	struct acl_cidr *a, *d;
	uint32_t na, nd;
	struct acl *acl;
	size_t size;

	a = list_parse(allow, &na);
	d = list_parse(deny, &nd);
	size = acl_size(a, na, d, nd);
	acl = malloc(size);
	cr_assert_not_null(acl);
	cr_assert_eq(acl_build(acl, size, a, na, d, nd), 0);
	cr_assert_eq(acl->size, size);
	cr_assert_leq(acl->node_count, acl->node_slots);
	free(a);
	free(d);
	return acl;
}

#define LIST(...)	((const char *const []){ __VA_ARGS__, NULL })
#define NONE		((const char *const []){ NULL })

static void
expect(const struct acl *acl, const char *ip, bool allowed)
{
	struct addr c = client_of(ip);

	cr_assert_eq(acl_allows(acl, &c), allowed, "%s should be %s", ip,
	    allowed ? "allowed" : "denied");
}

/* ---- parsing ---------------------------------------------------------- */

Test(acl, parse_ipv4_with_prefix)
{
	struct acl_cidr c;
	const char *why;

	cr_assert_eq(acl_cidr_parse("10.0.0.0/8", &c, &why), 0);
	cr_assert_null(why);
	cr_assert_eq(c.family, AF_INET);
	cr_assert_eq(c.prefix, 8);
	/* 10.0.0.0 in network order, the other 12 bytes zero */
	cr_assert_arr_eq(c.addr, ((uint8_t[16]){ 10, 0, 0, 0 }), 16);
}

Test(acl, parse_bare_addresses_are_host_routes)
{
	struct acl_cidr c;
	const char *why;

	cr_assert_eq(acl_cidr_parse("192.0.2.66", &c, &why), 0);
	cr_assert_eq(c.family, AF_INET);
	cr_assert_eq(c.prefix, 32);
	cr_assert_arr_eq(c.addr, ((uint8_t[16]){ 192, 0, 2, 66 }), 16);
	cr_assert_eq(acl_cidr_parse("::1", &c, &why), 0);
	cr_assert_eq(c.family, AF_INET6);
	cr_assert_eq(c.prefix, 128);
	/* ::1: fifteen zero bytes, then 1 */
	cr_assert_arr_eq(c.addr, ((uint8_t[16]){ [15] = 1 }), 16);
}

Test(acl, parse_ipv6_with_prefix)
{
	struct acl_cidr c;
	const char *why;

	cr_assert_eq(acl_cidr_parse("2001:db8::/32", &c, &why), 0);
	cr_assert_eq(c.family, AF_INET6);
	cr_assert_eq(c.prefix, 32);
	/* 2001:0db8, then zeros */
	cr_assert_arr_eq(c.addr, ((uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8 }), 16);
	cr_assert_eq(acl_cidr_parse("::1/128", &c, &why), 0);
	cr_assert_eq(c.prefix, 128);
}

Test(acl, parse_prefix_zero_and_full)
{
	struct acl_cidr c;
	const char *why;

	cr_assert_eq(acl_cidr_parse("0.0.0.0/0", &c, &why), 0);
	cr_assert_eq(c.prefix, 0);
	cr_assert_eq(acl_cidr_parse("::/0", &c, &why), 0);
	cr_assert_eq(c.prefix, 0);
	cr_assert_eq(c.family, AF_INET6);
	cr_assert_eq(acl_cidr_parse("255.255.255.255/32", &c, &why), 0);
	cr_assert_eq(acl_cidr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	    &c, &why), 0);
	cr_assert_eq(c.prefix, 128);
}

#define WHY_HOST_BITS	"has address bits set past the prefix length (an " \
			"entry is a network address: 10.0.0.0/8, not 10.0.0.1/8)"
#define WHY_PAST_32	"has a prefix length past 32, the bits of an IPv4 address"
#define WHY_PAST_128	"has a prefix length past 128, the bits of an IPv6 address"
#define WHY_NOT_NUMBER	"has a prefix length that is not a decimal number"
#define WHY_BAD_V4	"is not a valid IPv4 address (a.b.c.d, or an IPv6 address)"
#define WHY_BAD_V6	"is not a valid IPv6 address"

Test(acl, parse_refusals_say_why)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "", "is empty" },
		{ "10.0.0.1/8", WHY_HOST_BITS },	/* .1 is below /8 */
		{ "192.0.2.1/24", WHY_HOST_BITS },
		{ "0.0.0.1/0", WHY_HOST_BITS },
		{ "2001:db8::1/32", WHY_HOST_BITS },
		{ "::1/127", WHY_HOST_BITS },		/* the last bit is past /127 */
		{ "10.0.0.0/33", WHY_PAST_32 },
		{ "10.0.0.0/255", WHY_PAST_32 },
		{ "::/129", WHY_PAST_128 },
		{ "::/999", WHY_PAST_128 },
		{ "10.0.0.0/0008", "has a prefix length of more than three digits" },
		{ "10.0.0.0/", "has an empty prefix length after '/'" },
		{ "10.0.0.0/8x", WHY_NOT_NUMBER },
		{ "10.0.0.0/-1", WHY_NOT_NUMBER },
		{ "10.0.0.0/+8", WHY_NOT_NUMBER },
		{ "10.0.0.0/ 8", WHY_NOT_NUMBER },
		{ "10.0.0.0/8/8", WHY_NOT_NUMBER },
		{ "/8", "has no address before '/'" },
		{ "10.0.0/8", WHY_BAD_V4 },		/* three parts */
		{ "10.0.0.256", WHY_BAD_V4 },
		{ "example.com", WHY_BAD_V4 },		/* no names, only addresses */
		{ " 10.0.0.0/8", WHY_BAD_V4 },
		{ "10.0.0.0 /8", WHY_BAD_V4 },
		{ "2001:db8:::/32", WHY_BAD_V6 },
		{ "[::1]/128", WHY_BAD_V6 },
		{ "2001:db8::g/128", WHY_BAD_V6 },
		{ "fe80::1%eth0/128",
		    "has an IPv6 zone ('%'), which an address rule cannot match" },
		{ "1111:2222:3333:4444:5555:6666:7777:8888/128xxxxxxxxxxxxxx",
		    "is too long for an address and a prefix length" },
	};
	struct acl_cidr c;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0x5a, sizeof(c));
		cr_assert_eq(acl_cidr_parse(cases[i].text, &c, &why), -EINVAL,
		    "\"%s\" accepted", cases[i].text);
		cr_assert_not_null(why, "\"%s\": no why", cases[i].text);
		cr_assert_str_eq(why, cases[i].why, "\"%s\"", cases[i].text);
		/* Nothing half-parsed is left behind. */
		cr_assert_arr_eq(&c, &(struct acl_cidr){ 0 }, sizeof(c));
	}
	cr_assert_eq(acl_cidr_parse(NULL, &c, &why), -EINVAL);
	cr_assert_str_eq(why, "is empty");
}

/* ---- verdicts --------------------------------------------------------- */

/* The example: a /24 except one address, and nobody else. */
Test(acl, allow_net_deny_one_host_admits_the_rest_of_the_net_only)
{
	struct acl *acl = scope_of(LIST("192.0.2.0/24"), LIST("192.0.2.66/32"));

	expect(acl, "192.0.2.0", true);
	expect(acl, "192.0.2.65", true);
	expect(acl, "192.0.2.66", false);
	expect(acl, "192.0.2.67", true);
	expect(acl, "192.0.2.255", true);
	expect(acl, "192.0.3.0", false);	/* unlisted: the scope has allow */
	expect(acl, "198.51.100.1", false);
	expect(acl, "::1", false);		/* other family, still unlisted */
	free(acl);
}

Test(acl, longer_ipv4_prefix_flips_the_verdict_both_ways)
{
	struct acl *acl = scope_of(LIST("10.0.0.0/8", "10.1.2.0/24", "10.1.2.128/25"),
	    LIST("10.1.0.0/16", "10.1.2.200/32"));

	expect(acl, "10.9.9.9", true);		/* /8 allow */
	expect(acl, "10.1.9.9", false);		/* /16 deny under the /8 */
	expect(acl, "10.1.2.3", true);		/* /24 allow under the /16 */
	expect(acl, "10.1.2.130", true);	/* /25 allow */
	expect(acl, "10.1.2.200", false);	/* /32 deny under the /25 */
	expect(acl, "10.1.2.201", true);
	expect(acl, "11.0.0.1", false);
	free(acl);
}

Test(acl, longer_ipv6_prefix_flips_the_verdict_both_ways)
{
	struct acl *acl = scope_of(LIST("2001:db8:1::/48", "2001:db8:1:2::5/128"),
	    LIST("2001:db8::/32", "2001:db8:1:2::/64"));

	expect(acl, "2001:db8:9::1", false);		/* /32 deny */
	expect(acl, "2001:db8:1:7::1", true);		/* /48 allow */
	expect(acl, "2001:db8:1:2::4", false);		/* /64 deny */
	expect(acl, "2001:db8:1:2::5", true);		/* /128 allow */
	expect(acl, "2001:db9::1", false);		/* unlisted */
	free(acl);
}

/* size address bytes whose first n bits are 1 and the rest 0. */
static void
ones(uint8_t *b, unsigned n, size_t size)
{
	memset(b, 0, size);
	memset(b, 0xff, n / 8);
	if (n % 8 != 0)
		b[n / 8] = (uint8_t)(0xff00u >> (n % 8));
}

/*
 * One chain of every prefix length, 1-bits only: /n allows when n is even
 * and denies when odd. The client with n leading 1-bits and then a 0 has
 * /n as its longest match, at the deepest walk the trie can take.
 */
Test(acl, every_length_of_one_nested_chain_decides_its_own_clients)
{
	static const uint16_t families[] = { AF_INET, AF_INET6 };
	struct acl_cidr allow[65], deny[64];
	unsigned f, n, bits;
	uint32_t na, nd;
	struct acl *acl;
	struct addr c;

	for (f = 0; f < 2; f++) {
		bits = families[f] == AF_INET ? 32 : 128;
		memset(allow, 0, sizeof(allow));
		memset(deny, 0, sizeof(deny));
		for (n = 0, na = nd = 0; n <= bits; n++) {
			struct acl_cidr *e = n % 2 == 0 ? &allow[na++] : &deny[nd++];

			e->family = families[f];
			e->prefix = (uint8_t)n;
			ones(e->addr, n, sizeof(e->addr));
		}
		acl = aligned_alloc(8, acl_size(allow, na, deny, nd));
		cr_assert_not_null(acl);
		cr_assert_eq(acl_build(acl, acl_size(allow, na, deny, nd), allow,
		    na, deny, nd), 0);
		for (n = 0; n <= bits; n++) {
			memset(&c, 0, sizeof(c));
			c.u.sa.sa_family = families[f];
			if (families[f] == AF_INET)
				ones((uint8_t *)&c.u.in.sin_addr, n, 4);
			else
				ones(c.u.in6.sin6_addr.s6_addr, n, 16);
			cr_assert_eq(acl_allows(acl, &c), n % 2 == 0,
			    "family %u, /%u", families[f], n);
		}
		free(acl);
	}
}

Test(acl, host_entries_match_one_address_only)
{
	struct acl *acl = scope_of(NONE, LIST("192.0.2.66/32", "2001:db8::66/128"));

	expect(acl, "192.0.2.66", false);
	expect(acl, "192.0.2.67", true);
	expect(acl, "192.0.2.64", true);
	expect(acl, "2001:db8::66", false);
	expect(acl, "2001:db8::67", true);
	expect(acl, "2001:db8::", true);
	free(acl);
}

Test(acl, tie_between_allow_and_deny_denies)
{
	struct acl *acl = scope_of(LIST("192.0.2.0/24", "198.51.100.7", "2001:db8::/32"),
	    LIST("192.0.2.0/24", "2001:db8::/32"));

	expect(acl, "192.0.2.5", false);
	expect(acl, "198.51.100.7", true);
	expect(acl, "2001:db8::1", false);
	free(acl);
}

Test(acl, tie_denies_whatever_the_order)
{
	/* The deny /24 nests under an allow /16 that is listed after it. */
	struct acl *acl = scope_of(LIST("192.0.0.0/16", "192.0.2.0/24"),
	    LIST("192.0.2.0/24", "192.0.2.0/24"));

	expect(acl, "192.0.2.1", false);
	expect(acl, "192.0.3.1", true);
	free(acl);
}

Test(acl, duplicates_keep_their_verdict)
{
	struct acl *acl = scope_of(LIST("10.0.0.0/8", "10.0.0.0/8", "10.0.0.0/8"),
	    NONE);

	expect(acl, "10.1.1.1", true);
	expect(acl, "11.1.1.1", false);
	cr_assert_eq(acl->node_count, 1);
	free(acl);
}

Test(acl, allow_only_denies_the_unlisted)
{
	struct acl *acl = scope_of(LIST("10.0.0.0/8"), NONE);

	expect(acl, "10.0.0.1", true);
	expect(acl, "9.255.255.255", false);
	expect(acl, "2001:db8::1", false);
	free(acl);
}

Test(acl, deny_only_allows_the_unlisted)
{
	struct acl *acl = scope_of(NONE, LIST("10.0.0.0/8", "2001:db8::/32"));

	expect(acl, "10.0.0.1", false);
	expect(acl, "11.0.0.1", true);
	expect(acl, "2001:db8::1", false);
	expect(acl, "2001:db9::1", true);
	expect(acl, "::1", true);
	free(acl);
}

Test(acl, empty_and_null_scopes_allow_everyone)
{
	struct acl *acl = scope_of(NONE, NONE);
	struct addr c = client_of("203.0.113.9");

	cr_assert_eq(acl_size(NULL, 0, NULL, 0), sizeof(struct acl));
	expect(acl, "203.0.113.9", true);
	expect(acl, "::1", true);
	cr_assert(acl_allows(NULL, &c));
	free(acl);
}

Test(acl, prefix_zero_matches_its_whole_family)
{
	struct acl *acl = scope_of(LIST("0.0.0.0/0"), LIST("10.0.0.0/8"));

	expect(acl, "0.0.0.0", true);
	expect(acl, "255.255.255.255", true);
	expect(acl, "10.2.3.4", false);
	expect(acl, "2001:db8::1", false);	/* /0 of IPv4 is no IPv6 entry */
	free(acl);
	acl = scope_of(LIST("2001:db8::1"), LIST("::/0"));
	expect(acl, "2001:db8::1", true);
	expect(acl, "2001:db8::2", false);
	expect(acl, "::", false);
	expect(acl, "192.0.2.1", false);	/* unlisted, allow present */
	free(acl);
}

Test(acl, mapped_ipv6_clients_are_checked_as_ipv4)
{
	struct acl *acl = scope_of(LIST("192.0.2.0/24"), LIST("192.0.2.66"));

	expect(acl, "::ffff:192.0.2.1", true);
	expect(acl, "::ffff:192.0.2.66", false);
	expect(acl, "::ffff:198.51.100.1", false);
	free(acl);
	/* ::/0 is every IPv6 client, not an IPv4 one in mapped form. */
	acl = scope_of(NONE, LIST("::/0"));
	expect(acl, "::ffff:192.0.2.1", true);
	expect(acl, "192.0.2.1", true);
	expect(acl, "2001:db8::1", false);
	expect(acl, "::192.0.2.1", false);	/* IPv4-compatible is plain IPv6 */
	free(acl);
}

Test(acl, mapped_ipv6_entries_are_ipv4_entries)
{
	struct acl *acl = scope_of(NONE, LIST("::ffff:192.0.2.0/120",
	    "::ffff:0:0/96"));

	/* /120 of the mapped space is 192.0.2.0/24; /96 is 0.0.0.0/0 */
	expect(acl, "192.0.2.9", false);
	expect(acl, "::ffff:192.0.2.9", false);
	expect(acl, "203.0.113.1", false);
	expect(acl, "2001:db8::1", true);
	free(acl);
	acl = scope_of(LIST("::ffff:192.0.2.0/120"), NONE);
	expect(acl, "192.0.2.9", true);
	expect(acl, "192.0.3.9", false);
	free(acl);
}

Test(acl, client_of_no_ip_family_gets_the_unlisted_verdict)
{
	struct acl *allow = scope_of(LIST("10.0.0.0/8"), NONE);
	struct acl *deny = scope_of(NONE, LIST("0.0.0.0/0", "::/0"));
	struct addr unix_client;

	memset(&unix_client, 0, sizeof(unix_client));
	unix_client.u.sa.sa_family = AF_UNIX;
	cr_assert_not(acl_allows(allow, &unix_client));
	cr_assert_not(acl_allows(allow, NULL));
	cr_assert(acl_allows(deny, &unix_client));
	cr_assert(acl_allows(deny, NULL));
	free(allow);
	free(deny);
}

Test(acl, wrong_magic_admits_nobody)
{
	struct acl *acl = scope_of(NONE, NONE);

	acl->magic ^= 1;
	expect(acl, "192.0.2.1", false);
	free(acl);
}

/* ---- the image -------------------------------------------------------- */

Test(acl, build_writes_nothing_past_acl_size)
{
	struct acl_cidr *a, *d;
	uint32_t na, nd;
	unsigned char *buf;
	size_t size, i;

	a = list_parse(LIST("10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32",
	    "192.0.2.0/25", "192.0.2.128/25"), &na);
	d = list_parse(LIST("10.1.2.3", "::1", "2001:db8:1::/48"), &nd);
	size = acl_size(a, na, d, nd);
	cr_assert_eq(size % 8, 0);
	/* 5 IPv4 entries: 2 * 5 - 1 slots; 3 IPv6: 2 * 3 - 1. */
	cr_assert_eq(size, sizeof(struct acl) + 14 * sizeof(struct acl_node));
	buf = aligned_alloc(8, size + CANARY_BYTES);
	cr_assert_not_null(buf);
	memset(buf, CANARY, size + CANARY_BYTES);
	cr_assert_eq(acl_build(buf, size + CANARY_BYTES, a, na, d, nd), 0);
	for (i = size; i < size + CANARY_BYTES; i++)
		cr_assert_eq(buf[i], CANARY, "byte %zu written", i);
	/* One byte short is refused before anything is written. */
	memset(buf, CANARY, size + CANARY_BYTES);
	cr_assert_eq(acl_build(buf, size - 1, a, na, d, nd), -ENOSPC);
	for (i = 0; i < size + CANARY_BYTES; i++)
		cr_assert_eq(buf[i], CANARY, "byte %zu written", i);
	free(buf);
	free(a);
	free(d);
}

Test(acl, build_refuses_bad_entries)
{
	struct acl_cidr good, bad;
	const char *why;
	char buf[4096] __attribute__((aligned(8)));

	cr_assert_eq(acl_cidr_parse("10.0.0.0/8", &good, &why), 0);
	bad = good;
	bad.prefix = 33;
	cr_assert_eq(acl_build(buf, sizeof(buf), &bad, 1, NULL, 0), -EINVAL);
	bad = good;
	bad.prefix = 6;		/* 10 = 0000 1010: bit 6 is set, past /6 */
	cr_assert_eq(acl_build(buf, sizeof(buf), NULL, 0, &bad, 1), -EINVAL);
	bad = good;
	bad.family = AF_UNIX;
	cr_assert_eq(acl_build(buf, sizeof(buf), &good, 1, &bad, 1), -EINVAL);
	bad.family = AF_INET6;
	bad.prefix = 129;
	cr_assert_eq(acl_build(buf, sizeof(buf), &bad, 1, NULL, 0), -EINVAL);
	cr_assert_eq(acl_build(buf, sizeof(buf), NULL, 1, NULL, 0), -EINVAL);
	cr_assert_eq(acl_build(buf + 1, sizeof(buf) - 1, &good, 1, NULL, 0), -EINVAL);
	/* Too many is refused by the count alone; nothing is read. */
	cr_assert_eq(acl_build(buf, sizeof(buf), &good, ACL_ENTRIES_MAX, &good, 1),
	    -E2BIG);
	cr_assert_eq(acl_build(buf, sizeof(buf), &good, 1, NULL, 0), 0);
}

Test(acl, image_is_position_independent_and_deterministic)
{
	struct acl *acl = scope_of(LIST("10.0.0.0/8", "2001:db8::/32"),
	    LIST("10.1.0.0/16", "2001:db8:1::/48"));
	struct acl *again = scope_of(LIST("10.0.0.0/8", "2001:db8::/32"),
	    LIST("10.1.0.0/16", "2001:db8:1::/48"));
	unsigned char *moved;

	cr_assert_arr_eq(acl, again, acl->size);
	moved = aligned_alloc(8, acl->size + 64);
	cr_assert_not_null(moved);
	memcpy(moved + 64, acl, acl->size);
	memset(acl, 0, acl->size);	/* the original is gone */
	expect((struct acl *)(moved + 64), "10.2.0.1", true);
	expect((struct acl *)(moved + 64), "10.1.0.1", false);
	expect((struct acl *)(moved + 64), "2001:db8:2::1", true);
	expect((struct acl *)(moved + 64), "2001:db8:1::1", false);
	expect((struct acl *)(moved + 64), "11.0.0.1", false);
	free(moved);
	free(acl);
	free(again);
}

/* ---- against a naive reference ---------------------------------------- */

#define PROP_SEED	0x5eed0ac1u	/* fixed: the same rules on every run */
#define PROP_RULES	10000u
#define PROP_CLIENTS	100000u

/* splitmix64: small, seedable, good enough to spread rules and clients. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rng_next(s) % n);
}

static void
bit_set(uint8_t *bytes, unsigned i, unsigned v)
{
	uint8_t m = (uint8_t)(0x80u >> (i % 8));

	bytes[i / 8] = (uint8_t)(v ? bytes[i / 8] | m : bytes[i / 8] & ~m);
}

/* Bits [from, to) of bytes: random. */
static void
bits_random(uint64_t *s, uint8_t *bytes, unsigned from, unsigned to)
{
	for (; from < to; from++)
		bit_set(bytes, from, (unsigned)rng_next(s) & 1u);
}

static unsigned
bits_of(uint16_t family)
{
	return family == AF_INET ? 32u : 128u;
}

/* 10.0.0.0/8 or 2001:db8::/32 then random: where rules and clients crowd. */
static void
hot_address(uint64_t *s, uint16_t family, uint8_t *bytes)
{
	memset(bytes, 0, 16);
	bits_random(s, bytes, 0, bits_of(family));
	if (family == AF_INET) {
		bytes[0] = 10;
	} else {
		bytes[0] = 0x20, bytes[1] = 0x01, bytes[2] = 0x0d, bytes[3] = 0xb8;
	}
}

/*
 * A random valid entry: a new one in a hot range, a longer one under an
 * earlier entry (nesting), a copy of an earlier one (duplicates and ties),
 * a short one, or an IPv6-mapped IPv4 one.
 */
static void
prop_rule(uint64_t *s, struct acl_cidr *out, const struct acl_cidr *prev,
    uint32_t nprev)
{
	uint32_t r = rng_below(s, 100);
	unsigned bits, from;

	memset(out, 0, sizeof(*out));
	if (nprev > 0 && r < 40) {
		*out = prev[rng_below(s, nprev)];
		from = out->prefix;
		bits = bits_of(out->family);
		out->prefix = (uint8_t)(from + 1 + rng_below(s, 16));
		if (out->prefix > bits)
			out->prefix = (uint8_t)bits;
		bits_random(s, out->addr, from, out->prefix);
		return;
	}
	if (nprev > 0 && r < 45) {
		*out = prev[rng_below(s, nprev)];
		return;
	}
	out->family = rng_below(s, 2) ? AF_INET : AF_INET6;
	bits = bits_of(out->family);
	hot_address(s, out->family, out->addr);
	if (r < 46) {
		out->family = AF_INET6;	/* ::ffff:10.x.y.z/96..128 */
		memset(out->addr, 0, 10);
		out->addr[10] = out->addr[11] = 0xff;
		bits_random(s, out->addr, 104, 128);
		out->addr[12] = 10;
		out->prefix = (uint8_t)(96 + rng_below(s, 33));
	} else if (rng_below(s, 1000) == 0) {
		/* Rare: a few short rules cover much, but not all, of a family. */
		out->prefix = (uint8_t)(bits / 8 + rng_below(s, bits / 8));
		bits_random(s, out->addr, 0, bits);
	} else {
		out->prefix = (uint8_t)(bits / 4 + rng_below(s, bits - bits / 4 + 1));
	}
	for (from = out->prefix; from < 128; from++)
		bit_set(out->addr, from, 0);
}

/* A reference rule: family, words and mask built bit by bit, verdict. */
struct ref_rule {
	uint64_t key[2];
	uint64_t mask[2];
	unsigned len;
	uint8_t verdict;
};

struct ref {
	struct ref_rule *rules[2];	/* [0] IPv4, [1] IPv6 */
	uint32_t count[2];
	bool has_allow;
};

/* family (0 IPv4, 1 IPv6) and the words of 16 address bytes, unmapped. */
static int
ref_key(uint16_t family, const uint8_t *b, uint64_t *key, unsigned *len)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	unsigned i, n = family == AF_INET ? 4 : 16;

	if (family == AF_INET6 && memcmp(b, mapped, 12) == 0 && *len >= 96) {
		b += 12;
		n = 4;
		*len -= 96;
	}
	key[0] = key[1] = 0;
	for (i = 0; i < n; i++)
		key[i / 8] |= (uint64_t)b[i] << (56 - 8 * (i % 8));
	return n == 4 ? 0 : 1;
}

static void
ref_add(struct ref *ref, const struct acl_cidr *c, uint8_t verdict)
{
	struct ref_rule r = { .verdict = verdict, .len = c->prefix };
	unsigned i;
	int f = ref_key(c->family, c->addr, r.key, &r.len);

	for (i = 0; i < r.len; i++)
		r.mask[i / 64] |= 1ull << (63 - i % 64);
	ref->rules[f][ref->count[f]++] = r;
}

/* Linear: every rule of the family, the longest match, ties denied. */
static bool
ref_allows(const struct ref *ref, const struct addr *c, int *best_len)
{
	const uint8_t *b = c->u.sa.sa_family == AF_INET ?
	    (const uint8_t *)&c->u.in.sin_addr : c->u.in6.sin6_addr.s6_addr;
	unsigned len = 128;
	uint64_t k[2];
	int f = ref_key(c->u.sa.sa_family, b, k, &len);
	uint8_t verdict = 0;
	uint32_t i;

	*best_len = -1;
	for (i = 0; i < ref->count[f]; i++) {
		const struct ref_rule *r = &ref->rules[f][i];

		if (((k[0] ^ r->key[0]) & r->mask[0]) != 0 ||
		    ((k[1] ^ r->key[1]) & r->mask[1]) != 0)
			continue;
		if ((int)r->len > *best_len) {
			*best_len = (int)r->len;
			verdict = r->verdict;
		} else if ((int)r->len == *best_len) {
			verdict |= r->verdict;
		}
	}
	if (*best_len < 0)
		verdict = ref->has_allow ? ACL_DENY : ACL_ALLOW;
	return (verdict & ACL_DENY) == 0;
}

/* A client near a rule (inside or just outside it), in a hot range, or anywhere. */
static struct addr
prop_client(uint64_t *s, const struct acl_cidr *rules, uint32_t n)
{
	uint32_t r = rng_below(s, 100);
	uint8_t b[16] = { 0 };
	uint16_t family;
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (r < 50) {
		const struct acl_cidr *e = &rules[rng_below(s, n)];
		unsigned back = rng_below(s, 3);

		family = e->family;
		memcpy(b, e->addr, 16);
		bits_random(s, b, e->prefix > back ? e->prefix - back : 0,
		    bits_of(family));
	} else {
		family = rng_below(s, 2) ? AF_INET : AF_INET6;
		if (r < 80)
			hot_address(s, family, b);
		else
			bits_random(s, b, 0, bits_of(family));
	}
	if (family == AF_INET && rng_below(s, 10) == 0) {
		memmove(b + 12, b, 4);	/* the same client as ::ffff:a.b.c.d */
		memset(b, 0, 12);
		b[10] = b[11] = 0xff;
		family = AF_INET6;
	}
	a.u.sa.sa_family = family;
	if (family == AF_INET)
		memcpy(&a.u.in.sin_addr, b, 4);
	else
		memcpy(&a.u.in6.sin6_addr, b, 16);
	a.len = family == AF_INET ? sizeof(a.u.in) : sizeof(a.u.in6);
	return a;
}

/* Builds rule_count random rules (allow_share % of them allow) and compares. */
static void
prop_run(uint64_t seed, uint32_t rule_count, uint32_t client_count,
    uint32_t allow_share)
{
	struct acl_cidr *all = calloc(rule_count, sizeof(*all));
	struct acl_cidr *allow = calloc(rule_count, sizeof(*allow));
	struct acl_cidr *deny = calloc(rule_count, sizeof(*deny));
	struct ref ref = { .rules = { calloc(rule_count, sizeof(struct ref_rule)),
	    calloc(rule_count, sizeof(struct ref_rule)) } };
	uint32_t i, na = 0, nd = 0, matched = 0, admitted = 0;
	uint64_t s = seed;
	struct acl *acl;
	size_t size;
	int best;

	cr_assert(all && allow && deny && ref.rules[0] && ref.rules[1]);
	for (i = 0; i < rule_count; i++) {
		prop_rule(&s, &all[i], all, i);
		if (rng_below(&s, 100) < allow_share) {
			allow[na++] = all[i];
			ref_add(&ref, &all[i], ACL_ALLOW);
		} else {
			deny[nd++] = all[i];
			ref_add(&ref, &all[i], ACL_DENY);
		}
	}
	ref.has_allow = na > 0;
	size = acl_size(allow, na, deny, nd);
	acl = aligned_alloc(8, size);
	cr_assert_not_null(acl);
	cr_assert_eq(acl_build(acl, size, allow, na, deny, nd), 0);
	cr_assert_leq(acl->node_count, acl->node_slots);
	for (i = 0; i < client_count; i++) {
		struct addr c = prop_client(&s, all, rule_count);
		bool want = ref_allows(&ref, &c, &best);
		char text[ADDR_STRLEN];

		if (acl_allows(acl, &c) != want)
			cr_assert_fail("client %u %s: reference says %s (longest "
			    "match /%d)", i, addr_format(&c, text, sizeof(text)),
			    want ? "allow" : "deny", best);
		matched += best >= 0;
		admitted += want;
	}
	/* The rules must bite: most clients match, both verdicts occur. */
	cr_assert_gt(matched, client_count / 2, "only %u matched", matched);
	cr_assert_gt(admitted, client_count / 50, "only %u admitted", admitted);
	cr_assert_lt(admitted, client_count - client_count / 50,
	    "%u of %u admitted", admitted, client_count);
	cr_log_info("%u rules, %u clients: %u matched, %u admitted, %u nodes",
	    rule_count, client_count, matched, admitted, acl->node_count);
	free(acl);
	free(all);
	free(allow);
	free(deny);
	free(ref.rules[0]);
	free(ref.rules[1]);
}

Test(acl, random_rules_agree_with_a_linear_longest_match)
{
	prop_run(PROP_SEED, PROP_RULES, PROP_CLIENTS, 50);
}

Test(acl, random_deny_only_rules_agree_with_a_linear_longest_match)
{
	prop_run(PROP_SEED + 1, PROP_RULES / 5, PROP_CLIENTS / 5, 0);
}
