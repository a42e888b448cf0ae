#!/bin/bash
# run.sh -- the end-to-end benchmark: direct, passthrough (relay splice,
# adaptive and kernel; adaptive on the epoll engine too), HAProxy, nginx
# stream and sniproxy relay the same workloads
# to the same sinks with the same routes, 1 and 2 workers; the medians go to
# docs/bench/results.md and results.png (QUICK=1: results-quick.*).
#
# Usage: tools/bench/run.sh        (or `make bench`, `make bench QUICK=1`)
# Environment (defaults in brackets, QUICK's second):
#   BUILD [build]             where passthrough and bench/{loadgen,sink} are
#   QUICK [unset]             short run: smaller transfers, shorter runs
#   REPS [5 | 3]              repetitions of every point; the median is kept
#   BULK [1G | 128M]          bytes per bulk run, split over its connections
#   SECS [5 | 1]              seconds per rate and ping run
#   IDLE_K [9000]             idle connections per proxy (0: skip)
#   WORKERS_LIST ["1 2"]      worker counts
#   SYSTEMS [these eight]     direct pt_splice pt_adaptive pt_epoll pt_kernel haproxy nginx
#                             sniproxy; pt_epoll: relay adaptive on the epoll event engine
#                             (tuning.events = "epoll"; the others run on the default, io_uring);
#                             pt_kernel: relay kernel (a BPF sockhash; the run stops with the
#                             proxy's reason when this build or machine cannot load it);
#                             also pt_ring: relay splice_ring (io_uring splice),
#                             pt_log: relay adaptive with the access log on (a file),
#                             pt_bare: relay adaptive built without counters ($BUILD/bare),
#                             pt_proxy: relay adaptive with PROXY v2 both ways (loadgen -x v2
#                             to an accept_proxy listener; routes send_proxy = "v2" to two
#                             more sinks, C and D, started with -p to strip it),
#                             pt_weighted: relay adaptive, bench.example over 3 backends
#                             weighted 5:3:2 with active checks every 1 s (sink A on
#                             127.0.0.1-3: it then listens on the wildcard address),
#                             pt_leastconn: the same with balance = "leastconn" (every
#                             pick sums the backends' connections over the workers)
#   POINTS [all six]          dl1 dl8 ul1 ul8 rate ping
#   PERF [1 | 0]              perf stat of each proxy's processes (1 worker)
#   BENCH_PORT_BASE [19400]   ports BASE+0 .. BASE+14 on 127.0.0.1
#   OUT_DIR [docs/bench]      where the markdown and the chart go
#   OUT_NAME [results | results-quick]  their file name, without .md / .png
#   KEEP [unset]              keep the temporary directory (configs, logs)
#   GOAL_SYSTEM [pt_adaptive] the system whose goals against the best peer are checked
#   HAPROXY_PIPE_BYTES [65536] HAProxy's tune.pipesize (passthrough's streaming pipes grow
#                             from pipe_bytes 65536 to 1 MiB: 1048576 compares like with like)
#   NOISE_MAX [30]            a point during which other work took more than this
#                             percent of one core is run again, NOISE_RETRIES [1 | 0] times,
#                             at most for an eighth of all point runs (time bound)
#
# Every daemon runs in the foreground with its own config, pid and log
# files under a temporary directory and is stopped by pid at exit. A system
# whose routing check fails is reported FAILED, never as a number.
set -u
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
	BULK=${BULK:-128M} SECS=${SECS:-1} PERF=${PERF:-0} REPS=${REPS:-3} SUFFIX=-quick
else
	BULK=${BULK:-1G} SECS=${SECS:-5} PERF=${PERF:-1} REPS=${REPS:-5} SUFFIX=
fi
IDLE_K=${IDLE_K:-9000}
WORKERS_LIST=${WORKERS_LIST:-"1 2"}
SYSTEMS=${SYSTEMS:-"direct pt_splice pt_adaptive pt_epoll pt_kernel haproxy nginx sniproxy"}
OUT_DIR=${OUT_DIR:-docs/bench}
OUT_NAME=${OUT_NAME:-results$SUFFIX}
BASE=${BENCH_PORT_BASE:-19400}

PROXY_PORT=$((BASE + 0))
SINK_A=$((BASE + 1)) SINK_B=$((BASE + 2))
CTL_A=$((BASE + 11)) CTL_B=$((BASE + 12))
# pt_proxy's sinks: the same as A and B, but each connection starts with a PROXY header.
SINK_C=$((BASE + 3)) SINK_D=$((BASE + 4))
CTL_C=$((BASE + 13)) CTL_D=$((BASE + 14))
SNI_A=bench.example SNI_B=other.example
RATE_CONNS=64 PING_CONNS=32 MSG_BYTES=64
SINK_THREADS=2
PIPE_BYTES=65536
HAPROXY_PIPE_BYTES=${HAPROXY_PIPE_BYTES:-$PIPE_BYTES}
LG_TIMEOUT=180		# seconds any one loadgen run may take
READY_TIMEOUT=10	# seconds a daemon has to start listening
STOP_TIMEOUT=10		# seconds a daemon has to exit after SIGTERM
IDLE_TIMEOUT=120	# seconds to open the idle connections
NOISE_MAX=${NOISE_MAX:-30}
if [ -n "$QUICK" ]; then NOISE_RETRIES=${NOISE_RETRIES:-0}; else NOISE_RETRIES=${NOISE_RETRIES:-1}; fi

POINTS=${POINTS:-"dl1 dl8 ul1 ul8 rate ping"}
declare -A POINT_TITLE=(
	[dl1]="download C=1" [dl8]="download C=8" [ul1]="upload C=1" [ul8]="upload C=8"
	[rate]="rate C=$RATE_CONNS" [ping]="ping C=$PING_CONNS"
)
declare -A SYS_TITLE=(
	[direct]="direct" [pt_splice]="passthrough splice" [pt_ring]="passthrough splice_ring"
	[pt_adaptive]="passthrough adaptive" [pt_kernel]="passthrough kernel"
	[pt_epoll]="passthrough adaptive, epoll"
	[pt_log]="passthrough adaptive + access log"
	[pt_bare]="passthrough adaptive, no counters"
	[pt_proxy]="passthrough adaptive, PROXY v2 both ways"
	[pt_weighted]="passthrough adaptive, 3 weighted backends, checks"
	[pt_leastconn]="passthrough adaptive, 3 weighted backends, checks, leastconn"
	[haproxy]="HAProxy" [nginx]="nginx stream" [sniproxy]="sniproxy"
)
PEERS="haproxy nginx sniproxy"
GOAL_SYSTEM=${GOAL_SYSTEM:-pt_adaptive}	# passthrough's default relay

LOADGEN=$BUILD/bench/loadgen
SINK=$BUILD/bench/sink
PASSTHROUGH=$BUILD/passthrough
PASSTHROUGH_BARE=$BUILD/bare/passthrough	# pt_bare: counters compiled out

declare -A DPID=()	# daemon name -> pid, for the exit trap
declare -A VAL=() P50=() P99=() P999=() ERRS=() FAILED=()
declare -A IDLE=() PERFR=() POINT_ERR=() CPU=() MCPU=() OTHER=()
RETRIED=0 RETRIED_STILL=0 GOALS_MET=0 GOALS_MISSED=0 GOALS_NA=0
NOTES=()
HELLO_A='' HELLO_B='' HELLO_NONE=''
NGINX_HALF_CLOSE=
WORK=
START_TIME=$(date +%s)

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# --- Daemons. ---

descendants() {	# pid: every descendant pid, children first
	local p
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		descendants "$p"
		echo "$p"
	done
}

stop_daemon() {	# name: SIGTERM, wait, SIGKILL what is left of its process tree
	local name=$1 pid=${DPID[$1]:-} tree p i
	[ -n "$pid" ] || return 0
	tree=$(descendants "$pid")
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < STOP_TIMEOUT * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "warning: $name (pid $pid) ignored SIGTERM: killing it" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	for p in $tree; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	unset "DPID[$name]"
}

