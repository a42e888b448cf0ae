/*
 * worker-t.h -- the state of one worker process, shared by its rooms
 * (listener.c, conn.c, relay.c; uring.c hands events back with it).
 * worker.h is the process's interface to the master.
 */
#ifndef PASSTHROUGH_WORKER_T_H
#define PASSTHROUGH_WORKER_T_H

#include <stdint.h>

#include "accesslog.h"
#include "health.h"
#include "log.h"
#include "peers.h"
#include "pipe.h"
#include "routes.h"
#include "rtshm.h"
#include "stats.h"
#include "timer.h"
#include "worker.h"

struct conn;
struct engine;
struct listener;

/* Route table generations mapped at once (connecting connections pin theirs). */
#define WORKER_IMAGES 8u

struct worker_image {
	const struct routes_image *img;	/* NULL: a free entry */
	size_t size;
	uint32_t pins;			/* connecting connections routed by it */
};

struct worker {
	struct engine *engine;
	int broken;			/* its wait was refused for good: it stops (worker_turn) */
	unsigned engine_kind;		/* enum engine_kind: what engine is */
	const struct worker_spec *spec;
	uint64_t now;			/* ms, CLOCK_MONOTONIC, per loop turn */

	/*
	 * The route table generations this worker maps: the one this turn
	 * routes with (images[cur]) and older ones connecting connections
	 * still use. A newer one waits in pending_fd while every entry is taken.
	 */
	struct worker_image images[WORKER_IMAGES];
	uint8_t cur;			/* index into images */
	const struct routes_image *img;	/* images[cur].img */
	int pending_fd;			/* a newer generation's memfd, or -1 */
	uint64_t pending_gen;
	uint64_t published_seen;	/* the header's generation when the channel was last read */

	struct listener *listeners;
	unsigned listen_count;
	uint64_t drain_deadline;	/* ms; 0 unless retiring (SIGQUIT) */
	int accept_paused;		/* at the connection limit */
	uint64_t accept_retry_at;	/* ms; after EMFILE and the like */

	struct conn *conns;		/* [conn_cap] */
	struct conn *free_conns;
	uint32_t conn_used;		/* high-water mark into conns */
	uint32_t conn_count;		/* live */
	uint32_t conn_cap;		/* what the open-files limit allows */
	uint32_t conn_max;		/* this worker's share of max_connections, <= conn_cap */

	struct timer_heap timers;
	struct pipe_pool pipes;
	uint8_t *scratch;		/* MAX_HELLO_BYTES: hello reassembly, discards */
	int64_t *swrr;			/* per backend of img: smooth weighted round-robin state */
	struct health *health;		/* [STATS_BACKENDS], by backend entry id */
	uint32_t backends_down;		/* entries of health that are down */
	struct stats_area *st;		/* this worker's statistics area, its only writable one */
	const struct stats *stats;	/* the segment, read-only: entry names */
	struct accesslog access;
	struct peers peers;		/* the other workers' areas, read-only: leastconn, random2 */
	uint64_t random;		/* xorshift64* state (random2), seeded at start */
	int checked;			/* img has an actively checked backend (the master's checks) */
};

/* A connection routed by images[i] takes (+1) or drops (-1) a pin on it. */
void worker_pin(struct worker *w, uint8_t i, int delta);

/* 1 when a repeating line may be said now (log_limit_due at LOG_REPEAT_MS). */
int worker_log_due(const struct worker *w, struct log_limit *l, uint64_t *skipped);

#endif
