#!/bin/bash
# Guards the instance lock's directory: in a private /run, a missing /run/passthrough is made 0755 root; one that others may write, one another user owns, or a symbolic link is refused at start with a message saying why (exit 1), and a lock file that is a symbolic link is neither followed nor accepted.
if [ -z "${PT_MNTNS:-}" ]; then
	unshare -m true 2>/dev/null || { echo "SKIP: no mount namespace (unshare -m)"; exit 77; }
	PT_MNTNS=1 exec unshare -m "$BASH" "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
mount -t tmpfs -o mode=0755 tmpfs /run || die "cannot mount a private /run"
NOBODY=65534
D=/run/passthrough

sink_start a
BODY="routes = ( { sni = \"a.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[a]}\" ]; } );"

# refused WHAT PATTERN: a foreground start of $PROXY_CONF exits 1 saying PATTERN.
refused() {
	local out rc
	out=$(timeout 10 "$PT" -f -c "$PROXY_CONF" 2>&1 </dev/null)
	rc=$?
	check_eq "$1: exit status" 1 "$rc"
	check_match "$1: says why" "$2" "$out"
}

echo "--- missing: made 0755 root"
proxy_start "$BODY"
check_eq "the directory" "0 755 directory" "$(stat -c '%u %a %F' "$D" 2>&1)"
SEG_LOCK=$(ls "$D")
proxy_stop
check_eq "no lock file left" "" "$(ls "$D")"

echo "--- writable by others"
chmod 1777 "$D"
refused "1777" "instance lock $D is writable by its group or by others"
chmod 0775 "$D"
refused "0775" "instance lock $D is writable by its group or by others"
chmod 0755 "$D"

echo "--- another user's"
chown "$NOBODY" "$D"
refused "owned by nobody" "instance lock $D belongs to another user"
chown 0 "$D"

echo "--- a symbolic link"
mv "$D" /run/elsewhere
ln -s /run/elsewhere "$D"
refused "a symlinked directory" "instance lock $D is a symbolic link"
rm "$D"
mv /run/elsewhere "$D"

echo "--- a lock file that is a symbolic link"
echo secret >"$T/target"
chmod 0600 "$T/target"
ln -s "$T/target" "$D/$SEG_LOCK"
refused "a symlinked lock file" "instance lock $D/$SEG_LOCK is a symbolic link"
check_eq "its target is untouched" "0 600 secret" "$(stat -c '%u %a' "$T/target") $(cat "$T/target")"
rm "$D/$SEG_LOCK"

echo "--- put right, it starts"
proxy_start "$BODY"
check_eq "the lock file" "0 600" "$(stat -c '%u %a' "$D/$SEG_LOCK" 2>&1)"
proxy_stop
check_log_faults "lock directory"
finish
