/*
 * logs.c -- the log files the master opens for itself and the workers
 * (log.error, log.access): opened without following symlinks, only regular
 * files and FIFOs, given to the worker user only when just created, and
 * handed to each worker over its control channel (fdpass.h). Workers never
 * open a log path: they need no access to the log directory.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"
#include "log.h"
#include "master.h"

/* log.error, else syslog for a daemon and stderr in the foreground. */
const char *
logs_error_dest(const struct master *m, const struct config *cfg)
{
	if (cfg->error_log != NULL)
		return cfg->error_log;
	return m->detached ? "syslog" : "stderr";
}

/* A log setting that names a file (not stderr, syslog or off). */
static int
logs_is_file(const char *dest)
{
	return dest != NULL && dest[0] == '/';
}

/*
 * Opens a log file for this process and the workers (log_open_file(): no
 * symlink, a regular file or a FIFO, non-blocking). Only a file this open
 * created is given to the worker user: an existing one keeps its owner.
 * Returns the fd, or -errno (logged).
 */
static int
logs_file(const struct config *cfg, const char *path, const char *setting)
{
	int created, fd = log_open_file(path, &created);

	if (fd < 0) {
		log_error("%s: cannot open %s: %s", setting, path, log_file_error(fd));
		return fd;
	}
	if (created && cfg->user != NULL && fchown(fd, cfg->uid, cfg->gid) != 0)
		log_warn("%s: cannot give %s to user %s: %s", setting, path, cfg->user,
		    strerror(errno));
	return fd;
}

/*
 * log.access of m->cfg opened into m->access_fd (-1 when it is not a
 * file). On failure, with keep, the open one stays (SIGUSR1: the old file
 * is better than none); without, the access log is off until fixed.
 */
void
logs_open_access(struct master *m, int keep)
{
	const char *path = m->cfg.access_log;
	int fd = -1;

	if (logs_is_file(path) && (fd = logs_file(&m->cfg, path, "log.access")) < 0 &&
	    keep && m->access_fd >= 0) {
		log_warn("log.access: the workers keep writing to the file open before");
		return;
	}
	if (m->access_fd >= 0)
		close(m->access_fd);
	m->access_fd = fd < 0 ? -1 : fd;
}

int
logs_send(const struct master *m, int chan)
{
	struct fdpass_msg msg = { .type = FDPASS_LOGS,
	    .generation = m->routes.generation };
	int fds[2], fd = log_file_fd();
	unsigned n = 0;

	if (fd >= 0) {
		msg.flags |= FDPASS_LOG_ERROR;
		fds[n++] = fd;
	}
	if (m->access_fd >= 0) {
		msg.flags |= FDPASS_LOG_ACCESS;
		fds[n++] = m->access_fd;
	}
	return fdpass_send(chan, &msg, fds, n);
}

/* The log files to every worker, then sig (0: none, the caller wakes them) to take them. */
static void
logs_broadcast(struct master *m, int sig)
{
	int rc;

	for (unsigned i = 0; i < m->proc_count; i++)
		if ((rc = logs_send(m, m->procs[i].chan)) != 0)
			log_warn("worker %u (pid %d): cannot hand it the log files: %s",
			    m->procs[i].slot, (int)m->procs[i].pid, strerror(-rc));
	if (sig != 0)
		workers_signal(m, sig);
}

/* The master's own log (log.error): 0, or -errno (logged) with the one before kept. */
int
logs_open_error(const struct master *m, const struct config *cfg)
{
	const char *dest = logs_error_dest(m, cfg);
	int rc;

	if (logs_is_file(dest)) {
		if ((rc = logs_file(cfg, dest, "log.error")) < 0)
			return rc;
		log_adopt(rc, dest);
		return 0;
	}
	rc = log_open(dest);
	if (rc != 0)
		log_error("log.error: cannot open %s: %s", dest, strerror(-rc));
	return rc;
}

/* SIGUSR1: both logs opened again by name (logrotate moved them) and handed on. */
void
logs_reopen(struct master *m)
{
	(void)logs_open_error(m, &m->cfg);
	logs_open_access(m, 1);
	logs_broadcast(m, SIGUSR1);
}

/*
 * A reload (m->cfg new, prev the one before) that moves log.error or
 * log.access: the workers get the new files (the caller wakes them).
 */
void
logs_reload(struct master *m, const struct config *prev)
{
	int access = config_string_changed(prev->access_log, m->cfg.access_log);

	if (!access && !config_string_changed(prev->error_log, m->cfg.error_log))
		return;
	if (access)
		logs_open_access(m, 0);
	logs_broadcast(m, 0);
}
