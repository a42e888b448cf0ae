/*
 * config.h -- loading passthrough.conf (libconfig) into a struct config.
 *
 * The loader's rooms (config*.c, config_int.h) are the only code that
 * includes <libconfig.h>. Loading checks everything it can without side
 * effects (syntax, keys, types, ranges, addresses, patterns, duplicates)
 * and reports every fault it finds as "file:line: setting: message".
 */
#ifndef PASSTHROUGH_CONFIG_H
#define PASSTHROUGH_CONFIG_H

#include <stdint.h>
#include <string.h>

#include "acl.h"
#include "addr.h"
#include "log.h"
#include "routes.h"
#include "sha256.h"

/* One scope's allow and deny lists (the top level, a listen address, a route). */
struct config_rules {
	struct acl_cidr *allow;
	uint32_t allow_count;
	struct acl_cidr *deny;
	uint32_t deny_count;
};

/* A listen entry: "host:port", or a group with these settings. */
struct config_listen {
	struct addr addr;
	int accept_proxy;		/* a PROXY header is required, from trusted */
	struct config_rules trusted;	/* trusted = [...] is its allow list */
	struct config_rules rules;
	uint32_t group;			/* its listener group: an index in config.groups */
};

/*
 * A backend named by a host name ("app.internal:443"): the name as
 * written, without the port, and every address it resolved to (the port
 * set), sorted. The master resolves the name again (master/resolve.c) and
 * replaces addrs; backends[] keeps the first address of the load.
 */
struct config_host {
	char *name;			/* NULL: a literal address, or a reject backend */
	uint16_t port;
	struct addr *addrs;		/* [addr_count], at most MAX_BACKENDS_PER_ROUTE */
	uint32_t addr_count;
};

/*
 * An active health check (check = { ... }). As read, a number 0 is a key
 * not given; resolved (config_route.backend_checks), every field is set.
 */
struct config_check {
	uint32_t interval_ms;		/* a check starts this often */
	uint32_t timeout_ms;		/* a connect not done by then failed */
	uint32_t rise;			/* passed in a row that bring a down backend up */
	uint32_t fall;			/* failed in a row that take an up backend down */
	int proxy;			/* send_proxy as read: 1, 0, or -1 not given */
	uint32_t send_proxy;		/* resolved: enum routes_send_proxy the check sends */
	int set;			/* 1: configured (read), or checked (resolved) */
};

struct config_route {
	char *pattern;			/* as written: "*.example.org" */
	struct addr *backends;		/* [backend_count]; zero for a reject backend */
	uint32_t *weights;		/* [backend_count] */
	uint32_t *backend_flags;	/* [backend_count]: enum routes_backend_flags */
	uint32_t backend_count;
	uint32_t send_proxy;		/* enum routes_send_proxy */
	struct config_rules rules;
	char **alpn;			/* protocol names, or NULL */
	uint32_t alpn_count;
	uint32_t connect_ms, idle_ms;	/* timeouts = { ... }: 0, the global ones */
	uint32_t max_connections;	/* 0: none of its own */
	int line;
	uint32_t group;			/* its listener group: an index in config.groups */
	uint32_t balance;		/* enum routes_balance */
	struct config_host *hosts;	/* [backend_count], or NULL when no backend has a name */
	struct config_check check;	/* check = { ... } as read; set 0: none */
	struct config_check *backend_checks;	/* [backend_count]: resolved; set 0: not checked */
};

/*
 * A listener group: listeners = ( { listen; routes; allow; deny; }, ... ).
 * A file without listeners is one group of the top-level listen and routes
 * (its rules then empty: the top level's are config.rules). A group's
 * entries are contiguous in config.listens and config.routes.
 */
struct config_group {
	struct config_rules rules;	/* for its listen entries without their own */
	uint32_t listen_first, listen_count;
	uint32_t route_first, route_count;	/* route_count may be 0 */
	int line;			/* 0 for the one group of a file without listeners */
};

