/*
 * gateway_kube_test.c -- tools/gateway/kube.c: the kubeconfig as kubectl
 * reads it (token, tokenFile, client certificate data, CA file relative
 * to the kubeconfig, CA data, a named context) and what it refuses with a
 * message naming the file and the field (no current-context, credential
 * plugins, malformed base64); in-cluster credentials from a service
 * account directory and the environment; the watch stream's line
 * splitter (lines split across chunks anywhere, CRLF, the 16 MiB cap),
 * base64 and the back-off schedule; and the client against a small HTTP
 * server forked here (a paged list, events split across chunks, 410 Gone
 * relisting, a kind not served in either version, back-off sleeping).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "kube.h"
#include "kube_int.h"
#include "tunables.h"

/* ---- kubeconfig ---- */

static char dir[64];

static void
mkdir_tmp(void)
{
	strcpy(dir, "/tmp/kube_test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

/* Writes text to dir/name; returns the path (static buffer). */
static const char *
put(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	fputs(text, f);
	fclose(f);
	return path;
}

#define PEM_CERT "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
#define PEM_KEY "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
/* base64 of PEM_CERT and PEM_KEY. */
#define B64_CERT "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define B64_KEY "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUUKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo="

/* A kubeconfig of two contexts (a and b), cluster and user text spliced in. */
static const char *
kubeconfig(const char *current, const char *cluster_a, const char *user_a)
{
	static char text[4096];

	snprintf(text, sizeof(text),
	    "apiVersion: v1\nkind: Config\n%s%s%s"
	    "contexts:\n"
	    "- name: a\n  context: {cluster: ca, user: ua}\n"
	    "- name: b\n  context: {cluster: cb, user: ub}\n"
	    "clusters:\n"
	    "- name: ca\n  cluster:\n%s"
	    "- name: cb\n  cluster:\n    server: https://b.example:6443/\n"
	    "    insecure-skip-tls-verify: true\n"
	    "users:\n"
	    "- name: ua\n  user:\n%s"
	    "- name: ub\n  user: {token: tok-b}\n",
	    current ? "current-context: " : "", current ? current : "", current ? "\n" : "",
	    cluster_a, user_a);
	return put("config", text);
}

Test(gateway_kube, kubeconfig_token)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1:6443\n",
	    "    token: tok-a\n"), NULL, NULL, &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.server, "https://10.0.0.1:6443");
	cr_expect_str_eq(c.token, "tok-a");
	cr_expect_null(c.token_file);
	cr_expect_null(c.ca_file);
	cr_expect_null(c.ca_data);
	cr_expect_eq(c.insecure, 0);
	kube_config_free(&c);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_token_file_relative_and_trimmed)
{
	struct kube_config c;
	struct gw_err e = { "" };
	char want[128];

	mkdir_tmp();
	put("tok", "  tok-file\n\n");
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    tokenFile: tok\n"), NULL, NULL, &e), 0, "%s", e.msg);
	snprintf(want, sizeof(want), "%s/tok", dir);
	cr_expect_str_eq(c.token_file, want, "tokenFile relative to the kubeconfig's directory");
	cr_expect_str_eq(c.token, "tok-file", "the file's token, trimmed");
	kube_config_free(&c);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_client_certificate_data)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    client-certificate-data: " B64_CERT "\n    client-key-data: " B64_KEY "\n"),
	    NULL, NULL, &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.cert_data, PEM_CERT);
	cr_expect_str_eq(c.key_data, PEM_KEY);
	cr_expect_null(c.token);
	kube_config_free(&c);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_certificate_without_key_refused)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    client-certificate-data: " B64_CERT "\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "users[ua].user") && strstr(e.msg, "key"), "%s", e.msg);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_ca_file_relative_path)
{
	struct kube_config c;
	struct gw_err e = { "" };
	char want[128];

	mkdir_tmp();
	cr_assert_eq(mkdir(strcat(strcpy(want, dir), "/pki"), 0700), 0);
	put("pki/ca.crt", PEM_CERT);
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n"
	    "    certificate-authority: pki/ca.crt\n", "    token: t\n"), NULL, NULL, &e), 0, "%s",
	    e.msg);
	snprintf(want, sizeof(want), "%s/pki/ca.crt", dir);
	cr_expect_str_eq(c.ca_file, want);
	cr_expect_null(c.ca_data);
	kube_config_free(&c);
	/* A CA file that is not there: the field and the path it resolved to. */
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n"
	    "    certificate-authority: nothere.crt\n", "    token: t\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "clusters[ca].cluster.certificate-authority") &&
	    strstr(e.msg, "nothere.crt") && strstr(e.msg, "config:"), "%s", e.msg);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_client_certificate_files_and_no_user)
{
	struct kube_config c;
	struct gw_err e = { "" };
	char want[128];

	mkdir_tmp();
	put("cert.pem", PEM_CERT);
	put("key.pem", PEM_KEY);
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    client-certificate: cert.pem\n    client-key: key.pem\n"), NULL, NULL, &e), 0,
	    "%s", e.msg);
	snprintf(want, sizeof(want), "%s/cert.pem", dir);
	cr_expect_str_eq(c.cert_file, want, "relative to the kubeconfig");
	snprintf(want, sizeof(want), "%s/key.pem", dir);
	cr_expect_str_eq(c.key_file, want);
	cr_expect_null(c.cert_data);
	kube_config_free(&c);
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    client-certificate: cert.pem\n    client-key: nokey.pem\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "users[ua].user.client-key") && strstr(e.msg, "nokey.pem"), "%s",
	    e.msg);
	/* A context without a user: no credentials (an API server may allow anonymous reads). */
	cr_assert_eq(kube_config_load(&c, put("config", "current-context: x\n"
	    "contexts: [{name: x, context: {cluster: c}}]\n"
	    "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:8080'}}]\n"), NULL, NULL, &e),
	    0, "%s", e.msg);
	cr_expect_str_eq(c.server, "http://127.0.0.1:8080");
	cr_expect(c.token == NULL && c.cert_file == NULL && c.cert_data == NULL);
	kube_config_free(&c);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_ca_data)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n"
	    "    certificate-authority-data: " B64_CERT "\n", "    token: t\n"), NULL, NULL, &e), 0,
	    "%s", e.msg);
	cr_expect_str_eq(c.ca_data, PEM_CERT);
	cr_expect_null(c.ca_file);
	kube_config_free(&c);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_named_context_over_current)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    token: tok-a\n"), "b", NULL, &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.server, "https://b.example:6443", "context b's cluster, trailing / cut");
	cr_expect_str_eq(c.token, "tok-b");
	cr_expect_eq(c.insecure, 1);
	kube_config_free(&c);
	/* A context that is not there. */
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    token: tok-a\n"), "c", NULL, &e), -1);
	cr_expect(strstr(e.msg, "\"c\"") && strstr(e.msg, "contexts"), "%s", e.msg);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_in_json)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	/* As `kubectl config view --raw -o json` writes it, tab-indented here. */
	cr_assert_eq(kube_config_load(&c, put("config.json", "{\n\t\"apiVersion\": \"v1\",\n"
	    "\t\"current-context\": \"j\",\n"
	    "\t\"contexts\": [{\"name\": \"j\", \"context\": {\"cluster\": \"c\", \"user\": \"u\"}}],\n"
	    "\t\"clusters\": [{\"name\": \"c\", \"cluster\": {\"server\": \"https://10.1.1.1:6443\","
	    " \"insecure-skip-tls-verify\": true}}],\n"
	    "\t\"users\": [{\"name\": \"u\", \"user\": {\"token\": \"tok-j\"}}]\n}\n"), NULL, NULL,
	    &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.server, "https://10.1.1.1:6443");
	cr_expect_str_eq(c.token, "tok-j");
	cr_expect_eq(c.insecure, 1);
	kube_config_free(&c);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_missing_current_context)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	cr_assert_eq(kube_config_load(&c, kubeconfig(NULL, "    server: https://10.0.0.1\n",
	    "    token: t\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "/config: ") && strstr(e.msg, "current-context"), "%s", e.msg);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_exec_plugin_refused)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: aws\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "users[ua].user.exec") && strstr(e.msg, "not supported") &&
	    strstr(e.msg, "config:"), "%s", e.msg);
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n",
	    "    auth-provider: {name: gcp}\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "auth-provider") && strstr(e.msg, "not supported"), "%s", e.msg);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_malformed_base64)
{
	struct kube_config c;
	struct gw_err e = { "" };

	mkdir_tmp();
	cr_assert_eq(kube_config_load(&c, kubeconfig("a", "    server: https://10.0.0.1\n"
	    "    certificate-authority-data: LS0t*LS1C\n", "    token: t\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "clusters[ca].cluster.certificate-authority-data") &&
	    strstr(e.msg, "base64") && strstr(e.msg, "config:"), "%s", e.msg);
	rm_tmp();
}

Test(gateway_kube, kubeconfig_malformed_fields)
{
	static const struct {
		const char *cluster, *user, *want;
	} bad[] = {
		{ "    insecure-skip-tls-verify: true\n", "    token: t\n",
		    "clusters[ca].cluster.server: missing" },
		{ "    server: [x]\n", "    token: t\n", "clusters[ca].cluster.server: not a string" },
		{ "    server: ftp://x\n", "    token: t\n", "not an http(s) URL" },
		{ "    server: https://x\n    insecure-skip-tls-verify: yes please\n",
		    "    token: t\n", "insecure-skip-tls-verify: not true or false" },
		{ "    server: https://x\n", "    tokenFile: nothere\n", "users[ua].user.tokenFile" },
		{ "    server: https://x\n", "    username: admin\n    password: p\n",
		    "basic authentication is not supported" },
		{ "    server: https://x\n", "    token: \"a\\nb\"\n", "users[ua].user.token" },
	};
	struct kube_config c;
	struct gw_err e;
	size_t i;

	mkdir_tmp();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		cr_expect_eq(kube_config_load(&c, kubeconfig("a", bad[i].cluster, bad[i].user), NULL,
		    NULL, &e), -1, "case %zu loaded", i);
		cr_expect(strstr(e.msg, bad[i].want) != NULL, "case %zu: \"%s\" without \"%s\"", i,
		    e.msg, bad[i].want);
	}
	/* Not YAML, and not a mapping. */
	cr_expect_eq(kube_config_load(&c, put("config", "a: [\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "config:") && strstr(e.msg, "YAML"), "%s", e.msg);
	cr_expect_eq(kube_config_load(&c, put("config", "- a\n"), NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "not a kubeconfig"), "%s", e.msg);
	rm_tmp();
	/* No file at all. */
	cr_expect_eq(kube_config_load(&c, "/nonexistent/kubeconfig", NULL, NULL, &e), -1);
	cr_expect(strstr(e.msg, "/nonexistent/kubeconfig"), "%s", e.msg);
}

/* ---- in cluster ---- */

Test(gateway_kube, in_cluster)
{
	struct kube_config c;
	struct gw_err e = { "" };
	char want[128];

	mkdir_tmp();
	put("token", "sa-token\n");
	put("ca.crt", PEM_CERT);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	cr_assert_eq(kube_config_load(&c, NULL, NULL, dir, &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.server, "https://10.96.0.1:443");
	cr_expect_str_eq(c.token, "sa-token");
	snprintf(want, sizeof(want), "%s/token", dir);
	cr_expect_str_eq(c.token_file, want, "re-read as it rotates");
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	cr_expect_str_eq(c.ca_file, want);
	cr_expect_eq(c.insecure, 0);
	kube_config_free(&c);

	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	cr_assert_eq(kube_config_load(&c, NULL, NULL, dir, &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.server, "https://[fd00:10:96::1]:443", "an IPv6 host in brackets");
	kube_config_free(&c);

	setenv("KUBERNETES_SERVICE_PORT", "https", 1);
	cr_expect_eq(kube_config_load(&c, NULL, NULL, dir, &e), -1);
	cr_expect(strstr(e.msg, "KUBERNETES_SERVICE_PORT"), "%s", e.msg);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);

	put("token", "\n");
	cr_expect_eq(kube_config_load(&c, NULL, NULL, dir, &e), -1);
	cr_expect(strstr(e.msg, "/token") && strstr(e.msg, "empty"), "%s", e.msg);
	snprintf(want, sizeof(want), "%s/token", dir);
	unlink(want);
	cr_expect_eq(kube_config_load(&c, NULL, NULL, dir, &e), -1);
	cr_expect(strstr(e.msg, want), "%s", e.msg);

	put("token", "t\n");
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	unlink(want);
	cr_expect_eq(kube_config_load(&c, NULL, NULL, dir, &e), -1);
	cr_expect(strstr(e.msg, "ca.crt"), "%s", e.msg);

	unsetenv("KUBERNETES_SERVICE_HOST");
	cr_expect_eq(kube_config_load(&c, NULL, NULL, dir, &e), -1);
	cr_expect(strstr(e.msg, "KUBERNETES_SERVICE_HOST") && strstr(e.msg, "--kubeconfig"), "%s",
	    e.msg);
	unsetenv("KUBERNETES_SERVICE_PORT");
	rm_tmp();
}

/* ---- the line splitter ---- */

struct got {
	char lines[8][64];
	int n;
	int stop_at;		/* the callback answers -EPIPE at this line (0: never) */
};

static int
got_line(void *arg, const char *line, size_t len)
{
	struct got *g = arg;

	cr_assert_lt(g->n, 8);
	cr_assert_lt(len, 64);
	memcpy(g->lines[g->n], line, len);
	g->lines[g->n][len] = '\0';
	g->n++;
	return g->n == g->stop_at ? -EPIPE : 0;
}

Test(gateway_kube, lines_split_anywhere)
{
	/* Three events as a watch stream writes them; one has CRLF, an empty line between. */
	static const char stream[] = "{\"type\":\"ADDED\"}\n{\"type\":\"BOOKMARK\"}\r\n\n{\"x\":1}\n";
	size_t len = strlen(stream), cut, cut2;

	/* Every split into two chunks, and every split into three. */
	for (cut = 0; cut <= len; cut++)
		for (cut2 = cut; cut2 <= len; cut2++) {
			struct kube_lines l = { .max = 1024 };
			struct got g = { .n = 0 };

			cr_assert_eq(kube_lines_feed(&l, stream, cut, got_line, &g), 0);
			cr_assert_eq(kube_lines_feed(&l, stream + cut, cut2 - cut, got_line, &g), 0);
			cr_assert_eq(kube_lines_feed(&l, stream + cut2, len - cut2, got_line, &g), 0);
			cr_assert_eq(g.n, 3, "cuts %zu %zu: %d lines", cut, cut2, g.n);
			cr_assert_str_eq(g.lines[0], "{\"type\":\"ADDED\"}");
			cr_assert_str_eq(g.lines[1], "{\"type\":\"BOOKMARK\"}", "CR dropped");
			cr_assert_str_eq(g.lines[2], "{\"x\":1}");
			cr_assert_eq(l.len, 0, "nothing left over");
			kube_lines_free(&l);
		}
}

Test(gateway_kube, lines_partial_kept_until_newline)
{
	struct kube_lines l = { .max = 1024 };
	struct got g = { .n = 0 };
	const char *p;

	/* Byte by byte: a line is delivered only when its newline arrives. */
	for (p = "{\"a\":"; *p; p++)
		cr_assert_eq(kube_lines_feed(&l, p, 1, got_line, &g), 0);
	cr_expect_eq(g.n, 0);
	cr_assert_eq(kube_lines_feed(&l, "2}\n{\"b\"", 7, got_line, &g), 0);
	cr_expect_eq(g.n, 1);
	cr_expect_str_eq(g.lines[0], "{\"a\":2}");
	/* A new stream forgets the partial line. */
	kube_lines_reset(&l);
	cr_assert_eq(kube_lines_feed(&l, ":3}\n", 4, got_line, &g), 0);
	cr_expect_eq(g.n, 2);
	cr_expect_str_eq(g.lines[1], ":3}");
	kube_lines_free(&l);
}

Test(gateway_kube, lines_over_the_cap_and_callback_stop)
{
	struct kube_lines l = { .max = 8 };
	struct got g = { .n = 0 };

	/* Exactly max bytes is taken, one more is not, whole or in pieces. */
	cr_assert_eq(kube_lines_feed(&l, "12345678\n", 9, got_line, &g), 0);
	cr_expect_eq(g.n, 1);
	cr_expect_eq(kube_lines_feed(&l, "123456789\n", 10, got_line, &g), -E2BIG);
	kube_lines_reset(&l);
	cr_assert_eq(kube_lines_feed(&l, "12345", 5, got_line, &g), 0);
	cr_expect_eq(kube_lines_feed(&l, "6789", 4, got_line, &g), -E2BIG, "a partial line over the cap");
	kube_lines_reset(&l);
	/* The callback's stop ends the feed: the rest is not delivered. */
	g = (struct got){ .stop_at = 2 };
	cr_expect_eq(kube_lines_feed(&l, "a\nb\nc\n", 6, got_line, &g), -EPIPE);
	cr_expect_eq(g.n, 2);
	kube_lines_free(&l);
	/* The real cap: 16 MiB. */
	cr_expect_eq(KUBE_EVENT_BYTES_MAX, 16UL << 20);
}

/* ---- base64, back-off ---- */

Test(gateway_kube, base64)
{
	static const struct {
		const char *in, *out;	/* out NULL: refused */
	} table[] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ "Zm9vYmFy", "foobar" },
		{ "Zm9v\nYmE=\n", "fooba" },		/* wrapped, as PEM in YAML */
		{ " Zm9v YmFy ", "foobar" },
		{ "Zg", NULL },				/* unpadded last group */
		{ "Zm9", NULL },
		{ "Zg==Zg==", NULL },			/* data after the padding */
		{ "Z===", NULL },			/* padding too early */
		{ "Zm9v*mFy", NULL },			/* not in the alphabet */
		{ "Zm9-YmFy", NULL },			/* base64url is not base64 */
		{ "Zg=a", NULL },
	};
	size_t i, len;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char *out = kube_base64_decode(table[i].in, &len);

		if (table[i].out == NULL) {
			cr_expect_null(out, "\"%s\" decoded", table[i].in);
			cr_expect_eq(errno, EINVAL);
		} else {
			cr_assert_not_null(out, "\"%s\" refused", table[i].in);
			cr_expect_eq(len, strlen(table[i].out), "\"%s\"", table[i].in);
			cr_expect_str_eq(out, table[i].out);
		}
		free(out);
	}
}

Test(gateway_kube, backoff_doubles_to_30s_with_jitter)
{
	static const uint64_t steps[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
	uint64_t step = 0, next, wait, r;
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		for (r = 0; r < 4000; r += 97) {
			wait = kube_backoff(step, r * 7919, &next);
			cr_assert(wait <= steps[i] && wait >= steps[i] - steps[i] / 4,
			    "step %zu: waited %llu", i, (unsigned long long)wait);
		}
		cr_assert_eq(kube_backoff(step, 0, &next), steps[i], "no jitter drawn: the step");
		step = next;
	}
	cr_expect_eq(step, KUBE_BACKOFF_MAX_MS);
}

Test(gateway_kube, a_repeated_failure_is_logged_once_per_back_off_step)
{
	struct kube_repeat r = { 0 };
	uint64_t step = 0, cur, next, now = 1000;
	int i, logged = 0;

	cr_expect_eq(kube_repeat_due(&r, 7, 500, 1000), 1, "the first failure");
	cr_expect_eq(kube_repeat_due(&r, 7, 500, 1400), 0, "the same, at the same step");
	cr_expect_eq(kube_repeat_due(&r, 7, 1000, 2000), 1, "the same, the back-off grown");
	cr_expect_eq(kube_repeat_due(&r, 503, 1000, 2100), 1, "another failure");
	cr_expect_eq(kube_repeat_due(&r, 7, 1000, 2200), 1, "the first again");
	cr_expect_eq(kube_repeat_due(&r, 7, 30000, 3000), 1);
	cr_expect_eq(kube_repeat_due(&r, 7, 30000, 3000 + KUBE_REPEAT_LOG_MS - 1), 0);
	cr_expect_eq(kube_repeat_due(&r, 7, 30000, 3000 + KUBE_REPEAT_LOG_MS), 1,
	    "at the longest back-off, again after KUBE_REPEAT_LOG_MS");
	/* A server down for an hour, as kube_failed drives it: the steps, then every 5 min. */
	r = (struct kube_repeat){ 0 };
	for (i = 0; now < 3600000 + 1000; i++) {
		cur = step ? step : KUBE_BACKOFF_MIN_MS;
		now += kube_backoff(step, 0, &next);
		step = next;
		logged += kube_repeat_due(&r, 7, cur, now);
	}
	/* 0.5, 1, 2, 4, 8, 16 s, then 30 s from ~1 min on: one line each 5 min of the rest. */
	cr_expect(logged >= 7 + 10 && logged <= 7 + 13, "%d lines for %d failures", logged, i);
}

/* ---- the client against a small HTTP server ---- */

/*
 * The server: a forked process answering each request from a table, by
 * method and target (a target ending in '*' is a prefix) and which time
 * that target is asked (nth, 0: any). An answer is raw HTTP in pieces
 * sent 50 ms apart (so events arrive split across reads), the connection
 * then closed (the end of a 200 without length), or held open. Every
 * request (head and body) is appended to a log the test reads.
 */
struct answer {
	const char *method, *target;
	int nth;
	const char *pieces[4];
	int hold;
};

#define H200 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
#define H404 "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n" \
	"Connection: close\r\n\r\n{\"kind\":\"Status\",\"code\":404,\"message\":\"the server " \
	"could not find the requested resource\"}"
#define H500 "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

struct server {
	pid_t pid;
	int port;
	char log[64];
};

static size_t
server_read_request(int fd, char *buf, size_t size)
{
	size_t got = 0, need = 0;
	char *end;

	while (got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
			if (got >= need)
				break;
		}
	}
	buf[got] = '\0';
	return got;
}

static void
server_run(int lfd, const struct answer *table, size_t n, const char *log)
{
	static char seen[64][512];
	int nseen = 0;

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		char req[65536], method[16], target[512];
		const struct answer *a = NULL;
		int fd = accept(lfd, NULL, NULL), count = 0, i;
		size_t k;
		FILE *f;

		if (fd < 0)
			continue;
		/* One request at a time: a connection that sends none must not stall the rest. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_sec = 1 },
		    sizeof(struct timeval));
		if (server_read_request(fd, req, sizeof(req)) == 0 ||
		    sscanf(req, "%15s %511s", method, target) != 2) {
			close(fd);
			continue;
		}
		if ((f = fopen(log, "a")) != NULL) {
			fprintf(f, "@%llu %s\n----\n", (unsigned long long)clock_ms(), req);
			fclose(f);
		}
		for (k = 0; k < n && a == NULL; k++) {
			size_t tl = strlen(table[k].target);
			int prefix = table[k].target[tl - 1] == '*';

			if (strcmp(method, table[k].method) != 0 ||
			    (prefix ? strncmp(target, table[k].target, tl - 1) :
			    strcmp(target, table[k].target)) != 0)
				continue;
			for (count = 0, i = 0; i < nseen; i++)
				if (prefix ? !strncmp(seen[i], table[k].target, tl - 1) :
				    !strcmp(seen[i], table[k].target))
					count++;
			if (table[k].nth == 0 || table[k].nth == count + 1)
				a = &table[k];
		}
		if (nseen < 64)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", target);
		if (fork() == 0) {
			if (a == NULL) {
				(void)!write(fd, H404, strlen(H404));
				_exit(0);
			}
			for (i = 0; i < 4 && a->pieces[i] != NULL; i++) {
				if (i > 0)
					usleep(50000);
				(void)!write(fd, a->pieces[i], strlen(a->pieces[i]));
			}
			if (a->hold)
				sleep(30);
			_exit(0);
		}
		close(fd);
	}
}

static void
server_start(struct server *s, const struct answer *table, size_t n)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;

	cr_assert_geq(lfd, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(lfd, 16), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	s->port = ntohs(sin.sin_port);
	strcpy(s->log, "/tmp/kube_test_log.XXXXXX");
	cr_assert_geq(fd = mkstemp(s->log), 0);
	close(fd);
	cr_assert_geq(s->pid = fork(), 0);
	if (s->pid == 0) {
		setpgid(0, 0);
		server_run(lfd, table, n, s->log);
		_exit(0);
	}
	setpgid(s->pid, s->pid);
	close(lfd);
}

/* The requests the server saw, as one string (malloc'd). */
static char *
server_log(const struct server *s)
{
	FILE *f = fopen(s->log, "r");
	char *buf = calloc(1, 1 << 20);

	cr_assert_not_null(f);
	(void)!fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

/* Has the server seen a request with what in it? */
static int
server_saw(const struct server *s, const char *what)
{
	char *log = server_log(s);
	int saw = strstr(log, what) != NULL;

	free(log);
	return saw;
}

/* When (clock_ms) the server got the nth (1-based) request with what in it; 0: it did not. */
static uint64_t
server_when(const struct server *s, const char *what, int nth)
{
	char *log = server_log(s), *p = log, *at;
	uint64_t t = 0;

	while ((p = strstr(p, what)) != NULL) {
		if (--nth == 0) {
			for (at = p; at > log && *at != '@'; at--)
				;
			t = strtoull(at + 1, NULL, 10);
			break;
		}
		p++;
	}
	free(log);
	return t;
}

static void
server_stop(struct server *s)
{
	kill(-s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	unlink(s->log);
}

/* What the callbacks saw. */
static struct {
	int relists, events;
	json_t *last;			/* the last relist's items (a copy) */
	char names[16][64];		/* "ADDED c" ... */
	uint64_t relist_ms[8];
} seen;

static void
seen_relist(void *arg, size_t kind, json_t *items)
{
	(void)arg;
	cr_assert_eq(kind, 0);
	if (seen.relists < 8)
		seen.relist_ms[seen.relists] = clock_ms();
	seen.relists++;
	json_decref(seen.last);
	seen.last = json_deep_copy(items);
}

static void
seen_event(void *arg, size_t kind, enum kube_event ev, json_t *obj)
{
	static const char *const names[] = { "ADDED", "MODIFIED", "DELETED" };

	(void)arg;
	cr_assert_eq(kind, 0);
	cr_assert_str_eq(json_string_value(json_object_get(obj, "kind")), "Thing");
	if (seen.events < 16)
		snprintf(seen.names[seen.events], sizeof(seen.names[0]), "%s %s", names[ev],
		    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")));
	seen.events++;
}

static const struct kube_kind things[] = {
	{ "example.com", "v1", "v1alpha2", "things", "Thing" },
};

/*
 * A client of the server at port (or of nothing listening when port is
 * that of a closed socket), with the token "tok", or the one in
 * token_file when not NULL.
 */
static struct kube *
client_of(int port, char *token_file)
{
	static const struct kube_callbacks cb = { seen_relist, seen_event };
	char server[64], token[] = "tok";
	struct kube_config c = { .server = server, .token = token, .token_file = token_file };
	struct gw_err e = { "" };
	struct kube *k;

	snprintf(server, sizeof(server), "http://127.0.0.1:%d", port);
	memset(&seen, 0, sizeof(seen));
	cr_assert_not_null(k = kube_new(&c, things, 1, &cb, NULL, &e), "%s", e.msg);
	return k;
}

static struct kube *
client(int port)
{
	return client_of(port, NULL);
}

/* Polls until cond holds or ms pass; the number of kube_poll calls. */
#define POLL_UNTIL(k, cond, ms) ({ \
	uint64_t until_ = clock_ms() + (ms); int polls_ = 0; struct gw_err pe_; \
	while (!(cond) && clock_ms() < until_) { \
		cr_assert_eq(kube_poll((k), 200, &pe_), 0, "%s", pe_.msg); \
		polls_++; \
	} \
	polls_; })

Test(gateway_kube, client_pages_watches_bookmarks_relists_and_patches)
{
	static const struct answer table[] = {
		/* The list: two pages, items without apiVersion and kind. */
		{ "GET", "/apis/example.com/v1/things?limit=500", 1, { H200
		    "{\"kind\":\"ThingList\",\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"c 1\"},"
		    "\"items\":[{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"3\"}}]}" }, 0 },
		{ "GET", "/apis/example.com/v1/things?limit=500&continue=c%201", 1, { H200
		    "{\"kind\":\"ThingList\",\"metadata\":{\"resourceVersion\":\"10\"},"
		    "\"items\":[{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"4\"}}]}" }, 0 },
		/* The watch from the list's RV: an event split in two reads, a bookmark, the end. */
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=10&"
		    "allowWatchBookmarks=true&timeoutSeconds=*", 1, { H200
		    "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"example.com/v1\",\"kind\":\"Th",
		    "ing\",\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"11\"}}}\n{\"type\":\"BOOK",
		    "MARK\",\"object\":{\"kind\":\"Thing\",\"metadata\":{\"resourceVersion\":\"12\"}}}\n" }, 0 },
		/* Renewed from the bookmark's RV at once: a DELETED, then the ERROR 410 event. */
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=12&*", 1, { H200
		    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Thing\",\"metadata\":{\"name\":\"a\","
		    "\"resourceVersion\":\"13\"}}}\n",
		    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
		    "\"message\":\"too old resource version: 12 (15)\"}}\n" }, 1 },
		/* The relist, then a watch held open. */
		{ "GET", "/apis/example.com/v1/things?limit=500", 2, { H200
		    "{\"kind\":\"ThingList\",\"metadata\":{\"resourceVersion\":\"20\"},\"items\":[]}" }, 0 },
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=20&*", 0, { H200 }, 1 },
		{ "PATCH", "/apis/example.com/v1/namespaces/ns/things/a%20b/status", 0, {
		    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" }, 0 },
		{ "PATCH", "/apis/example.com/v1/namespaces/ns/things/gone/status", 0, {
		    "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n"
		    "{\"kind\":\"Status\",\"code\":404,\"message\":\"things \\\"gone\\\" not found\"}" }, 0 },
	};
	struct server s;
	struct gw_err e = { "" };
	struct kube *k;
	char *log, *p;

	server_start(&s, table, sizeof(table) / sizeof(table[0]));
	k = client(s.port);
	cr_expect_eq(kube_synced(k), 0);
	POLL_UNTIL(k, seen.relists >= 1, 3000);
	cr_assert_eq(seen.relists, 1);
	cr_expect_eq(kube_synced(k), 1);
	cr_assert_eq(json_array_size(seen.last), 2, "both pages' items");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(seen.last, 1), "apiVersion")),
	    "example.com/v1", "a list's items get apiVersion");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(seen.last, 1), "kind")),
	    "Thing", "and kind");
	POLL_UNTIL(k, seen.relists >= 2, 3000);
	cr_assert_eq(seen.relists, 2, "the ERROR 410 event relisted");
	cr_expect_eq(json_array_size(seen.last), 0);
	cr_assert_eq(seen.events, 2, "%d events", seen.events);
	cr_expect_str_eq(seen.names[0], "ADDED c", "the event split across reads");
	cr_expect_str_eq(seen.names[1], "DELETED a");
	/* The server answers one request at a time: the held watch's first. */
	POLL_UNTIL(k, server_saw(&s, "resourceVersion=20&"), 3000);

	cr_expect_eq(kube_patch_status(k, 0, "ns", "a b", "{\"status\":{\"x\":1}}", &e), 200, "%s",
	    e.msg);
	cr_expect_eq(kube_patch_status(k, 0, "ns", "gone", "{\"status\":{}}", &e), 404);
	cr_expect(strstr(e.msg, "not found"), "the Status message: %s", e.msg);
	kube_free(k);
	json_decref(seen.last);

	log = server_log(&s);
	server_stop(&s);
	cr_expect(strstr(log, "Authorization: Bearer tok\r\n"), "%s", log);
	cr_expect(strstr(log, "User-Agent: passthrough-gateway/" PASSTHROUGH_VERSION "\r\n"));
	cr_expect(strstr(log, "Accept: application/json\r\n"));
	/* The renewal watched from the bookmark's RV (12), not the last event's (11). */
	cr_expect(strstr(log, "resourceVersion=12&"));
	cr_expect_null(strstr(log, "resourceVersion=11&"));
	cr_expect(strstr(log, "resourceVersion=20&"), "watched from the relist's RV");
	p = strstr(log, "PATCH /apis/example.com/v1/namespaces/ns/things/a%20b/status");
	cr_assert_not_null(p, "%s", log);
	cr_expect(strstr(p, "Content-Type: application/merge-patch+json\r\n"));
	cr_expect(strstr(p, "{\"status\":{\"x\":1}}"));
	free(log);
}

