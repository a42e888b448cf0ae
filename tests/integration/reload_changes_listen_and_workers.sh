#!/bin/bash
# Guards reloads that change listen and workers: under a steady stream of connections to the address that stays, 2 -> 3 workers plus a second address, then 1 worker on the first address only: no connection to the kept address fails, its listening sockets are kept (same inodes, never absent), the new address serves then refuses, old workers leave.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

sink_start X --send-then-shutdown 1111
body="timeouts = { drain_ms = 5000; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[X]}\" ]; } );"
proxy_start -w 2 "$body"
P1=$PROXY_PORT
P2=$(free_port)
old_workers=$(proxy_children)

inodes() {	# PORT: the inodes of the listening sockets on it, sorted
	ss -Htlne "( sport = :$1 )" | grep -oE 'ino:[0-9]+' | cut -d: -f2 | sort -n | tr '\n' ' '
}
# sample_listeners: every 10 ms, how many sockets listen on P1 (never 0).
sample_listeners() {
	while [ ! -e "$T/stop-sampler" ]; do
		ss -Htln "( sport = :$P1 )" | wc -l
		sleep 0.01
	done >"$T/listeners.samples"
}
spawn sample_listeners
SAMPLER=$BG_PID
loop_start kept --connect "127.0.0.1:$P1" --hello kept.example.com --concurrency 4 \
    --interval-ms 2 --expect-bytes 1111 --timeout-ms 3000
WAIT_S=10 wait_until loop_has kept 200 || die "the connection loop gets no answers"
ino0=$(inodes "$P1")
check_eq "listening sockets on the kept port at the start" 2 "$(wc -w <<<"$ino0")"

# converge WHAT N: waits until the master has exactly N children (the old ones gone).
has_children() { [ "$(proxy_child_count)" -eq "$1" ]; }
converge() {
	local t0 t
	now_us t0
	WAIT_S=15 wait_until has_children "$2" || fail "$1: $(proxy_child_count) workers, not $2, after 15 s"
	now_us t
	echo "     $1: $2 worker processes after $(( (t - t0) / 1000 )) ms"
}
# probe NAME TOTAL: TOTAL connections to P2; sets LOOP_SUMMARY.
probe() {
	loop_start "$1" --connect "127.0.0.1:$P2" --hello new.example.com --total "$2" \
	    --concurrency 2 --expect-bytes 1111 --timeout-ms 1000
	loop_wait "$1" 20
}

echo "--- reload 1: workers 2 -> 3, listen + 127.0.0.1:$P2"
proxy_conf_write "$PROXY_CONF" 3 "\"127.0.0.1:$P1\", \"127.0.0.1:$P2\"" "$body"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "reload 1: generation 2 not published"
check_match "reload 1: logged" "master: info: reload: 3 workers on 2 addresses; the old workers drain" \
    "$(cat "$PROXY_LOG")"
converge "reload 1" 3
new_workers=$(proxy_children)
for w in $old_workers; do
	grep -qw "$w" <<<"$new_workers" && fail "reload 1: old worker $w still runs"
done
fin=0
for w in $old_workers; do
	grep -q "master: info: worker [01] (pid $w) finished" "$PROXY_LOG" && fin=$((fin + 1))
done
check_eq "reload 1: old workers that finished" 2 "$fin"
probe new1 20
echo "     new address: $LOOP_SUMMARY"
check_eq "reload 1: connections to the new address answered" 20 "$(field ok "$LOOP_SUMMARY")"
check_eq "reload 1: sockets listening on the new address" 3 "$(wc -w <<<"$(inodes "$P2")")"
ino1=$(inodes "$P1")
check_eq "reload 1: sockets listening on the kept port" 3 "$(wc -w <<<"$ino1")"
for i in $ino0; do
	grep -qw "$i" <<<"$ino1" || fail "reload 1: the kept port's socket (inode $i) was closed"
done
pass "reload 1: the kept port's sockets before ($ino0) are still there ($ino1)"

echo "--- reload 2: workers 3 -> 1, listen 127.0.0.1:$P1 only"
proxy_conf_write "$PROXY_CONF" 1 "\"127.0.0.1:$P1\"" "$body"
kill -HUP "$PROXY_PID"
proxy_wait_generation 3 || fail "reload 2: generation 3 not published"
check_match "reload 2: logged" "master: info: reload: 1 workers on 1 addresses; the old workers drain" \
    "$(cat "$PROXY_LOG")"
converge "reload 2" 1
probe new2 3
echo "     new address: $LOOP_SUMMARY"
check_eq "reload 2: connections to the removed address refused" 3 "$(field refused "$LOOP_SUMMARY")"
check_eq "reload 2: sockets listening on the removed address" "" "$(inodes "$P2")"
holders() {	# INODE...: "PID(comm)" of each process holding one of these sockets
	local i f
	for i in "$@"; do
		for f in /proc/[0-9]*/fd/*; do
			[ "$(readlink "$f" 2>/dev/null)" = "socket:[$i]" ] || continue
			f=${f#/proc/}
			printf '%s ' "${f%%/*}($(cat "/proc/${f%%/*}/comm" 2>/dev/null))"
		done
	done | tr ' ' '\n' | sort -u | tr '\n' ' '
}
left=$(inodes "$P2")
[ -n "$left" ] && echo "     the removed address's sockets are held by: $(holders $left) (master $PROXY_PID, workers $(proxy_children))"
ino2=$(inodes "$P1")
check_eq "reload 2: sockets listening on the kept port" 1 "$(wc -w <<<"$ino2")"
check_eq "reload 2: it is one of the start's (slot 0's, never reopened)" yes \
    "$(grep -qw "${ino2// /}" <<<"$ino0" && echo yes)"

sleep 0.5
loop_stop kept
touch "$T/stop-sampler"
pid_wait_exit "$SAMPLER" 5
check_loop_clean "connections to the kept address" 500
samples=$(wc -l <"$T/listeners.samples")
check_eq "samples of the kept port with no listening socket (of $samples)" 0 "$(grep -cx 0 "$T/listeners.samples")"
echo "     listening sockets on the kept port over time: $(uniq "$T/listeners.samples" | tr '\n' ' ')"
total=$(field total "$LOOP_SUMMARY")

PROXY_WORKERS=6	# exit lines: 2 first workers, 3 of reload 1, 1 of reload 2
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters "normal=$((total + 20))"
finish
