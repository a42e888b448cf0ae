/*
 * pipe_test.c -- guards the worker's splice pipe pool (worker/pipe.c): a
 * drained pipe is reused, one with bytes left is closed, the pool keeps at
 * most PIPE_POOL_MAX, a new pipe size (a reload) empties it, and a
 * streaming direction's pipe grows only within the worker's share of
 * PIPE_GROW_PAGES and is never pooled.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "pipe.h"
#include "tunables.h"

/* A size other than the default that F_SETPIPE_SZ grants as asked (a power of two). */
#define OTHER_PIPE_BYTES (2 * DEFAULT_PIPE_BYTES)

static struct pipe_pool pool;

static void
setup(void)
{
	cr_assert_eq(pipe_pool_init(&pool, 1), 0);
}

static void
teardown(void)
{
	pipe_pool_free(&pool);
}

TestSuite(pipe, .init = setup, .fini = teardown);

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/*
 * Whether the pipe whose read end rd_copy duplicates was closed by the
 * pool: with its write end gone a read sees end-of-file, while a pipe still
 * held somewhere, empty, would say EAGAIN.
 */
static bool
pipe_was_closed(int rd_copy)
{
	char byte;

	return read(rd_copy, &byte, 1) == 0;
}

static struct pipe
get(uint32_t size)
{
	struct pipe p = { .rd = -1, .wr = -1 };

	cr_assert_eq(pipe_get(&pool, &p, size), 0);
	cr_assert(fd_open(p.rd) && fd_open(p.wr));
	return p;
}

Test(pipe, a_drained_pipe_is_reused_by_the_next_get)
{
	struct pipe p = get(DEFAULT_PIPE_BYTES), again;
	int rd = p.rd, wr = p.wr;

	pipe_put(&pool, &p, 0);
	cr_assert_eq(p.rd, -1, "the caller no longer holds it");
	cr_assert_eq(p.wr, -1);
	cr_assert(fd_open(rd) && fd_open(wr), "pooled, not closed");
	again = get(DEFAULT_PIPE_BYTES);
	cr_assert_eq(again.rd, rd, "the pooled pipe comes back");
	cr_assert_eq(again.wr, wr);
	pipe_put(&pool, &again, 0);
}

Test(pipe, a_pipe_with_bytes_left_is_closed_not_pooled)
{
	struct pipe p = get(DEFAULT_PIPE_BYTES), next;
	int rd = p.rd, copy = dup(p.rd);
	char byte = 'x';

	cr_assert_geq(copy, 0);
	cr_assert_eq(write(p.wr, &byte, 1), 1);
	pipe_put(&pool, &p, 1);
	cr_assert_eq(p.rd, -1);
	cr_assert_not(fd_open(rd), "a pipe put back with bytes in it is closed");
	/* The next get is a new, empty pipe, whatever fd numbers it reuses. */
	next = get(DEFAULT_PIPE_BYTES);
	cr_assert_eq(read(next.rd, &byte, 1), -1, "the leftover byte came back");
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(read(copy, &byte, 1), 1, "the old pipe kept its byte");
	cr_assert(pipe_was_closed(copy), "and its write end is closed");
	close(copy);
	pipe_put(&pool, &next, 0);
}

Test(pipe, the_pool_keeps_at_most_pipe_pool_max)
{
	struct pipe held[PIPE_POOL_MAX + 1], back;
	int rd[PIPE_POOL_MAX + 1];
	uint32_t i, j;

	for (i = 0; i <= PIPE_POOL_MAX; i++) {
		held[i] = get(DEFAULT_PIPE_BYTES);
		rd[i] = held[i].rd;
	}
	for (i = 0; i < PIPE_POOL_MAX; i++)
		pipe_put(&pool, &held[i], 0);
	for (i = 0; i < PIPE_POOL_MAX; i++)
		cr_assert(fd_open(rd[i]), "pipe %u is pooled", i);
	pipe_put(&pool, &held[PIPE_POOL_MAX], 0);
	cr_assert_not(fd_open(rd[PIPE_POOL_MAX]), "one past PIPE_POOL_MAX is closed");

	/* Every pooled pipe comes back once. */
	for (i = 0; i < PIPE_POOL_MAX; i++) {
		back = get(DEFAULT_PIPE_BYTES);
		for (j = 0; j < PIPE_POOL_MAX && rd[j] != back.rd; j++)
			;
		cr_assert_lt(j, PIPE_POOL_MAX, "get %u made a pipe with %u pooled", i,
		    PIPE_POOL_MAX - i);
		rd[j] = -1;
		held[i] = back;
	}
	for (i = 0; i < PIPE_POOL_MAX; i++)
		pipe_put(&pool, &held[i], 0);
}

