#!/bin/bash
# Guards a route's own limits: max_connections (with 2 workers, over both) answers the connection past it with a TLS internal_error alert, counted as route_full, without touching the backend, and admits again once connections end; a route's timeouts.idle_ms closes an idle relay long before the global one.
. "$(dirname "$0")/lib.sh"

sink_start cap	# reads until EOF, then closes
sink_start idle --hold
proxy_start -w 1 "timeouts = { idle_ms = 60000; };
routes = (
  { sni = \"cap.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[cap]}\" ]; max_connections = 3; },
  { sni = \"idle.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[idle]}\" ];
    timeouts = { idle_ms = 300; }; }
);"
P=$PROXY_PORT

echo "--- max_connections = 3"
spawn "$PTCLIENT" --connect "127.0.0.1:$P" --hello cap.example.com --count 3 --hold >"$T/hold.out"
HOLD=$BG_PID
WAIT_S=10 wait_until lines_at_least "$T/hold.out" ready 1 || die "ptclient did not open 3 connections"
WAIT_S=5 sink_wait cap hello 3 || fail "the backend did not get the 3 hellos"
"$PTCLIENT" --connect "127.0.0.1:$P" --hello cap.example.com --read --timeout-ms 5000 \
    >"$T/fourth.bytes" 2>"$T/fourth.err"
res=$(grep '^result=' "$T/fourth.err")
echo "     the fourth: $res"
check_match "the fourth gets 7 bytes and the close" "^result=eof received=7 " "$res"
check_match "... a fatal (02) internal_error (50) alert record" "^15030[0-3]00020250\$" \
    "$(od -An -tx1 "$T/fourth.bytes" | tr -d ' \n')"
check_eq "the backend saw only the three" 3 "$(sink_count cap accept)"
stop_pid "$HOLD"
WAIT_S=5 wait_until proxy_has_closes 4 || fail "the held connections did not end"
check_hello_reaches "once they ended, a new one" cap --hello cap.example.com

echo "--- timeouts.idle_ms = 300 on the route (60000 globally)"
"$PTCLIENT" --connect "127.0.0.1:$P" --hello idle.example.com --read --timeout-ms 10000 \
    >/dev/null 2>"$T/idle.err"
res=$(grep '^result=' "$T/idle.err")
echo "     client: $res"
check_range "closed after (ms)" 250 3000 "$(field elapsed_ms "$res")"
proxy_stop
check_counters "normal=any client_reset=any route_full=1 idle_timeout=1"
finish
