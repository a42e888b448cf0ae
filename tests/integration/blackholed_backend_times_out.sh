#!/bin/bash
# Guards timeouts.connect_ms against a backend whose SYNs vanish: the client is closed between connect_ms and ~1.5 s (connect_timeout = 1, the backend's connect_timeouts = 1), with a route [blackholed, alive] the connection that tries the blackholed one first fails over to the live one after connect_ms, and a route's own timeouts.connect_ms (shorter) wins over the global one.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"

CONNECT_MS=400
ROUTE_CONNECT_MS=150
CLOSE_MAX_MS=1500

blackhole_start ptbh 10.201

sink_start live
proxy_start "timeouts = { connect_ms = $CONNECT_MS; };
routes = (
  { sni = \"bh.example.com\"; backends = [ \"$BH_NET.2:443\" ]; },
  { sni = \"fo.example.com\"; backends = [ \"$BH_NET.3:443\", \"127.0.0.1:${SINK_PORT[live]}\" ]; },
  { sni = \"short.example.com\"; backends = [ \"$BH_NET.4:443\" ];
    timeouts = { connect_ms = $ROUTE_CONNECT_MS; }; }
);"

echo "--- a route whose only backend is blackholed"
"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello bh.example.com --read --timeout-ms 10000 \
    >/dev/null 2>"$T/bh.err"
res=$(grep '^result=' "$T/bh.err")
echo "     client: $res"
check_match "the client is closed by the proxy" "^result=(eof|reset)" "$res"
check_range "... after (ms)" $((CONNECT_MS - PROXY_CLOCK_SLACK_MS)) "$CLOSE_MAX_MS" "$(field elapsed_ms "$res")"
WAIT_S=5 wait_until stats_closed 1 || fail "the proxy did not count the close"
check_closes_exact "connect_timeout=1"
bk() {	# ADDR FIELD: a backend's counter
	jq -r --arg a "$1" ".backends[] | select(.backend == \$a) | .$2" <<<"$STATS_JSON"
}
check_eq "passthrough-stats: $BH_NET.2:443 connect_timeouts" 1 "$(bk "$BH_NET.2:443" connect_timeouts)"
check_eq "passthrough-stats: $BH_NET.2:443 connect_failures" 1 "$(bk "$BH_NET.2:443" connect_failures)"
check_eq "passthrough-stats: $BH_NET.2:443 connections" 0 "$(bk "$BH_NET.2:443" connections)"

echo "--- a route [blackholed, alive]: two connections, round-robin starts one on each"
for i in 1 2; do
	"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello fo.example.com --shutdown --read \
	    --timeout-ms 10000 >/dev/null 2>"$T/fo$i.err"
	res=$(grep '^result=' "$T/fo$i.err")
	echo "     client $i: $res"
	check_match "client $i: served to the end (EOF from the live backend)" "^result=eof " "$res"
	ms[i]=$(field elapsed_ms "$res")
done
slow=$(( ms[1] > ms[2] ? ms[1] : ms[2] ))
fast=$(( ms[1] > ms[2] ? ms[2] : ms[1] ))
check_range "the one that tried the black hole first: served after (ms)" \
    $((CONNECT_MS - PROXY_CLOCK_SLACK_MS)) "$CLOSE_MAX_MS" "$slow"
check_range "the other: served at once (ms)" 0 $((CONNECT_MS - PROXY_CLOCK_SLACK_MS - 1)) "$fast"
check_eq "hellos the live backend got" 2 "$(sink_count live hello)"
check_eq "... for fo.example.com" fo.example.com "$(sink_field live hello sni)"
WAIT_S=5 wait_until stats_closed 3 || fail "the proxy did not count the closes"
check_closes_exact "connect_timeout=1 normal=2"
check_eq "passthrough-stats: $BH_NET.3:443 connect_timeouts" 1 "$(bk "$BH_NET.3:443" connect_timeouts)"
check_eq "passthrough-stats: 127.0.0.1:${SINK_PORT[live]} connections" 2 "$(bk "127.0.0.1:${SINK_PORT[live]}" connections)"

echo "--- a route with its own timeouts.connect_ms ($ROUTE_CONNECT_MS ms, the global one $CONNECT_MS)"
"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello short.example.com --read --timeout-ms 10000 \
    >/dev/null 2>"$T/short.err"
res=$(grep '^result=' "$T/short.err")
echo "     client: $res"
check_match "the client is closed by the proxy" "^result=(eof|reset)" "$res"
check_range "... after (ms): the route's timeout, not the global one" \
    $((ROUTE_CONNECT_MS - PROXY_CLOCK_SLACK_MS)) $((CONNECT_MS - 50)) "$(field elapsed_ms "$res")"
WAIT_S=5 wait_until stats_closed 4 || fail "the proxy did not count the close"
check_closes_exact "connect_timeout=2 normal=2"
check_gauges_zero
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