/* tuning.events: which event engine the workers run (master/events.h settles "auto"). */
enum config_events {
	CONFIG_EVENTS_AUTO,		/* io_uring where the workers may use it, else epoll */
	CONFIG_EVENTS_IO_URING,		/* io_uring, or the master refuses to start */
	CONFIG_EVENTS_EPOLL,
	CONFIG_EVENTS_COUNT
};

/* Their names as written in the file, [CONFIG_EVENTS_COUNT] NULL (config_tuning.c). */
extern const char *const config_events_names[];

struct config {
	char *path;
	uint32_t workers;		/* as written; 0 = one per online CPU */
	char *pid_file;			/* NULL: none (DEFAULT_PID_FILE in daemon mode) */
	char *user;			/* workers run as this user; NULL: as started */
	char *group;			/* and group; NULL: the user's primary group */
	uint32_t uid, gid;		/* resolved from user and group */
	int watch_config;		/* reload when the file changes */
	char *error_log;		/* "stderr", "syslog" or a path; NULL: by mode */
	char *access_log;		/* "stderr", "syslog", "off" or a path; NULL: off */
	char *stats_name;		/* shm name without '/'; NULL: derived from the path */
	char *stats_group;		/* group that may read the segment; NULL: root's */
	uint32_t stats_gid;		/* resolved stats_group, (uint32_t)-1 when none */
	struct addr *listen;		/* [listen_count]: each listens[i].addr */
	struct config_listen *listens;	/* every listener group's, in file order */
	uint32_t listen_count;
	struct config_rules rules;	/* the top level's allow and deny */
	struct routes_settings settings;	/* timeouts, limits, tuning, log.level, log.format */
	struct config_route *routes;
	uint32_t route_count;		/* may be 0: every client gets unrecognized_name */
	struct config_group *groups;	/* [group_count], 1 or more after a load */
	uint32_t group_count;
	uint32_t resolve_ms;		/* host names resolved again this often; 0: never */
	uint32_t events;		/* tuning.events: enum config_events */
	/*
	 * SHA-256 of the main file's bytes exactly as read for this load (the
	 * text libconfig parsed; @included files are not in it); all zero
	 * when the file could not be read.
	 */
	uint8_t sha256[SHA256_BYTES];
};

struct config_errors {
	char **msg;			/* "file:line: setting: message" */
	uint32_t count;
};

/*
 * Loads path into cfg. Returns 0, or -1 with every fault appended to errs
 * (cfg is then left empty but for cfg->sha256: what was read, refused).
 * Either way the caller frees errs.
 */
int config_load(struct config *cfg, const char *path, struct config_errors *errs);
void config_free(struct config *cfg);

/*
 * The pid_file setting of path, read leniently (the rest of the file may be
 * broken: -s reload must still reach the daemon, which then reports the
 * faults). A copy to free, or NULL when the file has none or cannot be read.
 */
char *config_pid_file(const char *path);

/* stats.name of path, read the same lenient way (for passthrough-stats -c). */
char *config_stats_name(const char *path);
void config_errors_free(struct config_errors *errs);

/*
 * One setting the loader knows, as its dotted path: "workers",
 * "timeouts.hello_ms", "routes.backends.weight" (a list's entries add no
 * part). same_as is NULL, or, for a group or list whose settings are those
 * of another one already listed, that one's path: "listeners.routes" has
 * same_as "routes", and "listeners.routes.sni" is not listed.
 */
typedef void config_keys_fn(const char *path, const char *same_as, void *arg);

/*
 * Calls fn for every setting of every table of known keys (config_keys.c),
 * a group before its members. Returns 0, or -1 when a path or the number of
 * tables outgrew the walk's room (a bug to fix there).
 */
int config_keys_list(config_keys_fn *fn, void *arg);

/* 1 when two string settings differ (NULL: not set). */
static inline int
config_string_changed(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* 1 when log.error says "stderr" explicitly: a daemon then keeps its stderr open. */
static inline int
config_logs_to_stderr(const struct config *cfg)
{
	return cfg->error_log != NULL && strcmp(cfg->error_log, "stderr") == 0;
}

#endif
