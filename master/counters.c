/* counters.c -- the master's side of the statistics: the segment and the worker areas. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "counters.h"
#include "hash.h"
#include "log.h"
#include "routes.h"

/* Index tables: twice the entries, a power of two, so probes stay short. */
#define COUNTERS_INDEX_SIZE (2u * STATS_ROUTES)
_Static_assert(STATS_ROUTES == STATS_BACKENDS, "one index size serves both tables");
_Static_assert((COUNTERS_INDEX_SIZE & (COUNTERS_INDEX_SIZE - 1)) == 0, "a power of two");

/*
 * The pid a running master wrote into its segment, for the message only
 * (the lock decided): 0 unless the segment is this user's, mode 0640 at
 * most, with the magic. A worker may still write the header: the pid is
 * not acted on.
 */
static uint32_t
counters_holder_pid(const char *name)
{
	struct stats_header h;
	struct stat st;
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	uint32_t pid = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 07777 & ~0640u) == 0 &&
	    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.magic == STATS_MAGIC)
		pid = h.master_pid;
	close(fd);
	return pid;
}

/*
 * 0 when this process now holds the lock of name: no other master of this
 * configuration runs. -EEXIST (logged) when one does: the same
 * configuration started twice must not take the first one's statistics
 * away. A segment found under the name proves nothing either way.
 */
static int
counters_lock(struct counters *k, const char *name)
{
	const char *why;
	uint32_t pid;
	int rc = instance_lock(&k->lock, name, &why);

	if (rc == -EEXIST) {
		pid = counters_holder_pid(name);
		if (pid != 0)
			log_error("statistics segment %s is in use by passthrough pid %" PRIu32
			    " (this configuration already runs; stop it first, or give this one another stats.name)",
			    name, pid);
		else
			log_error("statistics segment %s is in use by another passthrough (it holds %s; "
			    "stop it first, or give this one another stats.name)", name, k->lock.path);
	} else if (rc != 0 && why != NULL) {
		log_error("instance lock %s %s: it must be this user's and writable by no one else",
		    k->lock.path, why);
	} else if (rc != 0) {
		log_error("instance lock %s: %s", k->lock.path, strerror(-rc));
	}
	return rc;
}

/*
 * With the lock held, whatever holds name is stale or forged: remove it.
 * 0, or -errno (logged) when it cannot be (not ours and no CAP_FOWNER in
 * the sticky /dev/shm): the segment could not be created either.
 */
static int
counters_clear(const char *name)
{
	char area[STATS_AREA_NAME_MAX];
	struct stat st;
	int fd, rc;

	/* Areas a master that died left behind (each is replaced anyway when its line is used). */
	for (unsigned i = 0; i < STATS_LINES; i++) {
		stats_area_name(area, sizeof(area), name, i);
		shm_unlink(area);
	}
	if (shm_unlink(name) == 0 || errno == ENOENT)
		return 0;
	rc = -errno;
	fd = shm_open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd >= 0 && fstat(fd, &st) == 0)
		log_error("statistics segment %s: a stale or forged object of uid %lu holds the name "
		    "and cannot be removed (%s); remove /dev/shm%s", name, (unsigned long)st.st_uid,
		    strerror(-rc), name);
	else
		log_error("statistics segment %s: cannot remove what holds the name: %s", name,
		    strerror(-rc));
	if (fd >= 0)
		close(fd);
	return rc;
}

