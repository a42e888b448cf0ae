#!/bin/bash
# Guards limits.max_connections: at the limit the worker stops accepting (a new client waits in the backlog, its hello reaches no backend and it is not refused) and accepts again as soon as connections end; a reload that lowers the limit below the open connections stops new ones from being served until enough have ended.
. "$(dirname "$0")/lib.sh"

sink_start lim	# reads until EOF, then closes: a client that leaves ends its connection
ROUTES="routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[lim]}\" ]; } );"
proxy_start "limits = { max_connections = 5; };
$ROUTES"
P=$PROXY_PORT

# hold N NAME: N connections that sent their hello and stay open (pid in HOLD[NAME]).
declare -A HOLD=()
hold() {
	spawn "$PTCLIENT" --connect "127.0.0.1:$P" --hello lim.example.com --count "$1" --hold \
	    >"$T/hold-$2.out"
	HOLD[$2]=$BG_PID
	WAIT_S=10 wait_until lines_at_least "$T/hold-$2.out" ready 1 || die "ptclient did not open $1 connections"
}
# one NAME: one more client in the background, reading until the proxy closes it.
one() {
	spawn "$PTCLIENT" --connect "127.0.0.1:$P" --hello lim.example.com --read --timeout-ms 20000 \
	    >/dev/null 2>"$T/one-$1.err"
	ONE=$BG_PID
}
paused_lines() { grep -c 'accepting paused' "$PROXY_LOG"; }
again_lines() { grep -c 'accepting again' "$PROXY_LOG"; }

echo "--- 5 connections fill the limit"
hold 5 a
WAIT_S=10 sink_wait lim hello 5 || fail "the 5 hellos did not reach the backend"
WAIT_S=5 wait_until grep -q 'at the connection limit (5): accepting paused' "$PROXY_LOG" ||
    fail "no 'accepting paused' line"

echo "--- a sixth waits in the backlog"
one sixth
sleep 1
check_eq "hellos at the backend while at the limit" 5 "$(sink_count lim hello)"
check_eq "the sixth client is still connected" yes "$(pid_alive "$ONE" && echo yes)"
# Not accepted and sitting in the proxy: still in the kernel's queue.
check_eq "connections the worker accepted" 5 \
    "$("$BUILD/passthrough-stats" -c "$PROXY_CONF" --json | jq .totals.accepted)"
check_eq "connections queued on the listening socket" 1 "$(ss -Htln "( sport = :$P )" | awk '{ s += $2 } END { print s + 0 }')"

echo "--- the 5 end: the sixth is served"
stop_pid "${HOLD[a]}"
WAIT_S=10 sink_wait lim hello 6 || fail "the sixth hello never reached the backend"
check_match "accepting again" "below the connection limit \\(5\\): accepting again" "$(cat "$PROXY_LOG")"
check_eq "the sixth, served, is still connected (not reset)" yes "$(pid_alive "$ONE" && echo yes)"
sixth=$ONE

echo "--- a reload lowers the limit to 2 under 4 open connections"
hold 3 b	# with the sixth: 4 open
WAIT_S=10 sink_wait lim hello 9 || fail "the 3 hellos did not reach the backend"
paused_before=$(paused_lines)
proxy_conf_write "$PROXY_CONF" 1 "\"127.0.0.1:$P\"" "limits = { max_connections = 2; };
$ROUTES"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "the reload did not publish generation 2"
for i in 1 2 3; do one "late$i"; done
sleep 1
check_eq "hellos at the backend above the lowered limit" 9 "$(sink_count lim hello)"
check_range "'accepting paused' lines since the reload" 1 1 $(( $(paused_lines) - paused_before ))

echo "--- below 2 again: new clients are served"
again_before=$(again_lines)
stop_pid "${HOLD[b]}"
stop_pid "$sixth"
WAIT_S=10 wait_until sh -c "[ \$(grep -c 'accepting again' '$PROXY_LOG') -gt $again_before ]" ||
    fail "no 'accepting again' line after the connections ended"
one after
WAIT_S=10 sink_wait lim hello 10 || fail "no new hello reached the backend after the limit freed up"

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
# The waiting clients were never refused: only a client accepted just as the
# limit dropped can be closed as limit_reached (at most one per listener).
check_range "limit_reached closes" 0 1 "$(proxy_counter limit_reached)"
finish
