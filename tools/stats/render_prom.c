/*
 * render_prom.c -- a snapshot in the Prometheus text exposition format
 * 0.0.4 (passthrough-stats --prometheus, and GET /metrics of --serve).
 *
 * Families (counters end in _total; labels in braces):
 *   passthrough_start_time_seconds, passthrough_generation,
 *   passthrough_reloads_total{result="ok"|"failed"},
 *   passthrough_last_reload_timestamp_seconds (0: never),
 *   passthrough_last_reload_success (1 also before any reload),
 *   passthrough_workers_configured, passthrough_workers_running,
 *   passthrough_workers_draining,
 *   passthrough_connections_accepted_total, passthrough_accept_errors_total,
 *   passthrough_connections_active, passthrough_connections_in_hello,
 *   passthrough_connections_relaying,
 *   passthrough_connections_closed_total{reason},
 *   passthrough_bytes_total{direction="in"|"out"},
 *   passthrough_bytes_spliced_total, passthrough_bytes_copied_total,
 *   passthrough_worker_connections_accepted_total{worker},
 *   passthrough_worker_connections_active{worker} (and _in_hello, _relaying),
 *   passthrough_worker_restarts_total{worker},
 *   passthrough_route_connections_total{route}, passthrough_route_active,
 *   passthrough_route_bytes_total{route,direction},
 *   passthrough_route_connect_failures_total, passthrough_route_in_use,
 *   passthrough_backend_* likewise with {backend}, plus
 *   passthrough_backend_connect_timeouts_total,
 *   histograms passthrough_hello_size_bytes,
 *   passthrough_connect_duration_seconds,
 *   passthrough_connection_duration_seconds.
 *
 * worker="N" is the slot: a slot's draining predecessor is summed into it,
 * so one slot is always one series (and its counters restart with the
 * process, which rate() handles). Totals include exited workers.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "render.h"

#define RENDER_PROM_COUNTER	"counter"
#define RENDER_PROM_GAUGE	"gauge"
#define RENDER_PROM_HISTOGRAM	"histogram"
#define RENDER_PROM_LABELS_MAX	2	/* entry name and direction */
#define RENDER_PROM_MS_DIGITS	3	/* milliseconds as fractional seconds */
#define DECIMAL_BASE		10u
#define RENDER_PROM_PAIR	2	/* in/out, ok/failed */

struct render_prom_label {
	const char *name;
	const char *value;
};

/* One metric of every route or backend entry, read at an offset into the entry. */
struct render_prom_metric {
	const char *name, *type, *help;
	size_t off;		/* of the _Atomic counter (in_use: an _Atomic uint32_t) */
	size_t off_out;		/* != 0: off counts direction="in", this "out" */
	int is_u32;
};

/* The table of routes or of backends, walked the same way. */
struct render_prom_entries {
	const char *label;			/* "route", "backend" */
	const char *base;
	size_t stride;				/* bytes per entry; its name is at offset 0 */
	uint32_t count;
	int (*shown)(const struct snapshot *snap, uint32_t i);
	const struct render_prom_metric *metrics;
	size_t nmetrics;
};

/* A worker slot: its live processes summed. */
struct render_prom_slot {
	char label[sizeof("4294967295")];
	uint64_t accepted, active, in_hello, relaying;
	uint32_t restarts;			/* the newest process's */
};

void
render_prom_label(struct textbuf *out, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\')
			textbuf_puts(out, "\\\\");
		else if (*p == '"')
			textbuf_puts(out, "\\\"");
		else if (*p == '\n')
			textbuf_puts(out, "\\n");
		else
			textbuf_append(out, p, 1);
	}
}

