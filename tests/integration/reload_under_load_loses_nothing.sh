#!/bin/bash
# Guards reloading under load: 30 SIGHUP reloads alternating two route sets while new connections never stop and 10 TLS transfers of 256 MiB run: no connection fails or resets, every transfer is byte-exact, new connections follow each new set within 100 ms, no worker restarts.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

RELOADS=30
BIG=$((256 * 1024 * 1024))
DOWNLOADS=8
UPLOADS=2
# 256 MiB at 8 MiB/s take 32 s: beyond the reload sequence below (~20 s;
# ~26 s with every stall of STALLS_MAX measured again). Each transfer must
# span it (checked at the end), and any longer is waiting for nothing.
RATE=8M
# Time from one reload's signal to the next one. ms
GAP_MS=600
# What a reload may take until new connections reach the new backend. ms
LATENCY_MAX_MS=100

# Raw sinks for the connection loop: the reply size tells which one answered.
sink_start X --send-then-shutdown 1111
sink_start Y --send-then-shutdown 2222
nginx_start nx ny big
head -c "$BIG" /dev/urandom >"$T/www/big/blob" || die "making the 256 MiB file"
want=$(sha256sum <"$T/www/big/blob" | cut -d' ' -f1)

# Route set A sends the test names to X and nx, set B to Y and ny; the
# transfers' name stays on big. The timeouts differ too: still no worker restart.
routes() {
	local sink=X web=nx hello=5000
	[ "$1" = B ] && { sink=Y web=ny hello=4000; }
	cat <<-EOF
	timeouts = { hello_ms = $hello; };
	routes = (
	  { sni = "loop.example.com"; backends = [ "127.0.0.1:${SINK_PORT[$sink]}" ]; },
	  { sni = "who.example.com";  backends = [ "127.0.0.1:${NGINX_PORT[$web]}" ]; },
	  { sni = "big.example.com";  backends = [ "127.0.0.1:${NGINX_PORT[big]}" ]; }
	);
	EOF
}
proxy_start -w 2 "$(routes A)"
P=$PROXY_PORT
workers_before=$(proxy_children)
check_eq "workers at the start" 2 "$(wc -w <<<"$workers_before")"

# ---- the load -------------------------------------------------------------------

transfer() {	# N down|up: one rate-limited transfer; writes $T/tr-N.res "START END RC HASH"
	local n=$1 dir=$2 s e rc hash code
	now_us s
	if [ "$dir" = down ]; then
		hash=$(curl_get big.example.com "$P" blob --limit-rate "$RATE" --max-time 120 --fail \
		    2>"$T/tr-$n.err" | sha256sum | cut -d' ' -f1; exit "${PIPESTATUS[0]}")
		rc=$?
	else
		code=$(curl_get big.example.com "$P" "up/blob-$n" -T "$T/www/big/blob" \
		    --limit-rate "$RATE" --max-time 120 -o /dev/null -w '%{http_code}' 2>"$T/tr-$n.err")
		rc=$?
		[ "$code" = 201 ] || rc="http-$code"
		hash=$(sha256sum <"$T/www/big/up/blob-$n" 2>/dev/null | cut -d' ' -f1)
	fi
	now_us e
	echo "$s $e $rc $hash" >"$T/tr-$n.res"
}
for ((i = 1; i <= DOWNLOADS + UPLOADS; i++)); do
	dir=down
	[ "$i" -gt "$DOWNLOADS" ] && dir=up
	spawn transfer "$i" "$dir"
done
big_conns() {	# the proxy's connections to the big backend
	ss -Htn state established "( dport = :${NGINX_PORT[big]} )" | wc -l
}
big_all() { [ "$(big_conns)" -ge $((DOWNLOADS + UPLOADS)) ]; }
WAIT_S=20 wait_until big_all || die "the transfers did not all start: $(big_conns) connections"

