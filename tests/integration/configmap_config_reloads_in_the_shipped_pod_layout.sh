#!/bin/bash
# Guards the pod's configuration as shipped: etc/kubernetes/passthrough.conf, unchanged, laid out as the kubelet mounts a ConfigMap (..data symlink to a timestamped directory) and run as uid 10001 in a private network (listener 8443, the demo Service name resolved by /etc/hosts) with the pod's /dev/shm and XDG_RUNTIME_DIR, routes demo.example.com over real TLS to its backend; a kubelet-style edit moving the route to a second backend is followed within 1.5 s with no signal; a broken edit is a failed reload the metrics show, and the old route serves.
# Runs as root: the body re-runs itself in a new network and mount namespace
# (unshare -mn), so port 8443, port 443, /etc/hosts and /dev/shm (the
# config's fixed stats name "passthrough") are its own and nothing is left.
. "$(dirname "$0")/netns.sh"
netns_enter "unshare -mn, setpriv"
. "$(dirname "$0")/lib.sh"

SHIPPED=$ROOT/etc/kubernetes/passthrough.conf
NAME=demo.example.com
SVC=demo-tls.passthrough-demo.svc.cluster.local	# the shipped route's backend
SVC2=demo-tls-v2.passthrough-demo.svc.cluster.local	# the edit's
POD_UID=10001	# the image's passthrough user (Dockerfile, deployment.yaml)
# From the edit until new connections reach the new backend: the 200 ms
# debounce plus the reload, with room for a loaded machine. ms
FOLLOW_MAX_MS=1500
grep -q "backends = \\[ \"$SVC:443\" \\]" "$SHIPPED" || die "the shipped route to $SVC:443 is not in $SHIPPED"

ip link set lo up || die "no loopback in the new network namespace"
printf '127.0.0.1 localhost\n::1 localhost\n127.0.0.1 %s\n127.0.0.2 %s\n' "$SVC" "$SVC2" >"$T/hosts"
mount --bind "$T/hosts" /etc/hosts || die "bind-mounting /etc/hosts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || die "a private /dev/shm"

# The pod's file system: the ConfigMap volume (root's, read by all), the
# XDG_RUNTIME_DIR emptyDir (the pod user's). $T stays closed but for passage.
chmod 0711 "$T"
POD=$T/pod
CM=$POD/etc/passthrough
CONF=$CM/passthrough.conf
mkdir -p "$CM" "$POD/run" && chmod 0755 "$POD" "$POD/etc" "$CM" &&
    chown "$POD_UID:$POD_UID" "$POD/run" && chmod 0700 "$POD/run" || die "laying out $POD"
version() {	# N [SED]: $CM/..N/passthrough.conf, the mounted file (at first the shipped one) edited by SED
	local from=$CONF
	[ -e "$from" ] || from=$SHIPPED
	mkdir -p "$CM/..$1" && cp "$from" "$CM/..$1/passthrough.conf" || die "version $1"
	[ -z "${2:-}" ] || sed -i "$2" "$CM/..$1/passthrough.conf" || die "version $1: sed"
	chmod -R a+rX "$CM/..$1"
}
swap_to() {	# N: the kubelet's update: a new ..data link renamed over the old one, the old version removed
	local old
	old=$(readlink "$CM/..data")
	ln -s "..$1" "$CM/..data_tmp" && mv -T "$CM/..data_tmp" "$CM/..data" || die "swapping ..data to ..$1"
	rm -rf "${CM:?}/$old"
}
version 2026_12_03_10_00_00.1
ln -s ..2026_12_03_10_00_00.1 "$CM/..data"
ln -s ..data/passthrough.conf "$CONF"
cmp -s "$SHIPPED" "$CONF" || die "the mounted file is not the shipped one"

# Two TLS backends on the Service port, told apart by their certificate's CN.
certs_ensure demo demo2
for b in demo:127.0.0.1 demo2:127.0.0.2; do
	spawn openssl s_server -quiet -www -accept "${b#*:}:443" -cert "$CERTS/${b%%:*}.crt" \
	    -key "$CERTS/${b%%:*}.key"
done
backends_listen() { [ "$(ss -Htln '( sport = :443 )' | wc -l)" -ge 2 ]; }
WAIT_S=10 wait_until backends_listen || die "the backends do not listen on 443"

