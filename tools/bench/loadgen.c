/* loadgen.c -- the benchmark's client: TLS 1.3 ClientHellos with a chosen SNI, then bulk, rate, ping or idle workloads against a proxy or a sink. */
/*
 * Usage: loadgen -m MODE -a HOST:PORT [options]   (loadgen -h lists them)
 *
 *   upload    -c C connections each send the hello, wait for the sink's
 *             go-ahead byte (as a TLS client waits for the server's first
 *             flight), send -n bytes, shut down writing and wait for the
 *             sink's count; Gbit/s over wall time from the first connect to
 *             the last completion
 *   download  likewise, the sink sends -n bytes per connection
 *   rate      closed loop of -c connections for -d seconds (or -N in all):
 *             connect, hello, a -S byte reply, close; connections/s and
 *             percentiles of connect-to-reply
 *   ping      -c persistent connections trade -S byte messages for -d
 *             seconds; round trips/s and percentiles of the round trip
 *   idle      opens -c connections, sends the hellos, prints "ready K" once
 *             all are established and the sinks (-C) saw all K hellos, and
 *             holds them until SIGTERM/SIGINT (or -d seconds)
 *
 * With -x v1 or -x v2 every connection starts with a PROXY protocol header
 * (the connection's own endpoints), as from a load balancer in front.
 *
 * Each thread (-t) runs its own epoll loop over its share of the
 * connections. Payload comes from one static buffer and is received with
 * MSG_TRUNC (no copy), so the tool spends as little per byte as TCP allows.
 * The result is one "result key=value ..." line on stdout; lines starting
 * with "#" are for humans; cpu_ms is the CPU time loadgen itself used.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "lat.h"
#include "net.h"
#include "wire.h"

#define LG_THREADS_MAX		64
#define LG_CONNS_MAX		100000u
#define LG_CTL_MAX		8	/* sinks whose hello counts idle mode waits for */
#define LG_EVENTS		256	/* epoll events per wait */
#define LG_IO_CHUNK		(4u << 20)	/* bytes per send/recv: several socket buffers */
#define LG_BUDGET		(16u << 20)	/* bytes per connection per event */
#define LG_DEFAULT_CONNS	1u
#define LG_DEFAULT_SECONDS	5.0
#define LG_DEFAULT_MSG		64u	/* a small request/response */
#define LG_DEFAULT_BYTES	(1ull << 30)
/* After a rate or ping run's deadline, exchanges in flight get this long. */
#define LG_DRAIN_NS		(2 * NS_PER_SEC)
/* A rate connection whose connect failed retries after this pause. */
#define LG_RETRY_MS		1
/* Idle: connects in progress at once, and hellos sent but not yet seen by the sinks. */
#define LG_IDLE_CONNECT_WINDOW	256u
#define LG_IDLE_SINK_WINDOW	1024u
#define LG_IDLE_POLL_MS		10	/* how often idle mode asks the sinks */
#define LG_IDLE_TICK_MS		100	/* idle mode's longest sleep: it checks for stop signals */
#define LG_CTL_ANSWER		8192u
#define PCT_MEDIAN		50.0
#define PCT_99			99.0
#define PCT_999			99.9
#define BITS_PER_BYTE		8.0
#define BITS_PER_GBIT		1e9
/* Descriptors besides the connections: epoll, stdio, control queries. */
#define LG_FD_SPARE		64u
/* A rate run by count (-N) still has a deadline: a backstop, in seconds. */
#define LG_COUNT_BACKSTOP_SECONDS 1e6

enum lg_phase {
	LP_FREE,		/* no socket: not started, finished, or waiting to retry */
	LP_SENDING,		/* connecting, or sending the hello, command and payload */
	LP_GO,			/* upload: hello and command sent, waiting for the go-ahead */
	LP_WAITING,		/* everything sent: waiting for the answer */
	LP_HOLD,		/* idle: hello sent, holding */
	LP_RETRY,		/* rate: the connect failed; reconnect after a pause */
};

enum lg_error {
	ERR_CONNECT,		/* connect failed or was refused */
	ERR_RESET,		/* a socket error after connecting */
	ERR_SHORT,		/* EOF before the expected bytes, or a wrong count */
	ERR_TIMEOUT,		/* still in flight when the drain time ran out */
	ERR_DROPPED,		/* idle: the far side closed a held connection */
	ERR_COUNT
};

