/*
 * conn_access.c -- who a connection's client is and whether it may in:
 * the PROXY header a trusted balancer puts before the hello, the address
 * rules at accept and after the hello, and the PROXY header a route sends
 * its backend before the hello.
 *
 * The address rules and trusted sources are struct acl images inside the
 * route table generation; a listener finds its settings there by address
 * (routes_listen_find), once per generation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
#include "proxyproto.h"
#include "worker-t.h"

/* c's listen address's settings in this turn's generation, or NULL (none there). */
static const struct routes_listen *
conn_access_listen(struct worker *w, const struct conn *c)
{
	struct listener *l = &w->listeners[c->listener];

	if (l->conf_gen != w->img->generation) {
		l->conf = routes_listen_find(w->img, &l->addr);
		l->conf_gen = w->img->generation;
	}
	return l->conf;
}

uint32_t
conn_access_group(struct worker *w, const struct conn *c)
{
	const struct routes_listen *l = conn_access_listen(w, c);

	return l != NULL ? l->group : 0;
}

/*
 * The rules that decide at accept: the listen address's own, else its
 * group's (the master put those there), else the top level's.
 */
static const struct acl *
conn_access_listen_rules(struct worker *w, const struct conn *c)
{
	const struct routes_listen *l = conn_access_listen(w, c);

	return routes_acl(w->img, l != NULL ? l->acl_off : w->img->acl_off);
}

/*
 * c's client as the rules see it, or NULL with c closed: no memory, or no
 * address because the client reset before we asked (getpeername fails on
 * a reset socket, whose bytes may still be queued).
 */
static const struct conn_meta *
conn_access_client(struct worker *w, struct conn *c)
{
	const struct conn_meta *m = conn_meta_get(c);

	if (m == NULL || m->client.len == 0) {
		conn_close(w, c, m == NULL ? CLOSE_LIMIT_REACHED : CLOSE_CLIENT_RESET);
		return NULL;
	}
	return m;
}

/*
 * Whether acl (route r's, or with r NULL the listen address's or the top
 * level's) admits c's client; a refused one is closed, counted and logged
 * at debug with the scope that refused it. 0, or -1 with c closed.
 */
static int
conn_access_check(struct worker *w, struct conn *c, const struct acl *acl,
    const struct routes_route *r)
{
	const struct conn_meta *m;
	char peer[ADDR_STRLEN], listen[ADDR_STRLEN];

	if (acl == NULL)
		return 0;
	if ((m = conn_access_client(w, c)) == NULL)
		return -1;
	if (acl_allows(acl, &m->client))
		return 0;
	addr_format(&m->client, peer, sizeof(peer));
	if (r != NULL)
		log_debug("%s: denied by route %s", peer, w->stats->routes[r->stats_id].pattern);
	else if (acl == routes_acl(w->img, w->img->acl_off))
		log_debug("%s: denied by the top level", peer);
	else
		log_debug("%s: denied by %slisten %s", peer, (conn_access_listen(w, c)->flags &
		    ROUTES_GROUP_RULES) ? "the listener group of " : "",
		    addr_format(&w->listeners[c->listener].addr, listen, sizeof(listen)));
	conn_close(w, c, CLOSE_DENIED);
	return -1;
}

int
conn_access_accept(struct worker *w, struct conn *c)
{
	const struct routes_listen *l = conn_access_listen(w, c);
	const struct conn_meta *m;
	char peer[ADDR_STRLEN];

	if (l == NULL || !(l->flags & ROUTES_ACCEPT_PROXY))
		return conn_access_check(w, c, conn_access_listen_rules(w, c), NULL);
	if ((m = conn_access_client(w, c)) == NULL)
		return -1;
	if (!acl_allows(routes_acl(w->img, l->trusted_off), &m->client)) {
		log_debug("%s: PROXY header from an untrusted source",
		    addr_format(&m->client, peer, sizeof(peer)));
		conn_close(w, c, CLOSE_PROXY_UNTRUSTED);
		return -1;
	}
	/* The rules wait for the address the header carries. */
	c->flags |= CONN_PROXY_IN;
	return 0;
}

/* A header was refused (rc from proxy_parse): counted under its reason, c closed. */
static void
conn_access_proxy_refused(struct worker *w, struct conn *c, ssize_t rc, const char *why)
{
	char peer[ADDR_STRLEN];

	log_debug("%s: PROXY header refused: %s", conn_peer(c, peer, sizeof(peer)),
	    rc == -ENOMSG ? "none came first" : why);
	conn_close(w, c, rc == -ENOMSG ? CLOSE_PROXY_MISSING : CLOSE_PROXY_MALFORMED);
}

