/*
 * render_json.c -- a snapshot as one JSON document (passthrough-stats --json).
 *
 * The keys are an interface: scripts read them, so they only ever grow.
 * Every number is an integer in the unit its key names (_ms: milliseconds
 * of unix time or of duration, _us: microseconds, bytes: bytes).
 *
 *   segment               shm name of the segment, "/passthrough-1a2b3c4d"
 *   layout_version        the segment's ABI version (STATS_VERSION)
 *   time_ms               when this snapshot was taken
 *   master_pid, started_ms, uptime_ms
 *   workers_configured    worker slots of the configuration
 *   workers_running       live worker processes, draining ones included
 *   workers_draining      of those, finishing connections after a reload
 *   generation            route table generation in force
 *   config_sha256         SHA-256 (hex, as sha256sum prints it) of the
 *                         configuration file's bytes the serving generation
 *                         was loaded from (not its @includes)
 *   reloads_ok, reloads_failed
 *   last_reload_ms        0: never reloaded
 *   last_reload_ok        true/false; null before any reload
 *   last_reload_message   "" or the reload's message
 *   last_reload_sha256    SHA-256 of the bytes the last reload read, refused
 *                         or not; null before any reload or when the file
 *                         could not be read. Differing from config_sha256
 *                         with last_reload_ok false: that file was refused
 *   totals                exited and live workers together:
 *     accepted, accept_errors, proxy_headers, all_down, bytes_in, bytes_out,
 *     bytes_spliced, bytes_copied, active, in_hello, relaying (gauges),
 *     closes              {REASON: count} for every reason below,
 *     histograms          {hello_size_bytes, connect_duration_us,
 *                          connection_duration_ms}: each
 *                         {count, sum, buckets: [{le, count}]}, the counts
 *                         cumulative, the last le the string "+Inf"
 *   workers[]             slot, pid, started_ms, uptime_ms, restarts,
 *                         draining (bool), engine ("io_uring", "epoll":
 *                         the event engine it runs), generation, accepted,
 *                         accept_errors, active, in_hello, relaying,
 *                         bytes_in, bytes_out, bytes_spliced, bytes_copied,
 *                         closes {REASON: count}
 *   routes[]              route (the pattern; "(other)" past the table's
 *                         capacity, listed only when non-zero), in_use (bool),
 *                         connections, active, bytes_in, bytes_out,
 *                         connect_failures, balance ("roundrobin",
 *                         "leastconn", "random2")
 *   backends[]            backend ("127.0.0.1:9443" or "(other)"), in_use,
 *                         connections, active, bytes_in, bytes_out,
 *                         connect_failures, connect_timeouts, down_workers
 *                         (workers holding it down), went_down, state ("up",
 *                         "down", "draining", "unchecked", "-": not in use),
 *                         weight, checks_passed, checks_failed (active
 *                         checks, ever), check_changed_ms (last up/down
 *                         change; 0: none)
 *
 * REASON is one of normal, hello_timeout, hello_eof, hello_malformed,
 * hello_too_big, not_tls, no_route_alert, connect_refused, connect_timeout,
 * idle_timeout, client_reset, backend_reset, limit_reached, shutdown,
 * internal_error (close_reason_str(); "none" is never counted).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "sha256.h"

#define RENDER_JSON_INDENT	2	/* spaces per level */
#define RENDER_JSON_DEPTH	8	/* levels this document ever nests */
#define RENDER_JSON_CTRL	0x20	/* below: control characters, escaped */
#define RENDER_JSON_REPLACEMENT	"\\ufffd"	/* for bytes that are not UTF-8 */

/* A writer: commas, indentation, and containers kept on one line. */
struct render_json {
	struct textbuf *out;
	unsigned depth;
	int empty[RENDER_JSON_DEPTH];		/* no member written yet at this level */
	int one_line[RENDER_JSON_DEPTH];	/* this level is written on one line */
};

void
render_json_string(struct textbuf *out, const char *s)
{
	textbuf_puts(out, "\"");
	while (*s != '\0') {
		unsigned char c = (unsigned char)*s;
		size_t n = textbuf_utf8_len(s);

		if (c == '"' || c == '\\')
			textbuf_printf(out, "\\%c", c);
		else if (c == '\n')
			textbuf_puts(out, "\\n");
		else if (c == '\t')
			textbuf_puts(out, "\\t");
		else if (c < RENDER_JSON_CTRL)
			textbuf_printf(out, "\\u%04x", c);
		else if (n == 0)
			textbuf_puts(out, RENDER_JSON_REPLACEMENT);
		else
			textbuf_append(out, s, n);
		s += n == 0 ? 1 : n;
	}
	textbuf_puts(out, "\"");
}

