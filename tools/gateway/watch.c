/*
 * watch.c -- passthrough-gateway watch: the controller. It holds every
 * object of the kinds it watches (kube.c lists and watches them), renders
 * them a debounce after the last change, writes the passthrough.conf only
 * when its bytes change and only after `passthrough -t` accepted them,
 * has the daemon reload (its watch_config, or -s reload), reads from the
 * statistics segment whether the daemon serves those bytes, and patches
 * the status of the objects whose status differs from what they have.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "confpeek.h"
#include "path.h"
#include "render_int.h"
#include "stats.h"
#include "watch_int.h"

/* "ns/name": a namespace (63 bytes), a name (253), and room for "Kind " before it. */
#define WATCH_KEY_MAX	384

const struct kube_kind watch_kinds[WATCH_KINDS] = {
	[WATCH_GATEWAYCLASS] = { GW_GROUP, "v1", NULL, "gatewayclasses", "GatewayClass" },
	[WATCH_GATEWAY] = { GW_GROUP, "v1", NULL, "gateways", "Gateway" },
	[WATCH_TLSROUTE] = { GW_GROUP, "v1", "v1alpha2", "tlsroutes", "TLSRoute" },
	[WATCH_REFERENCEGRANT] = { GW_GROUP, "v1beta1", NULL, "referencegrants", "ReferenceGrant" },
	[WATCH_SERVICE] = { "", "v1", NULL, "services", "Service" },
	[WATCH_ENDPOINTSLICE] = { "discovery.k8s.io", "v1", NULL, "endpointslices",
	    "EndpointSlice" },
	[WATCH_INGRESS] = { "networking.k8s.io", "v1", NULL, "ingresses", "Ingress" },
};

/* "ns/name" of an object ("/name" when cluster-scoped), or 0 when it has no name. */
static int
watch_key(const json_t *obj, char *buf, size_t size)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));

	if (name == NULL)
		return 0;
	return (size_t)snprintf(buf, size, "%s/%s", ns ? ns : "", name) < size;
}

/* The object store. */

int
watch_store_init(struct watch_store *s)
{
	size_t i;

	for (i = 0; i < WATCH_KINDS; i++)
		if ((s->kinds[i] = json_object()) == NULL)
			return -1;
	return 0;
}

void
watch_store_free(struct watch_store *s)
{
	size_t i;

	for (i = 0; i < WATCH_KINDS; i++) {
		json_decref(s->kinds[i]);
		s->kinds[i] = NULL;
	}
}

int
watch_store_relist(struct watch_store *s, size_t kind, json_t *items)
{
	char key[WATCH_KEY_MAX];
	size_t i;

	if (kind >= WATCH_KINDS || json_object_clear(s->kinds[kind]) != 0)
		return -1;
	for (i = 0; i < json_array_size(items); i++) {
		json_t *obj = json_array_get(items, i);

		if (watch_key(obj, key, sizeof(key)) &&
		    json_object_set(s->kinds[kind], key, obj) != 0)
			return -1;
	}
	return 0;
}

int
watch_store_event(struct watch_store *s, size_t kind, enum kube_event ev, json_t *obj)
{
	char key[WATCH_KEY_MAX];

	if (kind >= WATCH_KINDS || !watch_key(obj, key, sizeof(key)))
		return kind >= WATCH_KINDS ? -1 : 0;
	if (ev == KUBE_DELETED) {
		json_object_del(s->kinds[kind], key);
		return 0;
	}
	return json_object_set(s->kinds[kind], key, obj);
}

json_t *
watch_store_get(const struct watch_store *s, size_t kind, const char *ns, const char *name)
{
	char key[WATCH_KEY_MAX];

	if (kind >= WATCH_KINDS ||
	    (size_t)snprintf(key, sizeof(key), "%s/%s", ns, name) >= sizeof(key))
		return NULL;
	return json_object_get(s->kinds[kind], key);
}

static int
watch_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
watch_store_input(const struct watch_store *s, const size_t *skip, size_t nskip,
    struct gw_input *in, struct gw_err *e)
{
	const char **keys = NULL;
	const char *key;
	json_t *each;
	size_t i, k, n, x, index = 0;
	char name[64];

	for (i = 0; i < WATCH_KINDS; i++) {
		n = 0;
		free(keys);
		if ((keys = malloc((json_object_size(s->kinds[i]) + 1) * sizeof(*keys))) == NULL)
			return gw_fail(e, NULL, 0, "out of memory");
		json_object_foreach(s->kinds[i], key, each)
			keys[n++] = key;
		/* Sorted: the render and its config's bytes do not depend on the events' order. */
		qsort(keys, n, sizeof(*keys), watch_strcmp);
		for (k = 0; k < n; k++, index++) {
			json_t *obj = json_object_get(s->kinds[i], keys[k]);

			for (x = 0; x < nskip && skip[x] != index; x++)
				;
			if (x < nskip)
				continue;
			/* Each object its own "file": a render error names the one to leave out. */
			snprintf(name, sizeof(name), WATCH_SOURCE "#%zu", index);
			if (load_json_object(in, name, obj, e) != 0) {
				free(keys);
				return -1;
			}
		}
	}
	free(keys);
	return 0;
}

