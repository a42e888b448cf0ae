/* ptclient.c -- a raw TCP test client: sends a ClientHello (from a file or built here) shaped as told, then reads. */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include "clienthello.h"
#include "pttools.h"
#include "tls.h"
#include "tunables.h"

#define PROG "ptclient"
/* RFC 8446 5.1: a record carries at most 2^14 bytes; record headers are 5 bytes. */
#define RECORD_MAX TLS_MAX_PLAINTEXT_RECORD
#define RECORD_HEADER TLS_RECORD_HEADER_BYTES
/* The extensions block has a 16-bit length. */
#define EXTENSIONS_MAX 65535u
/* RFC 7685: the padding extension's type. */
#define EXT_PADDING 0x0015u
/* Exit statuses beyond 0 (done) and 1 (error). */
#define EXIT_RESET 2
#define EXIT_TIMEOUT 3

static struct {
	const char *connect, *hex_file, *raw_file, *sni;
	unsigned long pad, records, record_size, chunk, delay_ms, then_bytes, then_chunk;
	unsigned long after_eof_bytes, count, timeout_ms, pattern;
	int build, shutdown, read, hold, pattern_set;
} opt = { .timeout_ms = 10000 };

static volatile sig_atomic_t stop, report;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ptclient --connect HOST:PORT [HELLO] [SHAPE] [AFTER]\n"
	    "       ptclient --pattern N       write N bytes of the test pattern to stdout\n"
	    "hello (none: send nothing):\n"
	    "  --hex-file FILE     the bytes of FILE, written in hex (whitespace ignored)\n"
	    "  --raw-file FILE     the bytes of FILE as they are\n"
	    "  --hello SNI         build a TLS 1.2 ClientHello with server_name SNI (\"-\": none)\n"
	    "  --pad N             ... with a padding extension making it N wire bytes\n"
	    "shape:\n"
	    "  --records K         re-frame the first TLS record into K records\n"
	    "  --record-size N     re-frame the first TLS record into records of N bytes\n"
	    "  --chunk N           write N bytes per write (TCP_NODELAY) ...\n"
	    "  --delay-ms M        ... pausing M ms between writes\n"
	    "after the hello:\n"
	    "  --then-bytes N      send N pattern bytes\n"
	    "  --then-chunk N      ... N bytes per write, pausing --delay-ms between writes\n"
	    "  --shutdown          shutdown(SHUT_WR) after sending\n"
	    "  --read              read until EOF, copying what came to stdout\n"
	    "  --after-eof-bytes N after reading EOF, send N pattern bytes and shut down\n"
	    "  --timeout-ms T      give up reading after T ms (default 10000; exit 3)\n"
	    "  --count N --hold    open N connections, send the hello on each, print \"ready N\",\n"
	    "                      keep them until SIGTERM (or stdin closes, if a pipe);\n"
	    "                      then, and on each SIGUSR1, print \"closed_by_peer=K\"\n"
	    "On stderr: \"sent bytes=N hello_bytes=H fnv=HEX sni=NAME\" and\n"
	    "\"result=eof|reset|timeout received=N elapsed_ms=E\" (from the connect).\n"
	    "Exit: 0 done, 1 error, 2 connection reset, 3 timeout.\n");
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "hex-file", required_argument, NULL, 'x' },
		{ "raw-file", required_argument, NULL, 'f' },
		{ "hello", required_argument, NULL, 'H' },
		{ "pad", required_argument, NULL, 'P' },
		{ "records", required_argument, NULL, 'r' },
		{ "record-size", required_argument, NULL, 'z' },
		{ "chunk", required_argument, NULL, 'k' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "then-bytes", required_argument, NULL, 'b' },
		{ "then-chunk", required_argument, NULL, 'B' },
		{ "shutdown", no_argument, NULL, 's' },
		{ "read", no_argument, NULL, 'R' },
		{ "after-eof-bytes", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'n' },
		{ "hold", no_argument, NULL, 'h' + 256 },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:x:f:H:P:r:z:k:d:b:B:sRa:n:t:p:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'c': opt.connect = optarg; break;
		case 'x': opt.hex_file = optarg; break;
		case 'f': opt.raw_file = optarg; break;
		case 'H': opt.sni = optarg; opt.build = 1; break;
		case 'P': opt.pad = pt_number(PROG, "--pad", optarg); break;
		case 'r': opt.records = pt_number(PROG, "--records", optarg); break;
		case 'z': opt.record_size = pt_number(PROG, "--record-size", optarg); break;
		case 'k': opt.chunk = pt_number(PROG, "--chunk", optarg); break;
		case 'd': opt.delay_ms = pt_number(PROG, "--delay-ms", optarg); break;
		case 'b': opt.then_bytes = pt_number(PROG, "--then-bytes", optarg); break;
		case 'B': opt.then_chunk = pt_number(PROG, "--then-chunk", optarg); break;
		case 's': opt.shutdown = 1; break;
		case 'R': opt.read = 1; break;
		case 'a': opt.after_eof_bytes = pt_number(PROG, "--after-eof-bytes", optarg); break;
		case 'n': opt.count = pt_number(PROG, "--count", optarg); break;
		case 'h' + 256: opt.hold = 1; break;
		case 't': opt.timeout_ms = pt_number(PROG, "--timeout-ms", optarg); break;
		case 'p':
			opt.pattern = pt_number(PROG, "--pattern", optarg);
			opt.pattern_set = 1;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || (!opt.pattern_set && opt.connect == NULL) ||
	    (opt.hex_file != NULL) + (opt.raw_file != NULL) + opt.build > 1 ||
	    (opt.hold && opt.count == 0) || (opt.records && opt.record_size)) {
		usage(stderr);
		exit(2);
	}
	if (opt.count == 0)
		opt.count = 1;
}

