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
#include "engine.h"
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

struct engine {
	struct io_uring ring;
	struct worker *w;			/* whose handlers get the events */
	sigset_t waitmask;
	struct __kernel_timespec connect_ts;	/* for linked connect timeouts */
	unsigned busy_waits;			/* waits that returned without sleeping */
};

/*
 * A busy worker looks for pending signals once per this many waits that did
 * not sleep (a power of two): a sigpending() every turn cost a syscall per
 * turn under load; a turn lasts well under a millisecond, so a SIGQUIT still
 * starts the drain within a few ms.
 */
#define URING_SIGNAL_CHECK_WAITS 8u

static inline uint64_t
uring_tag(const void *owner, enum engine_op op, int d)
{
	return (uint64_t)(uintptr_t)owner | (uint64_t)op << UD_DIR_BITS | (uint64_t)d;
}

static int
uring_setup(struct engine *e)
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
		rc = io_uring_queue_init_params(RING_SQ_ENTRIES, &e->ring, &p);
		if (rc != -EINVAL)
			break;
	}
	if (rc < 0) {
		log_error("io_uring_queue_init: %s", strerror(-rc));
		return rc;
	}
	/* Every fd is non-blocking, so io-wq threads never park: a small cap is safe. */
	rc = io_uring_register_iowq_max_workers(&e->ring, iowq);
	if (rc < 0)
		log_warn("io_uring_register_iowq_max_workers: %s", strerror(-rc));
	return 0;
}

int
engine_init(struct engine **ep, struct worker *w, const sigset_t *waitmask)
{
	struct engine *e = calloc(1, sizeof(*e));
	int rc;

	*ep = NULL;
	if (e == NULL)
		return -ENOMEM;
	e->w = w;
	e->waitmask = *waitmask;
	if ((rc = uring_setup(e)) != 0) {
		free(e);
		return rc;
	}
	*ep = e;
	return 0;
}

void
engine_fini(struct engine *e)
{
	if (e == NULL)
		return;
	/* Tearing the ring down cancels and reaps whatever is still in flight. */
	io_uring_queue_exit(&e->ring);
	free(e);
}

/* A submission entry; when the SQ is full, it is handed to the kernel first. NULL: none. */
static struct io_uring_sqe *
uring_sqe(struct engine *e)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	if (sqe == NULL) {
		io_uring_submit(&e->ring);
		sqe = io_uring_get_sqe(&e->ring);
		if (sqe == NULL)
			log_error("io_uring: no submission entry free after submit");
	}
	return sqe;
}

void
engine_connect_timeout(struct engine *e, uint32_t ms)
{
	long long sec = ms / 1000, nsec = (long long)(ms % 1000) * 1000000;

	if (e->connect_ts.tv_sec == sec && e->connect_ts.tv_nsec == nsec)
		return;
	/* Linked timeouts queued but not submitted still point at connect_ts. */
	io_uring_submit(&e->ring);
	e->connect_ts.tv_sec = sec;
	e->connect_ts.tv_nsec = nsec;
}