curl_loop() {	# real TLS, one GET /whoami after the other: "START END RC BODY" per request
	local s e out rc
	while [ ! -e "$T/stop-curl" ]; do
		now_us s
		out=$(curl_get who.example.com "$P" whoami --max-time 10 2>&1)
		rc=$?
		now_us e
		echo "$s $e $rc ${out//$'\n'/ }" >>"$T/curl.out"
		sleep 0.02
	done
}
: >"$T/curl.out"
spawn curl_loop
CURL_LOOP=$BG_PID
loop_start main --connect "127.0.0.1:$P" --hello loop.example.com --concurrency 4 \
    --interval-ms 2 --expect-bytes 1111,2222 --timeout-ms 10000
WAIT_S=10 wait_until loop_has main 100 || die "the connection loop does not get answers"
sleep 1

# ---- the reloads ------------------------------------------------------------------

seen_new() {	# T0 BYTES: a connection begun at or after T0 got BYTES from the new backend
	tail -n 400 "$T/loop-main.out" |
	    awk -v t0="$1" -v b="$2" '$1 >= t0 && $3 == "ok" && $4 == b { f = 1 } END { exit !f }'
}
# measure T0 BYTES: "LATENCY_US ENDED": from T0 to the end of the first
# connection begun since that got BYTES, and how many connections of any
# kind ended in between.
measure() {
	tail -n 4000 "$T/loop-main.out" | awk -v t0="$1" -v b="$2" '
		{ end[NR] = $2 }
		$1 >= t0 && $3 == "ok" && $4 == b && (f == 0 || $2 < f) { f = $2 }
		END {
			if (f == 0) { print "none 0"; exit }
			for (i in end) if (end[i] > t0 && end[i] < f) n++
			print f - t0, n + 0
		}'
}
# A reload slower than LATENCY_MAX_MS during which the loop saw no
# connection end at all is a stall of the whole machine (a benchmark shares
# it), not a slow switch: it is marked "stall" and one more reload is made
# in its place, at most STALLS_MAX times. Its connections still count in
# every other check.
STALLS_MAX=10
: >"$T/reloads"
good=0 stalls=0
for ((k = 1; good < RELOADS && stalls <= STALLS_MAX; k++)); do
	set=B bytes=2222
	((k % 2 == 0)) && { set=A bytes=1111; }
	proxy_conf_write "$PROXY_CONF" 2 "\"127.0.0.1:$P\"" "$(routes $set)"
	now_us t0
	kill -HUP "$PROXY_PID"
	# Poll every few ms: the figure itself comes from the loop's log below.
	for ((i = 0; i < 400; i++)); do
		seen_new "$t0" "$bytes" && break
		sleep 0.005
	done
	read -r lat ended <<<"$(measure "$t0" "$bytes")"
	if [ "$lat" != none ] && [ "$lat" -ge $((LATENCY_MAX_MS * 1000)) ] && [ "$ended" -eq 0 ]; then
		echo "$k $t0 $bytes stall" >>"$T/reloads"
		stalls=$((stalls + 1))
		echo "     reload $k: $((lat / 1000)) ms with no connection ending meanwhile: a machine stall, measured again"
	else
		echo "$k $t0 $bytes" >>"$T/reloads"
		good=$((good + 1))
	fi
	proxy_wait_generation $((k + 1)) || fail "reload $k: no 'reloaded ... generation $((k + 1))' line"
	now_us t
	left=$(( GAP_MS - (t - t0) / 1000 ))
	[ "$left" -gt 0 ] && sleep "$(printf '0.%03d' "$left")"
done
DONE=$((k - 1))
check_range "reloads measured without a machine stall" "$RELOADS" "$RELOADS" "$good"
now_us last_reload

# ---- the end ------------------------------------------------------------------------