static const char *const error_names[ERR_COUNT] = {
	[ERR_CONNECT] = "connect", [ERR_RESET] = "reset", [ERR_SHORT] = "short",
	[ERR_TIMEOUT] = "timeout", [ERR_DROPPED] = "dropped",
};

struct lg_conn {
	int fd;
	uint8_t phase;		/* enum lg_phase */
	uint32_t events;	/* registered with epoll; 0: not registered */
	uint64_t t0;		/* rate: connect start; ping: request sent */
	uint8_t *pre;		/* [PROXY header] hello + command: every hello of a run has one size */
	uint32_t pre_len, pre_off;
	uint32_t pre_start;	/* where this connection's bytes start: past the header room */
	uint64_t body_left;	/* payload or message bytes still to send */
	uint64_t got;		/* bytes received in this exchange */
	uint8_t go;		/* upload: the sink's go-ahead came */
	uint8_t ack[WIRE_ACK_BYTES];
};

struct lg_thread {
	pthread_t tid;
	int ep;
	struct lg_conn **conns;
	unsigned nconns;
	unsigned active;	/* connections not finished for good */
	unsigned retry;		/* LP_RETRY connections */
	uint64_t quota;		/* rate: connections still to start; UINT64_MAX: by time */
	uint64_t rng;
	uint64_t first_ns, last_ns;
	uint64_t done;		/* completed connections (bulk, rate) or round trips (ping) */
	uint64_t bytes;		/* payload moved by completed connections */
	uint64_t errors[ERR_COUNT];
	uint64_t held;		/* idle: connections holding */
	struct lat lat;
};

static struct {
	enum wire_mode mode;
	struct addr target;
	struct wire_hello_opts hello;
	unsigned conns, threads;
	uint64_t bytes;		/* per connection */
	uint32_t msg;
	double seconds;
	int seconds_set;
	uint64_t count;		/* rate: connections in all; 0: run by time */
	size_t hello_len;	/* of every hello this run sends */
	enum wire_proxy proxy;	/* -x: the PROXY header before each hello */
	size_t proxy_room;	/* bytes before the hello in each conn's pre: WIRE_PROXY_MAX or 0 */
	struct addr ctl[LG_CTL_MAX];
	unsigned nctl;
	uint64_t start_ns, deadline_ns;
	pthread_barrier_t go;
} cfg;

static uint8_t send_buf[LG_IO_CHUNK];
static uint8_t junk_buf[LG_IO_CHUNK];	/* recv target; MSG_TRUNC leaves it untouched */
static volatile sig_atomic_t stop_flag;

static void conn_begin(struct lg_thread *t, struct lg_conn *c, uint64_t now);

/* --- One connection. --- */

/* Registers c for events (EPOLLIN and/or EPOLLOUT). Returns 0 or -errno. */
static int
conn_watch(struct lg_thread *t, struct lg_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };
	int op = c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

	if (c->events == events)
		return 0;
	if (epoll_ctl(t->ep, op, c->fd, &ev) != 0)
		return -errno;
	c->events = events;
	return 0;
}

/* Closes c's socket; err < 0 counts nothing, else one error of that kind. */
static void
conn_drop(struct lg_thread *t, struct lg_conn *c, int err)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->events = 0;
	c->phase = LP_FREE;
	if (err >= 0)
		t->errors[err]++;
}

/*
 * A connection ended (ok or with error err): counts it and, in rate mode
 * before the deadline, starts the next one in its slot.
 */
static void
conn_end(struct lg_thread *t, struct lg_conn *c, int err, uint64_t now)
{
	conn_drop(t, c, err);
	if (cfg.mode == WIRE_RATE && t->quota > 0 && now < cfg.deadline_ns && !stop_flag) {
		if (err == ERR_CONNECT) {
			c->phase = LP_RETRY;	/* give the kernel a moment (ports, backlog) */
			t->retry++;
			return;
		}
		conn_begin(t, c, now);
		return;
	}
	t->active--;
}

