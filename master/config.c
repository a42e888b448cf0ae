/*
 * config.c -- loading passthrough.conf (libconfig) into a struct config,
 * reporting every fault as "file:line: setting: message".
 *
 * libconfig parses; this file checks. Each group's known keys are a table
 * of struct config_key (name, getter, where the value goes, range), so a new
 * setting is one line in the right table. Getters report a fault and move
 * on: one load reports everything wrong with the file, in file order.
 *
 * Two libconfig 1.5 habits are worked around here, both by looking at the
 * text libconfig parsed (kept in struct config_source):
 *  - an integer literal without the L suffix is read into an int and wraps
 *    silently (4294967296 reads as 0): such literals are refused before the
 *    settings are checked;
 *  - a string inside an array or list carries the line of the token after
 *    it, so faults there are reported at the line the string is on.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "hash.h"
#include "rtshm.h"
#include "stats.h"
#include "tunables.h"

/* Longest setting path in a message: "routes[999999].backends[1023]" and the like. */
#define CONFIG_PATH_MAX		128
/* Longest user text echoed in a message; the rest is cut to "...". */
#define CONFIG_QUOTE_MAX	300

/* One file libconfig read: the main file, or one it @included. */
struct config_source {
	const char *name;	/* as messages name it */
	char *text;		/* NUL-terminated */
	size_t len;
	size_t *line_off;	/* start of each line, built on first need */
	unsigned line_count;
};

struct config_ctx {
	struct config *cfg;
	struct config_errors *errs;
	const char *path;
	unsigned faults;	/* counted even when a message could not be kept */
	struct config_source *src;
	unsigned src_count;
	/* Duplicate SNI detection: open addressing over route indices. */
	uint32_t *sni_slot;	/* route index + 1, or 0 for empty */
	uint32_t sni_mask;
	char **sni_key;		/* per route: its lookup key, or NULL */
};

struct config_key;
typedef void config_get_fn(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj);

enum config_key_flags {
	KEY_REQUIRED = 1 << 0,
	KEY_POW2 = 1 << 1,	/* a power of two (numbers) */
	KEY_OFF_OK = 1 << 2,	/* log destinations: "off" is allowed */
};

/* A known setting of a group: its getter stores it at off in the group's object. */
struct config_key {
	const char *name;
	config_get_fn *get;
	size_t off;
	size_t count_off;		/* lists: where the entry count goes */
	uint32_t min, max;		/* numbers: the range; lists: max entries */
	int flags;			/* enum config_key_flags */
	int addr_flags;			/* enum addr_flags, for address lists */
	const char *const *names;	/* enumerations: NULL-terminated, index = value */
	const struct config_key *members;	/* groups */
};

#define CONF(m)		offsetof(struct config, m)
#define ROUTE(m)	offsetof(struct config_route, m)

static config_get_fn config_get_uint, config_get_enum, config_get_group,
    config_get_addrs, config_get_routes, config_get_pattern, config_get_string,
    config_get_bool, config_get_user, config_get_groupname, config_get_stats_name,
    config_get_stats_group, config_get_logdest;

/* Enumerations are stored as uint32_t; so is log_level. */
_Static_assert(sizeof(enum log_level) == sizeof(uint32_t), "log_level is stored as uint32_t");

static const char *const config_relay_names[] = {
	[RELAY_SPLICE] = "splice",
	[RELAY_SPLICE_RING] = "splice_ring",
	[RELAY_ADAPTIVE] = "adaptive",
	[RELAY_METHOD_COUNT] = NULL,
};

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

/*
 * pipe_bytes is a power of two because F_SETPIPE_SZ rounds up to one (in
 * pages): the size asked for is then the size the kernel charges.
 */
static const struct config_key config_tuning_keys[] = {
	{ "relay", config_get_enum, .off = CONF(settings.relay),
	    .names = config_relay_names },
	{ "pipe_bytes", config_get_uint, .off = CONF(settings.pipe_bytes),
	    .min = MIN_PIPE_BYTES, .max = MAX_PIPE_BYTES, .flags = KEY_POW2 },
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
	{ "group", config_get_stats_group, .off = CONF(stats_group) },
	{ .name = NULL }
};