/* A growing byte string. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void
bytes_put(struct bytes *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			pt_die(PROG, "out of memory");
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
bytes_u8(struct bytes *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	bytes_put(b, &x, 1);
}

static void
bytes_u16(struct bytes *b, unsigned v)
{
	bytes_u8(b, v >> 8);
	bytes_u8(b, v);
}

static void
bytes_u24(struct bytes *b, size_t v)
{
	bytes_u8(b, (unsigned)(v >> 16));
	bytes_u16(b, (unsigned)(v & 0xffff));
}

/* The bytes of the file at path (hex: the bytes its hex text spells) onto out. */
static void
read_bytes(const char *path, int hex, struct bytes *out)
{
	size_t len;
	uint8_t *p = pt_read_file(PROG, path, &len);

	if (hex)
		len = pt_unhex(PROG, path, p, len);
	bytes_put(out, p, len);
	free(p);
}

/* The ClientHello handshake message (header included) with padding content of pad bytes (or none, if pad < 0). */
static void
hello_message(struct bytes *msg, const char *sni, long pad)
{
	static const uint8_t suites[] = { 0xc0, 0x2f, 0xc0, 0x30, 0x00, 0x9c, 0x00, 0xff };
	struct bytes body = { 0 }, ext = { 0 };
	size_t sni_len = strcmp(sni, "-") == 0 ? 0 : strlen(sni);

	if (sni_len > 0) {
		bytes_u16(&ext, 0x0000);		/* server_name */
		bytes_u16(&ext, (unsigned)sni_len + 5);
		bytes_u16(&ext, (unsigned)sni_len + 3);	/* server_name_list */
		bytes_u8(&ext, 0);			/* host_name */
		bytes_u16(&ext, (unsigned)sni_len);
		bytes_put(&ext, sni, sni_len);
	}
	bytes_put(&ext, "\x00\x0a\x00\x04\x00\x02\x00\x17", 8);	/* supported_groups: secp256r1 */
	bytes_put(&ext, "\x00\x0b\x00\x02\x01\x00", 6);		/* ec_point_formats: uncompressed */
	bytes_put(&ext, "\x00\x0d\x00\x04\x00\x02\x04\x01", 8);	/* signature_algorithms: rsa_pkcs1_sha256 */
	if (pad >= 0) {
		bytes_u16(&ext, EXT_PADDING);
		bytes_u16(&ext, (unsigned)pad);
		for (long i = 0; i < pad; i++)
			bytes_u8(&ext, 0);
	}
	if (ext.len > EXTENSIONS_MAX)
		pt_die(PROG, "--pad: the extensions would exceed 65535 bytes");
	bytes_u16(&body, 0x0303);			/* legacy_version: TLS 1.2 */
	for (unsigned i = 0; i < 32; i++)		/* random */
		bytes_u8(&body, i * 7 + 1);
	bytes_u8(&body, 32);				/* legacy_session_id */
	for (unsigned i = 0; i < 32; i++)
		bytes_u8(&body, 0xa0 + i);
	bytes_u16(&body, sizeof(suites));
	bytes_put(&body, suites, sizeof(suites));
	bytes_put(&body, "\x01\x00", 2);		/* compression: null */
	bytes_u16(&body, (unsigned)ext.len);
	bytes_put(&body, ext.p, ext.len);

	msg->len = 0;
	bytes_u8(msg, 1);				/* client_hello */
	bytes_u24(msg, body.len);
	bytes_put(msg, body.p, body.len);
	free(body.p);
	free(ext.p);
}

