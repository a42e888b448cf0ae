#!/bin/bash
# Guards the master against a DNS server that never answers: the resolver child (as the workers' user, never root) waits on it, not the master; a killed worker is replaced at once meanwhile; another name still moves (lookups run side by side); the stuck name keeps its address, logged once; SIGTERM stops the proxy and its resolver promptly.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
#
# Its own mount namespace: /etc/hosts and /etc/resolv.conf are files the
# test controls, the name server a ptdnsdrop that reads queries and drops them.
if [ -z "${PT_DNS_NAMESPACE:-}" ]; then
	if ! unshare -m --propagation private true 2>/dev/null; then
		echo "SKIP: no mount namespace (unshare -m needs root or user namespaces)"
		exit 77
	fi
	PT_DNS_NAMESPACE=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
PTDNSDROP=$BUILD/tests/ptdnsdrop
need_tools "$PTLOOP" "$PTDNSDROP"
EXPECT_WORKER_DEATHS=1	# one is killed on purpose

RESOLV=$T/resolv.conf
# aa-slow sorts before app: a resolver asking one name after another would
# wait on aa-slow before it ever asked for app.
dns_files_setup "127.0.0.2 app.dnstest" "127.0.0.2 aa-slow.dnstest"
printf 'nameserver 127.0.0.77\noptions timeout:30 attempts:1\n' >"$RESOLV"
chmod 644 "$RESOLV"
mount --bind "$RESOLV" /etc/resolv.conf || die "cannot bind $RESOLV over /etc/resolv.conf"
spawn "$PTDNSDROP" 127.0.0.77:53 2>>"$T/dnsdrop.log"
WAIT_S=5 wait_until grep -q listening "$T/dnsdrop.log" || die "ptdnsdrop did not start"

port=$(free_port)
sink_start A --listen "127.0.0.2:$port" --send-then-shutdown 1111
sink_start B --listen "127.0.0.3:$port" --send-then-shutdown 1111
proxy_start -w 2 "
resolve_ms = 4000;
routes = (
  { sni = \"app.example.com\"; backends = [ \"app.dnstest:$port\" ]; },
  { sni = \"slow.example.com\"; backends = [ \"aa-slow.dnstest:$port\" ]; }
);"

# aa-slow.dnstest leaves the hosts file: its lookups go to the silent server.
dns_hosts_write "127.0.0.3 app.dnstest"
resolver_pid() { pgrep -P "$PROXY_PID" -x pt-resolver | head -n 1; }
has_resolver() { [ -n "$(resolver_pid)" ]; }
WAIT_S=6 wait_until has_resolver || die "no resolver child came within 6 s"
rpid=$(resolver_pid)
check_eq "the resolver child runs as the workers' user" "$(id -u nobody)" \
    "$(awk '/^Uid:/ { print $2 }' "/proc/$rpid/status" 2>/dev/null)"
moved() { grep -q "backend app.dnstest:$port now 127.0.0.3:$port (was 127.0.0.2:$port)" "$PROXY_LOG"; }
if WAIT_S=6 wait_until moved; then pass "app.dnstest moved while aa-slow.dnstest hung"
else fail "app.dnstest did not move while aa-slow.dnstest hung"; fi
if WAIT_S=6 wait_until grep -q "dropped a query" "$T/dnsdrop.log"; then pass "the silent server got queries"
else fail "the silent server never saw a query"; fi
stuck() { grep -q "backend aa-slow.dnstest:$port could not be resolved now; keeping 127.0.0.2:$port" "$PROXY_LOG"; }
if WAIT_S=6 wait_until stuck; then pass "the stuck lookup was logged"
else fail "the stuck lookup was not logged"; fi

# While a resolver child waits on the server: a worker killed is restarted at once.
WAIT_S=6 wait_until has_resolver || die "no resolver child came within 6 s"
victim=$(proxy_slot_pid 0)
restarts=$(grep -c "restarting worker 0" "$PROXY_LOG")
t0=$(now_ms)
kill -KILL "$victim"
restarted() { [ "$(grep -c "restarting worker 0" "$PROXY_LOG")" -gt "$restarts" ]; }
WAIT_S=5 wait_until restarted || fail "worker 0 was not restarted"
check_range "ms until the killed worker was restarted (a resolver child waiting)" 0 1000 \
    $(( $(now_ms) - t0 ))
check_eq "the stuck lookup is logged once" 1 \
    "$(grep -c "backend aa-slow.dnstest:$port could not be resolved" "$PROXY_LOG")"

# Both names still route: app to its new address, aa-slow to its last good one.
loop_start app --hello app.example.com --connect "127.0.0.1:$PROXY_PORT" --total 10 \
    --concurrency 1 --expect-bytes 1111 --timeout-ms 5000
loop_wait app 30
check_loop_clean "app.example.com" 10
loop_start slow --hello slow.example.com --connect "127.0.0.1:$PROXY_PORT" --total 10 \
    --concurrency 1 --expect-bytes 1111 --timeout-ms 5000
loop_wait slow 30
check_loop_clean "slow.example.com" 10
check_eq "connections to 127.0.0.3 (app's new address)" 10 "$(sink_count B accept)"
check_eq "connections to 127.0.0.2 (aa-slow's last good address)" 10 "$(sink_count A accept)"

# SIGTERM with a resolver child waiting: the proxy and the child are gone at once.
WAIT_S=6 wait_until has_resolver || die "no resolver child came within 6 s"
rpid=$(resolver_pid)
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_range "ms to stop with a resolver child waiting" 0 2000 "$PROXY_STOP_MS"
check_eq "the resolver child is gone with the master" gone \
    "$(pid_alive "$rpid" && echo "still there" || echo gone)"
check_no_match "the resolver is never taken for a worker" \
    "worker [0-9]+ \\(pid $rpid\\)" "$(cat "$PROXY_LOG")"
finish
