/*
 * acl.c -- address rules: parsing CIDR entries, building one scope's trie
 * image, and the per-connection check.
 *
 * Layout of a scope's image (the header is 32 bytes, nodes are 32 bytes):
 *
 *   struct acl                      header: roots, node count, unmatched verdict
 *   struct acl_node[node_slots]     both tries, in insertion order
 *
 * Each family's entries go into its own path-compressed binary trie. Unlike
 * a PATRICIA trie, which skips bits and compares once at the end, a node
 * holds its whole prefix: a check compares the address with it, keeps
 * the node's verdict when it has one (deeper nodes are longer prefixes, so
 * the last verdict seen is the longest match), and descends by the
 * address's next bit. A node that no entry ends at exists only where two
 * prefixes part, so n entries make at most 2n - 1 nodes.
 *
 * Addresses are two 64-bit words, first address bit on top: an IPv6 address
 * as it is, an IPv4 address in the top 32 bits of the first word.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "acl.h"

/* Nodes follow the header directly; both are 8-byte multiples. */
#define ACL_ALIGN	8u
#define ACL_BITS_V4	32u
#define ACL_BITS_V6	128u
/* ::ffff:0:0/96 (RFC 4291 2.5.5.2): IPv4-mapped IPv6 addresses. */
#define ACL_MAPPED_BITS	96u
#define ACL_MAPPED_HI	0ull
#define ACL_MAPPED_LO	0x0000ffff00000000ull
/* A prefix length is at most three decimal digits ("128"). */
#define ACL_PREFIX_DIGITS	3u

#define ACL_WHY_PAST_V4	"has a prefix length past 32, the bits of an IPv4 address"
#define ACL_WHY_PAST_V6	"has a prefix length past 128, the bits of an IPv6 address"

_Static_assert(sizeof(struct acl) == 32, "acl layout changed");
_Static_assert(sizeof(struct acl_node) == 32, "acl_node layout changed");
_Static_assert(sizeof(struct acl) % ACL_ALIGN == 0 &&
    sizeof(struct acl_node) % ACL_ALIGN == 0, "nodes must stay aligned");
_Static_assert(sizeof(struct acl_cidr) == 20, "acl_cidr layout changed");
/* 2 * ACL_ENTRIES_MAX node slots must be addressable and fit 32-bit sizes. */
_Static_assert((uint64_t)2 * ACL_ENTRIES_MAX * sizeof(struct acl_node) +
    sizeof(struct acl) < UINT32_MAX, "an image must fit a 32-bit size");

/* An address or prefix as two words, first address bit on top of hi. */
struct acl_key {
	uint64_t hi;
	uint64_t lo;
};

