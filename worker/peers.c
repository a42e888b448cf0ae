/*
 * peers.c -- the other workers' statistics areas, read-only, for the sums
 * of leastconn and random2 (see peers.h for who may write what).
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peers.h"

/* The entry of line, or -1. */
static int
peers_find(const struct peers *p, uint32_t line)
{
	for (uint32_t i = 0; i < p->count; i++)
		if (p->list[i].line == line)
			return (int)i;
	return -1;
}

/* Entry i gone: unmapped, the last one moved into its place. */
static void
peers_drop(struct peers *p, uint32_t i)
{
	stats_area_unmap(p->list[i].map);
	p->list[i] = p->list[--p->count];
}

/* 1 while the master's segment says line runs a worker on the area of inode ino. */
static int
peers_live(const struct stats *seg, uint32_t line, uint64_t ino)
{
	const struct stats_line *l = &seg->lines[line];

	return atomic_load_explicit(&l->pid, memory_order_acquire) != 0 &&
	    *(const volatile uint64_t *)&l->area_ino == ino;
}

void
peers_adopt(struct peers *p, uint32_t line, const struct stats_area *map, uint64_t ino)
{
	if (map == NULL || line >= STATS_LINES || p->count >= STATS_LINES ||
	    peers_find(p, line) >= 0)
		return;
	p->list[p->count++] = (struct peer){ .map = map, .ino = ino, .line = line };
}

int
peers_take(struct peers *p, const struct stats *seg, uint32_t own, uint32_t line, int fd)
{
	const struct stats_area *map;
	struct stat st;
	int i, rc = 0;

	if (line >= STATS_LINES || line == own)
		rc = -EINVAL;
	else if (fstat(fd, &st) != 0)
		rc = -errno;
	else if (!peers_live(seg, line, (uint64_t)st.st_ino))
		rc = -ESTALE;	/* it exited meanwhile, or its line has another area now */
	if (rc == 0 && (i = peers_find(p, line)) >= 0 && p->list[i].ino == (uint64_t)st.st_ino)
		goto out;	/* inherited at the fork already */
	if (rc == 0 && (map = stats_area_map(fd, 0)) == NULL)
		rc = -errno;
	if (rc == 0) {
		if ((i = peers_find(p, line)) >= 0)
			peers_drop(p, (uint32_t)i);
		p->list[p->count++] = (struct peer){ .map = map, .ino = (uint64_t)st.st_ino,
		    .line = line };
	}
out:
	close(fd);
	return rc;
}

void
peers_refresh(struct peers *p, const struct stats *seg)
{
	for (uint32_t i = 0; i < p->count;) {
		if (peers_live(seg, p->list[i].line, p->list[i].ino))
			i++;
		else
			peers_drop(p, i);
	}
}

void
peers_tick(struct peers *p, const struct stats *seg, uint64_t now)
{
	if (now < p->refresh_at)
		return;
	p->refresh_at = now + PEERS_REFRESH_MS;
	peers_refresh(p, seg);
}

uint64_t
peers_active(const struct peers *p, uint32_t sid)
{
	uint64_t sum = 0, v;

	for (uint32_t i = 0; i < p->count; i++) {
		v = atomic_load_explicit(&p->list[i].map->backends[sid].active,
		    memory_order_relaxed);
		sum += v < PEERS_ACTIVE_MAX ? v : PEERS_ACTIVE_MAX;
	}
	return sum;
}

void
peers_free(struct peers *p)
{
	while (p->count > 0)
		peers_drop(p, p->count - 1);
}
