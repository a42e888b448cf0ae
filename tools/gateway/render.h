/*
 * render.h -- the render core of passthrough-gateway: Kubernetes objects
 * (Gateway API and passthrough Ingresses) in, a passthrough.conf's
 * listener groups and the status the controller would set out. Pure: no
 * network, no clock (the caller passes the time), no globals; the CLI
 * (main.c) and the unit tests drive it alike.
 */
#ifndef PASSTHROUGH_GATEWAY_RENDER_H
#define PASSTHROUGH_GATEWAY_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* One message, already "FILE:LINE: what" (or "FILE: what"), for the caller to print once. */
struct gw_err {
	char msg[1024];
};

/* One Kubernetes object of the input; j is owned by the input. */
struct gw_object {
	json_t *j;
	const char *file;		/* as named on the command line (owned by the input) */
	int line;			/* where the object starts; 0: not known (JSON) */
	const char *apiversion, *kind, *ns, *name;	/* ns "" for cluster-scoped kinds */
};

struct gw_input {
	struct gw_object *objs;
	size_t n, cap;
	char **files;			/* the names the objects point into */
	size_t nfiles;
};

/* The defaults of the options (passthrough-gateway(1)). */
#define GW_CONTROLLER_NAME	"passthrough.dev/gateway-controller"
#define GW_OPTIONS_DEFAULTS \
	.gateway_class = "passthrough", .controller_name = GW_CONTROLLER_NAME, \
	.ingress_class = "passthrough", .ingress_port = 443

struct gw_options {
	const char *gateway_class;	/* "passthrough" */
	const char *controller_name;	/* GW_CONTROLLER_NAME */
	const char *ingress_class;	/* "passthrough" */
	int ingress_port;		/* 443 */
	const char *listen_address;	/* NULL: every address, IPv4 and IPv6 */
	const char *now;		/* RFC 3339 UTC, the conditions' lastTransitionTime */
};

/* One backend of a route: an "IP:PORT" or a reject share. */
struct gw_backend {
	char address[80];		/* "" when reject */
	int reject;
	long long weight;
};

/* One route of a group: an SNI pattern and its backends (at least one). */
struct gw_route {
	char *sni;
	struct gw_backend *backends;
	size_t nbackends;
	char *source;			/* "TLSRoute ns/name" or "Ingress ns/name" */
	char *via;			/* the hostname of the listener it came through; NULL: none */
	int rank_kind;			/* 0 TLSRoute, 1 Ingress: a TLSRoute wins a name */
	char *rank_time;		/* creationTimestamp, "" when not given */
};

/* One listener group: a port and its routes. */
struct gw_group {
	int port;
	struct gw_route *routes;
	size_t nroutes, cap;
};

struct gw_result {
	struct gw_group *groups;	/* sorted by port; routes sorted by sni */
	size_t ngroups;
	json_t *status;			/* {"apiVersion":"v1","kind":"List","items":[...]} */
};

/* The input's limits: no Kubernetes object comes near them. */
#define GW_FILE_BYTES_MAX	(64L << 20)	/* one input file */
#define GW_DEPTH_MAX		64		/* nesting of a YAML document */
#define GW_WEIGHT_MAX		1000000		/* passthrough's and the Gateway API's largest weight */
#define GW_LISTEN_MAX		64		/* listen addresses passthrough takes in all */
#define GW_BACKENDS_MAX		1024		/* backends of one route in passthrough */

/*
 * Reads every object of one file (YAML or JSON, told by the first
 * non-blank byte: { or [ is JSON; one object, a List with items, an array,
 * or several YAML documents) into in. Returns 0, or -1 with e set.
 */
int load_file(struct gw_input *in, const char *path, struct gw_err *e);
/* The same from a buffer; name stands for the file in messages. */
int load_buffer(struct gw_input *in, const char *name, const char *buf, size_t len,
    struct gw_err *e);
/*
 * One object already parsed (the API server's, for watch), checked as a
 * file's are and appended with a reference taken; name stands for its
 * file in messages (kept once for a run of objects of the same name).
 */
int load_json_object(struct gw_input *in, const char *name, json_t *j, struct gw_err *e);
void load_free(struct gw_input *in);

/*
 * Translates the input: 0 and *r filled (free with render_free), or -1
 * with e set (an object with a field of the wrong type, say) and *r empty.
 */
int render_run(const struct gw_input *in, const struct gw_options *o, struct gw_result *r,
    struct gw_err *e);
void render_free(struct gw_result *r);

/*
 * Writes the passthrough.conf for r: a header comment naming what it was
 * generated from (files), the base settings (text, may be NULL) and the
 * listener groups. Returns 0 or -errno of the stream.
 */
int confout_write(FILE *out, const struct gw_result *r, const struct gw_options *o,
    const char *base, char *const *files, size_t nfiles);

/*
 * The settings of the passthrough.conf at path other than listen,
 * listeners and routes, as libconfig text (malloc'd), or NULL with e set.
 */
char *base_read(const char *path, struct gw_err *e);

#endif