/* A whole exchange or transfer completed at now. */
static void
conn_complete(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
	switch (cfg.mode) {
	case WIRE_UPLOAD:
	case WIRE_DOWNLOAD:
		t->done++;
		t->bytes += cfg.bytes;
		if (now > t->last_ns)
			t->last_ns = now;
		conn_end(t, c, -1, now);
		return;
	case WIRE_RATE:
		if (now <= cfg.deadline_ns) {
			t->done++;
			t->last_ns = now;
			lat_add(&t->lat, now - c->t0);
		}
		conn_end(t, c, -1, now);
		return;
	case WIRE_PING:
		if (now <= cfg.deadline_ns) {
			t->done++;
			t->bytes += 2ull * cfg.msg;
			lat_add(&t->lat, now - c->t0);
		}
		if (now >= cfg.deadline_ns || stop_flag) {
			conn_end(t, c, -1, now);
			return;
		}
		c->t0 = now;
		c->got = 0;
		c->body_left = cfg.msg;
		c->phase = LP_SENDING;
		return;		/* the caller flushes the next request */
	default:
		return;
	}
}

/*
 * Sends what is pending: the hello and command, then payload. Returns 1
 * when all is sent, 0 when the socket is full (EPOLLOUT armed), -1 after
 * the connection ended on an error.
 */
static int
conn_flush(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
	uint64_t budget = LG_BUDGET;
	ssize_t k;

	while (c->pre_off < c->pre_len || c->body_left > 0) {
		if (c->pre_off == c->pre_len && cfg.mode == WIRE_UPLOAD && !c->go) {
			/* Like a TLS client: nothing after the hello until the server answered. */
			if (conn_watch(t, c, EPOLLIN) != 0)
				goto bad;
			c->phase = LP_GO;
			return 0;
		}
		if (budget == 0) {
			/* Others' turn: level-triggered EPOLLOUT brings c back. */
			if (conn_watch(t, c, EPOLLIN | EPOLLOUT) != 0)
				goto bad;
			return 0;
		}
		if (c->pre_off < c->pre_len)
			k = send(c->fd, c->pre + c->pre_off, c->pre_len - c->pre_off, MSG_NOSIGNAL);
		else
			k = send(c->fd, send_buf, c->body_left < LG_IO_CHUNK ? c->body_left
			    : LG_IO_CHUNK, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (conn_watch(t, c, EPOLLIN | EPOLLOUT) != 0)
					goto bad;
				return 0;
			}
			conn_end(t, c, c->pre_off == c->pre_start ? ERR_CONNECT : ERR_RESET, now);
			return -1;
		}
		if (c->pre_off < c->pre_len)
			c->pre_off += (uint32_t)k;
		else
			c->body_left -= (uint64_t)k;
		budget -= (uint64_t)k < budget ? (uint64_t)k : budget;
	}
	if (cfg.mode == WIRE_UPLOAD && shutdown(c->fd, SHUT_WR) != 0)
		goto bad;
	if (conn_watch(t, c, EPOLLIN) != 0)
		goto bad;
	if (cfg.mode == WIRE_IDLE) {
		c->phase = LP_HOLD;
		t->held++;
	} else {
		c->phase = LP_WAITING;
	}
	return 1;
bad:
	conn_end(t, c, ERR_RESET, now);
	return -1;
}

/* Puts the PROXY header of c's connection right before its hello. 0 or -1. */
static int
conn_proxy(struct lg_conn *c)
{
	uint8_t header[WIRE_PROXY_MAX];
	struct addr local;
	size_t n;

	if (net_local(c->fd, &local) != 0)
		return -1;
	n = wire_proxy_put(header, sizeof(header), cfg.proxy, &local, &cfg.target);
	if (n == 0 || n > cfg.proxy_room)
		return -1;
	c->pre_off = c->pre_start = (uint32_t)(cfg.proxy_room - n);
	memcpy(c->pre + c->pre_off, header, n);
	return 0;
}

/* Starts a connection in slot c: connect, and send the hello right away if it took. */
static void
conn_begin(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
	struct wire_cmd cmd = { .mode = cfg.mode, .msg = cfg.msg, .bytes = cfg.bytes };
	size_t n;

	if (t->quota != UINT64_MAX)
		t->quota--;
	c->t0 = now;
	if (t->first_ns == 0)
		t->first_ns = now;
	c->got = 0;
	c->go = 0;
	c->events = 0;
	n = wire_hello_build(c->pre + cfg.proxy_room, cfg.hello_len, &cfg.hello, &t->rng);
	wire_cmd_put(c->pre + cfg.proxy_room + n, &cmd);
	c->pre_len = (uint32_t)(cfg.proxy_room + n + WIRE_CMD_BYTES);
	c->pre_off = c->pre_start = (uint32_t)cfg.proxy_room;
	c->body_left = cfg.mode == WIRE_UPLOAD ? cfg.bytes : cfg.mode == WIRE_PING ? cfg.msg : 0;
	if (net_connect(&cfg.target, &c->fd) != 0) {
		c->fd = -1;
		conn_end(t, c, ERR_CONNECT, now);
		return;
	}
	if (cfg.proxy != WIRE_PROXY_NONE && conn_proxy(c) != 0) {
		conn_end(t, c, ERR_CONNECT, now);
		return;
	}
	c->phase = LP_SENDING;
	/* On loopback the handshake is usually done by now; else EAGAIN arms EPOLLOUT. */
	(void)conn_flush(t, c, now);
}

