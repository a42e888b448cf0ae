/*
 * render_int.h -- what the render core's files share among themselves
 * (not the CLI's business): messages, typed field reads, host names,
 * backend resolution, the result's groups and the status conditions.
 */
#ifndef PASSTHROUGH_GATEWAY_RENDER_INT_H
#define PASSTHROUGH_GATEWAY_RENDER_INT_H

#include "render.h"

/* The hidden key holding a YAML mapping's line: no Kubernetes field name has a space. */
#define YAMLDOC_LINE_KEY	" line"

/*
 * The input's objects by key, so that resolving a reference costs one
 * lookup, not a pass over every object (a cluster's thousands of routes
 * each name a Service): LOAD_BY_NAME "kind/ns/name", LOAD_BY_SERVICE the
 * EndpointSlices of Service ns/name (their kubernetes.io/service-name
 * label), LOAD_BY_NS "kind/ns/" every object of kind in ns. Each key
 * holds the positions (in->objs) in input order; keys are not unique to
 * one identity (a name may hold a '/'), so callers compare the fields.
 */
enum load_by {
	LOAD_BY_NAME,
	LOAD_BY_SERVICE,
	LOAD_BY_NS,
};
/* The positions under a key (an array of integers), or NULL when none. */
const json_t *load_index(const struct gw_input *in, enum load_by by, const char *kind,
    const char *ns, const char *name);

/*
 * Reads the whole file at path, of at most max bytes, NUL-terminated, into
 * *out (malloc'd) and *len; 0, or -1 with e naming the file.
 */
int load_read(const char *path, long max, char **out, size_t *len, struct gw_err *e);

