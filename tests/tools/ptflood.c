/* ptflood.c -- a hostile test client: opens many connections at once, trickles bytes into each (or sends nothing, or uploads), and reports when and how the peer closed each one. */
#include <getopt.h>
#include <netinet/ip.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "pttools.h"

#define PROG "ptflood"
/* Connects in progress at once by default: well inside a listen backlog. */
#define WINDOW_DEFAULT 256u
/* Give up on connections still open this long after the last one came up. ms */
#define WAIT_DEFAULT_MS 60000u
/* Most connections one process drives: the open-files limit is 20,000 here. */
#define COUNT_MAX 19000u
/* Files --list may name (connection i sends file i mod K). */
#define LIST_MAX 4096u
/* Longest line of a --list file (a path). */
#define LIST_LINE_MAX 4096u
/* Events per epoll_wait. */
#define EVENTS_MAX 512
/* Bytes per recv when draining what the peer sends (discarded). */
#define DRAIN_BYTES PT_IO_BYTES

enum state {
	ST_IDLE,	/* not started */
	ST_CONNECTING,	/* connect in progress */
	ST_OPEN,	/* up: sending, or waiting for the peer */
	ST_FIN,		/* the peer closed with a FIN (read returned 0) */
	ST_RESET,	/* the peer reset it (ECONNRESET, EPIPE or another socket error) */
	ST_FAILED,	/* the connect failed */
	ST_ABORTED,	/* we reset it (--abort-after-ms) */
};

static const char *const state_names[] = {
	[ST_IDLE] = "idle", [ST_CONNECTING] = "connecting", [ST_OPEN] = "open",
	[ST_FIN] = "fin", [ST_RESET] = "reset", [ST_FAILED] = "failed",
	[ST_ABORTED] = "aborted",
};

struct fconn {
	int fd;
	uint8_t state;		/* enum state */
	uint8_t want_out;	/* EPOLLOUT armed: the socket was full */
	uint16_t file;		/* index into the byte strings */
	uint16_t port;		/* our local port, once up */
	int err;		/* errno of a failure or reset */
	uint32_t off;		/* bytes of the string sent */
	uint64_t start_ms;	/* when connect() was called (monotonic ms) */
	uint64_t up_ms;		/* when the connect completed (monotonic ms) */
	uint64_t end_ms;	/* when it closed, failed or was aborted */
	uint64_t next_ms;	/* --byte-ms: when the next byte is due */
	uint64_t abort_ms;	/* --abort-after-ms: when to reset it; 0: not scheduled */
	uint64_t upload_left;	/* --upload: pattern bytes still to send */
	uint64_t sent, received;
};

struct bytes {
	uint8_t *p;
	size_t len;
};

static struct {
	const char *connect, *bind, *raw_file, *hex_file, *list;
	unsigned long count, window, byte_ms, upload, upload_after_ms, abort_after_ms, wait_ms,
	    progress_ms;
	int per_conn, shutdown;
} opt = { .count = 1, .window = WINDOW_DEFAULT, .wait_ms = WAIT_DEFAULT_MS };

static struct fconn *conns;
static struct bytes files[LIST_MAX];
static unsigned file_count;
static struct addr target, source;
static int epfd;
static volatile sig_atomic_t stop;
static uint8_t iobuf[PT_IO_BYTES];

/*
 * Connections waiting for their next byte (or their abort), oldest first.
 * Every connection of a queue waits the same period, so appending keeps a
 * queue sorted by due time: a ring of indexes, each connection in it once.
 */
struct queue {
	uint32_t *ring;
	size_t head, len, cap;
};
static struct queue byte_q, abort_q;