cleanup() {
	local name
	trap - EXIT INT TERM
	for name in "${!DPID[@]}"; do
		stop_daemon "$name"
	done
	if [ -n "$WORK" ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$WORK"
	elif [ -n "$WORK" ]; then
		say "kept $WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# name port log command...: starts a foreground daemon, waits for its port.
start_daemon() {
	local name=$1 port=$2 log=$3 pid i
	shift 3
	"$@" >"$log" 2>&1 &
	pid=$!
	DPID[$name]=$pid
	for ((i = 0; i < READY_TIMEOUT * 20; i++)); do
		port_listening "$port" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	say "$name did not start listening on port $port; its log:" >&2
	tail -n 20 "$log" >&2
	stop_daemon "$name"
	return 1
}

# --- Sinks and their control port. ---

ctl() {	# port command: one control query
	local fd out
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf '%s\n' "$2" >&"$fd"
	out=$(cat <&"$fd")
	exec {fd}<&-
	printf '%s\n' "$out"
}

start_sinks() {
	local a=127.0.0.1

	# pt_weighted's and pt_leastconn's backends: 127.0.0.1, .2 and .3
	{ has_system pt_weighted || has_system pt_leastconn; } && a=0.0.0.0
	start_daemon sinkA "$SINK_A" "$WORK/sinkA.log" "$SINK" -q -t "$SINK_THREADS" \
	    -l "$a:$SINK_A" -C "127.0.0.1:$CTL_A" || die "sink A did not start"
	start_daemon sinkB "$SINK_B" "$WORK/sinkB.log" "$SINK" -q -t "$SINK_THREADS" \
	    -l "127.0.0.1:$SINK_B" -C "127.0.0.1:$CTL_B" || die "sink B did not start"
	has_system pt_proxy || return 0
	start_daemon sinkC "$SINK_C" "$WORK/sinkC.log" "$SINK" -q -p -t "$SINK_THREADS" \
	    -l "127.0.0.1:$SINK_C" -C "127.0.0.1:$CTL_C" || die "sink C did not start"
	start_daemon sinkD "$SINK_D" "$WORK/sinkD.log" "$SINK" -q -p -t "$SINK_THREADS" \
	    -l "127.0.0.1:$SINK_D" -C "127.0.0.1:$CTL_D" || die "sink D did not start"
}

has_system() { case " $SYSTEMS " in *" $1 "*) return 0 ;; esac; return 1; }

# sys: "sink-a sink-b ctl-a ctl-b", the ports of the sinks this system relays to.
sinks_of() {
	if [ "$1" = pt_proxy ]; then
		echo "$SINK_C $SINK_D $CTL_C $CTL_D"
	else
		echo "$SINK_A $SINK_B $CTL_A $CTL_B"
	fi
}

# sys: loadgen's extra arguments for this system (pt_proxy: a PROXY v2 header first).
loadgen_extra() { [ "$1" = pt_proxy ] && echo "-x v2"; }

# --- The systems under test. ---

# file workers relay [access-log-file|off] [proxy|weighted|leastconn|-]
# [events]: with "proxy", the listener takes a PROXY header from loadgen
# (127.0.0.0/8 trusted) and the routes send one (v2) to sinks C and D; with
# "weighted", bench.example goes to sink A by three addresses weighted
# 5:3:2, actively checked; "leastconn" is that with balance = "leastconn".
# events: tuning.events (unset: the default).
write_passthrough_conf() {
	local listen="[ \"127.0.0.1:$PROXY_PORT\" ]" send='' sa=$SINK_A sb=$SINK_B
	local ba="[ \"127.0.0.1:$SINK_A\" ]" events=
	[ -n "${6:-}" ] && events=" events = \"$6\";"
	if [ "${5:-}" = proxy ]; then
		listen="( { address = \"127.0.0.1:$PROXY_PORT\"; accept_proxy = true; trusted = [ \"127.0.0.0/8\" ]; } )"
		send=' send_proxy = "v2";' sa=$SINK_C sb=$SINK_D
		ba="[ \"127.0.0.1:$sa\" ]"
	elif [ "${5:-}" = weighted ] || [ "${5:-}" = leastconn ]; then
		ba="( { address = \"127.0.0.1:$sa\"; weight = 5; }, { address = \"127.0.0.2:$sa\"; weight = 3; },
    { address = \"127.0.0.3:$sa\"; weight = 2; } ); check = { interval_ms = 1000; timeout_ms = 500; }"
		[ "$5" = leastconn ] && ba="$ba; balance = \"leastconn\""
	fi
	cat >"$1" <<EOF
# passthrough benchmark configuration (tools/bench/run.sh)
workers = $2;
listen = $listen;
timeouts = { hello_ms = 5000; connect_ms = 3000; idle_ms = 600000; };
limits = { hello_bytes = 65536; max_connections = 100000; };
tuning = { relay = "$3"; pipe_bytes = $PIPE_BYTES;$events };
log = { level = "info"; access = "${4:-off}"; };
routes = (
  { sni = "$SNI_A"; backends = $ba;$send },
  { sni = "*"; backends = [ "127.0.0.1:$sb" ];$send }
);
EOF
}

write_haproxy_conf() {	# file workers dir
	cat >"$1" <<EOF
# HAProxy benchmark configuration (tools/bench/run.sh)
global
    nbthread $2
    # 2 fds per connection + 2 per pipe must stay under the 20,000 fd limit.
    maxconn 9100
    maxpipes 512
    tune.pipesize $HAPROXY_PIPE_BYTES
    pidfile $3/haproxy.pid

defaults
    mode tcp
    timeout connect 3s
    timeout client 600s
    timeout server 600s
    # On loopback splice-auto never engages: force it both ways.
    option splice-request
    option splice-response

frontend fe
    bind 127.0.0.1:$PROXY_PORT
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend be_a if { req.ssl_sni -i $SNI_A }
    default_backend be_b

backend be_a
    server a 127.0.0.1:$SINK_A

backend be_b
    server b 127.0.0.1:$SINK_B
EOF
}

write_nginx_conf() {	# file workers dir
	cat >"$1" <<EOF
# nginx stream benchmark configuration (tools/bench/run.sh)
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes $2;
worker_rlimit_nofile 20000;
pid $3/nginx.pid;
error_log $3/error.log warn;
events {
    # Counts both sides of a proxied connection.
    worker_connections 19500;
}
stream {
    map \$ssl_preread_server_name \$backend {
        $SNI_A sink_a;
        default sink_b;
    }
    upstream sink_a { server 127.0.0.1:$SINK_A; }
    upstream sink_b { server 127.0.0.1:$SINK_B; }
    server {
        listen 127.0.0.1:$PROXY_PORT reuseport backlog=4096;
        ssl_preread on;
        preread_timeout 5s;
        proxy_pass \$backend;
        proxy_connect_timeout 3s;
        proxy_timeout 600s;
        # The same per-direction buffer as the others' 64 KiB pipes.
        proxy_buffer_size $PIPE_BYTES;
$NGINX_HALF_CLOSE
    }
}
EOF
}

write_sniproxy_conf() {	# file dir
	cat >"$1" <<EOF
# sniproxy benchmark configuration (tools/bench/run.sh)
user root
pidfile $2/sniproxy.pid
error_log {
    filename $2/error.log
    priority warning
}
listener 127.0.0.1:$PROXY_PORT {
    protocol tls
    table bench
    # Hellos without SNI go here, like the others' default route.
    fallback 127.0.0.1:$SINK_B
}
table bench {
    ^${SNI_A//./\\.}\$ 127.0.0.1:$SINK_A
    .* 127.0.0.1:$SINK_B
}
EOF
}

# Does this nginx know proxy_half_close (1.21.4+)? Sets NGINX_HALF_CLOSE.
nginx_probe_half_close() {
	local dir=$WORK/nginx-probe
	mkdir -p "$dir"
	NGINX_HALF_CLOSE="        proxy_half_close on;"
	write_nginx_conf "$dir/nginx.conf" 1 "$dir"
	if nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >/dev/null 2>&1; then
		NOTES+=("nginx $(nginx -v 2>&1 | sed 's|.*/||') accepts \`proxy_half_close on\` (it appeared in 1.21.4), so it is set; ssl_preread, map on \$ssl_preread_server_name, listen reuseport, worker_processes = workers, proxy_buffer_size $PIPE_BYTES.")
	else
		NGINX_HALF_CLOSE=
		NOTES+=("nginx $(nginx -v 2>&1 | sed 's|.*/||') lacks proxy_half_close: omitted, so uploads (which need half-close) may fail; ssl_preread, map on \$ssl_preread_server_name, listen reuseport, worker_processes = workers, proxy_buffer_size $PIPE_BYTES.")
	fi
}

# sys workers: starts the system; 0 when it listens. direct starts nothing.
start_system() {
	local sys=$1 w=$2 dir=$WORK/$1-w$2
	mkdir -p "$dir"
	port_listening "$PROXY_PORT" && die "port $PROXY_PORT is taken: set BENCH_PORT_BASE"
	case $sys in
	direct) return 0 ;;
	pt_splice|pt_ring|pt_adaptive|pt_epoll|pt_kernel|pt_log|pt_bare|pt_proxy|pt_weighted|pt_leastconn)
		local relay=splice access=off bin=$PASSTHROUGH proxy=- events=
		[ "$sys" = pt_ring ] && relay=splice_ring
		[ "$sys" = pt_adaptive ] && relay=adaptive
		[ "$sys" = pt_epoll ] && relay=adaptive events=epoll
		[ "$sys" = pt_kernel ] && relay=kernel
		[ "$sys" = pt_log ] && relay=adaptive access=$dir/access.log
		[ "$sys" = pt_bare ] && relay=adaptive bin=$PASSTHROUGH_BARE
		[ "$sys" = pt_proxy ] && relay=adaptive proxy=proxy
		[ "$sys" = pt_weighted ] && relay=adaptive proxy=weighted
		[ "$sys" = pt_leastconn ] && relay=adaptive proxy=leastconn
		write_passthrough_conf "$dir/passthrough.conf" "$w" "$relay" "$access" "$proxy" "$events"
		start_daemon "$sys" "$PROXY_PORT" "$dir/passthrough.log" \
		    "$bin" -f -c "$dir/passthrough.conf" || return 1
		# A kernel relay that could not load relays "adaptive": not what this system measures.
		if [ "$sys" = pt_kernel ] && grep -q 'relay "kernel"' "$dir/passthrough.log"; then
			say "pt_kernel: the kernel relay is not available here; its log:" >&2
			grep 'relay "kernel"' "$dir/passthrough.log" >&2
			stop_daemon "$sys"
			return 1
		fi ;;
	haproxy)
		write_haproxy_conf "$dir/haproxy.cfg" "$w" "$dir"
		start_daemon "$sys" "$PROXY_PORT" "$dir/haproxy.log" haproxy -db -f "$dir/haproxy.cfg" ;;
	nginx)
		write_nginx_conf "$dir/nginx.conf" "$w" "$dir"
		start_daemon "$sys" "$PROXY_PORT" "$dir/nginx.log" nginx -p "$dir" -e "$dir/error.log" \
		    -c "$dir/nginx.conf" -g "daemon off;" ;;
	sniproxy)
		write_sniproxy_conf "$dir/sniproxy.conf" "$dir"
		start_daemon "$sys" "$PROXY_PORT" "$dir/sniproxy.log" sniproxy -f -n 20000 \
		    -c "$dir/sniproxy.conf" ;;
	*) die "unknown system $sys" ;;
	esac
}

