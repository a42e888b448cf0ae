#!/bin/bash
# Guards the configuration's hash in the statistics segment: passthrough-stats (--json, --prometheus, the table) reports the SHA-256 of the file serving, equal to sha256sum's; a SIGHUP reload moves it with the generation while real TLS reaches the new backend; a refused edit (and a missing file) leaves the serving hash and routes alone while last_reload_sha256 names what was refused, with ok false and the fault; watch_config's reload moves it too.
. "$(dirname "$0")/lib.sh"

[ -x "$STATS" ] || die "$STATS is missing: build it with make BUILD=$BUILD all"
command -v jq >/dev/null || die "jq is missing: tools/deps.sh test installs it"

nginx_start a b
route_to() {	# NAME [MORE]: who.example.com to nginx NAME, then MORE settings
	echo "${2:-}
routes = ( { sni = \"who.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[$1]}\" ]; } );"
}
proxy_start "$(route_to a)"
LISTEN="\"127.0.0.1:$PROXY_PORT\""
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
# js FILTER: FILTER applied to a fresh passthrough-stats --json.
js() { "$STATS" -c "$PROXY_CONF" --json | jq -r "$1"; }
# shellcheck disable=SC2317  # run through wait_until
reloads_at_least() { [ "$(js '.reloads_ok + .reloads_failed')" -ge "$1" ]; }
# reload N: SIGHUP, then wait until the segment counts N reloads (ok or failed).
reload() {
	kill -HUP "$PROXY_PID"
	WAIT_S=10 wait_until reloads_at_least "$1" || fail "reload $1: not counted in the segment"
}
# serves WHAT NAME: a TLS GET through the proxy is answered by nginx NAME.
serves() {
	check_eq "$1: TLS through the proxy reaches" "backend-$2" \
	    "$(curl_get who.example.com "$PROXY_PORT" whoami 2>&1)"
}
# state WHAT GEN SERVING LAST OK: the JSON's generation, config_sha256,
# last_reload_sha256 and last_reload_ok; the Prometheus info series.
state() {
	check_eq "$1: generation, config_sha256, last_reload_sha256, last_reload_ok" "$2 $3 $4 $5" \
	    "$(js '[.generation, .config_sha256, .last_reload_sha256, .last_reload_ok] | map(tostring) | join(" ")')"
	check_eq "$1: passthrough_config_info" "passthrough_config_info{sha256=\"$3\",generation=\"$2\"} 1" \
	    "$("$STATS" -c "$PROXY_CONF" --prometheus | grep '^passthrough_config_info')"
}

echo "--- at start"
H1=$(sha_of "$PROXY_CONF")
state "at start" 1 "$H1" null null
check_match "the table's config line" "^  config +sha256 $H1\$" "$("$STATS" -c "$PROXY_CONF")"
serves "at start" a

echo "--- an edit and SIGHUP"
proxy_conf_write "$PROXY_CONF" 1 "$LISTEN" "$(route_to b)"
H2=$(sha_of "$PROXY_CONF")
reload 1
state "after the reload" 2 "$H2" "$H2" true
serves "after the reload" b

echo "--- a broken edit and SIGHUP: refused"
proxy_conf_write "$PROXY_CONF" 1 "$LISTEN" "$(route_to a "timeouts = { hello_ms = \"5000\"; };")"
H3=$(sha_of "$PROXY_CONF")
reload 2
state "after the refused reload" 2 "$H2" "$H3" false
check_match "the refusal's message names file, line and setting" \
    "^$PROXY_CONF:[0-9]+: timeouts.hello_ms: " "$(js .last_reload_message)"
check_match "the table says which file serves and which was refused" \
    "^  config +sha256 $H2; refused $H3\$" "$("$STATS" -c "$PROXY_CONF")"
serves "after the refused reload" b

echo "--- the file gone and SIGHUP: nothing was read"
mv "$PROXY_CONF" "$T/moved.conf"
reload 3
mv "$T/moved.conf" "$PROXY_CONF"
state "after the missing file" 2 "$H2" null false

echo "--- watch_config: an edit without a signal"
proxy_conf_write "$PROXY_CONF" 1 "$LISTEN" "$(route_to a "watch_config = true;")"
H4=$(sha_of "$PROXY_CONF")
reload 4
state "watch_config turned on" 3 "$H4" "$H4" true
proxy_conf_write "$PROXY_CONF" 1 "$LISTEN" "$(route_to b "watch_config = true;")"
H5=$(sha_of "$PROXY_CONF")
WAIT_S=5 wait_until reloads_at_least 5 || fail "watch_config: the edit was not reloaded"
state "after watch_config's reload" 4 "$H5" "$H5" true
serves "after watch_config's reload" b

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
