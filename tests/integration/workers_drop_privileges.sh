#!/bin/bash
# Guards the privilege drop: with user nobody / group nogroup every worker runs as 65534 (real, effective, saved, fs; no other group) with no capability left while the master stays root, routing works, the access log (and the one SIGUSR1 reopens after logrotate moved it) belongs to that user and gets the workers' lines, 50 concurrent 16 MiB echo transfers with 1 MiB pipes past fs.pipe-user-pages-soft arrive byte-exact, and a worker that cannot switch exits instead of serving as root.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

TRANSFERS=50
SIZE=$((16 * 1024 * 1024))
PIPE_BYTES=1048576

# Connections to the hold sink that pin a full pipe each (the sink stops
# reading after the hello): 70 MiB of pipes, past the user's soft limit
# (64 MiB by default) before the echo transfers even start, so theirs are
# the shrunken ones whatever the timing.
HOGS=70
nginx_start a b
sink_start E --echo
sink_start H --hold
HOLD_SINK_PID=$BG_PID
# The master opens the access log and hands it to the workers; the directory stays
# readable so the test can check what the master created for nobody.
chmod 755 "$T"
ACCESS=$T/access.log
PROXY_LOG_EXTRA="access = \"$ACCESS\";" proxy_start -w 2 "user = \"nobody\";
group = \"nogroup\";
tuning = { pipe_bytes = $PIPE_BYTES; };
routes = (
  { sni = \"a.example.com\";    backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; },
  { sni = \"b.example.com\";    backends = [ \"127.0.0.1:${NGINX_PORT[b]}\" ]; },
  { sni = \"echo.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[E]}\" ]; },
  { sni = \"hog.example.com\";  backends = [ \"127.0.0.1:${SINK_PORT[H]}\" ]; }
);"
P=$PROXY_PORT

ids() {	# PID: "Uid:... Gid:... Groups:..." from /proc/PID/status, tabs as spaces
	grep -E '^(Uid|Gid|Groups):' "/proc/$1/status" | tr -s '\t ' ' ' | sed 's/ $//' | tr '\n' ';'
}
want_worker="Uid: 65534 65534 65534 65534;Gid: 65534 65534 65534 65534;Groups: 65534;"
caps() {	# PID: the capability sets from /proc/PID/status
	grep -E '^Cap(Prm|Eff|Inh|Amb):' "/proc/$1/status" | tr -s '\t ' ' ' | tr '\n' ';'
}
want_caps="CapInh: 0000000000000000;CapPrm: 0000000000000000;CapEff: 0000000000000000;CapAmb: 0000000000000000;"
for w in $(proxy_children); do
	check_eq "worker $w ($(cat "/proc/$w/comm")) credentials" "$want_worker" "$(ids "$w")"
	check_eq "worker $w capabilities: none" "$want_caps" "$(caps "$w")"
done
check_match "master credentials: root" "^Uid: 0 0 0 0;Gid: 0 0 0 0;" "$(ids "$PROXY_PID")"

echo "--- routing over TLS"
conns=0
for name in a b a b; do
	check_eq "curl $name.example.com" "backend-$name" "$(curl_get "$name.example.com" "$P" whoami 2>&1)"
	conns=$((conns + 1))
done

echo "--- the access log, moved away as logrotate does, then SIGUSR1"
access_has() { [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; }	# FILE TEXT N
WAIT_S=10 wait_until access_has "$ACCESS" " sni=" "$conns" || fail "no access log lines"
check_eq "access log owner (the workers write it)" nobody "$(stat -c %U "$ACCESS")"
mv "$ACCESS" "$ACCESS.1"
kill -USR1 "$PROXY_PID"
WAIT_S=5 wait_until test -e "$ACCESS" || fail "no new access log after SIGUSR1"
check_eq "the new access log's owner" nobody "$(stat -c %U "$ACCESS" 2>&1)"
sleep 0.3
check_eq "curl a.example.com after the reopen" backend-a "$(curl_get a.example.com "$P" whoami 2>&1)"
conns=$((conns + 1))
WAIT_S=10 wait_until access_has "$ACCESS" " sni=a.example.com " 1 ||
    fail "the workers did not write to the new access log"

echo "--- $TRANSFERS echo transfers of 16 MiB each way at once, $PIPE_BYTES-byte pipes"
soft=$(cat /proc/sys/fs/pipe-user-pages-soft)
soft_pipes=$(( soft * 4096 / PIPE_BYTES ))
echo "     fs.pipe-user-pages-soft = $soft pages: $soft_pipes pipes of $PIPE_BYTES bytes"
pipes_now() {	# pipes the workers hold (two fds each)
	local w n=0
	for w in $(proxy_children); do
		n=$((n + $(ls -l "/proc/$w/fd" 2>/dev/null | grep -c 'pipe:')))
	done
	echo $((n / 2))
}
loop_start hog --connect "127.0.0.1:$P" --hello hog.example.com --concurrency "$HOGS" \
    --total "$HOGS" --send-bytes "$SIZE" --timeout-ms 120000
hogs_pinned() { [ "$(pipes_now)" -ge "$HOGS" ]; }
WAIT_S=20 wait_until hogs_pinned || fail "the $HOGS hog connections do not pin $HOGS pipes ($(pipes_now))"
echo "     pipes pinned by the hogs: $(pipes_now)"
tcp_counters() {	# the kernel's TCP counters that show drops and retransmissions
	nstat -az 2>/dev/null | awk '$1 ~ /^TcpExt(TCPRcvQDrop|PruneCalled|RcvPruned|TCPSynRetrans|TCPTimeouts|ListenDrops|TCPBacklogDrop)$/ { print $1, $2 }'
}
tcp_before=$(tcp_counters)
loop_start echo --connect "127.0.0.1:$P" --hello echo.example.com --concurrency "$TRANSFERS" \
    --total "$TRANSFERS" --send-bytes "$SIZE" --echo --timeout-ms 120000
max_pipes=0
while pid_alive "${LOOP_PID[echo]}"; do
	n=$(pipes_now)
	[ "$n" -gt "$max_pipes" ] && max_pipes=$n
	sleep 0.05
done
loop_wait echo 120
echo "     $LOOP_SUMMARY"
# Printed for the record: a transfer that fails in its hello phase has shown
# up as hello_timeout together with these (machine-wide) counters moving.
echo "     kernel TCP counters during the transfers (machine-wide deltas): $(join <(sort <<<"$tcp_before") <(tcp_counters | sort) |
    awk '{ printf "%s=%d ", substr($1, 7), $3 - $2 }')"
check_eq "transfers answered with every byte echoed back intact" "$TRANSFERS" "$(field ok "$LOOP_SUMMARY")"
check_eq "transfers corrupt, short or failed" 0 \
    $(( $(field bad "$LOOP_SUMMARY") + $(field reset "$LOOP_SUMMARY") + $(field timeout "$LOOP_SUMMARY") + $(field error "$LOOP_SUMMARY") ))
check_eq "echo sink: connections whose bytes after the hello were all the pattern" "$TRANSFERS" \
    "$(grep -c "^E close in=$((SIZE + $(sink_field E hello hello_bytes))) .*post_pattern=ok" "$SINK_LOG")"
echo "     most pipes the workers held at once: $max_pipes (the soft limit allows $soft_pipes of this size)"
check_range "pipes held at once: past the soft limit" $((soft_pipes + 1)) 100000 "$max_pipes"
conns=$((conns + TRANSFERS))

# The hogs end when the hold sink goes: the proxy sees the backend reset them.
stop_pid "${LOOP_PID[hog]}"
stop_pid "$HOLD_SINK_PID"
proxy_wait_closes $((conns + HOGS)) || fail "the hog connections did not end"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" $((conns + HOGS)) "$(proxy_counter accepted)"
# Client -> backend also counts what the hogs got into their pipes.
check_range "bytes relayed client -> backend" $((TRANSFERS * SIZE)) $(((TRANSFERS + HOGS) * SIZE)) \
    "$(proxy_counter bytes_in)"
check_range "bytes relayed backend -> client" $((TRANSFERS * SIZE)) $((TRANSFERS * SIZE + 10485760)) \
    "$(proxy_counter bytes_out)"
normal=$(proxy_counter normal)
resets=$(( $(proxy_counter client_reset) + $(proxy_counter backend_reset) ))
echo "     proxy closes: normal=$normal resets=$resets"
check_eq "connections ended normally (curl and echo) or by a reset (hogs)" $((conns + HOGS)) $((normal + resets))
check_range "connections ended by a reset (the hogs and at most a TLS close race)" "$HOGS" $((HOGS + 2)) "$resets"
check_counters "normal=any client_reset=any backend_reset=any"
if [ "$(proxy_counter hello_timeout)" != 0 ]; then
	echo "     connections closed in their hello phase:"
	grep -E 'closed: hello_timeout' "$PROXY_LOG" | sed 's/^/       | /' | head -n 20
	echo "     the failed echo connections, client side (ms from the first connection's start):"
	awk 'NR == 1 || $1 < t { t = $1 } { l[NR] = $0 } END { for (i = 1; i <= NR; i++) { split(l[i], f, " "); if (f[3] != "ok") printf "       | start %.1f, up after %s us, hello sent after %s us, ended %.1f: %s %s\n", (f[1] - t) / 1000, f[6], f[7], (f[2] - t) / 1000, f[3], f[5] } }' \
	    "$T/loop-echo.out" | head -n 20
fi
check_log_faults "user nobody"

# As root the switch cannot fail; in a user namespace that maps only root
# (unshare --map-root-user) it does: setgroups is denied and 65534 is unmapped.
echo "--- a user that exists but cannot be switched to (in a user namespace)"
if ! unshare --user --map-root-user true 2>/dev/null; then
	echo "SKIP part: this machine does not allow user namespaces"
	finish
fi
P2=$(free_port)
proxy_conf_write "$T/userns.conf" 1 "\"127.0.0.1:$P2\"" "user = \"nobody\";
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[E]}\" ]; } );"
NSLOG=$T/userns.log
spawn unshare --user --map-root-user "$PT" -f -c "$T/userns.conf" 2>"$NSLOG"
NS_PID=$BG_PID
WAIT_S=10 wait_until port_listening "$P2" || die "the proxy in the user namespace did not listen"
refusals() { grep -c 'refusing to run' "$NSLOG"; }
has_refusals() { [ "$(refusals)" -ge "$1" ]; }
WAIT_S=10 wait_until has_refusals 4 || fail "the workers did not refuse 4 times in 10 s"
loop_start ns --connect "127.0.0.1:$P2" --hello x.example.com --total 2 --timeout-ms 1000
loop_wait ns 10
echo "     $LOOP_SUMMARY"
check_eq "connections served meanwhile (no worker runs)" 0 "$(field ok "$LOOP_SUMMARY")"
check_eq "the master still runs" yes "$(pid_alive "$NS_PID" && echo yes)"
check_match "the worker says why" "worker 0: error: cannot switch to .*; refusing to run" "$(cat "$NSLOG")"
check_match "the master logs the exit" "master: error: worker 0 \\(pid [0-9]+\\) exited with status 3" "$(cat "$NSLOG")"
# Restarts back off: the gaps between deaths grow.
gaps=$(grep 'exited with status 3' "$NSLOG" | cut -c12-23 |
    awk -F: '{ t = ($1 * 3600 + $2 * 60 + $3) * 1000; if (NR > 1) printf "%d ", t - p; p = t }')
echo "     ms between the deaths: $gaps"
# The first restart is immediate; from the second on each wait doubles.
check_eq "each gap from the second on at least 1.5 times the one before (backoff doubles)" yes \
    "$(awk '{ for (i = 3; i <= NF; i++) if ($i < 1.5 * $(i - 1)) exit 1 }' <<<"$gaps" && echo yes)"
check_range "the third gap at least (ms)" 300 100000 "$(awk '{ print $3 + 0 }' <<<"$gaps")"
kill -TERM "$NS_PID"
pid_wait_exit "$NS_PID" 10 || { fail "the master in the user namespace did not stop"; stop_pid "$NS_PID"; }
wait "$NS_PID"
check_eq "its exit status" 0 "$?"
faults=$(PROXY_LOG=$NSLOG EXPECT_WORKER_DEATHS=1 proxy_log_faults)
check_eq "sanitizer reports in its log" "" "$faults"
finish
