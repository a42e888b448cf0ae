/*
 * routes.c -- the route table image: patterns to keys and building the flat
 * image (the per-connection lookup is routes_lookup.c).
 *
 * Layout of an image (every array starts on ROUTES_ALIGN bytes):
 *
 *   struct routes_image                 header, settings included
 *   struct routes_route[route_count]    in configuration order (id == index)
 *   struct routes_listen[listen_count]  in configuration order
 *   struct routes_backend[backend_count] each route's backends contiguous
 *   uint32_t[bucket_count]              hash heads, ROUTES_NONE when empty
 *   uint32_t[group_count]               each listener group's default route
 *   char keys[]                         lower-case keys, each route's alpn
 *                                       names (wire form) after its key
 *   struct acl ...                      address rules: the top level's, each
 *                                       listen address's trusted and allow/deny,
 *                                       each route's allow/deny (where any)
 *
 * The hash runs over a key from its last byte to its first. A lookup walks
 * the SNI name once from right to left; each time it passes a '.' the
 * running hash is the hash of the key ".suffix" a wildcard would be stored
 * under, and at the end it is the hash of the exact name. So the exact probe
 * and every wildcard probe cost one pass over the name in total, plus one
 * bucket walk each (about one entry: the table is at most half full).
 *
 * Routes belong to listener groups (listeners = ( ... ) in the file; one
 * group without it). A key's hash starts from its group, and the bucket
 * walk compares the group too: one name in two groups is two keys.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "balance.h"
#include "routes.h"
#include "routes_int.h"
#include "tunables.h"

/* Arrays start on 8 bytes: no field needs more, and images can be packed. */
#define ROUTES_ALIGN		8u
/* DNS (RFC 1035 2.3.4): a label holds at most 63 bytes. */
#define ROUTES_LABEL_MAX	63u
/* Buckets >= this many times the hashed routes: chains stay ~1 entry long. */
#define ROUTES_LOAD_INVERSE	2u
#define ROUTES_BUCKETS_MIN	8u

/* The image is an ABI between master and workers: pin the sizes. */
_Static_assert(sizeof(struct routes_image) == 2168, "routes_image layout changed");
_Static_assert(sizeof(struct routes_route) == 64, "routes_route layout changed");
_Static_assert(sizeof(struct routes_listen) == 48, "routes_listen layout changed");
_Static_assert(sizeof(struct routes_backend) == 44, "routes_backend layout changed");
_Static_assert(sizeof(struct routes_image) % ROUTES_ALIGN == 0,
    "the routes array must start aligned right after the header");
_Static_assert(ROUTES_KEY_MAX <= UINT16_MAX, "key_len is 16 bits");

/* Where each part of an image goes; computed once for size and build. */
struct routes_layout {
	uint64_t routes_off;
	uint64_t listens_off;
	uint64_t backends_off;
	uint64_t buckets_off;
	uint64_t defaults_off;
	uint64_t strings_off;
	uint64_t acls_off;
	uint64_t size;
	uint32_t backend_count;
	uint32_t bucket_count;
	uint32_t group_count;
	bool invalid;		/* a pattern or backend count is bad */
};

/* The hash of a lower-case key of group, last byte first (see the top of the file). */
static uint32_t
routes_hash_key(uint32_t seed, uint32_t group, const char *key, size_t len)
{
	uint32_t h = routes_hash_start(seed, group);

	while (len > 0)
		h = routes_hash_step(h, (uint8_t)key[--len]);
	return routes_hash_finish(h);
}

static inline bool
routes_name_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/*
 * Checks len bytes of a DNS name (no trailing dot, no "*." in front).
 * Returns 0 or -EINVAL with *why.
 */
static int
routes_name_check(const char *name, size_t len, const char **why)
{
	size_t i, label = 0;

	for (i = 0; i < len; i++) {
		uint8_t c = (uint8_t)name[i];

		if (c == '*') {
			*why = "has '*' other than as the whole first label";
			return -EINVAL;
		}
		if (!routes_name_byte(c)) {
			*why = "has a character other than letters, digits, "
			    "'-', '_' and '.'";
			return -EINVAL;
		}
		if (c != '.') {
			if (++label > ROUTES_LABEL_MAX) {
				*why = "has a label longer than 63 characters";
				return -EINVAL;
			}
			continue;
		}
		if (label == 0)
			break;
		label = 0;
	}
	if (label == 0) {
		*why = "has an empty label";
		return -EINVAL;
	}
	return 0;
}

