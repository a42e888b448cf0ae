/* addr.h -- socket addresses: parsing "host:port" text and formatting it back. */
#ifndef PASSTHROUGH_ADDR_H
#define PASSTHROUGH_ADDR_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * An IPv4 or IPv6 socket address. It holds no pointers, so it can live in
 * the shared-memory route table as it is.
 */
struct addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	uint32_t len;		/* socklen_t for connect(2)/bind(2) */
};

/* "[ffff:...:ffff%scope]:65535" plus the terminating NUL, rounded up. */
#define ADDR_STRLEN 64

enum addr_flags {
	ADDR_RESOLVE = 1 << 0,	/* a host name is resolved (getaddrinfo); else IPs only */
	ADDR_WILDCARD = 1 << 1,	/* "*:port" means 0.0.0.0:port (listen addresses) */
};

/*
 * Parses "1.2.3.4:443", "[::1]:443", "*:443" (with ADDR_WILDCARD) or
 * "name:443" (with ADDR_RESOLVE: the first address getaddrinfo returns).
 * Returns 0, or -EINVAL with *why set to a static message naming the fault.
 */
int addr_parse(struct addr *a, const char *text, int flags, const char **why);

/* Writes "1.2.3.4:443" or "[::1]:443" into buf; returns buf. */
char *addr_format(const struct addr *a, char *buf, size_t size);

/* 1 for a wildcard address (0.0.0.0 or ::), which says nothing of the local end. */
int addr_is_any(const struct addr *a);

/* Same family, address and port. */
int addr_equal(const struct addr *a, const struct addr *b);

/*
 * text is "name:port" with a host name (not a numeric address, not "*",
 * not "[v6]"): the name into host (ADDR_HOST_MAX bytes) and the port into
 * *port; returns 1. Else 0 (addr_parse() says what text is, or what is wrong).
 */
int addr_name_split(const char *text, char *host, uint16_t *port);

/*
 * Every address host resolves to (getaddrinfo, IPv4 and IPv6), each with
 * port, sorted (addr_compare) and without duplicates; at most cap of them
 * into out, *count set (>= 1 on success). Returns 0; -ENOENT when the name
 * does not resolve (no such name, or no address of either family); -EAGAIN
 * when it could not be resolved now (a server failed). *why names the fault.
 */
int addr_resolve_all(const char *host, uint16_t port, struct addr *out, uint32_t cap,
    uint32_t *count, const char **why);

struct addrinfo;

/*
 * The IPv4 and IPv6 addresses of a getaddrinfo() result, each with port,
 * sorted (addr_compare) and without duplicates; at most cap of them into
 * out, *count set. Returns 0, or -ENOENT when res holds none.
 */
int addr_from_addrinfo(const struct addrinfo *res, uint16_t port, struct addr *out,
    uint32_t cap, uint32_t *count);

/* A getaddrinfo() error as addr_resolve_all() returns it: -ENOENT, -EAGAIN (0 for 0). */
int addr_gai_errno(int gai);

/* An order of addresses: family, then address, scope and port; <0, 0 or >0. */
int addr_compare(const struct addr *a, const struct addr *b);

/* A host name as written: at most 255 characters (DNS allows 253) and the NUL. */
#define ADDR_HOST_MAX 256

/* Fills a from a kernel sockaddr of length len (accept, getpeername). */
void addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, socklen_t len);

#endif
