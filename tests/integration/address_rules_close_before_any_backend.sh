#!/bin/bash
# Guards the address rules: a client denied by the top level, by its listen entry (which then replaces the top level) or by its route is closed before any backend connection, counted as denied and logged at debug naming the scope; within a scope the longest prefix wins, an allow and a deny of one prefix deny, an allow list denies what it does not list; behind accept_proxy the carried address is the one checked; allowed clients pass.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || die "jq is missing: tools/deps.sh test installs it"

nginx_start app secret
sink_start s
P1=$(free_port) P2=$(free_port) P3=$(free_port) P4=$(free_port)
PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_conf_groups "$T/proxy.conf" 1 "
  \"127.0.0.1:$P1\", \"[::1]:$P1\",
  { address = \"127.0.0.1:$P2\"; deny = [ \"127.0.0.1/32\" ]; },
  { address = \"127.0.0.1:$P3\"; allow = [ \"127.0.0.3\" ]; },
  { address = \"127.0.0.1:$P4\"; accept_proxy = true; trusted = [ \"127.0.0.1/32\" ];
    deny = [ \"192.0.2.66/32\" ]; }" "
allow = [ \"127.0.0.0/8\", \"127.0.0.4/32\" ];
deny = [ \"127.0.0.2/32\", \"127.0.0.4/32\" ];
routes = (
  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[app]}\" ]; },
  { sni = \"secret.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[secret]}\" ];
    allow = [ \"127.0.0.1/32\" ]; },
  { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[s]}\" ]; }
);"
proxy_start_file "$T/proxy.conf" 1 "$P1"
AL=$T/access.log
n=0 denied=0 app=0 sec=0

# last_access: the newest access log line, once there are $n of them.
last_access() {
	WAIT_S=10 wait_until sh -c "[ \$(wc -l <'$AL') -ge $n ]" || fail "access log lines: want $n, have $(wc -l <"$AL")"
	tail -n 1 "$AL"
}

# try WHAT NAME PORT FROM pass|SCOPE: curl https://NAME:PORT/whoami from
# address FROM; pass: the backend answers; else the client is closed,
# counted as denied, and the debug log says "FROM:port: denied by SCOPE".
try() {
	local what=$1 name=$2 port=$3 from=$4 want=$5 out line client to=127.0.0.1 iface=$4
	case $from in *:*) to="[::1]"; iface=::1 ;; esac
	out=$(CURL_ADDR=$to curl_get "$name" "$port" whoami --interface "$iface" 2>&1)
	n=$((n + 1))
	line=$(last_access)
	client=$(field client "$line")
	if [ "$want" = pass ]; then
		check_eq "$what: passes" "backend-${name%%.*}" "$out"
		check_eq "$what: ... reason" normal "$(field reason "$line")"
		[ "${name%%.*}" = app ] && app=$((app + 1))
		[ "${name%%.*}" = secret ] && sec=$((sec + 1))
		return
	fi
	denied=$((denied + 1))
	check_no_match "$what: no answer" "backend-" "$out"
	check_eq "$what: reason" denied "$(field reason "$line")"
	check_eq "$what: no backend in the access log" - "$(field backend "$line")"
	check_match "$what: debug log names the scope" "$(sed 's/[].[*]/\\&/g' <<<"$client"): denied by $(sed 's/[].[*]/\\&/g' <<<"$want")\$" \
	    "$(cat "$PROXY_LOG")"
}

echo "--- the top level (plain listen entries): allow 127/8, deny .2 and .4 (a tie)"
try "top level, 127.0.0.1" app.example.com "$P1" 127.0.0.1 pass
try "top level, 127.0.0.3" app.example.com "$P1" 127.0.0.3 pass
try "top level, 127.0.0.2 (longest prefix: /32 deny over /8 allow)" app.example.com "$P1" 127.0.0.2 "the top level"
try "top level, 127.0.0.4 (allow and deny of one prefix)" app.example.com "$P1" 127.0.0.4 "the top level"
try "top level, ::1 (an allow list denies what it does not list)" app.example.com "$P1" ::1 "the top level"
echo "--- a listen entry's own rules replace the top level's"
try "listen deny .1, from 127.0.0.1" app.example.com "$P2" 127.0.0.1 "listen 127.0.0.1:$P2"
try "listen deny .1, from 127.0.0.2 (top level not applied)" app.example.com "$P2" 127.0.0.2 pass
try "listen allow .3, from 127.0.0.3" app.example.com "$P3" 127.0.0.3 pass
try "listen allow .3, from 127.0.0.1" app.example.com "$P3" 127.0.0.1 "listen 127.0.0.1:$P3"
echo "--- a route's rules, after the hello (and the listen entry's before it)"
try "route allow .1, from 127.0.0.1" secret.example.com "$P1" 127.0.0.1 pass
try "route allow .1, from 127.0.0.3" secret.example.com "$P1" 127.0.0.3 "route secret.example.com"
try "route allow .1 on listen allow .3, from 127.0.0.3" secret.example.com "$P3" 127.0.0.3 "route secret.example.com"

echo "--- behind accept_proxy the carried address is checked"
V=$ROOT/tests/vectors
for c in 192.0.2.66=deny 192.0.2.67=pass; do
	addr=${c%=*}
	{ pp_v2_hex proxy "$addr" 4444 127.0.0.1 "$P4"; cat "$V/openssl-tls1_2.hex"; } >"$T/h.hex"
	hellos=$(sink_count s hello)
	"$PTCLIENT" --connect "127.0.0.1:$P4" --hex-file "$T/h.hex" --shutdown --read \
	    --timeout-ms 10000 >/dev/null 2>"$T/client.err"
	n=$((n + 1))
	line=$(last_access)
	check_eq "carried $addr: client in the access log" "$addr:4444" "$(field client "$line")"
	if [ "${c#*=}" = deny ]; then
		denied=$((denied + 1))
		check_eq "carried $addr: reason" denied "$(field reason "$line")"
		check_match "carried $addr: debug log names the listen entry" \
		    "192\\.0\\.2\\.66:4444: denied by listen 127\\.0\\.0\\.1:$P4\$" "$(cat "$PROXY_LOG")"
	else
		check_eq "carried $addr: reason" normal "$(field reason "$line")"
		WAIT_S=5 sink_wait s hello $((hellos + 1)) || fail "carried $addr: the hello did not reach the sink"
	fi
done
check_eq "the sink accepted only the allowed one" 1 "$(sink_count s accept)"

"$STATS" -c "$PROXY_CONF" --json >"$T/stats.json" || fail "passthrough-stats --json failed"
j() { jq -r "$1" "$T/stats.json"; }
backend() { j ".backends[] | select(.backend == \"127.0.0.1:$1\") | .connections"; }
check_eq "stats: accepted" "$n" "$(j .totals.accepted)"
check_eq "stats: denied" "$denied" "$(j .totals.closes.denied)"
check_eq "stats: nginx app's connections = the allowed ones" "$app" "$(backend "${NGINX_PORT[app]}")"
check_eq "stats: nginx sec's connections = the allowed ones" "$sec" "$(backend "${NGINX_PORT[secret]}")"
check_eq "access log: denied lines" "$denied" "$(grep -c ' reason=denied$' "$AL")"

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$n" "$(proxy_counter accepted)"
finish