int
routes_pattern_key(const char *pattern, char *key, enum route_kind *kind,
    const char **why)
{
	/* Bounded: anything past this is too long whatever it holds. */
	size_t len = pattern == NULL ? 0 : strnlen(pattern, ROUTES_KEY_MAX + 2);
	size_t skip = 0, i;
	int rc;

	*why = NULL;
	key[0] = '\0';
	if (len == 0) {
		*why = "is empty";
		return -EINVAL;
	}
	if (len == 1 && pattern[0] == '*') {
		*kind = ROUTE_DEFAULT;
		return 0;
	}
	if (pattern[len - 1] == '.')
		len--;
	if (len > ROUTES_KEY_MAX) {
		*why = "is longer than 253 characters";
		return -EINVAL;
	}
	*kind = ROUTE_EXACT;
	if (len >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		*kind = ROUTE_WILDCARD;
		skip = 2;	/* the key keeps the dot: ".suffix" */
	} else if (len == 1 && pattern[0] == '*') {
		*why = "is a wildcard without a suffix (\"*\" alone is the default route)";
		return -EINVAL;
	}
	rc = routes_name_check(pattern + skip, len - skip, why);
	if (rc != 0)
		return rc;
	if (skip != 0)
		skip--;
	for (i = skip; i < len; i++)
		key[i - skip] = (char)routes_lower((uint8_t)pattern[i]);
	key[len - skip] = '\0';
	return (int)(len - skip);
}

static inline uint64_t
routes_align(uint64_t n)
{
	return (n + ROUTES_ALIGN - 1) & ~(uint64_t)(ROUTES_ALIGN - 1);
}

static uint32_t
routes_bucket_count(uint64_t hashed)
{
	uint32_t n = ROUTES_BUCKETS_MIN;

	/* hashed <= MAX_ROUTES, so this stops far below 2^31. */
	while (n < ROUTES_LOAD_INVERSE * hashed)
		n <<= 1;
	return n;
}

/* Bytes one scope's rules take in an image: 0 when it has none. */
static uint64_t
routes_rules_size(const struct routes_rules *r)
{
	if (r->allow_count == 0 && r->deny_count == 0)
		return 0;
	return acl_size(r->allow, r->allow_count, r->deny, r->deny_count);
}

/* Listener groups of access: 0 means 1 (a caller that knows of none). */
static uint32_t
routes_group_count(const struct routes_access *access)
{
	return access == NULL || access->group_count == 0 ? 1 : access->group_count;
}

/*
 * The address rules of every scope, and whether the listen addresses are
 * valid: at most MAX_LISTEN, none twice, each in a group there is,
 * trusted sources for each that accepts PROXY headers.
 */
static uint64_t
routes_access_size(const struct routes_access *access, bool *invalid)
{
	const struct listen_spec *l;
	uint64_t n;
	uint32_t i, j;

	if (access == NULL)
		return 0;
	if (access->listen_count > MAX_LISTEN || routes_group_count(access) > MAX_LISTEN)
		*invalid = true;
	n = routes_rules_size(&access->rules);
	for (i = 0; i < access->listen_count && i < MAX_LISTEN; i++) {
		l = &access->listens[i];
		if (((l->flags & ROUTES_ACCEPT_PROXY) && routes_rules_size(&l->trusted) == 0) ||
		    l->group >= routes_group_count(access))
			*invalid = true;
		for (j = 0; j < i; j++)
			if (addr_equal(&access->listens[j].addr, &l->addr))
				*invalid = true;
		n += routes_rules_size(&l->trusted) + routes_rules_size(&l->rules);
	}
	return n;
}

/*
 * Sizes every part. A bad pattern or backend count sets lay->invalid and
 * adds no key bytes; the size is then only indicative (build refuses).
 */
