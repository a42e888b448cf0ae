#!/bin/bash
# Guards the Grafana dashboard (etc/grafana/passthrough.json) and the Prometheus rules (etc/prometheus/passthrough.rules.yml): they parse (JSON; YAML with a real parser), have the structure Grafana and Prometheus load, and every metric, label and label value their PromQL names is in a live passthrough-stats --prometheus of a passthrough carrying real TLS (three routes: two checked nginx backends, a checked backend that refuses, a sink and a refusing port); they cover what an operator watches; the checker (tests/tools/promnames.py) fails on a misspelt metric or label.
# shellcheck disable=SC2016  # sed scripts and expected messages carry a literal $
. "$(dirname "$0")/lib.sh"

STATS=$BUILD/passthrough-stats
[ -x "$STATS" ] || die "$STATS is missing: build it with make BUILD=$BUILD all"
python3 -c 'import yaml' 2>/dev/null || die "python3-yaml is missing: tools/deps.sh test installs it"
DASH=$ROOT/etc/grafana/passthrough.json
RULES=$ROOT/etc/prometheus/passthrough.rules.yml
CHECK=(python3 "$ROOT/tests/tools/promnames.py")

# A workload that gives every family the dashboard and the rules use a
# sample, so their labels can be checked: real TLS through app.example.com
# (two nginx backends, actively checked), *.example.org to a sink and to a
# port that refuses (connect failures, passive health), and a checked route
# whose only backend refuses (the checks take it down: check_up 0 and a
# check_changed_seconds sample).
nginx_start app1 app2
sink_start b
DEAD=$(free_port)
DEAD2=$(free_port)
proxy_start -w 2 "routes = (
  { sni = \"app.example.com\"; check = { interval_ms = 100; timeout_ms = 100; rise = 1; fall = 1; };
    backends = [ \"127.0.0.1:${NGINX_PORT[app1]}\", \"127.0.0.1:${NGINX_PORT[app2]}\" ]; },
  { sni = \"down.example.com\"; check = { interval_ms = 100; timeout_ms = 100; rise = 1; fall = 1; };
    backends = [ \"127.0.0.1:$DEAD2\" ]; },
  { sni = \"*.example.org\"; backends = [ \"127.0.0.1:${SINK_PORT[b]}\", \"127.0.0.1:$DEAD\" ]; }
);"
for i in 1 2 3 4; do
	check_match "TLS GET $i through app.example.com" '^backend-app[12]$' \
	    "$(curl_get app.example.com "$PROXY_PORT" whoami)"
done
for i in 1 2 3 4; do
	"$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello "h$i.example.org" --shutdown --read \
	    --timeout-ms 5000 >/dev/null 2>>"$T/clients.err"
done
WAIT_S=5 wait_until grep -q "backend 127.0.0.1:$DEAD2 is down" "$PROXY_LOG" ||
    fail "the checks did not take 127.0.0.1:$DEAD2 down"
"$STATS" -c "$PROXY_CONF" --prometheus >"$T/metrics.txt" || fail "passthrough-stats --prometheus failed"
proxy_stop
check_match "the exposition has checked backends' samples" \
    "passthrough_backend_check_changed_seconds\{backend=\"127.0.0.1:$DEAD2\"\}" "$(cat "$T/metrics.txt")"

echo "--- the dashboard and the rules against the live exposition"
out=$("${CHECK[@]}" --list "$T/metrics.txt" "$DASH" "$RULES" 2>&1)
rc=$?
echo "$out" | head -n 1
check_eq "every metric and label they name is live (promnames.py exit status)" 0 "$rc"
# The problems (lines "FILE: ..."; the list is "FILE METRIC"), where run.sh shows failures.
[ "$rc" = 0 ] || grep ': ' <<<"$out" | head -n 20 | sed 's/^/FAIL   /'

# uses WHAT FILE METRIC: FILE's expressions name METRIC.
uses() {
	if grep -qxF "$2 $3" <<<"$out"; then pass "$1 $3"; else fail "$1 $3: not named"; fi
}
for m in passthrough_connections_accepted_total passthrough_connections_active \
    passthrough_bytes_total passthrough_connections_closed_total \
    passthrough_connect_duration_seconds_bucket passthrough_hello_size_bytes_bucket \
    passthrough_reloads_total passthrough_generation passthrough_workers_running \
    passthrough_workers_configured passthrough_route_connections_total passthrough_route_active \
    passthrough_route_bytes_total passthrough_backend_connections_total \
    passthrough_backend_connect_failures_total passthrough_backend_check_up; do
	uses "the dashboard shows" "$DASH" "$m"
done
for m in up passthrough_workers_configured passthrough_last_reload_success \
    passthrough_route_connect_failures_total passthrough_backend_connect_failures_total \
    passthrough_connections_closed_total passthrough_backend_check_up; do
	uses "the rules alert on" "$RULES" "$m"
done
check_match "the rules alert on limit_reached closes" 'reason="limit_reached"' "$(cat "$RULES")"

echo "--- the checker fails on what does not exist"
# broken NAME FILE SED EXPECTED: a copy of FILE changed by SED (it must
# change), which the check below must refuse with a line matching EXPECTED.
# One run of the checker takes every copy (python starts once, not ten times).
COPIES=() EXPECTED=()
broken() {
	local copy=$T/$1.${2##*.}
	sed -E "$3" "$2" >"$copy"
	if cmp -s "$2" "$copy"; then
		fail "$1: the edit changed nothing (the files changed: fix the test)"
		return
	fi
	COPIES+=("$copy")
	EXPECTED+=("$4")
}
broken misspelt_metric "$DASH" 's/passthrough_route_active\{/passthrough_route_actives{/' \
    'metric passthrough_route_actives is not in the exposition'
broken misspelt_matcher_label "$RULES" 's/reason="limit_reached"/raeson="limit_reached"/' \
    'label raeson \(matcher\) is on none of passthrough_connections_closed_total'
broken misspelt_label_value "$RULES" 's/reason="route_full"/reason="route_ful"/' \
    'reason="route_ful" is a value of none of passthrough_connections_closed_total'
broken misspelt_value_in_a_regex "$DASH" 's/hello_eof\|/hello_oef|/' 'reason="hello_oef" is a value of none'
broken unknown_by_label "$DASH" 's/sum by \(route\) \(passthrough_route_active/sum by (rute) (passthrough_route_active/' \
    'label rute \(by/without\) is on none of passthrough_route_active'
broken unknown_on_label "$RULES" '0,/on \(job, instance, backend\)/s//on (job, instance, backnd)/' \
    'label backnd \(on/ignoring/group\)'
broken unknown_variable_label "$DASH" 's/(passthrough_route_info\{[^}]*\}), route\)/\1, routes)/' \
    'variable route: label routes \(label_values\(\)\)'
broken unknown_annotation_label "$RULES" 's/\$labels\.worker/$labels.wrker/' \
    'label wrker \(\$labels in an annotation\)'
broken panel_without_datasource "$DASH" '/"type": "stat"/,/"datasource": \{/s/"datasource": \{/"datasourc": {/' \
    'no datasource'
broken overlapping_panels "$DASH" '0,/"x": 4,/s//"x": 2,/' "panel 'Open connections' covers"
broken alert_without_severity "$RULES" '0,/severity: critical/s//severity: page/' 'labels.severity is none of'
broken json_that_does_not_parse "$DASH" '$s/\}/,/' 'does not parse'
broken yaml_that_does_not_parse "$RULES" '0,/groups:/s//groups: [/' 'does not parse'
out=$("${CHECK[@]}" "$T/metrics.txt" "${COPIES[@]}" 2>&1)
check_eq "the check of the broken copies fails" 1 "$?"
for i in "${!COPIES[@]}"; do
	check_match "$(basename "${COPIES[$i]}"): refused, saying so" \
	    "^${COPIES[$i]}: .*${EXPECTED[$i]}" "$out"
done
finish
