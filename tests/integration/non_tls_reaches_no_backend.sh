#!/bin/bash
# Guards the refusal of non-TLS, malformed and truncated first bytes: closed at once (not by the hello timeout), counted, and no backend is ever contacted; on both engines, io_uring and epoll, in every pass.
. "$(dirname "$0")/lib.sh"
run_per_engine

sink_start def
proxy_start "timeouts = { hello_ms = 5000; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[def]}\" ]; } );"
P=$PROXY_PORT

# Random garbage, except that it must not start like a TLS handshake record (22).
while :; do
	head -c 1024 /dev/urandom >"$T/garbage"
	[ "$(od -An -N1 -tu1 "$T/garbage" | tr -d ' ')" != 22 ] && break
done
printf 'GET / HTTP/1.1\r\nHost: app.example.com\r\n\r\n' >"$T/http"
# An application_data record (23), as if a handshake had already happened.
printf '\x17\x03\x03\x00\x10abcdefghijklmnop' >"$T/appdata"
# A handshake record of record version 2.0.
printf '\x16\x02\x00\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00' >"$T/version2"
# A handshake record holding a ServerHello (2), not a ClientHello.
printf '\x16\x03\x01\x00\x08\x02\x00\x00\x04\x03\x03\x00\x00' >"$T/serverhello"
# An empty handshake record.
printf '\x16\x03\x01\x00\x00' >"$T/empty"
# A handshake record longer than TLS allows (2^14).
{ printf '\x16\x03\x01\x48\x01'; head -c 64 /dev/zero; } >"$T/oversized"

n=0
for c in http=not_tls garbage=not_tls appdata=not_tls version2=not_tls \
    serverhello=malformed empty=malformed oversized=malformed; do
	name=${c%=*}
	"$PTCLIENT" --connect "127.0.0.1:$P" --raw-file "$T/$name" --read --timeout-ms 10000 \
	    >"$T/$name.out" 2>"$T/$name.err"
	res=$(grep '^result=' "$T/$name.err")
	check_match "$name: the proxy closes the connection" "^result=(eof|reset)" "$res"
	check_range "$name: ... at once (ms), not after hello_ms" 0 1000 "$(field elapsed_ms "$res")"
	check_eq "$name: ... sending nothing back" 0 "$(stat -c %s "$T/$name.out")"
	n=$((n + 1))
done

# A hello cut short by the client's FIN: counted as hello_eof, closed at once.
"$PTCLIENT" --connect "127.0.0.1:$P" --hex-file tests/vectors/sniproxy-bad_data_2.hex --shutdown \
    --read --timeout-ms 10000 >/dev/null 2>"$T/eof.err"
res=$(grep '^result=' "$T/eof.err")
check_match "truncated hello, then EOF: the proxy closes the connection" "^result=(eof|reset)" "$res"
check_range "truncated hello, then EOF: ... at once (ms)" 0 1000 "$(field elapsed_ms "$res")"
n=$((n + 1))

check_eq "connections that reached the backend" 0 "$(sink_count def accept)"
proxy_wait_closes "$n"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$n" "$(proxy_counter accepted)"
check_eq "bytes relayed to a backend" 0 "$(proxy_counter bytes_in)"
check_counters "not_tls=4 hello_malformed=3 hello_eof=1"
finish
