#!/bin/bash
# Guards the shipped seccomp profile (etc/kubernetes/seccomp/passthrough.json: the runtime default plus io_uring): loaded as runc loads it for a pod without capabilities (tests/tools/ptseccomp), with tuning.events = "io_uring" the proxy starts, its master and 2 workers run under the filter with no_new_privs, real TLS reaches the backend, a reload (SIGHUP) adding a route is applied and both routes serve, passthrough-stats says io_uring for every worker, and nothing is logged at warn or error (no call the proxy makes is denied).
. "$(dirname "$0")/lib.sh"
PTSECCOMP=$ROOT/tests/tools/ptseccomp
PROFILE=$ROOT/etc/kubernetes/seccomp/passthrough.json
/usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
	die "python3-seccomp is missing: tools/deps.sh test installs it"

# check_under_filter: the master and each worker run under a seccomp filter
# (Seccomp: 2) with no_new_privs, as in the pod.
check_under_filter() {
	local pid
	for pid in "$PROXY_PID" $PROXY_WORKER_PIDS; do
		check_eq "process $pid: Seccomp, NoNewPrivs" "2 1" \
		    "$(awk '/^Seccomp:/ { s = $2 } /^NoNewPrivs:/ { n = $2 } END { print s, n }' "/proc/$pid/status")"
	done
}

# serves NAME N: N TLS requests for NAME.example.com through the proxy reach backend NAME.
serves() {
	local i ok=0
	for ((i = 0; i < $2; i++)); do
		[ "$(curl_get "$1.example.com" "$PROXY_PORT" whoami --max-time 5 2>&1)" = "backend-$1" ] &&
		    ok=$((ok + 1))
	done
	check_eq "$2 TLS requests for $1.example.com answered by backend $1" "$2" "$ok"
}

# quiet_or_stop: nothing at warn or error in the log so far (a call the
# profile denies makes one); else the proxy is stopped and the test ends at
# once (a worker whose io_uring_enter is denied logs in a loop, and fast).
quiet_or_stop() {
	local first
	first=$(grep -m 1 -E ': (warn|error): ' "$PROXY_LOG")
	check_eq "$1: the first line at warn or error (no call was denied)" "" "$first"
	[ "$FAILS" -eq 0 ] && return 0
	# shellcheck disable=SC2086  # the pids, one word each
	kill -KILL "$PROXY_PID" $PROXY_WORKER_PIDS
	finish
}

# engines_are WANT: passthrough-stats says WANT for each of the 2 workers.
engines_are() {
	check_eq "passthrough-stats --json: each worker's engine" "$1 $1" \
	    "$("$STATS" -c "$PROXY_CONF" --json | jq -r '[.workers[].engine] | join(" ")')"
}

# The helper enforces the profile, not an allow-all: unshare is for CAP_SYS_ADMIN only.
check_match "under the profile, unshare(2) is denied" 'unshare failed: Operation not permitted' \
    "$("$PTSECCOMP" "$PROFILE" unshare -n true 2>&1)"

nginx_start a b
# events is written out: this test is about io_uring, whatever PT_EVENTS says.
ROUTE_A="{ sni = \"a.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; }"
ROUTE_B="{ sni = \"b.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[b]}\" ]; }"

echo "--- under the shipped profile, events \"io_uring\""
PROXY_WRAP=("$PTSECCOMP" "$PROFILE")
proxy_start -w 2 "tuning = { events = \"io_uring\"; };
routes = ( $ROUTE_A );"
PROXY_WRAP=()
check_under_filter
check_eq "each worker says it runs io_uring" 2 \
    "$(grep -c 'info: started: .*, events io_uring$' "$PROXY_LOG")"
quiet_or_stop "start"
serves a 3
engines_are io_uring
quiet_or_stop "3 requests"

echo "--- a reload (SIGHUP) adding a route"
proxy_conf_write "$PROXY_CONF" 2 "\"127.0.0.1:$PROXY_PORT\"" \
    "tuning = { events = \"io_uring\"; };
routes = ( $ROUTE_A, $ROUTE_B );"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "the reload was not applied"
serves a 2
serves b 2
engines_are io_uring
quiet_or_stop "the reload and 4 requests"
proxy_stop
check_eq "the master's exit status on SIGTERM" 0 "$PROXY_RC"
finish
