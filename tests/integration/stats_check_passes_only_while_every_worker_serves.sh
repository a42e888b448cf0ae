#!/bin/bash
# Guards passthrough-stats --check, the pod's exec probe: exit 0 with one "serving:" line while the master and both workers serve a real TLS route, also from another pid namespace (a metrics sidecar's, where the master's pid means nothing); 0 after a failed reload, its one line naming it; 1 naming the worker while one is gone and not replaced (master stopped, worker killed) and while one is stopped past the heartbeat bound (in both namespaces); 1 "is gone" at once when the master was killed -9 leaving its segment, and "not seen" from the other namespace after the bound; 1 "not running" with no segment; 2 on a usage error.
# once: the verdict is the tool's (its logic runs sanitized in check_test, both passes) on heartbeats each worker stamps in its loop, whatever its engine; about 12 s.
. "$(dirname "$0")/lib.sh"
EXPECT_WORKER_DEATHS=1
command -v unshare >/dev/null || die "unshare is missing (util-linux)"

# CHECK_STALE_MS in tools/stats/stats_tool.h, seconds: a heartbeat older is a fault.
STALE_S=5

nginx_start a
ROUTE="routes = ( { sni = \"who.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
proxy_start -w 2 "$ROUTE"
P=$PROXY_PORT
MASTER=$PROXY_PID

# check [SIDECAR]: runs --check on the proxy's configuration (with SIDECAR,
# in a new pid namespace with its own /proc); sets RC and OUT (both streams).
check() {
	local ns=()
	[ -n "${1:-}" ] && ns=(unshare --pid --fork --mount-proc)
	OUT=$("${ns[@]}" "$STATS" --check -c "$PROXY_CONF" 2>&1)
	RC=$?
}
check_fails() { check "${1:-}"; [ "$RC" -ne 0 ]; }
check_passes() { check "${1:-}"; [ "$RC" -eq 0 ]; }
# expect WHAT RC ERE: the last check's status, one line, matching ERE.
expect() {
	echo "     $1: $OUT"
	check_eq "$1: exit status" "$2" "$RC"
	check_eq "$1: lines of output" 1 "$(grep -c . <<<"$OUT")"
	check_match "$1: the line" "$3" "$OUT"
}

echo "--- serving"
check_eq "a request through the proxy" backend-a "$(curl_get who.example.com "$P" whoami 2>&1)"
check
expect "serving" 0 "^serving: generation 1, 2 of 2 workers, master pid $MASTER\$"
check sidecar
expect "serving, from another pid namespace" 0 "^serving: generation 1, 2 of 2 workers, master pid $MASTER\$"

echo "--- a failed reload: reported, not a failure"
printf 'workers = 2;\nlisten = [ "127.0.0.1:%s" ];\nroutes = ( { sni = "who.example.com" ' \
    "$P" >"$PROXY_CONF.tmp" && mv -f "$PROXY_CONF.tmp" "$PROXY_CONF"
kill -HUP "$MASTER"
WAIT_S=10 wait_until grep -q 'master: error: reload failed: ' "$PROXY_LOG" ||
    fail "the broken configuration was not refused"
check
expect "after a failed reload" 0 "^last reload failed: $PROXY_CONF:[0-9]+: .+; generation 1 serves\$"
check_eq "a request after the failed reload" backend-a "$(curl_get who.example.com "$P" whoami 2>&1)"

echo "--- a worker killed while the master cannot replace it"
w0=$(proxy_slot_pid 0)
kill -STOP "$MASTER"
kill -KILL "$w0"
WAIT_S=2 wait_until check_fails
expect "worker 0 killed, the master stopped" 1 \
    "^passthrough-stats: not serving: worker 0 of 2 \\(pid $w0\\) is gone \\(not replaced yet\\)\$"
kill -CONT "$MASTER"
WAIT_S=5 wait_until check_passes
expect "the master replaced worker 0" 0 "^last reload failed: "
check_eq "a request after the replacement" backend-a "$(curl_get who.example.com "$P" whoami 2>&1)"

echo "--- a worker stopped (hung) past the heartbeat bound"
w1=$(proxy_slot_pid 1)
kill -STOP "$w1"
t0=$(now_ms)
WAIT_S=$((STALE_S + 5)) wait_until check_fails
took=$(( ($(now_ms) - t0) / 1000 ))
expect "worker 1 stopped" 1 \
    "^passthrough-stats: not serving: worker 1 of 2 \\(pid $w1\\) not seen for [0-9.]+ s \\(stopped or hung\\)\$"
check_range "seconds until the stopped worker fails the check" $((STALE_S - 1)) $((STALE_S + 2)) "$took"
check sidecar
expect "worker 1 stopped, from another pid namespace" 1 \
    "^passthrough-stats: not serving: worker 1 of 2 \\(pid $w1\\) not seen for [0-9.]+ s \\(stopped or hung\\)\$"
kill -CONT "$w1"
WAIT_S=3 wait_until check_passes
expect "worker 1 running again" 0 "^last reload failed: "

echo "--- the master killed -9, its segment left behind"
SHM=/dev/shm$("$STATS" --json -c "$PROXY_CONF" | sed -n 's/^.*"segment": *"\(\/[^"]*\)".*$/\1/p')
kill -KILL "$MASTER"
WAIT_S=5 wait_until check_fails
expect "the master killed" 1 "^passthrough-stats: not serving: master pid $MASTER is gone \\(its statistics segment is left over\\)\$"
check_eq "its segment $SHM is still there" yes "$([ -f "$SHM" ] && echo yes || echo no)"
WAIT_S=$((STALE_S + 5)) wait_until check_fails sidecar
expect "the master killed, from another pid namespace" 1 \
    "^passthrough-stats: not serving: master pid $MASTER not seen for [0-9.]+ s \\(stopped, hung or gone\\)\$"

echo "--- nothing runs"
: >"$T/idle.conf"
OUT=$("$STATS" --check -c "$T/idle.conf" 2>&1)
RC=$?
expect "no segment" 1 "^passthrough-stats: not serving: no statistics segment /passthrough-[0-9a-f]+ for $T/idle.conf: passthrough is not running with this configuration\$"
OUT=$("$STATS" --check --json -c "$PROXY_CONF" 2>&1)
RC=$?
check_eq "--check with --json: usage error" 2 "$RC"
finish
