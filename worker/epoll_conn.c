/*
 * epoll_conn.c -- the epoll engine's side of a connection: its waits, its
 * connect and its timeout, cancels, and the readiness of its two sockets
 * handed to the requests they satisfy (epoll.c says how the engine works).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "epoll-t.h"
#include "log.h"
#include "worker-t.h"

/* fd's entry, taken for c's side s (kept when it is c's already). NULL: beyond the table. */
static struct epoll_fd *
epoll_conn_fd(struct epoll_engine *p, struct conn *c, int s, int fd)
{
	struct epoll_fd *st = epoll_fd_get(p, fd);

	if (st == NULL || (st->kind == EFD_CONN && st->owner == c))
		return st;
	/* Another owner's: closed without engine_forget. Its events are stale from now on. */
	epoll_drop(p, fd, st);
	timer_init(&st->timer);
	st->kind = EFD_CONN;
	st->owner = c;
	st->side = (uint8_t)s;
	return st;
}

/* The fd of c's side s. */
static inline int
epoll_conn_side_fd(const struct conn *c, int s)
{
	return s == 0 ? c->cfd : c->bfd;
}

/*
 * Ends c's request (op, d) about fd with res, through the queue: its last
 * event. A connect's timeout ends with it (tres). 0 or -ENOBUFS.
 */
static int
epoll_conn_end(struct epoll_engine *p, struct conn *c, enum engine_op op, int d, int fd,
    int res, int tres)
{
	struct epoll_fd *st = &p->fds[fd];

	if (epoll_reserve(p, 2) != 0)
		return -ENOBUFS;
	st->ending |= engine_bit(op, d);
	epoll_push(p, c, op, d, fd, res);
	if (op == EV_CONNECT) {
		timer_clear(&p->timers, &st->timer);
		st->ending |= engine_bit(EV_CONNECT_TIMEOUT, 0);
		epoll_push(p, c, EV_CONNECT_TIMEOUT, 0, fd, tres);
	}
	epoll_mark(p, st, fd);
	return 0;
}

/* Every live request of c on fd (side s) ends with -err: its registration failed. */
static void
epoll_conn_fail(struct epoll_engine *p, int fd, struct epoll_fd *st, int err)
{
	static const enum engine_op ops[] = { EV_READABLE, EV_READABLE_MULTI, EV_WRITABLE };
	struct conn *c = st->owner;
	int s = st->side;

	log_error("epoll_ctl: %s", strerror(-err));
	if (s == 1 && epoll_live(st, c, EV_CONNECT, 0))
		(void)epoll_conn_end(p, c, EV_CONNECT, 0, fd, err, -ECANCELED);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int d = ops[i] == EV_WRITABLE ? !s : s;

		if (epoll_live(st, c, ops[i], d))
			(void)epoll_conn_end(p, c, ops[i], d, fd, err, 0);
	}
}

/* What a connection's requests on fd want registered. */
static uint32_t
epoll_conn_want(const struct epoll_fd *st)
{
	const struct conn *c = st->owner;
	int s = st->side;
	uint32_t want = 0;

	if (epoll_live(st, c, EV_READABLE, s) || epoll_live(st, c, EV_READABLE_MULTI, s))
		want |= EPOLL_IN;
	if (epoll_live(st, c, EV_WRITABLE, !s) || (s == 1 && epoll_live(st, c, EV_CONNECT, 0)))
		want |= EPOLLOUT;
	return want;
}

/* Before a wait: fd's registration made what its requests want (lazily for readability). */
void
epoll_conn_apply(struct epoll_engine *p, int fd, struct epoll_fd *st)
{
	uint32_t want, mask;
	int rc;

	st->dirty = 0;
	if (st->kind != EFD_CONN)
		return;
	want = epoll_conn_want(st);
	mask = want | (st->in_idle ? 0 : st->reg & EPOLL_IN);
	/* Only an unwanted readability left: keep it while it stays quiet. */
	st->in_idle = 0;
	if (mask == st->reg)
		return;
	if ((rc = epoll_set(p, fd, st, mask)) != 0)
		epoll_conn_fail(p, fd, st, rc);
}

/* Hands c the event of its request (op, d) about fd, its bit cleared first. */
static void
epoll_conn_hand(struct epoll_engine *p, struct epoll_fd *st, int fd, struct conn *c,
    enum engine_op op, int d, int res)
{
	c->ops &= (uint16_t)~engine_bit(op, d);
	epoll_mark(p, st, fd);
	conn_on_event(p->w, c, op, d, res);
}

/* A queued event to its connection: the last of its request. */
void
epoll_conn_deliver(struct epoll_engine *p, const struct epoll_done *dn)
{
	struct epoll_fd *st = &p->fds[dn->fd];

	if (st->kind == EFD_CONN && st->owner == dn->owner)
		st->ending &= (uint16_t)~engine_bit(dn->op, dn->d);
	epoll_conn_hand(p, st, dn->fd, dn->owner, dn->op, dn->d, dn->res);
}

/* Connects whose deadline passed: EV_CONNECT -ECANCELED, then EV_CONNECT_TIMEOUT. */
void
epoll_conn_expire(struct epoll_engine *p)
{
	struct timer *t;
	struct epoll_fd *st;
	int fd;

	while ((t = timer_pop_expired(&p->timers, p->w->now)) != NULL) {
		st = (struct epoll_fd *)(void *)((char *)t - offsetof(struct epoll_fd, timer));
		fd = (int)(st - p->fds);
		if (epoll_conn_end(p, st->owner, EV_CONNECT, 0, fd, -ECANCELED, -ETIME) != 0) {
			timer_set(&p->timers, t, p->w->now + 1);	/* no memory: next turn */
			return;
		}
	}
}