int
engine_accept(struct engine *e, struct listener *l, int multishot)
{
	struct io_uring_sqe *sqe = uring_sqe(e);

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
uring_cancel(struct engine *e, uint64_t ud)
{
	struct io_uring_sqe *sqe = uring_sqe(e);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_cancel64(sqe, ud, 0);
	io_uring_sqe_set_data64(sqe, uring_tag(NULL, EV_NONE, 0));
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	return 0;
}

void
engine_accept_cancel(struct engine *e, struct listener *l)
{
	if (l->accepting)
		(void)uring_cancel(e, uring_tag(l, EV_ACCEPT, 0));
}

int
engine_wait(struct engine *e, struct conn *c, enum engine_op op, int d, int fd)
{
	struct io_uring_sqe *sqe = uring_sqe(e);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_poll_add(sqe, fd, op == EV_READABLE ? URING_POLL_IN : POLLOUT);
	io_uring_sqe_set_data64(sqe, uring_tag(c, op, d));
	c->ops |= engine_bit(op, d);
	return 0;
}

int
engine_wait_multi(struct engine *e, struct conn *c, int d, int fd)
{
	struct io_uring_sqe *sqe = uring_sqe(e);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_poll_multishot(sqe, fd, URING_POLL_IN);
	io_uring_sqe_set_data64(sqe, uring_tag(c, EV_READABLE_MULTI, d));
	c->ops |= engine_bit(EV_READABLE_MULTI, d);
	return 0;
}

void
engine_wait_multi_stop(struct engine *e, struct conn *c, int d)
{
	if (c->ops & engine_bit(EV_READABLE_MULTI, d))
		(void)uring_cancel(e, uring_tag(c, EV_READABLE_MULTI, d));
}

int
engine_connect(struct engine *e, struct conn *c, int fd, const struct sockaddr *sa,
    socklen_t len)
{
	struct io_uring_sqe *sqe, *tsqe;

	/*
	 * The connect and its timeout must go in one submission to stay
	 * linked: both entries are taken together, never with a submit between.
	 */
	if (io_uring_sq_space_left(&e->ring) < 2)
		io_uring_submit(&e->ring);
	if (io_uring_sq_space_left(&e->ring) < 2)
		return -ENOBUFS;
	sqe = io_uring_get_sqe(&e->ring);
	tsqe = io_uring_get_sqe(&e->ring);
	io_uring_prep_connect(sqe, fd, sa, len);
	io_uring_sqe_set_data64(sqe, uring_tag(c, EV_CONNECT, 0));
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(tsqe, &e->connect_ts, 0);
	io_uring_sqe_set_data64(tsqe, uring_tag(c, EV_CONNECT_TIMEOUT, 0));
	c->ops |= engine_bit(EV_CONNECT, 0) | engine_bit(EV_CONNECT_TIMEOUT, 0);
	return 0;
}

int
engine_splice(struct engine *e, struct conn *c, enum engine_op op, int d, int from, int to,
    uint32_t len)
{
	struct io_uring_sqe *sqe = uring_sqe(e);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_splice(sqe, from, -1, to, -1, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	io_uring_sqe_set_data64(sqe, uring_tag(c, op, d));
	c->ops |= engine_bit(op, d);
	return 0;
}

int
engine_cancel(struct engine *e, struct conn *c)
{
	int rc = 0;

	for (unsigned op = EV_CONNECT; op <= EV_READABLE_MULTI; op++) {
		/* A linked timeout goes away with the connect it guards. */
		if (op == EV_CONNECT_TIMEOUT)
			continue;
		for (int d = 0; d < 2; d++)
			if ((c->ops & engine_bit((enum engine_op)op, d)) &&
			    uring_cancel(e, uring_tag(c, (enum engine_op)op, d)) != 0)
				rc = -ENOBUFS;
	}
	return rc;
}

int
engine_log_write(struct engine *e, struct accesslog *a, int fd, const void *buf,
    uint32_t len)
{
	struct io_uring_sqe *sqe = uring_sqe(e);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_write(sqe, fd, buf, len, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, uring_tag(a, EV_LOG_WRITE, 0));
	return 0;
}

int
engine_log_wait(struct engine *e, struct accesslog *a, int fd)
{
	struct io_uring_sqe *sqe = uring_sqe(e);

	if (sqe == NULL)
		return -ENOBUFS;
	io_uring_prep_poll_add(sqe, fd, POLLOUT);
	io_uring_sqe_set_data64(sqe, uring_tag(a, EV_LOG_WRITABLE, 0));
	return 0;
}

/*
 * True if a signal the wait's mask lets in is pending. The ring's wait
 * applies that mask only when it sleeps: the kernel returns at once, mask
 * untouched, when completions are ready (and under load they always are),
 * so without this a busy worker would never run its handlers, and SIGQUIT
 * would wait for the master's SIGKILL. Called every URING_SIGNAL_CHECK_WAITS busy turns.
 */
static int
uring_signal_waiting(const struct engine *e)
{
	sigset_t pending;

	if (sigpending(&pending) != 0)
		return 0;
	for (int sig = 1; sig < SIGRTMIN; sig++)
		if (sigismember(&pending, sig) == 1 && sigismember(&e->waitmask, sig) == 0)
			return 1;
	return 0;
}

void
engine_sleep(struct engine *e, uint64_t wait_ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(wait_ms / 1000),
		.tv_nsec = (long long)(wait_ms % 1000) * 1000000,
	};
	struct io_uring_cqe *cqe;
	int rc;

	rc = io_uring_submit_and_wait_timeout(&e->ring, &cqe, 1, &ts, &e->waitmask);
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		log_error("io_uring_submit_and_wait_timeout: %s", strerror(-rc));
	/* Slept (EINTR, ETIME): the mask was open. Else, now and then, open it for a moment. */
	if (rc != -EINTR && rc != -ETIME &&
	    (++e->busy_waits & (URING_SIGNAL_CHECK_WAITS - 1)) == 0 && uring_signal_waiting(e)) {
		sigset_t mask;

		sigprocmask(SIG_SETMASK, &e->waitmask, &mask);	/* the handlers run here */
		sigprocmask(SIG_SETMASK, &mask, NULL);
	}
}

/* One completion to its owner; the engine's bookkeeping first. */
static void
uring_dispatch_one(struct engine *e, const struct io_uring_cqe *cqe)
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
		listener_on_accept(e->w, owner, cqe->res);
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
		conn_on_event(e->w, owner, op, d, cqe->res);
		return;
	}
}

void
engine_dispatch(struct engine *e)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(&e->ring, head, cqe) {
		uring_dispatch_one(e, cqe);
		seen++;
	}
	io_uring_cq_advance(&e->ring, seen);
}
