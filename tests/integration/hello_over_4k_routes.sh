#!/bin/bash
# Guards large hellos: a ClientHello over 4 KiB (and over one 16 KiB record) is routed and forwarded byte-exact, and one over limits.hello_bytes is refused without contacting a backend; on both engines, io_uring and epoll, in every pass.
. "$(dirname "$0")/lib.sh"
run_per_engine

nginx_start big def
sink_start lh
sink_start measure --close-after-hello

# An ALPN list of http/1.1 (so nginx agrees on it) and 20 long names: ~5 KiB.
alpn=http/1.1
for i in $(seq -w 0 19); do
	alpn="$alpn,proto$i-$(printf 'x%.0s' $(seq 240))"
done

routes="
routes = (
  { sni = \"big.example.com\";     backends = [ \"127.0.0.1:${NGINX_PORT[big]}\" ]; },
  { sni = \"measure.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[measure]}\" ]; },
  { sni = \"*.sink.test\";         backends = [ \"127.0.0.1:${SINK_PORT[lh]}\" ]; },
  { sni = \"*\";                   backends = [ \"127.0.0.1:${NGINX_PORT[def]}\" ]; }
);"

echo "--- default limits"
proxy_start "$routes"
P=$PROXY_PORT

# How big is the hello s_client sends with that list? The sink measures it.
sclient "$P" -servername measure.example.com -alpn "$alpn" >/dev/null
sink_wait measure hello 1
size=$(sink_field measure hello hello_bytes)
check_range "s_client's hello with the long ALPN list is over 4 KiB" 4097 16384 "$size"
check_eq "... and reached its backend by SNI" "measure.example.com" "$(sink_field measure hello sni)"

out=$(sclient "$P" -servername big.example.com -alpn "$alpn")
check_eq "s_client big.example.com, $size-byte hello: certificate" "backend-big" "$(sclient_cn <<<"$out")"
check_match "s_client big.example.com, $size-byte hello: ALPN agreed" "^ALPN protocol: http/1.1" "$out"
check_match "s_client big.example.com, $size-byte hello: response" "^backend-big\$" "$out"

check_hello_reaches "6000-byte built hello" lh --hello a.sink.test --pad 6000
check_hello_reaches "20000-byte built hello (2 records)" lh --hello b.sink.test --pad 20000
check_eq "... the sink parsed 2 records" 2 "$(sink_field lh hello records)"
check_hello_reaches "60000-byte built hello (4 records)" lh --hello c.sink.test --pad 60000

proxy_wait_closes 5
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters_tls 5

echo "--- limits.hello_bytes = 4096"
: >"$SINK_LOG"
proxy_start "limits = { hello_bytes = 4096; };
$routes"
P=$PROXY_PORT

check_hello_reaches "hello of exactly 4096 bytes (the limit)" lh --hello d.sink.test --pad 4096
for pad in 4097 6000; do
	"$PTCLIENT" --connect "127.0.0.1:$P" --hello e.sink.test --pad "$pad" --read \
	    --timeout-ms 5000 >/dev/null 2>"$T/c.err"
	check_match "$pad-byte hello: the proxy closes the connection" "^result=(eof|reset)" "$(cat "$T/c.err")"
done
out=$(sclient "$P" -servername measure.example.com -alpn "$alpn")
check_no_match "s_client with a $size-byte hello: no handshake" "^subject=" "$out"

proxy_wait_closes 4
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "hellos over the limit reached no backend: sink lh accepts" 1 "$(sink_count lh accept)"
check_eq "hellos over the limit reached no backend: sink measure accepts" 0 "$(sink_count measure accept)"
check_counters "normal=1 hello_too_big=3"
finish
