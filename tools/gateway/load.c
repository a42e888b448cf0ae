/*
 * load.c -- the input of passthrough-gateway render: files of Kubernetes
 * objects, YAML or JSON, read into one list of objects. A List (kind
 * "List", or a typed list like "ServiceList" whose items may leave out
 * apiVersion and kind, as the API server's list answers do) or a JSON
 * array stands for its items. Each object must have apiVersion, kind and
 * metadata.name; its namespace defaults to "default" (none for the
 * cluster-scoped kinds read here).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render_int.h"

struct load_ctx {
	struct gw_input *in;
	const char *file;
};

static int
load_cluster_scoped(const char *kind)
{
	return !strcmp(kind, "GatewayClass") || !strcmp(kind, "Namespace");
}

/* The index's key: a tag for by, then kind/ns/name ("" for what by leaves out); malloc'd. */
static char *
load_key(enum load_by by, const char *kind, const char *ns, const char *name, size_t *len)
{
	static const char tag[] = { [LOAD_BY_NAME] = 'n', [LOAD_BY_SERVICE] = 's',
	    [LOAD_BY_NS] = 'k' };
	size_t size = strlen(kind) + strlen(ns) + strlen(name) + 5;
	char *key = malloc(size);

	if (key != NULL)
		*len = (size_t)snprintf(key, size, "%c%s/%s/%s", tag[by], kind, ns, name);
	return key;
}

const json_t *
load_index(const struct gw_input *in, enum load_by by, const char *kind, const char *ns,
    const char *name)
{
	const json_t *at;
	size_t len;
	char *key = load_key(by, kind, ns, name ? name : "", &len);

	if (key == NULL)
		return NULL;
	at = json_object_getn(in->index, key, len);
	free(key);
	return at;
}

/* Adds position pos under one key. */
static int
load_index_put(struct gw_input *in, enum load_by by, const char *kind, const char *ns,
    const char *name, size_t pos)
{
	json_t *at;
	size_t len;
	char *key = load_key(by, kind, ns, name, &len);
	int rc = -1;

	if (key == NULL)
		return -1;
	if ((at = json_object_getn(in->index, key, len)) == NULL &&
	    json_object_setn_new_nocheck(in->index, key, len, at = json_array()) != 0)
		goto out;
	rc = json_array_append_new(at, json_integer((json_int_t)pos));
out:
	free(key);
	return rc;
}

/* Indexes the object at pos by name, by namespace and (an EndpointSlice) by its Service. */
static int
load_index_add(struct gw_input *in, size_t pos)
{
	const struct gw_object *o = &in->objs[pos];
	const char *svc = json_string_value(json_object_get(json_object_get(
	    json_object_get(o->j, "metadata"), "labels"), "kubernetes.io/service-name"));

	if (in->index == NULL && (in->index = json_object()) == NULL)
		return -1;
	if (load_index_put(in, LOAD_BY_NAME, o->kind, o->ns, o->name, pos) != 0 ||
	    load_index_put(in, LOAD_BY_NS, o->kind, o->ns, "", pos) != 0)
		return -1;
	if (svc != NULL && !strcmp(o->kind, "EndpointSlice"))
		return load_index_put(in, LOAD_BY_SERVICE, "Service", o->ns, svc, pos);
	return 0;
}

/* Appends one object (a reference taken), after checking its identity. */
static int
load_object(struct load_ctx *c, json_t *j, int line, const char *list_api, const char *list_kind,
    struct gw_err *e)
{
	struct gw_input *in = c->in;
	struct gw_object *o;
	json_t *md = json_object_get(j, "metadata");
	const char *api = json_string_value(json_object_get(j, "apiVersion"));
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *name, *ns;

	if (!json_is_object(j))
		return gw_fail(e, c->file, line, "an item that is not an object");
	line = gw_line(j, line);
	if (kind == NULL && list_kind != NULL && json_object_get(j, "kind") == NULL) {
		if (json_object_set_new(j, "kind", json_string(list_kind)) != 0 ||
		    (api == NULL && json_object_set_new(j, "apiVersion", json_string(list_api)) != 0))
			return gw_fail(e, c->file, line, "out of memory");
		kind = json_string_value(json_object_get(j, "kind"));
		api = json_string_value(json_object_get(j, "apiVersion"));
	}
	if (api == NULL || kind == NULL)
		return gw_fail(e, c->file, line, "an object without apiVersion or kind (strings)");
	name = json_string_value(json_object_get(md, "name"));
	if (!json_is_object(md) || name == NULL || name[0] == '\0')
		return gw_fail(e, c->file, line, "%s without metadata.name", kind);
	ns = json_string_value(json_object_get(md, "namespace"));
	if (json_object_get(md, "namespace") != NULL && ns == NULL)
		return gw_fail(e, c->file, line, "%s %s: metadata.namespace is not a string", kind, name);
	if (load_cluster_scoped(kind))
		ns = "";
	else if (ns == NULL || ns[0] == '\0')
		ns = "default";
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 64;
		struct gw_object *objs = realloc(in->objs, cap * sizeof(*objs));

