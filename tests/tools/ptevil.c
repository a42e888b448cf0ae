/*
 * ptevil.c -- an LD_PRELOAD library that turns one worker into a compromised
 * one, for tests/integration/compromised_worker_cannot_take_the_others.sh.
 *
 * Workers are forked from the master without exec, so a library preloaded
 * into the master is in every worker. It interposes clock_gettime (the
 * worker's loop reads the clock every turn through common/clock.h, a call
 * through the PLT) and, once, in one process only, attacks with that
 * process's own credentials:
 *
 *   - every shared mapping in /proc/self/maps: filled with garbage if
 *     writable; if read-only, mprotect(PROT_READ|PROT_WRITE) then fill; then
 *     grown with mremap and written past its old end;
 *   - every descriptor in /proc/self/fd: written, mapped shared and filled,
 *     hole-punched, truncated; then reopened O_RDWR through /proc/self/fd/N
 *     (what the inode's mode allows) and the same again;
 *   - every /dev/shm/passthrough* object (PTEVIL_SHM_PREFIX: only those
 *     whose name starts so, to spare other instances on a shared machine),
 *     opened O_RDWR by name, the same;
 *   - the parent (the master) and the sibling workers: process_vm_writev,
 *     pidfd_getfd;
 *   - then it takes itself out of service as a hostile worker could without
 *     killing anything: shutdown(SHUT_RDWR) of its listening sockets, then it
 *     blocks forever inside the hook, holding every descriptor and mapping.
 *
 * Every attempt is one line in the report file: what, how, and "ok" or the
 * errno. The last line starts with "done:".
 *
 * It acts only when PTEVIL_REPORT=path is set, only in a process whose real
 * uid is not 0 (workers run as nobody, the master as root), only
 * PTEVIL_AFTER_MS (default 1500) after that process first read the clock
 * (its start-up is done), and only in the process that wins the
 * O_CREAT|O_EXCL create of the report file: exactly one worker.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Default wait between a process's first clock read and the attack. ms */
#define EVIL_AFTER_MS_DEFAULT 1500u
/* How often the hook looks at its conditions (uid, time): not every read. ms */
#define EVIL_CHECK_MS 50u
/* Garbage is made and written one page at a time. */
#define EVIL_CHUNK 4096u
/* Mappings are filled whole up to this size, then one page in a stride. */
#define EVIL_FILL_DENSE (64u << 20)
#define EVIL_FILL_STRIDE (1u << 20)
/* Bytes written into each descriptor: enough to be garbage, not a flood. */
#define EVIL_WRITE_BYTES 4096u
/* A write that would block is cut by this timer (a full pipe, a socket). us */
#define EVIL_WRITE_TIMEOUT_US 200000
/* Shared mappings and descriptors considered (a worker has far fewer). */
#define EVIL_MAPS_MAX 512u
#define EVIL_FDS_MAX 4096u
/* The descriptor numbers tried with pidfd_getfd in another process. */
#define EVIL_REMOTE_FDS 64
/* Room for a descriptor's or a mapping's name in the report. */
#define EVIL_NAME_MAX 256u

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static const char *report_path;
static const char *shm_prefix = "passthrough";
static uint64_t after_ms = EVIL_AFTER_MS_DEFAULT;

/* Per process: reset in a forked child. */
static struct {
	uint64_t first_ms, next_check_ms;
	int done;
} evil;

/* What process_vm_writev aims at in the others: the same address in every
 * process forked from the master (the library was loaded before the forks). */
static unsigned char evil_remote_target[64] __attribute__((used));

static struct {
	int fd;
	unsigned attempts, succeeded;
} report = { .fd = -1 };

static uint64_t rng_state;
static unsigned char garbage[EVIL_CHUNK];

static sigjmp_buf fault_jump;
static volatile sig_atomic_t fault_armed;

static struct shared_map {
	uintptr_t start, end;
	int writable;
	char name[EVIL_NAME_MAX];
} maps[EVIL_MAPS_MAX];
static unsigned map_count;
static int fds[EVIL_FDS_MAX];
static unsigned fd_count;

