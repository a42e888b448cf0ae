/*
 * health_test.c -- guards a backend's passive health (common/health.c):
 * down after `fall` failed connects in a row, one probe per back-off, the
 * back-off doubling up to its cap, up at the first connect that succeeds.
 */
#include <criterion/criterion.h>

#include "health.h"

Test(health, down_after_fall_failures_in_a_row_only)
{
	struct health h = { 0 };

	cr_assert_eq(health_failed(&h, 100, 3), HEALTH_SAME);
	cr_assert_eq(health_failed(&h, 200, 3), HEALTH_SAME);
	cr_assert_eq(health_ok(&h), HEALTH_SAME, "a success between them starts the count again");
	cr_assert_eq(health_failed(&h, 300, 3), HEALTH_SAME);
	cr_assert_eq(health_failed(&h, 400, 3), HEALTH_SAME);
	cr_assert(health_usable(&h, 400));
	cr_assert_eq(health_failed(&h, 500, 3), HEALTH_WENT_DOWN);
	cr_assert(health_down(&h));
	cr_assert_not(health_usable(&h, 500));
	cr_assert_not(health_usable(&h, 500 + HEALTH_BACKOFF_MIN_MS - 1));
	cr_assert(health_usable(&h, 500 + HEALTH_BACKOFF_MIN_MS), "due for a probe");
	cr_assert_eq(h.failed_at, 500);
}

Test(health, one_probe_per_backoff_and_the_backoff_doubles_to_its_cap)
{
	struct health h = { 0 };
	uint64_t now = 1000;
	uint32_t want = HEALTH_BACKOFF_MIN_MS;

	for (int i = 0; i < 3; i++)
		health_failed(&h, now, 3);
	cr_assert_eq(h.backoff_ms, HEALTH_BACKOFF_MIN_MS);
	for (int i = 0; i < 8; i++) {
		now = h.retry_at;
		cr_assert(health_usable(&h, now));
		health_probe(&h, now);
		cr_assert_not(health_usable(&h, now), "one probe at a time");
		cr_assert_eq(health_failed(&h, now + 5, 3), HEALTH_SAME, "a failed probe keeps it down");
		want = 2 * want > HEALTH_BACKOFF_MAX_MS ? HEALTH_BACKOFF_MAX_MS : 2 * want;
		cr_assert_eq(h.backoff_ms, want, "probe %d", i);
		cr_assert_eq(h.retry_at, now + 5 + want);
	}
	cr_assert_eq(h.backoff_ms, HEALTH_BACKOFF_MAX_MS);
}

Test(health, a_probe_that_connects_brings_it_up)
{
	struct health h = { 0 };

	for (int i = 0; i < 3; i++)
		health_failed(&h, 10, 3);
	health_probe(&h, h.retry_at);
	cr_assert_eq(health_ok(&h), HEALTH_CAME_UP);
	cr_assert_not(health_down(&h));
	cr_assert(health_usable(&h, 0));
	cr_assert_eq(h.fails, 0);
	health_probe(&h, 50);
	cr_assert_not(health_down(&h), "probing an up backend changes nothing");
}
