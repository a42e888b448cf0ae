#!/bin/bash
# Guards the systemd notifications: READY=1 with the master's MAINPID once the workers accept, RELOADING=1 with a plausible MONOTONIC_USEC then READY=1 around every reload (valid, invalid, or one that starts new workers), STOPPING=1 on stop, in that order.
. "$(dirname "$0")/lib.sh"
need_tools "$PTNOTIFY" "$PTLOOP"

# How far MONOTONIC_USEC may lie behind the datagram's arrival. us
STAMP_LAG_MAX_US=2000000
# ... and from the clock /proc/uptime shows when it is checked. us
UPTIME_SLACK_US=5000000

sink_start X --send-then-shutdown 1111
SOCK=$T/notify.sock
spawn "$PTNOTIFY" --path "$SOCK" --stamp >"$T/notify.out" 2>"$T/notify.err"
NOTIFY_PID=$BG_PID
WAIT_S=5 wait_until test -S "$SOCK" || die "ptnotify did not bind $SOCK"

body="routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[X]}\" ]; } );"
NOTIFY_SOCKET=$SOCK proxy_start -w 2 "$body"
P=$PROXY_PORT
messages() { sed -E 's/^@[0-9]+ @[0-9]+ //' "$T/notify.out"; }
has_messages() { [ "$(grep -c . "$T/notify.out")" -ge "$1" ]; }
WAIT_S=5 wait_until has_messages 1 || fail "no notification after the start"
check_eq "after the start" "READY=1|MAINPID=$PROXY_PID" "$(messages | head -n 1)"
# The workers accepted by then: a connection right away is served.
loop_start first --connect "127.0.0.1:$P" --hello x.example.com --total 1 --expect-bytes 1111
loop_wait first 10
check_eq "a connection right after READY=1" "1 1" "$(field total "$LOOP_SUMMARY") $(field ok "$LOOP_SUMMARY")"

echo "--- a valid reload"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "generation 2 not published"
WAIT_S=5 wait_until has_messages 3 || fail "no RELOADING/READY pair after the reload"

echo "--- an invalid reload"
proxy_conf_write "$PROXY_CONF" 2 "\"127.0.0.1:$P\"" "routes = ( { sni = \"*\"; backends = [ \"nowhere\" ]; } );"
kill -HUP "$PROXY_PID"
failed() { grep -q 'reload failed' "$PROXY_LOG"; }
WAIT_S=5 wait_until failed || fail "the invalid reload was not logged"
WAIT_S=5 wait_until has_messages 5 || fail "no RELOADING/READY pair after the invalid reload"

echo "--- a reload that starts new workers (2 -> 3)"
proxy_conf_write "$PROXY_CONF" 3 "\"127.0.0.1:$P\"" "$body"
kill -HUP "$PROXY_PID"
proxy_wait_generation 3 || fail "generation 3 not published"
three() { [ "$(grep -c 'info: started:' "$PROXY_LOG")" -ge 5 ] && [ "$(proxy_child_count)" -eq 3 ]; }
WAIT_S=10 wait_until three || fail "the 3 new workers did not start (or the old ones did not leave)"
sleep 0.3

echo "--- stop"
PROXY_WORKERS=5	# exit lines expected: the 2 retired workers and the 3 new ones
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
sleep 0.2
stop_pid "$NOTIFY_PID"

echo "     notifications:"
sed 's/^/       | /' "$T/notify.out"
seq=$(messages | sed -E 's/MONOTONIC_USEC=[0-9]+/MONOTONIC_USEC=N/' | tr '\n' ';')
# A reload that starts new workers says READY=1 (with MAINPID) only once
# they accept; the others at the end of the reload. One READY per RELOADING.
want="READY=1\\|MAINPID=$PROXY_PID;(RELOADING=1\\|MONOTONIC_USEC=N;READY=1(\\|MAINPID=$PROXY_PID)?;){3}STOPPING=1;\$"
check_match "the sequence: READY, 3 x (RELOADING, READY), STOPPING" "^$want" "$seq"
check_eq "STOPPING=1 is the last" "STOPPING=1" "$(messages | tail -n 1)"

# MONOTONIC_USEC: when the master began the reload, by CLOCK_MONOTONIC.
read -r up _ </proc/uptime
up_us=$(awk -v u="$up" 'BEGIN { printf "%.0f", u * 1000000 }')
n=0
while read -r mono _ msg; do
	mono=${mono#@}
	stamp=$(grep -oE 'MONOTONIC_USEC=[0-9]+' <<<"$msg" | cut -d= -f2)
	[ -n "$stamp" ] || continue
	n=$((n + 1))
	lag=$((mono - stamp))
	echo "     RELOADING $n: MONOTONIC_USEC $stamp, received at $mono (${lag} us later); /proc/uptime now $up_us us"
	check_range "RELOADING $n: MONOTONIC_USEC before its arrival, by at most (us)" 0 "$STAMP_LAG_MAX_US" "$lag"
	d=$((up_us - stamp))
	check_range "RELOADING $n: MONOTONIC_USEC within a few s of /proc/uptime (|difference|, us)" \
	    0 "$UPTIME_SLACK_US" "${d#-}"
done <"$T/notify.out"
check_eq "RELOADING messages" 3 "$n"

# The READY=1 closing the worker-changing reload: before or after the new
# workers started? (Reported; their sockets already listen either way.)
ready_real=$(grep -E '^@[0-9]+ @[0-9]+ READY=1$' "$T/notify.out" | tail -n 1 | awk '{ print substr($2, 2) }')
last_started=$(grep 'info: started:' "$PROXY_LOG" | tail -n 1 | cut -c1-23)
last_started_us=$(( $(date -u -d "$last_started" +%s%3N) * 1000 ))
echo "     READY=1 after the 2 -> 3 reload came $(( (last_started_us - ready_real) / 1000 )) ms before the last new worker logged 'started'"
finish
