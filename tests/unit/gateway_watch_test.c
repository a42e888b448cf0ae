/*
 * gateway_watch_test.c -- tools/gateway/watch.c, the steps of the
 * controller that need no API server: the object store (relist replaces a
 * kind, events add, modify and delete), the render of it (an empty cluster
 * still gives a config passthrough starts on), the write (only when the
 * bytes differ, never one `passthrough -t` refuses), commands with their
 * output and a timeout, the outcome read from a statistics segment, and
 * the status patches (none when only times differ, times kept, other
 * controllers' TLSRoute parents kept, Programmed from the outcome), and
 * the loop turned by hand (a recorder for the patches, a segment made
 * here): written once synced, Programmed True once the segment says so,
 * its own patches' events making no patch and no write.
 * passthrough is the one built beside this test ($(BUILD)/passthrough).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render_int.h"
#include "stats.h"
#include "watch_int.h"

static const struct gw_options opts = {
	GW_OPTIONS_DEFAULTS,
	.now = "2026-01-01T00:00:00Z",
};

#define OURS		GW_CONTROLLER_NAME
#define THEIRS		"example.com/other-controller"
#define OLD_TIME	"2025-06-01T12:00:00Z"
#define NEW_TIME	"2026-01-01T00:00:00Z"
#define SLOW_MS		100	/* the timeout a 5 s sleep must hit */

static json_t *
obj(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	cr_assert_not_null(j, "test JSON: %s: %s", je.text, text);
	return j;
}

#define SERVICE(ns, name, ip) \
	"{\"apiVersion\": \"v1\", \"kind\": \"Service\", " \
	"\"metadata\": {\"namespace\": \"" ns "\", " \
	"\"name\": \"" name "\"}, \"spec\": {\"clusterIP\": \"" ip "\", " \
	"\"ports\": [{\"name\": \"https\", \"port\": 443}]}}"

/* The $(BUILD)/passthrough beside this test binary ($(BUILD)/tests/). */
static const char *
passthrough(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	cr_assert(n > 0);
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/../passthrough", dirname(self));
	cr_assert_eq(access(path, X_OK), 0, "%s: %s (make all first)", path, strerror(errno));
	return path;
}

static char tmpdir[PATH_MAX];

static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gateway_watch_test.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char path[PATH_MAX + 256];

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || !strcmp(de->d_name, "..")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(tmpdir);
}

/* How many entries the directory has besides . and .. */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static char *
slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* The store. */

Test(gateway_watch, relist_replaces_the_kind_and_events_add_modify_delete)
{
	struct watch_store s;
	json_t *items = json_array();

	cr_assert_eq(watch_store_init(&s), 0);
	json_array_append_new(items, obj(SERVICE("a", "one", "10.0.0.1")));
	json_array_append_new(items, obj(SERVICE("a", "two", "10.0.0.2")));
	cr_assert_eq(watch_store_relist(&s, WATCH_SERVICE, items), 0);
	cr_assert_not_null(watch_store_get(&s, WATCH_SERVICE, "a", "one"));
	cr_assert_not_null(watch_store_get(&s, WATCH_SERVICE, "a", "two"));
	json_decref(items);

	/* A relist without "one": it is gone, "three" is there, other kinds untouched. */
	items = json_array();
	json_array_append_new(items, obj(SERVICE("a", "two", "10.0.0.2")));
	json_array_append_new(items, obj(SERVICE("b", "three", "10.0.0.3")));
	cr_assert_eq(watch_store_relist(&s, WATCH_SERVICE, items), 0);
	json_decref(items);
	cr_assert_null(watch_store_get(&s, WATCH_SERVICE, "a", "one"));
	cr_assert_not_null(watch_store_get(&s, WATCH_SERVICE, "b", "three"));
	cr_assert_eq(json_object_size(s.kinds[WATCH_SERVICE]), 2);

	/* Events: added, modified (replaced whole), deleted. */
	json_t *four = obj(SERVICE("a", "four", "10.0.0.4"));
	json_t *four2 = obj(SERVICE("a", "four", "10.0.0.44"));

	cr_assert_eq(watch_store_event(&s, WATCH_SERVICE, KUBE_ADDED, four), 0);
	cr_assert_eq(watch_store_event(&s, WATCH_SERVICE, KUBE_MODIFIED, four2), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    watch_store_get(&s, WATCH_SERVICE, "a", "four"), "spec"), "clusterIP")), "10.0.0.44");
	cr_assert_eq(watch_store_event(&s, WATCH_SERVICE, KUBE_DELETED, four), 0);
	cr_assert_null(watch_store_get(&s, WATCH_SERVICE, "a", "four"));
	cr_assert_eq(json_object_size(s.kinds[WATCH_SERVICE]), 2);
	json_decref(four);
	json_decref(four2);

	/* The same name in another kind is another object. */
	cr_assert_null(watch_store_get(&s, WATCH_INGRESS, "a", "two"));
	watch_store_free(&s);
}

