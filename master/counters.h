/*
 * counters.h -- the master's side of the statistics: it creates the
 * segment, gives each route pattern and backend address a stable entry
 * (the same across reloads, so counters accumulate), makes each worker's
 * area and folds it into `retired` when the worker exits, and records
 * reload results. It reads areas, which workers write, only as counts: no
 * bound, size, index or pid is ever taken from one.
 */
#ifndef PASSTHROUGH_COUNTERS_H
#define PASSTHROUGH_COUNTERS_H

#include <sys/types.h>

#include "config.h"
#include "instance.h"
#include "peers.h"
#include "stats.h"

/* A worker process's area as the master holds it. */
struct counters_area {
	const struct stats_area *map;	/* read-only; NULL: no worker on the line */
	int fd;				/* O_RDWR from its creation until the fork; else -1 */
	int rd;				/* O_RDONLY while it exists: what other workers get; or -1 */
};

struct counters {
	struct stats seg;
	struct instance lock;		/* held while this master owns seg's name */
	uint32_t *route_index;		/* open addressing: entry id, 0 = empty */
	uint32_t *backend_index;
	uint32_t route_count;		/* entries used: ours, published to the header */
	uint32_t backend_count;
	uint32_t gid;			/* stats.group at start, or (uint32_t)-1 */
	struct counters_area *areas;	/* [STATS_LINES] */
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
 * Entries for the routes (named by pattern, and by listener group when cfg
 * has several) and backends a generation publishes (host names
 * expanded to their addresses): specs[i].stats_id for route i, and its
 * backends' in backend_ids (room for every spec's backend_count), which
 * specs[i].backend_stats_ids then points into. Backends are named by
 * address ("reject" for a reject backend). Marks them in use and every
 * other entry not. Entries past capacity share "(other)".
 */
void counters_assign(struct counters *k, const struct config *cfg, struct route_spec *specs,
    uint32_t count, uint32_t *backend_ids);

/*
 * Before the fork of a worker on line: makes its area (mapped read-only
 * here, its O_RDWR descriptor kept for the child) and fills its line but
 * the pid (engine: the enum engine_kind it will run). 0 or -errno; on failure nothing is left to undo.
 */
int counters_worker_start(struct counters *k, unsigned line, unsigned slot, unsigned restarts,
    unsigned engine);
/* After the fork, in the master: the area's writable descriptor closed, the pid published. */
void counters_worker_forked(struct counters *k, unsigned line, pid_t pid);
/*
 * In the forked child, before it runs: the segment mapped read-only from
 * the O_RDONLY descriptor (then closed), every other area kept as the
 * master mapped it (PROT_READ from an O_RDONLY descriptor: never writable)
 * for worker/peers.c, line's own mapped read-write, and every area
 * descriptor closed. The area, or NULL.
 */
struct stats_area *counters_worker_attach(struct counters *k, unsigned line);
/*
 * In the child after counters_worker_attach: the other areas it kept, with
 * their lines and inodes (the master's knowledge), into out[STATS_LINES].
 * Returns how many.
 */
unsigned counters_worker_peers(const struct counters *k, unsigned line, struct peer *out);
/* 1 once the worker on line said it accepts connections. */
int counters_worker_ready(const struct counters *k, unsigned line);
void counters_worker_retiring(struct counters *k, unsigned line);
/*
 * The worker exited (or never forked): its area's counts join `retired`
 * and the retired counts of the entries (not its gauges), its line is free
 * and its area removed.
 */
void counters_worker_exit(struct counters *k, unsigned line);

/*
 * Generation is in force, made of the configuration whose bytes hash to
 * sha256 (SHA256_BYTES): the hash is stored, then the generation (release:
 * workers look at it to switch), so the pair is seen torn only by a copy
 * taken during the two stores.
 */
void counters_generation(struct counters *k, uint64_t generation, const uint8_t *sha256);

/*
 * A reload's outcome: message, ok, and sha256, the hash of the bytes it
 * read (SHA256_BYTES; all zero: none were); when ok, generation and that
 * hash become the ones serving. The reloads_ok/_failed count moves last.
 */
void counters_reload_done(struct counters *k, int ok, uint64_t generation,
    const char *message, const uint8_t *sha256);

#endif
