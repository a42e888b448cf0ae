/* ptloop.c -- a test client that keeps opening connections (a ClientHello, optional pattern bytes, read to EOF) and logs every outcome. */
#include <getopt.h>
#include <poll.h>
#include <signal.h>

#include "pttools.h"

#define PROG "ptloop"
/* Connection slots one process drives at most (one pollfd each). */
#define SLOTS_MAX 1024u
/* Distinct reply sizes the summary counts separately. */
#define HIST_MAX 16u
/* Longest --expect-bytes list. */
#define EXPECT_MAX 16u
/* Room for the hello we build: a few fixed extensions and the name. */
#define HELLO_MAX 512u
/* RFC 6066 3: a host name in server_name is at most 255 bytes. */
#define SNI_MAX 255u
/*
 * Bytes one connection may send, and receive, per loop turn. Without a cap
 * one bulk transfer keeps the loop for seconds (its echo never runs dry),
 * and a connection that just came up waits that long to send its hello:
 * long enough for the proxy's hello timeout.
 */
#define TURN_BUDGET_BYTES (256u * 1024)
/* The poll wakes at least this often to start slots and expire deadlines. us */
#define POLL_TICK_US 5000u

enum result { RES_OK, RES_REFUSED, RES_RESET, RES_TIMEOUT, RES_ERROR, RES_BAD, RES_COUNT };
static const char *const result_names[RES_COUNT] = {
	"ok", "refused", "reset", "timeout", "error", "bad",
};

enum phase { P_IDLE, P_CONNECTING, P_RUNNING };

struct slot {
	int fd;
	enum phase phase;
	uint64_t start_us, next_us, deadline_us;
	uint64_t connected_us, hello_sent_us;	/* 0 until then */
	uint64_t sent;		/* bytes of the whole stream sent (hello, then pattern) */
	uint64_t received;
	uint64_t mismatches;	/* --echo: received bytes that differ from what was sent */
	int shut;		/* our writes are shut down */
};

static struct {
	const char *connect, *sni, *out;
	unsigned long concurrency, interval_ms, total, send_bytes, timeout_ms;
	unsigned long expect[EXPECT_MAX];
	unsigned expect_count;
	int echo;
} opt = { .concurrency = 1, .timeout_ms = 10000 };

static struct {
	uint64_t by_result[RES_COUNT];
	uint64_t hist_bytes[HIST_MAX], hist_count[HIST_MAX];
	unsigned hist_used;
	uint64_t other_sizes;	/* replies of sizes beyond HIST_MAX distinct ones */
	uint64_t started, done;
	uint64_t first_us, last_us;
} sum;

