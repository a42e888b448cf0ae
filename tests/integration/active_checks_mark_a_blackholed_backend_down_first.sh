#!/bin/bash
# Guards active health checks against a backend whose SYNs vanish: with check = { interval_ms = 200; timeout_ms = 100; fall = 2; } the master's checks time out and mark it down (logged, passthrough-stats state "down", checks failed counted) before any client connects, the live backend shows "up" with checks passed; then 50 clients all reach the live backend and the black hole is never tried (connect_failures 0).
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

blackhole_start ptck 10.202
BH=$BH_NET.2:443

sink_start live --send-then-shutdown 1111
LIVE=127.0.0.1:${SINK_PORT[live]}
NAME=pt-checks-bh-$$
t0=$(now_ms)
proxy_start -w 2 "
stats = { name = \"$NAME\"; };
routes = ( { sni = \"c.example.com\";
  check = { interval_ms = 200; timeout_ms = 100; fall = 2; };
  backends = ( \"$LIVE\", { address = \"$BH\"; weight = 3; } ); } );"
bk() {	# ADDR FIELD
	"$BUILD/passthrough-stats" -n "$NAME" -j | jq -r --arg a "$1" ".backends[] | select(.backend == \$a) | .$2"
}
bh_down() { [ "$(bk "$BH" state)" = down ]; }

echo "--- before any client"
WAIT_S=5 wait_until bh_down || fail "passthrough-stats: the black hole is not down ($(bk "$BH" state))"
echo "     down after $(( $(now_ms) - t0 )) ms from the start"
check_match "the master logs it down, timed out" \
    "master: warn: backend $BH is down: 2 checks failed in a row \\(timed out\\)" "$(cat "$PROXY_LOG")"
check_range "passthrough-stats: checks of the black hole failed" 2 1000 "$(bk "$BH" checks_failed)"
check_eq "passthrough-stats: ... none passed" 0 "$(bk "$BH" checks_passed)"
check_range "passthrough-stats: ... its last change (unix ms) is now" $((t0 - 1000)) $(( $(now_ms) + 1000 )) \
    "$(bk "$BH" check_changed_ms)"
check_eq "passthrough-stats: its weight" 3 "$(bk "$BH" weight)"
WAIT_S=5 wait_until test "$(bk "$LIVE" checks_passed)" -ge 1 || fail "the live backend's checks never passed"
check_eq "passthrough-stats: the live backend is up" up "$(bk "$LIVE" state)"
check_eq "passthrough-stats: ... and was never down (no change)" 0 "$(bk "$LIVE" check_changed_ms)"
check_eq "no client yet: connections to the black hole" 0 "$(bk "$BH" connections)"
check_eq "no client yet: connects tried to it" 0 "$(bk "$BH" connect_failures)"
check_match "passthrough-stats table: the black hole down, weight 3" \
    "^ *${BH//./\\.} +yes +down +3 +0/[0-9]+ +[0-9]+(ms|s) ago " \
    "$("$BUILD/passthrough-stats" -n "$NAME")"
prom=$("$BUILD/passthrough-stats" -n "$NAME" --prometheus)
check_match "prometheus: passthrough_backend_check_up of the black hole is 0" \
    "^passthrough_backend_check_up\\{backend=\"$BH\"\\} 0\$" "$prom"
check_match "prometheus: ... of the live one 1" \
    "^passthrough_backend_check_up\\{backend=\"$LIVE\"\\} 1\$" "$prom"

echo "--- 50 clients"
hellos=$(sink_count live hello)
loop_start c --hello c.example.com --connect "127.0.0.1:$PROXY_PORT" --concurrency 2 \
    --total 50 --expect-bytes 1111 --timeout-ms 5000
loop_wait c 30
check_loop_clean "50 clients" 50
check_eq "each reached the live backend (its hellos)" 50 $(( $(sink_count live hello) - hellos ))
check_eq "the black hole: connects tried (connect_failures)" 0 "$(bk "$BH" connect_failures)"
check_eq "the black hole: connect timeouts" 0 "$(bk "$BH" connect_timeouts)"
check_eq "the live backend: connections" 50 "$(bk "$LIVE" connections)"
check_eq "the black hole is still down" down "$(bk "$BH" state)"
proxy_stop
check_counters "normal=50"
finish
