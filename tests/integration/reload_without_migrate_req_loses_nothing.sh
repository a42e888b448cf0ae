#!/bin/bash
# Guards "0 lost on reload" without net.ipv4.tcp_migrate_req: in a fresh network namespace (the sysctl at its default 0), under a continuous stream of connections plus clients whose hello comes 300 ms after their handshake (so some are always queued on every listening socket) and silent ones whose hello comes 2 s after the reload, reloads that lower workers 2 -> 1 and that move listen from 127.0.0.1:P to 0.0.0.0:P answer every connection (no reset, refusal or timeout), and the sysctl is still 0.
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

MIGRATE=/proc/sys/net/ipv4/tcp_migrate_req
[ -r "$MIGRATE" ] || { echo "SKIP: this kernel has no net.ipv4.tcp_migrate_req (before 5.14)"; exit 77; }
if [ "${PT_NETNS:-}" != 1 ]; then
	echo "SKIP: no private network namespace (unshare -n): the host's tcp_migrate_req would decide the outcome"
	exit 77
fi
ip link set lo up || die "cannot bring up lo in the private network namespace"
check_eq "tcp_migrate_req in the fresh namespace, before" 0 "$(cat "$MIGRATE")"

# Each retiring socket reset (or handed over) what was queued on it: how
# many the workers took while draining, said in the log.
drained() {
	grep -oE 'retiring: closed listener .* after accepting the [0-9]+ ' "$PROXY_LOG" |
	    awk '{ s += $(NF) } END { print s + 0 }'
}
has_children() { [ "$(proxy_child_count)" -eq "$1" ]; }
# settle WHAT N: the old workers are gone (N children left), then 300 more connections end.
settle() {
	local n
	WAIT_S=15 wait_until has_children "$2" || fail "$1: $(proxy_child_count) workers, not $2, after 15 s"
	n=$(( $(loop_count stream) + 300 ))
	WAIT_S=20 wait_until loop_has stream "$n" || fail "$1: the stream stalled"
	n=$(( $(slow_count) + 12 ))
	WAIT_S=20 wait_until slow_has "$n" || fail "$1: the slow clients stalled"
}

# slow_clients N: N loops of clients that connect, then wait SLOW_MS before
# their hello (a far client's round trip): meanwhile each is a handshake
# queued on the listening socket the kernel picked (TCP_DEFER_ACCEPT holds
# it there until the hello). One line per connection in $T/slow.out: the
# bytes of the answer, 0 when reset.
SLOW_MS=300
HELLO=$T/hello.bin
xxd -r -p tests/vectors/openssl-tls1_2.hex >"$HELLO" || die "cannot write the hello"
slow_client() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$P" || { echo refused; return; }
	sleep "0.$SLOW_MS"
	cat "$HELLO" 1>&"$fd" 2>/dev/null
	timeout 8 cat <&"$fd" 2>/dev/null | wc -c
	exec {fd}>&-
}
slow_loop() {
	while [ ! -e "$T/stop-slow" ]; do
		slow_client
	done >>"$T/slow.out" 2>/dev/null
}
slow_count() { if [ -e "$T/slow.out" ]; then wc -l <"$T/slow.out"; else echo 0; fi; }
slow_has() { [ "$(slow_count)" -ge "$1" ]; }

sink_start X --send-then-shutdown 1111
body="timeouts = { drain_ms = 5000; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[X]}\" ]; } );"
proxy_start -w 2 "$body"
P=$PROXY_PORT
# Several connections always between their SYN and their hello: some are
# queued on every socket at any moment. A SYN the kernel drops is retried
# after 1 s, then 3 s: the timeout leaves room for both.
loop_start stream --connect "127.0.0.1:$P" --hello stream.example.com --concurrency 8 \
    --interval-ms 1 --expect-bytes 1111 --timeout-ms 8000
SLOW_PIDS=()
for _ in 1 2 3 4 5 6; do spawn slow_loop; SLOW_PIDS+=("$BG_PID"); done
WAIT_S=10 wait_until loop_has stream 300 || die "the connection loop gets no answers"
WAIT_S=10 wait_until slow_has 12 || die "the slow clients get no answers"
check_eq "sockets listening on 127.0.0.1:$P at the start" 2 \
    "$(ss -Htln "( sport = :$P )" | wc -l)"

