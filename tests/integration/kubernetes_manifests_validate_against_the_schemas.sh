#!/bin/bash
# Guards etc/kubernetes: every manifest and every kustomize build (the default set, and with each component) validates against the Kubernetes schemas (kubernetes-models, and the Gateway API's for the gateway component and its example), its pods pass the namespace's Pod Security level, every file a kustomization names exists and every manifest is named by one, the ConfigMap is passthrough.conf byte for byte and is mounted whole (no subPath), both pod configurations pass passthrough -t; the gateway component runs passthrough-gateway watch as a native sidecar on the paths the proxy and the metrics sidecar read, shares /dev/shm, mounts the token in the controller alone, grants exactly the ClusterRole's rights, and its base renders the example into a configuration passthrough -t accepts, on which uid 10001 binds 443 with the pod's sysctls (and cannot without), and which, renamed into the controller's emptyDir, the proxy reading it through a read-only mount reloads, config_sha256 in the segment (read from a read-only /dev/shm) then the written file's; broken manifests are caught.
# once: checks text files with node (a few seconds); a sanitized build changes nothing in them.
. "$(dirname "$0")/lib.sh"

K8S=$ROOT/etc/kubernetes
VALIDATE=$ROOT/tests/k8s/validate.mjs
command -v node >/dev/null || die "node is missing: run tools/deps.sh test"
[ -d "$ROOT/tests/k8s/node_modules/kubernetes-models" ] ||
	die "tests/k8s/node_modules is missing: run tools/deps.sh test (npm ci --prefix tests/k8s)"

command -v jq >/dev/null || die "jq is missing: run tools/deps.sh test"
validate() { node "$VALIDATE" "$@" 2>&1; }

echo "--- every file a kustomization names exists, every manifest is named"
mapfile -t kdirs < <(find "$K8S" -name kustomization.yaml -printf '%h\n' | sort)
components=()
for d in "${kdirs[@]}"; do
	[ "$d" = "$K8S" ] || [ "$d" = "$K8S/demo" ] && continue
	check_match "${d#"$ROOT"/}: a kustomize Component" '^kind: Component$' "$(cat "$d/kustomization.yaml")"
	components+=("${d#"$K8S"/}")