/* One element of routes; the object is its struct config_route. */
static const struct config_key config_route_keys[] = {
	{ "sni", config_get_pattern, .off = ROUTE(pattern), .flags = KEY_REQUIRED },
	{ "backends", config_get_addrs, .off = ROUTE(backends),
	    .count_off = ROUTE(backend_count), .max = MAX_BACKENDS_PER_ROUTE,
	    .flags = KEY_REQUIRED, .addr_flags = ADDR_RESOLVE },
	{ .name = NULL }
};

/* The top level; the object is the struct config. */
static const struct config_key config_keys[] = {
	{ "workers", config_get_uint, .off = CONF(workers), .min = 0, .max = MAX_WORKERS },
	{ "pid_file", config_get_string, .off = CONF(pid_file) },
	{ "user", config_get_user, .off = CONF(user) },
	{ "group", config_get_groupname, .off = CONF(group) },
	{ "watch_config", config_get_bool, .off = CONF(watch_config) },
	{ "listen", config_get_addrs, .off = CONF(listen),
	    .count_off = CONF(listen_count), .max = MAX_LISTEN,
	    .flags = KEY_REQUIRED, .addr_flags = ADDR_WILDCARD },
	{ "timeouts", config_get_group, .members = config_timeouts_keys },
	{ "limits", config_get_group, .members = config_limits_keys },
	{ "tuning", config_get_group, .members = config_tuning_keys },
	{ "log", config_get_group, .members = config_log_keys },
	{ "stats", config_get_group, .members = config_stats_keys },
	{ "routes", config_get_routes, .flags = KEY_REQUIRED },
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
}

/* ---- messages ---------------------------------------------------------- */

static void config_err_at(struct config_ctx *ctx, const char *file, unsigned line,
    const char *setting, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Appends "file:line: setting: message" ("file:line: message" when setting is ""). */
static void
config_err_at(struct config_ctx *ctx, const char *file, unsigned line,
    const char *setting, const char *fmt, ...)
{
	struct config_errors *errs = ctx->errs;
	char msg[LOG_LINE_MAX], **grown, *full;
	va_list ap;
	int n;

	ctx->faults++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line == 0)
		n = asprintf(&full, "%s: %s%s%s", file, setting,
		    setting[0] != '\0' ? ": " : "", msg);
	else
		n = asprintf(&full, "%s:%u: %s%s%s", file, line, setting,
		    setting[0] != '\0' ? ": " : "", msg);
	if (n < 0)
		return;	/* out of memory: the load fails on what it could report */
	grown = realloc(errs->msg, (errs->count + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(full);
		return;
	}
	errs->msg = grown;
	errs->msg[errs->count++] = full;
}

static const char *
config_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:	return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:	return "an integer";
	case CONFIG_TYPE_FLOAT:	return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL:	return "a boolean";
	case CONFIG_TYPE_ARRAY:	return "an array";
	case CONFIG_TYPE_LIST:	return "a list";
	default:		return "nothing";
	}
}

/* Writes s as a message shows it: "text", with quotes, backslashes and controls escaped. */
static const char *
config_quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	buf[n++] = '"';
	for (; *s != '\0' && n + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, size - n, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	if (*s != '\0')
		n += (size_t)snprintf(buf + n, size - n, "...");
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

/* "routes[1].backends[0]"; "" for the root. */
static char *
config_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t n;

	buf[0] = '\0';
	if (parent == NULL)
		return buf;
	config_path(parent, buf, size);
	n = strlen(buf);
	if (config_setting_is_group(parent))
		snprintf(buf + n, size - n, "%s%s", n != 0 ? "." : "",
		    config_setting_name(s));
	else
		snprintf(buf + n, size - n, "[%d]", config_setting_index(s));
	return buf;
}

static const char *
config_file(const struct config_ctx *ctx, const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);

	return file != NULL ? file : ctx->path;
}

static struct config_source *
config_source_of(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);
	unsigned i;

	if (file == NULL)
		return &ctx->src[0];
	for (i = 1; i < ctx->src_count; i++)
		if (strcmp(ctx->src[i].name, file) == 0)
			return &ctx->src[i];
	return NULL;
}

