/*
 * health_check_test.c -- guards the active checks' state machine and the
 * worker's view of a checked backend (common/health.c, health.h): up at
 * first, down after `fall` failed checks in a row, up after `rise` passed
 * in a row, the counts; a checked backend a worker holds down comes back
 * only after `rise` more checks passed, and never while the checks hold it
 * down.
 */
#include <criterion/criterion.h>

#include "health.h"

Test(health_check, up_at_first_down_after_fall_in_a_row_up_after_rise_in_a_row)
{
	struct health_check c = { 0 };

	cr_assert_not(c.down, "a backend starts up");
	cr_assert_eq(health_check_result(&c, false, 2, 3), HEALTH_SAME);
	cr_assert_eq(health_check_result(&c, false, 2, 3), HEALTH_SAME);
	cr_assert_eq(health_check_result(&c, true, 2, 3), HEALTH_SAME, "a pass breaks the run");
	cr_assert_eq(health_check_result(&c, false, 2, 3), HEALTH_SAME);
	cr_assert_eq(health_check_result(&c, false, 2, 3), HEALTH_SAME);
	cr_assert_not(c.down);
	cr_assert_eq(health_check_result(&c, false, 2, 3), HEALTH_WENT_DOWN);
	cr_assert(c.down);
	cr_assert_eq(health_check_result(&c, false, 2, 3), HEALTH_SAME, "down stays down");
	cr_assert_eq(health_check_result(&c, true, 2, 3), HEALTH_SAME);
	cr_assert_eq(health_check_result(&c, false, 2, 3), HEALTH_SAME, "a failure breaks the rise");
	cr_assert_eq(health_check_result(&c, true, 2, 3), HEALTH_SAME);
	cr_assert_eq(health_check_result(&c, true, 2, 3), HEALTH_CAME_UP);
	cr_assert_not(c.down);
	cr_assert_eq(c.ok, 4);
	cr_assert_eq(c.failed, 7);
}

Test(health_check, rise_and_fall_of_one_flip_at_once)
{
	struct health_check c = { 0 };

	cr_assert_eq(health_check_result(&c, true, 1, 1), HEALTH_SAME);
	cr_assert_eq(health_check_result(&c, false, 1, 1), HEALTH_WENT_DOWN);
	cr_assert_eq(health_check_result(&c, true, 1, 1), HEALTH_CAME_UP);
}

Test(health_check, a_worker_holding_a_checked_backend_down_waits_for_rise_more_passes)
{
	struct health h = { 0 };

	cr_assert(health_checked_usable(&h, false, 10, 2), "up here, up by the checks");
	cr_assert_not(health_checked_usable(&h, true, 10, 2), "down by the checks");
	h.checks_ok_at = 10;
	for (int i = 0; i < 3; i++)
		health_failed(&h, 1000, 3);
	cr_assert(health_down(&h));
	cr_assert_not(health_checked_usable(&h, false, 10, 2));
	cr_assert_not(health_checked_usable(&h, false, 11, 2));
	cr_assert(health_checked_usable(&h, false, 12, 2), "rise passes since");
	cr_assert_not(health_checked_usable(&h, true, 12, 2), "but not while the checks say down");
	/* No client probe: the back-off passing changes nothing. */
	cr_assert_not(health_checked_usable(&h, false, 11, 2));
	cr_assert(health_usable(&h, 1000 + HEALTH_BACKOFF_MIN_MS), "(a probe would be due)");
	cr_assert_eq(health_ok(&h), HEALTH_CAME_UP);
	cr_assert(health_checked_usable(&h, false, 11, 2));
}