static void
evil_child_reset(void)
{
	memset(&evil, 0, sizeof(evil));
}

__attribute__((constructor)) static void
evil_init(void)
{
	const char *after = getenv("PTEVIL_AFTER_MS"), *prefix = getenv("PTEVIL_SHM_PREFIX");

	real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	report_path = getenv("PTEVIL_REPORT");
	if (prefix != NULL && *prefix != '\0')
		shm_prefix = prefix;
	if (after != NULL && *after != '\0')
		after_ms = strtoull(after, NULL, 10);
	pthread_atfork(NULL, NULL, evil_child_reset);
}

/* ---- the report ------------------------------------------------------------ */

/* One line: WHAT | HOW | ok or the errno (err: 0 or an errno value). */
static void __attribute__((format(printf, 3, 4)))
evil_report(int err, const char *what, const char *how_fmt, ...)
{
	char how[512];
	va_list ap;

	va_start(ap, how_fmt);
	vsnprintf(how, sizeof(how), how_fmt, ap);
	va_end(ap);
	report.attempts++;
	if (err == 0)
		report.succeeded++;
	if (err == 0)
		dprintf(report.fd, "%s | %s | ok\n", what, how);
	else
		dprintf(report.fd, "%s | %s | failed: %s (%s)\n", what, how,
		    strerrorname_np(err) ? strerrorname_np(err) : "?", strerror(err));
}

/* ---- garbage and faults ------------------------------------------------------ */

static void
garbage_next(void)
{
	uint64_t *w = (uint64_t *)(void *)garbage;

	for (size_t i = 0; i < sizeof(garbage) / sizeof(*w); i++) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		w[i] = rng_state;
	}
}