static void
routes_layout(const struct route_spec *specs, uint32_t count,
    const struct routes_access *access, struct routes_layout *lay)
{
	char key[ROUTES_KEY_MAX + 2];
	enum route_kind kind;
	const char *why;
	uint64_t hashed = 0, strings = 0, backends = 0, acls;
	uint32_t i, listens = access != NULL ? access->listen_count : 0;
	size_t alpn;
	int n;

	memset(lay, 0, sizeof(*lay));
	if (count > MAX_ROUTES) {
		lay->invalid = true;
		count = 0;
	}
	acls = routes_access_size(access, &lay->invalid);
	if (listens > MAX_LISTEN)
		listens = 0;
	lay->group_count = routes_group_count(access);
	if (lay->group_count > MAX_LISTEN)
		lay->group_count = 1;	/* invalid: sized for one */
	for (i = 0; i < count; i++) {
		if (specs[i].backend_count == 0 ||
		    specs[i].backend_count > MAX_BACKENDS_PER_ROUTE ||
		    specs[i].backends == NULL || specs[i].send_proxy > ROUTES_PROXY_V2 ||
		    specs[i].balance >= ROUTES_BALANCE_COUNT ||
		    specs[i].group >= lay->group_count ||
		    !balance_spec_valid(specs[i].weights, specs[i].backend_flags,
		    specs[i].backend_count))
			lay->invalid = true;
		else
			backends += specs[i].backend_count;
		acls += routes_rules_size(&specs[i].rules);
		if (routes_alpn_size(specs[i].alpn, specs[i].alpn_count, &alpn) != 0)
			lay->invalid = true;
		strings += alpn;
		n = routes_pattern_key(specs[i].pattern, key, &kind, &why);
		if (n < 0) {
			lay->invalid = true;
			continue;
		}
		if (kind != ROUTE_DEFAULT)
			hashed++;
		strings += (uint64_t)n;
	}
	/* Bounded by MAX_ROUTES * MAX_BACKENDS_PER_ROUTE: no overflow below. */
	lay->backend_count = (uint32_t)backends;
	lay->bucket_count = routes_bucket_count(hashed);
	lay->routes_off = sizeof(struct routes_image);
	lay->listens_off = routes_align(lay->routes_off +
	    (uint64_t)count * sizeof(struct routes_route));
	lay->backends_off = routes_align(lay->listens_off +
	    (uint64_t)listens * sizeof(struct routes_listen));
	lay->buckets_off = routes_align(lay->backends_off +
	    backends * sizeof(struct routes_backend));
	lay->defaults_off = lay->buckets_off +
	    (uint64_t)lay->bucket_count * sizeof(uint32_t);
	lay->strings_off = lay->defaults_off +
	    (uint64_t)lay->group_count * sizeof(uint32_t);
	lay->acls_off = routes_align(lay->strings_off + strings);
	lay->size = lay->acls_off + acls;	/* each a multiple of ROUTES_ALIGN */
}

size_t
routes_image_size(const struct route_spec *specs, uint32_t count,
    const struct routes_access *access)
{
	struct routes_layout lay;

	routes_layout(specs, count, access, &lay);
	return lay.size > SIZE_MAX ? SIZE_MAX : (size_t)lay.size;
}

static inline uint32_t *
routes_buckets(struct routes_image *img)
{
	return (uint32_t *)((char *)img + img->buckets_off);
}

static inline struct routes_route *
routes_route_mut(struct routes_image *img, uint32_t index)
{
	return (struct routes_route *)((char *)img + img->routes_off) + index;
}

static inline const char *
routes_key(const struct routes_image *img, const struct routes_route *r)
{
	return (const char *)img + r->key_off;
}

static inline uint32_t *
routes_defaults(struct routes_image *img)
{
	return (uint32_t *)(void *)((char *)img + img->defaults_off);
}