all_done() { [ "$(ls "$T"/tr-*.res 2>/dev/null | wc -l)" -eq $((DOWNLOADS + UPLOADS)) ]; }
WAIT_S=120 wait_until all_done || fail "transfers still running 120 s after the reloads"
touch "$T/stop-curl"
loop_stop main
pid_wait_exit "$CURL_LOOP" 15
workers_after=$(proxy_children)

echo "--- the connection loop (raw hellos to sinks X=1111 / Y=2222 bytes)"
check_loop_clean "connection loop" 10000
loop_total=$(field total "$LOOP_SUMMARY")

echo "--- the TLS request loop (curl GET /whoami)"
curl_total=$(wc -l <"$T/curl.out")
curl_bad=$(awk '$3 != 0 || ($4 != "backend-nx" && $4 != "backend-ny")' "$T/curl.out")
check_range "curl requests made" 50 1000000 "$curl_total"
check_eq "curl requests that failed or reached no test backend" "" "$curl_bad"
check_range "requests answered by nx" 1 1000000 "$(grep -c ' backend-nx$' "$T/curl.out")"
check_range "requests answered by ny" 1 1000000 "$(grep -c ' backend-ny$' "$T/curl.out")"

echo "--- the transfers (256 MiB each, $RATE/s)"
first_reload=$(awk 'NR == 1 { print $2 }' "$T/reloads")
for ((i = 1; i <= DOWNLOADS + UPLOADS; i++)); do
	read -r s e rc hash <"$T/tr-$i.res"
	what="transfer $i ($([ "$i" -gt "$DOWNLOADS" ] && echo upload || echo download))"
	check_eq "$what: curl exit status" 0 "$rc"
	check_eq "$what: sha256" "$want" "$hash"
	[ "$s" -lt "$first_reload" ] && [ "$e" -gt "$last_reload" ] &&
	    pass "$what: spans the reloads ($(( (e - s) / 1000 )) ms)" ||
	    fail "$what: ran from $s to $e us, the reloads from $first_reload to $last_reload"
done

echo "--- routes after each reload"
# The master's side of each reload: when it logged "reloaded" (ms; written
# after the new generation was published).
grep -E 'master: info: reloaded .*: generation [0-9]+,' "$PROXY_LOG" |
    sed -E 's/^([^ ]+) .*generation ([0-9]+),.*/\1 \2/' | while read -r ts gen; do
	echo "$((gen - 1)) $(date -u -d "${ts%Z}" +%s%3N)"
done >"$T/reload-logged"
# Per reload: the first connection begun after the signal that the new
# backend answered (its end - the signal); the connections begun after the
# master logged the reload (or after that first answer) and ended before
# the next signal which the old backend still answered (must be none); and,
# for a slow one, what the loop saw meanwhile.
awk '
	FILENAME == ARGV[1] { t0[$1] = $2; want[$1] = $3; stall[$1] = $4 == "stall"; n = $1; next }
	FILENAME == ARGV[2] { logged[$1] = ($2 + 1) * 1000; next }
	{
		for (k = n; k >= 1 && $1 < t0[k]; k--)
			;
		if (k < 1 || $3 != "ok")
			next
		line[++m] = $0; lk[m] = k
		if ($4 == want[k] && (!(k in first) || $2 < first[k]))
			first[k] = $2
	}
	END {
		for (i = 1; i <= m; i++) {
			split(line[i], f, " ")
			k = lk[i]
			after = (k in logged) ? logged[k] : 0
			if ((k in first) && (after == 0 || first[k] < after))
				after = first[k]
			# Routed after the publish, ended before the next signal:
			# this generation routed it, whatever the timing.
			if (after > 0 && f[1] > after && (k == n || f[2] < t0[k + 1]) && f[4] != want[k]) {
				stale[k]++
				printf "     stale: reload %d: begun %.1f ms after the signal (the master logged it at %.1f ms), ended at %.1f ms: %s bytes\n", k, (f[1] - t0[k]) / 1000, (logged[k] - t0[k]) / 1000 - 1, (f[2] - t0[k]) / 1000, f[4] > "/dev/stderr"
			}
			if ((k in first) && f[2] > t0[k] && f[2] < first[k]) {
				during[k]++
				old[k] += f[4] != want[k]
			}
		}
		for (k = 1; k <= n; k++) {
			printf "%d %s %d %s\n", k, (k in first) ? sprintf("%.1f", (first[k] - t0[k]) / 1000) : "none", stale[k] + 0, stall[k] ? "stall" : "-"
			if ((k in first) && first[k] - t0[k] > 50000)
				printf "     slow reload %d: %.1f ms to the first new answer; the master logged it at %.1f ms; meanwhile %d connections ended, %d of them answered by the old backend\n", k, (first[k] - t0[k]) / 1000, (logged[k] - t0[k]) / 1000 - 1, during[k], old[k] > "/dev/stderr"
		}
	}' "$T/reloads" "$T/reload-logged" "$T/loop-main.out" >"$T/latency"
