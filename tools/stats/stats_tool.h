/*
 * stats_tool.h -- every fixed number passthrough-stats uses, with its unit
 * and why (the tool's counterpart of common/tunables.h).
 */
#ifndef PASSTHROUGH_STATS_TOOL_H
#define PASSTHROUGH_STATS_TOOL_H

/* Exit statuses: the convention of passthrough itself. */
#define TOOL_EXIT_OK		0
#define TOOL_EXIT_FAIL		1	/* no segment, an I/O error */
#define TOOL_EXIT_USAGE		2	/* a bad command line */

/* Time units. */
#define MS_PER_S		1000u
#define US_PER_MS		1000u
#define US_PER_S		1000000u
#define NS_PER_MS		1000000u
#define NS_PER_S		1000000000ull

/* Bytes a shm name may have with its '/': struct stats keeps it in 64. */
#define SEGMENT_NAME_MAX	64u

/*
 * The seqlock reader: the master holds fold_seq odd only while it adds one
 * exited worker's ~100 counters into `retired` (microseconds), so a short
 * pause and a few tries always see it even; still failing means the master
 * died mid-fold, and the reader says so instead of spinning.
 */
#define SNAPSHOT_TRIES		50
#define SNAPSHOT_RETRY_US	1000u	/* 50 tries x 1 ms: 50 ms at most */
/* Room for workers that start while the lines are copied; more: copied again. */
#define SNAPSHOT_LINES_SLACK	8u

/*
 * Output buffers grow by doubling up to this; a segment of 65536 routes and
 * backends renders to tens of MiB, so 1 GiB only stops a runaway.
 */
#define TEXTBUF_MIN		4096u
#define TEXTBUF_MAX		(1ul << 30)

/* Human-readable numbers: "1023.9 MiB" and "12d 23h" fit with room to spare. */
#define HUMAN_LEN		32u
#define HUMAN_UNIT		1024.0	/* IEC units: KiB, MiB, GiB */

/*
 * --check: a heartbeat (common/stats.h) older than this means its process
 * stopped, hung or died. Five missed beats: a master busy loading a large
 * configuration for a second or two, or a loaded machine, is not taken for
 * dead; a probe every 10 s still notices within one or two periods.
 */
#define CHECK_STALE_MS		(5u * STATS_HEARTBEAT_MS)

/* --watch: the refresh interval the operator may ask for, seconds. */
#define TOP_INTERVAL_MIN	0.1	/* below that the rates are mostly noise */
#define TOP_INTERVAL_MAX	86400.0	/* a day; a bound only to reject typos */

/*
 * --serve: a metrics endpoint is scraped by a Prometheus or two and read by
 * an operator's curl, so a few dozen clients at once are plenty; the rest
 * wait in the listen backlog.
 */
#define SERVE_CLIENTS_MAX	32u
#define SERVE_BACKLOG		64	/* listen(2): a burst of scrapes queues, not fails */
#define SERVE_REQUEST_MAX	8192u	/* a GET with headers fits in 1 KiB; 8 KiB as nginx */
#define SERVE_REQUEST_MS	5000u	/* a request must arrive within this (slowloris bound) */
#define SERVE_WRITE_MS		5000u	/* a response must be taken within this */
/* After the response, unread request bytes are drained so the close sends
 * FIN, not RST (which could destroy the response in flight); only briefly. */
#define SERVE_LINGER_MS		1000u
#define SERVE_READ_CHUNK	4096u	/* bytes drained per recv while lingering */

#endif
