#!/bin/bash
# Guards the privilege boundary against a compromised worker (issue 11): one of three nobody-workers, made hostile by tests/tools/ptevil.so, writes garbage into everything it can write or reopen for writing (its shared mappings, its descriptors and what /proc/self/fd lets it reopen, /dev/shm/passthrough* by name), tries the master's and its siblings' memory and descriptors, then shuts its listeners and hangs; mprotect cannot make the other workers' areas it maps (read-only, for leastconn) writable; the master stays alive and idle (also after a reload), the other two workers route every connection to the backend its SNI names, a leastconn route whose counts include the hostile worker's garbage still reaches its backends, a reload that moves a route takes effect, passthrough-stats still reads the segment, and SIGTERM still stops the master.
# shellcheck disable=SC2317  # the EXIT trap and wait_until run functions that look unreachable
. "$(dirname "$0")/lib.sh"

EVIL=$BUILD/tests/ptevil.so
STATS=$BUILD/passthrough-stats
# The master's CPU over a 3 s look may use at most this share of one core. %
IDLE_MAX_PCT=10
# Connections per routing round; each must reach the backend its SNI names.
ROUNDS=60

[ "$(id -u)" = 0 ] || die "needs root: the workers must run as another user than the master"
[ -f "$EVIL" ] || die "$EVIL is missing: build it with make BUILD=$BUILD $EVIL"
[ -x "$STATS" ] || die "$STATS is missing: build it with make BUILD=$BUILD all"
exec </dev/null		# the hostile worker writes into every descriptor it has

# The hung worker is SIGKILLed by the master at the stop; a worker death
# before that is checked for below.
EXPECT_WORKER_DEATHS=1

# The report goes where the workers' user (nobody) can create it: a
# directory of its own, since $T stays 0700.
EVIL_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pt-evil.XXXXXX") || die "mktemp"
chown 65534:65534 "$EVIL_DIR" || die "chown $EVIL_DIR"
REPORT=$EVIL_DIR/report
# A statistics segment name of this run's own: the worker attacks
# /dev/shm objects by name only with this prefix (other instances may run
# on this machine), and a master killed by the attack leaves it behind.
SEG=passthrough-evil-$$-$RANDOM
evil_cleanup() {
	local rc=$?
	rm -rf "$EVIL_DIR"
	pid_alive "$PROXY_PID" || rm -f /dev/shm/"$SEG"*
	(exit "$rc")
	cleanup
}
trap evil_cleanup EXIT

# The proxy, with the library preloaded (under ASan too, which otherwise
# wants its runtime first) and its stdout away from the test's output.
REAL_PT=$PT
PT=$T/passthrough-evil
cat >"$PT" <<EOF
#!/bin/sh
exec env LD_PRELOAD="$EVIL" PTEVIL_REPORT="$REPORT" PTEVIL_AFTER_MS=1500 \\
    PTEVIL_SHM_PREFIX="$SEG" \\
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \\
    "$REAL_PT" "\$@" >"$T/proxy.out"
EOF
chmod 0755 "$PT"

nginx_start one two three
route_conf() {	# BACKEND of a.example.com
	printf 'stats = { name = "%s"; };\n' "$SEG"
	printf 'routes = (\n  { sni = "a.example.com"; backends = [ "127.0.0.1:%s" ]; },\n  { sni = "*.example.org"; backends = [ "127.0.0.1:%s" ]; },\n' \
	    "$1" "${NGINX_PORT[two]}"
	printf '  { sni = "l.example.com"; balance = "leastconn"; backends = [ "127.0.0.1:%s", "127.0.0.1:%s" ]; }\n);\n' \
	    "${NGINX_PORT[one]}" "${NGINX_PORT[two]}"
}
PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_start -w 3 "$(route_conf "${NGINX_PORT[one]}")"

# ---- helpers ----------------------------------------------------------------

