/*
 * stats_tool_test.c -- guards passthrough-stats (tools/stats/): a real
 * segment and real worker areas filled through the fields the master and
 * the workers write, then the snapshot (totals = retired + live areas, the
 * seqlock, areas that are not the ones their lines name), the JSON, the
 * Prometheus text (checked by a grammar checker below), the --watch rates,
 * the refusal of foreign segments, and --serve over a real socket.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grid.h"
#include "human.h"
#include "path.h"
#include "render.h"
#include "routes.h"
#include "segment.h"
#include "serve.h"
#include "sha256.h"
#include "snapshot.h"
#include "stats.h"
#include "textbuf.h"
#include "top.h"

/* The fixture's known values. */
#define MASTER_PID	4242u
#define STARTED_MS	1700000000123ull	/* prometheus: 1700000000.123 */
#define RELOAD_MS	1700000100500ull
#define RELOAD_MESSAGE	"passthrough.conf:12: routes[2]: bad \"x\""
/* The configuration serving is "abc", the one the failed reload read is "". */
#define SHA_SERVING	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_REFUSED	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ROUTE_APP	1u
#define ROUTE_WEIRD	2u
#define ROUTE_WEIRD_PATTERN "esc\"ape\\me\nnow"	/* every character labels must escape */
#define BACKEND_V4	1u
#define BACKEND_V6	2u
#define LINE_A		0u	/* pid 1001, slot 0 */
#define LINE_B		5u	/* pid 1002, slot 1 */
#define LINE_OLD	9u	/* pid 999, slot 0, draining */
#define LINE_GHOST	3u	/* pid 0: a free line with leftovers, never counted */
#define LINE_NEW	7u	/* pid 1003: born between two snapshots */
#define PID_A		1001u
#define PID_B		1002u
#define PID_OLD		999u
#define PID_NEW		1003u
#define GHOST_COUNT	987654321u	/* in a free line: must appear nowhere */
#define GHOST_TEXT	"987654321"
#define HUGE_HELLO	(1ull << 40)	/* lands in the +Inf bucket */

/* Expected totals: retired + lines A, B, OLD. */
#define TOTAL_ACCEPTED	207u	/* 100 + 40 + 60 + 7 */
#define TOTAL_BYTES_IN	2070u	/* 1000 + 400 + 600 + 70 */
#define TOTAL_BYTES_OUT	4140u
#define TOTAL_NORMAL	183u	/* 90 + 37 + 50 + 6 */

#define MIB		(1024u * 1024u)
#define IO_TIMEOUT_S	5	/* client side of the --serve test */
#define RESPONSE_MAX	(1u << 20)
#define OVERSIZED	9000u	/* a header line past SERVE_REQUEST_MAX */
#define WAIT_STEP_US	1000u

static struct stats seg;
static struct stats_area *areas[STATS_LINES];	/* made as the master makes them, read-write */
static struct segment reader;			/* the tool's view of seg (hdr NULL: unused) */
static char seg_name[SEGMENT_NAME_MAX];
static char extra_name[SEGMENT_NAME_MAX];	/* a hand-made segment to unlink */
static int seg_seq;

static void
name_next(char *buf, size_t size)
{
	snprintf(buf, size, "/pt-test-%d-%d", (int)getpid(), seg_seq++);
}

static void
setup(void)
{
	name_next(seg_name, sizeof(seg_name));
	cr_assert_eq(stats_create(&seg, seg_name, (uint32_t)-1), 0, "stats_create: %s",
	    strerror(errno));
}

/* Line's area, made (as counters_worker_start does) the first time it is asked for. */
static struct stats_area *
area(uint32_t line)
{
	uint64_t ino;
	int fd;

	if (areas[line] != NULL)
		return areas[line];
	fd = stats_area_create(seg_name, line, (uint32_t)-1, &ino);
	cr_assert(fd >= 0, "stats_area_create: %s", strerror(-fd));
	areas[line] = stats_area_map(fd, 1);
	close(fd);
	cr_assert_not_null(areas[line]);
	seg.lines[line].area_ino = ino;
	return areas[line];
}

/* Line's area gone, as the master removes it after the fold. */
static void
area_drop(uint32_t line)
{
	char name[STATS_AREA_NAME_MAX];

	if (areas[line] == NULL)
		return;
	stats_area_unmap(areas[line]);
	areas[line] = NULL;
	stats_area_name(name, sizeof(name), seg_name, line);
	shm_unlink(name);
}

static void
teardown(void)
{
	if (reader.stats.hdr != NULL)
		segment_close(&reader);
	for (uint32_t i = 0; i < STATS_LINES; i++)
		area_drop(i);
	stats_close(&seg);
	if (extra_name[0] != '\0')
		shm_unlink(extra_name);
}

TestSuite(stats_tool, .init = setup, .fini = teardown, .timeout = 60);

/* --- filling the segment as the master and the workers do --- */

/* A worker on line: its area made, its line filled, the pid last (counters_worker_forked). */
static struct stats_area *
line_start(uint32_t line, uint32_t pid, uint32_t slot, uint64_t started_ms)
{
	struct stats_line *l = &seg.lines[line];
	struct stats_area *a = area(line);

	l->slot = slot;
	l->started_ms = started_ms;
	atomic_store_explicit(&l->pid, pid, memory_order_release);
	return a;
}

static void
count(struct stats_counters *c, uint64_t accepted, uint64_t in, uint64_t out)
{
	STATS_ADD(c->accepted, accepted);
	STATS_ADD(c->bytes_in, in);
	STATS_ADD(c->bytes_out, out);
}

static void
fill_master(void)
{
	struct stats_header *h = seg.hdr;

	h->master_pid = MASTER_PID;
	h->workers = 2;
	h->started_ms = STARTED_MS;
	atomic_store(&h->generation, 7);
	atomic_store(&h->reloads_ok, 3);
	atomic_store(&h->reloads_failed, 1);
	atomic_store(&h->last_reload_ms, RELOAD_MS);
	atomic_store(&h->last_reload_ok, 0);
	snprintf(h->last_reload_message, sizeof(h->last_reload_message), "%s", RELOAD_MESSAGE);
	sha256_digest("abc", 3, h->config_sha256);
	sha256_digest("", 0, h->last_reload_sha256);
	/* Workers that exited before, folded in. */
	count(&h->retired, 100, 1000, 2000);
	STATS_ADD(h->retired.accept_errors, 2);
	STATS_ADD(h->retired.proxy_headers, 4);
	STATS_ADD(h->retired.bytes_spliced, 2500);
	STATS_ADD(h->retired.bytes_copied, 500);
	STATS_ADD(h->retired.closes[CLOSE_NORMAL], 90);
	STATS_ADD(h->retired.closes[CLOSE_HELLO_TIMEOUT], 10);
	stats_hist_add(&h->retired.hist[STATS_HIST_HELLO_BYTES], STATS_HIST_HELLO_BYTES, HUGE_HELLO);
}

static void
fill_workers(void)
{
	struct stats_area *w;

	w = line_start(LINE_A, PID_A, 0, STARTED_MS + 50000);
	seg.lines[LINE_A].restarts = 1;
	STATS_ADD(w->generation, 7);
	STATS_ADD(w->active, 3);
	STATS_ADD(w->in_hello, 1);
	STATS_ADD(w->relaying, 2);
	count(&w->c, 40, 400, 800);
	STATS_ADD(w->c.bytes_spliced, 1000);
	STATS_ADD(w->c.bytes_copied, 200);
	STATS_ADD(w->c.closes[CLOSE_NORMAL], 37);
	stats_hist_add(&w->c.hist[STATS_HIST_HELLO_BYTES], STATS_HIST_HELLO_BYTES, 100);
	stats_hist_add(&w->c.hist[STATS_HIST_HELLO_BYTES], STATS_HIST_HELLO_BYTES, 300);
	stats_hist_add(&w->c.hist[STATS_HIST_HELLO_BYTES], STATS_HIST_HELLO_BYTES, 5000);
	stats_hist_add(&w->c.hist[STATS_HIST_CONNECT_US], STATS_HIST_CONNECT_US, 20);
	stats_hist_add(&w->c.hist[STATS_HIST_CONNECT_US], STATS_HIST_CONNECT_US, 1000);
	stats_hist_add(&w->c.hist[STATS_HIST_DURATION_MS], STATS_HIST_DURATION_MS, 5);
	stats_hist_add(&w->c.hist[STATS_HIST_DURATION_MS], STATS_HIST_DURATION_MS, 3000);

	w = line_start(LINE_B, PID_B, 1, STARTED_MS + 60000);
	seg.lines[LINE_B].engine = STATS_ENGINE_EPOLL;	/* the others: io_uring (0) */
	STATS_ADD(w->generation, 7);
	STATS_ADD(w->active, 5);
	STATS_ADD(w->relaying, 5);
	count(&w->c, 60, 600, 1200);
	STATS_ADD(w->c.closes[CLOSE_NORMAL], 50);
	STATS_ADD(w->c.closes[CLOSE_CLIENT_RESET], 5);

	w = line_start(LINE_OLD, PID_OLD, 0, STARTED_MS + 10000);
	seg.lines[LINE_OLD].retiring = 1;
	STATS_ADD(w->generation, 6);
	STATS_ADD(w->active, 1);
	STATS_ADD(w->relaying, 1);
	count(&w->c, 7, 70, 140);
	STATS_ADD(w->c.closes[CLOSE_NORMAL], 6);

	/* A free line: whatever its area holds is not a worker's. */
	STATS_ADD(area(LINE_GHOST)->c.accepted, GHOST_COUNT);
	STATS_ADD(area(LINE_GHOST)->routes[ROUTE_APP].connections, GHOST_COUNT);
}

