#!/bin/bash
# Guards a failed reload: an invalid file (bad settings, a syntax error, a missing file) is logged as FILE:LINE: SETTING: MESSAGE exactly as `passthrough -t` prints it, the running routes keep serving unchanged, and a later valid reload works.
. "$(dirname "$0")/lib.sh"

nginx_start a b
route_to() {	# NAME: who.example.com to nginx NAME
	echo "routes = ( { sni = \"who.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[$1]}\" ]; } );"
}
proxy_start -w 2 "$(route_to a)"
P=$PROXY_PORT
LISTEN="\"127.0.0.1:$P\""
workers=$(proxy_children)
conns=0

# check_routes_to WHAT NAME: 6 requests (over both workers, likely) all reach NAME.
check_routes_to() {
	local i got all=
	for ((i = 0; i < 6; i++)); do
		got=$(curl_get who.example.com "$P" whoami 2>&1)
		all="$all $got"
		conns=$((conns + 1))
	done
	check_eq "$1: 6 requests answered by" " backend-$2 backend-$2 backend-$2 backend-$2 backend-$2 backend-$2" "$all"
}
failed_count() { grep -c 'master: error: reload failed: ' "$PROXY_LOG"; }
failed_at_least() { [ "$(failed_count)" -ge "$1" ]; }

check_routes_to "before any reload" a

# reload_invalid WHAT N: SIGHUP with an invalid file in place: the log holds
# the faults `passthrough -t` prints (N of them) and the failure line, and
# the old routes keep serving.
reload_invalid() {
	local what=$1 n=$2 before logged checked t_rc
	before=$(failed_count)
	checked=$("$PT" -t -c "$PROXY_CONF" 2>&1 >/dev/null)
	t_rc=$?
	: >"$T/mark"
	kill -HUP "$PROXY_PID"
	WAIT_S=10 wait_until failed_at_least $((before + 1)) || { fail "$what: no 'reload failed' line"; return; }
	check_eq "$what: passthrough -t exit status" 1 "$t_rc"
	check_eq "$what: passthrough -t reports" "$n" "$(grep -c . <<<"$checked")"
	echo "     passthrough -t:"
	sed 's/^/       | /' <<<"$checked"
	# The master's error lines of this reload, without the log prefix.
	logged=$(sed -nE 's/^.* master: error: //p' "$PROXY_LOG" | grep -v '^reload failed: ' |
	    tail -n "$n")
	check_eq "$what: the log has the same fault lines as passthrough -t" "$checked" "$logged"
	check_match "$what: each fault names the file and line" "^$PROXY_CONF:[0-9]+: " "$logged"
	check_match "$what: the failure line" \
	    "master: error: reload failed: $n errors? in $PROXY_CONF; generation 1 keeps serving\$" \
	    "$(tail -n 30 "$PROXY_LOG" | grep 'reload failed')"
	check_eq "$what: 'reloaded' lines" 0 "$(proxy_reloads)"
	check_routes_to "$what: routes after the failed reload" a
	check_eq "$what: worker pids (none restarted)" "$workers" "$(proxy_children)"
}

echo "--- settings with faults (and a valid route to b that must not take effect)"
proxy_conf_write "$PROXY_CONF" 2 "$LISTEN" "
timeouts = { hello_ms = \"5000\"; };
routes = (
  { sni = \"who.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[b]}\" ]; },
  { sni = \"bad.example.com\"; backends = [ \"127.0.0.1\" ]; }
);
tuning = { pipe_size = 4096; };"
reload_invalid "faulty settings" 3

echo "--- a syntax error"
proxy_conf_write "$PROXY_CONF" 2 "$LISTEN" "
routes = ( { sni = \"who.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[b]}\" ]; }"
reload_invalid "syntax error" 1

echo "--- the file is gone"
mv "$PROXY_CONF" "$T/moved.conf"
before=$(failed_count)
kill -HUP "$PROXY_PID"
WAIT_S=10 wait_until failed_at_least $((before + 1)) || fail "missing file: no 'reload failed' line"
check_match "missing file: logged" "master: error: $PROXY_CONF: cannot open: No such file or directory" \
    "$(cat "$PROXY_LOG")"
check_routes_to "missing file: routes" a

echo "--- a valid file again"
proxy_conf_write "$PROXY_CONF" 2 "$LISTEN" "$(route_to b)"
check_eq "passthrough -t on the valid file" "configuration OK" "$("$PT" -t -c "$PROXY_CONF" 2>&1)"
kill -HUP "$PROXY_PID"
proxy_wait_generation 2 || fail "the valid reload did not publish generation 2"
check_match "the valid reload's line" "master: info: reloaded $PROXY_CONF: generation 2, 1 routes\$" \
    "$(cat "$PROXY_LOG")"
check_routes_to "after the valid reload" b
check_eq "worker pids at the end (none restarted)" "$workers" "$(proxy_children)"
check_eq "'reload failed' lines" 3 "$(failed_count)"

proxy_wait_closes "$conns"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$conns" "$(proxy_counter accepted)"
check_counters_tls "$conns"
finish
