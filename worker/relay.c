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
 * the engine's ring splice whose event resumes the loop (RELAY_SPLICE_RING).
 * RELAY_ADAPTIVE starts each direction copying (recv into the worker's
 * scratch, send on): for the small records of handshakes and
 * request/response traffic that is cheaper than splice, whose pipe must
 * take a page for data the socket holds in an skb's linear part. The first
 * read that fills RELAY_COPY_BYTES shows the direction streams: it splices
 * from then on. EOF from a source is passed on as shutdown(SHUT_WR) of its
 * sink; the connection ends when both directions did that, or on an error.
 *
 * RELAY_KERNEL hands both sockets to the kernel (relay_kernel.c): no move
 * is made here then; its counts arrive through relay_count_kernel(). A
 * direction the kernel stopped relaying (its sink did not read) comes back
 * copying, for good, and moves here like any copying one.
 *
 * The relay never closes the connection itself: every step returns an
 * enum relay_status, and RELAY_CLOSE with its reason goes back to conn.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "log.h"
#include "relay.h"
#include "relay_kernel.h"
#include "tunables.h"
#include "worker-t.h"

/*
 * Adaptive relay: a read of this many bytes or more means the direction
 * streams. 16 KiB is HAProxy's buffer; a TLS record is at most ~16.4 KiB.
 */
#define RELAY_COPY_BYTES (16u * 1024)
/*
 * Short copying reads after which a direction waits with a multishot wait:
 * ping's connections (many records) pass it at once, rate's (one reply,
 * then EOF) never do, and so pay no cancel at close.
 */
#define RELAY_MULTI_SHORTS 2u

enum move_side { MOVE_IN, MOVE_OUT };

void
relay_count(struct worker *w, struct conn *c, int d, uint64_t n, int spliced)
{
	struct stats_entry *r = &w->st->routes[c->route_sid];
	struct stats_entry *b = &w->st->backends[c->backend_sid];

	c->u.dir[d].bytes += n;
	if (spliced)
		STATS_ADD(w->st->c.bytes_spliced, n);
	else
		STATS_ADD(w->st->c.bytes_copied, n);
	if (d == 0) {
		STATS_ADD(w->st->c.bytes_in, n);
		STATS_ADD(r->bytes_in, n);
		STATS_ADD(b->bytes_in, n);
	} else {
		STATS_ADD(w->st->c.bytes_out, n);
		STATS_ADD(r->bytes_out, n);
		STATS_ADD(b->bytes_out, n);
	}
}

static enum relay_status
relay_close(enum close_reason *why, enum close_reason reason)
{
	*why = reason;
	return RELAY_CLOSE;
}

/* A socket of c failed with err: the connection ends as that side's reset. */
static enum relay_status
relay_abort(const struct conn *c, int failed_fd, int err, enum close_reason *why)
{
	log_debug("relay: %s side: %s", failed_fd == c->cfd ? "client" : "backend",
	    strerror(err));
	return relay_close(why, failed_fd == c->cfd ? CLOSE_CLIENT_RESET : CLOSE_BACKEND_RESET);
}

/*
 * Waits until direction d's source is readable (EV_READABLE) or its sink
 * writable. A copying direction of "adaptive" that made RELAY_MULTI_SHORTS
 * short reads carries request/response records: it then waits for its
 * source with one multishot wait for as long as it copies, and a record
 * costs no request. (Fewer reads do not repay the cancel the multishot
 * wait needs at close.) That is safe because a copying read is a recv that
 * stops only when the socket is empty (or at a full read, which ends the
 * copying), so every byte not read yet wakes the socket again.
 */
static enum relay_status
relay_wait(struct worker *w, struct conn *c, enum engine_op op, int d, enum close_reason *why)
{
	int fd = op == EV_READABLE ? conn_src(c, d) : conn_dst(c, d);
	int rc;

	if (op == EV_READABLE && c->u.dir[d].multi && c->u.dir[d].shorts >= RELAY_MULTI_SHORTS)
		rc = c->ops & engine_bit(EV_READABLE_MULTI, d) ? 0 :
		    engine_wait_multi(w->engine, c, d, fd);
	else
		rc = engine_wait(w->engine, c, op, d, fd);
	return rc == 0 ? RELAY_WAITING : relay_close(why, CLOSE_INTERNAL);
}

