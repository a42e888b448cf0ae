/*
 * kube.h -- passthrough-gateway's Kubernetes API client (kube.c): where the
 * API server is and how to authenticate (in cluster, or a kubeconfig), and
 * a list-then-watch of each kind the controller reads, on one libcurl multi
 * handle, driven by the caller's loop (kube_poll). Not part of the pure
 * render core: this is the only file that talks to the network.
 */
#ifndef PASSTHROUGH_GATEWAY_KUBE_H
#define PASSTHROUGH_GATEWAY_KUBE_H

#include <jansson.h>
#include <stddef.h>

#include "render.h"

/* The service account's files in a pod (token, ca.crt, namespace). */
#define KUBE_SERVICEACCOUNT_DIR	"/var/run/secrets/kubernetes.io/serviceaccount"

/* Where the API server is and who we are to it. */
struct kube_config {
	char *server;			/* "https://10.0.0.1:443" (no trailing /) */
	char *ca_file;			/* PEM file, or NULL */
	char *ca_data;			/* PEM text (kubeconfig certificate-authority-data), or NULL */
	int insecure;			/* insecure-skip-tls-verify */
	char *token;			/* bearer token, or NULL */
	char *token_file;		/* re-read when it changes (bound tokens rotate), or NULL */
	char *cert_data, *key_data;	/* client certificate and key (PEM text), or NULL */
	char *cert_file, *key_file;
};

/*
 * Fills c: from the kubeconfig at path (its current-context, or context
 * when not NULL), or, when path is NULL, in cluster from
 * KUBERNETES_SERVICE_HOST/PORT and the service account's files in sa_dir
 * (NULL: KUBE_SERVICEACCOUNT_DIR). Returns 0, or -1 with e set.
 */
int kube_config_load(struct kube_config *c, const char *path, const char *context,
    const char *sa_dir, struct gw_err *e);
void kube_config_free(struct kube_config *c);

/* One kind the controller lists and watches, at cluster scope. */
struct kube_kind {
	const char *group;		/* "" for the core group */
	const char *version;		/* "v1" */
	const char *fallback;		/* a version tried when the server does not serve version
					   ("v1alpha2" for TLSRoute), or NULL */
	const char *plural;		/* "tlsroutes" */
	const char *kind;		/* "TLSRoute" */
};

enum kube_event {
	KUBE_ADDED,
	KUBE_MODIFIED,
	KUBE_DELETED,
};

/*
 * What the client reports. Objects are borrowed for the call (json_incref
 * to keep one) and always carry apiVersion and kind, also the items of a
 * list answer, which the API server sends without them.
 */
struct kube_callbacks {
	/* A list of kind (index into the table) answered: items replace every object of it held. */
	void (*relist)(void *arg, size_t kind, json_t *items);
	/* A watch event of kind. */
	void (*event)(void *arg, size_t kind, enum kube_event ev, json_t *obj);
};

struct kube;

/*
 * A client for the kinds of the table (kept by the caller). Nothing is
 * requested before the first kube_poll. Returns NULL with e set.
 */
struct kube *kube_new(const struct kube_config *c, const struct kube_kind *kinds, size_t nkinds,
    const struct kube_callbacks *cb, void *arg, struct gw_err *e);

/*
 * Runs the lists and watches for at most timeout_ms, calling back as
 * answers come: lists each kind (all pages), then watches it from the
 * list's resourceVersion with bookmarks; a watch that ends is renewed from
 * the last resourceVersion seen, a 410 Gone relists, a failure retries
 * with back-off (each logged once on stderr). A kind the server does not
 * serve (404 for both versions: its CRD is not installed) is an empty
 * list, tried again later. Returns 0; -1 with e set only when the client
 * cannot go on (out of memory).
 */
int kube_poll(struct kube *k, int timeout_ms, struct gw_err *e);

/* 1 when every kind has been listed at least once (the first render can run). */
int kube_synced(const struct kube *k);

/*
 * Sets the status of one object of kind with a merge patch of its
 * /status subresource; body is the JSON patch ({"status": {...}}). Waits
 * for the answer (bounded by a timeout). Returns the HTTP status (200 on
 * success), or -1 with e set when there was no answer.
 */
int kube_patch_status(struct kube *k, size_t kind, const char *ns, const char *name,
    const char *body, struct gw_err *e);

void kube_free(struct kube *k);

#endif