lat_list=$(awk '{ printf "%s%s%s", (NR > 1 ? " " : ""), $2, ($4 == "stall" ? "(stall)" : "") }' "$T/latency")
echo "     reload -> first answer from the new backend (ms): $lat_list"
master_ms=$(awk 'FNR == NR { t0[$1] = $2; next } ($1 in t0) { printf "%s%d", (n++ ? " " : ""), $2 - t0[$1] / 1000 }' \
    "$T/reloads" "$T/reload-logged")
echo "     reload -> the master logged 'reloaded' (ms): $master_ms"
check_eq "reloads with no answer from the new backend" "" "$(awk '$2 == "none" { print $1 }' "$T/latency")"
slow=$(awk -v max="$LATENCY_MAX_MS" '$4 != "stall" && $2 != "none" && $2 + 0 >= max { printf "%s(%s ms) ", $1, $2 }' "$T/latency")
check_eq "reloads slower than $LATENCY_MAX_MS ms" "" "$slow"
stats=$(awk '$4 != "stall" && $2 != "none" { print $2 }' "$T/latency" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) printf "min %.1f ms, median %.1f ms, max %.1f ms (n=%d)", v[1], (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[NR], NR }')
echo "     reload latency: $stats"
check_eq "connections begun after the publish but answered by the old backend" 0 \
    "$(awk '{ s += $3 } END { print s + 0 }' "$T/latency")"

echo "--- the proxy"
check_eq "generations published (1 at the start + $DONE reloads)" $((DONE + 1)) \
    "$(grep -oE 'reloaded .*: generation [0-9]+,' "$PROXY_LOG" | tail -n 1 | grep -oE '[0-9]+,$' | tr -d ,)"
check_eq "'reloaded' lines" "$DONE" "$(proxy_reloads)"
check_eq "worker pids after the reloads (none restarted)" "$workers_before" "$workers_after"
check_no_match "no failed reload" 'reload failed|reload: ' "$(cat "$PROXY_LOG")"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
conns=$((loop_total + curl_total + DOWNLOADS + UPLOADS))
check_eq "connections accepted" "$conns" "$(proxy_counter accepted)"
normal=$(proxy_counter normal)
resets=$(( $(proxy_counter client_reset) + $(proxy_counter backend_reset) ))
echo "     proxy closes: normal=$normal resets=$resets (of $conns)"
check_eq "connections ended (normal + reset)" "$conns" $((normal + resets))
# Only a TLS close_notify crossing the server's close may end in a reset (see
# check_counters_tls); none of the raw loop connections may.
check_range "connections ended by a reset (TLS ones only)" 0 $((curl_total / 4 + 1)) "$resets"
check_counters "normal=any client_reset=any backend_reset=any"
echo "     figures: $loop_total loop connections + $curl_total TLS requests during $DONE reloads ($stalls machine stalls excluded from the latency); reload latency $stats"
finish
