#!/bin/bash
# Guards active health checks under a steady connection loop: one of two checked backends stops gracefully (listener closed, its connections finished); no client fails (the retry covers the first ones), the master's checks mark it down after fall = 2 (logged, passthrough-stats state "down"), no client connection probes it while it is down (its connect failures stay where they were), and once it listens again it is up after rise = 2 checks (logged, state "up") and takes traffic again, down in no worker.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

sink_start A --send-then-shutdown 1111
sink_start B --send-then-shutdown 1111
BPORT=${SINK_PORT[B]}
BPID=$BG_PID
B=127.0.0.1:$BPORT
NAME=pt-checks-$$
proxy_start -w 2 "
stats = { name = \"$NAME\"; };
routes = ( { sni = \"h.example.com\";
  check = { interval_ms = 200; timeout_ms = 100; rise = 2; fall = 2; };
  backends = [ \"127.0.0.1:${SINK_PORT[A]}\", \"$B\" ]; } );"
bk() {	# ADDR FIELD
	"$BUILD/passthrough-stats" -n "$NAME" -j | jq -r --arg a "$1" ".backends[] | select(.backend == \$a) | .$2"
}
state_is() { [ "$(bk "$B" state)" = "$1" ]; }

loop_start h --hello h.example.com --connect "127.0.0.1:$PROXY_PORT" --concurrency 2 \
    --interval-ms 5 --expect-bytes 1111 --timeout-ms 5000
WAIT_S=10 wait_until loop_has h 100 || die "the loop gets no answers"
check_range "B takes its share while up" 30 100000 "$(sink_count B hello)"
check_eq "passthrough-stats: B is up" up "$(bk "$B" state)"

echo "--- B stops gracefully: its listener closes, the connections it holds finish"
kill -USR1 "$BPID"
pid_wait_exit "$BPID" 10 || fail "ptsink B did not finish its connections and exit"
t0=$(now_ms)
WAIT_S=5 wait_until grep -q "master: warn: backend $B is down: 2 checks failed in a row (connection refused)" \
    "$PROXY_LOG" || fail "the checks did not mark B down"
WAIT_S=2 wait_until state_is down || fail "passthrough-stats: B is not down ($(bk "$B" state))"
echo "     down $(( $(now_ms) - t0 )) ms after B exited"
sleep 0.5
fails=$(bk "$B" connect_failures)
t1=$(loop_count h)
sleep 2.5
echo "     while B was down: $(( $(loop_count h) - t1 )) connections; failed connects to B: $fails, then $(bk "$B" connect_failures)"
check_range "connections served meanwhile" 100 1000000 $(( $(loop_count h) - t1 ))
check_range "failed connects to B before the checks said down" 0 40 "$fails"
check_eq "no client probes B while the checks hold it down" "$fails" "$(bk "$B" connect_failures)"
check_range "passthrough-stats: B's failed checks" 2 1000 "$(bk "$B" checks_failed)"

echo "--- B listens again"
sink_start B --send-then-shutdown 1111 --listen "$B"
hellos=$(sink_count B hello)
WAIT_S=5 wait_until grep -q "master: info: backend $B is up: 2 checks passed" "$PROXY_LOG" ||
    fail "the checks did not mark B up"
WAIT_S=2 wait_until state_is up || fail "passthrough-stats: B is not up ($(bk "$B" state))"
WAIT_S=10 wait_until sink_has B hello $((hellos + 20)) || fail "B takes no traffic again"
none_down() { [ "$(bk "$B" down_workers)" = 0 ]; }
WAIT_S=10 wait_until none_down || fail "passthrough-stats: a worker still holds B down"
loop_stop h
check_loop_clean "the loop, all along" 300
proxy_stop
check_counters "normal=any"
finish
