#!/bin/bash
# Guards daemon mode: -d returns 0 only once the port serves, the pid file names the master, -s reload changes routes, a refused -s reload exits 1, a second -d with the same pid file (or -f of the same file without one) fails and leaves the first serving with its statistics, -s reopen follows a moved log, -s quit and -s stop end it and remove the pid file.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"
san_to_files
trap cleanup_daemons EXIT

nginx_start a b
PIDF=$T/pt.pid
CONF=$T/daemon.conf
PROXY_CONF=$CONF
P=$(free_port)
PROXY_PORT=$P
PROXY_WORKERS=2
conf() {	# BACKEND: the daemon's whole configuration, who.example.com to nginx BACKEND
	cat >"$CONF.tmp" <<-EOF
	workers = 2;
	listen = [ "127.0.0.1:$P" ];
	pid_file = "$PIDF";
	log = { level = "debug"; error = "$PROXY_LOG"; };
	routes = ( { sni = "who.example.com"; backends = [ "127.0.0.1:${NGINX_PORT[$1]}" ]; } );
	EOF
	pt_conf_events "$CONF.tmp"
	mv -f "$CONF.tmp" "$CONF"
}
who() { curl_get who.example.com "$P" whoami 2>&1; }
master_of_pidfile() { tr -d '\n' <"$PIDF" 2>/dev/null; }

# start_daemon WHAT: -d, which must return 0 with the port serving at once.
start_daemon() {
	local what=$1 t0 t1 rc out
	now_us t0
	# Into a file, not a pipe: a daemon that kept the pipe open would hang $(...).
	"$PT" -d -c "$CONF" >"$T/start.out" 2>&1 </dev/null
	rc=$?
	now_us t1
	out=$(cat "$T/start.out")
	check_eq "$what: -d exit status" 0 "$rc"
	check_eq "$what: -d output" "" "$out"
	echo "     $what: -d returned after $(( (t1 - t0) / 1000 )) ms"
	# No waiting: the port must already serve when -d returns.
	check_eq "$what: listening when -d returned" yes "$(port_listening "$P" && echo yes)"
	check_eq "$what: routes at once" backend-a "$(who)"
	check_range "$what: workers that logged 'started' by then" 2 2 \
	    "$(grep -c 'worker [01]: info: started:' "$PROXY_LOG")"
	PROXY_PID=$(master_of_pidfile)
	[[ $PROXY_PID =~ ^[0-9]+$ ]] || die "$what: no pid in $PIDF"
	daemon_track "$PROXY_PID"
	check_eq "$what: the pid file names a passthrough" passthrough "$(cat "/proc/$PROXY_PID/comm" 2>/dev/null)"
	check_eq "$what: ... which is the workers' parent" 2 "$(proxy_child_count)"
	check_eq "$what: ... and not our child" no "$(pid_ours "$PROXY_PID" && echo yes || echo no)"
	check_eq "$what: ... nor a session leader" no \
	    "$([ "$(awk '{ print $6 }' "/proc/$PROXY_PID/stat")" = "$PROXY_PID" ] && echo yes || echo no)"
	check_eq "$what: no temporary pid file left" "" "$(ls "$T" | grep '^pt\.pid\..*tmp$')"
	check_eq "$what: processes still holding the starter's stdout/stderr" "" "$(daemon_holds "$T/start.out")"
}
daemon_holds() {	# FILE: "PID:FD" of each daemon process with FILE open as fd 0, 1 or 2
	local p fd
	for p in "$PROXY_PID" $(proxy_children); do
		for fd in 0 1 2; do
			[ "$(readlink "/proc/$p/fd/$fd")" = "$1" ] && printf '%s ' "$p:$fd($(cat "/proc/$p/comm"))"
		done
	done
}

echo "--- start"
conf a
start_daemon "first start"
first=$PROXY_PID
master_exited() { ! pid_alive "$PROXY_PID"; }

echo "--- -s reload"
conf b
out=$("$PT" -s reload -c "$CONF" 2>&1)
check_eq "-s reload exit status" 0 "$?"
echo "     -s reload said: ${out:-(nothing)}"
proxy_wait_generation 2 || fail "-s reload: generation 2 not published"
check_eq "-s reload: routes changed" backend-b "$(who)"

echo "--- -s reload of a broken file"
cp "$CONF" "$T/good.conf"
echo "routes = oops;" >>"$CONF"
out=$("$PT" -s reload -c "$CONF" 2>&1)
rc=$?
echo "     -s reload said (exit $rc): ${out:-(nothing)}"
check_eq "-s reload of a broken file: exit status (it waited for the daemon's verdict)" 1 "$rc"
check_match "-s reload of a broken file: says why, with file and line" "reload refused.*daemon\\.conf:6: " "$out"
failed() { grep -q 'master: error: reload failed: ' "$PROXY_LOG"; }
WAIT_S=10 wait_until failed || fail "-s reload of a broken file: no 'reload failed' line"
check_eq "-s reload of a broken file: routes unchanged" backend-b "$(who)"
mv -f "$T/good.conf" "$CONF"

