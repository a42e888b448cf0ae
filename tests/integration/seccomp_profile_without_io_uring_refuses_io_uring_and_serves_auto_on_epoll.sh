#!/bin/bash
# Guards the engine choice under the shipped seccomp profile less io_uring_setup/enter/register (what a pod with RuntimeDefault meets; tests/tools/ptseccomp --without), and less io_uring_enter alone (a ring that can be made but never waited on): tuning.events = "io_uring" exits at once (status 1, within 2 s, no worker) with the error naming the denied call, the seccomp filter and the calls to allow; tuning.events = "auto" warns once and its 2 workers, under the filter, serve real TLS on epoll, as passthrough-stats says.
. "$(dirname "$0")/lib.sh"
PTSECCOMP=$ROOT/tests/tools/ptseccomp
PROFILE=$ROOT/etc/kubernetes/seccomp/passthrough.json
REDUCED=(--without "io_uring_setup,io_uring_enter,io_uring_register")
NO_ENTER=(--without "io_uring_enter")
/usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
	die "python3-seccomp is missing: tools/deps.sh test installs it"
cause() {	# CALL: why the workers cannot use io_uring, as the master says it
	echo "the workers cannot use io_uring ($1: Operation not permitted; a seccomp filter is in force (Seccomp: 2 in /proc/self/status))"
}

refused() {	# CALL WITHOUT...: tuning.events = "io_uring" under the profile less WITHOUT
	local call=$1 pid t0
	local WITHOUT=("${@:2}")
	echo "--- events \"io_uring\", no $call: refused at start"
	# Its own file, events written out: this test is about these values, whatever PT_EVENTS says.
	printf '%s\n' "workers = 2;" "listen = [ \"127.0.0.1:$(free_port)\" ];" \
	    'tuning = { events = "io_uring"; };' \
	    'routes = ( { sni = "*"; backends = [ "127.0.0.1:9" ]; } );' >"$T/io_uring.conf"
	t0=$(now_ms)
	spawn "$PTSECCOMP" "${WITHOUT[@]}" "$PROFILE" "$PT" -f -c "$T/io_uring.conf" 2>"$T/start.err"
	pid=$BG_PID
	exit_wait "$pid" 10
	check_range "milliseconds until it exited" 0 2000 $(( $(now_ms) - t0 ))
	check_eq "the master's exit status" 1 "$EXIT_RC"
	check_eq "the error naming the cause and the calls to allow, once" 1 "$(grep -cF -- \
	    "master: error: tuning.events \"io_uring\": $(cause "$call"); not starting; to run: allow io_uring_setup, io_uring_enter and io_uring_register in the seccomp profile" \
	    "$T/start.err")"
	check_no_match "no worker was started" 'worker [0-9]|started:' "$(cat "$T/start.err")"
}

serves_on_epoll() {	# CALL WITHOUT...: tuning.events = "auto" under the profile less WITHOUT
	local call=$1 pid ok
	local WITHOUT=("${@:2}")
	echo "--- events \"auto\", no $call: serves on epoll"
	PROXY_WRAP=("$PTSECCOMP" "${WITHOUT[@]}" "$PROFILE")
	proxy_start -w 2 "tuning = { events = \"auto\"; };
	routes = ( { sni = \"a.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
	PROXY_WRAP=()
	for pid in "$PROXY_PID" $PROXY_WORKER_PIDS; do
		check_eq "process $pid: Seccomp, NoNewPrivs" "2 1" \
		    "$(awk '/^Seccomp:/ { s = $2 } /^NoNewPrivs:/ { n = $2 } END { print s, n }' "/proc/$pid/status")"
	done
	check_eq "the warning naming the cause, once" 1 \
	    "$(grep -cF -- "master: warn: tuning.events \"auto\": $(cause "$call"); they run on epoll" "$PROXY_LOG")"
	check_eq "each worker says it runs epoll" 2 "$(grep -c 'info: started: .*, events epoll$' "$PROXY_LOG")"
	ok=0
	for _ in 1 2 3 4; do
		[ "$(curl_get a.example.com "$PROXY_PORT" whoami 2>&1)" = backend-a ] && ok=$((ok + 1))
	done
	check_eq "4 TLS requests through the proxy answered by backend a" 4 "$ok"
	check_eq "passthrough-stats --json: each worker's engine" "epoll epoll" \
	    "$("$STATS" -c "$PROXY_CONF" --json | jq -r '[.workers[].engine] | join(" ")')"
	proxy_stop
}

nginx_start a
refused io_uring_setup "${REDUCED[@]}"
serves_on_epoll io_uring_setup "${REDUCED[@]}"
# Allowed to make a ring but not to wait on it: a worker would spin on its
# refused waits; the probe waits on one no-op, and so sees it.
refused io_uring_enter "${NO_ENTER[@]}"
serves_on_epoll io_uring_enter "${NO_ENTER[@]}"
finish
