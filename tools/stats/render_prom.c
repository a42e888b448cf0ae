/*
 * render_prom.c -- a snapshot in the Prometheus text exposition format
 * 0.0.4 (passthrough-stats --prometheus, and GET /metrics of --serve).
 *
 * Families (counters end in _total; labels in braces):
 *   passthrough_start_time_seconds, passthrough_generation,
 *   passthrough_reloads_total{result="ok"|"failed"},
 *   passthrough_last_reload_timestamp_seconds (0: never),
 *   passthrough_last_reload_success (1 also before any reload),
 *   passthrough_config_info{sha256,generation} 1 (the configuration file's
 *   SHA-256, as sha256sum prints it, and the generation it serves as),
 *   passthrough_workers_configured, passthrough_workers_running,
 *   passthrough_workers_draining,
 *   passthrough_connections_accepted_total, passthrough_accept_errors_total,
 *   passthrough_proxy_headers_total, passthrough_backends_all_down_total,
 *   passthrough_connections_active, passthrough_connections_in_hello,
 *   passthrough_connections_relaying,
 *   passthrough_connections_closed_total{reason},
 *   passthrough_bytes_total{direction="in"|"out"},
 *   passthrough_bytes_spliced_total, passthrough_bytes_copied_total,
 *   passthrough_worker_connections_accepted_total{worker},
 *   passthrough_worker_connections_active{worker} (and _in_hello, _relaying),
 *   passthrough_worker_restarts_total{worker},
 *   passthrough_worker_info{worker,engine="io_uring"|"epoll"} 1,
 *   passthrough_route_connections_total{route}, passthrough_route_active,
 *   passthrough_route_bytes_total{route,direction},
 *   passthrough_route_connect_failures_total, passthrough_route_in_use,
 *   passthrough_backend_* likewise with {backend}, plus
 *   passthrough_backend_connect_timeouts_total, passthrough_backend_down_workers,
 *   passthrough_backend_went_down_total, passthrough_backend_weight,
 *   passthrough_backend_check_up (1/0; checked backends only),
 *   passthrough_backend_checks_total{backend,result="passed"|"failed"},
 *   passthrough_backend_check_changed_seconds (unix time of the last up/down
 *   change; checked backends that had one),
 *   passthrough_route_info{route,balance} 1,
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
#include "sha256.h"

#define RENDER_PROM_COUNTER	"counter"
#define RENDER_PROM_GAUGE	"gauge"
#define RENDER_PROM_HISTOGRAM	"histogram"
#define RENDER_PROM_LABELS_MAX	2	/* entry name and direction */
#define RENDER_PROM_NAME_MAX	64	/* "passthrough_backend_connect_failures_total" is 42 */
#define RENDER_PROM_MS_DIGITS	3	/* milliseconds as fractional seconds */
#define DECIMAL_BASE		10u
#define RENDER_PROM_PAIR	2	/* in/out, ok/failed */

struct render_prom_label {
	const char *name;
	const char *value;
};

/*
 * The families of routes and of backends, in the order they are written:
 * passthrough_route_<suffix> and passthrough_backend_<suffix>, read from
 * struct snapshot_entry. A NULL help: that table has no such family.
 */
struct render_prom_entry_family {
	const char *suffix, *type;
	size_t off;		/* of the value in struct snapshot_entry */
	size_t off_out;		/* != 0: off counts direction="in", this "out" */
	const char *help[SNAPSHOT_TABLES];
};

