/* fuzz.h -- what the libFuzzer targets share: a checked invariant and a small PRNG. */
#ifndef PASSTHROUGH_FUZZ_H
#define PASSTHROUGH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The entry points libFuzzer calls (declared for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * An invariant, checked in every build (assert() would vanish with
 * NDEBUG). A failure names itself and aborts: libFuzzer keeps the input as
 * a crash artifact.
 */
#define FUZZ_CHECK(cond) \
	do { if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond); } while (0)

static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

/* xorshift32: the input picks the seed, so a run is reproducible from the input alone. */
struct fuzz_rng {
	uint32_t s;
};

static inline void
fuzz_rng_seed(struct fuzz_rng *r, uint32_t seed)
{
	/* Spread a small seed over the word; xorshift must not start at 0. */
	r->s = (seed + 1) * 2654435761u;
	if (r->s == 0)
		r->s = 1;
}

static inline uint32_t
fuzz_rng_next(struct fuzz_rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 17;
	r->s ^= r->s << 5;
	return r->s;
}

/* A copy of n bytes in a heap block of exactly n bytes: ASan sees any read past it. */
static inline uint8_t *
fuzz_dup(const void *src, size_t n)
{
	uint8_t *p = malloc(n != 0 ? n : 1);

	if (p == NULL)
		abort();
	if (n != 0)
		__builtin_memcpy(p, src, n);
	return p;
}

#endif
