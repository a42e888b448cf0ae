/*
 * timer_test.c -- worker/timer.c: the deadline heap pops in deadline
 * order (checked against a sorted reference, so a broken heap invariant
 * fails), entries move earlier and later, clear from the middle, and
 * pop_expired returns only what is due.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "timer.h"

#define NODES 2000u

struct owner {
	struct timer timer;
	uint64_t deadline;	/* what the test set, to compare with */
};

static struct timer_heap heap;
static struct owner owners[NODES];

static void
setup(void)
{
	cr_assert_eq(timer_heap_init(&heap, NODES), 0);
	for (unsigned i = 0; i < NODES; i++) {
		timer_init(&owners[i].timer);
		owners[i].deadline = UINT64_MAX;
	}
}

static void
teardown(void)
{
	timer_heap_free(&heap);
}

static struct owner *
owner_of(struct timer *t)
{
	return (struct owner *)(void *)t;	/* the node is the first member */
}

static void
arm(struct owner *o, uint64_t deadline)
{
	o->deadline = deadline;
	timer_set(&heap, &o->timer, deadline);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Pops everything and checks the deadlines come out as the sorted armed ones. */
static void
assert_pops_sorted(void)
{
	uint64_t want[NODES];
	unsigned n = 0, i = 0;
	struct timer *t;

	for (unsigned k = 0; k < NODES; k++)
		if (owners[k].timer.index != TIMER_NONE)
			want[n++] = owners[k].deadline;
	qsort(want, n, sizeof(want[0]), cmp_u64);
	cr_assert_eq(heap.len, n);
	while ((t = timer_pop_expired(&heap, UINT64_MAX)) != NULL) {
		cr_assert_lt(i, n, "more entries popped than armed");
		cr_assert_eq(owner_of(t)->deadline, want[i], "pop %u: %llu, want %llu", i,
		    (unsigned long long)owner_of(t)->deadline, (unsigned long long)want[i]);
		cr_assert_eq(t->index, TIMER_NONE, "a popped node is out of the heap");
		i++;
	}
	cr_assert_eq(i, n);
	cr_assert_eq(heap.len, 0);
}

TestSuite(timer, .init = setup, .fini = teardown);

Test(timer, empty_heap_has_no_deadline_and_pops_nothing)
{
	cr_assert_eq(timer_next(&heap), UINT64_MAX);
	cr_assert_null(timer_pop_expired(&heap, UINT64_MAX));
}

Test(timer, many_random_deadlines_pop_in_order)
{
	srand(12345);
	for (unsigned i = 0; i < NODES; i++)
		arm(&owners[i], (uint64_t)(rand() % 5000));	/* duplicates included */
	assert_pops_sorted();
}

Test(timer, next_is_the_earliest)
{
	arm(&owners[0], 300);
	arm(&owners[1], 100);
	arm(&owners[2], 200);
	cr_assert_eq(timer_next(&heap), 100);
}

Test(timer, moving_an_entry_earlier_and_later)
{
	srand(777);
	for (unsigned i = 0; i < NODES; i++)
		arm(&owners[i], 1000 + (uint64_t)(rand() % 100000));
	arm(&owners[1500], 5);			/* earlier than all */
	cr_assert_eq(timer_next(&heap), 5);
	arm(&owners[1500], 1u << 30);		/* later than all */
	cr_assert_neq(timer_next(&heap), 1u << 30);
	for (unsigned i = 0; i < NODES; i += 3)	/* many moves both ways */
		arm(&owners[i], (uint64_t)(rand() % 200000));
	cr_assert_eq(heap.len, NODES, "moving never adds an entry");
	assert_pops_sorted();
}

Test(timer, clearing_from_the_middle_keeps_the_rest_in_order)
{
	srand(4242);
	for (unsigned i = 0; i < NODES; i++)
		arm(&owners[i], (uint64_t)(rand() % 100000));
	for (unsigned i = 0; i < NODES; i += 2) {
		timer_clear(&heap, &owners[i].timer);
		cr_assert_eq(owners[i].timer.index, TIMER_NONE);
	}
	timer_clear(&heap, &owners[0].timer);	/* clearing twice is a no-op */
	cr_assert_eq(heap.len, NODES / 2);
	assert_pops_sorted();
}

Test(timer, pop_expired_returns_only_due_entries)
{
	struct timer *t;
	unsigned due = 0;

	for (unsigned i = 0; i < 100; i++)
		arm(&owners[i], 10 * (uint64_t)i);	/* 0, 10, .. 990 */
	while ((t = timer_pop_expired(&heap, 495)) != NULL) {
		cr_assert_leq(owner_of(t)->deadline, 495);
		due++;
	}
	cr_assert_eq(due, 50, "deadlines 0..490 are due at 495");
	cr_assert_eq(timer_next(&heap), 500);
	cr_assert_null(timer_pop_expired(&heap, 499));
	t = timer_pop_expired(&heap, 500);
	cr_assert_not_null(t, "a deadline equal to now is due");
	cr_assert_eq(owner_of(t)->deadline, 500);
}
