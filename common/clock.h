/*
 * clock.h -- the clocks passthrough reads: monotonic for deadlines and
 * durations, wall time only for what an operator reads (ages, timestamps).
 *
 * Not CLOCK_MONOTONIC_COARSE: its 4 ms steps made deadlines set from a
 * stale "now" fire a few ms early. Both are vDSO reads.
 */
#ifndef PASSTHROUGH_CLOCK_H
#define PASSTHROUGH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
clock_read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds of CLOCK_MONOTONIC. */
static inline uint64_t
clock_ms(void)
{
	return clock_read_ns(CLOCK_MONOTONIC) / 1000000u;
}

/* Microseconds of CLOCK_MONOTONIC. */
static inline uint64_t
clock_us(void)
{
	return clock_read_ns(CLOCK_MONOTONIC) / 1000u;
}

/* Milliseconds since the epoch (CLOCK_REALTIME): comparable across processes and boots. */
static inline uint64_t
clock_wall_ms(void)
{
	return clock_read_ns(CLOCK_REALTIME) / 1000000u;
}

#endif
