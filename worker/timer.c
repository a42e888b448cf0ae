/* timer.c -- a binary min-heap of deadlines, one entry per embedded node. */
#include <errno.h>
#include <stdlib.h>

#include "timer.h"

int
timer_heap_init(struct timer_heap *h, uint32_t cap)
{
	/* calloc of a large array maps zero pages: memory follows actual use. */
	h->v = calloc(cap, sizeof(*h->v));
	if (h->v == NULL)
		return -ENOMEM;
	h->len = 0;
	h->cap = cap;
	return 0;
}

void
timer_heap_free(struct timer_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->len = h->cap = 0;
}

static void
timer_place(struct timer_heap *h, uint32_t i, struct timer_entry e)
{
	h->v[i] = e;
	e.t->index = i;
}

static void
timer_up(struct timer_heap *h, uint32_t i)
{
	struct timer_entry e = h->v[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (h->v[parent].deadline <= e.deadline)
			break;
		timer_place(h, i, h->v[parent]);
		i = parent;
	}
	timer_place(h, i, e);
}

static void
timer_down(struct timer_heap *h, uint32_t i)
{
	struct timer_entry e = h->v[i];

	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= h->len)
			break;
		if (child + 1 < h->len && h->v[child + 1].deadline < h->v[child].deadline)
			child++;
		if (e.deadline <= h->v[child].deadline)
			break;
		timer_place(h, i, h->v[child]);
		i = child;
	}
	timer_place(h, i, e);
}

void
timer_set(struct timer_heap *h, struct timer *t, uint64_t deadline)
{
	uint32_t i = t->index;

	if (i == TIMER_NONE) {
		i = h->len++;
		timer_place(h, i, (struct timer_entry){ deadline, t });
		timer_up(h, i);
		return;
	}
	h->v[i].deadline = deadline;
	timer_up(h, i);
	timer_down(h, t->index);
}

void
timer_clear(struct timer_heap *h, struct timer *t)
{
	uint32_t i = t->index;
	struct timer *moved;

	if (i == TIMER_NONE)
		return;
	t->index = TIMER_NONE;
	if (--h->len == i)
		return;
	moved = h->v[h->len].t;
	timer_place(h, i, h->v[h->len]);
	timer_up(h, i);
	timer_down(h, moved->index);
}

struct timer *
timer_pop_expired(struct timer_heap *h, uint64_t now)
{
	struct timer *t;

	if (h->len == 0 || h->v[0].deadline > now)
		return NULL;
	t = h->v[0].t;
	timer_clear(h, t);
	return t;
}
