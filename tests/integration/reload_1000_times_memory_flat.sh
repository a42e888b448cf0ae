#!/bin/bash
# Guards reload memory: 1,000 reloads alternating two route sets (one with active checks), with a trickle of traffic, leave the master's and workers' resident memory, the master's descriptors and the route segment (memfd) flat, end at generation 1,001, and never fail a connection.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

RELOADS=1000
# Warm-up reloads before the baseline: every route table slot (4) written once.
WARMUP=8
# Allowed growth over the 1,000 reloads, per figure. KiB
GROWTH_MAX_KB=1024

# A sanitizer build: AddressSanitizer parks freed memory in a quarantine
# (256 MiB by default), which would look like growth; without it the
# figures mean what they say.
if ldd "$PT" 2>/dev/null | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
fi
sink_start X --send-then-shutdown 1111
sink_start Y --send-then-shutdown 2222
# Sets of different sizes (203 and 53 routes): a leak per route or per
# image shows a thousandfold, and slots are rewritten with smaller images.
routes() {	# A|B
	local sink=X fill=200 i check="check = { interval_ms = 100; timeout_ms = 50; };"
	[ "$1" = B ] && { sink=Y fill=50 check=; }
	echo "routes = ("
	echo "  { sni = \"loop.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[$sink]}\" ]; $check },"
	echo "  { sni = \"*.example.org\";    backends = [ \"127.0.0.1:${SINK_PORT[$sink]}\" ]; },"
	for ((i = 0; i < fill; i++)); do
		echo "  { sni = \"h$i.filler.example.net\"; backends = [ \"127.0.0.1:${SINK_PORT[Y]}\", \"127.0.0.1:${SINK_PORT[X]}\" ]; },"
	done
	echo "  { sni = \"*\";                backends = [ \"127.0.0.1:${SINK_PORT[X]}\" ]; }"
	echo ");"
}
proxy_start -w 2 "$(routes A)"
P=$PROXY_PORT
workers=$(proxy_children)
for s in A B; do
	proxy_conf_write "$T/$s.conf" 2 "\"127.0.0.1:$P\"" "$(routes $s)"
done
CONF_A=$(<"$T/A.conf")
CONF_B=$(<"$T/B.conf")

