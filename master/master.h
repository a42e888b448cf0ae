/*
 * master.h -- the master process: it owns the configuration, the route
 * table segment, the listening sockets and the worker processes; it
 * reloads, supervises and stops. Signal handlers only set flags; the loop
 * in master.c acts on them.
 */
#ifndef PASSTHROUGH_MASTER_H
#define PASSTHROUGH_MASTER_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "checks.h"
#include "config.h"
#include "counters.h"
#include "listeners.h"
#include "resolve.h"
#include "rtshm.h"

enum master_flags {
	MASTER_DAEMON = 1 << 0,		/* -d: detach, pid file, log to syslog by default */
};

/* A worker process. Across a reload that changes sockets, old and new overlap. */
struct proc {
	pid_t pid;
	unsigned slot;
	unsigned report;	/* its line in the statistics segment */
	uint64_t routes_sent;	/* the route table generation it was last sent */
	uint64_t routes_late_ms;	/* since when it has not taken the current one; 0: it has */
	int routes_said;	/* that was logged */
	int retiring;		/* told to finish its connections and exit */
	uint64_t started_ms;
	uint64_t kill_at;	/* retiring: SIGKILL once this passes (ms) */
	int chan;		/* our end of its control channel (fdpass.h) */
	uint64_t area_seq;	/* its place in start order (struct master's area_seq) */
	uint64_t areas_sent;	/* the areas of workers started up to this place are its */
};

/* What a slot remembers across its worker's deaths. */
struct slot_state {
	uint64_t restart_at;	/* ms; 0: nothing scheduled */
	uint32_t backoff_ms;
	uint32_t restarts;
};

struct master {
	struct config cfg;		/* the configuration in force */
	const char *path;
	int flags;			/* enum master_flags */
	struct rtshm routes;		/* the current route table generation */
	struct counters counters;	/* the statistics segment */
	struct listeners listeners;	/* of the current workers */
	unsigned workers;		/* slots of the current set */
	struct slot_state *slots;	/* [workers] */
	struct proc *procs;		/* live worker processes */
	unsigned proc_count;
	unsigned proc_cap;
	uint8_t *report_used;		/* [STATS_LINES] */
	int stopping;			/* no restarts from here on */
	int ready_sent;			/* systemd READY=1 sent since the last (re)start */
	int watch_fd;			/* inotify, or -1 */
	int ready_fd;			/* -d: tells the starting process we serve; or -1 */
	int access_fd;			/* log.access when it is a file, for the workers; or -1 */
	int detached;			/* -d and past the fork: log to syslog by default */
	uint64_t reload_at;		/* ms; a debounced or retried reload is due */
	uint64_t config_hash;		/* of the file text last loaded */
	uint64_t area_seq;		/* workers started so far: each one's place */
	struct resolve resolve;		/* backends' host names resolved again */
	struct checks checks;		/* active health checks of the current generation */
	unsigned engine;		/* enum engine_kind every worker runs: settled at start */
};

/* Runs the proxy; takes cfg over. Returns the process exit status. */
int master_run(struct config *cfg, const char *path, int flags);

/* logs.c */
/* log.error, else syslog for a daemon and stderr in the foreground. */
const char *logs_error_dest(const struct master *m, const struct config *cfg);
/* The master's own log (log.error): 0, or -errno (logged) with the one before kept. */
int logs_open_error(const struct master *m, const struct config *cfg);
/*
 * log.access of m->cfg opened into m->access_fd (-1 when it is not a
 * file). On failure, with keep, the open one stays; without, it is off.
 */
void logs_open_access(struct master *m, int keep);
/*
 * Sends the log files (log.error and log.access, those that are files) on
 * a worker's control channel (fdpass.h). 0 or -errno.
 */
int logs_send(const struct master *m, int chan);
/* SIGUSR1: both logs opened again by name (logrotate moved them), handed on. */
void logs_reopen(struct master *m);
/* A reload (m->cfg new, prev the old) that moves a log: the workers get the new files. */
void logs_reload(struct master *m, const struct config *prev);

/* workers.c */
int workers_start(struct master *m);
void workers_reap(struct master *m);
int workers_restart_due(struct master *m, uint64_t now);
void workers_retire(struct master *m, int all);
void workers_signal(struct master *m, int sig);
unsigned workers_alive(const struct master *m);
int workers_ready(const struct master *m);
void workers_kill_late(struct master *m, uint64_t now);
/*
 * Sends the current route table generation to every worker that does not
 * have it yet, and to each the statistics areas of workers started after
 * it. Returns -1 when all have them, else the ms until the next try (a
 * worker that has not read what it was sent before gets nothing more).
 * wake: SIGUSR2 to each worker sent one. A publish passes 0 and signals
 * them all only after storing the header's generation: a worker woken
 * before that store would route by the new generation while another,
 * looking only at the header, still routes by the old one, so a
 * connection begun after one answered by the new routes could still get
 * the old (seen under ASan, where the master is slow between the sends).
 */
int workers_send_routes(struct master *m, int wake);
void workers_free(struct master *m);
/*
 * In a child of the master: cfg's group and user for good, and no new
 * privileges. 0, or -1 (logged). The resolver child runs this too.
 */
int workers_drop_privileges(const struct config *cfg);


#endif
