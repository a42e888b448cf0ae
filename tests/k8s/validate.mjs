// validate.mjs -- validates Kubernetes manifests against the Kubernetes
// schemas (kubernetes-models, pinned in package-lock.json), and builds
// kustomizations the way kustomize does for the features etc/kubernetes uses.
//
//   node validate.mjs [--emit FILE] FILE.yaml... | DIR[+COMPONENT...]...
//
// FILE.yaml: every document in it is one object, validated by the model of
// its apiVersion and kind (an unknown kind is an error); Gateway API kinds
// (gateway.networking.k8s.io) by @kubernetes-models/gateway-api, the
// fixtures of tests/gateway among them (JSON files too: JSON is YAML). DIR: a directory
// with a kustomization.yaml, built (resources, configMapGenerator,
// components, patches, namespace, labels) and every resulting object
// validated; DIR+io_uring also applies the component DIR/io_uring. Each
// built pod template is checked against Pod Security "restricted" when its
// namespace enforces that level (its init containers too, and its sysctls:
// only the safe ones). --emit FILE writes the built objects as
// JSON ({ "DIR[+...]": [objects] }) for the caller to compare.
//
// What the schemas catch: wrong types ("replicas: two"), missing required
// fields (a container without a name), bad enums in formats (int-or-string,
// quantities). The models allow any extra key, so unknown fields (a
// misspelt "readinessProb") are found by a walk of their type declarations
// (the .d.ts files of the same packages: each interface's field names and
// their types), as the API server's strict field validation would. Not
// caught: cross-field rules the API server enforces (a selector that does
// not match the template's labels), values it checks beyond the schema.
// Kustomize features outside the set below are refused, not guessed at.
//
// Prints one line per object ("ok KIND NAME (SOURCE)") and exits 1 on any
// error, 2 on usage.

import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

const MODULES = path.join(path.dirname(new URL(import.meta.url).pathname), "node_modules");

let errors = 0;
function fail(msg) {
	console.log(`FAIL ${msg}`);
	errors++;
}

function readYaml(file) {
	const docs = parseAllDocuments(fs.readFileSync(file, "utf8"));
	const out = [];
	for (const d of docs) {
		if (d.errors.length) {
			fail(`${file}: YAML: ${d.errors[0].message}`);
			continue;
		}
		const v = d.toJS();
		if (v !== null && v !== undefined)
			out.push(v);
	}
	return out;
}

function gvk(obj) {
	const av = String(obj.apiVersion ?? "");
	const i = av.indexOf("/");
	return { group: i < 0 ? "" : av.slice(0, i), version: i < 0 ? av : av.slice(i + 1), kind: obj.kind };
}

function label(obj) {
	return `${obj.kind} ${obj.metadata?.namespace ? obj.metadata.namespace + "/" : ""}${obj.metadata?.name}`;
}

// The package holding the models of an API group: the Gateway API's own
// (@kubernetes-models/gateway-api: GatewayClass, Gateway, TLSRoute v1 and
// v1alpha2, ReferenceGrant v1beta1 and v1, ...), kubernetes-models for the rest.
const GROUP_PACKAGES = { "gateway.networking.k8s.io": "@kubernetes-models/gateway-api" };

function modelPackage(group) {
	return GROUP_PACKAGES[group] ?? "kubernetes-models";
}

async function validateObject(obj, source) {
	if (typeof obj !== "object" || Array.isArray(obj) || !obj.apiVersion || !obj.kind) {
		fail(`${source}: not a Kubernetes object (no apiVersion/kind)`);
		return;
	}
	const { group, version, kind } = gvk(obj);
	if (!/^[A-Za-z0-9.]*$/.test(group) || !/^[a-z0-9]+$/.test(version) || !/^[A-Za-z]+$/.test(kind)) {
		fail(`${source}: ${obj.apiVersion} ${kind}: not a known kind`);
		return;
	}
	const pkg = modelPackage(group);
	let Model;
	try {
		const mod = await import(`${pkg}/${group ? group + "/" : ""}${version}/${kind}`);
		Model = mod[kind];
	} catch {
		Model = undefined;
	}
	if (typeof Model !== "function") {
		fail(`${source}: ${obj.apiVersion} ${kind}: not a known kind`);
		return;
	}
	try {
		new Model(obj).validate();
	} catch (e) {
		fail(`${source}: ${label(obj)}: ${String(e.message ?? e).split("\n").slice(0, 6).join("; ")}`);
		return;
	}
	const unknown = [];
	unknownFields(obj, path.join(MODULES, pkg, group, version, `${kind}.d.ts`), "", unknown);
	if (unknown.length) {
		fail(`${source}: ${label(obj)}: unknown field${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`);
		return;
	}
	console.log(`ok   ${label(obj)} (${source})`);
}

