#!/bin/bash
# Guards tuning.events "auto" where io_uring is denied: under a seccomp filter that denies io_uring_setup/enter/register (tests/tools/ptnouring, as Docker's default profile does), the master logs ONE warning naming the cause and its 2 workers serve real TLS on epoll (passthrough-stats: ENGINE, JSON engine, Prometheus passthrough_worker_info all say epoll); a reload asking for "io_uring" and relay "splice_ring" warns that the engine waits for the next start and relays with "splice", still serving; without the filter the same file runs io_uring and warns nothing.
. "$(dirname "$0")/lib.sh"
PTNOURING=$ROOT/tests/tools/ptnouring
/usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
	die "python3-seccomp is missing: tools/deps.sh test installs it"

nginx_start a
# events is written out: a suite-wide PT_EVENTS must not turn this test into another one.
BODY="tuning = { events = \"auto\"; };
routes = ( { sni = \"a.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
WARN='master: warn: tuning.events "auto": the workers cannot use io_uring (io_uring_setup: Operation not permitted; a seccomp filter is in force'

# engines_are WANT: every worker's engine, by each of the three views, is WANT.
engines_are() {
	local want=$1 json prom table
	json=$("$STATS" -c "$PROXY_CONF" --json | jq -r '[.workers[].engine] | join(" ")')
	check_eq "stats --json: every worker's engine" "$want $want" "$json"
	prom=$("$STATS" -c "$PROXY_CONF" --prometheus | grep '^passthrough_worker_info{' | sort)
	check_eq "stats --prometheus: passthrough_worker_info" \
	    "passthrough_worker_info{worker=\"0\",engine=\"$want\"} 1
passthrough_worker_info{worker=\"1\",engine=\"$want\"} 1" "$prom"
	table=$("$STATS" -c "$PROXY_CONF" | awk '/^WORKERS/ { w = 1; next } w && /^[A-Z]/ { w = 0 }
	    w && $1 ~ /^[0-9]+$/ { print $4 }' | tr '\n' ' ')
	check_eq "stats table: ENGINE of each worker" "$want $want " "$table"
}

serves() {	# N: N TLS requests through the proxy reach the backend
	local i ok=0
	for ((i = 0; i < $1; i++)); do
		[ "$(curl_get a.example.com "$PROXY_PORT" whoami 2>&1)" = backend-a ] && ok=$((ok + 1))
	done
	check_eq "$1 TLS requests through the proxy answered by backend a" "$1" "$ok"
}

echo "--- under the filter: epoll, one warning"
PROXY_WRAP=("$PTNOURING")
proxy_start -w 2 "$BODY"
PROXY_WRAP=()
check_eq "the warning naming the cause, once" 1 "$(grep -cF -- "$WARN" "$PROXY_LOG")"
check_eq "the master's only warning" 1 "$(grep -c 'master: warn:' "$PROXY_LOG")"
check_match "the master says what the workers run" 'master: info: the workers run on epoll' \
    "$(cat "$PROXY_LOG")"
check_no_match "no worker died" 'exited with status|killed by signal|restarting worker' \
    "$(cat "$PROXY_LOG")"
serves 6
engines_are epoll

echo "--- a reload asking for io_uring and splice_ring: waits for a start; relays with splice"
proxy_conf_write "$PROXY_CONF" 2 "\"127.0.0.1:$PROXY_PORT\"" \
    "tuning = { events = \"io_uring\"; relay = \"splice_ring\"; };
routes = ( { sni = \"a.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "the reload was not applied"
check_match "the reload says the engine waits for the next start" \
    'master: warn: tuning.events changes take effect at the next start; the workers run on epoll' \
    "$(cat "$PROXY_LOG")"
check_match "splice_ring on epoll relays with splice, said once" \
    'master: warn: relay "splice_ring" needs io_uring, and the workers run on epoll: relaying with "splice"' \
    "$(cat "$PROXY_LOG")"
serves 4
engines_are epoll
proxy_stop

echo "--- without the filter: io_uring, no warning"
proxy_start -w 2 "$BODY"
check_eq "no warning about io_uring" 0 "$(grep -c 'warn: .*io_uring' "$PROXY_LOG")"
serves 2
engines_are io_uring
finish