static void
evil_on_fault(int sig)
{
	if (fault_armed)
		siglongjmp(fault_jump, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
evil_on_alarm(int sig)
{
	(void)sig;	/* only interrupts a blocked write */
}

/*
 * Writes garbage over [p, p + len), a page at a time: every page of the
 * first EVIL_FILL_DENSE bytes, then one page in EVIL_FILL_STRIDE up to the
 * end (a sparse object of a GiB gets garbage all along it without the
 * attack committing a GiB of memory). Returns 0, or the signal (SIGBUS past
 * the end of the object, SIGSEGV) that stopped it; *done: the offset reached.
 */
static int
evil_fill(unsigned char *p, size_t len, size_t *done)
{
	/* Static: what the loop changes survives the siglongjmp. */
	static unsigned char *volatile base;
	static volatile size_t off, size;
	int sig;

	base = p;
	size = len;
	off = 0;
	sig = sigsetjmp(fault_jump, 1);
	if (sig == 0) {
		fault_armed = 1;
		while (off < size) {
			garbage_next();
			memcpy(base + off, garbage,
			    size - off < EVIL_CHUNK ? size - off : EVIL_CHUNK);
			off += off < EVIL_FILL_DENSE ? EVIL_CHUNK : EVIL_FILL_STRIDE;
		}
	}
	fault_armed = 0;
	*done = off < size ? off : size;
	return sig;
}

/* evil_fill, reported as one attempt. */
static void
evil_fill_report(const char *what, const char *how, unsigned char *p, size_t len)
{
	size_t done;
	int sig = evil_fill(p, len, &done);

	if (sig == 0)
		evil_report(0, what, "%s: %zu bytes%s", how, len,
		    len > EVIL_FILL_DENSE ? " (every page of the first 64 MiB, then one a MiB)" : "");
	else
		evil_report(EFAULT, what,
		    "%s: %zu bytes: stopped by %s after %zu", how, len, strsignal(sig), done);
}

/* write(2) that a full pipe or socket cannot block for more than a moment. */
static ssize_t
evil_write(int fd, const void *buf, size_t len)
{
	struct itimerval t = { .it_value = { .tv_usec = EVIL_WRITE_TIMEOUT_US } };
	struct itimerval off = { 0 };
	ssize_t n;
	int err;

	setitimer(ITIMER_REAL, &t, NULL);
	n = write(fd, buf, len);
	err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	errno = err;
	return n;
}

static void
evil_signals(void)
{
	struct sigaction sa = { .sa_handler = evil_on_fault, .sa_flags = SA_NODEFER };
	sigset_t unblock;

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sa.sa_handler = evil_on_alarm;
	sa.sa_flags = 0;	/* no SA_RESTART: the blocked write returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGBUS);
	sigaddset(&unblock, SIGSEGV);
	sigaddset(&unblock, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

/* ---- shared mappings ----------------------------------------------------------- */

/* Reads a whole /proc file into a malloc'd string (NULL on failure). */
static char *
evil_slurp(const char *path)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (buf == NULL || fd < 0)
		goto bad;
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			char *more = realloc(buf, 2 * cap + 1);

			if (more == NULL)
				goto bad;
			buf = more;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
bad:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* The shared mappings ('s' in the permissions), before anything moves them. */
static void
evil_maps_list(void)
{
	char *text = evil_slurp("/proc/self/maps"), *line, *save = NULL;

	if (text == NULL) {
		evil_report(errno, "/proc/self/maps", "read");
		return;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL && map_count < EVIL_MAPS_MAX;
	    line = strtok_r(NULL, "\n", &save)) {
		unsigned long start, end;
		char perms[8];
		int name_at = 0;
		struct shared_map *m = &maps[map_count];

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &name_at) < 3 ||
		    perms[3] != 's')
			continue;
		m->start = start;
		m->end = end;
		m->writable = perms[1] == 'w';
		snprintf(m->name, sizeof(m->name), "%s %s",
		    perms, name_at > 0 ? line + name_at : "");
		map_count++;
	}
	free(text);
}

/* One shared mapping: filled (made writable first if it is not), then grown. */
static void
evil_map_attack(const struct shared_map *m)
{
	char what[EVIL_NAME_MAX + 64];
	unsigned char *p = (unsigned char *)m->start;
	size_t len = m->end - m->start;
	void *grown;

	snprintf(what, sizeof(what), "mapping %lx-%lx %s", (unsigned long)m->start,
	    (unsigned long)m->end, m->name);
	if (!m->writable) {
		int rc = mprotect(p, len, PROT_READ | PROT_WRITE);

		evil_report(rc == 0 ? 0 : errno, what, "mprotect(PROT_READ|PROT_WRITE)");
		if (rc == 0)
			evil_fill_report(what, "fill after mprotect", p, len);
	} else {
		evil_fill_report(what, "fill", p, len);
	}
	grown = mremap(p, len, len + EVIL_CHUNK, MREMAP_MAYMOVE);
	evil_report(grown == MAP_FAILED ? errno : 0, what, "mremap to %zu bytes", len + EVIL_CHUNK);
	if (grown == MAP_FAILED)
		return;
	if (mprotect(grown, len + EVIL_CHUNK, PROT_READ | PROT_WRITE) != 0)
		evil_report(errno, what, "mprotect(PROT_READ|PROT_WRITE) of the grown mapping");
	else
		evil_fill_report(what, "fill the page past the old end",
		    (unsigned char *)grown + len, EVIL_CHUNK);
}

/* ---- descriptors and objects ------------------------------------------------------- */

/* The descriptors open now, but the report's. */
static void
evil_fds_list(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (d == NULL) {
		evil_report(errno, "/proc/self/fd", "opendir");
		return;
	}
	while ((e = readdir(d)) != NULL && fd_count < EVIL_FDS_MAX) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end != '\0' || e->d_name[0] == '\0' || fd == dirfd(d) || fd == report.fd)
			continue;
		fds[fd_count++] = (int)fd;
	}
	closedir(d);
}

