/* stats.c -- the statistics segment and worker areas: naming, creating, mapping, histograms. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "stats.h"

static const char *const close_reason_names[] = {
	[CLOSE_NONE] = "none",
	[CLOSE_NORMAL] = "normal",
	[CLOSE_HELLO_TIMEOUT] = "hello_timeout",
	[CLOSE_HELLO_EOF] = "hello_eof",
	[CLOSE_HELLO_MALFORMED] = "hello_malformed",
	[CLOSE_HELLO_TOO_BIG] = "hello_too_big",
	[CLOSE_NOT_TLS] = "not_tls",
	[CLOSE_NO_ROUTE_ALERT] = "no_route_alert",
	[CLOSE_CONNECT_REFUSED] = "connect_refused",
	[CLOSE_CONNECT_TIMEOUT] = "connect_timeout",
	[CLOSE_IDLE_TIMEOUT] = "idle_timeout",
	[CLOSE_CLIENT_RESET] = "client_reset",
	[CLOSE_BACKEND_RESET] = "backend_reset",
	[CLOSE_LIMIT_REACHED] = "limit_reached",
	[CLOSE_SHUTDOWN] = "shutdown",
	[CLOSE_INTERNAL] = "internal_error",
	[CLOSE_PROXY_UNTRUSTED] = "proxy_untrusted",
	[CLOSE_PROXY_MISSING] = "proxy_missing",
	[CLOSE_PROXY_MALFORMED] = "proxy_malformed",
	[CLOSE_DENIED] = "denied",
	[CLOSE_REJECTED] = "rejected",
	[CLOSE_ROUTE_FULL] = "route_full",
};
_Static_assert(sizeof(close_reason_names) / sizeof(close_reason_names[0]) ==
    CLOSE_REASON_COUNT, "a name for every close reason");

static const char *const stats_engine_names[] = {
	[STATS_ENGINE_IO_URING] = "io_uring",
	[STATS_ENGINE_EPOLL] = "epoll",
};
_Static_assert(sizeof(stats_engine_names) / sizeof(stats_engine_names[0]) ==
    STATS_ENGINE_COUNT, "a name for every engine");

/* The smallest bucket bound of each histogram kind (see stats_hist_kind). */
static const uint64_t stats_hist_base[STATS_HIST_COUNT] = {
	[STATS_HIST_HELLO_BYTES] = 64,
	[STATS_HIST_CONNECT_US] = 16,
	[STATS_HIST_DURATION_MS] = 1,
};

const char *
close_reason_str(enum close_reason reason)
{
	return reason < CLOSE_REASON_COUNT ? close_reason_names[reason] : "?";
}

const char *
stats_engine_str(uint32_t engine)
{
	return engine < STATS_ENGINE_COUNT ? stats_engine_names[engine] : "?";
}

void
stats_name(char *buf, size_t size, const char *configured, const char *abs_path)
{
	if (configured != NULL) {
		snprintf(buf, size, "/%s", configured);
		return;
	}
	snprintf(buf, size, "/passthrough-%08x", hash_fnv32_str(abs_path));
}

void
stats_area_name(char *buf, size_t size, const char *name, unsigned line)
{
	snprintf(buf, size, "%s.w%u", name, line);
}

uint64_t
stats_pidns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int
stats_reopen_readonly(int fd)
{
	char path[32];
	int rd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rd = open(path, O_RDONLY | O_CLOEXEC);
	return rd < 0 ? -errno : rd;
}

/*
 * A new shm object named name for the master: whatever held the name is
 * removed first (a stale object of a master that died, or a forgery: the
 * caller holds the instance lock), then created exclusively, mode 0640,
 * group gid unless (uint32_t)-1, size bytes (sparse). The O_RDWR descriptor
 * or -errno.
 */
