/*
 * epoll.c -- the epoll event engine: readiness from epoll_wait(2) and
 * non-blocking syscalls, for where io_uring is denied (a seccomp profile
 * without it, kernel.io_uring_disabled). The same rooms run on it: they are
 * told what is ready and make the moves themselves, as on io_uring.
 *
 * What the engine keeps is per file descriptor, in a table as long as the
 * open-files limit: whose fd it is (a connection's client or backend side,
 * a listener, the access log), what is registered with the kernel, and the
 * requests on it whose last event the engine made itself and queued (a
 * cancel, a connect's timeout, a failure). Events carry fd | generation <<
 * 32: the generation changes whenever the engine forgets an fd (before its
 * close, engine_forget) or unregisters it, so an event collected about an
 * fd closed since is dropped, never handed to whoever has its number now.
 *
 * Level-triggered, with one-shot requests on top: an event ends the
 * requests it satisfies (their conn.ops bits), and an interest nobody asked
 * for again is dropped at the next sleep. Registration changes are made in
 * one batch before each epoll_wait, only for fds whose requests changed,
 * and only when the mask changes: a direction that reads, finds the socket
 * empty and waits again in the same turn costs no epoll_ctl. Readability
 * stays registered when unwanted until it fires with nobody waiting (most
 * sockets are read again soon); writability (nearly always true) goes at
 * once. A registration with nothing wanted is removed: EPOLLERR and
 * EPOLLHUP would fire whatever the mask says.
 *
 * The multishot wait (engine_wait_multi) is a one-shot wait here: its event
 * comes without its bit, which the contract allows ("ask again"), and the
 * relay's next wait asks again with the same mask: no syscall.
 *
 * Listeners and the access log's FIFO are registered and removed at once
 * (rare), never lazily: their files are shared with the master, so a
 * close would not remove them from this epoll set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accesslog.h"
#include "epoll-t.h"
#include "listener.h"
#include "log.h"
#include "mem.h"
#include "worker-t.h"

/* Room for n more queued events. 0 or -ENOBUFS. */
int
epoll_reserve(struct epoll_engine *p, uint32_t n)
{
	struct epoll_done *v;
	uint32_t cap = p->done_cap;

	while (p->done_len + n > cap)
		cap *= 2;
	if (cap == p->done_cap)
		return 0;
	if ((v = realloc(p->done, cap * sizeof(*v))) == NULL)
		return -ENOBUFS;
	p->done = v;
	p->done_cap = cap;
	return 0;
}

/* Queues an event for the next dispatch; epoll_reserve() made room. */
void
epoll_push(struct epoll_engine *p, void *owner, enum engine_op op, int d, int fd, int res)
{
	p->done[p->done_len++] = (struct epoll_done){
		.owner = owner, .res = res, .fd = fd, .op = (uint8_t)op, .d = (uint8_t)d,
	};
}

/*
 * Makes fd's registration mask (0: none). An fd that was closed without
 * the engine being told, or is still registered, is fixed up. 0 or -errno.
 */
int
epoll_set(struct epoll_engine *p, int fd, struct epoll_fd *st, uint32_t mask)
{
	struct epoll_event ev = { .events = mask, .data.u64 = epoll_tag(fd, st->gen) };
	int op = st->reg == 0 ? EPOLL_CTL_ADD : mask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	int rc = epoll_ctl(p->epfd, op, fd, &ev);

	if (rc != 0 && errno == ENOENT && op == EPOLL_CTL_MOD)
		rc = epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev);
	else if (rc != 0 && errno == EEXIST && op == EPOLL_CTL_ADD)
		rc = epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev);
	else if (rc != 0 && errno == ENOENT && op == EPOLL_CTL_DEL)
		rc = 0;
	if (rc != 0)
		return -errno;
	st->reg = mask;
	return 0;
}

/* Removes fd from the set, and from the engine's memory: its events in flight are stale. */
void
epoll_drop(struct epoll_engine *p, int fd, struct epoll_fd *st)
{
	if (st->reg != 0)
		(void)epoll_set(p, fd, st, 0);
	/* Only a connection's entry has its timer set up (epoll_conn.c): the others' is zero. */
	if (st->kind == EFD_CONN)
		timer_clear(&p->timers, &st->timer);
	st->kind = EFD_NONE;
	st->owner = NULL;
	st->reg = 0;
	st->ending = 0;
	st->in_idle = 0;
	st->gen++;
}