/* "fd N -> target" for the report. */
static void
evil_fd_name(int fd, char *what, size_t size)
{
	char link[64], target[EVIL_NAME_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	snprintf(what, size, "fd %d -> %s", fd, target);
}

/*
 * What a descriptor allows: a write of garbage; for a non-empty regular
 * object, a shared writable mapping of all of it filled with garbage; a
 * hole punched through it; a truncation to 0 (whoever maps it then faults).
 */
static void
evil_object_attack(int fd, const char *what, const char *via)
{
	struct stat st;
	ssize_t n;
	size_t size;
	void *p;

	garbage_next();
	n = evil_write(fd, garbage, EVIL_WRITE_BYTES);
	evil_report(n < 0 ? errno : 0, what, "%swrite %u bytes (%zd written)", via,
	    EVIL_WRITE_BYTES, n);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	size = (size_t)st.st_size;
	if (size > 0) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		evil_report(p == MAP_FAILED ? errno : 0, what,
		    "%smmap(PROT_READ|PROT_WRITE, MAP_SHARED) of %zu bytes", via, size);
		if (p != MAP_FAILED) {
			evil_fill_report(what, "fill that mapping", p, size);
			munmap(p, size);
		}
	}
	evil_report(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
	    size > 0 ? (off_t)size : EVIL_CHUNK) == 0 ? 0 : errno, what,
	    "%sfallocate(PUNCH_HOLE) of %zu bytes", via, size > 0 ? size : EVIL_CHUNK);
	evil_report(ftruncate(fd, 0) == 0 ? 0 : errno, what, "%sftruncate to 0 (was %zu)",
	    via, size);
}

