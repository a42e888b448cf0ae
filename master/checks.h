/*
 * checks.h -- the master's active health checks: a TCP connect to each
 * checked backend address every interval_ms, never blocking (non-blocking
 * connects the master loop's ppoll waits on, a deadline each, at most
 * CHECKS_INFLIGHT_MAX at once). The state, counts and weight of each
 * address go into the statistics segment's backend entries, where the
 * workers read them (read-only) to skip a backend the checks hold down.
 */
#ifndef PASSTHROUGH_CHECKS_H
#define PASSTHROUGH_CHECKS_H

#include <poll.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "health.h"
#include "routes.h"
#include "stats.h"
#include "tunables.h"

/* One checked address (one backend entry of the segment). */
struct checks_target {
	uint32_t sid;			/* its backend entry id */
	struct addr addr;
	struct config_check cfg;	/* of the first route naming it */
	struct health_check hc;
	uint64_t due_ms;		/* the next check starts then (clock_ms) */
	uint64_t deadline_ms;		/* in flight: it has failed by then */
	int fd;				/* in flight; else -1 */
};

struct checks {
	struct checks_target *t;	/* [count], in route order */
	uint32_t count;
	uint32_t inflight;		/* targets with fd >= 0 */
	uint32_t polled[CHECKS_INFLIGHT_MAX];	/* target of each pollfd checks_pollfds() gave */
	uint32_t polled_count;
	struct stats *seg;		/* where states are written (the master's mapping) */
};

/*
 * After generation specs[count] of cfg was published (entries assigned,
 * entries counts the segment's backend entries in use): the set of
 * checked addresses taken from it (the settings of spec i's backend k are
 * those of cfg's route i backend backend_src[k], or k); an address still
 * checked keeps its state, a new one is up and checked at once, one no
 * longer checked is forgotten (state NONE). Every in-use entry's weight is
 * written (the largest any route gives it), and each route's balance mode. 0, or -ENOMEM (logged; the
 * checks in force stay).
 */
int checks_update(struct checks *c, struct stats *seg, uint32_t entries,
    const struct route_spec *specs, uint32_t count, const struct config *cfg, uint64_t now);

/* Fails the checks past their deadline, then starts those due (as many as may be in flight). */
void checks_run(struct checks *c, uint64_t now);

/* The checks in flight as pollfds (up to max). Returns how many. */
unsigned checks_pollfds(struct checks *c, struct pollfd *pfds, unsigned max);

/* pfds[n] (checks_pollfds()'s, after a ppoll that returned > 0): the checks that ended. */
void checks_events(struct checks *c, const struct pollfd *pfds, unsigned n);

/* ms until the next check is due or in-flight one times out; -1: none. */
int64_t checks_next_ms(const struct checks *c, uint64_t now);

/* A forked worker: the sockets of checks in flight closed (they are the master's). */
void checks_forget(struct checks *c);

void checks_free(struct checks *c);

#endif
