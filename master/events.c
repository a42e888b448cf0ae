/*
 * events.c -- which event engine the workers run (tuning.events).
 *
 * Container runtimes deny io_uring in their default seccomp profiles, and
 * kernel.io_uring_disabled can deny it on a host. A worker that cannot
 * make its ring would exit, and the master restart it forever: so the
 * master asks once, at start, as the workers' user, and either runs the
 * workers on epoll ("auto") or refuses to start ("io_uring") with one line
 * that says why and what to change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "master.h"
#include "stats.h"

_Static_assert(ENGINE_IO_URING == (int)STATS_ENGINE_IO_URING &&
    ENGINE_EPOLL == (int)STATS_ENGINE_EPOLL, "stats_line.engine holds an enum engine_kind");

/* Where the kernel says whether, and for whom, io_uring is allowed. */
#define EVENTS_SYSCTL_DISABLED	"/proc/sys/kernel/io_uring_disabled"
#define EVENTS_SYSCTL_GROUP	"/proc/sys/kernel/io_uring_group"

/* A number from a one-line file of /proc; fallback when it cannot be read. */
static long
events_read_long(const char *path, long fallback)
{
	char buf[64];
	FILE *f = fopen(path, "re");
	long v = fallback;

	if (f == NULL)
		return fallback;
	if (fgets(buf, sizeof(buf), f) != NULL)
		v = strtol(buf, NULL, 10);
	fclose(f);
	return v;
}

/* 1 when this process runs under a seccomp filter ("Seccomp: 2" in its status). */
static int
events_seccomp(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");
	int on = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Seccomp:", 8) == 0)
			on = atoi(line + 8) == 2;
	fclose(f);
	return on;
}

/* What the probe's child sends back. */
struct events_answer {
	int err;
	char call[24];
};

/*
 * In the child: the workers' credentials, then the worker's own probe of
 * its engine (a ring made, waited on and torn down); its errno and the
 * call that failed go on wfd. Never returns.
 */
static void __attribute__((noreturn))
events_probe_child(const struct config *cfg, int wfd)
{
	struct events_answer a = { 0 };
	const char *call;

	/* Not root: no switch is possible, and a worker would stay as we are. */
	if (geteuid() == 0 && workers_drop_privileges(cfg) != 0)
		_exit(1);
	a.err = -engine_probe(ENGINE_IO_URING, &call);
	snprintf(a.call, sizeof(a.call), "%s", call);
	_exit(write(wfd, &a, sizeof(a)) == (ssize_t)sizeof(a) ? 0 : 1);
}

int
events_probe(const struct config *cfg, struct events_probe *p)
{
	struct events_answer a;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->disabled = (int)events_read_long(EVENTS_SYSCTL_DISABLED, -1);
	p->group = events_read_long(EVENTS_SYSCTL_GROUP, -1);
	p->seccomp = events_seccomp();
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -errno;
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		close(pfd[0]);
		events_probe_child(cfg, pfd[1]);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &a, sizeof(a));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(a))
		return -ECHILD;	/* it could not take the workers' credentials (logged there) */
	p->err = a.err;
	/* Only names it knows: the child ran as the workers' user. */
	snprintf(p->call, sizeof(p->call), "%s", strcmp(a.call, "io_uring_enter") == 0 ?
	    "io_uring_enter" : "io_uring_setup");
	return 0;
}

/* The workers' group, as kernel.io_uring_group would have to name it. */
static unsigned
events_workers_gid(const struct config *cfg)
{
	return geteuid() == 0 && cfg->user != NULL ? cfg->gid : (unsigned)getegid();
}

/*
 * Why io_uring is denied, as one clause: the failed call and its errno,
 * then what denies it (a seccomp filter, the sysctl), as far as can be told.
 */
