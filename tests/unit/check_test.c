/*
 * check_test.c -- guards passthrough-stats --check's verdict (tools/stats/
 * check.c, check_judge): snapshots built in memory, a clock and a pid
 * table of the test's own. Serving takes a fresh master and, in every
 * slot, a worker that is not retiring, accepts and beats; a failed last
 * reload is named but serves; each fault is named in one line; pids are
 * asked about only in the master's pid namespace.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "stats_tool.h"

#define NOW_MS		1000000u	/* the test's CLOCK_MONOTONIC, ms */
#define MASTER_PID	4242u
#define GENERATION	7u

static struct snapshot_worker workers[4];
static struct snapshot snap;
static uint32_t dead_pid;		/* the one pid fake_alive says is gone */
static int alive_asked;			/* fake_alive was called */
static char line[512];

static int
fake_alive(uint32_t pid)
{
	alive_asked = 1;
	return pid != dead_pid;
}

static struct check_env env;

/* A worker of slot with pid, accepting, seen now. */
static void
add_worker(uint32_t slot, uint32_t pid, uint32_t retiring)
{
	struct snapshot_worker *w = &workers[snap.worker_count++];

	memset(w, 0, sizeof(*w));
	w->slot = slot;
	w->pid = pid;
	w->retiring = retiring;
	w->ready = 1;
	w->seen_ms = NOW_MS - 300;
}

/* Two slots served, a fresh master, last reload fine, same pid namespace. */
static void
setup(void)
{
	memset(&snap, 0, sizeof(snap));
	snap.workers = workers;
	snap.hdr.master_pid = MASTER_PID;
	snap.hdr.workers = 2;
	snap.hdr.generation = GENERATION;
	snap.hdr.seen_ms = NOW_MS - 200;
	snap.hdr.last_reload_ms = 1700000000000ull;
	snap.hdr.last_reload_ok = 1;
	add_worker(0, 100, 0);
	add_worker(1, 101, 0);
	env = (struct check_env){ .now_ms = NOW_MS, .same_pidns = 1, .pid_alive = fake_alive };
	dead_pid = 0;
	alive_asked = 0;
	line[0] = '\0';
}

static enum check_verdict
judge(void)
{
	return check_judge(&snap, &env, line, sizeof(line));
}

TestSuite(check, .init = setup);

Test(check, serving_names_the_generation_and_workers)
{
	cr_assert_eq(judge(), CHECK_SERVING);
	cr_assert_str_eq(line, "serving: generation 7, 2 of 2 workers, master pid 4242");
}

Test(check, a_failed_reload_is_named_and_still_serves)
{
	snap.hdr.last_reload_ok = 0;
	snprintf(snap.hdr.last_reload_message, sizeof(snap.hdr.last_reload_message),
	    "/etc/p.conf:3: syntax error\nsecond line");
	cr_assert_eq(judge(), CHECK_SERVING);
	/* One line: the message's control characters are spaces. */
	cr_assert_str_eq(line, "last reload failed: /etc/p.conf:3: syntax error second line; "
	    "generation 7 serves");
}

Test(check, never_reloaded_is_no_failed_reload)
{
	snap.hdr.last_reload_ms = 0;
	snap.hdr.last_reload_ok = 0;
	cr_assert_eq(judge(), CHECK_SERVING);
	cr_assert_str_eq(line, "serving: generation 7, 2 of 2 workers, master pid 4242");
}

Test(check, a_master_gone_in_our_pid_namespace_fails_at_once)
{
	dead_pid = MASTER_PID;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "master pid 4242 is gone (its statistics segment is left over)");
}

Test(check, another_pid_namespace_never_asks_about_pids)
{
	env.same_pidns = 0;
	dead_pid = MASTER_PID;		/* in our namespace that pid means nothing */
	cr_assert_eq(judge(), CHECK_SERVING);
	cr_assert_eq(alive_asked, 0);
}

Test(check, a_master_not_seen_past_the_bound_fails)
{
	env.same_pidns = 0;
	snap.hdr.seen_ms = NOW_MS - CHECK_STALE_MS;
	cr_assert_eq(judge(), CHECK_SERVING, "exactly the bound is still fine");
	snap.hdr.seen_ms = NOW_MS - CHECK_STALE_MS - 1500;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "master pid 4242 not seen for 6.5 s (stopped, hung or gone)");
}