/* Adds to an entry: connections, bytes in and out, connect failures. */
static void
entry_count(struct stats_entry *e, uint64_t connections, uint64_t in, uint64_t out,
    uint64_t failures)
{
	STATS_ADD(e->connections, connections);
	STATS_ADD(e->bytes_in, in);
	STATS_ADD(e->bytes_out, out);
	STATS_ADD(e->connect_failures, failures);
}

static void
fill_entries(void)
{
	struct stats_route *r;
	struct stats_backend *b;
	struct stats_entry *e;

	/* Each entry: what exited workers counted (the master's) + what live areas count. */
	r = &seg.routes[ROUTE_APP];
	snprintf(r->pattern, sizeof(r->pattern), "app.example.com");
	atomic_store(&r->in_use, 1);
	atomic_store(&r->balance, ROUTES_BALANCE_LEASTCONN);
	entry_count(&r->retired, 5, 200, 400, 1);
	e = &area(LINE_A)->routes[ROUTE_APP];
	entry_count(e, 4, 300, 500, 0);
	STATS_ADD(e->active, 2);
	STATS_ADD(area(LINE_B)->routes[ROUTE_APP].connections, 2);	/* 11 in all */
	r = &seg.routes[ROUTE_WEIRD];
	snprintf(r->pattern, sizeof(r->pattern), "%s", ROUTE_WEIRD_PATTERN);
	STATS_ADD(r->retired.connections, 2);
	/* Past the entries in use: never read. */
	STATS_ADD(area(LINE_A)->routes[3].connections, GHOST_COUNT);
	atomic_store(&seg.hdr->route_count, 3);

	b = &seg.backends[BACKEND_V4];
	snprintf(b->addr, sizeof(b->addr), "127.0.0.1:9443");
	atomic_store(&b->in_use, 1);
	entry_count(&b->retired, 6, 450, 850, 1);
	e = &area(LINE_OLD)->backends[BACKEND_V4];
	entry_count(e, 4, 0, 0, 0);
	STATS_ADD(e->active, 2);
	STATS_ADD(e->connect_timeouts, 1);
	STATS_ADD(e->down, 1);			/* this worker holds it down */
	STATS_ADD(e->went_down, 1);
	STATS_ADD(b->retired.went_down, 2);	/* exited workers did, twice */
	/* Checked by the master: down 20 s before the table's "now" (STARTED_MS + 170 s). */
	atomic_store(&b->weight, 3);
	atomic_store(&b->check_state, STATS_CHECK_DOWN);
	atomic_store(&b->checks_ok, 12);
	atomic_store(&b->checks_failed, 4);
	atomic_store(&b->check_changed_ms, STARTED_MS + 150000);
	atomic_store(&b->check_rise, 2);
	atomic_store(&b->check_fall, 3);
	b = &seg.backends[BACKEND_V6];
	snprintf(b->addr, sizeof(b->addr), "[::1]:9444");
	atomic_store(&b->in_use, 1);
	atomic_store(&b->weight, 0);	/* drained, not checked */
	STATS_ADD(area(LINE_B)->backends[BACKEND_V6].connections, 3);
	atomic_store(&seg.hdr->backend_count, 3);
}

static void
fill(void)
{
	fill_master();
	fill_workers();
	fill_entries();
}

/* The inside of the master's fold of line's area (counters_fold), without the seqlock. */
static void
fold_counts(uint32_t line)
{
	const struct stats_area *a = area(line);

	stats_counters_fold(&seg.hdr->retired, &a->c);
	for (uint32_t i = 0; i < seg.hdr->route_count; i++)
		stats_entry_fold(&seg.routes[i].retired, &a->routes[i], 0);
	for (uint32_t i = 0; i < seg.hdr->backend_count; i++)
		stats_entry_fold(&seg.backends[i].retired, &a->backends[i], 0);
	atomic_store_explicit(&seg.lines[line].pid, 0, memory_order_relaxed);
}

/* The master's fold of an exited worker (counters_worker_exit), seqlock and all. */
static void
fold_line(uint32_t line)
{
	atomic_fetch_add_explicit(&seg.hdr->fold_seq, 1, memory_order_acq_rel);
	fold_counts(line);
	atomic_fetch_add_explicit(&seg.hdr->fold_seq, 1, memory_order_acq_rel);
	area_drop(line);
}

/* passthrough-stats' segment of seg, opened the first time. */
static struct segment *
reader_of(void)
{
	const char *why;
	int rc;

	if (reader.stats.hdr == NULL) {
		rc = segment_open(&reader, seg_name, &why);
		cr_assert_eq(rc, 0, "segment_open: %s", why != NULL ? why : strerror(-rc));
	}
	return &reader;
}

static void
take(struct snapshot *snap)
{
	int rc = snapshot_take(snap, reader_of());

	cr_assert_eq(rc, 0, "snapshot_take: %s", strerror(-rc));
}

/* The text of out, asserted complete. */
static const char *
text_of(const struct textbuf *out)
{
	const char *t = textbuf_text(out);

	cr_assert_not_null(t, "the renderer's buffer failed");
	return t;
}

#define assert_has(text, needle) \
	cr_assert_not_null(strstr((text), (needle)), "missing: %s\n--- in:\n%s", (needle), (text))
#define assert_lacks(text, needle) \
	cr_assert_null(strstr((text), (needle)), "unexpected: %s\n--- in:\n%s", (needle), (text))

/* --- the snapshot --- */

Test(stats_tool, totals_are_retired_plus_live_lines)
{
	struct snapshot snap;

	fill();
	take(&snap);
	cr_assert_eq(snap.worker_count, 3, "live lines: %u", snap.worker_count);
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED);
	cr_assert_eq(snap.totals.accept_errors, 2);
	cr_assert_eq(snap.totals.bytes_in, TOTAL_BYTES_IN);
	cr_assert_eq(snap.totals.bytes_out, TOTAL_BYTES_OUT);
	cr_assert_eq(snap.totals.bytes_spliced, 3500);
	cr_assert_eq(snap.totals.bytes_copied, 700);
	cr_assert_eq(snap.totals.closes[CLOSE_NORMAL], TOTAL_NORMAL);
	cr_assert_eq(snap.totals.closes[CLOSE_HELLO_TIMEOUT], 10);
	cr_assert_eq(snap.totals.closes[CLOSE_CLIENT_RESET], 5);
	cr_assert_eq(snapshot_hist_count(&snap.totals.hist[STATS_HIST_HELLO_BYTES]), 4);
	cr_assert_eq(snap.totals.hist[STATS_HIST_HELLO_BYTES].sum, 5400 + HUGE_HELLO);
	cr_assert_eq(snap.active, 9);
	cr_assert_eq(snap.in_hello, 1);
	cr_assert_eq(snap.relaying, 8);
	cr_assert_eq(snap.retiring, 1);
	/* By slot, the draining predecessor before its successor. */
	cr_assert_eq(snap.workers[0].pid, PID_OLD);
	cr_assert_eq(snap.workers[1].pid, PID_A);
	cr_assert_eq(snap.workers[2].pid, PID_B);
	cr_assert_eq(snap.route_count, 3);
	cr_assert_eq(snap.backend_count, 3);
	cr_assert_str_eq(snap.routes[ROUTE_APP].pattern, "app.example.com");
	cr_assert_str_eq(snap.hdr.last_reload_message, RELOAD_MESSAGE);
	cr_assert_str_eq(snap.segment, seg_name);
	snapshot_free(&snap);
}

Test(stats_tool, every_line_in_use_is_copied)
{
	struct snapshot snap;

	/* All STATS_LINES live: far beyond the room a snapshot starts with. */
	for (uint32_t i = 0; i < STATS_LINES; i++)
		STATS_ADD(line_start(i, PID_A + i, i % 4, STARTED_MS + i)->c.accepted, 2);
	take(&snap);
	cr_assert_eq(snap.worker_count, STATS_LINES);
	cr_assert_eq(snap.totals.accepted, 2 * STATS_LINES);
	cr_assert_eq(snap.workers[0].slot, 0);
	cr_assert_eq(snap.workers[STATS_LINES - 1].slot, 3, "sorted by slot");
	snapshot_free(&snap);
}

Test(stats_tool, snapshot_refused_while_fold_seq_stays_odd)
{
	struct snapshot snap;

	fill();
	atomic_store(&seg.hdr->fold_seq, 1);	/* a master that died mid-fold */
	cr_assert_eq(snapshot_take(&snap, reader_of()), -EAGAIN);
	cr_assert_null(snap.workers, "a refused snapshot keeps nothing");
	atomic_store(&seg.hdr->fold_seq, 2);
	take(&snap);
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED);
	snapshot_free(&snap);
}

static void *
finish_fold_later(void *arg)
{
	(void)arg;
	usleep(5 * WAIT_STEP_US);	/* the reader is retrying by now */
	fold_counts(LINE_B);
	atomic_fetch_add_explicit(&seg.hdr->fold_seq, 1, memory_order_acq_rel);
	area_drop(LINE_B);
	return NULL;
}

Test(stats_tool, snapshot_retries_until_the_fold_is_done)
{
	struct snapshot snap;
	pthread_t t;

	fill();
	atomic_fetch_add(&seg.hdr->fold_seq, 1);	/* the master starts folding line B */
	cr_assert_eq(pthread_create(&t, NULL, finish_fold_later, NULL), 0);
	take(&snap);
	pthread_join(t, NULL);
	/* Line B's counts moved to retired: counted once, not twice or never. */
	cr_assert_eq(snap.worker_count, 2);
	cr_assert_null(snapshot_find_worker(&snap, PID_B));
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED);
	cr_assert_eq(snap.totals.bytes_out, TOTAL_BYTES_OUT);
	snapshot_free(&snap);
}

