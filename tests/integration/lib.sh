# lib.sh -- shared helpers for the integration tests (sourced, not run): a
# temp dir cleaned on exit, free ports, a test CA and backend certificates,
# nginx TLS backends, ptsink/ptshaper, the proxy itself, and assertions.
#
# Binaries come from $BUILD (default "build", relative to the repo root):
# $BUILD/passthrough and the tools $BUILD/tests/{ptsink,ptclient,ptshaper}.
# Every process started through these helpers is stopped on exit.
# shellcheck disable=SC2034  # variables set here are read by the tests
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PT=$BUILD/passthrough
PTSINK=$BUILD/tests/ptsink
PTCLIENT=$BUILD/tests/ptclient
PTSHAPER=$BUILD/tests/ptshaper
CERTS=$BUILD/test-certs
CA=$CERTS/ca.crt
TEST_NAME=$(basename "$0" .sh)

for _bin in "$PT" "$PTSINK" "$PTCLIENT" "$PTSHAPER"; do
	if [ ! -x "$_bin" ]; then
		echo "FAIL: $_bin is missing: build it with make BUILD=$BUILD all $PTSINK $PTCLIENT $PTSHAPER" >&2
		exit 1
	fi
done
for _cmd in openssl curl nginx ss flock; do
	if ! command -v "$_cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$_cmd" ]; then
		echo "FAIL: $_cmd is missing: run tools/deps.sh test" >&2
		exit 1
	fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

T=$(mktemp -d "${TMPDIR:-/tmp}/pt-$TEST_NAME.XXXXXX") || exit 1
# Stays 0700: workers (nobody by default) never open a path here; the master
# opens the log files and hands them over.
PIDS=()
FAILS=0
PROXY_PID=
PROXY_LOG=$T/proxy.log
SINK_LOG=$T/sink.log
declare -A SINK_PORT=() NGINX_PORT=() SHAPER_PORT=()
PROXY_WRAP=()
: >"$SINK_LOG"
: >"$T/ports"

# ---- processes and cleanup ------------------------------------------------

# True while pid runs (a zombie, exited but not waited for, does not count).
pid_alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# True while pid runs and is this shell's child: a pid we waited for may
# have been reused by a process that is not ours, which must not be signalled.
pid_ours() {
	pid_alive "$1" && [ "$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)" = "$$" ]
}

# Waits up to $2 seconds (default 5) for pid $1 to exit. 0 if it did.
pid_wait_exit() {
	local pid=$1 i tenths=$(( ${2:-5} * 10 ))
	for ((i = 0; i < tenths; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	! pid_alive "$pid"
}

# exit_wait PID SECONDS: waits up to SECONDS for the child PID (spawned by
# this shell) to exit; sets EXIT_RC to its exit status, or "still-running".
exit_wait() {
	if pid_wait_exit "$1" "$2"; then
		wait "$1"
		EXIT_RC=$?
	else
		EXIT_RC=still-running
	fi
}

# spawn CMD...: starts it in the background, remembered for cleanup; sets BG_PID.
spawn() {
	"$@" &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

# Stops one process we started: SIGTERM, then SIGKILL after 3 s.
stop_pid() {
	local pid=$1
	pid_ours "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	pid_wait_exit "$pid" 3 || { pid_ours "$pid" && kill -KILL "$pid" 2>/dev/null; }
	wait "$pid" 2>/dev/null
	return 0
}

# A sanitizer report or a worker the test did not kill, anywhere in the
# proxy's log, fails the test whatever it asserted. Tests that kill workers
# on purpose set EXPECT_WORKER_DEATHS=1.
proxy_log_faults() {
	local pattern='ERROR: [A-Za-z]+Sanitizer|runtime error:|LeakSanitizer'
	[ "${EXPECT_WORKER_DEATHS:-0}" = 1 ] || pattern="$pattern|killed by signal|exited with status"
	[ -s "${PROXY_LOG:-}" ] && grep -E -- "$pattern" "$PROXY_LOG" | head -n 5
}

cleanup() {
	local rc=$? pid faults
	trap - EXIT INT TERM
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[i]}
		pid_ours "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		pid_wait_exit "$pid" 3 || { pid_ours "$pid" && kill -KILL "$pid" 2>/dev/null; }
		wait "$pid" 2>/dev/null
	done
	# Only now is the proxy's log complete (leak reports come at exit).
	faults=$(proxy_log_faults)
	if [ -n "$faults" ]; then
		echo "FAIL: the proxy log has faults:" >&2
		sed 's/^/         | /' <<<"$faults" >&2
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ "$rc" -ne 0 ]; then
		[ -s "$PROXY_LOG" ] && { echo "--- proxy log (tail)"; tail -n 25 "$PROXY_LOG"; } >&2
		[ -s "$SINK_LOG" ] && { echo "--- sink log (tail)"; tail -n 15 "$SINK_LOG"; } >&2
		[ -s "$T/nginx/error.log" ] && { echo "--- nginx error log (tail)"; tail -n 10 "$T/nginx/error.log"; } >&2
	fi
	[ -n "${PT_KEEP:-}" ] && [ "$rc" -ne 0 ] && cp -r "$T" /tmp/kept-$TEST_NAME; rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- assertions -------------------------------------------------------------

# A setup step failed: the test cannot go on.
die() {
	echo "FAIL: $*"
	exit 1
}

pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }

# check_eq WHAT EXPECTED GOT
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1: $3"; else fail "$1: expected '$2', got '$3'"; fi
}

# check_match WHAT ERE TEXT: TEXT (may be many lines) has a line matching ERE.
check_match() {
	if grep -qE -- "$2" <<<"$3"; then
		pass "$1"
	else
		fail "$1: expected a match for /$2/, got:"
		# shellcheck disable=SC2001  # per line, not per string
		sed 's/^/         | /' <<<"$3" | tail -n 15
	fi
}

# check_no_match WHAT ERE TEXT
check_no_match() {
	if grep -qE -- "$2" <<<"$3"; then
		fail "$1: expected no match for /$2/, got:"
		grep -E -- "$2" <<<"$3" | sed 's/^/         | /' | head -n 5
	else
		pass "$1"
	fi
}

