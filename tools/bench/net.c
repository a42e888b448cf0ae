/* net.c -- the benchmark tools' sockets, built on common/sock.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net.h"
#include "sock.h"

int
net_listen(const struct addr *a)
{
	const char *what;

	return sock_listen_with(a, SOCK_OPT_REUSEADDR | SOCK_OPT_REUSEPORT |
	    SOCK_OPT_NODELAY, NET_BACKLOG, &what);
}

int
net_connect(const struct addr *a, int *fd)
{
	const char *what;
	int s, rc;

	s = sock_open(a->u.sa.sa_family, SOCK_OPT_NODELAY, &what);
	if (s < 0)
		return s;
	if (connect(s, &a->u.sa, a->len) != 0 && errno != EINPROGRESS) {
		rc = -errno;
		close(s);
		return rc;
	}
	*fd = s;
	return 0;
}

int
net_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return -errno;
	return -err;
}

int
net_local(int fd, struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -errno;
	addr_from_sockaddr(a, (struct sockaddr *)&ss, len);
	return 0;
}

unsigned long
net_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);	/* best effort: keep the old limit */
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (unsigned long)rl.rlim_cur;
}

long
net_ctl_query(const struct addr *a, const char *cmd, char *out, size_t size)
{
	struct timeval tv = {
		.tv_sec = NET_CTL_TIMEOUT_MS / MS_PER_SEC,
		.tv_usec = (NET_CTL_TIMEOUT_MS % MS_PER_SEC) * US_PER_MS,
	};
	char line[NET_CTL_LINE];
	size_t have = 0;
	ssize_t n;
	int fd, rc, len;

	if (size == 0)
		return -EINVAL;
	len = snprintf(line, sizeof(line), "%s\n", cmd);
	if (len < 0 || (size_t)len >= sizeof(line))
		return -EINVAL;
	fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, &a->u.sa, a->len) != 0 ||
	    send(fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
		rc = -errno;
		close(fd);
		return rc ? rc : -EIO;
	}
	while (have + 1 < size && (n = recv(fd, out + have, size - 1 - have, 0)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			close(fd);
			return rc;
		}
		have += (size_t)n;
	}
	out[have] = '\0';
	close(fd);
	return (long)have;
}

int
net_addr(struct addr *a, const char *text, const char *what)
{
	const char *why = "";

	if (addr_parse(a, text, ADDR_RESOLVE, &why) != 0) {
		fprintf(stderr, "%s: \"%s\" %s\n", what, text, why);
		return -1;
	}
	return 0;
}
