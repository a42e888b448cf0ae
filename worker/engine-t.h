/*
 * engine-t.h -- what engine.c, uring.c and epoll.c share and no room sees:
 * the table of an engine's calls (nginx's event actions), and the start of
 * every engine's state, which points at its table.
 */
#ifndef PASSTHROUGH_ENGINE_T_H
#define PASSTHROUGH_ENGINE_T_H

#include <signal.h>

#include "engine.h"

/* One engine's implementation of engine.h; see there for each call's contract. */
struct engine_ops {
	int (*probe)(const char **call);
	int (*init)(struct engine **e, struct worker *w, const sigset_t *waitmask);
	void (*fini)(struct engine *e);
	int (*sleep)(struct engine *e, uint64_t wait_ms);
	void (*dispatch)(struct engine *e);
	void (*connect_timeout)(struct engine *e, uint32_t ms);
	int (*accept)(struct engine *e, struct listener *l, int multishot);
	void (*accept_cancel)(struct engine *e, struct listener *l);
	int (*wait)(struct engine *e, struct conn *c, enum engine_op op, int d, int fd);
	int (*wait_multi)(struct engine *e, struct conn *c, int d, int fd);
	void (*wait_multi_stop)(struct engine *e, struct conn *c, int d);
	int (*connect)(struct engine *e, struct conn *c, int fd, const struct sockaddr *sa,
	    socklen_t len);
	int (*splice)(struct engine *e, struct conn *c, enum engine_op op, int d, int from,
	    int to, uint32_t len);
	int (*cancel)(struct engine *e, struct conn *c);
	int (*log_write)(struct engine *e, struct accesslog *a, int fd, const void *buf,
	    uint32_t len);
	int (*log_wait)(struct engine *e, struct accesslog *a, int fd);
	void (*forget)(struct engine *e, int fd);	/* NULL: nothing to forget */
};

/* The first member of each engine's state. */
struct engine {
	const struct engine_ops *ops;
};

extern const struct engine_ops uring_ops;
extern const struct engine_ops epoll_ops;

/*
 * A busy worker looks for pending signals once per this many waits that did
 * not sleep (a power of two): a sigpending() every turn cost a syscall per
 * turn under load; a turn lasts well under a millisecond, so a SIGQUIT still
 * starts the drain within a few ms.
 */
#define ENGINE_SIGNAL_CHECK_WAITS 8u

/*
 * After a wait that did not sleep: now and then, lets in the signals
 * waitmask allows that are pending. Both engines' waits apply that mask
 * only when they sleep: they return at once, mask untouched, when events
 * are ready (and under load they always are), so without this a busy
 * worker would never run its handlers, and SIGQUIT would wait for the
 * master's SIGKILL. *busy_waits counts the waits that did not sleep.
 */
void engine_signals_let_in(const sigset_t *waitmask, unsigned *busy_waits);

#endif