# check_range WHAT LOW HIGH GOT: LOW <= GOT <= HIGH (integers)
check_range() {
	if [[ $4 =~ ^[0-9]+$ ]] && [ "$4" -ge "$2" ] && [ "$4" -le "$3" ]; then
		pass "$1: $4 (in $2..$3)"
	else
		fail "$1: expected $2..$3, got '$4'"
	fi
}

# Ends the test: exit 0 if every check passed.
finish() {
	if [ "$FAILS" -gt 0 ]; then
		echo "$TEST_NAME: $FAILS check(s) failed"
		exit 1
	fi
	echo "$TEST_NAME: all checks passed"
	exit 0
}

# ---- time, ports ------------------------------------------------------------

now_ms() { date +%s%3N; }

# lines_at_least FILE PREFIX N: FILE has N lines starting with PREFIX.
lines_at_least() {
	[ "$(grep -c "^$2" "$1" 2>/dev/null)" -ge "$3" ]
}

# Polls "$@" every 0.1 s for up to $WAIT_S seconds (default 10). 0 once it succeeds.
wait_until() {
	local i tenths=$(( ${WAIT_S:-10} * 10 ))
	for ((i = 0; i < tenths; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# Prints a TCP port nobody uses now, below the kernel's ephemeral range (so
# no client socket takes it meanwhile) and not handed out before in this test.
# Concurrent tests may still race for one: the starters below retry on EADDRINUSE.
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		grep -qx "$p" "$T/ports" && continue
		[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || continue
		echo "$p" >>"$T/ports"
		echo "$p"
		return 0
	done
	die "no free port found"
}

port_listening() {
	[ -n "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ]
}

# ---- certificates -------------------------------------------------------------

# SANs every backend certificate carries: all names the tests use, so clients
# verify the chain and the host name for real. The backend is told apart by
# its CN, backend-NAME.
CERT_SANS="DNS:*.example.com,DNS:*.example.org,DNS:example.org,DNS:www.app.example.com,DNS:a.b.example.org,DNS:*.c.example.org,DNS:x.y.c.example.org,DNS:unknown.test,DNS:localhost,IP:127.0.0.1,IP:::1"

# Makes (once, cached in $BUILD/test-certs) the CA and the cert of each NAME.
certs_ensure() {
	mkdir -p "$CERTS" || die "mkdir $CERTS"
	(
		flock 9
		cd "$CERTS" || exit 1
		# Certificates made for another SAN list are made again.
		if [ "$(cat sans 2>/dev/null)" != "$CERT_SANS" ]; then
			rm -f -- *.key *.crt
			printf '%s\n' "$CERT_SANS" >sans
		fi
		if [ ! -s ca.crt ]; then
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			    -keyout ca.key.tmp -out ca.crt.tmp -days 3650 -subj "/CN=passthrough test CA" \
			    -addext basicConstraints=critical,CA:TRUE \
			    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || exit 1
			mv ca.key.tmp ca.key && mv ca.crt.tmp ca.crt || exit 1
		fi
		for name in "$@"; do
			[ -s "$name.crt" ] && continue
			printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
			    "$CERT_SANS" >"$name.ext"
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			    -keyout "$name.key" -out "$name.csr" -subj "/CN=backend-$name" 2>/dev/null &&
			openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -days 3650 \
			    -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
			    -extfile "$name.ext" -out "$name.crt.tmp" 2>/dev/null &&
			mv "$name.crt.tmp" "$name.crt" || exit 1
			rm -f "$name.csr" "$name.ext"
		done
	) 9>"$CERTS/.lock" || die "making test certificates in $CERTS failed"
}

# ---- nginx backends -----------------------------------------------------------

# nginx_conf_head CONNECTIONS: the start of an nginx.conf for one nginx run
# as root under $T/nginx (daemon off, its pid, error log and temp files
# there), up to and including "http {" and its settings every test wants.
nginx_conf_head() {
	echo "user root root;"
	echo "worker_processes 1;"
	echo "daemon off;"
	echo "pid $T/nginx/nginx.pid;"
	echo "error_log $T/nginx/error.log warn;"
	echo "events { worker_connections $1; }"
	echo "http {"
	echo "  access_log off;"
	for d in client_body proxy fastcgi uwsgi scgi; do
		echo "  ${d}_temp_path $T/nginx/tmp/$d;"
	done
}

# nginx_start_at NAME=ADDRESS:PORT...: one nginx (root, its own prefix under
# $T, daemon off) with a TLS server per NAME at ADDRESS:PORT (several names
# may share a port on other addresses), certificate CN=backend-NAME,
# GET /whoami -> "backend-NAME\n"; waits until every port listens.
nginx_start_at() {
	local conf=$T/nginx/nginx.conf pair name pid port names=()
	for pair in "$@"; do names+=("${pair%%=*}"); done
	certs_ensure "${names[@]}"
	mkdir -p "$T/nginx/tmp"
	{
		nginx_conf_head 1024
		for pair in "$@"; do
			name=${pair%%=*}
			echo "  server {"
			echo "    listen ${pair#*=} ssl;"
			echo "    ssl_certificate $CERTS/$name.crt;"
			echo "    ssl_certificate_key $CERTS/$name.key;"
			# shellcheck disable=SC2028  # nginx reads the \n itself
			echo "    location = /whoami { return 200 \"backend-$name\\n\"; }"
			echo "  }"
		done
		echo "}"
	} >"$conf"
	spawn "$NGINX" -p "$T/nginx/" -c "$conf" -e "$T/nginx/error.log"
	pid=$BG_PID
	for port in $(for pair in "$@"; do echo "${pair##*:}"; done | sort -u); do
		WAIT_S=10 wait_until nginx_ready "$pid" "$port"
		pid_alive "$pid" || { cat "$T/nginx/error.log"; die "nginx did not start"; }
	done
}

# nginx_start NAME...: one nginx (root, its own prefix under $T, daemon off)
# with a TLS server per NAME on its own port NGINX_PORT[NAME], certificate
# CN=backend-NAME, GET /whoami -> "backend-NAME\n", files from $T/www/NAME,
# WebDAV PUT into $T/www/NAME.
nginx_start() {
	local name port conf=$T/nginx/nginx.conf pid
	certs_ensure "$@"
	mkdir -p "$T/nginx/tmp"
	for _ in 1 2 3; do
		{
			nginx_conf_head 8192
			# NGINX_HTTP_EXTRA / NGINX_LISTEN_EXTRA / NGINX_SERVER_EXTRA: more
			# settings in http {}, on each listen line, in each server {}.
			[ -n "${NGINX_HTTP_EXTRA:-}" ] && echo "  $NGINX_HTTP_EXTRA"
			echo "  default_type application/octet-stream;"
			echo "  sendfile on;"
			for name in "$@"; do
				port=$(free_port)
				NGINX_PORT[$name]=$port
				mkdir -p "$T/www/$name"
				echo "  server {"
				echo "    listen 127.0.0.1:$port ssl${NGINX_LISTEN_EXTRA:-};"
				[ -n "${NGINX_SERVER_EXTRA:-}" ] && echo "    $NGINX_SERVER_EXTRA"
				echo "    ssl_certificate $CERTS/$name.crt;"
				echo "    ssl_certificate_key $CERTS/$name.key;"
				echo "    ssl_protocols TLSv1.2 TLSv1.3;"
				# shellcheck disable=SC2028  # nginx reads the \n itself
				echo "    location = /whoami { return 200 \"backend-$name\\n\"; }"
				echo "    location / {"
				echo "      root $T/www/$name;"
				echo "      dav_methods PUT;"
				echo "      client_max_body_size 0;"
				echo "      create_full_put_path on;"
				echo "    }"
				echo "  }"
			done
			echo "}"
		} >"$conf"
		spawn "$NGINX" -p "$T/nginx/" -c "$conf" -e "$T/nginx/error.log"
		pid=$BG_PID
		for name in "$@"; do
			WAIT_S=10 wait_until nginx_ready "$pid" "${NGINX_PORT[$name]}" || break
		done
		if pid_alive "$pid"; then
			for name in "$@"; do
				port_listening "${NGINX_PORT[$name]}" || die "nginx did not listen on ${NGINX_PORT[$name]}"
			done
			return 0
		fi
		wait "$pid" 2>/dev/null
		grep -q "Address already in use" "$T/nginx/error.log" 2>/dev/null || break
	done
	cat "$T/nginx/error.log" 2>/dev/null
	die "nginx did not start"
}

nginx_ready() {	# pid port: listening, or the pid is gone (then stop polling)
	port_listening "$2" || ! pid_alive "$1"
}

# ---- ptsink, ptshaper -----------------------------------------------------------

# sink_start TAG [ptsink options]: a ptsink tagged TAG logging into $SINK_LOG;
# sets SINK_PORT[TAG].
sink_start() {
	local tag=$1 pf=$T/sink-$1.port
	shift
	spawn "$PTSINK" --tag "$tag" --log "$SINK_LOG" --port-file "$pf" "$@"
	WAIT_S=10 wait_until test -s "$pf" || die "ptsink $tag did not start"
	SINK_PORT[$tag]=$(cat "$pf")
}

# sink_count TAG WHAT: the sink's log lines "TAG WHAT ..." (WHAT: accept, hello, close, hello-refused).
sink_count() {
	grep -cE "^$1 $2( |\$)" "$SINK_LOG"
}

# sink_field TAG WHAT FIELD [N]: FIELD's value on the Nth (default last) "TAG WHAT" line.
sink_field() {
	local line
	line=$(grep -E "^$1 $2( |\$)" "$SINK_LOG" | if [ -n "${4:-}" ]; then sed -n "${4}p"; else tail -n 1; fi)
	grep -oE "(^| )$3=[^ ]*" <<<"$line" | head -n 1 | cut -d= -f2-
}

# sink_wait TAG WHAT N: waits until the sink logged N such lines.
sink_wait() {
	WAIT_S=${WAIT_S:-10} wait_until sink_has "$@"
}
sink_has() { [ "$(sink_count "$1" "$2")" -ge "$3" ]; }

# shaper_start NAME TARGET_PORT [ptshaper options]: sets SHAPER_PORT[NAME];
# its report per connection goes to $T/shaper-NAME.log.
shaper_start() {
	local name=$1 target=$2 pf=$T/shaper-$1.port
	shift 2
	spawn "$PTSHAPER" --target "127.0.0.1:$target" --port-file "$pf" "$@" 2>>"$T/shaper-$name.log"
	WAIT_S=10 wait_until test -s "$pf" || die "ptshaper $name did not start"
	SHAPER_PORT[$name]=$(cat "$pf")
}

# ---- the event engine (PT_EVENTS) ----------------------------------------------
# PT_EVENTS: the engine every proxy of the suite runs on: "epoll" or
# "io_uring" puts tuning.events = "<it>" into each configuration the tests
# write (through the helpers below, or pt_conf_events for a file a test
# writes itself); unset: none, the default ("auto": io_uring where the
# environment allows it). .ci/run's second pass sets PT_EVENTS=epoll. A test
# about one engine only writes its own events setting, which is kept.
case ${PT_EVENTS:-} in
"" | auto | epoll | io_uring) ;;
*) echo "FAIL: PT_EVENTS=$PT_EVENTS: expected auto, epoll or io_uring" >&2; exit 1 ;;
esac

# pt_events_text TEXT: the configuration TEXT with events = "$PT_EVENTS" in
# its tuning group: merged into the group if it has one, else added as a
# group after its "workers = N;" (on that line), else as a last line. No
# line moves, so line numbers in messages stay those of the test's text.
# TEXT as it is when PT_EVENTS is unset or TEXT sets events already.
pt_events_text() {
	local e=${PT_EVENTS:-}
	if [ -z "$e" ] || grep -qE '(^|[^A-Za-z0-9_])events *[=:]' <<<"$1"; then
		printf '%s' "$1"
	elif grep -qE 'tuning *[=:] *\{' <<<"$1"; then
		sed -E "0,/tuning *([=:]) *\{/s//tuning \1 { events = \"$e\";/" <<<"$1"
	elif grep -qE '^[[:space:]]*workers *= *[0-9]+ *;' <<<"$1"; then
		sed -E "0,/^([[:space:]]*workers *= *[0-9]+ *;)/s//\1 tuning = { events = \"$e\"; };/" <<<"$1"
	else
		printf '%s\ntuning = { events = "%s"; };' "$1" "$e"
	fi
}

# pt_conf_events FILE: FILE (a whole configuration a test wrote itself)
# rewritten in place through pt_events_text; call it before FILE is read
# (for a reload: on the file written beside it, before the rename).
pt_conf_events() {
	local text
	[ -n "${PT_EVENTS:-}" ] || return 0
	text=$(<"$1") || die "pt_conf_events: cannot read $1"
	printf '%s\n' "$(pt_events_text "$text")" >"$1" || die "pt_conf_events: cannot write $1"
}

# relay_on_engine RELAY: this run's engine can relay with RELAY: "splice_ring"
# needs io_uring (its config is refused with events = "epoll").
relay_on_engine() {
	[ "$1" != splice_ring ] || [ "${PT_EVENTS:-}" != epoll ]
}

# run_per_engine: unless PT_ENGINE_RUN is set, runs this test twice, on the
# engine of this pass (PT_EVENTS, unset: the default) and on the other one
# (epoll, or io_uring when the pass is epoll), and exits with their
# combined status; in those runs it returns at once. For the conformance
# tests (split hellos, half-close, resets, hostile clients): every pass
# runs them on both engines. Call it before run_per_relay.
run_per_engine() {
	local e rc=0 other=epoll
	[ -n "${PT_ENGINE_RUN:-}" ] && return 0
	[ "${PT_EVENTS:-}" = epoll ] && other=io_uring
	for e in "${PT_EVENTS:-}" "$other"; do
		echo "=== events = ${e:-default}"
		PT_ENGINE_RUN=1 PT_EVENTS=$e "$BASH" "$0" || rc=1
	done
	exit "$rc"
}

# worker_engine PID: the event engine the process runs, told by the kernel
# objects it holds: an io_uring instance ("io_uring"), else an epoll
# instance ("epoll"), else nothing.
worker_engine() {
	local links
	links=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null)
	if grep -q '^anon_inode:\[io_uring\]$' <<<"$links"; then
		echo io_uring
	elif grep -q '^anon_inode:\[eventpoll\]$' <<<"$links"; then
		echo epoll
	fi
}

# proxy_check_engine: when $PROXY_CONF names an engine (tuning.events =
# "epoll" or "io_uring": PT_EVENTS, or a test's own), every worker of
# PROXY_WORKER_PIDS runs it, and with PT_EVENTS set the file names one; the
# test cannot go on otherwise (a suite run on epoll that ran io_uring, or
# a configuration the switch missed, would pass for what it did not test).
proxy_check_engine() {
	local want w got
	want=$(grep -oE '(^|[^A-Za-z0-9_])events *[=:] *"[a-z_]+"' "$PROXY_CONF" 2>/dev/null |
	    head -n 1 | cut -d'"' -f2)
	[ -z "${PT_EVENTS:-}" ] || [ -n "$want" ] || die "PT_EVENTS=$PT_EVENTS did not reach $PROXY_CONF"
	case $want in epoll | io_uring) ;; *) return 0 ;; esac
	for w in $PROXY_WORKER_PIDS; do
		got=$(worker_engine "$w")
		pid_alive "$w" || continue
		[ "$got" = "$want" ] || die "worker $w runs ${got:-no known engine}, not $want (tuning.events in $PROXY_CONF)"
	done
}

