/* sink.c -- the benchmark's backend: it reads each connection's ClientHello and command header, runs the workload named there, and reports per SNI what it received. */
/*
 * Usage: sink -l HOST:PORT [-C HOST:PORT] [-t THREADS] [-p] [-q]
 *
 * With -p each connection must start with a PROXY protocol header (v1 or
 * v2), as a backend behind `send_proxy` gets it: it is read, counted and
 * dropped, and the connection goes on as without one.
 *
 * Each thread has its own SO_REUSEPORT listener and epoll loop, so the
 * kernel spreads connections over threads as it does over a proxy's
 * workers. Payload is never touched: it is sent from one static buffer and
 * received with MSG_TRUNC (TCP discards it without copying), so the sink
 * costs the machine as little per byte as a TCP endpoint can.
 *
 * The control address (-C) answers one command per connection:
 *   stats   "sink ..." totals, then one "sni=NAME ..." line per server name
 *   conns   one "conn ..." line per closed connection (the last SINK_LOG_SLOTS)
 *   reset   zeroes the totals and the connection log; answers "ok"
 * SIGINT or SIGTERM prints the stats and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "args.h"
#include "clienthello.h"
#include "net.h"
#include "wire.h"

#define SINK_THREADS_MAX	64
#define SINK_THREADS_DEFAULT	2	/* one per core of the benchmark machine */
#define SINK_EVENTS		256	/* epoll events per wait */
/* Bytes per send/recv call: several loopback socket buffers' worth. */
#define SINK_IO_CHUNK		(4u << 20)
/* Bytes one connection may move per event before the others get a turn. */
#define SINK_BUDGET		(16u << 20)
#define SINK_HELLO_INITIAL	2048u	/* most hellos are 0.3 to 2 KiB */
#define SINK_HELLO_LIMIT	65536u	/* passthrough's default limits.hello_bytes */
#define SINK_SNI_SLOTS		64u	/* distinct names counted; the rest share the last slot */
#define SINK_LOG_SLOTS		4096u	/* closed connections kept for "conns" */
#define SINK_CTL_TIMEOUT_MS	1000

enum sink_state { SS_HELLO, SS_RUN, SS_DRAIN };

/* How a connection ended, as the "conns" log names it. */
enum sink_status {
	ST_OK,
	ST_HELLO_EOF,		/* EOF or reset before the hello and command were in */
	ST_BAD_HELLO,		/* the hello parser refused the bytes */
	ST_BAD_CMD,		/* no valid command header after the hello */
	ST_SHORT,		/* EOF before the workload's bytes were all moved */
	ST_EXTRA,		/* bytes the workload did not expect */
	ST_RESET,		/* a socket error (reset, broken pipe) */
	ST_BAD_PROXY,		/* -p: no PROXY header first, or a malformed one */
	ST_COUNT
};

static const char *const status_names[ST_COUNT] = {
	[ST_OK] = "ok", [ST_HELLO_EOF] = "hello_eof", [ST_BAD_HELLO] = "bad_hello",
	[ST_BAD_CMD] = "bad_cmd", [ST_SHORT] = "short", [ST_EXTRA] = "extra",
	[ST_RESET] = "reset", [ST_BAD_PROXY] = "bad_proxy",
};

struct sink_conn {
	int fd;
	uint8_t state;		/* enum sink_state */
	uint8_t mode;		/* enum wire_mode; WIRE_NONE until the command came */
	uint8_t want_out;	/* EPOLLOUT is armed */
	uint8_t sni_slot;
	uint8_t proxied;	/* -p: the PROXY header was read and dropped */
	uint32_t msg;		/* rate reply / ping message bytes */
	uint32_t have;		/* ping: bytes of the current message read */
	uint32_t reply_left;	/* rate, ping: answer bytes still to send */
	uint32_t hello_bytes;	/* wire bytes of the hello; 0 until it parsed */
	uint32_t records;
	uint64_t bytes;		/* the command's byte count */
	uint64_t payload;	/* workload bytes moved (after hello and command) */
	uint64_t in, out;	/* all bytes received / sent */
	uint8_t *buf;		/* the hello phase only */
	uint32_t len, cap;
	struct hello_parser parser;
};

struct sink_thread {
	pthread_t tid;
	int ep;
	int lfd;		/* this thread's SO_REUSEPORT listener */
	int cfd;		/* control listener, thread 0 only; else -1 */
	uint8_t *scratch;	/* SINK_HELLO_LIMIT: hello reassembly */
};

