/*
 * gateway_render_test.c -- tools/gateway/render.c and the files it drives
 * (gateway.c, tlsroute.c, backend.c, ingress.c, status.c, confout.c): the
 * translation rules on small object sets written from the Gateway API
 * spec: attachment and its status reasons, weights and reject shares,
 * ReferenceGrants, EndpointSlices, passthrough Ingresses, other classes,
 * the written configuration and its determinism.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

static const struct gw_options opts = {
	GW_OPTIONS_DEFAULTS,
	.now = "2026-01-01T00:00:00Z",
};

#define GWCLASS(name, ctl) \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: " name "}\n" \
	"spec: {controllerName: " ctl "}\n---\n"
#define OURS	GW_CONTROLLER_NAME
/* A Gateway of class cls with one listener line ("{name: tls, port: 8443, ...}"). */
#define GATEWAY(name, cls, listeners) \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: " name "}\n" \
	"spec:\n  gatewayClassName: " cls "\n  listeners:\n" listeners "---\n"
#define PASSTHROUGH(name, port, extra) \
	"  - {name: " name ", port: " port ", protocol: TLS, tls: {mode: Passthrough}" extra "}\n"
#define SERVICE(name, ip, port) \
	"apiVersion: v1\nkind: Service\nmetadata: {name: " name "}\n" \
	"spec: {clusterIP: " ip ", ports: [{name: https, port: " port "}]}\n---\n"
#define ROUTE(name, parents, hosts, refs) \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\nmetadata: {name: " name "}\n" \
	"spec:\n  parentRefs: [" parents "]\n  hostnames: [" hosts "]\n" \
	"  rules: [{backendRefs: [" refs "]}]\n---\n"

struct rendered {
	struct gw_result r;
	char *conf;
	json_t *status;		/* its items */
};

static void
render_text(const char *text, const struct gw_options *o, struct rendered *out)
{
	struct gw_input in = { 0 };
	struct gw_err e = { "" };
	size_t len;
	FILE *mem;
	static char name[] = "t.yaml";
	char *files[] = { name };

	cr_assert_eq(load_buffer(&in, "t.yaml", text, strlen(text), &e), 0, "%s", e.msg);
	cr_assert_eq(render_run(&in, o, &out->r, &e), 0, "%s", e.msg);
	cr_assert((mem = open_memstream(&out->conf, &len)) != NULL);
	cr_assert_eq(confout_write(mem, &out->r, o, NULL, files, 1), 0);
	fclose(mem);
	out->status = json_object_get(out->r.status, "items");
	load_free(&in);
}

static void
rendered_free(struct rendered *out)
{
	render_free(&out->r);
	free(out->conf);
}

/* "ADDR*W ADDR*W reject*W" of the route sni on port; "(none)" when absent. */
static const char *
backends(const struct rendered *out, int port, const char *sni)
{
	static char buf[1024];
	size_t i, k, used = 0;

	for (i = 0; i < out->r.ngroups; i++) {
		const struct gw_group *g = &out->r.groups[i];

		if (g->port != port)
			continue;
		for (k = 0; k < g->nroutes; k++) {
			size_t b;

			if (strcmp(g->routes[k].sni, sni) != 0)
				continue;
			buf[0] = '\0';
			for (b = 0; b < g->routes[k].nbackends; b++) {
				const struct gw_backend *x = &g->routes[k].backends[b];

				used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s*%lld",
				    b ? " " : "", x->reject ? "reject" : x->address, x->weight);
			}
			return buf;
		}
	}
	return "(none)";
}

/* The status item of kind/name, or NULL. */
static json_t *
item(const struct rendered *out, const char *kind, const char *name)
{
	json_t *it;
	size_t i;

	json_array_foreach(out->status, i, it)
		if (!strcmp(json_string_value(json_object_get(it, "kind")), kind) &&
		    !strcmp(json_string_value(json_object_get(json_object_get(it, "metadata"), "name")),
		    name))
			return it;
	return NULL;
}