/* Starts a member (key NULL inside an array): comma, line break, key. */
static void
render_json_member(struct render_json *j, const char *key)
{
	unsigned d = j->depth;

	if (!j->empty[d])
		textbuf_puts(j->out, j->one_line[d] ? ", " : ",");
	if (!j->one_line[d]) {
		textbuf_puts(j->out, "\n");
		textbuf_repeat(j->out, ' ', (size_t)d * RENDER_JSON_INDENT);
	}
	j->empty[d] = 0;
	if (key != NULL) {
		render_json_string(j->out, key);
		textbuf_puts(j->out, ": ");
	}
}

/* Opens an object ('{') or array ('['); one_line keeps it on the line it starts. */
static void
render_json_open(struct render_json *j, const char *key, char bracket, int one_line)
{
	if (j->depth > 0 || !j->empty[0])
		render_json_member(j, key);
	textbuf_printf(j->out, "%c", bracket);
	if (j->depth + 1 >= RENDER_JSON_DEPTH) {
		j->out->failed = 1;	/* a bug in this file; never a truncated document */
		return;
	}
	j->depth++;
	j->empty[j->depth] = 1;
	j->one_line[j->depth] = one_line || j->one_line[j->depth - 1];
}

static void
render_json_close(struct render_json *j, char bracket)
{
	int was_empty = j->empty[j->depth], one_line = j->one_line[j->depth];

	j->depth--;
	if (!was_empty && !one_line) {
		textbuf_puts(j->out, "\n");
		textbuf_repeat(j->out, ' ', (size_t)j->depth * RENDER_JSON_INDENT);
	}
	textbuf_printf(j->out, "%c", bracket);
}

static void
render_json_u64(struct render_json *j, const char *key, uint64_t v)
{
	render_json_member(j, key);
	textbuf_printf(j->out, "%" PRIu64, v);
}

static void
render_json_bool(struct render_json *j, const char *key, int v)
{
	render_json_member(j, key);
	textbuf_puts(j->out, v ? "true" : "false");
}

static void
render_json_null(struct render_json *j, const char *key)
{
	render_json_member(j, key);
	textbuf_puts(j->out, "null");
}

static void
render_json_str(struct render_json *j, const char *key, const char *v)
{
	render_json_member(j, key);
	render_json_string(j->out, v);
}

static void
render_json_closes(struct render_json *j, const struct stats_counters *c)
{
	render_json_open(j, "closes", '{', 0);
	for (unsigned r = CLOSE_NONE + 1; r < CLOSE_REASON_COUNT; r++)
		render_json_u64(j, close_reason_str(r), c->closes[r]);
	render_json_close(j, '}');
}

static void
render_json_hist(struct render_json *j, const struct stats_hist *h, enum stats_hist_kind kind)
{
	uint64_t cum = 0;

	render_json_open(j, render_hists[kind].json_key, '{', 0);
	render_json_u64(j, "count", snapshot_hist_count(h));
	render_json_u64(j, "sum", h->sum);
	render_json_open(j, "buckets", '[', 0);
	for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++) {
		cum += h->buckets[i];
		render_json_open(j, NULL, '{', 1);
		if (i + 1 == STATS_HIST_BUCKETS)
			render_json_str(j, "le", "+Inf");
		else
			render_json_u64(j, "le", stats_hist_bound(kind, i));
		render_json_u64(j, "count", cum);
		render_json_close(j, '}');
	}
	render_json_close(j, ']');
	render_json_close(j, '}');
}

/* The byte and accept counters a worker and the totals share. */
static void
render_json_counters(struct render_json *j, const struct stats_counters *c)
{
#define COUNTER(f) { #f, offsetof(struct stats_counters, f) }
	static const struct {
		const char *key;	/* the field's own name */
		size_t off;		/* of its _Atomic uint64_t */
	} fields[] = {
		COUNTER(accepted), COUNTER(accept_errors), COUNTER(proxy_headers),
		COUNTER(all_down), COUNTER(bytes_in), COUNTER(bytes_out),
		COUNTER(bytes_spliced), COUNTER(bytes_copied),
	};
#undef COUNTER

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		render_json_u64(j, fields[i].key,
		    *(const _Atomic uint64_t *)((const char *)c + fields[i].off));
}

static void
render_json_totals(struct render_json *j, const struct snapshot *snap)
{
	render_json_open(j, "totals", '{', 0);
	render_json_counters(j, &snap->totals);
	render_json_u64(j, "active", snap->active);
	render_json_u64(j, "in_hello", snap->in_hello);
	render_json_u64(j, "relaying", snap->relaying);
	render_json_closes(j, &snap->totals);
	render_json_open(j, "histograms", '{', 0);
	for (unsigned k = 0; k < STATS_HIST_COUNT; k++)
		render_json_hist(j, &snap->totals.hist[k], k);
	render_json_close(j, '}');
	render_json_close(j, '}');
}

