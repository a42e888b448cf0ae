/*
 * stats.h -- the statistics: a named shared-memory segment the master
 * writes and passthrough-stats reads, and one area object per worker
 * process that only that worker writes.
 *
 * The layouts are an ABI: a magic, a version, sizes and offsets in the
 * header, _Static_asserts on every struct. The segment ("/passthrough-HASH")
 * is written by the master alone: the header, `retired` (what exited
 * workers counted, folded in), one line per worker process describing it
 * (pid, slot, the identity of its area) and the route and backend entries
 * (names, in use, retired counts). Each worker counts into its own area
 * ("/passthrough-HASH.wLINE", see stats_area_name) with single-writer
 * relaxed stores: no locked instructions, no locks, no line shared with
 * another writer. Readers sum: retired + every live line's area. A worker
 * maps the segment read-only (for the names), its own area read-write, and
 * the other workers' areas read-only for leastconn and random2, nothing
 * else (master/counters.c, counters_worker_attach; worker/peers.c).
 */
#ifndef PASSTHROUGH_STATS_H
#define PASSTHROUGH_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define STATS_MAGIC		0x54535450u	/* "PTST" little-endian */
#define STATS_AREA_MAGIC	0x41535450u	/* "PTSA": a worker's area */
#define STATS_VERSION		9u		/* 2: per-worker areas; 3: PROXY and address rules;
						 * 4: rejected, route_full; 5: backend health;
						 * 6: active checks, weights, balance modes;
						 * 7: each worker's event engine;
						 * 8: heartbeats, the master's pid namespace;
						 * 9: the configuration's SHA-256 */
#define STATS_LINES		1024u		/* worker processes at once, old and new across reloads */
#define STATS_ROUTES		65536u		/* route patterns ever seen; the rest count as "(other)" */
#define STATS_BACKENDS		65536u		/* backend addresses ever seen; likewise */
#define STATS_PATTERN_MAX	256u		/* "*." + 253 + NUL, rounded */
#define STATS_ADDR_MAX		64u		/* ADDR_STRLEN */
#define STATS_MESSAGE_MAX	256u
#define STATS_NAME_MAX		48u		/* stats.name, without the leading '/' */
#define STATS_AREA_NAME_MAX	80u		/* struct stats's name[64] + ".w1023", rounded */
#define STATS_HIST_BUCKETS	24u		/* log2 buckets, the last one is +Inf */
#define STATS_CACHELINE		64u
#define STATS_OTHER		0u		/* entry 0 of routes and backends: the overflow */
/*
 * The master and each worker store their seen_ms at least this often while
 * their loop runs (its longest sleep): a reader that finds one much older
 * knows that process stopped, hung or died, without looking at its pid.
 */
#define STATS_HEARTBEAT_MS	1000u

/* Why a connection ended. The names are part of the ABI (JSON keys, labels). */
enum close_reason {
	CLOSE_NONE,
	CLOSE_NORMAL,		/* EOF both ways */
	CLOSE_HELLO_TIMEOUT,
	CLOSE_HELLO_EOF,	/* the client closed before its hello was complete */
	CLOSE_HELLO_MALFORMED,
	CLOSE_HELLO_TOO_BIG,
	CLOSE_NOT_TLS,
	CLOSE_NO_ROUTE_ALERT,
	CLOSE_CONNECT_REFUSED,	/* every backend tried refused or was unreachable */
	CLOSE_CONNECT_TIMEOUT,
	CLOSE_IDLE_TIMEOUT,
	CLOSE_CLIENT_RESET,	/* client reset, or vanished before the relay */
	CLOSE_BACKEND_RESET,
	CLOSE_LIMIT_REACHED,	/* no memory, pipes or descriptors left for it */
	CLOSE_SHUTDOWN,		/* the worker stopped */
	CLOSE_INTERNAL,		/* the ring refused an operation (logged) */
	CLOSE_PROXY_UNTRUSTED,	/* accept_proxy: the peer is not in trusted */
	CLOSE_PROXY_MISSING,	/* accept_proxy: the bytes are no PROXY header */
	CLOSE_PROXY_MALFORMED,	/* a PROXY header malformed, refused or past hello_bytes */
	CLOSE_DENIED,		/* the client is refused by allow/deny */
	CLOSE_REJECTED,		/* a reject backend's share, or every weight 0: an alert */
	CLOSE_ROUTE_FULL,	/* the route's max_connections are open: an alert */
	CLOSE_REASON_COUNT
};

const char *close_reason_str(enum close_reason reason);

/*
 * The event engine a worker runs (stats_line.engine): the values of
 * worker/engine.h's enum engine_kind, which the master asserts. The names
 * are part of the ABI (the JSON value, the Prometheus label).
 */
