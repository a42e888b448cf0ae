#!/bin/bash
# Guards passive health: under a steady connection loop one of two backends stops gracefully (listener closed, its connections finished); no client fails (the retry covers the first ones), each worker marks it down after 3 failed connects and stops sending it clients (its failures stay a handful, not half the load), passthrough-stats shows it down in both workers, a client probes it after the back-off, and once it listens again it is marked up (down nowhere, went down once per worker) and takes traffic; a route whose backends are all down still tries them (counted in all_down).
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

sink_start A --send-then-shutdown 1111
sink_start B --send-then-shutdown 1111
BPORT=${SINK_PORT[B]}
BPID=$BG_PID
DEAD=$(free_port)
proxy_start -w 2 "
stats = { name = \"pt-health-$$\"; };
routes = (
  { sni = \"h.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[A]}\", \"127.0.0.1:$BPORT\" ]; },
  { sni = \"dead.example.com\"; backends = [ \"127.0.0.1:$DEAD\" ]; }
);"
stats_json() { "$BUILD/passthrough-stats" -n "pt-health-$$" -j; }
bk() {	# ADDR FIELD
	stats_json | jq -r --arg a "$1" ".backends[] | select(.backend == \$a) | .$2"
}

loop_start h --hello h.example.com --connect "127.0.0.1:$PROXY_PORT" --concurrency 2 \
    --interval-ms 5 --expect-bytes 1111 --timeout-ms 5000
WAIT_S=10 wait_until loop_has h 100 || die "the loop gets no answers"
check_range "B takes its share while up" 30 100000 "$(sink_count B accept)"

echo "--- B stops gracefully: its listener closes, the connections it holds finish"
kill -USR1 "$BPID"
pid_wait_exit "$BPID" 10 || fail "ptsink B did not finish its connections and exit"
t0=$(loop_count h)
WAIT_S=10 wait_until grep -q "backend 127.0.0.1:$BPORT is down" "$PROXY_LOG" || fail "B was not marked down"
both_down() { [ "$(bk "127.0.0.1:$BPORT" down_workers)" = 2 ]; }
WAIT_S=5 wait_until both_down || fail "passthrough-stats: B is not down in both workers"
check_eq "passthrough-stats table: B down in 2 of 2 workers" 1 \
    "$("$BUILD/passthrough-stats" -n "pt-health-$$" | grep -cE "^ *127\.0\.0\.1:$BPORT +yes .* 2 of 2 +2\$")"
sleep 2.5
down=$(( $(loop_count h) - t0 ))
fails=$(bk "127.0.0.1:$BPORT" connect_failures)
echo "     while B was down: $down connections, $fails failed connects to B"
check_range "connections served meanwhile" 100 1000000 "$down"
check_range "failed connects to B: 3 per worker, then a probe now and then" 6 16 "$fails"

echo "--- B listens again"
sink_start B --send-then-shutdown 1111 --listen "127.0.0.1:$BPORT"
accepts=$(sink_count B accept)
WAIT_S=15 wait_until grep -q "backend 127.0.0.1:$BPORT is up again" "$PROXY_LOG" ||
    fail "B was not marked up again"
WAIT_S=10 wait_until sink_has B accept $((accepts + 20)) || fail "B takes no traffic again"
none_down() { [ "$(bk "127.0.0.1:$BPORT" down_workers)" = 0 ]; }
WAIT_S=10 wait_until none_down || fail "passthrough-stats: B still down somewhere"
check_eq "passthrough-stats: B went down once in each worker" 2 "$(bk "127.0.0.1:$BPORT" went_down)"
loop_stop h
check_loop_clean "the loop, all along" 300

echo "--- a route whose only backend is dead"
for i in $(seq 10); do
	"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello dead.example.com --read \
	    --timeout-ms 5000 >/dev/null 2>&1
done
check_range "connections tried while every backend was down (all_down)" 1 10 \
    "$(stats_json | jq -r .totals.all_down)"
check_eq "... each tried: connect failures" 10 "$(bk "127.0.0.1:$DEAD" connect_failures)"
proxy_stop
check_counters "normal=any connect_refused=10"
finish
