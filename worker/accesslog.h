/*
 * accesslog.h -- one line per connection when it ends (log.access).
 *
 * Lines are formatted into a per-worker buffer and written through the
 * ring (IORING_OP_WRITE) once per loop turn, so a slow disk or a full pipe
 * never stalls the relay. Each write holds whole lines, and on a pipe at
 * most PIPE_BUF bytes, so lines from different workers never interleave
 * mid-line (files are opened O_APPEND). Two buffers alternate: one in
 * flight, one filling; when both are full, lines are dropped and counted.
 */
#ifndef PASSTHROUGH_ACCESSLOG_H
#define PASSTHROUGH_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "routes.h"

struct worker;
struct conn;
struct hello_info;

/* What a connection remembers for its line; allocated only when logging. */
struct access_meta {
	struct addr client;
	uint16_t sni_len;	/* 0: no SNI */
	uint16_t alpn_len;	/* 0: no ALPN */
	char text[];		/* the SNI, then the ALPN list as "h2,http/1.1" */
};

#define ACCESSLOG_BUF_BYTES (64u * 1024)	/* per buffer; two per worker */

enum accesslog_dest {
	ACCESS_OFF,
	ACCESS_FD,		/* a file (O_APPEND) or stderr */
	ACCESS_SYSLOG,
};

struct accesslog {
	enum accesslog_dest dest;
	int fd;
	int pipe_like;		/* writes are capped at PIPE_BUF */
	uint32_t format;	/* enum access_format */
	char *buf[2];
	uint32_t len[2];
	int filling;		/* index of the buffer lines go to */
	int in_flight;		/* 1 while buf[!filling] is being written */
	uint32_t off;		/* bytes of the in-flight buffer already written */
	uint64_t dropped;
	char setting[ROUTES_ACCESS_MAX];	/* log.access in use */
	time_t second;			/* ... of second_text, the timestamp's first part */
	char second_text[24];		/* "2026-11-26T12:00:00" */
} __attribute__((aligned(64)));

/* Applies the settings published with the route table, if they changed. */
void accesslog_configure(struct worker *w);
/* SIGUSR1: reopens a file (logrotate moved it). */
void accesslog_reopen(struct worker *w);
/* Flushes: starts a write of what the filling buffer holds, if none is in flight. */
void accesslog_flush(struct worker *w);
/* The write's completion. */
void accesslog_on_write(struct worker *w, int res);
void accesslog_on_poll(struct worker *w);
/* 1 while a write (or its poll) is in flight. */
int accesslog_busy(const struct worker *w);
/* At exit: writes what is left, synchronously. */
void accesslog_close(struct worker *w);

/* At accept (client address) and at routing (SNI, ALPN): fill c->meta. */
void accesslog_accept(struct worker *w, struct conn *c);
void accesslog_hello(struct worker *w, struct conn *c, const struct hello_info *info);
/* At the end of c: appends its line. */
void accesslog_conn(struct worker *w, const struct conn *c);

#endif