stop_system() { [ "$1" = direct ] || stop_daemon "$1"; }

# The pids of a running system's processes: the daemon and its descendants.
# shellcheck disable=SC2046
system_pids() { echo "${DPID[$1]}" $(descendants "${DPID[$1]}"); }

# --- Loadgen runs. ---

# key line: the value of key=... in a result line.
kv() { local v=" $2 "; v=${v##* "$1"=}; printf '%s' "${v%% *}"; }

# target sni count [loadgen args...]: n rate connections with this SNI (-
# for none); 0 if all answered.
probe() {
	local out
	out=$(timeout 30 "$LOADGEN" -m rate -a "127.0.0.1:$1" -s "$2" -c 1 -t 1 -N "$3" "${@:4}" 2>&1 | grep '^result')
	[ "$(kv count "$out")" = "$3" ] && [ "$(kv errors "$out")" = 0 ]
}

# sink-stats sni: "hellos hello_bytes" of that SNI's line, or "0 0".
sni_counts() {
	local line
	line=$(printf '%s\n' "$1" | grep "^sni=$2 ") || { echo "0 0"; return; }
	echo "$(kv hellos "$line") $(kv hello_bytes "$line")"
}

# sys: bench.example must reach sink A, other names and no SNI sink B, with
# the hello forwarded whole (pt_proxy: sinks C and D, each connection with a
# PROXY header before its hello). Prints the reason and returns 1 on failure.
route_check() {
	local sys=$1 ta=$PROXY_PORT tb=$PROXY_PORT a b na nb nn sa sb ca cb x
	read -r sa sb ca cb <<<"$(sinks_of "$sys")"
	read -r -a x <<<"$(loadgen_extra "$sys")"
	if [ "$sys" = direct ]; then ta=$sa tb=$sb; fi
	if ! ctl "$ca" reset >/dev/null || ! ctl "$cb" reset >/dev/null; then
		echo "sinks do not answer"
		return 1
	fi
	probe "$ta" "$SNI_A" 3 "${x[@]}" || { echo "hellos with SNI $SNI_A got no reply"; return 1; }
	probe "$tb" "$SNI_B" 3 "${x[@]}" || { echo "hellos with SNI $SNI_B got no reply"; return 1; }
	probe "$tb" - 2 "${x[@]}" || { echo "hellos without SNI got no reply"; return 1; }
	a=$(ctl "$ca" stats) b=$(ctl "$cb" stats)
	if [ "$sys" = pt_proxy ] && { [ "$(kv proxy_headers "$(printf '%s\n' "$a" | grep '^sink ')")" != 3 ] ||
	    [ "$(kv proxy_headers "$(printf '%s\n' "$b" | grep '^sink ')")" != 5 ]; }; then
		echo "the sinks did not get a PROXY header before every hello"
		return 1
	fi
	read -r na nb <<<"$(sni_counts "$a" "$SNI_A")"
	[ "$na" = 3 ] || { echo "sink A saw $na of 3 hellos for $SNI_A"; return 1; }
	[ "$(printf '%s\n' "$a" | grep -c '^sni=')" = 1 ] || { echo "sink A saw other names: $(printf '%s\n' "$a" | grep '^sni=' | tr '\n' ' ')"; return 1; }
	read -r nn _ <<<"$(sni_counts "$b" "$SNI_A")"
	[ "$nn" = 0 ] || { echo "sink B saw $SNI_A"; return 1; }
	[ -z "$HELLO_A" ] && HELLO_A=$nb
	[ "$nb" = "$HELLO_A" ] || { echo "hellos for $SNI_A arrived as $nb bytes, not $HELLO_A"; return 1; }
	read -r na nb <<<"$(sni_counts "$b" "$SNI_B")"
	[ "$na" = 3 ] || { echo "sink B saw $na of 3 hellos for $SNI_B"; return 1; }
	[ -z "$HELLO_B" ] && HELLO_B=$nb
	[ "$nb" = "$HELLO_B" ] || { echo "hellos for $SNI_B arrived as $nb bytes, not $HELLO_B"; return 1; }
	read -r na nb <<<"$(sni_counts "$b" -)"
	[ "$na" = 2 ] || { echo "sink B saw $na of 2 hellos without SNI"; return 1; }
	[ -z "$HELLO_NONE" ] && HELLO_NONE=$nb
	[ "$nb" = "$HELLO_NONE" ] || { echo "hellos without SNI arrived as $nb bytes, not $HELLO_NONE"; return 1; }
	return 0
}

bulk_bytes() { numfmt --from=iec "$BULK"; }

point_args() {	# point: loadgen arguments
	local total
	total=$(bulk_bytes)
	case $1 in
	dl1) echo "-m download -c 1 -n $total" ;;
	dl8) echo "-m download -c 8 -n $((total / 8))" ;;
	ul1) echo "-m upload -c 1 -n $total" ;;
	ul8) echo "-m upload -c 8 -n $((total / 8))" ;;
	rate) echo "-m rate -c $RATE_CONNS -S $MSG_BYTES -d $SECS" ;;
	ping) echo "-m ping -c $PING_CONNS -S $MSG_BYTES -d $SECS" ;;
	esac
}

# sys point [wrapper...]: runs one point (under wrapper, e.g. perf stat);
# prints its result line (empty on failure). All output stays in $WORK/last.out.
run_point() {
	local target=$PROXY_PORT sys=$1 point=$2
	shift 2
	[ "$sys" = direct ] && target=$SINK_A
	# shellcheck disable=SC2046
	"$@" timeout "$LG_TIMEOUT" "$LOADGEN" -a "127.0.0.1:$target" -s "$SNI_A" \
	    $(point_args "$point") $(loadgen_extra "$sys") >"$WORK/last.out" 2>&1
	grep '^result' "$WORK/last.out"
}

# w sys point line cpu-ticks [busy-ticks]: files one result; bulk runs
# count only when every connection completed. The proxy's CPU and the
# machine's (busy-ticks: every process) are kept per unit of work.
record() {
	local key="$1|$2|$3" line=$4 ticks=$5 busy=${6:-} v errs
	errs=$(kv errors "$line")
	case $3 in
	dl*|ul*) v=$(kv gbps "$line")
		[ -n "$line" ] && [ "$errs" = 0 ] || v=ERR ;;
	*) v=$(kv rate "$line")
		[ -n "$line" ] || v=ERR ;;
	esac
	VAL[$key]="${VAL[$key]:-} $v"
	if [ "$v" = ERR ]; then
		POINT_ERR[$key]=$(grep -h '^# errors\|^loadgen' "$WORK/last.out" | head -n 1)
		[ -n "${POINT_ERR[$key]}" ] || POINT_ERR[$key]="no result (timeout or crash)"
		return
	fi
	P50[$key]="${P50[$key]:-} $(kv p50_us "$line")"
	P99[$key]="${P99[$key]:-} $(kv p99_us "$line")"
	P999[$key]="${P999[$key]:-} $(kv p999_us "$line")"
	ERRS[$key]=$(( ${ERRS[$key]:-0} + ${errs:-0} ))
	[ -n "$busy" ] && MCPU[$key]="${MCPU[$key]:-} $(per_unit "$busy" "$line" "$3")"
	[ -n "$ticks" ] || return
	CPU[$key]="${CPU[$key]:-} $(per_unit "$ticks" "$line" "$3")"
}

# ticks line point: CPU per unit of work: bulk in ms per GiB, rate in µs per
# connection, ping in µs per round trip.
per_unit() {
	awk -v t="$1" -v hz="$CLK_TCK" -v b="$(kv bytes "$2")" -v n="$(kv count "$2")" -v p="$3" '
	    BEGIN { s = t / hz;
	    if (p ~ /^(dl|ul)/) { if (b > 0) printf "%.1f", s * 1000 / (b / 1073741824); else print "ERR" }
	    else { if (n > 0) printf "%.2f", s * 1e6 / n; else print "ERR" } }'
}

