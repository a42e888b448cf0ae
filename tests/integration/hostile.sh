#!/bin/bash
# Helpers of the hostile-client and fault tests, sourced after lib.sh (run on its own: checks that those tests' tools are built).
#
# Those tests start with one line that moves them into a private network
# namespace when the machine allows it (unshare -n, as root):
#
#   [ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
#
# so their thousands of connections, SYN backlogs, TIME_WAITs and kernel
# TCP counters are their own and not the shared machine's; nothing in them
# depends on it otherwise (PT_NETNS=0 runs them in the machine's own). This
# file brings the namespace's loopback up.
#
# Tools: $BUILD/tests/{ptflood,ptfault} (tests/tools), $BUILD/bench/{loadgen,sink}
# (make bench-tools), $BUILD/passthrough-stats, and jq.
# shellcheck disable=SC2034  # variables set here are read by the tests

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# Run on its own (tests/run.sh runs every *.sh): check the tools, nothing else.
	. "$(dirname "$0")/lib.sh"
	for _bin in "$BUILD/tests/ptflood" "$BUILD/tests/ptfault" "$BUILD/bench/loadgen" \
	    "$BUILD/bench/sink" "$BUILD/passthrough-stats"; do
		check_eq "$(basename "$_bin") is built" yes "$([ -x "$_bin" ] && echo yes)"
	done
	check_eq "jq is installed" yes "$(command -v jq >/dev/null && echo yes)"
	finish
fi

PTFLOOD=$BUILD/tests/ptflood
PTFAULT=$BUILD/tests/ptfault
LOADGEN=$BUILD/bench/loadgen
BSINK=$BUILD/bench/sink
PTSTATS=$BUILD/passthrough-stats
need_tools "$PTFLOOD" "$PTFAULT" "$LOADGEN" "$BSINK" "$PTSTATS"
command -v jq >/dev/null || die "jq is missing: run tools/deps.sh test"

if [ "${PT_NETNS:-}" = 1 ]; then
	ip link set lo up || die "cannot bring up lo in the private network namespace"
	echo "     (in a private network namespace)"
fi

# The workers' clock is CLOCK_MONOTONIC_COARSE (one tick), read once per
# loop turn: a timeout may fire this much before its nominal time, measured
# from the client's side. ms
PROXY_CLOCK_SLACK_MS=20

# ---- numbers from /proc ---------------------------------------------------------

# The proxy's processes: the master and its live children (workers).
proxy_pids() {
	echo "$PROXY_PID $(proxy_children)"
}