done
check_eq "components" "edge gateway io_uring proxy-protocol" "${components[*]}"
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
# The gateway component's example (docs/gateway-api.md): applied by hand.
for f in "$K8S"/gateway/example/*.yaml; do manifests+=("${f#"$ROOT"/}"); done
builds=(etc/kubernetes)
for c in "${components[@]}"; do builds+=("etc/kubernetes+$c"); done
# The gateway with io_uring: the combination its kustomization.yaml offers.
builds+=(etc/kubernetes+gateway+io_uring)
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
for k in "ServiceAccount passthrough/passthrough-gateway" "ClusterRole passthrough-gateway" \
    "ClusterRoleBinding passthrough-gateway" "GatewayClass passthrough/passthrough"; do
	check_match "gateway has the $k" "^ok   $k \\(etc/kubernetes\\+gateway\\)\$" "$out"
done
check_match "the example Gateway validates (Gateway API schema)" \
    '^ok   Gateway passthrough-demo/passthrough \(etc/kubernetes/gateway/example/gateway.yaml\)$' "$out"
check_match "the example TLSRoute validates (Gateway API schema)" \
    '^ok   TLSRoute passthrough-demo/demo \(etc/kubernetes/gateway/example/tlsroute.yaml\)$' "$out"
check_match "the Deployment passes restricted" \
    '^ok   Deployment passthrough/passthrough: passes Pod Security "restricted"$' "$out"
check_eq "restricted checks (default, 3 components, gateway+io_uring)" 5 \
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
		for (const c of [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers])
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
	[[ $b = etc/kubernetes+gateway* ]] && want=$K8S/gateway/passthrough.conf
	if cmp -s "$want" "$T/${b//[\/+]/_}.conf"; then
		pass "$b: the ConfigMap's passthrough.conf is ${want#"$ROOT"/} byte for byte"
	else
		fail "$b: the ConfigMap's passthrough.conf differs from ${want#"$ROOT"/}"
	fi
	if [[ $b = etc/kubernetes+gateway* ]]; then
		# The ConfigMap is the controller's base; the others read what it renders.
		check_eq "$b: config mounts (the controller alone, /etc/passthrough/base, no subPath)" \
		    "$b mount Deployment gateway passthrough /etc/passthrough/base subPath=none" \
		    "$(grep -E "^$re mount " "$T/mounts")"
		continue
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

echo "--- the gateway component: the controller's container, its paths, its rights"
# Prints, for each gateway build, what its pod and RBAC objects say, one
# "BUILD KEY: VALUE" line each, for the checks below.
gateway_facts() {
	node --input-type=module -e '
import fs from "node:fs";
import path from "node:path";
const built = JSON.parse(fs.readFileSync(process.argv[1]));
for (const [b, objs] of Object.entries(built)) {
	if (!b.includes("+gateway"))
		continue;
	const say = (k, v) => console.log(`${b} ${k}: ${v}`);
	const d = objs.find((o) => o.kind === "Deployment");
	const pod = d.spec.template.spec;
	const ctl = (pod.initContainers ?? []).find((c) => c.name === "gateway");
	if (!ctl) {
		say("controller", "none");
		continue;
	}
	say("controller", `initContainer restartPolicy=${ctl.restartPolicy}`);
	const arg = (argv, opt) => argv[argv.indexOf(opt) + 1];
	const config = arg(ctl.command, "--config");
	say("controller argv", ctl.command.slice(0, 2).join(" "));
	say("controller --config", config);
	say("controller --base", arg(ctl.command, "--base"));
	say("controller --passthrough", arg(ctl.command, "--passthrough"));
	say("controller startupProbe", ctl.startupProbe?.exec?.command.join(" "));
	const byName = Object.fromEntries(pod.containers.map((c) => [c.name, c]));
	say("proxy -c", arg(byName.passthrough.command, "-c"));
	say("proxy readiness -c", arg(byName.passthrough.readinessProbe.exec.command, "-c"));
	say("metrics -c", [...byName.metrics.command.join(" ").matchAll(/ -c (\/\S+)/g)].map((m) => m[1]).join(" "));
	const vol = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
	for (const c of [ctl, byName.passthrough, byName.metrics]) {
		const at = (dir) => (c.volumeMounts ?? []).filter((m) => m.mountPath === dir)
			.map((m) => `${m.name}${vol[m.name]?.emptyDir ? " emptyDir " + (vol[m.name].emptyDir.medium ?? "disk") : ""}`).join(",");
		say(`${c.name} at dirname(--config)`, at(path.dirname(config)) || "none");
		say(`${c.name} at /dev/shm`, at("/dev/shm") || "none");
		const tokens = (c.volumeMounts ?? []).filter((m) =>
			vol[m.name]?.projected?.sources?.some((s) => s.serviceAccountToken) || vol[m.name]?.secret);
		say(`${c.name} token mounts`, tokens.map((m) => `${m.mountPath} ro=${m.readOnly === true}`).join(",") || "none");
		say(`${c.name} runs as`, `nonroot=${c.securityContext?.runAsNonRoot ?? pod.securityContext.runAsNonRoot} rofs=${c.securityContext?.readOnlyRootFilesystem} noescalation=${c.securityContext?.allowPrivilegeEscalation === false} drop=${c.securityContext?.capabilities?.drop}`);
	}
	say("pod automountServiceAccountToken", pod.automountServiceAccountToken);
	say("pod serviceAccountName", pod.serviceAccountName);
	say("pod sysctls", (pod.securityContext.sysctls ?? []).map((s) => `${s.name}=${s.value}`).join(","));
	say("proxy port tls", byName.passthrough.ports.find((p) => p.name === "tls").containerPort);
	const sa = objs.find((o) => o.kind === "ServiceAccount" && o.metadata.name === pod.serviceAccountName);
	say("service account", sa ? `${sa.metadata.namespace}/${sa.metadata.name} automount=${sa.automountServiceAccountToken}` : "missing");
	const crb = objs.filter((o) => o.kind === "ClusterRoleBinding");
	say("bindings", crb.map((o) => `${o.roleRef.kind}/${o.roleRef.name} -> ` +
		o.subjects.map((s) => `${s.kind}/${s.namespace}/${s.name}`).join(",")).join(";"));
	const rules = objs.filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
		.flatMap((o) => o.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) =>
			r.verbs.map((v) => `${g || "core"}/${res}:${v}`)))));
	say("rules", rules.sort().join(" "));
	for (const o of objs.filter((o) => o.kind === "Role" || o.kind === "RoleBinding"))
		say("extra RBAC", `${o.kind} ${o.metadata.name}`);
	const gc = objs.filter((o) => o.kind === "GatewayClass");
	say("gatewayclasses", gc.map((o) => `${o.metadata.name}=${o.spec.controllerName}`).join(","));
}' "$1"
}
gateway_facts "$T/built.json" >"$T/gateway.facts" 2>&1 || { cat "$T/gateway.facts"; die "reading the gateway builds"; }
sed 's/^/     | /' "$T/gateway.facts"
# fact BUILD KEY: the value of the line "BUILD KEY: VALUE".
fact() {
	local line p="$1 $2: "
	while IFS= read -r line; do
		[[ $line == "$p"* ]] && printf '%s\n' "${line#"$p"}"
	done <"$T/gateway.facts"
}
CONTROLLER_NAME=$(sed -n 's/^#define GW_CONTROLLER_NAME[[:space:]]*"\(.*\)"$/\1/p' "$ROOT/tools/gateway/render.h")
[ -n "$CONTROLLER_NAME" ] || die "no GW_CONTROLLER_NAME in tools/gateway/render.h"
RULES="core/services:get core/services:list core/services:watch \
discovery.k8s.io/endpointslices:get discovery.k8s.io/endpointslices:list discovery.k8s.io/endpointslices:watch \
gateway.networking.k8s.io/gatewayclasses/status:patch gateway.networking.k8s.io/gatewayclasses/status:update \
gateway.networking.k8s.io/gatewayclasses:get gateway.networking.k8s.io/gatewayclasses:list gateway.networking.k8s.io/gatewayclasses:watch \
gateway.networking.k8s.io/gateways/status:patch gateway.networking.k8s.io/gateways/status:update \
gateway.networking.k8s.io/gateways:get gateway.networking.k8s.io/gateways:list gateway.networking.k8s.io/gateways:watch \
gateway.networking.k8s.io/referencegrants:get gateway.networking.k8s.io/referencegrants:list gateway.networking.k8s.io/referencegrants:watch \
gateway.networking.k8s.io/tlsroutes/status:patch gateway.networking.k8s.io/tlsroutes/status:update \
gateway.networking.k8s.io/tlsroutes:get gateway.networking.k8s.io/tlsroutes:list gateway.networking.k8s.io/tlsroutes:watch \
networking.k8s.io/ingresses:get networking.k8s.io/ingresses:list networking.k8s.io/ingresses:watch"
for b in etc/kubernetes+gateway etc/kubernetes+gateway+io_uring; do
	f() { fact "$b" "$1"; }
	check_eq "$b: the controller is a native sidecar" "initContainer restartPolicy=Always" "$(f controller)"
	check_eq "$b: ... running passthrough-gateway watch" "/usr/bin/passthrough-gateway watch" "$(f 'controller argv')"
	conf=$(f 'controller --config')
	check_eq "$b: ... --config" /etc/passthrough/generated/passthrough.conf "$conf"
	check_eq "$b: ... --base, the ConfigMap's file" /etc/passthrough/base/passthrough.conf "$(f 'controller --base')"
	check_eq "$b: ... --passthrough, the image's daemon" /usr/sbin/passthrough "$(f 'controller --passthrough')"
	check_eq "$b: its startupProbe waits for the first configuration" "/usr/bin/test -s $conf" "$(f 'controller startupProbe')"
	check_eq "$b: the proxy runs on --config" "$conf" "$(f 'proxy -c')"
	check_eq "$b: its readiness probe reads --config's segment" "$conf" "$(f 'proxy readiness -c')"
	check_eq "$b: the metrics sidecar too (its wait and its server)" "$conf $conf" "$(f 'metrics -c')"
	for c in gateway passthrough metrics; do
		check_eq "$b: $c mounts the shared emptyDir at --config's directory" "generated emptyDir Memory" \
		    "$(f "$c at dirname(--config)")"
		check_eq "$b: $c mounts the pod's shared /dev/shm" "shm emptyDir Memory" "$(f "$c at /dev/shm")"
		check_eq "$b: $c: non-root, read-only root, no escalation, no capability" \
		    "nonroot=true rofs=true noescalation=true drop=ALL" "$(f "$c runs as")"
	done
	check_eq "$b: the controller alone holds the API token" \
	    "/var/run/secrets/kubernetes.io/serviceaccount ro=true" "$(f 'gateway token mounts')"
	check_eq "$b: ... not the proxy" none "$(f 'passthrough token mounts')"
	check_eq "$b: ... nor the metrics sidecar" none "$(f 'metrics token mounts')"
	check_eq "$b: the pod mounts no token of its own" false "$(f 'pod automountServiceAccountToken')"
	check_eq "$b: the pod's service account" "passthrough/passthrough-gateway automount=false" "$(f 'service account')"
	check_eq "$b: bound to the ClusterRole, in the namespace it lives in" \
	    "ClusterRole/passthrough-gateway -> ServiceAccount/passthrough/passthrough-gateway" "$(f bindings)"
	check_eq "$b: the ClusterRole grants exactly the reads and the status writes" "$RULES" "$(f rules)"
	check_eq "$b: no other Role or RoleBinding" "" "$(f 'extra RBAC')"
	check_eq "$b: the GatewayClass names this controller" "passthrough=$CONTROLLER_NAME" "$(f gatewayclasses)"
	check_eq "$b: the non-root proxy may bind 443 (a safe sysctl)" "net.ipv4.ip_unprivileged_port_start=0" "$(f 'pod sysctls')"
	check_eq "$b: the container port tls, the Service's target" 443 "$(f 'proxy port tls')"
done

echo "--- the gateway base renders the example into a configuration passthrough -t accepts"
GATEWAY=$BUILD/passthrough-gateway
[ -x "$GATEWAY" ] || die "$GATEWAY is missing: build it with make BUILD=$BUILD all"
# The example's backend, the demo Service, as the API server holds it (a clusterIP).
sed 's/^spec:$/spec:\n  clusterIP: 10.96.143.20/; s/^  name: demo-tls$/  name: demo-tls\n  namespace: passthrough-demo/' \
    "$K8S/demo/service.yaml" >"$T/demo-service.yaml"
if "$GATEWAY" render --status "$T/example.status" --base "$K8S/gateway/passthrough.conf" "$K8S/gateway/gatewayclass.yaml" \
    "$K8S"/gateway/example/*.yaml "$T/demo-service.yaml" >"$T/example.conf" 2>"$T/example.err"; then
	pass "render of the example with the component's base"
else
	fail "render of the example: $(head -n 3 "$T/example.err")"
fi
check_eq "passthrough -t of the rendered example" "configuration OK" "$("$PT" -t -c "$T/example.conf" 2>&1)"
conf=$(cat "$T/example.conf")
check_match "it listens on 443 (the container port)" 'listen = \[ "\*:443", "\[::\]:443" \];' "$conf"
check_match "it routes demo.example.com to the Service" 'sni = "demo.example.com"; backends = \(' "$conf"
check_match "... at its clusterIP and port" 'address = "10\.96\.143\.20:443"' "$conf"
check_match "it keeps watch_config = true (--reload watch)" '^watch_config = true;$' "$conf"
check_match "it keeps the base's stats.name (one segment for the three containers)" '^  name = "passthrough";$' "$conf"
check_eq "the GatewayClass, the Gateway and the TLSRoute are Accepted" "True True True" \
    "$(jq -r '[.items[] | .status.conditions // .status.parents[0].conditions | .[] | select(.type == "Accepted") | .status] | join(" ")' "$T/example.status")"

echo "--- the pod's sysctls let the non-root proxy bind the rendered 443, as the pod's network namespace does"
# pod_bind SYSCTLS...: in a network namespace of its own (the pod's) with
# those sysctls set (as the kubelet sets them when it makes the pod's
# sandbox), the proxy runs as uid 10001 with no capability on the rendered
# example, from a private /dev/shm; prints the addresses listening on 443
# once its workers run, then its log's first error line.
pod_bind() {
	# shellcheck disable=SC2016  # expanded by the inner shell
	unshare --mount --net --propagation private bash -c '
		pt=$1 conf=$2
		shift 2
		ip link set lo up || exit 1
		mount -t tmpfs -o mode=1777 pt-shm /dev/shm || exit 1
		mkdir -m 0755 /dev/shm/generated && mkdir -m 0700 /dev/shm/run && chown 10001:10001 /dev/shm/run &&
		    cp "$conf" /dev/shm/generated/passthrough.conf && chmod 0644 /dev/shm/generated/passthrough.conf || exit 1
		for s in "$@"; do sysctl -qw "$s" || exit 1; done
		XDG_RUNTIME_DIR=/dev/shm/run setpriv --reuid 10001 --regid 10001 --clear-groups --inh-caps=-all \
		    "$pt" -f -c /dev/shm/generated/passthrough.conf >/dev/shm/log 2>&1 &
		pid=$!
		for _ in $(seq 50); do
			[ "$(grep -c "info: started:" /dev/shm/log)" -ge 2 ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		ss -Htln "( sport = :443 )" | awk "{ print \$4 }" | sort -u | tr "\n" " " | sed "s/ \$//"
		echo
		grep -m1 " error: " /dev/shm/log
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		true' _ "$PT" "$T/example.conf" "$@"
}
mapfile -t sysctls < <(fact etc/kubernetes+gateway 'pod sysctls' | tr ',' '\n')
out=$(pod_bind "${sysctls[@]}" 2>&1)
check_eq "with the pod's sysctls (${sysctls[*]}): uid 10001 listens on 443, IPv4 and IPv6" \
    "0.0.0.0:443 [::]:443" "$(head -n 1 <<<"$out")"
check_eq "... with no error" "" "$(sed -n 2p <<<"$out")"
out=$(pod_bind 2>&1)
check_eq "without them: nothing listens on 443" "" "$(head -n 1 <<<"$out")"
check_match "... the bind is refused" 'listen .*:443: bind: Permission denied' "$(sed -n 2p <<<"$out")"

echo "--- the gateway pod's files: a rename in the controller's emptyDir reloads the proxy that mounts it read-only"
# pod_reload: the gateway pod's layout in namespaces of its own: /dev/shm a
# private tmpfs (the pod's shm emptyDir), the generated directory written
# as uid 10001 (the controller) and bound read-only where the proxy reads
# it, the proxy as uid 10001 with the pod's sysctls on the empty render.
# Then a render of the example renamed into place, as watch writes it.
# Prints "written SHA", the proxy's reload line, and what passthrough-stats
# reads from a read-only /dev/shm (the controller's mount):
# "serving SHA GENERATION".
pod_reload() {
	# shellcheck disable=SC2016  # expanded by the inner shell
	unshare --mount --net --propagation private bash -c '
		pt=$1 stats=$2 gw=$3 base=$4 first=$5 sysctl=$6
		shift 6
		as_pod() { setpriv --reuid 10001 --regid 10001 --clear-groups --inh-caps=-all "$@"; }
		ip link set lo up || exit 1
		mount -t tmpfs -o mode=1777 pt-shm /dev/shm || exit 1
		mkdir -m 0755 /dev/shm/generated /dev/shm/proxy /dev/shm/in && mkdir -m 0700 /dev/shm/run &&
		    chown 10001:10001 /dev/shm/generated /dev/shm/run || exit 1
		# What the controller reads (the API objects, the base), readable by it.
		cp "$base" /dev/shm/in/base.conf && cp "$@" /dev/shm/in/ && chmod -R a+rX /dev/shm/in &&
		    install -o 10001 -g 10001 -m 0644 "$first" /dev/shm/generated/passthrough.conf || exit 1
		mount --bind /dev/shm/generated /dev/shm/proxy && mount -o remount,bind,ro /dev/shm/proxy || exit 1
		sysctl -qw "$sysctl" || exit 1
		# Its own output to the log: nothing of it holds the pipe of the caller.
		XDG_RUNTIME_DIR=/dev/shm/run setpriv --reuid 10001 --regid 10001 --clear-groups --inh-caps=-all \
		    "$pt" -f -c /dev/shm/proxy/passthrough.conf >/dev/shm/log 2>&1 &
		pid=$!
		trap "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null" EXIT
		for _ in $(seq 50); do
			[ "$(grep -c "info: started:" /dev/shm/log)" -ge 2 ] && break
			sleep 0.1
		done
		set -- "${@##*/}"
		as_pod "$gw" render --base /dev/shm/in/base.conf "${@/#//dev/shm/in/}" >/dev/shm/generated/.passthrough.conf.tmp &&
		    as_pod mv /dev/shm/generated/.passthrough.conf.tmp /dev/shm/generated/passthrough.conf || exit 1
		echo "written $(sha256sum </dev/shm/generated/passthrough.conf | cut -d" " -f1)"
		for _ in $(seq 30); do
			grep -q "reloaded .*generation 2" /dev/shm/log && break
			sleep 0.1
		done
		grep -m1 -o "reloaded .*" /dev/shm/log || echo "no reload"
		unshare --mount --propagation private bash -c "mount --bind /dev/shm /dev/shm &&
		    mount -o remount,bind,ro /dev/shm && exec setpriv --reuid 10001 --regid 10001 --clear-groups \"\$1\" --json -c /dev/shm/generated/passthrough.conf" _ "$stats" |
		    jq -r "\"serving \(.config_sha256) \(.generation)\""
		true' _ "$PT" "$BUILD/passthrough-stats" "$GATEWAY" "$K8S/gateway/passthrough.conf" "$T/empty.conf" "$@"
}
# The first render: no object (only the --ingress-port group), as in a
# cluster with no Gateway yet.
echo '{ "apiVersion": "v1", "kind": "List", "items": [] }' >"$T/nothing.json"
"$GATEWAY" render --base "$K8S/gateway/passthrough.conf" "$T/nothing.json" >"$T/empty.conf" ||
    die "render of an empty List failed"
