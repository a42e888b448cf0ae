/*
 * counters.h -- the master's side of the statistics segment: it creates
 * it, gives each route pattern and backend address a stable entry (the
 * same across reloads, so counters accumulate), opens and folds worker
 * lines, and records reload results.
 */
#ifndef PASSTHROUGH_COUNTERS_H
#define PASSTHROUGH_COUNTERS_H

#include <sys/types.h>

#include "config.h"
#include "instance.h"
#include "stats.h"

struct counters {
	struct stats seg;
	struct instance lock;		/* held while this master owns seg's name */
	uint32_t *route_index;		/* open addressing: entry id, 0 = empty */
	uint32_t *backend_index;
};

/*
 * Takes the instance lock of the segment's name (master/instance.h), then
 * creates the segment, replacing whatever held the name before (a segment
 * of a master that died, or one anyone forged). -EEXIST when another master
 * holds the lock; 0 or -errno, logged.
 */
int counters_open(struct counters *k, const struct config *cfg, const char *abs_path,
    unsigned workers);
void counters_close(struct counters *k);

/*
 * Entries for cfg's routes and backends: route_ids[i] for route i and
 * backend_ids[j] for its backends, flattened in route order. Marks them in
 * use and every other entry not. Entries past capacity share "(other)".
 */
void counters_assign(struct counters *k, const struct config *cfg, uint32_t *route_ids,
    uint32_t *backend_ids);

void counters_worker_start(struct counters *k, unsigned line, pid_t pid, unsigned slot,
    unsigned restarts);
void counters_worker_retiring(struct counters *k, unsigned line);
/* The worker exited: its counters join `retired`, its line is free. */
void counters_worker_exit(struct counters *k, unsigned line);

void counters_reload_done(struct counters *k, int ok, uint64_t generation,
    const char *message);

#endif