# ---- the proxy ------------------------------------------------------------------

# proxy_start [-w WORKERS] [-6] CONFIG: runs the proxy on a free port
# (PROXY_PORT) on 127.0.0.1, and with -6 also [::1], with debug logging into
# $PROXY_LOG; CONFIG is the rest of the file (routes, timeouts, ...). Returns
# once every worker has started (the listening sockets exist before that).
# pt_relay_body BODY: BODY with tuning.relay set to $PT_RELAY when that is
# set (a test not written for a relay run by hand with another one:
# PT_RELAY=kernel tests/run.sh integration NAME); else BODY as it is.
pt_relay_body() {
	if [ -z "${PT_RELAY:-}" ]; then
		printf '%s' "$1"
	elif grep -q 'tuning *= *{' <<<"$1"; then
		# shellcheck disable=SC2001  # the spaces around "=" vary
		sed "s/tuning *= *{/tuning = { relay = \"$PT_RELAY\";/" <<<"$1"
	else
		printf 'tuning = { relay = "%s"; };\n%s' "$PT_RELAY" "$1"
	fi
}

proxy_start() {
	local workers=1 v6=0 body listen started
	while [ $# -gt 1 ]; do
		case $1 in
		-w) workers=$2; shift 2 ;;
		-6) v6=1; shift ;;
		*) break ;;
		esac
	done
	body=$(pt_relay_body "$1")
	PROXY_WORKERS=$workers
	PROXY_CONF=$T/proxy.conf
	for _ in 1 2 3; do
		PROXY_PORT=$(free_port)
		listen="\"127.0.0.1:$PROXY_PORT\""
		[ "$v6" = 1 ] && listen="$listen, \"[::1]:$PROXY_PORT\""
		# PROXY_LOG_EXTRA: more log settings, e.g. access = "..."; format = "json";
		pt_events_text "$(printf 'workers = %s;\nlisten = [ %s ];\nlog = { level = "debug"; %s };\n%s' \
		    "$workers" "$listen" "${PROXY_LOG_EXTRA:-}" "$body")" >"$PROXY_CONF"
		echo >>"$PROXY_CONF"
		: >"$PROXY_LOG"
		# PROXY_WRAP: a command the proxy runs under (e.g. setpriv ...).
		spawn "${PROXY_WRAP[@]}" "$PT" -f -c "$PROXY_CONF" 2>>"$PROXY_LOG"
		PROXY_PID=$BG_PID
		WAIT_S=10 wait_until proxy_ready
		started=$(grep -c 'info: started:' "$PROXY_LOG")
		if pid_alive "$PROXY_PID" && [ "$started" -ge "$workers" ] &&
		    port_listening "$PROXY_PORT"; then
			PROXY_WORKER_PIDS=$(ps -o pid= --ppid "$PROXY_PID" | tr -s ' \n' ' ')
			proxy_check_engine
			return 0
		fi
		stop_pid "$PROXY_PID"
		grep -q "Address already in use" "$PROXY_LOG" || break
	done
	cat "$PROXY_LOG"
	die "the proxy did not start"
}

