/*
 * timer.h -- a binary min-heap of deadlines, one entry per embedded node.
 *
 * An owner (a connection) embeds a struct timer and has at most one entry.
 * Deadlines are absolute milliseconds of CLOCK_MONOTONIC. Idle timeouts are
 * checked lazily: the entry fires at the last planned deadline and the
 * owner re-arms it if the connection moved bytes since, so moving bytes
 * never touches the heap.
 */
#ifndef PASSTHROUGH_TIMER_H
#define PASSTHROUGH_TIMER_H

#include <stdint.h>

#define TIMER_NONE UINT32_MAX	/* timer.index when not in the heap */

/* The node an owner embeds; timer_init() before first use. */
struct timer {
	uint32_t index;		/* position in the heap, TIMER_NONE when not in it */
};

struct timer_entry {
	uint64_t deadline;
	struct timer *t;
};

struct timer_heap {
	struct timer_entry *v;
	uint32_t len;
	uint32_t cap;
};

/* Room for cap entries; 0 or -ENOMEM. */
int timer_heap_init(struct timer_heap *h, uint32_t cap);
void timer_heap_free(struct timer_heap *h);

static inline void
timer_init(struct timer *t)
{
	t->index = TIMER_NONE;
}

/*
 * Inserts t, or moves its entry, to deadline. The heap never overflows as
 * long as it has room for one entry per node that can be armed.
 */
void timer_set(struct timer_heap *h, struct timer *t, uint64_t deadline);
/* Removes t's entry; a no-op when it has none. */
void timer_clear(struct timer_heap *h, struct timer *t);

/* The earliest deadline, UINT64_MAX when empty. */
static inline uint64_t
timer_next(const struct timer_heap *h)
{
	return h->len > 0 ? h->v[0].deadline : UINT64_MAX;
}

/* Removes and returns the earliest node if its deadline is <= now; else NULL. */
struct timer *timer_pop_expired(struct timer_heap *h, uint64_t now);

#endif