static int
stats_shm_create(const char *name, uint32_t gid, uint64_t size)
{
	int fd, rc;

	shm_unlink(name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	/* shm_open applies the umask: set the mode (and group) the operator expects. */
	if (fchmod(fd, 0640) != 0 || (gid != (uint32_t)-1 && fchown(fd, (uid_t)-1, gid) != 0) ||
	    ftruncate(fd, (off_t)size) != 0) {
		rc = -errno;
		close(fd);
		shm_unlink(name);
		return rc;
	}
	return fd;
}

static void
stats_layout(struct stats *s, void *base)
{
	s->hdr = base;
	s->lines = (struct stats_line *)((char *)base + sizeof(struct stats_header));
	s->routes = (struct stats_route *)(s->lines + STATS_LINES);
	s->backends = (struct stats_backend *)(s->routes + STATS_ROUTES);
}

int
stats_create(struct stats *s, const char *name, uint32_t gid)
{
	struct stats_header *h;
	void *base;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	s->rdonly_fd = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	fd = stats_shm_create(s->name, gid, STATS_SIZE);
	if (fd < 0)
		return fd;
	base = mmap(NULL, STATS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (base == MAP_FAILED)
		goto bad;
	/* Workers get the segment from this descriptor: read-only for good. */
	if ((s->rdonly_fd = stats_reopen_readonly(fd)) < 0) {
		errno = -s->rdonly_fd;
		munmap(base, STATS_SIZE);
		goto bad;
	}
	close(fd);
	stats_layout(s, base);
	s->owner = 1;
	h = s->hdr;
	h->size = STATS_SIZE;
	h->header_size = sizeof(struct stats_header);
	h->line_size = sizeof(struct stats_line);
	h->route_size = sizeof(struct stats_route);
	h->backend_size = sizeof(struct stats_backend);
	h->lines = STATS_LINES;
	h->routes = STATS_ROUTES;
	h->backends = STATS_BACKENDS;
	h->hist_buckets = STATS_HIST_BUCKETS;
	h->lines_off = (uint64_t)((char *)s->lines - (char *)base);
	h->routes_off = (uint64_t)((char *)s->routes - (char *)base);
	h->backends_off = (uint64_t)((char *)s->backends - (char *)base);
	h->area_size = STATS_AREA_SIZE;
	h->master_pid = (uint32_t)getpid();
	h->pidns = stats_pidns();
	h->started_ms = clock_wall_ms();
	atomic_store_explicit(&h->seen_ms, clock_ms(), memory_order_relaxed);
	snprintf(s->routes[STATS_OTHER].pattern, STATS_PATTERN_MAX, "(other)");
	snprintf(s->backends[STATS_OTHER].addr, STATS_ADDR_MAX, "(other)");
	atomic_store(&h->route_count, 1);
	atomic_store(&h->backend_count, 1);
	h->version = STATS_VERSION;
	/* The magic last: a reader that sees it sees a filled header. */
	atomic_thread_fence(memory_order_release);
	h->magic = STATS_MAGIC;
	return 0;
bad:
	rc = -errno;
	close(fd);
	shm_unlink(s->name);
	s->rdonly_fd = -1;
	return rc;
}

int
stats_open_readonly(struct stats *s, const char *name, const char **why)
{
	struct stats_header h;
	struct stat st;
	void *base;
	int fd;

	memset(s, 0, sizeof(*s));
	s->rdonly_fd = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	*why = NULL;
	fd = shm_open(s->name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(h) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		*why = "is too short to be a passthrough statistics segment";
		return -EPROTO;
	}
	if (h.magic != STATS_MAGIC) {
		close(fd);
		*why = "is not a passthrough statistics segment (wrong magic)";
		return -EPROTO;
	}
	if (h.version != STATS_VERSION || h.header_size != sizeof(struct stats_header) ||
	    h.line_size != sizeof(struct stats_line) || h.size != STATS_SIZE ||
	    h.area_size != STATS_AREA_SIZE ||
	    (uint64_t)st.st_size < STATS_SIZE) {
		close(fd);
		*why = "has another layout version than this passthrough-stats";
		return -EPROTO;
	}
	base = mmap(NULL, STATS_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return -errno;
	stats_layout(s, base);
	return 0;
}

int
stats_remap_readonly(struct stats *s)
{
	void *base;
	int rc = 0;

	munmap(s->hdr, STATS_SIZE);
	base = mmap(NULL, STATS_SIZE, PROT_READ, MAP_SHARED, s->rdonly_fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		base = NULL;
	}
	close(s->rdonly_fd);
	s->rdonly_fd = -1;
	s->owner = 0;
	if (base == NULL) {
		s->hdr = NULL;
		s->lines = NULL;
		s->routes = NULL;
		s->backends = NULL;
		return rc;
	}
	stats_layout(s, base);
	return 0;
}

void
stats_close(struct stats *s)
{
	if (s->hdr != NULL)
		munmap(s->hdr, STATS_SIZE);
	if (s->owner) {
		shm_unlink(s->name);
		close(s->rdonly_fd);
	}
	memset(s, 0, sizeof(*s));
	s->rdonly_fd = -1;
}

int
stats_area_create(const char *name, unsigned line, uint32_t gid, uint64_t *ino)
{
	char area[STATS_AREA_NAME_MAX];
	struct stats_area *a;
	struct stat st;
	int fd, rc;

	stats_area_name(area, sizeof(area), name, line);
	fd = stats_shm_create(area, gid, STATS_AREA_SIZE);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || (a = stats_area_map(fd, 1)) == NULL) {
		rc = -errno;
		close(fd);
		shm_unlink(area);
		return rc;
	}
	a->version = STATS_VERSION;
	a->line = line;
	a->magic = STATS_AREA_MAGIC;
	stats_area_unmap(a);
	*ino = (uint64_t)st.st_ino;
	return fd;
}

struct stats_area *
stats_area_map(int fd, int writable)
{
	void *a = mmap(NULL, STATS_AREA_SIZE, writable ? PROT_READ | PROT_WRITE : PROT_READ,
	    MAP_SHARED | MAP_NORESERVE, fd, 0);

	return a == MAP_FAILED ? NULL : a;
}

void
stats_area_unmap(const struct stats_area *a)
{
	if (a != NULL)
		munmap((void *)(uintptr_t)a, STATS_AREA_SIZE);
}

uint64_t
stats_hist_bound(enum stats_hist_kind kind, unsigned i)
{
	return i + 1 >= STATS_HIST_BUCKETS ? UINT64_MAX : stats_hist_base[kind] << i;
}

void
stats_hist_add(struct stats_hist *h, enum stats_hist_kind kind, uint64_t value)
{
	unsigned i = 0;
	uint64_t base = stats_hist_base[kind];

	/* The first bucket whose bound holds value: log2 of value / base, rounded up. */
	if (value > base)
		i = (unsigned)(64 - __builtin_clzll((value - 1) / base));
	if (i >= STATS_HIST_BUCKETS)
		i = STATS_HIST_BUCKETS - 1;
	STATS_ADD(h->count, 1);
	STATS_ADD(h->sum, value);
	STATS_ADD(h->buckets[i], 1);
}

static void
stats_fold_u64(_Atomic uint64_t *into, const _Atomic uint64_t *from)
{
	STATS_ADD(*into, atomic_load_explicit(from, memory_order_relaxed));
}

void
stats_counters_fold(struct stats_counters *into, const struct stats_counters *from)
{
	/* The struct is nothing but 64-bit counters: fold it as an array. */
	const _Atomic uint64_t *f = (const _Atomic uint64_t *)from;
	_Atomic uint64_t *t = (_Atomic uint64_t *)into;

	_Static_assert(sizeof(struct stats_counters) % sizeof(uint64_t) == 0,
	    "stats_counters holds only 64-bit counters");
	for (size_t i = 0; i < sizeof(*from) / sizeof(uint64_t); i++)
		stats_fold_u64(&t[i], &f[i]);
}

void
stats_entry_fold(struct stats_entry *into, const struct stats_entry *from, int with_active)
{
	stats_fold_u64(&into->connections, &from->connections);
	if (with_active)
		stats_fold_u64(&into->active, &from->active);
	stats_fold_u64(&into->bytes_in, &from->bytes_in);
	stats_fold_u64(&into->bytes_out, &from->bytes_out);
	stats_fold_u64(&into->connect_failures, &from->connect_failures);
	stats_fold_u64(&into->connect_timeouts, &from->connect_timeouts);
	if (with_active)
		stats_fold_u64(&into->down, &from->down);
	stats_fold_u64(&into->went_down, &from->went_down);
}