static struct {
	unsigned long started, connecting, up, failed, open;
	uint64_t last_up_ms, first_ms, sent, received;
} run;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ptflood --connect HOST:PORT [options]\n"
	    "Opens --count connections (non-blocking, --window connects in flight),\n"
	    "sends each its bytes as told and notes when and how the peer closes it.\n"
	    "  --count N           connections (default 1; one process: up to %u)\n"
	    "  --window W          connects in progress at once (default %u)\n"
	    "  --bind ADDR         source address, e.g. 127.0.0.2 (port chosen at connect)\n"
	    "  --raw-file FILE     the bytes each connection sends (default: none)\n"
	    "  --hex-file FILE     ... written in hex (whitespace ignored)\n"
	    "  --list FILE         one raw file per line: connection i sends file i mod K\n"
	    "  --byte-ms M         send one byte every M ms per connection, the first at once\n"
	    "                      (default 0: all at once)\n"
	    "  --upload N          then N pattern bytes, as fast as the peer takes them\n"
	    "  --upload-after-ms T ... beginning T ms after the connection came up (not\n"
	    "                      with --byte-ms): a TLS client waits for the server's reply\n"
	    "  --abort-after-ms T  T ms after all was sent, close with a reset (SO_LINGER 0)\n"
	    "  --shutdown          shutdown(SHUT_WR) once all was sent\n"
	    "  --wait-ms T         end T ms after the last connection came up even if some\n"
	    "                      are still open (default %u)\n"
	    "  --progress-ms P     print \"progress ms=T sent=B received=B open=K closed=C\"\n"
	    "                      every P ms (ms since the first connection came up)\n"
	    "  --per-conn          at the end, one line per connection:\n"
	    "                      \"conn I state=S up_ms=U close_ms=C from_start_ms=D\n"
	    "                      sent=B received=B err=E port=P\" (up_ms: since the first\n"
	    "                      connection came up; close_ms: from its connect's\n"
	    "                      completion to its end; from_start_ms: from the connect()\n"
	    "                      call; or -; P: its local port, 0 if it never came up)\n"
	    "stdout: \"ready up=N failed=K\" once no connect is left in flight, then at the\n"
	    "end \"result count=N up=N failed=K closed=C fin=F reset=R aborted=A open=O\n"
	    "min_ms=A p50_ms=B max_ms=C start_min_ms=D start_max_ms=E sent=B received=B\"\n"
	    "(closed = fin + reset; over the closed ones, *_ms: from the connect's completion\n"
	    "to the close, start_*_ms: from the connect() call). SIGTERM/SIGINT: report now.\n"
	    "Exit 0 (a report was printed), 1 error, 2 usage.\n",
	    COUNT_MAX, WINDOW_DEFAULT, WAIT_DEFAULT_MS);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "bind", required_argument, NULL, 'B' },
		{ "raw-file", required_argument, NULL, 'f' },
		{ "hex-file", required_argument, NULL, 'x' },
		{ "list", required_argument, NULL, 'L' },
		{ "byte-ms", required_argument, NULL, 'm' },
		{ "upload", required_argument, NULL, 'u' },
		{ "upload-after-ms", required_argument, NULL, 'U' },
		{ "abort-after-ms", required_argument, NULL, 'a' },
		{ "wait-ms", required_argument, NULL, 'W' },
		{ "progress-ms", required_argument, NULL, 'p' },
		{ "per-conn", no_argument, NULL, 'P' },
		{ "shutdown", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.connect = optarg; break;
		case 'n': opt.count = pt_number(PROG, "--count", optarg); break;
		case 'w': opt.window = pt_number(PROG, "--window", optarg); break;
		case 'B': opt.bind = optarg; break;
		case 'f': opt.raw_file = optarg; break;
		case 'x': opt.hex_file = optarg; break;
		case 'L': opt.list = optarg; break;
		case 'm': opt.byte_ms = pt_number(PROG, "--byte-ms", optarg); break;
		case 'u': opt.upload = pt_number(PROG, "--upload", optarg); break;
		case 'U': opt.upload_after_ms = pt_number(PROG, "--upload-after-ms", optarg); break;
		case 'a': opt.abort_after_ms = pt_number(PROG, "--abort-after-ms", optarg); break;
		case 'W': opt.wait_ms = pt_number(PROG, "--wait-ms", optarg); break;
		case 'p': opt.progress_ms = pt_number(PROG, "--progress-ms", optarg); break;
		case 'P': opt.per_conn = 1; break;
		case 'S': opt.shutdown = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || opt.connect == NULL || opt.count == 0 || opt.count > COUNT_MAX ||
	    opt.window == 0 || (opt.upload_after_ms > 0 && opt.byte_ms > 0) ||
	    (opt.raw_file != NULL) + (opt.hex_file != NULL) + (opt.list != NULL) > 1) {
		usage(stderr);
		exit(2);
	}
}