/* Worker A's counts: what a snapshot lacks when its area is refused. */
#define AREA_A_ACCEPTED	40u
#define AREA_A_ROUTE_APP 4u	/* connections of ROUTE_APP */

Test(stats_tool, an_area_that_is_not_the_one_its_line_names_is_left_out)
{
	struct snapshot_entry e;
	struct snapshot snap;

	fill();
	seg.lines[LINE_A].area_ino++;		/* the line names another object */
	take(&snap);
	cr_assert_eq(snap.areas_refused, 1);
	cr_assert_eq(snap.worker_count, 2);
	cr_assert_null(snapshot_find_worker(&snap, PID_A));
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED - AREA_A_ACCEPTED);
	snapshot_entry(&snap, SNAPSHOT_ROUTES, ROUTE_APP, &e);
	cr_assert_eq(e.connections, 11 - AREA_A_ROUTE_APP);
	snapshot_free(&snap);
	seg.lines[LINE_A].area_ino--;
	take(&snap);
	cr_assert_eq(snap.areas_refused, 0);
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED);
	snapshot_free(&snap);
}

Test(stats_tool, an_area_others_may_write_is_left_out)
{
	char name[STATS_AREA_NAME_MAX];
	struct snapshot snap;
	int fd;

	fill();
	stats_area_name(name, sizeof(name), seg_name, LINE_A);
	fd = shm_open(name, O_RDONLY, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(fchmod(fd, 0666), 0);	/* anyone could have written these counts */
	take(&snap);
	cr_assert_eq(snap.areas_refused, 1);
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED - AREA_A_ACCEPTED);
	snapshot_free(&snap);
	cr_assert_eq(fchmod(fd, 0640), 0);
	close(fd);
	take(&snap);
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED);
	snapshot_free(&snap);
}

Test(stats_tool, a_line_whose_area_is_gone_is_left_out)
{
	char name[STATS_AREA_NAME_MAX];
	struct snapshot snap;

	fill();
	stats_area_name(name, sizeof(name), seg_name, LINE_A);
	cr_assert_eq(shm_unlink(name), 0);	/* a copy of a live segment, its master gone */
	take(&snap);
	cr_assert_eq(snap.areas_refused, 1);
	cr_assert_eq(snap.worker_count, 2);
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED - AREA_A_ACCEPTED);
	snapshot_free(&snap);
}

Test(stats_tool, entry_counts_past_the_capacities_are_not_believed)
{
	struct snapshot snap;

	fill();
	atomic_store(&seg.hdr->route_count, UINT32_MAX);
	atomic_store(&seg.hdr->backend_count, UINT32_MAX);
	take(&snap);
	cr_assert_eq(snap.route_count, STATS_ROUTES);
	cr_assert_eq(snap.backend_count, STATS_BACKENDS);
	cr_assert_eq(snap.totals.accepted, TOTAL_ACCEPTED);
	snapshot_free(&snap);
}

/*
 * A master folding lines into `retired` (their workers exited) and taking
 * them back (new workers with the same counts), over and over: the total is
 * the same at every instant outside a fold.
 */
#define RACE_SNAPSHOTS	20000
#define RACE_PAUSE_US	20	/* between folds: most copies see none, some see one */
#define RACE_BLOCK	64u	/* lines at once: far more than a snapshot has room for */
#define RACE_BLOCK_LINE	100u
#define RACE_BLOCK_PID	5000u

struct race {
	uint32_t first, count;
	atomic_int stop;
};

/* Moves every line of r into retired (out) or back (!out), as one fold. */
static void
race_move(const struct race *r, int out)
{
	struct stats_header *h = seg.hdr;

	atomic_fetch_add_explicit(&h->fold_seq, 1, memory_order_acq_rel);
	for (uint32_t i = r->first; i < r->first + r->count; i++) {
		struct stats_area *w = areas[i];
		struct stats_line *l = &seg.lines[i];
		uint64_t n = out ? atomic_load(&w->c.accepted) : atomic_load(&w->c.accept_errors);

		/* accept_errors keeps, for the way back, what the area had. */
		if (out) {
			STATS_ADD(h->retired.accepted, n);
			atomic_store_explicit(&l->pid, 0, memory_order_relaxed);
			atomic_store(&w->c.accept_errors, n);
			STATS_SUB(w->c.accepted, n);
		} else {
			STATS_SUB(h->retired.accepted, n);
			STATS_ADD(w->c.accepted, n);
			atomic_store(&w->c.accept_errors, 0);
			atomic_store_explicit(&l->pid, RACE_BLOCK_PID + i, memory_order_relaxed);
		}
	}
	atomic_fetch_add_explicit(&h->fold_seq, 1, memory_order_acq_rel);
}

static void *
race_folds(void *arg)
{
	struct race *r = arg;

	prctl(PR_SET_TIMERSLACK, 1);	/* pauses of RACE_PAUSE_US, not the default 50 us more */
	while (!atomic_load(&r->stop)) {
		race_move(r, 1);
		usleep(RACE_PAUSE_US);
		race_move(r, 0);
		usleep(RACE_PAUSE_US);
	}
	return NULL;
}

/* Snapshots while r's lines come and go: none may be torn, most must succeed. */
static void
race_snapshots(struct race *r, uint64_t want)
{
	int ok = 0, torn = 0;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, race_folds, r), 0);
	for (int i = 0; i < RACE_SNAPSHOTS; i++) {
		struct snapshot snap;

		if (snapshot_take(&snap, reader_of()) != 0)
			continue;	/* refused: fine, never wrong */
		ok++;
		torn += snap.totals.accepted != want;
		snapshot_free(&snap);
	}
	atomic_store(&r->stop, 1);
	pthread_join(t, NULL);
	cr_assert_eq(torn, 0, "%d of %d snapshots counted a folding line twice or never", torn, ok);
	cr_assert_gt(ok, RACE_SNAPSHOTS / 2, "only %d snapshots succeeded", ok);
}

Test(stats_tool, snapshots_racing_folds_always_add_up)
{
	struct race r = { LINE_B, 1, 0 };

	fill();
	race_snapshots(&r, TOTAL_ACCEPTED);
}

Test(stats_tool, snapshots_racing_many_new_workers_always_add_up)
{
	struct race r = { RACE_BLOCK_LINE, RACE_BLOCK, 0 };

	fill();
	for (uint32_t i = RACE_BLOCK_LINE; i < RACE_BLOCK_LINE + RACE_BLOCK; i++)
		STATS_ADD(line_start(i, RACE_BLOCK_PID + i, 2, STARTED_MS)->c.accepted, 1);
	race_snapshots(&r, TOTAL_ACCEPTED + RACE_BLOCK);
}

Test(stats_tool, quantiles_interpolate_inside_buckets)
{
	struct stats_hist h;
	int above;

	memset(&h, 0, sizeof(h));
	cr_assert_lt(snapshot_hist_quantile(&h, STATS_HIST_DURATION_MS, 0.5, &above), 0,
	    "an empty histogram has no median");
	/* 10 values <= 1 ms, 10 in (4, 8] ms. */
	for (int i = 0; i < 10; i++) {
		stats_hist_add(&h, STATS_HIST_DURATION_MS, 1);
		stats_hist_add(&h, STATS_HIST_DURATION_MS, 6);
	}
	cr_assert_float_eq(snapshot_hist_quantile(&h, STATS_HIST_DURATION_MS, 0.25, &above), 0.5,
	    1e-9);
	cr_assert_float_eq(snapshot_hist_quantile(&h, STATS_HIST_DURATION_MS, 0.75, &above), 6.0,
	    1e-9);
	cr_assert_eq(above, 0);
	stats_hist_add(&h, STATS_HIST_DURATION_MS, UINT64_MAX / 2);
	cr_assert_float_eq(snapshot_hist_quantile(&h, STATS_HIST_DURATION_MS, 0.99, &above),
	    (double)stats_hist_bound(STATS_HIST_DURATION_MS, STATS_HIST_BUCKETS - 2), 1e-9);
	cr_assert_eq(above, 1, "the +Inf bucket reports its lower bound as a floor");
}

/* --- JSON --- */

/* A small JSON validator: value := object | array | string | number | literal. */
struct json_in {
	const char *p;
	int depth;
};

static int json_value(struct json_in *in);

static void
json_ws(struct json_in *in)
{
	while (*in->p == ' ' || *in->p == '\n' || *in->p == '\t' || *in->p == '\r')
		in->p++;
}

static int
json_string(struct json_in *in)
{
	if (*in->p++ != '"')
		return -1;
	for (; *in->p != '"'; in->p++) {
		if ((unsigned char)*in->p < 0x20)
			return -1;
		if (*in->p != '\\')
			continue;
		in->p++;
		if (*in->p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (strchr("0123456789abcdefABCDEF", in->p[i]) == NULL || in->p[i] == '\0')
					return -1;
			in->p += 4;
		} else if (*in->p == '\0' || strchr("\"\\/bfnrt", *in->p) == NULL) {
			return -1;
		}
	}
	in->p++;
	return 0;
}

static int
json_members(struct json_in *in, char close, int keyed)
{
	in->p++;
	json_ws(in);
	if (*in->p == close) {
		in->p++;
		return 0;
	}
	for (;;) {
		json_ws(in);
		if (keyed) {
			if (json_string(in) != 0)
				return -1;
			json_ws(in);
			if (*in->p++ != ':')
				return -1;
		}
		if (json_value(in) != 0)
			return -1;
		json_ws(in);
		if (*in->p == close) {
			in->p++;
			return 0;
		}
		if (*in->p++ != ',')
			return -1;
	}
}