/* "# HELP" and "# TYPE" of a family; help escaped as the format asks (\ and newline). */
static void
render_prom_family(struct textbuf *out, const char *name, const char *type, const char *help)
{
	textbuf_printf(out, "# HELP %s ", name);
	for (const char *p = help; *p != '\0'; p++) {
		if (*p == '\\')
			textbuf_puts(out, "\\\\");
		else if (*p == '\n')
			textbuf_puts(out, "\\n");
		else
			textbuf_append(out, p, 1);
	}
	textbuf_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* v / 10^digits written exactly: 16 us with 6 digits is "0.000016". */
static void
render_prom_value(struct textbuf *out, uint64_t v, unsigned digits)
{
	uint64_t div = 1, frac;
	unsigned width = digits;

	for (unsigned i = 0; i < digits; i++)
		div *= DECIMAL_BASE;
	frac = v % div;
	if (frac == 0) {
		textbuf_printf(out, "%" PRIu64, v / div);
		return;
	}
	for (; frac % DECIMAL_BASE == 0; frac /= DECIMAL_BASE)
		width--;
	textbuf_printf(out, "%" PRIu64 ".%0*" PRIu64, v / div, (int)width, frac);
}

static void
render_prom_sample(struct textbuf *out, const char *name, const char *suffix,
    const struct render_prom_label *labels, size_t nlabels, uint64_t v, unsigned digits)
{
	textbuf_printf(out, "%s%s", name, suffix);
	for (size_t i = 0; i < nlabels; i++) {
		textbuf_printf(out, "%s%s=\"", i == 0 ? "{" : ",", labels[i].name);
		render_prom_label(out, labels[i].value);
		textbuf_puts(out, "\"");
	}
	textbuf_puts(out, nlabels > 0 ? "} " : " ");
	render_prom_value(out, v, digits);
	textbuf_puts(out, "\n");
}

/* A family of one unlabelled sample. */
static void
render_prom_single(struct textbuf *out, const char *name, const char *type, const char *help,
    uint64_t v, unsigned digits)
{
	render_prom_family(out, name, type, help);
	render_prom_sample(out, name, "", NULL, 0, v, digits);
}

/* A family of one label with two values, e.g. direction in/out. */
static void
render_prom_pair(struct textbuf *out, const char *name, const char *type, const char *help,
    const char *label, const char *const values[RENDER_PROM_PAIR],
    const uint64_t v[RENDER_PROM_PAIR])
{
	render_prom_family(out, name, type, help);
	for (int i = 0; i < RENDER_PROM_PAIR; i++) {
		struct render_prom_label l = { label, values[i] };

		render_prom_sample(out, name, "", &l, 1, v[i], 0);
	}
}

static void
render_prom_master(struct textbuf *out, const struct snapshot *snap)
{
	static const char *const results[RENDER_PROM_PAIR] = { "ok", "failed" };
	const struct stats_header *h = &snap->hdr;
	const uint64_t reloads[RENDER_PROM_PAIR] = { h->reloads_ok, h->reloads_failed };

	render_prom_single(out, "passthrough_start_time_seconds", RENDER_PROM_GAUGE,
	    "Start time of the passthrough master since the unix epoch, in seconds.",
	    h->started_ms, RENDER_PROM_MS_DIGITS);
	render_prom_single(out, "passthrough_generation", RENDER_PROM_GAUGE,
	    "Generation of the route table in force; each successful reload adds one.",
	    h->generation, 0);
	render_prom_pair(out, "passthrough_reloads_total", RENDER_PROM_COUNTER,
	    "Configuration reloads by result.", "result", results, reloads);
	render_prom_single(out, "passthrough_last_reload_timestamp_seconds", RENDER_PROM_GAUGE,
	    "Time of the last reload since the unix epoch, in seconds; 0 before any.",
	    h->last_reload_ms, RENDER_PROM_MS_DIGITS);
	render_prom_single(out, "passthrough_last_reload_success", RENDER_PROM_GAUGE,
	    "1 if the last reload succeeded (or none happened yet), 0 if it failed.",
	    h->last_reload_ms == 0 || h->last_reload_ok != 0, 0);
	render_prom_single(out, "passthrough_workers_configured", RENDER_PROM_GAUGE,
	    "Worker slots of the configuration.", h->workers, 0);
	render_prom_single(out, "passthrough_workers_running", RENDER_PROM_GAUGE,
	    "Live worker processes, draining ones included.", snap->worker_count, 0);
	render_prom_single(out, "passthrough_workers_draining", RENDER_PROM_GAUGE,
	    "Worker processes finishing their connections after a reload or quit.",
	    snap->retiring, 0);
}

static void
render_prom_totals(struct textbuf *out, const struct snapshot *snap)
{
	static const char *const directions[RENDER_PROM_PAIR] = { "in", "out" };
	const struct stats_counters *t = &snap->totals;
	const uint64_t bytes[RENDER_PROM_PAIR] = { t->bytes_in, t->bytes_out };

	render_prom_single(out, "passthrough_connections_accepted_total", RENDER_PROM_COUNTER,
	    "Client connections accepted.", t->accepted, 0);
	render_prom_single(out, "passthrough_accept_errors_total", RENDER_PROM_COUNTER,
	    "Accepts that failed (descriptor limits, memory).", t->accept_errors, 0);
	render_prom_single(out, "passthrough_connections_active", RENDER_PROM_GAUGE,
	    "Client connections open.", snap->active, 0);
	render_prom_single(out, "passthrough_connections_in_hello", RENDER_PROM_GAUGE,
	    "Client connections still reading their ClientHello.", snap->in_hello, 0);
	render_prom_single(out, "passthrough_connections_relaying", RENDER_PROM_GAUGE,
	    "Client connections relaying bytes to and from a backend.", snap->relaying, 0);
	render_prom_family(out, "passthrough_connections_closed_total", RENDER_PROM_COUNTER,
	    "Client connections closed, by reason.");
	for (unsigned r = CLOSE_NONE + 1; r < CLOSE_REASON_COUNT; r++) {
		struct render_prom_label l = { "reason", close_reason_str(r) };

		render_prom_sample(out, "passthrough_connections_closed_total", "", &l, 1,
		    t->closes[r], 0);
	}
	render_prom_pair(out, "passthrough_bytes_total", RENDER_PROM_COUNTER,
	    "Bytes relayed: in is client to backend (the hello included), out is backend to client.",
	    "direction", directions, bytes);
	render_prom_single(out, "passthrough_bytes_spliced_total", RENDER_PROM_COUNTER,
	    "Bytes moved through pipes without copying (splice).", t->bytes_spliced, 0);
	render_prom_single(out, "passthrough_bytes_copied_total", RENDER_PROM_COUNTER,
	    "Bytes moved through memory (the hello, small exchanges).", t->bytes_copied, 0);
}

/* Sums the live lines by slot (snap->workers is sorted by slot). The count. */
static size_t
render_prom_slots(const struct snapshot *snap, struct render_prom_slot *slots)
{
	size_t n = 0;

	for (uint32_t i = 0; i < snap->worker_count; i++) {
		const struct stats_worker *w = &snap->workers[i];
		struct render_prom_slot *s;

		if (i == 0 || w->slot != snap->workers[i - 1].slot) {
			s = &slots[n++];
			snprintf(s->label, sizeof(s->label), "%" PRIu32, w->slot);
		}
		s = &slots[n - 1];
		s->accepted += w->c.accepted;
		s->active += w->active;
		s->in_hello += w->in_hello;
		s->relaying += w->relaying;
		s->restarts = w->restarts;	/* sorted oldest first: the newest wins */
	}
	return n;
}

static void
render_prom_workers(struct textbuf *out, const struct snapshot *snap)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
		int is_u32;
	} metrics[] = {
		{ "passthrough_worker_connections_accepted_total", RENDER_PROM_COUNTER,
		  "Client connections accepted by the worker processes of a slot.",
		  offsetof(struct render_prom_slot, accepted), 0 },
		{ "passthrough_worker_connections_active", RENDER_PROM_GAUGE,
		  "Client connections open in a worker slot.",
		  offsetof(struct render_prom_slot, active), 0 },
		{ "passthrough_worker_connections_in_hello", RENDER_PROM_GAUGE,
		  "Client connections reading their ClientHello in a worker slot.",
		  offsetof(struct render_prom_slot, in_hello), 0 },
		{ "passthrough_worker_connections_relaying", RENDER_PROM_GAUGE,
		  "Client connections relaying in a worker slot.",
		  offsetof(struct render_prom_slot, relaying), 0 },
		{ "passthrough_worker_restarts_total", RENDER_PROM_COUNTER,
		  "Times the master restarted the worker of a slot after it died.",
		  offsetof(struct render_prom_slot, restarts), 1 },
	};
	struct render_prom_slot *slots = calloc(snap->worker_count + 1, sizeof(*slots));
	size_t n;

	if (slots == NULL) {
		out->failed = 1;
		return;
	}
	n = render_prom_slots(snap, slots);
	for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
		render_prom_family(out, metrics[m].name, metrics[m].type, metrics[m].help);
		for (size_t i = 0; i < n; i++) {
			const char *field = (const char *)&slots[i] + metrics[m].off;
			struct render_prom_label l = { "worker", slots[i].label };

			render_prom_sample(out, metrics[m].name, "", &l, 1, metrics[m].is_u32 ?
			    *(const uint32_t *)field : *(const uint64_t *)field, 0);
		}
	}
	free(slots);
}

