/*
 * events_test.c -- what the master makes of a probe of io_uring
 * (master/events.c, events_explain): the engine, whether it refuses to
 * start, and the one line that names the cause (a seccomp filter,
 * kernel.io_uring_disabled and its group, a kernel without io_uring) and,
 * for "io_uring", the fixes. The probe itself runs in the integration
 * tests (events_*.sh), under a real seccomp filter; the sysctl cannot be
 * flipped on a shared machine, so its wording is checked here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "events.h"

static struct config cfg;
static struct events_choice c;

static void
explain(uint32_t events, int err, int disabled, long group, int seccomp, int check)
{
	struct events_probe p = { .err = err, .disabled = disabled,
	    .group = group, .seccomp = seccomp };

	memset(&cfg, 0, sizeof(cfg));
	cfg.events = events;
	events_explain(&cfg, &p, check, &c);
}

#define assert_says(text) cr_assert(strstr(c.msg, (text)) != NULL, \
	"\"%s\" is not in: %s", (text), c.msg)

Test(events, allowed_runs_io_uring_quietly)
{
	explain(CONFIG_EVENTS_AUTO, 0, 0, -1, 0, 0);
	cr_assert_eq(c.kind, ENGINE_IO_URING);
	cr_assert_eq(c.refuse, 0);
	cr_assert_str_empty(c.msg);
	explain(CONFIG_EVENTS_IO_URING, 0, 0, -1, 1, 0);
	cr_assert_eq(c.kind, ENGINE_IO_URING);
	cr_assert_eq(c.refuse, 0);
	cr_assert_str_empty(c.msg);
}

Test(events, auto_denied_by_seccomp_runs_epoll_and_says_why)
{
	explain(CONFIG_EVENTS_AUTO, EPERM, 0, -1, 1, 0);
	cr_assert_eq(c.kind, ENGINE_EPOLL);
	cr_assert_eq(c.refuse, 0);
	cr_assert_str_eq(c.msg, "tuning.events \"auto\": the workers cannot use io_uring "
	    "(io_uring_setup: Operation not permitted; a seccomp filter is in force "
	    "(Seccomp: 2 in /proc/self/status)); they run on epoll");
	explain(CONFIG_EVENTS_AUTO, EPERM, 0, -1, 1, 1);
	assert_says("could not use io_uring");
	assert_says("they would run on epoll");
}

Test(events, io_uring_denied_by_the_sysctl_refuses_with_the_fixes)
{
	explain(CONFIG_EVENTS_IO_URING, EPERM, 2, -1, 0, 0);
	cr_assert_eq(c.refuse, 1);
	assert_says("tuning.events \"io_uring\": the workers cannot use io_uring");
	assert_says("kernel.io_uring_disabled is 2: io_uring is off for every process");
	assert_says("not starting");
	assert_says("allow io_uring_setup, io_uring_enter and io_uring_register in the seccomp "
	    "profile");
	assert_says("kernel.io_uring_disabled=0");
	assert_says("set tuning.events = \"auto\" or \"epoll\"");
	cr_assert_null(strstr(c.msg, "seccomp filter is in force"));
}

Test(events, sysctl_1_names_the_group_the_workers_lack)
{
	explain(CONFIG_EVENTS_AUTO, EPERM, 1, 1234, 0, 0);
	cr_assert_eq(c.kind, ENGINE_EPOLL);
	assert_says("kernel.io_uring_disabled is 1: only root and kernel.io_uring_group (1234) "
	    "may use it, and the workers run in group");
}

Test(events, enosys_without_a_filter_is_a_kernel_without_io_uring)
{
	explain(CONFIG_EVENTS_AUTO, ENOSYS, -1, -1, 0, 0);
	cr_assert_eq(c.kind, ENGINE_EPOLL);
	assert_says("io_uring_setup: Function not implemented; this kernel is built without "
	    "io_uring");
}
