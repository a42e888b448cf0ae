#!/bin/bash
# Guards the engine choice under the shipped seccomp profile less io_uring_setup/enter/register (what a pod with RuntimeDefault meets; tests/tools/ptseccomp --without): tuning.events = "io_uring" exits at once (status 1, within 2 s, no worker) with the error naming the seccomp filter and the calls to allow; tuning.events = "auto" warns once and its 2 workers, under the filter, serve real TLS on epoll, as passthrough-stats says.
. "$(dirname "$0")/lib.sh"
PTSECCOMP=$ROOT/tests/tools/ptseccomp
PROFILE=$ROOT/etc/kubernetes/seccomp/passthrough.json
REDUCED=(--without "io_uring_setup,io_uring_enter,io_uring_register")
/usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
	die "python3-seccomp is missing: tools/deps.sh test installs it"
CAUSE='the workers cannot use io_uring (io_uring_setup: Operation not permitted; a seccomp filter is in force (Seccomp: 2 in /proc/self/status))'

echo "--- events \"io_uring\": refused at start"
# Its own file, events written out: this test is about these values, whatever PT_EVENTS says.
printf '%s\n' "workers = 2;" "listen = [ \"127.0.0.1:$(free_port)\" ];" \
    'tuning = { events = "io_uring"; };' \
    'routes = ( { sni = "*"; backends = [ "127.0.0.1:9" ]; } );' >"$T/io_uring.conf"
t0=$(now_ms)
spawn "$PTSECCOMP" "${REDUCED[@]}" "$PROFILE" "$PT" -f -c "$T/io_uring.conf" 2>"$T/start.err"
pid=$BG_PID
if pid_wait_exit "$pid" 10; then
	wait "$pid"
	rc=$?
else
	rc=still-running
fi
check_range "milliseconds until it exited" 0 2000 $(( $(now_ms) - t0 ))
check_eq "the master's exit status" 1 "$rc"
check_eq "the error naming the cause and the calls to allow, once" 1 "$(grep -cF -- \
    "master: error: tuning.events \"io_uring\": $CAUSE; not starting; to run: allow io_uring_setup, io_uring_enter and io_uring_register in the seccomp profile" \
    "$T/start.err")"
check_no_match "no worker was started" 'worker [0-9]|started:' "$(cat "$T/start.err")"

echo "--- events \"auto\": serves on epoll"
nginx_start a
PROXY_WRAP=("$PTSECCOMP" "${REDUCED[@]}" "$PROFILE")
proxy_start -w 2 "tuning = { events = \"auto\"; };
routes = ( { sni = \"a.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
PROXY_WRAP=()
for pid in "$PROXY_PID" $PROXY_WORKER_PIDS; do
	check_eq "process $pid: Seccomp, NoNewPrivs" "2 1" \
	    "$(awk '/^Seccomp:/ { s = $2 } /^NoNewPrivs:/ { n = $2 } END { print s, n }' "/proc/$pid/status")"
done
check_eq "the warning naming the cause, once" 1 \
    "$(grep -cF -- "master: warn: tuning.events \"auto\": $CAUSE; they run on epoll" "$PROXY_LOG")"
check_eq "each worker says it runs epoll" 2 "$(grep -c 'info: started: .*, events epoll$' "$PROXY_LOG")"
ok=0
for _ in 1 2 3 4; do
	[ "$(curl_get a.example.com "$PROXY_PORT" whoami 2>&1)" = backend-a ] && ok=$((ok + 1))
done
check_eq "4 TLS requests through the proxy answered by backend a" 4 "$ok"
check_eq "passthrough-stats --json: each worker's engine" "epoll epoll" \
    "$("$STATS" -c "$PROXY_CONF" --json | jq -r '[.workers[].engine] | join(" ")')"
proxy_stop
finish