Test(gateway_kube, client_kind_not_served_is_an_empty_list)
{
	static const struct answer table[] = { { "GET", "/nothing", 0, { H404 }, 0 } };
	struct server s;
	struct kube *k;
	char *log;

	server_start(&s, table, 1);
	k = client(s.port);
	POLL_UNTIL(k, kube_synced(k), 3000);
	cr_assert_eq(kube_synced(k), 1, "404 on both versions still syncs");
	cr_expect_eq(seen.relists, 1);
	cr_expect_eq(json_array_size(seen.last), 0);
	POLL_UNTIL(k, 0, 500);
	cr_expect_eq(seen.relists, 1, "not asked again at once");
	kube_free(k);
	json_decref(seen.last);
	log = server_log(&s);
	server_stop(&s);
	cr_expect(strstr(log, "GET /apis/example.com/v1/things?limit=500 "), "%s", log);
	cr_expect(strstr(log, "GET /apis/example.com/v1alpha2/things?limit=500 "), "%s", log);
	cr_expect_null(strstr(log, "watch=1"), "no watch of a kind not served");
	free(log);
}

Test(gateway_kube, client_backs_off_after_a_failure_and_rereads_a_rotated_token)
{
	static const struct answer table[] = {
		{ "GET", "/apis/example.com/v1/things?limit=500", 1, { H500 }, 0 },
		{ "GET", "/apis/example.com/v1/things?limit=500", 2, { H200
		    "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}" }, 0 },
		{ "GET", "/apis/example.com/v1/things?watch=1*", 0, { H200 }, 1 },
	};
	struct server s;
	struct kube *k;
	uint64_t t0 = clock_ms();
	char token_file[128], *log, *p;

	mkdir_tmp();
	snprintf(token_file, sizeof(token_file), "%s/token", dir);
	put("token", "first-token\n");
	server_start(&s, table, sizeof(table) / sizeof(table[0]));
	k = client_of(s.port, token_file);
	POLL_UNTIL(k, server_saw(&s, "limit=500"), 3000);
	/* Rotated as the kubelet does: a new file renamed over the old. */
	put("token.new", "second-token-longer\n");
	cr_assert_eq(rename(strcat(strcpy((char[160]){ 0 }, dir), "/token.new"), token_file), 0);
	POLL_UNTIL(k, seen.relists >= 1, 3000);
	cr_assert_eq(seen.relists, 1, "listed after the 500");
	cr_expect_geq(seen.relist_ms[0] - t0, KUBE_BACKOFF_MIN_MS * 3 / 4,
	    "the retry waited out the back-off: %llu ms", (unsigned long long)(seen.relist_ms[0] - t0));
	kube_free(k);
	json_decref(seen.last);
	log = server_log(&s);
	server_stop(&s);
	rm_tmp();
	cr_assert_not_null(p = strstr(log, "Authorization: Bearer first-token\r\n"), "%s", log);
	cr_expect(strstr(p, "Authorization: Bearer second-token-longer\r\n"),
	    "the retry read the rotated token: %s", log);
	free(log);
}

