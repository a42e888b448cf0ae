/*
 * check.h -- passthrough-stats --check: whether a running passthrough
 * serves (the master and a worker accepting in every configured slot), in
 * one line and an exit status, for Kubernetes exec probes and scripts.
 *
 * It works from another pid namespace (a pod's metrics sidecar): what it
 * judges is the segment's word, the heartbeats (common/stats.h) above all;
 * pids are asked about only when the reader sees the master's pid
 * namespace. A failed last reload does not fail it: the configuration
 * before still serves, and a bad ConfigMap pushed to every replica must
 * not take them all out of a Service at once.
 */
#ifndef PASSTHROUGH_CHECK_H
#define PASSTHROUGH_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"
#include "snapshot.h"

enum check_verdict {
	CHECK_SERVING,		/* line: "serving: ..." or "last reload failed: ..." */
	CHECK_NOT_SERVING,	/* line: why, the first fault found */
};

/* What the verdict needs besides the snapshot; a test sets its own. */
struct check_env {
	uint64_t now_ms;		/* CLOCK_MONOTONIC ms, the heartbeats' clock */
	int same_pidns;			/* the master's pids are this reader's pids */
	/* With same_pidns: 1 while pid is a process that is not a zombie, else 0. */
	int (*pid_alive)(uint32_t pid);
};

/*
 * The verdict on snap, and its one line (no newline) into line[size]. In
 * order, the first that holds decides: the master is gone (same_pidns
 * only) or its heartbeat is older than CHECK_STALE_MS; a slot of the
 * header's `workers` has no live line that is not retiring (its newest is
 * judged); that worker is gone or a zombie (same_pidns only), is not
 * accepting yet, or its heartbeat is stale. Retiring workers are not
 * judged. Else serving, the line naming a failed last reload if any.
 */
enum check_verdict check_judge(const struct snapshot *snap, const struct check_env *env,
    char *line, size_t size);

/* kill(pid, 0) and /proc/PID/stat's state: 0 for no process or a zombie, else 1. */
int check_pid_alive(uint32_t pid);

/*
 * One snapshot of seg judged: the line on stdout when serving, else on
 * stderr after "passthrough-stats: not serving: ". An exit status:
 * TOOL_EXIT_OK or TOOL_EXIT_FAIL.
 */
int check_run(struct segment *seg);

#endif