// ---- unknown fields, from the models' type declarations ----

const declarations = new Map();

// The first interface of a .d.ts file: { field: type file, or null (a
// scalar, a map or a type not declared by an interface: not walked) }, or
// null when the file declares no interface. An interface that extends
// another declared in a file of the packages (the Gateway API's: TLSRouteSpec
// extends CommonRouteSpec, BackendRef BackendObjectReference) has its fields
// too; kubernetes-models' interfaces extend none but TypeMeta, which has no
// such file (its apiVersion and kind are declared again).
function declaration(file) {
	if (declarations.has(file))
		return declarations.get(file);
	const text = fs.readFileSync(file, "utf8");
	const imports = new Map();
	for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
		const from = m[2].startsWith(".") ? path.join(path.dirname(file), m[2].replace(/\.js$/, "")) :
			path.join(MODULES, m[2]);
		imports.set(m[1], `${from}.d.ts`);
	}
	const body = text.match(/^export interface \w+[^{]*\{\n([\s\S]*?)^\}/m);
	let fields = null;
	if (body) {
		fields = {};
		const parent = body[0].match(/^export interface \w+ extends (\w+) \{/);
		const parentFile = parent && imports.get(parent[1]);
		if (parentFile && fs.existsSync(parentFile))
			Object.assign(fields, declaration(parentFile));
		for (const m of body[1].matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) {
			const type = m[2].replace(/;$/, "").replace(/^Array<(.*)>$/, "$1");
			fields[m[1]] = imports.get(type) ?? null;
		}
	}
	declarations.set(file, fields);
	return fields;
}

// Adds to out the paths of obj's fields that the interface in file lacks.
function unknownFields(obj, file, at, out) {
	if (Array.isArray(obj)) {
		obj.forEach((o, i) => unknownFields(o, file, `${at}[${i}]`, out));
		return;
	}
	if (typeof obj !== "object" || obj === null || !fs.existsSync(file))
		return;
	const fields = declaration(file);
	if (fields === null)
		return;
	for (const [key, value] of Object.entries(obj)) {
		if (!(key in fields))
			out.push(`${at}.${key}`);
		else if (fields[key] !== null)
			unknownFields(value, fields[key], `${at}.${key}`, out);
	}
}

// ---- kustomize, the subset etc/kubernetes uses ----

const KUSTOMIZATION_KEYS = new Set(["apiVersion", "kind", "namespace", "labels", "resources",
	"components", "configMapGenerator", "patches"]);
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
	"StorageClass", "CustomResourceDefinition", "PriorityClass", "IngressClass"]);

function mustExist(p, what) {
	if (!fs.existsSync(p))
		throw new Error(`${what} ${p} does not exist`);
	return p;
}

function loadKustomization(dir, wantKind) {
	const file = mustExist(path.join(dir, "kustomization.yaml"), "kustomization");
	const docs = readYaml(file);
	if (docs.length !== 1)
		throw new Error(`${file}: one document expected`);
	const k = docs[0];
	if (k.kind !== wantKind)
		throw new Error(`${file}: kind ${k.kind}, expected ${wantKind}`);
	for (const key of Object.keys(k))
		if (!KUSTOMIZATION_KEYS.has(key))
			throw new Error(`${file}: "${key}" is not supported by this validator`);
	return { file, k };
}

function generateConfigMaps(dir, k, objs) {
	for (const g of k.configMapGenerator ?? []) {
		if (g.options?.disableNameSuffixHash !== true)
			throw new Error(`${dir}: configMapGenerator ${g.name}: only disableNameSuffixHash: true is supported`);
		const data = {};
		for (const f of g.files ?? []) {
			const [key, rel] = f.includes("=") ? f.split("=", 2) : [path.basename(f), f];
			data[key] = fs.readFileSync(mustExist(path.join(dir, rel), "configMapGenerator file"), "utf8");
		}
		const behavior = g.behavior ?? "create";
		const found = objs.findIndex((o) => o.kind === "ConfigMap" && o.metadata?.name === g.name);
		if (behavior === "create") {
			if (found >= 0)
				throw new Error(`${dir}: configMapGenerator ${g.name}: already exists`);
			objs.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: g.name }, data });
		} else if (behavior === "replace" || behavior === "merge") {
			if (found < 0)
				throw new Error(`${dir}: configMapGenerator ${g.name}: nothing to ${behavior}`);
			const cm = objs[found];
			cm.data = behavior === "replace" ? data : { ...cm.data, ...data };
		} else {
			throw new Error(`${dir}: configMapGenerator ${g.name}: behavior ${behavior}?`);
		}
	}
}

