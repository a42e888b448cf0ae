/*
 * relay.c -- moving bytes both ways, zero copy with splice.
 *
 * Each direction (0: client -> backend, 1: backend -> client) loops:
 * splice the source into a pipe, splice the pipe into the sink. A
 * direction waits on exactly one thing at a time: its source readable
 * (nothing queued), its sink writable (bytes queued), or a splice in
 * flight. Sockets and pipes are non-blocking, so a splice never parks a
 * thread.
 *
 * The move itself is relay_move(): an inline splice(2) (RELAY_SPLICE) or
 * an IORING_OP_SPLICE whose completion resumes the loop (RELAY_SPLICE_RING).
 * RELAY_ADAPTIVE starts each direction copying (recv into the worker's
 * scratch, send on): for the small records of handshakes and
 * request/response traffic that is cheaper than splice, whose pipe must
 * take a page for data the socket holds in an skb's linear part. The first
 * read that fills RELAY_COPY_BYTES shows the direction streams: it splices
 * from then on. EOF from a source is passed on as shutdown(SHUT_WR) of its
 * sink; the connection ends when both directions did that, or on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "tunables.h"
#include "worker.h"

/* Readable, and tell us when the peer shut down its side (then a short read means EOF). */
#define RELAY_POLL_IN (POLLIN | POLLRDHUP)

/*
 * Adaptive relay: a read of this many bytes or more means the direction
 * streams. 16 KiB is HAProxy's buffer; a TLS record is at most ~16.4 KiB.
 */
#define RELAY_COPY_BYTES (16u * 1024)

/* relay_move() result when the move went to the ring and completes later. */
#define MOVE_PENDING ((ssize_t)INT_MIN)

enum move_side { MOVE_IN, MOVE_OUT };

static int
dir_src(const struct conn *c, int d)
{
	return d == 0 ? c->cfd : c->bfd;
}

static int
dir_dst(const struct conn *c, int d)
{
	return d == 0 ? c->bfd : c->cfd;
}

/*
 * Bytes delivered one way: counted for the connection (its access log line)
 * and live for the worker, the route and the backend.
 */
static void
relay_count(struct worker *w, struct conn *c, int d, uint64_t n, int spliced)
{
	struct stats_route *r = &w->stats->routes[c->route_sid];
	struct stats_backend *b = &w->stats->backends[c->backend_sid];

	c->u.dir[d].bytes += n;
	if (spliced)
		STATS_ADD(w->st->c.bytes_spliced, n);
	else
		STATS_ADD(w->st->c.bytes_copied, n);
	if (d == 0) {
		STATS_ADD(w->st->c.bytes_in, n);
		STATS_SHARED_ADD(r->bytes_in, n);
		STATS_SHARED_ADD(b->bytes_in, n);
	} else {
		STATS_ADD(w->st->c.bytes_out, n);
		STATS_SHARED_ADD(r->bytes_out, n);
		STATS_SHARED_ADD(b->bytes_out, n);
	}
}

void
relay_start(struct worker *w, struct conn *c)
{
	uint32_t hello_len = c->u.hello.len;

	free(c->u.hello.data);
	memset(&c->u.dir, 0, sizeof(c->u.dir));
	for (int d = 0; d < 2; d++) {
		c->u.dir[d].copying = c->relay == RELAY_ADAPTIVE;
		if (!c->u.dir[d].copying)
			c->u.dir[d].pipe.rd = c->u.dir[d].pipe.wr = -1;
	}
	relay_count(w, c, 0, hello_len, 0);
	conn_set_state(w, c, CONN_RELAY);
	c->active_ms = w->now;
	conn_poll(w, c, OP_POLL_IN0, c->cfd, RELAY_POLL_IN);
	conn_poll(w, c, OP_POLL_IN1, c->bfd, RELAY_POLL_IN);
}

void
relay_release(struct worker *w, struct conn *c)
{
	for (int d = 0; d < 2; d++) {
		struct dir *dir = &c->u.dir[d];

		if (dir->copying) {
			free(dir->pending);
			dir->pending = NULL;
		} else {
			pipe_put(&w->pipes, &dir->pipe, dir->queued);
		}
	}
}

void
relay_abort(struct worker *w, struct conn *c, int failed_fd, int err)
{
	log_debug("relay: %s side: %s", failed_fd == c->cfd ? "client" : "backend",
	    strerror(err));
	conn_close(w, c, failed_fd == c->cfd ? CLOSE_CLIENT_RESET : CLOSE_BACKEND_RESET);
}

/*
 * Moves bytes source -> pipe (MOVE_IN) or pipe -> sink (MOVE_OUT). Returns
 * the bytes moved, 0 at EOF, -errno, or MOVE_PENDING when it went to the ring
 * (or could not, and the connection is closing).
 */