Test(gateway_kube, client_refuses_an_event_over_the_cap)
{
	static const char head[] = H200 "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"big\","
	    "\"resourceVersion\":\"6\"},\"data\":\"";
	static const char tail[] = "\"}}\n";
	size_t pad = KUBE_EVENT_BYTES_MAX;	/* the line: head's JSON, pad bytes, tail: over the cap */
	char *big = malloc(sizeof(head) + pad + sizeof(tail));
	struct answer table[] = {
		{ "GET", "/apis/example.com/v1/things?limit=500", 0, { H200
		    "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}" }, 0 },
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=5&*", 1, { NULL }, 0 },
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=5&*", 0, { H200 }, 1 },
	};
	struct server s;
	struct kube *k;
	char *log, *p;

	cr_assert_not_null(big);
	memcpy(big, head, sizeof(head) - 1);
	memset(big + sizeof(head) - 1, 'x', pad);
	strcpy(big + sizeof(head) - 1 + pad, tail);
	table[1].pieces[0] = big;
	server_start(&s, table, sizeof(table) / sizeof(table[0]));
	free(big);
	k = client(s.port);
	POLL_UNTIL(k, server_saw(&s, "resourceVersion=5&") && seen.relists == 1 &&
	    (log = server_log(&s), p = strstr(strstr(log, "resourceVersion=5&") + 1,
	    "resourceVersion=5&"), free(log), p != NULL), 5000);
	cr_expect_eq(seen.events, 0, "the event over %lu bytes was not delivered", KUBE_EVENT_BYTES_MAX);
	kube_free(k);
	json_decref(seen.last);
	log = server_log(&s);
	server_stop(&s);
	p = strstr(log, "resourceVersion=5&");
	cr_assert_not_null(p, "%s", log);
	cr_expect(strstr(p + 1, "resourceVersion=5&"), "watched again from the same RV: %s", log);
	free(log);
}

