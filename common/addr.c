/* addr.c -- socket addresses: parsing "host:port" text and formatting it back. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static int
addr_parse_port(const char *s, uint16_t *port, const char **why)
{
	char *end;
	unsigned long v;

	if (*s == '\0') {
		*why = "has an empty port";
		return -EINVAL;
	}
	if (*s < '0' || *s > '9') {
		*why = "has a port that is not a number";
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0') {
		*why = "has a port that is not a number";
		return -EINVAL;
	}
	if (errno != 0 || v == 0 || v > 65535) {
		*why = "has a port outside 1..65535";
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}


/*
 * "[v6addr%scope]:port", text starting at '['. Returns 0, or -EINVAL with
 * *why set. The scope, when given, must name an interface.
 */
static int
addr_parse_ipv6(struct addr *a, const char *text, const char **why)
{
	const char *close = strchr(text, ']');
	char host[ADDR_HOST_MAX], *pct;
	uint16_t port;
	size_t hlen;

	if (close == NULL) {
		*why = "has '[' without ']'";
		return -EINVAL;
	}
	if (close[1] != ':') {
		*why = "has no port";
		return -EINVAL;
	}
	hlen = (size_t)(close - text - 1);
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "has an invalid IPv6 address";
		return -EINVAL;
	}
	memcpy(host, text + 1, hlen);
	host[hlen] = '\0';
	if (addr_parse_port(close + 2, &port, why) != 0)
		return -EINVAL;
	a->u.in6.sin6_family = AF_INET6;
	a->u.in6.sin6_port = htons(port);
	pct = strchr(host, '%');
	if (pct != NULL) {
		*pct++ = '\0';
		a->u.in6.sin6_scope_id = if_nametoindex(pct);
		if (a->u.in6.sin6_scope_id == 0) {
			*why = "names an unknown interface after '%'";
			return -EINVAL;
		}
	}
	if (inet_pton(AF_INET6, host, &a->u.in6.sin6_addr) != 1) {
		*why = "has an invalid IPv6 address";
		return -EINVAL;
	}
	a->len = sizeof(a->u.in6);
	return 0;
}

/*
 * Splits "host:port" at its one colon: host into host (size ADDR_HOST_MAX),
 * the port into *port. Returns 0, or -EINVAL with *why set.
 */
static int
addr_split_host_port(const char *text, char *host, uint16_t *port, const char **why)
{
	const char *colon = strrchr(text, ':');
	size_t hlen;

	if (colon == NULL) {
		*why = "has no port";
		return -EINVAL;
	}
	if (strchr(text, ':') != colon) {
		*why = "is an IPv6 address without [brackets]";
		return -EINVAL;
	}
	hlen = (size_t)(colon - text);
	if (hlen == 0) {
		*why = "has no host";
		return -EINVAL;
	}
	if (hlen >= ADDR_HOST_MAX) {
		*why = "has a host name longer than 255 characters";
		return -EINVAL;
	}
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	return addr_parse_port(colon + 1, port, why);
}

/*
 * "1.2.3.4:port", "*:port" (ADDR_WILDCARD) or "name:port" (ADDR_RESOLVE).
 * Returns 0, or -EINVAL with *why set.
 */
