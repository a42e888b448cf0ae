#!/bin/bash
# relay_ab.sh -- interleaved A/B of two passthrough binaries (relay adaptive,
# 1 worker) on one point, with perf stat counts on the worker: p50/p99/p999
# (ping, rate) or Gbit/s (bulk), and per unit (round trip, connection or
# GiB) the worker's CPU, context switches, syscalls and io_uring SQEs.
# Each repetition runs A and B in alternating order (A B, B A, ...).
#
# Usage: A=path/to/passthrough B=path/to/passthrough tools/bench/relay_ab.sh
# (the same binary twice with A_EVENTS=io_uring B_EVENTS=epoll: the two
# event engines; syscalls then count epoll_wait and the socket calls).
# Environment: BUILD [build] (loadgen, sink), POINT [ping] (ping rate dl8 dl1
# ul8 ul1), REPS [6], SECS [2], BULK [1073741824] bytes per bulk run,
# PING_CONNS [32], MSG [64], PIPE_BYTES [65536], WORKERS [1],
# PERF [1], BASE [19500] (ports BASE..BASE+4), A_EVENTS, B_EVENTS [unset]
# (tuning.events of A's and B's configuration; unset: the default).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build} POINT=${POINT:-ping} REPS=${REPS:-6} SECS=${SECS:-2}
BULK=${BULK:-1073741824} CONNS=${PING_CONNS:-32} MSG=${MSG:-64}
PIPE_BYTES=${PIPE_BYTES:-65536} WORKERS=${WORKERS:-1} PERF=${PERF:-1} BASE=${BASE:-19500}
A=${A:?A=binary} B=${B:?B=binary}
WORK=$(mktemp -d /tmp/relay_ab.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
EV=${EV:-task-clock,context-switches,raw_syscalls:sys_enter,io_uring:io_uring_submit_req}

"$BUILD/bench/sink" -q -t 2 -l "127.0.0.1:$((BASE + 1))" -C "127.0.0.1:$((BASE + 3))" \
    >"$WORK/sink.log" 2>&1 & PIDS+=($!)
sleep 0.3
for side in A B; do
	events_var=${side}_EVENTS
	events=${!events_var:-}
	[ -n "$events" ] && events=" events = \"$events\";"
	cat >"$WORK/pt-$side.conf" <<CONF
workers = $WORKERS;
listen = [ "127.0.0.1:$BASE" ];
timeouts = { hello_ms = 5000; connect_ms = 3000; idle_ms = 600000; };
limits = { hello_bytes = 65536; max_connections = 100000; };
tuning = { relay = "adaptive"; pipe_bytes = $PIPE_BYTES;$events };
log = { level = "info"; access = "off"; };
routes = ( { sni = "*"; backends = [ "127.0.0.1:$((BASE + 1))" ]; } );
CONF
done
# ARGS is split into words on purpose below.
case $POINT in
ping) ARGS="-m ping -c $CONNS -S $MSG -d $SECS" UNIT=rt ;;
rate) ARGS="-m rate -c 64 -S $MSG -d $SECS" UNIT=conn ;;
dl8) ARGS="-m download -c 8 -n $((BULK / 8))" UNIT=GiB ;;
ul8) ARGS="-m upload -c 8 -n $((BULK / 8))" UNIT=GiB ;;
dl1) ARGS="-m download -c 1 -n $BULK" UNIT=GiB ;;
ul1) ARGS="-m upload -c 1 -n $BULK" UNIT=GiB ;;
esac

one() {	# label binary
	local pid wpids line
	"$2" -f -c "$WORK/pt-$1.conf" >"$WORK/pt.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do ss -ltn | grep -q ":$BASE " && break; sleep 0.1; done
	sleep 0.2
	wpids=$(pgrep -P "$pid" | tr '\n' ',' | sed 's/,$//')
	if [ "$PERF" = 1 ]; then
		# shellcheck disable=SC2086
		line=$(perf stat -x, -e "$EV" -p "$wpids" -o "$WORK/perf.csv" -- \
		    "$BUILD/bench/loadgen" -a "127.0.0.1:$BASE" -s bench.example $ARGS | grep '^result')
	else
		# shellcheck disable=SC2086
		line=$("$BUILD/bench/loadgen" -a "127.0.0.1:$BASE" -s bench.example $ARGS | grep '^result')
		: >"$WORK/perf.csv"
	fi
	kill "$pid"; wait "$pid" 2>/dev/null
	awk -v label="$1" -v line="$line" -v unit="$UNIT" -F, '
	    function kv(k,  i, n, f) { n = split(line, f, " "); for (i = 1; i <= n; i++)
		if (index(f[i], k "=") == 1) return substr(f[i], length(k) + 2); return "" }
	    $3 == "task-clock" { tc = $1 } $3 == "context-switches" { cs = $1 }
	    $3 == "raw_syscalls:sys_enter" { sc = $1 } $3 == "io_uring:io_uring_submit_req" { sq = $1 }
	    END {
		if (unit == "GiB") { u = kv("bytes") / 1073741824; head = sprintf("gbps %7.2f", kv("gbps")) }
		else { u = kv("count"); head = sprintf("rate %8.0f p50 %7.1f p99 %7.1f p999 %7.1f", kv("rate"), kv("p50_us"), kv("p99_us"), kv("p999_us")) }
		if (u == 0) { printf "%s FAILED %s\n", label, line; exit }
		m = unit == "GiB" ? 1 : 1000	# per GiB: ms; per rt/conn: us
		printf "%s %s | per %s: cpu %s %.2f cs %.3f sys %.3f sqe %.3f\n", label, head, unit,
		    unit == "GiB" ? "ms" : "us", tc * m / u, cs / u, sc / u, sq / u }' "$WORK/perf.csv"
}

echo "# $(date -u +%H:%M:%S) POINT=$POINT REPS=$REPS $ARGS A_EVENTS=${A_EVENTS:-} B_EVENTS=${B_EVENTS:-}; load: $(uptime | sed 's/.*load/load/')"
for ((r = 0; r < REPS; r++)); do
	if ((r % 2 == 0)); then one A "$A"; one B "$B"; else one B "$B"; one A "$A"; fi
done
echo "# end $(date -u +%H:%M:%S); load: $(uptime | sed 's/.*load/load/')"
