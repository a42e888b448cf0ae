/*
 * sha256.h -- SHA-256 (FIPS 180-4), for the one hash passthrough shows to
 * the outside: the configuration bytes a generation was loaded from
 * (stats_header.config_sha256), which anyone can recompute with sha256sum.
 * Not for secrets: nothing here is constant-time or wiped.
 */
#ifndef PASSTHROUGH_SHA256_H
#define PASSTHROUGH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES	32u	/* a digest */
#define SHA256_BLOCK	64u	/* bytes the compression function takes at once */
#define SHA256_HEX_SIZE	(2u * SHA256_BYTES + 1u)	/* lowercase hex and a NUL */

/* A hash in progress: sha256_init, sha256_update any number of times, sha256_final. */
struct sha256 {
	uint32_t state[8];
	uint64_t length;		/* bytes hashed so far */
	uint8_t block[SHA256_BLOCK];	/* the partial block */
	size_t fill;			/* bytes in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* Pads, writes the digest to out; s must be initialised again before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES]);

/* The digest of n bytes at data, in one call. */
void sha256_digest(const void *data, size_t n, uint8_t out[SHA256_BYTES]);

/* digest as 64 lowercase hex digits and a NUL, sha256sum's spelling. */
void sha256_hex(const uint8_t digest[SHA256_BYTES], char out[SHA256_HEX_SIZE]);

/*
 * 1 when digest is all zero bytes: the segment's "none" (no file was read).
 * No input hashes to it that anyone has found.
 */
int sha256_is_zero(const uint8_t digest[SHA256_BYTES]);

#endif