# The relays a test that loops over them runs: "kernel" too when this
# build has it (its BPF object is embedded in the binary), "splice_ring"
# only where the engine is io_uring (relay_on_engine).
pt_has_kernel_relay() { nm "$PT" 2>/dev/null | grep -q ' kernelrelay_obj$'; }
RELAYS="splice adaptive"
relay_on_engine splice_ring && RELAYS="splice splice_ring adaptive"
pt_has_kernel_relay && RELAYS="$RELAYS kernel"

# run_per_relay VAR RELAY...: unless VAR is set, runs this test again once
# per RELAY the engine can run (relay_on_engine), and "kernel" where the
# build has it, with VAR naming it, and exits with their combined status;
# in those runs it returns at once.
run_per_relay() {
	local var=$1 r rc=0
	shift
	[ -n "${!var:-}" ] && return 0
	pt_has_kernel_relay && set -- "$@" kernel
	for r in "$@"; do
		relay_on_engine "$r" || continue
		echo "=== relay = $r"
		env "$var=$r" "$BASH" "$0" || rc=1
	done
	exit "$rc"
}

# check_relay_used RELAY: a "kernel" run relayed in the kernel: nothing
# about it was logged (a fallback to "adaptive", a connection it could not
# take) but a direction it handed to the worker (its sink fell behind);
# other relays have nothing to check.
check_relay_used() {
	[ "$1" = kernel ] || return 0
	check_no_match "relay \"kernel\" ran without a complaint" 'relay "kernel":' \
	    "$(grep -v 'copied by the worker from now on' "$PROXY_LOG")"
}