/* upload: reads the sink's go-ahead and starts sending. Returns 0 or -1 (c ended). */
static int
conn_read_go(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
	uint8_t b;
	ssize_t k;

	do
		k = recv(c->fd, &b, 1, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno == EAGAIN)
		return 0;
	if (k != 1 || b != WIRE_GO) {
		conn_end(t, c, k < 0 ? ERR_RESET : ERR_SHORT, now);
		return -1;
	}
	c->go = 1;
	c->phase = LP_SENDING;
	return conn_flush(t, c, now) < 0 ? -1 : 0;
}

/* Reads the answer. Returns 0 to go on, -1 when c ended or needs no more reads now. */
static int
conn_read(struct lg_thread *t, struct lg_conn *c, uint64_t *now)
{
	uint64_t budget = LG_BUDGET;
	size_t want;
	ssize_t k;

	if (c->phase == LP_GO)
		return conn_read_go(t, c, *now);
	while (budget > 0) {
		switch (cfg.mode) {
		case WIRE_UPLOAD:
			want = c->got < WIRE_ACK_BYTES ? WIRE_ACK_BYTES - c->got : 1;
			break;
		case WIRE_RATE:
		case WIRE_PING:
			want = cfg.msg - c->got;
			break;
		default:
			want = LG_IO_CHUNK;
			break;
		}
		if (cfg.mode == WIRE_UPLOAD && c->got < WIRE_ACK_BYTES)
			k = recv(c->fd, c->ack + c->got, want, 0);
		else
			k = recv(c->fd, junk_buf, want, MSG_TRUNC);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			conn_end(t, c, c->phase == LP_HOLD ? ERR_DROPPED : c->phase == LP_SENDING &&
			    c->pre_off == c->pre_start ? ERR_CONNECT : ERR_RESET, *now);
			return -1;
		}
		if (k == 0) {
			*now = clock_read_ns(CLOCK_MONOTONIC);
			if (cfg.mode == WIRE_DOWNLOAD && c->got == cfg.bytes)
				conn_complete(t, c, *now);
			else if (cfg.mode == WIRE_UPLOAD && c->got == WIRE_ACK_BYTES &&
			    wire_get64(c->ack) == cfg.bytes)
				conn_complete(t, c, *now);
			else
				conn_end(t, c, c->phase == LP_HOLD ? ERR_DROPPED : ERR_SHORT, *now);
			return -1;
		}
		if (c->phase != LP_WAITING) {
			/* Nothing is due while sending or holding: the far side broke the protocol. */
			conn_end(t, c, c->phase == LP_HOLD ? ERR_DROPPED : ERR_SHORT, *now);
			return -1;
		}
		c->got += (uint64_t)k;
		budget -= (uint64_t)k < budget ? (uint64_t)k : budget;
		if ((cfg.mode == WIRE_RATE || cfg.mode == WIRE_PING) && c->got == cfg.msg) {
			*now = clock_read_ns(CLOCK_MONOTONIC);
			conn_complete(t, c, *now);
			if (c->phase == LP_SENDING)
				(void)conn_flush(t, c, *now);	/* ping: the next request */
			return -1;
		}
		if (cfg.mode == WIRE_UPLOAD && c->got > WIRE_ACK_BYTES) {
			conn_end(t, c, ERR_SHORT, *now);
			return -1;
		}
	}
	return 0;
}

