/* ptshaper.c -- a TCP relay that re-shapes each client's first TLS record (one byte per write, or split into records), then relays untouched. */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>

#include "pttools.h"
#include "tls.h"
#include "tunables.h"

#define PROG "ptshaper"
#define RECORD_HEADER TLS_RECORD_HEADER_BYTES
/* A TLS record body is at most 2^14 bytes plus 2048 of expansion (RFC 5246 6.2.3). */
#define RECORD_BODY_MAX (TLS_MAX_PLAINTEXT_RECORD + 2048u)

static struct {
	const char *listen, *port_file, *target;
	unsigned long bytes_per_write, records, delay_ms;
} opt = { .listen = "127.0.0.1:0", .delay_ms = 1 };

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ptshaper --target HOST:PORT [--listen ADDR] [--port-file FILE]\n"
	    "                [--bytes-per-write N [--delay-ms M]] [--records K]\n"
	    "  For each connection: connect to the target, forward the client's first\n"
	    "  TLS record re-shaped, then relay both ways untouched (half-close kept).\n"
	    "  --listen ADDR          default 127.0.0.1:0 (a free port)\n"
	    "  --port-file FILE       write the port listened on into FILE\n"
	    "  --bytes-per-write N    write the record N bytes at a time, TCP_NODELAY,\n"
	    "  --delay-ms M           pausing M ms between writes (default 1)\n"
	    "  --records K            split the record's body into K records of the\n"
	    "                         same type and version\n");
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "target", required_argument, NULL, 't' },
		{ "bytes-per-write", required_argument, NULL, 'b' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "records", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "l:p:t:b:d:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': opt.listen = optarg; break;
		case 'p': opt.port_file = optarg; break;
		case 't': opt.target = optarg; break;
		case 'b': opt.bytes_per_write = pt_number(PROG, "--bytes-per-write", optarg); break;
		case 'd': opt.delay_ms = pt_number(PROG, "--delay-ms", optarg); break;
		case 'r': opt.records = pt_number(PROG, "--records", optarg); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || opt.target == NULL) {
		usage(stderr);
		exit(2);
	}
}

/* Reads exactly len bytes. Returns 0, or -1 at EOF or on an error. */
static int
read_full(int fd, uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Builds what goes out for the first record: itself, or its body split into records. */
static size_t
reshape(const uint8_t *rec, size_t body, uint8_t *out)
{
	size_t piece, n, len = 0;

	if (opt.records <= 1 || rec[0] != 22) {
		memcpy(out, rec, RECORD_HEADER + body);
		return RECORD_HEADER + body;
	}
	piece = (body + opt.records - 1) / opt.records;
	for (size_t off = 0; off < body; off += n) {
		n = body - off < piece ? body - off : piece;
		out[len++] = rec[0];
		out[len++] = rec[1];
		out[len++] = rec[2];
		out[len++] = (uint8_t)(n >> 8);
		out[len++] = (uint8_t)n;
		memcpy(out + len, rec + RECORD_HEADER + off, n);
		len += n;
	}
	return len;
}

/* Relays both ways until both directions saw EOF (passed on as shutdown) or an error. */
static void
relay(int cfd, int bfd)
{
	struct pollfd pfd[2] = { { .fd = cfd, .events = POLLIN }, { .fd = bfd, .events = POLLIN } };
	int dst[2] = { bfd, cfd }, open_dirs = 2;
	uint8_t buf[PT_IO_BYTES];
	ssize_t n;

	while (open_dirs > 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int d = 0; d < 2; d++) {
			if (pfd[d].fd < 0 || pfd[d].revents == 0)
				continue;
			n = recv(pfd[d].fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return;	/* a reset: closing both ends it */
			if (n == 0) {
				shutdown(dst[d], SHUT_WR);
				pfd[d].fd = -1;
				open_dirs--;
				continue;
			}
			if (pt_write_all(dst[d], buf, (size_t)n) != 0)
				return;
		}
	}
}

static void
serve(int cfd)
{
	static uint8_t rec[RECORD_HEADER + RECORD_BODY_MAX];
	static uint8_t out[2 * (RECORD_HEADER + RECORD_BODY_MAX)];
	size_t body, len, step, n, writes = 0;
	int bfd;

	bfd = pt_connect(PROG, opt.target);
	if (bfd < 0) {
		fprintf(stderr, PROG ": connect %s: %s\n", opt.target, strerror(-bfd));
		_exit(1);
	}
	pt_nodelay(cfd);
	if (read_full(cfd, rec, RECORD_HEADER) != 0)
		_exit(1);
	body = (size_t)rec[3] << 8 | rec[4];
	if (body > RECORD_BODY_MAX || read_full(cfd, rec + RECORD_HEADER, body) != 0)
		_exit(1);
	len = reshape(rec, body, out);
	step = opt.bytes_per_write > 0 ? opt.bytes_per_write : len;
	for (size_t off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		if (pt_write_all(bfd, out + off, n) != 0)
			_exit(1);
		writes++;
		if (opt.bytes_per_write > 0 && opt.delay_ms > 0 && off + n < len)
			pt_sleep_ms((unsigned)opt.delay_ms);
	}
	fprintf(stderr, PROG ": first record: %zu bytes, sent as %zu bytes in %zu writes\n",
	    RECORD_HEADER + body, len, writes);
	relay(cfd, bfd);
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	pid_t pid;
	int lfd, cfd;

	parse_args(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_flags = SA_NOCLDWAIT;	/* children are reaped by the kernel */
	sigaction(SIGCHLD, &sa, NULL);
	lfd = pt_listen(PROG, opt.listen, 0);
	if (opt.port_file != NULL)
		pt_write_port(PROG, lfd, opt.port_file);
	for (;;) {
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			pt_die(PROG, "accept:");
		}
		pid = fork();
		if (pid < 0)
			pt_die(PROG, "fork:");
		if (pid == 0) {
			/* One process per connection; it dies with the shaper. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() == 1)
				_exit(1);
			close(lfd);
			serve(cfd);
		}
		close(cfd);
	}
}