/* The render. */

/*
 * The index of the object a render error names ("kubernetes#17: TLSRoute
 * a/b: ..."), its message after that prefix in *what; -1 when it names
 * none (out of memory: no object is to blame).
 */
static long
watch_blamed(const char *msg, const char **what)
{
	const char *p = msg + strlen(WATCH_SOURCE "#");
	char *end;
	long index;

	if (strncmp(msg, WATCH_SOURCE "#", strlen(WATCH_SOURCE "#")) != 0)
		return -1;
	index = strtol(p, &end, 10);
	if (end == p || index < 0 || end[0] != ':')
		return -1;
	*what = end[1] == ' ' ? end + 2 : end + 1;
	return index;
}

int
watch_render_run(const struct watch_store *s, const struct gw_options *o, const char *base,
    struct watch_render *out, struct gw_err *e)
{
	static char source[] = WATCH_SOURCE;
	char *files[] = { source };
	struct gw_input in = { 0 };
	struct gw_result r = { 0 };
	size_t i, skip[WATCH_SKIP_MAX], nskip = 0;
	const char *what;
	FILE *mem;
	int wrc, rc = -1;
	long blamed;

	*out = (struct watch_render){ 0 };
	/* An object the render refuses is left out (and said), not the whole cluster's update. */
	for (;;) {
		if (watch_store_input(s, skip, nskip, &in, e) != 0)
			goto out;
		if (render_run(&in, o, &r, e) == 0)
			break;
		if ((blamed = watch_blamed(e->msg, &what)) < 0 || nskip == WATCH_SKIP_MAX)
			goto out;
		skip[nskip++] = (size_t)blamed;
		snprintf(out->left_out[out->nleft_out++], sizeof(out->left_out[0]), "%s", what);
		render_free(&r);
		load_free(&in);
	}
	for (i = 0; i < r.ngroups; i++)
		out->routes += r.groups[i].nroutes;
	out->listeners = r.ngroups;
	if ((mem = open_memstream(&out->text, &out->len)) == NULL) {
		gw_fail(e, NULL, 0, "out of memory");
		goto out;
	}
	wrc = confout_write(mem, &r, o, base, files, 1);
	if (fclose(mem) != 0 || wrc != 0) {
		gw_fail(e, NULL, 0, "out of memory");
		goto out;
	}
	sha256_digest(out->text, out->len, out->sha256);
	out->status = json_incref(r.status);
	rc = 0;
out:
	render_free(&r);
	load_free(&in);
	if (rc != 0)
		watch_render_free(out);
	return rc;
}

void
watch_render_free(struct watch_render *r)
{
	free(r->text);
	json_decref(r->status);
	*r = (struct watch_render){ 0 };
}

/* The write. */

/* 1 when the file at path holds exactly text[0..len). */
static int
watch_same(const char *path, const char *text, size_t len)
{
	char buf[65536];
	size_t off = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), same = 1;

	if (fd < 0)
		return 0;
	while (same && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			same = 0;
			break;
		}
		if ((size_t)n > len - off || memcmp(buf, text + off, (size_t)n) != 0)
			same = 0;
		off += (size_t)n;
	}
	close(fd);
	return same && off == len;
}

/* A writable copy of argv for execvp (in the child: what fails there is exec's error). */
static char **
watch_argv_copy(const char *const argv[])
{
	size_t i, n = 0;
	char **copy;

	while (argv[n] != NULL)
		n++;
	if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
		_exit(127);
	for (i = 0; i < n; i++)
		if ((copy[i] = strdup(argv[i])) == NULL)
			_exit(127);
	return copy;
}

int
watch_command(const char *const argv[], int timeout_ms, char *out, size_t size)
{
	uint64_t deadline = clock_ms() + (uint64_t)timeout_ms;
	size_t got = 0;
	int p[2], status, timed_out = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	if ((pid = fork()) < 0) {
		int err = errno;

		close(p[0]);
		close(p[1]);
		return -err;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], watch_argv_copy(argv));
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		uint64_t now = clock_ms();
		char buf[512];
		ssize_t n;

		if (now >= deadline) {
			timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		if ((n = read(p[0], buf, sizeof(buf))) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Kept up to size - 1; the rest is read and dropped, so the child never blocks. */
		if (got + 1 < size) {
			size_t take = (size_t)n < size - 1 - got ? (size_t)n : size - 1 - got;

			memcpy(out + got, buf, take);
			got += take;
		}
	}
	close(p[0]);
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r'))
		got--;
	out[got] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (timed_out)
		return -ETIMEDOUT;
	if (!WIFEXITED(status))
		return -EINTR;
	return WEXITSTATUS(status);
}

