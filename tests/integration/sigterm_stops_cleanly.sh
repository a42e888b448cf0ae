#!/bin/bash
# Guards a fast stop: on SIGTERM (and SIGINT) the master stops its workers and exits 0 within 2 s, no worker is left, open connections are closed and counted, and the port is free again.
. "$(dirname "$0")/lib.sh"

sink_start hold --hold

for sig in TERM INT; do
	echo "--- SIG$sig"
	: >"$SINK_LOG"
	proxy_start -w 2 "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[hold]}\" ]; } );"
	P=$PROXY_PORT
	workers=$PROXY_WORKER_PIDS
	check_eq "worker processes (children of the master)" 2 "$(wc -w <<<"$workers")"
	names=$(for w in $workers; do cat "/proc/$w/comm"; done | sort | tr '\n' ' ')
	check_eq "worker process names" "pt-worker-0 pt-worker-1 " "$names"

	# Three relayed connections, open when the signal comes.
	out=$T/hold-$sig.out
	spawn "$PTCLIENT" --connect "127.0.0.1:$P" --hello hold.example.com --count 3 --hold >"$out"
	client=$BG_PID
	WAIT_S=10 wait_until lines_at_least "$out" ready 1 || die "ptclient did not connect"
	sink_wait hold hello 3 || die "the connections did not reach the backend"

	STOP_SIGNAL=$sig proxy_stop
	check_eq "master exit status" 0 "$PROXY_RC"
	check_range "master exited within (ms)" 0 2000 "$PROXY_STOP_MS"
	left=
	for w in $workers; do pid_alive "$w" && left="$left $w"; done
	check_eq "workers still running" "" "$left"
	check_eq "listening sockets on the port" "" "$(ss -Htln "( sport = :$P )")"
	check_match "master logged its stop" "master: info: stopped" "$(cat "$PROXY_LOG")"
	check_eq "connections accepted" 3 "$(proxy_counter accepted)"
	check_counters "shutdown=3"

	# The held client connections were closed by the stop.
	WAIT_S=10 wait_until sh -c "kill -USR1 $client; sleep 0.2; grep -q 'closed_by_peer=3' '$out'"
	check_eq "client connections closed by the stop" "closed_by_peer=3" \
	    "$(grep closed_by_peer= "$out" | tail -n 1)"
	stop_pid "$client"
done
finish