/* Line n (from 1) of src, or NULL; *end is set past its last character. */
static const char *
config_source_line(struct config_source *src, unsigned n, const char **end)
{
	size_t i;

	if (src->line_off == NULL) {
		unsigned lines = 1;

		for (i = 0; i < src->len; i++)
			lines += src->text[i] == '\n';
		src->line_off = malloc(lines * sizeof(*src->line_off));
		if (src->line_off == NULL)
			return NULL;
		src->line_off[0] = 0;
		src->line_count = 1;
		for (i = 0; i < src->len; i++)
			if (src->text[i] == '\n')
				src->line_off[src->line_count++] = i + 1;
	}
	if (n == 0 || n > src->line_count)
		return NULL;
	*end = n < src->line_count ? src->text + src->line_off[n] - 1
	    : src->text + src->len;
	return src->text + src->line_off[n - 1];
}

/* Whether a '"' comes on this line before any comment starts. */
static int
config_line_has_string(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p == '"')
			return 1;
		if (*p == '#' || (*p == '/' && p + 1 < end && (p[1] == '/' || p[1] == '*')))
			return 0;
	}
	return 0;
}

/*
 * The line a fault in s is reported at. libconfig 1.5 gives a string inside
 * an array or list the line of the token after it (it looks ahead for
 * adjacent strings to join), so in
 *	backends = [
 *	  "a:1",
 *	  "b:2"
 *	];
 * "b:2" claims the line of "];". The string ends on the last line, from the
 * one the previous element ended on to that one, that has a '"' outside a
 * comment: that is the line returned. Other settings carry the line their
 * name (or, in a list, their opening bracket) is on, as libconfig says.
 */
static unsigned
config_line(struct config_ctx *ctx, const config_setting_t *s)
{
	const config_setting_t *parent = config_setting_parent(s);
	struct config_source *src;
	unsigned line = config_setting_source_line(s), low, n;
	const char *p, *end;
	int index;

	if (parent == NULL)
		return 1;	/* the root: the top of the file */
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    config_setting_is_group(parent))
		return line;
	index = config_setting_index(s);
	low = index > 0 ? config_setting_source_line(config_setting_get_elem(parent,
	    (unsigned)index - 1)) : config_setting_source_line(parent);
	src = config_source_of(ctx, s);
	if (src == NULL)
		return line;
	for (n = line; n >= low && n > 0; n--) {
		p = config_source_line(src, n, &end);
		if (p == NULL)
			break;
		if (config_line_has_string(p, end))
			return n;
	}
	return line;
}