/* out with every tmp replaced by path (messages of -t name the file it checked). */
static void
watch_rename_in(char *out, size_t size, const char *tmp, const char *path)
{
	char copy[WATCH_OUTPUT_MAX], *at, *from = copy;
	size_t used = 0, tlen = strlen(tmp);

	snprintf(copy, sizeof(copy), "%s", out);
	out[0] = '\0';
	while ((at = strstr(from, tmp)) != NULL && used < size) {
		used += (size_t)snprintf(out + used, size - used, "%.*s%s", (int)(at - from), from,
		    path);
		from = at + tlen;
	}
	if (used < size)
		snprintf(out + used, size - used, "%s", from);
}

/* write(2) all of buf, or -errno. */
static int
watch_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

enum watch_write_result
watch_write(const char *path, const char *passthrough, const char *text, size_t len, char *why,
    size_t whysize)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	const char *base;
	int fd, rc, dfd;

	why[0] = '\0';
	if (watch_same(path, text, len))
		return WATCH_WRITE_SAME;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		slash[slash == dir ? 1 : 0] = '\0';
		base = path + (slash - dir) + 1;
	} else {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	}
	/* In the same directory: the rename is atomic, and -t resolves relative @includes alike. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >= sizeof(tmp)) {
		snprintf(why, whysize, "%s: name too long", path);
		return WATCH_WRITE_FAILED;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(why, whysize, "%s: %s", tmp, strerror(errno));
		return WATCH_WRITE_FAILED;
	}
	/* Not secret, and the daemon may read it as another user. */
	if (fchmod(fd, 0644) != 0 || (rc = watch_write_all(fd, text, len)) != 0 || fsync(fd) != 0) {
		snprintf(why, whysize, "%s: %s", tmp, strerror(errno));
		goto bad;
	}
	close(fd);
	fd = -1;
	{
		const char *argv[] = { passthrough, "-t", "-c", tmp, NULL };

		rc = watch_command(argv, WATCH_COMMAND_TIMEOUT_MS, why, whysize);
	}
	if (rc != 0) {
		if (rc < 0)
			snprintf(why, whysize, "%s -t: %s", passthrough, strerror(-rc));
		else
			watch_rename_in(why, whysize, tmp, path);
		unlink(tmp);
		/* 127: the shell's "could not run": not a verdict on the config. */
		return rc < 0 || rc == 127 ? WATCH_WRITE_FAILED : WATCH_WRITE_REFUSED;
	}
	why[0] = '\0';
	if (rename(tmp, path) != 0) {
		snprintf(why, whysize, "%s: %s", path, strerror(errno));
		goto bad;
	}
	/* The rename itself durable: the directory's entry. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return WATCH_WRITE_DONE;
bad:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return WATCH_WRITE_FAILED;
}

/* The outcome. */

void
watch_stats_name(const struct watch_options *wo, const char *text, size_t len, char *buf,
    size_t size)
{
	char abs_path[PATH_MAX];
	char *configured;

	if (wo->stats != NULL) {
		snprintf(buf, size, "/%s", wo->stats + (wo->stats[0] == '/'));
		return;
	}
	if (path_absolute(wo->config, abs_path, sizeof(abs_path)) == NULL)
		snprintf(abs_path, sizeof(abs_path), "%s", wo->config);
	configured = text != NULL ? confpeek_string(text, len, "stats.name") :
	    confpeek_file(wo->config, "stats.name");
	stats_name(buf, size, configured, abs_path);
	free(configured);
}

uint64_t
watch_reloads_failed(const char *name)
{
	struct stats s;
	const char *why;
	uint64_t n;

	if (stats_open_readonly(&s, name, &why) != 0)
		return 0;
	n = atomic_load_explicit(&s.hdr->reloads_failed, memory_order_acquire);
	stats_close(&s);
	return n;
}

enum watch_served
watch_served(const char *name, const uint8_t sha256[SHA256_BYTES], uint64_t failed_before,
    uint64_t *generation, char *message, size_t size)
{
	enum watch_served v = WATCH_SERVED_UNKNOWN;
	struct stats s;
	const char *why;
	uint64_t failed;

	if (stats_open_readonly(&s, name, &why) != 0)
		return WATCH_SERVED_UNKNOWN;
	/* The count first: the master writes the rest of a reload's outcome before it moves. */
	failed = atomic_load_explicit(&s.hdr->reloads_failed, memory_order_acquire);
	if (memcmp(s.hdr->config_sha256, sha256, SHA256_BYTES) == 0) {
		*generation = atomic_load_explicit(&s.hdr->generation, memory_order_acquire);
		v = WATCH_SERVED_YES;
	} else if (failed > failed_before &&
	    memcmp(s.hdr->last_reload_sha256, sha256, SHA256_BYTES) == 0 &&
	    atomic_load(&s.hdr->last_reload_ok) == 0) {
		snprintf(message, size, "%.*s", (int)STATS_MESSAGE_MAX,
		    s.hdr->last_reload_message);
		v = WATCH_SERVED_REFUSED;
	}
	stats_close(&s);
	return v;
}