static void
routes_header_fill(struct routes_image *img, const struct routes_layout *lay,
    uint32_t count, const struct routes_settings *settings,
    uint64_t generation, uint32_t seed)
{
	uint32_t *buckets;
	uint32_t b;

	img->magic = ROUTES_MAGIC;
	img->version = ROUTES_VERSION;
	img->generation = generation;
	img->size = lay->size;
	img->seed = seed;
	img->route_count = count;
	img->backend_count = lay->backend_count;
	img->bucket_count = lay->bucket_count;
	img->default_route = ROUTES_NONE;
	img->routes_off = (uint32_t)lay->routes_off;
	img->backends_off = (uint32_t)lay->backends_off;
	img->buckets_off = (uint32_t)lay->buckets_off;
	img->strings_off = (uint32_t)lay->strings_off;
	img->listens_off = (uint32_t)lay->listens_off;
	img->group_count = lay->group_count;
	img->defaults_off = (uint32_t)lay->defaults_off;
	if (settings != NULL)
		img->settings = *settings;
	buckets = routes_buckets(img);
	for (b = 0; b < img->bucket_count; b++)
		buckets[b] = ROUTES_NONE;
	for (b = 0; b < img->group_count; b++)
		routes_defaults(img)[b] = ROUTES_NONE;
}

/*
 * Routes a and b of one pattern cannot both stay: neither has alpn, or
 * their alpn lists share a name (a client offering it would fit both).
 */
static int
routes_clash(const struct routes_image *img, const struct routes_route *a,
    const struct routes_route *b)
{
	size_t n;

	if (a->alpn_len == 0 || b->alpn_len == 0)
		return a->alpn_len == b->alpn_len;
	return routes_alpn_choose(routes_alpn(img, a), a->alpn_len, routes_alpn(img, b),
	    b->alpn_len, &n) != NULL;
}

/*
 * Links route index into its bucket, or behind the routes of its pattern
 * (first) when there are some; -EINVAL when it clashes with one of them.
 */
static int
routes_insert(struct routes_image *img, uint32_t index)
{
	struct routes_route *r = routes_route_mut(img, index), *p;
	const struct routes_route *first;
	uint32_t *head;

	first = r->kind == ROUTE_DEFAULT ? routes_default(img, r->group) :
	    routes_lookup_find(img, r->group, r->kind, routes_key(img, r), r->key_len, r->hash);
	if (first != NULL) {
		for (p = routes_route_mut(img, first->id);; p = routes_route_mut(img, p->alt)) {
			if (routes_clash(img, p, r))
				return -EINVAL;
			if (p->alt == ROUTES_NONE)
				break;
		}
		p->alt = index;
		return 0;
	}
	if (r->kind == ROUTE_DEFAULT) {
		routes_defaults(img)[r->group] = index;
		if (r->group == 0)
			img->default_route = index;
		return 0;
	}
	head = &routes_buckets(img)[r->hash & (img->bucket_count - 1)];
	r->next = *head;
	*head = index;
	return 0;
}

/*
 * Writes route i, its key at *key_off and its backends at *backend; moves
 * both cursors past what it wrote. The layout was sized from the same
 * patterns, so everything fits.
 */
static int
routes_route_write(struct routes_image *img, uint32_t i,
    const struct route_spec *spec, uint32_t *key_off, uint32_t *backend)
{
	struct routes_route *r = routes_route_mut(img, i);
	struct routes_backend *b;
	char key[ROUTES_KEY_MAX + 2];
	enum route_kind kind;
	const char *why;
	uint32_t k;
	int n;

	n = routes_pattern_key(spec->pattern, key, &kind, &why);
	if (n < 0)
		return n;
	memcpy((char *)img + *key_off, key, (size_t)n);
	r->key_off = *key_off;
	r->key_len = (uint16_t)n;
	r->kind = (uint8_t)kind;
	r->send_proxy = (uint8_t)spec->send_proxy;
	r->connect_ms = spec->connect_ms;
	r->idle_ms = spec->idle_ms;
	r->max_connections = spec->max_connections;
	r->balance = (uint8_t)spec->balance;
	r->group = spec->group;
	r->hash = routes_hash_key(img->seed, r->group, key, (size_t)n);
	r->next = ROUTES_NONE;
	r->alt = ROUTES_NONE;
	if (spec->alpn_count > 0) {	/* sized and checked by routes_layout() */
		size_t alpn;

		(void)routes_alpn_size(spec->alpn, spec->alpn_count, &alpn);
		r->alpn_off = *key_off + (uint32_t)n;
		r->alpn_len = (uint16_t)alpn;
		routes_alpn_write((uint8_t *)img + r->alpn_off, spec->alpn, spec->alpn_count);
	}
	r->backend_first = *backend;
	r->backend_count = spec->backend_count;
	r->id = i;
	r->stats_id = spec->stats_id;
	b = (struct routes_backend *)((char *)img + img->backends_off);
	for (k = 0; k < spec->backend_count; k++) {
		b[*backend + k].addr = spec->backends[k];
		b[*backend + k].stats_id = spec->backend_stats_ids != NULL ?
		    spec->backend_stats_ids[k] : 0;
		b[*backend + k].weight = spec->weights != NULL ? spec->weights[k] : 1;
		b[*backend + k].flags = spec->backend_flags != NULL ? spec->backend_flags[k] : 0;
	}
	*key_off += (uint32_t)n + r->alpn_len;
	*backend += spec->backend_count;
	return routes_insert(img, i);
}