static void config_err(struct config_ctx *ctx, const config_setting_t *s,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A fault in setting s, at its line, named by its path. */
static void
config_err(struct config_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
{
	char path[CONFIG_PATH_MAX], msg[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_err_at(ctx, config_file(ctx, s), config_line(ctx, s),
	    config_path(s, path, sizeof(path)), "%s", msg);
}

static void
config_err_type(struct config_ctx *ctx, const config_setting_t *s, const char *want)
{
	config_err(ctx, s, "expected %s, got %s", want, config_type_name(s));
}

/* ---- getters ----------------------------------------------------------- */

static void
config_store_u32(void *obj, size_t off, uint32_t v)
{
	memcpy((char *)obj + off, &v, sizeof(v));
}

/* An integer in k->min..k->max (a power of two with KEY_POW2). */
static void
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
static void
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
static void
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

/* A user that exists: its uid and primary gid are kept (group may override the gid). */
static void
config_get_user(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	char quoted[CONFIG_QUOTE_MAX];
	struct passwd *pw;

	config_get_string(ctx, s, k, obj);
	if (cfg->user == NULL)
		return;
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		config_err(ctx, s, "%s names no user", config_quote(cfg->user, quoted,
		    sizeof(quoted)));
		return;
	}
	cfg->uid = pw->pw_uid;
	if (cfg->group == NULL)
		cfg->gid = pw->pw_gid;
}

static void
config_get_groupname(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	char quoted[CONFIG_QUOTE_MAX];
	struct group *gr;

	config_get_string(ctx, s, k, obj);
	if (cfg->group == NULL)
		return;
	gr = getgrnam(cfg->group);
	if (gr == NULL) {
		config_err(ctx, s, "%s names no group", config_quote(cfg->group, quoted,
		    sizeof(quoted)));
		return;
	}
	cfg->gid = gr->gr_gid;
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

static void
config_get_stats_group(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	char quoted[CONFIG_QUOTE_MAX];
	struct group *gr;

	config_get_string(ctx, s, k, obj);
	if (cfg->stats_group == NULL)
		return;
	gr = getgrnam(cfg->stats_group);
	if (gr == NULL) {
		config_err(ctx, s, "%s names no group", config_quote(cfg->stats_group, quoted,
		    sizeof(quoted)));
		return;
	}
	cfg->stats_gid = gr->gr_gid;
}

/*
 * Walks the members of group g in file order, then reports required keys
 * missing. The group's path is only worked out for a message:
 * config_setting_index() is linear, and there may be a million routes.
 */
static void
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
			config_err_at(ctx, config_file(ctx, m), config_line(ctx, m),
			    config_path(g, path, sizeof(path)), "unknown setting %s",
			    config_quote(config_setting_name(m), quoted, sizeof(quoted)));
	}
	for (k = keys; k->name != NULL; k++) {
		if (!(k->flags & KEY_REQUIRED) || config_setting_get_member(g, k->name) != NULL)
			continue;
		config_path(g, path, sizeof(path));
		snprintf(missing, sizeof(missing), "%s%s%s", path,
		    path[0] != '\0' ? "." : "", k->name);
		config_err_at(ctx, config_file(ctx, g), config_line(ctx, g), missing,
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
 * An array (or list) of 1..k->max "host:port" strings, parsed with
 * k->addr_flags, none twice. Stores the array at k->off, its length at
 * k->count_off.
 */
static void
config_get_addrs(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	char quoted[CONFIG_QUOTE_MAX], path[CONFIG_PATH_MAX];
	const config_setting_t *e, *first;
	struct addr *a;
	const char *why;
	unsigned i, j, n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		config_err_type(ctx, s, "an array");
		return;
	}
	n = (unsigned)config_setting_length(s);
	if (n == 0) {
		config_err(ctx, s, "is empty");
		return;
	}
	if (n > k->max)
		config_err(ctx, s, "has %u entries, more than %u", n, k->max);
	a = calloc(n, sizeof(*a));
	if (a == NULL) {
		config_err(ctx, s, "out of memory");
		return;
	}
	memcpy((char *)obj + k->off, &a, sizeof(a));
	config_store_u32(obj, k->count_off, n);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			config_err_type(ctx, e, "a string");
			continue;
		}
		if (addr_parse(&a[i], config_setting_get_string(e), k->addr_flags, &why) != 0) {
			memset(&a[i], 0, sizeof(a[i]));	/* equal to nothing below */
			config_err(ctx, e, "%s %s", config_quote(config_setting_get_string(e),
			    quoted, sizeof(quoted)), why);
			continue;
		}
		/* Quadratic, but bounded by MAX_BACKENDS_PER_ROUTE (or MAX_LISTEN). */
		for (j = 0; j < i && !addr_equal(&a[j], &a[i]); j++)
			;
		if (j < i) {
			first = config_setting_get_elem(s, j);
			config_err(ctx, e, "%s duplicates %s (line %u)",
			    config_quote(config_setting_get_string(e), quoted, sizeof(quoted)),
			    config_path(first, path, sizeof(path)), config_line(ctx, first));
		}
	}
}

/*
 * Records route index's lookup key; returns the index of an earlier route
 * with the same key, -1, or -2 when out of memory.
 */
static long
config_sni_add(struct config_ctx *ctx, uint32_t index, const char *key)
{
	/* FNV-1a: short keys, no adversary (the operator writes the file). */
	uint32_t h = hash_fnv32_str(key) & ctx->sni_mask, other;

	for (; ctx->sni_slot[h] != 0; h = (h + 1) & ctx->sni_mask) {
		other = ctx->sni_slot[h] - 1;
		if (strcmp(ctx->sni_key[other], key) == 0)
			return (long)other;
	}
	ctx->sni_key[index] = strdup(key);
	if (ctx->sni_key[index] == NULL)
		return -2;
	ctx->sni_slot[h] = index + 1;
	return -1;
}

/* A route's sni: a pattern routes_pattern_key() accepts, unique across routes. */
static void
config_get_pattern(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config_route *route = obj;
	char key[ROUTES_KEY_MAX + 2], quoted[CONFIG_QUOTE_MAX];
	enum route_kind kind;
	const char *text, *why;
	char *copy;
	long other;

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
	route->line = (int)config_line(ctx, s);
	config_quote(text, quoted, sizeof(quoted));
	if (routes_pattern_key(text, key, &kind, &why) < 0) {
		config_err(ctx, s, "%s %s", quoted, why);
		return;
	}
	other = config_sni_add(ctx, (uint32_t)(route - ctx->cfg->routes), key);
	if (other == -2)
		config_err(ctx, s, "out of memory");
	else if (other >= 0)
		config_err(ctx, s, "%s duplicates routes[%ld] (line %d)", quoted, other,
		    ctx->cfg->routes[other].line);
}

/* A list of 1..MAX_ROUTES groups, each walked with config_route_keys. */
static void
config_get_routes(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	struct config *cfg = obj;
	const config_setting_t *e;
	uint32_t i, n, slots = 1;

	(void)k;
	if (!config_setting_is_list(s)) {
		config_err_type(ctx, s, "a list");
		return;
	}
	n = (uint32_t)config_setting_length(s);
	if (n == 0) {
		config_err(ctx, s, "is empty");
		return;
	}
	if (n > MAX_ROUTES)
		config_err(ctx, s, "has %u routes, more than %u", n, MAX_ROUTES);
	while (slots < 2 * n)	/* at most half full: probes stay short */
		slots <<= 1;
	cfg->routes = calloc(n, sizeof(*cfg->routes));
	ctx->sni_slot = calloc(slots, sizeof(*ctx->sni_slot));
	ctx->sni_key = calloc(n, sizeof(*ctx->sni_key));
	if (cfg->routes == NULL || ctx->sni_slot == NULL || ctx->sni_key == NULL) {
		config_err(ctx, s, "out of memory");
		return;	/* config_load() frees what was made */
	}
	ctx->sni_mask = slots - 1;
	cfg->route_count = n;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (!config_setting_is_group(e))
			config_err_type(ctx, e, "a group");
		else
			config_walk(ctx, e, config_route_keys, &cfg->routes[i]);
	}
}