/* The status. */

/* o[key] as a string, "" when absent or not one. */
static const char *
watch_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

/* Removes every lastTransitionTime from j, at any depth. */
static void
watch_strip_times(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_del(j, "lastTransitionTime");
		json_object_foreach(j, key, v)
			watch_strip_times(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			watch_strip_times(v);
	}
}

/* Are a and b equal, lastTransitionTime aside? (NULL equals only NULL.) */
static int
watch_equal_untimed(const json_t *a, const json_t *b)
{
	json_t *ca, *cb;
	int eq;

	if (a == NULL || b == NULL)
		return a == b;
	ca = json_deep_copy(a);
	cb = json_deep_copy(b);
	watch_strip_times(ca);
	watch_strip_times(cb);
	eq = ca != NULL && cb != NULL && json_equal(ca, cb);
	json_decref(ca);
	json_decref(cb);
	return eq;
}

/* Each condition of conds the old ones have with the same type and status keeps its old time. */
static void
watch_keep_times(json_t *conds, const json_t *old)
{
	json_t *c, *o;
	size_t i, k;

	json_array_foreach(conds, i, c) {
		json_array_foreach(old, k, o) {
			json_t *t = json_object_get(o, "lastTransitionTime");

			if (!strcmp(watch_str(c, "type"), watch_str(o, "type")) &&
			    !strcmp(watch_str(c, "status"), watch_str(o, "status")) &&
			    json_is_string(t)) {
				json_object_set(c, "lastTransitionTime", t);
				break;
			}
		}
	}
}

/* The Programmed conditions of conds that the render set True take p's verdict. */
static void
watch_programmed_apply(json_t *conds, const struct watch_programmed *p)
{
	json_t *c;
	size_t i;

	json_array_foreach(conds, i, c) {
		if (strcmp(watch_str(c, "type"), "Programmed") != 0 ||
		    strcmp(watch_str(c, "status"), "True") != 0)
			continue;
		json_object_set_new(c, "status", json_string(p->ok ? "True" : "False"));
		json_object_set_new(c, "reason", json_string(p->reason));
		json_object_set_new(c, "message", json_string(p->message));
	}
}

/* The element of arr whose key equals v's key, or NULL. */
static json_t *
watch_find(const json_t *arr, const char *key, const json_t *v)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
		if (json_equal(json_object_get(e, key), json_object_get(v, key)))
			return e;
	return NULL;
}

/* A Gateway's status: Programmed from p, listeners matched by name for their times. */
static void
watch_status_gateway(json_t *st, const json_t *cur, const struct watch_programmed *p)
{
	json_t *l, *old;
	size_t i;

	if (p != NULL)
		watch_programmed_apply(json_object_get(st, "conditions"), p);
	json_array_foreach(json_object_get(st, "listeners"), i, l) {
		if (p != NULL)
			watch_programmed_apply(json_object_get(l, "conditions"), p);
		old = watch_find(json_object_get(cur, "listeners"), "name", l);
		watch_keep_times(json_object_get(l, "conditions"),
		    json_object_get(old, "conditions"));
	}
}

/* A TLSRoute's parents: the other controllers' as they are, then ours (times kept). */
static int
watch_status_parents(json_t *st, const json_t *cur, const char *controller)
{
	json_t *parents = json_array(), *ours = json_object_get(st, "parents"), *e, *old;
	const json_t *had = json_object_get(cur, "parents");
	size_t i, k;

	if (parents == NULL)
		return -1;
	json_array_foreach(had, i, e)
		if (strcmp(watch_str(e, "controllerName"), controller) != 0)
			json_array_append(parents, e);
	json_array_foreach(ours, i, e) {
		json_array_foreach(had, k, old) {
			if (!strcmp(watch_str(old, "controllerName"), controller) &&
			    json_equal(json_object_get(old, "parentRef"),
			    json_object_get(e, "parentRef"))) {
				watch_keep_times(json_object_get(e, "conditions"),
				    json_object_get(old, "conditions"));
				break;
			}
		}
		json_array_append(parents, e);
	}
	return json_object_set_new(st, "parents", parents);
}

json_t *
watch_status_patch(const json_t *item, const json_t *current, const char *controller,
    const struct watch_programmed *p)
{
	const char *kind = json_string_value(json_object_get(item, "kind"));
	const json_t *cur = json_object_get(current, "status");
	json_t *st = json_deep_copy(json_object_get(item, "status")), *v;
	const char *key;
	int differs = 0;

	if (st == NULL || kind == NULL)
		goto none;
	if (!strcmp(kind, "Gateway"))
		watch_status_gateway(st, cur, p);
	if (!strcmp(kind, "TLSRoute") && watch_status_parents(st, cur, controller) != 0)
		goto none;
	watch_keep_times(json_object_get(st, "conditions"), json_object_get(cur, "conditions"));
	/* A merge patch sets only the keys it has: only those are compared. */
	json_object_foreach(st, key, v)
		if (!watch_equal_untimed(v, json_object_get(cur, key)))
			differs = 1;
	if (!differs)
		goto none;
	return json_pack("{so}", "status", st);
none:
	json_decref(st);
	return NULL;
}

