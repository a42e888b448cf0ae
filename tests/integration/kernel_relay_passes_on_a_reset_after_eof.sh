#!/bin/bash
# Guards a reset that comes after an EOF with relay "kernel": a backend that sends 100,000 bytes, shuts its writes down (its FIN is passed on) and then resets while the client still holds its side open makes the proxy end the connection as backend_reset (passed on to the client as a reset), not leave it relaying: nothing polls a source after its EOF, so the worker's timer looks (within RELAY_KERNEL_COUNT_MS).
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"

pt_has_kernel_relay || { echo "SKIP: this build has no kernel relay (clang, libbpf-dev)"; exit 77; }

REPLY=100000
FAULT_LOG=$T/fault.log
pf=$T/fault.port
spawn "$PTFAULT" --tag rst --log "$FAULT_LOG" --port-file "$pf" \
    --reset-after "$REPLY" --shutdown-first --delay-ms 500 --reply-after-ms 200
# (It answers 200 ms after the hello, once the relay is in the kernel: an
# answer and FIN that came before would leave the backend's socket past
# ESTABLISHED, unable to join the map, and the connection copied.)
WAIT_S=10 wait_until test -s "$pf" || die "ptfault did not start"
proxy_start "tuning = { relay = \"kernel\"; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:$(cat "$pf")\" ]; } );"

echo "--- a client sends its hello and holds its side open; the backend answers, shuts down, resets"
spawn "$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hex-file tests/vectors/openssl-tls1_3.hex \
    --count 1 --hold
CLIENT_PID=$BG_PID
WAIT_S=10 wait_until grep -q '^rst end how=aborted' "$FAULT_LOG" ||
    fail "the backend did not reset: $(cat "$FAULT_LOG")"
t0=$(now_ms)
WAIT_S=5 stats_wait_closed 1 || fail "the proxy did not end the connection after the backend's reset"
echo "     the proxy ended it $(( $(now_ms) - t0 )) ms after the reset"
stats_snap
check_closes_exact "backend_reset=1"
check_gauges_zero
check_relay_used kernel
kill -TERM "$CLIENT_PID" 2>/dev/null
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "bytes relayed backend -> client" "$REPLY" "$(proxy_counter bytes_out)"
finish
