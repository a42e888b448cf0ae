/*
 * render.h -- a snapshot as text: the table operators read, a JSON
 * document for scripts, and the Prometheus text exposition format 0.0.4.
 *
 * Each is a pure function: it appends to out and reads nothing but the
 * snapshot (its taken_ms stands for "now"). out->failed set afterwards
 * means the text is incomplete and must not be shown.
 */
#ifndef PASSTHROUGH_RENDER_H
#define PASSTHROUGH_RENDER_H

#include "snapshot.h"
#include "textbuf.h"

void render_table(struct textbuf *out, const struct snapshot *snap);
void render_json(struct textbuf *out, const struct snapshot *snap);
void render_prom(struct textbuf *out, const struct snapshot *snap);

/* A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD. */
void render_json_string(struct textbuf *out, const char *s);

/* A Prometheus label value without its quotes: \ " and newline escaped. */
void render_prom_label(struct textbuf *out, const char *value);

/* What each histogram is called and measured in, shared by the views. */
struct render_hist_info {
	const char *title;		/* the table's row: "backend connect" */
	const char *json_key;		/* "connect_duration_us" */
	const char *prom_name;		/* "passthrough_connect_duration_seconds" */
	const char *help;
	unsigned prom_scale_digits;	/* segment unit = 10^-digits of the Prometheus unit */
};
extern const struct render_hist_info render_hists[STATS_HIST_COUNT];

#endif