static uint8_t hello[HELLO_MAX];
static size_t hello_len;
static struct addr target;
static FILE *out;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	/* Wall-clock time: the test compares it with bash's $EPOCHREALTIME. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ptloop --connect HOST:PORT --hello SNI [options]\n"
	    "Keeps CONCURRENCY connections going; each one connects, sends a TLS 1.2\n"
	    "ClientHello naming SNI, then SEND pattern bytes, shuts its writes down and\n"
	    "reads until EOF (reading all along).\n"
	    "  --concurrency N     connections at once (default 1)\n"
	    "  --interval-ms M     pause of each slot between its connections (default 0)\n"
	    "  --total K           stop after K connections (default: until SIGTERM)\n"
	    "  --send-bytes N      pattern bytes sent after the hello (default 0)\n"
	    "  --echo              the peer echoes: what comes back must be the hello and\n"
	    "                      the pattern bytes, byte for byte\n"
	    "  --expect-bytes A,B  replies of another size count as \"bad\"\n"
	    "  --timeout-ms T      a connection not done after T ms is a timeout (10000)\n"
	    "  --out FILE          one line per connection (else none):\n"
	    "                      START_US END_US RESULT BYTES ERRNO_NAME CONNECTED SENT\n"
	    "                      (wall-clock microseconds; RESULT: ok refused reset\n"
	    "                      timeout error bad; CONNECTED, SENT: microseconds from\n"
	    "                      the start until the connection was up and the hello\n"
	    "                      was handed to the kernel, or -)\n"
	    "SIGTERM/SIGINT: start no more connections, finish those in flight, then\n"
	    "print on stderr \"summary total=N ok=N refused=N reset=N timeout=N error=N\n"
	    "bad=N sizes=BYTES:COUNT,...\". Exit 0 once the summary is printed.\n");
}

static void
parse_expect(const char *text)
{
	char *copy = strdup(text), *tok, *save = NULL;

	if (copy == NULL)
		pt_die(PROG, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (opt.expect_count == EXPECT_MAX)
			pt_die(PROG, "--expect-bytes: at most %u sizes", EXPECT_MAX);
		opt.expect[opt.expect_count++] = pt_number(PROG, "--expect-bytes", tok);
	}
	free(copy);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "hello", required_argument, NULL, 'H' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "total", required_argument, NULL, 'k' },
		{ "send-bytes", required_argument, NULL, 'b' },
		{ "echo", no_argument, NULL, 'e' },
		{ "expect-bytes", required_argument, NULL, 'x' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:H:n:i:k:b:ex:t:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.connect = optarg; break;
		case 'H': opt.sni = optarg; break;
		case 'n': opt.concurrency = pt_number(PROG, "--concurrency", optarg); break;
		case 'i': opt.interval_ms = pt_number(PROG, "--interval-ms", optarg); break;
		case 'k': opt.total = pt_number(PROG, "--total", optarg); break;
		case 'b': opt.send_bytes = pt_number(PROG, "--send-bytes", optarg); break;
		case 'e': opt.echo = 1; break;
		case 'x': parse_expect(optarg); break;
		case 't': opt.timeout_ms = pt_number(PROG, "--timeout-ms", optarg); break;
		case 'o': opt.out = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || opt.connect == NULL || opt.sni == NULL ||
	    opt.concurrency == 0 || opt.concurrency > SLOTS_MAX ||
	    strlen(opt.sni) > SNI_MAX || opt.timeout_ms == 0) {
		usage(stderr);
		exit(2);
	}
}

static size_t
put16(uint8_t *p, size_t at, unsigned v)
{
	p[at] = (uint8_t)(v >> 8);
	p[at + 1] = (uint8_t)v;
	return at + 2;
}

/*
 * A minimal TLS 1.2 ClientHello in one record: server_name SNI and the
 * few extensions a real client sends. The proxy only reads it; the
 * backends here are raw sinks, never TLS servers.
 */
static void
build_hello(void)
{
	static const uint8_t suites[] = { 0xc0, 0x2f, 0xc0, 0x30, 0x00, 0xff };
	static const uint8_t fixed_ext[] = {
		0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17,		/* supported_groups: secp256r1 */
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,			/* ec_point_formats: uncompressed */
		0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x01,		/* signature_algorithms */
	};
	size_t sni = strlen(opt.sni), at, body_at, ext_at, i;

	at = 0;
	hello[at++] = 22;				/* record: handshake */
	at = put16(hello, at, 0x0301);			/* record version */
	at += 2;					/* record length, below */
	hello[at++] = 1;				/* client_hello */
	at += 3;					/* message length, below */
	body_at = at;
	at = put16(hello, at, 0x0303);			/* legacy_version: TLS 1.2 */
	for (i = 0; i < 32; i++)			/* random */
		hello[at++] = (uint8_t)(i * 7 + 3);
	hello[at++] = 0;				/* legacy_session_id: empty */
	at = put16(hello, at, sizeof(suites));
	memcpy(hello + at, suites, sizeof(suites));
	at += sizeof(suites);
	hello[at++] = 1;				/* compression methods: null */
	hello[at++] = 0;
	ext_at = at;
	at += 2;					/* extensions length, below */
	at = put16(hello, at, 0x0000);			/* server_name */
	at = put16(hello, at, (unsigned)sni + 5);
	at = put16(hello, at, (unsigned)sni + 3);	/* server_name_list */
	hello[at++] = 0;				/* host_name */
	at = put16(hello, at, (unsigned)sni);
	memcpy(hello + at, opt.sni, sni);
	at += sni;
	memcpy(hello + at, fixed_ext, sizeof(fixed_ext));
	at += sizeof(fixed_ext);
	put16(hello, ext_at, (unsigned)(at - ext_at - 2));
	hello[body_at - 3] = 0;
	put16(hello, body_at - 2, (unsigned)(at - body_at));
	put16(hello, 3, (unsigned)(at - 5));
	hello_len = at;
}

/* The byte at offset i of what this client sends: the hello, then the pattern. */
static uint8_t
stream_byte(uint64_t i)
{
	return i < hello_len ? hello[i] : pt_pattern_byte(i - hello_len);
}