/* The render. */

#define GATEWAY_443 \
	"{\"apiVersion\": \"gateway.networking.k8s.io/v1\", \"kind\": \"Gateway\", " \
	"\"metadata\": {\"namespace\": \"a\", \"name\": \"gw\", \"generation\": 3}, " \
	"\"spec\": {\"gatewayClassName\": \"passthrough\", \"listeners\": [{\"name\": \"tls\", " \
	"\"port\": 8443, \"protocol\": \"TLS\", \"tls\": {\"mode\": \"Passthrough\"}}]}}"
#define ROUTE_ONE(ns, name, host) \
	"{\"apiVersion\": \"gateway.networking.k8s.io/v1\", \"kind\": \"TLSRoute\", " \
	"\"metadata\": {\"namespace\": \"" ns "\", \"name\": \"" name "\"}, " \
	"\"spec\": {\"parentRefs\": [{\"name\": \"gw\"}], \"hostnames\": [\"" host "\"], " \
	"\"rules\": [{\"backendRefs\": [{\"name\": \"one\", \"port\": 443}]}]}}"

static void
store_put(struct watch_store *s, size_t kind, const char *text)
{
	json_t *j = obj(text);

	cr_assert_eq(watch_store_event(s, kind, KUBE_ADDED, j), 0);
	json_decref(j);
}

Test(gateway_watch, render_of_the_store_is_the_same_whatever_the_order_of_events)
{
	struct watch_store s1, s2;
	struct watch_render r1, r2;
	struct gw_err e = { "" };

	cr_assert_eq(watch_store_init(&s1), 0);
	cr_assert_eq(watch_store_init(&s2), 0);
	store_put(&s1, WATCH_GATEWAY, GATEWAY_443);
	store_put(&s1, WATCH_SERVICE, SERVICE("a", "one", "10.0.0.1"));
	store_put(&s1, WATCH_TLSROUTE, ROUTE_ONE("a", "r1", "one.example.com"));
	store_put(&s1, WATCH_TLSROUTE, ROUTE_ONE("a", "r2", "two.example.com"));
	store_put(&s2, WATCH_TLSROUTE, ROUTE_ONE("a", "r2", "two.example.com"));
	store_put(&s2, WATCH_TLSROUTE, ROUTE_ONE("a", "r1", "one.example.com"));
	store_put(&s2, WATCH_SERVICE, SERVICE("a", "one", "10.0.0.1"));
	store_put(&s2, WATCH_GATEWAY, GATEWAY_443);

	cr_assert_eq(watch_render_run(&s1, &opts, "timeout_idle = 60;", &r1, &e), 0, "%s", e.msg);
	cr_assert_eq(watch_render_run(&s2, &opts, "timeout_idle = 60;", &r2, &e), 0, "%s", e.msg);
	cr_assert_eq(r1.listeners, 1);
	cr_assert_eq(r1.routes, 2);
	cr_assert_not_null(strstr(r1.text, "sni = \"one.example.com\""), "%s", r1.text);
	cr_assert_not_null(strstr(r1.text, "\"10.0.0.1:443\""), "%s", r1.text);
	cr_assert_not_null(strstr(r1.text, "timeout_idle = 60;"), "the base is kept: %s", r1.text);
	cr_assert_eq(r1.len, r2.len);
	cr_assert_eq(memcmp(r1.text, r2.text, r1.len), 0, "%s\n---\n%s", r1.text, r2.text);
	cr_assert_eq(memcmp(r1.sha256, r2.sha256, SHA256_BYTES), 0);
	/* The status List holds the Gateway and both routes. */
	cr_assert_eq(json_array_size(json_object_get(r1.status, "items")), 3);
	watch_render_free(&r1);
	watch_render_free(&r2);
	watch_store_free(&s1);
	watch_store_free(&s2);
}

Test(gateway_watch, an_object_the_render_refuses_is_left_out_not_the_whole_cluster)
{
	struct watch_store s;
	struct watch_render r;
	struct gw_err e = { "" };

	cr_assert_eq(watch_store_init(&s), 0);
	store_put(&s, WATCH_GATEWAY, GATEWAY_443);
	store_put(&s, WATCH_SERVICE, SERVICE("a", "one", "10.0.0.1"));
	store_put(&s, WATCH_TLSROUTE, ROUTE_ONE("a", "good", "one.example.com"));
	/* hostnames a string, not a list: render_run refuses the whole input for it. */
	store_put(&s, WATCH_TLSROUTE,
	    "{\"apiVersion\": \"gateway.networking.k8s.io/v1\", \"kind\": \"TLSRoute\", "
	    "\"metadata\": {\"namespace\": \"a\", \"name\": \"bad\"}, "
	    "\"spec\": {\"parentRefs\": [{\"name\": \"gw\"}], \"hostnames\": \"x.example.com\"}}");

	cr_assert_eq(watch_render_run(&s, &opts, NULL, &r, &e), 0, "%s", e.msg);
	cr_assert_eq(r.routes, 1, "the good route still renders: %s", r.text);
	cr_assert_not_null(strstr(r.text, "sni = \"one.example.com\""), "%s", r.text);
	cr_assert_eq(r.nleft_out, 1);
	cr_assert_not_null(strstr(r.left_out[0], "TLSRoute a/bad"), "%s", r.left_out[0]);
	cr_assert_null(strstr(r.left_out[0], WATCH_SOURCE "#"), "%s", r.left_out[0]);
	watch_render_free(&r);
	watch_store_free(&s);
}

