/*
 * watch_int.h -- passthrough-gateway watch, the controller (watch.c): the
 * objects it holds, the render of them into passthrough.conf, the write
 * that passthrough -t must accept first, the reload, the outcome read from
 * the statistics segment, and the status patches. The steps that need no
 * API server are here for the unit tests; watch_main is the loop, and
 * all main.c needs. (Not "watch.h": master/watch.h is the daemon's
 * watch_config, and the unit tests see both directories.)
 */
#ifndef PASSTHROUGH_GATEWAY_WATCH_INT_H
#define PASSTHROUGH_GATEWAY_WATCH_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kube.h"
#include "render.h"
#include "sha256.h"

/* The kinds watched, as indexes into watch_kinds. */
enum watch_kind {
	WATCH_GATEWAYCLASS,
	WATCH_GATEWAY,
	WATCH_TLSROUTE,
	WATCH_REFERENCEGRANT,
	WATCH_SERVICE,
	WATCH_ENDPOINTSLICE,
	WATCH_INGRESS,
	WATCH_KINDS
};

extern const struct kube_kind watch_kinds[WATCH_KINDS];

/* The defaults of watch's options (passthrough-gateway(1)). */
#define WATCH_DEBOUNCE_MS		100	/* events closer than this make one render */
#define WATCH_PROGRAMMED_TIMEOUT_S	10	/* a written config not serving by then: Pending */
/* Changes that keep coming render at the latest this many debounces after the first. */
#define WATCH_SETTLE_MAX		10
/* A write (a full disk, say) or a status patch that failed is tried again after this, doubling. */
#define WATCH_RETRY_MS			1000
#define WATCH_RETRY_MAX_MS		60000
#define WATCH_PASSTHROUGH		"passthrough"	/* looked up in PATH */
/* How long passthrough -t or -s reload may take: -s reload waits for the master's answer. */
#define WATCH_COMMAND_TIMEOUT_MS	30000
/* The loop's longest sleep: a SIGTERM's flag is seen within it. */
#define WATCH_TICK_MS			200
/* Pending or refused: how often the segment is read again for a late answer. */
#define WATCH_RECHECK_MS		1000
/* What is kept of a command's output for the log and status (a condition's message fits). */
#define WATCH_OUTPUT_MAX		1024
/* The name standing for the objects' "file" in messages and the config's header. */
#define WATCH_SOURCE			"kubernetes"

enum watch_reload {
	WATCH_RELOAD_WATCH,		/* the daemon's watch_config sees the rename */
	WATCH_RELOAD_SIGNAL,		/* passthrough -s reload -c FILE after each write */
};

struct watch_options {
	const char *config;		/* --config: the passthrough.conf written */
	const char *kubeconfig;		/* NULL: in cluster */
	const char *context;
	const char *sa_dir;		/* NULL: KUBE_SERVICEACCOUNT_DIR */
	const char *base;		/* --base FILE, or NULL */
	enum watch_reload reload;
	const char *passthrough;	/* the daemon's binary */
	const char *stats;		/* segment name; NULL: the config's (passthrough-stats') */
	int debounce_ms;
	int programmed_timeout_s;
	struct gw_options o;		/* o.now is set at each render */
};

/* The objects held: per kind, a JSON object from "ns/name" to the object (a reference). */
struct watch_store {
	json_t *kinds[WATCH_KINDS];
};

int watch_store_init(struct watch_store *s);
void watch_store_free(struct watch_store *s);
/* A list answer: items (borrowed) replace every object of kind. 0 or -1 (out of memory). */
int watch_store_relist(struct watch_store *s, size_t kind, json_t *items);
/* A watch event: added or modified sets, deleted removes. 0 or -1. */
int watch_store_event(struct watch_store *s, size_t kind, enum kube_event ev, json_t *obj);
/* The object of kind ns/name (ns "" for cluster-scoped kinds), borrowed, or NULL. */
json_t *watch_store_get(const struct watch_store *s, size_t kind, const char *ns,
    const char *name);
/*
 * Every object held, in a fixed order (kind, then ns/name), into in, but
 * those whose index in that order skip names; each is its own file
 * "kubernetes#INDEX" in the render's messages. 0 or -1 with e set.
 */
int watch_store_input(const struct watch_store *s, const size_t *skip, size_t nskip,
    struct gw_input *in, struct gw_err *e);

/* Objects the render refuses (a field of the wrong type) that one render leaves out. */
#define WATCH_SKIP_MAX			16

/* One render: the config's bytes, its status List, what it holds (for the log). */
struct watch_render {
	char *text;
	size_t len;
	json_t *status;			/* {"kind": "List", "items": [...]} */
	size_t listeners, routes;
	uint8_t sha256[SHA256_BYTES];
	char left_out[WATCH_SKIP_MAX][sizeof(struct gw_err)];	/* each one's message */
	size_t nleft_out;
};

/*
 * Renders the store with o (o->now the conditions' time) and base (a
 * passthrough.conf's other settings, or NULL). With nothing to serve (no
 * Gateway, no passthrough Ingress) render_run gives one listener group on
 * o->ingress_port without routes: passthrough refuses an empty listeners
 * list, and this one starts and answers every name with an alert. An
 * object render_run refuses is left out, its message in left_out (up to
 * WATCH_SKIP_MAX of them; past that, or when no object is to blame, the
 * render fails). 0 or -1 with e set; free with watch_render_free.
 */