static void
conn_event(struct lg_thread *t, struct lg_conn *c, uint32_t events, uint64_t now)
{
	int rc;

	if (c->phase == LP_FREE || c->phase == LP_RETRY)
		return;		/* ended earlier in this batch */
	if ((events & EPOLLOUT) && c->phase == LP_SENDING) {
		if (c->pre_off == c->pre_start && (rc = net_connect_result(c->fd)) != 0) {
			conn_end(t, c, ERR_CONNECT, now);
			return;
		}
		if (conn_flush(t, c, now) < 0)
			return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		(void)conn_read(t, c, &now);
}

/* --- Threads. --- */

/* Ends every connection still open (at a deadline or a stop). */
static void
thread_close_all(struct lg_thread *t, int err)
{
	for (unsigned i = 0; i < t->nconns; i++) {
		struct lg_conn *c = t->conns[i];

		if (c->phase == LP_RETRY) {
			c->phase = LP_FREE;
			t->active--;
		} else if (c->phase != LP_FREE) {
			conn_drop(t, c, err);
			t->active--;
		}
	}
	t->quota = 0;
	t->retry = 0;
}

static void
thread_retry(struct lg_thread *t, uint64_t now)
{
	unsigned want = t->retry;

	t->retry = 0;
	for (unsigned i = 0; i < t->nconns && want > 0; i++) {
		struct lg_conn *c = t->conns[i];

		if (c->phase != LP_RETRY)
			continue;
		c->phase = LP_FREE;
		if (t->quota == 0 || now >= cfg.deadline_ns || stop_flag)
			t->active--;
		else
			conn_begin(t, c, now);
		want--;
	}
}

/* Milliseconds epoll_wait may sleep; -1: until an event. */
static int
thread_timeout(const struct lg_thread *t, uint64_t now)
{
	uint64_t until;

	if (t->retry > 0)
		return LG_RETRY_MS;
	if (cfg.mode != WIRE_RATE && cfg.mode != WIRE_PING)
		return cfg.mode == WIRE_IDLE ? LG_IDLE_TICK_MS : -1;
	until = now < cfg.deadline_ns ? cfg.deadline_ns : cfg.deadline_ns + LG_DRAIN_NS;
	if (now >= until)
		return 0;
	return (int)((until - now + NS_PER_MS - 1) / NS_PER_MS);
}

/* One pass of the loop: wait, dispatch. Returns the time after the wait. */
static uint64_t
thread_turn(struct lg_thread *t, int timeout)
{
	struct epoll_event evs[LG_EVENTS];
	uint64_t now;
	int n;

	n = epoll_wait(t->ep, evs, LG_EVENTS, timeout);
	now = clock_read_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < n; i++)
		conn_event(t, evs[i].data.ptr, evs[i].events, now);
	return now;
}

static void *
thread_run(void *arg)
{
	struct lg_thread *t = arg;
	uint64_t now;

	pthread_barrier_wait(&cfg.go);
	now = clock_read_ns(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < t->nconns; i++) {
		if (t->quota == 0)
			break;
		t->active++;
		conn_begin(t, t->conns[i], now);
	}
	while (t->active > 0) {
		now = thread_turn(t, thread_timeout(t, now));
		if (t->retry > 0)
			thread_retry(t, now);
		if (cfg.mode == WIRE_PING && (now >= cfg.deadline_ns || stop_flag))
			thread_close_all(t, -1);
		else if (cfg.mode == WIRE_RATE && now >= cfg.deadline_ns + LG_DRAIN_NS)
			thread_close_all(t, ERR_TIMEOUT);
		else if (stop_flag)
			thread_close_all(t, ERR_TIMEOUT);
	}
	return NULL;
}

static int
thread_init(struct lg_thread *t, unsigned index)
{
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep < 0)
		return -errno;
	t->rng = wire_rand_seed() ^ index;
	t->nconns = cfg.conns / cfg.threads + (index < cfg.conns % cfg.threads);
	t->conns = calloc(t->nconns ? t->nconns : 1, sizeof(*t->conns));
	if (t->conns == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < t->nconns; i++) {
		t->conns[i] = calloc(1, sizeof(*t->conns[i]));
		if (t->conns[i] == NULL)
			return -ENOMEM;
		t->conns[i]->fd = -1;
		t->conns[i]->pre = malloc(cfg.proxy_room + cfg.hello_len + WIRE_CMD_BYTES);
		if (t->conns[i]->pre == NULL)
			return -ENOMEM;
	}
	t->quota = UINT64_MAX;
	if (cfg.count > 0)
		t->quota = cfg.count / cfg.threads + (index < cfg.count % cfg.threads);
	return 0;
}

/* --- Idle mode: one thread, paced by what the sinks saw. --- */

