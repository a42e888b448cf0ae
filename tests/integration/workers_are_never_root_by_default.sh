#!/bin/bash
# Guards the workers' identity: started as root with no user in the file, every worker runs as nobody (uid and gid 65534, no capability, NoNewPrivs set) and still routes; kill -9 of the master takes them down (PR_SET_PDEATHSIG survives the switch); user = "root" written explicitly keeps them root with a warning at start; group without user is refused.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root: only a root start switches the workers"
sink_start A
ROUTE="routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[A]}\" ]; } );"

status_of() {	# PID FIELD: FIELD's values from /proc/PID/status, tabs as spaces
	awk -v f="$2:" '$1 == f { $1 = ""; print substr($0, 2) }' "/proc/$1/status" | tr -s '\t ' ' '
}
none_alive() {
	local pid
	for pid in "$@"; do pid_alive "$pid" && return 1; done
	return 0
}

echo "--- no user in the file"
proxy_start -w 2 "$ROUTE"
for w in $(proxy_children); do
	check_eq "worker $w uid" "65534 65534 65534 65534" "$(status_of "$w" Uid)"
	check_eq "worker $w gid" "65534 65534 65534 65534" "$(status_of "$w" Gid)"
	check_eq "worker $w effective capabilities" 0000000000000000 "$(status_of "$w" CapEff)"
	check_eq "worker $w permitted capabilities" 0000000000000000 "$(status_of "$w" CapPrm)"
	check_eq "worker $w NoNewPrivs" 1 "$(status_of "$w" NoNewPrivs)"
done
check_eq "master uid" "0 0 0 0" "$(status_of "$PROXY_PID" Uid)"
check_hello_reaches "a hello through a nobody worker" A --hello x.example.com
check_no_match "no warning about root" "workers run as root" "$(cat "$PROXY_LOG")"

echo "--- kill -9 of the master"
workers=$(proxy_children)
kill -KILL "$PROXY_PID"
# shellcheck disable=SC2086  # a list of pids
WAIT_S=2 wait_until none_alive $workers
# shellcheck disable=SC2086
check_eq "the workers died with the master within 2 s" yes "$(none_alive $workers && echo yes || echo "no: $workers")"
wait "$PROXY_PID" 2>/dev/null
# shellcheck disable=SC2086
for pid in $workers; do pid_alive "$pid" && kill -KILL "$pid"; done


echo "--- user = \"root\" written in the file"
proxy_start -w 1 "user = \"root\";
$ROUTE"
for w in $(proxy_children); do
	check_eq "worker $w uid (asked for)" "0 0 0 0" "$(status_of "$w" Uid)"
	check_eq "worker $w NoNewPrivs" 1 "$(status_of "$w" NoNewPrivs)"
done
check_match "warned at start" "master: warn: workers run as root \\(user = \"root\"\\)" "$(cat "$PROXY_LOG")"
proxy_stop
check_eq "exit status" 0 "$PROXY_RC"

echo "--- group without user"
proxy_conf_write "$T/group.conf" 1 "\"127.0.0.1:$(free_port)\"" "group = \"nogroup\";
$ROUTE"
out=$("$PT" -t -c "$T/group.conf" 2>&1)
check_eq "passthrough -t exit status" 1 "$?"
check_match "it says why, with file and line" "group.conf:4: group: needs user" "$out"
finish
