/*
 * uring.c -- the io_uring event engine: the ring, its submissions, and the
 * dispatch of completions to their owners.
 *
 * Every submission carries a user_data that names its owner (a connection,
 * a listener or the access log, all 64-byte aligned) and, in the six low
 * bits the alignment leaves free, the op and the direction as its own bit:
 *
 *     owner pointer | op << 1 | direction
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <liburing.h>

#include "accesslog.h"
#include "conn.h"
#include "engine-t.h"
#include "listener.h"
#include "log.h"
#include "tunables.h"

#define UD_DIR_BITS 1
#define UD_OP_BITS 5
#define UD_LOW_MASK ((1u << (UD_DIR_BITS + UD_OP_BITS)) - 1)
_Static_assert(EV_OP_COUNT <= (1 << UD_OP_BITS), "an op fits its bits of user_data");
_Static_assert(UD_LOW_MASK < 64, "owners are 64-byte aligned");

/* Readable, and tell us when the peer shut down its side (then a short read means EOF). */
#define URING_POLL_IN (POLLIN | POLLRDHUP)

struct uring {
	struct engine base;			/* first: the table of uring_ops */
	struct io_uring ring;
	struct worker *w;			/* whose handlers get the events */
	sigset_t waitmask;
	struct __kernel_timespec connect_ts;	/* for linked connect timeouts */
	unsigned busy_waits;			/* waits that returned without sleeping */
};

/* The io_uring state behind e (its first member). */
static inline struct uring *
uring_of(struct engine *e)
{
	return (struct uring *)(void *)e;
}

static inline uint64_t
uring_tag(const void *owner, enum engine_op op, int d)
{
	return (uint64_t)(uintptr_t)owner | (uint64_t)op << UD_DIR_BITS | (uint64_t)d;
}

static int
uring_setup(struct uring *u)
{
	static const unsigned flag_sets[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
		    IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SUBMIT_ALL,
		0,
	};
	unsigned iowq[2] = { RING_IOWQ_MAX_WORKERS, RING_IOWQ_MAX_WORKERS };
	struct io_uring_params p;
	int rc = -EINVAL;

	/* Newest flags first; an older kernel says EINVAL and we try less. */
	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = flag_sets[i] | IORING_SETUP_CQSIZE;
		p.cq_entries = RING_CQ_ENTRIES;
		rc = io_uring_queue_init_params(RING_SQ_ENTRIES, &u->ring, &p);
		if (rc != -EINVAL)
			break;
	}
	if (rc < 0) {
		log_error("io_uring_queue_init: %s", strerror(-rc));
		return rc;
	}
	/* Every fd is non-blocking, so io-wq threads never park: a small cap is safe. */
	rc = io_uring_register_iowq_max_workers(&u->ring, iowq);
	if (rc < 0)
		log_warn("io_uring_register_iowq_max_workers: %s", strerror(-rc));
	return 0;
}

/*
 * A small ring set up, one no-op submitted and waited for, the ring torn
 * down: what a worker would meet. A seccomp filter says EPERM or ENOSYS
 * (Docker's and containerd's default profiles deny io_uring_setup; a
 * profile may allow it and still deny io_uring_enter, which a worker needs
 * for every wait), kernel.io_uring_disabled says EPERM.
 */
static int
uring_probe(const char **call)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int rc = io_uring_queue_init(2, &ring, 0);

	if (rc != 0) {
		*call = "io_uring_setup";
		return rc;
	}
	if ((sqe = io_uring_get_sqe(&ring)) != NULL)
		io_uring_prep_nop(sqe);
	rc = io_uring_submit_and_wait(&ring, 1);
	io_uring_queue_exit(&ring);
	if (rc < 0) {
		*call = "io_uring_enter";
		return rc;
	}
	return 0;
}

static int
uring_init(struct engine **ep, struct worker *w, const sigset_t *waitmask)
{
	struct uring *u = calloc(1, sizeof(*u));
	int rc;

	*ep = NULL;
	if (u == NULL)
		return -ENOMEM;
	u->base.ops = &uring_ops;
	u->w = w;
	u->waitmask = *waitmask;
	if ((rc = uring_setup(u)) != 0) {
		free(u);
		return rc;
	}
	*ep = &u->base;
	return 0;
}

static void
uring_fini(struct engine *e)
{
	struct uring *u = uring_of(e);

	/* Tearing the ring down cancels and reaps whatever is still in flight. */
	io_uring_queue_exit(&u->ring);
	free(u);
}

