/*
 * routes.h -- the route table image: compiled by the master, read by workers.
 *
 * An image is one flat, position-independent block (offsets, never
 * pointers), so the master can write it into shared memory and workers can
 * read it wherever they mapped it. Lookups are case-insensitive and ignore
 * one trailing dot: exact names by hash, then "*.suffix" wildcards from the
 * most specific suffix to the least, then the default route "*".
 *
 * Keys are stored lower-case: an exact name as itself ("app.example.com"),
 * a wildcard "*.example.org" as its suffix with the dot (".example.org"),
 * so one hash table holds both and the two kinds can never collide.
 */
#ifndef PASSTHROUGH_ROUTES_H
#define PASSTHROUGH_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "addr.h"

#define ROUTES_MAGIC	0x52545450u	/* "PTTR" little-endian */
#define ROUTES_VERSION	7u
#define ROUTES_NONE	UINT32_MAX	/* no route / end of a bucket chain */
#define ROUTES_KEY_MAX	253u		/* longest DNS name without the trailing dot */
#define ROUTES_ALPN_NAMES_MAX	16u	/* protocol names a route's alpn lists */
#define ROUTES_ALPN_NAME_MAX	255u	/* RFC 7301: a name is 1..255 bytes */

enum route_kind {
	ROUTE_EXACT,
	ROUTE_WILDCARD,
	ROUTE_DEFAULT,
};

/* How a worker moves relayed bytes (tuning.relay); the benchmark picks the default. */
enum relay_method {
	RELAY_SPLICE,		/* "splice": inline non-blocking splice(2) after a readiness poll */
	RELAY_SPLICE_RING,	/* "splice_ring": IORING_OP_SPLICE, executed by io-wq */
	RELAY_ADAPTIVE,		/* "adaptive": copy small exchanges, splice once a direction streams */
	RELAY_KERNEL,		/* "kernel": a BPF sockhash redirects in the kernel (master/kernelrelay.h) */
	RELAY_METHOD_COUNT
};

/* Settings the workers need for each new connection; part of a generation. */
#define ROUTES_ACCESS_MAX 1024	/* log.access: "off", "stderr", "syslog" or a path, NUL included */

struct routes_settings {
	uint32_t hello_ms;
	uint32_t connect_ms;
	uint32_t idle_ms;
	uint32_t hello_bytes;
	uint32_t max_connections;	/* for the whole proxy, all workers */
	uint32_t pipe_bytes;
	uint32_t relay;			/* enum relay_method */
	uint32_t drain_ms;		/* graceful stop: how long open connections may finish */
	/* log: level and format from the file, the destinations filled in when published */
	uint32_t log_level;		/* enum log_level */
	uint32_t access_format;		/* enum access_format */
	char access[ROUTES_ACCESS_MAX];	/* "" is off */
	char error_log[ROUTES_ACCESS_MAX];	/* where the master logs: "stderr", "syslog", a path */
};

/* What a route sends a backend before the client's bytes (send_proxy). */
enum routes_send_proxy {
	ROUTES_PROXY_NONE,
	ROUTES_PROXY_V1,
	ROUTES_PROXY_V2,
};

enum routes_listen_flags {
	ROUTES_ACCEPT_PROXY = 1 << 0,	/* a PROXY header is required, from trusted */
	ROUTES_GROUP_RULES = 1 << 1,	/* acl_off holds its listener group's rules (logs say so) */
};

/*
 * A listen address's settings. Workers find theirs by address: a worker
 * keeps the sockets it was started with while generations come and go.
 * Offsets of address rules (struct acl images) are from the image start,
 * 0 when there are none.
 */
struct routes_listen {
	struct addr addr;
	uint32_t flags;		/* enum routes_listen_flags */
	uint32_t trusted_off;	/* who may send a PROXY header */
	uint32_t acl_off;	/* allow/deny at accept: its own, else its group's, else the top level's */
	uint32_t group;		/* its listener group: the routes its clients are looked up in */
};

#define ROUTES_WEIGHT_MAX	1000000u	/* the Gateway API spreads weights over endpoints */

enum routes_backend_flags {
	ROUTES_BACKEND_REJECT = 1 << 0,	/* no address: its share of clients gets an alert */
	ROUTES_BACKEND_CHECKED = 1 << 1,	/* actively checked: the master's state counts */
};

/* How a route chooses among its backends (balance). */
enum routes_balance {
	ROUTES_BALANCE_ROUNDROBIN,	/* smooth weighted round robin, per worker */
	ROUTES_BALANCE_LEASTCONN,	/* fewest active over all workers, per weight */
	ROUTES_BALANCE_RANDOM2,		/* the less loaded of two weighted random picks */
	ROUTES_BALANCE_COUNT
};

struct routes_backend {
	struct addr addr;	/* zero for a reject backend */
	uint32_t stats_id;	/* its entry in the statistics segment's backends */
	uint32_t weight;	/* 0..ROUTES_WEIGHT_MAX; 0: drained, no new connections */
	uint32_t flags;		/* enum routes_backend_flags */
};