/* Sum of open_idle over the control addresses, or -1 if one did not answer. */
static long long
idle_sink_count(void)
{
	char answer[LG_CTL_ANSWER];
	long long sum = 0;
	const char *p;

	for (unsigned i = 0; i < cfg.nctl; i++) {
		if (net_ctl_query(&cfg.ctl[i], "stats", answer, sizeof(answer)) < 0)
			return -1;
		p = strstr(answer, " open_idle=");
		if (p == NULL)
			return -1;
		sum += strtoll(p + strlen(" open_idle="), NULL, 10);
	}
	return sum;
}

static void
idle_run(struct lg_thread *t)
{
	long long base = 0, seen = 0, now_seen;
	uint64_t now = clock_read_ns(CLOCK_MONOTONIC), next_poll = 0, opened = 0;
	int ready = 0;

	if (cfg.nctl > 0 && (base = idle_sink_count()) < 0) {
		fprintf(stderr, "loadgen: a sink's control address does not answer\n");
		exit(1);
	}
	t->first_ns = now;
	while (!stop_flag && (!cfg.seconds_set || now < cfg.deadline_ns)) {
		/* Open more while few connects are pending and the sinks keep up. */
		while (opened < t->nconns && opened - t->held - (t->errors[ERR_CONNECT] +
		    t->errors[ERR_RESET] + t->errors[ERR_SHORT]) < LG_IDLE_CONNECT_WINDOW &&
		    (cfg.nctl == 0 || (long long)t->held - seen < LG_IDLE_SINK_WINDOW)) {
			t->active++;
			conn_begin(t, t->conns[opened++], now);
		}
		if (cfg.nctl > 0 && !ready && now >= next_poll) {
			now_seen = idle_sink_count();
			if (now_seen >= 0)
				seen = now_seen - base;
			next_poll = now + LG_IDLE_POLL_MS * NS_PER_MS;
		}
		if (!ready && opened == t->nconns && t->held == t->nconns &&
		    (cfg.nctl == 0 || seen >= (long long)t->nconns)) {
			ready = 1;
			t->last_ns = now;
			printf("ready %u\n", t->nconns);
			fflush(stdout);
		}
		now = thread_turn(t, ready ? LG_IDLE_TICK_MS : LG_IDLE_POLL_MS);
	}
	printf("# idle: %s after %.3f s; %" PRIu64 " of %u held, sinks saw %lld\n",
	    ready ? "stopping" : "NOT READY", (double)(now - t->first_ns) / NS_PER_SEC,
	    t->held - t->errors[ERR_DROPPED], t->nconns, seen);
	printf("result mode=idle conns=%u ready=%d held=%" PRIu64 " sink_seen=%lld"
	    " setup_secs=%.3f dropped=%" PRIu64 " errors=%" PRIu64 "\n", t->nconns, ready,
	    t->held - t->errors[ERR_DROPPED], seen,
	    ready ? (double)(t->last_ns - t->first_ns) / NS_PER_SEC : 0.0,
	    t->errors[ERR_DROPPED], t->errors[ERR_CONNECT] + t->errors[ERR_RESET] +
	    t->errors[ERR_SHORT]);
	thread_close_all(t, -1);
}

/* --- Results. --- */

/* CPU milliseconds this process used so far, all threads (getrusage). */
static double
cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0.0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * MS_PER_SEC +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / US_PER_MS;
}

