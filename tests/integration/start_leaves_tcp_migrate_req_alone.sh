#!/bin/bash
# Guards that starting passthrough changes no global sysctl: net.ipv4.tcp_migrate_req reads the same before and after a start with the default configuration (only listen and a route), in the machine's network namespace and in a fresh one, where it is at its default, 0.
. "$(dirname "$0")/lib.sh"

MIGRATE=/proc/sys/net/ipv4/tcp_migrate_req
[ -r "$MIGRATE" ] || { echo "SKIP: this kernel has no net.ipv4.tcp_migrate_req (before 5.14)"; exit 77; }
where="the machine's network namespace"
if [ "${PT_NETNS:-}" = 1 ]; then
	where="a fresh network namespace"
	ip link set lo up || die "cannot bring up lo in the private network namespace"
fi

before=$(cat "$MIGRATE")
[ "${PT_NETNS:-}" = 1 ] && check_eq "$where: tcp_migrate_req before the start (the default)" 0 "$before"
sink_start X --send-then-shutdown 1111
port=$(free_port)
workers=$(nproc)
[ "$workers" -gt 256 ] && workers=256
printf 'listen = [ "127.0.0.1:%s" ];\nroutes = ( { sni = "*"; backends = [ "127.0.0.1:%s" ]; } );\n' \
    "$port" "${SINK_PORT[X]}" >"$T/default.conf"
proxy_start_file "$T/default.conf" "$workers" "$port"
check_match "$where: a connection is answered" "^1111$" \
    "$("$PTCLIENT" --connect "127.0.0.1:$port" --hello a.example.com --read 2>/dev/null | wc -c)"
check_eq "$where: tcp_migrate_req after the start" "$before" "$(cat "$MIGRATE")"
proxy_stop
check_eq "$where: tcp_migrate_req after the stop" "$before" "$(cat "$MIGRATE")"

if [ -z "${PT_NETNS:-}" ]; then
	if unshare -n true 2>/dev/null; then
		echo "--- again in a fresh network namespace"
		PT_NETNS=1 unshare -n "$BASH" "$0" || fail "the start in a fresh network namespace changed something"
	else
		# Here the sysctl may be 1 already, so "unchanged" proves nothing alone.
		[ "$before" = 0 ] || { echo "SKIP: no private network namespace (unshare -n) and tcp_migrate_req is $before here"; exit 77; }
		echo "note: no private network namespace (unshare -n): only the machine's was checked"
	fi
fi
finish
