/*
 * config_int.h -- what the rooms of the config loader share, and nobody
 * else includes: the load's context, the fault messages (config_err.c),
 * the text libconfig parses (config_text.c) and the duplicate-SNI hash
 * (config_sni.c). config.h is the public face: config.c, config_peek.c.
 */
#ifndef PASSTHROUGH_CONFIG_INT_H
#define PASSTHROUGH_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "config.h"

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

/*
 * Duplicate SNI detection: open addressing over route indices, at most
 * half full so probes stay short.
 */
struct config_sni {
	uint32_t *slot;		/* route index + 1, or 0 for empty */
	uint32_t mask;
	char **key;		/* per route: its lookup key, or NULL */
	uint32_t *next;		/* per route: the next route of its pattern + 1, or 0 */
	uint32_t count;		/* routes key has room for */
};

/* One config_load(): where faults go, and what it read. */
struct config_ctx {
	struct config *cfg;
	struct config_errors *errs;
	const char *path;
	unsigned faults;	/* counted even when a message could not be kept */
	struct config_source *src;	/* [0] the main file, then its @includes */
	unsigned src_count;
	struct config_sni sni;
};

/* ---- config.c: settings as tables of known keys ------------------------- */

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
	size_t id_off;			/* group names: where the resolved gid goes */
	uint32_t min, max;		/* numbers: the range; lists: max entries */
	int flags;			/* enum config_key_flags */
	int addr_flags;			/* enum addr_flags, for address lists */
	const char *const *names;	/* enumerations: NULL-terminated, index = value */
	const struct config_key *members;	/* a group's keys, or those of a list's groups */
};

/*
 * The tables of known keys, each named here so that one key's members may
 * be another room's table, and config_keys.c may walk them all from the
 * top level's. A getter of a group or a list of groups walks k->members.
 */
extern const struct config_key config_keys[];		/* config.c: the top level */
extern const struct config_key config_route_keys[];	/* config.c: an element of routes */
extern const struct config_key config_listeners_keys[];	/* config_listeners.c */
extern const struct config_key config_backends_keys[];	/* config_backends.c: a backend group */
extern const struct config_key config_check_keys[];	/* config_check.c */
extern const struct config_key config_access_listen_keys[];	/* config_access.c: a listen group */
extern const struct config_key config_tuning_keys[];	/* config_tuning.c */


/* Frees v[0..count) (NULL entries allowed) and v itself; v may be NULL. */
void config_strings_free(char **v, uint32_t count);

/* Walks group g's members with the keys table into obj; reports unknown and missing keys. */
void config_walk(struct config_ctx *ctx, const config_setting_t *g,
    const struct config_key *keys, void *obj);

/*
 * The length of list s (or array, with array_ok), or 0 after a fault: not
 * one, or empty. More than max entries is reported and the length still
 * returned: every entry gets checked.
 */
uint32_t config_list_length(struct config_ctx *ctx, const config_setting_t *s,
    int array_ok, const char *noun, uint32_t max);

config_get_fn config_get_bool, config_get_uint;
/* One of the strings k->names (NULL-terminated); stores its index as a uint32_t. */
config_get_fn config_get_enum;

/*
 * n zeroed entries of size bytes for list s: the array is stored at
 * k->off, n at k->count_off (a uint32_t). NULL when out of memory (reported).
 */
void *config_list_alloc(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj, uint32_t n, size_t size);

/*
 * The length of a routes setting s: a list, or an empty array; 0 after a
 * fault. More than MAX_ROUTES is reported and the length still returned.
 */
uint32_t config_routes_length(struct config_ctx *ctx, const config_setting_t *s);

/*
 * The n routes of list s into cfg->routes[first..first + n) (allocated, and
 * ctx->sni made for them, by the caller), each of listener group group and
 * walked with k->members (config_route_keys).
 */
void config_routes_fill(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, uint32_t first, uint32_t n, uint32_t group);

/* ---- config_listeners.c: listener groups ------------------------------- */

/* listeners: a list of groups { listen; routes; allow; deny; }; fills cfg's listens, routes and groups. */
config_get_fn config_listeners_get;

/*
 * After the top level's walk: without listeners, listen and routes are
 * required and make the one group; with it, the top-level listen and routes
 * are faults (reported by config_listeners_get()).
 */
void config_listeners_check(struct config_ctx *ctx, const config_setting_t *root);

/* ---- config_tuning.c: the tuning group -------------------------------- */

/*
 * After the top level's walk: relay "splice_ring" with events "epoll" is
 * a fault at tuning.relay (the ring splice is an io_uring request).
 */
void config_tuning_check(struct config_ctx *ctx, const config_setting_t *root);

/* ---- config_backends.c: a route's backends ------------------------------ */

