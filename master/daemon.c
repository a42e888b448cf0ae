/* daemon.c -- running detached: the double fork, the pid file, -s signals. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "stats.h"

/* The byte a ready daemon writes to the process that started it. */
#define DAEMON_READY_BYTE 'R'
/* How long `passthrough -d` waits for the daemon to serve. ms */
#define DAEMON_READY_TIMEOUT_MS 30000
/* What the master calls itself (comm), so a stale pid file is told from a live one. */
#define MASTER_COMM "passthrough"

void
daemon_null_stdio(int keep_stderr)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!keep_stderr)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

int
daemon_detach(void)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		/* The starter: exit with the daemon's verdict. */
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };

		close(p[1]);
		waitpid(pid, NULL, 0);
		if (poll(&pfd, 1, DAEMON_READY_TIMEOUT_MS) == 0) {
			fprintf(stderr, "passthrough: the daemon runs but has not served within "
			    "%d s (its workers do not start; see its log); it keeps trying\n",
			    DAEMON_READY_TIMEOUT_MS / 1000);
			_exit(1);
		}
		if (read(p[0], &c, 1) == 1 && c == DAEMON_READY_BYTE)
			_exit(0);
		fprintf(stderr, "passthrough: the daemon did not start (see the errors above or its log)\n");
		_exit(1);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);	/* the daemon is no session leader: it never gets a terminal */
	if (chdir("/") != 0)
		_exit(1);
	daemon_null_stdio(1);
	return p[1];
}

void
daemon_ready(int fd, int keep_stderr)
{
	char c = DAEMON_READY_BYTE;

	if (fd < 0)
		return;
	if (write(fd, &c, 1) != 1)
		log_warn("telling the starting process we are ready: %s", strerror(errno));
	close(fd);
	daemon_null_stdio(keep_stderr);
}

/* The pid in path, or -errno. */
static long
pidfile_read(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 ? pid : -EINVAL;
}

int
pid_is_passthrough(long pid)
{
	char path[64], comm[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, MASTER_COMM) == 0;
}

int
pidfile_check(const char *path)
{
	long pid = pidfile_read(path);

	if (pid > 0 && pid != getpid() && pid_is_passthrough(pid)) {
		log_error("%s: passthrough is already running as pid %ld", path, pid);
		return -EEXIST;
	}
	return 0;
}

/* The pid file's temporary name: made by us, now, or not at all. */
#define PIDFILE_TMP_FLAGS (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)

int
pidfile_write(const char *path)
{
	char tmp[4096], text[32];
	int fd, n, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	/*
	 * A name that exists is never opened: it may be a link planted to make
	 * root write through it. It is removed (a link, not what it points to)
	 * and the name made anew, once: a stale one is left by a master that
	 * died here with this pid (pid 1 in a container, every time).
	 */
	fd = open(tmp, PIDFILE_TMP_FLAGS, 0644);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, PIDFILE_TMP_FLAGS, 0644);
	if (fd < 0)
		return -errno;
	/* The umask must not hide the pid from the tools that read it. */
	if (fchmod(fd, 0644) != 0)
		rc = -errno;
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (rc == 0 && write(fd, text, (size_t)n) != n)
		rc = errno ? -errno : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

void
pidfile_remove(const char *path)
{
	if (pidfile_read(path) == (long)getpid())
		unlink(path);
}

/* How long -s reload waits for the master to say how the reload went. ms */
#define RELOAD_WAIT_MS 30000u
#define RELOAD_POLL_MS 5u

/* The reload outcome, once the count of reloads moved past before. */
static int
daemon_reload_outcome(const struct stats *s, uint64_t before)
{
	const struct stats_header *h = s->hdr;
	struct timespec ts = { 0, RELOAD_POLL_MS * 1000000L };

	for (unsigned waited = 0; waited < RELOAD_WAIT_MS; waited += RELOAD_POLL_MS) {
		if (atomic_load_explicit(&h->reloads_ok, memory_order_acquire) +
		    atomic_load_explicit(&h->reloads_failed, memory_order_acquire) > before) {
			if (atomic_load(&h->last_reload_ok)) {
				printf("passthrough: reloaded: %s\n", h->last_reload_message);
				return 0;
			}
			fprintf(stderr, "passthrough: reload refused, the running configuration "
			    "keeps serving: %s (every error is in the log)\n",
			    h->last_reload_message);
			return 1;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "passthrough: sent reload, but no outcome within %u ms\n",
	    RELOAD_WAIT_MS);
	return 1;
}

int
daemon_signal(const char *pid_file, const char *stats_shm, const char *name)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "reload", SIGHUP }, { "stop", SIGTERM }, { "quit", SIGQUIT },
		{ "reopen", SIGUSR1 },
	};
	struct stats s = { 0 };
	uint64_t before;
	const char *why;
	int sig = 0, waiting = 0, rc = 0;
	long pid;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			sig = names[i].sig;
	if (sig == 0) {
		fprintf(stderr, "passthrough: -s %s: expected reload, stop, quit or reopen\n", name);
		return 2;
	}
	pid = pidfile_read(pid_file);
	if (pid < 0) {
		fprintf(stderr, "passthrough: %s: %s\n", pid_file, strerror((int)-pid));
		return pid == -ENOENT ? DAEMON_NOT_RUNNING : 1;
	}
	if (!pid_is_passthrough(pid)) {
		fprintf(stderr, "passthrough: %s: pid %ld is not a running passthrough\n",
		    pid_file, pid);
		return DAEMON_NOT_RUNNING;
	}
	if (sig == SIGHUP && stats_open_readonly(&s, stats_shm, &why) == 0 &&
	    s.hdr->master_pid == (uint32_t)pid)
		waiting = 1;
	before = waiting ? atomic_load(&s.hdr->reloads_ok) + atomic_load(&s.hdr->reloads_failed)
	    : 0;
	if (kill((pid_t)pid, sig) != 0) {
		int err = errno;	/* ESRCH: it exited since pid_is_passthrough() */

		fprintf(stderr, "passthrough: signal %s to pid %ld: %s\n", name, pid,
		    strerror(err));
		rc = err == ESRCH ? DAEMON_NOT_RUNNING : 1;
	} else if (waiting) {
		rc = daemon_reload_outcome(&s, before);
	}
	stats_close(&s);
	return rc;
}