struct sni_slot {
	char name[WIRE_SNI_MAX + 1];
	uint64_t hellos, hello_bytes, closed, in, out, errors;
};

struct conn_record {
	uint8_t sni_slot, mode, status;
	uint32_t hello_bytes, records;
	uint64_t in, out;
};

/* Everything the control port reports; updated a few times per connection. */
static struct {
	pthread_mutex_t lock;
	struct sni_slot sni[SINK_SNI_SLOTS];	/* [0] is "-": no SNI */
	unsigned sni_used;
	uint64_t accepted, bad_hellos, errors, open;
	uint64_t proxy_headers;	/* -p: headers read and dropped */
	uint64_t open_mode[WIRE_MODE_COUNT];
	struct conn_record log[SINK_LOG_SLOTS];
	uint64_t logged;
} stats = { .lock = PTHREAD_MUTEX_INITIALIZER, .sni = { { .name = "-" } }, .sni_used = 1 };

static uint8_t send_buf[SINK_IO_CHUNK];
static uint8_t junk_buf[SINK_IO_CHUNK];	/* recv target; MSG_TRUNC leaves it untouched */
static int quiet;
static int want_proxy;		/* -p */

/* The epoll tags of the listeners: conns are heap pointers, never these. */
static char listen_tag, ctl_tag;

/* --- Stats. --- */

/* The slot for name (len bytes; NULL: none). Call with the lock held. */
static unsigned
stats_sni_slot(const uint8_t *name, size_t len)
{
	unsigned i;

	if (name == NULL)
		return 0;
	for (i = 1; i < stats.sni_used; i++)
		if (strlen(stats.sni[i].name) == len && memcmp(stats.sni[i].name, name, len) == 0)
			return i;
	if (stats.sni_used == SINK_SNI_SLOTS)
		return SINK_SNI_SLOTS - 1;	/* full: the last slot takes the rest */
	i = stats.sni_used++;
	memcpy(stats.sni[i].name, name, len);
	stats.sni[i].name[len] = '\0';
	if (i == SINK_SNI_SLOTS - 1)
		strcpy(stats.sni[i].name, "(more)");
	return i;
}

static void
stats_hello(struct sink_conn *c, const struct hello_info *info)
{
	pthread_mutex_lock(&stats.lock);
	c->sni_slot = (uint8_t)stats_sni_slot(info->sni, info->sni_len);
	stats.sni[c->sni_slot].hellos++;
	stats.sni[c->sni_slot].hello_bytes += c->hello_bytes;
	pthread_mutex_unlock(&stats.lock);
}

static void
stats_open(enum wire_mode mode)
{
	pthread_mutex_lock(&stats.lock);
	stats.open_mode[mode]++;
	pthread_mutex_unlock(&stats.lock);
}

static void
stats_close(const struct sink_conn *c, enum sink_status status)
{
	struct conn_record *r;
	struct sni_slot *s;

	pthread_mutex_lock(&stats.lock);
	stats.open--;
	if (c->mode != WIRE_NONE)
		stats.open_mode[c->mode]--;
	if (status == ST_BAD_HELLO)
		stats.bad_hellos++;
	if (status != ST_OK)
		stats.errors++;
	if (c->hello_bytes > 0) {
		s = &stats.sni[c->sni_slot];
		s->closed++;
		s->in += c->in;
		s->out += c->out;
		s->errors += status != ST_OK;
	}
	r = &stats.log[stats.logged++ % SINK_LOG_SLOTS];
	r->sni_slot = c->sni_slot;
	r->mode = c->mode;
	r->status = (uint8_t)status;
	r->hello_bytes = c->hello_bytes;
	r->records = c->records;
	r->in = c->in;
	r->out = c->out;
	pthread_mutex_unlock(&stats.lock);
}

static void
stats_reset(void)
{
	pthread_mutex_lock(&stats.lock);
	for (unsigned i = 0; i < stats.sni_used; i++) {
		struct sni_slot *s = &stats.sni[i];

		s->hellos = s->hello_bytes = s->closed = s->in = s->out = s->errors = 0;
	}
	stats.accepted = stats.bad_hellos = stats.errors = stats.proxy_headers = 0;
	stats.logged = 0;
	pthread_mutex_unlock(&stats.lock);
}