json_t *
watch_status_orphan(const json_t *route, const char *controller)
{
	const json_t *md = json_object_get(route, "metadata");
	json_t *e, *item;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(route, "status"), "parents"), i, e) {
		if (strcmp(watch_str(e, "controllerName"), controller) != 0)
			continue;
		item = json_pack("{sO sO s{sO sO} s{s[]}}", "apiVersion",
		    json_object_get(route, "apiVersion"), "kind", json_object_get(route, "kind"),
		    "metadata", "namespace", json_object_get(md, "namespace"), "name",
		    json_object_get(md, "name"), "status", "parents");
		return item;
	}
	return NULL;
}

/* The controller's loop. */

static volatile sig_atomic_t watch_stopping;

static void
watch_on_signal(int sig)
{
	(void)sig;
	watch_stopping = 1;
}

/* Where the last render stands with the daemon. */
enum watch_state {
	WATCH_IDLE,			/* nothing rendered yet */
	WATCH_WAITING,			/* written (or found in place), not served yet: timing */
	WATCH_PENDING,			/* the timeout passed: still looking */
	WATCH_SERVING,			/* config_sha256 is the render's */
	WATCH_RELOAD_REFUSED,		/* the daemon's reload of it failed */
	WATCH_CHECK_REFUSED,		/* passthrough -t refused it: not written */
};

struct watch {
	const struct watch_options *wo;
	struct gw_options o;
	char now[32];
	struct watch_store store;
	watch_patch_fn patch;		/* kube_patch_status, or a test's */
	void *patch_arg;
	char *base;
	int dirty;
	uint64_t due_ms;		/* dirty: when the render runs (the debounce ends) */
	uint64_t latest_ms;		/* dirty: when it runs at the latest, changes or not */
	enum watch_state state;
	uint8_t target[SHA256_BYTES];	/* the last render's bytes */
	uint64_t deadline_ms;		/* WAITING: when it becomes PENDING */
	uint64_t next_check_ms;		/* PENDING, RELOAD_REFUSED: the segment's next look */
	uint64_t failed_before;		/* the segment's reloads_failed before the write */
	uint64_t generation;
	char message[WATCH_OUTPUT_MAX];
	json_t *status;			/* the last render's status List */
	json_t *patched;		/* "Kind ns/name" -> the last patch body sent */
	uint64_t retry_ms;		/* the next back-off of a failed write or patch */
	char stats[STATS_NAME_MAX + 2];
};

static void
watch_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
watch_log(const char *fmt, ...)
{
	va_list ap;
	char line[2048];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "passthrough-gateway: %s\n", line);
}

/*
 * A change: the render waits for debounce_ms without another, but not
 * more than WATCH_SETTLE_MAX debounces after the first change it has not
 * rendered, so that a steady stream of events (EndpointSlices of a large
 * rollout) does not hold it off for good.
 */
static void
watch_changed(struct watch *w)
{
	uint64_t now = clock_ms();

	if (!w->dirty)
		w->latest_ms = now + (uint64_t)w->wo->debounce_ms * WATCH_SETTLE_MAX;
	w->dirty = 1;
	w->due_ms = now + (uint64_t)w->wo->debounce_ms;
	if (w->due_ms > w->latest_ms)
		w->due_ms = w->latest_ms;
}

static void
watch_on_relist(void *arg, size_t kind, json_t *items)
{
	struct watch *w = arg;

	watch_log("listed %zu %s", json_array_size(items), watch_kinds[kind].plural);
	if (watch_store_relist(&w->store, kind, items) != 0)
		watch_log("listed %s: out of memory", watch_kinds[kind].plural);
	watch_changed(w);
}

static void
watch_on_event(void *arg, size_t kind, enum kube_event ev, json_t *obj)
{
	static const char *const what[] = { "added", "modified", "deleted" };
	struct watch *w = arg;
	char key[WATCH_KEY_MAX] = "?", pkey[WATCH_KEY_MAX + 32];

	watch_key(obj, key, sizeof(key));
	watch_log("%s %s %s", watch_kinds[kind].kind, key[0] == '/' ? key + 1 : key, what[ev]);
	if (watch_store_event(&w->store, kind, ev, obj) != 0)
		watch_log("%s %s: out of memory", watch_kinds[kind].kind, key);
	if (ev == KUBE_DELETED) {
		snprintf(pkey, sizeof(pkey), "%s %s", watch_kinds[kind].kind, key);
		json_object_del(w->patched, pkey);
	}
	watch_changed(w);
}