/* backends: "host:port" strings and groups { address, weight, reject }. */
config_get_fn config_backends_get;

/* ---- config_check.c: active health checks ------------------------------- */

/* check = { interval_ms; timeout_ms; rise; fall; send_proxy; }: a struct config_check at k->off. */
config_get_fn config_check_get;

/*
 * After route r (group g) was read: each backend's check resolved into
 * r->backend_checks (its own over the route's over the defaults), the
 * checked ones flagged ROUTES_BACKEND_CHECKED; faults reported.
 */
void config_check_route(struct config_ctx *ctx, const config_setting_t *g,
    struct config_route *r);

/* ---- config_access.c: listen entries and address rules ------------------ */

/* A "host:port" string at s parsed with flags into a. 0, or -1 reported (a zeroed). */
int config_addr_get(struct config_ctx *ctx, const config_setting_t *s, int flags,
    struct addr *a);

/* The address string at s is reported as a duplicate of the list entry first. */
void config_addr_duplicate(struct config_ctx *ctx, const config_setting_t *s,
    const config_setting_t *first);

/* listen: a list (or array) of "host:port" strings and groups; fills cfg->listens and cfg->listen. */
config_get_fn config_access_listen;

/*
 * The n entries of listen list s into cfg->listens[first..first + n) and
 * cfg->listen (allocated by the caller), each of listener group group (a
 * group entry walked with k->members); an address an earlier entry (of any
 * group) has is reported with both lines.
 */
void config_access_listen_fill(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, uint32_t first, uint32_t n, uint32_t group);

/* allow, deny, trusted: a list of CIDRs stored at k->off, counted at k->count_off. */
config_get_fn config_access_cidrs;

/* A scope (group g) whose allow and deny together pass ACL_ENTRIES_MAX: reported. */
void config_access_rules_check(struct config_ctx *ctx, const config_setting_t *g,
    const struct config_rules *r);

/* Frees what a scope's lists hold. */
void config_access_rules_free(struct config_rules *r);

/* ---- config_err.c: faults as "file:line: setting: message" -------------- */

/* Appends "file:line: setting: message" ("file:line: message" when setting is ""). */
void config_err_at(struct config_ctx *ctx, const char *file, unsigned line,
    const char *setting, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A fault in setting s, at its line, named by its path. */
void config_err(struct config_ctx *ctx, const config_setting_t *s,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "expected <want>, got <what s is>" at s. */
void config_err_type(struct config_ctx *ctx, const config_setting_t *s, const char *want);

/* Writes s as a message shows it: "text", with quotes, backslashes and controls escaped. */
const char *config_quote(const char *s, char *buf, size_t size);

/* "routes[1].backends[0]"; "" for the root. */
char *config_path(const config_setting_t *s, char *buf, size_t size);

/* The file s was read from, as messages name it. */
const char *config_file(const struct config_ctx *ctx, const config_setting_t *s);

/* ---- config_text.c: the text libconfig parses ---------------------------- */

/*
 * Reads ctx->path and has libconfig parse that text into lc, keeping the
 * text of every file read for config_text_line(). Refuses a NUL byte and
 * integer literals libconfig 1.5 would wrap. Returns 0, or -errno with
 * every fault reported (the settings are then not worth checking).
 */
int config_text_parse(struct config_ctx *ctx, config_t *lc);

/* The line a fault in s is reported at (see config_text.c for why not always libconfig's). */
unsigned config_text_line(struct config_ctx *ctx, const config_setting_t *s);

/* Frees the text config_text_parse() kept; tolerates a partial parse. */
void config_text_free(struct config_ctx *ctx);

/* ---- config_sni.c: routes whose sni patterns share a lookup key --------- */

/* Room for count routes. Returns 0 or -ENOMEM. */
int config_sni_init(struct config_sni *sni, uint32_t count);

/*
 * Records route index's lookup key. Returns 0; -EEXIST with *first set to
 * the index of the earlier route with the same key; or -ENOMEM.
 */
int config_sni_add(struct config_sni *sni, uint32_t index, const char *key, uint32_t *first);

/*
 * After route index (group g) was walked: its pattern joins the routes of
 * the same pattern before it, or a clash is reported (neither has alpn, or
 * both list one protocol name).
 */
void config_sni_check(struct config_ctx *ctx, const config_setting_t *g, uint32_t index);

/* Protocol names the ALPN extension carries, printable and one token each. */
#define CONFIG_ALPN_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/+:~"

/* A route's alpn: a list of protocol names. */
config_get_fn config_sni_alpn;

/* Frees what config_sni_init() and config_sni_add() made; tolerates a failed init. */
void config_sni_free(struct config_sni *sni);

#endif