static void
stats_print(FILE *f, int conns)
{
	pthread_mutex_lock(&stats.lock);
	if (conns) {
		uint64_t first = stats.logged > SINK_LOG_SLOTS ? stats.logged - SINK_LOG_SLOTS : 0;

		for (uint64_t i = first; i < stats.logged; i++) {
			const struct conn_record *r = &stats.log[i % SINK_LOG_SLOTS];

			fprintf(f, "conn sni=%s mode=%s hello_bytes=%" PRIu32 " records=%" PRIu32
			    " in=%" PRIu64 " out=%" PRIu64 " status=%s\n",
			    stats.sni[r->sni_slot].name, wire_mode_name((enum wire_mode)r->mode),
			    r->hello_bytes, r->records, r->in, r->out, status_names[r->status]);
		}
		pthread_mutex_unlock(&stats.lock);
		return;
	}
	fprintf(f, "sink accepted=%" PRIu64 " open=%" PRIu64 " bad_hellos=%" PRIu64
	    " errors=%" PRIu64 " proxy_headers=%" PRIu64, stats.accepted, stats.open,
	    stats.bad_hellos, stats.errors, stats.proxy_headers);
	for (unsigned m = WIRE_NONE + 1; m < WIRE_MODE_COUNT; m++)
		fprintf(f, " open_%s=%" PRIu64, wire_mode_name((enum wire_mode)m), stats.open_mode[m]);
	fputc('\n', f);
	for (unsigned i = 0; i < stats.sni_used; i++) {
		const struct sni_slot *s = &stats.sni[i];

		if (s->hellos == 0 && s->closed == 0)
			continue;
		fprintf(f, "sni=%s hellos=%" PRIu64 " hello_bytes=%" PRIu64 " closed=%" PRIu64
		    " in=%" PRIu64 " out=%" PRIu64 " errors=%" PRIu64 "\n",
		    s->name, s->hellos, s->hello_bytes, s->closed, s->in, s->out, s->errors);
	}
	pthread_mutex_unlock(&stats.lock);
}

/* --- Connections. --- */

static void
conn_close(struct sink_conn *c, enum sink_status status)
{
	stats_close(c, status);
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Arms or disarms EPOLLOUT. Returns 0 or -1 (the connection was closed). */
static int
conn_want_out(struct sink_thread *t, struct sink_conn *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c };

	if (c->want_out == on)
		return 0;
	if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		conn_close(c, ST_RESET);
		return -1;
	}
	c->want_out = (uint8_t)on;
	return 0;
}

/* Sends up to n bytes; returns the bytes sent, or -1 after closing on an error. */
static ssize_t
conn_send(struct sink_conn *c, size_t n)
{
	ssize_t k;

	if (n > SINK_IO_CHUNK)
		n = SINK_IO_CHUNK;
	do
		k = send(c->fd, send_buf, n, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		if (errno == EAGAIN)
			return 0;
		conn_close(c, ST_RESET);
		return -1;
	}
	c->out += (uint64_t)k;
	return k;
}

/* Discards up to n received bytes. Returns the count, 0 at EOF, -EAGAIN, or -errno. */
static ssize_t
conn_discard(struct sink_conn *c, size_t n)
{
	ssize_t k;

	if (n > SINK_IO_CHUNK)
		n = SINK_IO_CHUNK;
	do
		k = recv(c->fd, junk_buf, n, MSG_TRUNC);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	c->in += (uint64_t)k;
	return k;
}

/* Sends what is left of a rate reply or ping echo. Returns 0 or -1 (closed). */
static int
conn_reply(struct sink_thread *t, struct sink_conn *c)
{
	ssize_t k;

	while (c->reply_left > 0) {
		k = conn_send(c, c->reply_left);
		if (k < 0)
			return -1;
		if (k == 0)
			return conn_want_out(t, c, 1);
		c->reply_left -= (uint32_t)k;
	}
	if (c->mode == WIRE_RATE)
		c->state = SS_DRAIN;
	return conn_want_out(t, c, 0);
}

/* An upload's go-ahead: the send buffer is empty, one byte always fits. 0 or -1 (closed). */
static int
conn_upload_go(struct sink_conn *c)
{
	static const uint8_t go = WIRE_GO;

	if (send(c->fd, &go, 1, MSG_NOSIGNAL) != 1) {
		conn_close(c, ST_RESET);
		return -1;
	}
	c->out++;
	return 0;
}

