/*
 * backend.c -- which backend of a route a connection takes, and what a
 * connect's outcome says of it: the route's balance mode (common/balance.c:
 * weighted round robin, or leastconn and random2 over the connections
 * every worker holds, worker/peers.c) over the backends this worker holds
 * up (common/health.c), a probe of a down one now and then, and the least
 * recently failed one when all are down. Health is per worker, by backend
 * entry id, so it outlives route table generations. A backend the master
 * checks actively (its state in the segment, master/checks.c) is skipped
 * while the checks hold it down, and when this worker holds it down, until
 * `rise` more checks passed.
 */
#include "backend.h"
#include "balance.h"
#include "log.h"
#include "tunables.h"
#include "worker-t.h"

/* Whether b may take a connection: by the master's checks and ours when checked, else ours. */
static bool
backend_usable(const struct worker *w, const struct routes_backend *b)
{
	const struct health *h = &w->health[b->stats_id];
	const struct stats_backend *sb;

	if (!(b->flags & ROUTES_BACKEND_CHECKED))
		return health_usable(h, w->now);
	sb = &w->stats->backends[b->stats_id];
	return health_checked_usable(h, atomic_load_explicit(&sb->check_state,
	    memory_order_acquire) == STATS_CHECK_DOWN, atomic_load_explicit(&sb->checks_ok,
	    memory_order_relaxed), atomic_load_explicit(&sb->check_rise, memory_order_relaxed));
}

/* Marks in skip the backends held down (here, not due for a probe; or by the checks); 1 if any. */
static int
backend_skip(const struct worker *w, const struct routes_backend *b, uint32_t n,
    uint8_t *skip)
{
	int any = 0;

	for (uint32_t k = 0; k < n; k++) {
		skip[k] = !backend_usable(w, &b[k]);
		any |= skip[k];
	}
	return any;
}

/* Of the backends that can take a connection, the one whose last failure is oldest. */
static int
backend_least_failed(const struct worker *w, const struct routes_backend *b, uint32_t n)
{
	int best = -1;

	for (uint32_t k = 0; k < n; k++) {
		if (b[k].weight == 0 || (b[k].flags & ROUTES_BACKEND_REJECT))
			continue;
		if (best < 0 || w->health[b[k].stats_id].failed_at <
		    w->health[b[(uint32_t)best].stats_id].failed_at)
			best = (int)k;
	}
	return best;
}

/*
 * The connections each backend that can take one holds over every worker:
 * our own count and each live peer's, each clamped (a peer's area is the
 * peer's to write). The others' are left 0: balance_* does not read them.
 */
static void
backend_active(struct worker *w, const struct routes_backend *b, uint32_t n,
    const uint8_t *skip, uint64_t *active)
{
	uint64_t own;

	peers_refresh(&w->peers, w->stats);
	for (uint32_t k = 0; k < n; k++) {
		active[k] = 0;
		if (b[k].weight == 0 || (b[k].flags & ROUTES_BACKEND_REJECT) ||
		    (skip != NULL && skip[k]))
			continue;
		own = atomic_load_explicit(&w->st->backends[b[k].stats_id].active,
		    memory_order_relaxed);
		active[k] = (own < PEERS_ACTIVE_MAX ? own : PEERS_ACTIVE_MAX) +
		    peers_active(&w->peers, b[k].stats_id);
	}
}

/* By the route's balance mode; sums only for leastconn and random2 over two or more. */
static int
backend_choose(struct worker *w, const struct routes_route *r, const struct routes_backend *b,
    const uint8_t *skip)
{
	uint64_t active[MAX_BACKENDS_PER_ROUTE];
	int64_t *cur = w->swrr + r->backend_first;
	uint32_t n = r->backend_count;
	uint64_t r1, r2;

	if (n < 2 || r->balance == ROUTES_BALANCE_ROUNDROBIN || r->balance >= ROUTES_BALANCE_COUNT)
		return balance_swrr(b, n, cur, skip);
	backend_active(w, b, n, skip, active);
	if (r->balance == ROUTES_BALANCE_LEASTCONN)
		return balance_leastconn(b, n, cur, skip, active);
	r1 = balance_random(&w->random);
	r2 = balance_random(&w->random);
	return balance_random2(b, n, cur, skip, active, r1, r2);
}

int
backend_pick(struct worker *w, const struct routes_route *r)
{
	static struct log_limit limit;
	const struct routes_backend *b = routes_backends(w->img, r);
	uint8_t skip[MAX_BACKENDS_PER_ROUTE];
	uint64_t skipped;
	int any_down, k;

	if (w->swrr == NULL)	/* no memory for the state: the first that can take one */
		return b[0].weight > 0 && !(b[0].flags & ROUTES_BACKEND_REJECT) ? 0 :
		    balance_next(b, r->backend_count, 0);
	/* Nothing down here, nothing checked (the usual case): no pass over the health states. */
	any_down = (w->backends_down > 0 || w->checked) &&
	    backend_skip(w, b, r->backend_count, skip);
	k = backend_choose(w, r, b, any_down ? skip : NULL);
	if (k < 0 && any_down && (k = backend_least_failed(w, b, r->backend_count)) >= 0) {
		STATS_ADD(w->st->c.all_down, 1);
		if (worker_log_due(w, &limit, &skipped))
			log_warn("route %s: every backend is down; trying %s, the one that failed "
			    "longest ago (%llu more not logged)", w->stats->routes[r->stats_id].pattern,
			    w->stats->backends[b[k].stats_id].addr, (unsigned long long)skipped);
	}
	if (k >= 0)
		health_probe(&w->health[b[k].stats_id], w->now);
	return k;
}

int
backend_next(struct worker *w, const struct routes_backend *b, uint32_t n, uint32_t from)
{
	int first = balance_next(b, n, from), k = first;

	/* The next one this worker holds up, else the next one at all. */
	while (k >= 0 && !backend_usable(w, &b[k])) {
		k = balance_next(b, n, (uint32_t)k);
		if (k < 0 || k == first || k == (int)from)
			return first;
	}
	if (k >= 0)
		health_probe(&w->health[b[k].stats_id], w->now);
	return k;
}

void
backend_failed(struct worker *w, uint32_t sid)
{
	const struct stats_backend *sb = &w->stats->backends[sid];
	uint32_t fall = atomic_load_explicit(&sb->check_fall, memory_order_relaxed);
	struct health *h = &w->health[sid];

	/* Checked (the master wrote its fall): back only after `rise` checks from now. */
	if (fall != 0)
		h->checks_ok_at = atomic_load_explicit(&sb->checks_ok, memory_order_relaxed);
	if (health_failed(h, w->now, fall != 0 ? fall : HEALTH_FALL) != HEALTH_WENT_DOWN)
		return;
	w->backends_down++;
	STATS_ADD(w->st->backends[sid].down, 1);
	STATS_ADD(w->st->backends[sid].went_down, 1);
	if (fall != 0)
		log_warn("backend %s is down: %u connects failed in a row; back once %u "
		    "checks passed", sb->addr, fall,
		    atomic_load_explicit(&sb->check_rise, memory_order_relaxed));
	else
		log_warn("backend %s is down: %u connects failed in a row; a client probes it "
		    "in %u ms", sb->addr, HEALTH_FALL, HEALTH_BACKOFF_MIN_MS);
}

void
backend_connected(struct worker *w, uint32_t sid)
{
	if (health_ok(&w->health[sid]) != HEALTH_CAME_UP)
		return;
	w->backends_down--;
	STATS_SUB(w->st->backends[sid].down, 1);
	log_info("backend %s is up again: a probe connected", w->stats->backends[sid].addr);
}
