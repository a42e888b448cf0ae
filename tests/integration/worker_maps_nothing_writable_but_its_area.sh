#!/bin/bash
# Guards the statistics boundary: started as root (workers run as nobody), every worker maps each /dev/shm/passthrough-* object either read-only and never writable again (no "mw" in its VmFlags: it was mapped from an O_RDONLY descriptor, so mprotect cannot add PROT_WRITE) or, read-write, only its own area, one per worker and no two workers the same; it maps every other live worker's area read-only (leastconn and random2 sum their counts) and no area of a worker that exited; it holds no descriptor of the segment or of another worker's area; the worker's uid cannot open the segment or an area for writing; all of this also holds for a worker started later (a replacement forked after the other areas existed), and a clean stop removes every area.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || die "setpriv is missing (util-linux)"
command -v jq >/dev/null || die "jq is missing"
[ "$(id -u)" = 0 ] || die "needs root: only a root start runs the workers as nobody"
NOBODY=65534
EXPECT_WORKER_DEATHS=1

sink_start A
proxy_start -w 2 "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[A]}\" ]; } );"
SEG=$("$BUILD/passthrough-stats" -c "$PROXY_CONF" --json | jq -r .segment)
[ -n "$SEG" ] && [ -e "/dev/shm$SEG" ] || die "no statistics segment found (got '$SEG')"
SHM=/dev/shm$SEG

# shm_maps PID: "PATH PERMS VMFLAGS" for each mapping of the segment or an area
# (smaps); PATH ends in "+deleted" for an object removed since.
shm_maps() {
	awk -v seg="$SHM" '
	$0 ~ /^[0-9a-f]+-[0-9a-f]+ / { path = $6 ($7 == "(deleted)" ? "+deleted" : ""); perms = $2
		keep = path == seg || index(path, seg ".w") == 1; next }
	/^VmFlags:/ { if (keep) { $1 = ""; print path, perms, substr($0, 2) } keep = 0 }' "/proc/$1/smaps"
}

# check_worker PID: its mappings and descriptors of the statistics objects. Sets OWN: its
# own area's path, PEERS: the other areas it maps (read-only), sorted.
check_worker() {
	local pid=$1 path perms flags own= n_rw=0 fd target peers=()
	while read -r path perms flags; do
		if [[ $perms == rw* ]]; then
			n_rw=$((n_rw + 1))
			own=$path
			[ "$path" != "$SHM" ] || fail "worker $pid maps the segment read-write ($perms)"
		elif [[ " $flags " == *" mw "* ]]; then
			fail "worker $pid maps $path read-only but may make it writable (VmFlags: $flags)"
		fi
	done < <(shm_maps "$pid")
	check_eq "worker $pid: read-write statistics mappings" 1 "$n_rw"
	while read -r path perms flags; do
		case $path in
		"$SHM") ;;
		"$own") ;;
		*+deleted) fail "worker $pid still maps $path, the area of a worker that exited" ;;
		*) peers+=("$path") ;;	# read-only and never writable: checked above
		esac
	done < <(shm_maps "$pid")
	PEERS=$(printf '%s\n' "${peers[@]}" | sort -u | tr '\n' ' ')
	for fd in /proc/"$pid"/fd/*; do
		target=$(readlink "$fd" 2>/dev/null) || continue
		case $target in
		"$SHM"*) fail "worker $pid holds descriptor $(basename "$fd") of $target" ;;
		esac
	done
	OWN=$own
}

# check_all WHAT: every live worker, and no area mapped read-write twice; each
# maps the others' areas read-only.
check_all() {
	local what=$1 w own owns=() peers=() pid peer_list
	for w in $(proxy_children); do
		check_worker "$w"
		own=$OWN
		[ -n "$own" ] || continue
		owns+=("$own")
		peers+=("$w|$own|$PEERS")
		check_eq "$what: worker $w's own area is root's, 0640" "0 640" "$(stat -c '%u %a' "$own" 2>&1)"
		check_eq "$what: nobody cannot open worker $w's area for writing" refused \
		    "$(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all \
		    sh -c ": >>'$own'" 2>/dev/null && echo opened || echo refused)"
	done
	check_eq "$what: areas mapped read-write, one per worker" "$(proxy_child_count)" \
	    "$(printf '%s\n' "${owns[@]}" | sort -u | grep -c .)"
	for w in "${peers[@]}"; do
		IFS='|' read -r pid own peer_list <<<"$w"
		check_eq "$what: worker $pid maps the other workers' areas read-only" \
		    "$(printf '%s\n' "${owns[@]}" | grep -vxF "$own" | sort -u | tr '\n' ' ')" \
		    "$peer_list"
	done
	check_eq "$what: nobody cannot open the segment for writing" refused \
	    "$(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all \
	    sh -c ": >>'$SHM'" 2>/dev/null && echo opened || echo refused)"
}

# peers_settled: every worker maps as many live areas read-only as there are
# other workers (one started later reaches the ones before on the control
# channel, within the master's 100 ms retry).
peers_settled() {
	local w n=$(($(proxy_child_count) - 1))
	for w in $(proxy_children); do
		[ "$(shm_maps "$w" | awk '$2 ~ /^r-/ && $1 ~ /\.w[0-9]+$/' | wc -l)" -eq "$n" ] || return 1
	done
}

echo "--- two workers at start"
check_hello_reaches "a hello routes" A --hello x.example.com
WAIT_S=5 wait_until peers_settled
check_all "at start"
for w in $(proxy_children); do
	check_eq "worker $w runs as nobody" $NOBODY "$(stat -c %u "/proc/$w")"
done

echo "--- a replacement, forked while the other worker's area exists"
old=$(proxy_slot_pid 0)
kill -KILL "$old"
replacement_up() { local p; p=$(proxy_slot_pid 0); [ -n "$p" ] && [ "$p" != "$old" ]; }
WAIT_S=5 wait_until replacement_up || die "worker 0 was not replaced"
WAIT_S=5 wait_until peers_settled
sleep 0.2
check_all "after a restart"
check_hello_reaches "a hello routes after the restart" A --hello y.example.com

echo "--- a clean stop removes every area"
proxy_stop
check_eq "stop: exit status" 0 "$PROXY_RC"
check_eq "stop: statistics objects left in /dev/shm" "" "$(ls -d "$SHM"* 2>/dev/null)"
finish
