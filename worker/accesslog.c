/* accesslog.c -- one line per connection when it ends, written through the ring. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "clienthello.h"
#include "log.h"
#include "worker.h"

/* Longest line: addresses, a 255-byte SNI, an ALPN list cut to fit. */
#define ACCESSLOG_LINE_MAX 2048u

static struct accesslog *
accesslog_of(struct worker *w)
{
	return &w->access;
}

static void
accesslog_close_fd(struct accesslog *a)
{
	if (a->fd > STDERR_FILENO)	/* a file opened here, not the inherited stderr */
		close(a->fd);
	a->fd = -1;
}

/*
 * Opens the file a->setting names for appending; the master made it
 * writable for this user. O_NONBLOCK only for the open (a FIFO without a
 * reader would block it): the writes go through the ring, which waits for
 * a blocking file itself.
 */
static int
accesslog_open_file(struct accesslog *a)
{
	struct stat st;
	int fd = log_open_file(a->setting, O_NONBLOCK);

	if (fd < 0) {
		log_error("log.access: cannot open %s: %s%s", a->setting, strerror(-fd),
		    fd == -EACCES && geteuid() != 0 ? " (workers open it as the configured user: "
		    "its directories must let that user through)" : "");
		return fd;
	}
	(void)fcntl(fd, F_SETFL, O_APPEND);
	accesslog_close_fd(a);
	a->fd = fd;
	a->pipe_like = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	return 0;
}

/* The lines in n bytes of buffered log: they are lost, and counted. */
static void
accesslog_lose(struct accesslog *a, const char *buf, uint32_t n)
{
	for (const char *p = buf, *end = buf + n; p < end && (p = memchr(p, '\n',
	    (size_t)(end - p))) != NULL; p++)
		a->dropped++;
}

void
accesslog_configure(struct worker *w)
{
	const struct routes_settings *st = &w->img->settings;
	struct accesslog *a = accesslog_of(w);
	struct stat st_fd;

	if (a->buf[0] != NULL && a->format == st->access_format &&
	    strcmp(a->setting, st->access) == 0)
		return;
	snprintf(a->setting, sizeof(a->setting), "%s", st->access);
	a->format = st->access_format;
	if (a->buf[0] == NULL) {
		a->fd = -1;
		a->buf[0] = malloc(ACCESSLOG_BUF_BYTES);
		a->buf[1] = malloc(ACCESSLOG_BUF_BYTES);
		if (a->buf[0] == NULL || a->buf[1] == NULL) {
			log_error("log.access: out of memory; access log off");
			free(a->buf[0]);
			free(a->buf[1]);
			a->buf[0] = a->buf[1] = NULL;
			a->dest = ACCESS_OFF;
			return;
		}
	}
	/* Lines already buffered go to the new destination (or are dropped when it is off). */
	if (st->access[0] == '\0' || strcmp(st->access, "off") == 0) {
		accesslog_close_fd(a);
		a->dest = ACCESS_OFF;
	} else if (strcmp(st->access, "syslog") == 0) {
		accesslog_close_fd(a);
		log_open_syslog();
		a->dest = ACCESS_SYSLOG;
	} else if (strcmp(st->access, "stderr") == 0) {
		accesslog_close_fd(a);
		a->fd = STDERR_FILENO;
		a->pipe_like = fstat(a->fd, &st_fd) == 0 && !S_ISREG(st_fd.st_mode);
		a->dest = ACCESS_FD;
	} else {
		a->dest = accesslog_open_file(a) == 0 ? ACCESS_FD : ACCESS_OFF;
	}
}

void
accesslog_reopen(struct worker *w)
{
	struct accesslog *a = accesslog_of(w);

	/* A write in flight holds the old file; it finishes there. */
	if (a->dest == ACCESS_FD && a->fd > STDERR_FILENO)
		(void)accesslog_open_file(a);
}