#define ENTRY_OFF(f) offsetof(struct snapshot_entry, f)
static const struct render_prom_entry_family render_prom_entry_families[] = {
	{ "connections_total", RENDER_PROM_COUNTER, ENTRY_OFF(connections), 0,
	  { "Client connections routed by a pattern.", "Connections made to a backend." } },
	{ "active", RENDER_PROM_GAUGE, ENTRY_OFF(active), 0,
	  { "Client connections open on a pattern.", "Connections open to a backend." } },
	{ "bytes_total", RENDER_PROM_COUNTER, ENTRY_OFF(bytes_in), ENTRY_OFF(bytes_out),
	  { "Bytes relayed for a pattern: in is client to backend, out the reverse.",
	    "Bytes relayed with a backend: in is client to backend, out the reverse." } },
	{ "connect_failures_total", RENDER_PROM_COUNTER, ENTRY_OFF(connect_failures), 0,
	  { "Connections of a pattern that no backend accepted.",
	    "Connects to a backend that failed (refused, unreachable, timed out)." } },
	{ "connect_timeouts_total", RENDER_PROM_COUNTER, ENTRY_OFF(connect_timeouts), 0,
	  { NULL, "Connects to a backend that timed out." } },
	{ "down_workers", RENDER_PROM_GAUGE, ENTRY_OFF(down), 0,
	  { NULL, "Workers that hold the backend down (passive health)." } },
	{ "went_down_total", RENDER_PROM_COUNTER, ENTRY_OFF(went_down), 0,
	  { NULL, "Times a worker marked the backend down." } },
	{ "weight", RENDER_PROM_GAUGE, ENTRY_OFF(weight), 0,
	  { NULL, "The backend's weight in the current generation (the largest of its routes')." } },
	{ "in_use", RENDER_PROM_GAUGE, ENTRY_OFF(in_use), 0,
	  { "1 if the running configuration has the pattern, 0 if a reload removed it.",
	    "1 if the running configuration has the backend, 0 if a reload removed it." } },
};
#undef ENTRY_OFF

