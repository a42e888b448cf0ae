/*
 * routes_lookup.c -- the per-connection lookup in a route table image: one
 * right-to-left pass over the SNI name, then one bucket probe for the exact
 * name and each wildcard suffix, then the listener group's default (the
 * layout and the hash are described at the top of routes.c).
 */
#include <string.h>

#include "routes.h"
#include "routes_int.h"

/*
 * Wildcard suffixes a lookup can probe. A suffix starts at a '.' that has a
 * label on both sides, so a name of ROUTES_KEY_MAX bytes has at most
 * (ROUTES_KEY_MAX - 1) / 2 of them.
 */
#define ROUTES_SUFFIX_MAX	((ROUTES_KEY_MAX - 1) / 2)

const struct routes_route *
routes_lookup_find(const struct routes_image *img, uint32_t group, enum route_kind kind,
    const char *key, size_t len, uint32_t hash)
{
	const uint32_t *buckets = (const uint32_t *)(const void *)((const char *)img +
	    img->buckets_off);
	uint32_t i = buckets[hash & (img->bucket_count - 1)];

	while (i != ROUTES_NONE) {
		const struct routes_route *r = routes_at(img, i);

		if (r->hash == hash && r->kind == kind && r->group == group &&
		    r->key_len == len && memcmp((const char *)img + r->key_off, key, len) == 0)
			return r;
		i = r->next;
	}
	return NULL;
}

/* What one pass over an SNI name yields for the probes. */
struct routes_probe {
	uint8_t lower[ROUTES_KEY_MAX];
	uint32_t exact;
	uint32_t suffix_hash[ROUTES_SUFFIX_MAX];
	uint8_t suffix_at[ROUTES_SUFFIX_MAX];
};
_Static_assert(ROUTES_KEY_MAX <= UINT8_MAX, "suffix_at holds a name offset");

/*
 * One right-to-left pass over an SNI name (trailing dot already gone, len in
 * 1..ROUTES_KEY_MAX): lower-cases it into lower, leaves the exact name's
 * hash in *exact, and for each wildcard suffix ".x.y" (a '.' with a label on
 * both sides) its start and hash, shortest suffix first. Returns the number
 * of suffixes, or -1 when the name has an empty label: such a name is no
 * host name and matches no exact or wildcard route.
 */
static int
routes_scan(uint32_t seed, uint32_t group, const uint8_t *name, size_t len,
    struct routes_probe *p)
{
	uint32_t h = routes_hash_start(seed, group);
	int count = 0;
	size_t i = len;

	while (i-- > 0) {
		uint8_t c = routes_lower(name[i]);

		p->lower[i] = c;
		h = routes_hash_step(h, c);
		if (c != '.')
			continue;
		if (i == 0 || i == len - 1 || p->lower[i + 1] == '.' ||
		    count == (int)ROUTES_SUFFIX_MAX)
			return -1;
		p->suffix_hash[count] = routes_hash_finish(h);
		p->suffix_at[count] = (uint8_t)i;
		count++;
	}
	p->exact = routes_hash_finish(h);
	return count;
}

/*
 * Of r and the routes that share its pattern: the first whose alpn holds a
 * protocol the client offered, else the one without alpn, else NULL.
 */
static const struct routes_route *
routes_pick(const struct routes_image *img, const struct routes_route *r,
    const uint8_t *alpn, size_t alpn_len)
{
	const struct routes_route *plain = NULL;
	size_t n;

	if (r == NULL || (r->alt == ROUTES_NONE && r->alpn_len == 0))
		return r;	/* the usual pattern: one route, no alpn */
	for (;;) {
		if (r->alpn_len == 0)
			plain = r;
		else if (routes_alpn_choose(routes_alpn(img, r), r->alpn_len, alpn, alpn_len,
		    &n) != NULL)
			return r;
		if (r->alt == ROUTES_NONE)
			return plain;
		r = routes_at(img, r->alt);
	}
}

const struct routes_route *
routes_lookup_group(const struct routes_image *img, uint32_t group, const uint8_t *name,
    size_t len, const uint8_t *alpn, size_t alpn_len)
{
	struct routes_probe p;
	const struct routes_route *r = NULL;
	int n;

	if (group >= img->group_count)
		return NULL;
	if (name != NULL && len > 0 && name[len - 1] == '.')
		len--;
	if (name == NULL || len == 0 || len > ROUTES_KEY_MAX)
		return routes_pick(img, routes_default(img, group), alpn, alpn_len);
	n = routes_scan(img->seed, group, name, len, &p);
	if (n < 0)
		return routes_pick(img, routes_default(img, group), alpn, alpn_len);
	r = routes_pick(img, routes_lookup_find(img, group, ROUTE_EXACT,
	    (const char *)p.lower, len, p.exact), alpn, alpn_len);
	/* The leftmost '.' was recorded last: longest suffix first. */
	while (r == NULL && n-- > 0)
		r = routes_pick(img, routes_lookup_find(img, group, ROUTE_WILDCARD,
		    (const char *)p.lower + p.suffix_at[n], len - p.suffix_at[n],
		    p.suffix_hash[n]), alpn, alpn_len);
	return r != NULL ? r : routes_pick(img, routes_default(img, group), alpn, alpn_len);
}

const struct routes_route *
routes_lookup_alpn(const struct routes_image *img, const uint8_t *name, size_t len,
    const uint8_t *alpn, size_t alpn_len)
{
	return routes_lookup_group(img, 0, name, len, alpn, alpn_len);
}