/* --- The byte strings. --- */

static void
read_file(const char *path, struct bytes *b)
{
	b->p = pt_read_file(PROG, path, &b->len);
}

static void
load_strings(void)
{
	char line[LIST_LINE_MAX];
	FILE *f;
	size_t n;

	if (opt.raw_file != NULL || opt.hex_file != NULL) {
		read_file(opt.raw_file != NULL ? opt.raw_file : opt.hex_file, &files[0]);
		if (opt.hex_file != NULL)
			files[0].len = pt_unhex(PROG, opt.hex_file, files[0].p, files[0].len);
		file_count = 1;
		return;
	}
	if (opt.list == NULL) {
		file_count = 1;		/* one empty string: send nothing */
		return;
	}
	if ((f = fopen(opt.list, "r")) == NULL)
		pt_die(PROG, "%s:", opt.list);
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strcspn(line, "\n");
		line[n] = '\0';
		if (n == 0)
			continue;
		if (file_count == LIST_MAX)
			pt_die(PROG, "%s: more than %u files", opt.list, LIST_MAX);
		read_file(line, &files[file_count++]);
	}
	fclose(f);
	if (file_count == 0)
		pt_die(PROG, "%s: names no file", opt.list);
}

/* --- Queues of connections waiting for a time. --- */

static void
queue_init(struct queue *q, size_t cap)
{
	q->ring = calloc(cap, sizeof(*q->ring));
	if (q->ring == NULL)
		pt_die(PROG, "out of memory");
	q->cap = cap;
}

static void
queue_push(struct queue *q, uint32_t i)
{
	if (q->len == q->cap)
		pt_die(PROG, "queue overflow");	/* each connection is in a queue once */
	q->ring[(q->head + q->len++) % q->cap] = i;
}

/* The oldest entry, or -1. */
static long
queue_peek(const struct queue *q)
{
	return q->len > 0 ? (long)q->ring[q->head] : -1;
}

static void
queue_pop(struct queue *q)
{
	q->head = (q->head + 1) % q->cap;
	q->len--;
}

/* --- Connections. --- */

static int
fconn_done(const struct fconn *c)
{
	return c->state >= ST_FIN;
}

/* Ends a connection: state says how; its fd is closed (a reset if aborted). */
static void
fconn_end(struct fconn *c, enum state st, int err, uint64_t now)
{
	if (c->state == ST_OPEN)
		run.open--;
	if (st == ST_ABORTED)
		sock_abort_on_close(c->fd);
	close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
	c->state = (uint8_t)st;
	c->err = err;
	c->end_ms = now;
}

static void
fconn_watch(struct fconn *c, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)(c - conns) };

	if (epoll_ctl(epfd, op, c->fd, &ev) != 0)
		pt_die(PROG, "epoll_ctl:");
}

/* Everything is sent: schedule the abort if asked. */
static void
fconn_all_sent(struct fconn *c, uint64_t now)
{
	if (opt.shutdown)
		(void)shutdown(c->fd, SHUT_WR);
	if (opt.abort_after_ms > 0 && c->abort_ms == 0) {
		c->abort_ms = now + opt.abort_after_ms;
		queue_push(&abort_q, (uint32_t)(c - conns));
	}
}

/*
 * Sends what is due: with --byte-ms one byte (the caller schedules the
 * next), else the rest of the string and the upload until the socket is
 * full. Returns 0, or -1 when the connection ended.
 */
