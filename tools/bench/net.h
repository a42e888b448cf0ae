/* net.h -- the benchmark tools' sockets, built on common/sock.c. */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define NS_PER_SEC	1000000000ull
#define NS_PER_MS	1000000ull
#define NS_PER_US	1000ull
#define MS_PER_SEC	1000
#define US_PER_MS	1000
/* Listen backlog; the kernel caps it at net.core.somaxconn. */
#define NET_BACKLOG	4096
/* How long a control query may take before it counts as failed. */
#define NET_CTL_TIMEOUT_MS 2000
/* Longest control command line ("stats", "conns", "reset") with its newline. */
#define NET_CTL_LINE	64

/*
 * A non-blocking listening socket on a with SO_REUSEADDR, SO_REUSEPORT (so
 * each thread can have its own) and TCP_NODELAY. Returns the fd or -errno.
 */
int net_listen(const struct addr *a);

/*
 * Starts a non-blocking connect to a with TCP_NODELAY. Returns 0 with *fd
 * set (the connect may still be in progress: wait for writability, then
 * net_connect_result()), or -errno.
 */
int net_connect(const struct addr *a, int *fd);
/* The result of a finished non-blocking connect: 0 or -errno. */
int net_connect_result(int fd);
/* The local address of a socket (bound by connect(2) even while it is in progress): 0 or -errno. */
int net_local(int fd, struct addr *a);

/* Raises the soft open-files limit to the hard one. Returns the new soft limit. */
unsigned long net_raise_nofile(void);

/*
 * Sends cmd and a newline to a sink's control address and reads the whole
 * answer into out (NUL-terminated, cut to fit). Blocking, bounded by
 * NET_CTL_TIMEOUT_MS. Returns the bytes read or -errno.
 */
long net_ctl_query(const struct addr *a, const char *cmd, char *out, size_t size);

/* Parses "host:port" (IPs and names); on error prints "what: text: why" and returns -1. */
int net_addr(struct addr *a, const char *text, const char *what);

#endif
