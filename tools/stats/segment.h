/*
 * segment.h -- finding and mapping the statistics segment of a running
 * passthrough and the areas of its live workers, and mapping them anew
 * when passthrough restarted (the master recreates the segment under the
 * same name) or a worker was replaced.
 */
#ifndef PASSTHROUGH_SEGMENT_H
#define PASSTHROUGH_SEGMENT_H

#include <stddef.h>
#include <sys/types.h>

#include "stats.h"
#include "stats_tool.h"

/* A worker's area as this reader maps it. */
struct segment_area {
	const struct stats_area *map;	/* read-only; NULL: none mapped */
	uint64_t ino;			/* the object mapped: the line's area_ino then */
};

struct segment {
	struct stats stats;		/* the read-only mapping; stats.hdr NULL when none */
	char name[SEGMENT_NAME_MAX];	/* "/passthrough-1a2b3c4d" */
	dev_t dev;			/* of the mapped object: a new one is a restart */
	ino_t ino;
	struct segment_area *areas;	/* [STATS_LINES], by line */
};

/*
 * The shm name the master gives the segment of config_path: stats.name
 * when the file sets it, else derived from the path's absolute form.
 * Returns 0, or -errno when the path cannot be made absolute.
 */
int segment_name_for_config(char *buf, size_t size, const char *config_path);

/* "/NAME" from -n NAME or -n /NAME. 0, -EINVAL (empty or another '/') or -ENAMETOOLONG. */
int segment_name_from_arg(char *buf, size_t size, const char *arg);

/*
 * Maps name read-only. 0, -errno (-ENOENT: passthrough is not running), or
 * -EPROTO with *why set as stats_open_readonly() does.
 */
int segment_open(struct segment *seg, const char *name, const char **why);

/*
 * Before each snapshot of a long-running view: when the name now holds
 * another object (passthrough restarted), maps that one instead. Returns 0
 * when a segment is mapped, else what segment_open() returned (the old
 * mapping is then gone: its numbers would be stale).
 */
int segment_refresh(struct segment *seg, const char **why);

/*
 * The area of line whose line names it by ino, mapped read-only: the one
 * mapped already, or the object its name holds now if that is trusted as
 * the segment is (owner root or us, mode 0640 at most), is that very
 * object (st_ino) and is whole. NULL when not (the worker exited meanwhile,
 * or the object is not the master's).
 */
const struct stats_area *segment_area(struct segment *seg, uint32_t line, uint64_t ino);
/* Line is free: its area, if mapped, is let go. */
void segment_area_drop(struct segment *seg, uint32_t line);

void segment_close(struct segment *seg);

#endif
