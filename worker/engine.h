/*
 * engine.h -- the event engine: what a worker's rooms ask of the kernel,
 * and how the answers come back.
 *
 * Requests are made for an owner (a connection, a listener, the access
 * log) and complete later as an event handed straight to the owner's
 * handler: listener_on_accept(), conn_on_event(), accesslog_on_write() and
 * accesslog_on_writable(). Two engines implement these calls, chosen at run
 * time (engine_init's kind): io_uring (uring.c), and epoll (epoll.c) for
 * where io_uring is denied (a seccomp profile, kernel.io_uring_disabled).
 * That is why waiting is "tell me when readable / writable" and the moves
 * themselves (recv, send, splice) stay plain syscalls in the callers. Only
 * the ring splice of relay "splice_ring" is a move made here, and only
 * io_uring makes it.
 *
 * The engine keeps a connection's bitmask of requests in flight (conn.ops)
 * and a listener's accepting flag: set when a request is made, cleared
 * before its last event is handed over. Every request ends with exactly one
 * last event, handed over by engine_dispatch(), never from inside the call
 * that made or cancelled it. An owner's memory is reused only when nothing
 * is in flight: the kernel may still write into it.
 */
#ifndef PASSTHROUGH_ENGINE_H
#define PASSTHROUGH_ENGINE_H

#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

struct accesslog;
struct conn;
struct listener;
struct worker;

/* What completed. Events of a connection carry a direction d (0 or 1). */
enum engine_op {
	EV_NONE,		/* nobody waits for it (a cancellation) */
	EV_ACCEPT,		/* listener: res is the new fd, or -errno */
	EV_CONNECT,		/* conn: the connect ended: 0 or -errno (-ECANCELED: timed out) */
	EV_CONNECT_TIMEOUT,	/* conn: the connect's timeout is gone too (res: nothing to act on) */
	EV_READABLE,		/* conn, d: the source is readable; res: poll mask (POLLRDHUP: peer shut down) or -errno */
	EV_WRITABLE,		/* conn, d: the sink takes more; res: poll mask or -errno */
	EV_SPLICE_IN,		/* conn, d: ring splice source -> pipe; res: bytes, 0 at EOF, -errno */
	EV_SPLICE_OUT,		/* conn, d: ring splice pipe -> sink; likewise */
	EV_READABLE_MULTI,	/* conn, d: as EV_READABLE, from a multishot wait (engine_wait_multi) */
	EV_LOG_WRITE,		/* access log: res bytes written, or -errno */
	EV_LOG_WRITABLE,	/* access log: its fd takes more */
	EV_OP_COUNT
};

/* A connection's bit in conn.ops for op (EV_CONNECT .. EV_READABLE_MULTI) in direction d. */
static inline uint16_t
engine_bit(enum engine_op op, int d)
{
	return (uint16_t)(1u << (2 * (op - EV_CONNECT) + d));
}
_Static_assert(2 * (EV_READABLE_MULTI - EV_CONNECT + 1) <= 16, "connection ops fit 16 bits");

struct engine;

/* The engines. 0 is io_uring: a worker_spec that does not say runs on it. */
enum engine_kind {
	ENGINE_IO_URING = 0,
	ENGINE_EPOLL = 1,
	ENGINE_KIND_COUNT
};

/* "io_uring", "epoll"; "?" for a kind out of range. */
const char *engine_kind_name(unsigned kind);
/* The kind named name ("io_uring", "epoll"), or -EINVAL. */
int engine_kind_parse(const char *name);
/*
 * 0 when this process may set up and wait on an engine of that kind now,
 * else -errno and the call that failed in *call (a static string): for
 * io_uring, -EPERM or -ENOSYS from "io_uring_setup" when a seccomp filter
 * denies it, -EPERM when the sysctl kernel.io_uring_disabled does, and
 * from "io_uring_enter" when a filter allows the ring but not its waits.
 * Logs nothing: the caller decides.
 */
int engine_probe(enum engine_kind kind, const char **call);