proxy_ready() {
	! pid_alive "$PROXY_PID" || { port_listening "$PROXY_PORT" &&
	    [ "$(grep -c 'info: started:' "$PROXY_LOG")" -ge "$PROXY_WORKERS" ]; }
}

# Connections the proxy has closed so far (its debug log: one line each).
proxy_closes() {
	grep -c ': closed: ' "$PROXY_LOG"
}
proxy_has_closes() { [ "$(proxy_closes)" -ge "$1" ]; }

# proxy_wait_closes N: waits until the proxy closed N connections.
proxy_wait_closes() {
	WAIT_S=${WAIT_S:-10} wait_until proxy_has_closes "$1"
}

# proxy_stop: SIGTERM (or $STOP_SIGNAL) to the master; waits up to 10 s
# for it (PROXY_RC: its exit status, or "hung"; PROXY_STOP_MS: how long it
# took). Every worker must have logged its totals.
proxy_stop() {
	local exits t0
	t0=$(now_ms)
	kill "-${STOP_SIGNAL:-TERM}" "$PROXY_PID" 2>/dev/null
	if pid_wait_exit "$PROXY_PID" 10; then
		wait "$PROXY_PID"
		PROXY_RC=$?
	else
		PROXY_RC=hung
		stop_pid "$PROXY_PID"
	fi
	PROXY_STOP_MS=$(( $(now_ms) - t0 ))
	exits=$(grep -c 'info: exiting:' "$PROXY_LOG")
	[ "$exits" -eq "$PROXY_WORKERS" ] ||
	    fail "every worker logs its totals on exit: expected $PROXY_WORKERS lines, got $exits"
}

# proxy_counter NAME: NAME's total over the workers' exit lines
# (accepted, bytes_in, bytes_out, or a close reason such as not_tls).
proxy_counter() {
	grep 'info: exiting:' "$PROXY_LOG" | grep -oE " $1=[0-9]+" |
	    awk -F= '{ s += $2 } END { print s + 0 }'
}

# check_counters "name=N ..." : each named counter has that total, and every
# close reason not named is 0 ("name=any": not checked).
check_counters() {
	local want=" $1 " r got exp
	for r in normal hello_timeout hello_eof hello_malformed hello_too_big not_tls \
	    no_route_alert connect_refused connect_timeout idle_timeout client_reset \
	    backend_reset limit_reached shutdown internal_error proxy_untrusted proxy_missing \
	    proxy_malformed denied rejected route_full; do
		exp=0
		[[ $want =~ \ $r=any\  ]] && continue
		[[ $want =~ \ $r=([0-9]+)\  ]] && exp=${BASH_REMATCH[1]}
		got=$(proxy_counter "$r")
		check_eq "counter $r" "$exp" "$got"
	done
}

# ---- clients ------------------------------------------------------------------------

# curl_get NAME PORT PATH [curl options]: GET https://NAME:PORT/PATH with NAME
# resolved to 127.0.0.1 (or $CURL_ADDR), verifying against the test CA.
curl_get() {
	local name=$1 port=$2 path=$3
	shift 3
	curl -sS --max-time 15 --cacert "$CA" --resolve "$name:$port:${CURL_ADDR:-127.0.0.1}" \
	    "$@" "https://$name:$port/$path"
}

# sclient PORT [openssl s_client options]: one HTTP/1.0 GET /whoami over
# s_client; prints s_client's whole output (certificate subject, response).
sclient() {
	local port=$1
	shift
	printf 'GET /whoami HTTP/1.0\r\nHost: x\r\n\r\n' |
	    timeout 15 openssl s_client -connect "${SCLIENT_HOST:-127.0.0.1}:$port" -CAfile "$CA" \
	    -verify_return_error -ign_eof "$@" 2>&1
}

# The certificate CN in s_client output ("backend-app"), or nothing.
sclient_cn() {
	sed -nE 's/^subject=.*CN ?= ?([^,/]*).*/\1/p' | head -n 1
}

# field NAME TEXT: the value of NAME=VALUE in TEXT (first one).
field() {
	grep -oE "(^| )$1=[^ ]*" <<<"$2" | head -n 1 | cut -d= -f2-
}