Test(gateway_watch, an_empty_cluster_renders_a_config_passthrough_accepts,
    .init = tmp_setup, .fini = tmp_teardown)
{
	struct watch_store s;
	struct watch_render r;
	struct gw_err e = { "" };
	char path[PATH_MAX + 32], why[WATCH_OUTPUT_MAX];
	enum watch_write_result wr;

	cr_assert_eq(watch_store_init(&s), 0);
	cr_assert_eq(watch_render_run(&s, &opts, NULL, &r, &e), 0, "%s", e.msg);
	cr_assert_eq(r.listeners, 1);
	cr_assert_eq(r.routes, 0);
	cr_assert_not_null(strstr(r.text, ":443\""), "on the Ingress port: %s", r.text);
	snprintf(path, sizeof(path), "%s/passthrough.conf", tmpdir);
	wr = watch_write(path, passthrough(), r.text, r.len, why, sizeof(why));
	cr_assert_eq(wr, WATCH_WRITE_DONE, "%d: %s\n%s", wr, why, r.text);
	watch_render_free(&r);
	watch_store_free(&s);
}

/* The write. */

#define GOOD_CONF \
	"listeners = (\n  { listen = [ \"127.0.0.1:18443\" ];\n    routes = ( ); }\n);\n"
#define GOOD_CONF2 \
	"listeners = (\n  { listen = [ \"127.0.0.1:18444\" ];\n    routes = ( ); }\n);\n"
#define BAD_CONF	"listeners = (\n);\n"	/* passthrough -t: "listeners: is empty" */

Test(gateway_watch, write_only_when_the_bytes_differ, .init = tmp_setup, .fini = tmp_teardown)
{
	char path[PATH_MAX + 32], why[WATCH_OUTPUT_MAX];
	struct stat st1, st2;

	snprintf(path, sizeof(path), "%s/passthrough.conf", tmpdir);
	cr_assert_eq(watch_write(path, passthrough(), GOOD_CONF, strlen(GOOD_CONF), why,
	    sizeof(why)), WATCH_WRITE_DONE, "%s", why);
	cr_assert_str_eq(slurp(path), GOOD_CONF);
	cr_assert_eq(stat(path, &st1), 0);
	cr_assert_eq(st1.st_mode & 0777, 0644);

	/* The same bytes: not written (same inode: no rename happened). */
	cr_assert_eq(watch_write(path, passthrough(), GOOD_CONF, strlen(GOOD_CONF), why,
	    sizeof(why)), WATCH_WRITE_SAME);
	cr_assert_eq(stat(path, &st2), 0);
	cr_assert_eq(st1.st_ino, st2.st_ino);

	/* Other bytes: renamed into place (a new inode), nothing else left in the directory. */
	cr_assert_eq(watch_write(path, passthrough(), GOOD_CONF2, strlen(GOOD_CONF2), why,
	    sizeof(why)), WATCH_WRITE_DONE, "%s", why);
	cr_assert_str_eq(slurp(path), GOOD_CONF2);
	cr_assert_eq(stat(path, &st2), 0);
	cr_assert_neq(st1.st_ino, st2.st_ino);
	cr_assert_eq(entries(tmpdir), 1);

	/* A prefix of the file is not the file. */
	cr_assert_eq(watch_write(path, passthrough(), GOOD_CONF2, strlen(GOOD_CONF2) - 1, why,
	    sizeof(why)), WATCH_WRITE_DONE, "%s", why);
	cr_assert_eq(strlen(slurp(path)), strlen(GOOD_CONF2) - 1);
}

