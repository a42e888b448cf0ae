/*
 * top.h -- passthrough-stats --watch: a top-like view redrawn every few
 * seconds, with per-second rates between the last two snapshots.
 */
#ifndef PASSTHROUGH_TOP_H
#define PASSTHROUGH_TOP_H

#include "segment.h"
#include "snapshot.h"
#include "textbuf.h"

/*
 * One frame: cur's gauges, and rates of cur over prev measured seconds
 * apart. prev NULL (the first frame), seconds <= 0, or a prev of another
 * master (passthrough restarted) show rates as "-". Pure: appends to out
 * and reads nothing else.
 */
void top_render(struct textbuf *out, const struct snapshot *prev, const struct snapshot *cur,
    double seconds);

/*
 * Redraws every interval seconds until q, Ctrl-C, SIGTERM or SIGHUP; on a
 * terminal, in its alternate screen, which it restores. Returns an exit
 * status (TOOL_EXIT_OK, or TOOL_EXIT_FAIL when stdout fails).
 */
int top_run(struct segment *seg, double interval);

#endif
