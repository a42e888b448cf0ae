#!/bin/bash
# Guards passthrough-gateway watch following TLSRoutes as they change: against the test API server (tests/tools/kubeapi.py, HTTPS, its CA from a kubeconfig's certificate-authority-data, a bearer token; every watch event split across two chunks), with a real passthrough serving the file the controller writes (watch_config = true), a TLSRoute added sends its name to its backend within 1 s of the apply, a changed backendRef to the other backend (an EndpointSlice's address) within 1 s, and once deleted the name gets unrecognized_name within 1 s; a passthrough Ingress (ssl-passthrough annotation) on the same port likewise; objects applied again unchanged rewrite nothing (no reload); every log line has the controller's prefix; SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/gateway/watch/lib.sh"

watch_fixtures
backends_start a=127.0.0.2 b=127.0.0.3
kapi_start --split-events
kapi_apply "$FX/cluster.yaml"
kubeconfig_write "$T/kubeconfig"
base_write 'watch_config = true;'
watch_start --kubeconfig "$T/kubeconfig" --debounce 50 --ingress-port "$LISTEN_PORT"
pt_start
echo "     API server $KAPI_URL, listener 127.0.0.1:$LISTEN_PORT, backends a=127.0.0.2 b=127.0.0.3 on $BACKEND_PORT"

check_match "no TLSRoute yet: app.example.com gets unrecognized_name" 'unrecognized name' "$(sni_reaches app.example.com)"
reloads0=$(proxy_reloads)

t0=$(now_ms)
kapi_apply "$FX/route-a.yaml"
check_within "TLSRoute added" 1000 app.example.com '^backend-a$' "$t0"

t0=$(now_ms)
kapi_apply "$FX/route-b.yaml"
check_within "backendRef changed to app-b (EndpointSlice 127.0.0.3)" 1000 app.example.com '^backend-b$' "$t0"

t0=$(now_ms)
kapi_delete TLSRoute edge app
check_within "TLSRoute deleted" 1000 app.example.com 'unrecognized name' "$t0"

# A passthrough Ingress on the same port, and gone again.
t0=$(now_ms)
kapi_apply "$FX/ingress.yaml"
check_within "passthrough Ingress added (Service port by name)" 1000 legacy.example.com '^backend-b$' "$t0"
t0=$(now_ms)
kapi_delete Ingress edge legacy
check_within "passthrough Ingress deleted" 1000 legacy.example.com 'unrecognized name' "$t0"

# Each change was one render, one write, one reload.
reloads_reach() { [ "$(proxy_reloads)" -ge "$1" ]; }
WAIT_S=3 wait_until reloads_reach $((reloads0 + 5))
check_eq "reloads for the five changes" $((reloads0 + 5)) "$(proxy_reloads)"

# The same objects again: MODIFIED events, the same render: the file stays
# (same inode: no rename) and passthrough does not reload.
inode=$(stat -c %i "$PT_CONF")
kapi_apply "$FX/cluster.yaml"
sleep 1.5
check_eq "objects applied again unchanged: the file is not rewritten (inode)" "$inode" "$(stat -c %i "$PT_CONF")"
check_eq "... and passthrough did not reload" $((reloads0 + 5)) "$(proxy_reloads)"
check_match "the controller logged events" '^passthrough-gateway: ' "$(cat "$WATCH_LOG")"
check_no_match "every line of the controller's log has its prefix" '.' "$(grep -v '^passthrough-gateway: ' "$WATCH_LOG")"

watch_stop "controller"
PROXY_WORKERS=$(grep -c 'info: started:' "$PROXY_LOG")
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
