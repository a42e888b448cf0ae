/*
 * rtshm_test.c -- guards the route table generations (common/rtshm.c): a
 * publish makes a new sealed generation current, nothing a worker holds
 * (the descriptor, a reopen of it through /proc/self/fd, a mapping) can
 * change a published image, a worker's map refuses what is not sealed or
 * not the generation it was told, and an older generation stays readable
 * while it is mapped.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "routes.h"
#include "rtshm.h"
#include "tunables.h"

#define PATTERN_MAX	32
#define MANY_PUBLISHES	64

static struct rtshm seg;
static struct addr backend;

static void
setup(void)
{
	const char *why;

	cr_assert_eq(addr_parse(&backend, "192.0.2.1:443", 0, &why), 0);
	rtshm_init(&seg);
}

static void
teardown(void)
{
	rtshm_destroy(&seg);
}

TestSuite(rtshm, .init = setup, .fini = teardown);

/* The pattern generation g is published with: one route, told apart by name. */
static void
pattern_of(char *buf, uint64_t generation)
{
	snprintf(buf, PATTERN_MAX, "g%llu.example", (unsigned long long)generation);
}

/* Publishes one route named for the generation it should become. */
static int64_t
publish_next(void)
{
	char pattern[PATTERN_MAX];
	struct route_spec spec = { .pattern = pattern, .backends = &backend,
	    .backend_count = 1 };

	pattern_of(pattern, seg.generation + 1);
	return rtshm_publish(&seg, &spec, 1, NULL, NULL);
}

/* The image is whole and is generation's: its header and its one route. */
static void
assert_image_is(const struct routes_image *img, uint64_t generation)
{
	char pattern[PATTERN_MAX];

	cr_assert_eq(img->magic, ROUTES_MAGIC);
	cr_assert_eq(img->version, ROUTES_VERSION);
	cr_assert_eq(img->generation, generation, "generation %llu's image is generation %llu's",
	    (unsigned long long)generation, (unsigned long long)img->generation);
	cr_assert_eq(img->route_count, 1);
	pattern_of(pattern, generation);
	cr_assert_not_null(routes_lookup(img, (const uint8_t *)pattern, strlen(pattern)),
	    "generation %llu's image lacks its route %s", (unsigned long long)generation, pattern);
}

/* Maps the current generation as a worker does and checks it. */
static const struct routes_image *
map_current(size_t *size)
{
	const struct routes_image *img;

	cr_assert_eq(rtshm_map(seg.fd, seg.generation, &img, size), 0);
	assert_image_is(img, seg.generation);
	return img;
}

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

Test(rtshm, publish_makes_a_new_generation_current)
{
	const struct routes_image *img;
	size_t size;

	cr_assert_eq(seg.generation, 0);
	cr_assert_eq(seg.fd, -1, "no generation before the first publish");
	cr_assert_eq(publish_next(), 1);
	img = map_current(&size);
	cr_assert_eq(size, seg.size);
	rtshm_unmap(img, size);
	cr_assert_eq(publish_next(), 2);
	img = map_current(&size);
	cr_assert_null(routes_lookup(img, (const uint8_t *)"g1.example", 10),
	    "generation 2 still routes generation 1's name");
	rtshm_unmap(img, size);
}

Test(rtshm, an_older_generation_stays_readable_while_it_is_mapped)
{
	const struct routes_image *old;
	size_t size;

	cr_assert_eq(publish_next(), 1);
	old = map_current(&size);
	for (int i = 0; i < MANY_PUBLISHES; i++)
		cr_assert_gt(publish_next(), 0);
	assert_image_is(old, 1);
	rtshm_unmap(old, size);
}

Test(rtshm, publishing_keeps_one_descriptor)
{
	int before;

	cr_assert_eq(publish_next(), 1);
	before = open_fds();
	for (int i = 0; i < MANY_PUBLISHES; i++)
		cr_assert_gt(publish_next(), 0);
	cr_assert_eq(open_fds(), before, "each publish must close the generation before");
}

/* Every way a holder of the descriptor could write the image, refused. */
static void
assert_unwritable(int fd, const char *how)
{
	char junk[64];
	void *p;

	memset(junk, 0x5a, sizeof(junk));
	cr_assert_lt(pwrite(fd, junk, sizeof(junk), 0), 0, "%s: pwrite succeeded", how);
	cr_assert_eq(errno, EPERM, "%s: pwrite: %s", how, strerror(errno));
	cr_assert_neq(ftruncate(fd, 0), 0, "%s: ftruncate to 0 succeeded", how);
	cr_assert_neq(ftruncate(fd, (off_t)seg.size * 2), 0, "%s: ftruncate up succeeded", how);
	cr_assert_neq(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), 0,
	    "%s: a hole was punched", how);
	p = mmap(NULL, seg.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_eq(p, MAP_FAILED, "%s: a shared writable mapping was made", how);
	cr_assert_neq(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0,
	    "%s: the seals can still change", how);
}

