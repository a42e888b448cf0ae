/*
 * render_table.c -- the default view: the master's state, a table per
 * worker, route and backend, totals, close reasons and latency percentiles.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "grid.h"
#include "human.h"
#include "render.h"
#include "sha256.h"

#define PERCENT			100.0
#define RENDER_TABLE_INDENT	"  "

/* The quantiles the histogram summary shows, in the order of its P columns. */
static const double render_table_quantiles[] = { 0.50, 0.90, 0.99 };
#define RENDER_TABLE_QUANTILES (sizeof(render_table_quantiles) / sizeof(render_table_quantiles[0]))

static void
render_table_grid_done(struct grid *g, struct textbuf *out)
{
	grid_render(g, out, RENDER_TABLE_INDENT);
	grid_free(g);
}

static void
render_table_reload(struct textbuf *out, const struct snapshot *snap)
{
	const struct stats_header *h = &snap->hdr;
	char when[HUMAN_LEN], ago[HUMAN_LEN];

	textbuf_printf(out, "  reloads     %" PRIu64 " ok, %" PRIu64 " failed", h->reloads_ok,
	    h->reloads_failed);
	if (h->last_reload_ms == 0) {
		textbuf_puts(out, "; none yet\n");
		return;
	}
	textbuf_printf(out, "; last %s (%s ago): %s", human_time_ms(h->last_reload_ms, when,
	    sizeof(when)), human_age_ms(snapshot_age_ms(snap, h->last_reload_ms),
	    ago, sizeof(ago)), h->last_reload_ok ? "ok" : "FAILED");
	if (h->last_reload_message[0] != '\0')
		textbuf_printf(out, ": %s", h->last_reload_message);
	textbuf_puts(out, "\n");
}

/* The configuration serving by its SHA-256, and the one a failed reload refused. */
static void
render_table_config(struct textbuf *out, const struct stats_header *h)
{
	char hex[SHA256_HEX_SIZE];

	if (sha256_is_zero(h->config_sha256))
		return;
	sha256_hex(h->config_sha256, hex);
	textbuf_printf(out, "  config      sha256 %s", hex);
	if (h->last_reload_ms != 0 && !h->last_reload_ok &&
	    !sha256_is_zero(h->last_reload_sha256) &&
	    memcmp(h->last_reload_sha256, h->config_sha256, SHA256_BYTES) != 0) {
		sha256_hex(h->last_reload_sha256, hex);
		textbuf_printf(out, "; refused %s", hex);
	}
	textbuf_puts(out, "\n");
}

static void
render_table_header(struct textbuf *out, const struct snapshot *snap)
{
	const struct stats_header *h = &snap->hdr;
	char now[HUMAN_LEN], since[HUMAN_LEN], up[HUMAN_LEN];

	textbuf_printf(out, "passthrough statistics %s at %s\n", snap->segment,
	    human_time_ms(snap->taken_ms, now, sizeof(now)));
	textbuf_printf(out, "  master      pid %" PRIu32 ", up %s (since %s)\n", h->master_pid,
	    human_age_ms(snapshot_age_ms(snap, h->started_ms), up, sizeof(up)),
	    human_time_ms(h->started_ms, since, sizeof(since)));
	textbuf_printf(out, "  workers     %" PRIu32 " running of %" PRIu32 " configured",
	    snap->worker_count - snap->retiring, h->workers);
	if (snap->retiring > 0)
		textbuf_printf(out, ", %" PRIu32 " more draining after a reload", snap->retiring);
	textbuf_printf(out, "\n  generation  %" PRIu64 "\n", h->generation);
	render_table_config(out, h);
	render_table_reload(out, snap);
}