function matches(obj, t) {
	const o = gvk(obj);
	return (t.group === undefined || t.group === o.group) && (t.version === undefined || t.version === o.version) &&
		(t.kind === undefined || t.kind === o.kind) && (t.name === undefined || t.name === obj.metadata?.name);
}

function pointer(p) {
	if (!p.startsWith("/"))
		throw new Error(`JSON pointer ${p}`);
	return p.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

// RFC 6902 add, replace and remove.
function jsonPatch(obj, ops, where) {
	for (const op of ops) {
		const keys = pointer(op.path);
		const last = keys.pop();
		let parent = obj;
		for (const key of keys) {
			parent = parent?.[key];
			if (typeof parent !== "object" || parent === null)
				throw new Error(`${where}: ${op.op} ${op.path}: no such path`);
		}
		const isArray = Array.isArray(parent);
		const idx = isArray ? (last === "-" ? parent.length : Number(last)) : last;
		if (op.op === "add") {
			if (isArray)
				parent.splice(idx, 0, op.value);
			else
				parent[idx] = op.value;
		} else if (op.op === "replace" || op.op === "remove") {
			if (!(idx in parent))
				throw new Error(`${where}: ${op.op} ${op.path}: no such path`);
			if (op.op === "remove")
				isArray ? parent.splice(idx, 1) : delete parent[idx];
			else
				parent[idx] = op.value;
		} else {
			throw new Error(`${where}: op ${op.op} is not supported by this validator`);
		}
	}
}

function applyPatches(dir, k, objs) {
	for (const p of k.patches ?? []) {
		if (!p.path)
			throw new Error(`${dir}: only patches with a path are supported`);
		const file = mustExist(path.join(dir, p.path), "patch");
		const docs = readYaml(file);
		if (docs.length === 1 && Array.isArray(docs[0])) {
			if (!p.target)
				throw new Error(`${file}: a JSON patch needs a target`);
			const hit = objs.filter((o) => matches(o, p.target));
			if (hit.length === 0)
				throw new Error(`${file}: its target matches no object`);
			for (const o of hit)
				jsonPatch(o, docs[0], file);
		} else if (docs.length === 1 && docs[0]["$patch"] === "delete") {
			const d = docs[0];
			const i = objs.findIndex((o) => o.apiVersion === d.apiVersion && o.kind === d.kind &&
				o.metadata?.name === d.metadata?.name);
			if (i < 0)
				throw new Error(`${file}: deletes ${d.kind} ${d.metadata?.name}, which is not there`);
			objs.splice(i, 1);
		} else {
			throw new Error(`${file}: only JSON patches and $patch: delete are supported`);
		}
	}
}

// Resources, then the generators, then the components, then the patches and
// the namespace and labels: kustomize's order.
function build(dir, kind, extra = []) {
	const { k } = loadKustomization(dir, kind);
	const objs = [];
	for (const r of k.resources ?? []) {
		const p = mustExist(path.join(dir, r), "resource");
		if (fs.statSync(p).isDirectory())
			objs.push(...build(p, "Kustomization"));
		else
			objs.push(...readYaml(p));
	}
	generateConfigMaps(dir, k, objs);
	for (const c of [...(k.components ?? []), ...extra]) {
		const cdir = mustExist(path.join(dir, c), "component");
		const { k: ck } = loadKustomization(cdir, "Component");
		for (const r of ck.resources ?? [])
			objs.push(...readYaml(mustExist(path.join(cdir, r), "resource")));
		generateConfigMaps(cdir, ck, objs);
		applyPatches(cdir, ck, objs);
		transform(ck, objs);
	}
	applyPatches(dir, k, objs);
	transform(k, objs);
	return objs;
}

function transform(k, objs) {
	for (const o of objs) {
		o.metadata ??= {};
		if (k.namespace && !CLUSTER_SCOPED.has(o.kind))
			o.metadata.namespace = k.namespace;
		for (const l of k.labels ?? []) {
			if (l.includeSelectors || l.includeTemplates)
				throw new Error("labels: only includeSelectors/includeTemplates false are supported");
			o.metadata.labels = { ...o.metadata.labels, ...l.pairs };
		}
	}
}

// ---- Pod Security "restricted" (and "baseline"), for pod templates ----

const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
	"persistentVolumeClaim", "projected", "secret"];
