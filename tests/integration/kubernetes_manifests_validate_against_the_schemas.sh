#!/bin/bash
# Guards etc/kubernetes: every manifest and every kustomize build (the default set, and with each component) validates against the Kubernetes schemas (kubernetes-models), its pods pass the namespace's Pod Security level, every file a kustomization names exists and every manifest is named by one, the ConfigMap is passthrough.conf byte for byte and is mounted whole (no subPath), both pod configurations pass passthrough -t; broken manifests are caught.
# once: checks text files with node (a few seconds); a sanitized build changes nothing in them.
. "$(dirname "$0")/lib.sh"

K8S=$ROOT/etc/kubernetes
VALIDATE=$ROOT/tests/k8s/validate.mjs
command -v node >/dev/null || die "node is missing: run tools/deps.sh test"
[ -d "$ROOT/tests/k8s/node_modules/kubernetes-models" ] ||
	die "tests/k8s/node_modules is missing: run tools/deps.sh test (npm ci --prefix tests/k8s)"

validate() { node "$VALIDATE" "$@" 2>&1; }

echo "--- every file a kustomization names exists, every manifest is named"
mapfile -t kdirs < <(find "$K8S" -name kustomization.yaml -printf '%h\n' | sort)
components=()
for d in "${kdirs[@]}"; do
	[ "$d" = "$K8S" ] || [ "$d" = "$K8S/demo" ] && continue
	check_match "${d#"$ROOT"/}: a kustomize Component" '^kind: Component$' "$(cat "$d/kustomization.yaml")"
	components+=("${d#"$K8S"/}")
done
check_eq "components" "edge io_uring proxy-protocol" "${components[*]}"
# The demo backend of docs/kubernetes.md is a kustomization of its own.
check_match "etc/kubernetes/demo: a Kustomization" '^kind: Kustomization$' "$(cat "$K8S/demo/kustomization.yaml")"
for d in "${kdirs[@]}"; do
	# The entries of resources, files and patches: "- NAME" and "path: NAME".
	names=$(sed -nE 's/^ *(- |- path: |path: )([A-Za-z0-9_./-]+) *$/\2/p' "$d/kustomization.yaml")
	for n in $names; do
		[ -e "$d/$n" ] || fail "${d#"$ROOT"/}/kustomization.yaml names $n, which does not exist"
	done
	for f in "$d"/*.yaml "$d"/*.conf; do
		[ -e "$f" ] || continue
		[ "${f##*/}" = kustomization.yaml ] && continue
		grep -qx "$(basename "$f")" <<<"$names" || fail "${f#"$ROOT"/} is named by no kustomization"
	done
done
pass "kustomization file references checked (${#kdirs[@]} kustomizations)"

echo "--- each manifest on its own, and each build"
manifests=()
for f in "$K8S"/*.yaml "$K8S"/*/*.yaml; do
	# Patches are checked through the builds they change.
	[ "${f##*/}" = kustomization.yaml ] && continue
	grep -qE "^ *(- )?path: ${f##*/}\$" "$(dirname "$f")/kustomization.yaml" && continue
	manifests+=("${f#"$ROOT"/}")
done
builds=(etc/kubernetes)
for c in "${components[@]}"; do builds+=("etc/kubernetes+$c"); done
builds+=(etc/kubernetes/demo)
out=$(validate --emit "$T/built.json" "${manifests[@]}" "${builds[@]}")
rc=$?
sed 's/^/     | /' <<<"$out"
check_eq "validator exit status" 0 "$rc"
check_no_match "no validation errors" '^FAIL' "$out"
for k in Namespace ServiceAccount Deployment Service PodDisruptionBudget ConfigMap; do
	check_match "default set has a $k" "^ok   $k passthrough(/passthrough)? \\(etc/kubernetes\\)\$" "$out"