/* The render again after the back-off, which doubles for the next failure. */
static void
watch_retry(struct watch *w)
{
	uint64_t at = clock_ms() + w->retry_ms;

	if (!w->dirty || at < w->due_ms) {
		w->dirty = 1;
		w->due_ms = w->latest_ms = at;
	}
	w->retry_ms = w->retry_ms * 2 < WATCH_RETRY_MAX_MS ? w->retry_ms * 2 : WATCH_RETRY_MAX_MS;
}

/* p for the state; NULL while waiting (the Gateways' status waits with it). */
static const struct watch_programmed *
watch_verdict(struct watch *w, struct watch_programmed *p, char *msg, size_t size)
{
	switch (w->state) {
	case WATCH_SERVING:
		snprintf(msg, size, "passthrough serves it (generation %llu)",
		    (unsigned long long)w->generation);
		*p = (struct watch_programmed){ 1, "Programmed", msg };
		return p;
	case WATCH_RELOAD_REFUSED:
		snprintf(msg, size, "passthrough refused it: %s", w->message);
		break;
	case WATCH_CHECK_REFUSED:
		snprintf(msg, size, "passthrough -t refused the render: %s", w->message);
		break;
	case WATCH_PENDING:
		snprintf(msg, size, "passthrough has not loaded it within %d s",
		    w->wo->programmed_timeout_s);
		*p = (struct watch_programmed){ 0, "Pending", msg };
		return p;
	default:
		return NULL;
	}
	*p = (struct watch_programmed){ 0, "Invalid", msg };
	return p;
}

/* Which of the table's kinds an item of the status List is. */
static size_t
watch_kind_of(const char *kind)
{
	size_t i;

	for (i = 0; kind != NULL && i < WATCH_KINDS; i++)
		if (!strcmp(watch_kinds[i].kind, kind))
			return i;
	return WATCH_KINDS;
}

/*
 * One item of the status List: patched when the object's status differs.
 * Returns -1 when a patch failed and is worth trying again (not 404: the
 * object is gone, its DELETED event follows), else 0.
 */
