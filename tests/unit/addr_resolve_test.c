/*
 * addr_resolve_test.c -- common/addr.c's host names: telling a name from an
 * address (addr_name_split), every address of a getaddrinfo() result sorted
 * and once (addr_from_addrinfo), and a name resolved for real
 * (addr_resolve_all: localhost, and a name under .invalid, which never exists).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

static const char *
F(const struct addr *a)
{
	static char buf[4][ADDR_STRLEN];
	static int i;

	i = (i + 1) % 4;
	return addr_format(a, buf[i], sizeof(buf[i]));
}

Test(addr_resolve, names_are_told_from_addresses)
{
	char host[ADDR_HOST_MAX];
	uint16_t port = 0;

	cr_assert_eq(addr_name_split("app.internal:443", host, &port), 1);
	cr_assert_str_eq(host, "app.internal");
	cr_assert_eq(port, 443);
	cr_assert_eq(addr_name_split("localhost:1", host, &port), 1);
	cr_assert_eq(addr_name_split("10.0.0.5:443", host, &port), 0, "an IPv4 address");
	cr_assert_eq(addr_name_split("[::1]:443", host, &port), 0, "an IPv6 address");
	cr_assert_eq(addr_name_split("*:443", host, &port), 0, "the wildcard");
	cr_assert_eq(addr_name_split("app.internal", host, &port), 0, "no port");
	cr_assert_eq(addr_name_split("app.internal:0", host, &port), 0, "a bad port");
	cr_assert_eq(addr_name_split("::1:443", host, &port), 0, "IPv6 without brackets");
}

/* A getaddrinfo() result by hand: v4 10.0.0.9, v6 ::2, v4 10.0.0.1, a unix one, v4 10.0.0.9 again. */
Test(addr_resolve, a_result_is_sorted_and_unique)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, b = { .sin_family = AF_INET };
	struct sockaddr_in6 c = { .sin6_family = AF_INET6 };
	struct sockaddr_un u = { .sun_family = AF_UNIX };
	struct addrinfo ai[5];
	struct addr out[8];
	uint32_t n = 99;

	inet_pton(AF_INET, "10.0.0.9", &a.sin_addr);
	inet_pton(AF_INET, "10.0.0.1", &b.sin_addr);
	inet_pton(AF_INET6, "::2", &c.sin6_addr);
	memset(ai, 0, sizeof(ai));
	ai[0] = (struct addrinfo){ .ai_family = AF_INET, .ai_addr = (struct sockaddr *)&a, .ai_addrlen = sizeof(a), .ai_next = &ai[1] };
	ai[1] = (struct addrinfo){ .ai_family = AF_INET6, .ai_addr = (struct sockaddr *)&c, .ai_addrlen = sizeof(c), .ai_next = &ai[2] };
	ai[2] = (struct addrinfo){ .ai_family = AF_INET, .ai_addr = (struct sockaddr *)&b, .ai_addrlen = sizeof(b), .ai_next = &ai[3] };
	ai[3] = (struct addrinfo){ .ai_family = AF_UNIX, .ai_addr = (struct sockaddr *)&u, .ai_addrlen = sizeof(u), .ai_next = &ai[4] };
	ai[4] = (struct addrinfo){ .ai_family = AF_INET, .ai_addr = (struct sockaddr *)&a, .ai_addrlen = sizeof(a) };
	cr_assert_eq(addr_from_addrinfo(ai, 443, out, 8, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(F(&out[0]), "10.0.0.1:443");
	cr_assert_str_eq(F(&out[1]), "10.0.0.9:443");
	cr_assert_str_eq(F(&out[2]), "[::2]:443");
	/* cap: the first two of getaddrinfo's order, then sorted. */
	cr_assert_eq(addr_from_addrinfo(ai, 443, out, 2, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(F(&out[0]), "10.0.0.9:443");
	cr_assert_str_eq(F(&out[1]), "[::2]:443");
	/* Nothing of either family. */
	ai[3].ai_next = NULL;
	cr_assert_eq(addr_from_addrinfo(&ai[3], 443, out, 8, &n), -ENOENT);
	cr_assert_eq(n, 0);
	cr_assert_eq(addr_from_addrinfo(NULL, 443, out, 8, &n), -ENOENT);
}

Test(addr_resolve, names_resolve_for_real)
{
	struct addr out[8];
	const char *why = NULL;
	uint32_t n = 0;

	cr_assert_eq(addr_resolve_all("localhost", 9443, out, 8, &n, &why), 0);
	cr_assert_geq(n, 1);
	for (uint32_t i = 0; i < n; i++) {
		cr_assert(strcmp(F(&out[i]), "127.0.0.1:9443") == 0 ||
		    strcmp(F(&out[i]), "[::1]:9443") == 0, "localhost is %s", F(&out[i]));
		if (i > 0)
			cr_assert_lt(addr_compare(&out[i - 1], &out[i]), 0);
	}
	cr_assert_eq(addr_resolve_all("no-such-host.invalid", 443, out, 8, &n, &why), -ENOENT);
	cr_assert_eq(n, 0);
	cr_assert_str_eq(why, "names a host that does not resolve");
}

Test(addr_resolve, compare_orders_family_address_port)
{
	struct addr a, b;
	const char *why;

	cr_assert_eq(addr_parse(&a, "10.0.0.1:443", 0, &why), 0);
	cr_assert_eq(addr_parse(&b, "10.0.0.1:444", 0, &why), 0);
	cr_assert_lt(addr_compare(&a, &b), 0);
	cr_assert_eq(addr_compare(&a, &a), 0);
	cr_assert_eq(addr_parse(&b, "[::1]:1", 0, &why), 0);
	cr_assert_lt(addr_compare(&a, &b), 0, "IPv4 before IPv6");
	cr_assert_eq(addr_parse(&b, "9.255.255.255:65535", 0, &why), 0);
	cr_assert_gt(addr_compare(&a, &b), 0, "by address before the port");
}
