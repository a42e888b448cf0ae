/*
 * health.h -- passive health of a backend as one worker sees it: failed
 * connects in a row mark it down after `fall` of them; while down it is
 * skipped, except for one real client connection now and then (a probe,
 * after a back-off that doubles from HEALTH_BACKOFF_MIN_MS to
 * HEALTH_BACKOFF_MAX_MS); a connect that succeeds brings it back up.
 * A backend the master checks actively gets no client probe: it is usable
 * again here once the master's checks passed `rise` more times since this
 * worker last saw it fail (health_checked_usable).
 *
 * Also the active checks' own state machine, the master's per address
 * (struct health_check): up at first, down after `fall` failed checks in a
 * row, up again after `rise` passed in a row.
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
	uint64_t checks_ok_at;	/* actively checked: the master's checks_ok at the last failure */
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

/*
 * An actively checked backend: usable unless the checks hold it down
 * (checks_down) or this worker holds it down and the master's checks
 * passed (checks_ok, ever) fewer than rise times since its last failure here.
 */
static inline bool
health_checked_usable(const struct health *h, bool checks_down, uint64_t checks_ok,
    uint32_t rise)
{
	if (checks_down)
		return false;
	return h->retry_at == 0 || checks_ok >= h->checks_ok_at + rise;
}

/* A down backend was chosen for a probe at now: no other until this one ends or the back-off. */
void health_probe(struct health *h, uint64_t now);

/* A connect to it failed at now (refused, unreachable, timed out). */
enum health_change health_failed(struct health *h, uint64_t now, uint32_t fall);

/* A connect to it succeeded. */
enum health_change health_ok(struct health *h);

/* An address's active checks (the master's): up until fall fail in a row. */
struct health_check {
	bool down;
	uint32_t in_row;	/* results in a row that go against the state */
	uint64_t ok;		/* checks passed, ever */
	uint64_t failed;	/* checks failed, ever */
};

/*
 * A check ended, passed or not: counted; down after fall failed in a row
 * while up, up after rise passed in a row while down.
 */
enum health_change health_check_result(struct health_check *c, bool passed, uint32_t rise,
    uint32_t fall);

#endif
