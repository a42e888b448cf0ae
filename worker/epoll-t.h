/*
 * epoll-t.h -- the epoll engine's state, shared by its two files: epoll.c
 * (the set, the wait, the dispatch, listeners and the access log) and
 * epoll_conn.c (a connection's requests and their events). See epoll.c
 * for how it works.
 */
#ifndef PASSTHROUGH_EPOLL_T_H
#define PASSTHROUGH_EPOLL_T_H

#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "conn.h"
#include "engine-t.h"
#include "timer.h"
#include "tunables.h"

/* The results handed over are poll(2) masks: epoll's bits are the same. */
_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLERR == POLLERR &&
    EPOLLHUP == POLLHUP && EPOLLRDHUP == POLLRDHUP && EPOLLPRI == POLLPRI,
    "epoll events are poll bits");

/* Readable, and tell us when the peer shut down its side (then a short read means EOF). */
#define EPOLL_IN (EPOLLIN | EPOLLRDHUP)
#define EPOLL_RES_BITS (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP)
/* What wakes a reader, and a writer: an error or a hang-up wakes both. */
#define EPOLL_WAKES_IN (EPOLL_IN | EPOLLERR | EPOLLHUP)
#define EPOLL_WAKES_OUT (EPOLLOUT | EPOLLERR | EPOLLHUP)

enum epoll_fd_kind {
	EFD_NONE,		/* not ours, or forgotten */
	EFD_CONN,		/* a connection's socket: side 0 the client's, 1 the backend's */
	EFD_LISTENER,
	EFD_LOG,		/* the access log's fd, while a wait for it is registered */
};

/* What the engine knows of one fd. */
struct epoll_fd {
	void *owner;		/* struct conn, listener or accesslog */
	struct timer timer;	/* a connect's deadline (on the backend's socket) */
	uint32_t gen;		/* changes when the fd is forgotten: older events are stale */
	uint32_t reg;		/* the events registered with the kernel; 0: none */
	uint16_t ending;	/* conn.ops bits whose last event is queued */
	uint8_t kind;		/* enum epoll_fd_kind */
	uint8_t side;		/* EFD_CONN: 0 the client's socket, 1 the backend's */
	uint8_t dirty;		/* on the list of fds to look at before the next wait */
	uint8_t in_idle;	/* readability fired with nobody waiting: unregister it */
};

/* An event the engine made itself (a cancel, a timeout, a connect's end), for the dispatch. */
struct epoll_done {
	void *owner;
	int32_t res;
	int fd;			/* the fd the request was about */
	uint8_t op;		/* enum engine_op */
	uint8_t d;
	uint8_t more;		/* EV_ACCEPT: not its last (as IORING_CQE_F_MORE) */
};

/* The access log's one request at a time. */
enum epoll_log_state {
	ELOG_IDLE,
	ELOG_WRITE_DUE,		/* written at the next sleep */
	ELOG_WRITTEN,		/* res is the write's result, handed over at dispatch */
	ELOG_WAITING,		/* a FIFO's EPOLLOUT is registered */
	ELOG_WRITABLE,		/* writable without a wait (a regular file), for the dispatch */
};

struct epoll_engine {
	struct engine base;		/* first: the table of epoll_ops */
	struct worker *w;		/* whose handlers get the events */
	sigset_t waitmask;
	int epfd;
	unsigned busy_waits;		/* waits that returned without sleeping */
	uint32_t connect_ms;		/* the connect timeout of requests made from now on */
	struct epoll_fd *fds;		/* [fd_cap] */
	uint32_t fd_cap;
	int *dirty;			/* [fd_cap]: fds whose requests changed since the last wait */
	uint32_t dirty_len;
	struct timer_heap timers;	/* connect deadlines, nodes in fds[].timer */
	struct epoll_done *done;	/* [done_cap], done_len of them queued */
	uint32_t done_len, done_cap;
	struct {
		struct accesslog *a;
		int fd;
		const void *buf;
		uint32_t len;
		int res;
		uint8_t state;		/* enum epoll_log_state */
	} log;
	int nevents;			/* of the last wait, in events */
	struct epoll_event events[EPOLL_EVENTS_MAX];
};

static inline struct epoll_engine *
epoll_of(struct engine *e)
{
	return (struct epoll_engine *)(void *)e;
}

static inline uint64_t
epoll_tag(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

/* The fd's entry, NULL when it is beyond the table (the open-files limit). */
static inline struct epoll_fd *
epoll_fd_get(struct epoll_engine *p, int fd)
{
	return fd >= 0 && (uint32_t)fd < p->fd_cap ? &p->fds[fd] : NULL;
}

/* The side of a connection a request is about: 0 its client's socket, 1 its backend's. */
static inline int
epoll_side(enum engine_op op, int d)
{
	if (op == EV_CONNECT || op == EV_CONNECT_TIMEOUT)
		return 1;
	return op == EV_WRITABLE ? !d : d;
}

/* 1 when c's request (op, d) is in flight and its last event is not queued yet. */
static inline int
epoll_live(const struct epoll_fd *st, const struct conn *c, enum engine_op op, int d)
{
	uint16_t bit = engine_bit(op, d);

	return (c->ops & bit) && !(st->ending & bit);
}

/* fd's requests changed: its registration is looked at before the next wait. */
static inline void
epoll_mark(struct epoll_engine *p, struct epoll_fd *st, int fd)
{
	if (st->dirty)
		return;
	st->dirty = 1;
	p->dirty[p->dirty_len++] = fd;
}

/* epoll.c */
/* Room for n more queued events. 0 or -ENOBUFS. */
int epoll_reserve(struct epoll_engine *p, uint32_t n);
/* Queues an event for the next dispatch; epoll_reserve() made room. */
void epoll_push(struct epoll_engine *p, void *owner, enum engine_op op, int d, int fd, int res);
/* The last queued event is not its request's last (an accepted connection). */
static inline void
epoll_push_more(struct epoll_engine *p)
{
	p->done[p->done_len - 1].more = 1;
}
/* Makes fd's registration mask (0: none). 0 or -errno. */
int epoll_set(struct epoll_engine *p, int fd, struct epoll_fd *st, uint32_t mask);
/* Unregisters fd and forgets it: its events in flight are stale from now on. */
void epoll_drop(struct epoll_engine *p, int fd, struct epoll_fd *st);

/* epoll_conn.c: the connection requests of engine.h, and */
void epoll_conn_timeout(struct engine *e, uint32_t ms);
int epoll_conn_wait(struct engine *e, struct conn *c, enum engine_op op, int d, int fd);
int epoll_conn_wait_multi(struct engine *e, struct conn *c, int d, int fd);
void epoll_conn_wait_multi_stop(struct engine *e, struct conn *c, int d);
int epoll_conn_connect(struct engine *e, struct conn *c, int fd, const struct sockaddr *sa,
    socklen_t len);
int epoll_conn_cancel(struct engine *e, struct conn *c);
void epoll_conn_forget(struct engine *e, int fd);
/* Before a wait: fd's registration made what its requests want. */
void epoll_conn_apply(struct epoll_engine *p, int fd, struct epoll_fd *st);
/* At dispatch: connects whose deadline passed end (queued). */
void epoll_conn_expire(struct epoll_engine *p);
/* A queued event of a connection: its request ends. */
void epoll_conn_deliver(struct epoll_engine *p, const struct epoll_done *dn);
/* Readiness of a connection's socket fd. */
void epoll_conn_ready(struct epoll_engine *p, struct epoll_fd *st, int fd, uint32_t events);

#endif