/* ---- the text libconfig parses ---------------------------------------- */

/* Reads path into src; 0, or -errno with *what naming the step that failed. */
static int
config_source_read(struct config_source *src, const char *path, const char **what)
{
	struct stat st;
	size_t cap;
	ssize_t n;
	char *grown;
	int fd, err;

	*what = "cannot open";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*what = "cannot read";
	cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	src->len = 0;
	src->text = NULL;
	for (;;) {
		if (src->len + 1 >= cap || src->text == NULL) {
			if (src->text != NULL)
				cap *= 2;
			grown = realloc(src->text, cap);
			if (grown == NULL) {
				err = -ENOMEM;
				goto bad;
			}
			src->text = grown;
		}
		n = read(fd, src->text + src->len, cap - src->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto bad;
		}
		if (n == 0)
			break;
		src->len += (size_t)n;
	}
	close(fd);
	src->text[src->len] = '\0';
	src->name = path;
	return 0;
bad:
	close(fd);
	free(src->text);
	src->text = NULL;
	return err;
}

static void
config_sources_free(struct config_ctx *ctx)
{
	unsigned i;

	for (i = 0; i < ctx->src_count; i++) {
		free(ctx->src[i].text);
		free(ctx->src[i].line_off);
	}
	free(ctx->src);
	ctx->src = NULL;
	ctx->src_count = 0;
}