# kt-out kthread-pids sink-pids proxy-pids...: "uptime busy steal ours
# proxy" in one read:
# /proc/uptime (seconds); the machine's busy ticks, /proc/stat's user + nice
# + system + irq + softirq of all CPUs (guest time is inside user and nice;
# idle and iowait are not busy; steal is time the hypervisor gave to someone
# else, not work done here, so it is apart); the ticks of the proxy's
# processes; and "ours": those plus the sinks' and this shell's with its
# reaped children (loadgen, awk, ...). Each kernel thread's ticks (ksoftirqd,
# kworkers: where a kernel relay does its work) go to the file kt-out as
# "pid ticks" lines. A process that exits meanwhile is skipped (getline, not
# a file operand: mawk stops at a missing file). Nothing here may scan /proc
# (ps takes ~30 ms): the second read's cost would land in the point.
snapshot() {
	local kt=$1 kthreads=$2 sinks=$3
	shift 3
	awk -v self=$$ -v sinks="$sinks" -v procs="$*" -v kthreads="$kthreads" -v kt="$kt" '
	    function ticks(pid, cum,   f, line, a) {
	        f = "/proc/" pid "/stat"
	        if ((getline line < f) <= 0) return -1
	        close(f)
	        sub(/^.*\) /, "", line)	# the command name may hold spaces
	        split(line, a, " ")
	        return a[12] + a[13] + (cum ? a[14] + a[15] : 0)
	    }
	    BEGIN {
	        getline up < "/proc/uptime"; split(up, u, " ")
	        while ((getline line < "/proc/stat") > 0) {
	            split(line, a, " ")
	            if (a[1] == "cpu") { busy = a[2] + a[3] + a[4] + a[7] + a[8]; steal = a[9]; break }
	        }
	        ours = ticks(self, 1)
	        n = split(sinks, s, " "); for (i = 1; i <= n; i++) if ((t = ticks(s[i], 0)) > 0) ours += t
	        n = split(procs, s, " "); for (i = 1; i <= n; i++) if ((t = ticks(s[i], 0)) > 0) proxy += t
	        printf "" > kt
	        n = split(kthreads, s, " "); for (i = 1; i <= n; i++) if ((t = ticks(s[i], 0)) >= 0) print s[i], t > kt
	        close(kt)
	        print u[1], busy, steal + 0, ours + proxy, proxy + 0
	    }'
}

# w sys point pids...: runs a point, and runs it again (up to NOISE_RETRIES
# times) when other work on the machine took more than NOISE_MAX percent of
# one core meanwhile: busy and steal ticks minus those of the proxy, the
# sinks, this harness with loadgen and the kernel threads (a kernel relay's
# work is not a disturbance). Sets LINE, PT_TICKS (the proxy's), PT_BUSY (the
# machine's busy ticks, every process and the kernel, steal apart) and
# PT_OTHER.
measure_point() {
	local w=$1 sys=$2 p=$3 try u0 b0 st0 o0 x0 u1 b1 st1 o1 x1 kt other steal sinks kthreads
	shift 3
	sinks="${DPID[sinkA]} ${DPID[sinkB]} ${DPID[sinkC]:-} ${DPID[sinkD]:-}"
	for ((try = 0; try <= NOISE_RETRIES; try++)); do
		# kthreadd and its children, listed before the point starts.
		kthreads="2 $(ps -o pid= --ppid 2 | tr '\n' ' ')"
		read -r u0 b0 st0 o0 x0 <<<"$(snapshot "$WORK/kt0" "$kthreads" "$sinks" "$@")"
		LINE=$(run_point "$sys" "$p")
		read -r u1 b1 st1 o1 x1 <<<"$(snapshot "$WORK/kt1" "$kthreads" "$sinks" "$@")"
		# A kernel thread's ticks since the first read (all of them if it is new).
		kt=$(awk 'NR == FNR { t0[$1] = $2; next } { d += $2 - ($1 in t0 ? t0[$1] : 0) }
		    END { print d + 0 }' "$WORK/kt0" "$WORK/kt1")
		read -r other steal <<<"$(awk -v u="$u0 $u1" -v b=$((b1 - b0)) -v o=$((o1 - o0 + kt)) \
		    -v st=$((st1 - st0)) -v hz="$CLK_TCK" 'BEGIN { split(u, t, " ");
		    wall = (t[2] - t[1]) * hz; if (wall <= 0) wall = 1; x = (b + st - o) / wall * 100;
		    printf "%.0f %.0f\n", x < 0 ? 0 : x, st / wall * 100 }')"
		PT_OTHER=$other
		PT_TICKS=$((x1 - x0))
		PT_BUSY=$((b1 - b0))
		[ "$other" -le "$NOISE_MAX" ] && break
		if [ "$try" -lt "$NOISE_RETRIES" ] && [ "$RETRY_LEFT" -gt 0 ]; then
			RETRY_LEFT=$((RETRY_LEFT - 1))
			say "  $w worker(s) ${SYS_TITLE[$sys]} ${POINT_TITLE[$p]}: other work took $other% of a core (steal $steal%): again"
			RETRIED=$((RETRIED + 1))
		else
			RETRIED_STILL=$((RETRIED_STILL + 1))
			break
		fi
	done
	OTHER[$w|$sys|$p]="${OTHER[$w|$sys|$p]:-} $other"
}

# --- Statistics. ---

median() {	# numbers (ERR ignored): the median, or "" if none
	printf '%s\n' "$@" | grep -v '^ERR$' | grep . | sort -g | awk '
	    { v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2];
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

spread() {	# numbers: (max - min) / 2 / median in percent
	printf '%s\n' "$@" | grep -v '^ERR$' | grep . | sort -g | awk '
	    { v[NR] = $1 } END { if (NR < 2) exit; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
	    if (m > 0) printf "%.0f", (v[NR] - v[1]) / 2 / m * 100 }'
}

fmt() {	# number: 3 significant digits-ish for the table
	awk -v x="$1" 'BEGIN { a = x < 0 ? -x : x; if (x == "") print "-"; else if (a >= 100) printf "%.0f", x;
	    else if (a >= 10) printf "%.1f", x; else printf "%.2f", x }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# "b-values" "a-values": the median of b[i] / a[i] over the repetitions
# (interleaved runs of one repetition share the machine's state), with the
# lowest and highest; "-" when the lists do not pair up (a failed run).
paired_ratio() {
	awk -v b="$1" -v a="$2" 'BEGIN { nb = split(b, x, " "); na = split(a, y, " ");
	    if (nb != na) { print "-"; exit }
	    for (i = 1; i <= nb && i <= na; i++) if (x[i] != "ERR" && y[i] != "ERR" && y[i] > 0) r[++n] = x[i] / y[i];
	    if (n == 0) { print "-"; exit }
	    for (i = 2; i <= n; i++) for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
	    m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2;
	    printf "%.2f (%.2f .. %.2f)", m, r[1], r[n] }'
}

# w sys point: the cell of the absolute table.
# shellcheck disable=SC2086
cell() {
	local key="$1|$2|$3" m s e lat=
	[ -n "${FAILED[$1|$2]:-}" ] && { echo "FAILED"; return; }
	m=$(median ${VAL[$key]:-})
	[ -z "$m" ] && { echo "FAILED"; return; }
	s=$(spread ${VAL[$key]})
	e=${ERRS[$key]:-0}
	case $3 in
	rate) lat=" ($(fmt "$(median ${P50[$key]})")/$(fmt "$(median ${P99[$key]})") µs)" ;;
	ping) lat=" ($(fmt "$(median ${P50[$key]})")/$(fmt "$(median ${P99[$key]})")/$(fmt "$(median ${P999[$key]})") µs)" ;;
	esac
	printf '%s%s%s%s' "$(fmt "$m")" "${s:+ ±$s%}" "$lat" "$([ "$e" != 0 ] && echo " [$e errors]")"
}

value() {	# w sys point: the median, "" if failed
	[ -n "${FAILED[$1|$2]:-}" ] && return
	# shellcheck disable=SC2086
	median ${VAL[$1|$2|$3]:-}
}

# --- Machine CPU per unit of work. ---

mvalue() {	# w sys point: the median machine CPU per unit, "" if failed
	[ -n "${FAILED[$1|$2]:-}" ] && return
	# shellcheck disable=SC2086
	median ${MCPU[$1|$2|$3]:-}
}

cvalue() {	# w sys point: the median of the proxy's own CPU per unit, "" if failed
	[ -n "${FAILED[$1|$2]:-}" ] && return
	# shellcheck disable=SC2086
	median ${CPU[$1|$2|$3]:-}
}

p99value() {	# w sys point: the median p99 latency in µs, "" if failed
	[ -n "${FAILED[$1|$2]:-}" ] && return
	# shellcheck disable=SC2086
	median ${P99[$1|$2|$3]:-}
}

# w sys point: the machine's CPU per unit minus direct's at the same point of
# the same run (medians): what the proxy adds wherever the kernel accounts
# it. "" when either is missing (no direct in SYSTEMS, or it failed): never
# an estimate.
added() {
	local m d
	m=$(mvalue "$1" "$2" "$3")
	d=$(mvalue "$1" direct "$3")
	[ -n "$m" ] && [ -n "$d" ] || return 0
	awk -v m="$m" -v d="$d" 'BEGIN { printf "%.2f", m - d }'
}

# a b: a / b for costs, "-" when either is missing or b is not above zero
# (a cost at or below direct's is noise, no base for a ratio).
cost_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b <= 0) print "-"; else printf "%.2f", a / b }'
}