static int
watch_status_one(struct watch *w, const json_t *item, const struct watch_programmed *p)
{
	const json_t *md = json_object_get(item, "metadata");
	const char *kname = json_string_value(json_object_get(item, "kind"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace")) ?: "";
	size_t kind = watch_kind_of(kname);
	struct gw_err e = { "" };
	json_t *cur, *body, *last;
	char key[WATCH_KEY_MAX + 32], *text;
	int code;

	if (kind == WATCH_KINDS || name == NULL ||
	    (cur = watch_store_get(&w->store, kind, ns, name)) == NULL)
		return 0;
	if ((body = watch_status_patch(item, cur, w->o.controller_name, p)) == NULL)
		return 0;
	snprintf(key, sizeof(key), "%s %s/%s", kname, ns, name);
	/*
	 * What we sent last, the same again: the API server may have added
	 * defaults to it (a parentRef's group and kind), which would otherwise
	 * make every event of our own patch a new patch.
	 */
	last = json_object_get(w->patched, key);
	if (last != NULL && watch_equal_untimed(last, body)) {
		json_decref(body);
		return 0;
	}
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		return -1;
	}
	code = w->patch(w->patch_arg, kind, ns, name, text, &e);
	if (code == 200) {
		watch_log("status: %s %s%s%s patched", kname, ns, ns[0] ? "/" : "", name);
		json_object_set(w->patched, key, body);
	} else if (code < 0) {
		watch_log("status: %s %s%s%s: %s", kname, ns, ns[0] ? "/" : "", name, e.msg);
	} else {
		watch_log("status: %s %s%s%s: HTTP %d", kname, ns, ns[0] ? "/" : "", name, code);
	}
	free(text);
	json_decref(body);
	return code == 200 || code == 404 ? 0 : -1;
}

/* The TLSRoutes that name none of our Gateways any more: our parents entries go. -1: retry. */
static int
watch_status_orphans(struct watch *w)
{
	const json_t *items = json_object_get(w->status, "items");
	const char *key;
	json_t *route, *orphan, *it;
	size_t i;
	int failed = 0;

	json_object_foreach(w->store.kinds[WATCH_TLSROUTE], key, route) {
		const json_t *md = json_object_get(route, "metadata");
		int listed = 0;

		if ((orphan = watch_status_orphan(route, w->o.controller_name)) == NULL)
			continue;
		json_array_foreach(items, i, it) {
			const json_t *imd = json_object_get(it, "metadata");

			if (!strcmp(watch_str(it, "kind"), "TLSRoute") &&
			    !strcmp(watch_str(imd, "name"), watch_str(md, "name")) &&
			    !strcmp(watch_str(imd, "namespace"), watch_str(md, "namespace")))
				listed = 1;
		}
		if (!listed && watch_status_one(w, orphan, NULL) != 0)
			failed = 1;
		json_decref(orphan);
	}
	return failed ? -1 : 0;
}

/*
 * The status of every item; the Gateways' only once the outcome is known.
 * A patch that failed has the render run again after a back-off (from
 * WATCH_RETRY_MS, doubling to WATCH_RETRY_MAX_MS): its status step
 * retries it, with no event needed.
 */
static void
watch_status(struct watch *w)
{
	struct watch_programmed pbuf;
	const struct watch_programmed *p;
	char msg[WATCH_OUTPUT_MAX + 64];
	json_t *item;
	size_t i;
	int failed = 0;

	p = watch_verdict(w, &pbuf, msg, sizeof(msg));
	json_array_foreach(json_object_get(w->status, "items"), i, item) {
		if (p == NULL && !strcmp(watch_str(item, "kind"), "Gateway"))
			continue;
		if (watch_status_one(w, item, p) != 0)
			failed = 1;
	}
	if (watch_status_orphans(w) != 0)
		failed = 1;
	if (!failed) {
		w->retry_ms = WATCH_RETRY_MS;
		return;
	}
	watch_retry(w);
}

/*
 * While waiting for the daemon: has it served or refused the render yet?
 * After a refused reload too: a daemon restarted (the port it could not
 * bind freed) may serve the same bytes. Sets the status when the answer
 * moved; returns 1 then, else 0.
 */
static int
watch_check(struct watch *w)
{
	char message[sizeof(w->message)];
	enum watch_served v;

	if (w->state != WATCH_WAITING && w->state != WATCH_PENDING &&
	    w->state != WATCH_RELOAD_REFUSED)
		return 0;
	/* Each tick while waiting; past that, less often (each look maps the segment). */
	if (w->state != WATCH_WAITING && clock_ms() < w->next_check_ms)
		return 0;
	w->next_check_ms = clock_ms() + WATCH_RECHECK_MS;
	v = watch_served(w->stats, w->target, w->failed_before, &w->generation, message,
	    sizeof(message));
	if (v == WATCH_SERVED_YES) {
		w->state = WATCH_SERVING;
		watch_log("passthrough serves it (generation %llu)",
		    (unsigned long long)w->generation);
	} else if (v == WATCH_SERVED_REFUSED && w->state != WATCH_RELOAD_REFUSED) {
		w->state = WATCH_RELOAD_REFUSED;
		snprintf(w->message, sizeof(w->message), "%s", message);
		watch_log("passthrough refused it: %s", w->message);
	} else if (w->state == WATCH_WAITING && clock_ms() >= w->deadline_ms) {
		w->state = WATCH_PENDING;
		watch_log("passthrough has not loaded %s within %d s (statistics segment %s): "
		    "Programmed Pending", w->wo->config, w->wo->programmed_timeout_s, w->stats);
	} else {
		return 0;
	}
	watch_status(w);
	return 1;
}

/* After a write: passthrough -s reload -c FILE, its answer logged. */
static void
watch_reload(struct watch *w)
{
	const char *argv[] = { w->wo->passthrough, "-s", "reload", "-c", w->wo->config, NULL };
	char out[WATCH_OUTPUT_MAX];
	int rc = watch_command(argv, WATCH_COMMAND_TIMEOUT_MS, out, sizeof(out));

	if (rc < 0)
		watch_log("%s -s reload: %s", w->wo->passthrough, strerror(-rc));
	else if (rc != 0)
		watch_log("%s -s reload: exit %d: %s", w->wo->passthrough, rc, out);
}

/* The conditions' time, now. */
static void
watch_now(struct watch *w)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(w->now, sizeof(w->now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	w->o.now = w->now;
}

/* Render, write when changed, reload, and set the status the outcome allows now. */
static void
watch_cycle(struct watch *w)
{
	struct watch_render r;
	struct gw_err e = { "" };
	char why[WATCH_OUTPUT_MAX], hex[SHA256_HEX_SIZE];
	int same_target;
	uint64_t failed;
	size_t i;

	w->dirty = 0;
	watch_now(w);
	if (watch_render_run(&w->store, &w->o, w->base, &r, &e) != 0) {
		watch_log("render failed, %s stays as it is: %s", w->wo->config, e.msg);
		return;
	}
	for (i = 0; i < r.nleft_out; i++)
		watch_log("left out of the render: %s", r.left_out[i]);
	json_decref(w->status);
	w->status = json_incref(r.status);
	same_target = w->state != WATCH_IDLE && !memcmp(w->target, r.sha256, SHA256_BYTES);
	if (same_target && w->state == WATCH_CHECK_REFUSED) {
		/* Refused already (an event rendered it again, our own patch's say): said once. */
		watch_render_free(&r);
		watch_status(w);
		return;
	}
	sha256_hex(r.sha256, hex);
	/* The name the daemon will take from these bytes (stats.name), read once per render. */
	watch_stats_name(w->wo, r.text, r.len, w->stats, sizeof(w->stats));
	failed = watch_reloads_failed(w->stats);
	switch (watch_write(w->wo->config, w->wo->passthrough, r.text, r.len, why, sizeof(why))) {
	case WATCH_WRITE_SAME:
		if (same_target && w->state != WATCH_CHECK_REFUSED)
			break;
		/* In place already (a restart of the controller): is it the one serving? */
		watch_log("%s holds the render already: %zu listeners, %zu routes, sha256 %.12s",
		    w->wo->config, r.listeners, r.routes, hex);
		w->state = WATCH_WAITING;
		w->failed_before = 0;
		w->deadline_ms = clock_ms() + (uint64_t)w->wo->programmed_timeout_s * 1000u;
		break;
	case WATCH_WRITE_DONE:
		watch_log("wrote %s: %zu listeners, %zu routes, sha256 %.12s", w->wo->config,
		    r.listeners, r.routes, hex);
		w->state = WATCH_WAITING;
		w->failed_before = failed;
		w->deadline_ms = clock_ms() + (uint64_t)w->wo->programmed_timeout_s * 1000u;
		if (w->wo->reload == WATCH_RELOAD_SIGNAL)
			watch_reload(w);
		break;
	case WATCH_WRITE_REFUSED:
		watch_log("-t refused the render, %s stays as it is: %s", w->wo->config, why);
		w->state = WATCH_CHECK_REFUSED;
		snprintf(w->message, sizeof(w->message), "%s", why);
		break;
	case WATCH_WRITE_FAILED:
		/* Not the render's fault: tried again after a back-off. */
		watch_log("cannot write %s: %s", w->wo->config, why);
		watch_retry(w);
		watch_render_free(&r);
		return;
	}
	memcpy(w->target, r.sha256, SHA256_BYTES);
	watch_render_free(&r);
	if (!watch_check(w))
		watch_status(w);
}

int
watch_timeout(const struct watch *w, int synced)
{
	uint64_t now = clock_ms();

	if (w->dirty && synced)
		return w->due_ms <= now ? 0 : w->due_ms - now < WATCH_TICK_MS ?
		    (int)(w->due_ms - now) : WATCH_TICK_MS;
	return WATCH_TICK_MS;
}

void
watch_turn(struct watch *w, int synced)
{
	if (w->dirty && synced && clock_ms() >= w->due_ms)
		watch_cycle(w);
	watch_check(w);
}

const struct kube_callbacks watch_callbacks = { watch_on_relist, watch_on_event };

struct watch *
watch_new(const struct watch_options *wo, char *base, watch_patch_fn patch, void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		free(base);
		return NULL;
	}
	*w = (struct watch){ .wo = wo, .o = wo->o, .retry_ms = WATCH_RETRY_MS, .patch = patch,
	    .patch_arg = arg, .base = base };
	if (watch_store_init(&w->store) != 0 || (w->patched = json_object()) == NULL) {
		watch_free(w);
		return NULL;
	}
	return w;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	free(w->base);
	json_decref(w->status);
	json_decref(w->patched);
	watch_store_free(&w->store);
	free(w);
}

static int
watch_signals(void)
{
	struct sigaction sa = { .sa_handler = watch_on_signal };

	/* No SA_RESTART: a wait returns early; the tick bounds what does not. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The status patches through the client (arg: where watch_main keeps it). */
static int
watch_kube_patch(void *arg, size_t kind, const char *ns, const char *name, const char *body,
    struct gw_err *e)
{
	return kube_patch_status(*(struct kube **)arg, kind, ns, name, body, e);
}

int
watch_main(const struct watch_options *wo)
{
	struct kube_config kc = { 0 };
	struct kube *kube = NULL;
	struct watch *w = NULL;
	struct gw_err e = { "" };
	char *base = NULL;
	int rc = 1;

	if (watch_signals() != 0) {
		snprintf(e.msg, sizeof(e.msg), "sigaction: %s", strerror(errno));
		goto out;
	}
	if (wo->base != NULL && (base = base_read(wo->base, &e)) == NULL)
		goto out;
	if ((w = watch_new(wo, base, watch_kube_patch, &kube)) == NULL) {
		snprintf(e.msg, sizeof(e.msg), "out of memory");
		goto out;
	}
	if (kube_config_load(&kc, wo->kubeconfig, wo->context, wo->sa_dir, &e) != 0)
		goto out;
	if ((kube = kube_new(&kc, watch_kinds, WATCH_KINDS, &watch_callbacks, w, &e)) == NULL)
		goto out;
	watch_log("watching %s for %s (class %s, Ingress class %s); writing %s", kc.server,
	    wo->o.controller_name, wo->o.gateway_class, wo->o.ingress_class, wo->config);
	while (!watch_stopping) {
		if (kube_poll(kube, watch_timeout(w, kube_synced(kube)), &e) != 0)
			goto out;
		watch_turn(w, kube_synced(kube));
	}
	watch_log("stopping");
	rc = 0;
	goto done;
out:
	watch_log("%s", e.msg);
done:
	if (kube != NULL)
		kube_free(kube);
	kube_config_free(&kc);
	watch_free(w);
	return rc;
}
