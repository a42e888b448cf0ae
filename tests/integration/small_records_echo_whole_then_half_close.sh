#!/bin/bash
# Guards the request/response relay (adaptive's multishot wait): 150 small writes 2 ms apart, each echoed back by the backend, all come back whole and in order, and the client's half-close after them still reaches the backend and comes back as EOF; every relay passes it; on both engines, io_uring and epoll, in every pass.
. "$(dirname "$0")/lib.sh"
run_per_engine

# 150 writes of 40 bytes: each is a short read in each direction, so
# adaptive's directions wait with a multishot wait after their second one.
BYTES=6000
CHUNK=40
sink_start echo --echo
pattern=$("$PTCLIENT" --pattern "$BYTES" | sha256sum | cut -d' ' -f1)

for relay in adaptive splice splice_ring; do
	relay_on_engine "$relay" || continue	# splice_ring: io_uring only
	echo "--- relay = $relay"
	: >"$SINK_LOG"
	proxy_start "tuning = { relay = \"$relay\"; };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[echo]}\" ]; } );"
	"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello echo.example.com \
	    --then-bytes "$BYTES" --then-chunk "$CHUNK" --delay-ms 2 --shutdown --read \
	    --timeout-ms 20000 >"$T/echo.out" 2>"$T/c.err"
	sent=$(grep -oE '^sent bytes=[0-9]+' "$T/c.err" | cut -d= -f2)
	check_match "the echo ends with EOF, not a timeout" "^result=eof received=$((sent + BYTES)) " "$(cat "$T/c.err")"
	check_eq "the echoed records come back in order" "$pattern" \
	    "$(tail -c "$BYTES" "$T/echo.out" | sha256sum | cut -d' ' -f1)"
	proxy_wait_closes 1
	proxy_stop
	check_eq "proxy exit status" 0 "$PROXY_RC"
	check_counters "normal=1"
done
finish
