/*
 * checks.c -- the master's active health checks: one TCP connect per
 * checked address every interval_ms, non-blocking and waited on by the
 * master loop's ppoll, the result fed to the state machine in
 * common/health.c and written where workers read it (the segment's
 * backend entries). A check passes when the connect completes (then the
 * PROXY header the backend expects, LOCAL or UNKNOWN, and a close); it
 * fails when refused, unreachable or not done within timeout_ms.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checks.h"
#include "clock.h"
#include "log.h"
#include "proxyproto.h"
#include "sock.h"

/* Why a check failed, as its log line says it: -errno, or -ETIMEDOUT for ours. */
static const char *
checks_why(int err)
{
	switch (-err) {
	case ETIMEDOUT:
		return "timed out";
	case ECONNREFUSED:
		return "connection refused";
	case ECONNRESET:
		return "connection reset";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "unreachable";
	default:
		return strerror(-err);
	}
}

/* The segment entry of t: its state, counts, rise and fall as they are now. */
static void
checks_publish(struct checks *c, const struct checks_target *t)
{
	struct stats_backend *b = &c->seg->backends[t->sid];

	atomic_store_explicit(&b->checks_ok, t->hc.ok, memory_order_relaxed);
	atomic_store_explicit(&b->checks_failed, t->hc.failed, memory_order_relaxed);
	atomic_store_explicit(&b->check_rise, t->cfg.rise, memory_order_relaxed);
	atomic_store_explicit(&b->check_fall, t->cfg.fall, memory_order_relaxed);
	atomic_store_explicit(&b->check_state, t->hc.down ? STATS_CHECK_DOWN : STATS_CHECK_UP,
	    memory_order_release);
}

/* A backend entry no longer checked: workers see passive health only again. */
static void
checks_unpublish(struct checks *c, uint32_t sid)
{
	struct stats_backend *b = &c->seg->backends[sid];

	atomic_store_explicit(&b->check_state, STATS_CHECK_NONE, memory_order_release);
	atomic_store_explicit(&b->check_rise, 0, memory_order_relaxed);
	atomic_store_explicit(&b->check_fall, 0, memory_order_relaxed);
}

static void
checks_close(struct checks *c, struct checks_target *t)
{
	if (t->fd < 0)
		return;
	close(t->fd);
	t->fd = -1;
	c->inflight--;
}

/* t's check ended: passed (err 0) or failed (-errno). Counted, published, a change logged. */
static void
checks_end(struct checks *c, struct checks_target *t, int err)
{
	const char *addr = c->seg->backends[t->sid].addr;
	enum health_change ch;

	checks_close(c, t);
	ch = health_check_result(&t->hc, err == 0, t->cfg.rise, t->cfg.fall);
	if (ch != HEALTH_SAME)
		atomic_store_explicit(&c->seg->backends[t->sid].check_changed_ms,
		    clock_wall_ms(), memory_order_relaxed);
	checks_publish(c, t);
	if (ch == HEALTH_WENT_DOWN)
		log_warn("backend %s is down: %u checks failed in a row (%s)", addr,
		    t->cfg.fall, checks_why(err));
	else if (ch == HEALTH_CAME_UP)
		log_info("backend %s is up: %u checks passed", addr, t->cfg.rise);
}

