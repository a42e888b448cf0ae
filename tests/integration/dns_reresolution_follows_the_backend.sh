#!/bin/bash
# Guards backends named by host name following DNS: every address of a name gets traffic; a name that moves (resolve_ms = 1000) takes new connections to its new address within ~2 s as a new generation, with no reload; a name that stops resolving keeps its last address and is logged once; passthrough -t refuses a name that does not resolve (file:line).
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
#
# The test runs in its own mount namespace with a file it controls bound
# over /etc/hosts (rewritten in place: the bind mount holds the inode), and
# "hosts: files dns" with no nscd (lib.sh: dns_files_setup), so every
# getaddrinfo reads the file.
if [ -z "${PT_DNS_NAMESPACE:-}" ]; then
	if ! unshare -m --propagation private true 2>/dev/null; then
		echo "SKIP: no mount namespace (unshare -m needs root or user namespaces)"
		exit 77
	fi
	PT_DNS_NAMESPACE=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

dns_files_setup "127.0.0.2 app.dnstest" "127.0.0.2 two.dnstest" "127.0.0.3 two.dnstest"
check_eq "the test's hosts file is what getaddrinfo reads" 127.0.0.2 \
    "$(getent ahostsv4 app.dnstest | awk 'NR == 1 { print $1 }')"

# The same port on 127.0.0.2 (A) and 127.0.0.3 (B): the name picks the address.
port=$(free_port)
sink_start A --listen "127.0.0.2:$port" --send-then-shutdown 1111
sink_start B --listen "127.0.0.3:$port" --send-then-shutdown 1111
proxy_start "
resolve_ms = 1000;
routes = (
  { sni = \"app.example.com\"; backends = [ \"app.dnstest:$port\" ]; },
  { sni = \"two.example.com\"; backends = [ \"two.dnstest:$port\" ]; }
);"

# run SNI N: N connections through the proxy; sets GOT_A and GOT_B, how many each sink took.
run=0
run() {
	local a0 b0
	a0=$(sink_count A accept) b0=$(sink_count B accept)
	run=$((run + 1))
	loop_start "r$run" --hello "$1" --connect "127.0.0.1:$PROXY_PORT" --total "$2" \
	    --concurrency 1 --expect-bytes 1111 --timeout-ms 5000
	loop_wait "r$run" 30
	check_loop_clean "$1 (run $run)" "$2"
	GOT_A=$(( $(sink_count A accept) - a0 )) GOT_B=$(( $(sink_count B accept) - b0 ))
}
json_u64() {	# KEY FILE
	grep -oE "\"$1\": *[0-9]+" "$2" | head -n 1 | grep -oE '[0-9]+$'
}

run app.example.com 10
check_eq "app.dnstest (127.0.0.2): connections to A" 10 "$GOT_A"
run two.example.com 20
echo "     two.dnstest (two addresses): A $GOT_A, B $GOT_B"
check_range "two.dnstest: connections to 127.0.0.2" 5 15 "$GOT_A"
check_range "two.dnstest: connections to 127.0.0.3" 5 15 "$GOT_B"
check_eq "two.dnstest: every connection reached one of them" 20 $((GOT_A + GOT_B))

# The name moves: within ~2 s (resolve_ms 1000) new connections go to B.
stats_json "$T/before.json"
t0=$(now_ms)
dns_hosts_write "127.0.0.3 app.dnstest" "127.0.0.2 two.dnstest" "127.0.0.3 two.dnstest"
moved() { grep -q "backend app.dnstest:$port now 127.0.0.3:$port (was 127.0.0.2:$port)" "$PROXY_LOG"; }
if WAIT_S=5 wait_until moved; then pass "the move of app.dnstest was logged"
else fail "the move of app.dnstest was not logged"; fi
moved_ms=$(( $(now_ms) - t0 ))
check_range "ms until the master saw the move" 0 2500 "$moved_ms"
sleep 0.3	# the workers take the generation on their next turn
run app.example.com 10
check_eq "after the move: connections to B (127.0.0.3)" 10 "$GOT_B"
stats_json "$T/after.json"
check_eq "no reload was counted" "$(json_u64 reloads_ok "$T/before.json")" \
    "$(json_u64 reloads_ok "$T/after.json")"
g0=$(json_u64 generation "$T/before.json") g1=$(json_u64 generation "$T/after.json")
check_eq "the move is one new generation" $((g0 + 1)) "$g1"
check_match "the master said so" "host names moved: generation $g1" "$(cat "$PROXY_LOG")"

# The name goes away: the last address stays, the failure is logged once.
dns_hosts_write "127.0.0.2 two.dnstest" "127.0.0.3 two.dnstest"
gone() { grep -q "backend app.dnstest:$port does not resolve; keeping 127.0.0.3:$port" "$PROXY_LOG"; }
if WAIT_S=5 wait_until gone; then pass "the failed lookup was logged"
else fail "the failed lookup was not logged"; fi
sleep 2.5	# two more lookups fail
check_eq "the failure is logged once" 1 "$(grep -c "backend app.dnstest:$port does not resolve" "$PROXY_LOG")"
run app.example.com 10
check_eq "unresolvable: connections still to B (the last good address)" 10 "$GOT_B"
stats_json "$T/gone.json"
check_eq "a failed lookup publishes nothing" "$g1" "$(json_u64 generation "$T/gone.json")"

# A reload while the name does not resolve at all is refused at its line; the old generation serves on.
kill -HUP "$PROXY_PID"
refused() { grep -q "reload failed" "$PROXY_LOG"; }
if WAIT_S=5 wait_until refused; then pass "the reload was refused"; else fail "the reload was not refused"; fi
check_match "the refusal names the file, line and setting" \
    "proxy.conf:7: routes\\[0\\]\\.backends\\[0\\]: \"app.dnstest:$port\" names a host that does not resolve" \
    "$(cat "$PROXY_LOG")"
run app.example.com 5
check_eq "after the refused reload: connections still to B" 5 "$GOT_B"

# Back again: said once, and no new generation when nothing moved.
dns_hosts_write "127.0.0.3 app.dnstest" "127.0.0.2 two.dnstest" "127.0.0.3 two.dnstest"
back() { grep -q "backend app.dnstest:$port resolves again" "$PROXY_LOG"; }
if WAIT_S=5 wait_until back; then pass "the name resolving again was logged"
else fail "the name resolving again was not logged"; fi

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_no_match "the resolver child is never taken for a worker" "worker .* (exited|killed)" \
    "$(cat "$PROXY_LOG")"

# passthrough -t: a name that does not resolve at all is a fault at its line.
printf 'listen = [ "127.0.0.1:%s" ];\nroutes = (\n  { sni = "x.example.com"; backends = [ "nothere.dnstest:443" ]; }\n);\n' \
    "$(free_port)" >"$T/bad.conf"
out=$("$PT" -t -c "$T/bad.conf" 2>&1)
rc=$?
check_eq "-t on a name that does not resolve: exit status" 1 "$rc"
check_match "-t names the file, line and setting" \
    "bad.conf:3: routes\\[0\\]\\.backends\\[0\\]: \"nothere.dnstest:443\" names a host that does not resolve" "$out"
finish
