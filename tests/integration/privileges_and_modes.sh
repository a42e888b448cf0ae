#!/bin/bash
# Guards SECURITY.md's modes and the no-open-proxy claim: the statistics segment is mode 0640 with group stats.group whatever the umask, readable by a member of that group and refused to anyone else; the pid file is mode 0644 and removed at exit; hellos naming IP literals, localhost or names that resolve never make the proxy connect anywhere (only alerts without a default route; only the default backend with one), by the namespace's own TCP counters.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
[ -n "${PT_NETNS:-}" ] || ! unshare -n true 2>/dev/null || PT_NETNS=1 exec unshare -n "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
command -v setpriv >/dev/null || die "setpriv is missing (util-linux)"

# A temporary group for stats.group; the reader and the outsider are bare
# uids that no account uses (setpriv needs no passwd entry).
GROUP=ptst$$
groupadd --system "$GROUP" || die "groupadd $GROUP failed"
PUB=
priv_cleanup() {
	local rc=$?
	groupdel "$GROUP" 2>/dev/null
	[ -n "$PUB" ] && rm -rf "$PUB"
	(exit "$rc")
	cleanup
}
trap priv_cleanup EXIT
GID=$(getent group "$GROUP" | cut -d: -f3)
free_uid() {	# a uid from $1 up that no account has
	local u=$1
	while getent passwd "$u" >/dev/null; do u=$((u + 1)); done
	echo "$u"
}
READER=$(free_uid 61000)
OUTSIDER=$(free_uid $((READER + 1)))
as_reader() { setpriv --reuid="$READER" --regid="$READER" --groups="$GID" --inh-caps=-all "$@"; }
as_outsider() { setpriv --reuid="$OUTSIDER" --regid="$OUTSIDER" --clear-groups --inh-caps=-all "$@"; }
# The unprivileged uids run a copy of the tool from a directory they may enter.
if ! PUB=$(mktemp -d /tmp/pt-priv-bin.XXXXXX) || ! chmod 755 "$PUB" || ! cp "$PTSTATS" "$PUB/"; then
	die "cannot copy passthrough-stats for the unprivileged users"
fi

sink_start A
sink_start def
SEG=pt-priv-$$
PIDF=$T/pt.pid

# The operator's umask must not loosen (000) or tighten (077) either mode.
for mask in 077 000; do
	echo "--- the proxy started under umask $mask"
	old_umask=$(umask)
	umask "$mask"
	proxy_start "pid_file = \"$PIDF\";
