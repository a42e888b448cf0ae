/*
 * sig.h -- signal set-up shared by the master and the workers: handlers
 * only set flags, and the handled signals stay blocked except while the
 * process sleeps in a call that takes a signal mask (ppoll, the ring's
 * wait), so no signal slips in between checking the flags and sleeping.
 */
#ifndef PASSTHROUGH_SIG_H
#define PASSTHROUGH_SIG_H

#include <signal.h>
#include <stddef.h>

/*
 * Ignores the `ignored` signals, installs handler for the `handled` ones
 * and blocks them. *waitmask becomes the mask to sleep with: the mask
 * before the call, less the handled signals.
 */
void sig_setup(const int *handled, size_t handled_count, const int *ignored,
    size_t ignored_count, void (*handler)(int), sigset_t *waitmask);

#endif
