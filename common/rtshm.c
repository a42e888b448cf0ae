/* rtshm.c -- route table generations: one sealed memfd each. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rtshm.h"

void
rtshm_init(struct rtshm *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

void
rtshm_destroy(struct rtshm *s)
{
	if (s->fd >= 0)
		close(s->fd);
	rtshm_init(s);
}

/* The image written into fd (size bytes) through a mapping gone before it returns. */
static int
rtshm_fill(int fd, size_t size, const struct route_spec *specs, uint32_t count,
    const struct routes_access *access, const struct routes_settings *settings,
    uint64_t generation)
{
	uint32_t seed;
	void *p;
	int rc;

	if (ftruncate(fd, (off_t)size) != 0)
		return -errno;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* A fresh seed per image: hash chains cannot be aimed at across reloads. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint32_t)generation * 2654435761u;
	rc = routes_image_build(p, size, specs, count, access, settings, generation, seed);
	/* F_SEAL_WRITE is refused while a writable shared mapping exists. */
	munmap(p, size);
	return rc;
}

int64_t
rtshm_publish(struct rtshm *s, const struct route_spec *specs, uint32_t count,
    const struct routes_access *access, const struct routes_settings *settings)
{
	uint64_t generation = s->generation + 1;
	size_t size = routes_image_size(specs, count, access);
	int fd, rc;

	if (size > RTSHM_MAX_BYTES)
		return -E2BIG;
	fd = memfd_create("passthrough-routes", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	rc = rtshm_fill(fd, size, specs, count, access, settings, generation);
	if (rc == 0 && fcntl(fd, F_ADD_SEALS, RTSHM_SEALS) != 0)
		rc = -errno;
	if (rc != 0) {
		close(fd);
		return rc;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->generation = generation;
	s->size = size;
	return (int64_t)generation;
}

int
rtshm_map(int fd, uint64_t generation, const struct routes_image **img, size_t *size)
{
	const struct routes_image *p;
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & RTSHM_SEALS) != RTSHM_SEALS)
		return -EPERM;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (st.st_size < (off_t)sizeof(*p) || (uint64_t)st.st_size > RTSHM_MAX_BYTES)
		return -EINVAL;
	/* Private: a write, after an mprotect, would only ever touch our own copy. */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (p->magic != ROUTES_MAGIC || p->version != ROUTES_VERSION ||
	    p->generation != generation || p->size != (uint64_t)st.st_size) {
		munmap((void *)(uintptr_t)p, (size_t)st.st_size);
		return -EINVAL;
	}
	*img = p;
	*size = (size_t)st.st_size;
	return 0;
}

void
rtshm_unmap(const struct routes_image *img, size_t size)
{
	if (img != NULL)
		munmap((void *)(uintptr_t)img, size);
}
