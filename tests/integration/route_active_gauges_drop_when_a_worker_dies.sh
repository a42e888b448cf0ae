#!/bin/bash
# Guards the route and backend gauges across a worker's death (issue 11, finding 7): with one worker relaying 5 long-lived connections through one route, kill -9 of that worker brings the route's and the backend's active back to 0 once its replacement runs (a dead worker's gauges die with it, nothing is left to drift upward), while what it counted stays in the totals (the route's and the backend's connections, accepted); connections through the replacement count from there.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || die "jq is missing"
EXPECT_WORKER_DEATHS=1
HELD=5
LATER=2

sink_start g	# reads until EOF: a held connection stays open
proxy_start "routes = ( { sni = \"gauge.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[g]}\" ]; } );"
BACKEND=127.0.0.1:${SINK_PORT[g]}

# stat_of JQ: one value of passthrough-stats --json.
stat_of() {
	"$BUILD/passthrough-stats" -c "$PROXY_CONF" --json | jq -r "$1"
}
route() { stat_of ".routes[] | select(.route == \"gauge.example.com\") | .$1"; }
backend() { stat_of ".backends[] | select(.backend == \"$BACKEND\") | .$1"; }
gauges_are() { [ "$(route active)" = "$1" ] && [ "$(backend active)" = "$1" ]; }

# hold N NAME: N connections through the route that sent their hello and stay open.
declare -A HOLD=()
hold() {
	spawn "$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello gauge.example.com \
	    --count "$1" --hold >"$T/hold-$2.out"
	HOLD[$2]=$BG_PID
	WAIT_S=10 wait_until lines_at_least "$T/hold-$2.out" ready 1 || die "ptclient did not open $1 connections"
}

echo "--- $HELD connections held through the route"
hold "$HELD" a
WAIT_S=10 sink_wait g hello "$HELD" || fail "the $HELD hellos did not reach the backend"
WAIT_S=5 wait_until gauges_are "$HELD"
check_eq "route active" "$HELD" "$(route active)"
check_eq "backend active" "$HELD" "$(backend active)"
check_eq "route connections" "$HELD" "$(route connections)"
check_eq "backend connections" "$HELD" "$(backend connections)"

echo "--- kill -9 of the worker"
old=$(proxy_slot_pid 0)
[ -n "$old" ] || die "no worker 0"
kill -KILL "$old"
replaced() {
	local p
	p=$(proxy_slot_pid 0)
	[ -n "$p" ] && [ "$p" != "$old" ] && [ "$(stat_of '.workers | length')" = 1 ] &&
	    [ "$(stat_of '.workers[0].pid')" = "$p" ]
}
WAIT_S=5 wait_until replaced || die "worker 0 was not replaced within 5 s"
check_eq "route active after the death" 0 "$(route active)"
check_eq "backend active after the death" 0 "$(backend active)"
check_eq "total active after the death" 0 "$(stat_of .totals.active)"
check_eq "route connections kept" "$HELD" "$(route connections)"
check_eq "backend connections kept" "$HELD" "$(backend connections)"
check_range "accepted kept" "$HELD" 1000 "$(stat_of .totals.accepted)"
stop_pid "${HOLD[a]}"

echo "--- the replacement counts from there"
hold "$LATER" b
WAIT_S=10 sink_wait g hello $((HELD + LATER)) || fail "the $LATER hellos did not reach the backend"
WAIT_S=5 wait_until gauges_are "$LATER"
check_eq "route active" "$LATER" "$(route active)"
check_eq "backend active" "$LATER" "$(backend active)"
check_eq "route connections" $((HELD + LATER)) "$(route connections)"
check_eq "backend connections" $((HELD + LATER)) "$(backend connections)"
stop_pid "${HOLD[b]}"
WAIT_S=5 wait_until gauges_are 0
check_eq "route active once they closed" 0 "$(route active)"
check_eq "backend active once they closed" 0 "$(backend active)"

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
