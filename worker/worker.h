/*
 * worker.h -- one worker process: one thread, one io_uring, many connections.
 *
 * Every completion carries a user_data that names its owner (a connection
 * or a listener, both 64-byte aligned) and, in the low bits, the operation.
 * An owner is freed only when none of its operations is in flight: the
 * kernel may still write into memory an operation points at.
 */
#ifndef PASSTHROUGH_WORKER_H
#define PASSTHROUGH_WORKER_H

#include <liburing.h>
#include <stdint.h>

#include "accesslog.h"
#include "addr.h"
#include "clienthello.h"
#include "log.h"
#include "routes.h"
#include "pipe.h"
#include "rtshm.h"
#include "stats.h"
#include "timer.h"

/*
 * Operations; at most one of each kind is in flight per owner. A closing
 * connection cancels its operations and is freed (fds closed) when the last
 * completion came back, so no submitted entry ever names a reused fd.
 */
enum op {
	OP_NONE,		/* user_data 0: cancellations, nothing to do */
	OP_ACCEPT,		/* listener: multishot accept */
	OP_CONNECT,		/* connection: IORING_OP_CONNECT to the backend */
	OP_CONNECT_TIMEOUT,	/* its linked timeout */
	OP_POLL_IN0,		/* readiness of the source of direction 0 (client) */
	OP_POLL_IN1,		/* ... of direction 1 (backend) */
	OP_POLL_OUT0,		/* writability of the sink of direction 0 (backend) */
	OP_POLL_OUT1,		/* ... of direction 1 (client) */
	OP_SPLICE_IN0,		/* IORING_OP_SPLICE source -> pipe (relay splice_ring) */
	OP_SPLICE_IN1,
	OP_SPLICE_OUT0,		/* pipe -> sink */
	OP_SPLICE_OUT1,
	OP_LOG_WRITE,		/* the access log: a buffer of lines to its file */
	OP_LOG_POLL,		/* ... waiting until its file takes more (EAGAIN) */
	OP_COUNT
};
#define OP_BITS 4
#define OP_MASK ((1u << OP_BITS) - 1)
_Static_assert(OP_COUNT <= (1 << OP_BITS), "op fits the low bits of user_data");

static inline uint64_t
op_tag(const void *owner, enum op op)
{
	return (uint64_t)(uintptr_t)owner | op;
}


enum conn_state {
	CONN_HELLO,		/* reading the ClientHello */
	CONN_ALERT,		/* alert sent: draining the client until it closes */
	CONN_CONNECTING,	/* connecting to a backend */
	CONN_SEND_HELLO,	/* writing the buffered hello to the backend */
	CONN_RELAY,		/* moving bytes both ways */
	CONN_FREE,		/* on the free list */
};

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
};

/* The ClientHello phase: buffered until a backend takes it. */
struct hello_buf {
	uint8_t *data;
	uint32_t len;		/* bytes received */
	uint32_t cap;
	uint32_t sent;		/* bytes written to the backend */
	int32_t connect_res;	/* result of the last connect, kept until its timeout's CQE */
	uint64_t connect_start_us;	/* CLOCK_MONOTONIC, for the connect-time histogram */
	struct hello_parser parser;
};

enum conn_flags {
	CONN_ROUTED = 1 << 0,		/* counted in its route's statistics */
	CONN_CONNECTED = 1 << 1,	/* counted in its backend's statistics */
};

/*
 * A client connection: three cache lines, no data buffers (the hello
 * buffer is allocated while the hello phase lasts).
 */
struct conn {
	uint64_t deadline;	/* ms, CLOCK_MONOTONIC; UINT64_MAX: none */
	uint32_t timer_index;	/* position in the worker's timer heap */
	uint16_t ops;		/* bit per enum op in flight */
	uint8_t state;		/* enum conn_state */
	uint8_t reason;		/* enum close_reason: set once closing began */
	int cfd, bfd;
	uint64_t accepted_ms;
	uint64_t active_ms;	/* last time bytes moved */
	const struct routes_route *route;	/* while connecting: pinned image */
	uint8_t pin_slot;	/* image slot pinned while route is set */
	uint8_t tries;		/* backends tried; > 0: backend_sid names the last one */
	uint16_t backend;	/* index within the route of the current one */
	uint32_t idle_ms;	/* of the generation it was accepted under */
	uint8_t relay;		/* enum relay_method, likewise */
	uint8_t flags;		/* enum conn_flags */
	uint8_t listener;	/* index of the listener it came from */
	uint32_t route_sid;	/* statistics entries, valid with CONN_ROUTED/CONNECTED */
	uint32_t backend_sid;
	uint32_t connect_us;	/* how long the backend took to accept */
	struct access_meta *meta;	/* for the access log, when it is on */
	union {
		struct hello_buf hello;	/* CONN_HELLO .. CONN_SEND_HELLO */
		struct dir dir[2];	/* CONN_RELAY */
		struct conn *next_free;	/* CONN_FREE */
	} u;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct conn) <= 192, "a connection fits three cache lines");