static void
report(struct lg_thread *threads)
{
	struct lat all = { 0 };
	uint64_t first = UINT64_MAX, last = 0, done = 0, bytes = 0, errors = 0;
	uint64_t err[ERR_COUNT] = { 0 };
	double secs, p50, p99, p999;
	const char *name = wire_mode_name(cfg.mode);

	for (unsigned i = 0; i < cfg.threads; i++) {
		struct lg_thread *t = &threads[i];

		if (t->first_ns != 0 && t->first_ns < first)
			first = t->first_ns;
		if (t->last_ns > last)
			last = t->last_ns;
		done += t->done;
		bytes += t->bytes;
		for (int e = 0; e < ERR_COUNT; e++) {
			err[e] += t->errors[e];
			errors += t->errors[e];
		}
		lat_merge(&all, &t->lat);
	}
	if (errors > 0) {
		printf("# errors:");
		for (int e = 0; e < ERR_COUNT; e++)
			if (err[e] > 0)
				printf(" %s=%" PRIu64, error_names[e], err[e]);
		printf("\n");
	}
	if (cfg.mode == WIRE_UPLOAD || cfg.mode == WIRE_DOWNLOAD) {
		secs = last > first ? (double)(last - first) / NS_PER_SEC : 0.0;
		printf("# %s: %u connections x %" PRIu64 " bytes: %" PRIu64 " bytes in %.3f s = "
		    "%.2f Gbit/s\n", name, cfg.conns, cfg.bytes, bytes, secs,
		    secs > 0 ? (double)bytes * BITS_PER_BYTE / secs / BITS_PER_GBIT : 0.0);
		printf("result mode=%s conns=%u bytes=%" PRIu64 " done=%" PRIu64 " secs=%.6f"
		    " gbps=%.3f errors=%" PRIu64 " cpu_ms=%.1f\n", name, cfg.conns, bytes, done, secs,
		    secs > 0 ? (double)bytes * BITS_PER_BYTE / secs / BITS_PER_GBIT : 0.0, errors,
		    cpu_ms());
		return;
	}
	lat_sort(&all);
	p50 = (double)lat_percentile(&all, PCT_MEDIAN) / NS_PER_US;
	p99 = (double)lat_percentile(&all, PCT_99) / NS_PER_US;
	p999 = (double)lat_percentile(&all, PCT_999) / NS_PER_US;
	/* By count (-N) the run ends at the last completion; by time at the deadline. */
	secs = cfg.count > 0 ? (double)(last > first ? last - first : 0) / NS_PER_SEC
	    : cfg.seconds;
	printf("# %s: %u connections, %" PRIu64 " %s in %.3f s = %.0f/s; latency us: "
	    "p50 %.1f p99 %.1f p99.9 %.1f (%zu samples, %" PRIu64 " not kept)\n", name,
	    cfg.conns, done, cfg.mode == WIRE_RATE ? "connections" : "round trips",
	    secs, secs > 0 ? (double)done / secs : 0.0, p50, p99, p999, all.n, all.dropped);
	printf("result mode=%s conns=%u msg=%" PRIu32 " secs=%.3f count=%" PRIu64
	    " rate=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f errors=%" PRIu64 " cpu_ms=%.1f\n",
	    name, cfg.conns, cfg.msg, secs, done, secs > 0 ? (double)done / secs : 0.0,
	    p50, p99, p999, errors, cpu_ms());
	lat_free(&all);
}

