#!/bin/bash
# Guards a refused backend: the client is closed promptly (well under a second) once every backend tried refused, counted as connect_refused.
. "$(dirname "$0")/lib.sh"

d1=$(free_port) d2=$(free_port) d3=$(free_port)
sink_start other
proxy_start "
routes = (
  { sni = \"three.example.com\"; backends = [ \"127.0.0.1:$d1\", \"127.0.0.1:$d2\", \"127.0.0.1:$d3\" ]; },
  { sni = \"other.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[other]}\" ]; },
  { sni = \"*\";                 backends = [ \"127.0.0.1:$d1\" ]; }
);"
P=$PROXY_PORT

n=0
for sni in one.example.com one.example.com three.example.com three.example.com; do
	n=$((n + 1))
	"$PTCLIENT" --connect "127.0.0.1:$P" --hello "$sni" --read --timeout-ms 10000 \
	    >"$T/c.out" 2>"$T/c.err"
	res=$(grep '^result=' "$T/c.err")
	check_match "$sni ($n): the proxy closes the client" "^result=(eof|reset)" "$res"
	check_range "$sni ($n): ... within (ms)" 0 999 "$(field elapsed_ms "$res")"
	check_eq "$sni ($n): ... sending nothing" 0 "$(stat -c %s "$T/c.out")"
done
check_match "the proxy logs the refusal" "backend 127\\.0\\.0\\.1:($d1|$d2|$d3): connect: Connection refused" \
    "$(cat "$PROXY_LOG")"
check_eq "no other backend was tried" 0 "$(sink_count other accept)"

proxy_wait_closes "$n"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters "connect_refused=$n"
finish