static int
json_value(struct json_in *in)
{
	int rc;

	json_ws(in);
	if (++in->depth > 32)
		return -1;
	if (*in->p == '{')
		rc = json_members(in, '}', 1);
	else if (*in->p == '[')
		rc = json_members(in, ']', 0);
	else if (*in->p == '"')
		rc = json_string(in);
	else if (strncmp(in->p, "true", 4) == 0 || strncmp(in->p, "null", 4) == 0)
		rc = (in->p += 4, 0);
	else if (strncmp(in->p, "false", 5) == 0)
		rc = (in->p += 5, 0);
	else if (*in->p >= '0' && *in->p <= '9') {
		while (*in->p >= '0' && *in->p <= '9')
			in->p++;	/* integers only: the document promises no fractions */
		rc = 0;
	} else
		rc = -1;
	in->depth--;
	return rc;
}

static void
assert_json_valid(const char *text)
{
	struct json_in in = { text, 0 };

	cr_assert_eq(json_value(&in), 0, "invalid JSON near: %.60s", in.p);
	json_ws(&in);
	cr_assert_eq(*in.p, '\0', "text after the document: %.60s", in.p);
}

Test(stats_tool, json_validator_rejects_what_it_must)
{
	static const char *const bad[] = {
		"{\"a\": 1,}", "{\"a\" 1}", "[1 2]", "{\"a\": \"x\ny\"}", "{\"a\": 1.5}",
		"{\"a\": tru}", "\"\\q\"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_in in = { bad[i], 0 };
		int rc = json_value(&in);

		json_ws(&in);
		cr_assert(rc != 0 || *in.p != '\0', "accepted: %s", bad[i]);
	}
}

Test(stats_tool, json_has_every_key_with_its_value)
{
	struct snapshot snap;
	struct textbuf out;
	const char *t;

	fill();
	take(&snap);
	textbuf_init(&out);
	render_json(&out, &snap);
	t = text_of(&out);
	assert_json_valid(t);
	assert_has(t, "\"layout_version\": 9,");
	assert_has(t, "\"master_pid\": 4242,");
	assert_has(t, "\"started_ms\": 1700000000123,");
	assert_has(t, "\"workers_configured\": 2,");
	assert_has(t, "\"workers_running\": 3,");
	assert_has(t, "\"workers_draining\": 1,");
	assert_has(t, "\"generation\": 7,\n  \"config_sha256\": \"" SHA_SERVING "\",");
	assert_has(t, "\"reloads_ok\": 3,");
	assert_has(t, "\"reloads_failed\": 1,");
	assert_has(t, "\"last_reload_ms\": 1700000100500,");
	assert_has(t, "\"last_reload_ok\": false,");
	assert_has(t, "\"last_reload_message\": \"passthrough.conf:12: routes[2]: bad \\\"x\\\"\",\n"
	    "  \"last_reload_sha256\": \"" SHA_REFUSED "\",");
	assert_has(t, "\"totals\": {\n    \"accepted\": 207,\n    \"accept_errors\": 2,\n"
	    "    \"proxy_headers\": 4,\n    \"all_down\": 0,\n    \"bytes_in\": 2070,\n    \"bytes_out\": 4140,\n    \"bytes_spliced\": 3500,\n"
	    "    \"bytes_copied\": 700,\n    \"active\": 9,\n    \"in_hello\": 1,\n"
	    "    \"relaying\": 8,\n    \"closes\": {\n      \"normal\": 183,\n"
	    "      \"hello_timeout\": 10,");
	assert_has(t, "\"client_reset\": 5,");
	assert_has(t, "\"internal_error\": 0,");
	assert_has(t, "\"proxy_untrusted\": 0,");
	assert_has(t, "\"denied\": 0,");
	assert_has(t, "\"rejected\": 0,");
	assert_has(t, "\"route_full\": 0\n");
	assert_lacks(t, "\"none\"");
	assert_has(t, "\"hello_size_bytes\": {\n        \"count\": 4,\n        \"sum\": 1099511633176,");
	assert_has(t, "{\"le\": 64, \"count\": 0},\n          {\"le\": 128, \"count\": 1}");
	assert_has(t, "{\"le\": \"+Inf\", \"count\": 4}");
	assert_has(t, "\"connect_duration_us\": {\n        \"count\": 2,\n        \"sum\": 1020,");
	assert_has(t, "\"connection_duration_ms\": {\n        \"count\": 2,\n        \"sum\": 3005,");
	assert_has(t, "\"slot\": 0,\n      \"pid\": 1001,");
	assert_has(t, "\"pid\": 999,");
	assert_has(t, "\"draining\": true,\n      \"engine\": \"io_uring\",");
	assert_has(t, "\"pid\": 1002,");
	assert_has(t, "\"engine\": \"epoll\",");
	assert_lacks(t, GHOST_TEXT);	/* the free line */
	assert_has(t, "{\"route\": \"app.example.com\", \"in_use\": true, \"connections\": 11, "
	    "\"active\": 2, \"bytes_in\": 500, \"bytes_out\": 900, \"connect_failures\": 1, "
	    "\"balance\": \"leastconn\"}");
	assert_has(t, "{\"route\": \"esc\\\"ape\\\\me\\nnow\", \"in_use\": false, \"connections\": 2,");
	assert_has(t, "{\"backend\": \"127.0.0.1:9443\", \"in_use\": true, \"connections\": 10, "
	    "\"active\": 2, \"bytes_in\": 450, \"bytes_out\": 850, \"connect_failures\": 1, "
	    "\"connect_timeouts\": 1, \"down_workers\": 1, \"went_down\": 3, \"state\": \"down\", "
	    "\"weight\": 3, \"checks_passed\": 12, \"checks_failed\": 4, "
	    "\"check_changed_ms\": 1700000150123}");
	assert_has(t, "\"backend\": \"[::1]:9444\"");
	assert_has(t, "\"went_down\": 0, \"state\": \"draining\", \"weight\": 0, "
	    "\"checks_passed\": 0, \"checks_failed\": 0, \"check_changed_ms\": 0}");
	assert_lacks(t, "(other)");
	textbuf_free(&out);
	snapshot_free(&snap);
}

Test(stats_tool, json_says_null_for_the_result_of_no_reload)
{
	struct snapshot snap;
	struct textbuf out;

	take(&snap);	/* a fresh segment: never reloaded */
	textbuf_init(&out);
	render_json(&out, &snap);
	assert_json_valid(text_of(&out));
	assert_has(text_of(&out), "\"last_reload_ms\": 0,\n  \"last_reload_ok\": null,");
	assert_has(text_of(&out), "\"config_sha256\": null,");
	assert_has(text_of(&out), "\"last_reload_sha256\": null,");
	assert_has(text_of(&out), "\"workers\": [],");
	assert_has(text_of(&out), "\"routes\": [],");
	textbuf_reset(&out);
	render_prom(&out, &snap);
	assert_has(text_of(&out), "\npassthrough_last_reload_success 1\n");
	assert_lacks(text_of(&out), "passthrough_config_info");
	textbuf_free(&out);
	snapshot_free(&snap);
}

Test(stats_tool, json_strings_are_escaped_and_utf8)
{
	struct textbuf out;

	textbuf_init(&out);
	render_json_string(&out, "a\"b\\c\nd\te\x01 caf\xc3\xa9 \xff!");
	cr_assert_str_eq(text_of(&out), "\"a\\\"b\\\\c\\nd\\te\\u0001 caf\xc3\xa9 \\ufffd!\"");
	textbuf_free(&out);
}

/* --- Prometheus --- */

#define PROM_FAMILIES_MAX	128
#define PROM_NAME_MAX		128
#define PROM_SERIES_MAX		4096
#define PROM_LINE_MAX		1024

struct prom_family {
	char name[PROM_NAME_MAX];
	char type[16];
	int help, samples;
};

/* Histogram state of one label set: the last bucket seen. */
struct prom_hist {
	char family[PROM_NAME_MAX];
	char labels[PROM_LINE_MAX];	/* without le */
	double last_le, last_count;
	int buckets, inf_seen;
	double inf_count;
};

struct prom_check {
	struct prom_family fam[PROM_FAMILIES_MAX];
	int nfam, current;			/* the family whose samples come now */
	char *series[PROM_SERIES_MAX];
	int nseries;
	struct prom_hist hist[PROM_FAMILIES_MAX];
	int nhist;
	char err[PROM_LINE_MAX * 2];
};

static int
prom_fail(struct prom_check *pc, const char *line, const char *why)
{
	snprintf(pc->err, sizeof(pc->err), "%s: \"%s\"", why, line);
	return -1;
}

static size_t
prom_name_len(const char *p)
{
	size_t n = 0;

	if (!((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '_' ||
	    p[0] == ':'))
		return 0;
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_' ||
	    p[n] == ':' || (p[n] >= '0' && p[n] <= '9'))
		n++;
	return n;
}

static struct prom_family *
prom_family(struct prom_check *pc, const char *name, size_t len)
{
	for (int i = 0; i < pc->nfam; i++)
		if (strlen(pc->fam[i].name) == len && strncmp(pc->fam[i].name, name, len) == 0)
			return &pc->fam[i];
	return NULL;
}