stats = { name = \"$SEG\"; group = \"$GROUP\"; };
routes = ( { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[A]}\" ]; } );"
	umask "$old_umask"
	check_eq "umask $mask: statistics segment mode, owner, group" "640 root $GROUP" \
	    "$(stat -c '%a %U %G' "/dev/shm/$SEG" 2>&1)"
	check_eq "umask $mask: pid file mode" 644 "$(stat -c %a "$PIDF" 2>&1)"
	check_eq "umask $mask: pid file names the master" "$PROXY_PID" "$(cat "$PIDF")"
	out=$(as_reader "$PUB/passthrough-stats" -n "$SEG" --json 2>&1)
	check_eq "umask $mask: a member of $GROUP (uid $READER) reads the stats" "$PROXY_PID" \
	    "$(jq -r .master_pid <<<"$out" 2>/dev/null || echo "$out")"
	out=$(as_outsider "$PUB/passthrough-stats" -n "$SEG" --json 2>&1)
	rc=$?
	check_eq "umask $mask: anyone else (uid $OUTSIDER) is refused: exit status" 1 "$rc"
	check_match "umask $mask: ... saying why" "[Pp]ermission denied" "$out"
	check_eq "umask $mask: the member cannot write the segment" refused \
	    "$(as_reader sh -c "printf x >>/dev/shm/$SEG" 2>/dev/null && echo written || echo refused)"
	proxy_stop
	check_eq "umask $mask: proxy exit status" 0 "$PROXY_RC"
	check_eq "umask $mask: pid file removed at exit" gone "$([ -e "$PIDF" ] && echo left || echo gone)"
	check_eq "umask $mask: statistics segment removed at exit" gone "$([ -e "/dev/shm/$SEG" ] && echo left || echo gone)"
	check_eq "umask $mask: no temporary pid file left" "" "$(find "$T" -maxdepth 1 -name 'pt.pid.*tmp')"
	check_log_faults "umask $mask"
done

echo "--- no open proxy: hellos naming addresses and local names"
# Names a naive proxy would connect to: IP literals (dotted, hex, decimal),
# localhost, this machine's name, and every backend's own address.
NAMES="127.0.0.1 10.0.0.1 0x7f000001 2130706433 localhost $(hostname) app.example.com.localhost"
getent hosts ip6-localhost >/dev/null && NAMES="$NAMES ip6-localhost"
echo "     SNIs: $NAMES (and no SNI)"
# Sinks where a connection derived from such a name would land, in this namespace.
[ "${PT_NETNS:-}" = 1 ] && { sink_start p443 --listen 127.0.0.1:443; sink_start p80 --listen 127.0.0.1:80; }
active_opens() { awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ActiveOpens") c = i; h = 1 } else print $c }' /proc/net/snmp; }

# hellos: one ptclient per name (and one without SNI); prints what each received, in hex.
hellos() {
	local n
	for n in $NAMES -; do
		"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello "$n" --shutdown --read --timeout-ms 5000 \
		    2>"$T/c.err" | od -An -tx1 | tr -d ' \n'
		echo " $n $(grep '^result=' "$T/c.err" | cut -d' ' -f1)"
	done
}
k=$(( $(wc -w <<<"$NAMES") + 1 ))
sinks_accepts() {
	local s n=0
	for s in "${!SINK_PORT[@]}"; do n=$((n + $(sink_count "$s" accept))); done
	echo "$n"
}
proxy_start "routes = ( { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[A]}\" ]; } );"
a0=$(active_opens)
acc0=$(sinks_accepts)
got=$(hellos)
a1=$(active_opens)
# The fatal unrecognized_name alert, record version 1.2 (ptclient's hello is TLS 1.2).
check_eq "without a default route: every one got the unrecognized_name alert, then EOF" "" \
    "$(grep -vE '^15030300020270 [^ ]+ result=eof$' <<<"$got")"
check_eq "... connections any sink accepted" 0 $(( $(sinks_accepts) - acc0 ))
if [ "${PT_NETNS:-}" = 1 ]; then
	check_eq "... TCP connections opened in this namespace: the clients' only" "$k" $((a1 - a0))
fi
stats_snap
check_closes_exact "no_route_alert=$k"
check_eq "passthrough-stats: backend connections" 0 "$(jq '[.backends[].connections] | add // 0' <<<"$STATS_JSON")"

proxy_conf_write "$PROXY_CONF" 1 "\"127.0.0.1:$PROXY_PORT\"" "routes = (
  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[A]}\" ]; },
  { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[def]}\" ]; }
);"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "the reload to a default route did not happen"
a0=$(active_opens)
acc0=$(sinks_accepts)
hellos >/dev/null
WAIT_S=5 sink_wait def hello "$k" || fail "the default backend got $(sink_count def hello) hellos, not $k"
a1=$(active_opens)
check_eq "with a default route: hellos the default backend got" "$k" "$(sink_count def hello)"
check_eq "... their names, as sent" "$(tr ' ' '\n' <<<"$NAMES -" | sort | tr '\n' ' ')" \
    "$(grep '^def hello ' "$SINK_LOG" | sed 's/.* sni=\([^ ]*\) .*/\1/' | sort | tr '\n' ' ')"
check_eq "... connections the other sinks accepted" 0 $(( $(sinks_accepts) - acc0 - k ))
if [ "${PT_NETNS:-}" = 1 ]; then
	check_eq "... TCP connections opened in this namespace: the clients' and one to the default backend each" \
	    $((2 * k)) $((a1 - a0))
fi
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