static uint64_t
render_prom_field(const char *entry, size_t off, int is_u32)
{
	if (is_u32)
		return *(const _Atomic uint32_t *)(entry + off);
	return *(const _Atomic uint64_t *)(entry + off);
}

static void
render_prom_entries(struct textbuf *out, const struct snapshot *snap,
    const struct render_prom_entries *e)
{
	struct render_prom_label l[RENDER_PROM_LABELS_MAX] = { { e->label, NULL }, { "direction", NULL } };

	for (size_t m = 0; m < e->nmetrics; m++) {
		const struct render_prom_metric *pm = &e->metrics[m];

		render_prom_family(out, pm->name, pm->type, pm->help);
		for (uint32_t i = 0; i < e->count; i++) {
			const char *entry = e->base + (size_t)i * e->stride;

			if (!e->shown(snap, i))
				continue;
			l[0].value = entry;
			if (pm->off_out == 0) {
				render_prom_sample(out, pm->name, "", l, 1,
				    render_prom_field(entry, pm->off, pm->is_u32), 0);
				continue;
			}
			l[1].value = "in";
			render_prom_sample(out, pm->name, "", l, 2,
			    render_prom_field(entry, pm->off, 0), 0);
			l[1].value = "out";
			render_prom_sample(out, pm->name, "", l, 2,
			    render_prom_field(entry, pm->off_out, 0), 0);
		}
	}
}

