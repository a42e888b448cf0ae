/*
 * master.h -- the master process: shared memory, listening sockets, and
 * the worker processes it forks and supervises.
 */
#ifndef PASSTHROUGH_MASTER_H
#define PASSTHROUGH_MASTER_H

#include "config.h"

/*
 * Runs the proxy on a loaded configuration until SIGTERM or SIGINT.
 * Returns the process exit status.
 */
int master_run(const struct config *cfg);

#endif
