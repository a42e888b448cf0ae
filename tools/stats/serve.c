/*
 * serve.c -- passthrough-stats --serve: GET /metrics over HTTP/1.1 with a
 * fresh snapshot per request. Each client goes READ -> WRITE -> LINGER
 * (drain what it still sends, so our close is a FIN and not an RST that
 * could destroy the response in flight) -> closed, each step under a
 * deadline.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "render.h"
#include "serve.h"
#include "sock.h"
#include "stats_tool.h"
#include "tunables.h"

#define SERVE_HTTP_DATE_LEN	40	/* "Sun, 06 Nov 1994 08:49:37 GMT" and room */
#define SERVE_ERROR_BODY_LEN	64	/* "431 Request Header Fields Too Large\n" and room */
#define SERVE_LOGGED_LINE_MAX	100	/* of a refused request line: enough to see what it was */
#define SERVE_ASCII_DEL		0x7f	/* the first byte past printable ASCII */
#define SERVE_ACCEPT_PAUSE_MS	100u	/* out of descriptors: let some close first */
#define SERVE_NO_DEADLINE	UINT64_MAX

#define SERVE_TYPE_METRICS	"text/plain; version=0.0.4; charset=utf-8"
#define SERVE_TYPE_TEXT		"text/plain; charset=utf-8"
#define SERVE_TYPE_HTML		"text/html; charset=utf-8"

/* RFC 9110 5.6.2 tchar: what a method may be made of, besides letters and digits. */
#define SERVE_TCHAR_PUNCT	"!#$%&'*+-.^_`|~"

static const char serve_index_html[] =
	"<!DOCTYPE html>\n"
	"<html><head><title>passthrough-stats</title></head>\n"
	"<body><h1>passthrough-stats</h1>\n"
	"<p>Statistics of a running passthrough TLS proxy.</p>\n"
	"<p><a href=\"/metrics\">/metrics</a>: Prometheus text format 0.0.4.</p>\n"
	"</body></html>\n";

enum serve_state {
	SERVE_FREE,
	SERVE_READ,		/* the request head is arriving */
	SERVE_WRITE,		/* the response is leaving */
	SERVE_LINGER,		/* sent and shut down; draining until the client closes */
};

struct serve_client {
	enum serve_state state;
	int fd;
	uint64_t deadline_ms;		/* monotonic; the state's bound */
	char peer[ADDR_STRLEN];
	size_t len;			/* of req */
	char req[SERVE_REQUEST_MAX];
	struct textbuf resp;
	size_t sent;
};

struct serve {
	int listen_fd;
	struct segment *seg;
	uint64_t accept_paused_until;	/* monotonic ms */
	struct textbuf body;		/* scratch: the body before its headers */
	struct serve_client clients[SERVE_CLIENTS_MAX];
	struct pollfd pfds[1 + SERVE_CLIENTS_MAX];
	struct serve_client *polled[1 + SERVE_CLIENTS_MAX];	/* NULL: the listener */
};

static volatile sig_atomic_t serve_stop;

static uint64_t
serve_now_ms(void)
{
	return clock_read_ns(CLOCK_MONOTONIC) / NS_PER_MS;
}

static void serve_log(const struct serve_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line per error, naming the client. */
static void
serve_log(const struct serve_client *c, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "passthrough-stats: serve: %s: %s\n", c != NULL ? c->peer : "-", msg);
}

/* --- the request --- */

static int
serve_is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    (ch != '\0' && strchr(SERVE_TCHAR_PUNCT, ch) != NULL);
}

/* A line of head at *pos without its CRLF or LF; advances *pos past it. 0 at the end. */
static int
serve_next_line(const char *head, size_t len, size_t *pos, const char **line, size_t *line_len)
{
	const char *start = head + *pos, *nl = memchr(start, '\n', len - *pos);

	if (nl == NULL)
		return 0;
	*line = start;
	*line_len = (size_t)(nl - start);
	if (*line_len > 0 && start[*line_len - 1] == '\r')
		(*line_len)--;
	*pos = (size_t)(nl - head) + 1;
	return 1;
}

