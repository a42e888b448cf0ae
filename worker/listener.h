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

struct routes_listen;
struct worker;

struct listener {
	int fd;			/* -1 once the worker retires */
	uint8_t accepting;	/* an accept is in flight (kept by the engine) */
	uint8_t multishot;	/* ... and it is multishot */
	struct log_limit errors_logged;	/* accept errors */
	uint64_t close_at;	/* retiring, refusing new connections: closes then (ms); 0: no */
	uint32_t lingered;	/* connections accepted since close_at was set */
	struct addr addr;
	uint64_t conf_gen;	/* the generation conf was looked up in; 0: none yet */
	const struct routes_listen *conf;	/* its settings there, or NULL */
} __attribute__((aligned(64)));

/* Arms every listener that is not accepting, unless at the limit, backing off or retiring. */
void listener_resume(struct worker *w);
/*
 * Retiring (w->drain_deadline set): a socket the next workers keep is
 * closed at once (they accept what is queued on it); one the master marked
 * as refusing (no slot keeps it) is kept accepting for LISTEN_LINGER_MS,
 * within the drain deadline, so the handshakes begun on it finish here.
 */
void listener_retire(struct worker *w);
/*
 * Retiring: closes each lingering socket whose time came, after taking
 * every connection still queued on it. 1 once no socket is open.
 */
int listener_linger(struct worker *w);
/* The earliest time a lingering socket is due to close (ms), or UINT64_MAX. */
uint64_t listener_next_close(const struct worker *w);
/* 1 while an accept of any listener is in flight. */
int listener_busy(const struct worker *w);
/* Cancels every accept (their last completions still come). */
void listener_cancel_all(struct worker *w);

/* The engine's EV_ACCEPT: res is the accepted fd or -errno. */
void listener_on_accept(struct worker *w, struct listener *l, int res);

#endif
