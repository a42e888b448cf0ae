#!/bin/bash
# Guards active health checks against a backend whose SYNs vanish: with check = { interval_ms = 200; timeout_ms = 100; fall = 2; } the master's checks time out and mark it down (logged, passthrough-stats state "down", checks failed counted) before any client connects, the live backend shows "up" with checks passed; then 50 clients all reach the live backend and the black hole is never tried (connect_failures 0).
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

# The black hole, as in blackholed_backend_times_out.sh: an interface with an
# address in a /24 and no neighbours (NOARP): SYNs to another address of it
# leave and vanish. In a private namespace the names and addresses are ours.
if [ "${PT_NETNS:-}" = 1 ]; then
	BH_IF=pt-bh0
	BH_NET=10.202.0
	ip link set lo up 2>/dev/null
else
	BH_IF=ptck$$
	BH_NET=10.202.$(( $$ % 250 + 1 ))
fi
bh_cleanup() {
	local rc=$?
	ip link del "$BH_IF" 2>/dev/null
	(exit "$rc")
	cleanup
}
trap bh_cleanup EXIT
if ip link add "$BH_IF" type dummy 2>"$T/ip.err"; then
	BH_KIND=dummy
elif ip link add "$BH_IF" type veth peer name "${BH_IF}p" 2>>"$T/ip.err" &&
    ip link set "$BH_IF" arp off && ip link set "${BH_IF}p" up; then
	BH_KIND="veth pair, NOARP"
else
	echo "SKIP: cannot create a network interface for the black hole (ip link add: $(tr '\n' ' ' <"$T/ip.err"))"
	exit 77
fi
if ! ip addr add "$BH_NET.1/24" dev "$BH_IF" || ! ip link set "$BH_IF" up; then
	die "cannot configure $BH_IF"
fi
echo "     black hole: $BH_NET.0/24 on $BH_IF ($BH_KIND)"
if timeout 1 bash -c "exec 3<>/dev/tcp/$BH_NET.2/443" 2>/dev/null; then
	die "a connection to $BH_NET.2:443 succeeded: not a black hole"
fi
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
