#!/bin/bash
# make-corpus.sh -- regenerates tests/fuzz/corpus/clienthello/: every
# tests/vectors/*.hex, ClientHellos captured live from this machine's
# openssl s_client and curl, two crafted ~2 KB hellos (a padding extension
# the size of a post-quantum key share, in one and in two records), and
# bare handshake messages for the target to frame (some padded to end near
# the 512 and 4096 limits).
#
# Each seed is the fuzz target's 3-byte header (mode: limit and scratch;
# 16-bit chunking seed) followed by the raw wire bytes. Needs openssl, curl
# and python3 (the listener that records what a client sends first).
# Run from anywhere; rewrites only that directory.
set -eu
cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus/clienthello
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${lpid:-}" ] && kill "$lpid" 2>/dev/null || true' EXIT
mkdir -p "$out"
rm -f "$out"/*

# seed NAME MODE SEED FILE: header + raw bytes.
seed() {
	printf "\\x$(printf %02x $(($2 & 255)))\\x$(printf %02x $((($3 >> 8) & 255)))\\x$(printf %02x $(($3 & 255)))" \
	    >"$out/$1"
	cat "$4" >>"$out/$1"
}

# Modes (clienthello_fuzz.c): 0 = 512, 1 = 4096, 2 = 65536, 3 = 2048; +4 short scratch.
i=0
for f in tests/vectors/*.hex; do
	name=$(basename "$f" .hex)
	xxd -r -p "$f" >"$tmp/$name.bin"
	seed "vector-$name" 2 $((i * 7919)) "$tmp/$name.bin"
	i=$((i + 1))
done
seed vector-openssl-long_alpn-4096 1 1 "$tmp/openssl-long_alpn.bin"
seed vector-openssl-long_alpn-short-scratch 6 2 "$tmp/openssl-long_alpn.bin"
seed vector-sniproxy-good_data_2-512 0 3 "$tmp/sniproxy-good_data_2.bin"

# A listener that writes the first bytes of each connection to the named file.
port=$((20000 + RANDOM % 20000))
cat >"$tmp/listen.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
for path in sys.argv[2:]:
    c, _ = s.accept()
    c.settimeout(1.0)
    data = b""
    try:
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    open(path, "wb").write(data)
    c.close()
EOF

captures="ossl-tls12-alpn ossl-tls12-noalpn ossl-tls13-noalpn ossl-tls13-alpn ossl-tls13-big-alpn
curl-tls13-h2 curl-tls12-http11 curl-tls13-noalpn"
# shellcheck disable=SC2086
python3 "$tmp/listen.py" "$port" $(for c in $captures; do echo "$tmp/$c.bin"; done) &
lpid=$!
sleep 0.5

sclient() {
	timeout 5 openssl s_client -connect "127.0.0.1:$port" "$@" </dev/null >/dev/null 2>&1 || true
}
big_alpn=h2,http/1.1
for k in 0 1 2 3 4 5; do
	big_alpn="$big_alpn,proto$k-$(printf 'x%.0s' $(seq 240))"
done
sclient -tls1_2 -servername tls12.example.com -alpn h2,http/1.1
sclient -tls1_2 -servername App.Example.COM.
sclient -tls1_3 -servername tls13.example.com
sclient -tls1_3 -servername tls13.example.com -alpn h2,http/1.1
sclient -tls1_3 -servername big.example.org -alpn "$big_alpn"
url="https://app.example.com:$port/"
res="app.example.com:$port:127.0.0.1"
timeout 5 curl -sk --resolve "$res" "$url" >/dev/null 2>&1 || true
timeout 5 curl -sk --http1.1 --tls-max 1.2 --resolve "$res" "$url" >/dev/null 2>&1 || true
timeout 5 curl -sk --no-alpn --resolve "$res" "$url" >/dev/null 2>&1 || true
wait "$lpid"
lpid=

i=0
for c in $captures; do
	[ -s "$tmp/$c.bin" ] || { echo "no capture for $c" >&2; exit 1; }
	seed "$c" $((i % 4)) $((i * 104729 % 65536)) "$tmp/$c.bin"
	i=$((i + 1))
done

# A padding extension (21, RFC 7685) of 1,800 bytes added to the TLS 1.3
# capture: the size a post-quantum key share gives, which OpenSSL 3.0
# cannot send. Then the same hello cut into two records at byte 1,400.
python3 - "$tmp/ossl-tls13-alpn.bin" "$tmp/pq1.bin" "$tmp/pq2.bin" <<'EOF'
import struct, sys
wire = open(sys.argv[1], "rb").read()
rec_len = struct.unpack(">H", wire[3:5])[0]
msg = wire[5:5 + rec_len]
assert msg[0] == 1
body = msg[4:]
c = 2 + 32
c += 1 + body[c]
c += 2 + struct.unpack(">H", body[c:c + 2])[0]
c += 1 + body[c]
ext_len = struct.unpack(">H", body[c:c + 2])[0]
pad = struct.pack(">HH", 21, 1800) + b"\0" * 1800
exts = body[c + 2:c + 2 + ext_len] + pad
body = body[:c] + struct.pack(">H", len(exts)) + exts
msg = bytes([1]) + struct.pack(">I", len(body))[1:] + body
def record(b):
    return bytes([22]) + wire[1:3] + struct.pack(">H", len(b)) + b
open(sys.argv[2], "wb").write(record(msg))
open(sys.argv[3], "wb").write(record(msg[:1400]) + record(msg[1400:]))
EOF
# The message alone (mode bit 3: the target frames it into records; bit 4:
# and sets its length), for a few hellos, and padded to end near 512 and
# 4096 bytes, where the framing decides between OK and TOO_BIG.
python3 - "$tmp" <<'EOF'
import struct, sys
tmp = sys.argv[1]
def message(wire):
    msg, off = b"", 0
    while True:
        n = struct.unpack(">H", wire[off + 3:off + 5])[0]
        msg += wire[off + 5:off + 5 + n]
        off += 5 + n
        if len(msg) >= 4 and len(msg) >= 4 + int.from_bytes(msg[1:4], "big"):
            return msg[:4 + int.from_bytes(msg[1:4], "big")]
def pad_to(msg, total):
    body = msg[4:]
    c = 2 + 32
    c += 1 + body[c]
    c += 2 + struct.unpack(">H", body[c:c + 2])[0]
    c += 1 + body[c]
    ext_len = struct.unpack(">H", body[c:c + 2])[0]
    pad = total - len(msg) - 4
    exts = body[c + 2:c + 2 + ext_len] + struct.pack(">HH", 21, pad) + b"\0" * pad
    body = body[:c] + struct.pack(">H", len(exts)) + exts
    return bytes([1]) + struct.pack(">I", len(body))[1:] + body
for name in ["ossl-tls13-alpn", "curl-tls13-h2", "ossl-tls12-alpn", "pq2"]:
    wire = open(f"{tmp}/{name}.bin", "rb").read()
    open(f"{tmp}/{name}.msg", "wb").write(message(wire))
m = message(open(f"{tmp}/ossl-tls13-alpn.bin", "rb").read())
open(f"{tmp}/edge512.msg", "wb").write(pad_to(m, 490))
open(f"{tmp}/edge4096.msg", "wb").write(pad_to(m, 4070))
# SNI at the edges of its syntax: the server_name extension replaced by
# one listing these host names (lengths a mutation cannot keep consistent).
def with_sni(msg, names):
    body = msg[4:]
    c = 2 + 32
    c += 1 + body[c]
    c += 2 + struct.unpack(">H", body[c:c + 2])[0]
    c += 1 + body[c]
    end = c + 2 + struct.unpack(">H", body[c:c + 2])[0]
    out, e = b"", c + 2
    while e < end:
        t, n = struct.unpack(">HH", body[e:e + 4])
        if t != 0:
            out += body[e:e + 4 + n]
        e += 4 + n
    lst = b"".join(b"\0" + struct.pack(">H", len(x)) + x for x in names)
    out = struct.pack(">HHH", 0, len(lst) + 2, len(lst)) + lst + out
    body = body[:c] + struct.pack(">H", len(out)) + out
    return bytes([1]) + struct.pack(">I", len(body))[1:] + body
label63, label64 = b"a" * 63, b"b" * 64
name255 = b".".join([label63] * 4)[:253] + b"x."	# 255 bytes, trailing dot
for tag, names in [("label63", [label63 + b".example"]),
    ("label64", [label64 + b".example"]), ("name255", [name255]),
    ("name256", [name255 + b"y"]), ("two-host-names", [b"a.test", b"b.test"]),
    ("odd-bytes", [b"under_score.-dash.Test."])]:
    open(f"{tmp}/sni-{tag}.msg", "wb").write(with_sni(m, names))
EOF
for f in "$tmp"/sni-*.msg; do
	seed "framed-$(basename "$f" .msg)" $((8 + 2)) 17 "$f"
done
seed framed-ossl-tls13-alpn $((8 + 2)) 11 "$tmp/ossl-tls13-alpn.msg"
seed framed-curl-tls13-h2 $((8 + 16 + 2)) 12 "$tmp/curl-tls13-h2.msg"
seed framed-ossl-tls12-alpn $((8 + 16 + 1)) 13 "$tmp/ossl-tls12-alpn.msg"
seed framed-pq-sized $((8 + 16 + 3)) 14 "$tmp/pq2.msg"
seed framed-edge-512 $((8 + 16 + 0)) 15 "$tmp/edge512.msg"
seed framed-edge-4096 $((8 + 16 + 1)) 16 "$tmp/edge4096.msg"
seed crafted-pq-sized-padding 2 4242 "$tmp/pq1.bin"
seed crafted-pq-sized-two-records 2 777 "$tmp/pq2.bin"
seed crafted-pq-sized-two-records-2048 3 99 "$tmp/pq2.bin"
ls -l "$out" | tail -n +2 | wc -l
du -sh "$out"