struct routes_route {
	uint32_t key_off;	/* offset of the lower-case key from the image start */
	uint16_t key_len;
	uint8_t kind;		/* enum route_kind */
	uint8_t send_proxy;	/* enum routes_send_proxy */
	uint32_t hash;
	uint32_t next;		/* next route index in the same bucket, or ROUTES_NONE */
	uint32_t backend_first;	/* index into the backend array */
	uint32_t backend_count;
	uint32_t id;		/* position of the route in the configuration */
	uint32_t stats_id;	/* its entry in the statistics segment's routes */
	uint32_t acl_off;	/* the route's allow/deny (after the hello), or 0 */
	uint32_t alt;		/* the next route of the same pattern (by ALPN), or ROUTES_NONE */
	uint32_t alpn_off;	/* its alpn names in wire form, from the image start */
	uint16_t alpn_len;	/* bytes there; 0: none, the pattern's route for other clients */
	uint8_t balance;	/* enum routes_balance */
	uint8_t reserved;
	uint32_t connect_ms;	/* 0: the global timeouts.connect_ms */
	uint32_t idle_ms;	/* 0: the global timeouts.idle_ms */
	uint32_t max_connections;	/* over all workers; 0: no limit of its own */
	uint32_t group;		/* its listener group; part of its key */
};

struct routes_image {
	uint32_t magic;
	uint32_t version;
	uint64_t generation;
	uint64_t size;		/* bytes of the whole image, this header included */
	uint32_t seed;		/* hash seed, picked by the master per image */
	uint32_t route_count;
	uint32_t backend_count;
	uint32_t bucket_count;	/* a power of two */
	uint32_t default_route;	/* group 0's default: index, or ROUTES_NONE */
	uint32_t routes_off;	/* struct routes_route[route_count] */
	uint32_t backends_off;	/* struct routes_backend[backend_count] */
	uint32_t buckets_off;	/* uint32_t[bucket_count]: first route index or ROUTES_NONE */
	uint32_t strings_off;	/* keys, back to back, not NUL-terminated */
	uint32_t listen_count;
	uint32_t listens_off;	/* struct routes_listen[listen_count] */
	uint32_t acl_off;	/* the top level's allow/deny, or 0 */
	struct routes_settings settings;
	uint32_t group_count;	/* listener groups, 1..MAX_LISTEN */
	uint32_t defaults_off;	/* uint32_t[group_count]: each group's default route or ROUTES_NONE */
};

/* One scope's allow and deny lists, as parsed (acl_cidr_parse). */
struct routes_rules {
	const struct acl_cidr *allow;
	uint32_t allow_count;
	const struct acl_cidr *deny;
	uint32_t deny_count;
};

/* What the master compiles from: one entry per listen address, */
struct listen_spec {
	struct addr addr;
	uint32_t flags;			/* enum routes_listen_flags */
	struct routes_rules trusted;	/* with ROUTES_ACCEPT_PROXY: not empty */
	struct routes_rules rules;	/* empty: the top level's decide */
	uint32_t group;			/* its listener group, < routes_access.group_count */
};

/* the listen addresses and the top level's rules (NULL: none at all), */
struct routes_access {
	const struct listen_spec *listens;
	uint32_t listen_count;
	struct routes_rules rules;
	uint32_t group_count;		/* listener groups; 0 means 1 */
};

/* and one entry per configured route. */
struct route_spec {
	const char *pattern;		/* "app.example.com", "*.example.org", "*" */
	const struct addr *backends;
	uint32_t backend_count;
	uint32_t stats_id;		/* 0 when not counted per route */
	const uint32_t *backend_stats_ids;	/* [backend_count], or NULL (all 0) */
	const uint32_t *weights;	/* [backend_count], or NULL (all 1) */
	const uint32_t *backend_flags;	/* [backend_count], or NULL (all 0) */
	uint32_t send_proxy;		/* enum routes_send_proxy */
	struct routes_rules rules;
	const char *const *alpn;	/* protocol names this route takes, or NULL */
	uint32_t alpn_count;		/* 0..ROUTES_ALPN_NAMES_MAX */
	uint32_t connect_ms, idle_ms;	/* 0: the global ones */
	uint32_t max_connections;	/* 0: none of its own */
	uint32_t balance;		/* enum routes_balance */
	/*
	 * The master's, not the image's: [backend_count], the index in its
	 * configured route's backends each one came from (a host name gives
	 * one backend per address it resolves to); NULL: the same index.
	 */
	const uint32_t *backend_src;
	uint32_t group;			/* its listener group, < routes_access.group_count */
};

/*
 * Checks a configured pattern and writes its lookup key (lower case, no
 * trailing dot; ".suffix" for "*.suffix"; "" for "*") into key, which holds
 * ROUTES_KEY_MAX + 2 bytes. Returns the key length, or -EINVAL with *why
 * naming the fault ("has '*' other than as the whole first label").
 */
int routes_pattern_key(const char *pattern, char *key, enum route_kind *kind,
    const char **why);

