/*
 * kube.c -- passthrough-gateway's Kubernetes API client: where the API
 * server is (a kubeconfig, or in cluster), and per kind a list-then-watch
 * on one libcurl multi handle that the caller's loop drives (kube_poll; no
 * threads). Each kind is a small state machine: LIST (pages of 500,
 * following metadata.continue) -> WATCH from the list's resourceVersion
 * (bookmarks on, newline-delimited JSON events parsed as they stream) ->
 * WATCH again from the last resourceVersion when the server ends it; a
 * 410 Gone lists again; any other failure waits (back-off) and retries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "kube.h"
#include "kube_int.h"
#include "render_int.h"
#include "tunables.h"

#define KUBE_CONNECT_TIMEOUT_MS	10000L	/* an API server that does not accept in 10 s is down */
#define KUBE_KEEPIDLE_S		30L	/* TCP keepalive: probes after 30 s of quiet, */
#define KUBE_KEEPINTVL_S	10L	/* ... 10 s apart (9 unanswered: gone) */
#define KUBE_LIST_TIMEOUT_MS	60000L	/* the API server's own request timeout is 60 s */
#define KUBE_PATCH_TIMEOUT_MS	10000L	/* a status patch is small; the caller's loop waits on it */
#define KUBE_LIST_PAGE		500	/* client-go's page size: bounds one answer's memory */
/* A watch asks the server to end it after 240-360 s (client-go's 5-10 min, shorter so a
 * silently dead connection is found sooner), spread so the kinds do not renew together. */
#define KUBE_WATCH_MIN_S	240
#define KUBE_WATCH_SPREAD_S	120
#define KUBE_WATCH_GRACE_S	30	/* curl's timeout: the server's end plus this */
#define KUBE_ABSENT_RETRY_MS	60000	/* a kind not served (CRD not installed) is tried again after */
#define KUBE_QUICK_END_MS	1000	/* a watch ended this soon with nothing in it is not a success */
#define KUBE_ERRBODY_MAX	65536	/* of an error answer, kept for its message */
#define KUBE_TOKEN_BYTES_MAX	65536	/* a bound service account token is ~1 KiB */
#define KUBE_FILE_BYTES_MAX	(4L << 20)	/* a kubeconfig: some KiB, certificates and all */

/* What a kind requests next. */
enum kube_op {
	KUBE_OP_LIST,
	KUBE_OP_WATCH,
};

/* Failures told apart for the log's repeat check: curl's codes are below 100, HTTP's below 1000. */
#define KUBE_FAIL_STREAM	2000	/* a malformed event, an ERROR event, a line too long */
#define KUBE_FAIL_QUICK		2001	/* the server ended the watch at once */
#define KUBE_FAIL_GONE		2002	/* 410 Gone again, right after a list */

/* One kind's list-then-watch. */
struct kube_watch {
	struct kube *k;
	size_t idx;			/* in the caller's table */
	const struct kube_kind *kind;
	const char *version;		/* kind->version, or kind->fallback once that answered */
	char apiversion[128];		/* "group/version" of the objects */
	enum kube_op op;		/* in flight, or next when due */
	CURL *easy;			/* the request in flight, or NULL */
	uint64_t due_ms;		/* no request in flight: when to start the next */
	uint64_t started_ms;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char *body;			/* a list answer, or the start of an error answer */
	size_t blen, bcap;
	struct kube_lines lines;	/* a watch's stream */
	size_t nlines;			/* lines this watch delivered */
	json_t *items;			/* the list's pages so far */
	char *cont;			/* the next page's continue token */
	char *rv;			/* the resourceVersion to watch from */
	int synced;			/* listed at least once */
	int absent;			/* not served: listed as empty */
	int relist;			/* the stream said 410 Gone */
	int gone;			/* 410s in a row with no event or bookmark between */
	char fail[512];			/* the stream's failure, "" when none */
	uint64_t step;			/* back-off step (ms), 0 after a success */
	int failures;			/* since the last success */
	struct kube_repeat logged;	/* the failure last logged */
};

struct kube {
	CURLM *multi;
	CURL *patch;			/* kube_patch_status's own handle, kept for its connection */
	struct kube_config c;		/* a copy */
	char *token;			/* the bearer token in use */
	struct stat token_st;		/* of c.token_file when it was read */
	int token_read, token_logged;
	struct kube_callbacks cb;
	void *arg;
	struct kube_watch *w;
	size_t n;
	uint64_t rnd;			/* xorshift state: jitter, watch lengths */
	int oom;
	int reported;			/* a callback ran in this kube_poll */
	char ua[64];
};

/* ---- pure pieces (kube_int.h) ---- */

static int
kube_lines_emit(const char *line, size_t len, kube_line_fn fn, void *arg)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len == 0 ? 0 : fn(arg, line, len);
}

static int
kube_lines_append(struct kube_lines *l, const char *data, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		char *b;

		while (cap < l->len + n)
			cap *= 2;
		if ((b = realloc(l->buf, cap)) == NULL)
			return -ENOMEM;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, data, n);
	l->len += n;
	return 0;
}

int
kube_lines_feed(struct kube_lines *l, const char *data, size_t n, kube_line_fn fn, void *arg)
{
	int rc;

	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t seg = nl != NULL ? (size_t)(nl - data) : n;

		if (l->len + seg > l->max)
			return -E2BIG;
		if (nl == NULL)
			return kube_lines_append(l, data, seg);
		if (l->len == 0) {
			rc = kube_lines_emit(data, seg, fn, arg);
		} else {
			if ((rc = kube_lines_append(l, data, seg)) != 0)
				return rc;
			rc = kube_lines_emit(l->buf, l->len, fn, arg);
			l->len = 0;
		}
		if (rc < 0)
			return rc;
		data += seg + 1;
		n -= seg + 1;
	}
	return 0;
}

void
kube_lines_reset(struct kube_lines *l)
{
	l->len = 0;
}

void
kube_lines_free(struct kube_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

static int
kube_base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

char *
kube_base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), q = 0;
	char *out = malloc(n / 4 * 3 + 4);
	int quad[4], nq = 0, pad = 0, done = 0;

	if (out == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			continue;
		if (done)
			goto bad;	/* something after the padded last group */
		if (*s == '=') {
			if (nq < 2)
				goto bad;
			pad++;
			quad[nq++] = 0;
		} else {
			if (pad || (v = kube_base64_value(*s)) < 0)
				goto bad;
			quad[nq++] = v;
		}
		if (nq < 4)
			continue;
		out[q++] = (char)(quad[0] << 2 | quad[1] >> 4);
		if (pad < 2)
			out[q++] = (char)((quad[1] & 0xf) << 4 | quad[2] >> 2);
		if (pad < 1)
			out[q++] = (char)((quad[2] & 0x3) << 6 | quad[3]);
		done = pad > 0;
		nq = 0;
	}
	if (nq != 0)
		goto bad;
	out[q] = '\0';
	*len = q;
	return out;
bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

uint64_t
kube_backoff(uint64_t step, uint64_t rnd, uint64_t *next)
{
	if (step < KUBE_BACKOFF_MIN_MS)
		step = KUBE_BACKOFF_MIN_MS;
	if (step > KUBE_BACKOFF_MAX_MS)
		step = KUBE_BACKOFF_MAX_MS;
	*next = step * 2 < KUBE_BACKOFF_MAX_MS ? step * 2 : KUBE_BACKOFF_MAX_MS;
	return step - rnd % (step / 4 + 1);
}

int
kube_repeat_due(struct kube_repeat *r, int key, uint64_t step, uint64_t now)
{
	if (key == r->key && step == r->step && now - r->ms < KUBE_REPEAT_LOG_MS)
		return 0;
	r->key = key;
	r->step = step;
	r->ms = now;
	return 1;
}

/* ---- configuration ---- */

static char *
kube_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* A bearer token from a file: trimmed of the whitespace around it, one header-safe word. */
static int
kube_token_load(const char *path, char **out, struct gw_err *e)
{
	char *buf, *p, *end;
	size_t len;

	if (load_read(path, KUBE_TOKEN_BYTES_MAX, &buf, &len, e) != 0)
		return -1;
	for (p = buf; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
		;
	end = buf + len;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*end = '\0';
	if (*p == '\0') {
		free(buf);
		return gw_fail(e, path, 0, "an empty token");
	}
	for (end = p; *end; end++)
		if ((unsigned char)*end <= ' ' || *end == 0x7f) {
			free(buf);
			return gw_fail(e, path, 0, "a token with spaces or control bytes in it");
		}
	memmove(buf, p, strlen(p) + 1);
	*out = buf;
	return 0;
}

/* p, relative to the directory of file when not absolute (as kubectl reads a kubeconfig). */
static char *
kube_relative(const char *file, const char *p)
{
	const char *slash = strrchr(file, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - file) : 0;
	char *out;

	if (p[0] == '/' || slash == NULL)
		return strdup(p);
	if ((out = malloc(dlen + 1 + strlen(p) + 1)) == NULL)
		return NULL;
	memcpy(out, file, dlen);
	out[dlen] = '/';
	strcpy(out + dlen + 1, p);
	return out;
}

/* parent[key] as a string ("" and null: absent, *out NULL); -1 when another type. */
static int
kc_str(const char *file, const json_t *parent, const char *where, const char *key,
    const char **out, struct gw_err *e)
{
	json_t *j = json_object_get(parent, key);

	*out = NULL;
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_string(j))
		return gw_fail(e, file, gw_line(parent, 0), "%s.%s: not a string", where, key);
	if (json_string_value(j)[0] != '\0')
		*out = json_string_value(j);
	return 0;
}

/* The entry named name of the list root[list], its member key (a mapping). */
static int
kc_entry(const char *file, const json_t *root, const char *list, const char *key,
    const char *name, json_t **out, struct gw_err *e)
{
	json_t *arr = json_object_get(root, list), *it;
	size_t i;

	if (arr != NULL && !json_is_array(arr) && !json_is_null(arr))
		return gw_fail(e, file, gw_line(root, 0), "%s: not a list", list);
	json_array_foreach(arr, i, it) {
		const char *n = json_string_value(json_object_get(it, "name"));

		if (n == NULL || strcmp(n, name) != 0)
			continue;
		*out = json_object_get(it, key);
		if (!json_is_object(*out))
			return gw_fail(e, file, gw_line(it, 0), "%s[%s].%s: missing or not a mapping",
			    list, name, key);
		return 0;
	}
	return gw_fail(e, file, 0, "%s \"%s\" is not among %s[]", key, name, list);
}

/* A *-data field: base64 of PEM text, decoded into *out. */
static int
kc_data(const char *file, const json_t *parent, const char *where, const char *key, char **out,
    struct gw_err *e)
{
	const char *v;
	size_t len;

	if (kc_str(file, parent, where, key, &v, e) != 0)
		return -1;
	if (v == NULL)
		return 0;
	if ((*out = kube_base64_decode(v, &len)) == NULL)
		return gw_fail(e, file, gw_line(parent, 0), "%s.%s: %s", where, key,
		    errno == ENOMEM ? "out of memory" : "not valid base64");
	if (len == 0 || memchr(*out, '\0', len) != NULL)
		return gw_fail(e, file, gw_line(parent, 0), "%s.%s: not PEM text once decoded",
		    where, key);
	return 0;
}

/* A path field: relative to the kubeconfig, readable now. */
static int
kc_path(const char *file, const json_t *parent, const char *where, const char *key, char **out,
    struct gw_err *e)
{
	const char *v;

	if (kc_str(file, parent, where, key, &v, e) != 0)
		return -1;
	if (v == NULL)
		return 0;
	if ((*out = kube_relative(file, v)) == NULL)
		return gw_fail(e, file, 0, "out of memory");
	if (access(*out, R_OK) != 0)
		return gw_fail(e, file, gw_line(parent, 0), "%s.%s: %s: %s", where, key, *out,
		    strerror(errno));
	return 0;
}

/* The cluster's server, CA (file or data) and insecure-skip-tls-verify into c. */
static int
kc_cluster(struct kube_config *c, const char *file, const json_t *cl, const char *where,
    struct gw_err *e)
{
	const char *server;
	json_t *j;
	size_t len;

	if (kc_str(file, cl, where, "server", &server, e) != 0)
		return -1;
	if (server == NULL)
		return gw_fail(e, file, gw_line(cl, 0), "%s.server: missing", where);
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
		return gw_fail(e, file, gw_line(cl, 0), "%s.server: \"%s\" is not an http(s) URL",
		    where, server);
	if ((c->server = strdup(server)) == NULL)
		return gw_fail(e, file, 0, "out of memory");
	len = strlen(c->server);
	while (len > 0 && c->server[len - 1] == '/')
		c->server[--len] = '\0';
	if (kc_path(file, cl, where, "certificate-authority", &c->ca_file, e) != 0 ||
	    kc_data(file, cl, where, "certificate-authority-data", &c->ca_data, e) != 0)
		return -1;
	j = json_object_get(cl, "insecure-skip-tls-verify");
	if (j != NULL && !json_is_null(j) && !json_is_boolean(j))
		return gw_fail(e, file, gw_line(cl, 0), "%s.insecure-skip-tls-verify: not true or false",
		    where);
	c->insecure = json_is_true(j);
	return 0;
}

