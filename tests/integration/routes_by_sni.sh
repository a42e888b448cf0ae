#!/bin/bash
# Guards SNI routing: exact, wildcard at any depth (most specific wins, never the bare suffix), case, trailing dot, no SNI and unknown names to the default; over IPv4 and IPv6, TLS 1.2 and 1.3.
. "$(dirname "$0")/lib.sh"

nginx_start app wild deep def
proxy_start -w 2 -6 "
routes = (
  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[app]}\" ]; },
  { sni = \"*.example.org\";   backends = [ \"127.0.0.1:${NGINX_PORT[wild]}\" ]; },
  { sni = \"*.c.example.org\"; backends = [ \"127.0.0.1:${NGINX_PORT[deep]}\" ]; },
  { sni = \"*\";               backends = [ \"127.0.0.1:${NGINX_PORT[def]}\" ]; }
);"
P=$PROXY_PORT
conns=0

# name -> the backend it must reach
cases=(
	app.example.com=app
	a.example.org=wild
	a.b.example.org=wild
	x.c.example.org=deep
	x.y.c.example.org=deep
	c.example.org=wild
	example.org=def
	www.app.example.com=def
	unknown.test=def
)

for c in "${cases[@]}"; do
	name=${c%=*} want=${c#*=}
	got=$(curl_get "$name" "$P" whoami --tlsv1.2 --tls-max 1.2 2>&1)
	check_eq "curl TLS 1.2 $name" "backend-$want" "$got"
	got=$(curl_get "$name" "$P" whoami --tlsv1.3 2>&1)
	check_eq "curl TLS 1.3 $name" "backend-$want" "$got"
	out=$(sclient "$P" -servername "$name")
	check_eq "s_client $name: certificate" "backend-$want" "$(sclient_cn <<<"$out")"
	check_match "s_client $name: response" "^backend-$want\$" "$out"
	conns=$((conns + 3))
done

# Names as clients may send them: upper case, a trailing dot; and no SNI at all.
for c in APP.EXAMPLE.COM=app A.B.Example.ORG=wild X.C.EXAMPLE.ORG=deep \
    app.example.com.=app a.b.example.org.=wild EXAMPLE.ORG.=def; do
	name=${c%=*} want=${c#*=}
	out=$(sclient "$P" -servername "$name")
	check_eq "s_client '$name': certificate" "backend-$want" "$(sclient_cn <<<"$out")"
	check_match "s_client '$name': response" "^backend-$want\$" "$out"
	conns=$((conns + 1))
done
out=$(sclient "$P" -noservername)
check_eq "s_client without SNI: certificate" "backend-def" "$(sclient_cn <<<"$out")"
check_match "s_client without SNI: response" "^backend-def\$" "$out"
conns=$((conns + 1))

# The IPv6 listener routes the same way.
for c in app.example.com=app a.b.example.org=wild x.c.example.org=deep example.org=def; do
	name=${c%=*} want=${c#*=}
	got=$(CURL_ADDR="[::1]" curl_get "$name" "$P" whoami --tlsv1.3 2>&1)
	check_eq "curl over [::1] $name" "backend-$want" "$got"
	conns=$((conns + 1))
done
out=$(SCLIENT_HOST="[::1]" sclient "$P" -servername APP.example.com.)
check_eq "s_client over [::1] 'APP.example.com.': certificate" "backend-app" "$(sclient_cn <<<"$out")"
out=$(SCLIENT_HOST="[::1]" sclient "$P" -noservername)
check_eq "s_client over [::1] without SNI: certificate" "backend-def" "$(sclient_cn <<<"$out")"
conns=$((conns + 2))

proxy_wait_closes "$conns"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$conns" "$(proxy_counter accepted)"
check_counters_tls "$conns"
finish
