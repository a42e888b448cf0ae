/*
 * peers.h -- the other workers' statistics areas, mapped read-only, so a
 * route balanced by leastconn or random2 counts the connections every
 * worker holds on a backend, not only this one's.
 *
 * A peer's area comes two ways: inherited at the fork (the master's own
 * read-only maps, kept by counters_worker_attach) or, for a worker started
 * later, as an O_RDONLY descriptor on the control channel (FDPASS_AREA).
 * Both are PROT_READ mappings of descriptors opened O_RDONLY: mprotect
 * can never make them writable. A peer counts only while the segment (the
 * master's) says its line is live with the area's inode; else it is
 * dropped and unmapped. What a peer's area says is the peer's to write: a
 * hostile worker could write anything there, so every value read is
 * clamped (it can skew the balance, never overflow or slow a sum).
 */
#ifndef PASSTHROUGH_PEERS_H
#define PASSTHROUGH_PEERS_H

#include <stdint.h>

#include "stats.h"

/* One peer's active count is taken as at most this (a worker's connections fit well under). */
#define PEERS_ACTIVE_MAX ((uint64_t)1 << 24)
/*
 * How often a worker drops the areas of peers that exited, when no
 * leastconn or random2 pick did it before: the area of a dead worker is
 * unlinked by the master but lives on while mapped. ms
 */
#define PEERS_REFRESH_MS 1000u

struct peer {
	const struct stats_area *map;	/* read-only */
	uint64_t ino;			/* the area's st_ino, checked against its line */
	uint32_t line;
};

/* A compact list: the first count entries are live. */
struct peers {
	struct peer list[STATS_LINES];
	uint32_t count;
	uint64_t refresh_at;		/* ms: peers_tick's next pass */
};

/*
 * Adds the area mapped at map for line, whose inode is ino (inherited at
 * the fork: the master's knowledge). Ignored if line is known already.
 */
void peers_adopt(struct peers *p, uint32_t line, const struct stats_area *map, uint64_t ino);

/*
 * A descriptor of line's area from the master (FDPASS_AREA): mapped
 * read-only when the segment says line is live with that inode and it is
 * not own (an older map of line is replaced). Closes fd. 0, or -errno
 * (-ESTALE: the line is no longer that area's).
 */
int peers_take(struct peers *p, const struct stats *seg, uint32_t own, uint32_t line, int fd);

/* Drops and unmaps every peer whose line the segment no longer gives its area. */
void peers_refresh(struct peers *p, const struct stats *seg);
/* peers_refresh every PEERS_REFRESH_MS (now in ms): once per worker turn. */
void peers_tick(struct peers *p, const struct stats *seg, uint64_t now);

/*
 * The connections backend entry sid holds in the peers' areas, each
 * clamped to PEERS_ACTIVE_MAX (call peers_refresh first in the same turn).
 */
uint64_t peers_active(const struct peers *p, uint32_t sid);

void peers_free(struct peers *p);

#endif
