/* ptsink.c -- a test TCP backend that logs each connection's ClientHello (SNI, size, hash) and then answers as told. */
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>

#include "clienthello.h"
#include "pttools.h"
#include "tunables.h"

#define PROG "ptsink"
/* The hello buffer starts here and doubles up to the parser's limit. */
#define HELLO_CAP_INITIAL 4096u

enum mode {
	MODE_DRAIN,		/* read until EOF, then close (the default) */
	MODE_HOLD,		/* after the hello, stop reading; close only when the sink exits */
	MODE_CLOSE_AFTER_HELLO,	/* close as soon as the hello is in */
	MODE_REPLY_AFTER_EOF,	/* read until EOF, send N pattern bytes, close */
	MODE_SEND_THEN_SHUTDOWN,	/* after the hello send N pattern bytes, shut down writes, read until EOF */
	MODE_ECHO,		/* send back every byte received; pass EOF on */
};

enum phase { PH_READ, PH_SEND, PH_HELD };

struct sconn {
	struct sconn *prev, *next;	/* every open connection, to free them at exit */
	int fd;
	enum phase phase;
	int hello_state;	/* 0 parsing, 1 logged, 2 refused (logged) */
	int eof;		/* the peer shut its writes down */
	int out_shut;		/* we shut ours down */
	uint8_t *hello;		/* the wire bytes while the hello is parsed */
	uint32_t hello_len, hello_cap;
	struct hello_parser parser;
	uint64_t in, out, reply_left;
	uint64_t in_fnv;
	uint64_t post, post_bad;	/* bytes after the hello; how many differ from the pattern */
	uint8_t *echo;		/* echo mode: received bytes not yet sent back */
	uint32_t echo_len, echo_off;
};

static struct {
	const char *tag, *log_path, *listen, *port_file;
	enum mode mode;
	uint64_t count;		/* N of --reply-after-eof / --send-then-shutdown */
	unsigned send_after_ms;	/* --send-after-ms: --send-then-shutdown waits this long first */
	int log_fd;
} opt = { .tag = "sink", .listen = "127.0.0.1:0", .log_fd = STDOUT_FILENO };

static volatile sig_atomic_t stop, quit, resume;
static struct sconn *conns;
static uint8_t scratch[MAX_HELLO_BYTES];
static uint8_t iobuf[PT_IO_BYTES];
static int epfd;

/*
 * Echo buffers (a whole hello plus one read: over 1 MiB) go back to a pool
 * for the next connection. A malloc and free of 1 MiB per connection cost
 * under ASan, whose allocator maps and unmaps such blocks each time, an
 * mmap, the page faults and a munmap with a TLB shootdown: an echo load
 * through the sanitized sink ran at 1/15 of its plain speed.
 */
#define ECHO_BUF_BYTES (MAX_HELLO_BYTES + PT_IO_BYTES)
#define ECHO_POOL_MAX 256u
static uint8_t *echo_pool[ECHO_POOL_MAX];
static unsigned echo_pooled;

static uint8_t *
echo_get(void)
{
	return echo_pooled > 0 ? echo_pool[--echo_pooled] : malloc(ECHO_BUF_BYTES);
}

static void
echo_put(uint8_t *b)
{
	if (b != NULL && echo_pooled < ECHO_POOL_MAX)
		echo_pool[echo_pooled++] = b;
	else
		free(b);
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		quit = 1;
	else if (sig == SIGUSR2)
		resume = 1;
	else
		stop = 1;
}