static void
count_size(uint64_t bytes)
{
	for (unsigned i = 0; i < sum.hist_used; i++) {
		if (sum.hist_bytes[i] == bytes) {
			sum.hist_count[i]++;
			return;
		}
	}
	if (sum.hist_used == HIST_MAX) {
		sum.other_sizes++;
		return;
	}
	sum.hist_bytes[sum.hist_used] = bytes;
	sum.hist_count[sum.hist_used++] = 1;
}

static int
expected_size(uint64_t bytes)
{
	if (opt.echo)
		return bytes == hello_len + opt.send_bytes;
	if (opt.expect_count == 0)
		return 1;
	for (unsigned i = 0; i < opt.expect_count; i++)
		if (opt.expect[i] == bytes)
			return 1;
	return 0;
}

/* Ends a slot's connection with result r (err: the errno behind it, or 0). */
static void
slot_finish(struct slot *s, enum result r, int err)
{
	uint64_t end = now_us();

	if (r == RES_OK && (!expected_size(s->received) || s->mismatches > 0))
		r = RES_BAD;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->phase = P_IDLE;
	s->next_us = end + (uint64_t)opt.interval_ms * 1000;
	sum.by_result[r]++;
	sum.done++;
	if (r == RES_OK)
		count_size(s->received);
	if (sum.first_us == 0)
		sum.first_us = s->start_us;
	sum.last_us = end;
	if (out != NULL) {
		char connected[24] = "-", sent[24] = "-";

		if (s->connected_us != 0)
			snprintf(connected, sizeof(connected), "%llu",
			    (unsigned long long)(s->connected_us - s->start_us));
		if (s->hello_sent_us != 0)
			snprintf(sent, sizeof(sent), "%llu",
			    (unsigned long long)(s->hello_sent_us - s->start_us));
		fprintf(out, "%llu %llu %s %llu %s %s %s\n", (unsigned long long)s->start_us,
		    (unsigned long long)end, result_names[r],
		    (unsigned long long)s->received, err != 0 ? strerrorname_np(err) : "-",
		    connected, sent);
	}
}

static enum result
result_of_errno(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return RES_REFUSED;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return RES_RESET;
	case ETIMEDOUT:
		return RES_TIMEOUT;
	default:
		return RES_ERROR;
	}
}

static void
slot_start(struct slot *s)
{
	int fd;

	s->start_us = now_us();
	s->deadline_us = s->start_us + (uint64_t)opt.timeout_ms * 1000;
	s->sent = s->received = s->mismatches = 0;
	s->connected_us = s->hello_sent_us = 0;
	s->shut = 0;
	sum.started++;
	fd = socket(target.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		pt_die(PROG, "socket:");
	pt_nodelay(fd);
	s->fd = fd;
	if (connect(fd, &target.u.sa, target.len) == 0) {
		s->phase = P_RUNNING;
		s->connected_us = now_us();
	} else if (errno == EINPROGRESS) {
		s->phase = P_CONNECTING;
	} else {
		s->phase = P_CONNECTING;
		slot_finish(s, result_of_errno(errno), errno);
	}
}

/* Sends what is left to send; shuts writes down once all is out. */
static void
slot_send(struct slot *s)
{
	uint8_t buf[PT_IO_BYTES];
	uint64_t total = hello_len + opt.send_bytes, budget = TURN_BUDGET_BYTES;
	size_t n;
	ssize_t w;

	while (s->sent < total && budget > 0) {
		n = total - s->sent < sizeof(buf) ? (size_t)(total - s->sent) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte(s->sent + i);
		w = send(s->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			slot_finish(s, result_of_errno(errno), errno);
			return;
		}
		s->sent += (uint64_t)w;
		budget = (uint64_t)w < budget ? budget - (uint64_t)w : 0;
		if (s->hello_sent_us == 0 && s->sent >= hello_len)
			s->hello_sent_us = now_us();
	}
	if (s->sent == total && !s->shut) {
		shutdown(s->fd, SHUT_WR);
		s->shut = 1;
	}
}

static void
slot_recv(struct slot *s)
{
	uint8_t buf[PT_IO_BYTES];
	uint64_t budget = TURN_BUDGET_BYTES;
	ssize_t n;

	while (budget > 0) {
		n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				slot_finish(s, result_of_errno(errno), errno);
			return;
		}
		if (n == 0) {
			slot_finish(s, RES_OK, 0);
			return;
		}
		if (opt.echo)
			for (ssize_t i = 0; i < n; i++)
				s->mismatches += buf[i] != stream_byte(s->received + (uint64_t)i);
		s->received += (uint64_t)n;
		budget = (uint64_t)n < budget ? budget - (uint64_t)n : 0;
	}
}

