#!/bin/bash
# Guards tests/gateway/fixtures (and the watch tests' tests/gateway/watch): every object in them validates against the Gateway API schemas (@kubernetes-models/gateway-api) and the Kubernetes ones (kubernetes-models), both pinned, unknown fields included; every YAML file says what it is in a first "# " line; the status passthrough-gateway render writes for each case validates too, put into its object as the API server would take it; broken copies (a TLSRoute with a misspelt field, wrong types, a missing required field, an unknown kind) are refused.
# once: checks text files with node (a few seconds); a sanitized build changes nothing in them.
. "$(dirname "$0")/lib.sh"

FIXTURES=$ROOT/tests/gateway/fixtures
K8S_TESTS=$ROOT/tests/k8s
VALIDATE=$K8S_TESTS/validate.mjs
GATEWAY=$BUILD/passthrough-gateway
command -v node >/dev/null || die "node is missing: run tools/deps.sh test"
[ -d "$K8S_TESTS/node_modules/@kubernetes-models/gateway-api" ] ||
	die "tests/k8s/node_modules lacks @kubernetes-models/gateway-api: run tools/deps.sh test (npm ci --prefix tests/k8s)"
command -v jq >/dev/null || die "jq is missing: run tools/deps.sh test"

validate() { node "$VALIDATE" "$@" 2>&1; }

echo "--- the pinned versions"
check_eq "@kubernetes-models/gateway-api in package.json" '"2.0.0"' \
    "$(jq '.dependencies["@kubernetes-models/gateway-api"]' "$K8S_TESTS/package.json")"
check_eq "... and in the lock" '"2.0.0"' \
    "$(jq '.packages["node_modules/@kubernetes-models/gateway-api"].version' "$K8S_TESTS/package-lock.json")"

echo "--- every fixture file: a header, and every object valid"
mapfile -t files < <(find "$FIXTURES" "$ROOT/tests/gateway/watch" -type f \( -name '*.yaml' -o -name '*.json' \) ! -name expect.json | sort)
[ "${#files[@]}" -ge 10 ] || die "expected fixture files, found ${#files[@]}"
objects=0
for f in "${files[@]}"; do
	case $f in
	*.yaml)
		check_match "${f#"$ROOT"/}: a first '# ' line says what it is" '^# [^ ]' "$(head -n 1 "$f")"
		objects=$((objects + $(grep -c '^kind: ' "$f"))) ;;
	*.json) objects=$((objects + 1)) ;;
	esac
done
out=$(validate "${files[@]}")
rc=$?
sed 's/^/     | /' <<<"$out"
check_eq "validator exit status" 0 "$rc"
check_no_match "no validation errors" '^FAIL' "$out"
check_eq "objects validated (one 'ok' line each)" "$objects" "$(grep -c '^ok   ' <<<"$out")"
for k in GatewayClass Gateway TLSRoute ReferenceGrant Service EndpointSlice Ingress Namespace; do
	check_match "the fixtures hold a valid $k" "^ok   $k " "$out"
done
check_match "a v1alpha2 TLSRoute validates (older clusters)" '^ok   TLSRoute edge/catchall \(.*wildcard/routes.yaml\)$' "$out"

echo "--- broken fixtures are refused"
# broken NAME FILE WANT: copies the fixtures to $T/NAME, runs the edit on
# stdin there, and expects the validator to refuse FILE (relative to the
# copy) with a line matching WANT.
broken() {
	local name=$1 file=$2 want=$3 dir=$T/$1 got
	rm -rf "$dir"
	cp -r "$FIXTURES" "$dir"
	(cd "$dir" && bash) || die "$name: the edit failed"
	got=$(validate "$dir/$file")
	if [ $? -ne 0 ] && grep -qE -- "$want" <<<"$got"; then
		pass "broken: $name is refused"
	else
		fail "broken: $name: expected a failure matching /$want/, got:"
		sed 's/^/         | /' <<<"$got" | tail -n 5
	fi
}
broken tlsroute_misspelt_field simple/route.yaml 'TLSRoute edge/app: .*(unknown field .spec.hostname\b|hostnames)' \
    <<<'sed -i "s/^  hostnames:/  hostname:/" simple/route.yaml'
broken tlsroute_backend_ref_bad_field simple/route.yaml 'TLSRoute edge/app: unknown field .spec.rules\[0\].backendRefs\[0\].prot$' \
    <<<'sed -i "s/^          port: 18501/          prot: 18501/" simple/route.yaml'