/* The user's credentials into c: a token (or token file), a client certificate and key. */
static int
kc_user(struct kube_config *c, const char *file, const json_t *u, const char *where,
    struct gw_err *e)
{
	static const char *const plugins[] = { "exec", "auth-provider" };
	const char *token, *v;
	size_t i;

	for (i = 0; i < sizeof(plugins) / sizeof(plugins[0]); i++)
		if (json_object_get(u, plugins[i]) != NULL)
			return gw_fail(e, file, gw_line(u, 0), "%s.%s: credential plugins are not "
			    "supported: give the user a token, tokenFile or client certificate",
			    where, plugins[i]);
	if (kc_str(file, u, where, "username", &v, e) != 0)
		return -1;
	if (v != NULL)
		return gw_fail(e, file, gw_line(u, 0), "%s.username: basic authentication is not "
		    "supported: give the user a token, tokenFile or client certificate", where);
	if (kc_str(file, u, where, "token", &token, e) != 0 ||
	    kc_path(file, u, where, "tokenFile", &c->token_file, e) != 0 ||
	    kc_path(file, u, where, "client-certificate", &c->cert_file, e) != 0 ||
	    kc_data(file, u, where, "client-certificate-data", &c->cert_data, e) != 0 ||
	    kc_path(file, u, where, "client-key", &c->key_file, e) != 0 ||
	    kc_data(file, u, where, "client-key-data", &c->key_data, e) != 0)
		return -1;
	if (c->token_file != NULL) {
		/* As client-go: the file, re-read as it rotates, wins over a token beside it. */
		if (kube_token_load(c->token_file, &c->token, e) != 0)
			return -1;
	} else if (token != NULL) {
		for (v = token; *v; v++)
			if ((unsigned char)*v <= ' ' || *v == 0x7f)
				return gw_fail(e, file, gw_line(u, 0), "%s.token: spaces or control "
				    "bytes in it", where);
		if ((c->token = strdup(token)) == NULL)
			return gw_fail(e, file, 0, "out of memory");
	}
	if ((c->cert_file || c->cert_data) != (c->key_file || c->key_data))
		return gw_fail(e, file, gw_line(u, 0), "%s: a client certificate needs its key, and a "
		    "key its certificate", where);
	return 0;
}

/* The kubeconfig's first YAML (or JSON) document. */
static int
kc_first(void *ctx, json_t *root, int line, struct gw_err *e)
{
	json_t **out = ctx;

	(void)line;
	(void)e;
	if (*out == NULL)
		*out = json_incref(root);
	return 0;
}

