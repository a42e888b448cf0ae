/* sock.h -- every socket passthrough makes, with all its options in one place. */
#ifndef PASSTHROUGH_SOCK_H
#define PASSTHROUGH_SOCK_H

#include <stdint.h>

#include "addr.h"

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