# w kind point: "sys value" of the best peer (HAProxy, nginx, sniproxy) at
# this point, or nothing. kind: thr, the highest throughput; added, the
# lowest machine CPU minus direct's; cpu, the lowest own CPU; p99, the lowest
# p99 latency.
best_peer() {
	local w=$1 kind=$2 p=$3 sys v best='' bsys=''
	for sys in $PEERS; do
		has_system "$sys" || continue
		case $kind in
		thr) v=$(value "$w" "$sys" "$p") ;;
		added) v=$(added "$w" "$sys" "$p") ;;
		cpu) v=$(cvalue "$w" "$sys" "$p") ;;
		p99) v=$(p99value "$w" "$sys" "$p") ;;
		esac
		[ -n "$v" ] || continue
		if [ -z "$best" ] || awk -v a="$v" -v b="$best" -v k="$kind" \
		    'BEGIN { exit !(k == "thr" ? a > b : a < b) }'; then
			best=$v bsys=$sys
		fi
	done
	[ -n "$bsys" ] && echo "$bsys $best"
}

pt_systems() {	# the systems in SYSTEMS other than direct and the peers
	local sys
	for sys in $SYSTEMS; do
		case " direct $PEERS " in *" $sys "*) ;; *) printf '%s ' "$sys" ;; esac
	done
}

# --- Idle cost and perf. ---

usage_of() {	# pids...: "rss_kib threads processes"
	local p rss=0 thr=0 n=0 r t
	for p in "$@"; do
		[ -r "/proc/$p/status" ] || continue
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")
		t=$(awk '/^Threads:/ { print $2 }' "/proc/$p/status")
		rss=$((rss + ${r:-0})) thr=$((thr + ${t:-0})) n=$((n + 1))
	done
	echo "$rss $thr $n"
}

# shellcheck disable=SC2046
idle_measure() {	# sys
	local sys=$1 why r0 t0 r1 t1 n1 lg out i ready=''
	start_system "$sys" 1 || { IDLE[$sys]="FAILED: did not start"; return; }
	if ! why=$(route_check "$sys"); then
		IDLE[$sys]="FAILED: routing: $why"
		stop_system "$sys"
		return
	fi
	sleep 0.5
	read -r r0 t0 _ <<<"$(usage_of $(system_pids "$sys"))"
	out=$WORK/idle-$sys.out
	# shellcheck disable=SC2046
	"$LOADGEN" -m idle -a "127.0.0.1:$PROXY_PORT" -s "$SNI_A" -c "$IDLE_K" \
	    -C "127.0.0.1:$(sinks_of "$sys" | awk '{ print $3 }')" $(loadgen_extra "$sys") \
	    -d "$IDLE_TIMEOUT" >"$out" 2>&1 &
	lg=$!
	for ((i = 0; i < IDLE_TIMEOUT * 10; i++)); do
		grep -q '^ready' "$out" && { ready=1; break; }
		kill -0 "$lg" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$ready" ]; then
		sleep 0.5	# let lazily allocated state settle
		read -r r1 t1 n1 <<<"$(usage_of $(system_pids "$sys"))"
	fi
	kill -TERM "$lg" 2>/dev/null
	wait "$lg" 2>/dev/null
	if [ -n "$ready" ]; then
		IDLE[$sys]="$r0 $r1 $t0 $t1 $n1"
	else
		IDLE[$sys]="FAILED: $(grep -h '^result\|^#' "$out" | tail -n 2 | tr '\n' ' ')"
	fi
	stop_system "$sys"
}

# perf stat -x, output file: "cpu_ms ctx_switches migrations syscalls sqes iowq"
# ("-" where an event was not counted).
perf_parse() {
	awk -F, '
	    { v = ($1 ~ /^[0-9.]+$/) ? $1 : "-" }
	    $3 == "task-clock" { tc = v } $3 == "context-switches" { cs = v }
	    $3 == "cpu-migrations" { mg = v } $3 == "raw_syscalls:sys_enter" { sc = v }
	    $3 == "io_uring:io_uring_submit_req" { sq = v }
	    $3 == "io_uring:io_uring_queue_async_work" { aw = v }
	    END { printf "%s %s %s %s %s %s\n", tc == "" ? "-" : tc, cs == "" ? "-" : cs,
	    mg == "" ? "-" : mg, sc == "" ? "-" : sc, sq == "" ? "-" : sq, aw == "" ? "-" : aw }' "$1"
}

# sys: one run of dl8, rate and ping with perf stat attached to the proxy's
# processes, 1 worker. Tracepoints slow the proxy a little: these runs are
# for counting, never for the throughput tables.
perf_measure() {
	local sys=$1 pids point pf line
	start_system "$sys" 1 || return
	if ! route_check "$sys" >/dev/null; then
		stop_system "$sys"
		return
	fi
	pids=$(system_pids "$sys" | tr ' ' ',')
	for point in dl8 rate ping; do
		pf=$WORK/perf-$sys-$point.csv
		# With -p and a command, perf counts the pids while the command
		# runs, and starts it only once the counters are on.
		line=$(run_point "$sys" "$point" perf stat -x, -e "$PERF_EVENTS" -p "$pids" -o "$pf" --)
		case $point in
		dl8) PERFR[$sys|$point]="$(perf_parse "$pf") $(( $(kv bytes "$line") / PIPE_BYTES ))" ;;
		*) PERFR[$sys|$point]="$(perf_parse "$pf") $(kv count "$line")" ;;
		esac
	done
	stop_system "$sys"
}

# --- Output. ---

machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	printf '%s, %s cores, %s GiB, kernel %s' "$cpu" "$(nproc)" \
	    "$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$(uname -r)"
}

versions() {
	local rev
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	printf 'passthrough %s (built from the working tree at %s), HAProxy %s, nginx %s, sniproxy %s' \
	    "$("$PASSTHROUGH" -V 2>/dev/null | awk '{ print $NF; exit }')" "$rev" \
	    "$(haproxy -v 2>/dev/null | awk 'NR == 1 { print $3 }')" \
	    "$(nginx -v 2>&1 | sed 's|.*/||')" "$(sniproxy -V 2>&1 | awk '{ print $2; exit }')"
}

# table_head LABEL [EXTRA]: a markdown header row, a column per point (and EXTRA).
table_head() {
	local p
	printf '| %s |' "$1"; for p in $POINTS; do printf ' %s |' "${POINT_TITLE[$p]}"; done
	[ -n "${2:-}" ] && printf ' %s |' "$2"
	echo
	printf '|---|'; for p in $POINTS; do printf -- '---:|'; done
	[ -n "${2:-}" ] && printf -- '---:|'
	echo
}

# ratio_row W SYS BASE: SYS's points divided by BASE's (a system, or "best": BEST[point]).
ratio_row() {
	local w=$1 sys=$2 base=$3 p v b
	printf '| %s |' "${SYS_TITLE[$sys]}"
	for p in $POINTS; do
		v=$(value "$w" "$sys" "$p")
		if [ "$base" = best ]; then b=${BEST[$p]}; else b=$(value "$w" "$base" "$p"); fi
		if [ -z "$v" ]; then printf ' FAILED |'; else printf ' %s |' "$(ratio "$v" "$b")"; fi
	done
	echo
}

direct_ratio_table() {	# w
	local w=$1 sys
	echo "Ratio to direct (higher is better):"
	echo
	table_head system
	for sys in $SYSTEMS; do
		[ "$sys" = direct ] || ratio_row "$w" "$sys" direct
	done
	echo
}

has_peer() {	# whether SYSTEMS holds HAProxy, nginx or sniproxy
	local sys
	for sys in $PEERS; do has_system "$sys" && return 0; done
	return 1
}

peer_ratio_table() {	# w
	local w=$1 sys p best bsys
	echo "passthrough / best peer (HAProxy, nginx, sniproxy; higher is better):"
	echo
	table_head ""
	printf '| best peer |'
	for p in $POINTS; do
		read -r bsys best <<<"$(best_peer "$w" thr "$p")"
		BEST[$p]=$best
		printf ' %s |' "${bsys:+${SYS_TITLE[$bsys]} $(fmt "$best")}"
	done
	echo
	for sys in $(pt_systems); do ratio_row "$w" "$sys" best; done
	echo
}

table_for() {	# w: the throughput tables of one worker count
	local w=$1 sys p v
	echo "### $w worker$([ "$w" = 1 ] || echo s)"
	echo
	table_head system "other load"
	for sys in $SYSTEMS; do
		printf '| %s |' "${SYS_TITLE[$sys]}"
		for p in $POINTS; do printf ' %s |' "$(cell "$w" "$sys" "$p")"; done
		local others=''
		for p in $POINTS; do others="$others ${OTHER[$w|$sys|$p]:-}"; done
		# shellcheck disable=SC2086
		printf ' %s |\n' "$(v=$(median $others); [ -n "$v" ] && echo "$v%" || echo -)"
	done
	echo
	echo "Cells: Gbit/s (bulk), connections/s (p50/p99 µs), round trips/s (p50/p99/p99.9 µs);"
	echo "± is half the min-max range of the repetitions. Other load: the median share of a"
	echo "core that processes outside the benchmark took while this row's points ran."
	echo
	has_system direct && direct_ratio_table "$w"
	has_peer && peer_ratio_table "$w"
}

# w sys point: machine CPU minus direct's, with the proxy's own CPU in
# parentheses; FAILED when the point has no measurement.
added_cell() {
	[ -n "$(mvalue "$1" "$2" "$3")" ] || { echo FAILED; return; }
	echo "$(fmt "$(added "$1" "$2" "$3")") ($(fmt "$(cvalue "$1" "$2" "$3")"))"
}