static void
events_cause(const struct config *cfg, const struct events_probe *p, char *buf, size_t size)
{
	size_t n;

	n = (size_t)snprintf(buf, size, "%s: %s", p->call[0] != '\0' ? p->call :
	    "io_uring_setup", strerror(p->err));
	if (n < size && p->seccomp)
		n += (size_t)snprintf(buf + n, size - n, "; a seccomp filter is in force "
		    "(Seccomp: 2 in /proc/self/status)");
	if (n < size && p->disabled == 2)
		n += (size_t)snprintf(buf + n, size - n, "; kernel.io_uring_disabled is 2: "
		    "io_uring is off for every process");
	else if (n < size && p->disabled == 1)
		n += (size_t)snprintf(buf + n, size - n, "; kernel.io_uring_disabled is 1: "
		    "only root and kernel.io_uring_group (%ld) may use it, and the workers "
		    "run in group %u", p->group, events_workers_gid(cfg));
	else if (n < size && p->err == ENOSYS && !p->seccomp)
		(void)snprintf(buf + n, size - n, "; this kernel is built without io_uring");
}

void
events_explain(const struct config *cfg, const struct events_probe *p, int check,
    struct events_choice *c)
{
	char cause[LOG_LINE_MAX / 2];

	c->kind = ENGINE_IO_URING;
	c->refuse = 0;
	c->msg[0] = '\0';
	if (p->err == 0)
		return;
	events_cause(cfg, p, cause, sizeof(cause));
	if (cfg->events == CONFIG_EVENTS_AUTO) {
		c->kind = ENGINE_EPOLL;
		snprintf(c->msg, sizeof(c->msg), "tuning.events \"auto\": the workers %s use "
		    "io_uring (%s); they %s on epoll", check ? "could not" : "cannot", cause,
		    check ? "would run" : "run");
		return;
	}
	c->refuse = 1;
	snprintf(c->msg, sizeof(c->msg), "tuning.events \"io_uring\": the workers %s use "
	    "io_uring (%s); %s: allow io_uring_setup, io_uring_enter and io_uring_register "
	    "in the seccomp profile, or set the sysctl kernel.io_uring_disabled=0 (or 1 with "
	    "kernel.io_uring_group=%u), or set tuning.events = \"auto\" or \"epoll\"",
	    check ? "could not" : "cannot", cause,
	    check ? "passthrough would refuse to start; to run it" : "not starting; to run",
	    events_workers_gid(cfg));
}

void
events_decide(const struct config *cfg, int check, struct events_choice *c)
{
	struct events_probe p;
	int rc;

	c->kind = cfg->events == CONFIG_EVENTS_EPOLL ? ENGINE_EPOLL : ENGINE_IO_URING;
	c->refuse = 0;
	c->msg[0] = '\0';
	if (cfg->events == CONFIG_EVENTS_EPOLL)
		return;
	if ((rc = events_probe(cfg, &p)) != 0) {
		/* The workers then try io_uring themselves, as before there was a probe. */
		snprintf(c->msg, sizeof(c->msg), "tuning.events \"%s\": cannot find out whether "
		    "the workers may use io_uring (%s); they %s try it",
		    config_events_names[cfg->events], strerror(-rc), check ? "would" : "will");
		return;
	}
	events_explain(cfg, &p, check, c);
}

int
events_start(struct master *m)
{
	struct events_choice c;

	events_decide(&m->cfg, 0, &c);
	if (c.refuse) {
		log_error("%s", c.msg);
		return -1;
	}
	if (c.msg[0] != '\0')
		log_warn("%s", c.msg);
	m->engine = c.kind;
	log_info("the workers run on %s", engine_kind_name(c.kind));
	return 0;
}

void
events_relay(struct routes_settings *s, enum engine_kind kind)
{
	if (kind != ENGINE_EPOLL || s->relay != RELAY_SPLICE_RING)
		return;
	log_warn("relay \"splice_ring\" needs io_uring, and the workers run on epoll: "
	    "relaying with \"splice\"");
	s->relay = RELAY_SPLICE;
}