echo "--- a second -d with the same pid file, while clients connect"
loop_start during --connect "127.0.0.1:$P" --hello who.example.com --concurrency 2 \
    --interval-ms 2 --timeout-ms 5000
WAIT_S=10 wait_until loop_has during 50 || die "the connection loop does not run"
"$PT" -d -c "$CONF" >"$T/second.out" 2>&1 </dev/null
rc=$?
out=$(cat "$T/second.out")
echo "     second -d: exit $rc, output: ${out:-(none)}"
check_range "second -d: exit status" 1 255 "$rc"
check_match "second -d: refused because the first runs" "passthrough is already running as pid $first" \
    "$(cat "$PROXY_LOG") $out"
sleep 0.5
loop_stop during
# ptsink-less: the loop's hellos reach nginx, which answers a raw hello with
# a TLS alert or closes; what counts is that none was refused or reset.
for r in refused reset timeout error; do
	check_eq "second -d: loop connections that ended '$r'" 0 "$(field "$r" "$LOOP_SUMMARY")"
done
echo "     $LOOP_SUMMARY"
check_eq "second -d: the first still runs" yes "$(pid_alive "$first" && echo yes)"
check_eq "second -d: the pid file still names it" "$first" "$(master_of_pidfile)"
check_eq "second -d: routes still served" backend-b "$(who)"
check_eq "second -d: the first's workers" 2 "$(proxy_child_count)"
# The refused start must not have taken the first one's statistics segment.
check_eq "second -d: passthrough-stats still finds the first" "$first" \
    "$("$BUILD/passthrough-stats" -c "$CONF" --json 2>&1 | jq -r .master_pid 2>&1)"

echo "--- a second start of the same file in the foreground, its pid_file taken out"
cp "$CONF" "$T/keep.conf"
grep -v pid_file "$T/keep.conf" >"$CONF"
"$PT" -f -c "$CONF" >"$T/third.out" 2>&1 </dev/null &
third=$!
pid_wait_exit "$third" 10 || { fail "the second foreground start did not exit"; stop_pid "$third"; }
wait "$third"
check_eq "second -f: exit status" 1 "$?"
check_match "second -f: refused because the first runs" "is in use by passthrough pid $first" \
    "$(cat "$T/third.out" "$PROXY_LOG")"
mv -f "$T/keep.conf" "$CONF"
check_eq "second -f: passthrough-stats still finds the first" "$first" \
    "$("$BUILD/passthrough-stats" -c "$CONF" --json 2>&1 | jq -r .master_pid 2>&1)"
check_eq "second -f: routes still served" backend-b "$(who)"

echo "--- -s reopen after the log was moved"
mv "$PROXY_LOG" "$T/moved.log"
out=$("$PT" -s reopen -c "$CONF" 2>&1)
check_eq "-s reopen exit status and output" "0 " "$? $out"
WAIT_S=5 wait_until test -e "$PROXY_LOG" || fail "-s reopen: no new log file at the path"
sleep 0.3
moved_lines=$(wc -l <"$T/moved.log")
conf a
"$PT" -s reload -c "$CONF"
proxy_wait_generation 3 || fail "-s reopen: the reload's line is not in the new file"
check_eq "-s reopen: routes after the next reload" backend-a "$(who)"
sleep 0.3
check_match "-s reopen: the master writes to the new file" "master: info: reloaded .*generation 3" "$(cat "$PROXY_LOG")"
check_match "-s reopen: the workers write to the new file" "worker [01]: debug: .*closed: " "$(cat "$PROXY_LOG")"
check_eq "-s reopen: lines in the moved file (none added since the reopen)" "$moved_lines" "$(wc -l <"$T/moved.log")"
PROXY_LOG=$T/moved.log check_log_faults "the moved log"

echo "--- -s quit"
out=$("$PT" -s quit -c "$CONF" 2>&1)
check_eq "-s quit exit status and output" "0 " "$? $out"
WAIT_S=10 wait_until master_exited || fail "-s quit: the master still runs after 10 s"
check_eq "-s quit: pid file left behind" no "$([ -e "$PIDF" ] && echo yes || echo no)"
check_eq "-s quit: port still listening" no "$(port_listening "$P" && echo yes || echo no)"
check_match "-s quit: logged" "master: info: stopped" "$(cat "$PROXY_LOG")"
out=$("$PT" -s reload -c "$CONF" 2>&1)
rc=$?
check_range "-s reload with no daemon: exit status" 1 255 "$rc"
echo "     -s reload with no daemon: $out"

echo "--- a stale pid file (naming a live process that is not passthrough)"
echo "$$" >"$PIDF"
conf a
start_daemon "start over a stale pid file"
check_eq "stale pid file: rewritten" "$PROXY_PID" "$(master_of_pidfile)"
out=$("$PT" -s stop -c "$CONF" 2>&1)
check_eq "-s stop exit status and output" "0 " "$? $out"
WAIT_S=10 wait_until master_exited || fail "-s stop: the master still runs after 10 s"
check_eq "-s stop: pid file left behind" no "$([ -e "$PIDF" ] && echo yes || echo no)"
check_eq "-s stop: port still listening" no "$(port_listening "$P" && echo yes || echo no)"
finish