/* The hello and command are in; extra payload bytes came with them. */
static int
conn_start(struct sink_thread *t, struct sink_conn *c, const struct wire_cmd *cmd, uint32_t extra)
{
	free(c->buf);
	c->buf = NULL;
	c->mode = (uint8_t)cmd->mode;
	c->msg = cmd->msg;
	c->bytes = cmd->bytes;
	c->payload = extra;
	c->state = SS_RUN;
	stats_open(cmd->mode);
	switch (cmd->mode) {
	case WIRE_UPLOAD:
		return conn_upload_go(c);
	case WIRE_DOWNLOAD:
		if (extra > 0)
			break;
		return conn_want_out(t, c, 1);	/* conn_output() sends, then shuts down */
	case WIRE_RATE:
		if (extra > 0)
			break;
		c->reply_left = c->msg;
		return conn_reply(t, c);
	case WIRE_PING:
		if (extra > c->msg)
			break;
		c->have = extra;
		if (c->have == c->msg) {
			c->have = 0;
			c->reply_left = c->msg;
			return conn_reply(t, c);
		}
		return 0;
	case WIRE_IDLE:
		if (extra > 0)
			break;
		return 0;
	default:
		break;
	}
	conn_close(c, ST_EXTRA);
	return -1;
}

/*
 * -p: drops the PROXY header at the start of c's buffer once it is all in.
 * On WIRE_PROXY_BAD c is closed (and freed).
 */
static enum wire_proxy_status
conn_proxy(struct sink_conn *c)
{
	enum wire_proxy_status st;
	const char *why = NULL;

	st = wire_proxy_strip(c->buf, &c->len, SINK_HELLO_LIMIT, &why);
	if (st == WIRE_PROXY_STRIPPED) {
		c->proxied = 1;
		pthread_mutex_lock(&stats.lock);
		stats.proxy_headers++;
		pthread_mutex_unlock(&stats.lock);
	} else if (st == WIRE_PROXY_BAD) {
		if (!quiet)
			fprintf(stderr, "sink: bad PROXY header: %s\n", why);
		conn_close(c, ST_BAD_PROXY);
	}
	return st;
}

/* Reads the hello and the command. Returns 0 or -1 (closed). */
static int
conn_hello(struct sink_thread *t, struct sink_conn *c)
{
	enum wire_proxy_status pst;
	struct hello_info info;
	struct wire_cmd cmd;
	enum hello_status st;
	uint8_t *nb;
	ssize_t k;

	for (;;) {
		if (c->len == c->cap) {
			uint32_t cap = c->cap * 2;

			if (cap > SINK_HELLO_LIMIT + WIRE_CMD_BYTES)
				cap = SINK_HELLO_LIMIT + WIRE_CMD_BYTES;
			if (cap == c->cap || (nb = realloc(c->buf, cap)) == NULL) {
				conn_close(c, ST_BAD_HELLO);
				return -1;
			}
			c->buf = nb;
			c->cap = cap;
		}
		do
			k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		while (k < 0 && errno == EINTR);
		if (k < 0 && errno == EAGAIN)
			return 0;
		if (k <= 0) {
			conn_close(c, ST_HELLO_EOF);
			return -1;
		}
		c->len += (uint32_t)k;
		c->in += (uint64_t)k;
		if (want_proxy && !c->proxied) {
			pst = conn_proxy(c);
			if (pst == WIRE_PROXY_BAD)
				return -1;
			if (pst == WIRE_PROXY_NEED_MORE || c->len == 0)
				continue;	/* the header is not all in, or came alone */
		}
		if (c->hello_bytes == 0) {
			st = hello_parse(&c->parser, c->buf, c->len, t->scratch,
			    SINK_HELLO_LIMIT, &info);
			if (st == HELLO_NEED_MORE)
				continue;
			if (st != HELLO_OK) {
				if (!quiet)
					fprintf(stderr, "sink: bad hello: %s\n",
					    hello_reason_str(info.reason));
				conn_close(c, ST_BAD_HELLO);
				return -1;
			}
			c->hello_bytes = info.hello_end;
			c->records = info.records;
			stats_hello(c, &info);
		}
		if (c->len < c->hello_bytes + WIRE_CMD_BYTES)
			continue;
		if (wire_cmd_get(&cmd, c->buf + c->hello_bytes) != 0) {
			conn_close(c, ST_BAD_CMD);
			return -1;
		}
		return conn_start(t, c, &cmd, c->len - c->hello_bytes - WIRE_CMD_BYTES);
	}
}

