/* rtshm.c -- the shared-memory segment that carries route table generations. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "rtshm.h"

int
rtshm_create(struct rtshm *s)
{
	void *p;
	int rc;

	s->fd = memfd_create("passthrough-routes", MFD_CLOEXEC);
	if (s->fd < 0)
		return -errno;
	if (ftruncate(s->fd, (off_t)RTSHM_TOTAL_BYTES) != 0)
		goto bad;
	p = mmap(NULL, RTSHM_TOTAL_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_NORESERVE, s->fd, 0);
	if (p == MAP_FAILED)
		goto bad;
	s->base = p;
	s->hdr = p;
	s->workers = (struct rtshm_worker *)(s->base + RTSHM_HEADER_BYTES);
	s->hdr->magic = RTSHM_MAGIC;
	s->hdr->version = RTSHM_VERSION;
	for (unsigned i = 0; i < RTSHM_REPORTS; i++)
		atomic_store(&s->workers[i].oldest, RTSHM_IDLE);
	return 0;
bad:
	rc = -errno;
	close(s->fd);
	s->fd = -1;
	return rc;
}

void
rtshm_destroy(struct rtshm *s)
{
	if (s->base != NULL)
		munmap(s->base, RTSHM_TOTAL_BYTES);
	if (s->fd >= 0)
		close(s->fd);
	s->base = NULL;
	s->hdr = NULL;
	s->fd = -1;
}

/* The oldest generation any running worker may still read. */
static uint64_t
rtshm_oldest_pinned(const struct rtshm *s)
{
	uint64_t oldest = RTSHM_IDLE, g;

	for (unsigned i = 0; i < RTSHM_REPORTS; i++) {
		g = atomic_load_explicit(&s->workers[i].oldest, memory_order_acquire);
		if (g < oldest)
			oldest = g;
	}
	return oldest;
}

/* A slot holding neither the current generation nor one a worker may read. */
static int
rtshm_free_slot(const struct rtshm *s)
{
	uint64_t cur = atomic_load(&s->hdr->current);
	uint64_t oldest = rtshm_oldest_pinned(s);

	for (unsigned i = 0; i < RTSHM_SLOTS; i++) {
		const struct rtshm_slot *sl = &s->hdr->slots[i];

		if (sl->generation == 0)
			return (int)i;
		if (sl->generation != rtshm_word_generation(cur) && sl->generation < oldest)
			return (int)i;
	}
	return -EBUSY;
}

int64_t
rtshm_publish(struct rtshm *s, const struct route_spec *specs, uint32_t count,
    const struct routes_settings *settings)
{
	uint64_t cur = atomic_load(&s->hdr->current);
	uint64_t generation = rtshm_word_generation(cur) + 1;
	struct rtshm_slot *sl;
	size_t size;
	uint32_t seed;
	char *dst;
	int slot, rc;

	size = routes_image_size(specs, count);
	if (size > RTSHM_SLOT_BYTES)
		return -E2BIG;
	slot = rtshm_free_slot(s);
	if (slot < 0)
		return slot;
	sl = &s->hdr->slots[slot];
	dst = s->base + RTSHM_SLOTS_OFF + (uint64_t)slot * RTSHM_SLOT_BYTES;

	/* Give the old image's pages back before writing the new one. */
	if (sl->size > 0)
		(void)fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    (off_t)(RTSHM_SLOTS_OFF + (uint64_t)slot * RTSHM_SLOT_BYTES),
		    (off_t)sl->size);
	/* A fresh seed per image: hash chains cannot be aimed at across reloads. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint32_t)generation * 2654435761u;
	rc = routes_image_build(dst, size, specs, count, settings, generation, seed);
	if (rc != 0)
		return rc;
	sl->generation = generation;
	sl->size = size;
	atomic_store_explicit(&s->hdr->current, rtshm_word(generation, slot),
	    memory_order_release);
	return (int64_t)generation;
}

void
rtshm_worker_reset(struct rtshm *s, unsigned line, int running)
{
	uint64_t g = running ? rtshm_word_generation(atomic_load(&s->hdr->current)) : RTSHM_IDLE;

	atomic_store_explicit(&s->workers[line].ready, 0, memory_order_relaxed);
	atomic_store_explicit(&s->workers[line].oldest, g, memory_order_release);
}

int
rtshm_attach_readonly(struct rtshm *s)
{
	if (mprotect(s->base, RTSHM_HEADER_BYTES, PROT_READ) != 0)
		return -errno;
	if (mprotect(s->base + RTSHM_SLOTS_OFF, RTSHM_TOTAL_BYTES - RTSHM_SLOTS_OFF,
	    PROT_READ) != 0)
		return -errno;
	return 0;
}