broken tlsroute_weight_not_a_number weights/objects.yaml 'TLSRoute edge/weighted: .*weight' \
    <<<'sed -i "s/weight: 3/weight: three/" weights/objects.yaml'
broken tlsroute_two_rules simple/route.yaml 'TLSRoute edge/app: .*rules' \
    <<<'printf "    - backendRefs:\n        - name: app\n          port: 18501\n" >>tmp && sed -i "/^  rules:/r tmp" simple/route.yaml'
broken gateway_listener_without_protocol simple/gateway.yaml 'Gateway edge/gw: .*protocol' \
    <<<'sed -i "/^      protocol: TLS/d" simple/gateway.yaml'
broken gateway_tls_mode_unknown simple/gateway.yaml 'Gateway edge/gw: .*mode' \
    <<<'sed -i "s/mode: Passthrough/mode: Passthru/" simple/gateway.yaml'
broken referencegrant_misspelt_field cross-namespace/backends.yaml 'ReferenceGrant private/shared-only: unknown field .spec.to\[0\].nmae$' \
    <<<'sed -i "s/^      name: shared$/      nmae: shared/" cross-namespace/backends.yaml'
broken endpointslice_ready_not_boolean endpointslices/objects.yaml 'EndpointSlice edge/svc-e-abcde: .*ready' \
    <<<'sed -i "0,/ready: true/s//ready: \"yes\"/" endpointslices/objects.yaml'
broken unknown_gateway_kind simple/route.yaml 'TLSRoutes: not a known kind' \
    <<<'sed -i "s/^kind: TLSRoute/kind: TLSRoutes/" simple/route.yaml'
echo "--- the status render writes, in its objects, validates"
[ -x "$GATEWAY" ] || die "$GATEWAY is missing: build it with make BUILD=$BUILD all"
for dir in "$FIXTURES"/*/; do
	c=$(basename "$dir")
	mapfile -t cfiles < <(find "$dir" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.json' \) ! -name expect.json | sort)
	mapfile -t args < <(jq -r '.args // [] | .[]' "$dir/expect.json")
	if ! "$GATEWAY" render --status "$T/$c.status.json" "${args[@]}" "${cfiles[@]}" >/dev/null 2>"$T/$c.err"; then
		fail "$c: render failed: $(head -n 3 "$T/$c.err")"
		continue
	fi
	# Each status item's status put into the fixture object it is for (kind,
	# namespace, name), one JSON document each, for the validator.
	if ! (cd "$K8S_TESTS" && node --input-type=module -e '
import fs from "node:fs";
import { parseAllDocuments } from "yaml";
const [statusFile, out, ...files] = process.argv.slice(1);
const objs = files.flatMap((f) => parseAllDocuments(fs.readFileSync(f, "utf8")).map((d) => d.toJS()));
const docs = [];
for (const it of JSON.parse(fs.readFileSync(statusFile, "utf8")).items) {
	const o = objs.find((x) => x && x.kind === it.kind && x.metadata.name === it.metadata?.name &&
		(x.metadata.namespace ?? null) === (it.metadata?.namespace ?? null));
	if (!o)
		throw new Error(`status for ${it.kind} ${it.metadata?.namespace ?? ""}/${it.metadata?.name}, which is not in the files`);
	docs.push(JSON.stringify({ ...o, apiVersion: it.apiVersion ?? o.apiVersion, status: it.status }));
}
fs.writeFileSync(out, docs.join("\n---\n") + "\n");
console.log(docs.length);
' "$T/$c.status.json" "$T/$c.with-status.yaml" "${cfiles[@]}" >"$T/$c.count" 2>&1); then
		fail "$c: the status items: $(tail -n 3 "$T/$c.count")"
		continue
	fi
	n=$(cat "$T/$c.count")
	if [ "$n" = 0 ]; then
		pass "$c: no status items"
		continue
	fi
	out=$(validate "$T/$c.with-status.yaml")
	if [ $? -eq 0 ] && [ "$(grep -c '^ok   ' <<<"$out")" = "$n" ]; then
		pass "$c: the $n objects with render's status validate"
	else
		fail "$c: the objects with render's status do not validate:"
		grep -v '^ok' <<<"$out" | head -n 10 | sed 's/^/         | /'
	fi
done

finish