static void
render_json_workers(struct render_json *j, const struct snapshot *snap)
{
	render_json_open(j, "workers", '[', 0);
	for (uint32_t i = 0; i < snap->worker_count; i++) {
		const struct snapshot_worker *w = &snap->workers[i];

		render_json_open(j, NULL, '{', 0);
		render_json_u64(j, "slot", w->slot);
		render_json_u64(j, "pid", w->pid);
		render_json_u64(j, "started_ms", w->started_ms);
		render_json_u64(j, "uptime_ms", snapshot_age_ms(snap, w->started_ms));
		render_json_u64(j, "restarts", w->restarts);
		render_json_bool(j, "draining", w->retiring != 0);
		render_json_str(j, "engine", stats_engine_str(w->engine));
		render_json_u64(j, "generation", w->generation);
		render_json_counters(j, &w->c);
		render_json_u64(j, "active", w->active);
		render_json_u64(j, "in_hello", w->in_hello);
		render_json_u64(j, "relaying", w->relaying);
		render_json_closes(j, &w->c);
		render_json_close(j, '}');
	}
	render_json_close(j, ']');
}

/* "routes" or "backends": one line per entry shown; connect_timeouts only backends count. */
static void
render_json_entries(struct render_json *j, const struct snapshot *snap, enum snapshot_table table)
{
	static const char *const keys[SNAPSHOT_TABLES][2] = {
		[SNAPSHOT_ROUTES] = { "routes", "route" },
		[SNAPSHOT_BACKENDS] = { "backends", "backend" },
	};
	struct snapshot_entry e;

	render_json_open(j, keys[table][0], '[', 0);
	for (uint32_t i = 0; i < snapshot_entry_count(snap, table); i++) {
		if (!snapshot_entry(snap, table, i, &e))
			continue;
		render_json_open(j, NULL, '{', 1);
		render_json_str(j, keys[table][1], e.name);
		render_json_bool(j, "in_use", e.in_use != 0);
		render_json_u64(j, "connections", e.connections);
		render_json_u64(j, "active", e.active);
		render_json_u64(j, "bytes_in", e.bytes_in);
		render_json_u64(j, "bytes_out", e.bytes_out);
		render_json_u64(j, "connect_failures", e.connect_failures);
		if (table == SNAPSHOT_BACKENDS) {
			render_json_u64(j, "connect_timeouts", e.connect_timeouts);
			render_json_u64(j, "down_workers", e.down);
			render_json_u64(j, "went_down", e.went_down);
			render_json_str(j, "state", snapshot_backend_state(&e));
			render_json_u64(j, "weight", e.weight);
			render_json_u64(j, "checks_passed", e.checks_ok);
			render_json_u64(j, "checks_failed", e.checks_failed);
			render_json_u64(j, "check_changed_ms", e.check_changed_ms);
		} else
			render_json_str(j, "balance", snapshot_balance_name(e.balance));
		render_json_close(j, '}');
	}
	render_json_close(j, ']');
}

/* A SHA-256 as sha256sum spells it, or null when it is all zero (none). */
static void
render_json_sha256(struct render_json *j, const char *key, const uint8_t *digest)
{
	char hex[SHA256_HEX_SIZE];

	if (sha256_is_zero(digest)) {
		render_json_null(j, key);
		return;
	}
	sha256_hex(digest, hex);
	render_json_str(j, key, hex);
}

static void
render_json_master(struct render_json *j, const struct snapshot *snap)
{
	const struct stats_header *h = &snap->hdr;

	render_json_str(j, "segment", snap->segment);
	render_json_u64(j, "layout_version", h->version);
	render_json_u64(j, "time_ms", snap->taken_ms);
	render_json_u64(j, "master_pid", h->master_pid);
	render_json_u64(j, "started_ms", h->started_ms);
	render_json_u64(j, "uptime_ms", snapshot_age_ms(snap, h->started_ms));
	render_json_u64(j, "workers_configured", h->workers);
	render_json_u64(j, "workers_running", snap->worker_count);
	render_json_u64(j, "workers_draining", snap->retiring);
	render_json_u64(j, "generation", h->generation);
	render_json_sha256(j, "config_sha256", h->config_sha256);
	render_json_u64(j, "reloads_ok", h->reloads_ok);
	render_json_u64(j, "reloads_failed", h->reloads_failed);
	render_json_u64(j, "last_reload_ms", h->last_reload_ms);
	if (h->last_reload_ms == 0)
		render_json_null(j, "last_reload_ok");
	else
		render_json_bool(j, "last_reload_ok", h->last_reload_ok != 0);
	render_json_str(j, "last_reload_message", h->last_reload_message);
	render_json_sha256(j, "last_reload_sha256", h->last_reload_sha256);
}

void
render_json(struct textbuf *out, const struct snapshot *snap)
{
	struct render_json j;

	memset(&j, 0, sizeof(j));
	j.out = out;
	j.empty[0] = 1;
	render_json_open(&j, NULL, '{', 0);
	render_json_master(&j, snap);
	render_json_totals(&j, snap);
	render_json_workers(&j, snap);
	for (unsigned t = 0; t < SNAPSHOT_TABLES; t++)
		render_json_entries(&j, snap, t);
	render_json_close(&j, '}');
	textbuf_puts(out, "\n");
}
