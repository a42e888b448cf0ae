/*
 * gateway_fuzz.c -- libFuzzer target: passthrough-gateway's render core
 * (tools/gateway/: load, YAML and JSON, the translation, the written
 * configuration) on any bytes.
 *
 * Input: a file of Kubernetes objects, any bytes. Seeds:
 * tests/fuzz/corpus/gateway/ (Gateways, TLSRoutes, Services,
 * EndpointSlices, ReferenceGrants, Ingresses, as YAML and as JSON).
 *
 * Checked: no crash, leak or stray read (ASan, UBSan, LeakSanitizer);
 * load_buffer() and render_run() return 0 or -1, and -1 always comes with
 * one line of message; a render that succeeds writes a
 * configuration libconfig parses (no input byte breaks out of a string
 * or a comment), with a listeners list of 1 .. 64 groups each with a
 * listen array and a routes list whose routes have an sni and 1 ..
 * backends; the same input renders the same bytes twice.
 */
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "render.h"

static const struct gw_options fuzz_opts = {
	GW_OPTIONS_DEFAULTS,
	.now = "2026-01-01T00:00:00Z",
};

/* Renders data; the configuration text (malloc'd), or NULL when refused. */
static char *
gateway_fuzz_render(const uint8_t *data, size_t size)
{
	static char name[] = "in.yaml";
	char *files[] = { name }, *text = NULL;
	struct gw_input in = { 0 };
	struct gw_result r;
	struct gw_err e = { "" };
	size_t len = 0;
	int rc;
	FILE *mem;

	rc = load_buffer(&in, "in.yaml", (const char *)data, size, &e);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		rc = render_run(&in, &fuzz_opts, &r, &e);
		FUZZ_CHECK(rc == 0 || rc == -1);
	}
	if (rc != 0) {
		FUZZ_CHECK(e.msg[0] != '\0');
		FUZZ_CHECK(strchr(e.msg, '\n') == NULL);
		load_free(&in);
		return NULL;
	}
	mem = open_memstream(&text, &len);
	FUZZ_CHECK(mem != NULL);
	FUZZ_CHECK(confout_write(mem, &r, &fuzz_opts, NULL, files, 1) == 0);
	fclose(mem);
	FUZZ_CHECK(json_is_array(json_object_get(r.status, "items")));
	render_free(&r);
	load_free(&in);
	return text;
}

/* The rendered text parses, and has the shape passthrough reads. */
static void
gateway_fuzz_parse(const char *text)
{
	config_setting_t *groups, *g, *routes, *rt, *b;
	config_t cfg;
	int i, k;

	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE)
		fprintf(stderr, "line %d: %s\n%s\n", config_error_line(&cfg), config_error_text(&cfg), text);
	FUZZ_CHECK(config_error_type(&cfg) == CONFIG_ERR_NONE);
	groups = config_lookup(&cfg, "listeners");
	FUZZ_CHECK(groups != NULL && config_setting_is_list(groups));
	FUZZ_CHECK(config_setting_length(groups) >= 1 && config_setting_length(groups) <= 64);
	for (i = 0; (g = config_setting_get_elem(groups, (unsigned)i)) != NULL; i++) {
		config_setting_t *lst = config_setting_get_member(g, "listen");

		FUZZ_CHECK(lst != NULL && config_setting_is_array(lst));
		routes = config_setting_get_member(g, "routes");
		FUZZ_CHECK(routes != NULL && config_setting_is_list(routes));
		for (k = 0; (rt = config_setting_get_elem(routes, (unsigned)k)) != NULL; k++) {
			const char *sni;

			FUZZ_CHECK(config_setting_lookup_string(rt, "sni", &sni) == CONFIG_TRUE);
			b = config_setting_get_member(rt, "backends");
			FUZZ_CHECK(b != NULL && config_setting_length(b) >= 1);
		}
	}
	config_destroy(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a = gateway_fuzz_render(data, size), *b;

	if (a == NULL)
		return 0;
	gateway_fuzz_parse(a);
	b = gateway_fuzz_render(data, size);
	FUZZ_CHECK(b != NULL && strcmp(a, b) == 0);
	free(a);
	free(b);
	return 0;
}