static int
prom_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* "# HELP name text" or "# TYPE name type". */
static int
prom_comment(struct prom_check *pc, const char *line)
{
	int is_type = strncmp(line, "# TYPE ", 7) == 0;
	const char *name = line + 7;
	size_t len = prom_name_len(name);
	struct prom_family *f;

	if (!is_type && strncmp(line, "# HELP ", 7) != 0)
		return prom_fail(pc, line, "a comment other than HELP or TYPE");
	if (len == 0 || name[len] != ' ' || name[len + 1] == '\0')
		return prom_fail(pc, line, "no name and text");
	f = prom_family(pc, name, len);
	if (f == NULL) {
		cr_assert_lt(pc->nfam, PROM_FAMILIES_MAX);
		f = &pc->fam[pc->nfam++];
		memcpy(f->name, name, len);
	}
	if (f->samples > 0)
		return prom_fail(pc, line, "HELP/TYPE after the family's samples");
	if (!is_type) {
		if (f->help++)
			return prom_fail(pc, line, "a second HELP");
		for (const char *p = name + len + 1; *p != '\0'; p++)
			if (*p == '\\' && p[1] != '\\' && p[1] != 'n')
				return prom_fail(pc, line, "a bad escape in HELP");
		return 0;
	}
	if (f->type[0] != '\0')
		return prom_fail(pc, line, "a second TYPE");
	snprintf(f->type, sizeof(f->type), "%s", name + len + 1);
	if (strcmp(f->type, "counter") != 0 && strcmp(f->type, "gauge") != 0 &&
	    strcmp(f->type, "histogram") != 0)
		return prom_fail(pc, line, "an unknown type");
	if (strcmp(f->type, "counter") == 0 && !prom_ends_with(f->name, "_total"))
		return prom_fail(pc, line, "a counter not ending in _total");
	pc->current = (int)(f - pc->fam);
	return 0;
}

/* {name="value",...}: escapes \\ \" \n only. Copies labels other than le into rest. */
static int
prom_labels(struct prom_check *pc, const char *line, const char **p, char *rest, char *le)
{
	size_t rl = 0;

	rest[0] = le[0] = '\0';
	if (**p != '{')
		return 0;
	(*p)++;
	while (**p != '}') {
		size_t n = prom_name_len(*p), vl = 0;
		int is_le = n == 2 && strncmp(*p, "le", 2) == 0;
		char value[PROM_LINE_MAX];

		if (n == 0 || (*p)[n] != '=' || (*p)[n + 1] != '"')
			return prom_fail(pc, line, "a bad label");
		if (!is_le)
			rl += (size_t)snprintf(rest + rl, PROM_LINE_MAX - rl, "%.*s=", (int)n, *p);
		*p += n + 2;
		for (; **p != '"'; (*p)++) {
			if (**p == '\0' || **p == '\n')
				return prom_fail(pc, line, "an unterminated label value");
			if (**p == '\\') {
				(*p)++;
				if (**p != '\\' && **p != '"' && **p != 'n')
					return prom_fail(pc, line, "a bad escape in a label value");
			}
			value[vl++] = **p;
		}
		value[vl] = '\0';
		if (is_le && vl >= PROM_NAME_MAX)
			return prom_fail(pc, line, "an le too long to be a number");
		if (is_le)
			memcpy(le, value, vl + 1);
		else
			rl += (size_t)snprintf(rest + rl, PROM_LINE_MAX - rl, "%s,", value);
		(*p)++;
		if (**p == ',')
			(*p)++;
		else if (**p != '}')
			return prom_fail(pc, line, "labels not separated by commas");
	}
	(*p)++;
	return 0;
}

static struct prom_hist *
prom_hist_of(struct prom_check *pc, const char *family, const char *labels)
{
	for (int i = 0; i < pc->nhist; i++)
		if (strcmp(pc->hist[i].family, family) == 0 && strcmp(pc->hist[i].labels, labels) == 0)
			return &pc->hist[i];
	cr_assert_lt(pc->nhist, PROM_FAMILIES_MAX);
	snprintf(pc->hist[pc->nhist].family, PROM_NAME_MAX, "%s", family);
	snprintf(pc->hist[pc->nhist].labels, PROM_LINE_MAX, "%s", labels);
	pc->hist[pc->nhist].last_le = -1;
	return &pc->hist[pc->nhist++];
}

/* Bucket order, cumulative counts, +Inf last and equal to _count. */
static int
prom_hist_sample(struct prom_check *pc, const char *line, const struct prom_family *f,
    const char *suffix, const char *labels, const char *le, double v)
{
	struct prom_hist *h = prom_hist_of(pc, f->name, labels);
	double bound;
	char *end;

	if (strcmp(suffix, "_bucket") == 0) {
		if (le[0] == '\0' || h->inf_seen)
			return prom_fail(pc, line, "a bucket without le, or after +Inf");
		bound = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, &end);
		if (!isinf(bound) && *end != '\0')
			return prom_fail(pc, line, "le is not a number");
		if (bound <= h->last_le || v < h->last_count)
			return prom_fail(pc, line, "buckets not increasing or not cumulative");
		h->last_le = bound;
		h->last_count = v;
		h->buckets++;
		if (isinf(bound)) {
			h->inf_seen = 1;
			h->inf_count = v;
		}
		return 0;
	}
	if (le[0] != '\0')
		return prom_fail(pc, line, "le outside a bucket");
	if (strcmp(suffix, "_count") == 0 && (!h->inf_seen || h->inf_count != v))
		return prom_fail(pc, line, "_count is not the +Inf bucket");
	return 0;
}

/* The family of a sample name; suffix gets "_bucket"/"_sum"/"_count" or "". */
static struct prom_family *
prom_sample_family(struct prom_check *pc, const char *name, size_t len, const char **suffix)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	struct prom_family *f = prom_family(pc, name, len);

	*suffix = "";
	if (f != NULL && strcmp(f->type, "histogram") != 0)
		return f;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && strncmp(name + len - sl, suffixes[i], sl) == 0) {
			f = prom_family(pc, name, len - sl);
			if (f != NULL && strcmp(f->type, "histogram") == 0) {
				*suffix = suffixes[i];
				return f;
			}
		}
	}
	return NULL;
}

static int
prom_sample(struct prom_check *pc, const char *line)
{
	size_t len = prom_name_len(line);
	char rest[PROM_LINE_MAX], le[PROM_NAME_MAX], *end;
	const char *p = line + len, *suffix;
	struct prom_family *f = prom_sample_family(pc, line, len, &suffix);
	double v;

	if (len == 0)
		return prom_fail(pc, line, "not a metric name");
	if (f == NULL || f->type[0] == '\0')
		return prom_fail(pc, line, "a sample before its family's TYPE");
	if (f - pc->fam != pc->current)
		return prom_fail(pc, line, "a family's samples are not together");
	if (prom_labels(pc, line, &p, rest, le) != 0)
		return -1;
	if (*p++ != ' ')
		return prom_fail(pc, line, "no space before the value");
	v = strtod(p, &end);
	if (end == p || *end != '\0' || v < 0)
		return prom_fail(pc, line, "not a non-negative number");
	for (int i = 0; i < pc->nseries; i++)
		if (strncmp(pc->series[i], line, (size_t)(p - line)) == 0 &&
		    pc->series[i][p - line] == '\0')
			return prom_fail(pc, line, "a duplicate series");
	cr_assert_lt(pc->nseries, PROM_SERIES_MAX);
	pc->series[pc->nseries++] = strndup(line, (size_t)(p - line));
	f->samples++;
	if (strcmp(f->type, "histogram") == 0)
		return prom_hist_sample(pc, line, f, suffix, rest, le, v);
	return le[0] != '\0' ? prom_fail(pc, line, "le on a non-histogram") : 0;
}

/* 0, or -1 with pc->err set. */
static int
prom_check(struct prom_check *pc, const char *text)
{
	char line[PROM_LINE_MAX];
	int rc = 0;

	memset(pc, 0, sizeof(*pc));
	pc->current = -1;
	if (text[0] == '\0' || text[strlen(text) - 1] != '\n')
		return prom_fail(pc, "", "the text does not end in a newline");
	for (const char *p = text, *nl; rc == 0 && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		cr_assert_lt((size_t)(nl - p), sizeof(line));
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		if (line[0] == '#')
			rc = prom_comment(pc, line);
		else
			rc = prom_sample(pc, line);
	}
	for (int i = 0; rc == 0 && i < pc->nhist; i++)
		if (!pc->hist[i].inf_seen)
			rc = prom_fail(pc, pc->hist[i].family, "a histogram without +Inf");
	return rc;
}

static void
prom_check_free(struct prom_check *pc)
{
	for (int i = 0; i < pc->nseries; i++)
		free(pc->series[i]);
}

Test(stats_tool, prom_checker_rejects_what_it_must)
{
	static const char *const bad[] = {
		"x_total 1\n",						/* no TYPE */
		"# TYPE x counter\nx 1\n",				/* counter without _total */
		"# TYPE x_total counter\nx_total{a=\"b\\t\"} 1\n",	/* bad escape */
		"# TYPE x_total counter\nx_total{a=\"b\"} 1\nx_total{a=\"b\"} 2\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n"
		"h_bucket{le=\"+Inf\"} 2\nh_count 2\n",			/* not cumulative */
		"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_count 4\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n",	/* no +Inf */
		"# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 1\n",	/* interleaved */
		"# TYPE a gauge\na 1",					/* no final newline */
		"# TYPE a gauge\na one\n",
	};
	struct prom_check *pc = calloc(1, sizeof(*pc));

	cr_assert_not_null(pc);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_neq(prom_check(pc, bad[i]), 0, "accepted: %s", bad[i]);
		prom_check_free(pc);
	}
	cr_assert_eq(prom_check(pc, "# HELP a_total A.\n# TYPE a_total counter\na_total{b=\"\\\"\"} 1\n"
	    "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"),
	    0, "%s", pc->err);
	prom_check_free(pc);
	free(pc);
}

