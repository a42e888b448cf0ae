/*
 * rtshm.h -- the shared-memory segment that carries route table generations.
 *
 * The master owns a memfd laid out as one header and RTSHM_SLOTS image
 * slots. Publishing generation N+1 writes the whole image into a slot no
 * worker can be reading, then stores `current` with release semantics.
 * Workers map the segment read-only, load `current` with acquire semantics
 * once per loop turn (a connection takes it when it is routed), and report in their own cache line the oldest
 * generation they may still read. A slot is reused only when every worker
 * reported a newer generation than the slot's.
 *
 * Slots are large and sparse: pages exist only where an image was written,
 * and a slot's pages are given back (hole punched) before it is rewritten.
 */
#ifndef PASSTHROUGH_RTSHM_H
#define PASSTHROUGH_RTSHM_H

#include <stdatomic.h>
#include <stdint.h>

#include "routes.h"
#include "tunables.h"

#define RTSHM_MAGIC	0x4d485352u	/* "RSHM" little-endian */
#define RTSHM_VERSION	1u
#define RTSHM_SLOTS	4u		/* current, previous, and room for slow workers */
#define RTSHM_SLOT_BYTES ((uint64_t)256 << 20)	/* virtual; 1,000,000 routes need ~100 MiB */
#define RTSHM_CACHELINE 64
#define RTSHM_IDLE	UINT64_MAX	/* a worker slot with no worker: pins nothing */

struct rtshm_slot {
	uint64_t generation;	/* 0: never used */
	uint64_t size;		/* bytes of the image in it */
};

/*
 * One per worker process (old and new ones overlap across a reload), a
 * cache line each so workers never share a line.
 */
struct rtshm_worker {
	_Atomic uint64_t oldest;	/* oldest generation this worker may read */
	_Atomic uint32_t ready;		/* 1 once the worker accepts */
	char pad[RTSHM_CACHELINE - sizeof(uint64_t) - sizeof(uint32_t)];
};

/* Report lines: room for every slot four times over while old workers drain. */
#define RTSHM_REPORTS (4u * MAX_WORKERS)

/*
 * The segment: [header page, read-only in workers] [worker reports,
 * writable by all] [slots, read-only in workers]. Workers write only their
 * own report line.
 */
struct rtshm_header {
	uint32_t magic;
	uint32_t version;
	/* generation << 8 | slot; 0 before the first publish */
	_Atomic uint64_t current;
	struct rtshm_slot slots[RTSHM_SLOTS];
};

#define RTSHM_PAGE 4096u
#define RTSHM_ROUND(n) ((uint64_t)RTSHM_PAGE * (((n) + RTSHM_PAGE - 1) / RTSHM_PAGE))
#define RTSHM_HEADER_BYTES RTSHM_ROUND(sizeof(struct rtshm_header))
_Static_assert(sizeof(struct rtshm_header) <= RTSHM_PAGE, "the header is one page");
#define RTSHM_REPORTS_BYTES RTSHM_ROUND(sizeof(struct rtshm_worker) * RTSHM_REPORTS)
#define RTSHM_SLOTS_OFF (RTSHM_HEADER_BYTES + RTSHM_REPORTS_BYTES)
#define RTSHM_TOTAL_BYTES (RTSHM_SLOTS_OFF + RTSHM_SLOTS * RTSHM_SLOT_BYTES)

_Static_assert(sizeof(struct rtshm_worker) == RTSHM_CACHELINE, "one cache line per worker");
_Static_assert(RTSHM_SLOTS <= 256, "slot index fits the low byte of current");

struct rtshm {
	int fd;
	char *base;
	struct rtshm_header *hdr;	/* read-write in the master, read-only in workers */
	struct rtshm_worker *workers;	/* [RTSHM_REPORTS] */
};

/* Master: creates the segment. Returns 0 or -errno. */
int rtshm_create(struct rtshm *s);
void rtshm_destroy(struct rtshm *s);

/*
 * Master: compiles specs into a free slot as generation N+1 and publishes
 * it. Returns the new generation, -EBUSY when every other slot is still
 * pinned by a worker, -E2BIG when the image exceeds a slot, or -EINVAL.
 */
int64_t rtshm_publish(struct rtshm *s, const struct route_spec *specs,
    uint32_t count, const struct routes_settings *settings);

/* Master: a report line's worker starts (pins the current generation) or ended. */
void rtshm_worker_reset(struct rtshm *s, unsigned line, int running);

/* Worker: remaps the header and the slots read-only in place. */
int rtshm_attach_readonly(struct rtshm *s);

/*
 * The word `current` packs a generation and the slot its image is in:
 * generation << 8 | slot. These three are the only code that knows it.
 */
static inline uint64_t
rtshm_word(uint64_t generation, unsigned slot)
{
	return generation << 8 | (uint64_t)slot;
}

static inline uint64_t
rtshm_word_generation(uint64_t word)
{
	return word >> 8;
}

static inline unsigned
rtshm_word_slot(uint64_t word)
{
	return (unsigned)(word & 0xff);
}

/* Anyone: the current word (acquire) and the image it names. */
static inline uint64_t
rtshm_current(const struct rtshm *s)
{
	return atomic_load_explicit(&s->hdr->current, memory_order_acquire);
}

/* The image in slot (0 .. RTSHM_SLOTS-1). */
static inline const struct routes_image *
rtshm_slot_image(const struct rtshm *s, unsigned slot)
{
	return (const struct routes_image *)(s->base + RTSHM_SLOTS_OFF +
	    (uint64_t)slot * RTSHM_SLOT_BYTES);
}

static inline const struct routes_image *
rtshm_image(const struct rtshm *s, uint64_t current)
{
	return rtshm_slot_image(s, rtshm_word_slot(current));
}

/* Worker: reports the oldest generation it may still read. */
static inline void
rtshm_worker_report(struct rtshm *s, unsigned line, uint64_t generation)
{
	atomic_store_explicit(&s->workers[line].oldest, generation,
	    memory_order_release);
}

#endif