# The master's utime + stime so far, in clock ticks (after the comm field,
# state is field 1, utime field 12, stime field 13).
master_ticks() {
	sed 's/^.*) //' "/proc/$PROXY_PID/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# check_master_idle WHAT: the master is alive and used under IDLE_MAX_PCT of
# a core over 3 s.
check_master_idle() {
	local t0 t1 hz max
	hz=$(getconf CLK_TCK)
	max=$((hz * 3 * IDLE_MAX_PCT / 100))
	if ! pid_alive "$PROXY_PID"; then
		fail "$1: the master is alive"
		return
	fi
	t0=$(master_ticks)
	sleep 3
	if ! pid_alive "$PROXY_PID"; then
		fail "$1: the master is alive (it died in the 3 s look)"
		return
	fi
	t1=$(master_ticks)
	pass "$1: the master is alive"
	check_range "$1: the master's CPU over 3 s, in ticks of 1/$hz s" 0 "$max" $((t1 - t0))
}

# check_routes WHAT BACKEND_A: ROUNDS connections, half to a.example.com
# (must reach BACKEND_A), half to x.example.org (must reach backend two).
check_routes() {
	local i name want got right=0 wrong=0 seen=
	for ((i = 0; i < ROUNDS; i++)); do
		if ((i % 2)); then name=x.example.org want=backend-two
		else name=a.example.com want=backend-$2; fi
		got=$(curl_get "$name" "$PROXY_PORT" whoami --max-time 5 2>&1 | head -n 1)
		if [ "$got" = "$want" ]; then
			right=$((right + 1))
		else
			wrong=$((wrong + 1))
			[ -n "$seen" ] || seen="$name got '$got'"
			# A broken proxy: no need to wait for every one of them.
			[ "$wrong" -ge 6 ] && [ "$right" -eq 0 ] && break
		fi
	done
	check_eq "$1: connections that reached the backend their SNI names${seen:+ (first wrong: $seen)}" \
	    "$ROUNDS" "$right"
}

backend_of_a_is() { [ "$(curl_get a.example.com "$PROXY_PORT" whoami --max-time 5 2>/dev/null)" = "backend-$1" ]; }

# ---- the attack ----------------------------------------------------------------

echo "--- one worker turns hostile"
WAIT_S=60 wait_until grep -qs '^done:' "$REPORT" ||
    die "the hostile worker did not finish its attack: $(tail -n 3 "$REPORT" 2>&1)"
echo "--- the hostile worker's report (what it tried, with its own credentials)"
sed 's/^/     | /' "$REPORT"
EVIL_PID=$(sed -nE '1s/^compromised worker pid ([0-9]+) .*/\1/p' "$REPORT")
OTHERS=$(for w in $PROXY_WORKER_PIDS; do [ "$w" != "$EVIL_PID" ] && echo "$w"; done | tr '\n' ' ')
echo "     the hostile worker is $EVIL_PID; the others: $OTHERS"
case " $PROXY_WORKER_PIDS " in
*" $EVIL_PID "*) ;;
*) die "the report names pid '$EVIL_PID', not one of the workers ($PROXY_WORKER_PIDS)" ;;
esac
check_eq "the hostile worker runs as nobody" 65534 \
    "$(awk '$1 == "Uid:" { print $2 }' "/proc/$EVIL_PID/status" 2>/dev/null)"
# The attack happened (a library that did nothing must not make this pass).
check_match "the attack went through the worker's shared mappings" '^mapping ' "$(cat "$REPORT")"
check_match "... and its descriptors" '^fd [0-9]+ -> ' "$(cat "$REPORT")"
check_match "... and the worker shut its listener" \
    'shutdown\(SHUT_RDWR\) of a listening socket \| ok$' "$(cat "$REPORT")"
# The other workers' areas it maps read-only (leastconn sums them): never writable.
peer_tries=$(grep -cE "^mapping [0-9a-f-]+ r--s /dev/shm/$SEG\.w[0-9]+ \| mprotect\(PROT_READ\|PROT_WRITE\) \|" "$REPORT")
check_eq "the hostile worker tried mprotect on the 2 other workers' areas" 2 "$peer_tries"
check_eq "... and every such mprotect failed" "" \
    "$(grep -E "^mapping [0-9a-f-]+ r--s /dev/shm/$SEG\.w[0-9]+ \| mprotect.* \| ok$" "$REPORT")"

echo "--- after the attack"
check_master_idle "after the attack"
check_routes "after the attack" one
# Its area's garbage is in every sum the others make: clamped, it only skews them.
lc_ok=0
for ((i = 0; i < 20; i++)); do
	case $(curl_get l.example.com "$PROXY_PORT" whoami --max-time 5 2>&1 | head -n 1) in
	backend-one | backend-two) lc_ok=$((lc_ok + 1)) ;;
	esac
done
check_eq "after the attack: leastconn connections that reached a backend of theirs" 20 "$lc_ok"
for w in $OTHERS; do
	check_eq "worker $w is still the same process" yes "$(pid_alive "$w" && echo yes || echo no)"
done

echo "--- a reload that moves a.example.com to backend three"
route_conf "${NGINX_PORT[three]}" >"$T/routes.new"
{ sed -n '1,3p' "$PROXY_CONF" && cat "$T/routes.new"; } >"$T/conf.new" ||
    die "rewriting $PROXY_CONF"
mv -f "$T/conf.new" "$PROXY_CONF" || die "renaming $T/conf.new"
kill -HUP "$PROXY_PID"
WAIT_S=15 wait_until backend_of_a_is three
check_eq "the reload took effect: a.example.com reaches" backend-three \
    "$(curl_get a.example.com "$PROXY_PORT" whoami --max-time 5 2>&1 | head -n 1)"
check_master_idle "after the reload"
check_routes "after the reload" three

echo "--- passthrough-stats"
"$STATS" -c "$PROXY_CONF" >"$T/stats.out" 2>&1
check_eq "passthrough-stats reads the segment: exit status" 0 "$?"
sed 's/^/     | /' "$T/stats.out" | head -n 12

# The proxy log may have been cut short by the attack (the worker shares the
# master's stderr), but nothing written after it may say a worker died.
check_no_match "no worker died before the stop" "killed by signal|exited with status" \
    "$(grep -a -E 'killed by signal|exited with status' "$PROXY_LOG")"

echo "--- SIGTERM"
workers=$(proxy_children)
if ! kill -TERM "$PROXY_PID" 2>/dev/null; then
	fail "the master is there to receive SIGTERM"
# STOP_GRACE_MS (5 s) until the hung worker gets SIGKILL, then the exit.
elif pid_wait_exit "$PROXY_PID" 20; then
	wait "$PROXY_PID"
	pass "the master exited after SIGTERM (status $?)"
else
	fail "the master exited within 20 s of SIGTERM"
fi
left=
for w in $workers; do pid_alive "$w" && left="$left $w"; done
check_eq "workers left after the master's exit" "" "$left"
finish