kb_rss() {	# PID: VmRSS in KiB
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}
memfd_fd() {	# the master's fd of the route segment
	local f
	for f in /proc/"$PROXY_PID"/fd/*; do
		case $(readlink "$f") in *memfd:passthrough-routes*) echo "$f"; return ;; esac
	done
}
kb_memfd_blocks() {	# KiB the memfd holds (its allocated blocks)
	local f
	f=$(memfd_fd)
	[ -n "$f" ] && echo $(( $(stat -L -c '%b * %B' "$f") / 1024 ))
}
kb_memfd_rss() {	# PID: Rss of its mapping of the memfd (smaps), KiB
	awk '/^[0-9a-f]+-[0-9a-f]+ / { m = /memfd:passthrough-routes/ } m && /^Rss:/ { s += $2 } END { print s + 0 }' \
	    "/proc/$1/smaps" 2>/dev/null
}
# measure NAME: "master=KB w0=KB w1=KB memfd=KB memfd_rss=KB wmemfd_rss=KB" into M_NAME
measure() {
	local line w i=0
	line="master=$(kb_rss "$PROXY_PID")"
	for w in $workers; do
		line="$line w$i=$(kb_rss "$w")"
		i=$((i + 1))
	done
	line="$line memfd=$(kb_memfd_blocks) memfd_rss=$(kb_memfd_rss "$PROXY_PID")"
	i=0
	for w in $workers; do
		line="$line w${i}_memfd_rss=$(kb_memfd_rss "$w")"
		i=$((i + 1))
	done
	printf -v "M_$1" '%s' "$line"
	echo "     memory $1 (KiB): $line"
}
[ -n "$(memfd_fd)" ] || die "the master holds no memfd:passthrough-routes"

loop_start trickle --connect "127.0.0.1:$P" --hello loop.example.com --concurrency 1 \
    --interval-ms 20 --expect-bytes 1111,2222
WAIT_S=10 wait_until loop_has trickle 5 || die "the trickle gets no answers"

# reload K: the set for reload K written in place, SIGHUP, and back only once
# the master logged generation K+1 (signals sent meanwhile would merge).
reload() {
	local k=$1 i
	if ((k % 2)); then printf '%s\n' "$CONF_B" >"$PROXY_CONF"; else printf '%s\n' "$CONF_A" >"$PROXY_CONF"; fi
	kill -HUP "$PROXY_PID"
	for ((i = 0; i < 2000; i++)); do
		[[ $(tail -c 2000 "$PROXY_LOG") == *"generation $((k + 1)), "* ]] && return 0
		sleep 0.002
	done
	fail "reload $k: generation $((k + 1)) not published within 4 s"
	return 1
}

measure start
for ((k = 1; k <= WARMUP; k++)); do reload "$k" || break; done
measure baseline
master_fds() { find "/proc/$PROXY_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
fds_baseline=$(master_fds)
now_us t0
curve=
for ((k = WARMUP + 1; k <= RELOADS; k++)); do
	reload "$k" || break
	((k % 100 == 0)) && curve="$curve $k:$(kb_rss "$PROXY_PID")/$(kb_memfd_blocks)"
done
now_us t1
echo "     reload:master KiB/memfd KiB every 100 reloads:$curve"
echo "     $((RELOADS - WARMUP)) reloads took $(( (t1 - t0) / 1000 )) ms ($(( (t1 - t0) / (RELOADS - WARMUP) )) us each)"
sleep 0.5
measure end
# At most one active check in flight (X's, of set A) either time.
fds_growth=$(( $(master_fds) - fds_baseline ))
((fds_growth < 0)) && fds_growth=0
check_range "the master's descriptors: growth over the reloads" 0 1 "$fds_growth"
x_json=$("$STATS" -c "$PROXY_CONF" --json | jq -c --arg a "127.0.0.1:${SINK_PORT[X]}" '.backends[] | select(.backend == $a)')
check_eq "set A checks X (passthrough-stats state)" up "$(jq -r .state <<<"$x_json")"
check_range "... its checks passed" 1 100000 "$(jq -r .checks_passed <<<"$x_json")"

# Growth from the baseline, per figure.
for kv in $M_end; do
	name=${kv%%=*} end=${kv#*=}
	base=$(grep -oE "(^| )$name=[0-9]+" <<<"$M_baseline" | cut -d= -f2)
	start=$(grep -oE "(^| )$name=[0-9]+" <<<"$M_start" | cut -d= -f2)
	echo "     $name: start $start KiB, after $WARMUP reloads $base KiB, after $RELOADS reloads $end KiB"
	check_range "$name growth over $((RELOADS - WARMUP)) reloads (KiB)" 0 "$GROWTH_MAX_KB" \
	    $(( end > base ? end - base : 0 ))
done

last=$(grep -oE 'master: info: reloaded .*: generation [0-9]+,' "$PROXY_LOG" | tail -n 1 | grep -oE '[0-9]+,$' | tr -d ,)
check_eq "final generation" $((RELOADS + 1)) "$last"
check_eq "'reloaded' lines" "$RELOADS" "$(proxy_reloads)"
check_no_match "no failed reload" 'reload failed' "$(cat "$PROXY_LOG")"
check_eq "worker pids (none restarted)" "$workers" "$(proxy_children)"

# After the last reload (set A), new connections reach X (1111 bytes).
now_us t_end
sleep 0.3
loop_stop trickle
check_loop_clean "trickle during the reloads" 100
check_eq "replies after the last reload not from X" "" \
    "$(awk -v t="$t_end" '$1 > t && $4 != 1111' "$T/loop-trickle.out")"
loop_total=$(field total "$LOOP_SUMMARY")

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$loop_total" "$(proxy_counter accepted)"
check_counters "normal=$loop_total"
finish