/* The path of an origin-form or absolute-form target, without its query; NULL if neither. */
static const char *
serve_target_path(const char *target, size_t len, size_t *path_len)
{
	static const char *const schemes[] = { "http://", "https://" };
	const char *end = target + len, *p = target;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);

		if (len > n && strncasecmp(target, schemes[i], n) == 0) {
			p = memchr(target + n, '/', len - n);
			if (p == NULL) {
				*path_len = 1;	/* "http://host" asks for "/" */
				return "/";
			}
		}
	}
	if (*p != '/')
		return NULL;
	for (*path_len = 0; p + *path_len < end && p[*path_len] != '?' && p[*path_len] != '#';
	    (*path_len)++)
		;
	return p;
}

/* request-line = method SP request-target SP HTTP-version. */
static enum serve_status
serve_parse_request_line(const char *line, size_t len, struct serve_request *req,
    const char **target, size_t *target_len)
{
	const char *sp1 = memchr(line, ' ', len), *sp2, *version;
	size_t method_len, version_len;

	if (sp1 == NULL || sp1 == line)
		return SERVE_BAD_REQUEST;
	method_len = (size_t)(sp1 - line);
	for (size_t i = 0; i < method_len; i++)
		if (!serve_is_tchar(line[i]))
			return SERVE_BAD_REQUEST;
	sp2 = memchr(sp1 + 1, ' ', len - method_len - 1);
	if (sp2 == NULL || sp2 == sp1 + 1)
		return SERVE_BAD_REQUEST;
	*target = sp1 + 1;
	*target_len = (size_t)(sp2 - *target);
	for (size_t i = 0; i < *target_len; i++)
		if ((unsigned char)(*target)[i] <= ' ')
			return SERVE_BAD_REQUEST;
	version = sp2 + 1;
	version_len = (size_t)(line + len - version);
	if (version_len != strlen("HTTP/1.1") || (memcmp(version, "HTTP/1.1", version_len) != 0 &&
	    memcmp(version, "HTTP/1.0", version_len) != 0))
		return SERVE_BAD_REQUEST;
	if (method_len == strlen("GET") && memcmp(line, "GET", method_len) == 0)
		req->head_only = 0;
	else if (method_len == strlen("HEAD") && memcmp(line, "HEAD", method_len) == 0)
		req->head_only = 1;
	else
		return SERVE_BAD_METHOD;
	return SERVE_OK;
}

/* Header fields: "name: value" each, no obsolete line folding. */
static enum serve_status
serve_parse_fields(const char *head, size_t len, size_t pos)
{
	const char *line, *colon;
	size_t line_len;

	while (serve_next_line(head, len, &pos, &line, &line_len) && line_len > 0) {
		colon = memchr(line, ':', line_len);
		if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
			return SERVE_BAD_REQUEST;
		for (const char *p = line; p < colon; p++)
			if (!serve_is_tchar(*p))
				return SERVE_BAD_REQUEST;
	}
	return SERVE_OK;
}

enum serve_status
serve_parse(const char *head, size_t len, struct serve_request *req)
{
	const char *line, *target, *path;
	size_t pos = 0, line_len, target_len, path_len;
	enum serve_status st;

	memset(req, 0, sizeof(*req));
	if (memchr(head, '\0', len) != NULL || !serve_next_line(head, len, &pos, &line, &line_len))
		return SERVE_BAD_REQUEST;
	st = serve_parse_request_line(line, line_len, req, &target, &target_len);
	if (st == SERVE_OK || st == SERVE_BAD_METHOD) {
		enum serve_status fields = serve_parse_fields(head, len, pos);

		if (fields != SERVE_OK)
			return fields;
	}
	if (st != SERVE_OK)
		return st;
	path = serve_target_path(target, target_len, &path_len);
	if (path == NULL)
		return SERVE_BAD_REQUEST;
	if (path_len == strlen("/metrics") && memcmp(path, "/metrics", path_len) == 0)
		req->target = SERVE_TARGET_METRICS;
	else if (path_len == 1)
		req->target = SERVE_TARGET_INDEX;
	else
		return SERVE_NOT_FOUND;
	return SERVE_OK;
}

/* The end of the head in c->req (the byte after its blank line), or 0 while incomplete. */
static size_t
serve_head_end(const struct serve_client *c)
{
	const char *crlf = memmem(c->req, c->len, "\r\n\r\n", strlen("\r\n\r\n"));
	const char *lf = memmem(c->req, c->len, "\n\n", strlen("\n\n"));

	if (crlf != NULL && (lf == NULL || crlf < lf))
		return (size_t)(crlf - c->req) + strlen("\r\n\r\n");
	if (lf != NULL)
		return (size_t)(lf - c->req) + strlen("\n\n");
	return 0;
}