static int
fconn_send(struct fconn *c, uint64_t now)
{
	const struct bytes *s = &files[c->file];
	size_t len;
	ssize_t n;

	for (;;) {
		if (c->off < s->len) {
			len = opt.byte_ms > 0 ? 1 : s->len - c->off;
			n = send(c->fd, s->p + c->off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else if (c->upload_left > 0 && now >= c->up_ms + opt.upload_after_ms) {
			len = c->upload_left < sizeof(iobuf) ? (size_t)c->upload_left : sizeof(iobuf);
			pt_pattern_fill(iobuf, len, c->sent - s->len);
			n = send(c->fd, iobuf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!c->want_out) {
					c->want_out = 1;
					fconn_watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
				}
				return 0;
			}
			fconn_end(c, ST_RESET, errno, now);
			return -1;
		}
		c->sent += (uint64_t)n;
		run.sent += (uint64_t)n;
		if (c->off < s->len) {
			c->off += (uint32_t)n;
			if (opt.byte_ms > 0)
				break;
		} else {
			c->upload_left -= (uint64_t)n;
		}
	}
	if (c->want_out && (c->off < s->len ? opt.byte_ms > 0 : c->upload_left == 0)) {
		c->want_out = 0;
		fconn_watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
	}
	if (c->off == s->len && c->upload_left == 0)
		fconn_all_sent(c, now);
	return 0;
}

/* Reads (and discards) what came; notes a FIN or a reset. */
static void
fconn_readable(struct fconn *c, uint64_t now)
{
	socklen_t len = sizeof(int);
	int err = 0;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, iobuf, DRAIN_BYTES, MSG_DONTWAIT);
		if (n > 0) {
			c->received += (uint64_t)n;
			run.received += (uint64_t)n;
			continue;
		}
		if (n == 0) {
			fconn_end(c, ST_FIN, 0, now);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* EPOLLERR with nothing to read: the pending error says why. */
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
				fconn_end(c, ST_RESET, err, now);
			return;
		}
		fconn_end(c, ST_RESET, errno, now);
		return;
	}
}

/* The local port of a connected socket (0 if unknown). */
static uint16_t
fconn_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The connect finished (or failed). */
static void
fconn_up(struct fconn *c, uint64_t now)
{
	socklen_t len = sizeof(int);
	int err = 0;

	run.connecting--;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		run.failed++;
		fconn_end(c, ST_FAILED, err, now);
		return;
	}
	c->state = ST_OPEN;
	c->up_ms = now;
	c->port = fconn_port(c->fd);
	if (run.up++ == 0)
		run.first_ms = now;
	run.open++;
	run.last_up_ms = now;
	fconn_watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
	if (fconn_send(c, now) != 0)
		return;
	if (opt.byte_ms > 0 && c->off < files[c->file].len) {
		c->next_ms = now + opt.byte_ms;
		queue_push(&byte_q, (uint32_t)(c - conns));
	} else if (opt.upload_after_ms > 0 && c->upload_left > 0) {
		c->next_ms = now + opt.upload_after_ms;	/* timers_run() sends it then */
		queue_push(&byte_q, (uint32_t)(c - conns));
	}
}

static void
fconn_start(struct fconn *c)
{
	int one = 1, fd;

	fd = socket(target.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		pt_die(PROG, "socket (connection %ld):", (long)(c - conns));
	pt_nodelay(fd);
	if (opt.bind != NULL) {
		/* The port is picked at connect, per destination: not one per bind. */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, &source.u.sa, source.len) != 0)
			pt_die(PROG, "bind %s:", opt.bind);
	}
	c->fd = fd;
	c->state = ST_CONNECTING;
	c->start_ms = pt_now_ms();
	c->file = (uint16_t)((size_t)(c - conns) % file_count);
	c->upload_left = opt.upload;
	run.started++;
	run.connecting++;
	if (connect(fd, &target.u.sa, target.len) != 0 && errno != EINPROGRESS) {
		run.connecting--;
		run.failed++;
		fconn_end(c, ST_FAILED, errno, pt_now_ms());
		return;
	}
	/* Completion (or failure) shows as EPOLLOUT either way. */
	fconn_watch(c, EPOLL_CTL_ADD, EPOLLOUT);
}

