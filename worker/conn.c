/*
 * conn.c -- a connection's life: accepted, routed, connected to a backend
 * and handed its hello, relayed, closed and freed. The hello phase itself
 * is in conn_hello.c, the relay in relay.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "clock.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "sock.h"
#include "tunables.h"
#include "worker-t.h"

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
	timer_init(&c->timer);
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
	if (c->cfd >= 0) {
		engine_forget(w->engine, c->cfd);
		close(c->cfd);
	}
	if (c->bfd >= 0) {
		engine_forget(w->engine, c->bfd);
		close(c->bfd);
	}
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

const char *
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

/* What a connection's end adds to the worker's, its route's and its backend's counters. */
static void
conn_count_close(struct worker *w, struct conn *c, enum close_reason reason)
{
	STATS_ADD(w->st->c.closes[reason], 1);
	stats_hist_add(&w->st->c.hist[STATS_HIST_DURATION_MS], STATS_HIST_DURATION_MS,
	    w->now - c->accepted_ms);
	if (c->flags & CONN_ROUTED) {
		struct stats_entry *r = &w->st->routes[c->route_sid];

		STATS_SUB(r->active, 1);
		if (reason == CLOSE_CONNECT_REFUSED || reason == CLOSE_CONNECT_TIMEOUT)
			STATS_ADD(r->connect_failures, 1);
	}
	if (c->flags & CONN_CONNECTED)
		STATS_SUB(w->st->backends[c->backend_sid].active, 1);
}

/* The access log line of a connection that just ended. */
static void
conn_log_access(struct worker *w, const struct conn *c)
{
	const struct conn_meta *m = c->meta;
	int relayed = c->state == CONN_RELAY;
	struct access_record r = {
		.client = m != NULL ? &m->client : NULL,
		.listen = &w->listeners[c->listener].addr,
		.sni = m != NULL && m->sni_len > 0 ? m->text : NULL,
		.alpn = m != NULL && m->alpn_len > 0 ? m->text + m->sni_len + 1 : NULL,
		.route = c->flags & CONN_ROUTED ? w->stats->routes[c->route_sid].pattern : NULL,
		.backend = c->tries > 0 ? w->stats->backends[c->backend_sid].addr : NULL,
		.bytes_in = relayed ? c->u.dir[0].bytes : 0,
		.bytes_out = relayed ? c->u.dir[1].bytes : 0,
		.connected = (c->flags & CONN_CONNECTED) != 0,
		.connect_us = c->connect_us,
		.duration_ms = w->now - c->accepted_ms,
		.reason = (enum close_reason)c->reason,
	};

	accesslog_add(&w->access, &r);
}

void
conn_close(struct worker *w, struct conn *c, enum close_reason reason)
{
	char peer[ADDR_STRLEN];

	if (c->reason != CLOSE_NONE)
		return;
	if (c->state == CONN_RELAY)
		relay_closing(w, c);	/* its last byte counts */
	c->reason = (uint8_t)reason;
	conn_count_close(w, c, reason);
	timer_clear(&w->timers, &c->timer);
	conn_unpin(w, c);
	/* Pass a reset on as a reset: a FIN would fake a clean end of stream. */
	if (reason == CLOSE_CLIENT_RESET && c->bfd >= 0)
		sock_abort_on_close(c->bfd);
	if (reason == CLOSE_BACKEND_RESET && c->cfd >= 0)
		sock_abort_on_close(c->cfd);
	log_debug("%s: closed: %s", conn_peer(c, peer, sizeof(peer)),
	    close_reason_str(reason));
	if (accesslog_on(&w->access))
		conn_log_access(w, c);
	if (engine_cancel(w->engine, c) != 0) {
		/* No room for a cancel: a shutdown wakes every wait on the sockets. */
		if (c->cfd >= 0)
			shutdown(c->cfd, SHUT_RDWR);
		if (c->bfd >= 0)
			shutdown(c->bfd, SHUT_RDWR);
	}
	if (c->ops == 0)
		conn_free(w, c);
}

void
conn_close_all(struct worker *w)
{
	for (uint32_t i = 0; i < w->conn_used; i++)
		if (w->conns[i].state != CONN_FREE)
			conn_close(w, &w->conns[i], CLOSE_SHUTDOWN);
}

void
conn_wait_client(struct worker *w, struct conn *c)
{
	if (engine_wait(w->engine, c, EV_READABLE, 0, c->cfd) != 0)
		conn_close(w, c, CLOSE_INTERNAL);
}