# check_hello_reaches WHAT TAG [ptclient options]: ptclient sends a hello
# through the proxy (then shuts down and reads to EOF); the sink TAG must log
# the hello ptclient sent: the same SNI, size and hash of the bytes.
check_hello_reaches() {
	local what=$1 tag=$2 before sent
	shift 2
	before=$(sink_count "$tag" hello)
	"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --shutdown --read --timeout-ms 10000 "$@" \
	    >/dev/null 2>"$T/client.err"
	sent=$(grep '^sent ' "$T/client.err")
	if ! WAIT_S=5 sink_wait "$tag" hello $((before + 1)); then
		fail "$what: no hello reached sink $tag ($(tail -n 1 "$T/client.err"))"
		return
	fi
	check_eq "$what: sink $tag got SNI" "$(field sni "$sent")" "$(sink_field "$tag" hello sni)"
	check_eq "$what: ... hello bytes" "$(field hello_bytes "$sent")" "$(sink_field "$tag" hello hello_bytes)"
	check_eq "$what: ... hash of them" "$(field fnv "$sent")" "$(sink_field "$tag" hello fnv)"
}

# check_counters_tls N ["name=M ..."]: N connections between real TLS
# clients and servers ended, normal or reset: when a client's close_notify
# crosses the server's close(2), the server's kernel answers with a reset,
# which the proxy rightly counts as client_reset or backend_reset. That race
# is rare; a proxy that reset most connections still fails (at most a quarter,
# plus one, may end in a reset). Other close reasons as in check_counters.
check_counters_tls() {
	local n=$1 normal resets
	normal=$(proxy_counter normal)
	resets=$(( $(proxy_counter client_reset) + $(proxy_counter backend_reset) ))
	check_eq "connections ended (normal $normal, reset $resets)" "$n" $((normal + resets))
	check_range "connections ended by a reset" 0 $((n / 4 + 1)) "$resets"
	check_counters "normal=any client_reset=any backend_reset=any ${2:-}"
}

# ---- lifecycle: reloads, supervision, daemon mode, notifications ----------------
# Helpers of the tests that reload, kill workers, detach or watch the file.

PTLOOP=$BUILD/tests/ptloop
PTNOTIFY=$BUILD/tests/ptnotify
declare -A LOOP_PID=()
DAEMON_PIDS=()

# need_tools BIN...: dies unless each extra test tool was built.
need_tools() {
	local b
	for b in "$@"; do
		[ -x "$b" ] || die "$b is missing: build it with make BUILD=$BUILD $b"
	done
}

# now_us VAR: sets VAR to wall-clock microseconds, without a fork
# (the clock ptloop's --out lines use).
now_us() {
	printf -v "$1" '%s' "${EPOCHREALTIME//[.,]/}"
}

# proxy_conf_write FILE WORKERS LISTEN BODY: a configuration laid out as
# proxy_start writes it (LISTEN: the inside of the listen array), written
# beside FILE and renamed over it, so a reload never reads half a file.
proxy_conf_write() {
	printf 'workers = %s;\nlisten = [ %s ];\nlog = { level = "debug"; };\n%s\n' \
	    "$2" "$3" "$(pt_relay_body "$4")" >"$1.tmp" && pt_conf_events "$1.tmp" && mv -f "$1.tmp" "$1"
}

# Lines of the master's log saying a reload published a generation.
proxy_reloads() {
	grep -c 'master: info: reloaded ' "$PROXY_LOG"
}

# proxy_has_generation N: the log says "reloaded ...: generation N,".
proxy_has_generation() {
	grep -q "master: info: reloaded .*: generation $1," "$PROXY_LOG"
}

# proxy_wait_generation N: waits (WAIT_S, default 10) until generation N is published.
proxy_wait_generation() {
	WAIT_S=${WAIT_S:-10} wait_until proxy_has_generation "$1"
}

# The pids of the master's live children (workers, retiring ones included), sorted.
proxy_children() {
	local pid
	for pid in $(ps -o pid= --ppid "${1:-$PROXY_PID}" 2>/dev/null); do
		pid_alive "$pid" && echo "$pid"
	done | sort -n | tr '\n' ' '
}

# proxy_child_count [MASTER]: how many live children the master has.
proxy_child_count() {
	wc -w <<<"$(proxy_children "${1:-$PROXY_PID}")" | tr -d ' '
}

# proxy_slot_pid SLOT [MASTER]: the live child named pt-worker-SLOT (the newest if several).
proxy_slot_pid() {
	local pid found=
	for pid in $(proxy_children "${2:-$PROXY_PID}"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "pt-worker-$1" ] && found=$pid
	done
	echo "$found"
}

# loop_start NAME [ptloop options]: a ptloop against the proxy (or its own
# --connect) logging each connection to $T/loop-NAME.out; its summary
# goes to $T/loop-NAME.err when it stops.
loop_start() {
	local name=$1
	shift
	spawn "$PTLOOP" --out "$T/loop-$name.out" "$@" 2>"$T/loop-$name.err"
	LOOP_PID[$name]=$BG_PID
}

# loop_count NAME: connections ptloop NAME finished so far.
loop_count() {
	if [ -e "$T/loop-$1.out" ]; then wc -l <"$T/loop-$1.out"; else echo 0; fi
}
loop_has() { [ "$(loop_count "$1")" -ge "$2" ]; }

# loop_stop NAME: lets ptloop NAME finish the connections in flight (up to
# 30 s) and print its summary, which LOOP_SUMMARY holds afterwards.
loop_stop() {
	local pid=${LOOP_PID[$1]}
	kill -TERM "$pid" 2>/dev/null
	pid_wait_exit "$pid" 30 || fail "ptloop $1 did not stop within 30 s"
	wait "$pid" 2>/dev/null
	LOOP_SUMMARY=$(grep '^summary ' "$T/loop-$1.err" | tail -n 1)
	[ -n "$LOOP_SUMMARY" ] || fail "ptloop $1 printed no summary: $(tail -n 3 "$T/loop-$1.err")"
}

# loop_wait NAME [SECONDS]: waits for a ptloop started with --total to end; sets LOOP_SUMMARY.
loop_wait() {
	local pid=${LOOP_PID[$1]}
	pid_wait_exit "$pid" "${2:-60}" || { fail "ptloop $1 did not end within ${2:-60} s"; loop_stop "$1"; return; }
	wait "$pid" 2>/dev/null
	LOOP_SUMMARY=$(grep '^summary ' "$T/loop-$1.err" | tail -n 1)
}