/* One log line, one write: sinks sharing a log file never interleave mid-line. */
static void __attribute__((format(printf, 1, 2)))
logline(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pt_vlogline(PROG, opt.log_fd, opt.tag, fmt, ap);
	va_end(ap);
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ptsink [--listen ADDR] [--port-file FILE] [--tag TAG] [--log FILE] [MODE]\n"
	    "  Accepts many connections; logs one line per accept, per ClientHello\n"
	    "  (\"TAG hello sni=NAME|- hello_bytes=N fnv=HEX\") and per close.\n"
	    "  --listen ADDR     address to listen on (default 127.0.0.1:0, a free port)\n"
	    "  --port-file FILE  write the port listened on into FILE\n"
	    "modes:\n"
	    "  (none)                   read until EOF, then close\n"
	    "  --hold                   after the hello, do nothing; keep the connection\n"
	    "  --close-after-hello      close once the hello is in\n"
	    "  --reply-after-eof N      read until EOF, send N pattern bytes, close\n"
	    "  --send-then-shutdown N   after the hello send N pattern bytes, shutdown(SHUT_WR),\n"
	    "                           read until EOF, close\n"
	    "  --send-after-ms M        ... waiting M ms after the hello first (the whole\n"
	    "                           sink pauses: for one connection at a time)\n"
	    "  --echo                   send back every byte; pass EOF on\n"
	    "signals: SIGTERM, SIGINT: exit now; SIGUSR1: a graceful stop: accept what\n"
	    "  is queued, close the listener (\"TAG listener closed\"), finish the open\n"
	    "  connections, then exit; SIGUSR2 (--hold): every held connection and every\n"
	    "  new one reads until EOF, then closes, as without a mode\n");
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "tag", required_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'o' },
		{ "hold", no_argument, NULL, 'H' },
		{ "close-after-hello", no_argument, NULL, 'C' },
		{ "reply-after-eof", required_argument, NULL, 'R' },
		{ "send-then-shutdown", required_argument, NULL, 'S' },
		{ "send-after-ms", required_argument, NULL, 'W' },
		{ "echo", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "l:p:t:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': opt.listen = optarg; break;
		case 'p': opt.port_file = optarg; break;
		case 't': opt.tag = optarg; break;
		case 'o': opt.log_path = optarg; break;
		case 'H': opt.mode = MODE_HOLD; break;
		case 'C': opt.mode = MODE_CLOSE_AFTER_HELLO; break;
		case 'R':
			opt.mode = MODE_REPLY_AFTER_EOF;
			opt.count = pt_number(PROG, "--reply-after-eof", optarg);
			break;
		case 'S':
			opt.mode = MODE_SEND_THEN_SHUTDOWN;
			opt.count = pt_number(PROG, "--send-then-shutdown", optarg);
			break;
		case 'W':
			opt.send_after_ms = (unsigned)pt_number(PROG, "--send-after-ms", optarg);
			break;
		case 'E': opt.mode = MODE_ECHO; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

static void
watch(struct sconn *c, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(epfd, op, c->fd, &ev) != 0)
		pt_die(PROG, "epoll_ctl:");
}

static void
sconn_close(struct sconn *c)
{
	logline("close in=%llu in_fnv=%016llx post=%llu post_pattern=%s out=%llu",
	    (unsigned long long)c->in, (unsigned long long)c->in_fnv,
	    (unsigned long long)c->post, c->post_bad == 0 ? "ok" : "bad",
	    (unsigned long long)c->out);
	close(c->fd);	/* also removes it from the epoll set */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->hello);
	echo_put(c->echo);
	free(c);
}

/* Counts bytes after the hello and checks them against the pattern from offset 0. */
static void
sconn_post(struct sconn *c, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		c->post_bad += p[i] != pt_pattern_byte(c->post + i);
	c->post += len;
}

/* The hello is in (or refused): log it, and enter the mode's next phase. */
static void
sconn_hello_done(struct sconn *c, enum hello_status st, const struct hello_info *info)
{
	uint32_t end;

	if (st == HELLO_OK) {
		end = info->hello_end;
		logline("hello sni=%.*s hello_bytes=%u fnv=%016llx records=%u",
		    info->sni != NULL ? (int)info->sni_len : 1,
		    info->sni != NULL ? (const char *)info->sni : "-", end,
		    (unsigned long long)pt_fnv(FNV64_BASIS, c->hello, end),
		    info->records);
		c->hello_state = 1;
	} else {
		end = c->hello_len;
		logline("hello-refused status=%d reason=%s bytes=%u", (int)st,
		    hello_reason_str(info->reason), end);
		c->hello_state = 2;
	}
	sconn_post(c, c->hello + end, c->hello_len - end);
	if (opt.mode == MODE_ECHO) {
		memcpy(c->echo, c->hello, c->hello_len);
		c->echo_len = c->hello_len;
	}
	free(c->hello);
	c->hello = NULL;
	if (opt.mode == MODE_HOLD) {
		c->phase = PH_HELD;
		watch(c, EPOLL_CTL_DEL, 0);
	} else if (opt.mode == MODE_SEND_THEN_SHUTDOWN) {
		if (opt.send_after_ms > 0)
			pt_sleep_ms(opt.send_after_ms);
		c->reply_left = opt.count;
		c->phase = PH_SEND;
	}
}

