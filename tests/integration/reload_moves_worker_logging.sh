#!/bin/bash
# Guards log settings on reload: a reload that changes log.level or log.error moves the running workers too (not only the master and workers started later): at level warn no worker writes its per-connection debug line; back at debug, with log.error naming a new file, the same worker pids write theirs there.
. "$(dirname "$0")/lib.sh"

nginx_start a
P=$(free_port)
LISTEN="\"127.0.0.1:$P\""
ROUTES="routes = ( { sni = \"who.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
MOVED=$T/moved.log

# conf LOG: the configuration with this log group.
conf() {
	printf 'workers = 2;\nlisten = [ %s ];\nlog = { %s };\n%s\n' "$LISTEN" "$1" "$ROUTES" \
	    >"$T/proxy.conf.tmp" && pt_conf_events "$T/proxy.conf.tmp" && mv -f "$T/proxy.conf.tmp" "$T/proxy.conf"
}
# requests N: N requests, every one answered by nginx a.
requests() {
	local i ok=0
	for ((i = 0; i < $1; i++)); do
		[ "$(curl_get who.example.com "$P" whoami 2>&1)" = backend-a ] && ok=$((ok + 1))
	done
	echo "$ok"
}
worker_closes() { grep -c 'worker [0-9]*: debug: .*: closed: ' "$1"; }
has_worker_closes() { [ "$(worker_closes "$1")" -ge "$2" ]; }
# Every worker uses generation N (by the statistics: at level warn the master
# does not log its reloads).
workers_at() {
	[ "$("$BUILD/passthrough-stats" -c "$T/proxy.conf" --json 2>/dev/null |
	    jq '[.workers[].generation] | min')" = "$1" ]
}
reload_to() {	# GENERATION LOG
	conf "$2"
	kill -HUP "$PROXY_PID"
	WAIT_S=10 wait_until workers_at "$1" || die "the workers did not move to generation $1"
}

conf 'level = "debug";'
proxy_start_file "$T/proxy.conf" 2 "$P"
workers=$(proxy_children)

echo "--- level debug: the workers log each connection"
check_eq "requests answered" 8 "$(requests 8)"
WAIT_S=10 wait_until has_worker_closes "$PROXY_LOG" 8 || fail "debug: no worker 'closed' lines"

echo "--- reload to level warn"
reload_to 2 'level = "warn";'
before=$(worker_closes "$PROXY_LOG")
check_eq "requests answered" 8 "$(requests 8)"
sleep 0.5
check_eq "worker debug lines at level warn" "$before" "$(worker_closes "$PROXY_LOG")"

echo "--- reload to level debug, log.error to a new file"
reload_to 3 "level = \"debug\"; error = \"$MOVED\";"
check_eq "requests answered" 8 "$(requests 8)"
WAIT_S=10 wait_until has_worker_closes "$MOVED" 8 ||
    fail "the running workers did not log to the new file"
check_eq "worker lines left in the old log since" "$before" "$(worker_closes "$PROXY_LOG")"
check_eq "worker pids (none restarted)" "$workers" "$(proxy_children)"

# Every worker's exit line must be in the new file (proxy_stop counts them there).
PROXY_LOG=$MOVED proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
PROXY_LOG=$MOVED check_log_faults "the new log"
finish
