#!/bin/bash
# Guards the no-route case: without a "*" route an unmatched or missing SNI gets a fatal unrecognized_name (112) alert, and nothing reaches a backend.
. "$(dirname "$0")/lib.sh"

nginx_start app
sink_start other
proxy_start "
routes = (
  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[app]}\" ]; },
  { sni = \"*.other.test\";    backends = [ \"127.0.0.1:${SINK_PORT[other]}\" ]; }
);"
P=$PROXY_PORT

# The route that exists works.
check_eq "curl app.example.com (a configured name)" "backend-app" \
    "$(curl_get app.example.com "$P" whoami 2>&1)"

out=$(sclient "$P" -servername unknown.test)
check_match "s_client unknown.test: alert 112" "SSL alert number 112" "$out"
check_match "s_client unknown.test: unrecognized name" "unrecognized name" "$out"
check_no_match "s_client unknown.test: no certificate" "^subject=" "$out"

out=$(sclient "$P" -noservername)
check_match "s_client without SNI: alert 112" "SSL alert number 112" "$out"
check_no_match "s_client without SNI: no certificate" "^subject=" "$out"

# A wildcard never matches its bare suffix, and there is no default to fall to.
out=$(sclient "$P" -servername other.test)
check_match "s_client other.test (bare suffix of *.other.test): alert 112" "SSL alert number 112" "$out"

for v in "--tlsv1.2 --tls-max 1.2" "--tlsv1.3"; do
	# shellcheck disable=SC2086
	out=$(curl_get unknown.test "$P" whoami $v 2>&1)
	rc=$?
	check_eq "curl $v unknown.test fails with a TLS error (exit 35)" 35 "$rc"
	check_match "curl $v unknown.test: unrecognized name" "unrecognized name" "$out"
done

# The alert on the wire, byte for byte: a fatal (2) unrecognized_name (112)
# alert record in the client's own version (TLS 1.2 here, TLS 1.0 for the
# sniproxy vector), then the end of the stream.
got=$("$PTCLIENT" --connect "127.0.0.1:$P" --hello nope.example.com --read --timeout-ms 5000 \
    2>"$T/c1.err" | od -An -tx1 | tr -d ' \n')
check_eq "raw TLS 1.2 hello: the bytes received" "15030300020270" "$got"
check_match "raw TLS 1.2 hello: then EOF" "^result=eof" "$(cat "$T/c1.err")"
got=$("$PTCLIENT" --connect "127.0.0.1:$P" --hex-file tests/vectors/sniproxy-good_data_1.hex \
    --read --timeout-ms 5000 2>"$T/c2.err" | od -An -tx1 | tr -d ' \n')
check_eq "raw TLS 1.0 hello (SNI localhost): the bytes received" "15030100020270" "$got"
check_match "raw TLS 1.0 hello: then EOF" "^result=eof" "$(cat "$T/c2.err")"

proxy_wait_closes 8
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "nothing reached the other backend" 0 "$(sink_count other accept)"
check_counters_tls 1 "no_route_alert=7"
finish