static void
slot_event(struct slot *s, short revents)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (s->phase == P_CONNECTING) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			slot_finish(s, result_of_errno(err), err);
			return;
		}
		if (!(revents & (POLLOUT | POLLIN | POLLHUP)))
			return;
		s->phase = P_RUNNING;
		s->connected_us = now_us();
	}
	if (s->phase == P_RUNNING)
		slot_send(s);
	if (s->phase == P_RUNNING)
		slot_recv(s);
}

static void
print_summary(void)
{
	fprintf(stderr, "summary total=%llu", (unsigned long long)sum.done);
	for (int r = 0; r < RES_COUNT; r++)
		fprintf(stderr, " %s=%llu", result_names[r], (unsigned long long)sum.by_result[r]);
	fprintf(stderr, " sizes=");
	for (unsigned i = 0; i < sum.hist_used; i++)
		fprintf(stderr, "%s%llu:%llu", i ? "," : "", (unsigned long long)sum.hist_bytes[i],
		    (unsigned long long)sum.hist_count[i]);
	if (sum.hist_used == 0)
		fprintf(stderr, "-");
	if (sum.other_sizes > 0)
		fprintf(stderr, ",other:%llu", (unsigned long long)sum.other_sizes);
	fprintf(stderr, " elapsed_ms=%llu\n",
	    (unsigned long long)(sum.last_us > sum.first_us ? (sum.last_us - sum.first_us) / 1000 : 0));
}

int
main(int argc, char **argv)
{
	static struct slot slots[SLOTS_MAX];
	static struct pollfd pfds[SLOTS_MAX];
	static unsigned idx[SLOTS_MAX];
	struct sigaction sa;
	struct timespec ts;
	unsigned n, active;
	uint64_t now, wake;

	parse_args(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	pt_addr(PROG, &target, opt.connect, ADDR_RESOLVE);
	build_hello();
	if (opt.out != NULL) {
		if ((out = fopen(opt.out, "w")) == NULL)
			pt_die(PROG, "%s:", opt.out);
		/* Line-buffered: the test reads the file while connections go on. */
		setvbuf(out, NULL, _IOLBF, 0);
	}
	for (unsigned i = 0; i < opt.concurrency; i++)
		slots[i].fd = -1;

	for (;;) {
		now = now_us();
		wake = now + POLL_TICK_US;
		active = 0;
		n = 0;
		for (unsigned i = 0; i < opt.concurrency; i++) {
			struct slot *s = &slots[i];

			if (s->phase == P_IDLE && !stop && now >= s->next_us &&
			    (opt.total == 0 || sum.started < opt.total))
				slot_start(s);
			if (s->phase != P_IDLE && now >= s->deadline_us)
				slot_finish(s, RES_TIMEOUT, 0);
			if (s->phase == P_IDLE) {
				if (!stop && (opt.total == 0 || sum.started < opt.total) &&
				    s->next_us < wake)
					wake = s->next_us;
				continue;
			}
			if (s->deadline_us < wake)
				wake = s->deadline_us;
			active++;
			pfds[n].fd = s->fd;
			pfds[n].events = POLLIN;
			if (s->phase == P_CONNECTING ||
			    s->sent < hello_len + opt.send_bytes)
				pfds[n].events |= POLLOUT;
			pfds[n].revents = 0;
			idx[n++] = i;
		}
		if (active == 0 && (stop || (opt.total != 0 && sum.started >= opt.total)))
			break;
		now = now_us();
		wake = wake > now ? wake - now : 0;
		ts.tv_sec = (time_t)(wake / 1000000);
		ts.tv_nsec = (long)(wake % 1000000) * 1000;
		if (ppoll(pfds, n, &ts, NULL) < 0) {
			if (errno == EINTR)
				continue;
			pt_die(PROG, "poll:");
		}
		for (unsigned j = 0; j < n; j++)
			if (pfds[j].revents != 0)
				slot_event(&slots[idx[j]], pfds[j].revents);
	}
	if (out != NULL && fclose(out) != 0)
		pt_die(PROG, "%s:", opt.out);
	print_summary();
	return 0;
}