struct listener {
	int fd;
	uint16_t ops;
	uint8_t multishot;	/* the accept in flight is multishot */
	struct log_limit errors_logged;	/* accept errors */
	struct addr addr;
} __attribute__((aligned(64)));

/* What the master hands a worker process. */
struct worker_spec {
	unsigned slot;			/* 0 .. workers-1 */
	unsigned report;		/* rtshm report line of this process */
	unsigned workers;		/* how many slots there are */
	const int *listen_fds;		/* this slot's listening sockets */
	const struct addr *listen_addrs;
	unsigned listen_count;
	struct rtshm *routes;
	struct stats *stats;		/* the segment; this worker writes lines[report] */
};

struct worker {
	struct io_uring ring;
	int ring_ready;
	const struct worker_spec *spec;
	uint64_t now;			/* ms, CLOCK_MONOTONIC, per loop turn */

	uint64_t current;		/* rtshm current we route with */
	uint64_t rejected;		/* an rtshm current whose image was invalid */
	const struct routes_image *img;
	uint32_t pins[RTSHM_SLOTS];	/* connecting conns per image slot */
	struct __kernel_timespec connect_ts;	/* for linked connect timeouts */

	struct listener *listeners;
	unsigned listen_count;
	uint64_t drain_deadline;	/* ms; 0 unless retiring (SIGQUIT) */
	int accept_paused;		/* at the connection limit */
	uint64_t accept_retry_at;	/* ms; after EMFILE and the like */

	struct conn *conns;		/* [conn_cap] */
	struct conn *free_conns;
	uint32_t conn_used;		/* high-water mark into conns */
	uint32_t conn_count;		/* live */
	uint32_t conn_cap;		/* what the open-files limit allows */
	uint32_t conn_max;		/* this worker's share of max_connections, <= conn_cap */

	struct timer_heap timers;
	struct pipe_pool pipes;
	uint8_t *scratch;		/* MAX_HELLO_BYTES: hello reassembly, discards */
	uint32_t rr;			/* round-robin over a route's backends */
	struct stats_worker *st;	/* this worker's line in the statistics segment */
	struct stats *stats;
	struct accesslog access;
};

/* worker.c */
int worker_run(const struct worker_spec *spec);
struct io_uring_sqe *worker_sqe(struct worker *w);
void worker_routes_refresh(struct worker *w);
void worker_pin(struct worker *w, uint8_t slot, int delta);


/* 1 when a repeating line may be said now (log_limit_due at LOG_REPEAT_MS). */
int worker_log_due(const struct worker *w, struct log_limit *l, uint64_t *skipped);

/* conn.c */
void conn_set_state(struct worker *w, struct conn *c, enum conn_state state);
void conn_accept(struct worker *w, int fd, unsigned listener);
void conn_on_cqe(struct worker *w, struct conn *c, enum op op, int res);
void conn_on_timer(struct worker *w, struct conn *c);
void conn_close(struct worker *w, struct conn *c, enum close_reason reason);
/* Arms a one-shot poll on fd for mask; the completion comes back as op. */
void conn_poll(struct worker *w, struct conn *c, enum op op, int fd, unsigned mask);
/* Frees what c holds (buffers, pipes); idempotent. Only once no op is in flight. */
void conn_release(struct worker *w, struct conn *c);

/* relay.c */
void relay_start(struct worker *w, struct conn *c);
void relay_on_cqe(struct worker *w, struct conn *c, enum op op, int res);
void relay_release(struct worker *w, struct conn *c);
void relay_abort(struct worker *w, struct conn *c, int failed_fd, int err);

#endif
