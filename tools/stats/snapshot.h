/*
 * snapshot.h -- a consistent private copy of the statistics segment and
 * its live workers' areas, and what every view derives from it (totals,
 * histogram quantiles).
 *
 * The copy keeps the segment's own structs (common/stats.h), so views read
 * the same field names the master and the workers write. Plain reads of
 * its _Atomic fields are fine: nobody else touches the copy.
 */
#ifndef PASSTHROUGH_SNAPSHOT_H
#define PASSTHROUGH_SNAPSHOT_H

#include <stdint.h>
#include <time.h>

#include "segment.h"
#include "stats.h"
#include "stats_tool.h"

/* A live worker: its line (the master's words) and its area's counts (its own). */
struct snapshot_worker {
	uint32_t pid;
	uint32_t slot;
	uint64_t started_ms;		/* unix time */
	uint32_t restarts;
	uint32_t retiring;
	uint32_t engine;		/* enum stats_engine: stats_engine_str() names it */
	uint64_t generation;
	uint64_t active, in_hello, relaying;
	uint32_t ready;			/* its area's word: 1 once it accepts */
	uint64_t seen_ms;		/* its area's heartbeat (CLOCK_MONOTONIC ms) */
	struct stats_counters c;
};

struct snapshot {
	char segment[SEGMENT_NAME_MAX];	/* "/passthrough-1a2b3c4d" */
	uint64_t taken_ms;		/* unix time (CLOCK_REALTIME) of the copy */
	uint64_t taken_mono_ns;		/* CLOCK_MONOTONIC, for rates between copies */
	struct stats_header hdr;	/* the header, `retired` included */
	struct snapshot_worker *workers;	/* live lines (pid != 0), by slot, newest last */
	uint32_t worker_count;
	uint32_t worker_room;		/* entries allocated */
	struct stats_route *routes;	/* entries [0, route_count); 0 is "(other)" */
	uint32_t route_count;
	struct stats_backend *backends;	/* likewise */
	uint32_t backend_count;
	uint32_t entry_room;		/* entries allocated in each of the four arrays */
	/* Per entry: its retired counts + every live area's (active: the areas' only). */
	struct stats_entry *route_sums;
	struct stats_entry *backend_sums;
	/* Derived: retired + every live line; never goes back while the master runs. */
	struct stats_counters totals;
	uint64_t active, in_hello, relaying;	/* gauges: the sum of live lines */
	uint32_t retiring;		/* live lines draining after a reload */
	uint32_t areas_refused;		/* live lines left out: area missing or not the master's */
};

/*
 * Copies seg into snap (which it overwrites; snapshot_free it after). The
 * header, the entries, the live lines and their areas are copied while
 * hdr->fold_seq is even and unchanged across the copy, retried
 * SNAPSHOT_TRIES times. A live line whose area cannot be mapped (missing,
 * not trusted, or not the object the line names) is left out and counted
 * in areas_refused. Returns 0, -EAGAIN when the master kept folding (or
 * died mid-fold), or -ENOMEM.
 */
int snapshot_take(struct snapshot *snap, struct segment *seg);
void snapshot_free(struct snapshot *snap);

/* The two tables of per-name counters, which every view shows alike. */
enum snapshot_table {
	SNAPSHOT_ROUTES,
	SNAPSHOT_BACKENDS,
	SNAPSHOT_TABLES
};

/*
 * An entry of either table, read out of its struct (stats_route or
 * stats_backend) so that one function shows both. All uint64_t, so a view
 * can pick a field by offset.
 */
struct snapshot_entry {
	const char *name;		/* the pattern or the address; first: offset 0 is no field */
	uint64_t in_use;		/* 1 while the current generation has it */
	uint64_t connections;
	uint64_t active;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t connect_failures;
	uint64_t connect_timeouts;	/* backends only: always 0 for a route */
	uint64_t down;			/* backends only: workers holding it down */
	uint64_t went_down;		/* backends only: times a worker marked it down */
	uint64_t weight;		/* backends: the largest the current generation gives it */
	uint64_t check_state;		/* backends: enum stats_check_state (the master's checks) */
	uint64_t checks_ok;		/* backends: active checks passed, ever */
	uint64_t checks_failed;		/* ... failed */
	uint64_t check_changed_ms;	/* backends: unix ms of the last up/down change; 0: none */
	uint64_t balance;		/* routes: enum routes_balance */
};

/* route_count or backend_count. */
uint32_t snapshot_entry_count(const struct snapshot *snap, enum snapshot_table table);

/*
 * Entry i (< snapshot_entry_count) of table into *e. Returns whether the
 * views show it: entry 0 ("(other)") only when something was counted into it.
 */
int snapshot_entry(const struct snapshot *snap, enum snapshot_table table, uint32_t i,
    struct snapshot_entry *e);

/*
 * A backend entry's state, as every view names it: "down" (its active
 * checks failed `fall` times in a row, or, not checked, a worker holds it
 * down), "draining" (weight 0 in the current generation), "up" (checks
 * pass), "unchecked" (no active checks, no worker holds it down), "-"
 * (not in the current generation).
 */
const char *snapshot_backend_state(const struct snapshot_entry *e);

/* A route's balance mode by name: "roundrobin", "leastconn", "random2" ("unknown" else). */
const char *snapshot_balance_name(uint64_t balance);

/* The live line of the same process in snap, or NULL (it exited, or is new). */
const struct snapshot_worker *snapshot_find_worker(const struct snapshot *snap, uint32_t pid);

/*
 * Observations in h, counted from its buckets: a worker stores count, sum
 * and the bucket one after another, so the buckets are what the cumulative
 * counts and a "+Inf" equal to the count are built from.
 */
uint64_t snapshot_hist_count(const struct stats_hist *h);

/* ms from then_ms (a CLOCK_REALTIME stamp in the segment) to when snap was taken; 0 if later. */
uint64_t snapshot_age_ms(const struct snapshot *snap, uint64_t then_ms);
/* Connections closed, every reason together. */
uint64_t snapshot_closes(const struct stats_counters *c);

/*
 * The q-quantile (0 < q < 1) of h in the kind's unit, interpolated inside
 * its bucket as Prometheus' histogram_quantile does. Returns -1 when h is
 * empty; *above is set when it falls in the last (+Inf) bucket, and the
 * value is then that bucket's lower bound.
 */
double snapshot_hist_quantile(const struct stats_hist *h, enum stats_hist_kind kind,
    double q, int *above);

#endif
