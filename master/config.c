/*
 * config.c -- loading passthrough.conf (libconfig) into a struct config,
 * reporting every fault as "file:line: setting: message".
 *
 * libconfig parses; this file checks. Each group's known keys are a table
 * of struct config_key (name, getter, where the value goes, range), so a new
 * setting is one line in the right table. Getters report a fault and move
 * on: one load reports everything wrong with the file, in file order.
 *
 * The other rooms of the loader: config_err.c (messages), config_text.c
 * (the text libconfig parses, and two libconfig 1.5 habits worked around),
 * config_sni.c (duplicate sni patterns), config_peek.c (lenient reads of
 * one setting), config_listeners.c (listener groups), config_tuning.c (the
 * tuning group); config_int.h is what they share.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "config_int.h"
#include "stats.h"
#include "tunables.h"

/* Workers of a root start without user run as this user, as nginx's do. */
#define CONFIG_DEFAULT_USER "nobody"

#define CONF(m)		offsetof(struct config, m)
#define ROUTE(m)	offsetof(struct config_route, m)

static config_get_fn config_get_group, config_get_routes, config_get_pattern, config_get_string,
    config_get_user, config_get_groupname, config_get_stats_name, config_get_logdest,
    config_get_resolve_ms;

/* Enumerations are stored as uint32_t; so is log_level. */
_Static_assert(sizeof(enum log_level) == sizeof(uint32_t), "log_level is stored as uint32_t");

static const char *const config_level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_DEBUG + 1] = NULL,
};

static const struct config_key config_timeouts_keys[] = {
	{ "hello_ms", config_get_uint, .off = CONF(settings.hello_ms),
	    .min = MIN_TIMEOUT_MS, .max = MAX_TIMEOUT_MS },
	{ "connect_ms", config_get_uint, .off = CONF(settings.connect_ms),
	    .min = MIN_TIMEOUT_MS, .max = MAX_TIMEOUT_MS },
	{ "idle_ms", config_get_uint, .off = CONF(settings.idle_ms),
	    .min = MIN_TIMEOUT_MS, .max = MAX_TIMEOUT_MS },
	{ "drain_ms", config_get_uint, .off = CONF(settings.drain_ms),
	    .min = 0, .max = MAX_TIMEOUT_MS },
	{ .name = NULL }
};

static const struct config_key config_limits_keys[] = {
	{ "hello_bytes", config_get_uint, .off = CONF(settings.hello_bytes),
	    .min = MIN_HELLO_BYTES, .max = MAX_HELLO_BYTES },
	{ "max_connections", config_get_uint, .off = CONF(settings.max_connections),
	    .min = MIN_CONNECTIONS, .max = MAX_CONNECTIONS_LIMIT },
	{ .name = NULL }
};

static const char *const config_format_names[] = {
	[ACCESS_TEXT] = "text",
	[ACCESS_JSON] = "json",
	[ACCESS_FORMAT_COUNT] = NULL,
};

static const struct config_key config_log_keys[] = {
	{ "level", config_get_enum, .off = CONF(settings.log_level), .names = config_level_names },
	{ "error", config_get_logdest, .off = CONF(error_log) },
	{ "access", config_get_logdest, .off = CONF(access_log), .flags = KEY_OFF_OK },
	{ "format", config_get_enum, .off = CONF(settings.access_format), .names = config_format_names },
	{ .name = NULL }
};

static const struct config_key config_stats_keys[] = {
	{ "name", config_get_stats_name, .off = CONF(stats_name) },
	{ "group", config_get_groupname, .off = CONF(stats_group), .id_off = CONF(stats_gid) },
	{ .name = NULL }
};

static const char *const config_send_proxy_names[] = {
	[ROUTES_PROXY_NONE] = "none",
	[ROUTES_PROXY_V1] = "v1",
	[ROUTES_PROXY_V2] = "v2",
	[ROUTES_PROXY_V2 + 1] = NULL,
};

static const char *const config_balance_names[] = {
	[ROUTES_BALANCE_ROUNDROBIN] = "roundrobin",
	[ROUTES_BALANCE_LEASTCONN] = "leastconn",
	[ROUTES_BALANCE_RANDOM2] = "random2",
	[ROUTES_BALANCE_COUNT] = NULL,
};

