/*
 * backend.h -- choosing a route's backend in a worker, and its passive
 * health as this worker sees it.
 */
#ifndef PASSTHROUGH_BACKEND_H
#define PASSTHROUGH_BACKEND_H

#include <stdint.h>

#include "routes.h"

struct worker;

/*
 * The backend of route r (this turn's image) a new connection takes: by
 * weight among those up here (a down one due for a probe counts as up,
 * once); when all are down, the one that failed longest ago (counted in
 * all_down, logged). -1 when none can take one (every weight 0).
 */
int backend_pick(struct worker *w, const struct routes_route *r);

/* After b[from] failed: the next one that can take a connection, up ones first; or -1. */
int backend_next(struct worker *w, const struct routes_backend *b, uint32_t n, uint32_t from);

/* A connect to backend entry sid failed, or succeeded. */
void backend_failed(struct worker *w, uint32_t sid);
void backend_connected(struct worker *w, uint32_t sid);

#endif