Test(gateway_watch, a_render_passthrough_t_refuses_leaves_the_file,
    .init = tmp_setup, .fini = tmp_teardown)
{
	char path[PATH_MAX + 32], why[WATCH_OUTPUT_MAX];

	snprintf(path, sizeof(path), "%s/passthrough.conf", tmpdir);
	spit(path, GOOD_CONF);
	cr_assert_eq(watch_write(path, passthrough(), BAD_CONF, strlen(BAD_CONF), why, sizeof(why)),
	    WATCH_WRITE_REFUSED, "%s", why);
	cr_assert_str_eq(slurp(path), GOOD_CONF, "the running config stays");
	cr_assert_eq(entries(tmpdir), 1, "the temporary file is gone");
	/* -t's message, naming the file rather than the temporary one. */
	cr_assert_not_null(strstr(why, "listeners"), "%s", why);
	cr_assert_not_null(strstr(why, path), "%s", why);
	cr_assert_null(strstr(why, "XXXXXX"), "%s", why);
	cr_assert_null(strstr(why, "/.passthrough.conf."), "%s", why);

	/* A daemon that cannot be run is no verdict on the config: FAILED, the file stays. */
	cr_assert_eq(watch_write(path, "/nonexistent/passthrough", BAD_CONF, strlen(BAD_CONF), why,
	    sizeof(why)), WATCH_WRITE_FAILED, "%s", why);
	cr_assert_str_eq(slurp(path), GOOD_CONF);
	cr_assert_eq(entries(tmpdir), 1);
}

Test(gateway_watch, command_output_exit_status_and_timeout)
{
	const char *echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *slow[] = { "sleep", "5", NULL };
	const char *none[] = { "/nonexistent/command", NULL };
	char out[WATCH_OUTPUT_MAX], tiny[4];

	cr_assert_eq(watch_command(echo, 5000, out, sizeof(out)), 3);
	cr_assert_str_eq(out, "out\nerr");
	cr_assert_eq(watch_command(echo, 5000, tiny, sizeof(tiny)), 3, "cut, not blocked");
	cr_assert_str_eq(tiny, "out");
	cr_assert_eq(watch_command(slow, SLOW_MS, out, sizeof(out)), -ETIMEDOUT);
	cr_assert_eq(watch_command(none, 5000, out, sizeof(out)), 127);
	cr_assert_not_null(strstr(out, "/nonexistent/command"), "%s", out);
}

/* The outcome. */

static char seg_name[64];
static struct stats seg;

static void
seg_setup(void)
{
	snprintf(seg_name, sizeof(seg_name), "/pt-watch-test-%d", (int)getpid());
	cr_assert_eq(stats_create(&seg, seg_name, (uint32_t)-1), 0, "stats_create: %s",
	    strerror(errno));
}

static void
seg_teardown(void)
{
	stats_close(&seg);
}

Test(gateway_watch, outcome_from_the_statistics_segment, .init = seg_setup, .fini = seg_teardown)
{
	uint8_t a[SHA256_BYTES], b[SHA256_BYTES];
	uint64_t gen = 0;
	char msg[STATS_MESSAGE_MAX + 1] = "";

	sha256_digest("a", 1, a);
	sha256_digest("b", 1, b);
	cr_assert_eq(watch_served("/pt-watch-test-none", a, 0, &gen, msg, sizeof(msg)),
	    WATCH_SERVED_UNKNOWN, "no segment: not yet");
	cr_assert_eq(watch_served(seg_name, a, 0, &gen, msg, sizeof(msg)), WATCH_SERVED_UNKNOWN);

	/* Serving a, generation 7. */
	memcpy(seg.hdr->config_sha256, a, SHA256_BYTES);
	atomic_store(&seg.hdr->generation, 7);
	cr_assert_eq(watch_served(seg_name, a, 0, &gen, msg, sizeof(msg)), WATCH_SERVED_YES);
	cr_assert_eq(gen, 7);
	cr_assert_eq(watch_served(seg_name, b, 0, &gen, msg, sizeof(msg)), WATCH_SERVED_UNKNOWN);

	/* b's reload refused, counted after the baseline: REFUSED with the message. */
	memcpy(seg.hdr->last_reload_sha256, b, SHA256_BYTES);
	snprintf(seg.hdr->last_reload_message, sizeof(seg.hdr->last_reload_message),
	    "passthrough.conf:3: listeners: is empty");
	atomic_store(&seg.hdr->last_reload_ok, 0);
	atomic_store(&seg.hdr->reloads_failed, 2);
	cr_assert_eq(watch_reloads_failed(seg_name), 2);
	cr_assert_eq(watch_served(seg_name, b, 1, &gen, msg, sizeof(msg)), WATCH_SERVED_REFUSED);
	cr_assert_str_eq(msg, "passthrough.conf:3: listeners: is empty");
	/* ... not when that failure was already counted before the write (an older one). */
	cr_assert_eq(watch_served(seg_name, b, 2, &gen, msg, sizeof(msg)), WATCH_SERVED_UNKNOWN);
	/* ... nor when the last reload succeeded (its ok is read, not assumed). */
	atomic_store(&seg.hdr->last_reload_ok, 1);
	cr_assert_eq(watch_served(seg_name, b, 1, &gen, msg, sizeof(msg)), WATCH_SERVED_UNKNOWN);
	/* a is still the one serving. */
	cr_assert_eq(watch_served(seg_name, a, 2, &gen, msg, sizeof(msg)), WATCH_SERVED_YES);
}