/* --- Timers: bytes due, aborts due, progress. --- */

static void
timers_run(uint64_t now)
{
	struct fconn *c;
	long i;

	while ((i = queue_peek(&byte_q)) >= 0 && conns[i].next_ms <= now) {
		queue_pop(&byte_q);
		c = &conns[i];
		if (c->state != ST_OPEN)
			continue;
		if (fconn_send(c, now) == 0 && c->off < files[c->file].len) {
			c->next_ms += opt.byte_ms;
			queue_push(&byte_q, (uint32_t)i);
		}
	}
	while ((i = queue_peek(&abort_q)) >= 0 && conns[i].abort_ms <= now) {
		queue_pop(&abort_q);
		c = &conns[i];
		if (c->state == ST_OPEN)
			fconn_end(c, ST_ABORTED, 0, now);
	}
}

/* Milliseconds until the next timer, or -1 for none. */
static int
timers_next(uint64_t now, uint64_t progress_at, uint64_t deadline)
{
	uint64_t next = deadline;
	long i;

	if ((i = queue_peek(&byte_q)) >= 0 && conns[i].next_ms < next)
		next = conns[i].next_ms;
	if ((i = queue_peek(&abort_q)) >= 0 && conns[i].abort_ms < next)
		next = conns[i].abort_ms;
	if (progress_at != 0 && progress_at < next)
		next = progress_at;
	if (next == UINT64_MAX)
		return -1;
	return next > now ? (int)(next - now) : 0;
}

