/* pttools.h -- helpers the integration test tools share: errors, time, sockets, hashes, the byte pattern. */
#ifndef PASSTHROUGH_PTTOOLS_H
#define PASSTHROUGH_PTTOOLS_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "sock.h"

/* FNV-1a, 64 bits: offset basis and prime from the FNV specification. */
#define FNV64_BASIS 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

/* Bytes per read or write call: a default pipe's or socket buffer's worth. */
#define PT_IO_BYTES 65536u

/*
 * Built under ASan (the sanitized CI pass builds the tools too), a tool
 * does no leak check at exit: LeakSanitizer's scan costs ~50 ms per
 * process on the CI machine and the tests start hundreds of clients (a
 * tool starts in 23 ms instead of 71). The proxy, which the tests are
 * about, keeps its leak check: it does not include this file. ASan's other
 * checks stay on in the tools; ASAN_OPTIONS can turn the check back on.
 */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/* Knuth's multiplicative hash constant: spreads a byte offset over 32 bits. */
#define PATTERN_MULT 2654435761u

/* Prints "PROG: message" (and the errno text if the format ends in ':') and exits 1. */
static inline void __attribute__((noreturn, format(printf, 2, 3)))
pt_die(const char *prog, const char *fmt, ...)
{
	int err = errno;
	size_t n = strlen(fmt);
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (n > 0 && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(err));
	fputc('\n', stderr);
	exit(1);
}

/* "TAG message\n" with one write(2): lines from tools sharing a log never interleave. */
static inline void __attribute__((format(printf, 4, 0)))
pt_vlogline(const char *prog, int fd, const char *tag, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "%s ", tag);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(fd, line, (size_t)n) != n)
		pt_die(prog, "writing the log:");
}

/* The whole file at path, malloc'd (*len: its size); dies on an error. */
static inline uint8_t *
pt_read_file(const char *prog, const char *path, size_t *len)
{
	uint8_t *p = NULL;
	size_t cap = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		pt_die(prog, "%s:", path);
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap != 0 ? cap * 2 : PT_IO_BYTES;
			if ((p = realloc(p, cap)) == NULL)
				pt_die(prog, "out of memory");
		}
		n = read(fd, p + *len, cap - *len);
		if (n < 0)
			pt_die(prog, "%s:", path);
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return p;
}

/*
 * Hex text (whitespace between digits ignored) turned into the bytes it
 * spells, in place; returns their count. Dies naming path on anything else.
 */
static inline size_t
pt_unhex(const char *prog, const char *path, uint8_t *p, size_t len)
{
	size_t out = 0;
	int hi = -1, d;

	for (size_t i = 0; i < len; i++) {
		int c = p[i];

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			pt_die(prog, "%s: not hex at byte %zu", path, i);
		if (hi < 0) {
			hi = d;
		} else {
			p[out++] = (uint8_t)(hi << 4 | d);
			hi = -1;
		}
	}
	if (hi >= 0)
		pt_die(prog, "%s: odd number of hex digits", path);
	return out;
}

static inline uint64_t
pt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void
pt_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static inline uint64_t
pt_fnv(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	return h;
}

/*
 * The known byte pattern: the byte at stream offset i. It depends on the
 * offset, so a dropped, repeated or reordered byte changes the stream's hash.
 */
static inline uint8_t
pt_pattern_byte(uint64_t i)
{
	return (uint8_t)(((uint32_t)i * PATTERN_MULT) >> 24);
}

static inline void
pt_pattern_fill(uint8_t *buf, size_t len, uint64_t offset)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pt_pattern_byte(offset + i);
}

/* Parses a decimal size; dies on anything else. */
static inline unsigned long
pt_number(const char *prog, const char *opt, const char *text)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0')
		pt_die(prog, "%s: not a number: \"%s\"", opt, text);
	return v;
}

static inline void
pt_addr(const char *prog, struct addr *a, const char *text, int flags)
{
	const char *why = NULL;

	if (addr_parse(a, text, flags, &why) != 0)
		pt_die(prog, "\"%s\": %s", text, why != NULL ? why : "bad address");
}

static inline void
pt_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A listening socket on text ("127.0.0.1:0" picks a free port); returns the fd. */
static inline int
pt_listen(const char *prog, const char *text, int flags)
{
	char any[ADDR_STRLEN];
	size_t n = strlen(text);
	struct addr a;
	int fd, one = 1;

	/* addr_parse() refuses port 0, which asks the kernel for a free port. */
	if (n >= 2 && n < sizeof(any) && strcmp(text + n - 2, ":0") == 0) {
		snprintf(any, sizeof(any), "%.*s:1", (int)(n - 2), text);
		pt_addr(prog, &a, any, ADDR_WILDCARD);
		if (a.u.sa.sa_family == AF_INET6)
			a.u.in6.sin6_port = 0;
		else
			a.u.in.sin_port = 0;
	} else {
		pt_addr(prog, &a, text, ADDR_WILDCARD);
	}
	fd = socket(a.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		pt_die(prog, "socket:");
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &a.u.sa, a.len) != 0)
		pt_die(prog, "bind %s:", text);
	/* Deep enough for thousands of connections arriving at once. */
	if (listen(fd, 8192) != 0)
		pt_die(prog, "listen:");
	return fd;
}

/* Writes the port fd listens on into path, atomically (write, then rename). */
static inline void
pt_write_port(const char *prog, int fd, const char *path)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char tmp[4096];
	struct addr a;
	FILE *f;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		pt_die(prog, "getsockname:");
	addr_from_sockaddr(&a, (struct sockaddr *)&ss, len);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		pt_die(prog, "%s:", tmp);
	fprintf(f, "%u\n", (unsigned)ntohs(a.u.sa.sa_family == AF_INET6 ?
	    a.u.in6.sin6_port : a.u.in.sin_port));
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		pt_die(prog, "%s:", path);
}

/* A blocking TCP connection to text with TCP_NODELAY; returns the fd or -errno. */
static inline int
pt_connect(const char *prog, const char *text)
{
	struct addr a;
	int fd, err;

	pt_addr(prog, &a, text, ADDR_RESOLVE);
	fd = socket(a.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		pt_die(prog, "socket:");
	pt_nodelay(fd);
	if (connect(fd, &a.u.sa, a.len) != 0) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* Writes all of buf to a blocking fd. Returns 0 or -errno. */
static inline int
pt_write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