Test(gateway_watch, stats_name_from_the_option_or_the_config, .init = tmp_setup,
    .fini = tmp_teardown)
{
	struct watch_options wo = { .stats = "mine" };
	char path[PATH_MAX + 32], name[STATS_NAME_MAX + 2], abs_name[STATS_NAME_MAX + 2];

	watch_stats_name(&wo, NULL, 0, name, sizeof(name));
	cr_assert_str_eq(name, "/mine");
	wo.stats = "/mine";
	watch_stats_name(&wo, NULL, 0, name, sizeof(name));
	cr_assert_str_eq(name, "/mine");

	snprintf(path, sizeof(path), "%s/passthrough.conf", tmpdir);
	wo = (struct watch_options){ .config = path };
	spit(path, "stats = { name = \"pt-named\"; };\n" GOOD_CONF);
	watch_stats_name(&wo, NULL, 0, name, sizeof(name));
	cr_assert_str_eq(name, "/pt-named");
	/* From the text about to be written, before the file has it. */
	static const char next[] = "stats = { name = \"pt-next\"; };";

	watch_stats_name(&wo, next, strlen(next), name, sizeof(name));
	cr_assert_str_eq(name, "/pt-next");
	/* Without stats.name: derived from the absolute path, as the daemon does. */
	spit(path, GOOD_CONF);
	watch_stats_name(&wo, NULL, 0, name, sizeof(name));
	stats_name(abs_name, sizeof(abs_name), NULL, path);
	cr_assert_str_eq(name, abs_name);
}

/* The status. */

#define COND(type, st, reason, time) \
	"{\"type\": \"" type "\", \"status\": \"" st "\", \"reason\": \"" reason "\", " \
	"\"message\": \"m\", \"observedGeneration\": 1, \"lastTransitionTime\": \"" time "\"}"
#define CLASS_ITEM(cond) \
	"{\"apiVersion\": \"gateway.networking.k8s.io/v1\", \"kind\": \"GatewayClass\", " \
	"\"metadata\": {\"name\": \"passthrough\"}, \"status\": {\"conditions\": [" cond "]}}"

static const struct watch_programmed serving = { 1, "Programmed", "passthrough serves it" };
static const struct watch_programmed pending = { 0, "Pending", "not loaded in 10 s" };

Test(gateway_watch, status_equal_but_for_the_time_is_not_patched)
{
	json_t *item = obj(CLASS_ITEM(COND("Accepted", "True", "Accepted", NEW_TIME)));
	json_t *cur = obj(CLASS_ITEM(COND("Accepted", "True", "Accepted", OLD_TIME)));

	cr_assert_null(watch_status_patch(item, cur, OURS, &serving));
	json_decref(item);
	json_decref(cur);
}

Test(gateway_watch, status_keeps_the_time_of_an_unchanged_condition)
{
	json_t *item = obj(CLASS_ITEM(COND("Accepted", "True", "Accepted", NEW_TIME) ", "
	    COND("Other", "True", "Fine", NEW_TIME)));
	json_t *cur = obj(CLASS_ITEM(COND("Accepted", "True", "Accepted", OLD_TIME) ", "
	    COND("Other", "False", "Broken", OLD_TIME)));
	json_t *body = watch_status_patch(item, cur, OURS, &serving), *conds;

	cr_assert_not_null(body, "Other changed: a patch");
	conds = json_object_get(json_object_get(body, "status"), "conditions");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(conds, 0),
	    "lastTransitionTime")), OLD_TIME, "Accepted did not change: its time stays");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(conds, 1),
	    "lastTransitionTime")), NEW_TIME, "Other changed status: a new time");
	json_decref(body);

	/* An object without status gets the whole of it. */
	json_object_del(cur, "status");
	cr_assert_not_null(body = watch_status_patch(item, cur, OURS, &serving));
	json_decref(body);
	json_decref(item);
	json_decref(cur);
}

#define PARENT(ctl, gw, cond) \
	"{\"parentRef\": {\"name\": \"" gw "\"}, \"controllerName\": \"" ctl "\", " \
	"\"conditions\": [" cond "]}"
#define ROUTE_ITEM(parents) \
	"{\"apiVersion\": \"gateway.networking.k8s.io/v1\", \"kind\": \"TLSRoute\", " \
	"\"metadata\": {\"namespace\": \"a\", \"name\": \"r\"}, \"status\": {\"parents\": [" \
	parents "]}}"