static void
render_table_workers(struct textbuf *out, const struct snapshot *snap)
{
	static const struct grid_column cols[] = {
		{ "SLOT", GRID_RIGHT }, { "PID", GRID_RIGHT }, { "STATE", GRID_LEFT },
		{ "ENGINE", GRID_LEFT }, { "UPTIME", GRID_RIGHT }, { "RESTARTS", GRID_RIGHT }, { "GEN", GRID_RIGHT },
		{ "ACCEPTED", GRID_RIGHT }, { "ACTIVE", GRID_RIGHT }, { "HELLO", GRID_RIGHT },
		{ "RELAYING", GRID_RIGHT }, { "BYTES IN", GRID_RIGHT }, { "BYTES OUT", GRID_RIGHT },
	};
	char up[HUMAN_LEN], in[HUMAN_LEN], outb[HUMAN_LEN];
	struct grid g;

	textbuf_puts(out, "\nWORKERS\n");
	if (snap->worker_count == 0) {
		textbuf_puts(out, RENDER_TABLE_INDENT "(no worker running)\n");
		return;
	}
	grid_init(&g, cols, sizeof(cols) / sizeof(cols[0]));
	for (uint32_t i = 0; i < snap->worker_count; i++) {
		const struct snapshot_worker *w = &snap->workers[i];

		grid_cell(&g, "%" PRIu32, w->slot);
		grid_cell(&g, "%" PRIu32, w->pid);
		grid_cell(&g, "%s", w->retiring ? "draining" : "serving");
		grid_cell(&g, "%s", stats_engine_str(w->engine));
		grid_cell(&g, "%s", human_age_ms(snapshot_age_ms(snap, w->started_ms),
		    up, sizeof(up)));
		grid_cell(&g, "%" PRIu32, w->restarts);
		grid_cell(&g, "%" PRIu64, w->generation);
		grid_cell(&g, "%" PRIu64, w->c.accepted);
		grid_cell(&g, "%" PRIu64, w->active);
		grid_cell(&g, "%" PRIu64, w->in_hello);
		grid_cell(&g, "%" PRIu64, w->relaying);
		grid_cell(&g, "%s", human_bytes((double)w->c.bytes_in, in, sizeof(in)));
		grid_cell(&g, "%s", human_bytes((double)w->c.bytes_out, outb, sizeof(outb)));
	}
	render_table_grid_done(&g, out);
}

static void
render_table_totals(struct textbuf *out, const struct snapshot *snap)
{
	static const struct grid_column cols[] = {
		{ NULL, GRID_LEFT }, { NULL, GRID_RIGHT }, { NULL, GRID_LEFT }, { NULL, GRID_RIGHT },
	};
	const struct stats_counters *t = &snap->totals;
	char a[HUMAN_LEN], b[HUMAN_LEN];
	struct grid g;

	textbuf_puts(out, "\nTOTALS (running and exited workers)\n");
	grid_init(&g, cols, sizeof(cols) / sizeof(cols[0]));
	grid_cell(&g, "accepted");
	grid_cell(&g, "%" PRIu64, t->accepted);
	grid_cell(&g, "accept errors");
	grid_cell(&g, "%" PRIu64, t->accept_errors);
	grid_cell(&g, "active");
	grid_cell(&g, "%" PRIu64, snap->active);
	grid_cell(&g, "in hello / relaying");
	grid_cell(&g, "%" PRIu64 " / %" PRIu64, snap->in_hello, snap->relaying);
	grid_cell(&g, "bytes in");
	grid_cell(&g, "%s", human_bytes((double)t->bytes_in, a, sizeof(a)));
	grid_cell(&g, "bytes out");
	grid_cell(&g, "%s", human_bytes((double)t->bytes_out, b, sizeof(b)));
	grid_cell(&g, "spliced");
	grid_cell(&g, "%s", human_bytes((double)t->bytes_spliced, a, sizeof(a)));
	grid_cell(&g, "copied");
	grid_cell(&g, "%s", human_bytes((double)t->bytes_copied, b, sizeof(b)));
	grid_cell(&g, "proxy headers");
	grid_cell(&g, "%" PRIu64, t->proxy_headers);
	grid_cell(&g, "all backends down");
	grid_cell(&g, "%" PRIu64, t->all_down);
	render_table_grid_done(&g, out);
}