// The sysctls "baseline" (and so "restricted") allows: the safe, namespaced
// ones (Pod Security Standards, policy version 1.29).
const SAFE_SYSCTLS = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
	"net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
	"net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"];

// The reasons a pod spec fails the level ("baseline" or "restricted").
function podSecurity(spec, level) {
	const why = [];
	const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
	const psc = spec.securityContext ?? {};
	for (const f of ["hostNetwork", "hostPID", "hostIPC"])
		if (spec[f])
			why.push(f);
	for (const s of psc.sysctls ?? [])
		if (!SAFE_SYSCTLS.includes(s.name))
			why.push(`sysctl ${s.name}`);
	for (const c of containers) {
		const sc = c.securityContext ?? {};
		if (sc.privileged)
			why.push(`${c.name}: privileged`);
		for (const p of c.ports ?? [])
			if (p.hostPort)
				why.push(`${c.name}: hostPort ${p.hostPort}`);
		if (level === "baseline")
			continue;
		if (sc.allowPrivilegeEscalation !== false)
			why.push(`${c.name}: allowPrivilegeEscalation is not false`);
		if (!(sc.capabilities?.drop ?? []).includes("ALL"))
			why.push(`${c.name}: capabilities do not drop ALL`);
		for (const a of sc.capabilities?.add ?? [])
			if (a !== "NET_BIND_SERVICE")
				why.push(`${c.name}: adds capability ${a}`);
		if (!(sc.runAsNonRoot ?? psc.runAsNonRoot))
			why.push(`${c.name}: runAsNonRoot is not true`);
		if ((sc.runAsUser ?? psc.runAsUser) === 0)
			why.push(`${c.name}: runAsUser 0`);
		const sp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
		if (sp !== "RuntimeDefault" && sp !== "Localhost")
			why.push(`${c.name}: seccompProfile is not RuntimeDefault or Localhost`);
	}
	for (const v of spec.volumes ?? [])
		if (level === "restricted" && !Object.keys(v).some((key) => RESTRICTED_VOLUMES.includes(key)))
			why.push(`volume ${v.name}: type not allowed`);
		else if (v.hostPath)
			why.push(`volume ${v.name}: hostPath`);
	return why;
}

function checkPodSecurity(objs, source) {
	const levels = {};
	for (const o of objs)
		if (o.kind === "Namespace")
			levels[o.metadata.name] = o.metadata.labels?.["pod-security.kubernetes.io/enforce"];
	for (const o of objs) {
		const spec = o.spec?.template?.spec;
		if (!spec)
			continue;
		const ns = o.metadata?.namespace;
		const level = levels[ns];
		if (level === undefined) {
			fail(`${source}: ${label(o)}: its namespace ${ns} is not in the build, or sets no enforce level`);
			continue;
		}
		if (level === "privileged") {
			const why = podSecurity(spec, "restricted");
			console.log(`ok   ${label(o)}: namespace enforces privileged (not restricted: ${why.join(", ") || "none"})`);
			continue;
		}
		const why = podSecurity(spec, level);
		if (why.length)
			fail(`${source}: ${label(o)}: fails Pod Security "${level}" of namespace ${ns}: ${why.join(", ")}`);
		else
			console.log(`ok   ${label(o)}: passes Pod Security "${level}"`);
	}
}

// ---- main ----

const args = process.argv.slice(2);
let emit = null;
if (args[0] === "--emit") {
	emit = args[1];
	args.splice(0, 2);
}
if (args.length === 0 || emit === undefined) {
	console.error("usage: node validate.mjs [--emit FILE] FILE.yaml... | DIR[+COMPONENT...]...");
	process.exit(2);
}
const emitted = {};
for (const arg of args) {
	const [dir, ...components] = arg.split("+");
	if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) {
		let objs;
		try {
			objs = build(dir, "Kustomization", components);
		} catch (e) {
			fail(`${arg}: ${e.message}`);
			continue;
		}
		for (const o of objs)
			await validateObject(o, arg);
		checkPodSecurity(objs, arg);
		emitted[arg] = objs;
	} else if (fs.existsSync(arg)) {
		for (const o of readYaml(arg))
			await validateObject(o, arg);
	} else {
		fail(`${arg}: no such file or directory`);
	}
}
if (emit)
	fs.writeFileSync(emit, JSON.stringify(emitted, null, 1));
if (errors)
	console.log(`${errors} error${errors > 1 ? "s" : ""}`);
process.exit(errors ? 1 : 0);
