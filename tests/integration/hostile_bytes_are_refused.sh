#!/bin/bash
# Guards the refusal of hostile first bytes: 200 seeded random garbage samples (1..20,000 bytes, plain and TLS-looking), an HTTP request, an SSLv2 hello, records of the wrong content type, a handshake claiming 16 MiB or just over hello_bytes, a record claiming 65,535 bytes are each closed at once (not after hello_ms), valid prefixes of a hello only at hello_ms, each counted under the right close reason (exact totals in passthrough-stats --json), and no backend ever accepts; on both engines, io_uring and epoll, in every pass.
# shellcheck disable=SC2317,SC2059  # helpers run through wait_until look unreachable; printf formats carry byte escapes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
run_per_engine

HELLO_MS=3000
# "At once": far below hello_ms, with room for a loaded machine.
PROMPT_MS=1000
PREFIX_SLACK_MS=1500
SEED=${HOSTILE_SEED:-20261126}
GARBAGE_PLAIN=150	# random bytes, first byte not 0x16 (a handshake record)
GARBAGE_RECORD=30	# 16 03 01, then random: an impossible record or handshake header
GARBAGE_HELLO=20	# a whole record holding a handshake header, then a random body

sink_start def
ACCESS_LOG=$T/access.log
PROXY_LOG_EXTRA="access = \"$ACCESS_LOG\";"
proxy_start "timeouts = { hello_ms = $HELLO_MS; };
limits = { hello_bytes = 65536; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[def]}\" ]; } );"

# The seeded random stream NAME: AES-CTR over zeros, keyed by the seed and
# NAME, so every run (and every machine) sends the same bytes.
rand_stream() {	# NAME BYTES
	openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$SEED-$1" -in /dev/zero 2>/dev/null |
	    head -c "$2"
}
# rand_ints NAME COUNT MIN MAX: COUNT seeded integers in MIN..MAX, one per line.
rand_ints() {
	rand_stream "$1" $(($2 * 4)) | od -An -v -tu4 -w4 | awk -v lo="$3" -v hi="$4" '{ print lo + $1 % (hi - lo + 1) }'
}
# rand BYTES: the next BYTES of one seeded stream (the garbage, sample after sample).
rand_stream garbage $(( (GARBAGE_PLAIN + GARBAGE_RECORD + GARBAGE_HELLO) * 20000 )) >"$T/garbage"
RAND_OFF=0
rand() {
	dd if="$T/garbage" iflag=skip_bytes,count_bytes skip="$RAND_OFF" count="$1" status=none
	RAND_OFF=$((RAND_OFF + $1))
}
byte_at() {	# FILE OFFSET: the byte's value, decimal
	od -An -j "$2" -N1 -tu1 "$1" | tr -d ' '
}
put_byte() {	# FILE OFFSET VALUE(octal escape): overwrite one byte
	printf "$3" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}
unhex() {	# FILE: the bytes its hex spells
	printf "$(tr -d ' \n' <"$1" | sed 's/../\\x&/g')"
}
u16() { printf "\\\\x%02x\\\\x%02x" $(($1 >> 8 & 255)) $(($1 & 255)); }
u24() { printf "\\\\x%02x\\\\x%02x\\\\x%02x" $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }

mkdir -p "$T/s"
: >"$T/list"
: >"$T/expect"
sample() {	# NAME EXPECTED-REASON: the file $T/s/NAME joins the list
	echo "$T/s/$1" >>"$T/list"
	echo "$1 $2" >>"$T/expect"
}

echo "--- samples (seed $SEED)"
i=0
for len in $(rand_ints plain-len "$GARBAGE_PLAIN" 1 20000); do
	f=$T/s/plain-$i
	rand "$len" >"$f"
	# 22 would start a handshake record: that is the next class.
	[ "$(byte_at "$f" 0)" = 22 ] && put_byte "$f" 0 '\000'
	sample "plain-$i" not_tls
	i=$((i + 1))
done
i=0
for len in $(rand_ints record-len "$GARBAGE_RECORD" 6 20000); do
	f=$T/s/record-$i
	{ printf '\x16\x03\x01'; rand $((len - 3)); } >"$f"
	rec=$(( $(byte_at "$f" 3) * 256 + $(byte_at "$f" 4) ))
	# A plausible record length needs a handshake type other than client_hello (1).
	[ "$rec" -ge 1 ] && [ "$rec" -le 16384 ] && [ "$(byte_at "$f" 5)" = 1 ] && put_byte "$f" 5 '\002'
	sample "record-$i" hello_malformed
	i=$((i + 1))
done
i=0
for len in $(rand_ints hello-len "$GARBAGE_HELLO" 64 16389); do
	# One whole record (len - 5 bytes) holding a whole handshake message
	# (len - 9 bytes of body) whose body is random, with legacy_version 0x00..
	f=$T/s/hello-$i
	{ printf "\\x16\\x03\\x01$(u16 $((len - 5)))\\x01$(u24 $((len - 9)))\\x00"; rand $((len - 10)); } >"$f"
	sample "hello-$i" hello_malformed
	i=$((i + 1))
done
echo "     $GARBAGE_PLAIN plain, $GARBAGE_RECORD record-like, $GARBAGE_HELLO hello-like garbage samples: $(xargs -d '\n' cat <"$T/list" | wc -c) bytes"

