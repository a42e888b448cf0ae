#!/bin/bash
# Guards against leaks per connection: N short connections (loadgen -m rate through the proxy to a bench sink; N = 100,000, or 1,000,000 with SOAK=1, or SHORT_CONNS) all end normally (accepted and normal = N plus the warm-up, active 0), and each worker's RSS and open descriptors afterwards are where they were before, within a small slack.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"

if [ "${SOAK:-0}" = 1 ]; then
	N=${SHORT_CONNS:-1000000}
else
	N=${SHORT_CONNS:-100000}
fi
CONC=64
WARM=5000
# A worker's RSS may move by allocator noise: this much, in KiB.
RSS_SLACK_KB=512
# Pooled pipes may differ by a few (two descriptors each).
FD_SLACK=4

bsink_start
proxy_start -w 2 "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:$BSINK_PORT\" ]; } );"
workers=$(proxy_children)

# measure: "RSS_KB FDS" of each worker, one line per worker, in pid order.
measure() {
	local w
	for w in $workers; do
		echo "$w $(rss_kb "$w") $(fd_count "$w")"
	done
}
settled() { stats_snap; [ "$(stats_get totals.active)" = 0 ]; }

echo "--- warm-up: $WARM connections, $CONC at a time"
loadgen_rate warm -c "$CONC" -N "$WARM"
check_eq "warm-up: connections served" "$WARM" "$(field count "$LG_RESULT")"
WAIT_S=10 wait_until settled || fail "connections still open after the warm-up: $(stats_get totals.active)"
before=$(measure)

echo "--- $N short connections, $CONC at a time"
t0=$(now_ms)
loadgen_rate run -c "$CONC" -N "$N"
t1=$(now_ms)
echo "     $LG_RESULT"
echo "     $N connections in $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s"
check_eq "connections served" "$N" "$(field count "$LG_RESULT")"
check_eq "loadgen errors" 0 "$(field errors "$LG_RESULT")"
WAIT_S=10 wait_until settled || fail "connections still open after the run: $(stats_get totals.active)"
after=$(measure)

echo "     worker  RSS KiB before -> after   descriptors before -> after"
while read -r w r0 f0 && read -r _ r1 f1 <&3; do
	printf '     %-7s %8s -> %-8s  %6s -> %s\n' "$w" "$r0" "$r1" "$f0" "$f1"
	check_rss "worker $w: RSS growth (KiB)" 0 "$RSS_SLACK_KB" $(( r1 > r0 ? r1 - r0 : 0 ))
	check_range "worker $w: descriptors after" 0 $((f0 + FD_SLACK)) "$f1"
done <<<"$before" 3<<<"$after"

check_eq "passthrough-stats: accepted" $((N + WARM)) "$(stats_get totals.accepted)"
check_closes_exact "normal=$((N + WARM))"
check_gauges_zero
check_eq "bench sink: connections it accepted" $((N + WARM)) "$(bsink_stat accepted)"
read -ra pids <<<"$(proxy_pids)"
echo "     proxy CPU time: $(cpu_ms "${pids[@]}") ms in all"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
