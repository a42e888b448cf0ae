#!/bin/bash
# Guards the statistics and the access log: a known workload (50 connections to an exact route, 20 to a wildcard, 10 without SNI, 5 not TLS, 5 to a refusing backend, 3 that time out in the hello) gives exact counters in passthrough-stats --json and exactly one access log line per connection, with the right fields, in text and JSON.
. "$(dirname "$0")/lib.sh"

STATS=$BUILD/passthrough-stats
[ -x "$STATS" ] || die "$STATS is missing: build it with make BUILD=$BUILD all"
command -v jq >/dev/null || die "jq is missing: tools/deps.sh test installs it"

sink_start a
sink_start b
DEAD=$(free_port)	# nothing listens there: connections are refused
HELLO_MS=1000

run_workload() {	# FORMAT
	local format=$1 i
	: >"$T/access.log"
	PROXY_LOG_EXTRA="access = \"$T/access.log\"; format = \"$format\";" \
	    proxy_start -w 2 "timeouts = { hello_ms = $HELLO_MS; };
routes = (
  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[a]}\" ]; },
  { sni = \"*.example.org\"; backends = [ \"127.0.0.1:${SINK_PORT[b]}\" ]; },
  { sni = \"refuse.example.net\"; backends = [ \"127.0.0.1:$DEAD\" ]; },
  { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[b]}\" ]; }
);"
	# The three slow ones first: they end by the hello timeout meanwhile.
	for i in 1 2 3; do
		spawn "$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" \
		    --hex-file "$ROOT/tests/vectors/sniproxy-bad_data_3.hex" --read --timeout-ms 10000
	done
	slow_pids=("${PIDS[@]: -3}")
	client() { "$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --shutdown --read \
	    --timeout-ms 10000 "$@" >/dev/null 2>>"$T/clients.err"; }
	for i in $(seq 50); do client --hello app.example.com --then-bytes 1000; done
	for i in $(seq 20); do client --hello "h$i.x.example.org" --then-bytes 2000; done
	for i in $(seq 10); do client --hello - --then-bytes 3000; done
	printf 'GET / HTTP/1.0\r\n\r\n' >"$T/http.txt"
	for i in $(seq 5); do client --raw-file "$T/http.txt"; done
	for i in $(seq 5); do client --hello refuse.example.net; done
	for pid in "${slow_pids[@]}"; do wait "$pid" 2>/dev/null; done
	WAIT_S=10 wait_until sh -c "[ \$(wc -l <'$T/access.log') -ge 93 ]"
	"$STATS" -c "$PROXY_CONF" --json >"$T/stats.json" || fail "passthrough-stats --json failed"
	proxy_stop
}

# j FILTER: a value from the stats snapshot.
j() { jq -r "$1" "$T/stats.json"; }

check_stats() {
	check_eq "accepted" 93 "$(j .totals.accepted)"
	check_eq "closes normal" 80 "$(j .totals.closes.normal)"
	check_eq "closes not_tls" 5 "$(j .totals.closes.not_tls)"
	check_eq "closes connect_refused" 5 "$(j .totals.closes.connect_refused)"
	check_eq "closes hello_timeout" 3 "$(j .totals.closes.hello_timeout)"
	check_eq "other closes" 0 "$(j '[.totals.closes | to_entries[] |
	    select(.key | IN("normal","not_tls","connect_refused","hello_timeout") | not) |
	    .value] | add // 0')"
	check_eq "active at the end" 0 "$(j .totals.active)"
	check_eq "workers running" 2 "$(j .workers_running)"
	route() { j ".routes[] | select(.route == \"$1\") | .$2"; }
	check_eq "route app.example.com connections" 50 "$(route app.example.com connections)"
	check_eq "route *.example.org connections" 20 "$(route '*.example.org' connections)"
	check_eq "route * connections" 10 "$(route '*' connections)"
	check_eq "route refuse.example.net connections" 5 "$(route refuse.example.net connections)"
	check_eq "route refuse.example.net connect failures" 5 \
	    "$(route refuse.example.net connect_failures)"
	check_eq "route app.example.com active" 0 "$(route app.example.com active)"
	# Each app.example.com connection moved its hello plus 1000 bytes in.
	hello=$(field hello_bytes "$(grep -m1 '^sent .*sni=app.example.com' "$T/clients.err")")
	check_eq "route app.example.com bytes in" $((50 * (hello + 1000))) \
	    "$(route app.example.com bytes_in)"
	check_eq "backend $DEAD connect failures" 5 \
	    "$(j ".backends[] | select(.backend == \"127.0.0.1:$DEAD\") | .connect_failures")"
	check_eq "backend sink a connections" 50 \
	    "$(j ".backends[] | select(.backend == \"127.0.0.1:${SINK_PORT[a]}\") | .connections")"
	check_eq "hello size histogram count" 85 "$(j .totals.histograms.hello_size_bytes.count)"
	check_eq "connect time histogram count" 80 "$(j .totals.histograms.connect_duration_us.count)"
	check_eq "lifetime histogram count" 93 "$(j .totals.histograms.connection_duration_ms.count)"
}

echo "--- text access log"
: >"$T/clients.err"
run_workload text
check_stats
L=$T/access.log
check_eq "access log lines" 93 "$(wc -l <"$L")"
check_eq "lines with reason=normal route=app.example.com" 50 \
    "$(grep -c 'sni=app.example.com .*route=app.example.com backend=127.0.0.1:'"${SINK_PORT[a]}"' .*reason=normal$' "$L")"
check_eq "wildcard lines" 20 "$(grep -c 'sni=h[0-9]*\.x\.example\.org .*route=\*\.example\.org .*reason=normal$' "$L")"
check_eq "no-SNI lines" 10 "$(grep -c 'sni=- .*route=\* .*reason=normal$' "$L")"
check_eq "not-TLS lines" 5 "$(grep -c 'sni=- alpn=- route=- backend=- bytes_in=0 bytes_out=0 connect_ms=- .*reason=not_tls$' "$L")"
check_eq "refused lines" 5 "$(grep -c "sni=refuse.example.net .*route=refuse.example.net backend=127.0.0.1:$DEAD .*connect_ms=- .*reason=connect_refused$" "$L")"
check_eq "hello timeout lines" 3 "$(grep -c 'sni=- .*route=- .*reason=hello_timeout$' "$L")"
check_eq "every line names the client and the listener" 93 \
    "$(grep -cE "^[0-9T:.-]+Z client=127\.0\.0\.1:[0-9]+ listen=127\.0\.0\.1:$PROXY_PORT " "$L")"
check_eq "normal lines carry bytes and a connect time" 80 \
    "$(grep -cE 'bytes_in=[1-9][0-9]* bytes_out=[0-9]+ connect_ms=[0-9]+\.[0-9]{3} duration_ms=[0-9]+ reason=normal$' "$L")"

echo "--- JSON access log"
: >"$T/clients.err"
run_workload json
check_stats
check_eq "JSON access log lines" 93 "$(wc -l <"$L")"
check_eq "every line is one JSON object" 93 "$(jq -c . "$L" 2>/dev/null | wc -l)"
check_eq "reasons" "80 normal|5 connect_refused|5 not_tls|3 hello_timeout|" \
    "$(jq -r .reason "$L" | sort | uniq -c | sort -k1,1nr -k2,2 | awk '{printf "%s %s|", $1, $2}')"
check_eq "no-SNI lines have sni null" 18 "$(jq -r 'select(.sni == null) | .reason' "$L" | wc -l)"
check_eq "app lines name route, backend and bytes" 50 \
    "$(jq -r "select(.route == \"app.example.com\" and .backend == \"127.0.0.1:${SINK_PORT[a]}\" and .bytes_in > 1000 and (.connect_ms | type) == \"number\") | .sni" "$L" | wc -l)"
finish
