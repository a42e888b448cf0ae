/*
 * conn.c -- a connection before the relay and at its end: read the
 * ClientHello, route it, connect to a backend, hand it the hello; close.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "sock.h"
#include "tls.h"
#include "tunables.h"
#include "worker.h"

static void conn_hello_read(struct worker *w, struct conn *c);
static void conn_connect(struct worker *w, struct conn *c);

static struct conn *
conn_alloc(struct worker *w)
{
	struct conn *c;

	if (w->free_conns != NULL) {
		c = w->free_conns;
		w->free_conns = c->u.next_free;
	} else if (w->conn_used < w->conn_cap) {
		c = &w->conns[w->conn_used++];
	} else {
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->timer_index = TIMER_NONE;
	c->deadline = UINT64_MAX;
	c->cfd = c->bfd = -1;
	c->state = CONN_FREE;
	w->conn_count++;
	STATS_ADD(w->st->active, 1);
	return c;
}

void
conn_release(struct worker *w, struct conn *c)
{
	switch (c->state) {
	case CONN_HELLO:
	case CONN_ALERT:
	case CONN_CONNECTING:
	case CONN_SEND_HELLO:
		free(c->u.hello.data);
		c->u.hello.data = NULL;
		break;
	case CONN_RELAY:
		relay_release(w, c);
		break;
	default:
		break;
	}
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->bfd >= 0)
		close(c->bfd);
	c->cfd = c->bfd = -1;
	free(c->meta);
	c->meta = NULL;
}

void
conn_set_state(struct worker *w, struct conn *c, enum conn_state state)
{
	/* The gauges: connections reading a hello, and relaying. */
	if (c->state == CONN_HELLO)
		STATS_SUB(w->st->in_hello, 1);
	else if (c->state == CONN_RELAY)
		STATS_SUB(w->st->relaying, 1);
	if (state == CONN_HELLO)
		STATS_ADD(w->st->in_hello, 1);
	else if (state == CONN_RELAY)
		STATS_ADD(w->st->relaying, 1);
	c->state = (uint8_t)state;
}

static void
conn_free(struct worker *w, struct conn *c)
{
	conn_release(w, c);
	conn_set_state(w, c, CONN_FREE);
	c->u.next_free = w->free_conns;
	w->free_conns = c;
	w->conn_count--;
	STATS_SUB(w->st->active, 1);
}

/* The client's address for a log line. */
static const char *
conn_peer(const struct conn *c, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct addr a;

	if (c->meta != NULL)
		return addr_format(&c->meta->client, buf, size);
	if (c->cfd < 0 || getpeername(c->cfd, (struct sockaddr *)&ss, &len) != 0)
		return "-";
	addr_from_sockaddr(&a, (struct sockaddr *)&ss, len);
	return addr_format(&a, buf, size);
}

/* Leaves the connecting phase: the route's image may be reclaimed. */
static void
conn_unpin(struct worker *w, struct conn *c)
{
	if (c->route == NULL)
		return;
	c->route = NULL;
	worker_pin(w, c->pin_slot, -1);
}

static void
conn_cancel_ops(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe;

	for (unsigned op = OP_CONNECT; op < OP_COUNT; op++) {
		/* A linked timeout goes away with the connect it guards. */
		if (!(c->ops & (1u << op)) || op == OP_CONNECT_TIMEOUT)
			continue;
		sqe = worker_sqe(w);
		if (sqe == NULL) {
			/* No entry for a cancel: a shutdown wakes every poll on the sockets. */
			if (c->cfd >= 0)
				shutdown(c->cfd, SHUT_RDWR);
			if (c->bfd >= 0)
				shutdown(c->bfd, SHUT_RDWR);
			continue;
		}
		io_uring_prep_cancel64(sqe, op_tag(c, (enum op)op), 0);
		io_uring_sqe_set_data64(sqe, 0);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	}
}

