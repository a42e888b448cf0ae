/*
 * gateway_load_test.c -- tools/gateway/load.c and yamldoc.c: the ways
 * Kubernetes objects arrive (one YAML document or several, a List, a
 * typed list whose items leave out kind, JSON objects and arrays) and
 * malformed input (truncated YAML and JSON, wrong types, numbers out of
 * range, missing fields, aliases, deep nesting, NUL bytes): always one
 * clear message with the file and, where known, the line; never a crash.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "render_int.h"

static const struct gw_options opts = {
	GW_OPTIONS_DEFAULTS,
	.now = "2026-01-01T00:00:00Z",
};

/* Loads text as "in.yaml": 0 and the object count in *n, or -1 and the message in e. */
static int
load(const char *text, size_t *n, struct gw_err *e)
{
	struct gw_input in = { 0 };
	int rc = load_buffer(&in, "in.yaml", text, strlen(text), e);

	*n = in.n;
	load_free(&in);
	return rc;
}

/* Loads and renders text; 0, or -1 with e set. */
static int
load_render(const char *text, struct gw_err *e)
{
	struct gw_input in = { 0 };
	struct gw_result r;
	int rc = load_buffer(&in, "in.yaml", text, strlen(text), e);

	if (rc == 0 && (rc = render_run(&in, &opts, &r, e)) == 0)
		render_free(&r);
	load_free(&in);
	return rc;
}

