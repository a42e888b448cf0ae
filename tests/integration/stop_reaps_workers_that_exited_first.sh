#!/bin/bash
# Guards the stop when the workers got the signal too (Ctrl-C on a terminal signals the whole process group): workers that exited before the master's stop began are reaped at once, and the master exits 0 within 1 s rather than waiting out its grace period for a SIGCHLD that already came.
. "$(dirname "$0")/lib.sh"
EXPECT_WORKER_DEATHS=1

# From the master's SIGCONT (its SIGTERM pending) until it exited. ms
STOP_MAX_MS=1000

proxy_start -w 2 "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:9\" ]; } );"
workers=$PROXY_WORKER_PIDS
check_eq "workers" 2 "$(wc -w <<<"$workers")"

# Deterministic order: the master stopped, its workers end first, then its
# SIGTERM and their SIGCHLD arrive together when it continues.
kill -STOP "$PROXY_PID"
# shellcheck disable=SC2086  # the pids, one word each
kill -TERM $workers
all_exited() {
	local pid
	for pid in $workers; do pid_alive "$pid" && return 1; done
	return 0
}
WAIT_S=5 wait_until all_exited || fail "the workers did not exit on SIGTERM"
kill -TERM "$PROXY_PID"
t0=$(now_ms)
kill -CONT "$PROXY_PID"
exit_wait "$PROXY_PID" 10
check_range "ms from the master's SIGCONT to its exit" 0 "$STOP_MAX_MS" $(( $(now_ms) - t0 ))
check_eq "the master's exit status" 0 "$EXIT_RC"
check_eq "workers it logged as finished" 2 "$(grep -c 'master: info: worker [01] (pid [0-9]*) finished' "$PROXY_LOG")"
check_no_match "no worker killed after a grace period" 'did not stop in' "$(cat "$PROXY_LOG")"
finish