/* "STATUS/REASON" of the condition type in conds, or "(none)". */
static const char *
cond(const json_t *conds, const char *type)
{
	static char buf[256];
	json_t *c;
	size_t i;

	json_array_foreach(conds, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")), type)) {
			snprintf(buf, sizeof(buf), "%s/%s", json_string_value(json_object_get(c, "status")),
			    json_string_value(json_object_get(c, "reason")));
			return buf;
		}
	return "(none)";
}

/* A TLSRoute's first parent's condition. */
static const char *
route_cond(const struct rendered *out, const char *route, const char *type)
{
	json_t *it = item(out, "TLSRoute", route);

	cr_assert(it != NULL, "no status for TLSRoute %s", route);
	return cond(json_object_get(json_array_get(json_object_get(json_object_get(it, "status"),
	    "parents"), 0), "conditions"), type);
}

/* A Gateway listener's status entry by name. */
static json_t *
listener(const struct rendered *out, const char *gw, const char *name)
{
	json_t *it = item(out, "Gateway", gw), *l;
	size_t i;

	cr_assert(it != NULL, "no status for Gateway %s", gw);
	json_array_foreach(json_object_get(json_object_get(it, "status"), "listeners"), i, l)
		if (!strcmp(json_string_value(json_object_get(l, "name")), name))
			return l;
	cr_assert_fail("Gateway %s has no listener %s in its status", gw, name);
	return NULL;
}