static void
render_prom_routes(struct textbuf *out, const struct snapshot *snap)
{
#define ROUTE_OFF(f) offsetof(struct stats_route, f)
	static const struct render_prom_metric metrics[] = {
		{ "passthrough_route_connections_total", RENDER_PROM_COUNTER,
		  "Client connections routed by a pattern.", ROUTE_OFF(connections), 0, 0 },
		{ "passthrough_route_active", RENDER_PROM_GAUGE,
		  "Client connections open on a pattern.", ROUTE_OFF(active), 0, 0 },
		{ "passthrough_route_bytes_total", RENDER_PROM_COUNTER,
		  "Bytes relayed for a pattern: in is client to backend, out the reverse.",
		  ROUTE_OFF(bytes_in), ROUTE_OFF(bytes_out), 0 },
		{ "passthrough_route_connect_failures_total", RENDER_PROM_COUNTER,
		  "Connections of a pattern that no backend accepted.",
		  ROUTE_OFF(connect_failures), 0, 0 },
		{ "passthrough_route_in_use", RENDER_PROM_GAUGE,
		  "1 if the running configuration has the pattern, 0 if a reload removed it.",
		  ROUTE_OFF(in_use), 0, 1 },
	};
#undef ROUTE_OFF
	const struct render_prom_entries e = {
		"route", (const char *)snap->routes, sizeof(*snap->routes), snap->route_count,
		snapshot_route_shown, metrics, sizeof(metrics) / sizeof(metrics[0]),
	};

	_Static_assert(offsetof(struct stats_route, pattern) == 0, "the label is at offset 0");
	render_prom_entries(out, snap, &e);
}