/* A route's own timeouts; the object is its struct config_route. */
static const struct config_key config_route_timeouts_keys[] = {
	{ "connect_ms", config_get_uint, .off = ROUTE(connect_ms),
	    .min = MIN_TIMEOUT_MS, .max = MAX_TIMEOUT_MS },
	{ "idle_ms", config_get_uint, .off = ROUTE(idle_ms),
	    .min = MIN_TIMEOUT_MS, .max = MAX_TIMEOUT_MS },
	{ .name = NULL }
};

/* One element of routes; the object is its struct config_route. */
const struct config_key config_route_keys[] = {
	{ "sni", config_get_pattern, .off = ROUTE(pattern), .flags = KEY_REQUIRED },
	{ "backends", config_backends_get, .off = ROUTE(backends),
	    .count_off = ROUTE(backend_count), .max = MAX_BACKENDS_PER_ROUTE,
	    .flags = KEY_REQUIRED, .members = config_backends_keys },	/* config_backends.c */
	{ "send_proxy", config_get_enum, .off = ROUTE(send_proxy),
	    .names = config_send_proxy_names },
	{ "allow", config_access_cidrs, .off = ROUTE(rules.allow),
	    .count_off = ROUTE(rules.allow_count), .max = ACL_ENTRIES_MAX },
	{ "deny", config_access_cidrs, .off = ROUTE(rules.deny),
	    .count_off = ROUTE(rules.deny_count), .max = ACL_ENTRIES_MAX },
	{ "alpn", config_sni_alpn, .off = ROUTE(alpn), .count_off = ROUTE(alpn_count),
	    .max = ROUTES_ALPN_NAMES_MAX },
	{ "timeouts", config_get_group, .members = config_route_timeouts_keys },
	{ "max_connections", config_get_uint, .off = ROUTE(max_connections),
	    .min = MIN_CONNECTIONS, .max = MAX_CONNECTIONS_LIMIT },
	{ "balance", config_get_enum, .off = ROUTE(balance), .names = config_balance_names },
	{ "check", config_check_get, .off = ROUTE(check), .members = config_check_keys },
	{ .name = NULL }
};

/* The top level; the object is the struct config. */
const struct config_key config_keys[] = {
	{ "workers", config_get_uint, .off = CONF(workers), .min = 0, .max = MAX_WORKERS },
	{ "pid_file", config_get_string, .off = CONF(pid_file) },
	{ "user", config_get_user, .off = CONF(user) },
	{ "group", config_get_groupname, .off = CONF(group), .id_off = CONF(gid) },
	{ "watch_config", config_get_bool, .off = CONF(watch_config) },
	/* listen and routes are required unless listeners is set: config_listeners_check() */
	{ "listen", config_access_listen, .max = MAX_LISTEN, .addr_flags = ADDR_WILDCARD,
	    .members = config_access_listen_keys },
	{ "allow", config_access_cidrs, .off = CONF(rules.allow),
	    .count_off = CONF(rules.allow_count), .max = ACL_ENTRIES_MAX },
	{ "deny", config_access_cidrs, .off = CONF(rules.deny),
	    .count_off = CONF(rules.deny_count), .max = ACL_ENTRIES_MAX },
	{ "timeouts", config_get_group, .members = config_timeouts_keys },
	{ "limits", config_get_group, .members = config_limits_keys },
	{ "tuning", config_get_group, .members = config_tuning_keys },
	{ "log", config_get_group, .members = config_log_keys },
	{ "stats", config_get_group, .members = config_stats_keys },
	{ "routes", config_get_routes, .members = config_route_keys },
	{ "listeners", config_listeners_get, .max = MAX_LISTEN, .members = config_listeners_keys },
	{ "resolve_ms", config_get_resolve_ms, .off = CONF(resolve_ms), .min = 0,
	    .max = MAX_RESOLVE_MS },
	{ .name = NULL }
};

