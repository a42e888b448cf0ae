#!/bin/bash
# Guards log rotation under load: workers running as nobody with the log directory closed to them (root, 0700), access.log moved away as logrotate does and SIGUSR1 sent every 10 ms or so while 40 clients keep connecting: every connection has exactly one line across the rotated files, none is dropped, and the files the master created belong to nobody.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

sink_start E --echo
LOGS=$T/logs
mkdir -m 700 "$LOGS"
ACCESS=$LOGS/access.log

PROXY_LOG_EXTRA="access = \"$ACCESS\";" proxy_start -w 2 "user = \"nobody\";
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[E]}\" ]; } );"
P=$PROXY_PORT

CONNS=20000
loop_start load --connect "127.0.0.1:$P" --hello load.example.com --concurrency 40 \
    --total "$CONNS" --send-bytes 64 --echo --timeout-ms 10000
# The rotations run beside the load, as fast as a shell goes (no process
# started per turn): each reopen may land while a write is queued.
rotate() {
	local n=0
	while [ ! -e "$T/rotate.stop" ]; do
		n=$((n + 1))
		mv "$ACCESS" "$LOGS/access.log.$n" 2>/dev/null
		kill -USR1 "$PROXY_PID" || break
		read -r -t 0.01 <> <(:) 2>/dev/null
	done
	echo "$n" >"$T/rotations"
}
rotate &
ROTATE_PID=$!
loop_wait load 120
touch "$T/rotate.stop"
wait "$ROTATE_PID"
rotations=$(cat "$T/rotations")
check_loop_clean "connections during the rotations" "$CONNS"
echo "     $rotations rotations (mv + SIGUSR1)"
check_range "rotations during the load" 10 1000000 "$rotations"

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
lines=$(cat "$LOGS"/access.log* | grep -c ' sni=load.example.com ')
check_eq "access log lines over every rotated file (one per connection)" \
    "$(proxy_counter accepted)" "$lines"
check_eq "access log lines = connections made" "$CONNS" "$lines"
check_no_match "no access log line dropped" "lines were dropped|lines dropped" "$(cat "$PROXY_LOG")"
check_no_match "no worker could not open a log" "cannot open" "$(cat "$PROXY_LOG")"
check_eq "owner of the files the master created" nobody \
    "$(stat -c %U "$LOGS"/access.log* | sort -u | tr '\n' ' ' | sed 's/ $//')"
check_log_faults "rotations"
finish
