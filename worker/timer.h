/*
 * timer.h -- a binary min-heap of connection deadlines.
 *
 * Each connection has at most one entry. Deadlines are absolute
 * milliseconds of CLOCK_MONOTONIC. Idle timeouts are checked lazily: the
 * entry fires at the last planned deadline and the owner re-arms it if the
 * connection moved bytes since, so moving bytes never touches the heap.
 */
#ifndef PASSTHROUGH_TIMER_H
#define PASSTHROUGH_TIMER_H

#include <stdint.h>

struct conn;

#define TIMER_NONE UINT32_MAX	/* conn.timer_index when not in the heap */

struct timer_entry {
	uint64_t deadline;
	struct conn *conn;
};

struct timer_heap {
	struct timer_entry *v;
	uint32_t len;
	uint32_t cap;
};

/* Room for cap entries; 0 or -ENOMEM. */
int timer_heap_init(struct timer_heap *h, uint32_t cap);
void timer_heap_free(struct timer_heap *h);

/* Inserts or moves c's entry to deadline. The heap never overflows: one entry per conn. */
void timer_set(struct timer_heap *h, struct conn *c, uint64_t deadline);
void timer_clear(struct timer_heap *h, struct conn *c);

/* The earliest deadline, UINT64_MAX when empty. */
static inline uint64_t
timer_next(const struct timer_heap *h)
{
	return h->len > 0 ? h->v[0].deadline : UINT64_MAX;
}

/* Removes and returns the earliest entry's conn if its deadline is <= now. */
struct conn *timer_pop_expired(struct timer_heap *h, uint64_t now);

#endif
