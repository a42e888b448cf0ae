#!/bin/bash
# Guards the kernel relay's hand-over: with relay "kernel", a backend that stops reading makes the verdict stop redirecting the client's bytes past RELAY_KERNEL_BACKLOG_BYTES (the upload stalls); when the backend reads again, the worker copies the rest of that direction (logged once), and the backend gets all 64 MiB in the test pattern's order, the FINs both ways, a normal close, counts that add up.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"

pt_has_kernel_relay || { echo "SKIP: this build has no kernel relay (clang, libbpf-dev)"; exit 77; }

UPLOAD=$((64 * 1024 * 1024))
HELLO_HEX=tests/vectors/openssl-tls1_3.hex
HELLO_BYTES=$(( $(tr -d ' \n' <"$HELLO_HEX" | wc -c) / 2 ))
# The upload stalled once the client sent nothing more for this long.
STALL_MS=1500

# ptsink --hold reads the hello, then nothing until SIGUSR2; then it reads
# until EOF, checks every byte after the hello against the pattern, closes.
sink_start hold --hold
HOLD_PID=$BG_PID
proxy_start "tuning = { relay = \"kernel\"; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[hold]}\" ]; } );"

echo "--- a client uploads $UPLOAD bytes 300 ms after its hello (the relay is in the kernel), then shuts down"
flood_start up --connect "127.0.0.1:$PROXY_PORT" --hex-file "$HELLO_HEX" \
    --upload "$UPLOAD" --upload-after-ms 300 --shutdown --progress-ms 100 --wait-ms 120000
sent_now() { field sent "$(flood_line up progress)"; }
stalled() {
	local s
	s=$(sent_now)
	[ -n "$s" ] && [ "$s" -gt "$HELLO_BYTES" ] || return 1
	if [ "$s" != "${last_sent:-}" ]; then
		last_sent=$s
		last_change=$(now_ms)
		return 1
	fi
	[ $(( $(now_ms) - last_change )) -ge "$STALL_MS" ]
}
WAIT_S=30 wait_until stalled || fail "the upload did not stall within 30 s (sent $(sent_now))"
echo "     stalled at $(sent_now) bytes"
check_range "bytes the client managed to send while the backend held: far from all" \
    1 $((UPLOAD / 2)) "$(sent_now)"

echo "--- the backend reads again"
kill -USR2 "$HOLD_PID"
flood_wait up 60
echo "     $FLOOD_RESULT"
check_eq "the client sent everything" $((HELLO_BYTES + UPLOAD)) "$(field sent "$FLOOD_RESULT")"
check_eq "... and its connection ended with a FIN" 1 "$(field fin "$FLOOD_RESULT")"
WAIT_S=10 sink_wait hold close 1 || fail "the backend saw no close"
check_eq "the backend got every byte after the hello" "$UPLOAD" "$(sink_field hold close post)"
check_eq "... in the pattern's order" ok "$(sink_field hold close post_pattern)"
proxy_wait_closes 1
stats_snap
check_closes_exact "normal=1"
check_gauges_zero
check_match "the worker took the client's direction over (logged)" \
    "the client's bytes are copied by the worker from now on, after [0-9]+ went through the kernel: its sink fell behind" \
    "$(cat "$PROXY_LOG")"
check_eq "... once" 1 "$(grep -c 'copied by the worker from now on' "$PROXY_LOG")"
check_relay_used kernel
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "bytes relayed client -> backend" $((HELLO_BYTES + UPLOAD)) "$(proxy_counter bytes_in)"
finish