# w: the machine CPU tables of one worker count: the machine's CPU per unit
# minus direct's next to the proxy's own, that against the best peer's, and
# the whole machine's per unit.
cpu_tables() {
	local w=$1 sys p bsys b
	local -A best=()
	echo "### $w worker$([ "$w" = 1 ] || echo s)"
	echo
	echo "The machine's CPU per unit of work minus direct's: what the proxy costs the whole"
	echo "machine (its own processes, the second TCP connection's kernel work, softirq and"
	echo "kernel threads), and in parentheses the proxy's own CPU (utime + stime of all its"
	echo "processes and threads, io-wq included). Medians; lower is better. Bulk: ms per"
	echo "GiB; rate: µs per connection; ping: µs per round trip. \"-\": no direct in this run."
	echo
	table_head system
	if has_system direct; then
		printf '| direct (subtracted) |'
		for p in $POINTS; do printf ' %s |' "$(fmt "$(mvalue "$w" direct "$p")")"; done
		echo
	fi
	for sys in $SYSTEMS; do
		[ "$sys" = direct ] && continue
		printf '| %s |' "${SYS_TITLE[$sys]}"
		for p in $POINTS; do printf ' %s |' "$(added_cell "$w" "$sys" "$p")"; done
		echo
	done
	echo
	if has_system direct && has_peer; then
		echo "passthrough / best peer, machine CPU minus direct's (the peer that adds the least"
		echo "at each point; lower is better):"
		echo
		table_head ""
		printf '| best peer |'
		for p in $POINTS; do
			read -r bsys b <<<"$(best_peer "$w" added "$p")"
			best[$p]=$b
			printf ' %s |' "${bsys:+${SYS_TITLE[$bsys]} $(fmt "$b")}"
		done
		echo
		for sys in $(pt_systems); do
			printf '| %s |' "${SYS_TITLE[$sys]}"
			for p in $POINTS; do
				if [ -z "$(mvalue "$w" "$sys" "$p")" ]; then printf ' FAILED |'
				else printf ' %s |' "$(cost_ratio "$(added "$w" "$sys" "$p")" "${best[$p]}")"; fi
			done
			echo
		done
		echo
	fi
	echo "The whole machine's CPU per unit of work (every process and the kernel: loadgen,"
	echo "the sinks, the proxy, other work; median ± half the range of the repetitions):"
	echo
	table_head system
	for sys in $SYSTEMS; do
		printf '| %s |' "${SYS_TITLE[$sys]}"
		for p in $POINTS; do
			if [ -z "$(mvalue "$w" "$sys" "$p")" ]; then printf ' FAILED |'
			else printf ' %s |' "$(ab_cell "${MCPU[$w|$sys|$p]}")"; fi
		done
		echo
	done
	echo
}

# w point kind target label: one row of the goals table; counts it in
# GOALS_MET, GOALS_MISSED or GOALS_NA (not measured).
goal_row() {
	local w=$1 p=$2 kind=$3 target=$4 v bsys b r verdict op='≤'
	case $kind in
	thr) v=$(value "$w" "$GOAL_SYSTEM" "$p") op='≥' ;;
	added) v=$(added "$w" "$GOAL_SYSTEM" "$p") ;;
	p99) v=$(p99value "$w" "$GOAL_SYSTEM" "$p") ;;
	esac
	read -r bsys b <<<"$(best_peer "$w" "$kind" "$p")"
	r=$(cost_ratio "$v" "$b")
	if [ "$r" = - ]; then
		verdict="not measured" GOALS_NA=$((GOALS_NA + 1))
	elif awk -v v="$v" -v b="$b" -v t="$target" -v k="$kind" \
	    'BEGIN { exit !(k == "thr" ? v / b >= t : v / b <= t) }'; then
		verdict=met GOALS_MET=$((GOALS_MET + 1))
	else
		verdict="not met" GOALS_MISSED=$((GOALS_MISSED + 1))
	fi
	printf '| %s | %s | %s | %s | %s | %s %s | %s |\n' "$5" "${POINT_TITLE[$p]}" "$(fmt "$v")" \
	    "${bsys:+${SYS_TITLE[$bsys]} $(fmt "$b")}" "$r" "$op" "$target" "$verdict"
}

# w: issue 14's goals for passthrough's default relay (GOAL_SYSTEM) against
# the best peer of the same run, point by point.
goals_table() {
	local w=$1 p u
	GOALS_MET=0 GOALS_MISSED=0 GOALS_NA=0
	echo "### $w worker$([ "$w" = 1 ] || echo s)"
	echo
	echo "| goal | point | ${SYS_TITLE[$GOAL_SYSTEM]} | best peer | ratio | target | |"
	echo "|---|---|---:|---:|---:|---:|---|"
	for p in $POINTS; do
		case $p in
		dl*|ul*) goal_row "$w" "$p" added 0.6 "machine CPU per GiB minus direct's, ms" ;;
		rate) goal_row "$w" "$p" added 0.8 "machine CPU per connection minus direct's, µs" ;;
		ping) goal_row "$w" "$p" added 0.6 "machine CPU per round trip minus direct's, µs" ;;
		esac
	done
	case " $POINTS " in *" ping "*) goal_row "$w" ping p99 1 "ping p99 latency, µs" ;; esac
	for p in $POINTS; do
		case $p in dl*|ul*) u=Gbit/s ;; rate) u=connections/s ;; *) u="round trips/s" ;; esac
		goal_row "$w" "$p" thr 1 "throughput, $u"
	done
	echo
	printf 'Met: %d of %d.' "$GOALS_MET" $((GOALS_MET + GOALS_MISSED))
	[ "$GOALS_NA" -gt 0 ] && printf ' Not measured: %d (a failed point, or no direct to subtract).' "$GOALS_NA"
	printf '\n\n'
}

has_goals() { has_system "$GOAL_SYSTEM" && has_peer; }

goals_section() {	# the goals tables, every worker count
	local w
	has_goals || return 0
	echo "## Goals: ${SYS_TITLE[$GOAL_SYSTEM]} against the best peer of this run"
	echo
	echo "Issue 14's goals for passthrough's default relay, point by point, against the best"
	echo "of HAProxy, nginx stream and sniproxy at that point in this run (the lowest cost,"
	echo "the lowest p99, the highest throughput): machine CPU minus direct's at most 0.6x"
	echo "the best peer's per GiB, 0.8x per connection, 0.6x per round trip; ping p99 and"
	echo "throughput at least as good as the best peer's."
	echo
	for w in $WORKERS_LIST; do goals_table "$w"; done
}

cpu_section() {	# the machine CPU tables, every worker count
	local w
	echo "## Machine CPU per unit of work"
	echo
	echo "Busy ticks of all CPUs over each point (\`/proc/stat\`: user + nice + system + irq"
	echo "+ softirq; guest time is inside user; steal, idle and iowait are not counted),"
	echo "divided by the work done. It counts every process and the kernel's work (softirq,"
	echo "kernel threads), other engineers' work too: the throughput tables give each row's"
	echo "other load, and a point run while it was high was run again (notes). direct runs"
	echo "the same loadgen and sinks with no proxy, so a system's figure minus direct's is"
	echo "what the proxy adds. Each read counts whole ticks (1/$CLK_TCK s) per CPU: over one run"
	echo "that moves $BULK, the rounding is up to $(awk -v hz="$CLK_TCK" -v n="$(nproc)" -v b="$(bulk_bytes)" \
	    'BEGIN { printf "%.0f", n * 1000 / hz / (b / 1073741824) }') ms per GiB (the median of $REPS runs narrows it)."
	echo
	for w in $WORKERS_LIST; do cpu_tables "$w"; done
}

idle_table() {
	local sys r0 r1 t0 t1 n1
	echo "## Idle connections: $IDLE_K through each proxy, 1 worker"
	echo
	echo "RSS summed over the proxy's processes after the $IDLE_K connections were established"
	echo "(the sink saw every hello) minus before, divided by $IDLE_K; kernel socket memory is not in RSS."
	echo
	echo "| system | RSS before (MiB) | RSS after (MiB) | bytes / connection | threads before | threads after | processes |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for sys in $SYSTEMS; do
		[ "$sys" = direct ] && continue
		[ -n "${IDLE[$sys]:-}" ] || continue
		case ${IDLE[$sys]} in
		FAILED*) echo "| ${SYS_TITLE[$sys]} | ${IDLE[$sys]} | | | | | |"; continue ;;
		esac
		read -r r0 r1 t0 t1 n1 <<<"${IDLE[$sys]}"
		printf '| %s | %.1f | %.1f | %d | %d | %d | %d |\n' "${SYS_TITLE[$sys]}" \
		    "$(awk -v k="$r0" 'BEGIN { print k / 1024 }')" "$(awk -v k="$r1" 'BEGIN { print k / 1024 }')" \
		    "$(( (r1 - r0) * 1024 / IDLE_K ))" "$t0" "$t1" "$n1"
	done
	echo
}