static void
config_defaults(struct config *cfg)
{
	cfg->workers = DEFAULT_WORKERS;
	cfg->settings.log_level = LOG_LVL_INFO;
	cfg->settings.hello_ms = DEFAULT_HELLO_MS;
	cfg->settings.connect_ms = DEFAULT_CONNECT_MS;
	cfg->settings.idle_ms = DEFAULT_IDLE_MS;
	cfg->settings.hello_bytes = DEFAULT_HELLO_BYTES;
	cfg->settings.max_connections = DEFAULT_MAX_CONNECTIONS;
	cfg->settings.pipe_bytes = DEFAULT_PIPE_BYTES;
	cfg->settings.relay = RELAY_ADAPTIVE;	/* measured: docs/bench/analysis.md */
	cfg->settings.drain_ms = DEFAULT_DRAIN_MS;
	cfg->stats_gid = (uint32_t)-1;
	cfg->resolve_ms = DEFAULT_RESOLVE_MS;
}

/* ---- getters ----------------------------------------------------------- */

static void
config_store_u32(void *obj, size_t off, uint32_t v)
{
	memcpy((char *)obj + off, &v, sizeof(v));
}

/* An integer in k->min..k->max (a power of two with KEY_POW2). */
void
config_get_uint(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else {
		config_err_type(ctx, s, "an integer");
		return;
	}
	if (v < (long long)k->min || v > (long long)k->max) {
		config_err(ctx, s, "%lld is out of range %u..%u", v, k->min, k->max);
		return;
	}
	if ((k->flags & KEY_POW2) && (v & (v - 1)) != 0) {
		config_err(ctx, s, "%lld is not a power of two", v);
		return;
	}
	config_store_u32(obj, k->off, (uint32_t)v);
}

/* One of the strings k->names; stores its index. */
void
config_get_enum(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	char quoted[CONFIG_QUOTE_MAX], list[LOG_LINE_MAX];
	const char *text;
	size_t n = 0;
	uint32_t i;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_type(ctx, s, "a string");
		return;
	}
	text = config_setting_get_string(s);
	for (i = 0; k->names[i] != NULL; i++) {
		if (strcmp(text, k->names[i]) == 0) {
			config_store_u32(obj, k->off, i);
			return;
		}
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
		    i != 0 ? ", " : "", k->names[i]);
	}
	config_err(ctx, s, "%s is not one of %s",
	    config_quote(text, quoted, sizeof(quoted)), list);
}

/* A non-empty string; stores a copy (char *) at k->off. */
static void
config_get_string(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	char **dst = (char **)(void *)((char *)obj + k->off);
	const char *text;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_type(ctx, s, "a string");
		return;
	}
	text = config_setting_get_string(s);
	if (text[0] == '\0') {
		config_err(ctx, s, "is empty");
		return;
	}
	free(*dst);
	*dst = strdup(text);
	if (*dst == NULL)
		config_err(ctx, s, "out of memory");
}

/* true or false; stores an int at k->off. */
void
config_get_bool(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	int v;

	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		config_err_type(ctx, s, "true or false");
		return;
	}
	v = config_setting_get_bool(s);
	memcpy((char *)obj + k->off, &v, sizeof(v));
}

/* A name (config_get_string) that names no user or group (what): reported. */
static void
config_err_unknown(struct config_ctx *ctx, const config_setting_t *s, const char *name,
    const char *what)
{
	char quoted[CONFIG_QUOTE_MAX];

	config_err(ctx, s, "%s names no %s", config_quote(name, quoted, sizeof(quoted)), what);
}

/* A user that exists: its uid and primary gid are kept (group may override the gid). */
static void
config_get_user(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	struct passwd *pw;

	config_get_string(ctx, s, k, obj);
	if (cfg->user == NULL)
		return;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		config_err_unknown(ctx, s, cfg->user, "user");
		return;
	}
	cfg->uid = pw->pw_uid;
	if (cfg->group == NULL)
		cfg->gid = pw->pw_gid;
}

/*
 * Who the workers run as, once every setting is read. group without user
 * is a fault: it would change the gid and leave the uid 0. A root start
 * without user runs the workers as CONFIG_DEFAULT_USER (as nginx does); a
 * start as anyone else keeps them as that user (no switch is possible).
 */
