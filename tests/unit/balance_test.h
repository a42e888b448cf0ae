/*
 * balance_test.h -- what the balancing unit tests share: a route's
 * backends made from their weights and flags.
 */
#ifndef PASSTHROUGH_BALANCE_TEST_H
#define PASSTHROUGH_BALANCE_TEST_H

#include <string.h>

#include "balance.h"

/* Backends with these weights and flags (flags NULL: none). */
static void
make(struct routes_backend *b, const uint32_t *weights, const uint32_t *flags, uint32_t n)
{
	memset(b, 0, n * sizeof(*b));
	for (uint32_t i = 0; i < n; i++) {
		b[i].weight = weights[i];
		b[i].flags = flags != NULL ? flags[i] : 0;
	}
}

#endif