/*
 * Direction d streams now: it leaves its multishot wait. (One whose source
 * ended keeps it: its events are let pass, and the close cancels it.)
 */
static void
relay_multi_stop(struct worker *w, struct conn *c, int d)
{
	if (!c->u.dir[d].multi)
		return;
	c->u.dir[d].multi = 0;
	engine_wait_multi_stop(w->engine, c, d);
}

/*
 * relay "kernel": 1 when c joined the worker's maps (*st: what next), 0
 * when it could not and relays as "adaptive" instead (counted bytes kept).
 */
static int
relay_start_kernel(struct worker *w, struct conn *c, enum relay_status *st,
    enum close_reason *why)
{
	static struct log_limit limit;
	uint64_t hello = c->u.dir[0].bytes, copied[2], skipped;
	int rc = relay_kernel_start(w, c, copied, st, why);

	for (int d = 0; d < 2; d++)
		if (copied[d] > 0)
			relay_count(w, c, d, copied[d], 0);
	if (rc == 0)
		return 1;
	c->relay = RELAY_ADAPTIVE;
	if (rc == -EAGAIN) {
		/* A source kept its queue busy: both directions copy, what a sink left pending. */
		*st = RELAY_WAITING;
		for (int d = 0; d < 2 && *st == RELAY_WAITING; d++) {
			c->u.dir[d].copying = 1;
			*st = relay_wait(w, c, c->u.dir[d].queued > 0 ? EV_WRITABLE : EV_READABLE,
			    d, why);
		}
		return 1;
	}
	/* EOPNOTSUPP: a socket past ESTABLISHED (a side shut down already) cannot join. */
	if (rc == -EOPNOTSUPP)
		log_debug("relay: a side shut down before the kernel relay began; copying");
	else if (worker_log_due(w, &limit, &skipped))
		log_warn("relay \"kernel\": %s; this connection relays with \"adaptive\" "
		    "(%llu more not logged)", strerror(-rc), (unsigned long long)skipped);
	memset(&c->u.dir, 0, sizeof(c->u.dir));
	c->u.dir[0].bytes = hello + copied[0];
	c->u.dir[1].bytes = copied[1];
	return 0;
}

/* relay "kernel": what moved since the last look is counted; bytes moving make c active. */
static void
relay_count_kernel(struct worker *w, struct conn *c)
{
	uint64_t sent[2];

	relay_kernel_sent(c, sent);
	for (int d = 0; d < 2; d++) {
		if (sent[d] <= c->u.dir[d].bytes)
			continue;
		relay_count(w, c, d, sent[d] - c->u.dir[d].bytes, 1);
		c->active_ms = w->now;
	}
}

enum relay_status
relay_on_timer(struct worker *w, struct conn *c, enum close_reason *why)
{
	if (c->relay == RELAY_KERNEL) {
		relay_count_kernel(w, c);
		return relay_kernel_on_timer(w, c, why);
	}
	/* Lazy idle check: bytes moved since the timer was set push it out. */
	if (w->now - c->active_ms >= c->idle_ms)
		return relay_close(why, CLOSE_IDLE_TIMEOUT);
	timer_set(&w->timers, &c->timer, c->active_ms + c->idle_ms);
	return RELAY_WAITING;
}

void
relay_closing(struct worker *w, struct conn *c)
{
	if (c->relay == RELAY_KERNEL)
		relay_count_kernel(w, c);
}

enum relay_status
relay_start(struct worker *w, struct conn *c, enum close_reason *why)
{
	/* The client's bytes: a PROXY header of ours before them is not. */
	uint32_t hello_len = c->u.hello.len - c->u.hello.proxy_len;
	enum relay_status st;

	free(c->u.hello.data);
	memset(&c->u.dir, 0, sizeof(c->u.dir));
	relay_count(w, c, 0, hello_len, 0);
	if (c->relay == RELAY_KERNEL && relay_start_kernel(w, c, &st, why))
		return st;
	for (int d = 0; d < 2; d++) {
		c->u.dir[d].copying = c->relay == RELAY_ADAPTIVE;
		c->u.dir[d].multi = c->relay == RELAY_ADAPTIVE;
		if (!c->u.dir[d].copying)
			c->u.dir[d].pipe.rd = c->u.dir[d].pipe.wr = -1;
	}
	st = relay_wait(w, c, EV_READABLE, 0, why);
	if (st != RELAY_WAITING)
		return st;
	return relay_wait(w, c, EV_READABLE, 1, why);
}