static void
config_check_user(struct config_ctx *ctx, const config_setting_t *root, struct config *cfg)
{
	const config_setting_t *g = config_setting_get_member(root, "group");
	struct passwd *pw;

	if (g != NULL && config_setting_get_member(root, "user") == NULL) {
		config_err(ctx, g, "needs user: workers switch to a user, and to a group only with it");
		return;
	}
	if (cfg->user != NULL || config_setting_get_member(root, "user") != NULL ||
	    geteuid() != 0)
		return;
	if ((pw = getpwnam(CONFIG_DEFAULT_USER)) == NULL) {
		config_err_at(ctx, ctx->path, 0, "user", "not set, and the default \"%s\" "
		    "names no user: name the user the workers run as", CONFIG_DEFAULT_USER);
		return;
	}
	if ((cfg->user = strdup(CONFIG_DEFAULT_USER)) == NULL) {
		config_err_at(ctx, ctx->path, 0, "user", "out of memory");
		return;
	}
	cfg->uid = pw->pw_uid;
	cfg->gid = pw->pw_gid;
}

/* A group that exists: the name is kept at k->off, its gid at k->id_off. */
static void
config_get_groupname(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	char **name = (char **)(void *)((char *)obj + k->off);
	struct group *gr;

	config_get_string(ctx, s, k, obj);
	if (*name == NULL)
		return;
	if ((gr = getgrnam(*name)) == NULL) {
		config_err_unknown(ctx, s, *name, "group");
		return;
	}
	config_store_u32(obj, k->id_off, gr->gr_gid);
}

/*
 * A log destination: "stderr", "syslog", "off" (where allowed) or an
 * absolute path (a daemon works from /, and workers reopen it by name).
 */
static void
config_get_logdest(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	char **dst = (char **)(void *)((char *)obj + k->off);
	char quoted[CONFIG_QUOTE_MAX];
	const char *v;

	config_get_string(ctx, s, k, obj);
	if ((v = *dst) == NULL)
		return;
	if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0 ||
	    ((k->flags & KEY_OFF_OK) && strcmp(v, "off") == 0))
		return;
	if (v[0] != '/' || strlen(v) >= ROUTES_ACCESS_MAX)
		config_err(ctx, s, "%s is not %s\"stderr\", \"syslog\" or an absolute path "
		    "shorter than %u", config_quote(v, quoted, sizeof(quoted)),
		    (k->flags & KEY_OFF_OK) ? "\"off\", " : "", ROUTES_ACCESS_MAX);
	else
		return;
	free(*dst);
	*dst = NULL;
}

/* resolve_ms: 0 (never again after the load), or MIN_RESOLVE_MS..k->max. */
static void
config_get_resolve_ms(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	uint32_t was = cfg->resolve_ms;

	config_get_uint(ctx, s, k, obj);
	if (cfg->resolve_ms != 0 && cfg->resolve_ms < MIN_RESOLVE_MS) {
		config_err(ctx, s, "%u is below %u (0 turns resolving again off)",
		    cfg->resolve_ms, MIN_RESOLVE_MS);
		cfg->resolve_ms = was;
	}
}

/* A shm object name: a short word of [A-Za-z0-9._-], no '/'. */
static void
config_get_stats_name(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	char quoted[CONFIG_QUOTE_MAX];
	size_t n;

	config_get_string(ctx, s, k, obj);
	if (cfg->stats_name == NULL)
		return;
	n = strspn(cfg->stats_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
	if (cfg->stats_name[n] != '\0' || n > STATS_NAME_MAX) {
		config_err(ctx, s, "%s is not a name of at most %u letters, digits, '.', '_' and '-'",
		    config_quote(cfg->stats_name, quoted, sizeof(quoted)), STATS_NAME_MAX);
		free(cfg->stats_name);
		cfg->stats_name = NULL;
	}
}

/*
 * Walks the members of group g in file order, then reports required keys
 * missing. The group's path is only worked out for a message:
 * config_setting_index() is linear, and there may be a million routes.
 */
void
config_walk(struct config_ctx *ctx, const config_setting_t *g,
    const struct config_key *keys, void *obj)
{
	char path[CONFIG_PATH_MAX], missing[2 * CONFIG_PATH_MAX], quoted[CONFIG_QUOTE_MAX];
	const config_setting_t *m;
	const struct config_key *k;
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(g, (unsigned)i);
		for (k = keys; k->name != NULL; k++)
			if (strcmp(k->name, config_setting_name(m)) == 0)
				break;
		if (k->name != NULL)
			k->get(ctx, m, k, obj);
		else
			config_err_at(ctx, config_file(ctx, m), config_text_line(ctx, m),
			    config_path(g, path, sizeof(path)), "unknown setting %s",
			    config_quote(config_setting_name(m), quoted, sizeof(quoted)));
	}
	for (k = keys; k->name != NULL; k++) {
		if (!(k->flags & KEY_REQUIRED) || config_setting_get_member(g, k->name) != NULL)
			continue;
		config_path(g, path, sizeof(path));
		snprintf(missing, sizeof(missing), "%s%s%s", path,
		    path[0] != '\0' ? "." : "", k->name);
		config_err_at(ctx, config_file(ctx, g), config_text_line(ctx, g), missing,
		    "is required");
	}
}

