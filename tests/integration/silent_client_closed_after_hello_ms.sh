#!/bin/bash
# Guards timeouts.hello_ms: a client that sends nothing, or trickles its hello too slowly, is closed once hello_ms has passed, and no backend is contacted.
. "$(dirname "$0")/lib.sh"

HELLO_MS=1000
# TCP_DEFER_ACCEPT (1 s) hands a silent connection to the proxy only after
# the kernel's SYN-ACK retransmits: 1 to 3 s; hello_ms counts from then.
DEFER_SLACK_MS=3500
sink_start def
proxy_start "timeouts = { hello_ms = $HELLO_MS; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[def]}\" ]; } );"
P=$PROXY_PORT

# Three silent clients at once, and one that sends a byte of its hello every 100 ms.
for i in 1 2 3; do
	spawn "$PTCLIENT" --connect "127.0.0.1:$P" --read --timeout-ms 15000 2>"$T/silent$i.err"
	pids[i]=$BG_PID
done
"$PTCLIENT" --connect "127.0.0.1:$P" --hello slow.example.com --chunk 1 --delay-ms 100 --read \
    --timeout-ms 15000 >/dev/null 2>"$T/slow.err"
for i in 1 2 3; do
	wait "${pids[i]}"
	res=$(grep '^result=' "$T/silent$i.err")
	check_match "silent client $i: closed by the proxy" "^result=(eof|reset)" "$res"
	check_range "silent client $i: closed after (ms)" "$HELLO_MS" $((HELLO_MS + DEFER_SLACK_MS)) \
	    "$(field elapsed_ms "$res")"
done
# Its first byte came with the connection: the clock starts at once.
res=$(grep '^result=' "$T/slow.err")
check_match "slow client: closed by the proxy mid-hello" "^result=(eof|reset)" "$res"
check_range "slow client: closed after (ms)" $((HELLO_MS - 50)) $((HELLO_MS + 1500)) \
    "$(field elapsed_ms "$res")"

check_eq "connections that reached the backend" 0 "$(sink_count def accept)"
proxy_wait_closes 4
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters "hello_timeout=4"
finish