Test(gateway_watch, status_keeps_other_controllers_route_parents)
{
	json_t *item = obj(ROUTE_ITEM(PARENT(OURS, "gw", COND("Accepted", "True", "Accepted",
	    NEW_TIME))));
	json_t *cur = obj(ROUTE_ITEM(PARENT(THEIRS, "their-gw", COND("Accepted", "True", "Accepted",
	    OLD_TIME)) ", " PARENT(OURS, "gw", COND("Accepted", "False", "NoMatchingParent",
	    OLD_TIME))));
	json_t *body = watch_status_patch(item, cur, OURS, &serving), *parents, *p;

	cr_assert_not_null(body);
	parents = json_object_get(json_object_get(body, "status"), "parents");
	cr_assert_eq(json_array_size(parents), 2, "theirs kept, ours replaced: %s",
	    json_dumps(body, JSON_COMPACT));
	p = json_array_get(parents, 0);
	cr_assert_str_eq(json_string_value(json_object_get(p, "controllerName")), THEIRS);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "parentRef"),
	    "name")), "their-gw");
	p = json_array_get(parents, 1);
	cr_assert_str_eq(json_string_value(json_object_get(p, "controllerName")), OURS);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(p,
	    "conditions"), 0), "status")), "True");
	json_decref(body);
	json_decref(cur);

	/* Theirs and ours as the patch would leave them, times aside: no patch. */
	cur = obj(ROUTE_ITEM(PARENT(THEIRS, "their-gw", COND("Accepted", "True", "Accepted",
	    OLD_TIME)) ", " PARENT(OURS, "gw", COND("Accepted", "True", "Accepted", OLD_TIME))));
	cr_assert_null(watch_status_patch(item, cur, OURS, &serving));
	json_decref(cur);
	json_decref(item);
}

#define GATEWAY_ITEM(prog_gw, prog_l) \
	"{\"apiVersion\": \"gateway.networking.k8s.io/v1\", \"kind\": \"Gateway\", " \
	"\"metadata\": {\"namespace\": \"a\", \"name\": \"gw\"}, \"status\": {\"conditions\": [" \
	prog_gw "], \"listeners\": [{\"name\": \"tls\", \"attachedRoutes\": 1, \"conditions\": [" \
	prog_l "]}, {\"name\": \"http\", \"attachedRoutes\": 0, \"conditions\": [" \
	COND("Programmed", "False", "Invalid", NEW_TIME) "]}]}}"

/* "STATUS/REASON" of the first condition of conds. */
static const char *
first_cond(const json_t *conds)
{
	static char buf[128];
	const json_t *c = json_array_get(conds, 0);

	snprintf(buf, sizeof(buf), "%s/%s", json_string_value(json_object_get(c, "status")),
	    json_string_value(json_object_get(c, "reason")));
	return buf;
}

Test(gateway_watch, gateway_programmed_comes_from_the_outcome)
{
	json_t *item = obj(GATEWAY_ITEM(COND("Programmed", "True", "Programmed", NEW_TIME),
	    COND("Programmed", "True", "Programmed", NEW_TIME)));
	json_t *cur = obj("{\"metadata\": {\"name\": \"gw\"}}");
	json_t *body = watch_status_patch(item, cur, OURS, &pending), *st, *ls;

	cr_assert_not_null(body);
	st = json_object_get(body, "status");
	ls = json_object_get(st, "listeners");
	cr_assert_str_eq(first_cond(json_object_get(st, "conditions")), "False/Pending");
	cr_assert_str_eq(first_cond(json_object_get(json_array_get(ls, 0), "conditions")),
	    "False/Pending");
	/* A listener the render did not serve stays Invalid whatever the daemon did. */
	cr_assert_str_eq(first_cond(json_object_get(json_array_get(ls, 1), "conditions")),
	    "False/Invalid");
	json_decref(cur);

	/* The object has that status: with the same verdict no patch, with another one a patch. */
	cur = json_pack("{sO}", "status", st);
	json_decref(body);
	cr_assert_null(watch_status_patch(item, cur, OURS, &pending));
	cr_assert_not_null(body = watch_status_patch(item, cur, OURS, &serving));
	cr_assert_str_eq(first_cond(json_object_get(json_object_get(body, "status"), "conditions")),
	    "True/Programmed");
	json_decref(body);
	json_decref(cur);
	json_decref(item);
}

Test(gateway_watch, a_route_no_longer_ours_loses_only_our_parents_entry)
{
	json_t *cur = obj(ROUTE_ITEM(PARENT(THEIRS, "their-gw", COND("Accepted", "True", "Accepted",
	    OLD_TIME)) ", " PARENT(OURS, "gw", COND("Accepted", "True", "Accepted", OLD_TIME))));
	json_t *item = watch_status_orphan(cur, OURS), *body, *parents;

	cr_assert_not_null(item);
	cr_assert_not_null(body = watch_status_patch(item, cur, OURS, NULL));
	parents = json_object_get(json_object_get(body, "status"), "parents");
	cr_assert_eq(json_array_size(parents), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(parents, 0),
	    "controllerName")), THEIRS);
	json_decref(body);
	json_decref(item);
	json_decref(cur);

	/* None of ours: nothing to remove. */
	cur = obj(ROUTE_ITEM(PARENT(THEIRS, "their-gw", COND("Accepted", "True", "Accepted",
	    OLD_TIME))));
	cr_assert_null(watch_status_orphan(cur, OURS));
	json_decref(cur);
}

