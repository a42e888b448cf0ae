#!/bin/bash
# Guards the graceful stop: on SIGQUIT (and `passthrough -s quit`) the listener closes at once (new connections refused), a slow TLS transfer in flight completes byte-exact and then the master exits 0; a transfer longer than drain_ms is cut at drain_ms and the master still exits 0.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

# From the signal until the port refuses connections. ms
CLOSE_MAX_MS=500
nginx_start slow
head -c $((8 * 1024 * 1024)) /dev/urandom >"$T/www/slow/eight" || die "making the 8 MiB file"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$T/www/slow/twelve" || die "making the 12 MiB file"

transfer() {	# FILE: at 1 MiB/s; writes $T/tr.res "START_US END_US RC BYTES SHA256"
	local s e rc
	now_us s
	curl_get slow.example.com "$PROXY_PORT" "$1" --limit-rate 1M --max-time 30 -o "$T/got" \
	    2>"$T/tr.err"
	rc=$?
	now_us e
	echo "$s $e $rc $(stat -c %s "$T/got" 2>/dev/null || echo 0) $(sha256sum <"$T/got" | cut -d' ' -f1)" >"$T/tr.res"
}
backend_conns() {
	ss -Htn state established "( dport = :${NGINX_PORT[slow]} )" | wc -l
}
has_backend_conn() { [ "$(backend_conns)" -ge 1 ]; }
port_closed() { ! port_listening "$PROXY_PORT"; }
# log_ms LINE: the wall-clock ms of a proxy log line's timestamp.
log_ms() {
	date -u -d "$(cut -c1-23 <<<"$1")" +%s%3N
}

# quit_pass WHAT HOW FILE DRAIN_MS: a transfer of FILE through the proxy,
# stopped 1 s in with HOW (signal: SIGQUIT; cli: passthrough -s quit).
# Sets Q_RC (transfer), Q_BYTES, Q_SHA, Q_END_MS (the client's end of the
# transfer after the quit), Q_CLOSED_MS (the proxy's close of it, from its
# log), M_RC and M_EXIT_MS (the master's last line, "stopped").
quit_pass() {
	local what=$1 how=$2 file=$3 drain=$4 t0 t s e out rc
	rm -f "$T/tr.res" "$T/got"
	proxy_start "pid_file = \"$T/pt.pid\";
timeouts = { drain_ms = $drain; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${NGINX_PORT[slow]}\" ]; } );"
	check_eq "$what: pid file" "$PROXY_PID" "$(cat "$T/pt.pid" 2>/dev/null)"
	spawn transfer "$file"
	WAIT_S=10 wait_until has_backend_conn || die "$what: the transfer did not start"
	sleep 1
	now_us t0
	if [ "$how" = signal ]; then
		kill -QUIT "$PROXY_PID"
	else
		out=$("$PT" -s quit -c "$PROXY_CONF" 2>&1)
		rc=$?
		now_us t
		check_eq "$what: passthrough -s quit exit status" 0 "$rc"
		check_eq "$what: passthrough -s quit output" "" "$out"
		check_range "$what: passthrough -s quit returned within (ms)" 0 1000 $(( (t - t0) / 1000 ))
	fi
	# The listener closes at once.
	for ((i = 0; i < 400; i++)); do
		port_closed && break
		sleep 0.005
	done
	now_us t
	check_range "$what: signal to the port no longer listening (ms)" 0 "$CLOSE_MAX_MS" $(( (t - t0) / 1000 ))
	loop_start "refused-$how" --connect "127.0.0.1:$PROXY_PORT" --hello x.example.com --total 3 \
	    --timeout-ms 3000
	loop_wait "refused-$how" 10
	check_eq "$what: new connections meanwhile" "3 refused" \
	    "$(field total "$LOOP_SUMMARY") $([ "$(field refused "$LOOP_SUMMARY")" = 3 ] && echo refused)"
	check_eq "$what: the master still runs while the transfer drains" yes \
	    "$(pid_alive "$PROXY_PID" && echo yes)"
	WAIT_S=40 wait_until test -s "$T/tr.res" || die "$what: the transfer never ended"
	read -r s e Q_RC Q_BYTES Q_SHA <"$T/tr.res"
	Q_END_MS=$(( (e - t0) / 1000 ))
	Q_CLOSED_MS=$(( $(log_ms "$(grep -m 1 ': closed: ' "$PROXY_LOG")") - t0 / 1000 ))
	pid_wait_exit "$PROXY_PID" 15 || { fail "$what: the master did not exit"; stop_pid "$PROXY_PID"; }
	wait "$PROXY_PID"
	M_RC=$?
	M_EXIT_MS=$(( $(log_ms "$(grep -m 1 'master: info: stopped' "$PROXY_LOG")") - t0 / 1000 ))
	echo "     $what: after the quit the proxy closed the transfer at $Q_CLOSED_MS ms, the client saw its end at $Q_END_MS ms (curl $Q_RC, $Q_BYTES bytes); master gone by $M_EXIT_MS ms"
	check_eq "$what: master exit status" 0 "$M_RC"
	check_eq "$what: pid file left behind" no "$([ -e "$T/pt.pid" ] && echo yes || echo no)"
	check_match "$what: logged" "master: info: quitting: connections may finish within $drain ms" \
	    "$(cat "$PROXY_LOG")"
}

echo "--- SIGQUIT, an 8 MiB transfer at 1 MiB/s, drain_ms 20000"
quit_pass "SIGQUIT" signal eight 20000
check_eq "SIGQUIT: transfer curl exit status" 0 "$Q_RC"
check_eq "SIGQUIT: transfer sha256" "$(sha256sum <"$T/www/slow/eight" | cut -d' ' -f1)" "$Q_SHA"
check_range "SIGQUIT: the transfer went on after the quit for (ms)" 3000 19000 "$Q_END_MS"
check_range "SIGQUIT: master exit after the proxy closed the transfer (ms)" 0 1500 $((M_EXIT_MS - Q_CLOSED_MS))
check_counters "normal=1"
check_log_faults "SIGQUIT"
first_end_ms=$Q_END_MS first_exit_ms=$M_EXIT_MS

echo "--- passthrough -s quit, a 12 MiB transfer at 1 MiB/s, drain_ms 2000"
quit_pass "-s quit" cli twelve 2000
check_range "-s quit: the transfer was cut (curl exit status)" 1 255 "$Q_RC"
check_range "-s quit: bytes received before the cut" 1 $((12 * 1024 * 1024 - 1)) "$Q_BYTES"
check_range "-s quit: the proxy cut it at drain_ms (ms after the quit)" 1950 2700 "$Q_CLOSED_MS"
check_range "-s quit: master exit after the cut (ms)" 0 1500 $((M_EXIT_MS - Q_CLOSED_MS))
check_match "-s quit: the worker closed it at the deadline" \
    "retiring: closing 1 connections at the drain deadline" "$(cat "$PROXY_LOG")"
check_counters "shutdown=1"
echo "     figures: after SIGQUIT the transfer completed byte-exact $first_end_ms ms later, master exit 0 at $first_exit_ms ms; after -s quit the proxy cut it at $Q_CLOSED_MS ms (drain_ms 2000), master exit 0 at $M_EXIT_MS ms"
finish