/* A worker slot: its live processes summed. */
struct render_prom_slot {
	char label[sizeof("4294967295")];
	uint64_t accepted, active, in_hello, relaying;
	uint32_t restarts;			/* the newest process's */
	uint32_t engine;			/* likewise: enum stats_engine */
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

/*
 * passthrough_config_info{sha256,generation} 1: which configuration file
 * (its bytes' SHA-256, as sha256sum prints it) the generation in force was
 * loaded from. Not written while the segment has none (all zero).
 */
static void
render_prom_config(struct textbuf *out, const struct stats_header *h)
{
	char hex[SHA256_HEX_SIZE], gen[sizeof("18446744073709551615")];
	struct render_prom_label l[2] = { { "sha256", hex }, { "generation", gen } };

	if (sha256_is_zero(h->config_sha256))
		return;
	render_prom_family(out, "passthrough_config_info", RENDER_PROM_GAUGE,
	    "1, labelled with the SHA-256 of the configuration file the generation in force "
	    "was loaded from.");
	sha256_hex(h->config_sha256, hex);
	snprintf(gen, sizeof(gen), "%" PRIu64, (uint64_t)h->generation);
	render_prom_sample(out, "passthrough_config_info", "", l, 2, 1, 0);
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
	render_prom_config(out, h);
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
	render_prom_single(out, "passthrough_proxy_headers_total", RENDER_PROM_COUNTER,
	    "PROXY protocol headers accepted from trusted balancers.", t->proxy_headers, 0);
	render_prom_single(out, "passthrough_backends_all_down_total", RENDER_PROM_COUNTER,
	    "Connections sent to a route whose backends were all down.", t->all_down, 0);
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
		const struct snapshot_worker *w = &snap->workers[i];
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
		s->engine = w->engine;
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
	render_prom_family(out, "passthrough_worker_info", RENDER_PROM_GAUGE,
	    "1 for each worker slot, labelled with the event engine its newest process runs.");
	for (size_t i = 0; i < n; i++) {
		struct render_prom_label l[2] = { { "worker", slots[i].label },
			{ "engine", stats_engine_str(slots[i].engine) } };

		render_prom_sample(out, "passthrough_worker_info", "", l, 2, 1, 0);
	}
	free(slots);
}

static uint64_t
render_prom_entry_value(const struct snapshot_entry *e, size_t off)
{
	return *(const uint64_t *)((const char *)e + off);
}

/* Every family of routes or of backends: a sample (in and out for bytes) per entry shown. */
static void
render_prom_entries(struct textbuf *out, const struct snapshot *snap, enum snapshot_table table)
{
	static const char *const nouns[SNAPSHOT_TABLES] = {
		[SNAPSHOT_ROUTES] = "route", [SNAPSHOT_BACKENDS] = "backend",
	};
	const size_t nfamilies = sizeof(render_prom_entry_families) /
	    sizeof(render_prom_entry_families[0]);
	struct render_prom_label l[RENDER_PROM_LABELS_MAX] = {
		{ nouns[table], NULL }, { "direction", NULL },
	};
	char name[RENDER_PROM_NAME_MAX];
	struct snapshot_entry e;

	for (size_t f = 0; f < nfamilies; f++) {
		const struct render_prom_entry_family *fam = &render_prom_entry_families[f];

		if (fam->help[table] == NULL)
			continue;
		snprintf(name, sizeof(name), "passthrough_%s_%s", nouns[table], fam->suffix);
		render_prom_family(out, name, fam->type, fam->help[table]);
		for (uint32_t i = 0; i < snapshot_entry_count(snap, table); i++) {
			if (!snapshot_entry(snap, table, i, &e))
				continue;
			l[0].value = e.name;
			if (fam->off_out == 0) {
				render_prom_sample(out, name, "", l, 1,
				    render_prom_entry_value(&e, fam->off), 0);
				continue;
			}
			l[1].value = "in";
			render_prom_sample(out, name, "", l, 2, render_prom_entry_value(&e, fam->off), 0);
			l[1].value = "out";
			render_prom_sample(out, name, "", l, 2,
			    render_prom_entry_value(&e, fam->off_out), 0);
		}
	}
}

/* A backend the master checks, or did: its checks' families have a sample for it. */
static int
render_prom_checked(const struct snapshot_entry *e)
{
	return e->check_state != STATS_CHECK_NONE || e->checks_ok + e->checks_failed != 0;
}

/* The active checks' families (checked backends only) and each route's balance mode. */
static void
render_prom_checks(struct textbuf *out, const struct snapshot *snap)
{
	struct render_prom_label l[RENDER_PROM_LABELS_MAX] = { { "backend", NULL }, { NULL, NULL } };
	const uint32_t n = snapshot_entry_count(snap, SNAPSHOT_BACKENDS);
	struct snapshot_entry e;

	render_prom_family(out, "passthrough_backend_check_up", RENDER_PROM_GAUGE,
	    "1 while the active checks hold the backend up, 0 while down.");
	for (uint32_t i = 0; i < n; i++) {
		if (snapshot_entry(snap, SNAPSHOT_BACKENDS, i, &e) &&
		    e.check_state != STATS_CHECK_NONE) {
			l[0].value = e.name;
			render_prom_sample(out, "passthrough_backend_check_up", "", l, 1,
			    e.check_state == STATS_CHECK_UP, 0);
		}
	}
	render_prom_family(out, "passthrough_backend_checks_total", RENDER_PROM_COUNTER,
	    "Active checks of a backend by result: passed (connected) or failed.");
	l[1].name = "result";
	for (uint32_t i = 0; i < n; i++) {
		if (!snapshot_entry(snap, SNAPSHOT_BACKENDS, i, &e) || !render_prom_checked(&e))
			continue;
		l[0].value = e.name;
		l[1].value = "passed";
		render_prom_sample(out, "passthrough_backend_checks_total", "", l, 2, e.checks_ok, 0);
		l[1].value = "failed";
		render_prom_sample(out, "passthrough_backend_checks_total", "", l, 2,
		    e.checks_failed, 0);
	}
	render_prom_family(out, "passthrough_backend_check_changed_seconds", RENDER_PROM_GAUGE,
	    "Unix time the active checks last took the backend up or down.");
	for (uint32_t i = 0; i < n; i++) {
		if (snapshot_entry(snap, SNAPSHOT_BACKENDS, i, &e) && e.check_changed_ms != 0) {
			l[0].value = e.name;
			render_prom_sample(out, "passthrough_backend_check_changed_seconds", "", l, 1,
			    e.check_changed_ms, RENDER_PROM_MS_DIGITS);
		}
	}
	render_prom_family(out, "passthrough_route_info", RENDER_PROM_GAUGE,
	    "1 for each route pattern in use, labelled with its balance mode.");
	l[0].name = "route";
	l[1].name = "balance";
	for (uint32_t i = 0; i < snapshot_entry_count(snap, SNAPSHOT_ROUTES); i++) {
		if (!snapshot_entry(snap, SNAPSHOT_ROUTES, i, &e) || !e.in_use)
			continue;
		l[0].value = e.name;
		l[1].value = snapshot_balance_name(e.balance);
		render_prom_sample(out, "passthrough_route_info", "", l, 2, 1, 0);
	}
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
	/* Families in the order a scrape lists them: process, totals, slots, entries, histograms. */
	render_prom_master(out, snap);
	render_prom_totals(out, snap);
	render_prom_workers(out, snap);
	for (unsigned t = 0; t < SNAPSHOT_TABLES; t++)
		render_prom_entries(out, snap, (enum snapshot_table)t);
	render_prom_checks(out, snap);
	for (unsigned k = 0; k < STATS_HIST_COUNT; k++)
		render_prom_hist(out, &snap->totals.hist[k], k);
}
