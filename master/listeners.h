/*
 * listeners.h -- the listening sockets: one SO_REUSEPORT socket per worker
 * slot and address. A reload that changes `listen` or `workers` builds a new
 * set that takes over every socket whose (slot, address) stays, so a kept
 * address is never closed and reopened: nothing queued on it is refused.
 */
#ifndef PASSTHROUGH_LISTENERS_H
#define PASSTHROUGH_LISTENERS_H

#include "addr.h"

struct listeners {
	unsigned slots;		/* worker slots */
	unsigned count;		/* addresses */
	struct addr *addrs;	/* [count] */
	int *fds;		/* [slots][count] */
};

/*
 * Builds the set for slots x addrs, taking sockets over from old (may be
 * NULL) where slot and address match, opening the rest. Taken sockets are
 * set to -1 in old. On success, new connections to each address go only to
 * the set's sockets, and those left in old refuse new connections (their
 * retiring workers accept what is queued, then close them; nothing else
 * may use them). Returns 0 or -errno (logged, with the address).
 */
int listeners_open(struct listeners *set, unsigned slots, const struct addr *addrs,
    unsigned count, struct listeners *old);

/* The sockets of one slot: count fds. */
static inline const int *
listeners_slot(const struct listeners *set, unsigned slot)
{
	return &set->fds[slot * set->count];
}

/* Closes every socket still in the set; tolerates a zeroed or partial set. */
void listeners_close(struct listeners *set);

/* In a worker: closes every socket but those of its own slot. */
void listeners_keep_slot(const struct listeners *set, unsigned slot);

/* 1 when the two sets have the same slots and addresses in the same order. */
int listeners_same(const struct listeners *set, unsigned slots,
    const struct addr *addrs, unsigned count);

#endif
