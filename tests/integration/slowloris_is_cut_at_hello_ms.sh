#!/bin/bash
# Guards timeouts.hello_ms against slowloris: 2,000 connections trickling a real ClientHello at one byte per second are each closed by the proxy between hello_ms and hello_ms + 3.5 s after they connected (hello_timeout = 2,000, none reaching a backend), while normal clients keep being served with p99 connect-to-reply under 10x its unloaded value; on both engines, io_uring and epoll, in every pass.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
run_per_engine

HELLO_MS=3000
SLOW=2000
# The first byte comes with the connection, so TCP_DEFER_ACCEPT hands it
# over at once and hello_ms counts from about the connect; the slack is
# for a loaded machine, and small enough that the default hello_ms (5000)
# would fail the checks.
SLACK_MS=1500
# Normal clients: closed-loop connections through the proxy to a bench sink.
LG_CONNS=8
LG_COUNT=6000
P99_FACTOR=10

bsink_start
sink_start slow
proxy_start "timeouts = { hello_ms = $HELLO_MS; };
routes = (
  { sni = \"bench.example\"; backends = [ \"127.0.0.1:$BSINK_PORT\" ]; },
  { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[slow]}\" ]; }
);"

echo "--- unloaded: $LG_COUNT connections, $LG_CONNS at a time"
loadgen_rate base -c "$LG_CONNS" -N "$LG_COUNT"
echo "     $LG_RESULT"
check_eq "unloaded: connections served" "$LG_COUNT" "$(field count "$LG_RESULT")"
check_eq "unloaded: loadgen errors" 0 "$(field errors "$LG_RESULT")"
base_p99=$(ifield p99_us "$LG_RESULT")
base_p50=$(ifield p50_us "$LG_RESULT")

echo "--- $SLOW slowloris connections, one hello byte per second each"
flood_start slow --connect "127.0.0.1:$PROXY_PORT" --count "$SLOW" \
    --hex-file tests/vectors/openssl-tls1_3.hex --byte-ms 1000 --wait-ms 20000 --per-conn
flood_wait_ready slow 20
echo "     $(flood_line slow ready)"
check_eq "slowloris connections up" "up=$SLOW failed=0" "$(flood_line slow ready | cut -d' ' -f2-)"
in_hello() { stats_snap; [ "$(stats_get totals.in_hello)" -ge "$1" ]; }
WAIT_S=5 wait_until in_hello "$SLOW" || fail "the proxy holds $(stats_get totals.in_hello) connections in their hello, not $SLOW"
held=$(stats_get totals.in_hello)
echo "     connections the proxy holds in their hello: $held"

echo "--- meanwhile: $LG_COUNT normal connections"
loadgen_rate loaded -c "$LG_CONNS" -N "$LG_COUNT"
echo "     $LG_RESULT"
check_eq "under slowloris: connections served" "$LG_COUNT" "$(field count "$LG_RESULT")"
check_eq "under slowloris: loadgen errors" 0 "$(field errors "$LG_RESULT")"
load_p99=$(ifield p99_us "$LG_RESULT")
echo "     connect-to-reply p50/p99 (us): unloaded $base_p50/$base_p99, under slowloris $(ifield p50_us "$LG_RESULT")/$load_p99"
check_range "p99 under slowloris (us), at most ${P99_FACTOR}x unloaded" 0 $((base_p99 * P99_FACTOR)) "$load_p99"
stats_snap
echo "     connections still in their hello after that run: $(stats_get totals.in_hello)"

flood_wait slow 30
echo "     $FLOOD_RESULT"
check_eq "slowloris connections closed by the proxy" "$SLOW" "$(field closed "$FLOOD_RESULT")"
check_eq "... still open" 0 "$(field open "$FLOOD_RESULT")"
# The lower bound counts from the connect() call (the proxy cannot have
# accepted earlier), less the proxy's clock slack; the others from the
# connect's completion.
check_range "... earliest close after the connect() call (ms)" $((HELLO_MS - PROXY_CLOCK_SLACK_MS)) $((HELLO_MS + SLACK_MS)) "$(field start_min_ms "$FLOOD_RESULT")"
check_range "... median (ms)" $((HELLO_MS - PROXY_CLOCK_SLACK_MS)) $((HELLO_MS + SLACK_MS)) "$(field p50_ms "$FLOOD_RESULT")"
check_range "... latest (ms)" $((HELLO_MS - PROXY_CLOCK_SLACK_MS)) $((HELLO_MS + SLACK_MS)) "$(field max_ms "$FLOOD_RESULT")"
echo "     closed with FIN: $(field fin "$FLOOD_RESULT"), with a reset: $(field reset "$FLOOD_RESULT")"
# Bytes each sent before it was cut: hello_ms / 1 s, give or take one.
check_range "hello bytes each had sent when cut (max)" 3 $((HELLO_MS / 1000 + SLACK_MS / 1000 + 1)) \
    "$(awk '$1 == "conn" { split($7, s, "="); if (s[2] > m) m = s[2] } END { print m + 0 }' "$T/flood-slow.out")"
check_eq "connections that reached a backend" 0 "$(sink_count slow accept)"

stats_snap
check_closes_exact "hello_timeout=$SLOW normal=$((2 * LG_COUNT))"
check_eq "passthrough-stats: accepted" $((SLOW + 2 * LG_COUNT)) "$(stats_get totals.accepted)"
check_gauges_zero
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
