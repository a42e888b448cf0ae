/* log.h -- one-line log records to stderr, a file or syslog. */
#ifndef PASSTHROUGH_LOG_H
#define PASSTHROUGH_LOG_H

#include <stdint.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/*
 * Each record is formatted into one buffer and written with one write(2), so
 * records from different processes sharing the descriptor never interleave
 * mid-line. Records longer than LOG_LINE_MAX are cut.
 */
#define LOG_LINE_MAX 1024

/* log.format: how access log lines are written (worker/accesslog.c). */
enum access_format {
	ACCESS_TEXT,
	ACCESS_JSON,
	ACCESS_FORMAT_COUNT
};

/* Log files are created with this mode (and never chmod-ed or chowned here). */
#define LOG_FILE_MODE 0640

/*
 * Where records go: "stderr", "syslog" (facility daemon) or a file path
 * (opened as log_open_file() does). Returns 0 or -errno; on error nothing
 * changes.
 */
int log_open(const char *dest);
/* Reopens a log file by its path (SIGUSR1, after logrotate moved it). 0 or -errno. */
int log_reopen(void);
/*
 * Opens a log file for appending, non-blocking, as the master hands it to
 * workers: created LOG_FILE_MODE when missing (*created = 1, if created is
 * not NULL: only then may the caller chown it); an existing name is
 * taken only when it is a regular file with one link or a FIFO, never
 * through a symlink (-ELOOP). A FIFO with no reader is -ENXIO. Returns the
 * fd or -errno (log_file_error() says what it means).
 */
int log_open_file(const char *path, int *created);
/* What a log_open_file() failure means, for the one line that reports it. */
const char *log_file_error(int rc);
/*
 * Writes records to fd (a log file another process opened; taken over,
 * the previous one closed). path: the name log_reopen() opens again, or
 * NULL when this process never opens the file itself (a worker).
 */
void log_adopt(int fd, const char *path);
/* The log file's descriptor, or -1 when records go to stderr or syslog. */
int log_file_fd(void);
/* Connects to syslog as passthrough, facility daemon. */
void log_open_syslog(void);

/* Also write warnings and errors to stderr when records go elsewhere (a daemon starting). */
void log_set_echo(int on);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Tag every record of this process, e.g. "worker 1"; NULL for none. */
void log_set_role(const char *role);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * One place's repeating log line, said at most once per interval: a
 * failure that repeats for every connection must not flood the log.
 */
struct log_limit {
	uint64_t last_ms;	/* when the line was last said; 0: never */
	uint64_t suppressed;	/* lines not said since then */
};

/*
 * 1 when the line may be said at now_ms (at least interval_ms after the
 * last time), with *skipped set to how many were not said since; else 0,
 * and the line is counted as suppressed.
 */
int log_limit_due(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms,
    uint64_t *skipped);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { if (log_get_level() >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#endif
