/* sock.h -- every socket passthrough makes, with all its options in one place. */
#ifndef PASSTHROUGH_SOCK_H
#define PASSTHROUGH_SOCK_H

#include <stdint.h>

#include "addr.h"

/* Options sock_open() sets on a new socket, in this order. */
enum sock_opt {
	SOCK_OPT_REUSEADDR = 1 << 0,	/* a restarted server rebinds at once, TIME_WAIT or not */
	SOCK_OPT_REUSEPORT = 1 << 1,	/* one listener per worker (or thread) on one address */
	SOCK_OPT_DEFER_ACCEPT = 1 << 2,	/* accept completes when the first bytes came */
	SOCK_OPT_NODELAY = 1 << 3,	/* no Nagle delay; accepted sockets inherit it */
	SOCK_OPT_V6ONLY = 1 << 4,	/* IPv6 only (ignored on IPv4): "[::]" and "0.0.0.0" coexist */
};

/*
 * A non-blocking, close-on-exec TCP socket of family with the options in
 * opts (enum sock_opt bits): the one place where passthrough and its bench
 * tools set up a new socket. Returns the fd or -errno; *what names the
 * call that failed.
 */
int sock_open(int family, unsigned opts, const char **what);

/*
 * sock_open() for a's family, then bind to a and listen with backlog.
 * Returns the fd or -errno; *what names the call that failed.
 */
int sock_listen_with(const struct addr *a, unsigned opts, int backlog,
    const char **what);

/*
 * A non-blocking SO_REUSEPORT listening socket bound to a, with
 * TCP_DEFER_ACCEPT (so accept completes when the hello's first bytes came)
 * and IPV6_V6ONLY on IPv6 (so "[::]:443" and "0.0.0.0:443" can coexist).
 * Returns the fd or -errno; *what names the call that failed.
 */
int sock_listen(const struct addr *a, const char **what);

/*
 * A plain non-blocking listening TCP socket (SO_REUSEADDR only), for the
 * statistics tool's HTTP server. The fd or -errno.
 */
int sock_listen_plain(const struct addr *a, int backlog);

/*
 * Steers the new connections of fd's SO_REUSEPORT group (every socket
 * listening on its address) to the first count sockets of the group, at
 * random: a classic BPF reuseport program (SO_ATTACH_REUSEPORT_CBPF) that
 * returns an index into the group's sockets, in the order they started
 * listening. Sockets past count get no new connection. 0 or -errno.
 */
int sock_listen_steer(int fd, unsigned count);

/*
 * Marks a listening socket as retiring: a socket filter drops the SYNs
 * that would open new connections on it (the client retries them, on a
 * socket that stays or, once this one is closed, to a refusal), while the
 * handshakes already begun complete into its accept queue. 0 or -errno.
 */
int sock_listen_refuse(int fd);

/* 1 when sock_listen_refuse() marked fd, 0 when not, or -errno. */
int sock_listen_refusing(int fd);

/* A non-blocking, close-on-exec TCP socket for a backend connection, with TCP_NODELAY. */
int sock_backend(int family);

/*
 * Proxied connections one process can hold under its open-files limit: two
 * sockets each, with FD_RESERVE_ALL left for the pipe pool, listeners and
 * logs. (A streaming direction's pipe comes on top; without one it copies.)
 */
uint32_t sock_conn_capacity(void);

/*
 * Makes the next close(2) of fd send a TCP reset instead of a FIN
 * (SO_LINGER 0): used to pass a peer's reset on rather than fake a clean end.
 */
void sock_abort_on_close(int fd);

#endif