/* The bytes of buf to hand to one write: whole lines, at most PIPE_BUF on a pipe. */
static uint32_t
accesslog_chunk(const struct accesslog *a, const char *buf, uint32_t len)
{
	const char *nl;

	if (!a->pipe_like || len <= PIPE_BUF)
		return len;
	nl = memrchr(buf, '\n', PIPE_BUF);
	return nl != NULL ? (uint32_t)(nl - buf + 1) : PIPE_BUF;
}

/*
 * Writes the rest of buf[!filling] from off; with wait_first, after a poll
 * for POLLOUT (the file said EAGAIN: a non-blocking pipe that is full).
 */
static void
accesslog_submit(struct worker *w, int wait_first)
{
	struct accesslog *a = accesslog_of(w);
	int b = !a->filling;
	struct io_uring_sqe *sqe = worker_sqe(w);

	if (sqe == NULL) {
		/* Stalled: the next flush takes this buffer up again from off. */
		a->in_flight = 0;
		return;
	}
	if (wait_first) {
		io_uring_prep_poll_add(sqe, a->fd, POLLOUT);
		io_uring_sqe_set_data64(sqe, op_tag(a, OP_LOG_POLL));
	} else {
		io_uring_prep_write(sqe, a->fd, a->buf[b] + a->off,
		    accesslog_chunk(a, a->buf[b] + a->off, a->len[b] - a->off), (uint64_t)-1);
		io_uring_sqe_set_data64(sqe, op_tag(a, OP_LOG_WRITE));
	}
	a->in_flight = 1;
}

void
accesslog_flush(struct worker *w)
{
	struct accesslog *a = accesslog_of(w);

	if (a->dest != ACCESS_FD || a->in_flight)
		return;
	if (a->len[!a->filling] > 0) {
		accesslog_submit(w, 0);		/* a stalled buffer goes on where it stopped */
		return;
	}
	if (a->len[a->filling] == 0)
		return;
	a->filling = !a->filling;
	a->off = 0;
	accesslog_submit(w, 0);
}

void
accesslog_on_write(struct worker *w, int res)
{
	struct accesslog *a = accesslog_of(w);
	int b = !a->filling;

	a->in_flight = 0;
	if (a->dest != ACCESS_FD || (res < 0 && res != -EAGAIN && res != -EINTR)) {
		/* The rest of this buffer is lost: count its lines, say so once in a while. */
		static struct log_limit limit;
		uint64_t skipped;

		accesslog_lose(a, a->buf[b] + a->off, a->len[b] - a->off);
		if (res < 0 && a->dest == ACCESS_FD && worker_log_due(w, &limit, &skipped))
			log_error("log.access: write: %s (%llu lines dropped so far)",
			    strerror(-res), (unsigned long long)a->dropped);
		a->len[b] = 0;
		a->off = 0;
		return;
	}
	if (res > 0)
		a->off += (uint32_t)res;
	if (a->off < a->len[b]) {
		accesslog_submit(w, res == -EAGAIN);	/* the rest, or the next PIPE_BUF of it */
		return;
	}
	a->len[b] = 0;
	a->off = 0;
	accesslog_flush(w);
}

void
accesslog_on_poll(struct worker *w)
{
	struct accesslog *a = accesslog_of(w);

	a->in_flight = 0;
	if (a->dest == ACCESS_FD)
		accesslog_submit(w, 0);
	else
		accesslog_on_write(w, -EBADF);
}

int
accesslog_busy(const struct worker *w)
{
	return w->access.in_flight;
}

