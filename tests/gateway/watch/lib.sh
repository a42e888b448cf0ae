# tests/gateway/watch/lib.sh -- helpers of the gateway_watch_* integration
# tests (sourced after tests/integration/lib.sh, not run; kept here, not in
# tests/integration/, where tests/run.sh would run it as a test): the test
# API server (tests/tools/kubeapi.py) on HTTPS with its own CA and a bearer
# token, a kubeconfig or a service-account directory for it, the cluster
# fixtures of this directory with their ports made real, TLS backends on
# loopback addresses, passthrough-gateway watch and the passthrough it feeds.
#
# The fixtures' placeholder ports (as in tests/gateway/fixtures): 18443 the
# Gateway's listener, 18444 another controller's listener, 18501 the
# backends' port; each becomes a free port (LISTEN_PORT, BACKEND_PORT).
# shellcheck disable=SC2034  # variables set here are read by the tests
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable

GATEWAY=$BUILD/passthrough-gateway
KUBEAPI=$ROOT/tests/tools/kubeapi.py
WATCH_FIXTURES=$ROOT/tests/gateway/watch
# Debian's python3 with python3-yaml: `python3` in PATH may be a pyenv shim.
PY3=/usr/bin/python3
KAPI=$T/kapi
FX=$T/fx
WATCH_LOG=$T/watch.log
WATCH_PID=
PT_CONF=$T/pt.conf
: >"$WATCH_LOG"

# On a failure: the controller's log, the API server's requests and log,
# then lib.sh's cleanup (which stops every process).
watch_cleanup() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		[ -s "$WATCH_LOG" ] && { echo "--- controller log (tail)"; tail -n 40 "$WATCH_LOG"; } >&2
		if [ -n "${KAPI_URL:-}" ]; then
			echo "--- API server requests (last 40: seq method path watch RV status end lastRV)"
			kapi_requests 0 2>/dev/null | jq -r '[.seq, .method, .path, .params.watch // "-",
			    .params.resourceVersion // "-", .status, .end // "-", .lastRV // "-"] | map(tostring) | join(" ")' |
			    tail -n 40
		fi >&2
		[ -s "$T/kapi.log" ] && { echo "--- API server log (tail)"; tail -n 20 "$T/kapi.log"; } >&2
	fi
	(exit "$rc")
	cleanup
}
trap watch_cleanup EXIT

[ -x "$GATEWAY" ] || die "$GATEWAY is missing: build it with make BUILD=$BUILD all"
command -v jq >/dev/null || die "jq is missing: run tools/deps.sh test"
"$PY3" -c 'import yaml' 2>/dev/null || die "$PY3 with PyYAML is missing: run tools/deps.sh test (python3-yaml)"

