#!/bin/bash
# Guards the shipped systemd unit: run under exactly the unit's CapabilityBoundingSet (read from etc/passthrough.service.in, applied with setpriv, no_new_privs as the unit sets it) with user nobody, stats.group and log.access, the proxy starts and routes, the access log fills, a reload that moves listen retires the old worker (the old address stops accepting), a logrotate move and SIGUSR1 make a new access log the workers write, SIGTERM stops everything within 10 s, and kill -9 of the master takes the workers down within 2 s.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || die "setpriv is missing: run tools/deps.sh test (util-linux)"

UNIT=${UNIT:-$ROOT/etc/passthrough.service.in}
# "CapabilityBoundingSet=CAP_A CAP_B" -> "-all,+a,+b" (setpriv's spelling).
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$caps" ] || die "$UNIT has no CapabilityBoundingSet line"
bounding=-all
for c in $caps; do
	c=${c#CAP_}
	bounding="$bounding,+${c,,}"
done
echo "     the unit's bounding set: $caps"
# setpriv cannot add what this machine's own bounding set lacks: that would
# test a smaller set than the unit's.
for c in $caps; do
	c=${c#CAP_}
	# shellcheck disable=SC2016  # awk's $2
	[ "$(setpriv --bounding-set="-all,+${c,,}" awk '/^CapBnd:/ { print $2 }' /proc/self/status)" != 0000000000000000 ] || {
		echo "SKIP: this machine's capability bounding set lacks CAP_$c"
		exit 77
	}
done
echo "     setpriv --bounding-set=$bounding"

nginx_start a
ACCESS=$T/access.log
STATS_NAME=pt-unitcaps-$$

# A master short of a capability may leave workers behind (orphans that keep
# listening) and, killed, its segment: neither outlives the test.
cleanup_leftovers() {
	local rc=$? p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "-c $T/pt.conf" &&
		    kill -KILL "${p#/proc/}" 2>/dev/null
	done
	rm -f /dev/shm/*"$STATS_NAME"*
	(exit "$rc")
	cleanup
}
trap cleanup_leftovers EXIT

# conf_write FILE PORT: user nobody, stats.group, log.access, one route.
conf_write() {
	printf '%s\n' "workers = 2;
listen = [ \"127.0.0.1:$2\" ];
user = \"nobody\";
log = { level = \"debug\"; access = \"$ACCESS\"; };
stats = { name = \"$STATS_NAME\"; group = \"nogroup\"; };
timeouts = { drain_ms = 3000; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );" >"$1.tmp" &&
	    pt_conf_events "$1.tmp" && mv -f "$1.tmp" "$1"
}

# start_capped PORT: the proxy under the unit's bounding set on PORT.
start_capped() {
	PROXY_CONF=$T/pt.conf
	PROXY_PORT=$1
	PROXY_WORKERS=2
	conf_write "$PROXY_CONF" "$1"
	: >"$PROXY_LOG"
	spawn setpriv --bounding-set="$bounding" --no-new-privs "$PT" -f -c "$PROXY_CONF" 2>>"$PROXY_LOG"
	PROXY_PID=$BG_PID
	WAIT_S=10 wait_until proxy_ready
	if ! pid_alive "$PROXY_PID" || ! port_listening "$1"; then
		cat "$PROXY_LOG"
		die "the proxy did not start under the unit's capability set"
	fi
}
worker_uids() {	# the real uids of the master's live children, sorted, unique
	local pid
	for pid in $(proxy_children); do
		awk '/^Uid:/ { print $2 }' "/proc/$pid/status"
	done | sort -u | tr '\n' ' '
}
access_lines() { grep -c ' sni=' "$ACCESS" 2>/dev/null || echo 0; }
access_has() { [ "$(access_lines)" -ge "$1" ]; }
port_closed() { ! port_listening "$1"; }
none_alive() {
	local pid
	for pid in "$@"; do pid_alive "$pid" && return 1; done
	return 0
}

echo "--- start, route, access log, stats.group"
P1=$(free_port)
start_capped "$P1"
check_eq "master's bounding set: the unit's" "$(setpriv --bounding-set="$bounding" grep CapBnd /proc/self/status | awk '{ print $2 }')" \
    "$(awk '/^CapBnd:/ { print $2 }' "/proc/$PROXY_PID/status")"
check_eq "workers run as nobody" "65534 " "$(worker_uids)"
check_eq "curl through the proxy" backend-a "$(curl_get a.example.com "$P1" whoami 2>&1)"
WAIT_S=5 wait_until access_has 1
check_eq "access log lines" 1 "$(access_lines)"
check_eq "the stats segment's group" nogroup "$(stat -c %G "/dev/shm/$STATS_NAME" 2>&1)"
check_no_match "no permission failure in the log" "Operation not permitted|Permission denied|cannot" "$(cat "$PROXY_LOG")"

echo "--- a reload that moves listen"
old_workers=$(proxy_children)
P2=$(free_port)
conf_write "$PROXY_CONF" "$P2"
kill -HUP "$PROXY_PID"
WAIT_S=10 wait_until port_listening "$P2" || fail "the new address does not listen"
check_eq "curl on the new address" backend-a "$(curl_get a.example.com "$P2" whoami 2>&1)"
# shellcheck disable=SC2086  # a list of pids
WAIT_S=5 wait_until none_alive $old_workers
# shellcheck disable=SC2086
check_eq "the old workers are gone" yes "$(none_alive $old_workers && echo yes || echo "no: $(proxy_children)")"
check_eq "the old address stopped accepting" yes "$(WAIT_S=1 wait_until port_closed "$P1" && echo yes || echo no)"
check_eq "curl on the new address, logged" 2 "$(WAIT_S=5 wait_until access_has 2; access_lines)"

echo "--- the access log moved away as logrotate does, then SIGUSR1"
mv "$ACCESS" "$ACCESS.1"
kill -USR1 "$PROXY_PID"
WAIT_S=5 wait_until test -e "$ACCESS" || fail "no new access log after SIGUSR1"
sleep 0.3	# the workers reopen at their next turn
check_eq "curl after the reopen" backend-a "$(curl_get a.example.com "$P2" whoami 2>&1)"
check_eq "the new access log's owner" nobody "$(stat -c %U "$ACCESS" 2>&1)"
check_eq "the new access log's lines" 1 "$(WAIT_S=5 wait_until access_has 1; access_lines)"
check_no_match "no permission failure in the log" "Operation not permitted|Permission denied|did not stop|cannot" \
    "$(cat "$PROXY_LOG")"

echo "--- SIGTERM"
# shellcheck disable=SC2034  # proxy_stop reads them
PROXY_PORT=$P2 PROXY_WORKERS=4	# the retired ones logged their totals too
proxy_stop
check_eq "exit status" 0 "$PROXY_RC"
check_range "ms until everything stopped" 0 10000 "$PROXY_STOP_MS"
check_no_match "no worker had to be killed" "did not stop|killing" "$(cat "$PROXY_LOG")"
check_log_faults "under the unit's capability set"

echo "--- kill -9 of the master"
P3=$(free_port)
start_capped "$P3"
workers=$(proxy_children)
check_eq "workers before the kill" 2 "$(wc -w <<<"$workers" | tr -d ' ')"
kill -KILL "$PROXY_PID"
t0=$(now_ms)
# shellcheck disable=SC2086
WAIT_S=2 wait_until none_alive $workers
# shellcheck disable=SC2086
check_eq "the workers are gone within 2 s" yes "$(none_alive $workers && echo "yes" || echo "no: $workers still run")"
echo "     they went in $(( $(now_ms) - t0 )) ms"
check_eq "the port stopped accepting" yes "$(WAIT_S=1 wait_until port_closed "$P3" && echo yes || echo no)"
wait "$PROXY_PID" 2>/dev/null
finish
