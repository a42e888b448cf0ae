/* accesslog.c -- one line per connection when it ends, written through the event engine. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "token.h"
#include "tunables.h"

/* 1 when a repeating line may be said now. */
static int
accesslog_log_due(struct log_limit *l, uint64_t *skipped)
{
	return log_limit_due(l, clock_ms(), LOG_REPEAT_MS, skipped);
}

/* Writes go to fd (a file, stderr, or -1: held until the master sends the file). */
static void
accesslog_use(struct accesslog *a, int fd)
{
	struct stat st;

	a->fd = fd;
	a->pipe_like = fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
}

/*
 * Takes the file the master sent last, once no write is in flight or
 * waiting on the old one: a write the ring holds (submitted or not) never
 * sees its fd closed under it, and a buffer goes whole to one file.
 */
static void
accesslog_swap(struct accesslog *a)
{
	if (!a->swap_due || a->in_flight)
		return;
	if (a->file >= 0)
		close(a->file);
	a->file = a->next;
	a->next = -1;
	a->swap_due = 0;
	if (a->to_file)
		accesslog_use(a, a->file);
}

void
accesslog_init(struct accesslog *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = a->file = a->next = -1;
}

void
accesslog_adopt(struct accesslog *a, int fd)
{
	if (a->swap_due && a->next >= 0)
		close(a->next);
	a->next = fd;
	a->swap_due = 1;
	accesslog_swap(a);
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
accesslog_configure(struct accesslog *a, struct engine *e, const char *access,
    uint32_t format)
{
	if (a->buf[0] != NULL && a->format == format && strcmp(a->setting, access) == 0)
		return;
	snprintf(a->setting, sizeof(a->setting), "%s", access);
	a->format = format;
	a->engine = e;
	if (a->buf[0] == NULL) {
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
	/*
	 * Lines already buffered go to the new destination (or are dropped
	 * when it is off). A file is the one the master sent (accesslog_adopt):
	 * it may be the old path's until the new one comes, a moment later.
	 */
	a->to_file = 0;
	if (access[0] == '\0' || strcmp(access, "off") == 0) {
		accesslog_use(a, -1);
		a->dest = ACCESS_OFF;
	} else if (strcmp(access, "syslog") == 0) {
		accesslog_use(a, -1);
		log_open_syslog();
		a->dest = ACCESS_SYSLOG;
	} else if (strcmp(access, "stderr") == 0) {
		accesslog_use(a, STDERR_FILENO);
		a->dest = ACCESS_FD;
	} else {
		a->to_file = 1;
		accesslog_use(a, a->file);
		a->dest = ACCESS_FD;
	}
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
accesslog_submit(struct accesslog *a, int wait_first)
{
	int b = !a->filling;
	const char *from = a->buf[b] + a->off;
	int rc;

	if (wait_first)
		rc = engine_log_wait(a->engine, a, a->fd);
	else
		rc = engine_log_write(a->engine, a, a->fd, from,
		    accesslog_chunk(a, from, a->len[b] - a->off));
	/* Stalled when the engine had no room: the next flush takes this buffer up again from off. */
	a->in_flight = rc == 0;
}

void
accesslog_flush(struct accesslog *a)
{
	accesslog_swap(a);
	/* No file yet (the master's is on its way): the lines wait in the buffers. */
	if (a->dest != ACCESS_FD || a->in_flight || a->fd < 0)
		return;
	if (a->len[!a->filling] > 0) {
		accesslog_submit(a, 0);		/* a stalled buffer goes on where it stopped */
		return;
	}
	if (a->len[a->filling] == 0)
		return;
	a->filling = !a->filling;
	a->off = 0;
	accesslog_submit(a, 0);
}

void
accesslog_on_write(struct accesslog *a, int res)
{
	int b = !a->filling;

	a->in_flight = 0;
	if (a->dest != ACCESS_FD || (res < 0 && res != -EAGAIN && res != -EINTR)) {
		/* The rest of this buffer is lost: count its lines, say so once in a while. */
		static struct log_limit limit;
		uint64_t skipped;

		accesslog_lose(a, a->buf[b] + a->off, a->len[b] - a->off);
		if (res < 0 && a->dest == ACCESS_FD && accesslog_log_due(&limit, &skipped))
			log_error("log.access: write: %s (%llu lines dropped so far)",
			    strerror(-res), (unsigned long long)a->dropped);
		a->len[b] = 0;
		a->off = 0;
		return;
	}
	if (res > 0)
		a->off += (uint32_t)res;
	if (a->off < a->len[b]) {
		accesslog_submit(a, res == -EAGAIN);	/* the rest, or the next PIPE_BUF of it */
		return;
	}
	a->len[b] = 0;
	a->off = 0;
	accesslog_flush(a);
}

void
accesslog_on_writable(struct accesslog *a)
{
	a->in_flight = 0;
	if (a->dest == ACCESS_FD)
		accesslog_submit(a, 0);
	else
		accesslog_on_write(a, -EBADF);
}

int
accesslog_busy(const struct accesslog *a)
{
	return a->in_flight;
}

/*
 * At exit: writes buf[b] from off directly, waiting for a full pipe until
 * deadline (ms) at most; what is not written by then is counted lost.
 * The fd stays non-blocking (the master opened it so), so a reader that
 * stopped reading costs lines, never the worker's exit.
 */
static void
accesslog_write_rest(struct accesslog *a, int b, uint32_t off, uint64_t deadline)
{
	struct pollfd pfd = { .fd = a->fd, .events = POLLOUT };
	uint64_t now;
	ssize_t n;

	while (off < a->len[b]) {
		n = write(a->fd, a->buf[b] + off, accesslog_chunk(a, a->buf[b] + off,
		    a->len[b] - off));
		if (n > 0) {
			off += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && (now = clock_ms()) < deadline &&
		    poll(&pfd, 1, (int)(deadline - now)) >= 0)
			continue;
		accesslog_lose(a, a->buf[b] + off, a->len[b] - off);
		break;
	}
	a->len[b] = 0;
}

void
accesslog_close(struct accesslog *a)
{
	uint64_t deadline = clock_ms() + ACCESSLOG_EXIT_MS;

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
	accesslog_swap(a);
	if (a->dest == ACCESS_FD && a->fd >= 0) {
		for (int i = 0; i < 2; i++) {
			int b = (a->filling + 1 + i) % 2;	/* the older buffer first */

			accesslog_write_rest(a, b, b == !a->filling ? a->off : 0, deadline);
		}
	}
	if (a->dropped > 0)
		log_warn("log.access: %llu lines were dropped (the log could not keep up)",
		    (unsigned long long)a->dropped);
	if (a->file >= 0)
		close(a->file);
	if (a->next >= 0)
		close(a->next);
	a->fd = a->file = a->next = -1;
	free(a->buf[0]);
	free(a->buf[1]);
	a->buf[0] = a->buf[1] = NULL;
	a->dest = ACCESS_OFF;
}

/*
 * Appends "text" with JSON escapes (the ALPN names are the client's bytes):
 * a byte outside printable ASCII becomes \u00XX, so the line is valid JSON
 * (UTF-8) whatever the client sent.
 */
static size_t
accesslog_json_string(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 7 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			n += (size_t)snprintf(out + n, size - n, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)	/* a stray byte stays valid JSON */
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

/* The time of the line: "2026-11-26T12:00:00.123Z"; the date part changes once a second. */
static void
accesslog_when(struct accesslog *a, char *when, size_t size)
{
	uint64_t ms = clock_wall_ms();
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (sec != a->second) {
		a->second = sec;
		gmtime_r(&sec, &tm);
		strftime(a->second_text, sizeof(a->second_text), "%Y-%m-%dT%H:%M:%S", &tm);
	}
	snprintf(when, size, "%s.%03uZ", a->second_text, (unsigned)(ms % 1000));
}

static int
accesslog_format(struct accesslog *a, const struct access_record *r, char *line, size_t size)
{
	char client[ADDR_STRLEN], listen[ADDR_STRLEN], when[40], connect[24];
	char alpn[ACCESSLOG_LINE_MAX / 2], sni_text[ACCESSLOG_SNI_MAX];
	const char *sni = r->sni, *route = r->route, *backend = r->backend;
	int json = a->format == ACCESS_JSON;

	accesslog_when(a, when, sizeof(when));
	if (r->client != NULL)
		addr_format(r->client, client, sizeof(client));
	else
		snprintf(client, sizeof(client), "-");
	addr_format(r->listen, listen, sizeof(listen));
	if (r->connected)
		snprintf(connect, sizeof(connect), "%u.%03u", r->connect_us / 1000,
		    r->connect_us % 1000);
	else
		snprintf(connect, sizeof(connect), json ? "null" : "-");
	if (!json) {
		/* What the client sent is one token each: it cannot forge a field. */
		if (sni != NULL && token_escape(sni_text, sizeof(sni_text), sni, NULL) > 0)
			sni = sni_text;
		else
			sni = NULL;
		if (r->alpn == NULL || token_escape(alpn, sizeof(alpn), r->alpn, ",") == 0)
			snprintf(alpn, sizeof(alpn), "-");
		return snprintf(line, size, "%s client=%s listen=%s sni=%s alpn=%s route=%s "
		    "backend=%s bytes_in=%llu bytes_out=%llu connect_ms=%s duration_ms=%llu "
		    "reason=%s\n", when, client, listen, sni ? sni : "-",
		    alpn, route ? route : "-", backend ? backend : "-",
		    (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out, connect,
		    (unsigned long long)r->duration_ms, close_reason_str(r->reason));
	}
	if (r->alpn != NULL)
		accesslog_json_alpn(alpn, sizeof(alpn), r->alpn);
	else
		snprintf(alpn, sizeof(alpn), "[]");
	if (sni != NULL) {
		accesslog_json_string(sni_text, sizeof(sni_text), sni);
		sni = sni_text;
	}
	/* route and backend hold no byte that needs escaping: checked on the way in. */
	return snprintf(line, size, "{\"time\":\"%s\",\"client\":\"%s\",\"listen\":\"%s\","
	    "\"sni\":%s%s%s,\"alpn\":%s,\"route\":%s%s%s,\"backend\":%s%s%s,"
	    "\"bytes_in\":%llu,\"bytes_out\":%llu,\"connect_ms\":%s,\"duration_ms\":%llu,"
	    "\"reason\":\"%s\"}\n", when, client, listen,
	    sni ? "\"" : "", sni ? sni : "null", sni ? "\"" : "", alpn,
	    route ? "\"" : "", route ? route : "null", route ? "\"" : "",
	    backend ? "\"" : "", backend ? backend : "null", backend ? "\"" : "",
	    (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out, connect,
	    (unsigned long long)r->duration_ms, close_reason_str(r->reason));
}

static void
accesslog_drop_report(const struct accesslog *a)
{
	static struct log_limit limit;
	uint64_t skipped;

	if (accesslog_log_due(&limit, &skipped))
		log_warn("log.access: %llu lines dropped so far: the log cannot keep up",
		    (unsigned long long)a->dropped);
}

void
accesslog_add(struct accesslog *a, const struct access_record *r)
{
	char line[ACCESSLOG_LINE_MAX];
	int n;

	if (a->dest == ACCESS_OFF)
		return;
	n = accesslog_format(a, r, line, sizeof(line));
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
		 * This buffer is full: hand it to the engine. Still full when the
		 * other one is being written, or the engine had no room.
		 */
		accesslog_flush(a);
		if (a->len[a->filling] + (uint32_t)n > ACCESSLOG_BUF_BYTES) {
			a->dropped++;
			accesslog_drop_report(a);
			return;
		}
	}
	memcpy(a->buf[a->filling] + a->len[a->filling], line, (size_t)n);
	a->len[a->filling] += (uint32_t)n;
}