# watch_fixtures: the fixtures copied into $FX with free ports for the
# placeholders; sets LISTEN_PORT and BACKEND_PORT.
watch_fixtures() {
	LISTEN_PORT=$(free_port)
	BACKEND_PORT=$(free_port)
	mkdir -p "$FX" || die "mkdir $FX"
	cp "$WATCH_FIXTURES"/*.yaml "$FX/" || die "copying the fixtures"
	sed -i -e "s/\\b18443\\b/$LISTEN_PORT/g" -e "s/\\b18444\\b/$(free_port)/g" \
	    -e "s/\\b18501\\b/$BACKEND_PORT/g" "$FX"/*.yaml || die "substituting the ports"
}

# ---- the test API server ------------------------------------------------------------

# kapi_start [kubeapi.py options]: its CA and certificate (127.0.0.1), a
# random token in $KAPI/token (the server reads it at every request), the
# server on an ephemeral port; sets KAPI_PORT, KAPI_URL, KAPI_PID.
kapi_start() {
	mkdir -p "$KAPI" || die "mkdir $KAPI"
	if [ ! -s "$KAPI/server.crt" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		    -keyout "$KAPI/ca.key" -out "$KAPI/ca.crt" -days 2 -subj "/CN=kubeapi test CA" \
		    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		    2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$KAPI/ext" &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		    -keyout "$KAPI/server.key" -out "$KAPI/server.csr" -subj "/CN=kube-apiserver" 2>/dev/null &&
		openssl x509 -req -in "$KAPI/server.csr" -CA "$KAPI/ca.crt" -CAkey "$KAPI/ca.key" -days 2 \
		    -set_serial 0x1$$ -extfile "$KAPI/ext" -out "$KAPI/server.crt" 2>/dev/null ||
		    die "making the API server's certificate"
		od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$KAPI/token"
	fi
	rm -f "$KAPI/port"
	spawn "$PY3" "$KUBEAPI" --cert "$KAPI/server.crt" --key "$KAPI/server.key" \
	    --token-file "$KAPI/token" --port-file "$KAPI/port" --bookmark-seconds 1 "$@" 2>>"$T/kapi.log"
	KAPI_PID=$BG_PID
	WAIT_S=10 wait_until test -s "$KAPI/port" || { cat "$T/kapi.log"; die "the test API server did not start"; }
	KAPI_PORT=$(cat "$KAPI/port")
	KAPI_URL=https://127.0.0.1:$KAPI_PORT
}

# kapi METHOD WHAT [curl options]: a control request (/_test/WHAT); its JSON on stdout.
kapi() {
	local m=$1 what=$2
	shift 2
	curl -sS --fail-with-body --max-time 10 --cacert "$KAPI/ca.crt" -X "$m" "$@" "$KAPI_URL/_test/$what"
}

# kapi_apply FILE...: adds or replaces the objects of each file.
kapi_apply() {
	local f
	for f in "$@"; do
		kapi POST apply --data-binary "@$f" >/dev/null || die "applying $f"
	done
}

# kapi_delete KIND NAMESPACE NAME
kapi_delete() {
	kapi POST "delete?kind=$1&namespace=$2&name=$3" >/dev/null || die "deleting $1 $2/$3"
}

# kapi_requests [SINCE]: the API requests seen from SEQ on, one JSON object per line.
kapi_requests() {
	kapi GET "requests?since=${1:-0}" | jq -c '.items[]'
}

# kapi_request_count: how many API requests the server has seen.
kapi_request_count() {
	kapi GET requests | jq '.items | length'
}

# kapi_patches [SINCE]: the status patches recorded from SEQ on, one per line.
kapi_patches() {
	kapi GET "patches?since=${1:-0}" | jq -c '.items[]'
}

# kapi_status KIND NAMESPACE NAME: the object's status as stored now.
kapi_status() {
	kapi GET "object?kind=$1&namespace=$2&name=$3" | jq -c '.status // {}'
}

# gw_programmed: "STATUS REASON" of Gateway edge/gw's Programmed condition as stored now.
gw_programmed() {
	kapi_status Gateway edge gw | jq -r '[.conditions[]? | select(.type == "Programmed")]
	    | if length == 1 then "\(.[0].status) \(.[0].reason)" else "(\(length) Programmed conditions)" end'
}
gw_programmed_is() { [ "$(gw_programmed)" = "$1" ]; }

# gw_status_has ERE: Gateway edge/gw's status as stored now matches ERE.
gw_status_has() { kapi_status Gateway edge gw | grep -qE -- "$1"; }

# check_status_schemas WHAT KIND/NAMESPACE/NAME...: each object as the API
# server holds it now, the controller's status in it, validates against the
# Gateway API schemas (tests/k8s/validate.mjs, the pinned models; unknown
# fields refused): what a real API server's CRD validation would refuse
# of a status patch.
check_status_schemas() {
	local what=$1 o kind ns name files=() out rc
	shift
	command -v node >/dev/null || die "node is missing: run tools/deps.sh test"
	[ -d "$ROOT/tests/k8s/node_modules/@kubernetes-models/gateway-api" ] ||
	    die "tests/k8s/node_modules lacks @kubernetes-models/gateway-api: run tools/deps.sh test (npm ci --prefix tests/k8s)"
	mkdir -p "$T/schemas"
	for o in "$@"; do
		IFS=/ read -r kind ns name <<<"$o"
		kapi GET "object?kind=$kind&namespace=$ns&name=$name" >"$T/schemas/$kind-$name.json" ||
		    die "reading $kind $ns/$name"
		files+=("$T/schemas/$kind-$name.json")
	done
	out=$(node "$ROOT/tests/k8s/validate.mjs" "${files[@]}" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$(grep -c '^ok ' <<<"$out")" -eq $# ]; then
		pass "$what: the $# objects with their status validate against the schemas"
	else
		fail "$what: the objects with their status do not validate (exit $rc):"
		sed 's/^/         | /' <<<"$out" | head -n 20
	fi
}

# The kinds the controller lists and watches (their plurals).
WATCH_KINDS="gatewayclasses gateways tlsroutes referencegrants services endpointslices ingresses"

# kinds_watching SINCE: every kind has a watch request answered 200 after request SINCE.
kinds_watching() {
	local paths k
	paths=$(kapi_requests "$1" | jq -r 'select(.params.watch == "1" and .status == 200) | .path')
	for k in $WATCH_KINDS; do
		grep -q "/$k\$" <<<"$paths" || return 1
	done
}

# kubeconfig_write FILE: a kubeconfig for the server: its CA as
# certificate-authority-data, the token, a context that is current.
kubeconfig_write() {
	cat >"$1" <<-EOF
	apiVersion: v1
	kind: Config
	clusters:
	  - name: test
	    cluster:
	      server: $KAPI_URL
	      certificate-authority-data: $(base64 -w0 <"$KAPI/ca.crt")
	users:
	  - name: test
	    user:
	      token: $(cat "$KAPI/token")
	contexts:
	  - name: test
	    context:
	      cluster: test
	      user: test
	current-context: test
	EOF
}

# ---- backends, controller, proxy -------------------------------------------------------

# backends_start NAME=ADDRESS...: one nginx, a TLS server per NAME on
# ADDRESS:$BACKEND_PORT (certificate CN=backend-NAME, GET /whoami -> backend-NAME).
backends_start() {
	local pair pairs=()
	for pair in "$@"; do pairs+=("$pair:$BACKEND_PORT"); done
	nginx_start_at "${pairs[@]}"
}

# base_write [LINE...]: the --base configuration: one worker, debug logging,
# the suite's event engine, and each LINE (watch_config = true; ...).
base_write() {
	printf 'workers = 1;\nlog = { level = "debug"; };\n' >"$T/base.conf"
	printf '%s\n' "$@" >>"$T/base.conf"
	pt_conf_events "$T/base.conf"
}

# watch_start [options]: passthrough-gateway watch writing $PT_CONF from
# $T/base.conf for this passthrough, routes on 127.0.0.1, its log into
# $WATCH_LOG; the API server from $T/kubeconfig unless the options say
# otherwise (WATCH_ENV: variables to run it with). Sets WATCH_PID.
watch_start() {
	# shellcheck disable=SC2086  # WATCH_ENV: words, each NAME=VALUE
	spawn env ${WATCH_ENV:-} "$GATEWAY" watch --config "$PT_CONF" --base "$T/base.conf" \
	    --passthrough "$PT" --listen-address 127.0.0.1 "$@" 2>>"$WATCH_LOG"
	WATCH_PID=$BG_PID
}

# watch_stop WHAT: SIGTERM; the controller exits 0 within 5 s and its log
# has no sanitizer report.
watch_stop() {
	local rc
	kill -TERM "$WATCH_PID" 2>/dev/null
	exit_wait "$WATCH_PID" 5
	rc=$EXIT_RC
	[ "$rc" = still-running ] && stop_pid "$WATCH_PID"
	check_eq "$1: watch exits 0 on SIGTERM" 0 "$rc"
	check_no_match "$1: no sanitizer report in the controller's log" \
	    'ERROR: [A-Za-z]+Sanitizer|runtime error:|LeakSanitizer' "$(cat "$WATCH_LOG")"
}

# pt_start: passthrough in the foreground on $PT_CONF (as the controller
# wrote it: no rewriting, its hash is what the controller compares) once
# the file exists; returns when its worker started and it listens on LISTEN_PORT.
pt_start() {
	WAIT_S=15 wait_until test -s "$PT_CONF" || { tail -n 20 "$WATCH_LOG"; die "the controller wrote no $PT_CONF"; }
	PROXY_CONF=$PT_CONF
	PROXY_WORKERS=1
	PROXY_PORT=$LISTEN_PORT
	: >"$PROXY_LOG"
	spawn "$PT" -f -c "$PT_CONF" 2>>"$PROXY_LOG"
	PROXY_PID=$BG_PID
	WAIT_S=10 wait_until proxy_ready
	if ! pid_alive "$PROXY_PID" || ! port_listening "$PROXY_PORT"; then
		cat "$PROXY_LOG" "$PT_CONF"
		die "passthrough did not start on the controller's $PT_CONF"
	fi
}

# ---- clients ------------------------------------------------------------------------------

# sni_reaches SNI: one TLS connection with that SNI through passthrough
# (curl, the name resolved to 127.0.0.1, the certificate verified): prints
# the backend that answered (backend-NAME) or curl's error.
sni_reaches() {
	local out
	out=$(curl -sS --max-time 2 --cacert "$CA" --resolve "$1:$LISTEN_PORT:127.0.0.1" \
	    -H 'Connection: close' "https://$1:$LISTEN_PORT/whoami" 2>&1)
	printf '%s\n' "${out:-(nothing)}" | head -n 1
}

# sni_is SNI WANT: the connection's outcome matches WANT (an ERE).
sni_is() {
	grep -qE -- "$2" <<<"$(sni_reaches "$1")"
}

# check_within WHAT MS SNI WANT T0: polls until a connection with SNI
# matches WANT (an ERE), and checks it did within MS of T0 (now_ms); gives
# up MS + 5 s after T0.
check_within() {
	local what=$1 ms=$2 sni=$3 want=$4 t0=$5 got t1
	while :; do
		got=$(sni_reaches "$sni")
		t1=$(now_ms)
		grep -qE -- "$want" <<<"$got" && break
		[ $((t1 - t0)) -gt $((ms + 5000)) ] && break
		sleep 0.02
	done
	if grep -qE -- "$want" <<<"$got"; then
		check_range "$what: ms until $sni gives /$want/" 0 "$ms" $((t1 - t0))
	else
		fail "$what: $sni still gives '$got', not /$want/, $((t1 - t0)) ms after"
	fi
}
