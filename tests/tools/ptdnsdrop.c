/*
 * ptdnsdrop.c -- a DNS server that never answers: it binds a UDP (and a TCP)
 * port, reads every query and drops it, so a resolver pointed at it waits
 * for its whole timeout (tests/integration/dns_slow_server_holds_up_nothing.sh).
 * Usage: ptdnsdrop ADDR:PORT   (runs until killed; logs one line per query to stderr)
 */
#include <poll.h>

#include "pttools.h"

#define PROG "ptdnsdrop"

int
main(int argc, char **argv)
{
	struct pollfd pfd[2];
	struct addr a;
	const char *why;
	uint8_t buf[PT_IO_BYTES];
	int on = 1, fd;
	ssize_t n;

	if (argc != 2 || addr_parse(&a, argv[1], 0, &why) != 0) {
		fprintf(stderr, "usage: " PROG " ADDR:PORT\n");
		return 2;
	}
	pfd[0].fd = socket(a.u.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	pfd[1].fd = socket(a.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pfd[0].fd < 0 || pfd[1].fd < 0)
		pt_die(PROG, "socket:");
	(void)setsockopt(pfd[1].fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(pfd[0].fd, &a.u.sa, a.len) != 0 || bind(pfd[1].fd, &a.u.sa, a.len) != 0 ||
	    listen(pfd[1].fd, 16) != 0)
		pt_die(PROG, "bind %s:", argv[1]);
	fprintf(stderr, PROG ": listening on %s\n", argv[1]);
	for (;;) {
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			pt_die(PROG, "poll:");
		if (pfd[0].revents & POLLIN) {
			n = recv(pfd[0].fd, buf, sizeof(buf), 0);
			if (n >= 0)
				fprintf(stderr, PROG ": dropped a query of %zd bytes\n", n);
		}
		/* A TCP query: accepted and held open, never answered (the fd is leaked on purpose). */
		if ((pfd[1].revents & POLLIN) && (fd = accept(pfd[1].fd, NULL, NULL)) >= 0)
			fprintf(stderr, PROG ": holding a TCP query (fd %d)\n", fd);
	}
}
