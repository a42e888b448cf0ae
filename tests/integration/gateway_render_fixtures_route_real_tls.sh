#!/bin/bash
# Guards passthrough-gateway render against the fixtures of tests/gateway/fixtures (written from the Gateway API spec): each case renders to a configuration passthrough -t accepts, the same whatever the order of the files, which one passthrough (started on the first case, reloaded with SIGHUP for each next) serves so that real TLS clients reach the backend each expectation names (nginx on the loopback addresses the fixtures name; weighted shares counted, unresolvable shares answered with internal_error, unattached names with unrecognized_name, ports of unserved listeners closed), and whose --status JSON has the conditions (type, status, reason, observedGeneration, lastTransitionTime), listener attachedRoutes and supportedKinds and route parents each case expects.
. "$(dirname "$0")/lib.sh"

GATEWAY=$BUILD/passthrough-gateway
FIXTURES=$ROOT/tests/gateway/fixtures
[ -x "$GATEWAY" ] || die "$GATEWAY is missing: build it with make BUILD=$BUILD all"
command -v jq >/dev/null || die "jq is missing: run tools/deps.sh test"

# ---- the fixtures, with their placeholder ports made real -----------------------
# Every 184xx and 185xx number in the fixtures (listener, Service, EndpointSlice
# and --ingress-port ports) is a placeholder: each becomes a free port, the
# same one everywhere it appears (tests/gateway/fixtures/README.md).
mapfile -t placeholders < <(grep -rhoE '\b18[45][0-9]{2}\b' "$FIXTURES" | sort -u)
subst=()
for p in "${placeholders[@]}"; do
	subst+=(-e "s/\\b$p\\b/$(free_port)/g")