static void
config_get_group(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	if (!config_setting_is_group(s)) {
		config_err_type(ctx, s, "a group");
		return;
	}
	config_walk(ctx, s, k->members, obj);
}

/*
 * The length of list s (or array, with array_ok), or 0 after a fault: not
 * one, or empty. More than max entries is reported ("has n <noun>, more
 * than max") and the length still returned: every entry gets checked.
 */
uint32_t
config_list_length(struct config_ctx *ctx, const config_setting_t *s, int array_ok,
    const char *noun, uint32_t max)
{
	uint32_t n;

	if (!config_setting_is_list(s) && !(array_ok && config_setting_is_array(s))) {
		config_err_type(ctx, s, array_ok ? "an array" : "a list");
		return 0;
	}
	n = (uint32_t)config_setting_length(s);
	if (n == 0)
		config_err(ctx, s, "is empty");
	else if (n > max)
		config_err(ctx, s, "has %u %s, more than %u", n, noun, max);
	return n;
}

/* A route's sni: a pattern routes_pattern_key() accepts. */
static void
config_get_pattern(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config_route *route = obj;
	char key[ROUTES_KEY_MAX + 2], quoted[CONFIG_QUOTE_MAX];
	enum route_kind kind;
	const char *text, *why;
	char *copy;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_type(ctx, s, "a string");
		return;
	}
	text = config_setting_get_string(s);
	copy = strdup(text);
	if (copy == NULL) {
		config_err(ctx, s, "out of memory");
		return;
	}
	memcpy((char *)obj + k->off, &copy, sizeof(copy));
	route->line = (int)config_text_line(ctx, s);
	config_quote(text, quoted, sizeof(quoted));
	/* Unique across routes unless they differ by alpn: config_sni_check(). */
	if (routes_pattern_key(text, key, &kind, &why) < 0)
		config_err(ctx, s, "%s %s", quoted, why);
}

uint32_t
config_routes_length(struct config_ctx *ctx, const config_setting_t *s)
{
	uint32_t n;

	/* () or []: a controller renders a cluster without routes as either. */
	if (!config_setting_is_list(s) && !(config_setting_is_array(s) &&
	    config_setting_length(s) == 0)) {
		config_err_type(ctx, s, "a list");
		return 0;
	}
	n = (uint32_t)config_setting_length(s);
	if (n > MAX_ROUTES)
		config_err(ctx, s, "has %u routes, more than %u", n, MAX_ROUTES);
	return n;
}

void
config_routes_fill(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, uint32_t first, uint32_t n, uint32_t group)
{
	struct config_route *r;
	const config_setting_t *e;

	for (uint32_t i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		r = &ctx->cfg->routes[first + i];
		r->group = group;
		if (!config_setting_is_group(e))
			config_err_type(ctx, e, "a group");
		else {
			config_walk(ctx, e, k->members, r);
			config_access_rules_check(ctx, e, &r->rules);
			config_sni_check(ctx, e, first + i);
			config_check_route(ctx, e, r);
		}
	}
}

