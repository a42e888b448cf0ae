#!/bin/bash
# proxy_ab.sh -- does PROXY protocol both ways cost connection rate? An
# interleaved A/B of passthrough's connection-rate point (tools/bench/run.sh):
#   A  pt_adaptive: the plain configuration
#   B  pt_proxy: the listen entry is a group with accept_proxy = true and
#      trusted = [ "127.0.0.0/8" ], loadgen sends a PROXY v2 header before
#      each hello, the routes have send_proxy = "v2" and their sinks (-p)
#      read and drop the header before the hello.
# Each repetition starts A and B afresh, in an order that alternates (A B,
# B A, A B, ...), so drift on the shared machine falls on both alike. The
# table gives connections/s, the proxy's CPU and the machine's CPU per
# connection, each as median ± half the range, every repetition's rate, and
# B / A. It goes to docs/bench/proxy-ab.md (OUT_DIR, OUT_NAME) and stdout.
#
# Usage: tools/bench/proxy_ab.sh    (after make all bench-tools BUILD=...)
# Environment (defaults in brackets): BUILD [build], REPS [9] repetitions of
# each of A and B, SECS [5] seconds per run, WORKERS_LIST [1], POINTS [rate]
# (add ping for round trips), PERF [0] (1: one more run of each under perf
# stat: syscalls, io_uring SQEs, context switches per connection; it adds a
# download run too), BENCH_PORT_BASE [19400], OUT_DIR [docs/bench], OUT_NAME
# [proxy-ab]; the rest as run.sh reads it.
set -u
cd "$(dirname "$0")/../.." || exit 1

export SYSTEMS="pt_adaptive pt_proxy"
export POINTS=${POINTS:-rate}
export WORKERS_LIST=${WORKERS_LIST:-1}
export REPS=${REPS:-9}
export SECS=${SECS:-5}
export IDLE_K=0 PERF=${PERF:-0} QUICK=
export OUT_DIR=${OUT_DIR:-docs/bench}
export OUT_NAME=${OUT_NAME:-proxy-ab}
[ "$REPS" -ge 5 ] || { echo "proxy_ab.sh: REPS must be 5 or more" >&2; exit 2; }
exec tools/bench/run.sh