printf 'GET / HTTP/1.1\r\nHost: app.example.com\r\n\r\n' >"$T/s/http"
sample http not_tls
unhex tests/vectors/sniproxy-ssl20_client_hello.hex >"$T/s/sslv2"
sample sslv2 not_tls
printf '\x17\x03\x03\x00\x10abcdefghijklmnop' >"$T/s/appdata"	# application_data
sample appdata not_tls
printf '\x15\x03\x01\x00\x02\x02\x28' >"$T/s/alert"			# a fatal alert
sample alert not_tls
printf '\x14\x03\x03\x00\x01\x01' >"$T/s/ccs"				# change_cipher_spec
sample ccs not_tls
# A handshake header claiming 16 MiB (0xFFFFFF), in a full-size record.
{ printf '\x16\x03\x01\x40\x00\x01\xff\xff\xff'; head -c 512 /dev/zero; } >"$T/s/claims16m"
sample claims16m hello_too_big
# One byte over limits.hello_bytes: 4 + 65533 + the 5-byte record header.
{ printf "\\x16\\x03\\x01\\x40\\x00\\x01$(u24 65533)\\x03\\x03"; head -c 510 /dev/zero; } >"$T/s/overlimit"
sample overlimit hello_too_big
# A record header claiming 65,535 bytes (TLS allows 2^14), then a hello's start.
{ printf '\x16\x03\x01\xff\xff\x01\x00\xff\xfb\x03\x03'; head -c 512 /dev/zero; } >"$T/s/hugerecord"
sample hugerecord hello_malformed

# Valid prefixes: the proxy cannot tell them from a slow client: hello_ms.
unhex tests/vectors/openssl-tls1_3.hex >"$T/hello"
hello_len=$(stat -c %s "$T/hello")
for n in 1 2 5 6 9 100 $((hello_len - 1)); do
	head -c "$n" "$T/hello" >"$T/s/prefix-$n"
	sample "prefix-$n" hello_timeout
done
total=$(wc -l <"$T/list")
echo "     $total samples in all, each on its own connection, all at once"

flood_start bytes --connect "127.0.0.1:$PROXY_PORT" --count "$total" --list "$T/list" \
    --wait-ms $((HELLO_MS + 10000)) --per-conn
flood_wait bytes $((HELLO_MS / 1000 + 30))
echo "     $FLOOD_RESULT"
check_eq "connections up" "$total" "$(field up "$FLOOD_RESULT")"
check_eq "connections closed by the proxy" "$total" "$(field closed "$FLOOD_RESULT")"

# Per sample: closed at once, or (a valid prefix) at hello_ms.
paste -d' ' "$T/expect" <(awk '$1 == "conn"' "$T/flood-bytes.out") >"$T/outcome"
late=$(awk -v p="$PROMPT_MS" '$2 != "hello_timeout" { split($8, m, "="); if (m[2] == "-" || m[2] + 0 >= p) print $1, $5, $8 }' "$T/outcome")
check_eq "refused samples closed later than $PROMPT_MS ms" "" "$late"
slowest=$(awk '$2 != "hello_timeout" { split($8, m, "="); if (m[2] + 0 > x) x = m[2] + 0 } END { print x + 0 }' "$T/outcome")
echo "     slowest close of a refused sample: $slowest ms after its connect() call"
off=$(awk -v lo=$((HELLO_MS - PROXY_CLOCK_SLACK_MS)) -v hi=$((HELLO_MS + PREFIX_SLACK_MS)) \
    '$2 == "hello_timeout" { split($8, m, "="); if (m[2] == "-" || m[2] + 0 < lo || m[2] + 0 > hi) print $1, $5, $8 }' "$T/outcome")
check_eq "valid prefixes closed outside hello_ms .. +$PREFIX_SLACK_MS ms" "" "$off"
echo "     valid prefixes closed after (ms): $(awk '$2 == "hello_timeout" { split($8, m, "="); printf "%s ", m[2] }' "$T/outcome")"
echo "     closed with FIN: $(field fin "$FLOOD_RESULT"), with a reset: $(field reset "$FLOOD_RESULT")"

# Each sample's own reason: the access log line of its client port.
access_lines() { [ "$(grep -c ' reason=' "$ACCESS_LOG" 2>/dev/null)" -ge "$total" ]; }
WAIT_S=5 wait_until access_lines || fail "the access log has $(grep -c ' reason=' "$ACCESS_LOG") lines, not $total"
wrong=$(awk 'NR == FNR { if (match($0, / client=[^ ]*/)) { split(substr($0, RSTART + 8, RLENGTH - 8), a, ":"); r = $0; sub(/.* reason=/, "", r); got[a[2]] = r }; next }
    { split($12, p, "="); if (got[p[2]] != $2) print $1, "expected", $2, "got", (got[p[2]] == "" ? "nothing" : got[p[2]]) }' \
    "$ACCESS_LOG" "$T/outcome")
check_eq "samples closed for another reason than expected (by the access log)" "" "$(head -n 10 <<<"$wrong")"

check_eq "connections that reached a backend" 0 "$(sink_count def accept)"
stats_snap
count() { grep -c " $1\$" "$T/expect"; }
echo "     expected: not_tls=$(count not_tls) hello_malformed=$(count hello_malformed) hello_too_big=$(count hello_too_big) hello_timeout=$(count hello_timeout)"
check_closes_exact "not_tls=$(count not_tls) hello_malformed=$(count hello_malformed) hello_too_big=$(count hello_too_big) hello_timeout=$(count hello_timeout)"
check_eq "passthrough-stats: accepted" "$total" "$(stats_get totals.accepted)"
check_eq "passthrough-stats: bytes to backends" 0 "$(stats_get totals.bytes_in)"
check_gauges_zero
# Which reason did each sample get? The debug log names the refusal of each.
refusals=$(grep -oE 'hello refused: [a-z_0-9]+' "$PROXY_LOG" | sort | uniq -c | awk '{ printf "%s=%s ", $4, $1 }')
echo "     the proxy's refusal reasons: $refusals"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