/* --- The report. --- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(void)
{
	unsigned long by[ST_ABORTED + 1] = { 0 }, closed = 0;
	uint64_t *ms = calloc(opt.count + 1, sizeof(*ms));
	uint64_t from_start_min = UINT64_MAX, from_start_max = 0, d;
	struct fconn *c;

	if (ms == NULL)
		pt_die(PROG, "out of memory");
	for (unsigned long i = 0; i < opt.count; i++) {
		c = &conns[i];
		by[c->state]++;
		if (c->state == ST_FIN || c->state == ST_RESET) {
			ms[closed++] = c->end_ms - c->up_ms;
			d = c->end_ms - c->start_ms;
			from_start_min = d < from_start_min ? d : from_start_min;
			from_start_max = d > from_start_max ? d : from_start_max;
		}
		if (!opt.per_conn)
			continue;
		printf("conn %lu state=%s up_ms=", i, state_names[c->state]);
		if (c->up_ms != 0)
			printf("%llu", (unsigned long long)(c->up_ms - run.first_ms));
		else
			printf("-");
		if (c->state == ST_FIN || c->state == ST_RESET || c->state == ST_ABORTED)
			printf(" close_ms=%llu", (unsigned long long)(c->end_ms - c->up_ms));
		else
			printf(" close_ms=-");
		if (c->state >= ST_FIN && c->state != ST_FAILED)
			printf(" from_start_ms=%llu", (unsigned long long)(c->end_ms - c->start_ms));
		else
			printf(" from_start_ms=-");
		printf(" sent=%llu received=%llu err=%s port=%u\n", (unsigned long long)c->sent,
		    (unsigned long long)c->received, c->err != 0 ? strerrorname_np(c->err) : "-",
		    (unsigned)c->port);
	}
	qsort(ms, closed, sizeof(*ms), cmp_u64);
	printf("result count=%lu up=%lu failed=%lu closed=%lu fin=%lu reset=%lu aborted=%lu "
	    "open=%lu min_ms=%llu p50_ms=%llu max_ms=%llu start_min_ms=%llu start_max_ms=%llu "
	    "sent=%llu received=%llu\n",
	    opt.count, run.up, by[ST_FAILED], closed, by[ST_FIN], by[ST_RESET], by[ST_ABORTED],
	    by[ST_OPEN] + by[ST_CONNECTING] + by[ST_IDLE],
	    (unsigned long long)(closed > 0 ? ms[0] : 0),
	    (unsigned long long)(closed > 0 ? ms[(closed - 1) / 2] : 0),
	    (unsigned long long)(closed > 0 ? ms[closed - 1] : 0),
	    (unsigned long long)(closed > 0 ? from_start_min : 0),
	    (unsigned long long)from_start_max,
	    (unsigned long long)run.sent, (unsigned long long)run.received);
	fflush(stdout);
	free(ms);
}

static void
progress(uint64_t now)
{
	unsigned long closed = 0;

	for (unsigned long i = 0; i < opt.count; i++)
		closed += conns[i].state == ST_FIN || conns[i].state == ST_RESET;
	printf("progress ms=%llu sent=%llu received=%llu open=%lu closed=%lu\n",
	    (unsigned long long)(run.up > 0 ? now - run.first_ms : 0),
	    (unsigned long long)run.sent, (unsigned long long)run.received, run.open, closed);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[EVENTS_MAX];
	struct sigaction sa;
	struct rlimit rl;
	uint64_t now, deadline = UINT64_MAX, progress_at = 0;
	unsigned long next = 0;
	int n, ready_said = 0;

	parse_args(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: epoll_wait returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	pt_addr(PROG, &target, opt.connect, ADDR_RESOLVE);
	if (opt.bind != NULL) {
		char text[ADDR_STRLEN + 8];

		/* addr_parse wants a port; 1 is replaced by 0 (any) below. */
		snprintf(text, sizeof(text), "%s:1", opt.bind);
		pt_addr(PROG, &source, text, 0);
		if (source.u.sa.sa_family == AF_INET6)
			source.u.in6.sin6_port = 0;
		else
			source.u.in.sin_port = 0;
	}
	load_strings();
	if ((conns = calloc(opt.count, sizeof(*conns))) == NULL)
		pt_die(PROG, "out of memory");
	queue_init(&byte_q, opt.count);
	queue_init(&abort_q, opt.count);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		pt_die(PROG, "epoll_create1:");
	if (opt.progress_ms > 0)
		progress_at = pt_now_ms() + opt.progress_ms;

	while (!stop) {
		now = pt_now_ms();
		while (next < opt.count && run.connecting < opt.window)
			fconn_start(&conns[next++]);
		if (!ready_said && next == opt.count && run.connecting == 0) {
			printf("ready up=%lu failed=%lu\n", run.up, run.failed);
			fflush(stdout);
			ready_said = 1;
			deadline = (run.up > 0 ? run.last_up_ms : now) + opt.wait_ms;
		}
		timers_run(now);
		if (progress_at != 0 && now >= progress_at) {
			progress(now);
			progress_at += opt.progress_ms;
		}
		if (ready_said && (run.open == 0 || now >= deadline))
			break;
		n = epoll_wait(epfd, evs, EVENTS_MAX, timers_next(now, progress_at, deadline));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pt_die(PROG, "epoll_wait:");
		}
		now = pt_now_ms();
		for (int i = 0; i < n; i++) {
			struct fconn *c = &conns[evs[i].data.u32];

			if (c->state == ST_CONNECTING) {
				fconn_up(c, now);
				continue;
			}
			if (c->state != ST_OPEN)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
				fconn_readable(c, now);
			if (c->state == ST_OPEN && (evs[i].events & EPOLLOUT))
				fconn_send(c, now);
		}
	}
	if (opt.progress_ms > 0)
		progress(pt_now_ms());
	report();
	for (unsigned long i = 0; i < opt.count; i++)
		if (conns[i].fd > 0 && !fconn_done(&conns[i]))
			close(conns[i].fd);
	for (unsigned i = 0; i < file_count; i++)
		free(files[i].p);
	free(byte_q.ring);
	free(abort_q.ring);
	free(conns);
	return 0;
}