/*
 * Writes one scope's rules at *cursor (moved past them) and their offset
 * into *off: 0 when the scope has none. 0 or acl_build()'s -errno.
 */
static int
routes_rules_write(struct routes_image *img, const struct routes_rules *r,
    uint64_t *cursor, uint32_t *off)
{
	uint64_t n = routes_rules_size(r);
	int rc;

	*off = 0;
	if (n == 0)
		return 0;
	rc = acl_build((char *)img + *cursor, (size_t)n, r->allow, r->allow_count,
	    r->deny, r->deny_count);
	if (rc != 0)
		return rc;
	*off = (uint32_t)*cursor;
	*cursor += n;
	return 0;
}

/* The listen addresses and every scope's rules, from lay->acls_off on. */
static int
routes_access_write(struct routes_image *img, const struct route_spec *specs,
    uint32_t count, const struct routes_access *access, uint64_t cursor)
{
	const struct listen_spec *l;
	struct routes_listen *out;
	int rc = 0;

	for (uint32_t i = 0; i < count && rc == 0; i++)
		rc = routes_rules_write(img, &specs[i].rules, &cursor,
		    &routes_route_mut(img, i)->acl_off);
	if (access == NULL || rc != 0)
		return rc;
	rc = routes_rules_write(img, &access->rules, &cursor, &img->acl_off);
	img->listen_count = access->listen_count;
	out = (struct routes_listen *)(void *)((char *)img + img->listens_off);
	for (uint32_t i = 0; i < access->listen_count && rc == 0; i++) {
		l = &access->listens[i];
		out[i].addr = l->addr;
		out[i].flags = l->flags;
		out[i].group = l->group;
		rc = routes_rules_write(img, &l->trusted, &cursor, &out[i].trusted_off);
		if (rc == 0)
			rc = routes_rules_write(img, &l->rules, &cursor, &out[i].acl_off);
		if (out[i].acl_off == 0)
			out[i].acl_off = img->acl_off;
	}
	return rc;
}

int
routes_image_build(void *dst, size_t size, const struct route_spec *specs,
    uint32_t count, const struct routes_access *access,
    const struct routes_settings *settings, uint64_t generation, uint32_t seed)
{
	struct routes_layout lay;
	struct routes_image *img = dst;
	uint32_t i, key_off, backend = 0;
	int rc;

	routes_layout(specs, count, access, &lay);
	if (lay.invalid)
		return -EINVAL;
	/* Offsets are 32 bits: a bigger image cannot be addressed. */
	if (lay.size > UINT32_MAX)
		return -E2BIG;
	if (dst == NULL || size < lay.size)
		return -ENOSPC;
	/* Padding and reserved fields read as zero: images compare bytewise. */
	memset(dst, 0, (size_t)lay.size);
	routes_header_fill(img, &lay, count, settings, generation, seed);
	key_off = img->strings_off;
	for (i = 0; i < count; i++) {
		rc = routes_route_write(img, i, &specs[i], &key_off, &backend);
		if (rc != 0)
			return rc;
	}
	return routes_access_write(img, specs, count, access, lay.acls_off);
}

const struct routes_listen *
routes_listen_find(const struct routes_image *img, const struct addr *a)
{
	const struct routes_listen *l = (const struct routes_listen *)(const void *)
	    ((const char *)img + img->listens_off);

	for (uint32_t i = 0; i < img->listen_count; i++)
		if (addr_equal(&l[i].addr, a))
			return &l[i];
	return NULL;
}
