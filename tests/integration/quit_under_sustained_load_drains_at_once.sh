#!/bin/bash
# Guards SIGQUIT under sustained load: while ping-pong clients keep a completion ready at every turn of every worker, a SIGQUIT still starts the drain at once (both workers log "retiring" and the port stops accepting within 1 s) and everything exits 0 by drain_ms + 1 s, with no worker killed at its deadline.
. "$(dirname "$0")/lib.sh"
LOADGEN=$BUILD/bench/loadgen
BSINK=$BUILD/bench/sink
need_tools "$LOADGEN" "$BSINK"

DRAIN_MS=2000
# From the signal until the listeners are gone. ms
CLOSE_MAX_MS=1000
CONNS=${CONNS:-1024}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-1}

SINK_P=$(free_port)
spawn "$BSINK" -l "127.0.0.1:$SINK_P" -q
WAIT_S=10 wait_until port_listening "$SINK_P" || die "the bench sink did not start"

port_closed() { ! port_listening "$PROXY_PORT"; }
retiring() { grep -c ': info: retiring: ' "$PROXY_LOG"; }
all_retiring() { [ "$(retiring)" -ge "$WORKERS" ]; }
conns_up() {
	[ "$(ss -Htn state established "( dport = :$SINK_P )" | wc -l)" -ge "$CONNS" ]
}
cpu_ticks() {	# PID...: utime + stime of those processes
	local pid s=0
	for pid in "$@"; do
		s=$((s + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$s"
}

for ((round = 1; round <= ROUNDS; round++)); do
	echo "--- round $round: SIGQUIT with $CONNS ping-pong connections busy"
	proxy_start -w "$WORKERS" "timeouts = { drain_ms = $DRAIN_MS; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:$SINK_P\" ]; } );"
	spawn "$LOADGEN" -m ping -a "127.0.0.1:$PROXY_PORT" -c "$CONNS" -t 2 -S 64 -d 15 >"$T/lg.out" 2>&1
	LG_PID=$BG_PID
	WAIT_S=10 wait_until conns_up || die "the $CONNS ping connections did not come up"
	# shellcheck disable=SC2086  # a list of pids
	c0=$(cpu_ticks $PROXY_WORKER_PIDS)
	sleep 1
	# shellcheck disable=SC2086
	echo "     the workers' CPU over the last second: $(( $(cpu_ticks $PROXY_WORKER_PIDS) - c0 )) ticks of $(getconf CLK_TCK) per worker-second x $WORKERS"
	t0=$(now_ms)
	kill -QUIT "$PROXY_PID"
	WAIT_S=2 wait_until port_closed
	closed_ms=$(( $(now_ms) - t0 ))
	WAIT_S=1 wait_until all_retiring
	check_range "round $round: ms from SIGQUIT until the port refuses" 0 "$CLOSE_MAX_MS" "$closed_ms"
	check_eq "round $round: workers that started retiring" "$WORKERS" "$(retiring)"
	echo "     ms from the master's quit to each worker's retiring line: $(grep -E 'master: info: quitting|: info: retiring: [0-9]+ connections may' "$PROXY_LOG" |
	    cut -c12-23 | awk -F: '{ t = ($1 * 3600 + $2 * 60 + $3) * 1000; if (NR == 1) q = t; else printf "%d ", t - q }')"
	pid_wait_exit "$PROXY_PID" $(( (DRAIN_MS + 1000) / 1000 + 6 ))
	exit_ms=$(( $(now_ms) - t0 ))
	if pid_alive "$PROXY_PID"; then
		rc=hung
		stop_pid "$PROXY_PID"
	else
		wait "$PROXY_PID"
		rc=$?
	fi
	check_eq "round $round: master exit status" 0 "$rc"
	check_range "round $round: ms from SIGQUIT until the master exited" 0 $((DRAIN_MS + 1000)) "$exit_ms"
	check_no_match "round $round: no worker killed at its deadline" "still draining past its deadline|killed by signal" \
	    "$(cat "$PROXY_LOG")"
	check_eq "round $round: workers that exited with their totals" "$WORKERS" "$(grep -c 'info: exiting:' "$PROXY_LOG")"
	stop_pid "$LG_PID"
done
finish
