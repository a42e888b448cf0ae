/* grid.c -- aligned text tables for the table and --watch views. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"

#define GRID_GAP	2	/* spaces between columns: readable, still compact */
#define GRID_FIRST_CAP	64	/* cells; doubled as rows come */

void
grid_init(struct grid *g, const struct grid_column *cols, size_t ncols)
{
	memset(g, 0, sizeof(*g));
	g->cols = cols;
	g->ncols = ncols;
}

void
grid_free(struct grid *g)
{
	for (size_t i = 0; i < g->count; i++)
		free(g->cells[i]);
	free(g->cells);
	grid_init(g, g->cols, g->ncols);
}

void
grid_cell(struct grid *g, const char *fmt, ...)
{
	size_t cap = g->cap == 0 ? GRID_FIRST_CAP : 2 * g->cap;
	char **cells, *cell;
	va_list ap;
	int n;

	if (g->failed)
		return;
	if (g->count == g->cap) {
		cells = realloc(g->cells, cap * sizeof(*cells));
		if (cells == NULL) {
			g->failed = 1;
			return;
		}
		g->cells = cells;
		g->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&cell, fmt, ap);
	va_end(ap);
	if (n < 0) {
		g->failed = 1;
		return;
	}
	g->cells[g->count++] = cell;
}

/* One line: cells[0..ncols), padded to widths; no spaces at its end. */
static void
grid_line(const struct grid *g, const char *const *cells, const size_t *widths,
    struct textbuf *out, const char *indent)
{
	size_t pending = 0;	/* padding owed before the next text */

	textbuf_puts(out, indent);
	for (size_t c = 0; c < g->ncols; c++) {
		size_t len = strlen(cells[c]), pad = widths[c] - len;

		if (c > 0)
			pending += GRID_GAP;
		if (g->cols[c].align == GRID_RIGHT) {
			pending += pad;
			pad = 0;
		}
		if (len > 0) {
			textbuf_repeat(out, ' ', pending);
			textbuf_append(out, cells[c], len);
			pending = 0;
		}
		pending += pad;
	}
	textbuf_puts(out, "\n");
}

void
grid_render(const struct grid *g, struct textbuf *out, const char *indent)
{
	const char **titles;
	size_t *widths, rows = g->ncols == 0 ? 0 : g->count / g->ncols;

	widths = calloc(g->ncols, sizeof(*widths));
	titles = calloc(g->ncols, sizeof(*titles));
	if (g->failed || widths == NULL || titles == NULL) {
		out->failed = 1;
		goto done;
	}
	for (size_t c = 0; c < g->ncols; c++) {
		titles[c] = g->cols[c].title != NULL ? g->cols[c].title : "";
		widths[c] = strlen(titles[c]);
		for (size_t r = 0; r < rows; r++) {
			size_t len = strlen(g->cells[r * g->ncols + c]);

			if (len > widths[c])
				widths[c] = len;
		}
	}
	if (g->cols[0].title != NULL)
		grid_line(g, titles, widths, out, indent);
	for (size_t r = 0; r < rows; r++)
		grid_line(g, (const char *const *)&g->cells[r * g->ncols], widths, out, indent);
done:
	free(widths);
	free(titles);
}