/* A descriptor as it is, then reopened read-write through /proc/self/fd. */
static void
evil_fd_attack(int fd)
{
	char what[EVIL_NAME_MAX + 64], link[64];
	int again;

	evil_fd_name(fd, what, sizeof(what));
	evil_object_attack(fd, what, "");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	again = open(link, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	evil_report(again < 0 ? errno : 0, what, "reopen %s O_RDWR", link);
	if (again < 0)
		return;
	evil_object_attack(again, what, "reopened: ");
	close(again);
}

/* Every /dev/shm/passthrough* object, by name, read-write (those of this
 * instance: the others are only listed). */
static void
evil_shm_attack(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	char path[EVIL_NAME_MAX + 16], what[EVIL_NAME_MAX + 32];
	int fd;

	if (d == NULL) {
		evil_report(errno, "/dev/shm", "opendir");
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "passthrough", strlen("passthrough")) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		snprintf(what, sizeof(what), "shm %s", path);
		if (strncmp(e->d_name, shm_prefix, strlen(shm_prefix)) != 0) {
			dprintf(report.fd, "%s | left alone: another instance's (PTEVIL_SHM_PREFIX=%s)\n",
			    what, shm_prefix);
			continue;
		}
		fd = open(path, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		evil_report(fd < 0 ? errno : 0, what, "open O_RDWR by name");
		if (fd < 0)
			continue;
		evil_object_attack(fd, what, "");
		close(fd);
	}
	closedir(d);
}

/* ---- the other processes ------------------------------------------------------------ */

/* The parent of pid, from /proc/PID/stat (0 if unknown). */
static pid_t
evil_ppid_of(pid_t pid)
{
	char path[64], buf[512], *close_paren;
	int fd, ppid = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, so from the last ')'. */
	if ((close_paren = strrchr(buf, ')')) == NULL ||
	    sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/* Writes into another process's memory, takes its descriptors. */
static void
evil_process_attack(pid_t pid, const char *role)
{
	char what[96];
	struct iovec local = { garbage, sizeof(evil_remote_target) };
	struct iovec remote = { evil_remote_target, sizeof(evil_remote_target) };
	unsigned taken = 0, first_errno = 0, errnos = 0;
	int pidfd;

	snprintf(what, sizeof(what), "%s pid %d", role, (int)pid);
	garbage_next();
	evil_report(process_vm_writev(pid, &local, 1, &remote, 1, 0) < 0 ? errno : 0, what,
	    "process_vm_writev of %zu bytes", sizeof(evil_remote_target));
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	evil_report(pidfd < 0 ? errno : 0, what, "pidfd_open");
	if (pidfd < 0)
		return;
	for (int fd = 0; fd < EVIL_REMOTE_FDS; fd++) {
		int got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);

		if (got >= 0) {
			char stolen[EVIL_NAME_MAX + 64];

			taken++;
			evil_fd_name(got, stolen, sizeof(stolen));
			evil_object_attack(got, stolen, "taken with pidfd_getfd: ");
			close(got);
		} else if (errno != EBADF) {
			first_errno = first_errno != 0 ? first_errno : (unsigned)errno;
			errnos++;
		}
	}
	close(pidfd);
	evil_report(taken > 0 ? 0 : (int)(first_errno != 0 ? first_errno : EBADF), what,
	    "pidfd_getfd of fds 0..%d: %u taken, %u refused", EVIL_REMOTE_FDS - 1, taken, errnos);
}

/* The master (our parent) and every other child of it. */
static void
evil_processes_attack(void)
{
	pid_t self = getpid(), parent = getppid();
	DIR *d = opendir("/proc");
	struct dirent *e;

	evil_process_attack(parent, "master");
	if (d == NULL) {
		evil_report(errno, "/proc", "opendir");
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end != '\0' || pid <= 0 || pid == self || evil_ppid_of((pid_t)pid) != parent)
			continue;
		evil_process_attack((pid_t)pid, "sibling worker");
	}
	closedir(d);
}

/* Out of service without killing anything: no more connections come to us. */
static void
evil_listeners_shutdown(void)
{
	for (unsigned i = 0; i < fd_count; i++) {
		int listening = 0;
		socklen_t len = sizeof(listening);
		char what[EVIL_NAME_MAX + 64];

		if (getsockopt(fds[i], SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
		    !listening)
			continue;
		evil_fd_name(fds[i], what, sizeof(what));
		evil_report(shutdown(fds[i], SHUT_RDWR) == 0 ? 0 : errno, what,
		    "shutdown(SHUT_RDWR) of a listening socket");
	}
}

/* ---- the attack, and the hook that starts it ------------------------------------------ */

static __attribute__((noreturn)) void
evil_attack(void)
{
	if (getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state) || rng_state == 0)
		rng_state = 0x9e3779b97f4a7c15u ^ (uint64_t)getpid();
	dprintf(report.fd, "compromised worker pid %d (parent %d), uid %d euid %d\n",
	    (int)getpid(), (int)getppid(), (int)getuid(), (int)geteuid());
	evil_signals();
	evil_maps_list();
	evil_fds_list();
	for (unsigned i = 0; i < map_count; i++)
		evil_map_attack(&maps[i]);
	for (unsigned i = 0; i < fd_count; i++)
		evil_fd_attack(fds[i]);
	evil_shm_attack();
	evil_processes_attack();
	evil_listeners_shutdown();
	dprintf(report.fd, "done: %u attempts, %u succeeded; now holding everything, forever\n",
	    report.attempts, report.succeeded);
	fsync(report.fd);
	for (;;)
		pause();
}

/* Called with each clock read: starts the attack once its conditions hold. */
static void
evil_tick(const struct timespec *now)
{
	uint64_t ms = (uint64_t)now->tv_sec * 1000u + (uint64_t)now->tv_nsec / 1000000u;

	if (evil.first_ms == 0)
		evil.first_ms = ms;
	if (ms < evil.next_check_ms)
		return;
	evil.next_check_ms = ms + EVIL_CHECK_MS;
	if (getuid() == 0 || ms - evil.first_ms < after_ms)
		return;
	evil.done = 1;
	report.fd = open(report_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (report.fd >= 0)
		evil_attack();	/* does not return */
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc;

	if (real_clock_gettime == NULL)	/* called before our constructor ran */
		return (int)syscall(SYS_clock_gettime, id, ts);
	rc = real_clock_gettime(id, ts);
	if (rc == 0 && report_path != NULL && !evil.done && id == CLOCK_MONOTONIC)
		evil_tick(ts);
	return rc;
}
