/* snapshot.c -- a consistent private copy of the statistics and worker areas (a seqlock reader). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "routes.h"
#include "snapshot.h"

_Static_assert(sizeof(struct stats_header) % sizeof(uint64_t) == 0 &&
    sizeof(struct stats_line) % sizeof(uint64_t) == 0 &&
    sizeof(struct stats_route) % sizeof(uint64_t) == 0 &&
    sizeof(struct stats_backend) % sizeof(uint64_t) == 0 &&
    sizeof(struct stats_counters) % sizeof(uint64_t) == 0,
    "snapshot_copy moves whole 64-bit words");

/*
 * Copies bytes of live shared memory as 64-bit relaxed atomic loads: the
 * counters are written that way, and memcpy may read one in pieces.
 */
static void
snapshot_copy(void *dst, const void *src, size_t bytes)
{
	const _Atomic uint64_t *from = src;
	char *to = dst;

	for (size_t i = 0; i < bytes / sizeof(uint64_t); i++) {
		uint64_t v = atomic_load_explicit(&from[i], memory_order_relaxed);

		memcpy(to + i * sizeof(v), &v, sizeof(v));
	}
}

/* Live lines now; more may start while they are copied. */
static uint32_t
snapshot_count_lines(const struct stats *seg)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < STATS_LINES; i++)
		n += atomic_load_explicit(&seg->lines[i].pid, memory_order_relaxed) != 0;
	return n;
}