/*
 * Bytes the image of these routes needs (exact, a multiple of 8). Meant for
 * valid, unique patterns (the config loader checked them with
 * routes_pattern_key()); otherwise the number is only indicative and
 * routes_image_build() refuses.
 */
size_t routes_image_size(const struct route_spec *specs, uint32_t count,
    const struct routes_access *access);

/*
 * Writes the image into dst, which holds size >= routes_image_size() bytes;
 * writes no byte past routes_image_size(). Route i gets id i. Returns 0;
 * -EINVAL when a pattern is invalid or duplicated within its listener group
 * (also by case or trailing dot, or a second "*") by routes that do not
 * differ by alpn (neither has
 * one, or both list one name), an alpn list routes_alpn_size() refuses, a
 * route has no backends or more than
 * MAX_BACKENDS_PER_ROUTE, or count > MAX_ROUTES; -E2BIG when the image would
 * pass 4 GiB (offsets are 32 bits); -ENOSPC when size is too small. Address
 * rules acl_build() refuses, more than MAX_LISTEN listen addresses or a
 * listen address twice are -EINVAL too, and so are a route or listen
 * address whose group is not below access->group_count, or more than
 * MAX_LISTEN groups. On an error dst holds no usable image. access and
 * settings may be NULL (none; all zero; one group).
 */
int routes_image_build(void *dst, size_t size, const struct route_spec *specs,
    uint32_t count, const struct routes_access *access,
    const struct routes_settings *settings,
    uint64_t generation, uint32_t seed);

/*
 * routes_lookup_alpn() among the routes of listener group group only (the
 * group of the listen address the client came in on: routes_listen.group).
 * Group 0 is the only one of a file without listeners. NULL when group is
 * not below img->group_count. In routes_lookup.c, as the two below.
 */
const struct routes_route *routes_lookup_group(const struct routes_image *img,
    uint32_t group, const uint8_t *name, size_t len, const uint8_t *alpn, size_t alpn_len);

/*
 * The route for an SNI name of len bytes, any case, one trailing dot
 * ignored (NULL/0: no SNI, the default), and a client's ALPN list (wire
 * form, NULL/0: none). Patterns in order: the exact name, then wildcards
 * from the longest suffix, then the default. Several routes may share a
 * pattern when they differ by alpn: the first (in configuration order)
 * whose alpn holds a protocol the client offered wins, else the one with
 * no alpn; when neither exists the next pattern is tried. A name longer
 * than ROUTES_KEY_MAX or with an empty label matches only the default.
 * Returns NULL when nothing matches. No allocation, no system call.
 * Listener group 0's routes only: routes_lookup_group(img, 0, ...).
 */
const struct routes_route *routes_lookup_alpn(const struct routes_image *img,
    const uint8_t *name, size_t len, const uint8_t *alpn, size_t alpn_len);

/* routes_lookup_alpn() for a client that offered no ALPN. */
static inline const struct routes_route *
routes_lookup(const struct routes_image *img, const uint8_t *name, size_t len)
{
	return routes_lookup_alpn(img, name, len, NULL, 0);
}

/* ---- routes_alpn.c: a route's protocol names in wire form --------------- */

/*
 * *size = the bytes count names take in wire form (1 + length each).
 * 0, or -EINVAL when there are more than ROUTES_ALPN_NAMES_MAX or a name
 * is empty or longer than ROUTES_ALPN_NAME_MAX.
 */
int routes_alpn_size(const char *const *names, uint32_t count, size_t *size);
/* Writes names in wire form into out (routes_alpn_size() bytes). */
void routes_alpn_write(uint8_t *out, const char *const *names, uint32_t count);
/*
 * The first protocol of offered (a client's list, wire form) that list
 * (wire form) holds: a pointer into offered and its length in *len; NULL
 * (*len 0) when none. A torn list is read up to the tear.
 */
const uint8_t *routes_alpn_choose(const uint8_t *list, size_t list_len,
    const uint8_t *offered, size_t offered_len, size_t *len);

/* Route r's alpn list in img, or NULL with alpn_len 0. */
static inline const uint8_t *
routes_alpn(const struct routes_image *img, const struct routes_route *r)
{
	return r->alpn_len == 0 ? NULL : (const uint8_t *)img + r->alpn_off;
}

static inline const struct routes_backend *
routes_backends(const struct routes_image *img, const struct routes_route *r)
{
	return (const struct routes_backend *)((const char *)img +
	    img->backends_off) + r->backend_first;
}

static inline const struct routes_route *
routes_at(const struct routes_image *img, uint32_t index)
{
	return (const struct routes_route *)((const char *)img +
	    img->routes_off) + index;
}

/* The address rules at offset off (0: none, NULL: everyone passes). */
static inline const struct acl *
routes_acl(const struct routes_image *img, uint32_t off)
{
	return off == 0 ? NULL : (const struct acl *)(const void *)((const char *)img + off);
}

/* The settings of listen address a, or NULL when the image has none for it. */
const struct routes_listen *routes_listen_find(const struct routes_image *img,
    const struct addr *a);

#endif