/* Feeds received bytes to the hello parser while the hello is not complete. */
static void
sconn_hello_feed(struct sconn *c, const uint8_t *p, size_t len)
{
	struct hello_info info;
	enum hello_status st;
	uint32_t want;
	uint8_t *np;

	while (c->hello_len + len > c->hello_cap) {
		want = c->hello_cap * 2;
		if ((np = realloc(c->hello, want)) == NULL)
			pt_die(PROG, "out of memory");
		c->hello = np;
		c->hello_cap = want;
	}
	memcpy(c->hello + c->hello_len, p, len);
	c->hello_len += (uint32_t)len;
	memset(&info, 0, sizeof(info));
	st = hello_parse(&c->parser, c->hello, c->hello_len, scratch, sizeof(scratch), &info);
	if (st != HELLO_NEED_MORE)
		sconn_hello_done(c, st, &info);
}

/* Sends what the mode has to send. Returns 0 on progress or wait, -1 when closed. */
static int
sconn_send(struct sconn *c)
{
	ssize_t n;
	size_t len;

	for (;;) {
		if (opt.mode == MODE_ECHO) {
			len = c->echo_len - c->echo_off;
			if (len == 0)
				break;
			n = send(c->fd, c->echo + c->echo_off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			if (c->reply_left == 0)
				break;
			len = c->reply_left < PT_IO_BYTES ? (size_t)c->reply_left : PT_IO_BYTES;
			pt_pattern_fill(iobuf, len, c->out);
			n = send(c->fd, iobuf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				watch(c, EPOLL_CTL_MOD, EPOLLOUT);
				return 0;
			}
			sconn_close(c);
			return -1;
		}
		c->out += (uint64_t)n;
		if (opt.mode == MODE_ECHO) {
			c->echo_off += (uint32_t)n;
			if (c->echo_off == c->echo_len)
				c->echo_off = c->echo_len = 0;
		} else {
			c->reply_left -= (uint64_t)n;
		}
	}
	/* All sent. */
	if (opt.mode == MODE_REPLY_AFTER_EOF) {
		sconn_close(c);
		return -1;
	}
	if (opt.mode == MODE_SEND_THEN_SHUTDOWN || (opt.mode == MODE_ECHO && c->eof)) {
		if (!c->out_shut) {
			shutdown(c->fd, SHUT_WR);
			c->out_shut = 1;
		}
		if (c->eof) {
			sconn_close(c);
			return -1;
		}
	}
	c->phase = PH_READ;
	watch(c, EPOLL_CTL_MOD, EPOLLIN);
	return 0;
}

/* The peer's EOF: what happens depends on the mode. */
static void
sconn_eof(struct sconn *c)
{
	c->eof = 1;
	switch (opt.mode) {
	case MODE_REPLY_AFTER_EOF:
		c->reply_left = opt.count;
		c->phase = PH_SEND;
		sconn_send(c);
		return;
	case MODE_ECHO:
		c->phase = PH_SEND;
		sconn_send(c);
		return;
	case MODE_SEND_THEN_SHUTDOWN:
		if (c->reply_left > 0) {
			/* Still sending: finish that first, then close. */
			watch(c, EPOLL_CTL_MOD, EPOLLOUT);
			return;
		}
		sconn_close(c);
		return;
	default:
		sconn_close(c);
		return;
	}
}

static void
sconn_readable(struct sconn *c)
{
	ssize_t n;

	for (;;) {
		/* Echo reads only once all it read before went back (phase PH_READ). */
		n = recv(c->fd, iobuf, PT_IO_BYTES, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				sconn_close(c);
			return;
		}
		if (n == 0) {
			sconn_eof(c);
			return;
		}
		c->in += (uint64_t)n;
		c->in_fnv = pt_fnv(c->in_fnv, iobuf, (size_t)n);
		if (c->hello_state == 0) {
			sconn_hello_feed(c, iobuf, (size_t)n);
			if (opt.mode == MODE_CLOSE_AFTER_HELLO && c->hello_state != 0) {
				sconn_close(c);
				return;
			}
			if (c->phase == PH_HELD)
				return;
		} else {
			sconn_post(c, iobuf, (size_t)n);
			if (opt.mode == MODE_ECHO) {
				memcpy(c->echo, iobuf, (size_t)n);
				c->echo_len = (uint32_t)n;
			}
		}
		if (c->phase == PH_SEND || (opt.mode == MODE_ECHO && c->echo_len > 0)) {
			c->phase = PH_SEND;
			if (sconn_send(c) != 0 || c->phase == PH_SEND)
				return;
		}
	}
}

static void
sink_accept(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char peer[ADDR_STRLEN];
	struct sconn *c;
	struct addr a;
	int fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, PROG ": accept: %s\n", strerror(errno));
			return;
		}
		addr_from_sockaddr(&a, (struct sockaddr *)&ss, len);
		logline("accept peer=%s", addr_format(&a, peer, sizeof(peer)));
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->hello = malloc(HELLO_CAP_INITIAL)) == NULL)
			pt_die(PROG, "out of memory");
		/* Echo needs room for the whole hello, sent back after it is parsed. */
		if (opt.mode == MODE_ECHO &&
		    (c->echo = echo_get()) == NULL)
			pt_die(PROG, "out of memory");
		c->fd = fd;
		c->next = conns;
		if (conns != NULL)
			conns->prev = c;
		conns = c;
		c->hello_cap = HELLO_CAP_INITIAL;
		c->in_fnv = FNV64_BASIS;
		hello_parser_init(&c->parser, MAX_HELLO_BYTES);
		pt_nodelay(fd);
		watch(c, EPOLL_CTL_ADD, EPOLLIN);
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256], lev = { .events = EPOLLIN, .data.ptr = NULL };
	struct sigaction sa;
	struct sconn *c;
	int lfd, n;

	parse_args(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: epoll_wait returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (opt.log_path != NULL &&
	    (opt.log_fd = open(opt.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		pt_die(PROG, "%s:", opt.log_path);
	lfd = pt_listen(PROG, opt.listen, SOCK_NONBLOCK);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		pt_die(PROG, "epoll_create1:");
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) != 0)
		pt_die(PROG, "epoll_ctl:");
	if (opt.port_file != NULL)
		pt_write_port(PROG, lfd, opt.port_file);
	while (!stop) {
		if (quit && lfd >= 0) {
			/* What the kernel queued is ours to finish; closing would reset it. */
			sink_accept(lfd);
			close(lfd);
			lfd = -1;
			logline("listener closed");
		}
		if (quit && conns == NULL)
			break;
		if (resume && opt.mode == MODE_HOLD) {
			opt.mode = MODE_DRAIN;
			for (c = conns; c != NULL; c = c->next) {
				if (c->phase != PH_HELD)
					continue;
				c->phase = PH_READ;
				watch(c, EPOLL_CTL_ADD, EPOLLIN);
			}
		}
		n = epoll_wait(epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pt_die(PROG, "epoll_wait:");
		}
		for (int i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c == NULL)
				sink_accept(lfd);
			else if (c->phase == PH_SEND)
				sconn_send(c);
			else
				sconn_readable(c);
		}
	}
	while (conns != NULL) {
		c = conns;
		conns = c->next;
		close(c->fd);
		free(c->hello);
		free(c->echo);
		free(c);
	}
	while (echo_pooled > 0)
		free(echo_pool[--echo_pooled]);
	return 0;
}