/* Ends l's accept with res, its last event, queued: unregistered first. */
static void
epoll_accept_end(struct epoll_engine *p, struct epoll_fd *st, int fd, struct listener *l,
    int res)
{
	epoll_drop(p, fd, st);
	epoll_push(p, l, EV_ACCEPT, 0, fd, res);
}

/*
 * A listener is readable: up to EPOLL_ACCEPT_BATCH connections taken, each
 * an EV_ACCEPT, as a multishot accept posts them; a single accept ends
 * with its first. What is left waits for the next turn. Called at sleep,
 * right after the wait, as io_uring accepts inside its wait: so every
 * connection a turn hands over came before the turn looked for a newer
 * route table generation (worker_routes_refresh), and is routed by it.
 */
static void
epoll_accept_take(struct epoll_engine *p, struct epoll_fd *st, int fd)
{
	struct listener *l = st->owner;
	int cfd;

	for (unsigned i = 0; i < EPOLL_ACCEPT_BATCH; i++) {
		if (epoll_reserve(p, 1) != 0)
			return;		/* the rest next turn */
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (cfd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (cfd < 0 || !l->multishot) {
			/* EMFILE and the like outlast the turn: the accept ends, as on io_uring. */
			epoll_accept_end(p, st, fd, l, cfd < 0 ? -errno : cfd);
			return;
		}
		epoll_push(p, l, EV_ACCEPT, 0, fd, cfd);
		epoll_push_more(p);
	}
}

/* After the wait: the listeners' events, taken now (see epoll_accept_take). */
static void
epoll_accept_ready(struct epoll_engine *p)
{
	struct epoll_fd *st;
	int fd;

	for (int i = 0; i < p->nevents; i++) {
		fd = (int)(uint32_t)p->events[i].data.u64;
		st = epoll_fd_get(p, fd);
		if (st != NULL && st->kind == EFD_LISTENER &&
		    st->gen == (uint32_t)(p->events[i].data.u64 >> 32))
			epoll_accept_take(p, st, fd);
	}
}

/* The access log's write, made at sleep: once per turn, off every connection's path. */
static void
epoll_log_write_now(struct epoll_engine *p)
{
	ssize_t n;

	do
		n = write(p->log.fd, p->log.buf, p->log.len);
	while (n < 0 && errno == EINTR);
	p->log.res = n < 0 ? -errno : (int)n;
	p->log.state = ELOG_WRITTEN;
}

/* The wait's timeout: 0 when events are queued, else up to the next connect deadline. */
static int
epoll_timeout(const struct epoll_engine *p, uint64_t wait_ms)
{
	uint64_t next = timer_next(&p->timers), now;

	if (p->done_len > 0 || p->log.state == ELOG_WRITTEN || p->log.state == ELOG_WRITABLE)
		return 0;
	if (next != UINT64_MAX) {
		now = p->w->now;
		next = next > now ? next - now : 0;
		if (next < wait_ms)
			wait_ms = next;
	}
	return wait_ms > INT32_MAX ? INT32_MAX : (int)wait_ms;
}

static int
epoll_sleep(struct engine *e, uint64_t wait_ms)
{
	struct epoll_engine *p = epoll_of(e);
	int timeout, n, err;

	if (p->log.state == ELOG_WRITE_DUE)
		epoll_log_write_now(p);
	for (uint32_t i = 0; i < p->dirty_len; i++)
		epoll_conn_apply(p, p->dirty[i], &p->fds[p->dirty[i]]);
	p->dirty_len = 0;
	timeout = epoll_timeout(p, wait_ms);
	n = epoll_pwait(p->epfd, p->events, EPOLL_EVENTS_MAX, timeout, &p->waitmask);
	err = n < 0 ? errno : 0;
	if (n < 0 && engine_wait_broken(err)) {
		log_error("epoll_pwait: %s: this worker cannot wait; it stops", strerror(err));
		return -err;
	}
	if (n < 0 && err != EINTR)
		log_error("epoll_pwait: %s", strerror(err));
	p->nevents = n > 0 ? n : 0;
	epoll_accept_ready(p);
	/* Slept (EINTR, or the timeout ran out): the mask was open. Else, now and then, open it. */
	if (err != EINTR && !(n == 0 && timeout > 0))
		engine_signals_let_in(&p->waitmask, &p->busy_waits);
	return 0;
}

/* The events queued before this dispatch; those queued meanwhile wait for the next. */
static void
epoll_deliver_done(struct epoll_engine *p)
{
	uint32_t n = p->done_len;
	struct epoll_done dn;

	for (uint32_t i = 0; i < n; i++) {
		dn = p->done[i];	/* a handler may queue more: the array may move */
		if (dn.op == EV_ACCEPT) {
			if (!dn.more)
				((struct listener *)dn.owner)->accepting = 0;
			listener_on_accept(p->w, dn.owner, dn.res);
		} else {
			epoll_conn_deliver(p, &dn);
		}
	}
	memmove(p->done, p->done + n, (p->done_len - n) * sizeof(*p->done));
	p->done_len -= n;
}

static void
epoll_ready(struct epoll_engine *p, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	struct epoll_fd *st = epoll_fd_get(p, fd);
	struct accesslog *a;

	if (st == NULL || st->gen != (uint32_t)(ev->data.u64 >> 32))
		return;		/* about an fd closed since */
	switch (st->kind) {
	case EFD_CONN:
		epoll_conn_ready(p, st, fd, ev->events);
		break;
	case EFD_LISTENER:	/* taken at sleep */
		break;
	case EFD_LOG:
		a = st->owner;
		epoll_drop(p, fd, st);
		p->log.state = ELOG_IDLE;
		accesslog_on_writable(a);
		break;
	default:
		break;
	}
}

/* The access log's write or wait that ended without a wait: handed over now. */
static void
epoll_log_deliver(struct epoll_engine *p)
{
	uint8_t state = p->log.state;

	if (state != ELOG_WRITTEN && state != ELOG_WRITABLE)
		return;
	p->log.state = ELOG_IDLE;
	if (state == ELOG_WRITTEN)
		accesslog_on_write(p->log.a, p->log.res);
	else
		accesslog_on_writable(p->log.a);
}

static void
epoll_dispatch(struct engine *e)
{
	struct epoll_engine *p = epoll_of(e);
	int n = p->nevents;

	p->nevents = 0;
	epoll_conn_expire(p);
	epoll_deliver_done(p);
	epoll_log_deliver(p);
	for (int i = 0; i < n; i++)
		epoll_ready(p, &p->events[i]);
}

static int
epoll_accept(struct engine *e, struct listener *l, int multishot)
{
	struct epoll_engine *p = epoll_of(e);
	struct epoll_fd *st = epoll_fd_get(p, l->fd);

	if (st == NULL)
		return -ENOBUFS;
	if (st->kind != EFD_LISTENER || st->owner != l) {
		epoll_drop(p, l->fd, st);
		st->kind = EFD_LISTENER;
		st->owner = l;
	}
	if (st->reg == 0 && epoll_set(p, l->fd, st, EPOLLIN) != 0) {
		st->kind = EFD_NONE;
		return -ENOBUFS;
	}
	l->accepting = 1;
	l->multishot = (uint8_t)multishot;
	return 0;
}

static void
epoll_accept_cancel(struct engine *e, struct listener *l)
{
	struct epoll_engine *p = epoll_of(e);
	struct epoll_fd *st = epoll_fd_get(p, l->fd);

	if (!l->accepting || st == NULL || st->kind != EFD_LISTENER || st->owner != l)
		return;
	/* Unregistered now: the caller may close the socket, which the master still holds. */
	epoll_drop(p, l->fd, st);
	if (epoll_reserve(p, 1) != 0) {
		log_error("epoll: no memory to end an accept; it ends unannounced");
		l->accepting = 0;
		return;
	}
	epoll_push(p, l, EV_ACCEPT, 0, l->fd, -ECANCELED);
}

static int
epoll_splice(struct engine *e, struct conn *c, enum engine_op op, int d, int from, int to,
    uint32_t len)
{
	(void)e, (void)c, (void)op, (void)d, (void)from, (void)to, (void)len;
	return -EOPNOTSUPP;	/* the worker relays "splice_ring" as "splice" on epoll */
}

static int
epoll_log_write(struct engine *e, struct accesslog *a, int fd, const void *buf,
    uint32_t len)
{
	struct epoll_engine *p = epoll_of(e);

	if (p->log.state != ELOG_IDLE)
		return -ENOBUFS;
	p->log.a = a;
	p->log.fd = fd;
	p->log.buf = buf;
	p->log.len = len;
	p->log.state = ELOG_WRITE_DUE;
	return 0;
}

static int
epoll_log_wait(struct engine *e, struct accesslog *a, int fd)
{
	struct epoll_engine *p = epoll_of(e);
	struct epoll_fd *st = epoll_fd_get(p, fd);
	int rc;

	if (p->log.state != ELOG_IDLE || st == NULL)
		return -ENOBUFS;
	p->log.a = a;
	epoll_drop(p, fd, st);
	st->kind = EFD_LOG;
	st->owner = a;
	rc = epoll_set(p, fd, st, EPOLLOUT);
	if (rc == 0) {
		p->log.state = ELOG_WAITING;
		return 0;
	}
	st->kind = EFD_NONE;
	/* EPERM: a regular file, which epoll does not take: it is always writable. */
	p->log.res = rc;
	p->log.state = rc == -EPERM ? ELOG_WRITABLE : ELOG_WRITTEN;
	return 0;
}

static int
epoll_probe(const char **call)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0) {
		*call = "epoll_create1";
		return -errno;
	}
	close(fd);
	return 0;
}

