#!/bin/bash
# Guards the kernel relay's fallback: with relay = "kernel", a master that cannot load BPF (started without CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_PERFMON) says why in exactly one log line, relays with "adaptive" (it copies, byte-exact both ways), and its workers hold no BPF map; where it can load it, each worker holds maps of its own.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || die "setpriv is missing: run tools/deps.sh test (util-linux)"

MIB=1048576
sink_start echo --echo
# The backend sends 1 MiB and shuts down; the client reads to EOF, then sends 1 MiB.
# It answers 200 ms after the hello: the relay is in the kernel by then (an
# answer and its FIN that came before would be copied: a socket past
# ESTABLISHED cannot join the map).
sink_start first --send-then-shutdown "$MIB" --send-after-ms 200
pattern=$("$PTCLIENT" --pattern "$MIB" | sha256sum | cut -d' ' -f1)
CONF="tuning = { relay = \"kernel\"; };
routes = (
  { sni = \"echo.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[echo]}\" ]; },
  { sni = \"first.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[first]}\" ]; }
);"

# bpf_maps PID: the BPF maps PID holds (anon_inode:bpf-map descriptors).
bpf_maps() {
	local fd n=0
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = anon_inode:bpf-map ] && n=$((n + 1))
	done
	echo "$n"
}
stats_copied() { "$BUILD/passthrough-stats" -c "$PROXY_CONF" --json | jq .totals.bytes_copied; }
# echo_through: 1 MiB sent after the hello comes back byte-exact.
echo_through() {
	local got
	got=$("$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello echo.example.com \
	    --then-bytes "$MIB" --shutdown --read --timeout-ms 10000 2>"$T/c.err" |
	    tail -c "$MIB" | sha256sum | cut -d' ' -f1)
	check_match "$1: the echo came back to EOF" "^result=eof " "$(cat "$T/c.err")"
	check_eq "$1: the 1 MiB came back intact" "$pattern" "$got"
}

echo "--- without the capabilities BPF needs"
PROXY_WRAP=(setpriv --bounding-set=-bpf,-sys_admin,-net_admin,-perfmon)
proxy_start -w 2 "$CONF"
PROXY_WRAP=()
echo_through "fallback"
lines=$(grep -c 'relay "kernel"' "$PROXY_LOG")
check_eq "one log line says the kernel relay is not used" 1 "$lines"
check_match "... and why, and what relays instead" \
    'relay "kernel": .*(not permitted|no kernel relay).*relaying with "adaptive"' \
    "$(cat "$PROXY_LOG")"
for pid in $PROXY_WORKER_PIDS; do
	check_eq "worker $pid holds no BPF map" 0 "$(bpf_maps "$pid")"
done
check_range "it relayed with adaptive: bytes copied past the hello" 16384 $((2 * MIB + 8192)) \
    "$(stats_copied)"
proxy_stop

if pt_has_kernel_relay; then
	echo "--- as root, with every capability"
	proxy_start -w 2 "$CONF"
	check_eq "no log line about the kernel relay" 0 "$(grep -c 'relay "kernel"' "$PROXY_LOG")"
	ids=
	for pid in $PROXY_WORKER_PIDS; do
		check_eq "worker $pid holds its two BPF maps" 2 "$(bpf_maps "$pid")"
		ids="$ids $(for fd in /proc/"$pid"/fd/*; do
			[ "$(readlink "$fd")" = anon_inode:bpf-map ] &&
			    awk '/^map_id:/ { print $2 }' "/proc/$pid/fdinfo/${fd##*/}"
		done)"
	done
	check_eq "no two workers share a map (4 distinct ids)" 4 \
	    "$(tr ' ' '\n' <<<"$ids" | grep . | sort -u | wc -l)"
	check_eq "the master keeps no map" 0 "$(bpf_maps "$PROXY_PID")"
	# Both ways through the kernel: each side sends only once the other is done.
	got=$("$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello first.example.com \
	    --read --after-eof-bytes "$MIB" --timeout-ms 10000 2>"$T/c.err" |
	    sha256sum | cut -d' ' -f1)
	check_match "kernel: the client read the backend's 1 MiB to EOF" "^result=eof received=$MIB " \
	    "$(cat "$T/c.err")"
	check_eq "kernel: ... intact" "$pattern" "$got"
	sink_wait first close 1
	check_eq "kernel: the backend then got the client's 1 MiB" "$MIB" "$(sink_field first close post)"
	check_eq "kernel: ... intact" "ok" "$(sink_field first close post_pattern)"
	check_range "it relayed in the kernel: only the hello was copied" 1 8191 "$(stats_copied)"
	# A client that sends all and shuts down before the relay begins cannot
	# join the map (its socket is past ESTABLISHED): it is copied, intact.
	echo_through "kernel, client shut down early"
	check_relay_used kernel
	proxy_stop
else
	echo "     (this build has no kernel relay: the second half is skipped)"
fi
finish