/* The loop, with a recorder for the status patches and a segment for the outcome. */

/* "STATUS/REASON" of the condition type in conds, or "(none)". */
static const char *
cond_of(const json_t *conds, const char *type)
{
	static char buf[128];
	const json_t *c;
	size_t i;

	json_array_foreach(conds, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")), type)) {
			snprintf(buf, sizeof(buf), "%s/%s",
			    json_string_value(json_object_get(c, "status")),
			    json_string_value(json_object_get(c, "reason")));
			return buf;
		}
	return "(none)";
}

struct recorder {
	json_t *patches;	/* [{"kind": N, "ns", "name", "body"}] */
	int fail;		/* answer this many patches 500 */
};

static int
record_patch(void *arg, size_t kind, const char *ns, const char *name, const char *body,
    struct gw_err *e)
{
	struct recorder *rec = arg;
	json_error_t je;

	(void)e;
	json_array_append_new(rec->patches, json_pack("{sI ss ss so}", "kind", (json_int_t)kind,
	    "ns", ns, "name", name, "body", json_loads(body, 0, &je)));
	if (rec->fail > 0) {
		rec->fail--;
		return 500;
	}
	return 200;
}

/* What the API server does with a merge patch of /status here: the status replaced key by key. */
static void
apply_patches(struct watch *w, struct watch_store *mirror, const json_t *patches, size_t from)
{
	json_t *p, *obj, *st;
	const char *key;
	json_t *v;
	size_t i;

	json_array_foreach(patches, i, p) {
		if (i < from)
			continue;
		obj = json_deep_copy(watch_store_get(mirror, (size_t)json_integer_value(
		    json_object_get(p, "kind")), json_string_value(json_object_get(p, "ns")),
		    json_string_value(json_object_get(p, "name"))));
		cr_assert_not_null(obj);
		if ((st = json_object_get(obj, "status")) == NULL) {
			json_object_set_new(obj, "status", json_object());
			st = json_object_get(obj, "status");
		}
		json_object_foreach(json_object_get(json_object_get(p, "body"), "status"), key, v)
			json_object_set(st, key, v);
		watch_store_event(mirror, (size_t)json_integer_value(json_object_get(p, "kind")),
		    KUBE_MODIFIED, obj);
		watch_callbacks.event(w, (size_t)json_integer_value(json_object_get(p, "kind")),
		    KUBE_MODIFIED, obj);
		json_decref(obj);
	}
}

/* The first patch of kind ns/name from index from, or NULL. */
static json_t *
patch_of(const json_t *patches, size_t from, size_t kind, const char *name)
{
	json_t *p;
	size_t i;

	json_array_foreach(patches, i, p)
		if (i >= from && (size_t)json_integer_value(json_object_get(p, "kind")) == kind &&
		    !strcmp(json_string_value(json_object_get(p, "name")), name))
			return p;
	return NULL;
}

/* Feeds one object to both the controller and the test's mirror of the API server. */
static void
feed(struct watch *w, struct watch_store *mirror, size_t kind, const char *text)
{
	json_t *j = obj(text);

	watch_callbacks.event(w, kind, KUBE_ADDED, j);
	watch_store_event(mirror, kind, KUBE_ADDED, j);
	json_decref(j);
}

static void
loop_setup(void)
{
	tmp_setup();
	seg_setup();
}

static void
loop_teardown(void)
{
	seg_teardown();
	tmp_teardown();
}

