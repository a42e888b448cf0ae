/* sock.h -- every socket passthrough makes, with all its options in one place. */
#ifndef PASSTHROUGH_SOCK_H
#define PASSTHROUGH_SOCK_H

#include "addr.h"

/*
 * A non-blocking SO_REUSEPORT listening socket bound to a, with
 * TCP_DEFER_ACCEPT (so accept completes when the hello's first bytes came)
 * and IPV6_V6ONLY on IPv6 (so "[::]:443" and "0.0.0.0:443" can coexist).
 * Returns the fd or -errno; *what names the call that failed.
 */
int sock_listen(const struct addr *a, const char **what);

/* A non-blocking, close-on-exec TCP socket for a backend connection, with TCP_NODELAY. */
int sock_backend(int family);

/* TCP_NODELAY on an accepted client. Returns 0 or -errno. */
int sock_nodelay(int fd);

/*
 * Makes the next close(2) of fd send a TCP reset instead of a FIN
 * (SO_LINGER 0): used to pass a peer's reset on rather than fake a clean end.
 */
void sock_abort_on_close(int fd);

#endif