/* A submission entry; when the SQ is full, it is handed to the kernel first. NULL: none. */
static struct io_uring_sqe *
uring_sqe(struct uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe == NULL) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
		if (sqe == NULL)
			log_error("io_uring: no submission entry free after submit");
	}
	return sqe;
}

static void
uring_connect_timeout(struct engine *e, uint32_t ms)
{
	struct uring *u = uring_of(e);
	long long sec = ms / 1000, nsec = (long long)(ms % 1000) * 1000000;

	if (u->connect_ts.tv_sec == sec && u->connect_ts.tv_nsec == nsec)
		return;
	/* Linked timeouts queued but not submitted still point at connect_ts. */
	io_uring_submit(&u->ring);
	u->connect_ts.tv_sec = sec;
	u->connect_ts.tv_nsec = nsec;
}

static int
uring_accept(struct engine *e, struct listener *l, int multishot)
{
	struct uring *u = uring_of(e);
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (sqe == NULL)
		return -ENOBUFS;
	if (multishot)
		io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, uring_tag(l, EV_ACCEPT, 0));
	l->accepting = 1;
	l->multishot = (uint8_t)multishot;
	return 0;
}

/* Cancels the request tagged ud; its completion still comes, the cancel's own does not. */
static int
uring_cancel_ud(struct uring *u, uint64_t ud)
{
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_cancel64(sqe, ud, 0);
	io_uring_sqe_set_data64(sqe, uring_tag(NULL, EV_NONE, 0));
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	return 0;
}

static void
uring_accept_cancel(struct engine *e, struct listener *l)
{
	struct uring *u = uring_of(e);

	if (l->accepting)
		(void)uring_cancel_ud(u, uring_tag(l, EV_ACCEPT, 0));
}

static int
uring_wait(struct engine *e, struct conn *c, enum engine_op op, int d, int fd)
{
	struct uring *u = uring_of(e);
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_poll_add(sqe, fd, op == EV_READABLE ? URING_POLL_IN : POLLOUT);
	io_uring_sqe_set_data64(sqe, uring_tag(c, op, d));
	c->ops |= engine_bit(op, d);
	return 0;
}

static int
uring_wait_multi(struct engine *e, struct conn *c, int d, int fd)
{
	struct uring *u = uring_of(e);
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_poll_multishot(sqe, fd, URING_POLL_IN);
	io_uring_sqe_set_data64(sqe, uring_tag(c, EV_READABLE_MULTI, d));
	c->ops |= engine_bit(EV_READABLE_MULTI, d);
	return 0;
}

static void
uring_wait_multi_stop(struct engine *e, struct conn *c, int d)
{
	struct uring *u = uring_of(e);

	if (c->ops & engine_bit(EV_READABLE_MULTI, d))
		(void)uring_cancel_ud(u, uring_tag(c, EV_READABLE_MULTI, d));
}

static int
uring_connect(struct engine *e, struct conn *c, int fd, const struct sockaddr *sa,
    socklen_t len)
{
	struct uring *u = uring_of(e);
	struct io_uring_sqe *sqe, *tsqe;

	/*
	 * The connect and its timeout must go in one submission to stay
	 * linked: both entries are taken together, never with a submit between.
	 */
	if (io_uring_sq_space_left(&u->ring) < 2)
		io_uring_submit(&u->ring);
	if (io_uring_sq_space_left(&u->ring) < 2)
		return -ENOBUFS;
	sqe = io_uring_get_sqe(&u->ring);
	tsqe = io_uring_get_sqe(&u->ring);
	io_uring_prep_connect(sqe, fd, sa, len);
	io_uring_sqe_set_data64(sqe, uring_tag(c, EV_CONNECT, 0));
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(tsqe, &u->connect_ts, 0);
	io_uring_sqe_set_data64(tsqe, uring_tag(c, EV_CONNECT_TIMEOUT, 0));
	c->ops |= engine_bit(EV_CONNECT, 0) | engine_bit(EV_CONNECT_TIMEOUT, 0);
	return 0;
}