Test(gateway_kube, client_sleeps_while_backing_off)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), polls;
	struct kube *k;

	/* A port nothing listens on: every connect is refused at once. */
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	k = client(ntohs(sin.sin_port));
	polls = POLL_UNTIL(k, 0, 2000);
	cr_expect_eq(kube_synced(k), 0);
	/* Tries at 0, ~0.5, ~1.5 s: a handful of wake-ups, not a spin (each poll waits <= 200 ms). */
	cr_expect_leq(polls, 20, "%d polls in 2 s", polls);
	kube_free(k);
}

Test(gateway_kube, client_watch_failures_back_off_and_410_relists)
{
	static const struct answer table[] = {
		{ "GET", "/apis/example.com/v1/things?limit=500", 1, { H200
		    "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}" }, 0 },
		/* An ERROR event other than 410: back off, watch again from the same RV. */
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=5&*", 1, { H200
		    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
		    "\"message\":\"etcd is sad\"}}\n" }, 0 },
		/* Again: a 200 whose only line is an ERROR is no success, the back-off grows. */
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=5&*", 2, { H200
		    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
		    "\"message\":\"etcd is sad\"}}\n" }, 0 },
		/* Ended at once with nothing in it: not a success either. */
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=5&*", 3, { H200 }, 0 },
		/* A plain HTTP 410: list again. */
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=5&*", 4, {
		    "HTTP/1.1 410 Gone\r\nConnection: close\r\n\r\n{\"kind\":\"Status\",\"code\":410}" },
		    0 },
		{ "GET", "/apis/example.com/v1/things?limit=500", 2, { H200
		    "{\"metadata\":{\"resourceVersion\":\"7\"},\"items\":[]}" }, 0 },
		{ "GET", "/apis/example.com/v1/things?watch=1&resourceVersion=7&*", 0, { H200 }, 1 },
	};
	const char *w5 = "watch=1&resourceVersion=5&";
	struct server s;
	struct kube *k;
	uint64_t t1, t2, t3, t4;

	server_start(&s, table, sizeof(table) / sizeof(table[0]));
	k = client(s.port);
	POLL_UNTIL(k, seen.relists >= 2, 8000);
	cr_assert_eq(seen.relists, 2, "the HTTP 410 relisted");
	POLL_UNTIL(k, server_saw(&s, "watch=1&resourceVersion=7&"), 3000);
	cr_expect(server_saw(&s, "watch=1&resourceVersion=7&"), "watched from the new list's RV");
	kube_free(k);
	json_decref(seen.last);
	t1 = server_when(&s, w5, 1);
	t2 = server_when(&s, w5, 2);
	t3 = server_when(&s, w5, 3);
	t4 = server_when(&s, w5, 4);
	server_stop(&s);
	cr_assert(t1 && t2 && t3 && t4, "four watches from RV 5");
	cr_expect_geq(t2 - t1, KUBE_BACKOFF_MIN_MS * 3 / 4, "after the ERROR event: %llu ms",
	    (unsigned long long)(t2 - t1));
	cr_expect_geq(t3 - t2, 2 * KUBE_BACKOFF_MIN_MS * 3 / 4, "after the second: %llu ms",
	    (unsigned long long)(t3 - t2));
	cr_expect_geq(t4 - t3, 4 * KUBE_BACKOFF_MIN_MS * 3 / 4, "after the empty end: %llu ms",
	    (unsigned long long)(t4 - t3));
}