/* What a connection's end adds to the worker's, its route's and its backend's counters. */
static void
conn_count_close(struct worker *w, struct conn *c, enum close_reason reason)
{
	STATS_ADD(w->st->c.closes[reason], 1);
	stats_hist_add(&w->st->c.hist[STATS_HIST_DURATION_MS], STATS_HIST_DURATION_MS,
	    w->now - c->accepted_ms);
	if (c->flags & CONN_ROUTED) {
		struct stats_route *r = &w->stats->routes[c->route_sid];

		STATS_SHARED_ADD(r->active, -1);
		if (reason == CLOSE_CONNECT_REFUSED || reason == CLOSE_CONNECT_TIMEOUT)
			STATS_SHARED_ADD(r->connect_failures, 1);
	}
	if (c->flags & CONN_CONNECTED)
		STATS_SHARED_ADD(w->stats->backends[c->backend_sid].active, -1);
}

void
conn_close(struct worker *w, struct conn *c, enum close_reason reason)
{
	char peer[ADDR_STRLEN];

	if (c->reason != CLOSE_NONE)
		return;
	c->reason = (uint8_t)reason;
	conn_count_close(w, c, reason);
	timer_clear(&w->timers, c);
	conn_unpin(w, c);
	/* Pass a reset on as a reset: a FIN would fake a clean end of stream. */
	if (reason == CLOSE_CLIENT_RESET && c->bfd >= 0)
		sock_abort_on_close(c->bfd);
	if (reason == CLOSE_BACKEND_RESET && c->cfd >= 0)
		sock_abort_on_close(c->cfd);
	log_debug("%s: closed: %s", conn_peer(c, peer, sizeof(peer)),
	    close_reason_str(reason));
	accesslog_conn(w, c);
	conn_cancel_ops(w, c);
	if (c->ops == 0)
		conn_free(w, c);
}

void
conn_poll(struct worker *w, struct conn *c, enum op op, int fd, unsigned mask)
{
	struct io_uring_sqe *sqe;

	if (c->reason != CLOSE_NONE)
		return;		/* closed by the other direction's poll just now */
	if ((sqe = worker_sqe(w)) == NULL) {
		conn_close(w, c, CLOSE_INTERNAL);
		return;
	}
	io_uring_prep_poll_add(sqe, fd, mask);
	io_uring_sqe_set_data64(sqe, op_tag(c, op));
	c->ops |= (uint16_t)(1u << op);
}

void
conn_accept(struct worker *w, int fd, unsigned listener)
{
	const struct routes_settings *st;
	struct conn *c;

	worker_routes_refresh(w);
	st = &w->img->settings;
	STATS_ADD(w->st->c.accepted, 1);
	c = conn_alloc(w);
	if (c == NULL) {
		close(fd);
		STATS_ADD(w->st->c.closes[CLOSE_LIMIT_REACHED], 1);
		return;
	}
	c->cfd = fd;
	c->listener = (uint8_t)listener;
	conn_set_state(w, c, CONN_HELLO);
	accesslog_accept(w, c);
	c->accepted_ms = w->now;
	c->idle_ms = st->idle_ms;
	c->relay = (uint8_t)st->relay;
	hello_parser_init(&c->u.hello.parser, st->hello_bytes);
	timer_set(&w->timers, c, w->now + st->hello_ms);
	/* TCP_DEFER_ACCEPT: the hello's first bytes are usually here already. */
	conn_hello_read(w, c);
}

/* Doubles the hello buffer, up to the parser's limit. 0 or -ENOMEM. */
static int
conn_hello_grow(struct hello_buf *h)
{
	uint32_t cap = h->cap * 2 < h->parser.limit ? h->cap * 2 : h->parser.limit;
	uint8_t *p;

	if (cap <= h->cap)
		return -ENOMEM;
	p = realloc(h->data, cap);
	if (p == NULL)
		return -ENOMEM;
	h->data = p;
	h->cap = cap;
	return 0;
}

/* Sends the fatal unrecognized_name alert, then waits for the client to close. */
static void conn_alert(struct worker *w, struct conn *c, const struct hello_info *info);

static void
conn_hello_refused(struct worker *w, struct conn *c, enum hello_status st,
    const struct hello_info *info)
{
	char peer[ADDR_STRLEN];
	enum close_reason reason;

	switch (st) {
	case HELLO_NOT_TLS:
		reason = CLOSE_NOT_TLS;
		break;
	case HELLO_TOO_BIG:
		reason = CLOSE_HELLO_TOO_BIG;
		break;
	default:
		reason = CLOSE_HELLO_MALFORMED;
		break;
	}
	log_debug("%s: hello refused: %s", conn_peer(c, peer, sizeof(peer)),
	    hello_reason_str(info->reason));
	conn_close(w, c, reason);
}

