/*
 * snapshot.h -- a consistent private copy of the statistics segment, and
 * what every view derives from it (totals, histogram quantiles).
 *
 * The copy keeps the segment's own structs (common/stats.h), so views read
 * the same field names the workers write. Plain reads of its _Atomic
 * fields are fine: nobody else touches the copy.
 */
#ifndef PASSTHROUGH_SNAPSHOT_H
#define PASSTHROUGH_SNAPSHOT_H

#include <stdint.h>
#include <time.h>

#include "stats.h"
#include "stats_tool.h"

struct snapshot {
	char segment[SEGMENT_NAME_MAX];	/* "/passthrough-1a2b3c4d" */
	uint64_t taken_ms;		/* unix time (CLOCK_REALTIME) of the copy */
	uint64_t taken_mono_ns;		/* CLOCK_MONOTONIC, for rates between copies */
	struct stats_header hdr;	/* the header, `retired` included */
	struct stats_worker *workers;	/* live lines (pid != 0), by slot, newest last */
	uint32_t worker_count;
	uint32_t worker_room;		/* entries allocated */
	struct stats_route *routes;	/* entries [0, route_count); 0 is "(other)" */
	uint32_t route_count;
	struct stats_backend *backends;	/* likewise */
	uint32_t backend_count;
	/* Derived: retired + every live line; never goes back while the master runs. */
	struct stats_counters totals;
	uint64_t active, in_hello, relaying;	/* gauges: the sum of live lines */
	uint32_t retiring;		/* live lines draining after a reload */
};

/*
 * Copies seg into snap (which it overwrites; snapshot_free it after). The
 * header, live lines and `retired` are copied while hdr->fold_seq is even
 * and unchanged across the copy, retried SNAPSHOT_TRIES times. Returns 0,
 * -EAGAIN when the master kept folding (or died mid-fold), or -ENOMEM.
 */
int snapshot_take(struct snapshot *snap, const struct stats *seg);
void snapshot_free(struct snapshot *snap);

/* Nanoseconds of clock (CLOCK_REALTIME, CLOCK_MONOTONIC): what snapshots are stamped with. */
uint64_t snapshot_clock_ns(clockid_t clock);

/* Entry 0 ("(other)") is shown only when something was counted into it. */
int snapshot_route_shown(const struct snapshot *snap, uint32_t i);
int snapshot_backend_shown(const struct snapshot *snap, uint32_t i);

/* The live line of the same process in snap, or NULL (it exited, or is new). */
const struct stats_worker *snapshot_find_worker(const struct snapshot *snap, uint32_t pid);

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