/* c's connect on fd ended (EPOLLOUT, or an error): its result, then its timeout's end. */
static void
epoll_conn_connected(struct epoll_engine *p, struct epoll_fd *st, int fd, struct conn *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	timer_clear(&p->timers, &st->timer);
	epoll_conn_hand(p, st, fd, c, EV_CONNECT, 0, -err);
	/* Its timeout's bit keeps c: the last event of the attempt. */
	epoll_conn_hand(p, st, fd, c, EV_CONNECT_TIMEOUT, 0, -ECANCELED);
}

/* Readiness of a connection's socket: to the requests it satisfies, in turn. */
void
epoll_conn_ready(struct epoll_engine *p, struct epoll_fd *st, int fd, uint32_t events)
{
	uint32_t gen = st->gen;
	struct conn *c = st->owner;
	int s = st->side, res = (int)(events & EPOLL_RES_BITS), took_in = 0;

	if (s == 1 && (events & EPOLL_WAKES_OUT) && epoll_live(st, c, EV_CONNECT, 0)) {
		epoll_conn_connected(p, st, fd, c);
		if (st->gen != gen)
			return;
	}
	if (events & EPOLL_WAKES_IN) {
		if (epoll_live(st, c, EV_READABLE, s)) {
			took_in = 1;
			epoll_conn_hand(p, st, fd, c, EV_READABLE, s, res);
			if (st->gen != gen)
				return;
		}
		if (epoll_live(st, c, EV_READABLE_MULTI, s)) {
			took_in = 1;
			epoll_conn_hand(p, st, fd, c, EV_READABLE_MULTI, s, res);
			if (st->gen != gen)
				return;
		}
	}
	if ((events & EPOLL_WAKES_OUT) && epoll_live(st, c, EV_WRITABLE, !s)) {
		epoll_conn_hand(p, st, fd, c, EV_WRITABLE, !s, res);
		if (st->gen != gen)
			return;
	}
	if ((events & EPOLL_WAKES_IN) && !took_in) {
		st->in_idle = 1;	/* nobody reads: stop hearing about it */
		epoll_mark(p, st, fd);
	}
}

void
epoll_conn_timeout(struct engine *e, uint32_t ms)
{
	epoll_of(e)->connect_ms = ms;
}

int
epoll_conn_wait(struct engine *e, struct conn *c, enum engine_op op, int d, int fd)
{
	struct epoll_engine *p = epoll_of(e);
	struct epoll_fd *st = epoll_conn_fd(p, c, epoll_side(op, d), fd);

	if (st == NULL)
		return -ENOBUFS;
	c->ops |= engine_bit(op, d);
	epoll_mark(p, st, fd);
	return 0;
}

int
epoll_conn_wait_multi(struct engine *e, struct conn *c, int d, int fd)
{
	return epoll_conn_wait(e, c, EV_READABLE_MULTI, d, fd);
}

void
epoll_conn_wait_multi_stop(struct engine *e, struct conn *c, int d)
{
	struct epoll_engine *p = epoll_of(e);
	int fd = epoll_conn_side_fd(c, d);
	struct epoll_fd *st = epoll_fd_get(p, fd);

	if (st != NULL && epoll_live(st, c, EV_READABLE_MULTI, d))
		(void)epoll_conn_end(p, c, EV_READABLE_MULTI, d, fd, -ECANCELED, 0);
}

int
epoll_conn_connect(struct engine *e, struct conn *c, int fd, const struct sockaddr *sa,
    socklen_t len)
{
	struct epoll_engine *p = epoll_of(e);
	struct epoll_fd *st = epoll_conn_fd(p, c, 1, fd);
	int rc;

	/* Room for both events first: a connect that ends at once queues them. */
	if (st == NULL || epoll_reserve(p, 2) != 0)
		return -ENOBUFS;
	rc = connect(fd, sa, len) == 0 ? 0 : -errno;
	c->ops |= engine_bit(EV_CONNECT, 0) | engine_bit(EV_CONNECT_TIMEOUT, 0);
	/* EINTR: a non-blocking connect goes on by itself, as with EINPROGRESS. */
	if (rc != -EINPROGRESS && rc != -EINTR)
		return epoll_conn_end(p, c, EV_CONNECT, 0, fd, rc, -ECANCELED);
	timer_set(&p->timers, &st->timer, p->w->now + p->connect_ms);
	epoll_mark(p, st, fd);
	return 0;
}

int
epoll_conn_cancel(struct engine *e, struct conn *c)
{
	struct epoll_engine *p = epoll_of(e);
	struct epoll_fd *st;
	int rc = 0, fd;

	for (unsigned op = EV_CONNECT; op <= EV_READABLE_MULTI; op++) {
		/* A connect's timeout ends with it; no ring splice runs here. */
		if (op == EV_CONNECT_TIMEOUT || op == EV_SPLICE_IN || op == EV_SPLICE_OUT)
			continue;
		for (int d = 0; d < 2; d++) {
			fd = epoll_conn_side_fd(c, epoll_side((enum engine_op)op, d));
			st = epoll_fd_get(p, fd);
			if (st == NULL || !epoll_live(st, c, (enum engine_op)op, d))
				continue;
			if (epoll_conn_end(p, c, (enum engine_op)op, d, fd, -ECANCELED,
			    -ECANCELED) != 0)
				rc = -ENOBUFS;
		}
	}
	return rc;
}

void
epoll_conn_forget(struct engine *e, int fd)
{
	struct epoll_engine *p = epoll_of(e);
	struct epoll_fd *st = epoll_fd_get(p, fd);

	if (st == NULL || st->kind != EFD_CONN)
		return;
	/* The close removes the registration: the socket is this worker's alone. */
	st->reg = 0;
	epoll_drop(p, fd, st);
}
