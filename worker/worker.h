/*
 * worker.h -- one worker process: one thread, one event engine, many
 * connections. What the master needs to start one.
 */
#ifndef PASSTHROUGH_WORKER_H
#define PASSTHROUGH_WORKER_H

#include "addr.h"
#include "peers.h"
#include "stats.h"

/* What the master hands a worker process. */
struct worker_spec {
	unsigned slot;			/* 0 .. workers-1 */
	unsigned report;		/* its line in the statistics segment */
	unsigned workers;		/* how many slots there are */
	const int *listen_fds;		/* this slot's listening sockets */
	const struct addr *listen_addrs;
	unsigned listen_count;
	const struct stats *stats;	/* the segment, mapped read-only: route and backend names */
	struct stats_area *area;	/* this worker's own area: all it writes */
	int channel;			/* the master's messages (fdpass.h): route tables, log files */
	const struct peer *peers;	/* the other workers' areas mapped read-only at the fork */
	unsigned peer_count;
	int relay_socks_fd;		/* relay "kernel": this worker's own BPF maps */
	int relay_peers_fd;		/* (master/kernelrelay.h), or -1 */
	unsigned engine;		/* enum engine_kind (engine.h): 0 is io_uring */
};

/* Runs the worker until it is told to stop; the process's exit status. */
int worker_run(const struct worker_spec *spec);

#endif