static void
conn_route(struct worker *w, struct conn *c, const struct hello_info *info)
{
	const struct routes_route *r;

	worker_routes_refresh(w);
	r = routes_lookup(w->img, info->sni, info->sni_len);
	accesslog_hello(w, c, info);
	if (r == NULL) {
		conn_alert(w, c, info);
		return;
	}
	timer_clear(&w->timers, c);
	stats_hist_add(&w->st->c.hist[STATS_HIST_HELLO_BYTES], STATS_HIST_HELLO_BYTES,
	    info->hello_end);
	c->route_sid = r->stats_id;
	c->flags |= CONN_ROUTED;
	STATS_SHARED_ADD(w->stats->routes[c->route_sid].connections, 1);
	STATS_SHARED_ADD(w->stats->routes[c->route_sid].active, 1);
	c->route = r;
	c->pin_slot = (uint8_t)rtshm_word_slot(w->current);
	worker_pin(w, c->pin_slot, 1);
	c->backend = (uint16_t)(w->rr++ % r->backend_count);
	c->tries = 0;
	conn_connect(w, c);
}

/*
 * One recv of the hello. Until the first byte comes, a connection holds no
 * buffer: the first read goes to the worker's scratch and only what came
 * is kept, so silent connections (a flood, a slowloris) cost no memory.
 * Returns what recv(2) returns; -1 with ENOMEM when no buffer could be had.
 */
static ssize_t
conn_hello_recv(struct worker *w, struct hello_buf *h, int fd)
{
	ssize_t n;

	if (h->data != NULL)
		return recv(fd, h->data + h->len, h->cap - h->len, 0);
	n = recv(fd, w->scratch, h->parser.limit, 0);
	if (n <= 0)
		return n;
	h->cap = (uint32_t)n > HELLO_BUF_INITIAL ? (uint32_t)n : HELLO_BUF_INITIAL;
	if (h->cap > h->parser.limit)
		h->cap = h->parser.limit;
	h->data = malloc(h->cap);
	if (h->data == NULL) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(h->data, w->scratch, (size_t)n);
	h->len = 0;	/* the caller counts the bytes in */
	return n;
}

static void
conn_hello_read(struct worker *w, struct conn *c)
{
	struct hello_buf *h = &c->u.hello;
	struct hello_info info;
	enum hello_status st;
	ssize_t n;

	for (;;) {
		if (h->data != NULL && h->len == h->cap && conn_hello_grow(h) != 0) {
			conn_close(w, c, h->cap >= h->parser.limit ? CLOSE_HELLO_TOO_BIG
			    : CLOSE_LIMIT_REACHED);
			return;
		}
		n = conn_hello_recv(w, h, c->cfd);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				conn_poll(w, c, OP_POLL_IN0, c->cfd, POLLIN);
			else
				conn_close(w, c, errno == ENOMEM ? CLOSE_LIMIT_REACHED
				    : CLOSE_CLIENT_RESET);
			return;
		}
		if (n == 0) {
			conn_close(w, c, CLOSE_HELLO_EOF);
			return;
		}
		h->len += (uint32_t)n;
		st = hello_parse(&h->parser, h->data, h->len, w->scratch,
		    MAX_HELLO_BYTES, &info);
		if (st == HELLO_OK) {
			conn_route(w, c, &info);
			return;
		}
		if (st != HELLO_NEED_MORE) {
			conn_hello_refused(w, c, st, &info);
			return;
		}
	}
}