/* Frames payload into handshake records (type 22, version 3.1) of at most piece bytes. */
static void
frame(struct bytes *wire, uint8_t type, unsigned version, const uint8_t *p, size_t len,
    size_t piece)
{
	size_t n;

	for (size_t off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		bytes_u8(wire, type);
		bytes_u16(wire, version);
		bytes_u16(wire, (unsigned)n);
		bytes_put(wire, p + off, n);
	}
}

static size_t
wire_size(size_t msg_len)
{
	return msg_len + RECORD_HEADER * ((msg_len + RECORD_MAX - 1) / RECORD_MAX);
}

static void
build_hello(struct bytes *wire)
{
	struct bytes msg = { 0 };
	long pad = -1;

	if (opt.pad > 0) {
		hello_message(&msg, opt.sni, 0);
		/* Pad for the size; each extra record header then takes 5 bytes back. */
		pad = (long)opt.pad - (long)wire_size(msg.len);
		if (pad < 0)
			pt_die(PROG, "--pad %lu: the hello is %zu bytes without padding", opt.pad,
			    wire_size(msg.len));
		for (;;) {
			hello_message(&msg, opt.sni, pad);
			if (wire_size(msg.len) == opt.pad)
				break;
			/* Only shrinking is tried: less than asked means a header boundary. */
			if (wire_size(msg.len) < opt.pad ||
			    (long)(wire_size(msg.len) - opt.pad) > pad)
				pt_die(PROG, "--pad %lu: no padding length gives exactly that", opt.pad);
			pad -= (long)(wire_size(msg.len) - opt.pad);
		}
	} else {
		hello_message(&msg, opt.sni, -1);
	}
	frame(wire, 22, 0x0301, msg.p, msg.len, RECORD_MAX);
	free(msg.p);
}

/* Splits the first record's body into --records K or --record-size N records. */
static void
reframe(struct bytes *wire)
{
	struct bytes out = { 0 };
	size_t body, piece;
	unsigned version;

	if (wire->len < RECORD_HEADER)
		pt_die(PROG, "--records: fewer bytes than a record header");
	body = (size_t)wire->p[3] << 8 | wire->p[4];
	if (wire->len < RECORD_HEADER + body || body == 0)
		pt_die(PROG, "--records: the first record is truncated or empty");
	if (opt.records > 0) {
		if (opt.records > body)
			pt_die(PROG, "--records %lu: the record has only %zu bytes", opt.records, body);
		piece = (body + opt.records - 1) / opt.records;
	} else {
		piece = opt.record_size;
	}
	version = (unsigned)wire->p[1] << 8 | wire->p[2];
	frame(&out, wire->p[0], version, wire->p + RECORD_HEADER, body, piece);
	bytes_put(&out, wire->p + RECORD_HEADER + body, wire->len - RECORD_HEADER - body);
	free(wire->p);
	*wire = out;
}