static int
config_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
config_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || config_is_digit(c);
}

/* What libconfig's names are made of: [A-Za-z*][-A-Za-z0-9_*]*. */
static int
config_is_word(char c)
{
	return config_is_alnum(c) || c == '_' || c == '-' || c == '*';
}

/*
 * Reports each integer literal libconfig 1.5 would wrap: one without the L
 * suffix that does not fit in an int (it reads 4294967296 as 0 and
 * 4294967298 as 2, without a word). Strings and comments are skipped the way
 * libconfig's scanner skips them. Returns how many it reported.
 */
static unsigned
config_scan_ints(struct config_ctx *ctx, const struct config_source *src)
{
	const char *p = src->text, *end = src->text + src->len, *tok;
	char number[64];
	unsigned line = 1, found = 0;
	int hex, real;
	long long v;

	while (p < end) {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			while (p < end && *p != '\n')
				p++;
		} else if (*p == '/' && p[1] == '*') {
			for (p += 2; p < end && !(p[0] == '*' && p[1] == '/'); p++)
				line += *p == '\n';
			p = p < end ? p + 2 : end;
		} else if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				line += *p == '\n';
			}
			p = p < end ? p + 1 : end;
		} else if (config_is_word(*p) && !config_is_digit(*p) && *p != '-') {
			while (p < end && config_is_word(*p))	/* a name, true, false */
				p++;
		} else if (config_is_digit(*p) || ((*p == '-' || *p == '+' || *p == '.') &&
		    config_is_digit(p[1]))) {
			tok = p++;
			hex = *tok == '0' && (*p == 'x' || *p == 'X');
			real = 0;
			while (p < end && (config_is_alnum(*p) || *p == '.' ||
			    (!hex && (*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))) {
				real |= *p == '.' || (!hex && (*p == 'e' || *p == 'E'));
				p++;
			}
			real |= *tok == '.';
			if (real || p[-1] == 'L' || (size_t)(p - tok) >= sizeof(number))
				continue;	/* floats, 64-bit integers, nonsense libconfig refuses */
			memcpy(number, tok, (size_t)(p - tok));
			number[p - tok] = '\0';
			errno = 0;
			v = strtoll(number, NULL, hex ? 16 : 10);
			if (errno == 0 && (hex ? v <= INT_MAX : v >= INT_MIN && v <= INT_MAX))
				continue;
			config_err_at(ctx, src->name, line, "", "%s does not fit in 32 bits "
			    "(libconfig 1.5 would wrap it); add L for a 64-bit integer",
			    number);
			found++;
		} else {
			p++;
		}
	}
	return found;
}

/*
 * Keeps the text of each file libconfig @included, for config_scan_ints()
 * and config_line(). A file that cannot be read now is skipped: libconfig
 * read it a moment ago, and these checks are only refinements.
 */
static void
config_sources_add_includes(struct config_ctx *ctx, const config_t *lc)
{
	struct config_source *grown;
	const char *what;
	unsigned i;

	grown = realloc(ctx->src, (1 + lc->num_filenames) * sizeof(*grown));
	if (grown == NULL)
		return;
	ctx->src = grown;
	for (i = 0; i < lc->num_filenames; i++) {
		memset(&ctx->src[ctx->src_count], 0, sizeof(ctx->src[0]));
		if (config_source_read(&ctx->src[ctx->src_count], lc->filenames[i], &what) == 0)
			ctx->src_count++;
	}
}

/* ---- loading ----------------------------------------------------------- */

