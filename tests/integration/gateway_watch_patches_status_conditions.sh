#!/bin/bash
# Guards the status passthrough-gateway watch sets, through merge patches of /status (what the test API server recorded and the objects as stored): GatewayClass Accepted; Gateway Accepted, Programmed True only once passthrough serves the written file (not before it runs), its listener's attachedRoutes and conditions; each TLSRoute's parent entry Accepted and ResolvedRefs (False BackendNotFound for a Service that does not exist), with observedGeneration; another controller's status.parents entry kept as it was; nothing for another controller's GatewayClass and Gateway; the patches settle (none while nothing changes, none for an object whose status a new render leaves as it is, whose conditions keep their lastTransitionTime); with passthrough stopped, a new write leaves the Gateway Programmed False Pending after --programmed-timeout; the objects with the status set validate against the Gateway API schemas.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/gateway/watch/lib.sh"

TIMEOUT_S=2
watch_fixtures
backends_start a=127.0.0.2 b=127.0.0.3
kapi_start
kapi_apply "$FX/cluster.yaml" "$FX/route-a.yaml" "$FX/route-other.yaml" "$FX/route-missing.yaml"
kubeconfig_write "$T/kubeconfig"
base_write 'watch_config = true;'
watch_start --kubeconfig "$T/kubeconfig" --debounce 50 --programmed-timeout "$TIMEOUT_S"

# cond STATUS_JSON TYPE: "STATUS REASON" of the condition TYPE in .conditions.
cond() {
	jq -r --arg t "$2" '[(.conditions // [])[] | select(.type == $t)] | if length == 1 then "\(.[0].status) \(.[0].reason)" else "(\(length) conditions \($t))" end' <<<"$1"
}

# Before passthrough runs: the file is written, the Gateway is not Programmed True.
WAIT_S=10 wait_until test -s "$PT_CONF" || die "the controller wrote no $PT_CONF: $(tail -n 5 "$WATCH_LOG")"
sleep 0.5
check_no_match "before passthrough runs: Gateway gw not Programmed True" '^True' "$(gw_programmed)"
pt_start
WAIT_S=$TIMEOUT_S wait_until gw_programmed_is "True Programmed"
check_eq "once passthrough serves the file: Gateway gw Programmed" "True Programmed" "$(gw_programmed)"

# Everything the controller sets, as the objects hold it now (the Gateway's
# patch comes last: the others follow the render at once).
sleep 0.3
gc=$(kapi_status GatewayClass "" passthrough)
check_eq "GatewayClass passthrough Accepted" "True Accepted" "$(cond "$gc" Accepted)"
check_eq "... observedGeneration" 1 "$(jq -r '.conditions[0].observedGeneration' <<<"$gc")"
gw=$(kapi_status Gateway edge gw)
check_eq "Gateway gw Accepted" "True Accepted" "$(cond "$gw" Accepted)"
check_eq "... observedGeneration (the fixture's generation 2)" 2 \
    "$(jq -r '[.conditions[].observedGeneration] | unique | join(",")' <<<"$gw")"
l=$(jq -c '[.listeners[]? | select(.name == "tls")] | .[0] // {}' <<<"$gw")
check_eq "listener tls attachedRoutes (app, shared, missing)" 3 "$(jq -r .attachedRoutes <<<"$l")"
check_eq "listener tls Accepted" "True Accepted" "$(cond "$l" Accepted)"
check_eq "listener tls Programmed" "True Programmed" "$(cond "$l" Programmed)"
check_match "listener tls supportedKinds has TLSRoute" '^TLSRoute$' "$(jq -r '.supportedKinds[]?.kind' <<<"$l")"

# parent ROUTE GATEWAY: the route's status.parents entry for that Gateway.
parent() {
	kapi_status TLSRoute edge "$1" | jq -c --arg g "$2" '[.parents[]? | select(.parentRef.name == $g)] | if length == 1 then .[0] else {count: length} end'
}
p=$(parent app gw)
check_eq "TLSRoute app: parent gw is ours" passthrough.dev/gateway-controller "$(jq -r .controllerName <<<"$p")"
check_eq "TLSRoute app: Accepted" "True Accepted" "$(cond "$p" Accepted)"
check_eq "TLSRoute app: ResolvedRefs" "True ResolvedRefs" "$(cond "$p" ResolvedRefs)"
check_eq "TLSRoute app: observedGeneration" 1 "$(jq -r '[.conditions[]?.observedGeneration] | unique | join(",")' <<<"$p")"
p=$(parent missing gw)
check_eq "TLSRoute missing: Accepted" "True Accepted" "$(cond "$p" Accepted)"
check_eq "TLSRoute missing: ResolvedRefs" "False BackendNotFound" "$(cond "$p" ResolvedRefs)"
check_match "TLSRoute missing: its connections fail" 'internal error' "$(sni_reaches missing.example.com)"
p=$(parent shared gw)
check_eq "TLSRoute shared: Accepted on our Gateway" "True Accepted" "$(cond "$p" Accepted)"
p=$(parent shared theirs)
check_eq "TLSRoute shared: the other controller's entry kept, as it was" \
    'example.net/other-controller|True Accepted|set by the other controller|2026-01-01T00:00:00Z' \
    "$(jq -r '"\(.controllerName)|\(.conditions[0].status) \(.conditions[0].reason)|\(.conditions[0].message)|\(.conditions[0].lastTransitionTime)"' <<<"$p")"
