#!/bin/bash
# Guards what send_proxy puts before the hello: a v2 header (PROXY, the client's address and port, the address it reached, AUTHORITY = the SNI, ALPN = the first offered protocol; neither when the client sent none) or a v1 line, exactly one, sent with the hello in one write, then the hello byte-exact (one record or eleven, in one write or trickled); behind accept_proxy it carries the address the balancer's header carried (LOCAL: the real one); a connect retry to the next backend sends it again, once.
. "$(dirname "$0")/lib.sh"

ppcheck_start pp
PP=${SINK_PORT[pp]}
DEAD=$(free_port)	# nothing listens there: the first try is refused
P=$(free_port)
PA=$(free_port)	# behind a balancer: accept_proxy, trusting 127.0.0.1
PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_conf_groups "$T/proxy.conf" 1 "
  \"127.0.0.1:$P\",
  { address = \"127.0.0.1:$PA\"; accept_proxy = true; trusted = [ \"127.0.0.1/32\" ]; }" "
routes = (
  { sni = \"tls12.example.com\"; backends = [ \"127.0.0.1:$PP\" ]; send_proxy = \"v2\"; },
  { sni = \"tls13.example.com\"; backends = [ \"127.0.0.1:$DEAD\", \"127.0.0.1:$PP\" ]; send_proxy = \"v2\"; },
  { sni = \"big.example.org\"; backends = [ \"127.0.0.1:$PP\" ]; send_proxy = \"v2\"; },
  { sni = \"v1.example.com\"; backends = [ \"127.0.0.1:$PP\" ]; send_proxy = \"v1\"; },
  { sni = \"*\"; backends = [ \"127.0.0.1:$PP\" ]; send_proxy = \"v2\"; }
);"
proxy_start_file "$T/proxy.conf" 1 "$P"
n=0

# through WHAT VERSION AUTHORITY ALPN [ptclient options]: one client through
# the proxy; ptppcheck must log one header of VERSION from this client's
# address and port to the proxy's, with these TLVs (v2), then exactly the
# bytes the client sent. Sets FIRST_READ, HEADER_BYTES and SENT_BYTES.
# Through the accept_proxy listener (TO=$PA) the client sends a header of
# its own first: WANT_SRC, WANT_DST and WANT_POST ("BYTES FNV": the hello
# after that header) say what must come out instead.
through() {
	local what=$1 version=$2 auth=$3 alpn=$4 sent client before src dst post
	shift 4
	before=$(sink_count pp close)
	"$PTCLIENT" --connect "127.0.0.1:${TO:-$P}" --shutdown --read --timeout-ms 10000 "$@" \
	    >/dev/null 2>"$T/client.err"
	n=$((n + 1))
	sent=$(grep '^sent ' "$T/client.err")
	WAIT_S=10 wait_until sink_has pp close $((before + 1)) ||
	    { fail "$what: ptppcheck logged no close ($(tail -n 1 "$T/client.err"))"; return; }
	WAIT_S=5 wait_until sh -c "[ \$(wc -l <'$T/access.log') -ge $n ]" ||
	    fail "$what: no access log line"
	client=$(field client "$(tail -n 1 "$T/access.log")")
	check_eq "$what: one header, then the connection" "proxy" \
	    "$(grep -E '^pp (proxy|proxy-refused) ' "$SINK_LOG" | tail -n 1 | cut -d' ' -f2)"
	check_eq "$what: version" "$version" "$(sink_field pp proxy version)"
	check_eq "$what: command" proxy "$(sink_field pp proxy command)"
	src=${WANT_SRC:-$client} dst=${WANT_DST:-127.0.0.1:${TO:-$P}}
	post=${WANT_POST:-$(field bytes "$sent") $(field fnv "$sent")}
	[ -n "${WANT_SRC:-}" ] || check_match "$what: the client is 127.0.0.1:port" '^127\.0\.0\.1:[0-9]+$' "$client"
	check_eq "$what: src = the client (as in the access log)" "$src $src" "$client $(sink_field pp proxy src)"
	check_eq "$what: dst = the address the client reached" "$dst" "$(sink_field pp proxy dst)"
	check_eq "$what: AUTHORITY" "$auth" "$(sink_field pp proxy authority)"
	check_eq "$what: ALPN" "$alpn" "$(sink_field pp proxy alpn)"
	check_eq "$what: no second header" no "$(sink_field pp close second_header)"
	check_eq "$what: bytes after the header = the hello sent, byte-exact (size, FNV-1a)" "$post" \
	    "$(sink_field pp close post) $(sink_field pp close post_fnv)"
	HEADER_BYTES=$(sink_field pp proxy header_bytes)
	FIRST_READ=$(sink_field pp proxy first_read)
	SENT_BYTES=$(field bytes "$sent")
}
V=$ROOT/tests/vectors

through "v2 TLS 1.2 hello, one record" 2 tls12.example.com h2 --hex-file "$V/openssl-tls1_2.hex"
HELLO12="$SENT_BYTES $(field fnv "$(grep '^sent ' "$T/client.err")")"
# Header and hello in one send(): the backend's first read has both.
check_range "v2: the backend's first read holds header and hello" \
    $((HEADER_BYTES + SENT_BYTES)) 100000 "$FIRST_READ"
through "v2 hello without SNI" 2 - http/1.1 --hex-file "$V/openssl-no_sni.hex"
through "v2 hello of 11 records, 22 protocols" 2 big.example.org h2 \
    --hex-file "$V/openssl-long_alpn.hex"
through "v2 hello one byte per write" 2 tls12.example.com h2 \
    --hex-file "$V/openssl-tls1_2.hex" --chunk 1 --delay-ms 2
through "v2 hello without ALPN" 2 v2.example.net - --hello v2.example.net
through "v1" 1 - - --hello v1.example.com
check_range "v1: the backend's first read holds header and hello" \
    $((HEADER_BYTES + SENT_BYTES)) 100000 "$FIRST_READ"

# Behind a balancer: what its header carried goes on; LOCAL: the real endpoints.
{ pp_v2_hex proxy 192.0.2.7 5555 203.0.113.9 443; cat "$V/openssl-tls1_2.hex"; } >"$T/in-v2.hex"
{ pp_v1_hex 198.51.100.4 6666 203.0.113.10 8443; cat "$V/openssl-tls1_2.hex"; } >"$T/in-v1.hex"
{ pp_v2_hex local 192.0.2.99 7777 203.0.113.9 443; cat "$V/openssl-tls1_2.hex"; } >"$T/in-local.hex"
TO=$PA WANT_SRC=192.0.2.7:5555 WANT_DST=203.0.113.9:443 WANT_POST=$HELLO12 \
    through "v2 in, v2 out: the carried addresses" 2 tls12.example.com h2 --hex-file "$T/in-v2.hex"
TO=$PA WANT_SRC=198.51.100.4:6666 WANT_DST=203.0.113.10:8443 WANT_POST=$HELLO12 \
    through "v1 in, v2 out: the carried addresses" 2 tls12.example.com h2 --hex-file "$T/in-v1.hex"
TO=$PA WANT_POST=$HELLO12 \
    through "LOCAL in, v2 out: the real endpoints" 2 tls12.example.com h2 --hex-file "$T/in-local.hex"

# A connect retry: the first backend refuses, the second gets one header.
# The first backend a connection tries goes round the route's list, so two
# connections: one of them starts at the refusing one.
accepts=$(sink_count pp accept)
for i in 1 2; do
	through "v2 on [refusing, ptppcheck], connection $i" 2 tls13.example.com h2 \
	    --hex-file "$V/openssl-tls1_3.hex"
done
check_eq "retry: ptppcheck accepted one connection each" $((accepts + 2)) "$(sink_count pp accept)"
check_eq "retry: the proxy tried the refusing backend once" 1 \
    "$(grep -c "backend 127\\.0\\.0\\.1:$DEAD: connect: Connection refused" "$PROXY_LOG")"

check_eq "ptppcheck never refused a header" 0 "$(sink_count pp proxy-refused)"
proxy_wait_closes "$n"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$n" "$(proxy_counter accepted)"
check_counters "normal=$n"
finish