/* c from the kubeconfig file: its context's cluster and user. */
static int
kube_kubeconfig(struct kube_config *c, const char *file, const char *context, struct gw_err *e)
{
	json_t *root = NULL, *ctx, *cl, *u;
	const char *cname, *uname;
	char where[320], *buf;
	size_t len;
	int rc = -1;

	if (load_read(file, KUBE_FILE_BYTES_MAX, &buf, &len, e) != 0)
		return -1;
	if (memchr(buf, '\0', len) != NULL) {
		free(buf);
		return gw_fail(e, file, 0, "a NUL byte: not a kubeconfig");
	}
	rc = yamldoc_parse(buf, len, file, kc_first, &root, e);
	free(buf);
	if (rc != 0)
		goto out;
	rc = -1;
	if (!json_is_object(root)) {
		gw_fail(e, file, 0, "not a kubeconfig (a mapping with clusters, contexts, users)");
		goto out;
	}
	if (context == NULL) {
		if (kc_str(file, root, "kubeconfig", "current-context", &context, e) != 0)
			goto out;
		if (context == NULL) {
			gw_fail(e, file, 0, "no current-context (name one with --context)");
			goto out;
		}
	}
	if (kc_entry(file, root, "contexts", "context", context, &ctx, e) != 0)
		goto out;
	snprintf(where, sizeof(where), "contexts[%s].context", context);
	if (kc_str(file, ctx, where, "cluster", &cname, e) != 0 ||
	    kc_str(file, ctx, where, "user", &uname, e) != 0)
		goto out;
	if (cname == NULL) {
		gw_fail(e, file, gw_line(ctx, 0), "%s.cluster: missing", where);
		goto out;
	}
	if (kc_entry(file, root, "clusters", "cluster", cname, &cl, e) != 0)
		goto out;
	snprintf(where, sizeof(where), "clusters[%s].cluster", cname);
	if (kc_cluster(c, file, cl, where, e) != 0)
		goto out;
	if (uname != NULL) {
		if (kc_entry(file, root, "users", "user", uname, &u, e) != 0)
			goto out;
		snprintf(where, sizeof(where), "users[%s].user", uname);
		if (kc_user(c, file, u, where, e) != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* c from the pod's environment and its service account's files in sa_dir. */
static int
kube_incluster(struct kube_config *c, const char *sa_dir, struct gw_err *e)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	int v6;
	size_t i;
	char *ca;

	if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0')
		return gw_fail(e, NULL, 0, "not in a cluster: KUBERNETES_SERVICE_HOST and "
		    "KUBERNETES_SERVICE_PORT are not set (give --kubeconfig)");
	for (i = 0; port[i]; i++)
		if (port[i] < '0' || port[i] > '9' || i > 4)
			break;
	if (port[i] != '\0' || atoi(port) < 1 || atoi(port) > 65535)
		return gw_fail(e, NULL, 0, "KUBERNETES_SERVICE_PORT: \"%s\" is not a port", port);
	for (i = 0; host[i]; i++)
		if ((unsigned char)host[i] <= ' ' || strchr("/?#@[]", host[i]) != NULL)
			return gw_fail(e, NULL, 0, "KUBERNETES_SERVICE_HOST: \"%s\" is not a host",
			    host);
	v6 = strchr(host, ':') != NULL;
	if ((c->server = malloc(strlen(host) + strlen(port) + 16)) == NULL)
		return gw_fail(e, NULL, 0, "out of memory");
	sprintf(c->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
	if (sa_dir == NULL)
		sa_dir = KUBE_SERVICEACCOUNT_DIR;
	if ((c->token_file = malloc(strlen(sa_dir) + sizeof("/token"))) == NULL ||
	    (ca = malloc(strlen(sa_dir) + sizeof("/ca.crt"))) == NULL)
		return gw_fail(e, NULL, 0, "out of memory");
	sprintf(c->token_file, "%s/token", sa_dir);
	sprintf(ca, "%s/ca.crt", sa_dir);
	c->ca_file = ca;
	if (kube_token_load(c->token_file, &c->token, e) != 0)
		return -1;
	if (access(ca, R_OK) != 0)
		return gw_fail(e, ca, 0, "%s", strerror(errno));
	return 0;
}

int
kube_config_load(struct kube_config *c, const char *path, const char *context,
    const char *sa_dir, struct gw_err *e)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = path != NULL ? kube_kubeconfig(c, path, context, e) : kube_incluster(c, sa_dir, e);
	if (rc != 0)
		kube_config_free(c);
	return rc;
}

void
kube_config_free(struct kube_config *c)
{
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->token);
	free(c->token_file);
	free(c->cert_data);
	free(c->key_data);
	free(c->cert_file);
	free(c->key_file);
	memset(c, 0, sizeof(*c));
}

/* ---- the client ---- */

static uint64_t
kube_random(struct kube *k)
{
	/* xorshift64*: jitter, not secrets. */
	k->rnd ^= k->rnd >> 12;
	k->rnd ^= k->rnd << 25;
	k->rnd ^= k->rnd >> 27;
	return k->rnd * 0x2545F4914F6CDD1DULL;
}

/* One line on stderr about w ("passthrough-gateway: watch tlsroutes: ..."), control bytes '?'. */
static void
kube_log(const struct kube_watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
kube_log(const struct kube_watch *w, const char *fmt, ...)
{
	char msg[1024], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "passthrough-gateway: watch %s: %s\n", w->kind->plural, msg);
}

/*
 * Re-reads the token file when it is another file (the kubelet swaps a
 * projected token's ..data link) or its mtime or size changed; keeps the
 * old token when it cannot.
 */
static void
kube_token_refresh(struct kube *k)
{
	struct gw_err e;
	struct stat st;
	char *t;

	if (k->c.token_file == NULL)
		return;
	if (stat(k->c.token_file, &st) != 0) {
		if (!k->token_logged)
			fprintf(stderr, "passthrough-gateway: %s: %s; keeping the token read before\n",
			    k->c.token_file, strerror(errno));
		k->token_logged = 1;
		return;
	}
	if (k->token_read && st.st_ino == k->token_st.st_ino && st.st_dev == k->token_st.st_dev &&
	    st.st_size == k->token_st.st_size &&
	    st.st_mtim.tv_sec == k->token_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == k->token_st.st_mtim.tv_nsec)
		return;
	if (kube_token_load(k->c.token_file, &t, &e) != 0) {
		if (!k->token_logged)
			fprintf(stderr, "passthrough-gateway: %s; keeping the token read before\n", e.msg);
		k->token_logged = 1;
		return;
	}
	free(k->token);
	k->token = t;
	k->token_st = st;
	k->token_read = 1;
	k->token_logged = 0;
}

/* The request headers: JSON answers, the bearer token, and extra when not NULL. */
static struct curl_slist *
kube_headers(struct kube *k, const char *extra)
{
	struct curl_slist *h = NULL, *t;
	char *auth = NULL;

	kube_token_refresh(k);
	if ((t = curl_slist_append(h, "Accept: application/json")) == NULL)
		goto bad;
	h = t;
	if (extra != NULL) {
		if ((t = curl_slist_append(h, extra)) == NULL)
			goto bad;
		h = t;
	}
	if (k->token != NULL) {
		if ((auth = malloc(strlen(k->token) + sizeof("Authorization: Bearer "))) == NULL)
			goto bad;
		sprintf(auth, "Authorization: Bearer %s", k->token);
		if ((t = curl_slist_append(h, auth)) == NULL)
			goto bad;
		h = t;
		free(auth);
	}
	return h;
bad:
	free(auth);
	curl_slist_free_all(h);
	return NULL;
}

/* What every request shares: TLS, credentials, timeouts. 0, or -1 (libcurl refused one). */
static int
kube_easy_setup(struct kube *k, CURL *h, struct curl_slist *hdrs, long timeout_ms, char *errbuf)
{
	const struct kube_config *c = &k->c;
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, k->ua);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, KUBE_CONNECT_TIMEOUT_MS);
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	/* A peer gone without a word (a node lost): a quiet watch finds out within ~2 min. */
	rc |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, KUBE_KEEPIDLE_S);
	rc |= curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, KUBE_KEEPINTVL_S);
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
	if (c->ca_file != NULL)
		rc |= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->ca_data != NULL) {
		struct curl_blob b = { c->ca_data, strlen(c->ca_data), CURL_BLOB_COPY };

		rc |= curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->cert_data != NULL) {
		struct curl_blob b = { c->cert_data, strlen(c->cert_data), CURL_BLOB_COPY };

		rc |= curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
		rc |= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (c->cert_file != NULL) {
		rc |= curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key_data != NULL) {
		struct curl_blob b = { c->key_data, strlen(c->key_data), CURL_BLOB_COPY };

		rc |= curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
		rc |= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (c->key_file != NULL) {
		rc |= curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	}
	if (c->insecure) {
		rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return rc == CURLE_OK ? 0 : -1;
}

/* server "/apis/GROUP/VERSION" ("/api/VERSION") ["/namespaces/NS"] "/PLURAL" ["/NAME"] tail. */
static char *
kube_url(const struct kube *k, const struct kube_watch *w, const char *ns, const char *name,
    const char *tail)
{
	const struct kube_kind *kd = w->kind;
	char *ens = ns != NULL && ns[0] ? curl_easy_escape(NULL, ns, 0) : NULL;
	char *ename = name != NULL ? curl_easy_escape(NULL, name, 0) : NULL;
	char *url = NULL;
	size_t len;

	if ((ns != NULL && ns[0] && ens == NULL) || (name != NULL && ename == NULL))
		goto out;
	len = strlen(k->c.server) + strlen(kd->group) + strlen(w->version) + strlen(kd->plural) +
	    (ens ? strlen(ens) : 0) + (ename ? strlen(ename) : 0) + strlen(tail) + 32;
	if ((url = malloc(len)) == NULL)
		goto out;
	snprintf(url, len, "%s%s%s/%s%s%s/%s%s%s%s", k->c.server, kd->group[0] ? "/apis/" : "/api",
	    kd->group, w->version, ens ? "/namespaces/" : "", ens ? ens : "", kd->plural,
	    ename ? "/" : "", ename ? ename : "", tail);
out:
	curl_free(ens);
	curl_free(ename);
	return url;
}

static void
kube_watch_use_version(struct kube_watch *w, const char *version)
{
	w->version = version;
	if (w->kind->group[0])
		snprintf(w->apiversion, sizeof(w->apiversion), "%s/%s", w->kind->group, version);
	else
		snprintf(w->apiversion, sizeof(w->apiversion), "%s", version);
}

/* Gives o the apiVersion and kind of w when it has none (a list's items). 0, or -1 (memory). */
static int
kube_object_identity(struct kube_watch *w, json_t *o)
{
	if (!json_is_string(json_object_get(o, "apiVersion")) &&
	    json_object_set_new(o, "apiVersion", json_string(w->apiversion)) != 0)
		return -1;
	if (!json_is_string(json_object_get(o, "kind")) &&
	    json_object_set_new(o, "kind", json_string(w->kind->kind)) != 0)
		return -1;
	return 0;
}

/* o.metadata.resourceVersion into w->rv when it is a non-empty string. 0, or -1 out of memory. */
static int
kube_take_rv(struct kube_watch *w, const json_t *o)
{
	const char *rv = json_string_value(json_object_get(json_object_get(o, "metadata"),
	    "resourceVersion"));
	char *copy;

	if (rv == NULL || rv[0] == '\0')
		return 0;
	if ((copy = strdup(rv)) == NULL)
		return -1;
	free(w->rv);
	w->rv = copy;
	return 0;
}

/* A request of w went through (a list, or a watch that streamed): the back-off starts over. */
static void
kube_succeeded(struct kube_watch *w)
{
	if (w->logged.key != 0)
		kube_log(w, "recovered after %d failure%s", w->failures, w->failures == 1 ? "" : "s");
	w->step = 0;
	w->failures = 0;
	w->logged.key = 0;
}

/*
 * A request of w failed (key tells failures apart): the next try waits
 * out the back-off. Logged unless it repeats the failure last logged at
 * the same back-off step (or, at the longest, within KUBE_REPEAT_LOG_MS).
 */
static void
kube_failed(struct kube_watch *w, int key, const char *what)
{
	uint64_t now = clock_ms(), step = w->step ? w->step : KUBE_BACKOFF_MIN_MS, wait;

	wait = kube_backoff(w->step, kube_random(w->k), &w->step);
	w->due_ms = now + wait;
	w->failures++;
	if (kube_repeat_due(&w->logged, key, step, now))
		kube_log(w, "%s; retrying in %.1f s", what, (double)wait / 1000);
}

/* One watch event line: 0, or -1 to end the stream (w->relist, w->fail or k->oom say why). */
static int
kube_event_line(void *arg, const char *line, size_t len)
{
	struct kube_watch *w = arg;
	struct kube *k = w->k;
	json_error_t je;
	json_t *j = json_loadb(line, len, 0, &je), *obj;
	const char *type;
	enum kube_event ev = KUBE_ADDED;	/* set below for every type but BOOKMARK */
	int rc = -1;

	w->nlines++;
	if (j == NULL) {
		snprintf(w->fail, sizeof(w->fail), "a malformed watch event: %s", je.text);
		return -1;
	}
	type = json_string_value(json_object_get(j, "type"));
	obj = json_object_get(j, "object");
	if (type == NULL || !json_is_object(obj)) {
		snprintf(w->fail, sizeof(w->fail), "a watch event without type or object");
		goto out;
	}
	if (!strcmp(type, "ERROR")) {
		json_t *code = json_object_get(obj, "code");
		const char *msg = json_string_value(json_object_get(obj, "message"));

		if (json_integer_value(code) == 410)
			w->relist = 1;
		else
			snprintf(w->fail, sizeof(w->fail), "an ERROR event: %lld: %s",
			    (long long)json_integer_value(code), msg ? msg : "(no message)");
		goto out;
	}
	if (!strcmp(type, "ADDED"))
		ev = KUBE_ADDED;
	else if (!strcmp(type, "MODIFIED"))
		ev = KUBE_MODIFIED;
	else if (!strcmp(type, "DELETED"))
		ev = KUBE_DELETED;
	else if (strcmp(type, "BOOKMARK") != 0) {
		snprintf(w->fail, sizeof(w->fail), "a watch event of unknown type %.64s", type);
		goto out;
	}
	/* An event or a bookmark: the watch works (an ERROR answered with 200 does not count). */
	w->gone = 0;
	if (w->step != 0)
		kube_succeeded(w);
	if (!strcmp(type, "BOOKMARK")) {
		/* Only its resourceVersion matters: the object is a stub. */
		if (kube_take_rv(w, obj) != 0)
			k->oom = 1;
		rc = k->oom ? -1 : 0;
		goto out;
	}
	if (kube_object_identity(w, obj) != 0 || kube_take_rv(w, obj) != 0) {
		k->oom = 1;
		goto out;
	}
	k->cb.event(k->arg, w->idx, ev, obj);
	k->reported = 1;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* Appends to w->body up to max bytes; 0, or -1 beyond it (or out of memory). */
static int
kube_body_append(struct kube_watch *w, const char *data, size_t n, size_t max)
{
	if (w->blen + n > max)
		return -1;
	if (w->blen + n + 1 > w->bcap) {
		size_t cap = w->bcap ? w->bcap : 16384;
		char *b;

		while (cap < w->blen + n + 1)
			cap *= 2;
		if ((b = realloc(w->body, cap)) == NULL) {
			w->k->oom = 1;
			return -1;
		}
		w->body = b;
		w->bcap = cap;
	}
	memcpy(w->body + w->blen, data, n);
	w->blen += n;
	w->body[w->blen] = '\0';
	return 0;
}

/* libcurl's write callback: a watch's 200 stream goes to the line splitter, the rest is kept. */
static size_t
kube_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kube_watch *w = arg;
	size_t n = size * nmemb;
	long code = 0;
	int rc;

	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	if (w->op == KUBE_OP_WATCH && code == 200) {
		rc = kube_lines_feed(&w->lines, data, n, kube_event_line, w);
		if (rc == 0)
			return n;
		if (rc == -E2BIG)
			snprintf(w->fail, sizeof(w->fail), "a watch event over %lu MiB",
			    KUBE_EVENT_BYTES_MAX >> 20);
		else if (rc == -ENOMEM)
			w->k->oom = 1;
		return 0;
	}
	if (code == 200) {
		if (kube_body_append(w, data, n, KUBE_LIST_BYTES_MAX) == 0)
			return n;
		if (!w->k->oom)
			snprintf(w->fail, sizeof(w->fail), "a list answer over %lu MiB",
			    KUBE_LIST_BYTES_MAX >> 20);
		return 0;
	}
	/* An error answer: its start has the Status message, the rest is dropped. */
	if (w->blen < KUBE_ERRBODY_MAX)
		kube_body_append(w, data, n < KUBE_ERRBODY_MAX - w->blen ? n :
		    KUBE_ERRBODY_MAX - w->blen, KUBE_ERRBODY_MAX);
	return w->k->oom ? 0 : n;
}

/* "HTTP 403: the Status's message" or libcurl's reason, into buf. */
static void
kube_describe(CURLcode res, long code, const char *body, size_t blen, const char *errbuf,
    char *buf, size_t size)
{
	json_t *j;
	const char *msg;

	if (code == 0 || (res != CURLE_OK && code == 200)) {
		snprintf(buf, size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(res));
		return;
	}
	j = blen > 0 ? json_loadb(body, blen, 0, NULL) : NULL;
	msg = json_string_value(json_object_get(j, "message"));
	if (msg != NULL)
		snprintf(buf, size, "HTTP %ld: %s", code, msg);
	else if (blen > 0)
		snprintf(buf, size, "HTTP %ld: %.200s", code, body);
	else
		snprintf(buf, size, "HTTP %ld", code);
	json_decref(j);
}

/* Starts w's next request (w->op). 0, or -1: nothing started (out of memory). */
static int
kube_start(struct kube *k, struct kube_watch *w)
{
	char *tail = NULL, *url = NULL, *esc = NULL;
	long timeout_ms;
	size_t len;

	if (w->op == KUBE_OP_LIST) {
		if (w->cont != NULL && (esc = curl_easy_escape(NULL, w->cont, 0)) == NULL)
			goto bad;
		len = (esc ? strlen(esc) : 0) + 64;
		if ((tail = malloc(len)) == NULL)
			goto bad;
		snprintf(tail, len, "?limit=%d%s%s", KUBE_LIST_PAGE, esc ? "&continue=" : "",
		    esc ? esc : "");
		timeout_ms = KUBE_LIST_TIMEOUT_MS;
	} else {
		long secs = KUBE_WATCH_MIN_S + (long)(kube_random(k) % (KUBE_WATCH_SPREAD_S + 1));

		if ((esc = curl_easy_escape(NULL, w->rv ? w->rv : "", 0)) == NULL)
			goto bad;
		len = strlen(esc) + 128;
		if ((tail = malloc(len)) == NULL)
			goto bad;
		snprintf(tail, len, "?watch=1&resourceVersion=%s&allowWatchBookmarks=true"
		    "&timeoutSeconds=%ld", esc, secs);
		timeout_ms = (secs + KUBE_WATCH_GRACE_S) * 1000;
	}
	if ((url = kube_url(k, w, NULL, NULL, tail)) == NULL ||
	    (w->hdrs = kube_headers(k, NULL)) == NULL || (w->easy = curl_easy_init()) == NULL)
		goto bad;
	if (kube_easy_setup(k, w->easy, w->hdrs, timeout_ms, w->errbuf) != 0 ||
	    curl_easy_setopt(w->easy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, kube_write) != CURLE_OK ||
	    curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w) != CURLE_OK ||
	    curl_multi_add_handle(k->multi, w->easy) != CURLM_OK)
		goto bad;
	w->started_ms = clock_ms();
	w->blen = 0;
	w->nlines = 0;
	w->relist = 0;
	w->fail[0] = '\0';
	kube_lines_reset(&w->lines);
	curl_free(esc);
	free(tail);
	free(url);
	return 0;
bad:
	/* kube_new tried the options: what fails here is memory. */
	curl_easy_cleanup(w->easy);
	w->easy = NULL;
	curl_slist_free_all(w->hdrs);
	w->hdrs = NULL;
	curl_free(esc);
	free(tail);
	free(url);
	k->oom = 1;
	return -1;
}

/* Forgets a list's pages so far. */
static void
kube_list_forget(struct kube_watch *w)
{
	json_array_clear(w->items);
	free(w->cont);
	w->cont = NULL;
}

/* A list's page answered 200: its items kept, the next page asked, or the whole list reported. */
static void
kube_list_page(struct kube *k, struct kube_watch *w)
{
	json_error_t je;
	json_t *j = json_loadb(w->body ? w->body : "", w->blen, 0, &je), *items, *it;
	const char *cont;
	char what[300];
	size_t i;

	if (j == NULL) {
		snprintf(what, sizeof(what), "a malformed list answer: %s", je.text);
		goto fail;
	}
	items = json_object_get(j, "items");
	if (items != NULL && !json_is_array(items) && !json_is_null(items)) {
		snprintf(what, sizeof(what), "a list answer whose items are not a list");
		goto fail;
	}
	json_array_foreach(items, i, it) {
		if (!json_is_object(it)) {
			snprintf(what, sizeof(what), "a list answer with an item that is not an object");
			goto fail;
		}
		if (kube_object_identity(w, it) != 0 || json_array_append(w->items, it) != 0)
			goto oom;
	}
	cont = json_string_value(json_object_get(json_object_get(j, "metadata"), "continue"));
	if (cont != NULL && cont[0] != '\0') {
		free(w->cont);
		if ((w->cont = strdup(cont)) == NULL)
			goto oom;
		w->op = KUBE_OP_LIST;
		w->due_ms = 0;
		json_decref(j);
		return;
	}
	free(w->rv);
	w->rv = NULL;
	if (kube_take_rv(w, j) != 0)
		goto oom;
	/* A list between 410s that come again and again is no success: the watches fail. */
	if (w->gone <= 1)
		kube_succeeded(w);
	w->synced = 1;
	w->absent = 0;
	k->cb.relist(k->arg, w->idx, w->items);
	k->reported = 1;
	kube_list_forget(w);
	w->op = KUBE_OP_WATCH;
	w->due_ms = 0;
	json_decref(j);
	return;
oom:
	k->oom = 1;
	json_decref(j);
	return;
fail:
	json_decref(j);
	kube_list_forget(w);
	w->op = KUBE_OP_LIST;
	kube_failed(w, KUBE_FAIL_STREAM, what);
}

/* A list request ended. */
static void
kube_list_done(struct kube *k, struct kube_watch *w, CURLcode res, long code)
{
	char what[768];

	if (res == CURLE_OK && code == 200) {
		kube_list_page(k, w);
		return;
	}
	if (code == 410 && w->cont != NULL) {
		/* The continue token expired (the pages took over ~5 min): start over. */
		kube_log(w, "the list's continue token expired (410 Gone); listing again");
		kube_list_forget(w);
		w->due_ms = 0;
		return;
	}
	kube_list_forget(w);
	if (code == 404 && w->version == w->kind->version && w->kind->fallback != NULL) {
		kube_watch_use_version(w, w->kind->fallback);
		w->due_ms = 0;
		return;
	}
	if (code == 404) {
		if (!w->absent)
			kube_log(w, "not served (404 for %s%s%s): its CRD is not installed? an empty "
			    "list until it is, asked again every %d s", w->kind->version,
			    w->kind->fallback ? " and " : "", w->kind->fallback ? w->kind->fallback : "",
			    KUBE_ABSENT_RETRY_MS / 1000);
		kube_watch_use_version(w, w->kind->version);
		w->due_ms = clock_ms() + KUBE_ABSENT_RETRY_MS;
		if (!w->absent) {
			w->absent = 1;
			w->synced = 1;
			k->cb.relist(k->arg, w->idx, w->items);
			k->reported = 1;
		}
		return;
	}
	if (w->fail[0] != '\0')
		snprintf(what, sizeof(what), "list: %s", w->fail);
	else {
		char d[600];

		kube_describe(res, code, w->body, w->blen, w->errbuf, d, sizeof(d));
		snprintf(what, sizeof(what), "list: %s", d);
	}
	kube_failed(w, w->fail[0] ? KUBE_FAIL_STREAM : (int)(code ? code : res), what);
}

/* A watch request ended. */
static void
kube_watch_done(struct kube_watch *w, CURLcode res, long code)
{
	uint64_t lasted = clock_ms() - w->started_ms;
	char what[768];

	if (w->relist || code == 410) {
		w->op = KUBE_OP_LIST;
		if (w->gone == 0 || lasted >= KUBE_QUICK_END_MS) {
			w->gone = 1;
			kube_log(w, "resourceVersion %s is too old (410 Gone); listing again",
			    w->rv ? w->rv : "");
			w->due_ms = 0;
		} else {
			/* Gone again at once, nothing between: a server that cannot watch what it lists. */
			w->gone++;
			snprintf(what, sizeof(what), "watch: resourceVersion %s is too old (410 Gone) "
			    "again right after a list", w->rv ? w->rv : "");
			kube_failed(w, KUBE_FAIL_GONE, what);
		}
		return;
	}
	if (w->fail[0] != '\0') {
		snprintf(what, sizeof(what), "watch: %s", w->fail);
		kube_failed(w, KUBE_FAIL_STREAM, what);
		return;
	}
	if (code == 404) {
		/* The kind went away (its CRD deleted, this version dropped): list it again, which
		 * finds the fallback or that it is gone; after a back-off, should the list work
		 * and the watch not. */
		w->op = KUBE_OP_LIST;
		kube_failed(w, 404, "watch: HTTP 404 (no longer served?); listing again");
		return;
	}
	if (code == 200 && (res == CURLE_OK || res == CURLE_OPERATION_TIMEDOUT)) {
		/* Ended by the server (timeoutSeconds), or by our timeout a little after: renew. */
		if (w->nlines == 0 && lasted < KUBE_QUICK_END_MS) {
			kube_failed(w, KUBE_FAIL_QUICK, "watch: the server ended it at once");
			return;
		}
		if (w->step != 0)
			kube_succeeded(w);
		w->due_ms = 0;
		return;
	}
	{
		char d[600];

		kube_describe(res, code, w->body, w->blen, w->errbuf, d, sizeof(d));
		snprintf(what, sizeof(what), "watch: %s%s", code == 200 ? "the stream broke: " : "", d);
	}
	kube_failed(w, (int)(code != 200 && code != 0 ? code : res), what);
}

/* Reports and follows up each request that ended. */
static void
kube_reap(struct kube *k)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(k->multi, &left)) != NULL) {
		CURL *h = m->easy_handle;
		CURLcode res = m->data.result;
		struct kube_watch *w = NULL;
		long code = 0;
		size_t i;

		if (m->msg != CURLMSG_DONE)
			continue;
		for (i = 0; i < k->n; i++)
			if (k->w[i].easy == h)
				w = &k->w[i];
		if (w == NULL)
			continue;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(k->multi, h);
		curl_easy_cleanup(h);
		w->easy = NULL;
		curl_slist_free_all(w->hdrs);
		w->hdrs = NULL;
		if (k->oom)
			return;
		if (w->op == KUBE_OP_LIST)
			kube_list_done(k, w, res, code);
		else
			kube_watch_done(w, res, code);
		w->blen = 0;
		kube_lines_reset(&w->lines);
		/* A big list page or event is not held on to until the next one. */
		if (w->bcap > KUBE_ERRBODY_MAX) {
			free(w->body);
			w->body = NULL;
			w->bcap = 0;
		}
		if (w->lines.cap > KUBE_ERRBODY_MAX)
			kube_lines_free(&w->lines);
		if (k->oom)
			return;
	}
}