void
relay_release(struct worker *w, struct conn *c)
{
	if (c->relay == RELAY_KERNEL) {
		relay_kernel_release(w, c);
		return;
	}
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

/*
 * Moves bytes source -> pipe (MOVE_IN) or pipe -> sink (MOVE_OUT) with an
 * inline splice(2). Returns the bytes moved, 0 at EOF, or -errno.
 */
static ssize_t
relay_move(struct conn *c, int d, enum move_side side)
{
	struct dir *dir = &c->u.dir[d];
	int from = side == MOVE_IN ? conn_src(c, d) : dir->pipe.rd;
	int to = side == MOVE_IN ? dir->pipe.wr : conn_dst(c, d);
	size_t len = side == MOVE_IN ? dir->pipe.size - dir->queued : dir->queued;
	ssize_t n;

	do
		n = splice(from, NULL, to, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* RELAY_SPLICE_RING: the same move through the engine; its event resumes the direction. */
static enum relay_status
relay_ring_move(struct worker *w, struct conn *c, int d, enum move_side side,
    enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];
	int rc;

	if (side == MOVE_IN)
		rc = engine_splice(w->engine, c, EV_SPLICE_IN, d, conn_src(c, d), dir->pipe.wr,
		    dir->pipe.size - dir->queued);
	else
		rc = engine_splice(w->engine, c, EV_SPLICE_OUT, d, dir->pipe.rd, conn_dst(c, d),
		    dir->queued);
	return rc == 0 ? RELAY_WAITING : relay_close(why, CLOSE_INTERNAL);
}

/* Source -> pipe result n (bytes, 0 at EOF, -errno). */
static enum relay_status
relay_after_in(struct worker *w, struct conn *c, int d, ssize_t n, enum close_reason *why)
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
		/* A full pipe: the direction streams; a larger pipe takes fewer splices. */
		if (dir->queued == dir->pipe.size)
			(void)pipe_grow(&w->pipes, &dir->pipe);
		c->active_ms = w->now;
		return RELAY_GO_ON;
	}
	if (n == 0) {
		dir->eof = 1;
		return RELAY_GO_ON;
	}
	if (n == -EAGAIN) {
		/* Drained: the pipe goes back to the pool while we wait. */
		pipe_put(&w->pipes, &dir->pipe, 0);
		return relay_wait(w, c, EV_READABLE, d, why);
	}
	return relay_abort(c, conn_src(c, d), (int)-n, why);
}

/* Pipe -> sink result n (bytes, -errno). */
static enum relay_status
relay_after_out(struct worker *w, struct conn *c, int d, ssize_t n, enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];

	if (n > 0) {
		dir->queued -= (uint32_t)n;
		relay_count(w, c, d, (uint64_t)n, 1);
		c->active_ms = w->now;
		if (dir->queued == 0)
			return RELAY_GO_ON;
		/* A short write: the sink's buffer is full. */
	} else if (n != -EAGAIN && n != 0) {
		return relay_abort(c, conn_dst(c, d), (int)-n, why);
	}
	return relay_wait(w, c, EV_WRITABLE, d, why);
}

/* Copying: sends what a short send left. RELAY_GO_ON once all of it went. */
static enum relay_status
relay_copy_out(struct worker *w, struct conn *c, int d, enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];
	ssize_t n = send(conn_dst(c, d), dir->pending, dir->queued, MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return relay_abort(c, conn_dst(c, d), errno, why);
	if (n > 0) {
		relay_count(w, c, d, (uint64_t)n, 0);
		dir->queued -= (uint32_t)n;
		c->active_ms = w->now;
		if (dir->queued == 0) {
			free(dir->pending);
			dir->pending = NULL;
			return RELAY_GO_ON;
		}
		memmove(dir->pending, dir->pending + n, dir->queued);
	}
	return relay_wait(w, c, EV_WRITABLE, d, why);
}