Test(pipe, a_new_size_empties_the_pool)
{
	struct pipe old = get(DEFAULT_PIPE_BYTES), p;
	int copy = dup(old.rd), rd;

	cr_assert_geq(copy, 0);
	pipe_put(&pool, &old, 0);
	/* A reload changed tuning.pipe_bytes. */
	p = get(OTHER_PIPE_BYTES);
	cr_assert(pipe_was_closed(copy), "the pooled pipe of the old size was closed");
	close(copy);
	cr_assert_eq(p.size, OTHER_PIPE_BYTES);
	cr_assert_eq(fcntl(p.rd, F_GETPIPE_SZ), (int)OTHER_PIPE_BYTES);

	/* Pipes of the new size are pooled as before. */
	rd = p.rd;
	pipe_put(&pool, &p, 0);
	p = get(OTHER_PIPE_BYTES);
	cr_assert_eq(p.rd, rd);
	pipe_put(&pool, &p, 0);
}

Test(pipe, a_pipe_larger_than_the_pool_size_is_closed)
{
	struct pipe big = get(OTHER_PIPE_BYTES), small;
	int rd = big.rd;

	/* A reload lowered tuning.pipe_bytes while big was in use. */
	small = get(DEFAULT_PIPE_BYTES);
	pipe_put(&pool, &big, 0);
	cr_assert_not(fd_open(rd), "a pipe larger than the pool's size is not pooled");
	pipe_put(&pool, &small, 0);
}

Test(pipe, putting_a_pipe_that_holds_none_is_a_no_op)
{
	struct pipe p = get(DEFAULT_PIPE_BYTES), none = { .rd = -1, .wr = -1 };
	int rd = p.rd, wr = p.wr;

	pipe_put(&pool, &p, 0);
	pipe_put(&pool, &none, 0);
	pipe_put(&pool, &none, 1);
	cr_assert_eq(none.rd, -1);
	cr_assert_eq(none.wr, -1);
	/* Still exactly the one pooled pipe, then new ones. */
	p = get(DEFAULT_PIPE_BYTES);
	cr_assert_eq(p.rd, rd, "the pool handed out a pipe that was never there");
	cr_assert_eq(p.wr, wr);
	pipe_put(&pool, &p, 0);
}

/* Pages one grown default pipe adds. */
#define GROW_EXTRA_PAGES ((PIPE_GROW_BYTES - DEFAULT_PIPE_BYTES) / 4096)

Test(pipe, a_grown_pipe_is_counted_and_never_pooled)
{
	struct pipe p = get(DEFAULT_PIPE_BYTES), next;
	int rd = p.rd;

	cr_assert_eq(pipe_grow(&pool, &p), 0);
	cr_assert_eq(p.size, PIPE_GROW_BYTES);
	cr_assert_eq(fcntl(p.rd, F_GETPIPE_SZ), (int)PIPE_GROW_BYTES);
	cr_assert_eq(pool.grown_pages, GROW_EXTRA_PAGES);
	cr_assert_eq(pipe_grow(&pool, &p), -EALREADY, "a pipe grows once");
	pipe_put(&pool, &p, 0);
	cr_assert_not(fd_open(rd), "a grown pipe is closed when given back");
	cr_assert_eq(pool.grown_pages, 0, "and its pages are no longer counted");
	next = get(DEFAULT_PIPE_BYTES);
	cr_assert_eq(next.size, DEFAULT_PIPE_BYTES, "the next pipe is of the asked size");
	pipe_put(&pool, &next, 0);
}

Test(pipe, growing_stops_at_the_workers_share)
{
	struct pipe a, b;

	/* As many workers as leave each room for exactly one grown pipe. */
	pipe_pool_free(&pool);
	cr_assert_eq(pipe_pool_init(&pool, PIPE_GROW_PAGES / GROW_EXTRA_PAGES), 0);
	a = get(DEFAULT_PIPE_BYTES);
	b = get(DEFAULT_PIPE_BYTES);
	cr_assert_eq(pipe_grow(&pool, &a), 0);
	cr_assert_eq(pipe_grow(&pool, &b), -ENOSPC, "past the share a pipe keeps its size");
	cr_assert_eq(b.size, DEFAULT_PIPE_BYTES);
	pipe_put(&pool, &a, 0);
	cr_assert_eq(pipe_grow(&pool, &b), 0, "once a grown pipe is back, another may grow");
	pipe_put(&pool, &b, 0);
	cr_assert_eq(pool.grown_pages, 0);
}
