#!/bin/bash
# backends_ab.sh -- do weighted backends and active health checks cost
# connection rate? An interleaved A/B of passthrough's connection-rate point
# (tools/bench/run.sh):
#   A  pt_adaptive: bench.example goes to one backend (sink A)
#   B  pt_weighted: bench.example goes to sink A by three addresses
#      (127.0.0.1, .2, .3) weighted 5:3:2, each checked by the master
#      every second (check = { interval_ms = 1000; timeout_ms = 500; })
#   C  pt_leastconn: B with balance = "leastconn" (each pick sums the
#      backends' open connections over every worker's statistics area)
# Each repetition starts A and B afresh, in an order that alternates, so
# drift on the shared machine falls on both alike. The table gives
# connections/s, the proxy's CPU and the machine's CPU per connection, each
# as median ± half the range, every repetition's rate, and B / A (and C / A). It goes to
# docs/bench/backends-ab.md (OUT_DIR, OUT_NAME) and stdout.
#
# Usage: tools/bench/backends_ab.sh    (after make all bench-tools BUILD=...)
# Environment (defaults in brackets): BUILD [build], REPS [9] repetitions of
# each of A and B, SECS [5] seconds per run, WORKERS_LIST [1 2], POINTS
# [rate], BENCH_PORT_BASE [19400], OUT_DIR [docs/bench], OUT_NAME
# [backends-ab]; the rest as run.sh reads it.
set -u
cd "$(dirname "$0")/../.." || exit 1

export SYSTEMS="pt_adaptive pt_weighted pt_leastconn"
export POINTS=${POINTS:-rate}
export WORKERS_LIST=${WORKERS_LIST:-"1 2"}
export REPS=${REPS:-9}
export SECS=${SECS:-5}
export IDLE_K=0 PERF=${PERF:-0} QUICK=
export OUT_DIR=${OUT_DIR:-docs/bench}
export OUT_NAME=${OUT_NAME:-backends-ab}
[ "$REPS" -ge 5 ] || { echo "backends_ab.sh: REPS must be 5 or more" >&2; exit 2; }
exec tools/bench/run.sh