/* Copying: the sink took m of the n bytes in the scratch; keep the rest until it drains. */
static enum relay_status
relay_copy_keep(struct worker *w, struct conn *c, int d, ssize_t n, ssize_t m,
    enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];

	dir->pending = malloc((size_t)(n - m));
	if (dir->pending == NULL)
		return relay_close(why, CLOSE_LIMIT_REACHED);
	memcpy(dir->pending, w->scratch + m, (size_t)(n - m));
	dir->queued = (uint32_t)(n - m);
	/* Source events are let pass until the sink drains: then read again, not wait. */
	if (dir->multi)
		dir->drained = 0;
	return relay_wait(w, c, EV_WRITABLE, d, why);
}

/*
 * Copying: one recv into the worker's scratch and one send. RELAY_GO_ON
 * when the direction may move more; *got is what was read.
 */
static enum relay_status
relay_copy(struct worker *w, struct conn *c, int d, uint32_t *got, enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];
	ssize_t n, m;

	*got = 0;
	do
		n = recv(conn_src(c, d), w->scratch, RELAY_COPY_BYTES, 0);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		dir->eof = 1;
		return RELAY_GO_ON;
	}
	if (n < 0)
		return errno == EAGAIN ? relay_wait(w, c, EV_READABLE, d, why) :
		    relay_abort(c, conn_src(c, d), errno, why);
	*got = (uint32_t)n;
	c->active_ms = w->now;
	dir->drained = n < RELAY_COPY_BYTES && !dir->hup;
	if (n < RELAY_COPY_BYTES && dir->shorts < 3)
		dir->shorts++;
	do
		m = send(conn_dst(c, d), w->scratch, (size_t)n, MSG_NOSIGNAL);
	while (m < 0 && errno == EINTR);
	if (m < 0 && errno != EAGAIN)
		return relay_abort(c, conn_dst(c, d), errno, why);
	if (m < 0)
		m = 0;
	relay_count(w, c, d, (uint64_t)m, 0);
	if (m < n)
		return relay_copy_keep(w, c, d, n, m, why);
	/*
	 * A full read: this direction streams; splice from now on (nothing is
	 * queued). Not under relay "kernel": splice cannot read what its
	 * verdict kept (recv goes through the psock's queue).
	 */
	if (n == RELAY_COPY_BYTES && c->relay != RELAY_KERNEL) {
		relay_multi_stop(w, c, d);
		dir->copying = 0;
		dir->pipe.rd = dir->pipe.wr = -1;
	}
	return RELAY_GO_ON;
}

/* The source said EOF and nothing is queued: pass the EOF on. */
static enum relay_status
relay_finish(struct worker *w, struct conn *c, int d, enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];

	if (!dir->copying)
		pipe_put(&w->pipes, &dir->pipe, 0);
	dir->done = 1;
	/*
	 * The other way ended too: close(2) sends this FIN itself, cleanly,
	 * since both receive queues were read to their EOF.
	 */
	if (c->u.dir[!d].done)
		return relay_close(why, CLOSE_NORMAL);
	/* ENOTCONN: the peer is gone already; the other direction will see it. */
	(void)shutdown(conn_dst(c, d), SHUT_WR);
	return RELAY_WAITING;
}

/* Sends what direction d has queued: its pipe, or what a short send left. */
static enum relay_status
relay_pump_out(struct worker *w, struct conn *c, int d, enum close_reason *why)
{
	if (c->u.dir[d].copying)
		return relay_copy_out(w, c, d, why);
	if (c->relay == RELAY_SPLICE_RING)
		return relay_ring_move(w, c, d, MOVE_OUT, why);
	return relay_after_out(w, c, d, relay_move(c, d, MOVE_OUT), why);
}