/* The connect of t completed: the PROXY header its backend expects, if any; then passed. */
static void
checks_connected(struct checks *c, struct checks_target *t)
{
	uint8_t hdr[PROXY_V1_MAX];
	struct addr none = { 0 };
	size_t n = 0;

	if (t->cfg.send_proxy == ROUTES_PROXY_V2)
		n = proxy_build_v2_local(hdr, sizeof(hdr));
	else if (t->cfg.send_proxy == ROUTES_PROXY_V1)
		n = proxy_build_v1((char *)hdr, sizeof(hdr), &none, &none);	/* "PROXY UNKNOWN" */
	/* A fresh socket's send buffer takes a few bytes: no wait, and no fault if not. */
	if (n > 0)
		(void)send(t->fd, hdr, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	checks_end(c, t, 0);
}

/* Starts t's check at now. */
static void
checks_start(struct checks *c, struct checks_target *t, uint64_t now)
{
	static struct log_limit limit;
	uint64_t skipped;
	int fd;

	t->due_ms = now + t->cfg.interval_ms;
	if ((fd = sock_backend(t->addr.u.sa.sa_family)) < 0) {
		/* The master's own shortage says nothing of the backend: not counted. */
		if (log_limit_due(&limit, now, LOG_REPEAT_MS, &skipped))
			log_error("checking backend %s: socket: %s (%llu more not logged)",
			    c->seg->backends[t->sid].addr, strerror(-fd),
			    (unsigned long long)skipped);
		return;
	}
	t->fd = fd;
	t->deadline_ms = now + t->cfg.timeout_ms;
	c->inflight++;
	if (connect(fd, &t->addr.u.sa, t->addr.len) == 0)
		checks_connected(c, t);
	else if (errno != EINPROGRESS)
		checks_end(c, t, -errno);
}

void
checks_run(struct checks *c, uint64_t now)
{
	for (uint32_t i = 0; i < c->count; i++) {
		struct checks_target *t = &c->t[i];

		if (t->fd >= 0 && now >= t->deadline_ms)
			checks_end(c, t, -ETIMEDOUT);
		if (t->fd < 0 && now >= t->due_ms && c->inflight < CHECKS_INFLIGHT_MAX)
			checks_start(c, t, now);
	}
}

unsigned
checks_pollfds(struct checks *c, struct pollfd *pfds, unsigned max)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < c->count && n < max && n < CHECKS_INFLIGHT_MAX; i++) {
		if (c->t[i].fd < 0)
			continue;
		pfds[n] = (struct pollfd){ .fd = c->t[i].fd, .events = POLLOUT };
		c->polled[n++] = i;
	}
	c->polled_count = n;
	return n;
}

void
checks_events(struct checks *c, const struct pollfd *pfds, unsigned n)
{
	socklen_t len;
	int err;

	for (unsigned j = 0; j < n && j < c->polled_count; j++) {
		struct checks_target *t = &c->t[c->polled[j]];

		if (pfds[j].revents == 0 || t->fd != pfds[j].fd)
			continue;
		err = 0;
		len = sizeof(err);
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err == 0 && (pfds[j].revents & POLLOUT))
			checks_connected(c, t);
		else
			checks_end(c, t, err != 0 ? -err : -ECONNRESET);
	}
	c->polled_count = 0;
}

int64_t
checks_next_ms(const struct checks *c, uint64_t now)
{
	int64_t best = -1, d;
	uint64_t at;

	for (uint32_t i = 0; i < c->count; i++) {
		const struct checks_target *t = &c->t[i];

		if (t->fd >= 0)
			at = t->deadline_ms;
		else if (c->inflight < CHECKS_INFLIGHT_MAX)
			at = t->due_ms;
		else
			continue;	/* it starts when one in flight ends */
		d = at > now ? (int64_t)(at - now) : 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best;
}

/*
 * The weight of every in-use backend entry (the largest the routes of
 * specs give it): what the tool shows (counters_assign() wrote each
 * route's balance mode).
 */
static void
checks_weights(struct stats *seg, uint32_t entries, uint32_t *w,
    const struct route_spec *specs, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		for (uint32_t k = 0; specs[i].backend_stats_ids != NULL &&
		    k < specs[i].backend_count; k++) {
			uint32_t sid = specs[i].backend_stats_ids[k];
			uint32_t wk = specs[i].weights != NULL ? specs[i].weights[k] : 1;

			if (sid < entries && wk > w[sid])
				w[sid] = wk;
		}
	}
	for (uint32_t sid = 0; sid < entries; sid++)
		atomic_store_explicit(&seg->backends[sid].weight,
		    atomic_load(&seg->backends[sid].in_use) ? w[sid] : 0, memory_order_relaxed);
}

/*
 * The check settings of spec backend k of route i: cfg's route i's backend
 * backend_src[k] (a host name's addresses share its check), or NULL.
 */