/*
 * Sets up an engine of that kind for worker w; waitmask is the signal mask while it
 * sleeps (the worker's signals are blocked at all other times, so none can
 * slip in between checking its flags and sleeping). 0 or -errno, logged.
 */
int engine_init(struct engine **e, enum engine_kind kind, struct worker *w,
    const sigset_t *waitmask);
/* Tears the engine down; what is still in flight is cancelled and reaped. NULL-safe. */
void engine_fini(struct engine *e);

/*
 * Submits what was asked, then sleeps until an event comes or wait_ms
 * passed, with the worker's signals unblocked. Events are not handed over:
 * engine_dispatch() does that, after the caller had a look at the world.
 * 0, or -errno (logged) when the wait itself is refused in a way no retry
 * mends (a seccomp filter denying the call, a bad descriptor): the worker
 * must stop rather than spin on it.
 */
int engine_sleep(struct engine *e, uint64_t wait_ms);

/* 1 if err, from a wait call, says it will fail every time. */
int engine_wait_broken(int err);
/* Hands every event that came to its owner's handler. */
void engine_dispatch(struct engine *e);

/* The connect timeout from now on (ms). Requests already made keep theirs. */
void engine_connect_timeout(struct engine *e, uint32_t ms);

/*
 * Requests. Each returns 0, or -ENOBUFS when the engine has no room for it
 * right now (nothing was requested then).
 */
/* Accepts on l->fd: every connection until cancelled (multishot), or one. */
int engine_accept(struct engine *e, struct listener *l, int multishot);
/* Stops l's accept; its last EV_ACCEPT (-ECANCELED) still comes. */
void engine_accept_cancel(struct engine *e, struct listener *l);
/* EV_READABLE or EV_WRITABLE once, for c's direction d, about fd. */
int engine_wait(struct engine *e, struct conn *c, enum engine_op op, int d, int fd);
/*
 * EV_READABLE_MULTI for c's direction d, about fd, each time fd's wait
 * queue is woken while it is readable, until engine_wait_multi_stop(). Its
 * bit in conn.ops stays set while it lasts; a last event without it (the
 * kernel may end a multishot wait) means it must be asked for again. Use
 * it only where every byte left unread wakes fd again: after a read that
 * emptied the socket (a short TCP recv or EAGAIN), never after one that
 * stopped for lack of room.
 */
int engine_wait_multi(struct engine *e, struct conn *c, int d, int fd);
/* Ends c's multishot wait of direction d; its last event (-ECANCELED) still comes. */
void engine_wait_multi_stop(struct engine *e, struct conn *c, int d);
/* Connects fd to sa; EV_CONNECT, then EV_CONNECT_TIMEOUT, both always come. */
int engine_connect(struct engine *e, struct conn *c, int fd, const struct sockaddr *sa,
    socklen_t len);
/*
 * EV_SPLICE_IN / EV_SPLICE_OUT: up to len bytes from -> to, non-blocking.
 * io_uring only: epoll says -EOPNOTSUPP (the worker relays "splice_ring" as
 * "splice" there, so it never asks).
 */
int engine_splice(struct engine *e, struct conn *c, enum engine_op op, int d, int from,
    int to, uint32_t len);
/*
 * Cancels everything c has in flight; each request still ends with its
 * event. -ENOBUFS when some could not be cancelled: the caller wakes those
 * itself (a shutdown(2) of the socket ends a wait on it).
 */
int engine_cancel(struct engine *e, struct conn *c);
/* The access log: writes len bytes of buf to fd (EV_LOG_WRITE), or waits until fd takes more. */
int engine_log_write(struct engine *e, struct accesslog *a, int fd, const void *buf,
    uint32_t len);
int engine_log_wait(struct engine *e, struct accesslog *a, int fd);
/*
 * fd, which a request of c was made about, is about to be closed (it may
 * be reused at once): the engine forgets what it keeps of it, and no event
 * that came about it before is handed over. Nothing of c may be in flight
 * on fd. NULL-safe (after engine_fini).
 */
void engine_forget(struct engine *e, int fd);

#endif
