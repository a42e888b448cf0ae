/*
 * health.h -- passive health of a backend as one worker sees it: failed
 * connects in a row mark it down after `fall` of them; while down it is
 * skipped, except for one real client connection now and then (a probe,
 * after a back-off that doubles from HEALTH_BACKOFF_MIN_MS to
 * HEALTH_BACKOFF_MAX_MS); a connect that succeeds brings it back up.
 * Pure: the caller keeps one struct health per backend.
 */
#ifndef PASSTHROUGH_HEALTH_H
#define PASSTHROUGH_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#define HEALTH_FALL		3u	/* failed connects in a row that mark a backend down */
#define HEALTH_BACKOFF_MIN_MS	1000u	/* the first wait before a probe */
#define HEALTH_BACKOFF_MAX_MS	30000u

struct health {
	uint32_t fails;		/* failed connects in a row */
	uint32_t backoff_ms;	/* while down: the wait before the next probe */
	uint64_t retry_at;	/* ms: while down, when a client may probe it; 0: up */
	uint64_t failed_at;	/* ms of the last failure; 0: none */
};

enum health_change {
	HEALTH_SAME,
	HEALTH_WENT_DOWN,
	HEALTH_CAME_UP,
};

static inline bool
health_down(const struct health *h)
{
	return h->retry_at != 0;
}

/* Up, or down and due for a probe at now. */
static inline bool
health_usable(const struct health *h, uint64_t now)
{
	return h->retry_at == 0 || h->retry_at <= now;
}

/* A down backend was chosen for a probe at now: no other until this one ends or the back-off. */
void health_probe(struct health *h, uint64_t now);

/* A connect to it failed at now (refused, unreachable, timed out). */
enum health_change health_failed(struct health *h, uint64_t now, uint32_t fall);

/* A connect to it succeeded. */
enum health_change health_ok(struct health *h);

#endif