enum stats_engine {
	STATS_ENGINE_IO_URING,
	STATS_ENGINE_EPOLL,
	STATS_ENGINE_COUNT
};

/* "io_uring", "epoll"; "?" for a value this build does not know. */
const char *stats_engine_str(uint32_t engine);

/* Histograms: bucket i counts values <= base << i; the last counts the rest. */
enum stats_hist_kind {
	STATS_HIST_HELLO_BYTES,		/* ClientHello size, base 64 bytes */
	STATS_HIST_CONNECT_US,		/* backend connect time, base 16 us */
	STATS_HIST_DURATION_MS,		/* connection lifetime, base 1 ms */
	STATS_HIST_COUNT
};

struct stats_hist {
	_Atomic uint64_t count;
	_Atomic uint64_t sum;
	_Atomic uint64_t buckets[STATS_HIST_BUCKETS];
};

/* What a worker counts; also the shape of `retired`, the sum of exited workers. */
struct stats_counters {
	_Atomic uint64_t accepted;
	_Atomic uint64_t bytes_in;		/* client -> backend, hello included */
	_Atomic uint64_t bytes_out;		/* backend -> client */
	_Atomic uint64_t bytes_spliced;		/* moved through pipes (zero copy) */
	_Atomic uint64_t bytes_copied;		/* moved through memory (hello, fallback) */
	_Atomic uint64_t accept_errors;
	_Atomic uint64_t proxy_headers;		/* PROXY headers accepted (LOCAL too) */
	_Atomic uint64_t all_down;		/* connections sent to a route whose backends were all down */
	_Atomic uint64_t closes[CLOSE_REASON_COUNT];
	struct stats_hist hist[STATS_HIST_COUNT];
};

/*
 * A worker process's line in the segment: written by the master only,
 * before the process runs and when it retires or exits.
 */
struct stats_line {
	_Atomic uint32_t pid;			/* 0: a free line */
	uint32_t slot;
	uint64_t started_ms;			/* unix time */
	uint32_t restarts;			/* of its slot before it */
	uint32_t retiring;			/* 1: draining after a reload or quit */
	uint64_t area_ino;			/* st_ino of the area the master made for it */
	uint32_t engine;			/* enum stats_engine: what it was told to run */
	uint32_t reserved;
};

/*
 * What one route or backend counted: per worker in its area, and folded
 * (what exited workers counted) in the segment's entries, whose `active`
 * stays 0: a gauge dies with its worker. connections when a connection is
 * routed (route) or its backend connect succeeds (backend); active back
 * down when it closes; connect_failures once per connection that reached
 * no backend (route) or per failed connect attempt (backend), of which
 * connect_timeouts timed out (backends only); bytes_in and bytes_out on
 * every move of relayed bytes, the hello included. Backends only: down, a
 * gauge, 1 in a worker's area while it holds the backend down (passive
 * health), summed it is how many workers do; went_down each time one does.
 */
struct stats_entry {
	_Atomic uint64_t connections;
	_Atomic uint64_t active;
	_Atomic uint64_t bytes_in;		/* client -> backend */
	_Atomic uint64_t bytes_out;		/* backend -> client */
	_Atomic uint64_t connect_failures;
	_Atomic uint64_t connect_timeouts;
	_Atomic uint64_t down;			/* backends: 1 while this worker holds it down */
	_Atomic uint64_t went_down;		/* backends: times marked down */
};

/* A backend's state by the master's active checks (stats_backend.check_state). */
enum stats_check_state {
	STATS_CHECK_NONE,	/* not checked: passive health only */
	STATS_CHECK_UP,		/* checks pass (also before the first one ends) */
	STATS_CHECK_DOWN,	/* `fall` checks failed in a row; back after `rise` passed */
};

/* The segment's route and backend entries: the master's. */
struct stats_route {
	char pattern[STATS_PATTERN_MAX];	/* written once */
	_Atomic uint32_t in_use;		/* 1 while the current generation has it */
	uint32_t reserved;
	struct stats_entry retired;
	_Atomic uint32_t balance;		/* enum routes_balance of the current generation */
	uint32_t reserved2;
} __attribute__((aligned(STATS_CACHELINE)));

/*
 * A backend address. Besides the names and folded counts, the master
 * writes here what workers read to choose: the state of its active checks
 * (master/checks.c; a worker maps the segment read-only) and the weight
 * the current generation gives it (the largest of the routes naming it:
 * 0, draining, when every route drains it).
 */
