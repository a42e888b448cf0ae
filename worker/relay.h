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
	};
	uint64_t bytes;		/* bytes delivered to the sink */
	uint32_t queued;	/* bytes read, not yet written */
	uint8_t eof : 1;	/* the source said EOF */
	uint8_t done : 1;	/* EOF passed on: the sink was shut down for writing */
	uint8_t drained : 1;	/* the last read was short: poll before reading again */
	uint8_t hup : 1;	/* the source shut down its side (POLLRDHUP seen) */
	uint8_t copying : 1;	/* "adaptive" before this direction streams, or out of pipes */
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

#endif
