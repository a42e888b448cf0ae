#!/bin/bash
# Guards hello reassembly across TCP segments: a ClientHello arriving one byte per segment is routed by its SNI, forwarded byte-exact, and real TLS handshakes complete; on both engines, io_uring and epoll, in every pass.
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
# Real clients go through the shaper: their hello leaves it one byte per write.
shaper_start bytes "$PROXY_PORT" --bytes-per-write 1 --delay-ms 1
S=${SHAPER_PORT[bytes]}

check_eq "curl TLS 1.3 app.example.com, hello byte by byte" "backend-app" \
    "$(curl_get app.example.com "$S" whoami --tlsv1.3 2>&1)"
check_eq "curl TLS 1.2 app.example.com, hello byte by byte" "backend-app" \
    "$(curl_get app.example.com "$S" whoami --tlsv1.2 --tls-max 1.2 2>&1)"
check_eq "curl TLS 1.3 a.example.org (default), hello byte by byte" "backend-def" \
    "$(curl_get a.example.org "$S" whoami --tlsv1.3 2>&1)"
out=$(sclient "$S" -servername app.example.com)
check_eq "s_client app.example.com, hello byte by byte: certificate" "backend-app" "$(sclient_cn <<<"$out")"
check_match "s_client app.example.com, hello byte by byte: response" "^backend-app\$" "$out"

# The shaper really wrote each hello one byte at a time.
shaped=$(grep -c 'first record: \([0-9]*\) bytes, sent as \1 bytes in \1 writes' "$T/shaper-bytes.log")
check_eq "hellos the shaper sent one byte per write" 4 "$shaped"

# Raw hellos one byte per segment, to a sink: the same SNI, size and bytes arrive.
check_hello_reaches "built hello, 1-byte writes" lh --hello x.sink.test --chunk 1 --delay-ms 1
check_hello_reaches "sniproxy-good_data_5, 1-byte writes" lh \
    --hex-file tests/vectors/sniproxy-good_data_5.hex --chunk 1 --delay-ms 1
check_hello_reaches "3 KiB hello, 1-byte writes, no delay" lh --hello y.sink.test --pad 3000 --chunk 1

proxy_wait_closes 7
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters_tls 7
finish
