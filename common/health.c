/*
 * health.c -- a backend's passive health, one worker's view: down after
 * fall failed connects in a row, probed by a real connection after a
 * doubling back-off, up at the first connect that succeeds; and the
 * master's active checks, down after fall failed in a row, up after rise
 * passed in a row.
 */
#include "health.h"

void
health_probe(struct health *h, uint64_t now)
{
	if (health_down(h))
		h->retry_at = now + h->backoff_ms;
}

enum health_change
health_failed(struct health *h, uint64_t now, uint32_t fall)
{
	h->failed_at = now;
	if (h->fails < UINT32_MAX)
		h->fails++;
	if (health_down(h)) {
		/* A probe failed: wait longer before the next one. */
		h->backoff_ms = h->backoff_ms >= HEALTH_BACKOFF_MAX_MS / 2 ?
		    HEALTH_BACKOFF_MAX_MS : 2 * h->backoff_ms;
		h->retry_at = now + h->backoff_ms;
		return HEALTH_SAME;
	}
	if (h->fails < fall)
		return HEALTH_SAME;
	h->backoff_ms = HEALTH_BACKOFF_MIN_MS;
	h->retry_at = now + h->backoff_ms;
	return HEALTH_WENT_DOWN;
}

enum health_change
health_ok(struct health *h)
{
	int was_down = health_down(h);

	h->fails = 0;
	h->retry_at = 0;
	h->backoff_ms = 0;
	return was_down ? HEALTH_CAME_UP : HEALTH_SAME;
}

enum health_change
health_check_result(struct health_check *c, bool passed, uint32_t rise, uint32_t fall)
{
	if (passed)
		c->ok++;
	else
		c->failed++;
	/* A result that agrees with the state breaks the run against it. */
	if (passed != c->down) {
		c->in_row = 0;
		return HEALTH_SAME;
	}
	if (c->in_row < UINT32_MAX)
		c->in_row++;
	if (c->in_row < (c->down ? rise : fall))
		return HEALTH_SAME;
	c->in_row = 0;
	c->down = !c->down;
	return c->down ? HEALTH_WENT_DOWN : HEALTH_CAME_UP;
}