static int
uring_splice(struct engine *e, struct conn *c, enum engine_op op, int d, int from, int to,
    uint32_t len)
{
	struct uring *u = uring_of(e);
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_splice(sqe, from, -1, to, -1, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	io_uring_sqe_set_data64(sqe, uring_tag(c, op, d));
	c->ops |= engine_bit(op, d);
	return 0;
}

static int
uring_cancel(struct engine *e, struct conn *c)
{
	struct uring *u = uring_of(e);
	int rc = 0;

	for (unsigned op = EV_CONNECT; op <= EV_READABLE_MULTI; op++) {
		/* A linked timeout goes away with the connect it guards. */
		if (op == EV_CONNECT_TIMEOUT)
			continue;
		for (int d = 0; d < 2; d++)
			if ((c->ops & engine_bit((enum engine_op)op, d)) &&
			    uring_cancel_ud(u, uring_tag(c, (enum engine_op)op, d)) != 0)
				rc = -ENOBUFS;
	}
	return rc;
}

static int
uring_log_write(struct engine *e, struct accesslog *a, int fd, const void *buf,
    uint32_t len)
{
	struct uring *u = uring_of(e);
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_write(sqe, fd, buf, len, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, uring_tag(a, EV_LOG_WRITE, 0));
	return 0;
}

static int
uring_log_wait(struct engine *e, struct accesslog *a, int fd)
{
	struct uring *u = uring_of(e);
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_poll_add(sqe, fd, POLLOUT);
	io_uring_sqe_set_data64(sqe, uring_tag(a, EV_LOG_WRITABLE, 0));
	return 0;
}

static int
uring_sleep(struct engine *e, uint64_t wait_ms)
{
	struct uring *u = uring_of(e);
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(wait_ms / 1000),
		.tv_nsec = (long long)(wait_ms % 1000) * 1000000,
	};
	struct io_uring_cqe *cqe;
	int rc;

	rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, &u->waitmask);
	if (rc < 0 && engine_wait_broken(-rc)) {
		log_error("io_uring_enter: %s: this worker cannot wait on its ring (a seccomp "
		    "filter that allows io_uring_setup but not io_uring_enter?); it stops",
		    strerror(-rc));
		return rc;
	}
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		log_error("io_uring_submit_and_wait_timeout: %s", strerror(-rc));
	/* Slept (EINTR, ETIME): the mask was open. Else, now and then, open it for a moment. */
	if (rc != -EINTR && rc != -ETIME)
		engine_signals_let_in(&u->waitmask, &u->busy_waits);
	return 0;
}

/* One completion to its owner; the engine's bookkeeping first. */
static void
uring_dispatch_one(struct uring *u, const struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	enum engine_op op = (enum engine_op)((ud & UD_LOW_MASK) >> UD_DIR_BITS);
	int d = (int)(ud & 1);
	void *owner = (void *)(uintptr_t)(ud & ~(uint64_t)UD_LOW_MASK);

	switch (op) {
	case EV_NONE:
		return;
	case EV_ACCEPT:
		if (!(cqe->flags & IORING_CQE_F_MORE))
			((struct listener *)owner)->accepting = 0;
		listener_on_accept(u->w, owner, cqe->res);
		return;
	case EV_LOG_WRITE:
		accesslog_on_write(owner, cqe->res);
		return;
	case EV_LOG_WRITABLE:
		accesslog_on_writable(owner);
		return;
	default:
		/* A multishot wait lasts while its events say IORING_CQE_F_MORE. */
		if (!(cqe->flags & IORING_CQE_F_MORE))
			((struct conn *)owner)->ops &= (uint16_t)~engine_bit(op, d);
		conn_on_event(u->w, owner, op, d, cqe->res);
		return;
	}
}

static void
uring_dispatch(struct engine *e)
{
	struct uring *u = uring_of(e);
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe) {
		uring_dispatch_one(u, cqe);
		seen++;
	}
	io_uring_cq_advance(&u->ring, seen);
}

const struct engine_ops uring_ops = {
	.probe = uring_probe,
	.init = uring_init,
	.fini = uring_fini,
	.sleep = uring_sleep,
	.dispatch = uring_dispatch,
	.connect_timeout = uring_connect_timeout,
	.accept = uring_accept,
	.accept_cancel = uring_accept_cancel,
	.wait = uring_wait,
	.wait_multi = uring_wait_multi,
	.wait_multi_stop = uring_wait_multi_stop,
	.connect = uring_connect,
	.splice = uring_splice,
	.cancel = uring_cancel,
	.log_write = uring_log_write,
	.log_wait = uring_log_wait,
	.forget = NULL,		/* a request holds its file: a close cannot confuse the ring */
};
