/*
 * conn.h -- a client connection's life: accepted, its ClientHello read and
 * routed, a backend connected and handed the hello, the relay, the close.
 */
#ifndef PASSTHROUGH_CONN_H
#define PASSTHROUGH_CONN_H

#include <stdint.h>

#include "addr.h"
#include "clienthello.h"
#include "engine.h"
#include "relay.h"
#include "routes.h"
#include "stats.h"
#include "timer.h"

struct worker;

enum conn_state {
	CONN_HELLO,		/* reading the ClientHello */
	CONN_ALERT,		/* alert sent: draining the client until it closes */
	CONN_CONNECTING,	/* connecting to a backend */
	CONN_SEND_HELLO,	/* writing the buffered hello to the backend */
	CONN_RELAY,		/* moving bytes both ways */
	CONN_FREE,		/* on the free list */
};

/* The ClientHello phase: buffered until a backend takes it. */
struct hello_buf {
	uint8_t *data;
	uint32_t len;		/* bytes received */
	uint32_t cap;
	uint32_t sent;		/* bytes written to the backend */
	int32_t connect_res;	/* result of the last connect, kept until its timeout's event */
	uint16_t proxy_len;	/* send_proxy: our PROXY header's bytes at the start of data */
	uint8_t alert_reason;	/* CONN_ALERT: the close reason once the client is gone */
	uint64_t connect_start_us;	/* CLOCK_MONOTONIC, for the connect-time histogram */
	struct hello_parser parser;
};

enum conn_flags {
	CONN_ROUTED = 1 << 0,		/* counted in its route's statistics */
	CONN_CONNECTED = 1 << 1,	/* counted in its backend's statistics */
	CONN_PROXY_IN = 1 << 2,		/* a PROXY header is due before the hello */
};

/*
 * What a connection knows of its client, allocated only when the access
 * log, address rules or the PROXY protocol need it (conn_meta_get).
 */
struct conn_meta {
	struct addr client;	/* carried by an accepted PROXY header, else the peer */
	struct addr local;	/* what the client connected to, likewise; len 0: not asked yet */
	uint16_t sni_len;	/* 0: no SNI */
	uint16_t alpn_len;	/* 0: no ALPN */
	char text[];		/* the SNI, then the ALPN list as "h2,http/1.1" */
};

/*
 * A client connection: three cache lines, no data buffers (the hello
 * buffer is allocated while the hello phase lasts). 64-byte aligned: the
 * engine keeps an op in the low bits of its address.
 */
struct conn {
	struct timer timer;	/* the hello, alert linger or idle deadline */
	uint16_t ops;		/* engine_bit() per request in flight (kept by the engine) */
	uint8_t state;		/* enum conn_state */
	uint8_t reason;		/* enum close_reason: set once closing began */
	int cfd, bfd;
	uint64_t accepted_ms;
	uint64_t active_ms;	/* last time bytes moved */
	const struct routes_route *route;	/* while connecting: pinned image */
	uint8_t pin_slot;	/* w->images entry pinned while route is set */
	uint8_t tries;		/* backends tried; > 0: backend_sid names the last one */
	uint16_t backend;	/* index within the route of the current one */
	uint32_t idle_ms;	/* of the generation it was accepted under */
	uint8_t relay;		/* enum relay_method, likewise */
	uint8_t flags;		/* enum conn_flags */
	uint8_t listener;	/* index of the listener it came from */
	uint32_t route_sid;	/* statistics entries, valid with CONN_ROUTED/CONNECTED */
	uint32_t backend_sid;
	uint32_t connect_us;	/* how long the backend took to accept */
	struct conn_meta *meta;	/* NULL until something needs it */
	union {
		struct hello_buf hello;	/* CONN_HELLO .. CONN_SEND_HELLO */
		struct dir dir[2];	/* CONN_RELAY */
		struct conn *next_free;	/* CONN_FREE */
	} u;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct conn) <= 192, "a connection fits three cache lines");

/* A listener accepted fd (non-blocking): a new connection, or fd closed at the limit. */
void conn_accept(struct worker *w, int fd, unsigned listener);
/* The engine's events of c: op for direction d with its result. */
void conn_on_event(struct worker *w, struct conn *c, enum engine_op op, int d, int res);
/* Every connection whose deadline passed. */
void conn_expire(struct worker *w);
/* Begins c's end: counted, logged, its requests cancelled; freed once none is in flight. */
void conn_close(struct worker *w, struct conn *c, enum close_reason reason);
/* Frees what c holds (buffers, pipes, fds); idempotent. Only once nothing is in flight. */
void conn_release(struct worker *w, struct conn *c);
/* Closes every live connection (counted as shutdown). */
void conn_close_all(struct worker *w);

/* conn_hello.c: the hello phase. */
/* Reads what the client sent of its hello; routes it once it is whole. */
void conn_hello_read(struct worker *w, struct conn *c);
/* After the alert: reads and discards until the client closes. */
void conn_alert_drain(struct worker *w, struct conn *c);
/* At accept, when the access log is on: c->meta with the client's address. */
void conn_meta_accept(struct worker *w, struct conn *c);
/* c->meta, made with the peer's address when there is none yet; NULL without memory. */
struct conn_meta *conn_meta_get(struct conn *c);

/* conn_access.c: address rules and the PROXY protocol, in and out. */
/* At accept: trusted for a PROXY listener, else the listen rules. 0, or -1 with c closed. */
int conn_access_accept(struct worker *w, struct conn *c);
/*
 * c's hello buffer begins with the PROXY header it owes: 0 once the header
 * is taken (and dropped from the buffer: what is left is the client's),
 * -EAGAIN while it is incomplete, -1 with c closed.
 */
int conn_access_proxy(struct worker *w, struct conn *c);
/*
 * The hello found route r: its rules pass, and the PROXY header it sends
 * (if any) is put before the hello in c's buffer. 0, or -1 with c closed.
 * info's names may point into the buffer: they are read before it moves.
 */
int conn_access_route(struct worker *w, struct conn *c, const struct routes_route *r,
    const struct hello_info *info);
/*
 * The listener group c's listen address is in, in this turn's image: the
 * routes its hello is looked up in. 0 when the image has no settings for it.
 */
uint32_t conn_access_group(struct worker *w, const struct conn *c);

/* conn.c, for conn_hello.c */
/*
 * Route r has its max_connections open: this worker's share of them (the
 * limit over the workers, rounded up), counted by its statistics entry.
 */
int conn_route_full(const struct worker *w, const struct routes_route *r);
/* The hello found route r (of this turn's image): pin it, connect its backend b. */
void conn_route(struct worker *w, struct conn *c, const struct routes_route *r, uint16_t b,
    const struct hello_info *info);
/* Waits until c's client is readable; closes c when the engine cannot. */
void conn_wait_client(struct worker *w, struct conn *c);
void conn_set_state(struct worker *w, struct conn *c, enum conn_state state);
/* The client's address for a log line. */
const char *conn_peer(const struct conn *c, char *buf, size_t size);

/* Relay direction d's source and sink: 0 client -> backend, 1 backend -> client. */
static inline int
conn_src(const struct conn *c, int d)
{
	return d == 0 ? c->cfd : c->bfd;
}

static inline int
conn_dst(const struct conn *c, int d)
{
	return d == 0 ? c->bfd : c->cfd;
}

#endif
