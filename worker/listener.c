/*
 * listener.c -- accepting on a worker's listening sockets, pausing at the
 * connection limit and backing off after errors.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "engine.h"
#include "listener.h"
#include "sock.h"
#include "tunables.h"
#include "worker-t.h"

/* After EMFILE/ENFILE/ENOMEM on accept, wait this long before accepting again. */
#define ACCEPT_RETRY_MS 100u
/*
 * How long a retiring worker keeps accepting on a socket no slot keeps,
 * once it refuses new SYNs: until every handshake begun on it before has
 * come into its queue, so none is reset at close. TCP_DEFER_ACCEPT holds
 * a handshake until the hello comes or, for a silent client, for
 * DEFER_ACCEPT_SECONDS; then the SYN-ACK is resent and the client's ACK,
 * one round trip later (LISTEN_LINGER_RTT_MS), queues it all the same.
 */
#define LISTEN_LINGER_RTT_MS 300u
#define LISTEN_LINGER_MS (DEFER_ACCEPT_SECONDS * 1000u + LISTEN_LINGER_RTT_MS)

/*
 * Multishot accept takes every connection waiting in the backlog in one
 * go: with little room left under the limit, one accept at a time, so no
 * client is accepted only to be closed.
 */
static void
listener_arm(struct worker *w, struct listener *l, int multishot)
{
	if (engine_accept(w->engine, l, multishot) != 0)
		w->accept_retry_at = w->now + ACCEPT_RETRY_MS;
}

/* Connections this worker may still accept. */
static uint32_t
listener_room(const struct worker *w)
{
	return w->conn_max > w->conn_count ? w->conn_max - w->conn_count : 0;
}

/* 1 while l may accept: open, and not retiring or not yet at its close time. */
static int
listener_open(const struct worker *w, const struct listener *l)
{
	return l->fd >= 0 && (l->close_at == 0 || w->now < l->close_at);
}

void
listener_resume(struct worker *w)
{
	uint32_t room, armed = 0;

	if (w->accept_paused && w->conn_count < w->conn_max) {
		w->accept_paused = 0;
		log_info("below the connection limit (%u): accepting again", w->conn_max);
	}
	if (w->accept_paused || w->now < w->accept_retry_at)
		return;
	room = listener_room(w);
	for (unsigned i = 0; i < w->listen_count; i++)
		armed += w->listeners[i].accepting;
	for (unsigned i = 0; i < w->listen_count; i++) {
		if (w->listeners[i].accepting || !listener_open(w, &w->listeners[i]))
			continue;
		if (room >= ACCEPT_MULTISHOT_ROOM) {
			listener_arm(w, &w->listeners[i], 1);
		} else if (armed < room) {
			listener_arm(w, &w->listeners[i], 0);
			armed++;
		}
	}
}

void
listener_cancel_all(struct worker *w)
{
	for (unsigned i = 0; i < w->listen_count; i++)
		engine_accept_cancel(w->engine, &w->listeners[i]);
}

/* At the connection limit: stop accepting; new clients wait in the backlog. */
static void
listener_pause(struct worker *w)
{
	if (w->accept_paused)
		return;
	log_warn("at the connection limit (%u): accepting paused", w->conn_max);
	w->accept_paused = 1;
	listener_cancel_all(w);
}

void
listener_retire(struct worker *w)
{
	uint64_t close_at = w->now + LISTEN_LINGER_MS;
	struct listener *l;

	if (close_at > w->drain_deadline)
		close_at = w->drain_deadline;
	for (unsigned i = 0; i < w->listen_count; i++) {
		l = &w->listeners[i];
		if (l->fd < 0)
			continue;
		if (sock_listen_refusing(l->fd) > 0) {
			l->close_at = close_at > 0 ? close_at : 1;
			continue;
		}
		engine_accept_cancel(w->engine, l);
		close(l->fd);
		l->fd = -1;
	}
}

static void listener_accepted(struct worker *w, struct listener *l, int fd);

/* Takes what is queued on l (nothing new comes: it refuses SYNs), then closes it. */
static void
listener_drain(struct worker *w, struct listener *l)
{
	char text[ADDR_STRLEN];
	int fd;

	for (;;) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			listener_accepted(w, l, fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			break;
	}
	close(l->fd);
	l->fd = -1;
	log_info("retiring: closed listener %s after accepting the %u connections queued "
	    "on it since it refuses new ones", addr_format(&l->addr, text, sizeof(text)),
	    l->lingered);
}

int
listener_linger(struct worker *w)
{
	int open = 0;

	for (unsigned i = 0; i < w->listen_count; i++) {
		struct listener *l = &w->listeners[i];

		if (l->fd < 0)
			continue;
		if (listener_open(w, l)) {
			open = 1;
		} else if (l->accepting) {
			/* Its accept ends first: what it takes still comes as a completion. */
			engine_accept_cancel(w->engine, l);
			open = 1;
		} else {
			listener_drain(w, l);
		}
	}
	return !open;
}

uint64_t
listener_next_close(const struct worker *w)
{
	uint64_t next = UINT64_MAX;

	/* Past its time, a socket waits for its accept's last completion: an event. */
	for (unsigned i = 0; i < w->listen_count; i++)
		if (listener_open(w, &w->listeners[i]) && w->listeners[i].close_at != 0 &&
		    w->listeners[i].close_at < next)
			next = w->listeners[i].close_at;
	return next;
}

int
listener_busy(const struct worker *w)
{
	for (unsigned i = 0; i < w->listen_count; i++)
		if (w->listeners[i].accepting)
			return 1;
	return 0;
}

/* A connection came: hand it to conn, or close it at the limit. */
static void
listener_accepted(struct worker *w, struct listener *l, int fd)
{
	l->lingered += l->close_at != 0;
	if (w->conn_count >= w->conn_max) {
		/* Accepted before the pause took effect, or a reload lowered the limit. */
		close(fd);
		STATS_ADD(w->st->c.accepted, 1);
		STATS_ADD(w->st->c.closes[CLOSE_LIMIT_REACHED], 1);
		listener_pause(w);
		return;
	}
	conn_accept(w, fd, (unsigned)(l - w->listeners));
	if (w->conn_count >= w->conn_max) {
		listener_pause(w);
	} else if (l->multishot && l->accepting &&
	    listener_room(w) < ACCEPT_MULTISHOT_ROOM) {
		/* Near the limit: single accepts from here (re-armed next turn). */
		engine_accept_cancel(w->engine, l);
	}
}

void
listener_on_accept(struct worker *w, struct listener *l, int res)
{
	uint64_t skipped;

	if (res >= 0) {
		listener_accepted(w, l, res);
		return;
	}
	switch (-res) {
	case ECANCELED:
	case EAGAIN:
	case EINTR:
	case ECONNABORTED:
		return;
	default:
		/*
		 * EMFILE, ENOBUFS, ENOMEM and the unexpected: retrying at once
		 * would spin, the condition outlasts a loop turn.
		 */
		w->accept_retry_at = w->now + ACCEPT_RETRY_MS;
		break;
	}
	STATS_ADD(w->st->c.accept_errors, 1);
	if (worker_log_due(w, &l->errors_logged, &skipped))
		log_error("accept on %d: %s (%llu more not logged)", l->fd, strerror(-res),
		    (unsigned long long)skipped);
}
