/*
 * kube_int.h -- the pure pieces of the API client (kube.c) that its unit
 * tests drive directly: the watch stream's line splitter, base64 (the
 * kubeconfig's *-data fields) and the back-off schedule.
 */
#ifndef PASSTHROUGH_GATEWAY_KUBE_INT_H
#define PASSTHROUGH_GATEWAY_KUBE_INT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Limits of what the API server may send (beyond: the request fails, then
 * backs off). etcd keeps objects of at most ~1.5 MiB: an event is one
 * object, a list page 500 of them (most far smaller).
 */
#define KUBE_EVENT_BYTES_MAX	(16UL << 20)	/* one watch event line */
#define KUBE_LIST_BYTES_MAX	(256UL << 20)	/* one list answer */

/* Back-off after a failure: 0.5 s doubling to 30 s, jittered down by up to a quarter. */
#define KUBE_BACKOFF_MIN_MS	500
#define KUBE_BACKOFF_MAX_MS	30000

/*
 * Newline-delimited JSON as it streams: bytes arrive in chunks that split
 * lines anywhere; each whole line (without its "\n" or "\r\n"; empty
 * lines skipped) goes to the callback once.
 */
struct kube_lines {
	char *buf;		/* the start of a line not yet ended */
	size_t len, cap;
	size_t max;		/* longest line taken, bytes */
};

/* Called with each line (not NUL-terminated); 0 goes on, a negative value stops the feed. */
typedef int (*kube_line_fn)(void *arg, const char *line, size_t len);

/*
 * Feeds n bytes. Returns 0; -E2BIG when a line grows past l->max; -ENOMEM;
 * or the callback's negative value (the rest of data is then dropped).
 */
int kube_lines_feed(struct kube_lines *l, const char *data, size_t n, kube_line_fn fn, void *arg);
/* Forgets a partial line (a new stream starts). */
void kube_lines_reset(struct kube_lines *l);
void kube_lines_free(struct kube_lines *l);

/*
 * Decodes standard base64 (padding required for a partial last group;
 * whitespace, as in wrapped PEM, ignored). Returns a NUL-terminated
 * malloc'd buffer and its length in *len, or NULL: malformed (errno
 * EINVAL) or out of memory (ENOMEM).
 */
char *kube_base64_decode(const char *s, size_t *len);

/*
 * The wait before the next try after a failure, and the next step: step
 * is the current step (0: none yet); *next gets the doubled step, capped.
 * The wait is step minus up to a quarter of it, drawn from rnd.
 */
uint64_t kube_backoff(uint64_t step, uint64_t rnd, uint64_t *next);

/* A failure repeating at the longest back-off is logged again this often. */
#define KUBE_REPEAT_LOG_MS	300000

/* The failure last logged: its kind (0: none), its back-off step, when. */
struct kube_repeat {
	int key;
	uint64_t step, ms;
};

/*
 * Is a failure (key, at back-off step, at now in ms) to be logged? Yes
 * unless it repeats the one last logged at the same step, within
 * KUBE_REPEAT_LOG_MS of it; when yes, it becomes the one last logged.
 */
int kube_repeat_due(struct kube_repeat *r, int key, uint64_t step, uint64_t now);

#endif