static const struct config_check *
checks_settings(const struct route_spec *s, const struct config_route *r, uint32_t k)
{
	uint32_t src = s->backend_src != NULL ? s->backend_src[k] : k;

	if (r->backend_checks == NULL || src >= r->backend_count || !r->backend_checks[src].set)
		return NULL;
	return &r->backend_checks[src];
}

/* Appends spec backend k's address as a target to next, its state taken from c's if it had one. */
static void
checks_add(struct checks *c, struct checks_target *next, uint32_t *n, uint32_t *old,
    uint32_t sid, const struct addr *a, const struct config_check *cc, uint64_t now)
{
	struct checks_target *t = &next[(*n)++];
	const struct stats_backend *b = &c->seg->backends[sid];

	if (old[sid] != 0) {
		*t = c->t[old[sid] - 1];
		old[sid] = 0;	/* taken: not forgotten below */
		if (t->cfg.interval_ms > cc->interval_ms && t->due_ms > now + cc->interval_ms)
			t->due_ms = now + cc->interval_ms;
	} else {
		memset(t, 0, sizeof(*t));
		t->fd = -1;
		t->due_ms = now;	/* the first check at once */
		/* The counts never go back: workers measure `rise` by their growth. */
		t->hc.ok = atomic_load(&b->checks_ok);
		t->hc.failed = atomic_load(&b->checks_failed);
	}
	t->sid = sid;
	t->addr = *a;
	t->cfg = *cc;
}

int
checks_update(struct checks *c, struct stats *seg, uint32_t entries,
    const struct route_spec *specs, uint32_t count, const struct config *cfg, uint64_t now)
{
	uint32_t *old = calloc(entries + 1, sizeof(*old)), *w = calloc(entries + 1, sizeof(*w));
	struct checks_target *next = NULL;
	uint32_t n = 0, total = 0;

	for (uint32_t i = 0; i < count; i++)
		total += specs[i].backend_count;
	if (total > 0)
		next = calloc(total, sizeof(*next));
	if (old == NULL || w == NULL || (total > 0 && next == NULL)) {
		log_error("active checks: %s; the checks in force stay", strerror(ENOMEM));
		free(old);
		free(w);
		return -ENOMEM;
	}
	c->seg = seg;
	/* Entries our own counts bound: nothing read from shared memory is an index. */
	for (uint32_t i = 0; i < c->count; i++)
		if (c->t[i].sid < entries)
			old[c->t[i].sid] = i + 1;
	for (uint32_t i = 0; i < count && i < cfg->route_count; i++) {
		for (uint32_t k = 0; specs[i].backend_stats_ids != NULL &&
		    k < specs[i].backend_count; k++) {
			const struct config_check *cc = checks_settings(&specs[i], &cfg->routes[i], k);
			uint32_t sid = specs[i].backend_stats_ids[k];

			/* Once per address (the first route's settings); "(other)" is no address. */
			if (cc == NULL || sid == STATS_OTHER || sid >= entries || w[sid] != 0)
				continue;
			w[sid] = 1;
			checks_add(c, next, &n, old, sid, &specs[i].backends[k], cc, now);
		}
	}
	/* The targets left behind: their checks stop. */
	for (uint32_t i = 0; i < c->count; i++) {
		if (c->t[i].sid < entries && old[c->t[i].sid] == 0)
			continue;	/* carried over */
		checks_close(c, &c->t[i]);
		checks_unpublish(c, c->t[i].sid);
	}
	free(c->t);
	c->t = next;
	c->count = n;
	c->polled_count = 0;
	for (uint32_t i = 0; i < n; i++)
		checks_publish(c, &c->t[i]);
	memset(w, 0, (entries + 1) * sizeof(*w));
	checks_weights(seg, entries, w, specs, count);
	free(old);
	free(w);
	return 0;
}

void
checks_forget(struct checks *c)
{
	for (uint32_t i = 0; i < c->count; i++)
		if (c->t[i].fd >= 0)
			close(c->t[i].fd);
}

void
checks_free(struct checks *c)
{
	for (uint32_t i = 0; i < c->count; i++)
		checks_close(c, &c->t[i]);
	free(c->t);
	memset(c, 0, sizeof(*c));
}