void
accesslog_close(struct worker *w)
{
	struct accesslog *a = accesslog_of(w);

	/*
	 * At exit, after the ring is gone: write what is left directly. A
	 * buffer whose write never completed may be partly written already:
	 * its lines are counted lost rather than written twice.
	 */
	if (a->in_flight) {
		int b = !a->filling;

		accesslog_lose(a, a->buf[b] + a->off, a->len[b] - a->off);
		a->len[b] = 0;
		a->in_flight = 0;
	}
	if (a->dest == ACCESS_FD) {
		for (int i = 0; i < 2; i++) {
			int b = (a->filling + 1 + i) % 2;	/* the older buffer first */
			uint32_t off = b == !a->filling ? a->off : 0;

			while (off < a->len[b]) {
				ssize_t n = write(a->fd, a->buf[b] + off, accesslog_chunk(a,
				    a->buf[b] + off, a->len[b] - off));

				if (n <= 0)
					break;
				off += (uint32_t)n;
			}
		}
	}
	if (a->dropped > 0)
		log_warn("log.access: %llu lines were dropped (the log could not keep up)",
		    (unsigned long long)a->dropped);
	accesslog_close_fd(a);
	free(a->buf[0]);
	free(a->buf[1]);
	a->buf[0] = a->buf[1] = NULL;
	a->dest = ACCESS_OFF;
}

void
accesslog_accept(struct worker *w, struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (w->access.dest == ACCESS_OFF)
		return;
	c->meta = calloc(1, sizeof(*c->meta));
	if (c->meta != NULL && getpeername(c->cfd, (struct sockaddr *)&ss, &len) == 0)
		addr_from_sockaddr(&c->meta->client, (struct sockaddr *)&ss, len);
}

void
accesslog_hello(struct worker *w, struct conn *c, const struct hello_info *info)
{
	char alpn[ACCESSLOG_LINE_MAX / 4];
	struct access_meta *m;
	size_t alen;

	if (c->meta == NULL || w->access.dest == ACCESS_OFF)
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

/* Appends "text" with JSON escapes (the ALPN names are the client's bytes). */
static size_t
accesslog_json_string(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 7 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			n += (size_t)snprintf(out + n, size - n, "\\%c", ch);
		else if (ch < 0x20)
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", ch);
		else
			out[n++] = (char)ch;
	}
	out[n] = '\0';
	return n;
}

/* The ALPN list as a JSON array: ["h2","http/1.1"]. */
static void
accesslog_json_alpn(char *out, size_t size, const char *list)
{
	char name[ACCESSLOG_LINE_MAX / 4];
	size_t n = 0;
	const char *p = list, *comma;

	n += (size_t)snprintf(out + n, size - n, "[");
	while (*p != '\0' && n < size) {
		size_t len;

		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, p, len);
		name[len] = '\0';
		n += (size_t)snprintf(out + n, size - n, "%s\"", p != list ? "," : "");
		if (n < size)
			n += accesslog_json_string(out + n, size - n, name);
		if (n < size)
			n += (size_t)snprintf(out + n, size - n, "\"");
		p = comma != NULL ? comma + 1 : p + len;
	}
	if (n < size)
		snprintf(out + n, size - n, "]");
}