int
counters_open(struct counters *k, const struct config *cfg, const char *abs_path,
    unsigned workers)
{
	char name[STATS_NAME_MAX + 16];
	int rc;

	memset(k, 0, sizeof(*k));
	k->seg.rdonly_fd = -1;
	stats_name(name, sizeof(name), cfg->stats_name, abs_path);
	k->route_index = calloc(COUNTERS_INDEX_SIZE, sizeof(uint32_t));
	k->backend_index = calloc(COUNTERS_INDEX_SIZE, sizeof(uint32_t));
	k->areas = calloc(STATS_LINES, sizeof(*k->areas));
	for (unsigned i = 0; k->areas != NULL && i < STATS_LINES; i++)
		k->areas[i].fd = k->areas[i].rd = -1;
	if (k->route_index == NULL || k->backend_index == NULL || k->areas == NULL) {
		rc = -ENOMEM;
	} else if ((rc = counters_lock(k, name)) != 0 || (rc = counters_clear(name)) != 0) {
		counters_close(k);
		return rc;
	} else {
		rc = stats_create(&k->seg, name, cfg->stats_gid);
	}
	if (rc != 0) {
		log_error("statistics segment %s: %s", name, strerror(-rc));
		counters_close(k);
		return rc;
	}
	k->seg.hdr->workers = workers;
	k->route_count = k->backend_count = 1;	/* "(other)", made by stats_create */
	k->gid = cfg->stats_gid;		/* the areas' group: the segment's, set at start */
	return 0;
}

/* Line's area gone: unmapped, its descriptor closed, its name removed. */
static void
counters_area_drop(struct counters *k, unsigned line)
{
	struct counters_area *a = &k->areas[line];
	char name[STATS_AREA_NAME_MAX];

	if (a->map == NULL && a->fd < 0 && a->rd < 0)
		return;
	stats_area_unmap(a->map);
	a->map = NULL;
	if (a->fd >= 0)
		close(a->fd);
	if (a->rd >= 0)
		close(a->rd);
	a->fd = a->rd = -1;
	stats_area_name(name, sizeof(name), k->seg.name, line);
	shm_unlink(name);
}

void
counters_close(struct counters *k)
{
	for (unsigned i = 0; k->areas != NULL && i < STATS_LINES; i++)
		counters_area_drop(k, i);
	free(k->areas);
	k->areas = NULL;
	stats_close(&k->seg);
	instance_unlock(&k->lock);
	free(k->route_index);
	free(k->backend_index);
	k->route_index = k->backend_index = NULL;
}

/*
 * The entry named text in a table of names (each name at base + id * stride),
 * added when new: *count is the master's own count of entries used, and
 * published is where readers find it. Returns STATS_OTHER when the table
 * is full.
 */
static uint32_t
counters_entry(uint32_t *index, char *base, size_t stride, size_t name_size,
    uint32_t *count, _Atomic uint32_t *published, uint32_t capacity, const char *text)
{
	uint32_t mask = COUNTERS_INDEX_SIZE - 1, i = hash_fnv32_str(text) & mask, id;

	for (;; i = (i + 1) & mask) {
		id = index[i];
		if (id == 0)
			break;
		if (strcmp(base + (size_t)id * stride, text) == 0)
			return id;
	}
	id = *count;
	if (id >= capacity)
		return STATS_OTHER;
	snprintf(base + (size_t)id * stride, name_size, "%s", text);
	index[i] = id;
	*count = id + 1;
	/* Release: a reader that sees the count sees the name. */
	atomic_store_explicit(published, id + 1, memory_order_release);
	return id;
}

/*
 * The pattern as operators read it, whatever its case or trailing dot. With
 * several listener groups one pattern may be in two: their entries are
 * "PATTERN@LISTEN", LISTEN the group's first listen address (no space: the
 * access log's text format separates fields by spaces). The suffix always
 * fits, the pattern is cut if need be: groups never share an entry.
 */
_Static_assert(STATS_PATTERN_MAX > ADDR_STRLEN + 1, "a route entry's name holds a listen address");