# Silent clients: connected before reload 1, their hello only 2 s after it.
# TCP_DEFER_ACCEPT keeps each a handshake on its socket for 1 s, then the
# resent SYN-ACK's answer queues it: a retiring socket must be open till then.
SILENT=16
silent_fds=()
for ((i = 0; i < SILENT; i++)); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$P" || die "cannot connect a silent client"
	silent_fds+=("$fd")
done

echo "--- reload 1: workers 2 -> 1"
proxy_conf_write "$PROXY_CONF" 1 "\"127.0.0.1:$P\"" "$body"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "reload 1: generation 2 not published"
sleep 2
for fd in "${silent_fds[@]}"; do cat "$HELLO" 1>&"$fd" 2>/dev/null; done
silent_ok=0
for fd in "${silent_fds[@]}"; do	# closed once answered: the old worker may then leave
	[ "$(timeout 8 cat <&"$fd" 2>/dev/null | wc -c)" = 1111 ] && silent_ok=$((silent_ok + 1))
	exec {fd}>&-
done
check_eq "reload 1: silent clients answered in full" "$SILENT" "$silent_ok"
settle "reload 1" 1
echo "     connections so far: $(loop_count stream); taken from retiring sockets' queues: $(drained)"

# syn_retries FROM TO: stream connections (lines FROM..TO of its log) whose
# connect took 1 s or more: the kernel (no process involved) answers a SYN
# at once on loopback, so those are SYNs dropped by a retiring socket and retried.
syn_retries() {
	sed -n "$1,$2p" "$T/loop-stream.out" | awk '$6 != "-" && $6 >= 1000000 { n++ } END { print n + 0 }'
}
# Steered, no new connection meets the retiring socket.
reload1_lines=$(loop_count stream)
check_eq "reload 1: stream connections whose SYN was retried" 0 "$(syn_retries 1 "$reload1_lines")"

echo "--- reload 2: listen 127.0.0.1:$P -> 0.0.0.0:$P"
proxy_conf_write "$PROXY_CONF" 1 "\"0.0.0.0:$P\"" "$body"
kill -HUP "$PROXY_PID"
proxy_wait_generation 3 || fail "reload 2: generation 3 not published"
settle "reload 2" 1
check_eq "reload 2: listening on $P" "0.0.0.0:$P" \
    "$(ss -Htln "( sport = :$P )" | awk '{ print $4 }' | tr '\n' ' ' | sed 's/ $//')"
echo "     connections so far: $(loop_count stream); taken from retiring sockets' queues: $(drained)"
# The address no longer served takes no new SYN: those it meets are retried, once.
echo "     reload 2: stream connections whose SYN was retried: $(syn_retries "$reload1_lines" '$')"

loop_stop stream
touch "$T/stop-slow"
for pid in "${SLOW_PIDS[@]}"; do pid_wait_exit "$pid" 15 || fail "a slow client loop did not end"; done
check_loop_clean "connections during both reloads" 900
slow=$(slow_count)
echo "     slow clients: $slow, answers by size: $(sort "$T/slow.out" | uniq -c | tr -s ' \n' ' ')"
check_range "slow clients during both reloads" 36 100000 "$slow"
check_eq "slow clients not answered in full (reset, refused, cut)" 0 "$(grep -cvx 1111 "$T/slow.out")"
check_eq "tcp_migrate_req in the namespace, after" 0 "$(cat "$MIGRATE")"
check_no_match "no steering or refusing failed" "cannot steer|cannot make the retiring" \
    "$(cat "$PROXY_LOG")"
total=$(field total "$LOOP_SUMMARY")
# Every client has its answer; the proxy may not have seen the last closes
# yet (a loaded machine): they are counted as normal, not cut by the stop.
WAIT_S=20 proxy_wait_closes $((total + slow + SILENT)) ||
    fail "the proxy closed $(proxy_closes) of $((total + slow + SILENT)) connections"

PROXY_WORKERS=4	# exit lines: 2 first workers, 1 of reload 1, 1 of reload 2
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters "normal=$((total + slow + SILENT))"
finish
