#!/bin/bash
# Guards watch_config: with no signal, the Kubernetes ConfigMap swap (..data symlink replaced atomically) and an edit in place change the routes; a broken version is logged as a failed reload and the routes stay; a touch, a rewrite with the same bytes or a swap to identical bytes does not reload.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

# From the change until new connections reach the new backend: the 200 ms
# debounce plus the reload, with room for a loaded machine. ms
FOLLOW_MAX_MS=1500

sink_start X --send-then-shutdown 1111
sink_start Y --send-then-shutdown 2222
P=$(free_port)
CM=$T/configmap
CONF=$CM/pt.conf
mkdir -p "$CM"
version() {	# N SINK|broken: writes $CM/..N/pt.conf
	mkdir -p "$CM/..$1"
	if [ "$2" = broken ]; then
		proxy_conf_write "$CM/..$1/pt.conf" 2 "\"127.0.0.1:$P\"" "watch_config = true;
routes = ( { sni = \"loop.example.com\"; backends = [ \"127.0.0.1\" ]; } );"
	else
		proxy_conf_write "$CM/..$1/pt.conf" 2 "\"127.0.0.1:$P\"" "watch_config = true;
routes = ( { sni = \"loop.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[$2]}\" ]; } );"
	fi
}
swap_to() {	# N: what the kubelet does: a new ..data link renamed over the old one, the old version removed
	local old
	old=$(readlink "$CM/..data")
	ln -s "..$1" "$CM/..data_tmp" && mv -T "$CM/..data_tmp" "$CM/..data" || die "swapping ..data to ..$1"
	rm -rf "${CM:?}/$old"
}
version v1 X
ln -s ..v1 "$CM/..data"
ln -s ..data/pt.conf "$CONF"
proxy_start_file "$CONF" 2 "$P"

loop_start main --connect "127.0.0.1:$P" --hello loop.example.com --concurrency 2 \
    --interval-ms 5 --expect-bytes 1111,2222
WAIT_S=10 wait_until loop_has main 20 || die "the connection loop gets no answers"

# follows WHAT BYTES T0: new connections begun after T0 reach the backend
# answering BYTES within FOLLOW_MAX_MS; sets FOLLOW_MS.
follows() {
	local i t
	FOLLOW_MS=
	for ((i = 0; i < 400; i++)); do
		t=$(tail -n 200 "$T/loop-main.out" |
		    awk -v t0="$3" -v b="$2" '$1 >= t0 && $3 == "ok" && $4 == b { print $2; exit }')
		[ -n "$t" ] && break
		sleep 0.01
	done
	if [ -z "$t" ]; then
		fail "$1: no connection reached the new backend within 4 s"
		return
	fi
	FOLLOW_MS=$(( (t - $3) / 1000 ))
	check_range "$1: change to the first answer from the new backend (ms)" 0 "$FOLLOW_MAX_MS" "$FOLLOW_MS"
}
# only_from WHAT BYTES T0: every connection begun after T0 got BYTES.
only_from() {
	check_eq "$1" "" "$(awk -v t0="$3" -v b="$2" '$1 >= t0 && $4 != b' "$T/loop-main.out" | head -n 3)"
}
reload_lines() { grep -cE 'master: (info: reloaded |error: reload failed)' "$PROXY_LOG"; }

echo "--- ConfigMap swap ..v1 (X) -> ..v2 (Y)"
version v2 Y
now_us t0
swap_to v2
follows "swap to ..v2" 2222 "$t0"
swap1_ms=$FOLLOW_MS
proxy_wait_generation 2 || fail "swap to ..v2: generation 2 not logged"
check_match "swap to ..v2: the reload names the file" "master: info: reloaded $CONF: generation 2, 1 routes" \
    "$(cat "$PROXY_LOG")"

echo "--- a broken version ..v3"
version v3 broken
swap_to v3
failed() { grep -q 'master: error: reload failed: ' "$PROXY_LOG"; }
WAIT_S=5 wait_until failed || fail "broken ..v3: no 'reload failed' line"
now_us t1
check_match "broken ..v3: the fault, with file and line" \
    "master: error: $CONF:[0-9]+: routes\\[0\\]\\.backends\\[0\\]: \"127.0.0.1\" has no port" "$(cat "$PROXY_LOG")"
check_match "broken ..v3: the failure line" \
    "master: error: reload failed: 1 error in $CONF; generation 2 keeps serving" "$(cat "$PROXY_LOG")"
sleep 1
only_from "broken ..v3: connections that did not reach Y meanwhile" 2222 "$t1"

echo "--- a good version ..v4 (X)"
version v4 X
now_us t0
swap_to v4
follows "swap to ..v4" 1111 "$t0"
swap2_ms=$FOLLOW_MS
proxy_wait_generation 3 || fail "swap to ..v4: generation 3 not logged"
sleep 0.3

echo "--- no change in bytes: touch, a rewrite in place, a swap to a copy"
before=$(reload_lines)
now_us t2
touch "$CM/..data/pt.conf"
sleep 0.5
cp "$CM/..v4/pt.conf" "$T/same.conf"
cat "$T/same.conf" >"$CM/..v4/pt.conf"
sleep 0.5
mkdir -p "$CM/..v5"
cp "$CM/..v4/pt.conf" "$CM/..v5/pt.conf"
swap_to v5
sleep 1
check_eq "unchanged bytes: new reload lines" "$before" "$(reload_lines)"
only_from "unchanged bytes: connections that did not reach X" 1111 "$t2"

# The file now resolves into ..v5, reached by a swap that did not reload:
# an edit there is a change like any other.
echo "--- an edit in place of ..v5/pt.conf (Y)"
watched_dirs() {	# the directories the master's inotify fd watches (by inode)
	local f ino d out=
	for f in /proc/"$PROXY_PID"/fd/*; do
		[ "$(readlink "$f")" = "anon_inode:inotify" ] || continue
		for ino in $(grep -oE 'ino:[0-9a-f]+' "/proc/$PROXY_PID/fdinfo/${f##*/}" | cut -d: -f2); do
			ino=$((16#$ino))
			for d in "$CM" "$CM"/..v*; do
				[ "$(stat -c %i "$d" 2>/dev/null)" = "$ino" ] && { out="$out ${d#"$T"/}"; continue 2; }
			done
			out="$out inode-$ino(gone)"
		done
	done
	echo "$out"
}
echo "     watched now:$(watched_dirs)"
now_us t0
sed -i "s/:${SINK_PORT[X]}\"/:${SINK_PORT[Y]}\"/" "$CM/..v5/pt.conf"
follows "edit in place" 2222 "$t0"
edit_ms=$FOLLOW_MS
WAIT_S=3 proxy_wait_generation 4 || fail "edit in place: generation 4 not logged"

sleep 0.3
loop_stop main
check_loop_clean "connection loop" 100
check_eq "signals: reload lines (3 reloads, 1 failure)" "3 1" \
    "$(proxy_reloads) $(grep -c 'master: error: reload failed: ' "$PROXY_LOG")"
check_eq "worker pids (none restarted)" "$PROXY_WORKER_PIDS" "$(ps -o pid= --ppid "$PROXY_PID" | tr -s ' \n' ' ')"
total=$(field total "$LOOP_SUMMARY")
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_counters "normal=$total"
echo "     figures: change -> new backend: ConfigMap swaps $swap1_ms ms and $swap2_ms ms, edit in place $edit_ms ms (200 ms debounce included)"
finish