/* Starts the requests due by now; the earliest due later into *next_ms (unchanged when none). */
static void
kube_start_due(struct kube *k, uint64_t *next_ms)
{
	uint64_t now = clock_ms();
	size_t i;

	for (i = 0; i < k->n && !k->oom; i++) {
		struct kube_watch *w = &k->w[i];

		if (w->easy != NULL)
			continue;
		if (w->due_ms <= now)
			kube_start(k, w);
		else if (w->due_ms < *next_ms)
			*next_ms = w->due_ms;
	}
}

struct kube *
kube_new(const struct kube_config *c, const struct kube_kind *kinds, size_t nkinds,
    const struct kube_callbacks *cb, void *arg, struct gw_err *e)
{
	char errbuf[CURL_ERROR_SIZE];
	struct kube *k;
	CURL *probe;
	size_t i;

	if (c->server == NULL) {
		gw_fail(e, NULL, 0, "no API server");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		gw_fail(e, NULL, 0, "libcurl: cannot initialize");
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto oom;
	k->cb = *cb;
	k->arg = arg;
	k->n = nkinds;
	k->rnd = clock_read_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	snprintf(k->ua, sizeof(k->ua), "passthrough-gateway/%s", PASSTHROUGH_VERSION);
	if ((k->c.server = kube_strdup(c->server)) == NULL ||
	    (c->ca_file && (k->c.ca_file = kube_strdup(c->ca_file)) == NULL) ||
	    (c->ca_data && (k->c.ca_data = kube_strdup(c->ca_data)) == NULL) ||
	    (c->token && (k->token = kube_strdup(c->token)) == NULL) ||
	    (c->token_file && (k->c.token_file = kube_strdup(c->token_file)) == NULL) ||
	    (c->cert_data && (k->c.cert_data = kube_strdup(c->cert_data)) == NULL) ||
	    (c->key_data && (k->c.key_data = kube_strdup(c->key_data)) == NULL) ||
	    (c->cert_file && (k->c.cert_file = kube_strdup(c->cert_file)) == NULL) ||
	    (c->key_file && (k->c.key_file = kube_strdup(c->key_file)) == NULL))
		goto oom;
	k->c.insecure = c->insecure;
	/* The options every request sets, tried once: a libcurl without blob support says so here. */
	if ((probe = curl_easy_init()) == NULL)
		goto oom;
	if (kube_easy_setup(k, probe, NULL, KUBE_LIST_TIMEOUT_MS, errbuf) != 0) {
		curl_easy_cleanup(probe);
		gw_fail(e, NULL, 0, "libcurl %s refuses the TLS settings (a CA or client "
		    "certificate given as data needs libcurl 7.77 with OpenSSL)",
		    curl_version_info(CURLVERSION_NOW)->version);
		goto bad;
	}
	curl_easy_cleanup(probe);
	if ((k->multi = curl_multi_init()) == NULL ||
	    (k->w = calloc(nkinds ? nkinds : 1, sizeof(*k->w))) == NULL)
		goto oom;
	for (i = 0; i < nkinds; i++) {
		struct kube_watch *w = &k->w[i];

		w->k = k;
		w->idx = i;
		w->kind = &kinds[i];
		w->op = KUBE_OP_LIST;
		w->lines.max = KUBE_EVENT_BYTES_MAX;
		kube_watch_use_version(w, kinds[i].version);
		if ((w->items = json_array()) == NULL)
			goto oom;
	}
	return k;
oom:
	gw_fail(e, NULL, 0, "out of memory");
bad:
	kube_free(k);
	if (k == NULL)
		curl_global_cleanup();
	return NULL;
}

int
kube_poll(struct kube *k, int timeout_ms, struct gw_err *e)
{
	uint64_t now = clock_ms(), next = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int running;

	k->reported = 0;
	kube_start_due(k, &next);
	curl_multi_perform(k->multi, &running);
	kube_reap(k);
	/* What came between two calls is the caller's at once: it waits only when nothing did. */
	if (!k->oom && !k->reported) {
		/* What ended at once (a refused connection) waits its back-off: the wait ends then. */
		kube_start_due(k, &next);
		now = clock_ms();
		curl_multi_poll(k->multi, NULL, 0, next > now ? (int)(next - now) : 0, NULL);
		curl_multi_perform(k->multi, &running);
		kube_reap(k);
	}
	if (!k->oom) {
		/* What ended just now asks its next request at once (a page, a renewed watch). */
		next = UINT64_MAX;
		kube_start_due(k, &next);
		curl_multi_perform(k->multi, &running);
	}
	if (k->oom)
		return gw_fail(e, NULL, 0, "the API client: out of memory");
	return 0;
}

int
kube_synced(const struct kube *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!k->w[i].synced)
			return 0;
	return 1;
}

