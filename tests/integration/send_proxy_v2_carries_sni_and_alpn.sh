#!/bin/bash
# Guards what send_proxy puts before the hello: a v2 header (PROXY, the client's address and port, the address it reached, AUTHORITY = the SNI, ALPN = the first offered protocol; neither when the client sent none) or a v1 line, exactly one, sent with the hello in one write, then the hello byte-exact (one record or eleven, in one write or trickled); a connect retry to the next backend sends it again, once.
. "$(dirname "$0")/lib.sh"

ppcheck_start pp
PP=${SINK_PORT[pp]}
DEAD=$(free_port)	# nothing listens there: the first try is refused
PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_start "
routes = (
  { sni = \"tls12.example.com\"; backends = [ \"127.0.0.1:$PP\" ]; send_proxy = \"v2\"; },
  { sni = \"tls13.example.com\"; backends = [ \"127.0.0.1:$DEAD\", \"127.0.0.1:$PP\" ]; send_proxy = \"v2\"; },
  { sni = \"big.example.org\"; backends = [ \"127.0.0.1:$PP\" ]; send_proxy = \"v2\"; },
  { sni = \"v1.example.com\"; backends = [ \"127.0.0.1:$PP\" ]; send_proxy = \"v1\"; },
  { sni = \"*\"; backends = [ \"127.0.0.1:$PP\" ]; send_proxy = \"v2\"; }
);"
P=$PROXY_PORT
n=0

# through WHAT VERSION AUTHORITY ALPN [ptclient options]: one client through
# the proxy; ptppcheck must log one header of VERSION from this client's
# address and port to the proxy's, with these TLVs (v2), then exactly the
# bytes the client sent. Sets FIRST_READ, HEADER_BYTES and SENT_BYTES.
through() {
	local what=$1 version=$2 auth=$3 alpn=$4 sent client before
	shift 4
	before=$(sink_count pp close)
	"$PTCLIENT" --connect "127.0.0.1:$P" --shutdown --read --timeout-ms 10000 "$@" \
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
	check_match "$what: the client is 127.0.0.1:port" '^127\.0\.0\.1:[0-9]+$' "$client"
	check_eq "$what: src = the client (access log)" "$client" "$(sink_field pp proxy src)"
	check_eq "$what: dst = the proxy's listener" "127.0.0.1:$P" "$(sink_field pp proxy dst)"
	check_eq "$what: AUTHORITY" "$auth" "$(sink_field pp proxy authority)"
	check_eq "$what: ALPN" "$alpn" "$(sink_field pp proxy alpn)"
	check_eq "$what: no second header" no "$(sink_field pp close second_header)"
	check_eq "$what: bytes after the header = bytes sent" "$(field bytes "$sent")" \
	    "$(sink_field pp close post)"
	check_eq "$what: ... byte-exact (FNV-1a)" "$(field fnv "$sent")" "$(sink_field pp close post_fnv)"
	HEADER_BYTES=$(sink_field pp proxy header_bytes)
	FIRST_READ=$(sink_field pp proxy first_read)
	SENT_BYTES=$(field bytes "$sent")
}
V=$ROOT/tests/vectors

through "v2 TLS 1.2 hello, one record" 2 tls12.example.com h2 --hex-file "$V/openssl-tls1_2.hex"
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

# A connect retry: the first backend refuses, the second gets one header.
accepts=$(sink_count pp accept)
through "v2 after a refused backend" 2 tls13.example.com h2 --hex-file "$V/openssl-tls1_3.hex"
check_eq "retry: ptppcheck accepted one connection" $((accepts + 1)) "$(sink_count pp accept)"
check_match "retry: the proxy tried the dead backend first" \
    "backend 127\\.0\\.0\\.1:$DEAD: connect: Connection refused" "$(cat "$PROXY_LOG")"

check_eq "ptppcheck never refused a header" 0 "$(sink_count pp proxy-refused)"
proxy_wait_closes "$n"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$n" "$(proxy_counter accepted)"
check_counters "normal=$n"
finish
