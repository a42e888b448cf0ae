#!/bin/bash
# Guards weighted backends: with 2 workers, 4,000 connections to a route weighted 3:1 (plus a backend of weight 0) split within 3% of 75/25 and the drained one gets none; a reject backend's share (1 in 2) is answered with a TLS internal_error alert and counted as rejected; a route whose only backends are drained rejects every client.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

sink_start A --send-then-shutdown 1111
sink_start B --send-then-shutdown 1111
sink_start Z --send-then-shutdown 1111
sink_start R --send-then-shutdown 1111
proxy_start -w 2 "
routes = (
  { sni = \"w.example.com\"; backends = (
      { address = \"127.0.0.1:${SINK_PORT[A]}\"; weight = 3; },
      \"127.0.0.1:${SINK_PORT[B]}\",
      { address = \"127.0.0.1:${SINK_PORT[Z]}\"; weight = 0; } ); },
  { sni = \"r.example.com\"; backends = (
      { address = \"127.0.0.1:${SINK_PORT[R]}\"; weight = 1; },
      { reject = true; weight = 1; } ); },
  { sni = \"d.example.com\"; backends = ( { address = \"127.0.0.1:${SINK_PORT[Z]}\"; weight = 0; } ); }
);"

loop_start w --hello w.example.com --connect "127.0.0.1:$PROXY_PORT" --total 4000 \
    --concurrency 8 --expect-bytes 1111 --timeout-ms 5000
loop_wait w 120
check_loop_clean "w.example.com" 4000
a=$(sink_count A accept) b=$(sink_count B accept)
echo "     A (weight 3): $a, B (weight 1): $b"
check_eq "every connection reached A or B" 4000 $((a + b))
check_range "A's share (75% +- 3% of 4000)" 2880 3120 "$a"
check_eq "the drained backend (weight 0) got none" 0 "$(sink_count Z accept)"

# The reject share: the client gets a 7-byte fatal alert (level 2, internal_error 80).
loop_start r --hello r.example.com --connect "127.0.0.1:$PROXY_PORT" --total 200 \
    --concurrency 4 --expect-bytes 1111,7 --timeout-ms 5000
loop_wait r 60
check_loop_clean "r.example.com" 200
r=$(sink_count R accept)
echo "     R (weight 1): $r of 200, the reject backend (weight 1) the rest"
check_range "R's share (half, give or take a worker's odd turn)" 96 104 "$r"
out=$(timeout 10 openssl s_client -connect "127.0.0.1:$PROXY_PORT" -servername d.example.com </dev/null 2>&1)
check_match "every backend drained: the client is told internal error" "alert internal error" "$out"

proxy_stop
check_eq "closed as rejected (the reject share and the drained route)" $((200 - r + 1)) \
    "$(proxy_counter rejected)"
check_eq "drained backend Z never connected" 0 "$(sink_count Z accept)"
finish