static uint64_t
acl_load64(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The words of the first len bits (0..128) set. */
static inline struct acl_key
acl_mask(unsigned len)
{
	struct acl_key m;

	m.hi = len >= 64 ? UINT64_MAX : len == 0 ? 0 : UINT64_MAX << (64 - len);
	m.lo = len <= 64 ? 0 : len >= 128 ? UINT64_MAX : UINT64_MAX << (128 - len);
	return m;
}

/* How many leading bits a and b share, 0..128. */
static inline unsigned
acl_common(const struct acl_key *a, const struct acl_key *b)
{
	uint64_t x = a->hi ^ b->hi;

	if (x != 0)
		return (unsigned)__builtin_clzll(x);
	x = a->lo ^ b->lo;
	return x != 0 ? 64u + (unsigned)__builtin_clzll(x) : 128u;
}

/* Bit number i (0 = first) of k; i < 128. */
static inline unsigned
acl_bit(const struct acl_key *k, unsigned i)
{
	return i < 64 ? (unsigned)(k->hi >> (63 - i)) & 1u :
	    (unsigned)(k->lo >> (127 - i)) & 1u;
}

static inline bool
acl_key_equal(const struct acl_key *a, const struct acl_key *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

static inline struct acl_key
acl_key_masked(const struct acl_key *k, unsigned len)
{
	struct acl_key m = acl_mask(len);

	m.hi &= k->hi;
	m.lo &= k->lo;
	return m;
}

/* The key of 16 address bytes, or of 4 when family is ACL_V4. */
static struct acl_key
acl_key_of(enum acl_family family, const uint8_t *bytes)
{
	struct acl_key k;

	if (family == ACL_V4) {
		k.hi = acl_load64(bytes, 4) << 32;
		k.lo = 0;
	} else {
		k.hi = acl_load64(bytes, 8);
		k.lo = acl_load64(bytes + 8, 8);
	}
	return k;
}

/* Whether an IPv6 key lies in ::ffff:0:0/96; its IPv4 key then goes to *v4. */
static bool
acl_key_unmap(const struct acl_key *k, struct acl_key *v4)
{
	if (k->hi != ACL_MAPPED_HI || (k->lo >> 32) != (ACL_MAPPED_LO >> 32))
		return false;
	v4->hi = k->lo << 32;
	v4->lo = 0;
	return true;
}

/* What an entry is in a trie: family, key, prefix length. */
struct acl_entry {
	enum acl_family family;
	struct acl_key key;
	unsigned len;
};

/*
 * Reads a parsed entry, mapped IPv6 entries of /96 or longer as IPv4 ones.
 * Returns 0, or -EINVAL with *why (an entry not from acl_cidr_parse()).
 */
static int
acl_entry_of(const struct acl_cidr *c, struct acl_entry *e, const char **why)
{
	struct acl_key v4, net;

	if (c->family == AF_INET) {
		e->family = ACL_V4;
		if (c->prefix > ACL_BITS_V4) {
			*why = ACL_WHY_PAST_V4;
			return -EINVAL;
		}
	} else if (c->family == AF_INET6) {
		e->family = ACL_V6;
		if (c->prefix > ACL_BITS_V6) {
			*why = ACL_WHY_PAST_V6;
			return -EINVAL;
		}
	} else {
		*why = "is not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	e->key = acl_key_of(e->family, c->addr);
	e->len = c->prefix;
	net = acl_key_masked(&e->key, e->len);
	if (!acl_key_equal(&net, &e->key)) {
		*why = "has address bits set past the prefix length (an entry is "
		    "a network address: 10.0.0.0/8, not 10.0.0.1/8)";
		return -EINVAL;
	}
	if (e->family == ACL_V6 && e->len >= ACL_MAPPED_BITS &&
	    acl_key_unmap(&e->key, &v4)) {
		e->family = ACL_V4;
		e->key = v4;
		e->len -= ACL_MAPPED_BITS;
	}
	return 0;
}

/* "n" after the '/': decimal digits, at most max. */
static int
acl_prefix_parse(const char *s, unsigned max, uint8_t *prefix, const char **why)
{
	unsigned v = 0, n = 0;

	if (*s == '\0') {
		*why = "has an empty prefix length after '/'";
		return -EINVAL;
	}
	for (; *s != '\0'; s++, n++) {
		if (*s < '0' || *s > '9') {
			*why = "has a prefix length that is not a decimal number";
			return -EINVAL;
		}
		if (n < ACL_PREFIX_DIGITS)	/* no overflow: the rest is refused */
			v = v * 10 + (unsigned)(*s - '0');
	}
	if (n > ACL_PREFIX_DIGITS) {
		*why = "has a prefix length of more than three digits";
		return -EINVAL;
	}
	if (v > max) {
		*why = max == ACL_BITS_V4 ? ACL_WHY_PAST_V4 : ACL_WHY_PAST_V6;
		return -EINVAL;
	}
	*prefix = (uint8_t)v;
	return 0;
}

/* The address part, len bytes of text, into out->addr and out->family. */
static int
acl_address_parse(const char *text, size_t len, struct acl_cidr *out,
    const char **why)
{
	char host[ACL_CIDR_TEXT_MAX + 1];
	bool v6 = memchr(text, ':', len) != NULL;

	if (len == 0) {
		*why = "has no address before '/'";
		return -EINVAL;
	}
	if (memchr(text, '%', len) != NULL) {
		*why = "has an IPv6 zone ('%'), which an address rule cannot match";
		return -EINVAL;
	}
	/* len <= ACL_CIDR_TEXT_MAX: the caller bounded the whole text. */
	memcpy(host, text, len);
	host[len] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, out->addr) != 1) {
		*why = v6 ? "is not a valid IPv6 address" :
		    "is not a valid IPv4 address (a.b.c.d, or an IPv6 address)";
		return -EINVAL;
	}
	out->family = v6 ? AF_INET6 : AF_INET;
	return 0;
}

int
acl_cidr_parse(const char *text, struct acl_cidr *out, const char **why)
{
	size_t len = text == NULL ? 0 : strnlen(text, ACL_CIDR_TEXT_MAX + 1);
	const char *slash;
	struct acl_entry e;
	unsigned bits;
	int rc;

	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (len == 0) {
		*why = "is empty";
		return -EINVAL;
	}
	if (len > ACL_CIDR_TEXT_MAX) {
		*why = "is too long for an address and a prefix length";
		return -EINVAL;
	}
	slash = memchr(text, '/', len);
	rc = acl_address_parse(text, slash != NULL ? (size_t)(slash - text) : len,
	    out, why);
	if (rc != 0)
		goto bad;
	bits = out->family == AF_INET ? ACL_BITS_V4 : ACL_BITS_V6;
	out->prefix = (uint8_t)bits;
	if (slash != NULL) {
		rc = acl_prefix_parse(slash + 1, bits, &out->prefix, why);
		if (rc != 0)
			goto bad;
	}
	rc = acl_entry_of(out, &e, why);
	if (rc != 0)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return rc;
}

/* How big an image is; computed once for acl_size() and acl_build(). */
struct acl_layout {
	uint64_t entries[ACL_FAMILIES];
	uint64_t slots;
	uint64_t size;
	bool invalid;		/* an entry is bad: the size is only indicative */
	bool too_many;		/* past ACL_ENTRIES_MAX: not even counted */
};

static void
acl_layout_count(const struct acl_cidr *list, uint32_t count,
    struct acl_layout *lay)
{
	struct acl_entry e;
	const char *why;
	uint32_t i;

	if (list == NULL && count > 0) {
		lay->invalid = true;
		return;
	}
	for (i = 0; i < count; i++) {
		if (acl_entry_of(&list[i], &e, &why) != 0)
			lay->invalid = true;
		else
			lay->entries[e.family]++;
	}
}

static void
acl_layout(const struct acl_cidr *allow, uint32_t allow_count,
    const struct acl_cidr *deny, uint32_t deny_count, struct acl_layout *lay)
{
	unsigned f;

	memset(lay, 0, sizeof(*lay));
	if ((uint64_t)allow_count + deny_count > ACL_ENTRIES_MAX) {
		lay->too_many = true;
	} else {
		acl_layout_count(allow, allow_count, lay);
		acl_layout_count(deny, deny_count, lay);
	}
	/* A path-compressed trie of n prefixes has at most 2n - 1 nodes. */
	for (f = 0; f < ACL_FAMILIES; f++)
		if (lay->entries[f] > 0)
			lay->slots += 2 * lay->entries[f] - 1;
	lay->size = sizeof(struct acl) + lay->slots * sizeof(struct acl_node);
}

size_t
acl_size(const struct acl_cidr *allow, uint32_t allow_count,
    const struct acl_cidr *deny, uint32_t deny_count)
{
	struct acl_layout lay;

	acl_layout(allow, allow_count, deny, deny_count, &lay);
	return (size_t)lay.size;	/* bounded by ACL_ENTRIES_MAX: < 4 GiB */
}

static inline struct acl_node *
acl_nodes(struct acl *acl)
{
	return (struct acl_node *)(acl + 1);
}

static inline const struct acl_node *
acl_nodes_const(const struct acl *acl)
{
	return (const struct acl_node *)(acl + 1);
}

/* A new node of this prefix and verdict, no children; ACL_NONE when full. */
static uint32_t
acl_node_add(struct acl *acl, const struct acl_key *k, unsigned len,
    uint8_t verdict)
{
	struct acl_node *n;

	if (acl->node_count == acl->node_slots)
		return ACL_NONE;
	n = &acl_nodes(acl)[acl->node_count];
	n->key[0] = k->hi;
	n->key[1] = k->lo;
	n->len = (uint8_t)len;
	n->verdict = verdict;
	n->child[0] = ACL_NONE;
	n->child[1] = ACL_NONE;
	return acl->node_count++;
}

static inline struct acl_key
acl_node_key(const struct acl_node *n)
{
	return (struct acl_key){ .hi = n->key[0], .lo = n->key[1] };
}

/*
 * Puts entry e with verdict into its trie. Walks down while a node's prefix
 * is a prefix of e's; then e is that node (verdicts merge), or a new leaf,
 * or a new node above the one in the way, or a new branch node where the
 * two part with both below it. Returns 0, or -ENOSPC if the slots run out
 * (they cannot: see acl_layout()).
 */
static int
acl_insert(struct acl *acl, const struct acl_entry *e, uint8_t verdict)
{
	struct acl_node *nodes = acl_nodes(acl);
	uint32_t *slot = &acl->root[e->family];
	uint32_t at, add, branch;
	struct acl_key nk, bk;
	unsigned c;

	while (*slot != ACL_NONE) {
		at = *slot;
		nk = acl_node_key(&nodes[at]);
		c = acl_common(&e->key, &nk);
		c = c < e->len ? c : e->len;
		c = c < nodes[at].len ? c : nodes[at].len;
		if (c == nodes[at].len && c == e->len) {
			nodes[at].verdict |= verdict;
			return 0;
		}
		if (c == nodes[at].len) {
			slot = &nodes[at].child[acl_bit(&e->key, c)];
			continue;
		}
		add = acl_node_add(acl, &e->key, e->len, verdict);
		if (add == ACL_NONE)
			return -ENOSPC;
		if (c == e->len) {	/* e is above the node in the way */
			nodes[add].child[acl_bit(&nk, c)] = at;
			*slot = add;
			return 0;
		}
		bk = acl_key_masked(&e->key, c);
		branch = acl_node_add(acl, &bk, c, 0);
		if (branch == ACL_NONE)
			return -ENOSPC;
		nodes[branch].child[acl_bit(&e->key, c)] = add;
		nodes[branch].child[acl_bit(&nk, c)] = at;
		*slot = branch;
		return 0;
	}
	*slot = acl_node_add(acl, &e->key, e->len, verdict);
	return *slot == ACL_NONE ? -ENOSPC : 0;
}

static int
acl_insert_list(struct acl *acl, const struct acl_cidr *list, uint32_t count,
    uint8_t verdict)
{
	struct acl_entry e;
	const char *why;
	uint32_t i;
	int rc;

	for (i = 0; i < count; i++) {
		rc = acl_entry_of(&list[i], &e, &why);
		if (rc == 0)
			rc = acl_insert(acl, &e, verdict);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
acl_build(void *dst, size_t size, const struct acl_cidr *allow,
    uint32_t allow_count, const struct acl_cidr *deny, uint32_t deny_count)
{
	struct acl_layout lay;
	struct acl *acl = dst;
	int rc;

	acl_layout(allow, allow_count, deny, deny_count, &lay);
	if (lay.too_many)
		return -E2BIG;
	if (lay.invalid || ((uintptr_t)dst & (ACL_ALIGN - 1)) != 0)
		return -EINVAL;
	if (dst == NULL || size < lay.size)
		return -ENOSPC;
	/* Unused slots and reserved bytes read as zero: images compare bytewise. */
	memset(dst, 0, (size_t)lay.size);
	acl->magic = ACL_MAGIC;
	acl->size = (uint32_t)lay.size;
	acl->root[ACL_V4] = ACL_NONE;
	acl->root[ACL_V6] = ACL_NONE;
	acl->node_slots = (uint32_t)lay.slots;
	acl->unmatched = allow_count > 0 ? ACL_DENY : ACL_ALLOW;
	rc = acl_insert_list(acl, allow, allow_count, ACL_ALLOW);
	if (rc == 0)
		rc = acl_insert_list(acl, deny, deny_count, ACL_DENY);
	return rc;
}

/* The client's trie and key; false when it is neither IPv4 nor IPv6. */
static bool
acl_client_key(const struct addr *client, enum acl_family *family,
    struct acl_key *key)
{
	struct acl_key v4;

	if (client == NULL)
		return false;
	if (client->u.sa.sa_family == AF_INET) {
		*family = ACL_V4;
		*key = acl_key_of(ACL_V4,
		    (const uint8_t *)&client->u.in.sin_addr.s_addr);
		return true;
	}
	if (client->u.sa.sa_family != AF_INET6)
		return false;
	*family = ACL_V6;
	*key = acl_key_of(ACL_V6, client->u.in6.sin6_addr.s6_addr);
	if (acl_key_unmap(key, &v4)) {
		*family = ACL_V4;
		*key = v4;
	}
	return true;
}

/* The verdict bits of the longest entry matching key, 0 when none does. */
static uint8_t
acl_match(const struct acl *acl, enum acl_family family,
    const struct acl_key *key)
{
	const struct acl_node *nodes = acl_nodes_const(acl);
	uint32_t i = acl->root[family];
	uint8_t verdict = 0;

	/* ACL_NONE is past node_count: one test ends the walk either way. */
	while (i < acl->node_count) {
		const struct acl_node *n = &nodes[i];
		struct acl_key nk = acl_node_key(n);

		if (acl_common(key, &nk) < n->len)
			break;
		if (n->verdict != 0)
			verdict = n->verdict;
		if (n->len >= ACL_BITS_V6)
			break;
		i = n->child[acl_bit(key, n->len)];
	}
	return verdict;
}

bool
acl_allows(const struct acl *acl, const struct addr *client)
{
	enum acl_family family;
	struct acl_key key;
	uint8_t verdict = 0;

	if (acl == NULL)
		return true;
	if (acl->magic != ACL_MAGIC)
		return false;
	if (acl_client_key(client, &family, &key))
		verdict = acl_match(acl, family, &key);
	if (verdict == 0)
		verdict = acl->unmatched;
	return (verdict & ACL_DENY) == 0;
}