/* Reports what the hello is, by the project's parser: its end, hash and SNI. */
static void
report_hello(const struct bytes *wire)
{
	static uint8_t scratch[MAX_HELLO_BYTES];
	struct hello_parser p;
	struct hello_info info;
	enum hello_status st;
	size_t end = wire->len;

	memset(&info, 0, sizeof(info));
	hello_parser_init(&p, MAX_HELLO_BYTES);
	st = hello_parse(&p, wire->p, wire->len, scratch, sizeof(scratch), &info);
	if (st == HELLO_OK)
		end = info.hello_end;
	fprintf(stderr, "sent bytes=%zu hello_bytes=%zu fnv=%016llx sni=%.*s status=%s\n",
	    wire->len, end, (unsigned long long)pt_fnv(FNV64_BASIS, wire->p, end),
	    st == HELLO_OK && info.sni != NULL ? (int)info.sni_len : 1,
	    st == HELLO_OK && info.sni != NULL ? (const char *)info.sni : "-",
	    st == HELLO_OK ? "ok" : st == HELLO_NEED_MORE ? "incomplete" : "refused");
}

/* Sends the hello in chunks; then the pattern bytes. Returns 0 or -errno. */
static int
send_all(int fd, const struct bytes *wire)
{
	uint8_t buf[PT_IO_BYTES];
	size_t step = opt.chunk > 0 ? opt.chunk : wire->len, n;
	int rc;

	for (size_t off = 0; off < wire->len; off += n) {
		n = wire->len - off < step ? wire->len - off : step;
		if ((rc = pt_write_all(fd, wire->p + off, n)) != 0)
			return rc;
		if (opt.delay_ms > 0 && off + n < wire->len)
			pt_sleep_ms((unsigned)opt.delay_ms);
	}
	step = opt.then_chunk > 0 && opt.then_chunk < sizeof(buf) ? opt.then_chunk : sizeof(buf);
	for (uint64_t off = 0; off < opt.then_bytes; off += n) {
		n = opt.then_bytes - off < step ? (size_t)(opt.then_bytes - off) : step;
		pt_pattern_fill(buf, n, off);
		if ((rc = pt_write_all(fd, buf, n)) != 0)
			return rc;
		if (opt.then_chunk > 0 && opt.delay_ms > 0 && off + n < opt.then_bytes)
			pt_sleep_ms((unsigned)opt.delay_ms);
	}
	return 0;
}

/* Reads until EOF, copying to stdout. Returns 0 (EOF), EXIT_RESET or EXIT_TIMEOUT. */
static int
read_to_eof(int fd, uint64_t start_ms, uint64_t *received)
{
	uint8_t buf[PT_IO_BYTES];
	uint64_t deadline = start_ms + opt.timeout_ms, now;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		now = pt_now_ms();
		if (now >= deadline)
			return EXIT_TIMEOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0) {
			if (errno == EINTR)
				continue;
			pt_die(PROG, "poll:");
		}
		if (pfd.revents == 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return EXIT_RESET;
		}
		if (n == 0)
			return 0;
		*received += (uint64_t)n;
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = write(STDOUT_FILENO, buf + off, (size_t)(n - off))) < 0)
				pt_die(PROG, "stdout:");
	}
}

