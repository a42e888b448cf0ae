#!/bin/bash
# Guards idle relayed connections costing no threads: 2,000 proxied connections that sent a hello and then idle leave the worker's thread count unchanged (every relay, "kernel" too where the build has it), and all stay open.
. "$(dirname "$0")/lib.sh"

N=2000
sink_start idle --hold

threads() { find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

for relay in $RELAYS; do
	echo "--- relay = $relay"
	: >"$SINK_LOG"
	proxy_start "tuning = { relay = \"$relay\"; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[idle]}\" ]; } );"
	read -r w _ <<<"$PROXY_WORKER_PIDS"
	[ -n "$w" ] || die "no worker process found"
	before=$(threads "$w")

	out=$T/hold-$relay.out
	spawn "$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello idle.example.com --count "$N" --hold >"$out"
	client=$BG_PID
	WAIT_S=60 wait_until lines_at_least "$out" ready 1 || die "ptclient did not open $N connections"
	WAIT_S=60 sink_wait idle hello "$N"
	check_eq "connections whose hello reached the backend" "$N" "$(sink_count idle hello)"
	# Let anything the relay set off settle, then count again.
	sleep 1
	check_eq "worker threads with $N idle connections (before: $before)" "$before" "$(threads "$w")"
	check_eq "io-wq threads in the worker" 0 "$(grep -l '^iou-' /proc/"$w"/task/*/comm 2>/dev/null | wc -l)"

	check_relay_used "$relay"

	kill -USR1 "$client"
	WAIT_S=10 wait_until lines_at_least "$out" closed_by_peer= 1
	check_eq "client connections the proxy closed while idle" "closed_by_peer=0" "$(grep closed_by_peer= "$out" | head -n 1)"

	# A fast stop closes every one of them (the shutdown count is
	# sigterm_stops_cleanly's to check); nothing closed them before.
	proxy_stop
	check_eq "proxy exit status" 0 "$PROXY_RC"
	check_eq "connections accepted" "$N" "$(proxy_counter accepted)"
	check_counters "shutdown=any"
	WAIT_S=10 wait_until sh -c "kill -USR1 $client; sleep 0.2; grep -q 'closed_by_peer=$N' '$out'"
	check_eq "client connections closed once the proxy stopped" "closed_by_peer=$N" \
	    "$(grep closed_by_peer= "$out" | tail -n 1)"
	stop_pid "$client"
done
finish
