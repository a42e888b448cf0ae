/*
 * daemon.h -- running detached: the double fork, the pid file, and sending
 * a signal to a running master named by its pid file (-s).
 */
#ifndef PASSTHROUGH_DAEMON_H
#define PASSTHROUGH_DAEMON_H

/*
 * Detaches: fork, setsid, fork, chdir /, stdin and stdout to /dev/null.
 * The first process waits until the daemon calls daemon_ready() (then it
 * exits 0) or dies (exit 1), so `passthrough -d` returns once it serves.
 * stderr stays open until daemon_ready() so start-up errors are seen.
 * Returns, in the daemon, the fd to pass to daemon_ready(); -errno on failure.
 */
int daemon_detach(void);
void daemon_ready(int fd, int keep_stderr);

/*
 * stdin, stdout (and stderr unless keep_stderr) to /dev/null: for workers
 * of a daemon, which must not hold the starting terminal or pipe open.
 */
void daemon_null_stdio(int keep_stderr);

/* 1 when pid is a running passthrough master (by its process name). */
int pid_is_passthrough(long pid);
/* 0, or -EEXIST when path names a live passthrough (logged with its pid). */
int pidfile_check(const char *path);
/* Writes our pid atomically (a temporary file renamed over path). 0 or -errno. */
int pidfile_write(const char *path);
/* Removes path if it still holds our pid. */
void pidfile_remove(const char *path);

/*
 * -s NAME: sends reload (SIGHUP), stop (SIGTERM), quit (SIGQUIT) or reopen
 * (SIGUSR1) to the master in pid_file. A reload waits for its outcome in
 * the statistics segment stats_shm and prints it: exit 0 when the new
 * configuration serves, 1 when it was refused (the old one still serves).
 * Returns an exit status, after printing what went wrong: DAEMON_NOT_RUNNING
 * when no passthrough runs there (no pid file, or its pid is not a running
 * passthrough), so that logrotate's postrotate can tell "nothing to reopen"
 * from a daemon it failed to signal (1).
 */
#define DAEMON_NOT_RUNNING 3	/* LSB's "program is not running" status */
int daemon_signal(const char *pid_file, const char *stats_shm, const char *name);

#endif
