/*
 * relay.h -- moving a connection's bytes both ways once a backend took its
 * hello. The relay asks the engine itself when it must wait, and tells
 * the connection what to do next through a named status.
 */
#ifndef PASSTHROUGH_RELAY_H
#define PASSTHROUGH_RELAY_H

#include <stdint.h>

#include "engine.h"
#include "pipe.h"
#include "stats.h"

struct conn;
struct worker;

/* One direction of the relay: 0 client -> backend, 1 backend -> client. */
struct dir {
	union {
		struct pipe pipe;	/* splicing: where queued bytes wait */
		uint8_t *pending;	/* copying: the bytes a short send left (malloc) */
		struct {
			uint64_t cookie;	/* the source's socket cookie, its key in the maps */
			uint64_t sent0;		/* the sink's bytes written in before the relay */
			uint64_t before;	/* bytes counted before it (the hello) */
		} kernel;		/* relay "kernel" (relay_kernel.c) */
	};
	uint64_t bytes;		/* bytes delivered to the sink */
	uint32_t queued;	/* bytes read, not yet written */
	uint8_t eof : 1;	/* the source said EOF */
	uint8_t done : 1;	/* EOF passed on: the sink was shut down for writing */
	uint8_t drained : 1;	/* the last read was short: poll before reading again */
	uint8_t hup : 1;	/* the source shut down its side (POLLRDHUP seen) */
	uint8_t copying : 1;	/* "adaptive" before this direction streams, or out of pipes;
				 * relay "kernel": the worker copies this direction */
	uint8_t kept : 1;	/* relay "kernel": the verdict stopped redirecting the source */
	uint8_t multi : 1;	/* may wait with a multishot wait (adaptive, until it streams) */
	uint8_t shorts : 2;	/* short copying reads, up to 3: 2 make the multishot wait pay */
};

/* What the connection does after a relay step. */
enum relay_status {
	RELAY_GO_ON,		/* (inside relay.c) the direction may move more now */
	RELAY_WAITING,		/* a wait or a ring splice is in flight */
	RELAY_CLOSE,		/* the connection ends, for the reason given */
};

/*
 * Starts relaying c (state CONN_RELAY, the hello sent): drops the hello
 * buffer, counts the hello's bytes, and waits for both sources.
 * RELAY_CLOSE sets *reason.
 */
enum relay_status relay_start(struct worker *w, struct conn *c, enum close_reason *reason);
/* An engine event of a relaying connection, for direction d. RELAY_CLOSE sets *reason. */
enum relay_status relay_on_event(struct worker *w, struct conn *c, enum engine_op op, int d,
    int res, enum close_reason *reason);
/* Gives back what the directions hold (pipes, pending bytes). Nothing may be in flight. */
void relay_release(struct worker *w, struct conn *c);
/*
 * c's idle or count deadline passed (its timer): RELAY_CLOSE (with *reason)
 * when it has been idle for its idle_ms, else the timer is set again.
 */
enum relay_status relay_on_timer(struct worker *w, struct conn *c, enum close_reason *reason);
/*
 * n bytes delivered in direction d (spliced: 1 unless copied through the
 * worker): counted for c's access log line, the worker, route and backend.
 */
void relay_count(struct worker *w, struct conn *c, int d, uint64_t n, int spliced);
/* c is closing: its byte counts brought up to date for the access log. */
void relay_closing(struct worker *w, struct conn *c);

#endif
