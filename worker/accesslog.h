/*
 * accesslog.h -- one line per connection when it ends (log.access).
 *
 * The log formats a plain struct access_record that the connection fills
 * at its close, and knows nothing of workers or connections. Lines are
 * formatted into a buffer and written through the event engine once per
 * loop turn, so a slow disk or a full pipe never stalls the relay. Each
 * write holds whole lines, and on a pipe at most PIPE_BUF bytes, so lines
 * from different workers never interleave mid-line (files are opened
 * O_APPEND). Two buffers alternate: one in flight, one filling; when both
 * are full, lines are dropped and counted.
 */
#ifndef PASSTHROUGH_ACCESSLOG_H
#define PASSTHROUGH_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "routes.h"
#include "stats.h"

struct engine;

/*
 * One connection's line. NULL strings and addresses print as "-" (text) or
 * null (JSON). In the text format the client's sni and alpn are printed as
 * tokens (common/token.h: percent-encoded outside [A-Za-z0-9._~/:-], the
 * ALPN list keeps its commas); JSON escapes them as JSON strings.
 */
struct access_record {
	const struct addr *client;
	const struct addr *listen;
	const char *sni;
	const char *alpn;		/* the client's list, "h2,http/1.1" */
	const char *route;		/* the route's pattern */
	const char *backend;		/* the last backend tried, "10.0.0.1:443" */
	uint64_t bytes_in;		/* client -> backend */
	uint64_t bytes_out;
	int connected;			/* connect_us holds the backend's connect time */
	uint32_t connect_us;
	uint64_t duration_ms;
	enum close_reason reason;
};

/* Longest line: addresses, a 255-byte SNI, an ALPN list cut to fit. */
#define ACCESSLOG_LINE_MAX 2048u
/* The longest ALPN list a connection keeps for its line. */
#define ACCESSLOG_ALPN_MAX (ACCESSLOG_LINE_MAX / 4)
/* An SNI (at most 255 bytes) as a token: each byte may become "%XX". */
#define ACCESSLOG_SNI_MAX (3u * 255 + 1)

#define ACCESSLOG_BUF_BYTES (64u * 1024)	/* per buffer; two per worker */

enum accesslog_dest {
	ACCESS_OFF,
	ACCESS_FD,		/* a file (O_APPEND) or stderr */
	ACCESS_SYSLOG,
};

/* At exit, how long the last lines may wait for a full pipe (a slow reader). ms */
#define ACCESSLOG_EXIT_MS 1000u

struct accesslog {
	enum accesslog_dest dest;
	int fd;			/* writes go here: file, STDERR_FILENO, or -1 */
	int file;		/* log.access's file, as the master sent it; or -1 */
	int next;		/* the master's newer file (or -1: none), taken between writes */
	int swap_due;		/* next is waiting for the write in flight to end */
	int to_file;		/* log.access names a file: fd is file */
	int pipe_like;		/* writes are capped at PIPE_BUF */
	uint32_t format;	/* enum access_format */
	struct engine *engine;	/* writes go through it */
	char *buf[2];
	uint32_t len[2];
	int filling;		/* index of the buffer lines go to */
	int in_flight;		/* 1 while buf[!filling] is being written (or waited on) */
	uint32_t off;		/* bytes of the in-flight buffer already written */
	uint64_t dropped;
	char setting[ROUTES_ACCESS_MAX];	/* log.access in use */
	time_t second;			/* ... of second_text, the timestamp's first part */
	char second_text[24];		/* "2026-11-26T12:00:00" */
} __attribute__((aligned(64)));

/* Before anything else: no file, nothing buffered, off. */
void accesslog_init(struct accesslog *a);
/*
 * Applies log.access and log.format (from the loop, never from an event
 * handler), if they changed; the first call also sets the engine writes
 * go through.
 */
void accesslog_configure(struct accesslog *a, struct engine *e, const char *access,
    uint32_t format);
/*
 * The file for log.access the master opened (SIGUSR1, a reload that moved
 * it; -1: none): taken over, and used once no write is in flight on the
 * one before (which is closed then). Workers never open a log path.
 */
void accesslog_adopt(struct accesslog *a, int fd);
/* 1 when lines are kept: a connection then remembers what its line needs. */
static inline int
accesslog_on(const struct accesslog *a)
{
	return a->dest != ACCESS_OFF;
}
/* Appends one line; when it is off, nothing. */
void accesslog_add(struct accesslog *a, const struct access_record *r);
/* Flushes: starts a write of what the filling buffer holds, if none is in flight. */
void accesslog_flush(struct accesslog *a);
/* The engine's EV_LOG_WRITE and EV_LOG_WRITABLE. */
void accesslog_on_write(struct accesslog *a, int res);
void accesslog_on_writable(struct accesslog *a);
/* 1 while a write (or its wait) is in flight. */
int accesslog_busy(const struct accesslog *a);
/* At exit, with the engine gone: writes what is left, synchronously. */
void accesslog_close(struct accesslog *a);

#endif