# rss_kb PID...: the sum of VmRSS (KiB) of those processes.
rss_kb() {
	local pid s=0 v
	for pid in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# cpu_ms PID...: utime + stime (every thread, io-wq included) of those processes, in ms.
cpu_ms() {
	local pid s=0 hz
	hz=$(getconf CLK_TCK)
	for pid in "$@"; do
		# Fields 14 and 15, counted after the ")" that ends the command name.
		s=$((s + $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')))
	done
	echo $((s * 1000 / hz))
}

# True when the proxy runs under AddressSanitizer: its quarantine keeps
# freed memory resident (hundreds of MiB by design) and its shadow memory
# adds more, so bounds on RSS measure ASan, not the proxy; those are then
# printed, not asserted (the non-sanitized run asserts them).
proxy_asan() {
	grep -q libasan "/proc/$PROXY_PID/maps" 2>/dev/null
}

# check_rss WHAT LOW HIGH GOT_KB: check_range, or only printed under ASan.
check_rss() {
	if proxy_asan; then
		echo "     $1: $4 (not asserted under AddressSanitizer; the bound is $2..$3)"
	else
		check_range "$@"
	fi
}

# fd_count PID: open file descriptors of the process.
fd_count() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# ---- passthrough-stats ------------------------------------------------------------

# stats_snap: takes a passthrough-stats --json snapshot of the running proxy into STATS_JSON.
stats_snap() {
	STATS_JSON=$("$PTSTATS" -c "$PROXY_CONF" --json) || die "passthrough-stats --json failed"
}

# stats_get JQ: a value from the last snapshot ("totals.closes.normal").
stats_get() {
	jq -r ".$1" <<<"$STATS_JSON"
}

# check_closes_exact "reason=N ...": in the last snapshot every close reason
# named has exactly that count and every other one is 0.
check_closes_exact() {
	local want=" $1 " r exp
	for r in $(jq -r '.totals.closes | keys[]' <<<"$STATS_JSON"); do
		exp=0
		[[ $want =~ \ $r=([0-9]+)\  ]] && exp=${BASH_REMATCH[1]}
		check_eq "passthrough-stats: closes.$r" "$exp" "$(stats_get "totals.closes.$r")"
	done
}

# check_gauges_zero: no connection is left open, reading a hello or relaying.
check_gauges_zero() {
	local g
	for g in active in_hello relaying; do
		check_eq "passthrough-stats: gauge $g" 0 "$(stats_get "totals.$g")"
	done
}

# stats_wait_closed N: waits (WAIT_S, default 10) until N connections closed, by the stats.
stats_closed() {
	stats_snap
	[ "$(jq '[.totals.closes[]] | add' <<<"$STATS_JSON")" -ge "$1" ]
}
stats_wait_closed() {
	WAIT_S=${WAIT_S:-10} wait_until stats_closed "$1"
}

# ---- clients and backends -----------------------------------------------------------

# flood_start NAME [ptflood options]: a ptflood whose stdout goes to $T/flood-NAME.out.
declare -A FLOOD_PID=()
flood_start() {
	local name=$1
	shift
	spawn "$PTFLOOD" "$@" >"$T/flood-$name.out" 2>"$T/flood-$name.err"
	FLOOD_PID[$name]=$BG_PID
}

flood_line() {	# NAME PREFIX: the last line of its output starting with PREFIX
	grep "^$2 " "$T/flood-$1.out" 2>/dev/null | tail -n 1
}
flood_ready() { [ -n "$(flood_line "$1" ready)" ] || ! pid_alive "${FLOOD_PID[$1]}"; }

# flood_wait_ready NAME [SECONDS]: waits until every connect of NAME finished.
flood_wait_ready() {
	WAIT_S=${2:-30} wait_until flood_ready "$1"
	[ -n "$(flood_line "$1" ready)" ] || die "ptflood $1 did not get its connections up: $(tail -n 3 "$T/flood-$1.err")"
}

# flood_wait NAME [SECONDS]: waits for NAME to end; sets FLOOD_RESULT (its result line).
flood_wait() {
	local pid=${FLOOD_PID[$1]}
	if ! pid_wait_exit "$pid" "${2:-60}"; then
		fail "ptflood $1 did not end within ${2:-60} s: stopping it"
		kill -TERM "$pid" 2>/dev/null
		pid_wait_exit "$pid" 5
	fi
	wait "$pid" 2>/dev/null
	FLOOD_RESULT=$(flood_line "$1" result)
	[ -n "$FLOOD_RESULT" ] || fail "ptflood $1 printed no result: $(tail -n 3 "$T/flood-$1.err")"
}

# bsink_start: a benchmark sink (tools/bench/sink) with one thread; sets BSINK_PORT, BSINK_CTL.
bsink_start() {
	local i
	for i in 1 2 3; do
		BSINK_PORT=$(free_port)
		BSINK_CTL=$(free_port)
		spawn "$BSINK" -q -t 1 -l "127.0.0.1:$BSINK_PORT" -C "127.0.0.1:$BSINK_CTL" >"$T/bsink.out" 2>&1
		BSINK_PID=$BG_PID
		WAIT_S=5 wait_until port_listening "$BSINK_CTL" && pid_alive "$BSINK_PID" && return 0
		stop_pid "$BSINK_PID"
	done
	die "the bench sink did not start: $(cat "$T/bsink.out")"
}

# bsink_stat FIELD: a field of the bench sink's "sink accepted=N open=N ..." line.
bsink_stat() {
	local line
	exec 9<>"/dev/tcp/127.0.0.1/$BSINK_CTL" || { echo "?"; return; }
	printf 'stats\n' >&9
	line=$(grep '^sink ' <&9)
	exec 9<&-
	field "$1" "$line"
}

# loadgen_rate NAME [loadgen options]: loadgen -m rate through the proxy
# (SNI bench.example); its result line goes into LG_RESULT and $T/lg-NAME.out.
loadgen_rate() {
	local name=$1
	shift
	"$LOADGEN" -m rate -a "127.0.0.1:$PROXY_PORT" "$@" >"$T/lg-$name.out" 2>&1
	LG_RESULT=$(grep '^result ' "$T/lg-$name.out" | tail -n 1)
	[ -n "$LG_RESULT" ] || fail "loadgen $name printed no result: $(tail -n 3 "$T/lg-$name.out")"
}

# A float field of a line, rounded to an integer ("p99_us=123.4" -> 123).
ifield() {
	printf '%.0f' "$(field "$1" "$2")"
}
