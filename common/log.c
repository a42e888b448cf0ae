/* log.c -- one-line log records to stderr, a file or syslog. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;
static char log_role[32];
static int log_fd = STDERR_FILENO;	/* -1: syslog */
static char log_path[PATH_MAX];		/* the file, when logging to one */
static int log_echo;			/* copy records to stderr too */

void
log_set_echo(int on)
{
	log_echo = on;
}

static const int log_syslog_prio[] = {
	[LOG_LVL_ERROR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

/*
 * O_NONBLOCK: opening a FIFO never waits for a reader, and writes to one
 * never block (a stalled reader costs lines, not the process). No
 * O_CREAT on the second try: a name that exists is taken as it is, never
 * re-created or chowned, and O_NOFOLLOW refuses it when it is a symlink.
 */
#define LOG_OPEN_FLAGS (O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

int
log_open_file(const char *path, int *created)
{
	struct stat st;
	int fd = -1;

	if (created != NULL)
		*created = 0;
	/* Twice: a file removed between the two opens is then made afresh. */
	for (int tries = 0; tries < 2 && fd < 0; tries++) {
		fd = open(path, LOG_OPEN_FLAGS | O_CREAT | O_EXCL, LOG_FILE_MODE);
		if (fd >= 0) {
			if (created != NULL)
				*created = 1;
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
		fd = open(path, LOG_OPEN_FLAGS);
		if (fd < 0 && errno != ENOENT)
			return -errno;
	}
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) ||
	    (S_ISREG(st.st_mode) && st.st_nlink != 1)) {
		int rc = S_ISREG(st.st_mode) ? -EMLINK : -EINVAL;

		close(fd);
		return rc;
	}
	return fd;
}

const char *
log_file_error(int rc)
{
	switch (rc) {
	case -ELOOP:
		return "it is a symbolic link (log files are opened without following one)";
	case -ENXIO:
		return "it is a FIFO that no process reads (start its reader first)";
	case -EINVAL:
		return "it is neither a regular file nor a FIFO";
	case -EMLINK:
		return "it is a file with other hard links";
	default:
		return strerror(-rc);
	}
}

void
log_open_syslog(void)
{
	openlog("passthrough", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_adopt(int fd, const char *path)
{
	if (log_fd > STDERR_FILENO && log_fd != fd)
		close(log_fd);
	log_fd = fd;
	snprintf(log_path, sizeof(log_path), "%s", path != NULL ? path : "");
}

int
log_file_fd(void)
{
	return log_path[0] != '\0' || log_fd > STDERR_FILENO ? log_fd : -1;
}

int
log_open(const char *dest)
{
	int fd;

	if (strcmp(dest, "stderr") == 0) {
		fd = STDERR_FILENO;
		log_path[0] = '\0';
	} else if (strcmp(dest, "syslog") == 0) {
		log_open_syslog();
		fd = -1;
		log_path[0] = '\0';
	} else {
		if (strlen(dest) >= sizeof(log_path))
			return -ENAMETOOLONG;
		if ((fd = log_open_file(dest, NULL)) < 0)
			return fd;
		strcpy(log_path, dest);
	}
	if (log_fd > STDERR_FILENO && log_fd != fd)
		close(log_fd);
	log_fd = fd;
	return 0;
}

int
log_reopen(void)
{
	int fd;

	if (log_path[0] == '\0')
		return 0;
	if ((fd = log_open_file(log_path, NULL)) < 0)
		return fd;
	/* dup2 keeps the number: a record written meanwhile goes to one file or the other. */
	if (dup2(fd, log_fd) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

static const char *const log_level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_role(const char *role)
{
	if (role == NULL)
		log_role[0] = '\0';
	else
		snprintf(log_role, sizeof(log_role), "%s", role);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int saved_errno = errno;
	va_list ap;

	if (level > log_level)
		return;
	if (log_fd < 0) {
		/* syslog stamps time and pid itself. */
		n = (size_t)snprintf(line, sizeof(line), "%s%s%s: ", log_role,
		    log_role[0] != '\0' ? ": " : "", log_level_names[level]);
		va_start(ap, fmt);
		errno = saved_errno;
		if (n < sizeof(line))
			vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		syslog(log_syslog_prio[level], "%s", line);
		if (log_echo && level <= LOG_LVL_WARN)
			fprintf(stderr, "passthrough: %s\n", line);
		errno = saved_errno;
		return;
	}

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ passthrough[%ld]: %s%s%s: ",
	    ts.tv_nsec / 1000000, (long)getpid(), log_role,
	    log_role[0] != '\0' ? ": " : "", log_level_names[level]);
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		errno = saved_errno;	/* let %m see the caller's errno */
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	n = strnlen(line, sizeof(line) - 1);
	line[n++] = '\n';
	/* One write: a short or failed write of a log line is not worth a retry loop. */
	if (write(log_fd, line, n) < 0)
		(void)0;
	if (log_echo && level <= LOG_LVL_WARN && log_fd != STDERR_FILENO &&
	    write(STDERR_FILENO, line, n) < 0)
		(void)0;
	errno = saved_errno;
}

int
log_limit_due(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *skipped)
{
	if (l->last_ms != 0 && now_ms - l->last_ms < interval_ms) {
		l->suppressed++;
		return 0;
	}
	*skipped = l->suppressed;
	l->suppressed = 0;
	l->last_ms = now_ms;
	return 1;
}
