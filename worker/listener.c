/*
 * listener.c -- accepting on a worker's listening sockets, pausing at the
 * connection limit and backing off after errors.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "engine.h"
#include "listener.h"
#include "tunables.h"
#include "worker-t.h"

/* After EMFILE/ENFILE/ENOMEM on accept, wait this long before accepting again. */
#define ACCEPT_RETRY_MS 100u

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

void
listener_resume(struct worker *w)
{
	uint32_t room, armed = 0;

	if (w->drain_deadline != 0)
		return;		/* retiring: never accept again */
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
		if (w->listeners[i].accepting)
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
	w->accept_paused = 1;
	for (unsigned i = 0; i < w->listen_count; i++) {
		engine_accept_cancel(w->engine, &w->listeners[i]);
		close(w->listeners[i].fd);
		w->listeners[i].fd = -1;
	}
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