int
conn_access_proxy(struct worker *w, struct conn *c)
{
	struct hello_buf *h = &c->u.hello;
	struct proxy_info info;
	struct conn_meta *m;
	const char *why;
	ssize_t n;

	n = proxy_parse(h->data, h->len, h->parser.limit, &info, &why);
	if (n == -EAGAIN)
		return -EAGAIN;
	if (n < 0) {
		conn_access_proxy_refused(w, c, n, why);
		return -1;
	}
	STATS_ADD(w->st->c.proxy_headers, 1);
	c->flags &= (uint8_t)~CONN_PROXY_IN;
	/* LOCAL (a balancer's own check) and UNKNOWN keep the real endpoints. */
	if (info.command == PROXY_CMD_PROXY && (m = conn_meta_get(c)) != NULL) {
		m->client = info.src;
		m->local = info.dst;
	}
	/* What follows is the client's; the header's bytes count against hello_bytes. */
	h->len -= (uint32_t)n;
	memmove(h->data, h->data + n, h->len);
	hello_parser_init(&h->parser, h->parser.limit - (uint32_t)n);
	return conn_access_check(w, c, conn_access_listen_rules(w, c), NULL);
}

/*
 * The protocol the backend is told: the one route r was chosen by (the
 * client's first that r's alpn lists), else the client's first; or none.
 */
static const uint8_t *
conn_access_alpn(const struct worker *w, const struct routes_route *r,
    const struct hello_info *info, size_t *len)
{
	*len = 0;
	if (r->alpn_len > 0)
		return routes_alpn_choose(routes_alpn(w->img, r), r->alpn_len, info->alpn,
		    info->alpn_len, len);
	if (info->alpn == NULL || info->alpn_len < 1 || info->alpn[0] + 1u > info->alpn_len)
		return NULL;
	*len = info->alpn[0];
	return info->alpn + 1;
}

/* Writes route r's PROXY header for c into buf; its length, or 0 when it cannot. */
static size_t
conn_access_header(const struct worker *w, struct conn *c, const struct routes_route *r,
    const struct hello_info *info, uint8_t *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const uint8_t *alpn;
	struct conn_meta *m;
	size_t alpn_len;

	if ((m = conn_meta_get(c)) == NULL)
		return 0;
	/* Not carried by a header: the listener's address, asked only of a wildcard one. */
	if (m->local.len == 0 && !addr_is_any(&w->listeners[c->listener].addr))
		m->local = w->listeners[c->listener].addr;
	else if (m->local.len == 0 && getsockname(c->cfd, (struct sockaddr *)&ss, &sl) == 0)
		addr_from_sockaddr(&m->local, (struct sockaddr *)&ss, sl);
	if (r->send_proxy == ROUTES_PROXY_V1)
		return proxy_build_v1((char *)buf, size, &m->client, &m->local);
	alpn = conn_access_alpn(w, r, info, &alpn_len);
	return proxy_build_v2(buf, size, &m->client, &m->local, info->sni, info->sni_len,
	    alpn, alpn_len);
}

/* Puts r's PROXY header before the hello in c's buffer. 0, or -1 with c closed. */
static int
conn_access_send_proxy(struct worker *w, struct conn *c, const struct routes_route *r,
    const struct hello_info *info)
{
	struct hello_buf *h = &c->u.hello;
	uint8_t header[PROXY_V2_MAX];
	size_t n = conn_access_header(w, c, r, info, header, sizeof(header));
	uint8_t *p;

	if (n == 0 || (p = realloc(h->data, h->len + n)) == NULL) {
		conn_close(w, c, CLOSE_LIMIT_REACHED);
		return -1;
	}
	/* info may point into the old buffer: not read from here on. */
	memmove(p + n, p, h->len);
	memcpy(p, header, n);
	h->data = p;
	h->len += (uint32_t)n;
	h->cap = h->len;
	h->proxy_len = (uint16_t)n;
	return 0;
}

int
conn_access_route(struct worker *w, struct conn *c, const struct routes_route *r,
    const struct hello_info *info)
{
	if (conn_access_check(w, c, routes_acl(w->img, r->acl_off), r) != 0)
		return -1;
	if (r->send_proxy == ROUTES_PROXY_NONE)
		return 0;
	return conn_access_send_proxy(w, c, r, info);
}