void
conn_accept(struct worker *w, int fd, unsigned listener)
{
	const struct routes_settings *st = &w->img->settings;
	struct conn *c;

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
	conn_meta_accept(w, c);
	c->accepted_ms = w->now;
	/* The image of this turn's; a connection in its hello pins none. */
	c->idle_ms = st->idle_ms;
	/*
	 * "kernel" needs this worker's BPF maps: a worker started before a
	 * reload asked for it has none, and relays as "adaptive" (worker_run()
	 * said so at its start).
	 */
	c->relay = (uint8_t)(st->relay == RELAY_KERNEL && w->spec->relay_socks_fd < 0 ?
	    RELAY_ADAPTIVE : st->relay);
	/* The ring splice is io_uring's: on epoll the same splice is made inline. */
	if (c->relay == RELAY_SPLICE_RING && w->engine_kind == ENGINE_EPOLL)
		c->relay = RELAY_SPLICE;
	hello_parser_init(&c->u.hello.parser, st->hello_bytes);
	timer_set(&w->timers, &c->timer, w->now + st->hello_ms);
	if (conn_access_accept(w, c) != 0)
		return;
	/* TCP_DEFER_ACCEPT: the hello's first bytes are usually here already. */
	conn_hello_read(w, c);
}

int
conn_route_full(const struct worker *w, const struct routes_route *r)
{
	uint32_t share;

	if (r->max_connections == 0)
		return 0;
	share = (r->max_connections + w->spec->workers - 1) / w->spec->workers;
	return atomic_load_explicit(&w->st->routes[r->stats_id].active,
	    memory_order_relaxed) >= share;
}

void
conn_route(struct worker *w, struct conn *c, const struct routes_route *r, uint16_t b,
    const struct hello_info *info)
{
	timer_clear(&w->timers, &c->timer);
	stats_hist_add(&w->st->c.hist[STATS_HIST_HELLO_BYTES], STATS_HIST_HELLO_BYTES,
	    info->hello_end);
	c->route_sid = r->stats_id;
	c->flags |= CONN_ROUTED;
	if (r->idle_ms != 0)
		c->idle_ms = r->idle_ms;
	STATS_ADD(w->st->routes[c->route_sid].connections, 1);
	STATS_ADD(w->st->routes[c->route_sid].active, 1);
	/* The connection takes this turn's generation: it pins its image until connected. */
	c->route = r;
	c->pin_slot = w->cur;
	worker_pin(w, c->pin_slot, 1);
	c->backend = b;
	c->tries = 0;
	conn_connect(w, c);
}

static const struct routes_backend *
conn_backend(const struct worker *w, const struct conn *c)
{
	return &routes_backends(w->images[c->pin_slot].img, c->route)[c->backend];
}

static void
conn_connect(struct worker *w, struct conn *c)
{
	const struct routes_backend *b = conn_backend(w, c);
	const struct addr *a = &b->addr;
	int fd = sock_backend(a->u.sa.sa_family);
	int rc;

	/* The route's own connect timeout, else the generation's (an unchanged one costs nothing). */
	engine_connect_timeout(w->engine, c->route->connect_ms != 0 ? c->route->connect_ms :
	    w->images[c->pin_slot].img->settings.connect_ms);
	rc = fd < 0 ? fd : engine_connect(w->engine, c, fd, &a->u.sa, a->len);

	if (rc != 0) {
		static struct log_limit limit;
		uint64_t skipped;

		if (fd >= 0)
			close(fd);
		if (worker_log_due(w, &limit, &skipped))
			log_error("backend socket: %s (%llu more not logged)", fd < 0 ?
			    strerror(-fd) : "no room in the event engine",
			    (unsigned long long)skipped);
		conn_close(w, c, CLOSE_LIMIT_REACHED);
		return;
	}
	c->bfd = fd;
	c->backend_sid = b->stats_id;
	conn_set_state(w, c, CONN_CONNECTING);
	c->tries++;
	c->u.hello.connect_start_us = clock_us();
}

/* Acts on what a relay step says: waiting is all done, a close is made here. */
static void
conn_relay_step(struct worker *w, struct conn *c, enum relay_status st,
    enum close_reason reason)
{
	if (st == RELAY_CLOSE)
		conn_close(w, c, reason);
}

