/*
 * resolve.h -- backends named by host name follow DNS: the master resolves
 * every name again each resolve_ms in a short-lived child (it never blocks
 * the master's loop), reads the child's answers from a pipe as untrusted
 * bytes, keeps the last good addresses of a name that fails, and says
 * when a name's addresses changed (the master then publishes a generation).
 * resolve_wire.c: the pipe's records; resolve_expand.c: a route's backends
 * with each name as one backend per address.
 */
#ifndef PASSTHROUGH_RESOLVE_H
#define PASSTHROUGH_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "config.h"
#include "tunables.h"

struct master;

/* One host name and port the configuration's backends use. */
struct resolve_name {
	char *host;
	uint16_t port;
	struct addr *addrs;	/* the last good addresses: sorted, unique, port set */
	uint32_t addr_count;	/* >= 1 */
	int failing;		/* a failure was logged; said again only after a success */
};

struct resolve {
	struct resolve_name *names;	/* sorted by host, then port */
	uint32_t count;
	uint32_t interval_ms;		/* resolve_ms; 0: never again */
	pid_t pid;			/* the running child, or 0 */
	int fd;				/* the read end of its pipe, or -1 */
	uint64_t next_at;		/* ms: the next child starts; 0: none planned */
	uint64_t kill_at;		/* ms: the running child is killed */
	uint8_t *buf;			/* what the child wrote so far */
	size_t len, cap;
};

void resolve_init(struct resolve *r);

/*
 * The names of cfg's backends (a start or a reload), with the addresses
 * the load found; a running child is killed and reaped first. The next
 * child starts resolve_ms from now. 0, or -ENOMEM (the names are then none).
 */
int resolve_load(struct resolve *r, const struct config *cfg, uint64_t now);

/*
 * Starts a child when one is due (m: what it must close and who it runs
 * as), kills one past its time. Returns the ms until the next of these,
 * or -1 when none is planned.
 */
int resolve_tick(struct resolve *r, struct master *m, uint64_t now);

/*
 * The pipe is readable: reads it. Returns 1 when the child's answers are
 * complete (end of file) and changed some name's addresses (each change
 * and each new failure logged once): resolve_apply() them and publish.
 * Else 0.
 */
int resolve_read(struct resolve *r);

/* Every backend of cfg with a name gets its name's current addresses. 0 or -ENOMEM. */
int resolve_apply(const struct resolve *r, struct config *cfg);

/* pid was reaped (status from waitpid): 1 when it was the resolver child. */
int resolve_reaped(struct resolve *r, pid_t pid, int status);

/* Kills and reaps a running child, frees everything. */
void resolve_free(struct resolve *r);

/* ---- resolve_wire.c: the child's records on the pipe ---------------------- */

/*
 * A record: struct resolve_wire_head, then count struct resolve_wire_addr.
 * The child writes one per name, in the order of resolve.names.
 */
struct resolve_wire_head {
	uint32_t index;		/* the name's index: 0, 1, 2, ... in order */
	int32_t status;		/* 0, -ENOENT (no such name) or -EAGAIN (not now) */
	uint32_t count;		/* addresses that follow: 1..RESOLVE_ADDRS_MAX with status 0, else 0 */
};

struct resolve_wire_addr {
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint16_t zero;
	uint32_t scope;		/* IPv6 scope id; 0 for IPv4 */
	uint8_t ip[16];		/* IPv4: the first 4 bytes, the rest 0 */
};

enum resolve_wire_result {
	RESOLVE_WIRE_OK,	/* one record read */
	RESOLVE_WIRE_TORN,	/* the bytes end inside a record (or before one) */
	RESOLVE_WIRE_MALFORMED,	/* not a record this side would write */
};

/* The most bytes one record takes. */
#define RESOLVE_WIRE_REC_MAX (sizeof(struct resolve_wire_head) + \
	RESOLVE_ADDRS_MAX * sizeof(struct resolve_wire_addr))

/*
 * Writes the record of name index (status, and with status 0 addrs[count])
 * into out, which holds RESOLVE_WIRE_REC_MAX bytes. Returns its length.
 */
size_t resolve_wire_put(uint8_t *out, uint32_t index, int status,
    const struct addr *addrs, uint32_t count);

/*
 * Reads the record at buf[*off..len), which must be of name index want:
 * its status, and with status 0 its addresses (port 0) into addrs (room for
 * RESOLVE_ADDRS_MAX) and *count. *off moves past it on RESOLVE_WIRE_OK.
 * Every field is checked: the child parsed DNS answers.
 */
enum resolve_wire_result resolve_wire_next(const uint8_t *buf, size_t len, size_t *off,
    uint32_t want, int *status, struct addr *addrs, uint32_t *count);

/* ---- resolve_expand.c: routes with each name as its addresses ------------- */

/* Every route's backends as published, flattened in route order. */
struct resolve_expansion {
	struct addr *addrs;
	uint32_t *weights;
	uint32_t *flags;
	uint32_t *src;		/* the configured index each came from */
	uint32_t *first;	/* [route_count]: where a route's backends start */
	uint32_t *count;	/* [route_count]: how many it has */
	uint32_t total;
};

/*
 * Expands cfg: a backend with a name becomes one backend per current
 * address, each with its weight and flags. An address a route already has
 * (two names, or a name and a literal address) is kept once, where it came
 * first, with that backend's weight. Past MAX_BACKENDS_PER_ROUTE the first
 * ones are kept and it is logged. 0, or -ENOMEM.
 */
int resolve_expand(const struct config *cfg, struct resolve_expansion *x);
void resolve_expansion_free(struct resolve_expansion *x);

#endif
