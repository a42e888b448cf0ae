/* ptppcheck.c -- a test backend that expects a PROXY protocol header first: logs what the header carried (by common/proxyproto.c's parser), then the size and hash of every byte after it. */
#include <getopt.h>
#include <signal.h>
#include <sys/time.h>

#include "proxyproto.h"
#include "pttools.h"

#define PROG "ptppcheck"
/* A connection that sends nothing for this long is logged and closed. */
#define READ_TIMEOUT_S 10
/* The v2 signature (proxy-protocol.txt 2.2) and the v1 prefix, to spot a second header. */
static const uint8_t V2_SIG[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
#define V1_PREFIX "PROXY "

static struct {
	const char *tag, *log_path, *listen, *port_file;
	int log_fd;
} opt = { .tag = "pp", .listen = "127.0.0.1:0", .log_fd = STDOUT_FILENO };

static volatile sig_atomic_t stop;
/* One connection's bytes: the header, then everything after it, up to EOF. */
static uint8_t buf[PROXY_PARSE_MAX + 1];

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

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
	    "usage: ptppcheck [--listen ADDR] [--port-file FILE] [--tag TAG] [--log FILE]\n"
	    "  Serves one connection at a time; each must start with a PROXY header.\n"
	    "  Logs per connection, one line each:\n"
	    "    TAG accept peer=ADDR\n"
	    "    TAG proxy version=1|2 command=proxy|local|unknown src=ADDR dst=ADDR\n"
	    "        authority=NAME|- alpn=NAME|- header_bytes=N first_read=N\n"
	    "    (or TAG proxy-refused verdict=not_proxy|malformed|too_big|eof|timeout why=...)\n"
	    "    TAG close post=N post_fnv=HEX second_header=yes|no end=eof|timeout|error\n"
	    "  post: the bytes after the header until the peer's EOF (the hello and the\n"
	    "  rest); post_fnv: their FNV-1a 64 hash, as ptclient prints for what it sent;\n"
	    "  first_read: the bytes the first recv(2) returned (header and hello in one\n"
	    "  send() arrive together).\n");
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "tag", required_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'o' },
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
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

/* A TLV value as log text: printable bytes as they are, others as '?'; "-" when absent. */
static const char *
ppcheck_tlv(uint32_t off, uint32_t len, char *out, size_t size)
{
	size_t n = 0;

	if (len == 0)
		return "-";
	for (uint32_t i = 0; i < len && n + 1 < size; i++) {
		uint8_t b = buf[off + i];

		out[n++] = b > ' ' && b < 0x7f ? (char)b : '?';
	}
	out[n] = '\0';
	return out;
}

static const char *
ppcheck_command(enum proxy_command cmd)
{
	switch (cmd) {
	case PROXY_CMD_PROXY: return "proxy";
	case PROXY_CMD_LOCAL: return "local";
	case PROXY_CMD_UNKNOWN: return "unknown";
	}
	return "?";
}

static void
ppcheck_log_header(const struct proxy_info *info, size_t header, size_t first_read)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], auth[PROXY_AUTHORITY_MAX + 1];
	char alpn[PROXY_ALPN_MAX + 1];

	logline("proxy version=%u command=%s src=%s dst=%s authority=%s alpn=%s header_bytes=%zu "
	    "first_read=%zu",
	    info->version, ppcheck_command(info->command),
	    info->command == PROXY_CMD_PROXY ? addr_format(&info->src, src, sizeof(src)) : "-",
	    info->command == PROXY_CMD_PROXY ? addr_format(&info->dst, dst, sizeof(dst)) : "-",
	    ppcheck_tlv(info->authority_off, info->authority_len, auth, sizeof(auth)),
	    ppcheck_tlv(info->alpn_off, info->alpn_len, alpn, sizeof(alpn)), header, first_read);
}