/* Sets e to "file:line: what" ("file: what" when line is 0, "what" when file is NULL); returns -1. */
int gw_fail(struct gw_err *e, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The line a YAML mapping started on, else def. */
int gw_line(const json_t *obj, int def);

/* Called with each YAML document's root (borrowed); 0 goes on, -1 stops. */
typedef int (*yamldoc_each)(void *ctx, json_t *root, int line, struct gw_err *e);
int yamldoc_parse(const char *buf, size_t len, const char *name, yamldoc_each each, void *ctx,
    struct gw_err *e);

/*
 * Typed reads of parent[key] of object o, for messages "FILE:LINE: KIND
 * NS/NAME: PATH.KEY: not a string". Absent (or null): *out NULL / the
 * default and 0; present with the wrong type or out of range: -1.
 */
int field_str(const struct gw_object *o, const json_t *parent, const char *path,
    const char *key, const char **out, struct gw_err *e);
int field_int(const struct gw_object *o, const json_t *parent, const char *path,
    const char *key, long long min, long long max, long long def, long long *out,
    struct gw_err *e);
int field_obj(const struct gw_object *o, const json_t *parent, const char *path,
    const char *key, json_t **out, struct gw_err *e);
int field_arr(const struct gw_object *o, const json_t *parent, const char *path,
    const char *key, json_t **out, struct gw_err *e);
/* An error about o at parent (its line when known). */
int field_fail(const struct gw_object *o, const json_t *parent, struct gw_err *e,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Host names (hostname.c): a Gateway API Hostname, exact or "*.suffix". */
int hostname_valid(const char *h);
#define HOSTNAME_BUF	260	/* "*.", 253 bytes of name, NUL */
/*
 * The names a route's hostname r serves on a listener of hostname l (NULL:
 * any): r itself, l (the narrower of the two), or none. Writes it into out
 * (HOSTNAME_BUF bytes) and returns 1, or returns 0.
 */
int hostname_intersect(const char *r, const char *l, char *out);
/* Is a more specific than b (exact over wildcard, longer suffix over shorter, anything over NULL)? */
int hostname_more_specific(const char *a, const char *b);

/* Backends (backend.c). One backendRef's outcome. */
enum backend_outcome {
	BACKEND_RESOLVED,		/* endpoints found (perhaps none ready) */
	BACKEND_NOT_FOUND,		/* no such Service, or no such port */
	BACKEND_NOT_PERMITTED,		/* another namespace without a ReferenceGrant */
	BACKEND_INVALID_KIND,		/* not a core Service */
};

/* What one reference resolved to: its endpoints "IP:PORT" (none: its share is rejected). */
struct backend_set {
	char (*addrs)[80];
	size_t n;
	long long weight;
	enum backend_outcome outcome;
	char why[256];
};

/*
 * Resolves the Service svc_ns/svc_name's port: by number (port_name NULL)
 * or by name, to its ready EndpointSlice endpoints, else its ClusterIP.
 * Fills *b (b->addrs malloc'd); -1 only on malformed input (e set).
 */
int backend_service(const struct gw_input *in, const char *svc_ns, const char *svc_name,
    long long port, const char *port_name, struct backend_set *b, struct gw_err *e);
/* May a from_kind in from_ns refer to the Service to_ns/to_name (a ReferenceGrant in to_ns)? */
int backend_ref_granted(const struct gw_input *in, const char *from_group, const char *from_kind,
    const char *from_ns, const char *to_ns, const char *to_name, struct gw_err *e);
/*
 * The backends of one route from its references' sets: each set's weight
 * spread over its endpoints in proportion (a set with none is one reject
 * share), equal addresses merged. Returns 0 or -ENOMEM.
 */
int backend_spread(const struct backend_set *sets, size_t n, struct gw_backend **out,
    size_t *nout);
void backend_set_free(struct backend_set *b);

/* The result's groups (render.c). Adds a route to the group of port, keeping one per name. */
int render_add_route(struct gw_result *r, int port, const char *sni, struct gw_backend *b,
    size_t nb, const char *source, const char *via, int rank_kind, const char *rank_time);
/* A group for port, made when missing; NULL when out of memory. */
struct gw_group *render_group(struct gw_result *r, int port);

/* Status (status.c): a condition {type, status, reason, message, observedGeneration, lastTransitionTime}. */
json_t *status_condition(const char *type, int ok, const char *reason, const char *message,
    long long generation, const char *now);
/* An item of the status List for o: apiVersion, kind, metadata {name, namespace, generation}. */
json_t *status_item(const struct gw_object *o, json_t *status);
/* o's metadata.generation, or 1. */
long long status_generation(const struct gw_object *o);
/* A copy of j without the hidden line keys. */
json_t *status_copy(const json_t *j);

/* The Gateway API's group. */
#define GW_GROUP	"gateway.networking.k8s.io"

/* Gateway listeners (gateway.c), for the routes to attach to. */
struct gw_listener {
	const struct gw_object *gw;
	const json_t *spec;		/* the listener's object */
	const char *name;
	const char *hostname;		/* NULL: any */
	int port;
	int served;			/* TLS Passthrough: becomes a group */
	const char *from;		/* allowedRoutes.namespaces.from: Same, All, Selector, None */
	const json_t *selector;		/* allowedRoutes.namespaces.selector */
	int kinds_ok;			/* TLSRoute among the kinds allowed */
	int kinds_invalid;		/* allowedRoutes.kinds names a kind not supported */
	const char *unsupported;	/* not served: the reason (UnsupportedProtocol, ...) */
	int attached;			/* routes attached */
};

struct gw_listeners {
	struct gw_listener *l;
	size_t n;
	const struct gw_object **gws;	/* the Gateways taken */
	size_t ngws;
};

/* The Gateways this controller takes and their listeners; status of the GatewayClasses. */
int gateway_collect(const struct gw_input *in, const struct gw_options *o, struct gw_listeners *ls,
    json_t *items, struct gw_err *e);
/* The Gateways' status (after the routes attached). */
int gateway_status(const struct gw_listeners *ls, const struct gw_options *o, json_t *items);
void gateway_free(struct gw_listeners *ls);
/* Does listener l allow a route in namespace ns (allowedRoutes.namespaces)? -1: malformed. */
int gateway_allows(const struct gw_input *in, const struct gw_listener *l, const char *ns,
    struct gw_err *e);

/* TLSRoutes (tlsroute.c): attach, add their routes, write their status. */
int tlsroute_render(const struct gw_input *in, const struct gw_options *o, struct gw_listeners *ls,
    struct gw_result *r, json_t *items, struct gw_err *e);

/* Ingresses (ingress.c) with ssl-passthrough: their routes on the Ingress port. */
int ingress_render(const struct gw_input *in, const struct gw_options *o, struct gw_result *r,
    struct gw_err *e);

#endif