perf_table() {
	local sys p tc cs mg sc sq aw n
	echo "## Operations per unit of work: perf stat on the proxy's processes, 1 worker"
	echo
	echo "\`perf stat -e $PERF_EVENTS\`"
	echo "attached to every process of the proxy during one extra run of each point"
	echo "(tracepoints cost a little: these runs are not in the tables above). Unit:"
	echo "download C=8 per $((PIPE_BYTES / 1024)) KiB relayed (one pipe-full), rate per connection, ping per"
	echo "round trip. $PERF_HW"
	echo
	echo "| system | point | CPU µs | context switches | syscalls | io_uring SQEs | io-wq hand-offs | migrations (run) |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|"
	for sys in $SYSTEMS; do
		[ "$sys" = direct ] && continue
		for p in dl8 rate ping; do
			[ -n "${PERFR[$sys|$p]:-}" ] || continue
			read -r tc cs mg sc sq aw n <<<"${PERFR[$sys|$p]}"
			awk -v s="${SYS_TITLE[$sys]}" -v p="${POINT_TITLE[$p]}" -v tc="$tc" -v cs="$cs" \
			    -v mg="$mg" -v sc="$sc" -v sq="$sq" -v aw="$aw" -v n="$n" '
			    function per(x, d) { return (x == "-" || n == "" || n == 0) ? "-" : sprintf("%." d "f", x / n) }
			    BEGIN { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", s, p,
			        (tc == "-" || n == "" || n == 0) ? "-" : sprintf("%.1f", tc * 1000 / n),
			        per(cs, 2), per(sc, 2), per(sq, 2), per(aw, 2), mg }'
		done
	done
	echo
}

# The chart's data, one block per worker count: for each point, each
# system's throughput relative to direct's (thr), or its machine CPU minus
# direct's relative to the best peer's (cpu).
chart_data() {	# kind
	local w p sys v b
	for w in $WORKERS_LIST; do
		printf 'point'
		for sys in $SYSTEMS; do [ "$sys" = direct ] || printf ' "%s"' "${SYS_TITLE[$sys]}"; done
		echo
		for p in $POINTS; do
			printf '"%s"' "${POINT_TITLE[$p]}"
			[ "$1" = cpu ] && read -r _ b <<<"$(best_peer "$w" added "$p")"
			for sys in $SYSTEMS; do
				[ "$sys" = direct ] && continue
				if [ "$1" = cpu ]; then
					printf ' %s' "$(cost_ratio "$(added "$w" "$sys" "$p")" "$b")"
				else
					v=$(value "$w" "$sys" "$p")
					if [ -z "$v" ]; then printf ' -'; else printf ' %s' "$(ratio "$v" "$(value "$w" direct "$p")")"; fi
				fi
			done
			echo
		done
		printf '\n\n'
	done
}

# Writes the PNG, two panels per worker count: the machine's CPU per unit
# minus direct's relative to the best peer's (when there is a peer), and the
# throughput relative to direct's.
chart() {
	local dat=$WORK/chart.dat cdat=$WORK/chart-cpu.dat png=$OUT_DIR/$OUT_NAME.png w i=0 cols=0 panels sys
	has_system direct || return 0	# both panels are relative to direct
	command -v gnuplot >/dev/null || { say "gnuplot missing: no chart" >&2; return; }
	chart_data thr >"$dat"
	panels=$(echo "$WORKERS_LIST" | wc -w)
	has_peer && { chart_data cpu >"$cdat"; panels=$((panels * 2)); }
	for sys in $SYSTEMS; do [ "$sys" = direct ] || cols=$((cols + 1)); done
	gnuplot <<EOG 2>"$WORK/gnuplot.log" || say "gnuplot failed: $(cat "$WORK/gnuplot.log")" >&2
set terminal pngcairo noenhanced size 1200,$((420 * panels)) font "sans,10"
set output "$png"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top
set multiplot layout $panels,1 title "TLS passthrough relays on loopback: median of $REPS runs ($(date +%F))"
$(for w in $WORKERS_LIST; do
	ws="$w worker$([ "$w" = 1 ] || echo s)"
	if has_peer; then
		echo "set title \"$ws: machine CPU per unit minus direct's, relative to the best peer's (lower is better; goals 0.6, rate 0.8)\""
		echo "set ylabel \"/ best peer's (clipped at 3)\""
		echo "set yrange [0:3]"
		echo "set arrow 1 from graph 0, first 0.6 to graph 1, first 0.6 nohead dashtype 2 front"
		echo "plot for [c=2:$((cols + 1))] \"$cdat\" index $i using c:xtic(1) title columnheader(c)"
		echo "unset arrow 1"
	fi
	echo "set title \"$ws: throughput relative to direct (higher is better)\""
	echo "set ylabel \"/ direct\""
	echo "set yrange [0:*]"
	echo "plot for [c=2:$((cols + 1))] \"$dat\" index $i using c:xtic(1) title columnheader(c)"
	i=$((i + 1))
done)
unset multiplot
EOG
}

write_markdown() {	# file
	local w elapsed=$(( $(date +%s) - START_TIME ))
	{
		echo "# Benchmark results$([ -n "$QUICK" ] && echo " (QUICK)")"
		echo
		echo "Written by \`tools/bench/run.sh\` (\`make bench${QUICK:+ QUICK=1}\`) on $(date '+%F %H:%M %Z'), in $((elapsed / 60)) min $((elapsed % 60)) s."
		echo
		echo "- Machine: $(machine)."
		echo "- Software: $(versions)."
		echo "- Method: every system relays to the same two sinks with the same routes"
		echo "  ($SNI_A -> sink A, anything else and no SNI -> sink B), checked before"
		echo "  measuring; systems are interleaved within each repetition (in an order"
		echo "  rotated per repetition), each point is run $REPS times and the median"
		echo "  kept; ±x% is half the min-max range of the"
		echo "  repetitions. Bulk: $BULK per run split over C connections, Gbit/s from"
		echo "  the first connect to the last completion. rate: closed loop, connect,"
		echo "  hello, $MSG_BYTES-byte reply, close, $SECS s, connections/s (p50/p99"
		echo "  connect-to-reply). ping: $MSG_BYTES-byte request/response for $SECS s,"
		echo "  round trips/s (p50/p99/p99.9). The load generator and the sinks run on the"
		echo "  same 2 cores as the proxy: direct is the loopback limit of the tools"
		echo "  alone. The machine is shared: compare ratios within a run, absolutes drift."
		echo "- Cost: the headline is the machine's CPU per unit of work (all CPUs' busy"
		echo "  time, kernel included) minus direct's at the same point: the cost a proxy"
		echo "  adds wherever the kernel accounts it, which its own CPU time (also given)"
		echo "  misses when work moves to softirq or kernel threads."
		echo
		goals_section
		cpu_section
		echo "## Throughput and latency"
		echo
		for w in $WORKERS_LIST; do table_for "$w"; done
		[ "$IDLE_K" -gt 0 ] && idle_table
		[ "$PERF" = 1 ] && perf_table
		ab_tables
		echo "## Notes"
		echo
		for n in "${NOTES[@]}"; do echo "- $n"; done
		echo "- Interference: $(interference_summary)"
		for w in $WORKERS_LIST; do
			for sys in $SYSTEMS; do
				[ -n "${FAILED[$w|$sys]:-}" ] && echo "- $w worker(s), ${SYS_TITLE[$sys]}: FAILED: ${FAILED[$w|$sys]}"
				for p in $POINTS; do
					[ -n "${POINT_ERR[$w|$sys|$p]:-}" ] &&
					    echo "- $w worker(s), ${SYS_TITLE[$sys]}, ${POINT_TITLE[$p]}: a run failed (${POINT_ERR[$w|$sys|$p]#\# })$([ -z "$(value "$w" "$sys" "$p")" ] && echo ": FAILED in every run")"
				done
			done
		done
		echo
		has_system direct && echo "![machine CPU minus direct relative to the best peer, throughput relative to direct]($OUT_NAME.png)"
	} >"$1"
}

# An interleaved A/B (tools/bench/proxy_ab.sh, backends_ab.sh): system b
# against a, per worker count and point, with each repetition's numbers.
ab_table() {	# a b title
	local a=$1 b=$2 w p sys
	has_system "$a" && has_system "$b" || return 0
	echo "## $3: B (${SYS_TITLE[$b]}) against A (${SYS_TITLE[$a]})"
	echo
	echo "Medians ± half the min-max range of the repetitions; CPU per connection (rate) or per"
	echo "round trip (ping) in µs: the proxy's own processes, and the whole machine's busy time"
	echo "(every process: loadgen, sinks and other work included) over the same run."
	echo
	for w in $WORKERS_LIST; do
		for p in $POINTS; do
			case $p in rate|ping) ;; *) continue ;; esac
			echo "### $w worker$([ "$w" = 1 ] || echo s), ${POINT_TITLE[$p]}"
			echo
			echo "| | per second | proxy CPU µs | machine CPU µs | each repetition, per second |"
			echo "|---|---:|---:|---:|---|"
			for sys in "$a" "$b"; do
				printf '| %s | %s | %s | %s | %s |\n' \
				    "$([ "$sys" = "$a" ] && echo A || echo B): ${SYS_TITLE[$sys]}" \
				    "$(cell "$w" "$sys" "$p")" "$(ab_cell "${CPU[$w|$sys|$p]:-}")" \
				    "$(ab_cell "${MCPU[$w|$sys|$p]:-}")" "$(echo ${VAL[$w|$sys|$p]:-})"
			done
			# shellcheck disable=SC2086
			printf '| B / A | %s | %s | %s | |\n' \
			    "$(ratio "$(value "$w" "$b" "$p")" "$(value "$w" "$a" "$p")")" \
			    "$(ratio "$(median ${CPU[$w|$b|$p]:-})" "$(median ${CPU[$w|$a|$p]:-})")" \
			    "$(ratio "$(median ${MCPU[$w|$b|$p]:-})" "$(median ${MCPU[$w|$a|$p]:-})")"
			printf '| B / A per repetition (median, range) | %s | %s | %s | |\n' \
			    "$(paired_ratio "${VAL[$w|$b|$p]:-}" "${VAL[$w|$a|$p]:-}")" \
			    "$(paired_ratio "${CPU[$w|$b|$p]:-}" "${CPU[$w|$a|$p]:-}")" \
			    "$(paired_ratio "${MCPU[$w|$b|$p]:-}" "${MCPU[$w|$a|$p]:-}")"
			echo
		done
	done
}