Test(gateway_load, the_shapes_objects_come_in)
{
	struct gw_err e = { "" };
	size_t n;

	cr_assert_eq(load("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n"
	    "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n---\n", &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 2, "two YAML documents (an empty third): %zu objects", n);
	cr_assert_eq(load("apiVersion: v1\nkind: List\nitems:\n"
	    "- {apiVersion: v1, kind: Service, metadata: {name: a}}\n"
	    "- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: x}}\n", &n, &e), 0,
	    "%s", e.msg);
	cr_expect_eq(n, 2, "a List of two: %zu objects", n);
	cr_assert_eq(load("apiVersion: v1\nkind: ServiceList\nitems:\n- metadata: {name: a}\n",
	    &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 1, "a typed list, items without kind: %zu objects", n);
	cr_assert_eq(load("  [ {\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": "
	    "{\"name\": \"a\"}} ]", &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 1, "a JSON array of one: %zu objects", n);
	cr_assert_eq(load("{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": []}", &n, &e), 0,
	    "%s", e.msg);
	cr_expect_eq(n, 0, "an empty JSON List");
	cr_assert_eq(load("", &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 0, "an empty file");
}

/* Input that must be refused, and a piece of the message it must give. */
static const struct {
	const char *text, *want;
} bad[] = {
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a", "in.yaml:4: YAML: " },
	{ "apiVersion: v1\nkind: [Service\n", "in.yaml:3: YAML: " },
	{ "{\"apiVersion\": \"v1\", \"kind\"", "in.yaml:1: JSON: " },
	{ "{\"a\": 1, \"a\": 2}", "JSON: " },
	{ "apiVersion: v1\nmetadata: {name: a}\n", "in.yaml:1: an object without apiVersion or kind" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {}\n", "in.yaml:1: Service without metadata.name" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: 5}\n", "Service without metadata.name" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: [x]}\n",
	  "metadata.namespace is not a string" },
	{ "hello\n", "in.yaml:1: a document that is not an object or a list" },
	{ "- 1\n- 2\n", "an item that is not an object" },
	{ "a: &x {b: 1}\nc: *x\n", "in.yaml:2: YAML aliases (*x) are not supported" },
	{ "a: 1\na: 2\n", "in.yaml:2: the key \"a\" twice" },
	{ "? [a]\n: 1\n", "a mapping key that is not a string" },
	{ "a: 99999999999999999999\n", "in.yaml:1: the number 99999999999999999999 is out of range" },
	{ "a: 1e999\n", "in.yaml:1: the number 1e999 is out of range" },
	{ "apiVersion: v1\nkind: List\nitems: 3\n", "List: items is not a list" },
	/* A name with a newline (found by gateway_fuzz): still one line. */
	{ "apiVersion: v1\nkind: \"Ser\\nvice\"\nmetadata: {}\n", "in.yaml:1: Ser?vice without metadata.name" },
};

Test(gateway_load, malformed_input_gives_one_clear_message)
{
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gw_err e = { "" };

		cr_expect_eq(load(bad[i].text, &n, &e), -1, "accepted:\n%s", bad[i].text);
		cr_expect(strstr(e.msg, bad[i].want) != NULL, "want \"%s\" in \"%s\"", bad[i].want,
		    e.msg);
		cr_expect(strchr(e.msg, '\n') == NULL, "one line: \"%s\"", e.msg);
	}
}

Test(gateway_load, a_nul_byte_is_refused)
{
	static const char text[] = "a: 1\0b: 2\n";
	struct gw_input in = { 0 };
	struct gw_err e = { "" };

	cr_expect_eq(load_buffer(&in, "in.yaml", text, sizeof(text) - 1, &e), -1);
	cr_expect(strstr(e.msg, "in.yaml: a NUL byte") != NULL, "%s", e.msg);
	load_free(&in);
}

Test(gateway_load, nesting_deeper_than_the_limit_is_refused)
{
	char text[2 * GW_DEPTH_MAX + 64];
	struct gw_err e = { "" };
	size_t n, i;

	/* "a: [[[[...": YAML flow sequences, more than the limit, never closed. */
	memcpy(text, "a: ", 3);
	for (i = 3; i < GW_DEPTH_MAX + 10; i++)
		text[i] = '[';
	text[i] = '\0';
	cr_expect_eq(load(text, &n, &e), -1);
	cr_expect(strstr(e.msg, "nested deeper than") != NULL || strstr(e.msg, "YAML") != NULL,
	    "%s", e.msg);
}

/* Objects of kinds the render reads, with fields of the wrong type: the field is named. */
static const struct {
	const char *text, *want;
} wrong[] = {
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n"
	  "spec:\n  gatewayClassName: passthrough\n  listeners:\n"
	  "  - {name: a, port: x, protocol: TLS}\n",
	  "in.yaml:7: Gateway default/g: spec.listeners[].port: not an integer" },
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n"
	  "spec:\n  gatewayClassName: passthrough\n  listeners:\n"
	  "  - {name: a, port: 70000, protocol: TLS}\n", "70000 is not in 1 .. 65535" },
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n"
	  "spec:\n  gatewayClassName: passthrough\n  listeners: 3\n", "spec.listeners: not a list" },
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n"
	  "spec:\n  gatewayClassName: passthrough\n  listeners:\n  - {port: 443}\n",
	  "a listener needs name, port and protocol" },
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\nmetadata: {name: r}\n"
	  "spec:\n  hostnames: [\"Bad_Name\"]\n", "spec.hostnames[0]: not a valid host name" },
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\nmetadata: {name: r}\n"
	  "spec:\n  rules:\n  - backendRefs:\n    - {name: s, port: 443, weight: -1}\n",
	  "backendRefs[].weight: -1 is not in 0 .. 1000000" },
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\nmetadata: {name: r}\n"
	  "spec:\n  rules:\n  - backendRefs:\n    - {name: s}\n", "a Service reference needs a port" },
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\nmetadata: {name: r}\n"
	  "spec:\n  parentRefs: [x]\n", "spec.parentRefs[0]: not an object" },
	{ "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\n"
	  "spec: {controllerName: 7}\n", "GatewayClass c: spec.controllerName: not a string" },
	{ "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  annotations:\n"
	  "    nginx.ingress.kubernetes.io/ssl-passthrough: \"true\"\n"
	  "spec:\n  ingressClassName: passthrough\n  rules: {}\n", "spec.rules: not a list" },
};

Test(gateway_load, wrong_types_name_the_field)
{
	size_t i;

	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		struct gw_err e = { "" };

		cr_expect_eq(load_render(wrong[i].text, &e), -1, "rendered:\n%s", wrong[i].text);
		cr_expect(strstr(e.msg, wrong[i].want) != NULL, "want \"%s\" in \"%s\"", wrong[i].want,
		    e.msg);
	}
}