done
cp -r "$FIXTURES" "$T/cases" || die "copying the fixtures"
find "$T/cases" -type f -exec sed -i "${subst[@]}" {} + || die "substituting the ports"
mapfile -t cases < <(find "$T/cases" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
[ "${#cases[@]}" -ge 10 ] || die "expected at least 10 fixture cases, found ${#cases[@]}"

# ---- the backends: one nginx, a TLS server per name at the address it has ------
# backend-NAME (certificate CN and GET /whoami) at the address:port the
# cases give it; a name has one address in every case.
declare -A BACKEND=()
while read -r c name addr; do
	[ -z "${BACKEND[$name]:-}" ] || [ "${BACKEND[$name]}" = "$addr" ] ||
	    die "$c: backend $name at $addr, elsewhere at ${BACKEND[$name]}"
	BACKEND[$name]=$addr
done < <(for c in "${cases[@]}"; do echo "$T/cases/$c/expect.json"; done |
    xargs jq -r 'input_filename as $f | .backends // {} | to_entries[] | "\($f | split("/")[-2]) \(.key) \(.value)"')
[ "${#BACKEND[@]}" -gt 0 ] || die "no backends in the cases"

nginx_start_at $(for n in "${!BACKEND[@]}"; do echo "$n=${BACKEND[$n]}"; done)
echo "     backends: $(for n in "${!BACKEND[@]}"; do printf '%s=%s ' "$n" "${BACKEND[$n]}"; done)"

# ---- rendering --------------------------------------------------------------------
# The base configuration: kept by --base (workers, logging, the event engine).
printf 'workers = 2;\nlog = { level = "debug"; };\n' >"$T/base.conf"
pt_conf_events "$T/base.conf"

# load_case CASE: the case's expect.json, read once (jq starts slowly):
# ABOUT, ARGS (more render options), LISTEN (the ports routed on), CLOSED
# (.not_listening) and ROUTING (one row per expectation: port, SNI, backend,
# result, connections, shares as "NAME:LOW:HIGH ...", apart by US, 0x1f:
# read would collapse empty fields between tabs).
US=$'\x1f'
load_case() {
	local line kind
	ABOUT="" ARGS=() LISTEN=() CLOSED=() ROUTING=()
	while IFS= read -r line; do
		kind=${line%%"$US"*}
		line=${line#*"$US"}
		case $kind in
		about) ABOUT=$line ;;
		arg) ARGS+=("$line") ;;
		listen) LISTEN+=("$line") ;;
		closed) CLOSED+=("$line") ;;
		route) ROUTING+=("$line") ;;
		esac
	done < <(jq -r '"about\u001f\(.about)",
	    (.args // [] | .[] | "arg\u001f\(.)"),
	    ([.routing[].port] | unique | .[] | "listen\u001f\(.)"),
	    (.not_listening // [] | .[] | "closed\u001f\(.)"),
	    (.routing[] | "route\u001f" + ([.port, .sni, .backend // "", .result // "", .connections // "",
	        (.share // {} | to_entries | map("\(.key):\(.value[0]):\(.value[1])") | join(" "))]
	        | map(tostring) | join("\u001f")))' "$T/cases/$1/expect.json")
	[ "${#ROUTING[@]}" -gt 0 ] || die "$1: no routing expectations"
}

# render CASE OUT [FILES...]: passthrough-gateway render of the case's files
# (all of them, sorted, unless FILES are given) with its ARGS (load_case);
# the configuration into OUT, the status into OUT.status, stderr into OUT.err.
render() {
	local c=$1 out=$2 dir=$T/cases/$1 files
	shift 2
	if [ $# -gt 0 ]; then files=("$@"); else
		mapfile -t files < <(find "$dir" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.json' \) \
		    ! -name expect.json | sort)
	fi
	"$GATEWAY" render --status "$out.status" --base "$T/base.conf" --listen-address 127.0.0.1 \
	    "${ARGS[@]}" "${files[@]}" >"$out" 2>"$out.err"
}

# ---- clients ----------------------------------------------------------------------

# check_routing CASE: the ROUTING expectations (load_case), through the
# proxy. The single connections (the backend that answers, or the alert the
# client gets) go from one curl, a new connection each (names resolved to
# 127.0.0.1; no SNI: the URL is the address, which the certificates carry
# too); each share expectation from one curl of its own, N connections.
check_routing() {
	local c=$1 row port sni backend result n share what body err alert k=0
	local urls=() args=() singles=() records=()
	declare -A resolved=()
	for row in "${ROUTING[@]}"; do
		IFS=$US read -r port sni backend result n share <<<"$row"
		[ -n "$n" ] && continue
		[ -n "$backend$result" ] || die "$c: routing expectation without backend, result or share"
		if [ -z "$sni" ]; then
			urls+=("https://127.0.0.1:$port/whoami")
		else
			urls+=("https://$sni:$port/whoami")
			[ -n "${resolved[$sni:$port]:-}" ] || args+=(--resolve "$sni:$port:127.0.0.1")
			resolved[$sni:$port]=1
		fi
		singles+=("$row")
	done
	# One record per URL: its body's lines, US, "HTTP-CODE ERROR".
	if [ "${#urls[@]}" -gt 0 ]; then
		mapfile -t records < <(curl -sS --max-time 10 --cacert "$CA" -H 'Connection: close' "${args[@]}" \
		    -w '\n@@ %{http_code} %{errormsg}\n' "${urls[@]}" 2>/dev/null |
		    awk '/^@@ /{ sub(/^@@ /, ""); print body "\x1f" $0; body = ""; next } NF { body = body $0 }')
	fi
	check_eq "$c: curl made one transfer per single-connection expectation" "${#singles[@]}" "${#records[@]}"
	for row in "${singles[@]}"; do
		IFS=$US read -r port sni backend result n share <<<"$row"
		IFS=$US read -r body err <<<"${records[k]:-}"
		k=$((k + 1))
		what="$c: port $port, SNI '${sni:-(none)}'"
		if [ -n "$backend" ]; then
			[ "${err%% *}" = 200 ] || body="$body (HTTP $err)"
			check_eq "$what" "backend-$backend" "$body"
		else
			# The alert as OpenSSL names it: rejected is the reject
			# backend's internal_error.
			alert=${result/rejected/internal error}
			if [ -z "$body" ] && [[ $err == "000 "*"${alert//_/ }"* ]]; then
				pass "$what: $result alert, no backend"
			else
				fail "$what: expected the $result alert and no backend, got '$body' ($err)"
			fi
		fi
	done
	for row in "${ROUTING[@]}"; do
		IFS=$US read -r port sni backend result n share <<<"$row"
		[ -n "$n" ] && check_share "$c: port $port, SNI '$sni'" "$port" "$sni" "$n" "$share"
	done
	return 0
}

# check_share WHAT PORT SNI N SHARES: N connections (one curl, each request
# on a new connection) split as SHARES says ("NAME:LOW:HIGH ...", NAME
# "rejected": the internal_error alert), and every one is in a named share.
check_share() {
	local what=$1 port=$2 sni=$3 n=$4 urls=() out s name lo hi got total=0 i
	for ((i = 0; i < n; i++)); do urls+=("https://$sni:$port/whoami"); done
	out=$(curl -sS --max-time 30 --cacert "$CA" --resolve "$sni:$port:127.0.0.1" \
	    -H 'Connection: close' "${urls[@]}" 2>&1)
	for s in $5; do
		IFS=: read -r name lo hi <<<"$s"
		if [ "$name" = rejected ]; then
			got=$(grep -c 'internal error' <<<"$out")
		else
			got=$(grep -cx "backend-$name" <<<"$out")
		fi
		total=$((total + got))
		check_range "$what: $name's share of $n" "$lo" "$hi" "$got"
	done
	check_eq "$what: every connection went to a named share" "$n" "$total"
}

# The status checks: one line per expectation, "ok   ..." or "FAIL ...".
# Conditions are written "STATUS REASON", REASON a regular expression where
# the spec leaves a choice; each must be there once, with observedGeneration
# the object's metadata.generation (1 when the fixture sets none), an RFC 3339
# UTC lastTransitionTime and a message. "absent": the object gets no status.
# shellcheck disable=SC2016  # jq's variables
STATUS_JQ='
def cstr: "\(.status) \(.reason)";
def rfc3339: type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$");
def conds($what; $have; $want; $gen):
	($want // {}) | to_entries[] | .key as $t | .value as $re
	| [ ($have // [])[] | select(.type == $t) ] as $c
	| if ($c | length) != 1 then "FAIL \($what): condition \($t): expected one, got \($c | length)"
	  else $c[0] as $x
	  | if ($x | cstr | test("^(?:" + $re + ")$") | not) then "FAIL \($what): \($t) is \"\($x | cstr)\", expected /\($re)/"
	    elif $x.observedGeneration != $gen then "FAIL \($what): \($t) observedGeneration \($x.observedGeneration), expected \($gen)"
	    elif ($x.lastTransitionTime | rfc3339 | not) then "FAIL \($what): \($t) lastTransitionTime \($x.lastTransitionTime | tojson) is not RFC 3339 UTC"
	    elif ($x.message | type) != "string" then "FAIL \($what): \($t) has no message"
	    else "ok   \($what): \($t) \($x | cstr)" end
	  end;
def listener($what; $o; $name; $want; $gen):
	[ ($o.status.listeners // [])[] | select(.name == $name) ] as $l
	| "\($what) listener \($name)" as $lwhat
	| if ($l | length) != 1 then "FAIL \($lwhat): expected one status entry, got \($l | length)"
	  else $l[0] as $x
	  | (if $x.attachedRoutes == $want.attachedRoutes then "ok   \($lwhat): attachedRoutes \($x.attachedRoutes)"
	     else "FAIL \($lwhat): attachedRoutes \($x.attachedRoutes), expected \($want.attachedRoutes)" end),
	    (if ($want.conditions.Accepted // "") | startswith("True") | not then empty
	     elif any(($x.supportedKinds // [])[]; .kind == "TLSRoute" and (.group // "gateway.networking.k8s.io") == "gateway.networking.k8s.io")
	     then "ok   \($lwhat): supportedKinds has TLSRoute"
	     else "FAIL \($lwhat): supportedKinds \($x.supportedKinds | tojson) lacks TLSRoute" end),
	    conds($lwhat; $x.conditions; $want.conditions; $gen)
	  end;
def parent($what; $o; $ns; $want; $gen):
	[ ($o.status.parents // [])[] | select(.parentRef.name == $want.name
	    and (.parentRef.namespace // $ns) == ($want.namespace // $ns)
	    and (.parentRef.sectionName // null) == ($want.sectionName // null)
	    and (.parentRef.port // null) == ($want.port // null)) ] as $p
	| "\($what) parent \($want.name)\(if $want.sectionName then "/" + $want.sectionName else "" end)" as $pwhat
	| if ($p | length) != 1 then "FAIL \($pwhat): expected one entry in status.parents, got \($p | length)"
	  else (if $p[0].controllerName == "passthrough.dev/gateway-controller" then "ok   \($pwhat): controllerName"
	        else "FAIL \($pwhat): controllerName \($p[0].controllerName | tojson)" end),
	       conds($pwhat; $p[0].conditions; $want.conditions; $gen)
	  end;
(if ($status[0] | .apiVersion == "v1" and .kind == "List" and (.items | type) == "array")
 then "ok   --status wrote a v1 List" else "FAIL --status wrote no v1 List" end),
(($status[0].items // []) as $items
| .status[] as $e
| "\($e.kind) \(if $e.namespace then $e.namespace + "/" else "" end)\($e.name)" as $what
| [ $items[] | select(.kind == $e.kind and .metadata.name == $e.name
      and (.metadata.namespace // null) == ($e.namespace // null)) ] as $found
| ($e.generation // 1) as $gen
| if $e.absent then
	(if ($found | length) == 0 then "ok   \($what): no status entry (not ours)"
	 else "FAIL \($what): has a status entry, but is not this controller'\''s" end)
  elif ($found | length) != 1 then "FAIL \($what): expected one status entry, got \($found | length)"
  else $found[0] as $o
  | conds($what; $o.status.conditions; $e.conditions; $gen),
    (($e.listeners // {}) | to_entries[] | listener($what; $o; .key; .value; $gen)),
    (if $e.parents == null then empty
     else (if (($o.status.parents // []) | length) == ($e.parents | length) then "ok   \($what): \($e.parents | length) parent(s) in status"
           else "FAIL \($what): \(($o.status.parents // []) | length) parents in status, expected \($e.parents | length)" end),
          ($e.parents[] | parent($what; $o; $e.namespace; .; $gen))
     end)
  end)'

# check_status CASE STATUSFILE
check_status() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok   "*) pass "$1: ${line#ok   }" ;;
		*) fail "$1: ${line#FAIL }" ;;
		esac
	done < <(jq -r --slurpfile status "$2" "$STATUS_JQ" "$T/cases/$1/expect.json" 2>&1 ||
	    echo "FAIL jq could not check the status")
}

# ---- the cases: render, check, serve ----------------------------------------------
gen=0 served=0
for c in "${cases[@]}"; do
	load_case "$c"
	echo "=== $c: $ABOUT"
	conf=$T/$c.conf
	render "$c" "$conf"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$c: render exit status $rc: $(head -n 5 "$conf.err")"
		continue
	fi
	[ -s "$conf.err" ] && sed 's/^/     render: /' "$conf.err"
	read -r first <"$conf"
	if [[ $first == "#"* ]]; then pass "$c: the configuration starts with a comment (generated, from what)"; else
		fail "$c: the first line is no comment: $first"; fi
	check_eq "$c: passthrough -t" "configuration OK" "$("$PT" -t -c "$conf" 2>&1)"
	# The same objects in the reverse order of files: the same configuration
	# (but for comments: the header names the files in their order).
	mapfile -t files < <(find "$T/cases/$c" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.json' \) \
	    ! -name expect.json | sort -r)
	if render "$c" "$T/$c.reversed.conf" "${files[@]}" &&
	    diff <(grep -v '^#' "$conf") <(grep -v '^#' "$T/$c.reversed.conf") >"$T/$c.diff"; then
		pass "$c: the files in reverse order render the same configuration"
	else
		fail "$c: the files in reverse order render another configuration:"
		head -n 10 "$T/$c.diff" | sed 's/^/         | /'
	fi
	check_status "$c" "$conf.status"

	# Serve it: the first case starts the proxy, each next one reloads it.
	first_port=${LISTEN[0]}
	gen=$((gen + 1))
	if [ "$gen" = 1 ]; then
		cp "$conf" "$T/proxy.conf"
		proxy_start_file "$T/proxy.conf" 2 "$first_port"
	else
		if ! cp "$conf" "$T/proxy.conf.tmp" || ! pt_conf_events "$T/proxy.conf.tmp" ||
		    ! mv -f "$T/proxy.conf.tmp" "$T/proxy.conf"; then
			die "$c: writing the configuration"
		fi
		kill -HUP "$PROXY_PID"
		if ! proxy_wait_generation "$gen"; then
			fail "$c: the reload did not publish generation $gen"
			grep -E 'error|warn' "$PROXY_LOG" | tail -n 5
			gen=$((gen - 1))	# not published: the next reload's number
			continue
		fi
	fi
	for p in "${LISTEN[@]}"; do
		WAIT_S=5 wait_until port_listening "$p" || fail "$c: nothing listens on port $p"
	done
	for p in "${CLOSED[@]}"; do
		if port_listening "$p"; then fail "$c: port $p of an unserved listener is open"; else
			pass "$c: port $p of an unserved listener is closed"; fi
	done
	check_routing "$c"
	served=$((served + 1))
done

# Reloads that change the listen addresses start new workers (the old ones
# drain and exit): every worker started logs its totals by the end.
PROXY_WORKERS=$(grep -c 'info: started:' "$PROXY_LOG")
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "cases served" "${#cases[@]}" "$served"
finish
