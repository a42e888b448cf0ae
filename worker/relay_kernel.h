/*
 * relay_kernel.h -- relay "kernel": the connection's two sockets in this
 * worker's BPF sockhash (master/kernelrelay.h loaded it), whose stream
 * verdict (relay_kernel.bpf.c) redirects each one's bytes to its peer's
 * egress. The worker keeps what only it can do: passing a FIN on once
 * every redirected byte left, resets, the idle timeout, byte counts, and
 * copying a direction the verdict stopped redirecting (its sink fell
 * behind): relay.c moves that one as a copying direction from then on.
 * Called by relay.c, which counts the bytes it is told of.
 */
#ifndef PASSTHROUGH_RELAY_KERNEL_H
#define PASSTHROUGH_RELAY_KERNEL_H

#include <stdint.h>

#include "relay.h"

/*
 * Puts c's sockets in the maps and waits for their end; first it sends on
 * what both sources' queues hold (copied[d] bytes each way, for the caller
 * to count). 0 with *st the outcome when c joined (or failed: RELAY_CLOSE).
 * -errno when it could not join: nothing of it is in the maps then, and
 * the caller relays it with "adaptive"; with -EAGAIN the direction whose
 * queue would not empty is set up for that already (copying, with what its
 * sink did not take pending).
 */
int relay_kernel_start(struct worker *w, struct conn *c, uint64_t copied[2],
    enum relay_status *st, enum close_reason *reason);
/* A poll result of direction d's source, while the kernel moves that direction. */
enum relay_status relay_kernel_on_event(struct worker *w, struct conn *c, int d, int res,
    enum close_reason *reason);
/* The timer: FINs due, counts, the idle check. */
enum relay_status relay_kernel_on_timer(struct worker *w, struct conn *c,
    enum close_reason *reason);
/*
 * Bytes each direction delivered (the hello included), for counting:
 * out[d], never below what c->u.dir[d].bytes says (relay.c counts the growth).
 */
void relay_kernel_sent(const struct conn *c, uint64_t out[2]);
/* Takes c's entries out of the maps (its sockets leave when closed). */
void relay_kernel_release(struct worker *w, struct conn *c);

#endif