/* Room for lines entries in snap->workers. 0 or -ENOMEM. */
static int
snapshot_room(struct snapshot *snap, uint32_t lines)
{
	struct snapshot_worker *w;

	if (lines > STATS_LINES)
		lines = STATS_LINES;
	/* Only the first worker_count entries are ever written and read. */
	w = realloc(snap->workers, (lines > 0 ? lines : 1) * sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	snap->workers = w;
	snap->worker_room = lines;
	return 0;
}

/* Room for count entries in each of the entry arrays. 0 or -ENOMEM. */
static int
snapshot_entry_room(struct snapshot *snap, uint32_t count)
{
	if (snap->routes != NULL && count <= snap->entry_room)
		return 0;
	free(snap->routes);
	free(snap->backends);
	free(snap->route_sums);
	free(snap->backend_sums);
	snap->routes = calloc(count + 1, sizeof(*snap->routes));
	snap->backends = calloc(count + 1, sizeof(*snap->backends));
	snap->route_sums = calloc(count + 1, sizeof(*snap->route_sums));
	snap->backend_sums = calloc(count + 1, sizeof(*snap->backend_sums));
	snap->entry_room = count;
	if (snap->routes == NULL || snap->backends == NULL || snap->route_sums == NULL ||
	    snap->backend_sums == NULL)
		return -ENOMEM;
	return 0;
}

/*
 * Route and backend entries in use, as the header copied into snap->hdr
 * counts them (bounded by the capacities: the count is the master's word,
 * the mapping's size is ours to keep); their sums start from what exited
 * workers counted. 0 or -ENOMEM.
 */
static int
snapshot_copy_entries(struct snapshot *snap, const struct stats *seg)
{
	uint32_t routes = snap->hdr.route_count, backends = snap->hdr.backend_count;

	snap->route_count = routes < STATS_ROUTES ? routes : STATS_ROUTES;
	snap->backend_count = backends < STATS_BACKENDS ? backends : STATS_BACKENDS;
	if (snapshot_entry_room(snap, snap->route_count > snap->backend_count ?
	    snap->route_count : snap->backend_count) != 0)
		return -ENOMEM;
	snapshot_copy(snap->routes, seg->routes, snap->route_count * sizeof(*snap->routes));
	snapshot_copy(snap->backends, seg->backends,
	    snap->backend_count * sizeof(*snap->backends));
	for (uint32_t i = 0; i < snap->route_count; i++) {
		snap->routes[i].pattern[STATS_PATTERN_MAX - 1] = '\0';
		memcpy(&snap->route_sums[i], &snap->routes[i].retired, sizeof(snap->route_sums[i]));
	}
	for (uint32_t i = 0; i < snap->backend_count; i++) {
		snap->backends[i].addr[STATS_ADDR_MAX - 1] = '\0';
		memcpy(&snap->backend_sums[i], &snap->backends[i].retired,
		    sizeof(snap->backend_sums[i]));
	}
	return 0;
}

/* Line i's worker (pid, live) into *w, its area's entries added to the sums. 0 or -EPROTO. */
static int
snapshot_copy_worker(struct snapshot *snap, struct segment *seg, uint32_t i, uint32_t pid,
    struct snapshot_worker *w)
{
	const struct stats_line *l = &seg->stats.lines[i];
	const struct stats_area *a;

	/* Read after the pid (acquire): the master wrote the rest before it. */
	a = segment_area(seg, i, l->area_ino);
	if (a == NULL)
		return -EPROTO;
	w->pid = pid;
	w->slot = l->slot;
	w->started_ms = l->started_ms;
	w->restarts = l->restarts;
	w->retiring = l->retiring;
	w->engine = l->engine;
	w->generation = atomic_load_explicit(&a->generation, memory_order_relaxed);
	w->active = atomic_load_explicit(&a->active, memory_order_relaxed);
	w->in_hello = atomic_load_explicit(&a->in_hello, memory_order_relaxed);
	w->relaying = atomic_load_explicit(&a->relaying, memory_order_relaxed);
	w->ready = atomic_load_explicit(&a->ready, memory_order_relaxed);
	w->seen_ms = atomic_load_explicit(&a->seen_ms, memory_order_relaxed);
	snapshot_copy(&w->c, &a->c, sizeof(w->c));
	for (uint32_t e = 0; e < snap->route_count; e++)
		stats_entry_fold(&snap->route_sums[e], &a->routes[e], 1);
	for (uint32_t e = 0; e < snap->backend_count; e++)
		stats_entry_fold(&snap->backend_sums[e], &a->backends[e], 1);
	return 0;
}

/*
 * The live lines and their areas into snap->workers. A line whose area
 * cannot be mapped is left out and counted in areas_refused: if a fold
 * removed it meanwhile, fold_seq moved and the copy is taken again; if
 * not, its counts are not believable. 0, or -ENOSPC when more started than
 * snap->workers has room for.
 */
static int
snapshot_copy_lines(struct snapshot *snap, struct segment *seg)
{
	uint32_t n = 0, pid;

	for (uint32_t i = 0; i < STATS_LINES; i++) {
		pid = atomic_load_explicit(&seg->stats.lines[i].pid, memory_order_acquire);
		if (pid == 0) {
			/* Its worker is gone (the master clears area_ino): let its area go. */
			if (seg->areas[i].map != NULL &&
			    seg->areas[i].ino != seg->stats.lines[i].area_ino)
				segment_area_drop(seg, i);
			continue;
		}
		if (n == snap->worker_room)
			return -ENOSPC;
		if (snapshot_copy_worker(snap, seg, i, pid, &snap->workers[n]) == 0)
			n++;
		else
			snap->areas_refused++;
	}
	snap->worker_count = n;
	return 0;
}

/*
 * The header (with `retired`), the entries, the live lines and their
 * areas, copied while no exited worker was being folded: then every count
 * is either in its area or in `retired`, never in both or neither. 0,
 * -EAGAIN or -ENOMEM.
 */
static int
snapshot_copy_folded(struct snapshot *snap, struct segment *seg)
{
	const struct stats_header *hdr = seg->stats.hdr;
	uint32_t seq;

	for (int try = 0; try < SNAPSHOT_TRIES; try++) {
		if (try > 0)
			usleep(SNAPSHOT_RETRY_US);
		seq = atomic_load_explicit(&hdr->fold_seq, memory_order_acquire);
		if (seq & 1)
			continue;
		snapshot_copy(&snap->hdr, hdr, sizeof(snap->hdr));
		snap->areas_refused = 0;
		atomic_thread_fence(memory_order_acquire);	/* names before their counts */
		if (snapshot_copy_entries(snap, &seg->stats) != 0)
			return -ENOMEM;
		if (snapshot_copy_lines(snap, seg) != 0) {
			if (snapshot_room(snap, STATS_LINES) != 0)
				return -ENOMEM;
			continue;	/* workers started meanwhile: copy again with room for all */
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&hdr->fold_seq, memory_order_relaxed) == seq)
			return 0;
	}
	return -EAGAIN;
}

/* By slot; in a slot the oldest first (a retiring worker, then its successor). */
static int
snapshot_worker_order(const void *a, const void *b)
{
	const struct snapshot_worker *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->started_ms != y->started_ms)
		return x->started_ms < y->started_ms ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void
snapshot_sum(struct snapshot *snap)
{
	memcpy(&snap->totals, &snap->hdr.retired, sizeof(snap->totals));
	for (uint32_t i = 0; i < snap->worker_count; i++) {
		const struct snapshot_worker *w = &snap->workers[i];

		stats_counters_fold(&snap->totals, &w->c);
		snap->active += w->active;
		snap->in_hello += w->in_hello;
		snap->relaying += w->relaying;
		snap->retiring += w->retiring != 0;
	}
}

int
snapshot_take(struct snapshot *snap, struct segment *seg)
{
	int rc;

	memset(snap, 0, sizeof(*snap));
	snprintf(snap->segment, sizeof(snap->segment), "%s", seg->stats.name);
	rc = snapshot_room(snap, snapshot_count_lines(&seg->stats) + SNAPSHOT_LINES_SLACK);
	if (rc != 0)
		goto bad;
	snap->taken_ms = clock_wall_ms();
	snap->taken_mono_ns = clock_read_ns(CLOCK_MONOTONIC);
	rc = snapshot_copy_folded(snap, seg);
	if (rc != 0)
		goto bad;
	snap->hdr.last_reload_message[STATS_MESSAGE_MAX - 1] = '\0';
	qsort(snap->workers, snap->worker_count, sizeof(*snap->workers), snapshot_worker_order);
	snapshot_sum(snap);
	return 0;
bad:
	snapshot_free(snap);
	return rc;
}

