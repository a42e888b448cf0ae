#!/bin/bash
# Guards tuning.events "io_uring" where io_uring is denied (a seccomp filter, tests/tools/ptnouring): the master exits with status 1 at start, before forking a worker, with ONE error line naming the cause and the fixes, instead of restarting workers forever; passthrough -t under the same filter still exits 0 and warns what a start would do ("io_uring": refuse; "auto": epoll, with EPERM or ENOSYS), and says nothing for "epoll" or without the filter; events "epoll" with relay "splice_ring" is refused as FILE:LINE: tuning.relay.
. "$(dirname "$0")/lib.sh"
PTNOURING=$ROOT/tests/tools/ptnouring
/usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
	die "python3-seccomp is missing: tools/deps.sh test installs it"

# conf EVENTS [RELAY]: $T/EVENTS.conf, 2 workers. Its own file, events
# written out: this test is about these values, whatever a suite-wide
# PT_EVENTS asks for.
conf() {
	printf '%s\n' "workers = 2;" "listen = [ \"127.0.0.1:$(free_port)\" ];" \
	    "tuning = {" "  events = \"$1\";" "  relay = \"${2:-adaptive}\";" "};" \
	    'routes = ( { sni = "*"; backends = [ "127.0.0.1:9" ]; } );' >"$T/$1.conf"
}
for e in auto io_uring epoll; do conf "$e"; done

echo "--- a start with \"io_uring\" under the filter: one error, exit 1, no worker"
spawn "$PTNOURING" "$PT" -f -c "$T/io_uring.conf" 2>"$T/start.err"
pid=$BG_PID
# A generous bound: the probe is one fork; a restart loop would run until killed.
exit_wait "$pid" 10
check_eq "the master's exit status" 1 "$EXIT_RC"
ERR='master: error: tuning.events "io_uring": the workers cannot use io_uring (io_uring_setup: Operation not permitted; a seccomp filter is in force (Seccomp: 2 in /proc/self/status)); not starting; to run: allow io_uring_setup, io_uring_enter and io_uring_register in the seccomp profile, or set the sysctl kernel.io_uring_disabled=0 (or 1 with kernel.io_uring_group='
check_eq "the error naming the cause and the fixes, once" 1 "$(grep -cF -- "$ERR" "$T/start.err")"
check_match "... and the way out through tuning.events" \
    'or set tuning.events = "auto" or "epoll"$' "$(grep -F -- "$ERR" "$T/start.err")"
check_eq "the only line it logs" 1 "$(wc -l <"$T/start.err")"
check_no_match "no worker was started" 'worker [0-9]|started:' "$(cat "$T/start.err")"

echo "--- passthrough -t under the filter: exit 0, says what a start would do"
# tcheck NAME WANT_RC WANT_STDERR CMD...: CMD's exit status and stderr.
tcheck() {
	local name=$1 want_rc=$2 want=$3 rc
	shift 3
	"$@" >"$T/t.out" 2>"$T/t.err"
	rc=$?
	check_eq "$name: exit status" "$want_rc" "$rc"
	check_eq "$name: stderr" "$want" "$(cat "$T/t.err")"
}
WOULD='passthrough: warning: tuning.events "%s": the workers could not use io_uring (io_uring_setup: %s; a seccomp filter is in force (Seccomp: 2 in /proc/self/status)); %s'
# shellcheck disable=SC2059  # the format is ours
tcheck "-t io_uring, filtered" 0 \
    "$(printf "$WOULD" io_uring 'Operation not permitted' 'passthrough would refuse to start; to run it: allow io_uring_setup, io_uring_enter and io_uring_register in the seccomp profile, or set the sysctl kernel.io_uring_disabled=0 (or 1 with kernel.io_uring_group=')$(id -g nobody)), or set tuning.events = \"auto\" or \"epoll\"" \
    "$PTNOURING" "$PT" -t -c "$T/io_uring.conf"
check_eq "-t io_uring, filtered: stdout" "configuration OK" "$(cat "$T/t.out")"
# shellcheck disable=SC2059
tcheck "-t auto, filtered" 0 "$(printf "$WOULD" auto 'Operation not permitted' 'they would run on epoll')" \
    "$PTNOURING" "$PT" -t -c "$T/auto.conf"
# shellcheck disable=SC2059
tcheck "-t auto, filtered with ENOSYS" 0 \
    "$(printf "$WOULD" auto 'Function not implemented' 'they would run on epoll')" \
    "$PTNOURING" --errno ENOSYS "$PT" -t -c "$T/auto.conf"
conf auto splice_ring
# shellcheck disable=SC2059
tcheck "-t auto with splice_ring, filtered" 0 \
    "$(printf "$WOULD" auto 'Operation not permitted' 'they would run on epoll')
passthrough: warning: relay \"splice_ring\" needs io_uring: the workers would relay with \"splice\"" \
    "$PTNOURING" "$PT" -t -c "$T/auto.conf"
tcheck "-t epoll, filtered: no probe, no warning" 0 "" "$PTNOURING" "$PT" -t -c "$T/epoll.conf"
tcheck "-t io_uring, not filtered" 0 "" "$PT" -t -c "$T/io_uring.conf"
tcheck "-t auto, not filtered" 0 "" "$PT" -t -c "$T/auto.conf"

echo "--- events \"epoll\" with relay \"splice_ring\": a configuration error"
conf epoll splice_ring
tcheck "-t epoll with splice_ring" 1 \
    "$T/epoll.conf:5: tuning.relay: \"splice_ring\" needs io_uring (IORING_OP_SPLICE), and tuning.events is \"epoll\": relay with \"splice\" or \"adaptive\"" \
    "$PT" -t -c "$T/epoll.conf"
finish
