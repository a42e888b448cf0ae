#!/bin/bash
# Guards the instance lock: a forged statistics segment (the right magic, owned by nobody, naming the pid of a fake "passthrough" process that nobody runs) does not stop a root start of the same configuration, which replaces it with its own (root, 0640) and holds /run/passthrough/NAME.lock (root's 0755 directory); a second start is still refused naming the real master's pid, and a clean stop removes the lock file.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || die "setpriv is missing (util-linux)"
command -v jq >/dev/null || die "jq is missing"
NOBODY=65534
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all "$@"; }

nginx_start a
BODY="routes = ( { sni = \"a.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
who() { curl_get a.example.com "$PROXY_PORT" whoami 2>&1; }

echo "--- a real segment, to forge from"
proxy_start "$BODY"
SEG=$("$BUILD/passthrough-stats" -c "$PROXY_CONF" --json | jq -r .segment)
[ -n "$SEG" ] && [ -e "/dev/shm$SEG" ] || die "no statistics segment found (got '$SEG')"
cp "/dev/shm$SEG" "$T/seg.bin"
REAL=$PROXY_PID
proxy_stop
shm_cleanup() {
	local rc=$?
	[ -n "${SEG:-}" ] && [ "$(stat -c %u "/dev/shm$SEG" 2>/dev/null)" = $NOBODY ] && rm -f "/dev/shm$SEG"
	(exit "$rc")
	cleanup
}
trap shm_cleanup EXIT

echo "--- a fake \"passthrough\" run by nobody, and a segment naming it"
mkdir -p "$T/pub"
chmod 711 "$T"
cp "$(command -v sleep)" "$T/pub/passthrough"
chmod 755 "$T/pub" "$T/pub/passthrough"
spawn as_nobody "$T/pub/passthrough" 600
WAIT_S=5 wait_until sh -c "pgrep -u $NOBODY -x passthrough >/dev/null" || die "the fake did not start"
FAKE=$(pgrep -u $NOBODY -x passthrough | head -n 1)
check_eq "the fake's process name" passthrough "$(cat "/proc/$FAKE/comm")"
# The master's pid sits in the header's first 256 bytes: find the word, write the fake's there.
off=
i=0
for w in $(od -An -v -tu4 -N256 "$T/seg.bin"); do
	[ "$w" = "$REAL" ] && { off=$((i * 4)); break; }
	i=$((i + 1))
done
[ -n "$off" ] || die "the master's pid $REAL is not in the segment's header"
printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((FAKE & 255)) $((FAKE >> 8 & 255)) \
    $((FAKE >> 16 & 255)) $((FAKE >> 24 & 255)))" |
    dd of="$T/seg.bin" bs=1 seek="$off" conv=notrunc status=none
rm -f "/dev/shm$SEG"
as_nobody sh -c "cat >/dev/shm$SEG" <"$T/seg.bin" || die "nobody could not write /dev/shm$SEG"
check_eq "the forged segment's owner" $NOBODY "$(stat -c %u "/dev/shm$SEG")"

echo "--- a root start of the same configuration"
proxy_start "$BODY"
check_eq "it serves" backend-a "$(who)"
check_no_match "no 'in use' refusal" "in use" "$(cat "$PROXY_LOG")"
check_eq "the segment is now root's, mode 0640" "0 640" "$(stat -c '%u %a' "/dev/shm$SEG" 2>&1)"
check_eq "passthrough-stats reads the new master" "$PROXY_PID" \
    "$("$BUILD/passthrough-stats" -c "$PROXY_CONF" --json 2>&1 | jq -r .master_pid 2>&1)"
LOCK=/run/passthrough${SEG}.lock
check_eq "the lock directory: root's, 0755" "0 755 directory" "$(stat -c '%u %a %F' /run/passthrough 2>&1)"
check_eq "the lock file: root's, 0600" "0 600 regular empty file" "$(stat -c '%u %a %F' "$LOCK" 2>&1)"

echo "--- a second start is refused, naming the real master"
"$PT" -f -c "$PROXY_CONF" >"$T/second.out" 2>&1 </dev/null &
second=$!
pid_wait_exit "$second" 10 || { fail "the second start did not exit"; stop_pid "$second"; }
wait "$second"
check_eq "second start: exit status" 1 "$?"
check_match "second start: names the running master" "is in use by passthrough pid $PROXY_PID " \
    "$(cat "$T/second.out")"
check_eq "the first still serves" backend-a "$(who)"

echo "--- a clean stop"
proxy_stop
check_eq "stop: exit status" 0 "$PROXY_RC"
check_eq "stop: the lock file is gone" no "$(test -e "$LOCK" && echo yes || echo no)"
check_eq "stop: the segment is gone" no "$(test -e "/dev/shm$SEG" && echo yes || echo no)"
check_log_faults "forged segment"
finish