void
snapshot_free(struct snapshot *snap)
{
	free(snap->workers);
	free(snap->routes);
	free(snap->backends);
	free(snap->route_sums);
	free(snap->backend_sums);
	snap->workers = NULL;
	snap->routes = NULL;
	snap->backends = NULL;
	snap->route_sums = snap->backend_sums = NULL;
	snap->worker_count = snap->worker_room = snap->route_count = snap->backend_count = 0;
	snap->entry_room = 0;
}

uint32_t
snapshot_entry_count(const struct snapshot *snap, enum snapshot_table table)
{
	return table == SNAPSHOT_ROUTES ? snap->route_count : snap->backend_count;
}

int
snapshot_entry(const struct snapshot *snap, enum snapshot_table table, uint32_t i,
    struct snapshot_entry *e)
{
	if (table == SNAPSHOT_ROUTES) {
		const struct stats_entry *r = &snap->route_sums[i];

		*e = (struct snapshot_entry){ snap->routes[i].pattern, snap->routes[i].in_use,
		    r->connections, r->active, r->bytes_in, r->bytes_out, r->connect_failures, 0, 0, 0,
		    .balance = snap->routes[i].balance };
	} else {
		const struct stats_entry *b = &snap->backend_sums[i];

		const struct stats_backend *sb = &snap->backends[i];

		*e = (struct snapshot_entry){ sb->addr, sb->in_use,
		    b->connections, b->active, b->bytes_in, b->bytes_out, b->connect_failures,
		    b->connect_timeouts, b->down, b->went_down, sb->weight, sb->check_state,
		    sb->checks_ok, sb->checks_failed, sb->check_changed_ms, 0 };
	}
	return i != STATS_OTHER || e->connections != 0 || e->active != 0 || e->bytes_in != 0 ||
	    e->bytes_out != 0 || e->connect_failures != 0 || e->connect_timeouts != 0 ||
	    e->went_down != 0;
}

const char *
snapshot_backend_state(const struct snapshot_entry *e)
{
	if (!e->in_use)
		return "-";
	if (e->check_state == STATS_CHECK_DOWN)
		return "down";
	if (e->weight == 0)
		return "draining";
	if (e->check_state == STATS_CHECK_UP)
		return "up";
	return e->down != 0 ? "down" : "unchecked";
}

const char *
snapshot_balance_name(uint64_t balance)
{
	static const char *const names[ROUTES_BALANCE_COUNT] = {
		[ROUTES_BALANCE_ROUNDROBIN] = "roundrobin",
		[ROUTES_BALANCE_LEASTCONN] = "leastconn",
		[ROUTES_BALANCE_RANDOM2] = "random2",
	};

	return balance < ROUTES_BALANCE_COUNT ? names[balance] : "unknown";
}

const struct snapshot_worker *
snapshot_find_worker(const struct snapshot *snap, uint32_t pid)
{
	for (uint32_t i = 0; i < snap->worker_count; i++)
		if (snap->workers[i].pid == pid)
			return &snap->workers[i];
	return NULL;
}

uint64_t
snapshot_age_ms(const struct snapshot *snap, uint64_t then_ms)
{
	return snap->taken_ms > then_ms ? snap->taken_ms - then_ms : 0;
}

/* The sum of count shared counters. */
static uint64_t
snapshot_add_up(const _Atomic uint64_t *v, unsigned count)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < count; i++)
		n += v[i];
	return n;
}

uint64_t
snapshot_closes(const struct stats_counters *c)
{
	return snapshot_add_up(c->closes, CLOSE_REASON_COUNT);
}

uint64_t
snapshot_hist_count(const struct stats_hist *h)
{
	return snapshot_add_up(h->buckets, STATS_HIST_BUCKETS);
}

double
snapshot_hist_quantile(const struct stats_hist *h, enum stats_hist_kind kind, double q,
    int *above)
{
	uint64_t total = snapshot_hist_count(h), cum = 0;
	double rank = q * (double)total, lower, upper;

	*above = 0;
	for (unsigned i = 0; i < STATS_HIST_BUCKETS && total > 0; i++) {
		uint64_t n = h->buckets[i];

		if (n > 0 && (double)(cum + n) >= rank) {
			lower = i == 0 ? 0 : (double)stats_hist_bound(kind, i - 1);
			if (i + 1 == STATS_HIST_BUCKETS) {
				*above = 1;
				return lower;
			}
			upper = (double)stats_hist_bound(kind, i);
			return lower + (upper - lower) * (rank - (double)cum) / (double)n;
		}
		cum += n;
	}
	return -1;
}
