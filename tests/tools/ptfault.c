/* ptfault.c -- a test backend that fails on purpose (resets mid-stream) and logs how each of its connections ended: FIN, reset, or reset by itself. */
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>

#include "pttools.h"

#define PROG "ptfault"
/* What --reset-after waits, after its bytes went out, before the reset. ms */
#define DELAY_DEFAULT_MS 200u
/* Connections one process serves at once (the tests need a few). */
#define CONNS_MAX 1024u

enum how { HOW_FIN, HOW_RESET, HOW_ABORTED };
static const char *const how_names[] = {
	[HOW_FIN] = "fin", [HOW_RESET] = "reset", [HOW_ABORTED] = "aborted",
};

struct bconn {
	int fd;			/* -1: slot free */
	int replied;		/* --reset-after: its bytes went out */
	uint64_t abort_ms;	/* when to reset it; 0: not scheduled */
	uint64_t in, out;
};

static struct {
	const char *tag, *log_path, *listen, *port_file;
	unsigned long reset_after, delay_ms, reply_after_ms;
	int reset_mode, shutdown_first;
	int log_fd;
} opt = { .tag = "fault", .listen = "127.0.0.1:0", .delay_ms = DELAY_DEFAULT_MS,
	.log_fd = STDOUT_FILENO };

static struct bconn conns[CONNS_MAX];
static volatile sig_atomic_t stop;
static uint8_t iobuf[PT_IO_BYTES];
static int epfd;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* One log line, one write: lines never interleave in a shared log. */
static void __attribute__((format(printf, 1, 2)))
logline(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pt_vlogline(PROG, opt.log_fd, opt.tag, fmt, ap);
	va_end(ap);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ptfault [--listen ADDR] [--port-file FILE] [--tag TAG] [--log FILE] [MODE]\n"
	    "  Logs \"TAG accept peer=ADDR\" per connection and, when it ends,\n"
	    "  \"TAG end how=fin|reset|aborted in=N out=M err=NAME\" (aborted: this\n"
	    "  backend reset it; reset: the peer did).\n"
	    "  --listen ADDR     address to listen on (default 127.0.0.1:0, a free port)\n"
	    "  --port-file FILE  write the port listened on into FILE\n"
	    "modes:\n"
	    "  (none)              read until EOF or an error\n"
	    "  --reset-after N     once the first bytes came, send N pattern bytes, wait\n"
	    "                      --delay-ms (default %u), then close with a reset\n"
	    "                      (SO_LINGER 0), whatever is still unread\n"
	    "  --shutdown-first    ... shutting its writes down (a FIN) before the wait\n"
	    "  --reply-after-ms M  ... sending only M ms after the first bytes (the whole\n"
	    "                      tool pauses: for one connection at a time)\n",
	    DELAY_DEFAULT_MS);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "tag", required_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'o' },
		{ "reset-after", required_argument, NULL, 'r' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "shutdown-first", no_argument, NULL, 's' },
		{ "reply-after-ms", required_argument, NULL, 'a' },
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
		case 'r':
			opt.reset_after = pt_number(PROG, "--reset-after", optarg);
			opt.reset_mode = 1;
			break;
		case 'd': opt.delay_ms = pt_number(PROG, "--delay-ms", optarg); break;
		case 's': opt.shutdown_first = 1; break;
		case 'a': opt.reply_after_ms = pt_number(PROG, "--reply-after-ms", optarg); break;
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
bconn_end(struct bconn *c, enum how how, int err)
{
	if (how == HOW_ABORTED)
		sock_abort_on_close(c->fd);
	logline("end how=%s in=%llu out=%llu err=%s", how_names[how],
	    (unsigned long long)c->in, (unsigned long long)c->out,
	    err != 0 ? strerrorname_np(err) : "-");
	close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
}

/* --reset-after: the bytes go out once; the socket buffer takes them (tests keep N small). */
static void
bconn_reply(struct bconn *c)
{
	uint64_t left = opt.reset_after;
	size_t len;
	ssize_t n;

	c->replied = 1;
	if (opt.reply_after_ms > 0)
		pt_sleep_ms((unsigned)opt.reply_after_ms);
	while (left > 0) {
		len = left < sizeof(iobuf) ? (size_t)left : sizeof(iobuf);
		pt_pattern_fill(iobuf, len, c->out);
		n = send(c->fd, iobuf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;	/* full or broken: the reset comes anyway */
		}
		c->out += (uint64_t)n;
		left -= (uint64_t)n;
	}
	if (opt.shutdown_first)
		(void)shutdown(c->fd, SHUT_WR);
	c->abort_ms = pt_now_ms() + opt.delay_ms;
}

static void
bconn_readable(struct bconn *c)
{
	ssize_t n;

	for (;;) {
		n = recv(c->fd, iobuf, sizeof(iobuf), MSG_DONTWAIT);
		if (n > 0) {
			c->in += (uint64_t)n;
			continue;
		}
		if (n == 0) {
			bconn_end(c, HOW_FIN, 0);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			bconn_end(c, HOW_RESET, errno);
			return;
		}
		break;
	}
	if (opt.reset_mode && !c->replied && c->in > 0)
		bconn_reply(c);
}

static void
fault_accept(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char peer[ADDR_STRLEN];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct addr a;
	unsigned i;
	int fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < CONNS_MAX && conns[i].fd >= 0; i++)
			;
		if (i == CONNS_MAX) {
			fprintf(stderr, PROG ": more than %u connections: closing one\n", CONNS_MAX);
			close(fd);
			continue;
		}
		addr_from_sockaddr(&a, (struct sockaddr *)&ss, len);
		logline("accept peer=%s", addr_format(&a, peer, sizeof(peer)));
		memset(&conns[i], 0, sizeof(conns[i]));
		conns[i].fd = fd;
		pt_nodelay(fd);
		ev.data.u32 = i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			pt_die(PROG, "epoll_ctl:");
	}
}

/* Resets the connections whose time came; returns ms until the next one, or -1. */
static int
fault_timers(void)
{
	uint64_t now = pt_now_ms(), next = UINT64_MAX;

	for (unsigned i = 0; i < CONNS_MAX; i++) {
		struct bconn *c = &conns[i];

		if (c->fd < 0 || c->abort_ms == 0)
			continue;
		if (c->abort_ms <= now)
			bconn_end(c, HOW_ABORTED, 0);
		else if (c->abort_ms < next)
			next = c->abort_ms;
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[64], lev = { .events = EPOLLIN, .data.u32 = CONNS_MAX };
	struct sigaction sa;
	int lfd, n;

	parse_args(argc, argv);
	for (unsigned i = 0; i < CONNS_MAX; i++)
		conns[i].fd = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: epoll_wait returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
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
		n = epoll_wait(epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), fault_timers());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pt_die(PROG, "epoll_wait:");
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == CONNS_MAX)
				fault_accept(lfd);
			else if (conns[evs[i].data.u32].fd >= 0)
				bconn_readable(&conns[evs[i].data.u32]);
		}
	}
	for (unsigned i = 0; i < CONNS_MAX; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	return 0;
}