static ssize_t
relay_move(struct worker *w, struct conn *c, int d, enum move_side side)
{
	struct dir *dir = &c->u.dir[d];
	int from = side == MOVE_IN ? dir_src(c, d) : dir->pipe.rd;
	int to = side == MOVE_IN ? dir->pipe.wr : dir_dst(c, d);
	size_t len = side == MOVE_IN ? dir->pipe.size - dir->queued : dir->queued;
	unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
	struct io_uring_sqe *sqe;
	enum op op;
	ssize_t n;

	if (c->relay == RELAY_SPLICE_RING) {
		sqe = worker_sqe(w);
		if (sqe == NULL) {
			conn_close(w, c, CLOSE_INTERNAL);
			return MOVE_PENDING;	/* nothing more to do here */
		}
		op = (enum op)((side == MOVE_IN ? OP_SPLICE_IN0 : OP_SPLICE_OUT0) + d);
		io_uring_prep_splice(sqe, from, -1, to, -1, (unsigned)len, flags);
		io_uring_sqe_set_data64(sqe, op_tag(c, op));
		c->ops |= (uint16_t)(1u << op);
		return MOVE_PENDING;
	}
	do
		n = splice(from, NULL, to, NULL, len, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Source -> pipe result. Returns 1 to go on pumping, 0 when waiting or closed. */
static int
relay_after_in(struct worker *w, struct conn *c, int d, ssize_t n)
{
	struct dir *dir = &c->u.dir[d];

	if (n > 0) {
		/*
		 * A short read most likely emptied the socket: poll before the
		 * next one. Not after the peer's FIN (POLLRDHUP): then nothing
		 * more can come, and reading again at once gives the rest or EOF.
		 * (A short read does not prove the socket empty: a pipe can run
		 * out of slots first. So it never stands for EOF.)
		 */
		dir->drained = (uint32_t)n < dir->pipe.size && !dir->hup;
		dir->queued += (uint32_t)n;
		c->active_ms = w->now;
		return 1;
	}
	if (n == 0) {
		dir->eof = 1;
		return 1;
	}
	if (n == -EAGAIN) {
		/* Drained: the pipe goes back to the pool while we wait. */
		pipe_put(&w->pipes, &dir->pipe, 0);
		conn_poll(w, c, (enum op)(OP_POLL_IN0 + d), dir_src(c, d), RELAY_POLL_IN);
		return 0;
	}
	relay_abort(w, c, dir_src(c, d), (int)-n);
	return 0;
}

/* Pipe -> sink result. Returns 1 to go on pumping, 0 when waiting or closed. */
static int
relay_after_out(struct worker *w, struct conn *c, int d, ssize_t n)
{
	struct dir *dir = &c->u.dir[d];

	if (n > 0) {
		dir->queued -= (uint32_t)n;
		relay_count(w, c, d, (uint64_t)n, 1);
		c->active_ms = w->now;
		if (dir->queued == 0)
			return 1;
		/* A short write: the sink's buffer is full. */
	} else if (n != -EAGAIN && n != 0) {
		relay_abort(w, c, dir_dst(c, d), (int)-n);
		return 0;
	}
	conn_poll(w, c, (enum op)(OP_POLL_OUT0 + d), dir_dst(c, d), POLLOUT);
	return 0;
}

/*
 * Copying: sends what a short send left. Returns 1 when all of it went
 * (go on pumping), 0 when waiting or closed.
 */
static int
relay_copy_out(struct worker *w, struct conn *c, int d)
{
	struct dir *dir = &c->u.dir[d];
	ssize_t n = send(dir_dst(c, d), dir->pending, dir->queued, MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		relay_abort(w, c, dir_dst(c, d), errno);
		return 0;
	}
	if (n > 0) {
		relay_count(w, c, d, (uint64_t)n, 0);
		dir->queued -= (uint32_t)n;
		c->active_ms = w->now;
		if (dir->queued == 0) {
			free(dir->pending);
			dir->pending = NULL;
			return 1;
		}
		memmove(dir->pending, dir->pending + n, dir->queued);
	}
	conn_poll(w, c, (enum op)(OP_POLL_OUT0 + d), dir_dst(c, d), POLLOUT);
	return 0;
}

/*
 * Copying: one recv into the worker's scratch and one send. Returns 1 to
 * go on pumping, 0 when waiting or closed; *got is what was read.
 */
static int
relay_copy(struct worker *w, struct conn *c, int d, uint32_t *got)
{
	struct dir *dir = &c->u.dir[d];
	ssize_t n, m;

	*got = 0;
	do
		n = recv(dir_src(c, d), w->scratch, RELAY_COPY_BYTES, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			dir->eof = 1;
		else if (errno == EAGAIN)
			conn_poll(w, c, (enum op)(OP_POLL_IN0 + d), dir_src(c, d), RELAY_POLL_IN);
		else
			relay_abort(w, c, dir_src(c, d), errno);
		return n == 0;
	}
	*got = (uint32_t)n;
	c->active_ms = w->now;
	dir->drained = n < RELAY_COPY_BYTES && !dir->hup;
	do
		m = send(dir_dst(c, d), w->scratch, (size_t)n, MSG_NOSIGNAL);
	while (m < 0 && errno == EINTR);
	if (m < 0 && errno != EAGAIN) {
		relay_abort(w, c, dir_dst(c, d), errno);
		return 0;
	}
	if (m < 0)
		m = 0;
	relay_count(w, c, d, (uint64_t)m, 0);
	if (m < n) {
		/* The sink is full: keep the rest, wait until it drains. */
		dir->pending = malloc((size_t)(n - m));
		if (dir->pending == NULL) {
			conn_close(w, c, CLOSE_LIMIT_REACHED);
			return 0;
		}
		memcpy(dir->pending, w->scratch + m, (size_t)(n - m));
		dir->queued = (uint32_t)(n - m);
		conn_poll(w, c, (enum op)(OP_POLL_OUT0 + d), dir_dst(c, d), POLLOUT);
		return 0;
	}
	/* A full read: this direction streams; splice from now on (nothing is queued). */
	if (n == RELAY_COPY_BYTES) {
		dir->copying = 0;
		dir->pipe.rd = dir->pipe.wr = -1;
	}
	return 1;
}

/* The source said EOF and nothing is queued: pass the EOF on. */
static void
relay_finish(struct worker *w, struct conn *c, int d)
{
	struct dir *dir = &c->u.dir[d];

	if (!dir->copying)
		pipe_put(&w->pipes, &dir->pipe, 0);
	dir->done = 1;
	/*
	 * The other way ended too: close(2) sends this FIN itself, cleanly,
	 * since both receive queues were read to their EOF.
	 */
	if (c->u.dir[!d].done) {
		conn_close(w, c, CLOSE_NORMAL);
		return;
	}
	/* ENOTCONN: the peer is gone already; the other direction will see it. */
	(void)shutdown(dir_dst(c, d), SHUT_WR);
}

static void
relay_pump(struct worker *w, struct conn *c, int d)
{
	struct dir *dir = &c->u.dir[d];
	uint32_t budget = RELAY_BUDGET_BYTES;
	ssize_t n;
	int rc;

	for (;;) {
		if (dir->queued > 0) {
			if (dir->copying) {
				if (!relay_copy_out(w, c, d))
					return;
				continue;
			}
			n = relay_move(w, c, d, MOVE_OUT);
			if (n == MOVE_PENDING || !relay_after_out(w, c, d, n))
				return;
			continue;
		}
		if (dir->eof) {
			relay_finish(w, c, d);
			return;
		}
		if (budget == 0 || dir->drained) {
			/*
			 * Budget spent (fair to the others: come back next turn), or
			 * the last read was short, so the socket is most likely
			 * empty: a poll armed now still fires at once if it is not,
			 * and saves the splice that would only say EAGAIN.
			 */
			dir->drained = 0;
			if (!dir->copying)
				pipe_put(&w->pipes, &dir->pipe, 0);
			conn_poll(w, c, (enum op)(OP_POLL_IN0 + d), dir_src(c, d), RELAY_POLL_IN);
			return;
		}
		if (dir->copying) {
			uint32_t got;

			if (!relay_copy(w, c, d, &got))
				return;
			budget = got >= budget ? 0 : budget - got;
			continue;
		}
		if (dir->pipe.rd < 0 && (rc = pipe_get(&w->pipes, &dir->pipe,
		    w->img->settings.pipe_bytes)) != 0) {
			/* Out of fds or pipe memory: this direction copies until its next full read. */
			static struct log_limit limit;
			uint64_t skipped;

			if (worker_log_due(w, &limit, &skipped))
				log_warn("pipe: %s: copying instead of splicing (%llu more not logged)",
				    strerror(-rc), (unsigned long long)skipped);
			dir->copying = 1;
			dir->pending = NULL;	/* the union held the empty pipe's fds */
			continue;
		}
		n = relay_move(w, c, d, MOVE_IN);
		if (n == MOVE_PENDING)
			return;
		if (n > 0)
			budget = (uint32_t)n >= budget ? 0 : budget - (uint32_t)n;
		if (!relay_after_in(w, c, d, n))
			return;
	}
}

void
relay_on_cqe(struct worker *w, struct conn *c, enum op op, int res)
{
	int d;

	switch (op) {
	case OP_POLL_IN0:
	case OP_POLL_IN1:
		d = op - OP_POLL_IN0;
		if (res & POLLRDHUP)
			c->u.dir[d].hup = 1;
		relay_pump(w, c, d);
		return;
	case OP_POLL_OUT0:
	case OP_POLL_OUT1:
		relay_pump(w, c, op - OP_POLL_OUT0);
		return;
	case OP_SPLICE_IN0:
	case OP_SPLICE_IN1:
		d = op - OP_SPLICE_IN0;
		if (relay_after_in(w, c, d, res))
			relay_pump(w, c, d);
		return;
	case OP_SPLICE_OUT0:
	case OP_SPLICE_OUT1:
		d = op - OP_SPLICE_OUT0;
		if (relay_after_out(w, c, d, res))
			relay_pump(w, c, d);
		return;
	default:
		return;		/* a linked connect timeout's late completion */
	}
}
