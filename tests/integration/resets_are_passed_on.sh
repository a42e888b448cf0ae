#!/bin/bash
# Guards resets passed on as resets: a backend that resets mid-stream makes the client see ECONNRESET, not a clean EOF (backend_reset = 1); a client that resets mid-stream makes the backend see a reset (client_reset = 1); afterwards the gauges are 0 and the worker's descriptors are back where they were; with relay "adaptive", and "kernel" too where the build has it; on both engines, io_uring and epoll, in every pass.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
run_per_engine

# Once per relay: the default, and "kernel" where the build has it.
run_per_relay RESETS_RELAY adaptive

REPLY=100000		# bytes the resetting backend sends before its reset
UPLOAD=1000000		# bytes the resetting client sends before its reset
FAULT_LOG=$T/fault.log
HELLO_HEX=tests/vectors/openssl-tls1_3.hex
HELLO_BYTES=$(( $(tr -d ' \n' <"$HELLO_HEX" | wc -c) / 2 ))

fault_start() {	# TAG [ptfault options]: sets FAULT_PORT[TAG]
	local tag=$1 pf=$T/fault-$1.port
	shift
	spawn "$PTFAULT" --tag "$tag" --log "$FAULT_LOG" --port-file "$pf" "$@"
	WAIT_S=10 wait_until test -s "$pf" || die "ptfault $tag did not start"
	FAULT_PORT[$tag]=$(cat "$pf")
}
declare -A FAULT_PORT=()
fault_line() { grep "^$1 $2 " "$FAULT_LOG" | tail -n 1; }
fault_has() { [ -n "$(fault_line "$1" "$2")" ]; }

fault_start rst --reset-after "$REPLY" --delay-ms 300
fault_start drain
sink_start warm --echo
# Pipes of the largest size (pipe_bytes = 1 MiB) never grow, and a pipe
# put back empty and not grown is pooled: so the warm-up below leaves its
# pipes in the pool, whatever the timing (a grown pipe is closed, and a
# warm-up that left none would make the first pipe after it look like one
# too many, on either engine).
proxy_start "tuning = { relay = \"$RESETS_RELAY\"; pipe_bytes = 1048576; };
routes = (
  { sni = \"reset.example.com\"; backends = [ \"127.0.0.1:${FAULT_PORT[rst]}\" ]; },
  { sni = \"warm.example.com\";  backends = [ \"127.0.0.1:${SINK_PORT[warm]}\" ]; },
  { sni = \"*\";                 backends = [ \"127.0.0.1:${FAULT_PORT[drain]}\" ]; }
);"
W=$(proxy_children | tr -d ' ')

fds() {	# the worker's descriptors: "total sockets pipes"
	local l
	l=$(ls -l "/proc/$W/fd" 2>/dev/null)
	echo "$(grep -c ' -> ' <<<"$l") $(grep -c 'socket:' <<<"$l") $(grep -c 'pipe:' <<<"$l")"
}
# A first relayed connection (1 MB each way) puts its pipes into the
# worker's pool (pipes are kept for reuse), so the counts before and after
# compare like with like.
"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello warm.example.com --then-bytes 1000000 \
    --shutdown --read --timeout-ms 10000 >/dev/null 2>"$T/warm.err" || fail "warm-up transfer: $(tail -n 1 "$T/warm.err")"
WAIT_S=5 wait_until stats_closed 1 || fail "the warm-up connection did not end"
read -r fd0 sock0 pipe0 <<<"$(fds)"
echo "     worker $W descriptors before: $fd0 ($sock0 sockets, $pipe0 pipe ends)"

echo "--- (a) the backend resets after sending $REPLY bytes"
"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello reset.example.com --read --timeout-ms 10000 \
    >/dev/null 2>"$T/a.err"
res=$(grep '^result=' "$T/a.err")
echo "     client: $res"
check_match "the client sees a reset, not a clean EOF" "^result=reset " "$res"
# The backend waits 300 ms between its last byte and the reset: every byte
# reaches the client first, so the reset comes mid-stream, not before it.
check_eq "bytes the client got before it" "$REPLY" "$(field received "$res")"
WAIT_S=5 wait_until fault_has rst end || fail "ptfault rst logged no end"
echo "     backend: $(fault_line rst end)"
check_match "the backend reset it itself" "how=aborted" "$(fault_line rst end)"
WAIT_S=5 wait_until stats_closed 2 || fail "the proxy did not count the close"
check_eq "passthrough-stats: closes.backend_reset" 1 "$(stats_get totals.closes.backend_reset)"
check_gauges_zero
read -r fd1 sock1 pipe1 <<<"$(fds)"
echo "     worker descriptors after (a): $fd1 ($sock1 sockets, $pipe1 pipe ends)"

echo "--- (b) the client resets after sending $UPLOAD bytes"
flood_start b --connect "127.0.0.1:$PROXY_PORT" --hex-file "$HELLO_HEX" \
    --upload "$UPLOAD" --abort-after-ms 300 --wait-ms 10000
flood_wait b 15
echo "     client: $FLOOD_RESULT"
check_eq "the client sent everything, then reset" "sent=$((UPLOAD + HELLO_BYTES)) aborted=1" \
    "sent=$(field sent "$FLOOD_RESULT") aborted=$(field aborted "$FLOOD_RESULT")"
WAIT_S=5 wait_until fault_has drain end || fail "ptfault drain logged no end"
echo "     backend: $(fault_line drain end)"
check_match "the backend sees a reset, not a clean EOF" "how=reset .*err=ECONNRESET" "$(fault_line drain end)"
check_eq "bytes the backend got (hello + upload)" $((UPLOAD + HELLO_BYTES)) "$(field in "$(fault_line drain end)")"
WAIT_S=5 wait_until stats_closed 3 || fail "the proxy did not count the close"
check_closes_exact "normal=1 backend_reset=1 client_reset=1"
check_gauges_zero
for i in $(jq -r '.backends | keys[]' <<<"$STATS_JSON"); do
	check_eq "passthrough-stats: backend $(stats_get "backends[$i].backend") active" 0 "$(stats_get "backends[$i].active")"
done
read -r fd2 sock2 pipe2 <<<"$(fds)"
echo "     worker descriptors after (b): $fd2 ($sock2 sockets, $pipe2 pipe ends)"
check_eq "worker sockets after both (as before)" "$sock0" "$sock2"
# A pipe a reset caught with bytes in it is closed, not pooled: never more than before.
check_range "worker pipe ends after both (pooled; at most as before)" 0 "$pipe0" "$pipe2"
check_range "worker descriptors after both (at most as before)" 0 "$fd0" "$fd2"
check_relay_used "$RESETS_RELAY"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
