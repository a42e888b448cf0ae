#!/bin/bash
# Guards backpressure: against a backend that stops reading after the hello, a 256 MiB upload stalls within seconds; what the client got sent is exactly the kernels' socket buffers plus at most one pipe (64 KiB, grown to PIPE_GROW_BYTES once the upload streams) in the proxy (relay "splice"), or with relay "kernel" at most the verdict's limit (RELAY_KERNEL_BACKLOG_BYTES) plus what the client's socket may hold (its receive buffer); the proxy's memory does not grow; when the backend then closes, the client sees its connection end (backend_reset, gauges back to 0).
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"

# Once per relay: "splice", and "kernel" where the build has it.
run_per_relay STALL_RELAY splice

UPLOAD=$((256 * 1024 * 1024))
PIPE_BYTES=65536
# A streaming direction's pipe may grow to this (common/tunables.h PIPE_GROW_BYTES).
PIPE_GROW_BYTES=$((1024 * 1024))
# The upload has stalled once the client sent nothing more for this long.
STALL_MS=2000
RSS_GROWTH_MAX_KB=$((4 * 1024))
# relay "kernel": the bytes its verdict may have redirected that the
# backend's socket did not take (common/tunables.h's RELAY_KERNEL_BACKLOG_BYTES),
# plus one skb past it (a coalesced one: up to 17 pages of 4 KiB + its head).
KERNEL_BACKLOG=$((4 * 1024 * 1024))
SKB_MAX=$((72 * 1024))
# The client uploads this long after its hello, as a TLS client waits for
# the server's reply: with relay "kernel" the connection is in the kernel
# by then (a client that keeps its queue busy is copied: relay_kernel.c).
UPLOAD_AFTER_MS=0
[ "$STALL_RELAY" = kernel ] && UPLOAD_AFTER_MS=300

# ptsink --hold: reads until the hello is in, then never again; it closes
# its connections only when it exits.
sink_start hold --hold
HOLD_PID=$BG_PID
proxy_start "tuning = { relay = \"$STALL_RELAY\"; pipe_bytes = $PIPE_BYTES; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[hold]}\" ]; } );"
read -ra pids <<<"$(proxy_pids)"
rss0=$(rss_kb "${pids[@]}")

echo "--- a client uploads $UPLOAD bytes after its hello"
flood_start up --connect "127.0.0.1:$PROXY_PORT" --hex-file tests/vectors/openssl-tls1_3.hex \
    --upload "$UPLOAD" --upload-after-ms "$UPLOAD_AFTER_MS" --progress-ms 100 --wait-ms 120000
sent_now() { field sent "$(flood_line up progress)"; }
# Stalled: the client's count has not moved for STALL_MS (and it did start).
stalled() {
	local s
	s=$(sent_now)
	[ -n "$s" ] && [ "$s" -gt 0 ] || return 1
	if [ "$s" != "${last_sent:-}" ]; then
		last_sent=$s
		last_change=$(now_ms)
		return 1
	fi
	[ $(( $(now_ms) - last_change )) -ge "$STALL_MS" ]
}
t0=$(now_ms)
WAIT_S=30 wait_until stalled || fail "the upload did not stall within 30 s (sent $(sent_now))"
sent=$(sent_now)
stall_ms=$(( last_change - t0 ))
echo "     the client's progress stopped after ~$stall_ms ms at $sent bytes ($((sent / 1024)) KiB)"
# relay "kernel": the bytes its verdict keeps are charged to the proxy's
# client socket, whose receive buffer the kernel may grow to tcp_rmem[2]
# (32 MiB on the test machine: 44 MiB were sent once); the exact bound is
# checked below from the sockets.
far=$((UPLOAD / 4))
[ "$STALL_RELAY" = kernel ] && far=$((UPLOAD / 2))
check_range "bytes the client managed to send: far from all" 1 "$far" "$sent"

