/*
 * kernelrelay.h -- the kernel relay's BPF maps (tuning.relay = "kernel"):
 * loaded by the master, while it holds its privileges, one fresh copy per
 * worker process, and inherited by that worker at the fork.
 */
#ifndef PASSTHROUGH_KERNELRELAY_H
#define PASSTHROUGH_KERNELRELAY_H

#include "routes.h"

/* One worker's copy: the program is attached to socks and lives as long as it does. */
struct kernelrelay {
	int socks_fd;		/* sockhash: socket cookie -> socket; -1 when none */
	int peers_fd;		/* hash: socket cookie -> its peer's cookie; -1 when none */
};

/*
 * Settles s->relay for a configuration about to be published: "kernel"
 * stays only where this build has the kernel relay and a copy of it loads
 * now (or did once: see kernelrelay.c); otherwise s->relay becomes
 * "adaptive" and one log line says why. Any other relay is left alone, and
 * nothing is loaded for it.
 */
void kernelrelay_choose(struct routes_settings *s);
/*
 * Loads a fresh copy (program and maps) for one worker: 0, or -errno with
 * both fds -1. Not logged: the caller decides.
 */
int kernelrelay_open(struct kernelrelay *k);
/* Closes what k holds (the master's copy after the fork); tolerates -1 fds. */
void kernelrelay_close(struct kernelrelay *k);

#endif