int watch_render_run(const struct watch_store *s, const struct gw_options *o, const char *base,
    struct watch_render *out, struct gw_err *e);
void watch_render_free(struct watch_render *r);

enum watch_write_result {
	WATCH_WRITE_SAME,		/* the file holds these bytes already: nothing done */
	WATCH_WRITE_DONE,		/* checked by -t, written, renamed into place */
	WATCH_WRITE_REFUSED,		/* passthrough -t refused it: the file is as it was */
	WATCH_WRITE_FAILED,		/* a system call failed or -t could not run: likewise */
};

/*
 * Writes text to path atomically when it differs from the file's bytes: a
 * temporary file in the same directory, `passthrough -t -c TMP`, fsync,
 * rename, fsync of the directory. why (WATCH_OUTPUT_MAX bytes) gets -t's
 * output (the temporary name replaced by path) or the failure.
 */
enum watch_write_result watch_write(const char *path, const char *passthrough, const char *text,
    size_t len, char *why, size_t whysize);

/*
 * Runs argv (argv[0] looked up in PATH) with stdin from /dev/null, its
 * stdout and stderr kept in out (NUL-terminated, cut at size - 1, the
 * trailing newline removed), killed after timeout_ms. Returns its exit
 * status (0 .. 255), or -errno when it could not run, died of a signal
 * (-EINTR) or timed out (-ETIMEDOUT).
 */
int watch_command(const char *const argv[], int timeout_ms, char *out, size_t size);

/* What the statistics segment says of the config with a given SHA-256. */
enum watch_served {
	WATCH_SERVED_UNKNOWN,		/* not yet: no segment, or neither hash is it */
	WATCH_SERVED_YES,		/* config_sha256 is it: passthrough serves it */
	WATCH_SERVED_REFUSED,		/* its reload failed (after failed_before): message */
};

/*
 * Reads the segment name: config_sha256 equal to sha256 is YES
 * (*generation set); a failed reload count past failed_before with
 * last_reload_sha256 equal and last_reload_ok 0 is REFUSED (message, of
 * size bytes, gets last_reload_message); anything else (no segment
 * either) UNKNOWN.
 */
enum watch_served watch_served(const char *name, const uint8_t sha256[SHA256_BYTES],
    uint64_t failed_before, uint64_t *generation, char *message, size_t size);
/* The segment's reloads_failed count now (0 without a segment). */
uint64_t watch_reloads_failed(const char *name);
/*
 * The segment name for wo: --stats, else the stats.name of the config's
 * text (text[0..len); NULL: the file's), else the name of its path.
 */
void watch_stats_name(const struct watch_options *wo, const char *text, size_t len, char *buf,
    size_t size);

/* What the Gateways' Programmed conditions say, from the outcome. */
struct watch_programmed {
	int ok;				/* 1: True */
	const char *reason;		/* "Programmed", "Invalid", "Pending" */
	const char *message;
};

/*
 * The merge patch ({"status": {...}}) that gives the object current (from
 * the store; NULL: not held) the status of item (an item of the render's
 * status List; borrowed): a Gateway's Programmed conditions that the
 * render set True (gateway-level and each listener's) take p's verdict; a
 * condition whose type and status the object has already keeps its
 * lastTransitionTime; a TLSRoute's status.parents of other controllers
 * (controllerName not controller) are kept, ours replaced. NULL when the
 * object's status already equals it (lastTransitionTime aside), or
 * memory ran out.
 */
json_t *watch_status_patch(const json_t *item, const json_t *current, const char *controller,
    const struct watch_programmed *p);

/*
 * A TLSRoute that still has a status.parents entry of controller: an item
 * with no parents of ours (for watch_status_patch, which keeps the
 * others'), for a route the render has no status for any more (it names
 * none of our Gateways now). NULL when it has none of ours.
 */
json_t *watch_status_orphan(const json_t *route, const char *controller);

/*
 * The controller's state, fed by the client's callbacks (watch_callbacks,
 * arg the struct watch) and turned by the loop; the status goes through
 * patch (kube_patch_status in watch_main; a unit test's recorder), which
 * returns the HTTP status or -1 with e set.
 */
typedef int (*watch_patch_fn)(void *arg, size_t kind, const char *ns, const char *name,
    const char *body, struct gw_err *e);
struct watch;

extern const struct kube_callbacks watch_callbacks;

/* A controller for wo (kept by the caller), base (malloc'd, taken; NULL: none). NULL: no memory. */
struct watch *watch_new(const struct watch_options *wo, char *base, watch_patch_fn patch,
    void *arg);
void watch_free(struct watch *w);
/*
 * One turn of the loop, after the client's poll: the render when its
 * debounce ended (and synced: every kind listed), the write, the reload,
 * the outcome read, the status patched.
 */
void watch_turn(struct watch *w, int synced);
/* How long the client's poll may wait: until the debounce ends, at most WATCH_TICK_MS. */
int watch_timeout(const struct watch *w, int synced);

/* The controller: runs until SIGTERM or SIGINT. Returns the exit status (0, or 1: cannot start). */
int watch_main(const struct watch_options *wo);

#endif