/* Reads into buf at *len; 1 on bytes, 0 on EOF, -1 on a timeout, -2 on an error. */
static int
ppcheck_read(int fd, size_t *len)
{
	ssize_t n;

	for (;;) {
		n = recv(fd, buf + *len, sizeof(buf) - *len, 0);
		if (n > 0) {
			*len += (size_t)n;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR && !stop)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
	}
}

/*
 * Reads until the header's verdict; logs it. Returns the header's length
 * (0 when there was none: every byte read counts as after it), and *len the
 * bytes read; -1 when the connection ended before a verdict.
 */
static ssize_t
ppcheck_header(int fd, size_t *len)
{
	struct proxy_info info;
	const char *why = NULL, *verdict;
	ssize_t r = -EAGAIN;
	size_t first_read = 0;
	int rd;

	while (r == -EAGAIN) {
		rd = ppcheck_read(fd, len);
		if (rd <= 0) {
			logline("proxy-refused verdict=%s why=after_%zu_bytes",
			    rd == 0 ? "eof" : rd == -1 ? "timeout" : "error", *len);
			return -1;
		}
		if (first_read == 0)
			first_read = *len;
		memset(&info, 0, sizeof(info));
		r = proxy_parse(buf, *len, PROXY_PARSE_MAX, &info, &why);
	}
	if (r > 0) {
		ppcheck_log_header(&info, (size_t)r, first_read);
		return r;
	}
	verdict = r == -ENOMSG ? "not_proxy" : r == -EPROTO ? "malformed" :
	    r == -E2BIG ? "too_big" : "other";
	logline("proxy-refused verdict=%s why=\"%s\"", verdict, why != NULL ? why : "-");
	return 0;
}

/* Whether the bytes after the header start like another PROXY header. */
static int
ppcheck_second_header(const uint8_t *p, size_t len)
{
	return (len >= sizeof(V2_SIG) && memcmp(p, V2_SIG, sizeof(V2_SIG)) == 0) ||
	    (len >= strlen(V1_PREFIX) && memcmp(p, V1_PREFIX, strlen(V1_PREFIX)) == 0);
}

static void
ppcheck_serve(int fd)
{
	struct timeval tv = { .tv_sec = READ_TIMEOUT_S };
	uint64_t post = 0, fnv = FNV64_BASIS;
	size_t len = 0, start;
	ssize_t header;
	int rd, second;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((header = ppcheck_header(fd, &len)) < 0)
		return;
	start = (size_t)header;
	/* Enough bytes to tell whether a second header follows. */
	rd = 1;
	while (rd > 0 && len - start < sizeof(V2_SIG))
		rd = ppcheck_read(fd, &len);
	second = ppcheck_second_header(buf + start, len - start);
	for (;;) {
		post += len - start;
		fnv = pt_fnv(fnv, buf + start, len - start);
		start = len = 0;
		if (rd <= 0)
			break;
		rd = ppcheck_read(fd, &len);
	}
	logline("close post=%llu post_fnv=%016llx second_header=%s end=%s",
	    (unsigned long long)post, (unsigned long long)fnv, second ? "yes" : "no",
	    rd == 0 ? "eof" : rd == -1 ? "timeout" : "error");
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sigaction sa;
	char peer[ADDR_STRLEN];
	struct addr a;
	socklen_t slen;
	int lfd, fd;

	parse_args(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: accept and recv return EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (opt.log_path != NULL &&
	    (opt.log_fd = open(opt.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		pt_die(PROG, "%s:", opt.log_path);
	lfd = pt_listen(PROG, opt.listen, 0);
	if (opt.port_file != NULL)
		pt_write_port(PROG, lfd, opt.port_file);
	while (!stop) {
		slen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &slen, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				pt_die(PROG, "accept:");
			continue;
		}
		addr_from_sockaddr(&a, (struct sockaddr *)&ss, slen);
		logline("accept peer=%s", addr_format(&a, peer, sizeof(peer)));
		ppcheck_serve(fd);
		close(fd);
	}
	close(lfd);
	return 0;
}
