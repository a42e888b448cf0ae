/*
 * grid.h -- aligned text tables: columns sized to their widest cell,
 * numbers right-aligned, text left-aligned.
 */
#ifndef PASSTHROUGH_GRID_H
#define PASSTHROUGH_GRID_H

#include <stddef.h>

#include "textbuf.h"

enum grid_align {
	GRID_LEFT,
	GRID_RIGHT,
};

struct grid_column {
	const char *title;	/* NULL in every column: no title line */
	enum grid_align align;
};

struct grid {
	const struct grid_column *cols;
	size_t ncols;
	char **cells;		/* row-major, ncols per row */
	size_t count, cap;
	int failed;		/* a cell could not be stored: grid_render fails out */
};

void grid_init(struct grid *g, const struct grid_column *cols, size_t ncols);
void grid_free(struct grid *g);

/* Appends the next cell, row by row. */
void grid_cell(struct grid *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the titles (unless NULL) and every complete row, each line prefixed by indent. */
void grid_render(const struct grid *g, struct textbuf *out, const char *indent);

#endif