# The pod's user and environment (setpriv and env exec: the pid is passthrough's).
AS_POD=(setpriv --reuid="$POD_UID" --regid="$POD_UID" --clear-groups env XDG_RUNTIME_DIR="$POD/run")
: >"$PROXY_LOG"
spawn "${AS_POD[@]}" "$PT" -f -c "$CONF" 2>>"$PROXY_LOG"
PROXY_PID=$BG_PID
# shellcheck disable=SC2034
PROXY_PORT=8443	# read by proxy_ready (lib.sh)
PROXY_WORKERS=$(sed -nE 's/^workers = ([0-9]+);.*/\1/p' "$SHIPPED")
WAIT_S=10 wait_until proxy_ready
pid_alive "$PROXY_PID" && proxy_ready || { cat "$PROXY_LOG"; die "passthrough did not start on the shipped configuration"; }
check_eq "workers started" "$PROXY_WORKERS" "$(grep -c 'info: started:' "$PROXY_LOG")"
uids=$(for p in $PROXY_PID $(ps -o pid= --ppid "$PROXY_PID"); do awk '/^Uid:/ { print $2 }' "/proc/$p/status"; done | sort -u)
check_eq "master and workers run as uid" "$POD_UID" "$uids"
check_eq "listening on 8443, IPv4 and IPv6" "0.0.0.0:8443 [::]:8443" "$(ss -Htln '( sport = :8443 )' | awk '{ print $4 }' | sort -u | tr '\n' ' ' | sed 's/ $//')"
check_eq "its lock in XDG_RUNTIME_DIR" "$POD/run/passthrough/passthrough.lock" "$(ls "$POD"/run/passthrough/*.lock 2>&1)"

cn_via() {	# ADDR: the backend CN a TLS client gets for $NAME through ADDR:8443
	SCLIENT_HOST=$1 sclient 8443 -servername "$NAME" -verify_hostname "$NAME" | sclient_cn
}
check_eq "$NAME through 127.0.0.1:8443" backend-demo "$(cn_via 127.0.0.1)"
check_eq "$NAME through [::1]:8443" backend-demo "$(cn_via '[::1]')"
got=$(curl_get "$NAME" 8443 "" -o /dev/null -w '%{http_code} %{ssl_verify_result}')
check_eq "curl https://$NAME:8443/ (status, verify result)" "200 0" "$got"
metrics() { "${AS_POD[@]}" "$STATS" -c "$CONF" --prometheus 2>&1; }
check_match "the sidecar's view as the pod user: reloads ok" '^passthrough_last_reload_success 1$' "$(metrics)"

echo "--- a ConfigMap edit: the route moves to $SVC2"
version 2026_12_03_10_05_00.2 "s/\"$SVC:443\"/\"$SVC2:443\"/"
t0=$(now_ms)
swap_to 2026_12_03_10_05_00.2
for ((i = 0; i < 40; i++)); do
	[ "$(cn_via 127.0.0.1)" = backend-demo2 ] && break
	sleep 0.1
done
check_range "edit -> new connections reach $SVC2 (ms)" 0 "$FOLLOW_MAX_MS" "$(( $(now_ms) - t0 ))"
check_eq "after the edit, $NAME through [::1]:8443" backend-demo2 "$(cn_via '[::1]')"
check_match "the reload is logged" "master: info: reloaded $CONF: generation 2, 1 routes" "$(cat "$PROXY_LOG")"
check_eq "the master had no signal: same workers" "$(ps -o pid= --ppid "$PROXY_PID" | wc -l)" "$PROXY_WORKERS"

echo "--- a broken edit: the old routes serve"
version 2026_12_03_10_10_00.3 's/^workers = [0-9]*;/workers = "two";/'
swap_to 2026_12_03_10_10_00.3
failed() { grep -q 'master: error: reload failed: ' "$PROXY_LOG"; }
WAIT_S=5 wait_until failed || fail "broken edit: no 'reload failed' line"
check_match "broken edit: the failure, and what serves" \
    "master: error: reload failed: 1 error in $CONF; generation 2 keeps serving" "$(cat "$PROXY_LOG")"
check_eq "broken edit: $NAME still reaches" backend-demo2 "$(cn_via 127.0.0.1)"
check_match "broken edit: the metrics say the reload failed" '^passthrough_last_reload_success 0$' "$(metrics)"

proxy_stop
check_eq "passthrough exit status (SIGTERM)" 0 "$PROXY_RC"
check_eq "nothing left in the pod's /dev/shm" "" "$(ls /dev/shm)"
finish