/* --- Command line. --- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -m MODE -a HOST:PORT [options]\n"
	    "  -m MODE     upload, download, rate, ping or idle\n"
	    "  -a ADDR     where to connect: the proxy, or a sink directly\n"
	    "  -s SNI      server name in the hello (default bench.example); \"-\": none\n"
	    "  -c N        connections (default %u)\n"
	    "  -n BYTES    bulk: bytes per connection, K/M/G suffixes (default 1G)\n"
	    "  -d SECONDS  rate, ping: run time (default %.0f); idle: hold at most this long\n"
	    "  -S BYTES    rate: reply size; ping: message size (default %u)\n"
	    "  -N COUNT    rate: stop after COUNT connections in all\n"
	    "  -t THREADS  threads (default: min(connections, 2)); idle uses one\n"
	    "  -C ADDR     idle: a sink's control address (repeatable)\n"
	    "  -A          add ALPN h2, http/1.1 to the hello\n"
	    "  -P BYTES    pad the hello record to BYTES (padding extension)\n"
	    "  -x v1|v2    send a PROXY protocol header (this connection's endpoints) first\n",
	    LG_DEFAULT_CONNS, LG_DEFAULT_SECONDS, LG_DEFAULT_MSG);
	exit(2);
}

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
parse_args(int argc, char **argv)
{
	const char *target = NULL;
	unsigned long v;
	uint64_t size;
	int opt, threads_set = 0;

	cfg.hello.sni = "bench.example";
	cfg.conns = LG_DEFAULT_CONNS;
	cfg.bytes = LG_DEFAULT_BYTES;
	cfg.msg = LG_DEFAULT_MSG;
	cfg.seconds = LG_DEFAULT_SECONDS;
	while ((opt = getopt(argc, argv, "m:a:s:c:n:d:S:N:t:C:AP:x:h")) != -1) {
		switch (opt) {
		case 'm':
			if ((cfg.mode = wire_mode_parse(optarg)) == WIRE_NONE)
				usage();
			break;
		case 'a': target = optarg; break;
		case 's': cfg.hello.sni = strcmp(optarg, "-") == 0 ? NULL : optarg; break;
		case 'c':
			if (args_count(optarg, 1, LG_CONNS_MAX, &v) != 0)
				usage();
			cfg.conns = (unsigned)v;
			break;
		case 'n':
			if (args_size(optarg, &cfg.bytes) != 0)
				usage();
			break;
		case 'd':
			if (args_seconds(optarg, &cfg.seconds) != 0)
				usage();
			cfg.seconds_set = 1;
			break;
		case 'S':
			if (args_size(optarg, &size) != 0 || size == 0 || size > WIRE_MSG_MAX)
				usage();
			cfg.msg = (uint32_t)size;
			break;
		case 'N':
			if (args_count(optarg, 1, UINT32_MAX, &v) != 0)
				usage();
			cfg.count = v;
			break;
		case 't':
			if (args_count(optarg, 1, LG_THREADS_MAX, &v) != 0)
				usage();
			cfg.threads = (unsigned)v;
			threads_set = 1;
			break;
		case 'C':
			if (cfg.nctl == LG_CTL_MAX || net_addr(&cfg.ctl[cfg.nctl++], optarg, "-C") != 0)
				usage();
			break;
		case 'A': cfg.hello.alpn = 1; break;
		case 'P':
			if (args_size(optarg, &size) != 0 || size > WIRE_HELLO_MAX)
				usage();
			cfg.hello.pad_to = size;
			break;
		case 'x':
			if ((cfg.proxy = wire_proxy_parse(optarg)) == WIRE_PROXY_NONE)
				usage();
			cfg.proxy_room = WIRE_PROXY_MAX;
			break;
		default: usage();
		}
	}
	if (cfg.mode == WIRE_NONE || target == NULL || optind != argc)
		usage();
	if (net_addr(&cfg.target, target, "-a") != 0)
		exit(2);
	if (cfg.mode == WIRE_RATE && cfg.count > 0 && !cfg.seconds_set)
		cfg.seconds = LG_COUNT_BACKSTOP_SECONDS;
	if (!threads_set)
		cfg.threads = cfg.conns < 2 ? cfg.conns : 2;
	if (cfg.threads > cfg.conns || cfg.mode == WIRE_IDLE)
		cfg.threads = cfg.mode == WIRE_IDLE ? 1 : cfg.conns;
	if (cfg.mode == WIRE_UPLOAD || cfg.mode == WIRE_DOWNLOAD)
		cfg.msg = 0;
}

int
main(int argc, char **argv)
{
	static struct lg_thread threads[LG_THREADS_MAX];
	struct sigaction sa = { .sa_handler = on_stop };	/* no SA_RESTART: waits return EINTR */
	uint8_t probe[WIRE_HELLO_MAX];
	uint64_t rng = 1;
	unsigned long nofile;
	int rc;

	parse_args(argc, argv);
	cfg.hello_len = wire_hello_build(probe, sizeof(probe), &cfg.hello, &rng);
	if (cfg.hello_len == 0) {
		fprintf(stderr, "loadgen: the SNI or padding does not fit one TLS record\n");
		return 2;
	}
	nofile = net_raise_nofile();
	if (cfg.conns + LG_FD_SPARE > nofile)
		fprintf(stderr, "loadgen: warning: %u connections near the open-files limit %lu\n",
		    cfg.conns, nofile);
	memset(send_buf, 'x', sizeof(send_buf));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < cfg.threads; i++) {
		if ((rc = thread_init(&threads[i], i)) != 0) {
			fprintf(stderr, "loadgen: %s\n", strerror(-rc));
			return 1;
		}
	}
	if (cfg.mode == WIRE_IDLE) {
		cfg.start_ns = clock_read_ns(CLOCK_MONOTONIC);
		cfg.deadline_ns = cfg.start_ns + (uint64_t)(cfg.seconds * NS_PER_SEC);
		idle_run(&threads[0]);
		return 0;
	}
	pthread_barrier_init(&cfg.go, NULL, cfg.threads + 1);
	for (unsigned i = 0; i < cfg.threads; i++) {
		if ((rc = pthread_create(&threads[i].tid, NULL, thread_run, &threads[i])) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	cfg.start_ns = clock_read_ns(CLOCK_MONOTONIC);
	cfg.deadline_ns = cfg.start_ns + (uint64_t)(cfg.seconds * NS_PER_SEC);
	pthread_barrier_wait(&cfg.go);
	for (unsigned i = 0; i < cfg.threads; i++)
		pthread_join(threads[i].tid, NULL);
	report(threads);
	return 0;
}