/* --- the response --- */

static const char *
serve_reason(enum serve_status st)
{
	switch (st) {
	case SERVE_OK:			return "OK";
	case SERVE_BAD_REQUEST:		return "Bad Request";
	case SERVE_NOT_FOUND:		return "Not Found";
	case SERVE_BAD_METHOD:		return "Method Not Allowed";
	case SERVE_TIMEOUT:		return "Request Timeout";
	case SERVE_TOO_LARGE:		return "Request Header Fields Too Large";
	case SERVE_INTERNAL:		return "Internal Server Error";
	case SERVE_UNAVAILABLE:		return "Service Unavailable";
	}
	return "Error";
}

static void
serve_client_close(struct serve_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	textbuf_free(&c->resp);
	c->fd = -1;
	c->state = SERVE_FREE;
}

/* Sends what is left of the response; then shuts down and lingers. */
static void
serve_client_write(struct serve_client *c)
{
	while (c->sent < c->resp.len) {
		ssize_t n = send(c->fd, c->resp.data + c->sent, c->resp.len - c->sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			serve_log(c, "sending the response: %s", strerror(errno));
			serve_client_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = SERVE_LINGER;
	c->deadline_ms = serve_now_ms() + SERVE_LINGER_MS;
}

/* Starts sending status with body; HEAD gets the same headers and no body. */
static void
serve_respond(struct serve_client *c, enum serve_status st, const char *type, const char *body,
    size_t body_len, int head_only)
{
	char date[SERVE_HTTP_DATE_LEN];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	textbuf_reset(&c->resp);
	textbuf_printf(&c->resp, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: passthrough-stats/%s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n%s"
	    "Connection: close\r\n\r\n", (int)st, serve_reason(st), date, PASSTHROUGH_VERSION,
	    type, body_len, st == SERVE_BAD_METHOD ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only)
		textbuf_append(&c->resp, body, body_len);
	if (textbuf_text(&c->resp) == NULL) {
		serve_log(c, "out of memory for a response of %zu bytes", body_len);
		serve_client_close(c);
		return;
	}
	c->sent = 0;
	c->state = SERVE_WRITE;
	c->deadline_ms = serve_now_ms() + SERVE_WRITE_MS;
	serve_client_write(c);
}

/* An error answer: "404 Not Found\n" as the body. */
static void
serve_refuse(struct serve_client *c, enum serve_status st, int head_only)
{
	char body[SERVE_ERROR_BODY_LEN];
	int n = snprintf(body, sizeof(body), "%d %s\n", (int)st, serve_reason(st));

	serve_respond(c, st, SERVE_TYPE_TEXT, body, (size_t)n, head_only);
}

/* The Prometheus text of a fresh snapshot, into s->body. SERVE_OK or an error status. */
static enum serve_status
serve_metrics(struct serve *s, struct serve_client *c)
{
	struct snapshot snap;
	const char *why;
	int rc = segment_refresh(s->seg, &why);

	if (rc == 0)
		rc = snapshot_take(&snap, s->seg);
	if (rc != 0) {
		serve_log(c, "%s: %s", s->seg->name, why != NULL ? why : rc == -ENOENT ?
		    "no statistics segment (is passthrough running?)" : strerror(-rc));
		return rc == -ENOMEM ? SERVE_INTERNAL : SERVE_UNAVAILABLE;
	}
	textbuf_reset(&s->body);
	render_prom(&s->body, &snap);
	snapshot_free(&snap);
	if (textbuf_text(&s->body) == NULL) {
		serve_log(c, "out of memory rendering the metrics");
		return SERVE_INTERNAL;
	}
	return SERVE_OK;
}

/* The head of c->req is complete (head_len bytes): answer it. */
static void
serve_answer(struct serve *s, struct serve_client *c, size_t head_len)
{
	struct serve_request req;
	enum serve_status st = serve_parse(c->req, head_len, &req);
	char line[SERVE_LOGGED_LINE_MAX + 1];
	size_t n;

	if (st != SERVE_OK) {
		/* The request line as logged: printable ASCII only, no terminal escapes. */
		for (n = 0; n < head_len && n < SERVE_LOGGED_LINE_MAX && c->req[n] != '\r' &&
		    c->req[n] != '\n'; n++)
			line[n] = c->req[n] >= ' ' && c->req[n] < SERVE_ASCII_DEL ? c->req[n] : '?';
		line[n] = '\0';
		serve_log(c, "%d %s: \"%s\"%s", (int)st, serve_reason(st), line,
		    n == SERVE_LOGGED_LINE_MAX ? " (cut)" : "");
		serve_refuse(c, st, req.head_only);
		return;
	}
	if (req.target == SERVE_TARGET_INDEX) {
		serve_respond(c, SERVE_OK, SERVE_TYPE_HTML, serve_index_html,
		    strlen(serve_index_html), req.head_only);
		return;
	}
	st = serve_metrics(s, c);
	if (st != SERVE_OK)
		serve_refuse(c, st, req.head_only);
	else
		serve_respond(c, SERVE_OK, SERVE_TYPE_METRICS, s->body.data, s->body.len,
		    req.head_only);
}

/* --- the clients --- */

static void
serve_client_read(struct serve *s, struct serve_client *c)
{
	for (;;) {
		size_t end = serve_head_end(c);
		ssize_t n;

		if (end > 0) {
			serve_answer(s, c, end);
			return;
		}
		if (c->len == sizeof(c->req)) {
			serve_log(c, "request head over %zu bytes", sizeof(c->req));
			serve_refuse(c, SERVE_TOO_LARGE, 0);
			return;
		}
		n = recv(c->fd, c->req + c->len, sizeof(c->req) - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
			serve_log(c, "reading the request: %s", strerror(errno));
		else if (c->len > 0)	/* a port probe that sends nothing is no error */
			serve_log(c, "closed before the request was complete");
		serve_client_close(c);
		return;
	}
}

/*
 * Discards what the client still sends, a few reads per wakeup so a client
 * that keeps sending cannot hold the loop; closes at its EOF (or at the
 * linger deadline).
 */
static void
serve_client_linger(struct serve_client *c)
{
	char sink[SERVE_READ_CHUNK];

	for (int i = 0; i < 4; i++) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		serve_client_close(c);
		return;
	}
}

static void
serve_client_expire(struct serve_client *c)
{
	switch (c->state) {
	case SERVE_READ:
		serve_log(c, "no complete request within %u ms", SERVE_REQUEST_MS);
		serve_refuse(c, SERVE_TIMEOUT, 0);
		break;
	case SERVE_WRITE:
		serve_log(c, "response not taken within %u ms (%zu of %zu bytes sent)",
		    SERVE_WRITE_MS, c->sent, c->resp.len);
		serve_client_close(c);
		break;
	case SERVE_LINGER:
	case SERVE_FREE:
		serve_client_close(c);
		break;
	}
}

static struct serve_client *
serve_free_client(struct serve *s)
{
	for (size_t i = 0; i < SERVE_CLIENTS_MAX; i++)
		if (s->clients[i].state == SERVE_FREE)
			return &s->clients[i];
	return NULL;
}

/* Accepts while there are free slots and waiting connections. */
static void
serve_accept(struct serve *s)
{
	struct serve_client *c;
	struct sockaddr_storage ss;
	socklen_t len;
	struct addr peer;
	int fd;

	while ((c = serve_free_client(s)) != NULL) {
		len = sizeof(ss);
		fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (fd < 0) {
			serve_log(NULL, "accept: %s", strerror(errno));
			s->accept_paused_until = serve_now_ms() + SERVE_ACCEPT_PAUSE_MS;
			return;
		}
		memset(c, 0, offsetof(struct serve_client, req));
		textbuf_init(&c->resp);
		c->fd = fd;
		c->state = SERVE_READ;
		c->deadline_ms = serve_now_ms() + SERVE_REQUEST_MS;
		addr_from_sockaddr(&peer, (struct sockaddr *)&ss, len);
		addr_format(&peer, c->peer, sizeof(c->peer));
		serve_client_read(s, c);	/* TCP_DEFER_ACCEPT-like: it often came already */
	}
}

/* Fills s->pfds; the poll timeout in ms (-1: none). */
static int
serve_poll_set(struct serve *s, nfds_t *nfds)
{
	uint64_t now = serve_now_ms(), next = SERVE_NO_DEADLINE;
	nfds_t n = 0;

	if (serve_free_client(s) != NULL) {
		if (now >= s->accept_paused_until) {
			s->pfds[n] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
			s->polled[n++] = NULL;
		} else {
			next = s->accept_paused_until;
		}
	}
	for (size_t i = 0; i < SERVE_CLIENTS_MAX; i++) {
		struct serve_client *c = &s->clients[i];

		if (c->state == SERVE_FREE)
			continue;
		s->pfds[n] = (struct pollfd){ .fd = c->fd,
		    .events = c->state == SERVE_WRITE ? POLLOUT : POLLIN };
		s->polled[n++] = c;
		if (c->deadline_ms < next)
			next = c->deadline_ms;
	}
	*nfds = n;
	if (next == SERVE_NO_DEADLINE)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

static void
serve_dispatch(struct serve *s, nfds_t nfds)
{
	uint64_t now;

	for (nfds_t i = 0; i < nfds; i++) {
		struct serve_client *c = s->polled[i];

		if (s->pfds[i].revents == 0)
			continue;
		if (c == NULL)
			serve_accept(s);
		else if (c->state == SERVE_READ)
			serve_client_read(s, c);
		else if (c->state == SERVE_WRITE)
			serve_client_write(c);
		else if (c->state == SERVE_LINGER)
			serve_client_linger(c);
	}
	now = serve_now_ms();
	for (size_t i = 0; i < SERVE_CLIENTS_MAX; i++)
		if (s->clients[i].state != SERVE_FREE && s->clients[i].deadline_ms <= now)
			serve_client_expire(&s->clients[i]);
}

static void
serve_on_signal(int sig)
{
	(void)sig;
	serve_stop = 1;
}

/*
 * SIGINT and SIGTERM stay blocked except inside ppoll (waitmask), so one
 * that comes between the serve_stop check and the wait is not lost.
 */
static void
serve_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = serve_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
}

int
serve_loop(int listen_fd, struct segment *seg)
{
	struct serve *s = calloc(1, sizeof(*s));
	int rc = TOOL_EXIT_OK;
	sigset_t waitmask;

	if (s == NULL) {
		serve_log(NULL, "out of memory");
		return TOOL_EXIT_FAIL;
	}
	s->listen_fd = listen_fd;
	s->seg = seg;
	textbuf_init(&s->body);
	for (size_t i = 0; i < SERVE_CLIENTS_MAX; i++)
		s->clients[i].fd = -1;
	serve_signals(&waitmask);
	while (!serve_stop) {
		nfds_t nfds;
		int timeout = serve_poll_set(s, &nfds);
		struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000 };

		if (ppoll(s->pfds, nfds, timeout < 0 ? NULL : &ts, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			serve_log(NULL, "poll: %s", strerror(errno));
			rc = TOOL_EXIT_FAIL;
			break;
		}
		serve_dispatch(s, nfds);
	}
	for (size_t i = 0; i < SERVE_CLIENTS_MAX; i++)
		if (s->clients[i].state != SERVE_FREE)
			serve_client_close(&s->clients[i]);
	textbuf_free(&s->body);
	free(s);
	return rc;
}

int
serve_listen(const struct addr *a)
{
	return sock_listen_plain(a, SERVE_BACKLOG);
}

int
serve_run(struct segment *seg, const char *addr_text)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char shown[ADDR_STRLEN];
	const char *why;
	struct addr a;
	int fd, rc;

	if (addr_parse(&a, addr_text, ADDR_WILDCARD, &why) != 0) {
		fprintf(stderr, "passthrough-stats: --serve \"%s\": %s\n", addr_text, why);
		return TOOL_EXIT_USAGE;
	}
	fd = serve_listen(&a);
	if (fd < 0) {
		fprintf(stderr, "passthrough-stats: --serve %s: %s\n", addr_text, strerror(-fd));
		return TOOL_EXIT_FAIL;
	}
	/* The port the kernel chose for ":0". */
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_from_sockaddr(&a, (struct sockaddr *)&ss, len);
	fprintf(stderr, "passthrough-stats: serving %s on http://%s/metrics\n", seg->name,
	    addr_format(&a, shown, sizeof(shown)));
	rc = serve_loop(fd, seg);
	close(fd);
	return rc;
}
