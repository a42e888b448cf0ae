/*
 * sha256.c -- SHA-256 as FIPS 180-4 section 6.2 writes it: a 64-byte block
 * at a time into eight 32-bit words, the message padded with 0x80, zeros
 * and its length in bits, big-endian. Vectors: tests/unit/sha256_test.c.
 */
#include <string.h>

#include "sha256.h"

/*
 * FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes.
 */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 5.3.3: the fractional parts of the square roots of the first 8 primes. */
static const uint32_t sha256_h0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define SHA256_ROUNDS		64u
#define SHA256_LENGTH_BYTES	8u	/* the message length at the end of the padding */

static uint32_t
sha256_ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32u - n));
}

static uint32_t
sha256_load_be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * FIPS 180-4 6.2.2: one block into the state. The shift and rotation
 * counts are those of its functions sigma0, sigma1 (the schedule) and
 * Sigma0, Sigma1 (the rounds), 4.1.2.
 */
static void
sha256_block(uint32_t state[8], const uint8_t block[SHA256_BLOCK])
{
	uint32_t w[SHA256_ROUNDS], v[8], t1, t2, s0, s1;
	unsigned i;

	for (i = 0; i < 16; i++)
		w[i] = sha256_load_be(block + 4 * i);
	for (; i < SHA256_ROUNDS; i++) {
		s0 = sha256_ror(w[i - 15], 7) ^ sha256_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		s1 = sha256_ror(w[i - 2], 17) ^ sha256_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, state, sizeof(v));
	for (i = 0; i < SHA256_ROUNDS; i++) {
		/* v: a b c d e f g h */
		s1 = sha256_ror(v[4], 6) ^ sha256_ror(v[4], 11) ^ sha256_ror(v[4], 25);
		t1 = v[7] + s1 + ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
		s0 = sha256_ror(v[0], 2) ^ sha256_ror(v[0], 13) ^ sha256_ror(v[0], 22);
		t2 = s0 + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		state[i] += v[i];
}

void
sha256_init(struct sha256 *s)
{
	memcpy(s->state, sha256_h0, sizeof(s->state));
	s->length = 0;
	s->fill = 0;
}

void
sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t take;

	s->length += n;
	while (n > 0) {
		take = SHA256_BLOCK - s->fill;
		if (take > n)
			take = n;
		memcpy(s->block + s->fill, p, take);
		s->fill += take;
		p += take;
		n -= take;
		if (s->fill == SHA256_BLOCK) {
			sha256_block(s->state, s->block);
			s->fill = 0;
		}
	}
}

void
sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES])
{
	uint64_t bits = s->length * 8u;
	unsigned i;

	/* 5.1.1: a one bit, zeros up to 8 bytes short of a block, the length. */
	s->block[s->fill++] = 0x80;
	if (s->fill > SHA256_BLOCK - SHA256_LENGTH_BYTES) {
		memset(s->block + s->fill, 0, SHA256_BLOCK - s->fill);
		sha256_block(s->state, s->block);
		s->fill = 0;
	}
	memset(s->block + s->fill, 0, SHA256_BLOCK - SHA256_LENGTH_BYTES - s->fill);
	for (i = 0; i < SHA256_LENGTH_BYTES; i++)
		s->block[SHA256_BLOCK - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha256_block(s->state, s->block);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->state[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->state[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->state[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->state[i];
	}
}

void
sha256_digest(const void *data, size_t n, uint8_t out[SHA256_BYTES])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final(&s, out);
}

void
sha256_hex(const uint8_t digest[SHA256_BYTES], char out[SHA256_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < SHA256_BYTES; i++) {
		out[2 * i] = digits[digest[i] >> 4];
		out[2 * i + 1] = digits[digest[i] & 0x0f];
	}
	out[2 * SHA256_BYTES] = '\0';
}

int
sha256_is_zero(const uint8_t digest[SHA256_BYTES])
{
	uint8_t any = 0;

	for (unsigned i = 0; i < SHA256_BYTES; i++)
		any |= digest[i];
	return any == 0;
}