# check_loop_clean WHAT [MIN]: LOOP_SUMMARY counts at least MIN (default 1)
# connections and every one ended well (no refusal, reset, timeout, error or
# unexpected reply).
check_loop_clean() {
	local what=$1 min=${2:-1} r
	echo "     $what: $LOOP_SUMMARY"
	check_range "$what: connections made" "$min" 100000000 "$(field total "$LOOP_SUMMARY")"
	for r in refused reset timeout error bad; do
		check_eq "$what: connections that ended '$r'" 0 "$(field "$r" "$LOOP_SUMMARY")"
	done
}

# ---- detached proxies -------------------------------------------------------------

# Tests that start a daemon (not our child: cleanup cannot stop it) install
# this as their EXIT trap: it stops every tracked daemon, appends the
# sanitizer report files (san_to_files) to the proxy log, then runs cleanup.
cleanup_daemons() {
	local rc=$? pid
	for pid in "${DAEMON_PIDS[@]}"; do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = passthrough ] || continue
		kill -TERM "$pid" 2>/dev/null
		pid_wait_exit "$pid" 10 || kill -KILL "$pid" 2>/dev/null
	done
	cat "$T"/san.* >>"$PROXY_LOG" 2>/dev/null
	(exit "$rc")
	cleanup
}

# daemon_track PID: a detached master this test started, stopped at exit.
daemon_track() {
	DAEMON_PIDS+=("$1")
}

# A daemon's stderr is /dev/null: sanitizer reports go to $T/san.PID instead,
# which cleanup_daemons folds into the proxy log for the fault scan.
san_to_files() {
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/san"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san"
}

# check_log_faults WHAT: the proxy log so far has no sanitizer report (nor,
# unless EXPECT_WORKER_DEATHS=1, a worker death). For tests that start the
# proxy again: proxy_start empties the log the exit scan reads.
check_log_faults() {
	local faults
	faults=$(proxy_log_faults)
	if [ -n "$faults" ]; then
		fail "$1: the proxy log has faults:"
		sed 's/^/         | /' <<<"$faults" | head -n 20
	else
		pass "$1: no faults in the proxy log"
	fi
}

# proxy_start_file FILE WORKERS PORT: runs the proxy in the foreground on a
# whole configuration the test wrote at FILE (WORKERS workers, listening on
# 127.0.0.1:PORT at least), logging into $PROXY_LOG; returns once every
# worker started. No retry on a port taken meanwhile: pick it with free_port.
# The file gets $PT_EVENTS (pt_conf_events) unless it sets events itself.
proxy_start_file() {
	PROXY_CONF=$1
	PROXY_WORKERS=$2
	PROXY_PORT=$3
	pt_conf_events "$PROXY_CONF"
	: >"$PROXY_LOG"
	spawn "$PT" -f -c "$PROXY_CONF" 2>>"$PROXY_LOG"
	PROXY_PID=$BG_PID
	WAIT_S=10 wait_until proxy_ready
	if ! pid_alive "$PROXY_PID" || ! port_listening "$PROXY_PORT" ||
	    [ "$(grep -c 'info: started:' "$PROXY_LOG")" -lt "$PROXY_WORKERS" ]; then
		cat "$PROXY_LOG"
		die "the proxy did not start on $PROXY_CONF"
	fi
	PROXY_WORKER_PIDS=$(ps -o pid= --ppid "$PROXY_PID" | tr -s ' \n' ' ')
	proxy_check_engine
}

# ---- PROXY protocol and address rules (issue 12) -----------------------------------
# A backend that checks the PROXY header it gets (ptppcheck), crafted headers
# for clients to send, HAProxy in front, nginx reading the header, and
# configurations whose listen entries are groups.

PTPPCHECK=$BUILD/tests/ptppcheck
STATS=$BUILD/passthrough-stats

# ppcheck_start TAG: a ptppcheck tagged TAG logging into $SINK_LOG (so
# sink_count / sink_field / sink_wait read it: WHAT is accept, proxy,
# proxy-refused or close); sets SINK_PORT[TAG].
ppcheck_start() {
	local tag=$1 pf=$T/ppcheck-$1.port
	need_tools "$PTPPCHECK"
	spawn "$PTPPCHECK" --tag "$tag" --log "$SINK_LOG" --port-file "$pf"
	WAIT_S=10 wait_until test -s "$pf" || die "ptppcheck $tag did not start"
	SINK_PORT[$tag]=$(cat "$pf")
}

# pp_hex_ip4 A.B.C.D: the address as 8 hex digits.
pp_hex_ip4() {
	local IFS=.
	# shellcheck disable=SC2086  # split on the dots
	set -- $1
	printf '%02x%02x%02x%02x' "$1" "$2" "$3" "$4"
}

