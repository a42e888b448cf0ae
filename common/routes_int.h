/*
 * routes_int.h -- what the route table's rooms share and nobody else
 * includes: the key hash (routes.c builds with it, routes_lookup.c probes
 * with it) and the bucket and default-route reads.
 */
#ifndef PASSTHROUGH_ROUTES_INT_H
#define PASSTHROUGH_ROUTES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "routes.h"

/* FNV-1a, 32 bit: one xor and one multiply per byte, no table. */
#define ROUTES_FNV_BASIS	0x811c9dc5u
#define ROUTES_FNV_PRIME	0x01000193u
/* Spreads a group index over the hash's start (2^32 / phi, Knuth's multiplier). */
#define ROUTES_GROUP_MIX	0x9e3779b9u

static inline uint8_t
routes_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* The hash of a key starts from the image's seed and the key's listener group. */
static inline uint32_t
routes_hash_start(uint32_t seed, uint32_t group)
{
	return ROUTES_FNV_BASIS ^ seed ^ (group * ROUTES_GROUP_MIX);
}

/* Adds the byte to the left of what was hashed so far; c is lower case. */
static inline uint32_t
routes_hash_step(uint32_t h, uint8_t c)
{
	return (h ^ c) * ROUTES_FNV_PRIME;
}

/*
 * MurmurHash3's fmix32: FNV alone leaves the low bits (the bucket index)
 * weakly mixed for keys that differ only in their last bytes.
 */
static inline uint32_t
routes_hash_finish(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Group group's default route, or NULL (none, or no such group). */
static inline const struct routes_route *
routes_default(const struct routes_image *img, uint32_t group)
{
	const uint32_t *d = (const uint32_t *)(const void *)((const char *)img +
	    img->defaults_off);

	if (group >= img->group_count || d[group] == ROUTES_NONE)
		return NULL;
	return routes_at(img, d[group]);
}

/*
 * The first route of group group with this kind and key, or NULL; key is
 * lower case, hash its hash from routes_hash_start(seed, group). In
 * routes_lookup.c.
 */
const struct routes_route *routes_lookup_find(const struct routes_image *img,
    uint32_t group, enum route_kind kind, const char *key, size_t len, uint32_t hash);

#endif
