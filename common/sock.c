/* sock.c -- every socket passthrough makes, with all its options in one place. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"
#include "tunables.h"

static int
sock_set(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

int
sock_listen(const struct addr *a, const char **what)
{
	int fd, rc;

	fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*what = "socket";
		return -errno;
	}
	*what = "setsockopt(SO_REUSEADDR)";
	if ((rc = sock_set(fd, SOL_SOCKET, SO_REUSEADDR, 1)) != 0)
		goto bad;
	*what = "setsockopt(SO_REUSEPORT)";
	if ((rc = sock_set(fd, SOL_SOCKET, SO_REUSEPORT, 1)) != 0)
		goto bad;
	*what = "setsockopt(TCP_DEFER_ACCEPT)";
	if ((rc = sock_set(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, DEFER_ACCEPT_SECONDS)) != 0)
		goto bad;
	*what = "setsockopt(TCP_NODELAY)";	/* accepted sockets inherit it */
	if ((rc = sock_set(fd, IPPROTO_TCP, TCP_NODELAY, 1)) != 0)
		goto bad;
	if (a->u.sa.sa_family == AF_INET6) {
		*what = "setsockopt(IPV6_V6ONLY)";
		if ((rc = sock_set(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) != 0)
			goto bad;
	}
	*what = "bind";
	if (bind(fd, &a->u.sa, a->len) != 0) {
		rc = -errno;
		goto bad;
	}
	*what = "listen";
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		rc = -errno;
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return rc;
}

int
sock_listen_plain(const struct addr *a, int backlog)
{
	int fd, rc;

	fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restarted server rebinds at once, TIME_WAIT connections or not. */
	if ((rc = sock_set(fd, SOL_SOCKET, SO_REUSEADDR, 1)) != 0)
		goto bad;
	if (bind(fd, &a->u.sa, a->len) != 0 || listen(fd, backlog) != 0) {
		rc = -errno;
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return rc;
}

int
sock_backend(int family)
{
	int fd, rc;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((rc = sock_set(fd, IPPROTO_TCP, TCP_NODELAY, 1)) != 0) {
		close(fd);
		return rc;
	}
	return fd;
}

uint32_t
sock_conn_capacity(void)
{
	struct rlimit rl;
	uint64_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return MAX_CONNECTIONS_LIMIT;
	n = rl.rlim_cur > 2 * FD_RESERVE_ALL ? (rl.rlim_cur - FD_RESERVE_ALL) / 2 : 1;
	return n > MAX_CONNECTIONS_LIMIT ? MAX_CONNECTIONS_LIMIT : (uint32_t)n;
}

void
sock_abort_on_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	/* Best effort: if it fails the close sends a FIN, which is still an end. */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}
