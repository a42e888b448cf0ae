/*
 * balance.c -- a route's backend for a new connection: smooth weighted
 * round robin, and the next one after a failed connect.
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
