#!/bin/bash
# Guards hello reassembly across TLS records: a ClientHello split into 3 records (or 1-byte records) is routed by its SNI, forwarded byte-exact, and real TLS handshakes complete; on both engines, io_uring and epoll, in every pass.
. "$(dirname "$0")/lib.sh"
run_per_engine

nginx_start app def
sink_start lh
proxy_start "
routes = (
  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[app]}\" ]; },
  { sni = \"localhost\";       backends = [ \"127.0.0.1:${SINK_PORT[lh]}\" ]; },
  { sni = \"*.sink.test\";     backends = [ \"127.0.0.1:${SINK_PORT[lh]}\" ]; },
  { sni = \"*\";               backends = [ \"127.0.0.1:${NGINX_PORT[def]}\" ]; }
);"
# Real clients go through the shaper: their hello record leaves it as 3 records.
shaper_start three "$PROXY_PORT" --records 3
S=${SHAPER_PORT[three]}

check_eq "curl TLS 1.3 app.example.com, hello in 3 records" "backend-app" \
    "$(curl_get app.example.com "$S" whoami --tlsv1.3 2>&1)"
check_eq "curl TLS 1.2 app.example.com, hello in 3 records" "backend-app" \
    "$(curl_get app.example.com "$S" whoami --tlsv1.2 --tls-max 1.2 2>&1)"
check_eq "curl TLS 1.3 a.example.org (default), hello in 3 records" "backend-def" \
    "$(curl_get a.example.org "$S" whoami --tlsv1.3 2>&1)"
out=$(sclient "$S" -servername app.example.com)
check_eq "s_client app.example.com, hello in 3 records: certificate" "backend-app" "$(sclient_cn <<<"$out")"
check_match "s_client app.example.com, hello in 3 records: response" "^backend-app\$" "$out"

# The shaper really re-framed each hello: 3 record headers, 10 bytes more.
shaped=$(awk '/first record:/ { if ($8 == $4 + 10) n++ } END { print n + 0 }' "$T/shaper-three.log")
check_eq "hellos the shaper sent as 3 records" 4 "$shaped"

# Raw hellos re-framed, to a sink: the same SNI, size and bytes arrive.
check_hello_reaches "built hello in 3 records" lh --hello x.sink.test --records 3
check_eq "... the sink parsed 3 records" 3 "$(sink_field lh hello records)"
check_hello_reaches "built hello in 1-byte records" lh --hello y.sink.test --record-size 1
check_hello_reaches "sniproxy-good_data_1 in 3 records" lh \
    --hex-file tests/vectors/sniproxy-good_data_1.hex --records 3
check_hello_reaches "sniproxy-good_data_5 in 1-byte records, 7-byte writes" lh \
    --hex-file tests/vectors/sniproxy-good_data_5.hex --record-size 1 --chunk 7 --delay-ms 1
check_eq "... the sink parsed 236 records" 236 "$(sink_field lh hello records)"
check_hello_reaches "6 KiB hello in 3 records, 1000-byte writes" lh \
    --hello z.sink.test --pad 6000 --records 3 --chunk 1000 --delay-ms 1

proxy_wait_closes 9
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters_tls 9
finish