		if (objs == NULL)
			return gw_fail(e, c->file, line, "out of memory");
		in->objs = objs;
		in->cap = cap;
	}
	o = &in->objs[in->n++];
	json_incref(j);
	*o = (struct gw_object){ .j = j, .file = c->file, .line = line, .apiversion = api,
	    .kind = kind, .ns = ns, .name = name };
	if (load_index_add(in, in->n - 1) != 0)
		return gw_fail(e, c->file, line, "out of memory");
	return 0;
}

/* One document's root: an object, a List of them, or an array of them. */
static int
load_root(void *ctx, json_t *root, int line, struct gw_err *e)
{
	struct load_ctx *c = ctx;
	const char *kind = json_string_value(json_object_get(root, "kind"));
	const char *api = json_string_value(json_object_get(root, "apiVersion"));
	json_t *items = json_is_array(root) ? root : NULL;
	char typed[128] = "";
	size_t i;

	if (json_is_null(root))
		return 0;	/* an empty document ("---" at the end) */
	if (!json_is_object(root) && !json_is_array(root))
		return gw_fail(e, c->file, line, "a document that is not an object or a list");
	if (kind != NULL && strlen(kind) >= 4 && !strcmp(kind + strlen(kind) - 4, "List")) {
		items = json_object_get(root, "items");
		if (items != NULL && !json_is_array(items) && !json_is_null(items))
			return gw_fail(e, c->file, gw_line(root, line), "%s: items is not a list", kind);
		if (strcmp(kind, "List") != 0 && strlen(kind) < sizeof(typed))
			snprintf(typed, sizeof(typed), "%.*s", (int)strlen(kind) - 4, kind);
		if (items == NULL || json_is_null(items))
			return 0;
	}
	if (items == NULL)
		return load_object(c, root, line, NULL, NULL, e);
	for (i = 0; i < json_array_size(items); i++)
		if (load_object(c, json_array_get(items, i), gw_line(root, line), api,
		    typed[0] ? typed : NULL, e) != 0)
			return -1;
	return 0;
}

/* JSON: one value; jansson says where it is malformed. */
static int
load_json(struct load_ctx *c, const char *buf, size_t len, struct gw_err *e)
{
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	int rc;

	if (root == NULL)
		return gw_fail(e, c->file, je.line > 0 ? je.line : 0, "JSON: %s", je.text);
	rc = load_root(c, root, 0, e);
	json_decref(root);
	return rc;
}

/* Keeps a copy of name for the objects to point into. */
static const char *
load_name(struct gw_input *in, const char *name)
{
	char **files = realloc(in->files, (in->nfiles + 1) * sizeof(*files));

	if (files == NULL)
		return NULL;
	in->files = files;
	if ((files[in->nfiles] = strdup(name)) == NULL)
		return NULL;
	return files[in->nfiles++];
}

int
load_buffer(struct gw_input *in, const char *name, const char *buf, size_t len, struct gw_err *e)
{
	struct load_ctx c = { .in = in };
	size_t i = 0;

	if ((c.file = load_name(in, name)) == NULL)
		return gw_fail(e, name, 0, "out of memory");
	if (memchr(buf, '\0', len) != NULL)
		return gw_fail(e, name, 0, "a NUL byte: not a text file");
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i < len && (buf[i] == '{' || buf[i] == '['))
		return load_json(&c, buf, len, e);
	return yamldoc_parse(buf, len, c.file, load_root, &c, e);
}

int
load_json_object(struct gw_input *in, const char *name, json_t *j, struct gw_err *e)
{
	struct load_ctx c = { .in = in };

	if (in->nfiles > 0 && !strcmp(in->files[in->nfiles - 1], name))
		c.file = in->files[in->nfiles - 1];
	else if ((c.file = load_name(in, name)) == NULL)
		return gw_fail(e, name, 0, "out of memory");
	return load_object(&c, j, 0, NULL, NULL, e);
}

int
load_read(const char *path, long max, char **out, size_t *len, struct gw_err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return gw_fail(e, path, 0, "%s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > max) {
		gw_fail(e, path, 0, "not a regular file of at most %ld bytes", max);
		goto bad;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		gw_fail(e, path, 0, "out of memory");
		goto bad;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			gw_fail(e, path, 0, "%s", r < 0 ? strerror(errno) : "shorter than it was");
			goto bad;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	*len = got;
	return 0;
bad:
	free(buf);
	close(fd);
	return -1;
}

int
load_file(struct gw_input *in, const char *path, struct gw_err *e)
{
	char *buf;
	size_t len;
	int rc;

	if (load_read(path, GW_FILE_BYTES_MAX, &buf, &len, e) != 0)
		return -1;
	rc = load_buffer(in, path, buf, len, e);
	free(buf);
	return rc;
}

void
load_free(struct gw_input *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		json_decref(in->objs[i].j);
	for (i = 0; i < in->nfiles; i++)
		free(in->files[i]);
	free(in->objs);
	free(in->files);
	json_decref(in->index);
	*in = (struct gw_input){ 0 };
}