# sock PORT-FILTER: "recvq sendq bytes_acked bytes_received" of the one socket matching.
sock() {
	ss -tniH state established "$1" | awk '
	    NR % 2 == 1 { rq = $1; sq = $2; next }
	    { a = 0; r = 0
	      for (i = 1; i <= NF; i++) {
	        if ($i ~ /^bytes_acked:/) { split($i, x, ":"); a = x[2] }
	        if ($i ~ /^bytes_received:/) { split($i, x, ":"); r = x[2] }
	      }
	      print rq, sq, a, r; n++ }
	    END { if (n != 1) print "found", n + 0, "sockets" }'
}
P=$PROXY_PORT
S=${SINK_PORT[hold]}
read -r _ c_sq _ _ <<<"$(sock "( dport = :$P )")"
read -r pc_rq _ _ pc_recv <<<"$(sock "( sport = :$P )")"
read -r _ pb_sq pb_acked _ <<<"$(sock "( dport = :$S )")"
read -r b_rq _ _ b_recv <<<"$(sock "( sport = :$S )")"
for v in c_sq pc_rq pc_recv pb_sq pb_acked b_rq b_recv; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "reading the sockets with ss failed ($v='${!v}'): $(ss -tniH state established)"
done
from_client=$((pc_recv - pc_rq))	# what the proxy read from the client
# What the proxy wrote to the backend. The connecting side's bytes_acked
# also counts its SYN (snd_una moves past the ISN): one byte less.
to_backend=$((pb_acked - 1 + pb_sq))
pipe=$((from_client - to_backend))
echo "     where the $sent bytes are (from ss):"
echo "       client's send queue ............... $c_sq"
echo "       proxy's receive queue (client) .... $pc_rq"
echo "       proxy's pipe (\"kernel\": queues) .. $pipe"
echo "       proxy's send queue (backend) ...... $pb_sq"
echo "       backend's receive queue ........... $b_rq"
echo "       read by the backend (the hello) ... $((b_recv - b_rq))"
echo "     => the backend side accepted $b_recv bytes, the client managed to send $sent"
check_eq "the client's sent bytes: its send queue + what the proxy's socket received" "$sent" $((c_sq + pc_recv))
check_eq "... the backend's socket received all the proxy's socket had acked" $((pb_acked - 1)) "$b_recv"
if [ "$STALL_RELAY" = kernel ]; then
	# What the verdict kept in the client's socket is charged to it: at
	# most its receive buffer (ss -m: rb).
	rb=$(ss -tmH state established "( sport = :$P )" | grep -o 'rb[0-9]*' | head -n 1)
	rb=${rb#rb}
	[[ $rb =~ ^[0-9]+$ ]] || die "reading the client socket's receive buffer with ss failed"
	echo "     the proxy's client socket: receive buffer $rb"
	check_range "bytes held in the kernel for the proxy: at most the verdict's limit + one skb + that buffer" \
	    0 $((KERNEL_BACKLOG + SKB_MAX + rb)) "$pipe"
	check_relay_used kernel
else
	check_range "bytes held in the proxy's pipe: at most one (grown) pipe" 0 "$PIPE_GROW_BYTES" "$pipe"
fi
pipes=$(for w in $(proxy_children); do find "/proc/$w/fd" -lname 'pipe:*'; done | wc -l)
pipes=$((pipes / 2))
echo "     pipes the worker has open (in use or pooled): $pipes"
rss1=$(rss_kb "${pids[@]}")
echo "     proxy RSS (master + worker, KiB): $rss0 before, $rss1 stalled"
growth=$((rss1 > rss0 ? rss1 - rss0 : 0))
check_rss "proxy memory growth while stalled (KiB)" 0 "$RSS_GROWTH_MAX_KB" "$growth"

stats_snap
check_eq "passthrough-stats: relaying" 1 "$(stats_get totals.relaying)"

echo "--- the backend closes (ptsink exits with unread bytes: a reset)"
t1=$(now_ms)
stop_pid "$HOLD_PID"
flood_wait up 10
echo "     $FLOOD_RESULT"
check_eq "the client's connection ended" 1 "$(field closed "$FLOOD_RESULT")"
check_eq "... with a reset (passed on, not a FIN)" 1 "$(field reset "$FLOOD_RESULT")"
check_range "... within (ms) of the backend's close" 0 2000 $(( $(now_ms) - t1 ))
WAIT_S=5 wait_until stats_closed 1 || fail "the proxy did not count the close"
check_closes_exact "backend_reset=1"
check_gauges_zero
check_eq "passthrough-stats: bytes to the backend" "$to_backend" "$(stats_get totals.bytes_in)"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