static void
conn_alert_drain(struct worker *w, struct conn *c)
{
	ssize_t n;

	for (unsigned i = 0; i < DRAIN_BURST; i++) {
		n = recv(c->cfd, w->scratch, MAX_HELLO_BYTES, 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		conn_close(w, c, CLOSE_NO_ROUTE_ALERT);
		return;
	}
	conn_poll(w, c, OP_POLL_IN0, c->cfd, POLLIN);
}

static void
conn_alert(struct worker *w, struct conn *c, const struct hello_info *info)
{
	uint8_t alert[TLS_ALERT_BYTES];

	tls_alert(alert, info->client_version, TLS_ALERT_UNRECOGNIZED_NAME);

	free(c->u.hello.data);
	c->u.hello.data = NULL;
	conn_set_state(w, c, CONN_ALERT);
	if (send(c->cfd, alert, sizeof(alert), MSG_NOSIGNAL) != (ssize_t)sizeof(alert)) {
		conn_close(w, c, CLOSE_NO_ROUTE_ALERT);
		return;
	}
	/*
	 * Closing now, with the client's unread bytes in our buffer, would send
	 * a reset that can overtake the alert. Shut down our side and let the
	 * client close first, within ALERT_LINGER_MS.
	 */
	shutdown(c->cfd, SHUT_WR);
	timer_set(&w->timers, c, w->now + ALERT_LINGER_MS);
	conn_alert_drain(w, c);
}

static const struct routes_backend *
conn_backend(const struct worker *w, const struct conn *c)
{
	return &routes_backends(rtshm_image(w->spec->routes, c->pin_slot), c->route)[c->backend];
}

static void
conn_connect(struct worker *w, struct conn *c)
{
	const struct routes_backend *b = conn_backend(w, c);
	const struct addr *a = &b->addr;
	struct io_uring_sqe *sqe, *tsqe;
	int fd;

	/*
	 * The connect and its timeout must go in one submission to stay
	 * linked: both entries are taken together, never with a submit between.
	 */
	if (io_uring_sq_space_left(&w->ring) < 2)
		io_uring_submit(&w->ring);
	fd = sock_backend(a->u.sa.sa_family);
	if (fd < 0 || io_uring_sq_space_left(&w->ring) < 2) {
		static struct log_limit limit;
		uint64_t skipped;

		if (fd >= 0)
			close(fd);
		if (worker_log_due(w, &limit, &skipped))
			log_error("backend socket: %s (%llu more not logged)", fd < 0 ?
			    strerror(-fd) : "no io_uring submission entries free",
			    (unsigned long long)skipped);
		conn_close(w, c, CLOSE_LIMIT_REACHED);
		return;
	}
	sqe = io_uring_get_sqe(&w->ring);
	tsqe = io_uring_get_sqe(&w->ring);
	c->bfd = fd;
	c->backend_sid = b->stats_id;
	conn_set_state(w, c, CONN_CONNECTING);
	c->tries++;
	c->u.hello.connect_start_us = clock_us();
	io_uring_prep_connect(sqe, fd, &a->u.sa, a->len);
	io_uring_sqe_set_data64(sqe, op_tag(c, OP_CONNECT));
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(tsqe, &w->connect_ts, 0);
	io_uring_sqe_set_data64(tsqe, op_tag(c, OP_CONNECT_TIMEOUT));
	c->ops |= (uint16_t)(1u << OP_CONNECT | 1u << OP_CONNECT_TIMEOUT);
}

static void
conn_send_hello(struct worker *w, struct conn *c)
{
	struct hello_buf *h = &c->u.hello;
	ssize_t n;

	while (h->sent < h->len) {
		n = send(c->bfd, h->data + h->sent, h->len - h->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				conn_poll(w, c, OP_POLL_OUT0, c->bfd, POLLOUT);
			else
				conn_close(w, c, CLOSE_BACKEND_RESET);
			return;
		}
		h->sent += (uint32_t)n;
	}
	relay_start(w, c);
}

/* Logs a backend failure, at most once per LOG_REPEAT_MS per worker. */
static void
conn_log_connect_failure(struct worker *w, struct conn *c, int err)
{
	static struct log_limit limit;
	char backend[ADDR_STRLEN];
	uint64_t skipped;

	if (!worker_log_due(w, &limit, &skipped))
		return;
	addr_format(&conn_backend(w, c)->addr, backend, sizeof(backend));
	log_warn("backend %s: connect: %s (%llu more failures not logged)", backend,
	    err == ECANCELED ? "timed out" : strerror(err), (unsigned long long)skipped);
}

static void
conn_count_connect(struct worker *w, struct conn *c)
{
	uint64_t us = clock_us() - c->u.hello.connect_start_us;
	struct stats_backend *b;

	c->connect_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	stats_hist_add(&w->st->c.hist[STATS_HIST_CONNECT_US], STATS_HIST_CONNECT_US, us);
	c->flags |= CONN_CONNECTED;
	b = &w->stats->backends[c->backend_sid];
	STATS_SHARED_ADD(b->connections, 1);
	STATS_SHARED_ADD(b->active, 1);
}

static void
conn_count_connect_failure(struct worker *w, struct conn *c, int timed_out)
{
	struct stats_backend *b = &w->stats->backends[conn_backend(w, c)->stats_id];

	STATS_SHARED_ADD(b->connect_failures, 1);
	if (timed_out)
		STATS_SHARED_ADD(b->connect_timeouts, 1);
}

static void
conn_on_connect(struct worker *w, struct conn *c, enum op op, int res)
{
	enum close_reason reason;
	uint32_t tries_max;

	if (op == OP_CONNECT && res == 0) {
		conn_count_connect(w, c);
		conn_unpin(w, c);
		conn_set_state(w, c, CONN_SEND_HELLO);
		c->active_ms = w->now;
		timer_set(&w->timers, c, w->now + c->idle_ms);
		conn_send_hello(w, c);
		return;
	}
	if (op == OP_CONNECT)
		c->u.hello.connect_res = res;
	/* Retry only once both completions of this attempt are back. */
	if (c->ops & (1u << OP_CONNECT | 1u << OP_CONNECT_TIMEOUT))
		return;
	res = c->u.hello.connect_res;
	conn_log_connect_failure(w, c, -res);
	conn_count_connect_failure(w, c, res == -ECANCELED);
	reason = res == -ECANCELED ? CLOSE_CONNECT_TIMEOUT : CLOSE_CONNECT_REFUSED;
	close(c->bfd);
	c->bfd = -1;
	tries_max = c->route->backend_count < CONNECT_TRIES_MAX ?
	    c->route->backend_count : CONNECT_TRIES_MAX;
	if (c->tries < tries_max) {
		c->backend = (uint16_t)((c->backend + 1) % c->route->backend_count);
		conn_connect(w, c);
		return;
	}
	conn_close(w, c, reason);
}

void
conn_on_cqe(struct worker *w, struct conn *c, enum op op, int res)
{
	c->ops &= (uint16_t)~(1u << op);
	if (c->reason != CLOSE_NONE) {
		if (c->ops == 0)
			conn_free(w, c);
		return;
	}
	if (res < 0 && op >= OP_POLL_IN0 && op <= OP_POLL_OUT1) {
		/* A poll fails only on a broken fd; retrying it would spin. */
		log_error("poll: %s", strerror(-res));
		conn_close(w, c, CLOSE_INTERNAL);
		return;
	}
	switch (c->state) {
	case CONN_HELLO:
		conn_hello_read(w, c);
		break;
	case CONN_ALERT:
		conn_alert_drain(w, c);
		break;
	case CONN_CONNECTING:
		conn_on_connect(w, c, op, res);
		break;
	case CONN_SEND_HELLO:
		if (op == OP_POLL_OUT0)
			conn_send_hello(w, c);
		break;
	case CONN_RELAY:
		relay_on_cqe(w, c, op, res);
		break;
	default:
		break;
	}
}

void
conn_on_timer(struct worker *w, struct conn *c)
{
	switch (c->state) {
	case CONN_HELLO:
		conn_close(w, c, CLOSE_HELLO_TIMEOUT);
		break;
	case CONN_ALERT:
		conn_close(w, c, CLOSE_NO_ROUTE_ALERT);
		break;
	case CONN_SEND_HELLO:
	case CONN_RELAY:
		/* Lazy idle check: bytes moved since the timer was set push it out. */
		if (w->now - c->active_ms >= c->idle_ms)
			conn_close(w, c, CLOSE_IDLE_TIMEOUT);
		else
			timer_set(&w->timers, c, c->active_ms + c->idle_ms);
		break;
	default:
		break;
	}
}
