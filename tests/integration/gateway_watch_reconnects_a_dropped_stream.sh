#!/bin/bash
# Guards passthrough-gateway watch through dropped streams, in cluster: run as in a pod (KUBERNETES_SERVICE_HOST/_PORT, --serviceaccount-dir with token and ca.crt), against an API server that serves TLSRoute only at v1alpha2 (a v1 request gets 404: the controller falls back), with --reload signal (passthrough -s reload, no watch_config). When the API server closes every watch stream abruptly (no last chunk), the controller watches each kind again from the last resourceVersion the dropped stream sent (its last event or bookmark), without listing again; after the service account's token rotates (the file rewritten), the next drop's reconnects carry the new token (no 401); a TLSRoute change after each drop routes.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/gateway/watch/lib.sh"

watch_fixtures
backends_start a=127.0.0.2 b=127.0.0.3
kapi_start --not-served tlsroutes/v1
kapi_apply "$FX/cluster.yaml" "$FX/route-a.yaml"
SA=$T/serviceaccount
mkdir -p "$SA" && cp "$KAPI/token" "$KAPI/ca.crt" "$SA/" && echo edge >"$SA/namespace" || die "the service account directory"
base_write "pid_file = \"$T/pt.pid\";"
WATCH_ENV="KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$KAPI_PORT" \
    watch_start --serviceaccount-dir "$SA" --reload signal --debounce 50
pt_start
WAIT_S=10 wait_until sni_is app.example.com '^backend-a$' ||
    fail "in cluster: app.example.com does not reach backend-a: $(sni_reaches app.example.com)"

WAIT_S=10 wait_until kinds_watching 0 ||
    fail "the controller does not watch every kind: $(kapi_requests 0 | jq -r .path | sort -u | tr '\n' ' ')"
reqs=$(kapi_requests 0)
check_match "TLSRoute v1 asked first, answered 404" '^404$' \
    "$(jq -r 'select(.path == "/apis/gateway.networking.k8s.io/v1/tlsroutes") | .status' <<<"$reqs")"
check_match "TLSRoute watched at v1alpha2" '^200$' \
    "$(jq -r 'select(.path == "/apis/gateway.networking.k8s.io/v1alpha2/tlsroutes" and .params.watch == "1") | .status' <<<"$reqs")"

# check_resumed WHAT SINCE: each kind's stream that was dropped (opened
# before request SINCE) and the first watch after SINCE: it asks for the
# dropped stream's last resourceVersion, and the kind is not listed again.
check_resumed() {
	local what=$1 since=$2 reqs k last next lists
	reqs=$(kapi_requests 0)
	for k in $WATCH_KINDS; do
		last=$(jq -r --arg k "$k" --argjson s "$since" 'select(.seq < $s and .end == "dropped"
		    and (.path | endswith("/" + $k))) | .lastRV' <<<"$reqs" | tail -n 1)
		next=$(jq -r --arg k "$k" --argjson s "$since" 'select(.seq >= $s and .params.watch == "1"
		    and (.path | endswith("/" + $k))) | .params.resourceVersion' <<<"$reqs" | head -n 1)
		lists=$(jq -c --arg k "$k" --argjson s "$since" 'select(.seq >= $s and (.params.watch // "") == ""
		    and .method == "GET" and (.path | endswith("/" + $k)))' <<<"$reqs" | wc -l)
		if [ -z "$last" ]; then
			fail "$what: $k: no stream of it was dropped"
			continue
		fi
		check_eq "$what: $k watched again from the dropped stream's last resourceVersion" "$last" "$next"
		check_eq "$what: $k not listed again" 0 "$lists"
	done
}

# A bookmark (every second) moves each stream's resourceVersion first.
sleep 1.2
seq1=$(kapi_request_count)
dropped=$(kapi POST drop | jq -r .dropped)
check_range "streams dropped" 7 7 "$dropped"
WAIT_S=10 wait_until kinds_watching "$seq1" || fail "after the drop: not every kind is watched again"
check_resumed "after a drop" "$seq1"
reloads0=$(proxy_reloads)
t0=$(now_ms)
kapi_apply "$FX/route-b.yaml"
check_within "a change after the drop (--reload signal)" 1500 app.example.com '^backend-b$' "$t0"
check_range "passthrough reloaded by the controller's -s reload" $((reloads0 + 1)) $((reloads0 + 1)) "$(proxy_reloads)"

# The token rotates (as the kubelet does with a bound token: the file
# replaced); the API server accepts only the new one from now on.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$T/token.new"
cp "$T/token.new" "$SA/token.tmp" && mv -f "$SA/token.tmp" "$SA/token" &&
    cp "$T/token.new" "$KAPI/token.tmp" && mv -f "$KAPI/token.tmp" "$KAPI/token" || die "rotating the token"
seq2=$(kapi_request_count)
kapi POST drop >/dev/null
WAIT_S=10 wait_until kinds_watching "$seq2" || fail "after the rotation: not every kind is watched again"
check_eq "after the rotation: requests refused 401" 0 \
    "$(kapi_requests "$seq2" | jq -c 'select(.status == 401)' | wc -l)"
check_resumed "after a drop with a new token" "$seq2"
t0=$(now_ms)
kapi_apply "$FX/route-a.yaml"
check_within "a change after the rotation" 1500 app.example.com '^backend-a$' "$t0"

watch_stop "controller"
PROXY_WORKERS=$(grep -c 'info: started:' "$PROXY_LOG")
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
