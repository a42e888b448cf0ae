#!/bin/bash
# Guards the PROXY header of active checks: a checked backend of a send_proxy = "v2" route gets a v2 LOCAL header on each check, one of a "v1" route the line "PROXY UNKNOWN", and with check.send_proxy = false a check sends nothing; each backend (ptppcheck, which requires a header) parses what the checks sent, and the checks pass.
. "$(dirname "$0")/lib.sh"

ppcheck_start v2
ppcheck_start v1
ppcheck_start off
NAME=pt-checks-pp-$$
proxy_start "
stats = { name = \"$NAME\"; };
routes = (
  { sni = \"v2.example.com\"; send_proxy = \"v2\"; check = { interval_ms = 200; timeout_ms = 100; };
    backends = [ \"127.0.0.1:${SINK_PORT[v2]}\" ]; },
  { sni = \"v1.example.com\"; send_proxy = \"v1\";
    backends = ( { address = \"127.0.0.1:${SINK_PORT[v1]}\"; check = { interval_ms = 200; timeout_ms = 100; }; } ); },
  { sni = \"off.example.com\"; send_proxy = \"v2\";
    check = { interval_ms = 200; timeout_ms = 100; send_proxy = false; };
    backends = [ \"127.0.0.1:${SINK_PORT[off]}\" ]; }
);"
for tag in v2 v1 off; do
	sink_wait "$tag" accept 3 || fail "ptppcheck $tag: no 3 checks"
done
bk() {	# ADDR FIELD
	"$BUILD/passthrough-stats" -n "$NAME" -j | jq -r --arg a "$1" ".backends[] | select(.backend == \$a) | .$2"
}
for tag in v2 v1 off; do
	check_eq "passthrough-stats: the $tag backend is up" up "$(bk "127.0.0.1:${SINK_PORT[$tag]}" state)"
	check_eq "... no check of it failed" 0 "$(bk "127.0.0.1:${SINK_PORT[$tag]}" checks_failed)"
done
proxy_stop
sleep 0.3	# the last check's connection logged
check_eq "v2 route: every check sent a v2 LOCAL header" "$(sink_count v2 accept)" \
    "$(grep -cE '^v2 proxy version=2 command=local ' "$SINK_LOG")"
check_eq "v2 route: no check refused" 0 "$(sink_count v2 proxy-refused)"
check_eq "v1 route: every check sent PROXY UNKNOWN" "$(sink_count v1 accept)" \
    "$(grep -cE '^v1 proxy version=1 command=unknown ' "$SINK_LOG")"
check_eq "v1 route: no check refused" 0 "$(sink_count v1 proxy-refused)"
check_eq "send_proxy = false: no check sent a header" 0 "$(sink_count off proxy)"
check_eq "... each closed without a byte" "$(sink_count off accept)" \
    "$(grep -cE '^off proxy-refused verdict=eof' "$SINK_LOG")"
finish