#define EXPECT_STR(got, want) \
	cr_expect(strcmp((got), (want)) == 0, "%s: want \"%s\", got \"%s\"", #got, (want), (got))

Test(gateway_render, simple_route_to_a_cluster_ip)
{
	struct rendered o;

	render_text(GWCLASS("passthrough", OURS)
	    GATEWAY("gw", "passthrough", PASSTHROUGH("tls", "8443", ""))
	    ROUTE("r", "{name: gw}", "app.example.com", "{name: app, port: 443}")
	    SERVICE("app", "10.0.0.1", "443"), &opts, &o);
	EXPECT_STR(backends(&o, 8443, "app.example.com"), "10.0.0.1:443*1");
	EXPECT_STR(route_cond(&o, "r", "Accepted"), "True/Accepted");
	EXPECT_STR(route_cond(&o, "r", "ResolvedRefs"), "True/ResolvedRefs");
	EXPECT_STR(cond(json_object_get(json_object_get(item(&o, "GatewayClass", "passthrough"),
	    "status"), "conditions"), "Accepted"), "True/Accepted");
	cr_expect_eq(json_integer_value(json_object_get(listener(&o, "gw", "tls"), "attachedRoutes")), 1);
	EXPECT_STR(cond(json_object_get(listener(&o, "gw", "tls"), "conditions"), "Programmed"),
	    "True/Programmed");
	cr_expect(strstr(o.conf, "  { listen = [ \"*:8443\", \"[::]:8443\" ];\n") != NULL, "%s", o.conf);
	cr_expect(strstr(o.conf, "{ sni = \"app.example.com\"; backends = (\n"
	    "          { address = \"10.0.0.1:443\"; weight = 1; } ); }   # TLSRoute default/r\n") !=
	    NULL, "%s", o.conf);
	rendered_free(&o);
}

Test(gateway_render, weights_and_a_missing_service_keep_its_share_failing)
{
	struct rendered o;

	render_text(GATEWAY("gw", "passthrough", PASSTHROUGH("tls", "8443", ""))
	    ROUTE("r", "{name: gw}", "app.example.com",
	        "{name: a, port: 443, weight: 3}, {name: gone, port: 443, weight: 1}, "
	        "{name: b, port: 443, weight: 0}")
	    SERVICE("a", "10.0.0.1", "443") SERVICE("b", "10.0.0.2", "443"), &opts, &o);
	EXPECT_STR(backends(&o, 8443, "app.example.com"), "10.0.0.1:443*3 reject*1 10.0.0.2:443*0");
	EXPECT_STR(route_cond(&o, "r", "Accepted"), "True/Accepted");
	EXPECT_STR(route_cond(&o, "r", "ResolvedRefs"), "False/BackendNotFound");
	rendered_free(&o);
}

Test(gateway_render, weights_spread_over_endpoints_in_proportion)
{
	struct rendered o;

	/* a: weight 1 over two endpoints; b: weight 1 on its ClusterIP: 1 + 1 against 2. */
	render_text(GATEWAY("gw", "passthrough", PASSTHROUGH("tls", "8443", ""))
	    ROUTE("r", "{name: gw}", "app.example.com", "{name: a, port: 443}, {name: b, port: 443}")
	    SERVICE("a", "10.0.0.1", "443") SERVICE("b", "10.0.0.2", "443")
	    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata: {name: a-1, labels: {kubernetes.io/service-name: a}}\naddressType: IPv4\n"
	    "ports: [{name: https, port: 8443}]\n"
	    "endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}]\n", &opts, &o);
	EXPECT_STR(backends(&o, 8443, "app.example.com"),
	    "10.1.0.1:8443*1 10.1.0.2:8443*1 10.0.0.2:443*2");
	rendered_free(&o);
}

Test(gateway_render, endpoint_slices_ready_endpoints_by_port_name)
{
	struct rendered o;
	char *dump;

	render_text(GATEWAY("gw", "passthrough", PASSTHROUGH("tls", "8443", ""))
	    ROUTE("r", "{name: gw}", "app.example.com", "{name: a, port: 443}")
	    ROUTE("n", "{name: gw}", "none.example.com", "{name: n, port: 443}")
	    SERVICE("a", "10.0.0.1", "443") SERVICE("n", "10.0.0.9", "443")
	    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata: {name: a-1, labels: {kubernetes.io/service-name: a}}\naddressType: IPv4\n"
	    "ports: [{name: metrics, port: 9090}, {name: https, port: 8443}]\n"
	    "endpoints:\n- {addresses: [10.1.0.1], conditions: {ready: true}}\n"
	    "- {addresses: [10.1.0.2], conditions: {ready: false}}\n- {addresses: [10.1.0.3]}\n---\n"
	    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata: {name: a-2, labels: {kubernetes.io/service-name: a}}\naddressType: IPv6\n"
	    "ports: [{name: https, port: 8443}]\nendpoints: [{addresses: [\"fd00::1\"]}]\n---\n"
	    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata: {name: other, labels: {kubernetes.io/service-name: zz}}\naddressType: IPv4\n"
	    "ports: [{name: https, port: 1}]\nendpoints: [{addresses: [10.9.9.9]}]\n---\n"
	    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata: {name: n-1, labels: {kubernetes.io/service-name: n}}\naddressType: IPv4\n"
	    "ports: [{name: https, port: 8443}]\n"
	    "endpoints: [{addresses: [10.2.0.1], conditions: {ready: false}}]\n", &opts, &o);
	EXPECT_STR(backends(&o, 8443, "app.example.com"),
	    "10.1.0.1:8443*1 10.1.0.3:8443*1 [fd00::1]:8443*1");
	/* A Service whose slices have no ready endpoint: its share is refused, not its ClusterIP. */
	EXPECT_STR(backends(&o, 8443, "none.example.com"), "reject*1");
	EXPECT_STR(route_cond(&o, "n", "ResolvedRefs"), "True/ResolvedRefs");
	dump = json_dumps(item(&o, "TLSRoute", "n"), 0);
	cr_expect(strstr(dump, "Service default/n has no ready endpoint: its share is refused") != NULL,
	    "the condition's message names it: %s", dump);
	free(dump);
	rendered_free(&o);
}

#define CROSS(grant) \
	GATEWAY("gw", "passthrough", PASSTHROUGH("tls", "8443", "")) \
	ROUTE("r", "{name: gw}", "app.example.com", "{name: app, namespace: other, port: 443}") \
	"apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: other}\n" \
	"spec: {clusterIP: 10.0.0.5, ports: [{port: 443}]}\n---\n" grant

#define GRANT(ns, fromkind, fromns, toname) \
	"apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n" \
	"metadata: {name: g, namespace: " ns "}\nspec:\n" \
	"  from: [{group: gateway.networking.k8s.io, kind: " fromkind ", namespace: " fromns "}]\n" \
	"  to: [{group: \"\", kind: Service" toname "}]\n"

Test(gateway_render, cross_namespace_refs_need_a_reference_grant)
{
	static const struct {
		const char *text, *backends, *resolved;
	} cases[] = {
		{ CROSS(""), "reject*1", "False/RefNotPermitted" },
		{ CROSS(GRANT("other", "TLSRoute", "default", "")), "10.0.0.5:443*1", "True/ResolvedRefs" },
		{ CROSS(GRANT("other", "TLSRoute", "default", ", name: app")), "10.0.0.5:443*1", "True/ResolvedRefs" },
		{ CROSS(GRANT("other", "TLSRoute", "default", ", name: else")), "reject*1", "False/RefNotPermitted" },
		{ CROSS(GRANT("other", "HTTPRoute", "default", "")), "reject*1", "False/RefNotPermitted" },
		{ CROSS(GRANT("default", "TLSRoute", "default", "")), "reject*1", "False/RefNotPermitted" },
		{ CROSS(GRANT("other", "TLSRoute", "elsewhere", "")), "reject*1", "False/RefNotPermitted" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rendered o;

		render_text(cases[i].text, &opts, &o);
		cr_expect(strcmp(backends(&o, 8443, "app.example.com"), cases[i].backends) == 0,
		    "case %zu: want %s, got %s", i, cases[i].backends, backends(&o, 8443, "app.example.com"));
		cr_expect(strcmp(route_cond(&o, "r", "ResolvedRefs"), cases[i].resolved) == 0,
		    "case %zu: want %s, got %s", i, cases[i].resolved, route_cond(&o, "r", "ResolvedRefs"));
		rendered_free(&o);
	}
}

Test(gateway_render, attachment_reasons)
{
	struct rendered o;

	render_text(GATEWAY("gw", "passthrough",
	        PASSTHROUGH("tls", "8443", ", hostname: \"*.example.com\"")
	        "  - {name: web, port: 8080, protocol: HTTP}\n"
	        "  - {name: term, port: 8444, protocol: TLS, tls: {mode: Terminate}}\n")
	    ROUTE("ok", "{name: gw, sectionName: tls}", "a.example.com, b.example.net",
	        "{name: app, port: 443}")
	    ROUTE("nohost", "{name: gw}", "a.example.net", "{name: app, port: 443}")
	    ROUTE("nosection", "{name: gw, sectionName: nope}", "a.example.com", "{name: app, port: 443}")
	    ROUTE("noport", "{name: gw, port: 9999}", "a.example.com", "{name: app, port: 443}")
	    ROUTE("http", "{name: gw, sectionName: web}", "h.example.com", "{name: app, port: 443}")
	    "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
	    "metadata: {name: elsewhere, namespace: other}\n"
	    "spec: {parentRefs: [{name: gw, namespace: default}], hostnames: [e.example.com]}\n---\n"
	    "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TLSRoute\nmetadata: {name: old}\n"
	    "spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: app, port: 443}]}]}\n---\n"
	    SERVICE("app", "10.0.0.1", "443"), &opts, &o);
	EXPECT_STR(route_cond(&o, "ok", "Accepted"), "True/Accepted");
	EXPECT_STR(backends(&o, 8443, "a.example.com"), "10.0.0.1:443*1");
	EXPECT_STR(backends(&o, 8443, "b.example.net"), "(none)");
	EXPECT_STR(route_cond(&o, "nohost", "Accepted"), "False/NoMatchingListenerHostname");
	EXPECT_STR(route_cond(&o, "nosection", "Accepted"), "False/NoMatchingParent");
	EXPECT_STR(route_cond(&o, "noport", "Accepted"), "False/NoMatchingParent");
	EXPECT_STR(route_cond(&o, "http", "Accepted"), "False/NotAllowedByListeners");
	EXPECT_STR(route_cond(&o, "elsewhere", "Accepted"), "False/NotAllowedByListeners");
	/* v1alpha2 without hostnames: the listener's. */
	EXPECT_STR(route_cond(&o, "old", "Accepted"), "True/Accepted");
	EXPECT_STR(backends(&o, 8443, "*.example.com"), "10.0.0.1:443*1");
	EXPECT_STR(cond(json_object_get(listener(&o, "gw", "web"), "conditions"), "Accepted"),
	    "False/UnsupportedProtocol");
	EXPECT_STR(cond(json_object_get(listener(&o, "gw", "term"), "conditions"), "Accepted"),
	    "False/UnsupportedValue");
	EXPECT_STR(cond(json_object_get(listener(&o, "gw", "web"), "conditions"), "Programmed"),
	    "False/Invalid");
	cr_expect_eq(json_array_size(json_object_get(listener(&o, "gw", "web"), "supportedKinds")), 0);
	cr_expect_eq(json_integer_value(json_object_get(listener(&o, "gw", "tls"), "attachedRoutes")), 2);
	EXPECT_STR(cond(json_object_get(json_object_get(item(&o, "Gateway", "gw"), "status"),
	    "conditions"), "Accepted"), "True/ListenersNotValid");
	cr_expect_eq(o.r.ngroups, 1, "only the passthrough listener's port is served");
	rendered_free(&o);
}

Test(gateway_render, allowed_routes_namespaces)
{
	struct rendered o;

	render_text(GATEWAY("gw", "passthrough",
	        PASSTHROUGH("all", "1001", ", allowedRoutes: {namespaces: {from: All}}")
	        PASSTHROUGH("sel", "1002", ", allowedRoutes: {namespaces: {from: Selector, "
	            "selector: {matchLabels: {team: blue}}}}")
	        PASSTHROUGH("same", "1003", "")
	        PASSTHROUGH("kinds", "1004", ", allowedRoutes: {namespaces: {from: All}, "
	            "kinds: [{kind: HTTPRoute}]}"))
	    "apiVersion: v1\nkind: Namespace\nmetadata: {name: blue, labels: {team: blue}}\n---\n"
	    "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
	    "metadata: {name: r, namespace: blue}\n"
	    "spec: {parentRefs: [{name: gw, namespace: default}], hostnames: [a.example.com]}\n---\n"
	    "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
	    "metadata: {name: r2, namespace: red}\n"
	    "spec: {parentRefs: [{name: gw, namespace: default}], hostnames: [b.example.com]}\n",
	    &opts, &o);
	EXPECT_STR(backends(&o, 1001, "a.example.com"), "reject*1");	/* attached, no backendRefs */
	EXPECT_STR(backends(&o, 1002, "a.example.com"), "reject*1");
	EXPECT_STR(backends(&o, 1003, "a.example.com"), "(none)");
	EXPECT_STR(backends(&o, 1004, "a.example.com"), "(none)");
	EXPECT_STR(backends(&o, 1001, "b.example.com"), "reject*1");
	EXPECT_STR(backends(&o, 1002, "b.example.com"), "(none)");
	EXPECT_STR(cond(json_object_get(listener(&o, "gw", "kinds"), "conditions"), "ResolvedRefs"),
	    "False/InvalidRouteKinds");
	rendered_free(&o);
}

Test(gateway_render, other_classes_are_not_ours)
{
	struct rendered o;

	render_text(GWCLASS("theirs", "example.com/other") GWCLASS("passthrough", "example.com/x")
	    GWCLASS("mine", OURS)
	    GATEWAY("a", "theirs", PASSTHROUGH("tls", "1001", ""))
	    GATEWAY("b", "passthrough", PASSTHROUGH("tls", "1002", ""))
	    GATEWAY("c", "mine", PASSTHROUGH("tls", "1003", ""))
	    GATEWAY("d", "unknown", PASSTHROUGH("tls", "1004", ""))
	    ROUTE("ra", "{name: a}", "a.example.com", "{name: app, port: 443}")
	    ROUTE("rc", "{name: c}", "c.example.com", "{name: app, port: 443}")
	    SERVICE("app", "10.0.0.1", "443"), &opts, &o);
	cr_expect_null(item(&o, "Gateway", "a"));
	cr_expect_null(item(&o, "Gateway", "b"), "class passthrough, but its object names another controller");
	cr_expect_null(item(&o, "Gateway", "d"));
	cr_expect_not_null(item(&o, "Gateway", "c"));
	cr_expect_null(item(&o, "TLSRoute", "ra"));
	cr_expect_null(item(&o, "GatewayClass", "theirs"));
	EXPECT_STR(backends(&o, 1001, "a.example.com"), "(none)");
	EXPECT_STR(backends(&o, 1003, "c.example.com"), "10.0.0.1:443*1");
	cr_expect_eq(o.r.ngroups, 1);
	rendered_free(&o);
}

Test(gateway_render, the_most_specific_listener_takes_its_names)
{
	struct rendered o;

	/* One port: *.example.com (route wild), a.example.com (no route), no hostname (route any). */
	render_text(GATEWAY("gw", "passthrough",
	        PASSTHROUGH("wild", "443", ", hostname: \"*.example.com\"")
	        PASSTHROUGH("a", "443", ", hostname: a.example.com")
	        PASSTHROUGH("any", "443", ""))
	    ROUTE("wild", "{name: gw, sectionName: wild}", "\"*.example.com\"", "{name: one, port: 443}")
	    ROUTE("any", "{name: gw, sectionName: any}", "b.example.com, c.example.org",
	        "{name: two, port: 443}")
	    SERVICE("one", "10.0.0.1", "443") SERVICE("two", "10.0.0.2", "443"), &opts, &o);
	EXPECT_STR(backends(&o, 443, "*.example.com"), "10.0.0.1:443*1");
	EXPECT_STR(backends(&o, 443, "a.example.com"), "reject*1");
	EXPECT_STR(backends(&o, 443, "b.example.com"), "(none)");	/* the wildcard listener's name */
	EXPECT_STR(backends(&o, 443, "c.example.org"), "10.0.0.2:443*1");
	cr_expect_eq(o.r.groups[0].nroutes, 3, "*.example.com, a.example.com, c.example.org");
	rendered_free(&o);
}

#define INGRESS(name, ann, cls, host, port) \
	"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: " name "\n" \
	"  annotations: {" ann "}\nspec:\n" cls "  rules:\n  - host: " host "\n" \
	"    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: " \
	port "}}}]}\n---\n"
#define PASS "nginx.ingress.kubernetes.io/ssl-passthrough: \"true\""

Test(gateway_render, passthrough_ingresses)
{
	struct rendered o;

	render_text(INGRESS("num", PASS, "  ingressClassName: passthrough\n", "n.example.com",
	        "{number: 443}")
	    INGRESS("name", PASS, "  ingressClassName: passthrough\n", "m.example.com", "{name: https}")
	    INGRESS("badport", PASS, "  ingressClassName: passthrough\n", "b.example.com", "{number: 1}")
	    INGRESS("legacy", PASS ", kubernetes.io/ingress.class: passthrough", "", "l.example.com",
	        "{number: 443}")
	    INGRESS("plain", "", "  ingressClassName: passthrough\n", "p.example.com", "{number: 443}")
	    INGRESS("off", "nginx.ingress.kubernetes.io/ssl-passthrough: \"false\"",
	        "  ingressClassName: passthrough\n", "f.example.com", "{number: 443}")
	    INGRESS("other", PASS, "  ingressClassName: nginx\n", "o.example.com", "{number: 443}")
	    SERVICE("app", "10.0.0.1", "443"), &opts, &o);
	EXPECT_STR(backends(&o, 443, "n.example.com"), "10.0.0.1:443*1");
	EXPECT_STR(backends(&o, 443, "m.example.com"), "10.0.0.1:443*1");
	EXPECT_STR(backends(&o, 443, "b.example.com"), "reject*1");
	EXPECT_STR(backends(&o, 443, "l.example.com"), "10.0.0.1:443*1");
	EXPECT_STR(backends(&o, 443, "p.example.com"), "(none)");
	EXPECT_STR(backends(&o, 443, "f.example.com"), "(none)");
	EXPECT_STR(backends(&o, 443, "o.example.com"), "(none)");
	rendered_free(&o);
}

Test(gateway_render, a_name_claimed_twice_goes_to_the_oldest_route)
{
	struct rendered o;

	render_text(GATEWAY("gw", "passthrough", PASSTHROUGH("tls", "443", ""))
	    "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
	    "metadata: {name: a-new, creationTimestamp: \"2025-02-01T00:00:00Z\"}\n"
	    "spec: {parentRefs: [{name: gw}], hostnames: [x.example.com], "
	    "rules: [{backendRefs: [{name: one, port: 443}]}]}\n---\n"
	    "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
	    "metadata: {name: z-old, creationTimestamp: \"2025-01-01T00:00:00Z\"}\n"
	    "spec: {parentRefs: [{name: gw}], hostnames: [x.example.com], "
	    "rules: [{backendRefs: [{name: two, port: 443}]}]}\n---\n"
	    ROUTE("b", "{name: gw}", "y.example.com", "{name: one, port: 443}")
	    ROUTE("a", "{name: gw}", "y.example.com", "{name: two, port: 443}")
	    INGRESS("i", PASS, "  ingressClassName: passthrough\n", "y.example.com", "{number: 443}")
	    SERVICE("one", "10.0.0.1", "443") SERVICE("two", "10.0.0.2", "443")
	    SERVICE("app", "10.0.0.3", "443"), &opts, &o);
	EXPECT_STR(backends(&o, 443, "x.example.com"), "10.0.0.2:443*1");
	EXPECT_STR(backends(&o, 443, "y.example.com"), "10.0.0.2:443*1");	/* default/a first */
	rendered_free(&o);
}

Test(gateway_render, nothing_to_serve_is_the_ingress_port_with_no_routes)
{
	struct gw_options lo = opts;
	struct rendered o;

	lo.listen_address = "::1";
	lo.ingress_port = 8443;
	render_text("", &lo, &o);
	cr_expect(strstr(o.conf, "listeners = (\n  { listen = [ \"[::1]:8443\" ];\n"
	    "    routes = ( ); }\n);\n") != NULL, "%s", o.conf);
	cr_expect_eq(json_array_size(o.status), 0);
	rendered_free(&o);
}

Test(gateway_render, output_does_not_depend_on_input_order)
{
	static const char *const docs[] = {
		GATEWAY("gw", "passthrough", PASSTHROUGH("tls", "443", "") PASSTHROUGH("b", "444", "")),
		ROUTE("r1", "{name: gw}", "b.example.com, a.example.com", "{name: app, port: 443}"),
		ROUTE("r2", "{name: gw}", "c.example.com", "{name: app, port: 443}"),
		SERVICE("app", "10.0.0.1", "443"),
	};
	char fwd[4096] = "", rev[4096] = "";
	struct rendered a, b;
	size_t i, n = sizeof(docs) / sizeof(docs[0]);

	for (i = 0; i < n; i++) {
		strcat(fwd, docs[i]);
		strcat(rev, docs[n - 1 - i]);
	}
	render_text(fwd, &opts, &a);
	render_text(rev, &opts, &b);
	cr_expect(strcmp(a.conf, b.conf) == 0, "%s\n---\n%s", a.conf, b.conf);
	cr_expect(json_equal(a.r.status, b.r.status));
	cr_expect(strstr(a.conf, "\"a.example.com\"") < strstr(a.conf, "\"b.example.com\""));
	rendered_free(&a);
	rendered_free(&b);
}