Test(stats_tool, prometheus_text_is_valid_with_exact_values)
{
	static const char *const want[] = {
		"passthrough_start_time_seconds 1700000000.123\n",
		"passthrough_generation 7\n",
		"passthrough_reloads_total{result=\"ok\"} 3\n",
		"passthrough_reloads_total{result=\"failed\"} 1\n",
		"passthrough_last_reload_timestamp_seconds 1700000100.5\n",
		"passthrough_last_reload_success 0\n",
		"# TYPE passthrough_config_info gauge\n"
		    "passthrough_config_info{sha256=\"" SHA_SERVING "\",generation=\"7\"} 1\n",
		"passthrough_workers_configured 2\n",
		"passthrough_workers_running 3\n",
		"passthrough_workers_draining 1\n",
		"# TYPE passthrough_connections_accepted_total counter\n"
		    "passthrough_connections_accepted_total 207\n",
		"passthrough_accept_errors_total 2\n",
		"# TYPE passthrough_proxy_headers_total counter\npassthrough_proxy_headers_total 4\n",
		"# TYPE passthrough_backends_all_down_total counter\npassthrough_backends_all_down_total 0\n",
		"# TYPE passthrough_connections_active gauge\npassthrough_connections_active 9\n",
		"passthrough_connections_in_hello 1\n",
		"passthrough_connections_relaying 8\n",
		"passthrough_connections_closed_total{reason=\"normal\"} 183\n",
		"passthrough_connections_closed_total{reason=\"hello_timeout\"} 10\n",
		"passthrough_connections_closed_total{reason=\"not_tls\"} 0\n",
		"passthrough_bytes_total{direction=\"in\"} 2070\n",
		"passthrough_bytes_total{direction=\"out\"} 4140\n",
		"passthrough_bytes_spliced_total 3500\n",
		"passthrough_bytes_copied_total 700\n",
		"passthrough_worker_connections_accepted_total{worker=\"0\"} 47\n",
		"passthrough_worker_connections_accepted_total{worker=\"1\"} 60\n",
		"passthrough_worker_connections_active{worker=\"0\"} 4\n",
		"passthrough_worker_connections_in_hello{worker=\"0\"} 1\n",
		"passthrough_worker_connections_relaying{worker=\"1\"} 5\n",
		"passthrough_worker_restarts_total{worker=\"0\"} 1\n",
		"# TYPE passthrough_worker_info gauge\n",
		"passthrough_worker_info{worker=\"0\",engine=\"io_uring\"} 1\n",
		"passthrough_worker_info{worker=\"1\",engine=\"epoll\"} 1\n",
		"passthrough_route_connections_total{route=\"app.example.com\"} 11\n",
		"passthrough_route_connections_total{route=\"esc\\\"ape\\\\me\\nnow\"} 2\n",
		"passthrough_route_active{route=\"app.example.com\"} 2\n",
		"passthrough_route_bytes_total{route=\"app.example.com\",direction=\"in\"} 500\n",
		"passthrough_route_bytes_total{route=\"app.example.com\",direction=\"out\"} 900\n",
		"passthrough_route_connect_failures_total{route=\"app.example.com\"} 1\n",
		"passthrough_route_in_use{route=\"esc\\\"ape\\\\me\\nnow\"} 0\n",
		"passthrough_backend_connections_total{backend=\"127.0.0.1:9443\"} 10\n",
		"passthrough_backend_bytes_total{backend=\"127.0.0.1:9443\",direction=\"out\"} 850\n",
		"passthrough_backend_connect_timeouts_total{backend=\"127.0.0.1:9443\"} 1\n",
		"# TYPE passthrough_backend_down_workers gauge\n",
		"passthrough_backend_down_workers{backend=\"127.0.0.1:9443\"} 1\n",
		"passthrough_backend_went_down_total{backend=\"127.0.0.1:9443\"} 3\n",
		"passthrough_backend_connections_total{backend=\"[::1]:9444\"} 3\n",
		"# TYPE passthrough_backend_weight gauge\n"
		    "passthrough_backend_weight{backend=\"127.0.0.1:9443\"} 3\n"
		    "passthrough_backend_weight{backend=\"[::1]:9444\"} 0\n",
		"# TYPE passthrough_backend_check_up gauge\n"
		    "passthrough_backend_check_up{backend=\"127.0.0.1:9443\"} 0\n# HELP",
		"passthrough_backend_checks_total{backend=\"127.0.0.1:9443\",result=\"passed\"} 12\n"
		    "passthrough_backend_checks_total{backend=\"127.0.0.1:9443\",result=\"failed\"} 4\n"
		    "# HELP",
		"passthrough_backend_check_changed_seconds{backend=\"127.0.0.1:9443\"} "
		    "1700000150.123\n# HELP",
		"# TYPE passthrough_route_info gauge\n"
		    "passthrough_route_info{route=\"app.example.com\",balance=\"leastconn\"} 1\n# HELP",
		"# TYPE passthrough_hello_size_bytes histogram\n"
		    "passthrough_hello_size_bytes_bucket{le=\"64\"} 0\n"
		    "passthrough_hello_size_bytes_bucket{le=\"128\"} 1\n",
		"passthrough_hello_size_bytes_bucket{le=\"8192\"} 3\n",
		"passthrough_hello_size_bytes_bucket{le=\"+Inf\"} 4\n"
		    "passthrough_hello_size_bytes_sum 1099511633176\n"
		    "passthrough_hello_size_bytes_count 4\n",
		"passthrough_connect_duration_seconds_bucket{le=\"0.000016\"} 0\n"
		    "passthrough_connect_duration_seconds_bucket{le=\"0.000032\"} 1\n",
		"passthrough_connect_duration_seconds_bucket{le=\"0.001024\"} 2\n",
		"passthrough_connect_duration_seconds_sum 0.00102\n"
		    "passthrough_connect_duration_seconds_count 2\n",
		"passthrough_connection_duration_seconds_bucket{le=\"0.001\"} 0\n",
		"passthrough_connection_duration_seconds_bucket{le=\"0.008\"} 1\n",
		"passthrough_connection_duration_seconds_bucket{le=\"4.096\"} 2\n",
		"passthrough_connection_duration_seconds_sum 3.005\n",
	};
	struct prom_check *pc = calloc(1, sizeof(*pc));
	struct snapshot snap;
	struct textbuf out;
	const char *t;

	cr_assert_not_null(pc);
	fill();
	take(&snap);
	textbuf_init(&out);
	render_prom(&out, &snap);
	t = text_of(&out);
	cr_assert_eq(prom_check(pc, t), 0, "%s\n--- in:\n%s", pc->err, t);
	cr_assert_eq(pc->nhist, 3, "three histograms");
	for (int i = 0; i < pc->nhist; i++)
		cr_assert_eq(pc->hist[i].buckets, STATS_HIST_BUCKETS, "%s", pc->hist[i].family);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_has(t, want[i]);
	assert_lacks(t, "reason=\"none\"");
	assert_lacks(t, "(other)");
	assert_lacks(t, GHOST_TEXT);
	prom_check_free(pc);
	free(pc);
	textbuf_free(&out);
	snapshot_free(&snap);
}

Test(stats_tool, prometheus_label_values_are_escaped)
{
	struct textbuf out;

	textbuf_init(&out);
	render_prom_label(&out, "a\\b\"c\nd");
	cr_assert_str_eq(text_of(&out), "a\\\\b\\\"c\\nd");
	textbuf_free(&out);
}

Test(stats_tool, other_entries_show_only_when_counted)
{
	struct snapshot_entry e;
	struct snapshot snap;
	struct textbuf out;

	fill();
	STATS_ADD(seg.routes[STATS_OTHER].retired.connections, 3);
	STATS_ADD(area(LINE_A)->routes[STATS_OTHER].connections, 1);
	STATS_ADD(area(LINE_B)->backends[STATS_OTHER].connect_timeouts, 1);
	take(&snap);
	cr_assert(snapshot_entry(&snap, SNAPSHOT_ROUTES, STATS_OTHER, &e));
	cr_assert(snapshot_entry(&snap, SNAPSHOT_BACKENDS, STATS_OTHER, &e));
	textbuf_init(&out);
	render_prom(&out, &snap);
	assert_has(text_of(&out), "passthrough_route_connections_total{route=\"(other)\"} 4\n");
	assert_has(text_of(&out),
	    "passthrough_backend_connect_timeouts_total{backend=\"(other)\"} 1\n");
	textbuf_reset(&out);
	render_json(&out, &snap);
	assert_has(text_of(&out), "{\"route\": \"(other)\", \"in_use\": false, \"connections\": 4,");
	textbuf_reset(&out);
	render_table(&out, &snap);
	assert_has(text_of(&out), "(other)");
	textbuf_free(&out);
	snapshot_free(&snap);
}

/* --- the table --- */

/* The first line of text that, its runs of spaces made one, starts with first. */
static char *
line_starting(const char *text, const char *first, char *buf, size_t size)
{
	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n'), *s = p;
		size_t n = 0;

		if (nl == NULL)
			nl = p + strlen(p);
		while (s < nl && *s == ' ')
			s++;
		for (; s < nl && n + 1 < size; s++)
			if (*s != ' ' || buf[n - 1] != ' ')
				buf[n++] = *s;
		while (n > 0 && buf[n - 1] == ' ')
			n--;
		buf[n] = '\0';
		if (strncmp(buf, first, strlen(first)) == 0)
			return buf;
		p = *nl == '\n' ? nl + 1 : nl;
	}
	return NULL;
}

#define assert_line(text, first, want) do { \
	char line_[512]; \
	const char *got_ = line_starting((text), (first), line_, sizeof(line_)); \
	cr_assert_not_null(got_, "no line starting with \"%s\" in:\n%s", (first), (text)); \
	cr_assert_str_eq(got_, (want), "in:\n%s", (text)); \
} while (0)

