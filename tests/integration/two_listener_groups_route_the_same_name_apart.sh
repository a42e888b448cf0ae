#!/bin/bash
# Guards listener groups: the same SNI name on two groups' ports reaches two different backends (told apart by certificate subject), each group falls back to its own default route, a group with routes = () (and a top-level routes = ()) answers every client with alert unrecognized_name, a group's allow/deny decide at accept for its addresses without their own, statistics keep one entry per group, a reload that moves a name to the other group takes effect, and files mixing listeners with the top-level listen or sharing an address between groups are refused naming file:line.
. "$(dirname "$0")/lib.sh"

nginx_start a1 a2 d1 d2
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
P4=$(free_port)
P5=$(free_port)
conf=$T/groups.conf

# write_conf MOVED_IN: listeners on P1, P2 (same names, own backends and
# defaults), P3 (no routes) and P4, P5 (the group denies 127.0.0.1 at accept,
# P5 allows it itself); moved.example.com is in group MOVED_IN (1 or 2).
write_conf() {
	local m1="" m2=""
	if [ "$1" = 1 ]; then
		m1="{ sni = \"moved.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a1]}\" ]; },"
	else
		m2="{ sni = \"moved.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a2]}\" ]; },"
	fi
	cat >"$conf.tmp" <<EOF
workers = 2;
log = { level = "debug"; access = "$T/access.log"; };
listeners = (
  { listen = [ "127.0.0.1:$P1" ];
    routes = (
      $m1
      { sni = "app.example.com"; backends = [ "127.0.0.1:${NGINX_PORT[a1]}" ]; },
      { sni = "*"; backends = [ "127.0.0.1:${NGINX_PORT[d1]}" ]; }
    ); },
  { listen = ( { address = "127.0.0.1:$P2"; } );
    routes = (
      { sni = "APP.example.com"; backends = [ "127.0.0.1:${NGINX_PORT[a2]}" ]; },
      $m2
      { sni = "*"; backends = [ "127.0.0.1:${NGINX_PORT[d2]}" ]; }
    ); },
  { listen = [ "127.0.0.1:$P3" ]; routes = ( ); },
  { listen = ( "127.0.0.1:$P4", { address = "127.0.0.1:$P5"; allow = [ "127.0.0.0/8" ]; } );
    deny = [ "127.0.0.1" ];
    routes = ( { sni = "*"; backends = [ "127.0.0.1:${NGINX_PORT[d1]}" ]; } ); }
);
EOF
	pt_conf_events "$conf.tmp"
	mv -f "$conf.tmp" "$conf"
}

write_conf 1
out=$("$PT" -t -c "$conf" 2>&1)
check_eq "passthrough -t on three listener groups" "configuration OK" "$out"
proxy_start_file "$conf" 2 "$P1"
for p in "$P2" "$P3" "$P4" "$P5"; do
	WAIT_S=5 wait_until port_listening "$p" || fail "the proxy does not listen on $p"
done

# cn PORT NAME: the certificate subject a client for NAME on PORT gets.
cn() {
	sclient "$1" -servername "$2" | sclient_cn
}

check_eq "group 1: app.example.com" "backend-a1" "$(cn "$P1" app.example.com)"
check_eq "group 2: app.example.com" "backend-a2" "$(cn "$P2" app.example.com)"
check_eq "group 1: a name it lacks goes to its default" "backend-d1" "$(cn "$P1" other.example.com)"
check_eq "group 2: a name it lacks goes to its default" "backend-d2" "$(cn "$P2" other.example.com)"
check_eq "group 1: moved.example.com" "backend-a1" "$(cn "$P1" moved.example.com)"
check_eq "group 2: moved.example.com is not its: the default" "backend-d2" "$(cn "$P2" moved.example.com)"
check_eq "curl group 2: app.example.com" "backend-a2" "$(curl_get app.example.com "$P2" whoami 2>&1)"

# The group without routes: every client gets the alert, with or without SNI.
for sni in "-servername app.example.com" "-servername other.example.com" "-noservername"; do
	# shellcheck disable=SC2086
	out=$(sclient "$P3" $sni)
	check_match "group 3 (routes = ()) $sni: alert 112" "SSL alert number 112" "$out"
	check_no_match "group 3 $sni: no certificate" "^subject=" "$out"
