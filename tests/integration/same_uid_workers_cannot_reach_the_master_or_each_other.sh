#!/bin/bash
# Guards the privilege model of a start as non-root (a Kubernetes pod: master and workers share one uid): the master and each worker are non-dumpable, so a process of that same uid (a compromised worker, tests/tools/ptreach) can neither list their /proc/PID/fd, read their environ, open their /proc/PID/mem, process_vm_readv them, ptrace them nor pidfd_getfd their descriptors, while a dumpable process of that uid stays reachable (the probe works); the proxy still routes a real TLS connection, reloads, and passthrough-stats --check run as that uid, also from another pid namespace (the pod's sidecar), says it serves.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || die "setpriv is missing (util-linux)"
command -v unshare >/dev/null || die "unshare is missing (util-linux)"
PTREACH=$ROOT/tests/tools/ptreach
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing: run tools/deps.sh test"

# A bare uid no account uses, as the pod's 10001 is in an image (setpriv needs no passwd entry).
free_uid() {	# a uid from $1 up that no account has
	local u=$1
	while getent passwd "$u" >/dev/null; do u=$((u + 1)); done
	echo "$u"
}
PUID=$(free_uid 10001)
AS_USER=(setpriv --reuid="$PUID" --regid="$PUID" --clear-groups --inh-caps=-all)
as_user() { "${AS_USER[@]}" "$@"; }

# What the uid runs and reads lives where it may: $T stays 0700. Its lock
# directory is XDG_RUNTIME_DIR's, as in the pod.
PUB=$(mktemp -d /tmp/pt-sameuid.XXXXXX) || die "mktemp"
pub_cleanup() {
	local rc=$?
	rm -rf "$PUB"
	(exit "$rc")
	cleanup
}
trap pub_cleanup EXIT
mkdir -p "$PUB/run" && chown "$PUID:$PUID" "$PUB/run" && chmod 700 "$PUB/run" &&
    chmod 755 "$PUB" && cp "$PT" "$STATS" "$PTREACH" "$PUB/" || die "cannot lay out $PUB"

nginx_start a
ROUTE="routes = ( { sni = \"who.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
PROXY_WORKERS=2
PROXY_PORT=$(free_port)
PROXY_CONF=$PUB/passthrough.conf
proxy_conf_write "$PROXY_CONF" 2 "\"127.0.0.1:$PROXY_PORT\"" "$ROUTE"
chmod 644 "$PROXY_CONF"
: >"$PROXY_LOG"
spawn "${AS_USER[@]}" env XDG_RUNTIME_DIR="$PUB/run" "$PUB/passthrough" -f -c "$PROXY_CONF" 2>>"$PROXY_LOG"
PROXY_PID=$BG_PID
WAIT_S=10 wait_until proxy_ready
pid_alive "$PROXY_PID" && port_listening "$PROXY_PORT" || { cat "$PROXY_LOG"; die "the proxy did not start as uid $PUID"; }
w0=$(proxy_slot_pid 0)
w1=$(proxy_slot_pid 1)
[ -n "$w0" ] && [ -n "$w1" ] || die "not two workers: '$w0' '$w1'"

uid_of() { awk '$1 == "Uid:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
check_eq "the master's uid" "$PUID" "$(uid_of "$PROXY_PID")"
check_eq "the workers' uids" "$PUID $PUID" "$(uid_of "$w0") $(uid_of "$w1")"
check_eq "a request through the proxy" backend-a "$(curl_get who.example.com "$PROXY_PORT" whoami 2>&1)"

REFUSED='fd refused (EACCES); environ refused (EACCES); mem refused (EACCES); vm_readv refused (EPERM); ptrace refused (EPERM); getfd refused (EPERM)'
# reach WHAT PID: ptreach as the uid, from a process that is not PID's
# ancestor (a worker is none of the master's nor of its siblings').
reach() {
	local got
	got=$(as_user "$PUB/ptreach" "$2" 2>&1 | paste -sd ';' | sed 's/;/; /g')
	check_eq "uid $PUID reaching $1 (pid $2)" "$REFUSED" "$got"
}
reach "the master" "$PROXY_PID"
reach "worker 0" "$w0"
reach "worker 1" "$w1"

# The probe itself: a dumpable process of the same uid is reachable
# through what the kernel decides by dumpable alone (fd, environ; the
# ATTACH ways may be Yama's to refuse on this machine).
spawn "${AS_USER[@]}" sleep 30
control=$(as_user "$PUB/ptreach" "$BG_PID" 2>&1)
stop_pid "$BG_PID"
check_match "a dumpable process of uid $PUID: its fd are listed" "^fd allowed\$" "$control"
check_match "a dumpable process of uid $PUID: its environ is read" "^environ allowed\$" "$control"

echo "--- still a working proxy"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "no reload to generation 2 as uid $PUID"
check_eq "a request after the reload" backend-a "$(curl_get who.example.com "$PROXY_PORT" whoami 2>&1)"
out=$(as_user "$PUB/passthrough-stats" --check -c "$PROXY_CONF" 2>&1)
check_eq "passthrough-stats --check as uid $PUID: exit status" 0 "$?"
check_match "passthrough-stats --check as uid $PUID" "^serving: generation 2, 2 of 2 workers, master pid $PROXY_PID\$" "$out"
# The pod's metrics sidecar: the same uid in a pid namespace of its own.
out=$(unshare --pid --fork --mount-proc "${AS_USER[@]}" "$PUB/passthrough-stats" --check -c "$PROXY_CONF" 2>&1)
check_eq "--check as uid $PUID from another pid namespace: exit status" 0 "$?"
check_match "--check as uid $PUID from another pid namespace" "^serving: generation 2, 2 of 2 workers, master pid $PROXY_PID\$" "$out"
finish