static void
conn_send_hello(struct worker *w, struct conn *c)
{
	struct hello_buf *h = &c->u.hello;
	enum close_reason reason = CLOSE_NONE;
	enum relay_status st;
	ssize_t n;

	while (h->sent < h->len) {
		n = send(c->bfd, h->data + h->sent, h->len - h->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_close(w, c, CLOSE_BACKEND_RESET);
			else if (engine_wait(w->engine, c, EV_WRITABLE, 0, c->bfd) != 0)
				conn_close(w, c, CLOSE_INTERNAL);
			return;
		}
		h->sent += (uint32_t)n;
	}
	st = relay_start(w, c, &reason);
	conn_set_state(w, c, CONN_RELAY);
	c->active_ms = w->now;
	conn_relay_step(w, c, st, reason);
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
	struct stats_entry *b;

	c->connect_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	stats_hist_add(&w->st->c.hist[STATS_HIST_CONNECT_US], STATS_HIST_CONNECT_US, us);
	c->flags |= CONN_CONNECTED;
	b = &w->st->backends[c->backend_sid];
	STATS_ADD(b->connections, 1);
	STATS_ADD(b->active, 1);
	backend_connected(w, c->backend_sid);
}

static void
conn_count_connect_failure(struct worker *w, struct conn *c, int timed_out)
{
	struct stats_entry *b = &w->st->backends[c->backend_sid];	/* set by conn_connect */

	STATS_ADD(b->connect_failures, 1);
	if (timed_out)
		STATS_ADD(b->connect_timeouts, 1);
	backend_failed(w, c->backend_sid);
}

static void
conn_on_connect(struct worker *w, struct conn *c, enum engine_op op, int res)
{
	enum close_reason reason;
	uint32_t tries_max;
	int next;

	if (op == EV_CONNECT && res == 0) {
		conn_count_connect(w, c);
		conn_unpin(w, c);
		conn_set_state(w, c, CONN_SEND_HELLO);
		c->active_ms = w->now;
		timer_set(&w->timers, &c->timer, w->now + c->idle_ms);
		conn_send_hello(w, c);
		return;
	}
	if (op == EV_CONNECT)
		c->u.hello.connect_res = res;
	/* Retry only once both events of this attempt are back. */
	if (c->ops & (engine_bit(EV_CONNECT, 0) | engine_bit(EV_CONNECT_TIMEOUT, 0)))
		return;
	res = c->u.hello.connect_res;
	conn_log_connect_failure(w, c, -res);
	conn_count_connect_failure(w, c, res == -ECANCELED);
	reason = res == -ECANCELED ? CLOSE_CONNECT_TIMEOUT : CLOSE_CONNECT_REFUSED;
	engine_forget(w->engine, c->bfd);
	close(c->bfd);
	c->bfd = -1;
	tries_max = c->route->backend_count < CONNECT_TRIES_MAX ?
	    c->route->backend_count : CONNECT_TRIES_MAX;
	next = backend_next(w, routes_backends(w->images[c->pin_slot].img, c->route),
	    c->route->backend_count, c->backend);
	if (c->tries < tries_max && next >= 0) {
		c->backend = (uint16_t)next;
		conn_connect(w, c);
		return;
	}
	conn_close(w, c, reason);
}

void
conn_on_event(struct worker *w, struct conn *c, enum engine_op op, int d, int res)
{
	enum close_reason reason = CLOSE_NONE;
	enum relay_status st;

	if (c->reason != CLOSE_NONE) {
		if (c->ops == 0)
			conn_free(w, c);
		return;
	}
	if (res < 0 && (op == EV_READABLE || op == EV_WRITABLE)) {
		/* A wait fails only on a broken fd; retrying it would spin. */
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
		if (op == EV_WRITABLE)
			conn_send_hello(w, c);
		break;
	case CONN_RELAY:
		st = relay_on_event(w, c, op, d, res, &reason);
		conn_relay_step(w, c, st, reason);
		break;
	default:
		break;
	}
}

static void
conn_on_timer(struct worker *w, struct conn *c)
{
	enum close_reason reason = CLOSE_NONE;
	enum relay_status st;

	switch (c->state) {
	case CONN_HELLO:
		conn_close(w, c, CLOSE_HELLO_TIMEOUT);
		break;
	case CONN_ALERT:
		conn_close(w, c, (enum close_reason)c->u.hello.alert_reason);
		break;
	case CONN_SEND_HELLO:
		/* Lazy idle check: bytes moved since the timer was set push it out. */
		if (w->now - c->active_ms >= c->idle_ms)
			conn_close(w, c, CLOSE_IDLE_TIMEOUT);
		else
			timer_set(&w->timers, &c->timer, c->active_ms + c->idle_ms);
		break;
	case CONN_RELAY:
		st = relay_on_timer(w, c, &reason);
		conn_relay_step(w, c, st, reason);
		break;
	default:
		break;
	}
}

void
conn_expire(struct worker *w)
{
	struct timer *t;

	while ((t = timer_pop_expired(&w->timers, w->now)) != NULL)
		conn_on_timer(w, (struct conn *)(void *)((char *)t - offsetof(struct conn, timer)));
}