static void
render_prom_backends(struct textbuf *out, const struct snapshot *snap)
{
#define BACKEND_OFF(f) offsetof(struct stats_backend, f)
	static const struct render_prom_metric metrics[] = {
		{ "passthrough_backend_connections_total", RENDER_PROM_COUNTER,
		  "Connections made to a backend.", BACKEND_OFF(connections), 0, 0 },
		{ "passthrough_backend_active", RENDER_PROM_GAUGE,
		  "Connections open to a backend.", BACKEND_OFF(active), 0, 0 },
		{ "passthrough_backend_bytes_total", RENDER_PROM_COUNTER,
		  "Bytes relayed with a backend: in is client to backend, out the reverse.",
		  BACKEND_OFF(bytes_in), BACKEND_OFF(bytes_out), 0 },
		{ "passthrough_backend_connect_failures_total", RENDER_PROM_COUNTER,
		  "Connects to a backend that failed (refused, unreachable, timed out).",
		  BACKEND_OFF(connect_failures), 0, 0 },
		{ "passthrough_backend_connect_timeouts_total", RENDER_PROM_COUNTER,
		  "Connects to a backend that timed out.", BACKEND_OFF(connect_timeouts), 0, 0 },
		{ "passthrough_backend_in_use", RENDER_PROM_GAUGE,
		  "1 if the running configuration has the backend, 0 if a reload removed it.",
		  BACKEND_OFF(in_use), 0, 1 },
	};
#undef BACKEND_OFF
	const struct render_prom_entries e = {
		"backend", (const char *)snap->backends, sizeof(*snap->backends),
		snap->backend_count, snapshot_backend_shown, metrics,
		sizeof(metrics) / sizeof(metrics[0]),
	};

	_Static_assert(offsetof(struct stats_backend, addr) == 0, "the label is at offset 0");
	render_prom_entries(out, snap, &e);
}

static void
render_prom_hist(struct textbuf *out, const struct stats_hist *h, enum stats_hist_kind kind)
{
	const struct render_hist_info *info = &render_hists[kind];
	struct textbuf le;
	uint64_t cum = 0;

	textbuf_init(&le);
	render_prom_family(out, info->prom_name, RENDER_PROM_HISTOGRAM, info->help);
	for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++) {
		struct render_prom_label l = { "le", "+Inf" };

		cum += h->buckets[i];
		if (i + 1 < STATS_HIST_BUCKETS) {
			textbuf_reset(&le);
			render_prom_value(&le, stats_hist_bound(kind, i), info->prom_scale_digits);
			l.value = textbuf_text(&le);
			if (l.value == NULL) {
				out->failed = 1;
				break;
			}
		}
		render_prom_sample(out, info->prom_name, "_bucket", &l, 1, cum, 0);
	}
	textbuf_free(&le);
	render_prom_sample(out, info->prom_name, "_sum", NULL, 0, h->sum, info->prom_scale_digits);
	render_prom_sample(out, info->prom_name, "_count", NULL, 0, cum, 0);
}

void
render_prom(struct textbuf *out, const struct snapshot *snap)
{
	render_prom_master(out, snap);
	render_prom_totals(out, snap);
	render_prom_workers(out, snap);
	render_prom_routes(out, snap);
	render_prom_backends(out, snap);
	for (unsigned k = 0; k < STATS_HIST_COUNT; k++)
		render_prom_hist(out, &snap->totals.hist[k], k);
}
