#!/bin/bash
# Guards the pid file's temporary name (PIDFILE.PID.tmp): a symlink planted there before the start is not followed (its target, a root-owned file, keeps its bytes; a dangling one's target is not created), the pid file is still written, a plain file, and no temporary name is left.
. "$(dirname "$0")/lib.sh"

sink_start A
P=$(free_port)
PIDF=$T/run/pt.pid
mkdir -p "$T/run"
printf 'precious\n' >"$T/victim"
chmod 600 "$T/victim"
proxy_conf_write "$T/pt.conf" 1 "\"127.0.0.1:$P\"" "pid_file = \"$PIDF\";
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[A]}\" ]; } );"

# start_planted TARGET: the master's pid is the shell's that execs it, so the
# link goes in at exactly the name it will use.
start_planted() {
	: >"$PROXY_LOG"
	# shellcheck disable=SC2016  # expanded by the inner shell
	spawn bash -c 'ln -s "$1" "$2.$$.tmp" && exec "$3" -f -c "$4"' planter \
	    "$1" "$PIDF" "$PT" "$T/pt.conf" 2>>"$PROXY_LOG"
	PROXY_PID=$BG_PID
	# shellcheck disable=SC2034  # proxy_ready and proxy_stop read them
	PROXY_WORKERS=1 PROXY_PORT=$P
	WAIT_S=10 wait_until proxy_ready
	pid_alive "$PROXY_PID" || { cat "$PROXY_LOG"; die "the proxy did not start"; }
}

echo "--- a link to a root-owned file at the temporary name"
start_planted "$T/victim"
check_eq "the link's target keeps its bytes" precious "$(cat "$T/victim")"
check_eq "the pid file names the master" "$PROXY_PID" "$(cat "$PIDF" 2>&1)"
check_eq "the pid file is a plain file" "regular file" "$(stat -c %F "$PIDF" 2>&1)"
check_eq "temporary names left" "" "$(find "$T/run" -mindepth 1 ! -name pt.pid)"
proxy_stop
check_eq "exit status" 0 "$PROXY_RC"

echo "--- a dangling link at the temporary name"
rm -f "$PIDF"
start_planted "$T/created-through-the-link"
check_eq "nothing created through the link" no "$(test -e "$T/created-through-the-link" && echo yes || echo no)"
check_eq "the pid file names the master" "$PROXY_PID" "$(cat "$PIDF" 2>&1)"
check_eq "the pid file is a plain file" "regular file" "$(stat -c %F "$PIDF" 2>&1)"
proxy_stop
check_eq "exit status" 0 "$PROXY_RC"
finish
