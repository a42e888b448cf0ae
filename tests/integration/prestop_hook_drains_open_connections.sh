#!/bin/bash
# Guards the pod's stop: the preStop hook of etc/kubernetes/deployment.yaml, run as the kubelet runs it (in the container's pid namespace, where passthrough is pid 1, as uid 10001), keeps accepting for its first seconds, then makes passthrough stop gracefully (listeners closed, an open TLS connection carried to its end) and returns only when passthrough has exited 0, within terminationGracePeriodSeconds.
# once: the hook's text and the master's SIGQUIT path, which quit_lets_transfers_finish.sh runs in both passes; this one takes about 9 s.
. "$(dirname "$0")/netns.sh"
netns_enter "unshare -mnp, nsenter, setpriv"
. "$(dirname "$0")/lib.sh"

K8S=$ROOT/etc/kubernetes
NAME=demo.example.com
SVC=demo-tls.passthrough-demo.svc.cluster.local
POD_UID=10001
# The hook: the sh -c script of the passthrough container's preStop.
hook=$(grep -A3 '^ *preStop:' "$K8S/deployment.yaml" | sed -n 's/^ *command: //p' |
    python3 -c 'import json, sys; c = json.load(sys.stdin); assert c[:2] == ["/bin/sh", "-c"]; print(c[2])') ||
    die "no preStop exec [\"/bin/sh\", \"-c\", SCRIPT] in deployment.yaml"
grace=$(sed -nE 's/^ *terminationGracePeriodSeconds: ([0-9]+)$/\1/p' "$K8S/deployment.yaml")
echo "     hook: $hook (terminationGracePeriodSeconds $grace)"

ip link set lo up || die "no loopback in the new network namespace"
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$SVC" >"$T/hosts"
mount --bind "$T/hosts" /etc/hosts || die "bind-mounting /etc/hosts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || die "a private /dev/shm"
chmod 0711 "$T"
mkdir -p "$T/pod/etc" "$T/pod/run" && chmod 0755 "$T/pod" "$T/pod/etc" &&
    chown "$POD_UID:$POD_UID" "$T/pod/run" || die "laying out $T/pod"
CONF=$T/pod/etc/passthrough.conf
install -m 0644 "$K8S/passthrough.conf" "$CONF" || die "copying the configuration"

# A TLS backend on the Service port that keeps a connection open (its
# stdin, which it would send, never ends: a FIFO this shell holds) and
# writes what the client sent to its output.
certs_ensure demo
mkfifo "$T/backend.in" && exec 7<>"$T/backend.in" || die "a FIFO for the backend's stdin"
# (Not through spawn: an asynchronous command's stdin is /dev/null unless
# the command itself redirects it.)
openssl s_server -quiet -accept 127.0.0.1:443 -cert "$CERTS/demo.crt" -key "$CERTS/demo.key" \
    >"$T/backend.out" 2>&1 <"$T/backend.in" &
PIDS+=("$!")
WAIT_S=10 wait_until port_listening 443 || die "the backend does not listen on 443"

# passthrough as pid 1 of a pid namespace of its own, as in its container.
AS_POD=(setpriv --reuid="$POD_UID" --regid="$POD_UID" --clear-groups env XDG_RUNTIME_DIR="$T/pod/run")
: >"$PROXY_LOG"
spawn unshare -p --fork --kill-child "${AS_POD[@]}" "$PT" -f -c "$CONF" 2>>"$PROXY_LOG"
CONTAINER=$BG_PID
# shellcheck disable=SC2034  # read by proxy_ready (lib.sh)
PROXY_PORT=8443 PROXY_WORKERS=$(sed -nE "s/^workers = ([0-9]+);.*/\1/p" "$CONF") PROXY_PID=$CONTAINER
WAIT_S=10 wait_until proxy_ready
MASTER=$(ps -o pid= --ppid "$CONTAINER" | tr -d ' ')
[ -n "$MASTER" ] && proxy_ready || { cat "$PROXY_LOG"; die "passthrough did not start"; }
check_eq "passthrough is pid 1 of its pid namespace" 1 "$(awk '/^NSpid:/ { print $3 }' "/proc/$MASTER/status")"

accepts() { timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8443' 2>/dev/null; }

# One connection that lasts 8 s: its last bytes are sent after the hook's SIGQUIT.
{ sleep 8; echo "last bytes of a long connection"; } |
    timeout 20 openssl s_client -connect 127.0.0.1:8443 -servername "$NAME" -CAfile "$CA" \
    -verify_return_error >"$T/client.out" 2>&1 &
CLIENT=$!
PIDS+=("$CLIENT")
wait_until grep -q 'Verification: OK' "$T/client.out" || die "the long connection did not reach the backend"

echo "--- the hook, in the container's pid namespace, as its user"
t0=$(now_ms)
# (In a shell that reports nsenter's status: the hook is killed when pid 1
# exits, which bash would otherwise announce.)
spawn bash -c '"$@"; exit $?' _ nsenter -t "$MASTER" -p -- "${AS_POD[@]}" /bin/sh -c "$hook"
HOOK=$BG_PID
sleep 2
if accepts; then pass "2 s into the hook: still accepting"; else fail "2 s into the hook: not accepting"; fi
quitting() { grep -q 'master: info: quitting: connections may finish within 30000 ms' "$PROXY_LOG"; }
WAIT_S=6 wait_until quitting || fail "no graceful stop (quitting line) within 8 s of the hook"
quit_ms=$(( $(now_ms) - t0 ))
check_range "the hook's SIGQUIT after (ms)" 4500 7500 "$quit_ms"
sleep 0.3
if accepts; then fail "after SIGQUIT: still accepting"; else pass "after SIGQUIT: listeners closed"; fi
check_eq "passthrough still runs while the connection is open" yes "$(pid_alive "$MASTER" && echo yes)"

pid_wait_exit "$HOOK" "$grace" || fail "the hook did not return within $grace s"
hook_ms=$(( $(now_ms) - t0 ))
wait "$CONTAINER"
check_eq "passthrough's exit status" 0 "$?"
check_range "the hook returned once passthrough exited (ms)" 6500 $((grace * 1000)) "$hook_ms"
wait "$CLIENT"
check_match "the long connection's last bytes reached the backend" '^last bytes of a long connection$' \
    "$(cat "$T/backend.out")"
check_match "passthrough stopped gracefully" 'master: info: stopped' "$(cat "$PROXY_LOG")"
check_no_match "no fast stop" 'master: info: stopping$' "$(cat "$PROXY_LOG")"
finish
