#!/bin/bash
# Guards balance modes across workers: with 2 workers, after 8 long-lived connections went to A (B drained), a reload to A:B 1:1 with balance = "leastconn" sends all of 8 more, opened one at a time, to B (each worker sums what every worker holds, not only its own); once B's end, a reload to 3 new workers (the 2 old ones drain, still holding A's 8) sends 4 more to B too (new workers count the draining ones'); balance = "random2" over 2,000 short connections (2 workers) splits within 10% of half; the stats tool shows a route's balance mode.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"
command -v jq >/dev/null || die "jq is missing"
STATS=$BUILD/passthrough-stats

sink_start A --hold
sink_start B	# reads until EOF: its connections end with their clients
sink_start C --send-then-shutdown 1111
sink_start D --send-then-shutdown 1111
routes() {	# WEIGHT_OF_B BALANCE
	printf 'routes = (
  { sni = "l.example.com"; balance = "%s"; backends = (
      "127.0.0.1:%s", { address = "127.0.0.1:%s"; weight = %s; } ); },
  { sni = "r.example.com"; balance = "random2";
    backends = [ "127.0.0.1:%s", "127.0.0.1:%s" ]; }
);' "$2" "${SINK_PORT[A]}" "${SINK_PORT[B]}" "$1" "${SINK_PORT[C]}" "${SINK_PORT[D]}"
}
proxy_start -w 2 "$(routes 0 roundrobin)"
workers=$(proxy_children)
MORE=()
held() { echo $(($(sink_count A hello) + $(sink_count B hello))); }

echo "--- 8 long-lived connections, B drained: all on A, over both workers"
spawn "$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello l.example.com --count 8 --hold \
    >"$T/first.out"
WAIT_S=10 wait_until lines_at_least "$T/first.out" ready 1 || die "ptclient did not open 8 connections"
WAIT_S=10 sink_wait A hello 8 || die "A did not get the 8 hellos"
check_eq "B (weight 0) holds none" 0 "$(sink_count B accept)"

echo "--- reload: A and B weight 1, balance = \"leastconn\""
proxy_conf_write "$PROXY_CONF" 2 "\"127.0.0.1:$PROXY_PORT\"" "$(routes 1 leastconn)"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || die "generation 2 not published"
check_eq "the same workers run (they learn each other's counts at start)" "$workers" \
    "$(proxy_children)"
for i in 1 2 3 4 5 6 7 8; do
	spawn "$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello l.example.com --count 1 --hold \
	    >"$T/more-$i.out"
	MORE+=("$BG_PID")
	WAIT_S=10 wait_until lines_at_least "$T/more-$i.out" ready 1 || die "connection $i did not open"
	WAIT_S=10 wait_until test "$(held)" -ge $((8 + i)) || die "connection $i reached no backend"
done
a=$(sink_count A hello) b=$(sink_count B hello)
echo "     A holds $a, B holds $b"
check_eq "the 8 new ones all went to B (A held 8 over both workers)" 8 "$b"
check_eq "A got no new one" 8 "$a"

echo "--- random2, equal weights, 2,000 short connections"
# Two at a time: random2 balances what backends hold, so with many in flight
# a backend the busy machine serves a little slower would take fewer.
loop_start r --hello r.example.com --connect "127.0.0.1:$PROXY_PORT" --total 2000 \
    --concurrency 2 --expect-bytes 1111 --timeout-ms 5000
loop_wait r 120
check_loop_clean "r.example.com" 2000
c=$(sink_count C accept) d=$(sink_count D accept)
echo "     C: $c, D: $d"
check_eq "every connection reached C or D" 2000 $((c + d))
check_range "C's share (half, +- 10%)" 900 1100 "$c"

echo "--- B's 8 end; reload to 3 new workers: the 2 old ones drain, holding A's 8"
for pid in "${MORE[@]}"; do stop_pid "$pid"; done
WAIT_S=10 sink_wait B close "$b" || die "B's connections did not end"
b_active() {
	"$STATS" -c "$PROXY_CONF" --json 2>/dev/null |
	    jq -r ".backends[] | select(.backend == \"127.0.0.1:${SINK_PORT[B]}\") | .active"
}
WAIT_S=10 wait_until test "$(b_active)" = 0 || die "the proxy still counts B's connections"
proxy_conf_write "$PROXY_CONF" 3 "\"127.0.0.1:$PROXY_PORT\"" "$(routes 1 leastconn)"
kill -HUP "$PROXY_PID"
proxy_wait_generation 3 || die "generation 3 not published"
WAIT_S=10 wait_until test "$(grep -c 'info: started:' "$PROXY_LOG")" -ge 5 ||
    die "the 3 new workers did not start"
for i in 1 2 3 4; do
	spawn "$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello l.example.com --count 1 --hold \
	    >"$T/new-$i.out"
	WAIT_S=10 wait_until lines_at_least "$T/new-$i.out" ready 1 || die "connection $i did not open"
	WAIT_S=10 wait_until test "$(held)" -ge $((16 + i)) || die "connection $i reached no backend"
done
a=$(sink_count A hello) b=$(sink_count B hello)
echo "     A: $a hellos in all, B: $b"
check_eq "the 4 went to B (each new worker would take A first by its own counts)" 12 "$b"
check_eq "A still has only its first 8" 8 "$a"
PROXY_WORKERS=5	# exit lines: the 2 first workers and the 3 new ones

echo "--- the stats tool shows each route's balance mode"
stats_json "$T/stats.json"
check_eq "l.example.com's balance" leastconn \
    "$(jq -r '.routes[] | select(.route == "l.example.com") | .balance' "$T/stats.json")"
check_eq "r.example.com's balance" random2 \
    "$(jq -r '.routes[] | select(.route == "r.example.com") | .balance' "$T/stats.json")"
proxy_stop
finish