struct stats_backend {
	char addr[STATS_ADDR_MAX];		/* "10.0.0.1:443", written once */
	_Atomic uint32_t in_use;
	uint32_t reserved;
	struct stats_entry retired;
	_Atomic uint32_t check_state;		/* enum stats_check_state */
	_Atomic uint32_t weight;		/* largest weight in the current generation */
	_Atomic uint64_t checks_ok;		/* active checks passed, ever */
	_Atomic uint64_t checks_failed;		/* ... failed (refused, timed out, unreachable) */
	_Atomic uint64_t check_changed_ms;	/* unix ms of the last up/down change; 0: none */
	_Atomic uint32_t check_rise;		/* its check's rise and fall (0: not checked) */
	_Atomic uint32_t check_fall;
} __attribute__((aligned(STATS_CACHELINE)));

struct stats_header {
	uint32_t magic;
	uint32_t version;
	uint64_t size;				/* bytes of the whole segment */
	uint32_t header_size, line_size, route_size, backend_size;
	uint32_t lines, routes, backends;	/* capacities */
	uint32_t hist_buckets;
	uint64_t lines_off, routes_off, backends_off;
	uint64_t area_size;			/* bytes of each worker's area */
	uint32_t master_pid;
	uint32_t workers;			/* slots configured */
	uint64_t started_ms;			/* unix time */
	_Atomic uint32_t route_count;		/* route entries used, "(other)" included */
	_Atomic uint32_t backend_count;
	_Atomic uint64_t generation;
	_Atomic uint64_t reloads_ok;
	_Atomic uint64_t reloads_failed;
	_Atomic uint64_t last_reload_ms;	/* unix time; 0: never */
	_Atomic uint32_t last_reload_ok;
	_Atomic uint32_t fold_seq;		/* odd while a worker is folded into retired */
	/*
	 * Liveness a reader in another pid namespace (a pod's metrics sidecar)
	 * can judge without the pid: the master stores CLOCK_MONOTONIC ms here
	 * every loop turn (at least every STATS_HEARTBEAT_MS), and
	 * the st_ino of its pid namespace, so a reader in the same one may
	 * also ask the kernel about master_pid (0: unknown).
	 */
	_Atomic uint64_t seen_ms;
	uint64_t pidns;
	char last_reload_message[STATS_MESSAGE_MAX];
	struct stats_counters retired;		/* exited workers, folded in */
	/*
	 * SHA-256 of the main configuration file's bytes as the master read
	 * them (what `sha256sum FILE` prints; @included files are not in it):
	 * config_sha256 of the configuration serving, set at start and by
	 * each reload that succeeds; last_reload_sha256 of what the last
	 * reload read, refused or not (all zero: none yet, or the file could
	 * not be read). A controller that wrote a file knows it serves when
	 * config_sha256 is its hash, and that it was refused when
	 * last_reload_sha256 is and last_reload_ok is 0 (last_reload_message
	 * says why). Written before the reloads_ok/_failed count moves: read
	 * them after it did. Version 9 put them here, last, so the older
	 * fields keep their offsets.
	 */
	uint8_t config_sha256[SHA256_BYTES];
	uint8_t last_reload_sha256[SHA256_BYTES];
} __attribute__((aligned(STATS_CACHELINE)));

/*
 * A worker's area: everything that worker writes, and nothing anyone else
 * writes once it runs. The master fills the first four words when it makes
 * the area (readers check them as a sanity mark, not as proof: the worker
 * could rewrite them).
 */
struct stats_area {
	uint32_t magic;				/* STATS_AREA_MAGIC */
	uint32_t version;
	uint32_t line;				/* its line in the segment */
	uint32_t reserved;
	_Atomic uint64_t generation;		/* route table in use */
	_Atomic uint64_t active;		/* connections open */
	_Atomic uint64_t in_hello;		/* ... still reading the ClientHello */
	_Atomic uint64_t relaying;		/* ... moving bytes */
	_Atomic uint32_t ready;			/* 1: started and accepting (workers_ready) */
	uint32_t reserved2;
	_Atomic uint64_t seen_ms;		/* CLOCK_MONOTONIC ms of its last loop turn */
	struct stats_counters c;
	/* By route entry id; cache-aligned so the busiest words sit in few lines. */
	struct stats_entry routes[STATS_ROUTES] __attribute__((aligned(STATS_CACHELINE)));
	struct stats_entry backends[STATS_BACKENDS];	/* by backend entry id */
} __attribute__((aligned(STATS_CACHELINE)));

_Static_assert(sizeof(struct stats_line) == 40, "stats_line is ABI");
_Static_assert(sizeof(struct stats_entry) == 64, "stats_entry is ABI");
_Static_assert(sizeof(struct stats_route) == 384, "stats_route is ABI");
_Static_assert(sizeof(struct stats_backend) == 192, "stats_backend is ABI");
_Static_assert(sizeof(struct stats_hist) == 8 * (2 + STATS_HIST_BUCKETS), "stats_hist is ABI");
_Static_assert(offsetof(struct stats_area, routes) % STATS_CACHELINE == 0,
    "the entry arrays start on a cache line");