/* Entries of the fd table: one per fd the open-files limit allows. */
static uint32_t
epoll_fd_cap(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > EPOLL_FDS_MAX)
		return EPOLL_FDS_MAX;
	return (uint32_t)rl.rlim_cur;
}

static void
epoll_fini(struct engine *e)
{
	struct epoll_engine *p = epoll_of(e);

	/* Nothing the kernel holds writes into our memory: closing the set ends every wait. */
	if (p->epfd >= 0)
		close(p->epfd);
	/* The table is as long as the fds may go: only its touched pages are backed. */
	mem_zfree(p->fds, (size_t)p->fd_cap * sizeof(*p->fds));
	mem_zfree(p->dirty, (size_t)p->fd_cap * sizeof(*p->dirty));
	timer_heap_free(&p->timers);
	free(p->done);
	free(p);
}

static int
epoll_init(struct engine **ep, struct worker *w, const sigset_t *waitmask)
{
	struct epoll_engine *p = calloc(1, sizeof(*p));

	*ep = NULL;
	if (p == NULL)
		return -ENOMEM;
	p->base.ops = &epoll_ops;
	p->w = w;
	p->waitmask = *waitmask;
	p->connect_ms = DEFAULT_CONNECT_MS;
	p->fd_cap = epoll_fd_cap();
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		int rc = -errno;

		log_error("epoll_create1: %s", strerror(-rc));
		p->fd_cap = 0;
		epoll_fini(&p->base);
		return rc;
	}
	p->fds = mem_zalloc((size_t)p->fd_cap * sizeof(*p->fds));
	p->dirty = mem_zalloc((size_t)p->fd_cap * sizeof(*p->dirty));
	p->done_cap = EPOLL_DONE_INITIAL;
	p->done = malloc(p->done_cap * sizeof(*p->done));
	if (p->fds == NULL || p->dirty == NULL || p->done == NULL ||
	    timer_heap_init(&p->timers, p->fd_cap) != 0) {
		log_error("epoll: out of memory for %u file descriptors", p->fd_cap);
		epoll_fini(&p->base);
		return -ENOMEM;
	}
	*ep = &p->base;
	return 0;
}

const struct engine_ops epoll_ops = {
	.probe = epoll_probe,
	.init = epoll_init,
	.fini = epoll_fini,
	.sleep = epoll_sleep,
	.dispatch = epoll_dispatch,
	.connect_timeout = epoll_conn_timeout,
	.accept = epoll_accept,
	.accept_cancel = epoll_accept_cancel,
	.wait = epoll_conn_wait,
	.wait_multi = epoll_conn_wait_multi,
	.wait_multi_stop = epoll_conn_wait_multi_stop,
	.connect = epoll_conn_connect,
	.splice = epoll_splice,
	.cancel = epoll_conn_cancel,
	.log_write = epoll_log_write,
	.log_wait = epoll_log_wait,
	.forget = epoll_conn_forget,
};
