#!/bin/bash
# Guards send_proxy against a real PROXY protocol peer: nginx listening with proxy_protocol reads the client's real address and port ($proxy_protocol_addr, $proxy_protocol_port) from the v1 and the v2 header passthrough sends, for IPv4 (a client on 127.0.0.5) and IPv6 clients, and the TLS session completes end to end with curl.
. "$(dirname "$0")/lib.sh"

# nginx logs, per request: its port, what the header said, the SNI, the request.
NGINX_HTTP_EXTRA="log_format pp '\$server_port \$proxy_protocol_addr \$proxy_protocol_port \$ssl_server_name \$request';"
NGINX_LISTEN_EXTRA=" proxy_protocol"
NGINX_SERVER_EXTRA="access_log $T/nginx/access.log pp;"
nginx_start v1 v2
NLOG=$T/nginx/access.log
PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_start -6 "
routes = (
  { sni = \"v1.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[v1]}\" ]; send_proxy = \"v1\"; },
  { sni = \"v2.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[v2]}\" ]; send_proxy = \"v2\"; }
);"
P=$PROXY_PORT
n=0

# request WHAT VERSION CLIENT_ADDR [curl options]: GET /whoami through the
# proxy to the nginx of route vVERSION; the reply must come from that nginx
# (the certificate verified), and nginx must have logged this request with
# the header's address = CLIENT_ADDR and port = curl's local port.
request() {
	local what=$1 v=$2 addr=$3 out body port line
	shift 3
	out=$(curl_get "v$v.example.com" "$P" whoami -w 'local_port=%{local_port}\n' "$@" 2>&1)
	n=$((n + 1))
	body=$(head -n 1 <<<"$out")
	port=$(field local_port "$(tail -n 1 <<<"$out")")
	check_eq "$what: TLS end to end, the answer of nginx v$v" "backend-v$v" "$body"
	WAIT_S=5 wait_until grep -q "^${NGINX_PORT[v$v]} .* GET /whoami" "$NLOG"
	line=$(grep "^${NGINX_PORT[v$v]} " "$NLOG" | tail -n 1)
	check_eq "$what: nginx read the client from the header" \
	    "${NGINX_PORT[v$v]} $addr $port v$v.example.com GET /whoami HTTP/1.1" "$line"
	: >"$NLOG"
}

request "v1 from 127.0.0.5" 1 127.0.0.5 --interface 127.0.0.5
request "v2 from 127.0.0.5" 2 127.0.0.5 --interface 127.0.0.5
request "v1 from 127.0.0.1" 1 127.0.0.1
request "v2 from 127.0.0.1, TLS 1.2" 2 127.0.0.1 --tlsv1.2 --tls-max 1.2
CURL_ADDR="[::1]" request "v1 from ::1" 1 ::1
CURL_ADDR="[::1]" request "v2 from ::1" 2 ::1

# Without the header nginx refuses the connection: the header is what made them work.
check_no_match "nginx logged no broken header" "broken header" "$(cat "$T/nginx/error.log" 2>/dev/null)"
check_eq "passthrough's access log: clients from 127.0.0.5" 2 "$(grep -c ' client=127\.0\.0\.5:' "$T/access.log")"

proxy_wait_closes "$n"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters_tls "$n"
finish
