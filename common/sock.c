/* sock.c -- every socket passthrough makes, with all its options in one place. */
#include <errno.h>
#include <linux/filter.h>
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

/* Each option bit, the call that sets it, and the name *what gives it. */
static const struct sock_option {
	enum sock_opt opt;
	int level, name, value;
	const char *what;
} sock_options[] = {
	{ SOCK_OPT_REUSEADDR, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)" },
	{ SOCK_OPT_REUSEPORT, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)" },
	{ SOCK_OPT_DEFER_ACCEPT, IPPROTO_TCP, TCP_DEFER_ACCEPT, DEFER_ACCEPT_SECONDS,
	    "setsockopt(TCP_DEFER_ACCEPT)" },
	{ SOCK_OPT_NODELAY, IPPROTO_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)" },
	{ SOCK_OPT_V6ONLY, IPPROTO_IPV6, IPV6_V6ONLY, 1, "setsockopt(IPV6_V6ONLY)" },
};

int
sock_open(int family, unsigned opts, const char **what)
{
	int fd, rc;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*what = "socket";
		return -errno;
	}
	if (family != AF_INET6)
		opts &= ~(unsigned)SOCK_OPT_V6ONLY;
	for (size_t i = 0; i < sizeof(sock_options) / sizeof(sock_options[0]); i++) {
		const struct sock_option *o = &sock_options[i];

		if ((opts & o->opt) == 0)
			continue;
		*what = o->what;
		if ((rc = sock_set(fd, o->level, o->name, o->value)) != 0) {
			close(fd);
			return rc;
		}
	}
	return fd;
}

int
sock_listen_with(const struct addr *a, unsigned opts, int backlog, const char **what)
{
	int fd, rc;

	if ((fd = sock_open(a->u.sa.sa_family, opts, what)) < 0)
		return fd;
	*what = "bind";
	if (bind(fd, &a->u.sa, a->len) != 0)
		goto bad;
	*what = "listen";
	if (listen(fd, backlog) != 0)
		goto bad;
	return fd;
bad:
	rc = -errno;
	close(fd);
	return rc;
}

int
sock_listen(const struct addr *a, const char **what)
{
	/* TCP_NODELAY on the listener: accepted sockets inherit it. */
	return sock_listen_with(a, SOCK_OPT_REUSEADDR | SOCK_OPT_REUSEPORT |
	    SOCK_OPT_DEFER_ACCEPT | SOCK_OPT_NODELAY | SOCK_OPT_V6ONLY,
	    LISTEN_BACKLOG, what);
}

int
sock_listen_steer(int fd, unsigned count)
{
	/* A = random; A %= count; return A: an index below count, spread evenly. */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM)),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, count),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	if (count == 0)
		return -EINVAL;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) == 0 ?
	    0 : -errno;
}

/* The TCP flags byte, from the start of the TCP header (where a TCP socket filter starts). */
#define SOCK_TCP_FLAGS_OFFSET 13
#define SOCK_TCP_SYN 0x02
#define SOCK_TCP_ACK 0x10

int
sock_listen_refuse(int fd)
{
	/* A SYN without ACK (a new connection) is dropped; everything else passes whole. */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SOCK_TCP_FLAGS_OFFSET),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, SOCK_TCP_SYN | SOCK_TCP_ACK),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_TCP_SYN, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0 ? 0 : -errno;
}

int
sock_listen_refusing(int fd)
{
	socklen_t len = 0;

	/* With length 0 the kernel answers the filter's instruction count (0: none). */
	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len) != 0)
		return -errno;
	return len > 0;
}

int
sock_listen_plain(const struct addr *a, int backlog)
{
	const char *what;

	/* A restarted server rebinds at once, TIME_WAIT connections or not. */
	return sock_listen_with(a, SOCK_OPT_REUSEADDR, backlog, &what);
}

int
sock_backend(int family)
{
	const char *what;

	return sock_open(family, SOCK_OPT_NODELAY, &what);
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
