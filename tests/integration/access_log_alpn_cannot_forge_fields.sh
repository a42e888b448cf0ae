#!/bin/bash
# Guards the access log against forged fields: a ClientHello whose ALPN names carry spaces, '=', a quote and a backslash ("h2 client=6.6.6.6 reason=normal route=admin") yields one text line with exactly one of each field, the ALPN percent-encoded as README's log.format says, and one valid JSON line whose alpn array holds the names as sent.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || die "jq is missing"

FORGED='h2 client=6.6.6.6 reason=normal route=admin'
QUOTED='q"\'
SNI=app.example.com

hex_of() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
u8() { printf '%02x' "$1"; }
u16() { printf '%04x' "$1"; }
u24() { printf '%06x' "$1"; }

# hello_hex SNI NAME...: a TLS 1.2 ClientHello record with server_name SNI
# and application_layer_protocol_negotiation listing each NAME as it is.
hello_hex() {
	local sni=$1 list='' name h sni_ext alpn_ext exts body hs
	shift
	for name in "$@"; do
		h=$(hex_of "$name")
		list+=$(u8 $(( ${#h} / 2 )))$h
	done
	h=$(hex_of "$sni")
	# server_name(0): list length, host_name(0), name length, name
	sni_ext=0000$(u16 $(( ${#h} / 2 + 5 )))$(u16 $(( ${#h} / 2 + 3 )))00$(u16 $(( ${#h} / 2 )))$h
	# application_layer_protocol_negotiation(16): list length, names
	alpn_ext=0010$(u16 $(( ${#list} / 2 + 2 )))$(u16 $(( ${#list} / 2 )))$list
	exts=$sni_ext$alpn_ext
	# legacy_version 3,3; 32 random bytes; no session id; one suite
	# (ECDHE_RSA_WITH_AES_128_GCM_SHA256); null compression; extensions
	body=0303$(printf '%064d' 0)00'0002c02f'0100$(u16 $(( ${#exts} / 2 )))$exts
	hs=01$(u24 $(( ${#body} / 2 )))$body
	echo "160301$(u16 $(( ${#hs} / 2 )))$hs"
}

hello_hex "$SNI" "$FORGED" "$QUOTED" http/1.1 >"$T/hello.hex"
sink_start a

run() {	# FORMAT: one connection with the forged ALPN, its access log line in $T/access.log
	: >"$T/access.log"
	PROXY_LOG_EXTRA="access = \"$T/access.log\"; format = \"$1\";" \
	    proxy_start "routes = ( { sni = \"$SNI\"; backends = [ \"127.0.0.1:${SINK_PORT[a]}\" ]; } );"
	"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hex-file "$T/hello.hex" \
	    --then-bytes 100 --shutdown --read --timeout-ms 5000 >/dev/null 2>>"$T/client.err"
	WAIT_S=10 wait_until test -s "$T/access.log" || fail "$1: no access log line"
	proxy_stop
	check_log_faults "$1"
}

echo "--- text"
run text
L=$T/access.log
check_eq "text: lines" 1 "$(wc -l <"$L")"
for f in client listen sni alpn route backend bytes_in bytes_out connect_ms duration_ms reason; do
	check_eq "text: fields named $f" 1 "$(grep -oE "(^| )$f=" "$L" | wc -l)"
done
# Every field is a token: the timestamp, then eleven name=value with no space inside.
check_eq "text: words on the line" 12 "$(wc -w <"$L")"
check_match "text: the ALPN, percent-encoded" \
    ' alpn=h2%20client%3D6\.6\.6\.6%20reason%3Dnormal%20route%3Dadmin,q%22%5C,http/1\.1 ' "$(cat "$L")"
check_match "text: the real client and reason" ' client=127\.0\.0\.1:[0-9]+ .* reason=normal$' "$(cat "$L")"
check_match "text: the real route" " route=$SNI " "$(cat "$L")"

echo "--- json"
run json
check_eq "json: lines" 1 "$(wc -l <"$L")"
check_eq "json: the line parses" ok "$(jq -r 'if type == "object" then "ok" else "no" end' "$L" 2>&1)"
check_eq "json: the ALPN names as sent" "$(jq -cn --arg a "$FORGED" --arg b "$QUOTED" '[$a, $b, "http/1.1"]')" \
    "$(jq -c .alpn "$L" 2>&1)"
check_eq "json: client" 127.0.0.1 "$(jq -r '.client | sub(":[0-9]+$"; "")' "$L" 2>&1)"
check_eq "json: reason" normal "$(jq -r .reason "$L" 2>&1)"
check_eq "json: route" "$SNI" "$(jq -r .route "$L" 2>&1)"

finish
