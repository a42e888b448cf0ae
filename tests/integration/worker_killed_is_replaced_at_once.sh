#!/bin/bash
# Guards worker supervision: under a steady stream of new connections a worker killed with SIGKILL is replaced at once (new pid, same slot, serving within 1 s; a replacement that dies young too is restarted after a short backoff), and no client is ever refused.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"
EXPECT_WORKER_DEATHS=1

# From the kill until the new worker of the slot has served a connection. ms
REPLACE_MAX_MS=1000

sink_start X --send-then-shutdown 1111
proxy_start -w 2 "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[X]}\" ]; } );"
P=$PROXY_PORT
loop_start main --connect "127.0.0.1:$P" --hello loop.example.com --concurrency 4 \
    --interval-ms 2 --expect-bytes 1111 --timeout-ms 10000
WAIT_S=10 wait_until loop_has main 200 || die "the connection loop gets no answers"
other=$(proxy_slot_pid 1)

# log_ms LINE: the wall-clock ms of a proxy log line's timestamp.
log_ms() {
	date -u -d "$(cut -c1-23 <<<"$1")" +%s%3N
}

# kill_slot0 WHAT: SIGKILL to worker 0, then measure until its replacement
# served a connection (its first "closed:" line). Sets REPLACE_MS.
kill_slot0() {
	local what=$1 old new t0 line i
	REPLACE_MS=none
	old=$(proxy_slot_pid 0)
	[ -n "$old" ] || { fail "$what: no worker 0"; return; }
	now_us t0
	kill -KILL "$old"
	new=
	for ((i = 0; i < 1000; i++)); do
		new=$(proxy_slot_pid 0)
		[ -n "$new" ] && [ "$new" != "$old" ] && break
		new=
		sleep 0.005
	done
	[ -n "$new" ] || { fail "$what: no new worker 0 within 5 s"; return; }
	for ((i = 0; i < 500; i++)); do
		line=$(grep -m 1 "passthrough\[$new\]: worker 0: debug: .*closed: " "$PROXY_LOG")
		[ -n "$line" ] && break
		sleep 0.01
	done
	if [ -z "$line" ]; then
		fail "$what: the new worker 0 ($new) served nothing within 5 s"
		echo "     listening sockets (Recv-Q: connections queued, not accepted):"
		ss -Htlnie "( sport = :$P )" | sed 's/^/       | /'
		echo "     the killed worker $old: $(ps -o stat=,wchan:32= -p "$old" 2>/dev/null || echo gone)"
		echo "     the new worker $new: $(grep -c "passthrough\[$new\]" "$PROXY_LOG") log lines, state $(ps -o stat=,wchan:32= -p "$new")"
		return
	fi
	REPLACE_MS=$(( $(log_ms "$line") - t0 / 1000 ))
	echo "     $what: worker 0 pid $old killed; pid $new served its first connection $REPLACE_MS ms later"
	check_range "$what: kill to the replacement serving (ms)" 0 "$REPLACE_MAX_MS" "$REPLACE_MS"
	check_match "$what: the death is logged" "master: error: worker 0 \\(pid $old\\) killed by signal 9 \\(Killed\\)" \
	    "$(cat "$PROXY_LOG")"
	check_eq "$what: worker 1 untouched" "$other" "$(proxy_slot_pid 1)"
}

echo "--- a worker that ran for a while"
sleep 1
kill_slot0 "first kill"
first_ms=$REPLACE_MS
echo "--- its replacement, killed young (under 10 s old): restarted after the backoff"
sleep 0.5
kill_slot0 "second kill"
second_ms=$REPLACE_MS
# The backoff itself: the first restart is immediate, the young worker's
# waits twice RESTART_BACKOFF_MIN_MS (100 ms).
check_range "first kill: restarted at once (ms)" 0 150 "$first_ms"
check_range "second kill: restarted after the 200 ms backoff (ms)" 200 "$REPLACE_MAX_MS" "$second_ms"
sleep 1
check_eq "restarts logged" 2 "$(grep -c 'master: info: restarting worker 0' "$PROXY_LOG")"
check_eq "worker processes at the end" 2 "$(proxy_child_count)"

loop_stop main
echo "     $LOOP_SUMMARY"
total=$(field total "$LOOP_SUMMARY")
cut=$(( $(field reset "$LOOP_SUMMARY") + $(field bad "$LOOP_SUMMARY") ))
echo "     connections: $total, cut inside the killed workers (reset or short reply): $cut"
check_range "connections made" 1000 100000000 "$total"
check_eq "connections refused" 0 "$(field refused "$LOOP_SUMMARY")"
check_eq "connections timed out" 0 "$(field timeout "$LOOP_SUMMARY")"
check_eq "connections with other errors" 0 "$(field error "$LOOP_SUMMARY")"
# At most the connections the two killed workers held (4 clients at once).
check_range "connections cut by the kills" 0 8 "$cut"

proxy_stop
# The killed workers logged no totals: count what the survivors did.
check_eq "proxy exit status" 0 "$PROXY_RC"
echo "     figures: replacement served after $first_ms ms (first death: restarted at once) and $second_ms ms (second death within 10 s: 200 ms backoff)"
finish