int
config_load(struct config *cfg, const char *path, struct config_errors *errs)
{
	struct config_ctx ctx;
	const char *what, *nul, *p;
	unsigned line, wide;
	uint32_t i;
	config_t lc;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.errs = errs;
	ctx.path = path;
	config_init(&lc);

	ctx.src = calloc(1, sizeof(*ctx.src));
	if (ctx.src == NULL) {
		config_err_at(&ctx, path, 0, "", "out of memory");
		goto bad;
	}
	rc = config_source_read(&ctx.src[0], path, &what);
	if (rc != 0) {
		config_err_at(&ctx, path, 0, "", "%s: %s", what, strerror(-rc));
		goto bad;
	}
	ctx.src_count = 1;
	/* libconfig stops at a NUL and would ignore the rest of the file. */
	nul = memchr(ctx.src[0].text, '\0', ctx.src[0].len);
	if (nul != NULL) {
		for (line = 1, p = ctx.src[0].text; p < nul; p++)
			line += *p == '\n';
		config_err_at(&ctx, path, line, "", "has a NUL byte");
		goto bad;
	}
	/*
	 * The text read above is what libconfig parses: one read, an exact
	 * errno, and the text at hand for the checks libconfig 1.5 lacks.
	 */
	if (!config_read_string(&lc, ctx.src[0].text)) {
		config_err_at(&ctx, config_error_file(&lc) != NULL ? config_error_file(&lc)
		    : path, (unsigned)config_error_line(&lc), "", "%s",
		    config_error_text(&lc));
		goto bad;
	}
	config_sources_add_includes(&ctx, &lc);
	for (i = 0, wide = 0; i < ctx.src_count; i++)
		wide += config_scan_ints(&ctx, &ctx.src[i]);
	if (wide != 0)
		goto bad;	/* the values read would be wrong: checking them misleads */

	cfg->path = strdup(path);
	if (cfg->path == NULL) {
		config_err_at(&ctx, path, 0, "", "out of memory");
		goto bad;
	}
	config_defaults(cfg);
	config_walk(&ctx, config_root_setting(&lc), config_keys, cfg);

bad:
	if (ctx.sni_key != NULL)
		for (i = 0; i < cfg->route_count; i++)
			free(ctx.sni_key[i]);
	free(ctx.sni_key);
	free(ctx.sni_slot);
	config_sources_free(&ctx);
	config_destroy(&lc);
	if (ctx.faults == 0)
		return 0;
	config_free(cfg);
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
	for (i = 0; cfg->routes != NULL && i < cfg->route_count; i++) {
		free(cfg->routes[i].pattern);
		free(cfg->routes[i].backends);
	}
	free(cfg->routes);
	memset(cfg, 0, sizeof(*cfg));
}

void
config_errors_free(struct config_errors *errs)
{
	uint32_t i;

	for (i = 0; errs->msg != NULL && i < errs->count; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->count = 0;
}

/*
 * One string setting of path, read leniently; a copy, or NULL. *parsed
 * says whether libconfig could read the file at all.
 */
static char *
config_peek_string(const char *path, const char *setting, int *parsed)
{
	const char *text = NULL;
	char *copy = NULL;
	config_t lc;

	config_init(&lc);
	*parsed = config_read_file(&lc, path);
	if (*parsed && config_lookup_string(&lc, setting, &text) && text[0] != '\0')
		copy = strdup(text);
	config_destroy(&lc);
	return copy;
}

/*
 * pid_file = "..."; found in the text itself, for a file libconfig cannot
 * parse at all (a syntax error is exactly when -s reload must still work).
 */
static char *
config_scan_pid_file(const char *path)
{
	char line[4096], *p, *end;
	FILE *f = fopen(path, "re");
	char *found = NULL;

	if (f == NULL)
		return NULL;
	while (found == NULL && fgets(line, sizeof(line), f) != NULL) {
		p = line + strspn(line, " \t");
		if (strncmp(p, "pid_file", 8) != 0)
			continue;
		p += 8 + strspn(p + 8, " \t");
		if (*p != '=' && *p != ':')
			continue;
		p += 1 + strspn(p + 1, " \t");
		if (*p++ != '"' || (end = strchr(p, '"')) == NULL || end == p)
			continue;
		found = strndup(p, (size_t)(end - p));
	}
	fclose(f);
	return found;
}

char *
config_pid_file(const char *path)
{
	int parsed;
	char *v = config_peek_string(path, "pid_file", &parsed);

	/* Only a file libconfig cannot read is scanned: else a comment could name it. */
	return v != NULL || parsed ? v : config_scan_pid_file(path);
}

char *
config_stats_name(const char *path)
{
	int parsed;

	return config_peek_string(path, "stats.name", &parsed);
}