static void
counters_pattern(const struct config *cfg, const struct route_spec *r, char *out,
    size_t size)
{
	char key[ROUTES_KEY_MAX + 2], at[ADDR_STRLEN + 1] = "";
	enum route_kind kind;
	const char *why;
	size_t n, room;

	if (cfg->group_count > 1 && cfg->groups != NULL &&
	    cfg->groups[r->group].listen_first < cfg->listen_count) {
		at[0] = '@';
		addr_format(&cfg->listen[cfg->groups[r->group].listen_first], at + 1, sizeof(at) - 1);
	}
	room = size - strlen(at);	/* size is STATS_PATTERN_MAX, far more than at */
	if (routes_pattern_key(r->pattern, key, &kind, &why) < 0)
		n = (size_t)snprintf(out, room, "%s", r->pattern);
	else if (kind == ROUTE_DEFAULT)
		n = (size_t)snprintf(out, room, "*");
	else
		n = (size_t)snprintf(out, room, "%s%s", kind == ROUTE_WILDCARD ? "*" : "", key);
	/* Routes of one pattern differ by alpn: "app.example.com[acme-tls/1,h2]". */
	for (uint32_t i = 0; i < r->alpn_count && n < room; i++)
		n += (size_t)snprintf(out + n, room - n, "%c%s", i == 0 ? '[' : ',', r->alpn[i]);
	if (r->alpn_count > 0 && n < room)
		n += (size_t)snprintf(out + n, room - n, "]");
	n = strnlen(out, room);
	snprintf(out + n, size - n, "%s", at);
}

void
counters_assign(struct counters *k, const struct config *cfg, struct route_spec *specs,
    uint32_t count, uint32_t *backend_ids)
{
	struct stats_header *h = k->seg.hdr;
	char text[STATS_PATTERN_MAX];
	uint32_t n = 0;

	/* Our own counts bound every loop: nothing in shared memory does. */
	for (uint32_t i = 0; i < k->route_count; i++)
		atomic_store(&k->seg.routes[i].in_use, 0);
	for (uint32_t i = 0; i < k->backend_count; i++)
		atomic_store(&k->seg.backends[i].in_use, 0);
	for (uint32_t r = 0; r < count; r++) {
		counters_pattern(cfg, &specs[r], text, sizeof(text));
		specs[r].stats_id = counters_entry(k->route_index, k->seg.routes[0].pattern,
		    sizeof(struct stats_route), STATS_PATTERN_MAX, &k->route_count,
		    &h->route_count, STATS_ROUTES, text);
		atomic_store(&k->seg.routes[specs[r].stats_id].in_use, 1);
		atomic_store(&k->seg.routes[specs[r].stats_id].balance, specs[r].balance);
		specs[r].backend_stats_ids = &backend_ids[n];
		for (uint32_t b = 0; b < specs[r].backend_count; b++, n++) {
			if (specs[r].backend_flags != NULL &&
			    (specs[r].backend_flags[b] & ROUTES_BACKEND_REJECT))
				snprintf(text, sizeof(text), "reject");
			else
				addr_format(&specs[r].backends[b], text, sizeof(text));
			backend_ids[n] = counters_entry(k->backend_index,
			    k->seg.backends[0].addr, sizeof(struct stats_backend),
			    STATS_ADDR_MAX, &k->backend_count, &h->backend_count, STATS_BACKENDS,
			    text);
			atomic_store(&k->seg.backends[backend_ids[n]].in_use, 1);
		}
	}
}

int
counters_worker_start(struct counters *k, unsigned line, unsigned slot, unsigned restarts,
    unsigned engine)
{
	struct counters_area *a = &k->areas[line];
	struct stats_line *l = &k->seg.lines[line];
	uint64_t ino;
	int fd, rd;

	counters_area_drop(k, line);	/* nothing, unless a spawn failed half-way */
	fd = stats_area_create(k->seg.name, line, k->gid, &ino);
	if (fd < 0)
		return fd;
	a->fd = fd;
	/*
	 * Ours is read-only from a read-only descriptor: we only ever fold it.
	 * That descriptor stays, for the workers already running (FDPASS_AREA).
	 */
	rd = stats_reopen_readonly(fd);
	if (rd >= 0) {
		a->rd = rd;
		a->map = stats_area_map(rd, 0);
	}
	if (rd < 0 || a->map == NULL) {
		counters_area_drop(k, line);
		return rd < 0 ? rd : -ENOMEM;
	}
	atomic_store_explicit(&l->pid, 0, memory_order_relaxed);
	l->slot = slot;
	l->started_ms = clock_wall_ms();
	l->restarts = restarts;
	l->retiring = 0;
	l->area_ino = ino;
	l->engine = engine;
	return 0;
}

