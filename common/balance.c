/*
 * balance.c -- a route's backend for a new connection: smooth weighted
 * round robin, leastconn, random2, and the next one after a failed connect.
 */
#include "balance.h"

bool
balance_spec_valid(const uint32_t *weights, const uint32_t *flags, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		if ((weights != NULL && weights[k] > ROUTES_WEIGHT_MAX) ||
		    (flags != NULL && (flags[k] & ~(uint32_t)(ROUTES_BACKEND_REJECT | ROUTES_BACKEND_CHECKED)) != 0))
			return false;
	return true;
}

int
balance_swrr(const struct routes_backend *b, uint32_t n, int64_t *current,
    const uint8_t *skip)
{
	int64_t total = 0;
	int best = -1;

	/* n <= MAX_BACKENDS_PER_ROUTE and weights <= 10^6: no overflow. */
	for (uint32_t k = 0; k < n; k++) {
		if (b[k].weight == 0 || (skip != NULL && skip[k]))
			continue;
		current[k] += b[k].weight;
		total += b[k].weight;
		if (best < 0 || current[k] > current[best])
			best = (int)k;
	}
	if (best >= 0)
		current[best] -= total;
	return best;
}

int
balance_next(const struct routes_backend *b, uint32_t n, uint32_t from)
{
	for (uint32_t i = 1; i < n; i++) {
		uint32_t k = (from + i) % n;

		if (b[k].weight > 0 && !(b[k].flags & ROUTES_BACKEND_REJECT))
			return (int)k;
	}
	return -1;
}

/* 1 when backend k can take a connection at all (a reject backend included). */
static int
balance_eligible(const struct routes_backend *b, uint32_t k, const uint8_t *skip)
{
	return b[k].weight > 0 && (skip == NULL || !skip[k]);
}

/*
 * The rejects' turn (see balance.h): a reject backend's index when this
 * connection is one of their share, else -1 (the serving backends take it,
 * or nothing can). The serving backends' current[] is not touched.
 */
static int
balance_reject_turn(const struct routes_backend *b, uint32_t n, int64_t *current,
    const uint8_t *skip)
{
	int64_t rejects = 0, serving = 0, held = 0;
	int best = -1;

	for (uint32_t k = 0; k < n; k++) {
		if (!balance_eligible(b, k, skip))
			continue;
		if (!(b[k].flags & ROUTES_BACKEND_REJECT)) {
			serving += b[k].weight;
			continue;
		}
		held += current[k];
		current[k] += b[k].weight;
		rejects += b[k].weight;
		if (best < 0 || current[k] > current[best])
			best = (int)k;
	}
	/*
	 * The serving backends as one hold minus what the rejects held, and
	 * gain serving; none up: the rejects take turns among themselves.
	 */
	if (best < 0 || (serving > 0 && current[best] <= serving - held))
		return -1;
	current[best] -= rejects + serving;
	return best;
}

/* a per weight below b's: a_a * w_b < a_b * w_a (both under 2^32 * 2^20). */
static int
balance_fewer(const struct routes_backend *b, const uint64_t *active, uint32_t i, uint32_t j)
{
	return active[i] * b[j].weight < active[j] * b[i].weight;
}

int
balance_leastconn(const struct routes_backend *b, uint32_t n, int64_t *current,
    const uint8_t *skip, const uint64_t *active)
{
	int64_t total = 0;
	int least = -1, best = -1;

	if ((best = balance_reject_turn(b, n, current, skip)) >= 0)
		return best;
	for (uint32_t k = 0; k < n; k++)
		if (balance_eligible(b, k, skip) && !(b[k].flags & ROUTES_BACKEND_REJECT) &&
		    (least < 0 || balance_fewer(b, active, k, (uint32_t)least)))
			least = (int)k;
	if (least < 0)
		return -1;
	/* Smooth weighted round robin among those as loaded as the least. */
	for (uint32_t k = 0; k < n; k++) {
		if (!balance_eligible(b, k, skip) || (b[k].flags & ROUTES_BACKEND_REJECT) ||
		    balance_fewer(b, active, (uint32_t)least, k))
			continue;
		current[k] += b[k].weight;
		total += b[k].weight;
		if (best < 0 || current[k] > current[best])
			best = (int)k;
	}
	current[best] -= total;
	return best;
}

/* The serving backend that r falls on, the weights laid end to end (total > 0). */
static uint32_t
balance_draw(const struct routes_backend *b, uint32_t n, const uint8_t *skip,
    uint64_t total, uint64_t r)
{
	uint64_t at = r % total;
	uint32_t last = 0;

	for (uint32_t k = 0; k < n; k++) {
		if (!balance_eligible(b, k, skip) || (b[k].flags & ROUTES_BACKEND_REJECT))
			continue;
		if (at < b[k].weight)
			return k;
		at -= b[k].weight;
		last = k;
	}
	return last;	/* not reached: the weights sum to total */
}

int
balance_random2(const struct routes_backend *b, uint32_t n, int64_t *current,
    const uint8_t *skip, const uint64_t *active, uint64_t r1, uint64_t r2)
{
	uint64_t total = 0;
	uint32_t i, j;
	int k;

	if ((k = balance_reject_turn(b, n, current, skip)) >= 0)
		return k;
	for (uint32_t m = 0; m < n; m++)
		if (balance_eligible(b, m, skip) && !(b[m].flags & ROUTES_BACKEND_REJECT))
			total += b[m].weight;
	if (total == 0)
		return -1;
	i = balance_draw(b, n, skip, total, r1);
	j = balance_draw(b, n, skip, total, r2);
	return balance_fewer(b, active, j, i) ? (int)j : (int)i;
}

uint64_t
balance_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;	/* Vigna's xorshift64* multiplier */
}