static int
addr_parse_host(struct addr *a, const char *text, int flags, const char **why)
{
	char host[ADDR_HOST_MAX];
	uint16_t port;
	uint32_t n;

	if (addr_split_host_port(text, host, &port, why) != 0)
		return -EINVAL;
	a->u.in.sin_family = AF_INET;
	a->u.in.sin_port = htons(port);
	a->len = sizeof(a->u.in);
	if (strcmp(host, "*") == 0 && (flags & ADDR_WILDCARD)) {
		a->u.in.sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	if (inet_pton(AF_INET, host, &a->u.in.sin_addr) == 1)
		return 0;
	if (!(flags & ADDR_RESOLVE)) {
		*why = "is not a numeric IP address";
		return -EINVAL;
	}
	/* The first address getaddrinfo returns: at most 1 is kept, unsorted. */
	return addr_resolve_all(host, port, a, 1, &n, why) == 0 ? 0 : -EINVAL;
}

int
addr_parse(struct addr *a, const char *text, int flags, const char **why)
{
	memset(a, 0, sizeof(*a));
	*why = NULL;
	if (text[0] == '[')
		return addr_parse_ipv6(a, text, why);
	return addr_parse_host(a, text, flags, why);
}

char *
addr_format(const struct addr *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	switch (a->u.sa.sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &a->u.in.sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(a->u.in.sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(a->u.in6.sin6_port));
		break;
	default:
		snprintf(buf, size, "-");
		break;
	}
	return buf;
}

int
addr_equal(const struct addr *a, const struct addr *b)
{
	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return 0;
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_port == b->u.in.sin_port &&
		    a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
	if (a->u.sa.sa_family == AF_INET6)
		return a->u.in6.sin6_port == b->u.in6.sin6_port &&
		    a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id &&
		    memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
	return 0;
}

void
addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, socklen_t len)
{
	memset(a, 0, sizeof(*a));
	if (len > sizeof(a->u))
		len = sizeof(a->u);
	memcpy(&a->u, sa, len);
	a->len = len;
}

int
addr_is_any(const struct addr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_addr.s_addr == htonl(INADDR_ANY);
	return a->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr);
}

int
addr_name_split(const char *text, char *host, uint16_t *port)
{
	struct in_addr ip;
	const char *why;

	if (text[0] == '[' || addr_split_host_port(text, host, port, &why) != 0)
		return 0;
	return strcmp(host, "*") != 0 && inet_pton(AF_INET, host, &ip) != 1;
}

int
addr_compare(const struct addr *a, const struct addr *b)
{
	int d;

	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return a->u.sa.sa_family < b->u.sa.sa_family ? -1 : 1;
	if (a->u.sa.sa_family == AF_INET) {
		d = memcmp(&a->u.in.sin_addr, &b->u.in.sin_addr, 4);
		if (d == 0)
			d = memcmp(&a->u.in.sin_port, &b->u.in.sin_port, 2);
		return d;
	}
	if (a->u.sa.sa_family == AF_INET6) {
		d = memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16);
		if (d == 0 && a->u.in6.sin6_scope_id != b->u.in6.sin6_scope_id)
			d = a->u.in6.sin6_scope_id < b->u.in6.sin6_scope_id ? -1 : 1;
		if (d == 0)
			d = memcmp(&a->u.in6.sin6_port, &b->u.in6.sin6_port, 2);
		return d;
	}
	return 0;
}

static int
addr_compare_qsort(const void *a, const void *b)
{
	return addr_compare(a, b);
}

int
addr_from_addrinfo(const struct addrinfo *res, uint16_t port, struct addr *out, uint32_t cap,
    uint32_t *count)
{
	uint32_t n = 0, i, j;

	for (const struct addrinfo *ai = res; ai != NULL && n < cap; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		addr_from_sockaddr(&out[n], ai->ai_addr, ai->ai_addrlen);
		if (ai->ai_family == AF_INET)
			out[n].u.in.sin_port = htons(port);
		else
			out[n].u.in6.sin6_port = htons(port);
		n++;
	}
	*count = 0;
	if (n == 0)
		return -ENOENT;
	qsort(out, n, sizeof(*out), addr_compare_qsort);
	for (i = j = 1; i < n; i++)
		if (addr_compare(&out[i], &out[j - 1]) != 0)
			out[j++] = out[i];
	*count = j;
	return 0;
}

int
addr_resolve_all(const char *host, uint16_t port, struct addr *out, uint32_t cap,
    uint32_t *count, const char **why)
{
	struct addrinfo hints, *res;
	int rc;

	*count = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		rc = addr_gai_errno(rc);
	} else {
		rc = addr_from_addrinfo(res, port, out, cap, count);
		freeaddrinfo(res);
	}
	if (rc != 0)
		*why = rc == -ENOENT ? "names a host that does not resolve"
		    : "names a host that could not be resolved now";
	return rc;
}

int
addr_gai_errno(int gai)
{
	if (gai == 0)
		return 0;
	return gai == EAI_NONAME || gai == EAI_NODATA ? -ENOENT : -EAGAIN;
}
