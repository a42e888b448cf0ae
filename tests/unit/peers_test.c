/*
 * peers_test.c -- guards worker/peers.c: another worker's area counts
 * only while the segment gives its line that inode, is dropped (unmapped)
 * when not, and each value read from it is clamped.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peers.h"

static struct peers peers;
static struct stats seg;

/* A fresh area object (a memfd the size of an area); *ino its inode. */
static int
area_make(uint64_t *ino)
{
	struct stat st;
	int fd = memfd_create("peers_test", MFD_CLOEXEC);

	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, (off_t)STATS_AREA_SIZE), 0);
	cr_assert_eq(fstat(fd, &st), 0);
	*ino = (uint64_t)st.st_ino;
	return fd;
}

/* Line's area as the master publishes it: a pid and the inode. */
static void
line_set(uint32_t line, uint32_t pid, uint64_t ino)
{
	atomic_store(&seg.lines[line].pid, pid);
	seg.lines[line].area_ino = ino;
}

/* fd's area written as its worker would: backend sid holds active. */
static struct stats_area *
area_writer(int fd)
{
	struct stats_area *a = stats_area_map(fd, 1);

	cr_assert_not_null(a);
	return a;
}

static void
setup(void)
{
	memset(&peers, 0, sizeof(peers));
	memset(&seg, 0, sizeof(seg));
	seg.lines = calloc(STATS_LINES, sizeof(*seg.lines));
	cr_assert_not_null(seg.lines);
}

static void
teardown(void)
{
	peers_free(&peers);
	free(seg.lines);
}

TestSuite(peers, .init = setup, .fini = teardown);

Test(peers, a_live_peer_counts_and_its_values_are_clamped)
{
	uint64_t ino1, ino2;
	int fd1 = area_make(&ino1), fd2 = area_make(&ino2);
	struct stats_area *w1 = area_writer(fd1), *w2 = area_writer(fd2);

	line_set(1, 101, ino1);
	line_set(2, 102, ino2);
	cr_assert_eq(peers_take(&peers, &seg, 0, 1, fd1), 0);
	cr_assert_eq(peers_take(&peers, &seg, 0, 2, fd2), 0);
	cr_assert_eq(peers.count, 2);
	atomic_store(&w1->backends[7].active, 3);
	atomic_store(&w2->backends[7].active, 4);
	cr_assert_eq(peers_active(&peers, 7), 7);
	cr_assert_eq(peers_active(&peers, 8), 0);
	/* A hostile worker's count (or a gauge taken below 0): at most PEERS_ACTIVE_MAX. */
	atomic_store(&w2->backends[7].active, UINT64_MAX);
	cr_assert_eq(peers_active(&peers, 7), 3 + PEERS_ACTIVE_MAX);
	stats_area_unmap(w1);
	stats_area_unmap(w2);
}

Test(peers, a_descriptor_that_is_not_the_lines_area_is_refused)
{
	uint64_t ino, other;
	int fd = area_make(&ino), fd2 = area_make(&other);

	line_set(3, 103, other);
	cr_assert_eq(peers_take(&peers, &seg, 0, 3, fd), -ESTALE, "another inode");
	line_set(4, 0, ino);
	cr_assert_eq(peers_take(&peers, &seg, 0, 4, fd2), -ESTALE, "a free line");
	cr_assert_eq(peers.count, 0);
	cr_assert_eq(peers_take(&peers, &seg, 5, 5, area_make(&ino)), -EINVAL, "our own line");
	cr_assert_eq(peers_take(&peers, &seg, 0, STATS_LINES, area_make(&ino)), -EINVAL);
	cr_assert_eq(peers.count, 0);
}

Test(peers, a_peer_that_exited_or_was_replaced_is_dropped)
{
	uint64_t ino1, ino2, ino3;
	int fd1 = area_make(&ino1), fd2 = area_make(&ino2), fd3;
	struct stats_area *w2 = area_writer(fd2);

	line_set(1, 101, ino1);
	line_set(2, 102, ino2);
	cr_assert_eq(peers_take(&peers, &seg, 0, 1, fd1), 0);
	cr_assert_eq(peers_take(&peers, &seg, 0, 2, fd2), 0);
	atomic_store(&w2->backends[1].active, 5);
	line_set(1, 0, 0);		/* exited: the master cleared its line */
	peers_refresh(&peers, &seg);
	cr_assert_eq(peers.count, 1);
	cr_assert_eq(peers.list[0].line, 2);
	cr_assert_eq(peers_active(&peers, 1), 5);
	/* Line 2 restarted with a new area: the old one goes at the next refresh... */
	fd3 = area_make(&ino3);
	line_set(2, 202, ino3);
	peers_tick(&peers, &seg, 0);
	cr_assert_eq(peers.count, 0);
	/* ... or at once when the new one arrives. */
	cr_assert_eq(peers_take(&peers, &seg, 0, 2, fd3), 0);
	cr_assert_eq(peers.count, 1);
	cr_assert_eq(peers.list[0].ino, ino3);
	cr_assert_eq(peers_active(&peers, 1), 0);
	stats_area_unmap(w2);
}

Test(peers, an_inherited_area_is_not_mapped_twice)
{
	uint64_t ino;
	int fd = area_make(&ino);
	const struct stats_area *map = stats_area_map(fd, 0);

	line_set(1, 101, ino);
	peers_adopt(&peers, 1, map, ino);
	peers_adopt(&peers, 1, map, ino);
	cr_assert_eq(peers.count, 1);
	cr_assert_eq(peers_take(&peers, &seg, 0, 1, fd), 0, "the same area: kept, fd closed");
	cr_assert_eq(peers.count, 1);
	cr_assert_eq(peers.list[0].map, map);
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "the descriptor was closed");
}