static int
accesslog_format(struct worker *w, const struct conn *c, char *line, size_t size)
{
	struct accesslog *a = accesslog_of(w);
	const struct access_meta *m = c->meta;
	char client[ADDR_STRLEN], listen[ADDR_STRLEN], when[40], connect[24];
	char alpn[ACCESSLOG_LINE_MAX / 2];
	const char *sni = m != NULL && m->sni_len > 0 ? m->text : NULL;
	const char *alpn_list = m != NULL && m->alpn_len > 0 ? m->text + m->sni_len + 1 : NULL;
	const char *route = c->flags & CONN_ROUTED ? w->stats->routes[c->route_sid].pattern : NULL;
	const char *backend = c->tries > 0 ? w->stats->backends[c->backend_sid].addr
	    : NULL;
	uint64_t in = c->state == CONN_RELAY ? c->u.dir[0].bytes : 0;
	uint64_t out = c->state == CONN_RELAY ? c->u.dir[1].bytes : 0;
	struct timespec ts;
	struct tm tm;
	int json = a->format == ACCESS_JSON;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != a->second) {	/* the date and time of day change once a second */
		a->second = ts.tv_sec;
		gmtime_r(&ts.tv_sec, &tm);
		strftime(a->second_text, sizeof(a->second_text), "%Y-%m-%dT%H:%M:%S", &tm);
	}
	snprintf(when, sizeof(when), "%s.%03ldZ", a->second_text, ts.tv_nsec / 1000000);
	if (m != NULL)
		addr_format(&m->client, client, sizeof(client));
	else
		snprintf(client, sizeof(client), "-");
	addr_format(&w->listeners[c->listener].addr, listen, sizeof(listen));
	if (c->flags & CONN_CONNECTED)
		snprintf(connect, sizeof(connect), "%u.%03u", c->connect_us / 1000,
		    c->connect_us % 1000);
	else
		snprintf(connect, sizeof(connect), json ? "null" : "-");
	if (!json)
		return snprintf(line, size, "%s client=%s listen=%s sni=%s alpn=%s route=%s "
		    "backend=%s bytes_in=%llu bytes_out=%llu connect_ms=%s duration_ms=%llu "
		    "reason=%s\n", when, client, listen, sni ? sni : "-",
		    alpn_list ? alpn_list : "-", route ? route : "-", backend ? backend : "-",
		    (unsigned long long)in, (unsigned long long)out, connect,
		    (unsigned long long)(w->now - c->accepted_ms),
		    close_reason_str((enum close_reason)c->reason));
	if (alpn_list != NULL)
		accesslog_json_alpn(alpn, sizeof(alpn), alpn_list);
	else
		snprintf(alpn, sizeof(alpn), "[]");
	/* sni, route and backend hold no byte that needs escaping: checked on the way in. */
	return snprintf(line, size, "{\"time\":\"%s\",\"client\":\"%s\",\"listen\":\"%s\","
	    "\"sni\":%s%s%s,\"alpn\":%s,\"route\":%s%s%s,\"backend\":%s%s%s,"
	    "\"bytes_in\":%llu,\"bytes_out\":%llu,\"connect_ms\":%s,\"duration_ms\":%llu,"
	    "\"reason\":\"%s\"}\n", when, client, listen,
	    sni ? "\"" : "", sni ? sni : "null", sni ? "\"" : "", alpn,
	    route ? "\"" : "", route ? route : "null", route ? "\"" : "",
	    backend ? "\"" : "", backend ? backend : "null", backend ? "\"" : "",
	    (unsigned long long)in, (unsigned long long)out, connect,
	    (unsigned long long)(w->now - c->accepted_ms),
	    close_reason_str((enum close_reason)c->reason));
}

static void
accesslog_drop_report(struct worker *w)
{
	static struct log_limit limit;
	uint64_t skipped;

	if (worker_log_due(w, &limit, &skipped))
		log_warn("log.access: %llu lines dropped so far: the log cannot keep up",
		    (unsigned long long)w->access.dropped);
}

void
accesslog_conn(struct worker *w, const struct conn *c)
{
	struct accesslog *a = accesslog_of(w);
	char line[ACCESSLOG_LINE_MAX];
	int n;

	if (a->dest == ACCESS_OFF)
		return;
	n = accesslog_format(w, c, line, sizeof(line));
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (a->dest == ACCESS_SYSLOG) {
		syslog(LOG_INFO, "%.*s", n - 1, line);
		return;
	}
	if (a->len[a->filling] + (uint32_t)n > ACCESSLOG_BUF_BYTES) {
		/*
		 * This buffer is full: hand it to the ring. Still full when the
		 * other one is being written, or no submission entry was free.
		 */
		accesslog_flush(w);
		if (a->len[a->filling] + (uint32_t)n > ACCESSLOG_BUF_BYTES) {
			a->dropped++;
			accesslog_drop_report(w);
			return;
		}
	}
	memcpy(a->buf[a->filling] + a->len[a->filling], line, (size_t)n);
	a->len[a->filling] += (uint32_t)n;
}