Test(gateway_kube, client_does_not_spin_on_watches_that_end_at_once)
{
	static const struct answer table[] = {
		{ "GET", "/apis/example.com/v1/things?limit=500", 0, { H200
		    "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}" }, 0 },
		{ "GET", "/apis/example.com/v1/things?watch=1*", 0, { H200 }, 0 },
	};
	struct server s;
	struct kube *k;
	int n = 0;
	char *log, *p;

	server_start(&s, table, sizeof(table) / sizeof(table[0]));
	k = client(s.port);
	POLL_UNTIL(k, 0, 2500);
	kube_free(k);
	json_decref(seen.last);
	log = server_log(&s);
	server_stop(&s);
	for (p = log; (p = strstr(p, "watch=1&")) != NULL; p++)
		n++;
	/* At 0, ~0.5, ~1.5 s (the back-off doubling): a few, not hundreds. */
	cr_expect(n >= 2 && n <= 4, "%d watches in 2.5 s", n);
	cr_expect_eq(seen.relists, 1, "no relist: the watch is renewed");
	free(log);
}

Test(gateway_kube, client_does_not_spin_on_a_server_that_410s_every_watch)
{
	static const struct answer table[] = {
		{ "GET", "/apis/example.com/v1/things?limit=500", 0, { H200
		    "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}" }, 0 },
		{ "GET", "/apis/example.com/v1/things?watch=1*", 0, { H200
		    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410}}\n" }, 0 },
	};
	struct server s;
	struct kube *k;
	int n = 0;
	char *log, *p;

	server_start(&s, table, sizeof(table) / sizeof(table[0]));
	k = client(s.port);
	POLL_UNTIL(k, 0, 2500);
	kube_free(k);
	json_decref(seen.last);
	log = server_log(&s);
	server_stop(&s);
	for (p = log; (p = strstr(p, "limit=500")) != NULL; p++)
		n++;
	/* The first 410 relists at once, the next ones wait out the back-off. */
	cr_expect(n >= 3 && n <= 5, "%d lists in 2.5 s", n);
	free(log);
}

