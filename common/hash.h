/*
 * hash.h -- FNV-1a, the one non-cryptographic hash passthrough uses for
 * names of shared memory, duplicate detection and change detection.
 * (The route table has its own, suffix-incremental hash: routes.c.)
 */
#ifndef PASSTHROUGH_HASH_H
#define PASSTHROUGH_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_FNV32_BASIS 2166136261u
#define HASH_FNV32_PRIME 16777619u
#define HASH_FNV64_BASIS 14695981039346656037ull
#define HASH_FNV64_PRIME 1099511628211ull

/* Continues a 32-bit FNV-1a hash h over n bytes (start with HASH_FNV32_BASIS). */
static inline uint32_t
hash_fnv32(uint32_t h, const void *data, size_t n)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * HASH_FNV32_PRIME;
	return h;
}

/* The 32-bit FNV-1a hash of a NUL-terminated string. */
static inline uint32_t
hash_fnv32_str(const char *s)
{
	return hash_fnv32(HASH_FNV32_BASIS, s, strlen(s));
}

/* Continues a 64-bit FNV-1a hash h over n bytes (start with HASH_FNV64_BASIS). */
static inline uint64_t
hash_fnv64(uint64_t h, const void *data, size_t n)
{
	for (const uint8_t *p = data, *end = p + n; p < end; p++)
		h = (h ^ *p) * HASH_FNV64_PRIME;
	return h;
}

#endif