done

# A group's deny decides at accept for its entry without rules; an entry's own allow for itself.
out=$(sclient "$P4" -servername app.example.com)
check_no_match "group 4 denies 127.0.0.1 on $P4: no certificate" "^subject=" "$out"
check_eq "group 4, $P5 with its own allow: the default" "backend-d1" "$(cn "$P5" app.example.com)"
WAIT_S=5 wait_until grep -q "denied by the listener group of listen 127.0.0.1:$P4\$" "$PROXY_LOG"
check_match "the debug log: denied by the group's rules" \
    "127\.0\.0\.1:[0-9]*: denied by the listener group of listen 127\.0\.0\.1:$P4\$" "$(cat "$PROXY_LOG")"

# One statistics entry per group for the same pattern: "PATTERN@LISTEN"; the
# access log names the route so too.
stats_json "$T/stats.json"
route_conns() {	# ROUTE: its connections in the JSON statistics
	jq --arg r "$1" '[.routes[] | select(.route == $r) | .connections] | add // 0' "$T/stats.json"
}
check_eq "statistics: app.example.com@127.0.0.1:$P1" 1 "$(route_conns "app.example.com@127.0.0.1:$P1")"
check_eq "statistics: app.example.com@127.0.0.1:$P2" 2 "$(route_conns "app.example.com@127.0.0.1:$P2")"
check_eq "statistics: *@127.0.0.1:$P2" 2 "$(route_conns "*@127.0.0.1:$P2")"

# A reload moves moved.example.com from group 1 to group 2.
write_conf 2
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "reload: generation 2 not published"
check_eq "after the reload, group 2: moved.example.com" "backend-a2" "$(cn "$P2" moved.example.com)"
check_eq "after the reload, group 1: moved.example.com is not its: the default" "backend-d1" \
    "$(cn "$P1" moved.example.com)"
check_eq "after the reload, group 1: app.example.com" "backend-a1" "$(cn "$P1" app.example.com)"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "access log lines with route=app.example.com@127.0.0.1:$P2 listen=127.0.0.1:$P2" 2 \
    "$(grep " listen=127\.0\.0\.1:$P2 .* route=app\.example\.com@127\.0\.0\.1:$P2 " "$T/access.log" | grep -c .)"

# Files the proxy refuses, each fault at file:line.
bad=$T/bad.conf
cat >"$bad" <<EOF
listen = [ "127.0.0.1:$P1" ];
listeners = (
  { listen = [ "127.0.0.1:$P2" ]; routes = ( ); }
);
EOF
err=$("$PT" -t -c "$bad" 2>&1)
check_eq "listeners with the top-level listen: -t exit status" 1 "$?"
check_match "listeners with the top-level listen: file:line of both" \
    "^$bad:2: listeners: cannot be used with the top-level listen \\(line 1\\)" "$err"
proxy_exit_status "$bad" "$T/bad.err"
check_eq "the proxy refuses to start on it" 1 "$PROXY_RC"
cat >"$bad" <<EOF
listeners = (
  { listen = [ "127.0.0.1:$P1" ]; routes = ( ); },
  { listen = [ "127.0.0.1:$P2",
               "127.0.0.1:$P1" ]; routes = ( ); }
);
EOF
err=$("$PT" -t -c "$bad" 2>&1)
check_eq "an address in two groups: -t exit status" 1 "$?"
check_match "an address in two groups: file:line of both" \
    "^$bad:4: listeners\\[1\\]\\.listen\\[1\\]: \"127\\.0\\.0\\.1:$P1\" duplicates listeners\\[0\\]\\.listen\\[0\\] \\(line 2\\)" "$err"

# An empty route list at the top level (no listeners) is valid too: alert 112 for all.
printf 'workers = 1;\nlisten = [ "127.0.0.1:%s" ];\nlog = { level = "debug"; };\nroutes = ( );\n' \
    "$P1" >"$conf"
proxy_start_file "$conf" 1 "$P1"
out=$(sclient "$P1" -servername app.example.com)
check_match "top-level routes = (): alert 112" "SSL alert number 112" "$out"
check_no_match "top-level routes = (): no certificate" "^subject=" "$out"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
