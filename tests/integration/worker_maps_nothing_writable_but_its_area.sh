#!/bin/bash
# Guards the statistics boundary: started as root (workers run as nobody), every worker maps each /dev/shm/passthrough-* object either read-only and never writable again (no "mw" in its VmFlags: it was mapped from an O_RDONLY descriptor, so mprotect cannot add PROT_WRITE) or, read-write, only its own area, one per worker and no two workers the same; it holds no descriptor of the segment or of another worker's area; the worker's uid cannot open the segment or an area for writing; all of this also holds for a worker started later (a replacement forked after the other areas existed), and a clean stop removes every area.
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

# shm_maps PID: "PATH PERMS VMFLAGS" for each mapping of the segment or an area (smaps).
shm_maps() {
	awk -v seg="$SHM" '
	$0 ~ /^[0-9a-f]+-[0-9a-f]+ / { path = $6; perms = $2; keep = path == seg || index(path, seg ".w") == 1; next }
	/^VmFlags:/ { if (keep) { $1 = ""; print path, perms, substr($0, 2) } keep = 0 }' "/proc/$1/smaps"
}

# check_worker PID: its mappings and descriptors of the statistics objects. Sets OWN: its own area's path.
check_worker() {
	local pid=$1 path perms flags own= n_rw=0 fd target
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
		*) fail "worker $pid maps another worker's area $path ($perms)" ;;
		esac
	done < <(shm_maps "$pid")
	for fd in /proc/"$pid"/fd/*; do
		target=$(readlink "$fd" 2>/dev/null) || continue
		case $target in
		"$SHM"*) fail "worker $pid holds descriptor $(basename "$fd") of $target" ;;
		esac
	done
	OWN=$own
}

# check_all WHAT: every live worker, and no area mapped read-write twice.
check_all() {
	local what=$1 w own owns=()
	for w in $(proxy_children); do
		check_worker "$w"
		own=$OWN
		[ -n "$own" ] || continue
		owns+=("$own")
		check_eq "$what: worker $w's own area is root's, 0640" "0 640" "$(stat -c '%u %a' "$own" 2>&1)"
		check_eq "$what: nobody cannot open worker $w's area for writing" refused \
		    "$(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all \
		    sh -c ": >>'$own'" 2>/dev/null && echo opened || echo refused)"
	done
	check_eq "$what: areas mapped read-write, one per worker" "$(proxy_child_count)" \
	    "$(printf '%s\n' "${owns[@]}" | sort -u | grep -c .)"
	check_eq "$what: nobody cannot open the segment for writing" refused \
	    "$(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all \
	    sh -c ": >>'$SHM'" 2>/dev/null && echo opened || echo refused)"
}

echo "--- two workers at start"
check_hello_reaches "a hello routes" A --hello x.example.com
check_all "at start"
for w in $(proxy_children); do
	check_eq "worker $w runs as nobody" $NOBODY "$(stat -c %u "/proc/$w")"
done

echo "--- a replacement, forked while the other worker's area exists"
old=$(proxy_slot_pid 0)
kill -KILL "$old"
replacement_up() { local p; p=$(proxy_slot_pid 0); [ -n "$p" ] && [ "$p" != "$old" ]; }
WAIT_S=5 wait_until replacement_up || die "worker 0 was not replaced"
sleep 0.2
check_all "after a restart"
check_hello_reaches "a hello routes after the restart" A --hello y.example.com

echo "--- a clean stop removes every area"
proxy_stop
check_eq "stop: exit status" 0 "$PROXY_RC"
check_eq "stop: statistics objects left in /dev/shm" "" "$(ls -d "$SHM"* 2>/dev/null)"
finish