static int
run_one(const struct bytes *wire)
{
	uint64_t start, received = 0;
	uint8_t buf[PT_IO_BYTES];
	int fd, rc = 0;
	size_t n;

	fd = pt_connect(PROG, opt.connect);
	if (fd < 0) {
		errno = -fd;
		pt_die(PROG, "connect %s:", opt.connect);
	}
	start = pt_now_ms();
	if ((rc = send_all(fd, wire)) != 0) {
		fprintf(stderr, "send: %s\n", strerror(-rc));
		rc = EXIT_RESET;
		goto out;
	}
	if (opt.shutdown)
		shutdown(fd, SHUT_WR);
	if (opt.read) {
		rc = read_to_eof(fd, start, &received);
		if (rc == 0 && opt.after_eof_bytes > 0) {
			for (uint64_t off = 0; off < opt.after_eof_bytes && rc == 0; off += n) {
				n = opt.after_eof_bytes - off < sizeof(buf) ?
				    (size_t)(opt.after_eof_bytes - off) : sizeof(buf);
				pt_pattern_fill(buf, n, off);
				if (pt_write_all(fd, buf, n) != 0)
					rc = EXIT_RESET;
			}
			shutdown(fd, SHUT_WR);
		}
	}
out:
	fprintf(stderr, "result=%s received=%llu elapsed_ms=%llu\n",
	    rc == 0 ? "eof" : rc == EXIT_RESET ? "reset" : "timeout",
	    (unsigned long long)received, (unsigned long long)(pt_now_ms() - start));
	if (opt.read && rc == 0 && opt.after_eof_bytes > 0) {
		/* Let the sent bytes leave before the close: a close with unread data would reset. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		(void)poll(&pfd, 1, (int)opt.timeout_ms);
	}
	close(fd);
	return rc;
}

/* --count N --hold: N connections kept open until SIGTERM or stdin's EOF. */
static int
run_hold(const struct bytes *wire)
{
	struct pollfd *pfds = calloc(opt.count + 1, sizeof(*pfds));
	sigset_t block, waitmask;
	struct stat st;
	unsigned long closed = 0;
	char c;
	int fd, rc;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);

	if (pfds == NULL)
		pt_die(PROG, "out of memory");
	for (unsigned long i = 0; i < opt.count; i++) {
		fd = pt_connect(PROG, opt.connect);
		if (fd < 0) {
			errno = -fd;
			pt_die(PROG, "connect %s (connection %lu):", opt.connect, i);
		}
		if ((rc = send_all(fd, wire)) != 0) {
			errno = -rc;
			pt_die(PROG, "send (connection %lu):", i);
		}
		pfds[i].fd = fd;
		pfds[i].events = POLLIN;
	}
	printf("ready %lu\n", opt.count);
	fflush(stdout);
	/* stdin ends the hold only when it is a pipe or socket (not /dev/null). */
	pfds[opt.count].fd = fstat(STDIN_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) ? STDIN_FILENO : -1;
	pfds[opt.count].events = POLLIN;
	for (;;) {
		if (stop || report) {
			/* Which connections did the other side close meanwhile? */
			report = 0;
			for (unsigned long i = 0; i < opt.count; i++) {
				pfds[i].events = POLLIN | POLLRDHUP;
				pfds[i].revents = 0;
			}
			(void)poll(pfds, opt.count, 0);
			closed = 0;
			for (unsigned long i = 0; i < opt.count; i++)
				closed += (pfds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
			printf("closed_by_peer=%lu\n", closed);
			fflush(stdout);
			if (stop) {
				for (unsigned long i = 0; i < opt.count; i++)
					close(pfds[i].fd);
				free(pfds);
				return 0;
			}
		}
		/* The signals are let in only while waiting: none slips in before the wait. */
		if (ppoll(&pfds[opt.count], 1, NULL, &waitmask) > 0 &&
		    read(STDIN_FILENO, &c, 1) <= 0)
			stop = 1;
	}
}

int
main(int argc, char **argv)
{
	struct bytes wire = { 0 };
	struct sigaction sa;
	int rc;

	parse_args(argc, argv);
	if (opt.pattern_set) {
		uint8_t buf[PT_IO_BYTES];
		size_t n;

		for (uint64_t off = 0; off < opt.pattern; off += n) {
			n = opt.pattern - off < sizeof(buf) ? (size_t)(opt.pattern - off) : sizeof(buf);
			pt_pattern_fill(buf, n, off);
			if (fwrite(buf, 1, n, stdout) != n)
				pt_die(PROG, "stdout:");
		}
		return fflush(stdout) == 0 ? 0 : 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: a blocked poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (opt.hex_file != NULL)
		read_bytes(opt.hex_file, 1, &wire);
	else if (opt.raw_file != NULL)
		read_bytes(opt.raw_file, 0, &wire);
	else if (opt.build)
		build_hello(&wire);
	if (opt.records > 0 || opt.record_size > 0)
		reframe(&wire);
	if (wire.len > 0)
		report_hello(&wire);
	rc = opt.hold ? run_hold(&wire) : run_one(&wire);
	free(wire.p);
	return rc;
}
