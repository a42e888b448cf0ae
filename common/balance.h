/*
 * balance.h -- choosing a route's backend: smooth weighted round robin
 * (nginx's algorithm), and the next one to try after a failed connect.
 * Pure: the caller keeps the state (one int64_t per backend of the image).
 */
#ifndef PASSTHROUGH_BALANCE_H
#define PASSTHROUGH_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "routes.h"

/* Weights within ROUTES_WEIGHT_MAX and known flags (NULL arrays: all 1, all 0). */
bool balance_spec_valid(const uint32_t *weights, const uint32_t *flags, uint32_t n);

/*
 * Smooth weighted round robin over b[0..n): each backend of weight > 0
 * gains its weight in current[], the one with the most (the first on a
 * tie) is chosen and loses the sum of the weights. Weights 5, 1, 1 give
 * a a b a c a a, then again. A reject backend takes its share like any
 * other (the caller answers it with an alert). Backends with skip[k] set
 * (down) take no part (skip NULL: none). Returns the index, or -1 when
 * every weight left is 0.
 */
int balance_swrr(const struct routes_backend *b, uint32_t n, int64_t *current,
    const uint8_t *skip);

/*
 * After backend `from` failed: the next one, in order and wrapping, that
 * can take a connection (weight > 0, not a reject backend), or -1 when
 * there is none other than from.
 */
int balance_next(const struct routes_backend *b, uint32_t n, uint32_t from);

#endif
