#!/bin/bash
# Guards passthrough-gateway watch through a compaction, with lists answered one item a page: when the API server expires every resourceVersion before now (the open watches get an ERROR event with a Status 410 Expired, as the real server's watch cache sends), the controller lists each kind again (the server's request log: a list after the expiry for every kind it watches) and watches from the new lists' resourceVersion, and a TLSRoute change made after the expiry still routes; streams dropped, a change made while they are down and compacted away: the controller relists and routes the change.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/gateway/watch/lib.sh"

watch_fixtures
backends_start a=127.0.0.2 b=127.0.0.3
# One item a page: every list of the two Services is two pages (app-b, the
# backend of the change below, on the second), the continue token followed.
kapi_start --max-page 1
kapi_apply "$FX/cluster.yaml" "$FX/route-a.yaml"
kubeconfig_write "$T/kubeconfig"
base_write 'watch_config = true;'
watch_start --kubeconfig "$T/kubeconfig" --debounce 50
pt_start
WAIT_S=10 wait_until sni_is app.example.com '^backend-a$' || fail "before the expiry: app.example.com does not reach backend-a: $(sni_reaches app.example.com)"

WAIT_S=10 wait_until kinds_watching 0 || fail "the controller does not watch every kind: $(kapi_requests 0 | jq -r .path | sort -u | tr '\n' ' ')"

# check_relisted WHAT SINCE COMPACTED: after request SINCE, each kind was
# listed (GET without watch) and then watched from a resourceVersion at
# or after COMPACTED (not the expired ones).
check_relisted() {
	local what=$1 since=$2 compacted=$3 reqs k lists rv
	reqs=$(kapi_requests "$since")
	for k in $WATCH_KINDS; do
		lists=$(jq -c --arg k "$k" 'select((.params.watch // "") == "" and .method == "GET"
		    and (.path | endswith("/" + $k)))' <<<"$reqs" | wc -l)
		check_range "$what: $k listed again" 1 3 "$lists"
		rv=$(jq -r --arg k "$k" 'select(.params.watch == "1" and (.path | endswith("/" + $k))
		    and .status == 200 and (.end // "") != "expired") | .params.resourceVersion' <<<"$reqs" | head -n 1)
		check_range "$what: $k watched again from a resourceVersion not expired" "$compacted" 1000000000 "${rv:-none}"
	done
}

seq0=$(kapi_request_count)
compacted=$(kapi POST expire | jq -r .compacted)
echo "     expired every resourceVersion before $compacted"
t0=$(now_ms)
kapi_apply "$FX/route-b.yaml"
check_within "a change after the expiry" 2000 app.example.com '^backend-b$' "$t0"
WAIT_S=5 wait_until kinds_watching "$seq0"
check_relisted "after the 410 event on open watches" "$seq0" "$compacted"
check_range "Services relisted in pages (requests with a continue token)" 1 3 \
    "$(kapi_requests "$seq0" | jq -c 'select(.path == "/api/v1/services" and (.params.continue // "") != "")' | wc -l)"
expired=$(kapi_requests 0 | jq -r --argjson s "$seq0" 'select(.seq < $s and .end == "expired") | .path' | sort -u | wc -l)
check_eq "every kind's open watch ended with the 410 event" 7 "$expired"

# Streams cut, a change while they are down, then the compaction: the
# events the controller missed are gone; its reconnects ask for expired
# resourceVersions (410 as the new stream's first event; or, a reconnect
# made before the compaction, as an open watch's), and only a list gets
# the change.
seq1=$(kapi_request_count)
kapi POST drop >/dev/null
t0=$(now_ms)
kapi_apply "$FX/route-a.yaml"
compacted=$(kapi POST expire | jq -r .compacted)
check_within "a change made while the streams were down, then compacted" 3000 app.example.com '^backend-a$' "$t0"
WAIT_S=5 wait_until kinds_watching "$seq1"
echo "     watches asking for an expired resourceVersion after the drop: $(kapi_requests "$seq1" |
    jq -c --argjson c "$compacted" 'select(.params.watch == "1" and (.params.resourceVersion | tonumber) < $c) | .path' | wc -l)"
check_relisted "after a drop and an expiry" "$seq1" "$compacted"

watch_stop "controller"
PROXY_WORKERS=$(grep -c 'info: started:' "$PROXY_LOG")
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
