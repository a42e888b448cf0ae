#!/bin/bash
# Guards accept_proxy behind a real load balancer: HAProxy (send-proxy, send-proxy-v2) in front, the client on 127.0.0.5 is the client in passthrough's access log and routes as usual; the header may trickle in a byte at a time and counts against hello_ms and hello_bytes; LOCAL (HAProxy's health checks, or sent by hand) goes on with the real peer; a header from an untrusted sender, a missing one and a malformed one are closed before any backend and counted as proxy_untrusted, proxy_missing, proxy_malformed; a plain listener beside it never reads a header.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || die "jq is missing: tools/deps.sh test installs it"

nginx_start app
sink_start s
PA=$(free_port)		# accept_proxy, trusts 127.0.0.1 (where HAProxy connects from)
PU=$(free_port)		# accept_proxy, trusts only 10.0.0.0/8
PL=$(free_port)		# a plain listener (the string form)
H1=$(free_port) H2=$(free_port) H3=$(free_port)
PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_conf_groups "$T/proxy.conf" 1 "
  \"127.0.0.1:$PL\",
  { address = \"127.0.0.1:$PA\"; accept_proxy = true; trusted = [ \"127.0.0.1/32\", \"::1/128\" ]; },
  { address = \"127.0.0.1:$PU\"; accept_proxy = true; trusted = [ \"10.0.0.0/8\" ]; }" "
timeouts = { hello_ms = 3000; };
# The 5,369-byte hello of openssl-long_alpn fits; with a header before it, not.
limits = { hello_bytes = 5380; };
routes = (
  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[app]}\" ]; },
  { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[s]}\" ]; }
);"
proxy_start_file "$T/proxy.conf" 1 "$PA"
HAPROXY_PORTS="$H1 $H2 $H3" haproxy_start front "
frontend v1
  bind 127.0.0.1:$H1
  default_backend v1
frontend v2
  bind 127.0.0.1:$H2
  bind [::1]:$H2
  default_backend v2
frontend untrusted
  bind 127.0.0.1:$H3
  default_backend untrusted
backend v1
  server pt 127.0.0.1:$PA send-proxy
backend v2
  # A CRC32C TLV in the header: skipped, unchecked.
  server pt 127.0.0.1:$PA send-proxy-v2 proxy-v2-options crc32c
backend untrusted
  server pt 127.0.0.1:$PU send-proxy-v2"
AL=$T/access.log
n=0

# last_access: the newest access log line, once there are $n of them.
last_access() {
	WAIT_S=10 wait_until sh -c "[ \$(wc -l <'$AL') -ge $n ]" || fail "access log lines: want $n, have $(wc -l <"$AL")"
	tail -n 1 "$AL"
}

# via_haproxy WHAT PORT [FROM]: curl from 127.0.0.5 (or FROM: ::1) through
# HAProxy's frontend PORT.
via_haproxy() {
	local out body port line from=${3:-127.0.0.5} to=127.0.0.1 client
	client=$from:
	[ "$from" = ::1 ] && to="[::1]" client="[::1]:"
	out=$(CURL_ADDR=$to curl_get app.example.com "$2" whoami --interface "$from" \
	    -w 'local_port=%{local_port}\n' 2>&1)
	n=$((n + 1))
	body=$(head -n 1 <<<"$out")
	port=$(field local_port "$(tail -n 1 <<<"$out")")
	check_eq "$1: TLS end to end through HAProxy and passthrough" backend-app "$body"
	line=$(last_access)
	check_eq "$1: access log client = curl on $from" "$client$port" "$(field client "$line")"
	check_eq "$1: ... reason" normal "$(field reason "$line")"
}
via_haproxy "HAProxy send-proxy (v1)" "$H1"
via_haproxy "HAProxy send-proxy-v2 (with a CRC32C TLV)" "$H2"
via_haproxy "HAProxy send-proxy-v2, client on ::1" "$H2" ::1

V=$ROOT/tests/vectors
# hand WHAT PORT HEXFILE [ptclient options]: ptclient sends HEXFILE to PORT.
hand() {
	local port=$2 hex=$3
	shift 3
	"$PTCLIENT" --connect "127.0.0.1:$port" --hex-file "$hex" --shutdown --read \
	    --timeout-ms 10000 "$@" >/dev/null 2>"$T/client.err"
	n=$((n + 1))
}
{ pp_v1_hex 192.0.2.7 5555 127.0.0.1 "$PA"; cat "$V/openssl-tls1_2.hex"; } >"$T/v1.hex"
{ pp_v2_hex proxy 198.51.100.9 6666 127.0.0.1 "$PA"; cat "$V/openssl-tls1_2.hex"; } >"$T/v2.hex"
for v in v1 v2; do
	hellos=$(sink_count s hello)
	hand "$v" "$PA" "$T/$v.hex" --chunk 1 --delay-ms 1
	line=$(last_access)
	want=192.0.2.7:5555
	[ "$v" = v2 ] && want=198.51.100.9:6666
	check_eq "$v header one byte per write: access log client = the carried address" "$want" "$(field client "$line")"
	check_eq "$v header one byte per write: routed by the hello after it" "tls12.example.com normal" \
	    "$(field sni "$line") $(field reason "$line")"
	WAIT_S=5 sink_wait s hello $((hellos + 1))
	check_eq "$v header one byte per write: the backend got the hello without the header" \
	    "tls12.example.com 232" "$(sink_field s hello sni) $(sink_field s hello hello_bytes)"
done

# LOCAL: the connection goes on with its own endpoints.
pp_v2_hex local 203.0.113.1 7777 127.0.0.1 "$PA" >"$T/local.hex"
hand "LOCAL alone" "$PA" "$T/local.hex"
line=$(last_access)
check_match "LOCAL, then the sender's close: client = the real peer" '^127\.0\.0\.1:[0-9]+$' "$(field client "$line")"
check_eq "LOCAL, then the sender's close: reason" hello_eof "$(field reason "$line")"
{ cat "$T/local.hex" "$V/openssl-tls1_2.hex"; } >"$T/local-hello.hex"
hand "LOCAL then a hello" "$PA" "$T/local-hello.hex"
line=$(last_access)
check_match "LOCAL then a hello: client = the real peer" '^127\.0\.0\.1:[0-9]+$' "$(field client "$line")"
check_eq "LOCAL then a hello: routed" "tls12.example.com normal" "$(field sni "$line") $(field reason "$line")"

# The header counts against hello_ms: one trickling slower is cut there.
pp_v1_hex 192.0.2.8 5555 127.0.0.1 "$PA" >"$T/slow.hex"
hand "a header slower than hello_ms" "$PA" "$T/slow.hex" --chunk 1 --delay-ms 100
line=$(last_access)
check_eq "a header slower than hello_ms: reason" hello_timeout "$(field reason "$line")"
check_range "a header slower than hello_ms: cut at hello_ms (3000)" 2950 4500 "$(field duration_ms "$line")"

# Refusals: none reaches a backend.
hellos=$(sink_count s hello) accepts=$(sink_count s accept)
hand "no header" "$PA" "$V/openssl-tls1_2.hex"
check_eq "no header: reason" proxy_missing "$(field reason "$(last_access)")"
pp_hex_str "PROXY TCP4 192.0.2.300 127.0.0.1 5555 443" >"$T/bad1.hex"
printf '0d0a' >>"$T/bad1.hex"
cat "$V/openssl-tls1_2.hex" >>"$T/bad1.hex"
hand "v1 with a bad address" "$PA" "$T/bad1.hex"
check_eq "v1 with a bad address: reason" proxy_malformed "$(field reason "$(last_access)")"
# Version 3 in the version/command byte (0x31).
{ pp_v2_hex proxy 192.0.2.1 1 127.0.0.1 2 | sed 's/^\(.\{24\}\)21/\131/'; cat "$V/openssl-tls1_2.hex"; } >"$T/bad2.hex"
hand "v2 of version 3" "$PA" "$T/bad2.hex"
check_eq "v2 of version 3: reason" proxy_malformed "$(field reason "$(last_access)")"
hand "a good header from an untrusted sender" "$PU" "$T/v2.hex"
check_eq "untrusted sender: reason" proxy_untrusted "$(field reason "$(last_access)")"
out=$(curl_get app.example.com "$H3" whoami --interface 127.0.0.5 2>&1)
n=$((n + 1))
check_no_match "HAProxy to an untrusting listener: no answer" "backend-app" "$out"
check_eq "HAProxy to an untrusting listener: reason" proxy_untrusted "$(field reason "$(last_access)")"
check_eq "refused ones: no backend connection" "$accepts" "$(sink_count s accept)"

# The header counts against hello_bytes.
{ pp_v2_hex proxy 192.0.2.9 5555 127.0.0.1 "$PA"; cat "$V/openssl-long_alpn.hex"; } >"$T/big.hex"
hand "a header and a hello of hello_bytes together" "$PA" "$T/big.hex"
check_eq "a header and a hello over hello_bytes together: reason" hello_too_big "$(field reason "$(last_access)")"
hand "the same hello alone, on the plain listener" "$PL" "$V/openssl-long_alpn.hex"
check_eq "the same hello alone: routed" "big.example.org normal" \
    "$(field sni "$(last_access)") $(field reason "$(last_access)")"

# The plain listener takes no header: one is not TLS there.
hand "a header to the plain listener" "$PL" "$T/v2.hex"
check_eq "plain listener: a header is not TLS" not_tls "$(field reason "$(last_access)")"
out=$(curl_get app.example.com "$PL" whoami 2>&1)
n=$((n + 1))
check_eq "plain listener: TLS as ever" backend-app "$out"
check_match "plain listener: client = the peer" '^127\.0\.0\.1:[0-9]+$' "$(field client "$(last_access)")"

stats_json "$T/stats.json"
j() { jq -r "$1" "$T/stats.json"; }
check_eq "stats: accepted" "$n" "$(j .totals.accepted)"
check_eq "stats: PROXY headers accepted (3 HAProxy, 3 by hand, 2 LOCAL)" 8 "$(j .totals.proxy_headers)"
check_eq "stats: proxy_untrusted" 2 "$(j .totals.closes.proxy_untrusted)"
check_eq "stats: proxy_missing" 1 "$(j .totals.closes.proxy_missing)"
check_eq "stats: proxy_malformed" 2 "$(j .totals.closes.proxy_malformed)"
check_eq "stats: hello_eof" 1 "$(j .totals.closes.hello_eof)"
check_eq "stats: not_tls" 1 "$(j .totals.closes.not_tls)"
check_eq "stats: hello_timeout" 1 "$(j .totals.closes.hello_timeout)"
check_eq "stats: hello_too_big" 1 "$(j .totals.closes.hello_too_big)"
check_eq "stats: normal" $((n - 9)) "$(j .totals.closes.normal)"
prom=$("$STATS" -c "$PROXY_CONF" --prometheus 2>&1)
check_match "prometheus: proxy_untrusted" '^passthrough_connections_closed_total\{.*reason="proxy_untrusted".*\} 2$' "$prom"
check_match "prometheus: PROXY headers" '^passthrough_proxy_headers_total(\{.*\})? 8$' "$prom"

# HAProxy's health checks (check-send-proxy with send-proxy-v2: LOCAL).
HC=$(free_port)
# HAProxy starts only with a listener: a frontend nobody uses.
HAPROXY_PORTS=$HC haproxy_start checks "
frontend unused
  bind 127.0.0.1:$HC
  default_backend checked
backend checked
  server pt 127.0.0.1:$PA send-proxy-v2 check check-send-proxy inter 200"
# The stats count a connection at once, the access log when it ends: the
# checks are counted by the stats, once HAProxy stopped and none is open.
accepted() { stats_json "$T/stats.json" && j .totals.accepted; }
accepted_at_least() { [ "$(accepted)" -ge "$1" ]; }
settled() { stats_json "$T/stats.json" && [ "$(j .totals.active)" = 0 ]; }
WAIT_S=10 wait_until accepted_at_least $((n + 3)) || fail "HAProxy's health checks: fewer than 3 in 10 s"
stop_pid "${HAPROXY_PID[checks]}"
WAIT_S=10 wait_until settled || fail "health checks: connections still open 10 s after HAProxy stopped"
checks=$(($(j .totals.accepted) - n))
n=$((n + checks))
last_access >/dev/null
echo "     HAProxy health checks: $checks"
# A check resets its connection at once: one the worker reads before the
# reset takes its LOCAL header and ends as hello_eof or client_reset with
# the balancer as the client; one already reset when the worker asks for
# its address (getpeername fails then) ends as client_reset ("-"). None is
# refused as untrusted.
check_eq "health checks: all ended as a connection that sent nothing or was reset" "$checks" \
    "$(tail -n "$checks" "$AL" | grep -cE 'client=(127\.0\.0\.1:[0-9]+|-) .*reason=(hello_eof|client_reset)$')"
check_eq "stats: no health check refused as untrusted" 2 "$(j .totals.closes.proxy_untrusted)"
check_range "stats: PROXY headers with the health checks read before their reset" 8 $((8 + checks)) \
    "$(j .totals.proxy_headers)"
check_eq "stats: no more refusals" "2 1 2" \
    "$(j .totals.closes.proxy_untrusted) $(j .totals.closes.proxy_missing) $(j .totals.closes.proxy_malformed)"

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$n" "$(proxy_counter accepted)"
finish
