/*
 * acl.h -- address rules: one scope's allow / deny lists of CIDRs compiled
 * into a flat, pointer-free image, and the per-connection check.
 *
 * A scope (the top level, a listen address, a route) has an allow list and
 * a deny list. Within a scope the longest matching prefix wins; an allow
 * and a deny entry of the same prefix deny; an address that no entry
 * matches is denied when the scope has at least one allow entry (of either
 * family) and allowed otherwise. An empty scope allows everyone.
 *
 * IPv4-mapped IPv6 clients (::ffff:a.b.c.d) are checked as the IPv4 address
 * a.b.c.d, and an IPv6 entry inside ::ffff:0:0/96 (prefix 96 or longer) is
 * taken as the IPv4 entry it maps. An IPv6 entry shorter than /96 never
 * matches an IPv4 client: "::/0" means every IPv6 client.
 *
 * The image is like the route table image (routes.h): offsets and indices,
 * never pointers, so it can sit inside a sealed route table generation at
 * any 8-byte aligned offset. It holds one path-compressed binary trie per
 * family in one node array; a check walks at most one node per prefix
 * length (33 for IPv4, 129 for IPv6), whatever the number of entries.
 */
#ifndef PASSTHROUGH_ACL_H
#define PASSTHROUGH_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define ACL_MAGIC	0x4c434150u	/* "PACL" little-endian */
#define ACL_NONE	UINT32_MAX	/* no node: an empty trie, a missing child */
/*
 * Entries of one scope, allow and deny together. Real lists hold thousands;
 * this bound keeps a scope's image under 64 MiB and every index in 32 bits.
 */
#define ACL_ENTRIES_MAX	1000000u
/* Longest text acl_cidr_parse() reads: an IPv6 address with a /128. */
#define ACL_CIDR_TEXT_MAX	(46u + 4u)	/* INET6_ADDRSTRLEN + "/128" */

/* One parsed entry: "10.0.0.0/8", "2001:db8::/32", "192.0.2.66" (= /32). */
struct acl_cidr {
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint8_t prefix;		/* bits: 0..32 or 0..128 */
	uint8_t reserved;
	uint8_t addr[16];	/* network byte order; IPv4 in addr[0..3]; zero past the prefix */
};

/* Node verdict bits: the entries whose prefix ends at that node. */
enum acl_verdict {
	ACL_ALLOW = 1 << 0,
	ACL_DENY = 1 << 1,	/* wins over ACL_ALLOW at the same prefix */
};

enum acl_family {
	ACL_V4,
	ACL_V6,
	ACL_FAMILIES
};

/*
 * A trie node: a prefix of len bits, and the verdict of the entries with
 * exactly that prefix (0 for a node that only branches). Children extend
 * the prefix; child[b] is the one whose bit number len (0 = the address's
 * first bit) is b.
 */
struct acl_node {
	uint64_t key[2];	/* the prefix, first address bit = top bit of key[0]; zero past len */
	uint32_t child[2];	/* node indices, or ACL_NONE */
	uint8_t len;		/* 0..32 (IPv4 trie) or 0..128 (IPv6 trie) */
	uint8_t verdict;	/* enum acl_verdict bits */
	uint8_t reserved[6];
};

/* One scope's image: this header, then struct acl_node[node_slots]. */
struct acl {
	uint32_t magic;		/* ACL_MAGIC */
	uint32_t size;		/* bytes, this header and every node slot included */
	uint32_t root[ACL_FAMILIES];	/* first node of each trie, or ACL_NONE */
	uint32_t node_count;	/* slots in use; those past it are zero */
	uint32_t node_slots;
	uint8_t unmatched;	/* verdict of an address no entry matches */
	uint8_t reserved[7];
};

/*
 * Parses "a.b.c.d/n", "a.b.c.d" (/32), "v6addr/n" or "v6addr" (/128) into
 * out (entries are written as they are: a mapped "::ffff:a.b.c.d/n" stays
 * IPv6 here and becomes IPv4 in the image). Returns 0, or -EINVAL with
 * *why naming the fault, worded to follow the entry ("\"10.0.0.1/8\" has
 * ..."): empty or too long; not an IPv4 or IPv6 address (no host names); an
 * IPv6 zone ("%eth0"); a prefix length that is empty, not a decimal number,
 * more than three digits, or past the address's 32 / 128 bits; address bits
 * set past the prefix ("10.0.0.1/8": an entry is a network address). Reads
 * at most ACL_CIDR_TEXT_MAX + 1 bytes of text; out is zero on an error.
 */
int acl_cidr_parse(const char *text, struct acl_cidr *out, const char **why);

/*
 * Bytes the image of this scope takes (a multiple of 8). The image reserves
 * 2n - 1 node slots for a trie of n entries (a path-compressed trie of n
 * prefixes never needs more), so the size depends only on how many entries
 * each family has and is known without sorting or allocating. Meant for
 * entries acl_cidr_parse() accepted and at most ACL_ENTRIES_MAX of them;
 * otherwise the number is only indicative and acl_build() refuses.
 */
size_t acl_size(const struct acl_cidr *allow, uint32_t allow_count,
    const struct acl_cidr *deny, uint32_t deny_count);

/*
 * Writes the image of this scope into dst (8-byte aligned), which holds
 * size >= acl_size() bytes; writes no byte past acl_size(). Duplicates are
 * merged; an entry in both lists denies. Returns 0; -EINVAL when an entry
 * is invalid (family, prefix length, bits past the prefix) or dst is not
 * aligned; -E2BIG when there are more than ACL_ENTRIES_MAX entries;
 * -ENOSPC when size is too small (nothing is written then). On an error
 * dst holds no usable image.
 */
int acl_build(void *dst, size_t size, const struct acl_cidr *allow,
    uint32_t allow_count, const struct acl_cidr *deny, uint32_t deny_count);

/*
 * Whether the scope admits client (its port is ignored). A NULL scope or
 * an empty one admits everyone; a client that is neither IPv4 nor IPv6
 * (or NULL) matches no entry. An image whose magic is wrong admits nobody:
 * a bad offset fails closed. No allocation, no system call.
 */
bool acl_allows(const struct acl *acl, const struct addr *client);

#endif
