/*
 * rtshm.h -- route table generations: one sealed memfd each.
 *
 * The master builds every generation in a memfd of its own, exactly the
 * image's size, then seals it (F_SEAL_WRITE, F_SEAL_GROW, F_SEAL_SHRINK,
 * F_SEAL_SEAL) and sends the descriptor to each worker over its control
 * channel (fdpass.h, FDPASS_ROUTES). Nobody can change a sealed image
 * again: not through the descriptor (write, ftruncate and fallocate fail),
 * not by reopening /proc/self/fd/N (the seals belong to the inode), not by
 * mapping it shared and writable (refused), not by growing a mapping
 * (pages past the end fault). Workers map it private and read-only, so
 * even mprotect gives a worker only a copy of its own.
 *
 * There is no shared header, slot or report a worker could write: a
 * generation lives as long as someone holds its descriptor or a mapping
 * (the master keeps the current one for workers it starts later; a worker
 * unmaps one when it routes by a newer one and no connecting connection
 * still uses it).
 */
#ifndef PASSTHROUGH_RTSHM_H
#define PASSTHROUGH_RTSHM_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

#include "routes.h"

/* The largest image (1,000,000 routes need about 100 MiB). */
#define RTSHM_MAX_BYTES ((uint64_t)256 << 20)

/* The seals an image carries before anyone but the master sees it. */
#define RTSHM_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* The master's current generation. */
struct rtshm {
	int fd;			/* sealed memfd of the current image; -1 before the first */
	uint64_t generation;	/* 0 before the first publish */
	uint64_t size;		/* bytes of the current image */
};

/* Master: no generation yet. */
void rtshm_init(struct rtshm *s);
void rtshm_destroy(struct rtshm *s);

/*
 * Master: compiles specs into a new sealed memfd as generation N+1 and makes
 * it current (the previous descriptor is closed; workers that mapped it keep
 * their mapping). Returns the new generation, -E2BIG when the image exceeds
 * RTSHM_MAX_BYTES, -EINVAL for what routes_image_build() refuses, or -errno.
 */
int64_t rtshm_publish(struct rtshm *s, const struct route_spec *specs,
    uint32_t count, const struct routes_access *access,
    const struct routes_settings *settings);

/*
 * Worker: maps a received descriptor read-only (private) after checking
 * that it carries RTSHM_SEALS, a size within bounds and a valid image of
 * the generation the message named. The descriptor stays the caller's.
 * Returns 0 with *img and *size, -EPERM when it is not sealed, -EINVAL
 * when it is not that generation's image, or -errno.
 */
int rtshm_map(int fd, uint64_t generation, const struct routes_image **img, size_t *size);

void rtshm_unmap(const struct routes_image *img, size_t size);

#endif