/* A backend's active checks: its state, weight, checks passed/failed and last change. */
static void
render_table_backend_state(struct grid *g, const struct snapshot *snap,
    const struct snapshot_entry *e)
{
	char ago[HUMAN_LEN];

	grid_cell(g, "%s", snapshot_backend_state(e));
	grid_cell(g, "%" PRIu64, e->weight);
	if (e->check_state == STATS_CHECK_NONE && e->checks_ok + e->checks_failed == 0)
		grid_cell(g, "-");
	else
		grid_cell(g, "%" PRIu64 "/%" PRIu64, e->checks_ok, e->checks_failed);
	if (e->check_changed_ms == 0)
		grid_cell(g, "-");
	else
		grid_cell(g, "%s ago", human_age_ms(snapshot_age_ms(snap, e->check_changed_ms),
		    ago, sizeof(ago)));
}

/*
 * ROUTES or BACKENDS: one row per entry shown. Routes add their balance
 * mode; backends their state, weight and checks, and the TIMEOUTS and
 * passive health columns (last, where scripts find them).
 */
static void
render_table_entries(struct textbuf *out, const struct snapshot *snap, enum snapshot_table table)
{
	static const struct grid_column route_cols[] = {
		{ "ROUTE", GRID_LEFT }, { "IN USE", GRID_LEFT }, { "BALANCE", GRID_LEFT },
		{ "CONNECTIONS", GRID_RIGHT }, { "ACTIVE", GRID_RIGHT }, { "BYTES IN", GRID_RIGHT },
		{ "BYTES OUT", GRID_RIGHT }, { "CONNECT FAILURES", GRID_RIGHT },
	};
	static const struct grid_column backend_cols[] = {
		{ "BACKEND", GRID_LEFT }, { "IN USE", GRID_LEFT }, { "STATE", GRID_LEFT },
		{ "WEIGHT", GRID_RIGHT }, { "CHECKS OK/FAILED", GRID_RIGHT },
		{ "LAST CHANGE", GRID_RIGHT },
		{ "CONNECTIONS", GRID_RIGHT }, { "ACTIVE", GRID_RIGHT }, { "BYTES IN", GRID_RIGHT },
		{ "BYTES OUT", GRID_RIGHT }, { "CONNECT FAILURES", GRID_RIGHT },
		{ "TIMEOUTS", GRID_RIGHT }, { "DOWN", GRID_LEFT }, { "WENT DOWN", GRID_RIGHT },
	};
	int backends = table == SNAPSHOT_BACKENDS;
	char in[HUMAN_LEN], outb[HUMAN_LEN];
	struct snapshot_entry e;
	struct grid g;

	textbuf_puts(out, backends ? "\nBACKENDS\n" : "\nROUTES\n");
	if (backends)
		grid_init(&g, backend_cols, sizeof(backend_cols) / sizeof(backend_cols[0]));
	else
		grid_init(&g, route_cols, sizeof(route_cols) / sizeof(route_cols[0]));
	for (uint32_t i = 0; i < snapshot_entry_count(snap, table); i++) {
		if (!snapshot_entry(snap, table, i, &e))
			continue;
		grid_cell(&g, "%s", e.name);
		grid_cell(&g, "%s", i == STATS_OTHER ? "-" : e.in_use ? "yes" : "no");
		if (backends)
			render_table_backend_state(&g, snap, &e);
		else
			grid_cell(&g, "%s", e.in_use ? snapshot_balance_name(e.balance) : "-");
		grid_cell(&g, "%" PRIu64, e.connections);
		grid_cell(&g, "%" PRIu64, e.active);
		grid_cell(&g, "%s", human_bytes((double)e.bytes_in, in, sizeof(in)));
		grid_cell(&g, "%s", human_bytes((double)e.bytes_out, outb, sizeof(outb)));
		grid_cell(&g, "%" PRIu64, e.connect_failures);
		if (!backends)
			continue;
		grid_cell(&g, "%" PRIu64, e.connect_timeouts);
		/* Health is each worker's own: "no", or in how many of the running ones. */
		if (e.down == 0)
			grid_cell(&g, "no");
		else
			grid_cell(&g, "%" PRIu64 " of %" PRIu32, e.down, snap->worker_count);
		grid_cell(&g, "%" PRIu64, e.went_down);
	}
	render_table_grid_done(&g, out);
}