void
counters_worker_forked(struct counters *k, unsigned line, pid_t pid)
{
	struct counters_area *a = &k->areas[line];

	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	/* Release: a reader that sees the pid sees the rest of the line. */
	atomic_store_explicit(&k->seg.lines[line].pid, (uint32_t)pid, memory_order_release);
}

struct stats_area *
counters_worker_attach(struct counters *k, unsigned line)
{
	struct stats_area *own = NULL;
	int rc = stats_remap_readonly(&k->seg);

	for (unsigned i = 0; i < STATS_LINES; i++) {
		struct counters_area *a = &k->areas[i];

		/* The others' maps stay: PROT_READ of O_RDONLY descriptors (stats_area_map). */
		if (i == line) {
			stats_area_unmap(a->map);
			a->map = NULL;
			if (a->fd >= 0 && rc == 0)
				own = stats_area_map(a->fd, 1);
		}
		if (a->fd >= 0)
			close(a->fd);
		if (a->rd >= 0)
			close(a->rd);
		a->fd = a->rd = -1;
	}
	return own;
}

unsigned
counters_worker_peers(const struct counters *k, unsigned line, struct peer *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < STATS_LINES; i++) {
		if (i == line || k->areas[i].map == NULL)
			continue;
		out[n].map = k->areas[i].map;
		out[n].ino = k->seg.lines[i].area_ino;
		out[n].line = i;
		n++;
	}
	return n;
}

int
counters_worker_ready(const struct counters *k, unsigned line)
{
	const struct stats_area *a = k->areas[line].map;

	return a != NULL && atomic_load_explicit(&a->ready, memory_order_relaxed) != 0;
}

void
counters_worker_retiring(struct counters *k, unsigned line)
{
	k->seg.lines[line].retiring = 1;
}

/*
 * Adds what the area counted into the retired counts: the totals, and the
 * entries below our own counts (what the area holds past them was never
 * an entry). Gauges are not folded: they die with the worker.
 */
static void
counters_fold(struct counters *k, const struct stats_area *a)
{
	stats_counters_fold(&k->seg.hdr->retired, &a->c);
	for (uint32_t i = 0; i < k->route_count; i++)
		stats_entry_fold(&k->seg.routes[i].retired, &a->routes[i], 0);
	for (uint32_t i = 0; i < k->backend_count; i++)
		stats_entry_fold(&k->seg.backends[i].retired, &a->backends[i], 0);
}

void
counters_worker_exit(struct counters *k, unsigned line)
{
	struct stats_header *h = k->seg.hdr;
	struct stats_line *l = &k->seg.lines[line];

	/* A seqlock: readers retry a snapshot taken while fold_seq was odd or moved. */
	atomic_fetch_add_explicit(&h->fold_seq, 1, memory_order_acq_rel);
	if (k->areas[line].map != NULL)
		counters_fold(k, k->areas[line].map);
	atomic_store_explicit(&l->pid, 0, memory_order_relaxed);
	l->area_ino = 0;
	atomic_fetch_add_explicit(&h->fold_seq, 1, memory_order_acq_rel);
	counters_area_drop(k, line);
}

void
counters_generation(struct counters *k, uint64_t generation, const uint8_t *sha256)
{
	struct stats_header *h = k->seg.hdr;

	memcpy(h->config_sha256, sha256, sizeof(h->config_sha256));
	atomic_store_explicit(&h->generation, generation, memory_order_release);
}

void
counters_reload_done(struct counters *k, int ok, uint64_t generation, const char *message,
    const uint8_t *sha256)
{
	struct stats_header *h = k->seg.hdr;

	snprintf(h->last_reload_message, sizeof(h->last_reload_message), "%s", message);
	memcpy(h->last_reload_sha256, sha256, sizeof(h->last_reload_sha256));
	atomic_store(&h->last_reload_ms, clock_wall_ms());
	atomic_store(&h->last_reload_ok, ok ? 1u : 0u);
	if (ok)
		counters_generation(k, generation, sha256);
	/* Last: -s reload waits for this count to move, then reads the rest. */
	atomic_fetch_add_explicit(ok ? &h->reloads_ok : &h->reloads_failed, 1,
	    memory_order_release);
}