/* kube_patch_status's answer: its start, for the Status message. */
static size_t
kube_patch_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kube_watch *w = arg;
	size_t n = size * nmemb;

	if (w->blen < KUBE_ERRBODY_MAX)
		kube_body_append(w, data, n < KUBE_ERRBODY_MAX - w->blen ? n :
		    KUBE_ERRBODY_MAX - w->blen, KUBE_ERRBODY_MAX);
	return n;
}

int
kube_patch_status(struct kube *k, size_t kind, const char *ns, const char *name,
    const char *body, struct gw_err *e)
{
	struct kube_watch *w, tmp = { 0 };
	struct curl_slist *hdrs = NULL, *t;
	char *url = NULL, errbuf[CURL_ERROR_SIZE], d[600];
	long code = 0;
	CURLcode res;
	int rc = -1;

	if (kind >= k->n)
		return gw_fail(e, NULL, 0, "patch: no kind %zu", kind);
	w = &k->w[kind];
	/* The answer goes into a scratch watch's body: w's own may hold a list in progress. */
	tmp.k = k;
	if ((url = kube_url(k, w, ns, name, "/status")) == NULL ||
	    (hdrs = kube_headers(k, "Content-Type: application/merge-patch+json")) == NULL ||
	    (t = curl_slist_append(hdrs, "Expect:")) == NULL ||
	    ((hdrs = t), k->patch == NULL && (k->patch = curl_easy_init()) == NULL)) {
		gw_fail(e, NULL, 0, "patch %s %s%s%s: out of memory", w->kind->kind, ns ? ns : "",
		    ns && ns[0] ? "/" : "", name);
		goto out;
	}
	curl_easy_reset(k->patch);
	if (kube_easy_setup(k, k->patch, hdrs, KUBE_PATCH_TIMEOUT_MS, errbuf) != 0 ||
	    curl_easy_setopt(k->patch, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(k->patch, CURLOPT_CUSTOMREQUEST, "PATCH") != CURLE_OK ||
	    curl_easy_setopt(k->patch, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(k->patch, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) != CURLE_OK ||
	    curl_easy_setopt(k->patch, CURLOPT_WRITEFUNCTION, kube_patch_write) != CURLE_OK ||
	    curl_easy_setopt(k->patch, CURLOPT_WRITEDATA, &tmp) != CURLE_OK) {
		gw_fail(e, NULL, 0, "patch %s %s%s%s: libcurl refused an option", w->kind->kind,
		    ns ? ns : "", ns && ns[0] ? "/" : "", name);
		goto out;
	}
	res = curl_easy_perform(k->patch);
	curl_easy_getinfo(k->patch, CURLINFO_RESPONSE_CODE, &code);
	if (res != CURLE_OK || code == 0) {
		kube_describe(res, 0, NULL, 0, errbuf, d, sizeof(d));
		gw_fail(e, NULL, 0, "patch %s %s%s%s status: %s", w->kind->kind, ns ? ns : "",
		    ns && ns[0] ? "/" : "", name, d);
		goto out;
	}
	rc = (int)code;
	if (code < 200 || code > 299) {
		kube_describe(res, code, tmp.body, tmp.blen, errbuf, d, sizeof(d));
		gw_fail(e, NULL, 0, "patch %s %s%s%s status: %s", w->kind->kind, ns ? ns : "",
		    ns && ns[0] ? "/" : "", name, d);
	}
out:
	if (k->patch != NULL) {
		/* The handle outlives this call's headers and error buffer. */
		curl_easy_setopt(k->patch, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(k->patch, CURLOPT_ERRORBUFFER, NULL);
	}
	curl_slist_free_all(hdrs);
	free(tmp.body);
	free(url);
	return rc;
}

void
kube_free(struct kube *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; k->w != NULL && i < k->n; i++) {
		struct kube_watch *w = &k->w[i];

		if (w->easy != NULL) {
			curl_multi_remove_handle(k->multi, w->easy);
			curl_easy_cleanup(w->easy);
		}
		curl_slist_free_all(w->hdrs);
		free(w->body);
		kube_lines_free(&w->lines);
		json_decref(w->items);
		free(w->cont);
		free(w->rv);
	}
	free(k->w);
	if (k->multi != NULL)
		curl_multi_cleanup(k->multi);
	if (k->patch != NULL)
		curl_easy_cleanup(k->patch);
	free(k->token);
	k->c.token = NULL;
	kube_config_free(&k->c);
	free(k);
	curl_global_cleanup();
}