/* The client's EOF ends an upload: acknowledge the count, close. */
static void
conn_upload_done(struct sink_conn *c)
{
	uint8_t ack[WIRE_ACK_BYTES];

	wire_put64(ack, c->payload);
	/* The send buffer is empty: 8 bytes always fit. */
	if (send(c->fd, ack, sizeof(ack), MSG_NOSIGNAL) != (ssize_t)sizeof(ack)) {
		conn_close(c, ST_RESET);
		return;
	}
	c->out += sizeof(ack);
	conn_close(c, c->payload == c->bytes ? ST_OK : ST_SHORT);
}

/* Input on a running or draining connection. Returns 0 or -1 (closed). */
static int
conn_input(struct sink_thread *t, struct sink_conn *c)
{
	uint64_t budget = SINK_BUDGET;
	ssize_t k;
	size_t want;

	while (budget > 0) {
		want = c->mode == WIRE_PING && c->state == SS_RUN ? c->msg - c->have : SINK_IO_CHUNK;
		if (want == 0)
			return 0;	/* an echo is pending: the client waits for it */
		k = conn_discard(c, want);
		if (k == -EAGAIN)
			return 0;
		if (k < 0) {
			conn_close(c, ST_RESET);
			return -1;
		}
		if (k == 0) {
			if (c->mode == WIRE_UPLOAD && c->state == SS_RUN) {
				conn_upload_done(c);
				return -1;
			}
			conn_close(c, c->state == SS_DRAIN || c->mode == WIRE_IDLE ||
			    (c->mode == WIRE_PING && c->have == 0 && c->reply_left == 0)
			    ? ST_OK : ST_SHORT);
			return -1;
		}
		budget -= (uint64_t)k < budget ? (uint64_t)k : budget;
		if (c->state == SS_DRAIN)
			continue;
		switch (c->mode) {
		case WIRE_UPLOAD:
			c->payload += (uint64_t)k;
			break;
		case WIRE_PING:
			c->have += (uint32_t)k;
			c->payload += (uint64_t)k;
			if (c->have == c->msg) {
				c->have = 0;
				c->reply_left = c->msg;
				if (conn_reply(t, c) != 0)
					return -1;
			}
			break;
		default:	/* download, idle: the client has nothing to say */
			conn_close(c, ST_EXTRA);
			return -1;
		}
	}
	return 0;
}

static int
conn_output(struct sink_thread *t, struct sink_conn *c)
{
	uint64_t budget = SINK_BUDGET;
	ssize_t k;

	if (c->mode != WIRE_DOWNLOAD)
		return conn_reply(t, c);
	while (c->payload < c->bytes && budget > 0) {
		k = conn_send(c, c->bytes - c->payload);
		if (k <= 0)
			return (int)k;	/* 0: the buffer is full, EPOLLOUT stays armed */
		c->payload += (uint64_t)k;
		budget -= (uint64_t)k < budget ? (uint64_t)k : budget;
	}
	if (c->payload < c->bytes)
		return 0;
	(void)shutdown(c->fd, SHUT_WR);
	c->state = SS_DRAIN;
	return conn_want_out(t, c, 0);
}

static void
conn_event(struct sink_thread *t, struct sink_conn *c, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if ((c->state == SS_HELLO ? conn_hello(t, c) : conn_input(t, c)) != 0)
			return;
	}
	if ((events & EPOLLOUT) && c->state != SS_HELLO)
		(void)conn_output(t, c);
}

static void
sink_accept(struct sink_thread *t)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sink_conn *c;
	int fd;

	for (;;) {
		fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, "sink: accept: %s\n", strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->buf = malloc(SINK_HELLO_INITIAL)) == NULL) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->cap = SINK_HELLO_INITIAL;
		hello_parser_init(&c->parser, SINK_HELLO_LIMIT);
		ev.data.ptr = c;
		pthread_mutex_lock(&stats.lock);
		stats.accepted++;
		stats.open++;
		pthread_mutex_unlock(&stats.lock);
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			conn_close(c, ST_RESET);
	}
}