static void
render_table_closes(struct textbuf *out, const struct snapshot *snap)
{
	static const struct grid_column cols[] = {
		{ "CLOSE REASON", GRID_LEFT }, { "COUNT", GRID_RIGHT }, { "SHARE", GRID_RIGHT },
	};
	const struct stats_counters *t = &snap->totals;
	uint64_t all = snapshot_closes(t);
	struct grid g;

	textbuf_puts(out, "\nCLOSED CONNECTIONS\n");
	if (all == 0) {
		textbuf_puts(out, RENDER_TABLE_INDENT "(none yet)\n");
		return;
	}
	grid_init(&g, cols, sizeof(cols) / sizeof(cols[0]));
	for (unsigned r = 0; r < CLOSE_REASON_COUNT; r++) {
		if (t->closes[r] == 0)
			continue;
		grid_cell(&g, "%s", close_reason_str(r));
		grid_cell(&g, "%" PRIu64, t->closes[r]);
		grid_cell(&g, "%.1f%%", PERCENT * (double)t->closes[r] / (double)all);
	}
	render_table_grid_done(&g, out);
}

/* A histogram value in its kind's unit, for people. */
static char *
render_table_hist_value(enum stats_hist_kind kind, double v, char *buf, size_t size)
{
	switch (kind) {
	case STATS_HIST_HELLO_BYTES:
		return human_bytes(v, buf, size);
	case STATS_HIST_CONNECT_US:
		return human_us(v, buf, size);
	case STATS_HIST_DURATION_MS:
	case STATS_HIST_COUNT:
		break;
	}
	return human_us(v * US_PER_MS, buf, size);
}

static void
render_table_quantile_cell(struct grid *g, const struct stats_hist *h, enum stats_hist_kind kind,
    double q)
{
	char value[HUMAN_LEN];
	int above;
	double v = snapshot_hist_quantile(h, kind, q, &above);

	if (v < 0)
		grid_cell(g, "-");
	else
		grid_cell(g, "%s%s", above ? ">" : "", render_table_hist_value(kind, v, value,
		    sizeof(value)));
}

static void
render_table_hists(struct textbuf *out, const struct snapshot *snap)
{
	static const struct grid_column cols[] = {
		{ "DISTRIBUTION", GRID_LEFT }, { "COUNT", GRID_RIGHT }, { "P50", GRID_RIGHT },
		{ "P90", GRID_RIGHT }, { "P99", GRID_RIGHT }, { "MEAN", GRID_RIGHT },
	};
	_Static_assert(sizeof(cols) / sizeof(cols[0]) == RENDER_TABLE_QUANTILES + 3,
	    "a column per quantile");
	char value[HUMAN_LEN];
	struct grid g;

	textbuf_puts(out, "\nDISTRIBUTIONS (estimated from histogram buckets)\n");
	grid_init(&g, cols, sizeof(cols) / sizeof(cols[0]));
	for (unsigned k = 0; k < STATS_HIST_COUNT; k++) {
		const struct stats_hist *h = &snap->totals.hist[k];
		uint64_t n = snapshot_hist_count(h);

		grid_cell(&g, "%s", render_hists[k].title);
		grid_cell(&g, "%" PRIu64, n);
		for (unsigned q = 0; q < RENDER_TABLE_QUANTILES; q++)
			render_table_quantile_cell(&g, h, k, render_table_quantiles[q]);
		if (n == 0)
			grid_cell(&g, "-");
		else
			grid_cell(&g, "%s", render_table_hist_value(k, (double)h->sum / (double)n,
			    value, sizeof(value)));
	}
	render_table_grid_done(&g, out);
}

void
render_table(struct textbuf *out, const struct snapshot *snap)
{
	render_table_header(out, snap);
	render_table_workers(out, snap);
	render_table_totals(out, snap);
	for (unsigned t = 0; t < SNAPSHOT_TABLES; t++)
		render_table_entries(out, snap, (enum snapshot_table)t);
	render_table_closes(out, snap);
	render_table_hists(out, snap);
}