/* Takes a pipe for direction d; out of fds or pipe memory, it copies until its next full read. */
static void
relay_take_pipe(struct worker *w, struct dir *dir)
{
	static struct log_limit limit;
	uint64_t skipped;
	int rc = pipe_get(&w->pipes, &dir->pipe, w->img->settings.pipe_bytes);

	if (rc == 0)
		return;
	if (worker_log_due(w, &limit, &skipped))
		log_warn("pipe: %s: copying instead of splicing (%llu more not logged)",
		    strerror(-rc), (unsigned long long)skipped);
	dir->copying = 1;
	dir->pending = NULL;	/* the union held the empty pipe's fds */
}

/* Reads direction d's source once (copy or splice) and takes the bytes off the budget. */
static enum relay_status
relay_pump_in(struct worker *w, struct conn *c, int d, uint32_t *budget,
    enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];
	enum relay_status st;
	uint32_t got;
	ssize_t n;

	if (dir->copying) {
		st = relay_copy(w, c, d, &got, why);
		*budget = got >= *budget ? 0 : *budget - got;
		return st;
	}
	if (c->relay == RELAY_SPLICE_RING)
		return relay_ring_move(w, c, d, MOVE_IN, why);
	n = relay_move(c, d, MOVE_IN);
	if (n > 0)
		*budget = (uint32_t)n >= *budget ? 0 : *budget - (uint32_t)n;
	return relay_after_in(w, c, d, n, why);
}

static enum relay_status
relay_pump(struct worker *w, struct conn *c, int d, enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];
	uint32_t budget = RELAY_BUDGET_BYTES;
	enum relay_status st = RELAY_GO_ON;

	while (st == RELAY_GO_ON) {
		if (dir->queued > 0) {
			st = relay_pump_out(w, c, d, why);
		} else if (dir->eof) {
			return relay_finish(w, c, d, why);
		} else if ((budget == 0 && !dir->multi) || dir->drained) {
			/*
			 * Budget spent (fair to the others: come back next turn), or
			 * the last read was short, so the socket is most likely
			 * empty: a poll armed now still fires at once if it is not,
			 * and saves the splice that would only say EAGAIN. (A multishot
			 * wait fires only when woken: a copying direction reads on
			 * until a short read; each read is under 16 KiB or ends it.)
			 */
			/* A grown pipe stays for the budget's turn: it would not be pooled. */
			if (!dir->copying && (dir->drained || dir->pipe.grown_pages == 0))
				pipe_put(&w->pipes, &dir->pipe, 0);
			dir->drained = 0;
			return relay_wait(w, c, EV_READABLE, d, why);
		} else if (!dir->copying && dir->pipe.rd < 0) {
			relay_take_pipe(w, dir);
		} else {
			st = relay_pump_in(w, c, d, &budget, why);
		}
	}
	return st;
}

enum relay_status
relay_on_event(struct worker *w, struct conn *c, enum engine_op op, int d, int res,
    enum close_reason *why)
{
	enum relay_status st;

	/* A direction the worker took over from the kernel moves as a copying one. */
	if (c->relay == RELAY_KERNEL && !c->u.dir[d].copying)
		return op == EV_READABLE ? relay_kernel_on_event(w, c, d, res, why) : RELAY_WAITING;
	switch (op) {
	case EV_READABLE:
		if (res & POLLRDHUP)
			c->u.dir[d].hup = 1;
		return relay_pump(w, c, d, why);
	case EV_READABLE_MULTI:
		/* Stale (it streams or ended), or bytes wait for the sink: that event goes on. */
		if (!c->u.dir[d].multi || c->u.dir[d].queued > 0 || c->u.dir[d].eof)
			return RELAY_WAITING;
		if (res < 0) {
			log_error("poll: %s", strerror(-res));
			return relay_close(why, CLOSE_INTERNAL);
		}
		if (res & POLLRDHUP)
			c->u.dir[d].hup = 1;
		return relay_pump(w, c, d, why);
	case EV_WRITABLE:
		return relay_pump(w, c, d, why);
	case EV_SPLICE_IN:
		st = relay_after_in(w, c, d, res, why);
		return st == RELAY_GO_ON ? relay_pump(w, c, d, why) : st;
	case EV_SPLICE_OUT:
		st = relay_after_out(w, c, d, res, why);
		return st == RELAY_GO_ON ? relay_pump(w, c, d, why) : st;
	default:
		return RELAY_WAITING;	/* a connect timeout's late event */
	}
}
