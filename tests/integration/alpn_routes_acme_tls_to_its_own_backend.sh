#!/bin/bash
# Guards ALPN routing: for one name, hellos offering acme-tls/1 reach the route that lists it (an openssl s_server answering TLS-ALPN-01) and every other hello the name's route without alpn (nginx), told apart by certificate subject; a name whose only route lists acme-tls/1 sends other clients on to the next pattern; statistics and the access log name the route with its alpn.
. "$(dirname "$0")/lib.sh"

nginx_start app def
certs_ensure acme
for _ in 1 2 3; do
	ACME_PORT=$(free_port)
	spawn openssl s_server -quiet -accept "127.0.0.1:$ACME_PORT" -cert "$CERTS/acme.crt" \
	    -key "$CERTS/acme.key" -alpn acme-tls/1 -naccept 1000 >"$T/s_server.log" 2>&1
	WAIT_S=5 wait_until port_listening "$ACME_PORT" && break
done
port_listening "$ACME_PORT" || die "openssl s_server did not listen"
PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_start -w 2 "
stats = { name = \"pt-alpn-$$\"; };
routes = (
  { sni = \"app.example.com\";  backends = [ \"127.0.0.1:${NGINX_PORT[app]}\" ]; },
  { sni = \"app.example.com\";  alpn = [ \"acme-tls/1\" ]; backends = [ \"127.0.0.1:$ACME_PORT\" ]; },
  { sni = \"only.example.com\"; alpn = [ \"acme-tls/1\" ]; backends = [ \"127.0.0.1:$ACME_PORT\" ]; },
  { sni = \"*\";                backends = [ \"127.0.0.1:${NGINX_PORT[def]}\" ]; }
);"
P=$PROXY_PORT

# reach NAME ALPN: the certificate subject the client got and the ALPN the server chose.
reach() {
	local out
	out=$(sclient "$P" -servername "$1" -alpn "$2")
	printf '%s %s\n' "$(sclient_cn <<<"$out")" \
	    "$(sed -n 's/^ALPN protocol: //p' <<<"$out" | head -n 1)"
}

check_eq "app.example.com offering acme-tls/1" "backend-acme acme-tls/1" "$(reach app.example.com acme-tls/1)"
check_eq "app.example.com offering h2,http/1.1" "backend-app http/1.1" "$(reach app.example.com h2,http/1.1)"
check_eq "app.example.com offering http/1.1 then acme-tls/1: any offered name counts" \
    "backend-acme acme-tls/1" "$(reach app.example.com http/1.1,acme-tls/1)"
check_eq "curl to app.example.com (h2, http/1.1)" "backend-app" "$(curl_get app.example.com "$P" whoami 2>&1)"
check_eq "only.example.com offering acme-tls/1" "backend-acme acme-tls/1" "$(reach only.example.com acme-tls/1)"
check_eq "only.example.com offering http/1.1: on to the default" "backend-def http/1.1" \
    "$(reach only.example.com http/1.1)"

stats=$("$BUILD/passthrough-stats" -n "pt-alpn-$$" -j)
route_conns() {	# ROUTE: its connections in the JSON statistics
	jq --arg r "$1" '[.routes[] | select(.route == $r) | .connections] | add // 0' <<<"$stats"
}
check_eq "statistics: app.example.com[acme-tls/1]" 2 "$(route_conns 'app.example.com[acme-tls/1]')"
check_eq "statistics: app.example.com" 2 "$(route_conns app.example.com)"
check_eq "statistics: only.example.com[acme-tls/1]" 1 "$(route_conns 'only.example.com[acme-tls/1]')"
proxy_stop
check_eq "access log lines with route=app.example.com[acme-tls/1]" 2 \
    "$(grep -c ' route=app\.example\.com\[acme-tls/1\] ' "$T/access.log")"
check_counters_tls 6
finish
