#!/bin/bash
# Guards backend failover: when a route's backend refuses, the next ones are tried (up to 3 in all), so every client still reaches the live backend.
. "$(dirname "$0")/lib.sh"

d1=$(free_port) d2=$(free_port)
nginx_start alive
A=${NGINX_PORT[alive]}
proxy_start "
routes = (
  { sni = \"two.example.com\";   backends = [ \"127.0.0.1:$d1\", \"127.0.0.1:$A\" ]; },
  { sni = \"three.example.com\"; backends = [ \"127.0.0.1:$d1\", \"127.0.0.1:$d2\", \"127.0.0.1:$A\" ]; }
);"
P=$PROXY_PORT

n=0
for sni in two.example.com three.example.com; do
	ok=0
	for i in $(seq 20); do
		got=$(curl_get "$sni" "$P" whoami 2>&1)
		if [ "$got" = backend-alive ]; then ok=$((ok + 1)); else echo "  $sni #$i: $got"; fi
		n=$((n + 1))
	done
	check_eq "$sni [dead...alive]: requests that reached the live backend" 20 "$ok"
done
# The dead backends were really tried (the first connection starts at one).
check_match "the proxy tried a dead backend" "backend 127\\.0\\.0\\.1:($d1|$d2): connect: Connection refused" \
    "$(cat "$PROXY_LOG")"

proxy_wait_closes "$n"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters_tls "$n"
finish
