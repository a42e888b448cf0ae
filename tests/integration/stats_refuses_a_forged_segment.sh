#!/bin/bash
# Guards passthrough-stats against forged segments: with passthrough down, a segment under the configuration's name that nobody owns (the right magic and layout), or a root one that others may write, is refused with exit 1 and a message saying why (by -c FILE and by -n NAME); a root segment of mode 0640 is still read.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || die "setpriv is missing (util-linux)"
command -v jq >/dev/null || die "jq is missing"
NOBODY=65534
STATS=$BUILD/passthrough-stats

sink_start a
proxy_start "routes = ( { sni = \"a.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[a]}\" ]; } );"
SEG=$("$STATS" -c "$PROXY_CONF" --json | jq -r .segment)
[ -n "$SEG" ] && [ -e "/dev/shm$SEG" ] || die "no statistics segment found (got '$SEG')"
cp "/dev/shm$SEG" "$T/seg.bin"
proxy_stop
shm_cleanup() {
	local rc=$?
	[ -n "${SEG:-}" ] && rm -f "/dev/shm$SEG"
	(exit "$rc")
	cleanup
}
trap shm_cleanup EXIT

# stats_run ARGS...: passthrough-stats --json ARGS; sets RC and OUT (stdout and stderr).
stats_run() {
	OUT=$("$STATS" --json "$@" 2>&1)
	RC=$?
}

echo "--- a segment nobody wrote"
rm -f "/dev/shm$SEG"
setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all \
    sh -c "umask 022; cat >/dev/shm$SEG" <"$T/seg.bin" || die "nobody could not write /dev/shm$SEG"
check_eq "its owner" $NOBODY "$(stat -c %u "/dev/shm$SEG")"
stats_run -c "$PROXY_CONF"
check_eq "-c: exit status" 1 "$RC"
check_match "-c: says whose it is" "$SEG is owned by uid $NOBODY, not by root: refused" "$OUT"
check_no_match "-c: prints no statistics" '"master_pid"' "$OUT"
stats_run -n "${SEG#/}"
check_eq "-n: exit status" 1 "$RC"
check_match "-n: says whose it is" "owned by uid $NOBODY" "$OUT"

echo "--- a root segment that others may write"
rm -f "/dev/shm$SEG"
cp "$T/seg.bin" "/dev/shm$SEG"
chmod 0666 "/dev/shm$SEG"
stats_run -c "$PROXY_CONF"
check_eq "0666: exit status" 1 "$RC"
check_match "0666: says its mode" "$SEG has mode 0666, not 0640 or less: refused" "$OUT"
chmod 0660 "/dev/shm$SEG"
stats_run -c "$PROXY_CONF"
check_eq "0660 (group-writable): exit status" 1 "$RC"

echo "--- a root segment of mode 0640 (the master's) is read"
chmod 0640 "/dev/shm$SEG"
stats_run -c "$PROXY_CONF"
check_eq "0640: exit status" 0 "$RC"
check_eq "0640: its master_pid" "$PROXY_PID" "$(jq -r .master_pid <<<"$OUT" 2>&1)"
finish