Test(rtshm, a_published_image_is_sealed_against_every_write)
{
	const struct routes_image *img;
	char path[64];
	size_t size;
	int fd;

	cr_assert_eq(publish_next(), 1);
	cr_assert_eq(fcntl(seg.fd, F_GET_SEALS) & RTSHM_SEALS, RTSHM_SEALS);
	assert_unwritable(seg.fd, "the descriptor");
	/* A memfd's inode is mode 0777: reopening it read-write works, writing must not. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", seg.fd);
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0, "reopen: %s", strerror(errno));
	assert_unwritable(fd, "a read-write reopen");
	close(fd);
	img = map_current(&size);
	rtshm_unmap(img, size);
}

Test(rtshm, a_worker_mapping_is_private)
{
	const struct routes_image *img, *again;
	size_t size;

	cr_assert_eq(publish_next(), 1);
	img = map_current(&size);
	/* A hostile worker may make its own mapping writable: it writes its own copy. */
	cr_assert_eq(mprotect((void *)(uintptr_t)img, size, PROT_READ | PROT_WRITE), 0);
	memset((void *)(uintptr_t)img, 0xff, size);
	again = map_current(&size);
	assert_image_is(again, 1);
	rtshm_unmap(again, size);
	rtshm_unmap(img, size);
}

/* A memfd holding a copy of the current image, sealed with seals. */
static int
copy_of_current(unsigned seals)
{
	int fd = memfd_create("copy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *buf = malloc(seg.size);

	cr_assert(fd >= 0 && buf != NULL);
	cr_assert_eq(pread(seg.fd, buf, seg.size, 0), (ssize_t)seg.size);
	cr_assert_eq(pwrite(fd, buf, seg.size, 0), (ssize_t)seg.size);
	free(buf);
	if (seals != 0)
		cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

Test(rtshm, a_worker_refuses_an_unsealed_image)
{
	const struct routes_image *img;
	size_t size;
	int fd;

	cr_assert_eq(publish_next(), 1);
	fd = copy_of_current(0);
	cr_assert_eq(rtshm_map(fd, 1, &img, &size), -EPERM);
	close(fd);
	fd = copy_of_current(F_SEAL_SHRINK | F_SEAL_GROW);
	cr_assert_eq(rtshm_map(fd, 1, &img, &size), -EPERM, "sealed, but still writable");
	close(fd);
	fd = copy_of_current(RTSHM_SEALS);
	cr_assert_eq(rtshm_map(fd, 1, &img, &size), 0, "the same bytes fully sealed");
	rtshm_unmap(img, size);
	close(fd);
}

Test(rtshm, a_worker_refuses_another_generation_or_a_short_image)
{
	const struct routes_image *img;
	size_t size;
	int fd;

	cr_assert_eq(publish_next(), 1);
	cr_assert_eq(rtshm_map(seg.fd, 2, &img, &size), -EINVAL);
	fd = memfd_create("short", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 16), 0);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, RTSHM_SEALS), 0);
	cr_assert_eq(rtshm_map(fd, 1, &img, &size), -EINVAL);
	close(fd);
}

Test(rtshm, a_refused_image_leaves_the_current_generation)
{
	const char *const dup[] = { "a.example", "A.example." };
	struct route_spec specs[2];
	const struct routes_image *img;
	size_t size;
	int fd;

	cr_assert_eq(publish_next(), 1);
	fd = seg.fd;
	for (int i = 0; i < 2; i++)
		specs[i] = (struct route_spec){ .pattern = dup[i],
		    .backends = &backend, .backend_count = 1 };
	cr_assert_eq(rtshm_publish(&seg, specs, 2, NULL, NULL), -EINVAL);
	cr_assert_eq(seg.generation, 1);
	cr_assert_eq(seg.fd, fd);
	img = map_current(&size);
	rtshm_unmap(img, size);
	cr_assert_eq(publish_next(), 2, "the next publish takes the next generation");
}

Test(rtshm, an_image_larger_than_the_limit_is_e2big)
{
	struct addr *many = calloc(MAX_BACKENDS_PER_ROUTE, sizeof(*many));
	/* Routes of MAX_BACKENDS_PER_ROUTE backends each, one more than the limit holds. */
	uint32_t count = (uint32_t)(RTSHM_MAX_BYTES /
	    (MAX_BACKENDS_PER_ROUTE * sizeof(struct routes_backend))) + 1;
	struct route_spec *specs = calloc(count, sizeof(*specs));
	char (*patterns)[PATTERN_MAX] = calloc(count, PATTERN_MAX);

	cr_assert(many != NULL && specs != NULL && patterns != NULL);
	for (uint32_t i = 0; i < MAX_BACKENDS_PER_ROUTE; i++)
		many[i] = backend;
	for (uint32_t i = 0; i < count; i++) {
		snprintf(patterns[i], PATTERN_MAX, "r%u.example", i);
		specs[i] = (struct route_spec){ .pattern = patterns[i],
		    .backends = many, .backend_count = MAX_BACKENDS_PER_ROUTE };
	}
	cr_assert_gt(routes_image_size(specs, count, NULL), RTSHM_MAX_BYTES);
	cr_assert_eq(publish_next(), 1);
	cr_assert_eq(rtshm_publish(&seg, specs, count, NULL, NULL), -E2BIG);
	cr_assert_eq(seg.generation, 1);
	free(patterns);
	free(specs);
	free(many);
}
