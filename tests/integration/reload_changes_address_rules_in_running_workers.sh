#!/bin/bash
# Guards reloads that change only address rules and PROXY settings: the running workers (same pids, same listening sockets) apply the new top-level, route and listen rules and accept_proxy at once, and a client the new rules refuse is closed as denied without reaching the backend.
. "$(dirname "$0")/lib.sh"

nginx_start app
B=${NGINX_PORT[app]}
route() {	# RULES: the catch-all route to nginx app with these route settings
	printf 'routes = ( { sni = "*"; backends = [ "127.0.0.1:%s" ]; %s } );' "$B" "$1"
}
PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_start -w 2 "deny = [ \"127.0.0.2/32\" ];
$(route '')"
P=$PROXY_PORT
workers=$(proxy_children)

# get WHAT FROM: curl from source address FROM; prints what the backend answered, or "refused".
get() {
	curl_get app.example.com "$P" whoami --interface "$2" 2>/dev/null || echo refused
}
conf() {	# LISTEN BODY: the whole file, 2 workers, debug log
	printf 'workers = 2;\nlisten = ( %s );\nlog = { level = "debug"; access = "%s"; };\n%s\n' \
	    "$1" "$T/access.log" "$2" \
	    >"$PROXY_CONF.tmp" && pt_conf_events "$PROXY_CONF.tmp" && mv -f "$PROXY_CONF.tmp" "$PROXY_CONF"
}
reload() {	# GENERATION
	kill -HUP "$PROXY_PID"
	proxy_wait_generation "$1" || die "generation $1 not published"
}
denied() { grep -c ': closed: denied' "$PROXY_LOG"; }

echo "--- generation 1: the top level denies 127.0.0.2"
check_eq "127.0.0.1 reaches the backend" "backend-app" "$(get a 127.0.0.1)"
check_eq "127.0.0.2 is refused" "refused" "$(get b 127.0.0.2)"
check_eq "closed as denied" 1 "$(denied)"
check_match "logged at debug with the client and the scope" \
    "debug: 127\\.0\\.0\\.2:[0-9]+: denied by the top level" "$(cat "$PROXY_LOG")"

echo "--- generation 2: no top-level rules; the route admits only 127.0.0.2"
conf "\"127.0.0.1:$P\"" "$(route 'allow = [ "127.0.0.2/32" ];')"
reload 2
check_eq "127.0.0.2 now reaches the backend" "backend-app" "$(get c 127.0.0.2)"
check_eq "127.0.0.1 is now refused" "refused" "$(get d 127.0.0.1)"
check_eq "closed as denied" 2 "$(denied)"
check_match "... by the route's rules, after its hello" \
    "debug: 127\\.0\\.0\\.1:[0-9]+: denied by route \\*" "$(cat "$PROXY_LOG")"

echo "--- generation 3: the listen address wants a PROXY header from 127.0.0.9 only"
conf "{ address = \"127.0.0.1:$P\"; accept_proxy = true; trusted = [ \"127.0.0.9/32\" ]; }" "$(route '')"
reload 3
check_eq "a client without a header from an untrusted source is refused" "refused" "$(get e 127.0.0.1)"
WAIT_S=5 wait_until grep -q ': closed: proxy_untrusted' "$PROXY_LOG" ||
    fail "no connection closed as proxy_untrusted"

echo "--- generation 4: the plain string again"
conf "\"127.0.0.1:$P\"" "$(route '')"
reload 4
check_eq "127.0.0.1 reaches the backend again" "backend-app" "$(get f 127.0.0.1)"
check_eq "the same workers served every generation" "$workers" "$(proxy_children)"
proxy_stop
check_eq "denied connections in the access log, each without a route or backend" 2 \
    "$(grep -c ' route=- backend=- .*reason=denied$' "$T/access.log")"
check_counters "normal=3 denied=2 proxy_untrusted=1 client_reset=any backend_reset=any"
finish