/* One control connection: read a command line, answer, close. Blocking, bounded. */
static void
sink_ctl(struct sink_thread *t)
{
	struct timeval tv = { .tv_sec = SINK_CTL_TIMEOUT_MS / MS_PER_SEC,
	    .tv_usec = (SINK_CTL_TIMEOUT_MS % MS_PER_SEC) * US_PER_MS };
	char line[NET_CTL_LINE];
	char *out = NULL;
	size_t out_len = 0, have = 0;
	ssize_t k;
	FILE *f;
	int fd;

	fd = accept4(t->cfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (have + 1 < sizeof(line) && (k = recv(fd, line + have, sizeof(line) - 1 - have, 0)) > 0) {
		have += (size_t)k;
		if (memchr(line, '\n', have) != NULL)
			break;
	}
	line[have] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	f = open_memstream(&out, &out_len);
	if (f == NULL) {
		close(fd);
		return;
	}
	if (strcmp(line, "stats") == 0) {
		stats_print(f, 0);
	} else if (strcmp(line, "conns") == 0) {
		stats_print(f, 1);
	} else if (strcmp(line, "reset") == 0) {
		stats_reset();
		fputs("ok\n", f);
	} else {
		fprintf(f, "error unknown command \"%s\" (stats, conns, reset)\n", line);
	}
	fclose(f);
	for (size_t off = 0; off < out_len; off += (size_t)k)
		if ((k = send(fd, out + off, out_len - off, MSG_NOSIGNAL)) <= 0)
			break;
	free(out);
	close(fd);
}

static void *
sink_thread_run(void *arg)
{
	struct sink_thread *t = arg;
	struct epoll_event evs[SINK_EVENTS];
	int n;

	for (;;) {
		n = epoll_wait(t->ep, evs, SINK_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sink: epoll_wait: %s\n", strerror(errno));
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listen_tag)
				sink_accept(t);
			else if (evs[i].data.ptr == &ctl_tag)
				sink_ctl(t);
			else
				conn_event(t, evs[i].data.ptr, evs[i].events);
		}
	}
	return NULL;
}

static int
sink_thread_init(struct sink_thread *t, const struct addr *listen_addr,
    const struct addr *ctl_addr)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	t->cfd = -1;
	t->scratch = malloc(SINK_HELLO_LIMIT);
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->scratch == NULL || t->ep < 0)
		return -ENOMEM;
	if ((fd = net_listen(listen_addr)) < 0)
		return fd;
	t->lfd = fd;
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -errno;
	if (ctl_addr == NULL)
		return 0;
	if ((fd = net_listen(ctl_addr)) < 0)
		return fd;
	t->cfd = fd;
	ev.data.ptr = &ctl_tag;
	return epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) != 0 ? -errno : 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sink -l HOST:PORT [-C HOST:PORT] [-t THREADS] [-p] [-q]\n"
	    "  -l  address to accept benchmark connections on\n"
	    "  -C  control address: answers \"stats\", \"conns\", \"reset\"\n"
	    "  -t  threads, each with its own SO_REUSEPORT listener (default %d)\n"
	    "  -p  every connection starts with a PROXY header (v1 or v2): read and drop it\n"
	    "  -q  no per-connection complaints on stderr\n", SINK_THREADS_DEFAULT);
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct sink_thread threads[SINK_THREADS_MAX];
	struct addr listen_addr, ctl_addr;
	const char *listen_text = NULL, *ctl_text = NULL;
	unsigned long nthreads = SINK_THREADS_DEFAULT;
	sigset_t sigs;
	int opt, sig, rc;

	while ((opt = getopt(argc, argv, "l:C:t:pq")) != -1) {
		switch (opt) {
		case 'l': listen_text = optarg; break;
		case 'C': ctl_text = optarg; break;
		case 't':
			if (args_count(optarg, 1, SINK_THREADS_MAX, &nthreads) != 0)
				usage();
			break;
		case 'p': want_proxy = 1; break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (listen_text == NULL || optind != argc)
		usage();
	if (net_addr(&listen_addr, listen_text, "-l") != 0 ||
	    (ctl_text != NULL && net_addr(&ctl_addr, ctl_text, "-C") != 0))
		return 2;
	net_raise_nofile();
	memset(send_buf, 'x', sizeof(send_buf));
	/* Threads inherit the mask: only main takes the stop signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned long i = 0; i < nthreads; i++) {
		rc = sink_thread_init(&threads[i], &listen_addr,
		    i == 0 && ctl_text != NULL ? &ctl_addr : NULL);
		if (rc != 0) {
			fprintf(stderr, "sink: listen on %s: %s\n", listen_text, strerror(-rc));
			return 1;
		}
	}
	for (unsigned long i = 0; i < nthreads; i++) {
		if ((rc = pthread_create(&threads[i].tid, NULL, sink_thread_run, &threads[i])) != 0) {
			fprintf(stderr, "sink: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	printf("# sink listening on %s, control %s, %lu threads\n", listen_text,
	    ctl_text ? ctl_text : "none", nthreads);
	fflush(stdout);
	while (sigwait(&sigs, &sig) != 0)
		;
	stats_print(stdout, 0);
	fflush(stdout);
	return 0;
}