Test(gateway_watch, loop_writes_reports_programmed_and_its_own_patches_do_not_loop,
    .init = loop_setup, .fini = loop_teardown)
{
	char path[PATH_MAX + 32];
	struct watch_options wo = { .passthrough = passthrough(), .stats = seg_name,
	    .debounce_ms = 0, .programmed_timeout_s = 60, .o = opts };
	struct recorder rec = { json_array(), 0 };
	struct watch_store mirror;
	struct watch *w;
	struct stat st1, st2;
	uint8_t sha[SHA256_BYTES];
	json_t *p, *conds;
	size_t n;
	char *text;

	snprintf(path, sizeof(path), "%s/passthrough.conf", tmpdir);
	wo.config = path;
	cr_assert_eq(watch_store_init(&mirror), 0);
	cr_assert_not_null(w = watch_new(&wo, NULL, record_patch, &rec));
	feed(w, &mirror, WATCH_GATEWAY, GATEWAY_443);
	feed(w, &mirror, WATCH_SERVICE, SERVICE("a", "one", "10.0.0.1"));
	feed(w, &mirror, WATCH_TLSROUTE, ROUTE_ONE("a", "r1", "one.example.com"));

	/* Not synced: nothing rendered yet. */
	watch_turn(w, 0);
	cr_assert_neq(access(path, F_OK), 0, "written before every kind was listed");

	/* Synced: written; the route's status patched; the Gateway's waits for the outcome. */
	watch_turn(w, 1);
	text = slurp(path);
	cr_assert_not_null(strstr(text, "one.example.com"), "%s", text);
	cr_assert_eq(stat(path, &st1), 0);
	cr_assert_not_null(patch_of(rec.patches, 0, WATCH_TLSROUTE, "r1"));
	cr_assert_null(patch_of(rec.patches, 0, WATCH_GATEWAY, "gw"),
	    "Programmed before the outcome");
	n = json_array_size(rec.patches);
	apply_patches(w, &mirror, rec.patches, 0);
	watch_turn(w, 1);
	cr_assert_eq(json_array_size(rec.patches), n, "our own patch's event made another patch");

	/* The daemon serves those bytes: Gateway Programmed True. */
	sha256_digest(text, strlen(text), sha);
	memcpy(seg.hdr->config_sha256, sha, SHA256_BYTES);
	atomic_store(&seg.hdr->generation, 4);
	watch_turn(w, 1);
	cr_assert_not_null(p = patch_of(rec.patches, n, WATCH_GATEWAY, "gw"));
	conds = json_object_get(json_object_get(json_object_get(p, "body"), "status"),
	    "conditions");
	cr_assert_str_eq(cond_of(conds, "Programmed"), "True/Programmed");
	n = json_array_size(rec.patches);

	/* Its MODIFIED event: a render, the same bytes (not written again), no patch. */
	apply_patches(w, &mirror, rec.patches, n - 1);
	watch_turn(w, 1);
	watch_turn(w, 1);
	cr_assert_eq(json_array_size(rec.patches), n, "our own patch's event made another patch");
	cr_assert_eq(stat(path, &st2), 0);
	cr_assert_eq(st1.st_ino, st2.st_ino, "the same bytes written again");

	/* A route deleted: written again, and waiting for the daemon once more. */
	json_t *gone = obj(ROUTE_ONE("a", "r1", "one.example.com"));

	watch_callbacks.event(w, WATCH_TLSROUTE, KUBE_DELETED, gone);
	json_decref(gone);
	watch_turn(w, 1);
	cr_assert_null(strstr(slurp(path), "one.example.com"));
	watch_free(w);
	watch_store_free(&mirror);
	json_decref(rec.patches);
}

Test(gateway_watch, loop_retries_a_failed_patch_without_an_event,
    .init = loop_setup, .fini = loop_teardown)
{
	char path[PATH_MAX + 32];
	struct watch_options wo = { .passthrough = passthrough(), .stats = seg_name,
	    .debounce_ms = 0, .programmed_timeout_s = 60, .o = opts };
	struct recorder rec = { json_array(), 1 };
	struct watch_store mirror;
	struct watch *w;

	snprintf(path, sizeof(path), "%s/passthrough.conf", tmpdir);
	wo.config = path;
	cr_assert_eq(watch_store_init(&mirror), 0);
	cr_assert_not_null(w = watch_new(&wo, NULL, record_patch, &rec));
	feed(w, &mirror, WATCH_GATEWAY, GATEWAY_443);
	feed(w, &mirror, WATCH_SERVICE, SERVICE("a", "one", "10.0.0.1"));
	feed(w, &mirror, WATCH_TLSROUTE, ROUTE_ONE("a", "r1", "one.example.com"));
	watch_turn(w, 1);
	cr_assert_eq(json_array_size(rec.patches), 1, "the route's patch, answered 500");
	watch_turn(w, 1);
	cr_assert_eq(json_array_size(rec.patches), 1, "retried before its back-off");
	cr_assert(watch_timeout(w, 1) > 0 && watch_timeout(w, 1) <= WATCH_TICK_MS);
	usleep((WATCH_RETRY_MS + 100) * 1000);
	watch_turn(w, 1);
	cr_assert_eq(json_array_size(rec.patches), 2, "not retried after %d ms", WATCH_RETRY_MS);
	cr_assert_not_null(patch_of(rec.patches, 1, WATCH_TLSROUTE, "r1"));
	/* Answered 200 this time: nothing more to retry. */
	usleep((2 * WATCH_RETRY_MS + 100) * 1000);
	watch_turn(w, 1);
	cr_assert_eq(json_array_size(rec.patches), 2);
	watch_free(w);
	watch_store_free(&mirror);
	json_decref(rec.patches);
}