Test(check, a_heartbeat_after_the_clock_read_is_fresh)
{
	snap.hdr.seen_ms = NOW_MS + 5;
	workers[1].seen_ms = NOW_MS + 5;
	cr_assert_eq(judge(), CHECK_SERVING);
}

Test(check, a_slot_without_a_worker_fails)
{
	snap.worker_count = 1;		/* slot 1's worker was reaped, not restarted yet */
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "worker 1 of 2 is not running (the master restarts it)");
}

Test(check, a_slot_whose_area_was_refused_says_so)
{
	snap.worker_count = 1;
	snap.areas_refused = 1;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "worker 1 of 2 is not running (1 live worker areas are missing "
	    "or not the master's)");
}

Test(check, a_slot_with_only_a_retiring_worker_fails)
{
	workers[1].retiring = 1;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "worker 1 of 2 is not running (the master restarts it)");
}

Test(check, a_retiring_worker_beside_its_successor_is_fine)
{
	/* Draining after a reload: stopped beating, or gone, it is not judged. */
	add_worker(1, 99, 1);
	workers[2].seen_ms = NOW_MS - 60000;
	workers[2].ready = 0;
	dead_pid = 99;
	cr_assert_eq(judge(), CHECK_SERVING);
}

Test(check, the_newest_worker_of_a_slot_is_judged)
{
	/* By slot, oldest first, as snapshot_take sorts: 102 replaced 101 (a zombie line). */
	workers[2] = workers[1];
	workers[2].pid = 102;
	snap.worker_count = 3;
	dead_pid = 101;
	cr_assert_eq(judge(), CHECK_SERVING);
	dead_pid = 102;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "worker 1 of 2 (pid 102) is gone (not replaced yet)");
}

Test(check, a_worker_gone_in_our_pid_namespace_fails)
{
	dead_pid = 100;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "worker 0 of 2 (pid 100) is gone (not replaced yet)");
}

Test(check, a_worker_not_accepting_yet_fails)
{
	workers[0].ready = 0;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "worker 0 of 2 (pid 100) is not accepting yet");
}

Test(check, a_worker_not_seen_past_the_bound_fails)
{
	env.same_pidns = 0;
	workers[1].seen_ms = NOW_MS - CHECK_STALE_MS - 100;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "worker 1 of 2 (pid 101) not seen for 5.1 s (stopped or hung)");
}

Test(check, the_master_is_judged_before_the_workers)
{
	snap.worker_count = 0;
	dead_pid = MASTER_PID;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "master pid 4242 is gone (its statistics segment is left over)");
}

Test(check, no_workers_configured_is_not_serving)
{
	snap.hdr.workers = 0;
	cr_assert_eq(judge(), CHECK_NOT_SERVING);
	cr_assert_str_eq(line, "the master configures no workers");
}

Test(check, a_line_too_small_is_cut_not_overrun)
{
	char small[8];

	cr_assert_eq(check_judge(&snap, &env, small, sizeof(small)), CHECK_SERVING);
	cr_assert_str_eq(small, "serving");
}

Test(check, pid_alive_tells_ourselves_from_no_process)
{
	cr_assert_eq(check_pid_alive((uint32_t)getpid()), 1);
	cr_assert_eq(check_pid_alive(0), 0);
	/* pid_max is at most 4194304 (2^22): a pid above it never exists. */
	cr_assert_eq(check_pid_alive(4194305u), 0);
}

Test(check, pid_alive_takes_a_zombie_for_gone)
{
	pid_t child = fork();

	cr_assert_geq(child, 0);
	if (child == 0)
		_exit(0);
	/* Exited, not waited for: a zombie until the waitpid below. */
	for (int i = 0; i < 200 && check_pid_alive((uint32_t)child); i++)
		usleep(5000);
	cr_assert_eq(check_pid_alive((uint32_t)child), 0);
	cr_assert_eq(kill(child, 0), 0, "the zombie is still a pid kill() finds");
	waitpid(child, NULL, 0);
}