out=$(pod_reload "${sysctls[0]}" "$K8S/gateway/gatewayclass.yaml" "$K8S"/gateway/example/*.yaml \
    "$T/demo-service.yaml" 2>&1)
sed 's/^/     | /' <<<"$out"
written=$(sed -n 's/^written //p' <<<"$out")
check_eq "the example's render was written" 64 "${#written}"
check_match "the proxy on the read-only mount reloaded it" \
    '^reloaded /dev/shm/proxy/passthrough\.conf: generation 2, 1 routes$' "$out"
check_eq "from a read-only /dev/shm, config_sha256 is the written file's (what sets Programmed)" \
    "serving $written 2" "$(grep '^serving ' <<<"$out")"

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
broken gateway_unsafe_sysctl 'fails Pod Security "restricted".*sysctl net.core.somaxconn' \
    <<<'sed -i "s/net.ipv4.ip_unprivileged_port_start/net.core.somaxconn/" gateway/deployment-gateway.yaml; sed -i "s/^components: \[\]/components: [ gateway ]/" kustomization.yaml'
broken gatewayclass_misspelt_field "GatewayClass passthrough/passthrough: .*required property controllerName" \
    <<<'sed -i "s/controllerName:/controllerNmae:/" gateway/gatewayclass.yaml; sed -i "s/^components: \[\]/components: [ gateway ]/" kustomization.yaml'
broken native_sidecar_misspelt 'Deployment passthrough/passthrough: unknown field .spec.template.spec.initContainers\[0\].restartPolicyy$' \
    <<<'sed -i "s/restartPolicy: Always/restartPolicyy: Always/" gateway/deployment-gateway.yaml; sed -i "s/^components: \[\]/components: [ gateway ]/" kustomization.yaml'
broken patch_misses 'seccomp-localhost.yaml: .*no such path' \
    <<<'sed -i "s|/securityContext/seccompProfile|/securityContext/seccompProfil/x|" io_uring/seccomp-localhost.yaml; sed -i "s/^components: \[\]/components: [ io_uring ]/" kustomization.yaml'
finish
