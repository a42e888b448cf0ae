/*
 * balance.h -- choosing a route's backend: smooth weighted round robin
 * (nginx's algorithm), the fewest active connections per weight
 * (leastconn), the less loaded of two weighted random picks (random2),
 * and the next one to try after a failed connect. Pure: the caller keeps
 * the state (one int64_t per backend of the image), counts the active
 * connections and draws the random numbers.
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

/*
 * leastconn and random2 take the same arguments as balance_swrr, plus
 * active[k], the connections backend k holds (over all workers; read for
 * the backends that can take one: weight > 0, not skipped, not a reject
 * backend). Each bounded by the caller (2^32 at most), so a count times a
 * weight fits 64 bits.
 *
 * A reject backend keeps exactly its weighted share in both modes: each
 * connection first takes a turn of smooth weighted round robin between
 * the reject backends and the serving ones taken as one (of their summed
 * weight; the state lives in the reject backends' current[], the serving
 * one's is minus their sum; a tie goes to the serving ones). Only when the
 * serving ones win is the load looked at: their connections do not decide
 * how many clients get the alert.
 */

/*
 * The serving backend with the fewest active connections per weight
 * (active[i] * w[j] < active[j] * w[i]); among those tied, smooth weighted
 * round robin (current[] of the serving backends), so connections that
 * all end at once still spread by weight. -1 when every weight left is 0.
 */
int balance_leastconn(const struct routes_backend *b, uint32_t n, int64_t *current,
    const uint8_t *skip, const uint64_t *active);

/*
 * Power of two choices: r1 and r2 each pick a serving backend by weight
 * (r mod the summed weight, walked in order), and the one with fewer
 * active connections per weight is taken, r1's on a tie. current[] only
 * serves the reject backends' share. -1 when every weight left is 0.
 */
int balance_random2(const struct routes_backend *b, uint32_t n, int64_t *current,
    const uint8_t *skip, const uint64_t *active, uint64_t r1, uint64_t r2);

/* xorshift64*: the next number of a non-zero *state (a worker's own, seeded at start). */
uint64_t balance_random(uint64_t *state);

#endif