done
check_match "edge has the DaemonSet" '^ok   DaemonSet passthrough/passthrough-edge \(etc/kubernetes\+edge\)$' "$out"
check_match "the Deployment passes restricted" \
    '^ok   Deployment passthrough/passthrough: passes Pod Security "restricted"$' "$out"
check_eq "restricted checks (default and 2 components)" 3 \
    "$(grep -c 'Deployment passthrough/passthrough: passes Pod Security "restricted"' <<<"$out")"
check_match "the demo backend passes restricted" \
    '^ok   Deployment passthrough-demo/demo-tls: passes Pod Security "restricted"$' "$out"
check_match "the demo's Service is the shipped route's backend" \
    '^ok   Service passthrough-demo/demo-tls \(etc/kubernetes/demo\)$' "$out"

echo "--- the ConfigMap and its mount"
# Prints what a build holds: the ConfigMap's name, namespace and keys, and
# where the Deployment (or DaemonSet) mounts it; writes each build's
# passthrough.conf data to $T/BUILD.conf.
node --input-type=module -e '
import fs from "node:fs";
const built = JSON.parse(fs.readFileSync(process.argv[1]));
for (const [b, objs] of Object.entries(built)) {
	const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "passthrough");
	if (!cm)
		continue;
	fs.writeFileSync(`${process.argv[2]}/${b.replace(/[/+]/g, "_")}.conf`, cm.data["passthrough.conf"]);
	console.log(`${b} configmap ${cm.metadata.namespace}/${cm.metadata.name} ${Object.keys(cm.data).join(",")}`);
	for (const w of objs.filter((o) => o.spec?.template)) {
		const vols = w.spec.template.spec.volumes.filter((v) => v.configMap);
		for (const c of w.spec.template.spec.containers)
			for (const m of c.volumeMounts ?? [])
				for (const v of vols)
					if (m.name === v.name)
						console.log(`${b} mount ${w.kind} ${c.name} ${v.configMap.name} ${m.mountPath} subPath=${m.subPath ?? "none"}`);
	}
}' "$T/built.json" "$T" >"$T/mounts" 2>&1 || { cat "$T/mounts"; die "reading the builds"; }
sed 's/^/     | /' "$T/mounts"
for b in "${builds[@]}"; do
	[ "$b" = etc/kubernetes/demo ] && continue
	re=${b//+/\\+}
	check_match "$b: ConfigMap passthrough/passthrough, one key" "^$re configmap passthrough/passthrough passthrough.conf\$" \
	    "$(cat "$T/mounts")"
	want=$K8S/passthrough.conf
	[ "$b" = etc/kubernetes+proxy-protocol ] && want=$K8S/proxy-protocol/passthrough.conf
	if cmp -s "$want" "$T/${b//[\/+]/_}.conf"; then
		pass "$b: the ConfigMap's passthrough.conf is ${want#"$ROOT"/} byte for byte"
	else
		fail "$b: the ConfigMap's passthrough.conf differs from ${want#"$ROOT"/}"
	fi
	check_eq "$b: config mounts (both containers, /etc/passthrough, no subPath)" 2 \
	    "$(grep -cE "^$re mount (Deployment|DaemonSet) (passthrough|metrics) passthrough /etc/passthrough subPath=none\$" "$T/mounts")"
done
check_no_match "no subPath mount anywhere" 'subPath=[^n]' "$(cat "$T/mounts")"

echo "--- both pod configurations pass passthrough -t"
# The demo backend is a cluster Service name: a private /etc/hosts resolves it.
printf '127.0.0.1 localhost\n127.0.0.1 demo-tls.passthrough-demo.svc.cluster.local\n' >"$T/hosts"
for conf in "$K8S/passthrough.conf" "$K8S/proxy-protocol/passthrough.conf"; do
	got=$(unshare -m bash -c 'mount --bind "$1" /etc/hosts && exec "$2" -t -c "$3"' _ "$T/hosts" "$PT" "$conf" 2>&1)
	check_eq "passthrough -t ${conf#"$ROOT"/}" "configuration OK" "$got"
done

echo "--- the demo backend's nginx server parses (nginx -t, the test certificates for the Secret's)"
certs_ensure demo
sed -e "s|/etc/nginx/tls/tls.crt|$CERTS/demo.crt|; s|/etc/nginx/tls/tls.key|$CERTS/demo.key|" \
    "$K8S/demo/demo.conf" >"$T/demo.conf"
printf 'pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n  include %s/demo.conf;\n}\n' "$T" "$T" >"$T/nginx-demo.conf"
check_match "nginx -t of etc/kubernetes/demo/demo.conf" 'test is successful' \
    "$("$NGINX" -t -p "$T/" -c "$T/nginx-demo.conf" 2>&1)"

echo "--- broken manifests are caught"
# broken NAME WANT: copies etc/kubernetes to $T/NAME, runs the edit on stdin
# there, and expects the default build to fail with a line matching WANT.
broken() {
	local name=$1 want=$2 dir=$T/$1 got
	rm -rf "$dir"
	cp -r "$K8S" "$dir"
	(cd "$dir" && bash) || die "$name: the edit failed"
	got=$(validate "$dir" 2>&1)
	if [ $? -ne 0 ] && grep -qE -- "$want" <<<"$got"; then
		pass "broken: $name is refused"
	else
		fail "broken: $name: expected a failure matching /$want/, got:"
		sed 's/^/         | /' <<<"$got" | tail -n 5
	fi
}
broken replicas_two 'Deployment passthrough/passthrough: .*replicas.*must be integer' <<<'sed -i "s/replicas: 2/replicas: two/" deployment.yaml'
broken container_without_image_name 'Deployment passthrough/passthrough: .*containers/0.*name' \
    <<<'sed -i "s/^        - name: passthrough$/        - stdin: false/" deployment.yaml'
broken pdb_bad_quantity 'PodDisruptionBudget .*maxUnavailable' <<<'sed -i "s/maxUnavailable: 1/maxUnavailable: [1]/" poddisruptionbudget.yaml'
broken misspelt_field 'Deployment passthrough/passthrough: unknown field .spec.template.spec.containers\[0\].readinessProb$' \
    <<<'sed -i "s/readinessProbe:/readinessProb:/" deployment.yaml'
broken misspelt_nested_field 'Service passthrough/passthrough: unknown field .spec.externalTraficPolicy$' \
    <<<'sed -i "s/externalTrafficPolicy:/externalTraficPolicy:/" service.yaml'
broken unknown_kind 'Deploymnt: not a known kind' <<<'sed -i "s/^kind: Deployment/kind: Deploymnt/" deployment.yaml'
broken missing_resource 'resource .*/service.yaml does not exist' <<<'rm service.yaml'
broken missing_config_file 'configMapGenerator file .*passthrough.conf does not exist' <<<'rm passthrough.conf'
broken privilege_escalation 'fails Pod Security "restricted".*passthrough: allowPrivilegeEscalation is not false' \
    <<<'sed -i "0,/allowPrivilegeEscalation: false/s//allowPrivilegeEscalation: true/" deployment.yaml'
broken no_seccomp 'fails Pod Security "restricted".*seccompProfile is not RuntimeDefault or Localhost' \
    <<<'sed -i "/^        seccompProfile:/,/^          type: RuntimeDefault/d" deployment.yaml'
broken runs_as_root 'fails Pod Security "restricted".*runAsNonRoot is not true' <<<'sed -i "s/runAsNonRoot: true/runAsNonRoot: false/" deployment.yaml'
broken patch_misses 'seccomp-localhost.yaml: .*no such path' \
    <<<'sed -i "s|/securityContext/seccompProfile|/securityContext/seccompProfil/x|" io_uring/seccomp-localhost.yaml; sed -i "s/^components: \[\]/components: [ io_uring ]/" kustomization.yaml'
finish