/* The top level's routes: 0..MAX_ROUTES groups, each walked with k->members. */
static void
config_get_routes(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	uint32_t n;
	int rc;

	n = config_routes_length(ctx, s);
	cfg->routes = calloc((size_t)n + 1, sizeof(*cfg->routes));
	rc = config_sni_init(&ctx->sni, n);
	if (cfg->routes == NULL || rc != 0) {
		config_err(ctx, s, "out of memory");
		return;	/* config_load() frees what was made */
	}
	cfg->route_count = n;
	config_routes_fill(ctx, s, k, 0, n, 0);
}

void *
config_list_alloc(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj, uint32_t n, size_t size)
{
	void *v = calloc(n, size);

	if (v == NULL) {
		config_err(ctx, s, "out of memory");
		return NULL;
	}
	memcpy((char *)obj + k->off, &v, sizeof(v));
	memcpy((char *)obj + k->count_off, &n, sizeof(n));
	return v;
}

/* ---- loading ----------------------------------------------------------- */

int
config_load(struct config *cfg, const char *path, struct config_errors *errs)
{
	uint8_t sha256[SHA256_BYTES];
	struct config_ctx ctx;
	config_t lc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.errs = errs;
	ctx.path = path;
	config_init(&lc);
	/* A file refused as text is not checked: values read from it mislead. */
	if (config_text_parse(&ctx, &lc) != 0)
		goto bad;
	cfg->path = strdup(path);
	if (cfg->path == NULL) {
		config_err_at(&ctx, path, 0, "", "out of memory");
		goto bad;
	}
	config_defaults(cfg);
	config_walk(&ctx, config_root_setting(&lc), config_keys, cfg);
	config_listeners_check(&ctx, config_root_setting(&lc));
	config_access_rules_check(&ctx, config_root_setting(&lc), &cfg->rules);
	config_check_user(&ctx, config_root_setting(&lc), cfg);
	config_tuning_check(&ctx, config_root_setting(&lc));
bad:
	config_sni_free(&ctx.sni);
	config_text_free(&ctx);
	config_destroy(&lc);
	if (ctx.faults == 0)
		return 0;
	memcpy(sha256, cfg->sha256, sizeof(sha256));
	config_free(cfg);
	memcpy(cfg->sha256, sha256, sizeof(sha256));
	return -1;
}

void
config_free(struct config *cfg)
{
	uint32_t i;

	free(cfg->path);
	free(cfg->pid_file);
	free(cfg->user);
	free(cfg->group);
	free(cfg->error_log);
	free(cfg->access_log);
	free(cfg->stats_name);
	free(cfg->stats_group);
	free(cfg->listen);
	for (i = 0; cfg->listens != NULL && i < cfg->listen_count; i++) {
		config_access_rules_free(&cfg->listens[i].trusted);
		config_access_rules_free(&cfg->listens[i].rules);
	}
	free(cfg->listens);
	config_access_rules_free(&cfg->rules);
	for (i = 0; cfg->routes != NULL && i < cfg->route_count; i++) {
		free(cfg->routes[i].pattern);
		free(cfg->routes[i].backends);
		free(cfg->routes[i].weights);
		free(cfg->routes[i].backend_flags);
		for (uint32_t j = 0; cfg->routes[i].hosts != NULL &&
		    j < cfg->routes[i].backend_count; j++) {
			free(cfg->routes[i].hosts[j].name);
			free(cfg->routes[i].hosts[j].addrs);
		}
		free(cfg->routes[i].hosts);
		free(cfg->routes[i].backend_checks);
		config_access_rules_free(&cfg->routes[i].rules);
		config_strings_free(cfg->routes[i].alpn, cfg->routes[i].alpn_count);
	}
	free(cfg->routes);
	for (i = 0; cfg->groups != NULL && i < cfg->group_count; i++)
		config_access_rules_free(&cfg->groups[i].rules);
	free(cfg->groups);
	memset(cfg, 0, sizeof(*cfg));
}

void
config_strings_free(char **v, uint32_t count)
{
	uint32_t i;

	for (i = 0; v != NULL && i < count; i++)
		free(v[i]);
	free(v);
}

void
config_errors_free(struct config_errors *errs)
{
	config_strings_free(errs->msg, errs->count);
	errs->msg = NULL;
	errs->count = 0;
}