# pp_hex_str TEXT: TEXT's bytes in hex.
pp_hex_str() {
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

# pp_v1_hex SRC SPORT DST DPORT: a v1 TCP4 header line, in hex (ptclient --hex-file).
pp_v1_hex() {
	pp_hex_str "PROXY TCP4 $1 $3 $2 $4"
	printf '0d0a'
}

# pp_v2_hex proxy|local SRC SPORT DST DPORT: a v2 header (STREAM over INET,
# no TLV), in hex. local: the command LOCAL with the same address block.
pp_v2_hex() {
	local cmd=21
	[ "$1" = local ] && cmd=20
	printf '0d0a0d0a000d0a515549540a%s11000c' "$cmd"
	pp_hex_ip4 "$2"
	pp_hex_ip4 "$4"
	printf '%04x%04x' "$3" "$5"
}

# proxy_conf_groups FILE WORKERS LISTEN BODY: a configuration whose listen
# setting is the list ( LISTEN ) (strings and groups), debug logging plus
# $PROXY_LOG_EXTRA, then BODY; start it with proxy_start_file.
proxy_conf_groups() {
	printf 'workers = %s;\nlisten = ( %s );\nlog = { level = "debug"; %s };\n%s\n' \
	    "$2" "$3" "${PROXY_LOG_EXTRA:-}" "$4" >"$1.tmp" && pt_conf_events "$1.tmp" && mv -f "$1.tmp" "$1"
}

# proxy_exit_status FILE ERR: runs the proxy on FILE (its stderr into ERR)
# and sets PROXY_RC to its exit status, or "still-running" when it has not
# exited within 5 s (cleanup stops it then): for files it must refuse.
proxy_exit_status() {
	local pid
	spawn "$PT" -f -c "$1" 2>"$2"
	pid=$BG_PID
	if pid_wait_exit "$pid" 5; then
		wait "$pid"
		PROXY_RC=$?
	else
		PROXY_RC=still-running
	fi
}

# stats_json FILE: the running proxy's stats snapshot (passthrough-stats --json) into FILE.
stats_json() {
	"$STATS" -c "$PROXY_CONF" --json >"$1" || fail "passthrough-stats --json failed"
}

# haproxy_start NAME CONFIG: HAProxy NAME in the foreground (mode tcp by
# default) on the frontends and backends of CONFIG, its output in
# $T/haproxy-NAME.log; returns once each port in $HAPROXY_PORTS listens.
# HAPROXY_PID[NAME]: its pid (stop_pid stops it).
declare -A HAPROXY_PID=()
haproxy_start() {
	local name=$1 cfg=$T/haproxy-$1.cfg p pid
	command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] ||
	    die "haproxy is missing: run tools/deps.sh test"
	{
		echo "global"
		echo "  maxconn 1000"
		echo "defaults"
		echo "  mode tcp"
		echo "  timeout connect 5s"
		echo "  timeout client 30s"
		echo "  timeout server 30s"
		echo "$2"
	} >"$cfg"
	spawn "$(command -v haproxy || echo /usr/sbin/haproxy)" -db -f "$cfg" >>"$T/haproxy-$name.log" 2>&1
	pid=$BG_PID
	HAPROXY_PID[$name]=$pid
	for p in ${HAPROXY_PORTS:-}; do
		WAIT_S=10 wait_until nginx_ready "$pid" "$p"
		pid_alive "$pid" || { cat "$T/haproxy-$name.log"; die "haproxy $name did not start"; }
	done
}

# ---- host names that move (resolve_ms) ------------------------------------------
# For tests that run in their own mount namespace (they re-exec themselves
# under `unshare -m` before sourcing this file): /etc/hosts and
# /etc/nsswitch.conf become files under $T, so getaddrinfo reads the test's
# hosts file at every lookup (no nscd, no resolved in front of it).

DNS_HOSTS=$T/hosts

# dns_hosts_write LINE...: the hosts file's lines, written in place (the bind
# mount holds the inode: never mv over it).
dns_hosts_write() {
	printf '%s\n' "127.0.0.1 localhost" "$@" >"$DNS_HOSTS"
}

# dns_files_setup LINE...: the hosts file with these lines bound over
# /etc/hosts, "hosts: files dns" in nsswitch.conf, nscd's socket hidden.
dns_files_setup() {
	dns_hosts_write "$@"
	sed 's/^hosts:.*/hosts: files dns/' /etc/nsswitch.conf >"$T/nsswitch.conf"
	grep -q '^hosts:' "$T/nsswitch.conf" || echo 'hosts: files dns' >>"$T/nsswitch.conf"
	mkdir -p "$T/empty"
	chmod 644 "$DNS_HOSTS" "$T/nsswitch.conf"
	mount --bind "$DNS_HOSTS" /etc/hosts || die "cannot bind $DNS_HOSTS over /etc/hosts"
	mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf || die "cannot bind over /etc/nsswitch.conf"
	for d in /run/nscd /var/run/nscd; do
		[ -d "$d" ] && { mount --bind "$T/empty" "$d" || die "cannot hide $d"; }
	done
	return 0
}

# blackhole_start IFPREFIX NET16: a black hole for backends. An interface
# with an address in a /24 and no neighbours (NOARP): SYNs to another
# address of it leave and vanish. A dummy device if the kernel has them,
# else a veth pair without ARP whose far end, up but without an address,
# drops what it gets. In a private namespace (PT_NETNS=1, see the tests'
# `unshare -n` line) the names and addresses are fixed; otherwise they are
# made unique from IFPREFIX and NET16 ("10.201"). Sets BH_IF, BH_NET (the
# /24's first three octets) and BH_KIND; the interface goes at exit. A
# connect to $BH_NET.2 must hang: the test fails if it does not.
blackhole_start() {
	if [ "${PT_NETNS:-}" = 1 ]; then
		BH_IF=pt-bh0
		BH_NET=$2.0
		ip link set lo up 2>/dev/null
	else
		BH_IF=$1$$
		BH_NET=$2.$(( $$ % 250 + 1 ))
	fi
	trap blackhole_cleanup EXIT
	if ip link add "$BH_IF" type dummy 2>"$T/ip.err"; then
		BH_KIND=dummy
	elif ip link add "$BH_IF" type veth peer name "${BH_IF}p" 2>>"$T/ip.err" &&
	    ip link set "$BH_IF" arp off && ip link set "${BH_IF}p" up; then
		BH_KIND="veth pair, NOARP"
	else
		die "cannot create a network interface for the black hole (ip link add: $(tr '\n' ' ' <"$T/ip.err"))"
	fi
	if ! ip addr add "$BH_NET.1/24" dev "$BH_IF" || ! ip link set "$BH_IF" up; then
		die "cannot configure $BH_IF"
	fi
	echo "     black hole: $BH_NET.0/24 on $BH_IF ($BH_KIND)"
	# It must swallow SYNs: no refusal, no unreachable, just nothing.
	timeout 1 bash -c "exec 3<>/dev/tcp/$BH_NET.2/443" 2>/dev/null
	case $? in
	124) ;;
	0) die "a connection to $BH_NET.2:443 succeeded: not a black hole" ;;
	*) die "a connection to $BH_NET.2:443 failed at once: not a black hole" ;;
	esac
}

blackhole_cleanup() {
	local rc=$?
	ip link del "$BH_IF" 2>/dev/null
	(exit "$rc")
	cleanup
}
