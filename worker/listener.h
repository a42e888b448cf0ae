/*
 * listener.h -- accepting on a worker's listening sockets: multishot while
 * there is room, single accepts near the connection limit, a pause at it
 * and a back-off after errors that outlast a loop turn.
 */
#ifndef PASSTHROUGH_LISTENER_H
#define PASSTHROUGH_LISTENER_H

#include <stdint.h>

#include "addr.h"
#include "log.h"

struct worker;

struct listener {
	int fd;			/* -1 once the worker retires */
	uint8_t accepting;	/* an accept is in flight (kept by the engine) */
	uint8_t multishot;	/* ... and it is multishot */
	struct log_limit errors_logged;	/* accept errors */
	struct addr addr;
} __attribute__((aligned(64)));

/* Arms every listener that is not accepting, unless at the limit, backing off or retiring. */
void listener_resume(struct worker *w);
/* Retiring: cancels every accept and closes the sockets; the worker never accepts again. */
void listener_retire(struct worker *w);
/* 1 while an accept of any listener is in flight. */
int listener_busy(const struct worker *w);
/* Cancels every accept (their last completions still come). */
void listener_cancel_all(struct worker *w);

/* The engine's EV_ACCEPT: res is the accepted fd or -errno. */
void listener_on_accept(struct worker *w, struct listener *l, int res);

#endif