ab_tables() {
	ab_table pt_adaptive pt_proxy "PROXY protocol both ways"
	ab_table pt_adaptive pt_weighted "Weighted backends with active checks"
	ab_table pt_adaptive pt_leastconn "Weighted backends with active checks, leastconn"
}

# numbers: "median ±spread%", or "-".
# shellcheck disable=SC2086
ab_cell() {
	local m s
	m=$(median $1)
	[ -n "$m" ] || { echo -; return; }
	s=$(spread $1)
	echo "$(fmt "$m")${s:+ ±$s%}"
}

interference_summary() {
	local all=() k
	for k in "${!OTHER[@]}"; do
		# shellcheck disable=SC2206
		all+=(${OTHER[$k]})
	done
	printf 'during a point, CPU taken by anything but the proxy, the sinks, loadgen and the kernel threads (other processes on this shared machine such as compilers, hypervisor steal, softirq while idle) was %s%% of one core at the median, %s%% at most; %d point runs were repeated because it exceeded %s%%, and %d runs over it were kept (after %d retries, or with the retry budget of an eighth of all runs spent).' \
	    "$(median "${all[@]}")" "$(printf '%s\n' "${all[@]}" | sort -g | tail -n 1)" \
	    "$RETRIED" "$NOISE_MAX" "$RETRIED_STILL" "$NOISE_RETRIES"
}

print_console() {	# the tables on stdout, without markdown pipes' noise
	local w
	for w in $WORKERS_LIST; do table_for "$w"; done
	[ "$IDLE_K" -gt 0 ] && idle_table
	[ "$PERF" = 1 ] && perf_table
	ab_tables
	cpu_section
	goals_section
	say "Interference: $(interference_summary)"
}

# --- Main. ---

tools/deps.sh bench || die "missing packages (tools/deps.sh bench)"
for f in "$PASSTHROUGH" "$LOADGEN" "$SINK"; do
	[ -x "$f" ] || die "$f is missing: make all bench-tools BUILD=$BUILD"
done
case " $SYSTEMS " in *" pt_bare "*)
	[ -x "$PASSTHROUGH_BARE" ] || die "$PASSTHROUGH_BARE is missing: make BUILD=$BUILD/bare" \
	    "CPPFLAGS=-DPASSTHROUGH_NO_COUNTERS $PASSTHROUGH_BARE" ;;
esac
WORK=$(mktemp -d /tmp/ptbench.XXXXXX) || die "mktemp failed"
for port in "$PROXY_PORT" "$SINK_A" "$SINK_B" "$CTL_A" "$CTL_B" "$SINK_C" "$SINK_D" \
    "$CTL_C" "$CTL_D"; do
	port_listening "$port" && die "port $port is taken: set BENCH_PORT_BASE"
done
declare -A BEST=()
CLK_TCK=$(getconf CLK_TCK)
PERF_EVENTS=task-clock,context-switches,cpu-migrations PERF_HW="No hardware counters are used."
if [ "$PERF" = 1 ]; then
	if ! perf stat -e task-clock true >/dev/null 2>&1; then
		say "perf stat does not work here: skipping the operations table" >&2
		PERF=0
	else
		for ev in raw_syscalls:sys_enter io_uring:io_uring_submit_req \
		    io_uring:io_uring_queue_async_work; do
			perf stat -e "$ev" true >/dev/null 2>&1 && PERF_EVENTS=$PERF_EVENTS,$ev
		done
		perf stat -x, -e instructions true 2>&1 | grep -q 'not supported' &&
		    PERF_HW="Hardware counters (instructions, cycles) are not available on this machine (\`perf stat -e instructions\`: not supported)."
	fi
fi
case " $SYSTEMS " in *" nginx "*) nginx_probe_half_close ;; esac
NOTES+=("HAProxy: \`option splice-request\` and \`option splice-response\` forced (on loopback splice-auto never engages); nbthread = workers; maxconn 9100, maxpipes 512, tune.pipesize $HAPROXY_PIPE_BYTES.")
NOTES+=("sniproxy is a single process with one thread: its 2-worker rows run the same configuration as its 1-worker rows; it has a fallback for hellos without SNI.")
NOTES+=("passthrough: pipe_bytes $PIPE_BYTES (a streaming direction's pipe grows to 1 MiB, within 4096 pages shared by the workers), log level info (no per-connection lines); relay \"splice\" is splice(2) inline after an io_uring poll, \"splice_ring\" is IORING_OP_SPLICE on io-wq, \"adaptive\" copies until a direction streams (a 16 KiB read), then splices.")
NOTES+=("Tools: loadgen with min(C, 2) threads, two sinks with $SINK_THREADS threads each; payload is sent from a static buffer and received with MSG_TRUNC (no copy).")
# shellcheck disable=SC2086
RETRY_LEFT=$(( $(set -- $SYSTEMS; echo $#) * $(set -- $POINTS; echo $#) * REPS * $(set -- $WORKERS_LIST; echo $#) / 8 ))
start_sinks
say "benchmark: $(machine)"
say "QUICK=${QUICK:-0} REPS=$REPS BULK=$BULK SECS=$SECS IDLE_K=$IDLE_K workers: $WORKERS_LIST; temp dir $WORK"

# Each repetition starts one system further on, so no system always runs
# right after the same neighbour (TIME_WAIT sockets, caches, drift).
rotate() {	# n words...: the words rotated left by n
	local n=$1
	shift
	local -a all=("$@")
	local i
	for ((i = 0; i < ${#all[@]}; i++)); do
		printf '%s ' "${all[(i + n) % ${#all[@]}]}"
	done
}

for w in $WORKERS_LIST; do
	for ((rep = 1; rep <= REPS; rep++)); do
		# shellcheck disable=SC2086
		for sys in $(rotate $((rep - 1)) $SYSTEMS); do
			[ -n "${FAILED[$w|$sys]:-}" ] && continue
			if ! start_system "$sys" "$w"; then
				FAILED[$w|$sys]="did not start (see its log)"
				say "$w worker(s) rep $rep ${SYS_TITLE[$sys]}: FAILED to start"
				continue
			fi
			if ! why=$(route_check "$sys"); then
				FAILED[$w|$sys]="routing check: $why"
				say "$w worker(s) rep $rep ${SYS_TITLE[$sys]}: routing FAILED: $why"
				stop_system "$sys"
				continue
			fi
			line_out=
			pids=
			[ "$sys" = direct ] || pids=$(system_pids "$sys")
			for p in $POINTS; do
				# shellcheck disable=SC2086
				measure_point "$w" "$sys" "$p" $pids
				line=$LINE
				record "$w" "$sys" "$p" "$line" "${pids:+$PT_TICKS}" "$PT_BUSY"
				case $p in
				dl*|ul*) line_out="$line_out $p=$(kv gbps "$line")" ;;
				*) line_out="$line_out $p=$(kv rate "$line")" ;;
				esac
				[ -n "$line" ] && line_out="$line_out machine $(per_unit "$PT_BUSY" "$line" "$p")"
				line_out="${line_out}[other ${PT_OTHER}%]"
				[ -n "$line" ] && [ "$(kv errors "$line")" != 0 ] && line_out="$line_out(err $(kv errors "$line"))"
				[ -z "$line" ] && line_out="$line_out(no result)"
			done
			stop_system "$sys"
			say "$w worker(s) rep $rep ${SYS_TITLE[$sys]}:$line_out"
		done
	done
done

if [ "$IDLE_K" -gt 0 ]; then
	for sys in $SYSTEMS; do
		[ "$sys" = direct ] && continue
		idle_measure "$sys"
		say "idle ${SYS_TITLE[$sys]}: ${IDLE[$sys]}"
	done
fi
if [ "$PERF" = 1 ]; then
	for sys in $SYSTEMS; do
		[ "$sys" = direct ] && continue
		perf_measure "$sys"
		say "perf ${SYS_TITLE[$sys]} (ms ctxsw migr syscalls sqes iowq units): ${PERFR[$sys|dl8]:-} | ${PERFR[$sys|rate]:-} | ${PERFR[$sys|ping]:-}"
	done
fi

mkdir -p "$OUT_DIR"
print_console
write_markdown "$OUT_DIR/$OUT_NAME.md"
chart
say "wrote $OUT_DIR/$OUT_NAME.md$(has_system direct && echo " and $OUT_DIR/$OUT_NAME.png") in $(( $(date +%s) - START_TIME )) s"