Test(stats_tool, table_shows_workers_routes_totals_and_percentiles)
{
	struct snapshot snap;
	struct textbuf out;
	const char *t;

	fill();
	take(&snap);
	snap.taken_ms = STARTED_MS + 170000;	/* renderers take "now" from the snapshot */
	textbuf_init(&out);
	render_table(&out, &snap);
	t = text_of(&out);
	assert_has(t, "pid 4242, up 2m 50s");
	assert_has(t, "3 ok, 1 failed");
	assert_has(t, "FAILED: " RELOAD_MESSAGE);
	assert_line(t, "config", "config sha256 " SHA_SERVING "; refused " SHA_REFUSED);
	assert_has(t, "2 running of 2 configured, 1 more draining");
	assert_line(t, "SLOT", "SLOT PID STATE ENGINE UPTIME RESTARTS GEN ACCEPTED ACTIVE HELLO "
	    "RELAYING BYTES IN BYTES OUT");
	assert_line(t, "0 999", "0 999 draining io_uring 2m 40s 0 6 7 1 0 1 70 B 140 B");
	assert_line(t, "0 1001", "0 1001 serving io_uring 2m 0s 1 7 40 3 1 2 400 B 800 B");
	assert_line(t, "1 1002", "1 1002 serving epoll 1m 50s 0 7 60 5 0 5 600 B 1.2 KiB");
	assert_line(t, "accepted", "accepted 207 accept errors 2");
	assert_line(t, "bytes in", "bytes in 2.0 KiB bytes out 4.0 KiB");
	assert_line(t, "proxy headers", "proxy headers 4 all backends down 0");
	assert_line(t, "ROUTE IN", "ROUTE IN USE BALANCE CONNECTIONS ACTIVE BYTES IN BYTES OUT "
	    "CONNECT FAILURES");
	assert_line(t, "app.example.com", "app.example.com yes leastconn 11 2 500 B 900 B 1");
	assert_line(t, "BACKEND IN", "BACKEND IN USE STATE WEIGHT CHECKS OK/FAILED LAST CHANGE "
	    "CONNECTIONS ACTIVE BYTES IN BYTES OUT CONNECT FAILURES TIMEOUTS DOWN WENT DOWN");
	assert_line(t, "127.0.0.1:9443", "127.0.0.1:9443 yes down 3 12/4 20s ago 10 2 450 B 850 B "
	    "1 1 1 of 3 3");
	assert_line(t, "[::1]:9444", "[::1]:9444 yes draining 0 - - 3 0 0 B 0 B 0 0 no 0");
	assert_line(t, "normal", "normal 183 92.4%");
	assert_line(t, "hello_timeout", "hello_timeout 10 5.1%");
	assert_lacks(t, "not_tls");	/* zero: left out */
	assert_lacks(t, "(other)");
	/*
	 * 20 us and 1000 us: rank 1 of 2 ends bucket (16, 32]; rank 1.8 is 80% into
	 * (512, 1024]. A quarter of the hellos is past the last bound: ">".
	 */
	assert_line(t, "backend connect", "backend connect 2 32 us 922 us 1.0 ms 510 us");
	assert_line(t, "hello size", "hello size 4 512 B >256.0 MiB >256.0 MiB 256.0 GiB");
	textbuf_free(&out);
	snapshot_free(&snap);
}

/* --- the --watch view --- */

Test(stats_tool, watch_rates_from_two_snapshots_two_seconds_apart)
{
	struct snapshot a, b;
	struct textbuf out;
	const char *t;

	fill();
	take(&a);
	/* Two seconds of traffic: +100 accepted, +2 MiB in on worker A ... */
	STATS_ADD(area(LINE_A)->c.accepted, 100);
	STATS_ADD(area(LINE_A)->c.bytes_in, 2 * MIB);
	STATS_ADD(area(LINE_A)->c.closes[CLOSE_NORMAL], 20);
	STATS_ADD(area(LINE_A)->c.closes[CLOSE_HELLO_TIMEOUT], 4);
	/* ... worker B exits (folded: totals must not drop), a new one starts. */
	fold_line(LINE_B);
	line_start(LINE_NEW, PID_NEW, 1, STARTED_MS + 90000);
	STATS_ADD(area(LINE_NEW)->c.accepted, 8);
	take(&b);
	textbuf_init(&out);
	top_render(&out, &a, &b, 2.0);
	t = text_of(&out);
	assert_has(t, "rates over 2.0 s");
	assert_line(t, "SLOT", "SLOT PID STATE ACCEPTED/S CLOSED/S IN/S OUT/S ACTIVE HELLO RELAYING");
	assert_line(t, "0 1001", "0 1001 serving 50.0 12.0 1.0 MiB/s 0 B/s 3 1 2");
	assert_line(t, "0 999", "0 999 draining 0.0 0.0 0 B/s 0 B/s 1 0 1");
	assert_line(t, "1 1003", "1 1003 serving - - - - 0 0 0");	/* no rate before a past */
	/* Totals: worker A's 100 and the newcomer's 8 in 2 s; B's fold changes nothing. */
	assert_line(t, "total", "total 54.0 12.0 1.0 MiB/s 0 B/s 4 1 3");
	assert_line(t, "normal", "normal 10.0 203");
	assert_line(t, "hello_timeout", "hello_timeout 2.0 14");
	assert_line(t, "client_reset", "client_reset 0.0 5");
	textbuf_reset(&out);
	top_render(&out, NULL, &b, 0);
	t = text_of(&out);
	assert_lacks(t, "rates over");
	assert_line(t, "total", "total - - - - 4 1 3");
	textbuf_free(&out);
	snapshot_free(&a);
	snapshot_free(&b);
}

Test(stats_tool, watch_shows_no_rates_across_a_master_restart)
{
	struct snapshot a, b;
	struct textbuf out;

	fill();
	take(&a);
	seg.hdr->started_ms = STARTED_MS + 1;	/* another master's segment */
	take(&b);
	textbuf_init(&out);
	top_render(&out, &a, &b, 2.0);
	assert_line(text_of(&out), "total", "total - - - - 9 1 8");
	textbuf_free(&out);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* --- finding and refusing segments --- */

/* A segment written by hand: magic and version as given, the right size. */
static void
write_foreign_segment(uint32_t magic, uint32_t version)
{
	struct stats_header h;
	int fd;

	name_next(extra_name, sizeof(extra_name));
	fd = shm_open(extra_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0, "shm_open: %s", strerror(errno));
	cr_assert_eq(ftruncate(fd, (off_t)STATS_SIZE), 0);
	memcpy(&h, seg.hdr, sizeof(h));		/* a real header, then spoiled */
	h.magic = magic;
	h.version = version;
	cr_assert_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
}

Test(stats_tool, a_wrong_magic_is_refused_by_name)
{
	struct stats s;
	struct segment sg;
	const char *why;

	write_foreign_segment(0xdeadbeefu, STATS_VERSION);
	cr_assert_eq(stats_open_readonly(&s, extra_name, &why), -EPROTO);
	cr_assert_str_eq(why, "is not a passthrough statistics segment (wrong magic)");
	cr_assert_eq(segment_open(&sg, extra_name, &why), -EPROTO);
	cr_assert_str_eq(why, "is not a passthrough statistics segment (wrong magic)");
	cr_assert_null(sg.stats.hdr);
	segment_close(&sg);
}

Test(stats_tool, a_wrong_version_is_refused_by_name)
{
	struct stats s;
	const char *why;

	write_foreign_segment(STATS_MAGIC, STATS_VERSION + 1);
	cr_assert_eq(stats_open_readonly(&s, extra_name, &why), -EPROTO);
	cr_assert_str_eq(why, "has another layout version than this passthrough-stats");
}

Test(stats_tool, the_real_segment_opens_and_a_missing_one_says_enoent)
{
	struct segment sg;
	const char *why;
	char missing[SEGMENT_NAME_MAX];

	cr_assert_eq(segment_open(&sg, seg_name, &why), 0);
	cr_assert_eq(sg.stats.hdr->magic, STATS_MAGIC);
	segment_close(&sg);
	name_next(missing, sizeof(missing));
	cr_assert_eq(segment_open(&sg, missing, &why), -ENOENT);
	segment_close(&sg);
}

Test(stats_tool, refresh_follows_a_recreated_segment)
{
	struct segment sg;
	const char *why;

	fill();
	cr_assert_eq(segment_open(&sg, seg_name, &why), 0);
	cr_assert_eq(sg.stats.hdr->master_pid, MASTER_PID);
	cr_assert_eq(segment_refresh(&sg, &why), 0);
	cr_assert_eq(sg.stats.hdr->master_pid, MASTER_PID, "the same object stays mapped");
	stats_close(&seg);				/* passthrough stops ... */
	cr_assert_eq(segment_refresh(&sg, &why), -ENOENT);
	cr_assert_null(sg.stats.hdr, "stale numbers are not kept");
	cr_assert_eq(stats_create(&seg, seg_name, (uint32_t)-1), 0);	/* ... and starts */
	cr_assert_eq(segment_refresh(&sg, &why), 0);
	cr_assert_eq(sg.stats.hdr->master_pid, (uint32_t)getpid(), "the new master's segment");
	segment_close(&sg);
}

Test(stats_tool, names_from_arguments_and_configuration_files)
{
	char name[SEGMENT_NAME_MAX], want[SEGMENT_NAME_MAX], abs_path[PATH_MAX];
	char path[] = "/tmp/stats_tool_test.XXXXXX";
	static const char named[] = "stats = { name = \"pt-named\"; };\n";
	int fd;

	cr_assert_eq(segment_name_from_arg(name, sizeof(name), "pt-x"), 0);
	cr_assert_str_eq(name, "/pt-x");
	cr_assert_eq(segment_name_from_arg(name, sizeof(name), "/pt-x"), 0);
	cr_assert_str_eq(name, "/pt-x");
	cr_assert_eq(segment_name_from_arg(name, sizeof(name), "a/b"), -EINVAL);
	cr_assert_eq(segment_name_from_arg(name, sizeof(name), "/"), -EINVAL);
	cr_assert_eq(segment_name_from_arg(name, sizeof(name),
	    "a-name-far-too-long-for-the-sixty-four-bytes-a-struct-stats-keeps"), -ENAMETOOLONG);

	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, named, strlen(named)), (ssize_t)strlen(named));
	close(fd);
	cr_assert_eq(segment_name_for_config(name, sizeof(name), path), 0);
	cr_assert_str_eq(name, "/pt-named");
	cr_assert_eq(truncate(path, 0), 0);	/* no stats.name: derived from the path */
	cr_assert_eq(segment_name_for_config(name, sizeof(name), path), 0);
	cr_assert_not_null(path_absolute(path, abs_path, sizeof(abs_path)));
	stats_name(want, sizeof(want), NULL, abs_path);
	cr_assert_str_eq(name, want);
	cr_assert_eq(strncmp(name, "/passthrough-", strlen("/passthrough-")), 0);
	unlink(path);
}

