/*
 * events.h -- which event engine the workers run (tuning.events): settled
 * once at start, from a probe of io_uring made as the workers' user.
 */
#ifndef PASSTHROUGH_EVENTS_H
#define PASSTHROUGH_EVENTS_H

#include <stddef.h>

#include "config.h"
#include "log.h"
#include "engine.h"
#include "routes.h"

/* What the probe found (events_probe). */
struct events_probe {
	int err;		/* 0: the workers' user may use io_uring; else call's errno */
	char call[24];		/* the call that failed: "io_uring_setup", "io_uring_enter" */
	int disabled;		/* kernel.io_uring_disabled: 0, 1 or 2; -1: no such sysctl */
	long group;		/* kernel.io_uring_group; -1: none, or no such sysctl */
	int seccomp;		/* the master (so every child) runs under a seccomp filter */
};

/*
 * Tries io_uring as cfg's workers would: a child that drops to their user
 * and group as a worker does (workers_drop_privileges) makes a ring, waits
 * on it and tears it down (engine_probe), and reports the errno and the
 * call that failed through a pipe. Returns 0
 * with *p filled, or -errno when the probe itself could not run. Not logged.
 */
int events_probe(const struct config *cfg, struct events_probe *p);

/* What tuning.events comes to here (events_decide). */
struct events_choice {
	enum engine_kind kind;	/* what the workers run */
	int refuse;		/* 1: "io_uring" is denied: the master must not start */
	char msg[LOG_LINE_MAX];	/* the one line to log (refuse: an error; else a warning), or "" */
};

/*
 * Settles cfg's tuning.events: "epoll" without a probe; "io_uring" runs
 * io_uring, or refuses when the probe says it is denied (msg names the
 * cause and the fixes); "auto" runs io_uring, or epoll with msg naming the
 * cause. check phrases msg for passthrough -t ("would"). Not logged.
 */
void events_decide(const struct config *cfg, int check, struct events_choice *c);

/*
 * The part of events_decide() after the probe (cfg's events is "auto" or
 * "io_uring"): what p means for it, and the line that says so.
 */
void events_explain(const struct config *cfg, const struct events_probe *p, int check,
    struct events_choice *c);

/*
 * At start: settles m->cfg's tuning.events into m->engine, logging the
 * choice's one line (a warning) when there is one. -1 (logged as an
 * error) when "io_uring" is denied: the master must exit.
 */
struct master;
int events_start(struct master *m);

/*
 * Settles s->relay for workers running kind: "splice_ring" is an io_uring
 * request, so on epoll the generation relays with "splice", one warning
 * saying so. Any other relay, or io_uring, is left alone.
 */
void events_relay(struct routes_settings *s, enum engine_kind kind);

#endif
