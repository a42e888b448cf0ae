/*
 * fdpass.h -- framed messages with descriptors over a SOCK_SEQPACKET
 * socket (SCM_RIGHTS): the master's control channel to each worker.
 *
 * One message is one datagram: a fixed header naming what it is and the
 * generation it belongs to, plus up to FDPASS_MAX_FDS descriptors. The
 * master only sends; a worker only receives (the master never reads what a
 * worker writes on it). The log files, the route table generations and
 * the statistics areas of workers started later travel this way.
 */
#ifndef PASSTHROUGH_FDPASS_H
#define PASSTHROUGH_FDPASS_H

#include <stdint.h>

/* Descriptors one message may carry: at most the two logs. */
#define FDPASS_MAX_FDS 4u

enum fdpass_type {
	/* The log files: fds in the order of the set bits of flags (enum fdpass_log). */
	FDPASS_LOGS = 1,
	/* A route table generation (rtshm.h): one sealed memfd; generation names it. */
	FDPASS_ROUTES = 2,
	/*
	 * Another worker's statistics area (worker/peers.h): one O_RDONLY
	 * descriptor; flags is its line in the segment.
	 */
	FDPASS_AREA = 3,
};

/* FDPASS_LOGS flags: which logs travel; a log not named here is not a file. */
enum fdpass_log {
	FDPASS_LOG_ERROR = 1u << 0,	/* log.error */
	FDPASS_LOG_ACCESS = 1u << 1,	/* log.access */
};

/* The frame. Its size and layout are the same on both ends (one binary). */
struct fdpass_msg {
	uint32_t type;		/* enum fdpass_type */
	uint32_t flags;		/* by type */
	uint64_t generation;	/* what the message belongs to (0: none in particular) */
};

/*
 * Sends msg with nfds descriptors (copies: the caller keeps its own)
 * without blocking. Returns 0, or -errno (-EAGAIN: the peer's queue is full).
 */
int fdpass_send(int sock, const struct fdpass_msg *msg, const int *fds, unsigned nfds);

/*
 * Receives one message without blocking: *msg, and up to FDPASS_MAX_FDS
 * descriptors (close-on-exec) into fds, their count in *nfds. Returns 0,
 * -EAGAIN when nothing waits, -EPIPE when the peer closed, -EBADMSG for a
 * frame of the wrong size or cut short (its descriptors are closed), or
 * -errno.
 */
int fdpass_recv(int sock, struct fdpass_msg *msg, int *fds, unsigned *nfds);

#endif
