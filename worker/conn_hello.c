/*
 * conn_hello.c -- a connection's hello phase: read the ClientHello, look
 * its name up, and refuse it (a close, or the unrecognized_name alert).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "backend.h"
#include "conn.h"
#include "log.h"
#include "tls.h"
#include "tunables.h"
#include "worker-t.h"

struct conn_meta *
conn_meta_get(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (c->meta != NULL)
		return c->meta;
	c->meta = calloc(1, sizeof(*c->meta));
	if (c->meta != NULL && getpeername(c->cfd, (struct sockaddr *)&ss, &len) == 0)
		addr_from_sockaddr(&c->meta->client, (struct sockaddr *)&ss, len);
	return c->meta;
}

/* At accept, when the access log is on: the client's address for its line. */
void
conn_meta_accept(struct worker *w, struct conn *c)
{
	if (accesslog_on(&w->access))
		(void)conn_meta_get(c);
}

/* With the hello parsed: its SNI and ALPN list for the line. */
static void
conn_meta_hello(struct worker *w, struct conn *c, const struct hello_info *info)
{
	char alpn[ACCESSLOG_ALPN_MAX];
	struct conn_meta *m;
	size_t alen;

	if (c->meta == NULL || !accesslog_on(&w->access))
		return;
	hello_alpn_format(info, alpn, sizeof(alpn));
	alen = strlen(alpn);
	m = realloc(c->meta, sizeof(*m) + info->sni_len + alen + 2);
	if (m == NULL)
		return;
	if (info->sni_len > 0)		/* no SNI: info->sni is NULL */
		memcpy(m->text, info->sni, info->sni_len);
	m->text[info->sni_len] = '\0';
	memcpy(m->text + info->sni_len + 1, alpn, alen + 1);
	m->sni_len = info->sni_len;
	m->alpn_len = (uint16_t)alen;
	c->meta = m;
}

/* Doubles the hello buffer, up to the parser's limit. 0 or -ENOMEM. */
static int
conn_hello_grow(struct hello_buf *h)
{
	uint32_t cap = h->cap * 2 < h->parser.limit ? h->cap * 2 : h->parser.limit;
	uint8_t *p;

	/* At the limit already, or no memory: the caller tells the two apart by h->cap. */
	if (cap <= h->cap || (p = realloc(h->data, cap)) == NULL)
		return -ENOMEM;
	h->data = p;
	h->cap = cap;
	return 0;
}

/*
 * One recv of the hello. Until the first byte comes, a connection holds no
 * buffer: the first read goes to the worker's scratch and only what came
 * is kept, so silent connections (a flood, a slowloris) cost no memory.
 * Returns the bytes received (the caller counts them in), 0 at EOF, or
 * -errno (-ENOMEM when no buffer could be had).
 */
static ssize_t
conn_hello_recv(struct worker *w, struct hello_buf *h, int fd)
{
	ssize_t n;

	if (h->data != NULL) {
		n = recv(fd, h->data + h->len, h->cap - h->len, 0);
		return n < 0 ? -errno : n;
	}
	n = recv(fd, w->scratch, h->parser.limit, 0);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	h->cap = (uint32_t)n > HELLO_BUF_INITIAL ? (uint32_t)n : HELLO_BUF_INITIAL;
	if (h->cap > h->parser.limit)
		h->cap = h->parser.limit;
	h->data = malloc(h->cap);
	if (h->data == NULL)
		return -ENOMEM;
	memcpy(h->data, w->scratch, (size_t)n);
	h->len = 0;
	return n;
}

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

void
conn_alert_drain(struct worker *w, struct conn *c)
{
	ssize_t n;

	for (unsigned i = 0; i < DRAIN_BURST; i++) {
		n = recv(c->cfd, w->scratch, MAX_HELLO_BYTES, 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		conn_close(w, c, (enum close_reason)c->u.hello.alert_reason);
		return;
	}
	conn_wait_client(w, c);
}

/*
 * Sends the fatal alert description (no route: unrecognized_name; a reject
 * backend's share, a full route: internal_error), then waits for the
 * client to close; the connection ends as reason.
 */
static void
conn_alert(struct worker *w, struct conn *c, const struct hello_info *info,
    uint8_t description, enum close_reason reason)
{
	uint8_t alert[TLS_ALERT_BYTES];

	tls_alert(alert, info->client_version, description);
	free(c->u.hello.data);
	c->u.hello.data = NULL;
	c->u.hello.alert_reason = (uint8_t)reason;
	conn_set_state(w, c, CONN_ALERT);
	if (send(c->cfd, alert, sizeof(alert), MSG_NOSIGNAL) != (ssize_t)sizeof(alert)) {
		conn_close(w, c, reason);
		return;
	}
	/*
	 * Closing now, with the client's unread bytes in our buffer, would send
	 * a reset that can overtake the alert. Shut down our side and let the
	 * client close first, within ALERT_LINGER_MS.
	 */
	shutdown(c->cfd, SHUT_WR);
	timer_set(&w->timers, &c->timer, w->now + ALERT_LINGER_MS);
	conn_alert_drain(w, c);
}

/*
 * The hello is in: route it with the image of this turn to the backend it
 * picks, when the route's rules let the client in and it has room; else
 * the alert that says why.
 */
static void
conn_hello_done(struct worker *w, struct conn *c, const struct hello_info *info)
{
	const struct routes_route *r = routes_lookup_group(w->img, conn_access_group(w, c),
	    info->sni, info->sni_len, info->alpn, info->alpn_len);
	int b;

	conn_meta_hello(w, c, info);
	if (r == NULL) {
		conn_alert(w, c, info, TLS_ALERT_UNRECOGNIZED_NAME, CLOSE_NO_ROUTE_ALERT);
		return;
	}
	if (conn_access_route(w, c, r, info) != 0)
		return;
	if (conn_route_full(w, r)) {
		conn_alert(w, c, info, TLS_ALERT_INTERNAL_ERROR, CLOSE_ROUTE_FULL);
		return;
	}
	b = backend_pick(w, r);
	if (b < 0 || (routes_backends(w->img, r)[b].flags & ROUTES_BACKEND_REJECT))
		conn_alert(w, c, info, TLS_ALERT_INTERNAL_ERROR, CLOSE_REJECTED);
	else
		conn_route(w, c, r, (uint16_t)b, info);
}

void
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
		if (n == -EINTR)
			continue;
		if (n <= 0) {
			if (n == -EAGAIN)
				conn_wait_client(w, c);
			else
				conn_close(w, c, n == 0 ? CLOSE_HELLO_EOF : n == -ENOMEM ?
				    CLOSE_LIMIT_REACHED : CLOSE_CLIENT_RESET);
			return;
		}
		h->len += (uint32_t)n;
		if (c->flags & CONN_PROXY_IN) {
			int rc = conn_access_proxy(w, c);

			if (rc != 0 && rc != -EAGAIN)
				return;
			if (rc != 0 || h->len == 0)
				continue;	/* more is due, or the hello is */
		}
		st = hello_parse(&h->parser, h->data, h->len, w->scratch,
		    MAX_HELLO_BYTES, &info);
		if (st == HELLO_OK) {
			conn_hello_done(w, c, &info);
			return;
		}
		if (st != HELLO_NEED_MORE) {
			conn_hello_refused(w, c, st, &info);
			return;
		}
	}
}
