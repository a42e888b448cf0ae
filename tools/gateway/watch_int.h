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
#define WATCH_PASSTHROUGH		"passthrough"	/* looked up in PATH */
/* How long passthrough -t or -s reload may take: -s reload waits for the master's answer. */
#define WATCH_COMMAND_TIMEOUT_MS	30000
/* The loop's longest sleep: a SIGTERM's flag is seen within it. */
#define WATCH_TICK_MS			200
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
	const char *stats;		/* segment name; NULL: the config's, as passthrough-stats finds it */
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
/* Every object held, in a fixed order (kind, then ns/name), into in. 0 or -1 with e set. */
int watch_store_input(const struct watch_store *s, struct gw_input *in, struct gw_err *e);

/* One render: the config's bytes, its status List, what it holds (for the log). */
struct watch_render {
	char *text;
	size_t len;
	json_t *status;			/* {"kind": "List", "items": [...]} */
	size_t listeners, routes;
	uint8_t sha256[SHA256_BYTES];
};

/*
 * Renders the store with o (o->now the conditions' time) and base (a
 * passthrough.conf's other settings, or NULL). With nothing to serve (no
 * Gateway, no passthrough Ingress) the config has one listener group on
 * o->ingress_port without routes: passthrough refuses an empty listeners
 * list, and this one starts and answers every name with an alert. 0 or -1
 * with e set; free with watch_render_free.
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
	WATCH_SERVED_REFUSED,		/* its reload failed (after failed_before): message says why */
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
/* The segment name for opts: --stats, else the config's stats.name, else its path's. */
void watch_stats_name(const struct watch_options *wo, char *buf, size_t size);

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

/* The controller: runs until SIGTERM or SIGINT. Returns the exit status (0, or 1: cannot start). */
int watch_main(const struct watch_options *wo);

#endif