check_eq "TLSRoute shared: two parents in all" 2 "$(kapi_status TLSRoute edge shared | jq '.parents | length')"

OURS="GatewayClass//passthrough Gateway/edge/gw TLSRoute/edge/app TLSRoute/edge/missing TLSRoute/edge/shared"
# shellcheck disable=SC2086  # OURS: words
check_status_schemas "Programmed" $OURS

patches=$(kapi_patches 0)
check_eq "no patch of another controller's GatewayClass or Gateway" 0 \
    "$(jq -c 'select(.name == "other" or .name == "theirs")' <<<"$patches" | wc -l)"
check_eq "every patch is a merge patch of /status" 0 \
    "$(jq -c 'select(.contentType != "application/merge-patch+json" or (.path | endswith("/status") | not))' <<<"$patches" | wc -l)"
n=$(wc -l <<<"$patches")
check_range "patches for 5 objects (GatewayClass, Gateway, 3 TLSRoutes; the Gateway again once Programmed)" 5 10 "$n"

# No storm: the patches come back as MODIFIED events and bookmarks keep
# coming; nothing is patched again while nothing changes.
sleep 2
check_eq "patches 2 s later: the count settled" "$n" "$(kapi_patches 0 | wc -l)"

# A change that touches one route only: a new render and write, no patch
# of the objects whose status stays; their conditions keep their times.
gc_time=$(jq -r '.conditions[0].lastTransitionTime' <<<"$gc")
gw_time=$(jq -r '[.conditions[] | select(.type == "Accepted")][0].lastTransitionTime' <<<"$gw")
seq=$n
sed -e 's/hostnames:/hostnames:\n    - other.example.com/' "$FX/route-b.yaml" >"$T/route-b2.yaml"
kapi_apply "$T/route-b2.yaml"
WAIT_S=5 wait_until sni_is other.example.com '^backend-b$' || fail "the changed route does not serve other.example.com"
sleep 1
since=$(kapi_patches "$seq")
check_eq "after the change: no patch of the GatewayClass" 0 "$(jq -c 'select(.kind == "GatewayClass")' <<<"$since" | wc -l)"
check_eq "... nor of TLSRoute missing" 0 "$(jq -c 'select(.name == "missing")' <<<"$since" | wc -l)"
check_eq "... GatewayClass Accepted keeps its lastTransitionTime" "$gc_time" \
    "$(kapi_status GatewayClass "" passthrough | jq -r '.conditions[0].lastTransitionTime')"
check_eq "... Gateway Accepted keeps its lastTransitionTime" "$gw_time" \
    "$(kapi_status Gateway edge gw | jq -r '[.conditions[] | select(.type == "Accepted")][0].lastTransitionTime')"
check_eq "TLSRoute app (generation 2 now): observedGeneration" 2 \
    "$(parent app gw | jq -r '[.conditions[]?.observedGeneration] | unique | join(",")')"

# passthrough gone: the next write is served by nobody.
PROXY_WORKERS=$(grep -c 'info: started:' "$PROXY_LOG")
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
t0=$(now_ms)
kapi_apply "$FX/route-a.yaml"
WAIT_S=$((TIMEOUT_S + 5)) wait_until gw_programmed_is "False Pending"
check_eq "no passthrough to serve the new file: Gateway gw Programmed" "False Pending" "$(gw_programmed)"
check_range "... after --programmed-timeout $TIMEOUT_S s (ms since the change)" $((TIMEOUT_S * 1000)) $((TIMEOUT_S * 1000 + 3000)) $(($(now_ms) - t0))

# shellcheck disable=SC2086  # OURS: words
check_status_schemas "Pending" $OURS

watch_stop "controller"
finish