_Static_assert(CLOSE_REASON_COUNT == 22, "close reasons are ABI: bump STATS_VERSION");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "lock-free 64-bit counters");

#define STATS_SIZE (sizeof(struct stats_header) + \
	(uint64_t)STATS_LINES * sizeof(struct stats_line) + \
	(uint64_t)STATS_ROUTES * sizeof(struct stats_route) + \
	(uint64_t)STATS_BACKENDS * sizeof(struct stats_backend))
#define STATS_AREA_SIZE ((uint64_t)sizeof(struct stats_area))

/* A mapped segment. */
struct stats {
	struct stats_header *hdr;
	struct stats_line *lines;
	struct stats_route *routes;
	struct stats_backend *backends;
	char name[64];				/* "/passthrough-1a2b3c4d" */
	int owner;				/* the master: unlinks at close */
	int rdonly_fd;				/* owner: an O_RDONLY descriptor, for workers */
};

/*
 * The shm name for a configuration: stats.name when set, else one derived
 * from the file's absolute path, so the tool finds it from -c FILE alone.
 */
void stats_name(char *buf, size_t size, const char *configured, const char *abs_path);

/* The name of line's area of the segment called name: "NAME.wLINE". */
void stats_area_name(char *buf, size_t size, const char *name, unsigned line);

/*
 * Master: creates the segment (replacing a stale one), mode 0640, group gid
 * when gid != (uint32_t)-1, mapped read-write, with an O_RDONLY descriptor
 * of it kept in rdonly_fd. Returns 0 or -errno.
 */
int stats_create(struct stats *s, const char *name, uint32_t gid);

/*
 * Tool: maps an existing segment read-only. Returns 0, -errno, or -EPROTO
 * when the magic or version is not ours (*why says which).
 */
int stats_open_readonly(struct stats *s, const char *name, const char **why);

/*
 * A forked worker: the owner's read-write mapping replaced by a read-only
 * one made from rdonly_fd, which is then closed; the segment is no longer
 * its to unlink. 0 or -errno (the mapping is then gone).
 */
int stats_remap_readonly(struct stats *s);

void stats_close(struct stats *s);

/*
 * Master: creates line's area of the segment name (replacing a stale one:
 * the caller holds the instance lock), mode 0640, group gid like the
 * segment, zero-filled (sparse), its magic, version and line set. Returns
 * its O_RDWR descriptor, or -errno; *ino its st_ino.
 */
int stats_area_create(const char *name, unsigned line, uint32_t gid, uint64_t *ino);

/*
 * Maps an area descriptor whole, read-write or read-only (PROT_READ from an
 * O_RDONLY descriptor: it can never be made writable). NULL on failure.
 */
struct stats_area *stats_area_map(int fd, int writable);
void stats_area_unmap(const struct stats_area *a);

/*
 * The st_ino of this process's pid namespace (/proc/self/ns/pid), 0 when
 * it cannot be read: two processes with the same non-zero value see the
 * same pids.
 */
uint64_t stats_pidns(void);

/* An O_RDONLY descriptor of the object fd is open on (via /proc/self/fd). */
int stats_reopen_readonly(int fd);

/* Single-writer add: a plain load and store, no locked instruction. */
#ifndef PASSTHROUGH_NO_COUNTERS
#define STATS_ADD(field, n) atomic_store_explicit(&(field), \
	atomic_load_explicit(&(field), memory_order_relaxed) + (n), memory_order_relaxed)
#else
/*
 * Benchmark builds only (CPPFLAGS=-DPASSTHROUGH_NO_COUNTERS, the bench's
 * pt_bare system): counting compiled out, to measure what it costs.
 */
#define STATS_ADD(field, n) ((void)sizeof(field), (void)(n))
#endif
#define STATS_SUB(field, n) STATS_ADD(field, -(uint64_t)(n))

/* Counts value into histogram h of kind (single writer). */
void stats_hist_add(struct stats_hist *h, enum stats_hist_kind kind, uint64_t value);

/* The upper bound of bucket i of a kind; UINT64_MAX for the last (+Inf). */
uint64_t stats_hist_bound(enum stats_hist_kind kind, unsigned i);

/* Adds every counter of from into into (the master folding an exited worker). */
void stats_counters_fold(struct stats_counters *into, const struct stats_counters *from);

/* Adds from's counters into into; active only when with_active (gauges are not folded). */
void stats_entry_fold(struct stats_entry *into, const struct stats_entry *from, int with_active);

#endif