Test(gateway_kube, client_poll_returns_at_once_with_what_came_between_calls)
{
	static const struct answer table[] = {
		{ "GET", "/apis/example.com/v1/things?limit=500", 0, { H200
		    "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}" }, 0 },
		/* The event 150 ms after the headers (50 ms between pieces): after the
		   POLL_UNTIL below has returned, even on a loaded machine. */
		{ "GET", "/apis/example.com/v1/things?watch=1*", 0, { H200, "", "",
		    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"n\","
		    "\"resourceVersion\":\"6\"}}}\n" }, 1 },
	};
	struct server s;
	struct gw_err e;
	struct kube *k;
	uint64_t t0;

	server_start(&s, table, sizeof(table) / sizeof(table[0]));
	k = client(s.port);
	POLL_UNTIL(k, server_saw(&s, "watch=1&"), 3000);
	cr_assert_eq(seen.relists, 1);
	cr_assert_eq(seen.events, 0, "the event came before the test could wait for it");
	/* The caller is busy elsewhere while the event arrives. */
	usleep(500000);
	t0 = clock_ms();
	cr_assert_eq(kube_poll(k, 5000, &e), 0, "%s", e.msg);
	cr_expect_eq(seen.events, 1, "the event that came between the calls");
	cr_expect_lt(clock_ms() - t0, 1000, "kube_poll returned with it after %llu ms",
	    (unsigned long long)(clock_ms() - t0));
	kube_free(k);
	json_decref(seen.last);
	server_stop(&s);
}
