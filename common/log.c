/* log.c -- one-line log records to stderr, a file or syslog. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;
static char log_role[32];

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
	if (write(STDERR_FILENO, line, n) < 0)
		(void)0;
	errno = saved_errno;
}