/* --- helpers --- */

Test(stats_tool, textbuf_grows_and_never_truncates)
{
	struct textbuf b;
	char big[3 * TEXTBUF_MIN];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	textbuf_init(&b);
	textbuf_printf(&b, "<%s>", big);
	textbuf_printf(&b, "%d", 42);
	cr_assert_eq(b.len, sizeof(big) - 1 + 4);
	cr_assert_str_eq(text_of(&b) + b.len - 3, ">42");
	cr_assert_eq(text_of(&b)[1 + sizeof(big) - 2], 'x', "every x kept");
	textbuf_free(&b);
}

Test(stats_tool, human_numbers)
{
	char buf[HUMAN_LEN];

	cr_assert_str_eq(human_bytes(512, buf, sizeof(buf)), "512 B");
	cr_assert_str_eq(human_bytes(1536, buf, sizeof(buf)), "1.5 KiB");
	cr_assert_str_eq(human_bytes(3.0 * MIB * 1024, buf, sizeof(buf)), "3.0 GiB");
	cr_assert_str_eq(human_us(850, buf, sizeof(buf)), "850 us");
	cr_assert_str_eq(human_us(3200, buf, sizeof(buf)), "3.2 ms");
	cr_assert_str_eq(human_us(1250000, buf, sizeof(buf)), "1.25 s");
	cr_assert_str_eq(human_us(312e6, buf, sizeof(buf)), "5m 12s");
	cr_assert_str_eq(human_age_ms(3 * 86400000ull + 4 * 3600000ull + 5, buf, sizeof(buf)),
	    "3d 4h");
	cr_assert_str_eq(human_rate(1234.0, buf, sizeof(buf)), "1.2k");
}

/* --- --serve over a real socket --- */

Test(stats_tool, serve_parses_requests)
{
	static const struct {
		const char *req;
		enum serve_status st;
		enum serve_target target;
		int head_only;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", SERVE_OK, SERVE_TARGET_METRICS, 0 },
		{ "GET /metrics?x=1 HTTP/1.0\n\n", SERVE_OK, SERVE_TARGET_METRICS, 0 },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", SERVE_OK, SERVE_TARGET_METRICS, 1 },
		{ "GET http://h:9/metrics HTTP/1.1\r\n\r\n", SERVE_OK, SERVE_TARGET_METRICS, 0 },
		{ "GET / HTTP/1.1\r\n\r\n", SERVE_OK, SERVE_TARGET_INDEX, 0 },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", SERVE_NOT_FOUND, SERVE_TARGET_NONE, 0 },
		{ "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", SERVE_BAD_METHOD,
		  SERVE_TARGET_NONE, 0 },
		{ "get /metrics HTTP/1.1\r\n\r\n", SERVE_BAD_METHOD, SERVE_TARGET_NONE, 0 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", SERVE_BAD_REQUEST, SERVE_TARGET_NONE, 0 },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", SERVE_BAD_REQUEST, SERVE_TARGET_NONE, 0 },
		{ "GET metrics HTTP/1.1\r\n\r\n", SERVE_BAD_REQUEST, SERVE_TARGET_NONE, 0 },
		{ "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", SERVE_BAD_REQUEST,
		  SERVE_TARGET_NONE, 0 },
		{ "GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", SERVE_BAD_REQUEST,
		  SERVE_TARGET_NONE, 0 },
		{ "GARBAGE\r\n\r\n", SERVE_BAD_REQUEST, SERVE_TARGET_NONE, 0 },
	};
	struct serve_request req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum serve_status st = serve_parse(cases[i].req, strlen(cases[i].req), &req);

		cr_assert_eq(st, cases[i].st, "%s: got %d", cases[i].req, st);
		if (st == SERVE_OK) {
			cr_assert_eq(req.target, cases[i].target, "%s", cases[i].req);
			cr_assert_eq(req.head_only, cases[i].head_only, "%s", cases[i].req);
		}
	}
}

/* Sends req to 127.0.0.1:port, returns everything read until the server closes. */
static char *
http_exchange(uint16_t port, const char *req, size_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	char *resp = calloc(1, RESPONSE_MAX + 1);
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0 && resp != NULL);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0, "connect: %s",
	    strerror(errno));
	for (size_t sent = 0; sent < len; sent += (size_t)n) {
		n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
		cr_assert_gt(n, 0, "send: %s", strerror(errno));
	}
	while (got < RESPONSE_MAX && (n = recv(fd, resp + got, RESPONSE_MAX - got, 0)) > 0)
		got += (size_t)n;
	cr_assert_eq(n, 0, "the server closes after one response (recv: %s)", strerror(errno));
	close(fd);
	return resp;
}

#define HTTP(port, literal) http_exchange((port), (literal), strlen(literal))

/* The response body (after the blank line). */
static const char *
http_body(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	cr_assert_not_null(p, "no end of headers in: %s", resp);
	return p + 4;
}

static pid_t
serve_child(uint16_t *port)
{
	struct addr a;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct segment sg;
	const char *why;
	pid_t pid, parent;
	int fd;

	/* addr_parse takes ports 1..65535: ask the kernel for a free one through port 0. */
	cr_assert_eq(addr_parse(&a, "127.0.0.1:1", ADDR_WILDCARD, &why), 0);
	a.u.in.sin_port = 0;
	fd = serve_listen(&a);
	cr_assert(fd >= 0, "serve_listen: %s", strerror(-fd));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	cr_assert_eq(segment_open(&sg, seg_name, &why), 0);
	parent = getpid();
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		/* A failed assertion ends the test: the server must not outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);	/* it ended before prctl */
		_exit(serve_loop(fd, &sg));
	}
	close(fd);
	segment_close(&sg);
	return pid;
}

Test(stats_tool, serve_answers_metrics_and_refuses_the_rest)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
	static const char head[] = "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
	char *big = malloc(OVERSIZED + 64), *r, *h, clen[64];
	uint16_t port;
	pid_t pid;
	int status;

	fill();
	pid = serve_child(&port);

	r = http_exchange(port, get, strlen(get));
	cr_assert_eq(strncmp(r, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", r);
	assert_has(r, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	assert_has(r, "\r\nConnection: close\r\n");
	assert_has(http_body(r), "passthrough_connections_accepted_total 207\n");
	snprintf(clen, sizeof(clen), "\r\nContent-Length: %zu\r\n", strlen(http_body(r)));
	assert_has(r, clen);

	/* Each request takes a fresh snapshot. */
	STATS_ADD(area(LINE_A)->c.accepted, 1);
	h = http_exchange(port, head, strlen(head));
	cr_assert_eq(strncmp(h, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", h);
	cr_assert_str_eq(http_body(h), "", "HEAD has no body");
	assert_has(h, clen);	/* 207 -> 208: the same length as the GET's */
	free(h);
	h = http_exchange(port, get, strlen(get));
	assert_has(http_body(h), "passthrough_connections_accepted_total 208\n");
	free(h);
	free(r);

	r = HTTP(port, "GET / HTTP/1.1\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", r);
	assert_has(r, "Content-Type: text/html");
	assert_has(r, "href=\"/metrics\"");
	free(r);

	r = HTTP(port, "GET /nope HTTP/1.1\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 404 Not Found\r\n", 24), 0, "%s", r);
	free(r);

	r = HTTP(port, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	cr_assert_eq(strncmp(r, "HTTP/1.1 405 Method Not Allowed\r\n", 33), 0, "%s", r);
	assert_has(r, "\r\nAllow: GET, HEAD\r\n");
	free(r);

	r = HTTP(port, "BLAH\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 400 Bad Request\r\n", 26), 0, "%s", r);
	free(r);

	cr_assert_not_null(big);
	strcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ");
	memset(big + strlen(big), 'a', OVERSIZED);
	strcpy(big + strlen("GET /metrics HTTP/1.1\r\nX-Big: ") + OVERSIZED, "\r\n\r\n");
	r = http_exchange(port, big, strlen(big));
	cr_assert_eq(strncmp(r, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46), 0, "%s", r);
	free(r);
	free(big);

	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "serve_loop exits 0 on SIGTERM "
	    "(status %#x)", status);
}

Test(stats_tool, serve_says_503_while_passthrough_is_gone)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\n\r\n";
	uint16_t port;
	pid_t pid;
	char *r;
	int status;

	fill();
	pid = serve_child(&port);
	stats_close(&seg);	/* the master exits and unlinks its segment */
	r = http_exchange(port, get, strlen(get));
	cr_assert_eq(strncmp(r, "HTTP/1.1 503 Service Unavailable\r\n", 34), 0, "%s", r);
	free(r);
	cr_assert_eq(stats_create(&seg, seg_name, (uint32_t)-1), 0);	/* and comes back */
	r = http_exchange(port, get, strlen(get));
	cr_assert_eq(strncmp(r, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", r);
	assert_has(http_body(r), "passthrough_connections_accepted_total 0\n");
	free(r);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
