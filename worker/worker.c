/*
 * worker.c -- the worker process: its io_uring, its loop, accepting and
 * routing table generations. Connections live in conn.c and relay.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "sig.h"
#include "sock.h"
#include "tunables.h"
#include "worker.h"

/* The longest the loop sleeps: it re-reads the route generation at least this often. */
#define WORKER_TICK_MS 1000u
/* After EMFILE/ENFILE/ENOMEM on accept, wait this long before accepting again. */
#define ACCEPT_RETRY_MS 100u

static volatile sig_atomic_t worker_stop;	/* SIGTERM, SIGINT: now */
static volatile sig_atomic_t worker_quit;	/* SIGQUIT: after the connections end */
static volatile sig_atomic_t worker_reopen;	/* SIGUSR1: reopen the log file */

static void
worker_on_signal(int sig)
{
	switch (sig) {
	case SIGQUIT:
		worker_quit = 1;
		break;
	case SIGUSR1:
		worker_reopen = 1;
		break;
	case SIGUSR2:
		break;		/* the master published a generation: just wake up */
	default:
		worker_stop = 1;
		break;
	}
}

/*
 * SIGTERM/SIGINT stop the worker, SIGQUIT retires it, SIGUSR1 reopens the
 * log, SIGUSR2 wakes it for a new generation. They stay blocked except
 * while the ring waits (the wait's sigmask unblocks them), so a signal can
 * never slip in between checking the flags and going to sleep.
 */
static void
worker_signals(sigset_t *waitmask)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2 };
	/* SIGPIPE: splice(2) to a closed socket raises it. SIGHUP: the master reloads, not us. */
	static const int ignored[] = { SIGPIPE, SIGHUP };

	sig_setup(handled, sizeof(handled) / sizeof(handled[0]), ignored,
	    sizeof(ignored) / sizeof(ignored[0]), worker_on_signal, waitmask);
}

static int
worker_ring_init(struct worker *w)
{
	static const unsigned flag_sets[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
		    IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SUBMIT_ALL,
		0,
	};
	unsigned iowq[2] = { RING_IOWQ_MAX_WORKERS, RING_IOWQ_MAX_WORKERS };
	struct io_uring_params p;
	int rc = -EINVAL;

	/* Newest flags first; an older kernel says EINVAL and we try less. */
	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = flag_sets[i] | IORING_SETUP_CQSIZE;
		p.cq_entries = RING_CQ_ENTRIES;
		rc = io_uring_queue_init_params(RING_SQ_ENTRIES, &w->ring, &p);
		if (rc != -EINVAL)
			break;
	}
	if (rc < 0) {
		log_error("io_uring_queue_init: %s", strerror(-rc));
		return rc;
	}
	/* Every fd is non-blocking, so io-wq threads never park: a small cap is safe. */
	rc = io_uring_register_iowq_max_workers(&w->ring, iowq);
	if (rc < 0)
		log_warn("io_uring_register_iowq_max_workers: %s", strerror(-rc));
	return 0;
}

int
worker_log_due(const struct worker *w, struct log_limit *l, uint64_t *skipped)
{
	return log_limit_due(l, w->now, LOG_REPEAT_MS, skipped);
}

struct io_uring_sqe *
worker_sqe(struct worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	if (sqe == NULL) {
		/* The SQ is full: hand it to the kernel and take a fresh entry. */
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
		if (sqe == NULL)
			log_error("io_uring: no submission entry free after submit");
	}
	return sqe;
}

/* Reports the oldest image generation this worker may still read. */
static void
worker_routes_report(struct worker *w)
{
	const struct rtshm_header *hdr = w->spec->routes->hdr;
	uint64_t oldest = rtshm_word_generation(w->current);

	for (unsigned i = 0; i < RTSHM_SLOTS; i++)
		if (w->pins[i] > 0 && hdr->slots[i].generation < oldest)
			oldest = hdr->slots[i].generation;
	rtshm_worker_report(w->spec->routes, w->spec->report, oldest);
}

/* log.level and log.error of a new generation (prev: the one before, NULL at start). */
static void
worker_log_configure(const struct routes_image *img, const struct routes_image *prev)
{
	const char *dest = img->settings.error_log;
	int rc;

	log_set_level((enum log_level)img->settings.log_level);
	/* At start the master's log is inherited; after a reload it may have moved. */
	if (prev == NULL || strcmp(prev->settings.error_log, dest) == 0)
		return;
	if ((rc = log_open(dest)) != 0)
		log_error("log.error: cannot open %s: %s", dest, strerror(-rc));
}

void
worker_routes_refresh(struct worker *w)
{
	uint64_t cur = rtshm_current(w->spec->routes);
	const struct routes_image *img, *prev = w->img;

	if (cur == w->current || cur == w->rejected)
		return;
	img = rtshm_image(w->spec->routes, cur);
	if (img->magic != ROUTES_MAGIC || img->version != ROUTES_VERSION ||
	    img->generation != rtshm_word_generation(cur)) {
		w->rejected = cur;	/* said once, not at every accept */
		log_error("route table generation %llu is not a valid image; keeping %llu",
		    (unsigned long long)(rtshm_word_generation(cur)), (unsigned long long)(rtshm_word_generation(w->current)));
		return;
	}
	/* Linked timeouts queued but not submitted still point at connect_ts. */
	io_uring_submit(&w->ring);
	w->current = cur;
	w->img = img;
	worker_log_configure(img, prev);
	accesslog_configure(w);
	atomic_store_explicit(&w->st->generation, rtshm_word_generation(cur), memory_order_relaxed);
	w->connect_ts.tv_sec = img->settings.connect_ms / 1000;
	w->connect_ts.tv_nsec = (long long)(img->settings.connect_ms % 1000) * 1000000;
	/* This worker's share of max_connections, within what its fds allow. */
	w->conn_max = (img->settings.max_connections + w->spec->workers - 1) /
	    w->spec->workers;
	if (w->conn_max > w->conn_cap)
		w->conn_max = w->conn_cap;
	worker_routes_report(w);
}

void
worker_pin(struct worker *w, uint8_t slot, int delta)
{
	w->pins[slot] = (uint32_t)((int)w->pins[slot] + delta);
	if (w->pins[slot] == 0 && slot != rtshm_word_slot(w->current))
		worker_routes_report(w);
}

/*
 * Multishot accept takes every connection waiting in the backlog in one
 * go: with little room left under the limit, one accept at a time, so no
 * client is accepted only to be closed.
 */
static void
listener_arm(struct worker *w, struct listener *l, int multishot)
{
	struct io_uring_sqe *sqe = worker_sqe(w);

	if (sqe == NULL) {
		w->accept_retry_at = w->now + ACCEPT_RETRY_MS;
		return;
	}
	if (multishot)
		io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, op_tag(l, OP_ACCEPT));
	l->ops |= 1u << OP_ACCEPT;
	l->multishot = (uint8_t)multishot;
}

/* Connections this worker may still accept. */
static uint32_t
worker_accept_room(const struct worker *w)
{
	return w->conn_max > w->conn_count ? w->conn_max - w->conn_count : 0;
}

static void
listener_cancel(struct worker *w, struct listener *l)
{
	struct io_uring_sqe *sqe;

	if (!(l->ops & (1u << OP_ACCEPT)) || (sqe = worker_sqe(w)) == NULL)
		return;
	io_uring_prep_cancel64(sqe, op_tag(l, OP_ACCEPT), 0);
	io_uring_sqe_set_data64(sqe, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

/* Arms every listener that is not accepting, unless at the limit or backing off. */
static void
worker_accept_resume(struct worker *w)
{
	uint32_t room, armed = 0;

	if (w->drain_deadline != 0)
		return;		/* retiring: never accept again */
	if (w->accept_paused && w->conn_count < w->conn_max) {
		w->accept_paused = 0;
		log_info("below the connection limit (%u): accepting again", w->conn_max);
	}
	if (w->accept_paused || w->now < w->accept_retry_at)
		return;
	room = worker_accept_room(w);
	for (unsigned i = 0; i < w->listen_count; i++)
		armed += (w->listeners[i].ops & (1u << OP_ACCEPT)) != 0;
	for (unsigned i = 0; i < w->listen_count; i++) {
		if (w->listeners[i].ops & (1u << OP_ACCEPT))
			continue;
		if (room >= ACCEPT_MULTISHOT_ROOM) {
			listener_arm(w, &w->listeners[i], 1);
		} else if (armed < room) {
			listener_arm(w, &w->listeners[i], 0);
			armed++;
		}
	}
}

/* At the connection limit: stop accepting; new clients wait in the backlog. */
static void
worker_accept_pause(struct worker *w)
{
	if (w->accept_paused)
		return;
	log_warn("at the connection limit (%u): accepting paused", w->conn_max);
	w->accept_paused = 1;
	for (unsigned i = 0; i < w->listen_count; i++)
		listener_cancel(w, &w->listeners[i]);
}

static void
listener_on_accept(struct worker *w, struct listener *l, int res, unsigned flags)
{
	uint64_t skipped;

	if (!(flags & IORING_CQE_F_MORE))
		l->ops &= ~(1u << OP_ACCEPT);
	if (res >= 0) {
		if (w->conn_count >= w->conn_max) {
			/* Accepted before the pause took effect, or a reload lowered the limit. */
			close(res);
			STATS_ADD(w->st->c.accepted, 1);
			STATS_ADD(w->st->c.closes[CLOSE_LIMIT_REACHED], 1);
			worker_accept_pause(w);
			return;
		}
		conn_accept(w, res, (unsigned)(l - w->listeners));
		if (w->conn_count >= w->conn_max) {
			worker_accept_pause(w);
		} else if (l->multishot && (l->ops & (1u << OP_ACCEPT)) &&
		    worker_accept_room(w) < ACCEPT_MULTISHOT_ROOM) {
			/* Near the limit: single accepts from here (re-armed next turn). */
			listener_cancel(w, l);
		}
		return;
	}
	switch (-res) {
	case ECANCELED:
	case EAGAIN:
	case EINTR:
	case ECONNABORTED:
		return;
	default:
		/*
		 * EMFILE, ENOBUFS, ENOMEM and the unexpected: retrying at once
		 * would spin, the condition outlasts a loop turn.
		 */
		w->accept_retry_at = w->now + ACCEPT_RETRY_MS;
		break;
	}
	STATS_ADD(w->st->c.accept_errors, 1);
	if (worker_log_due(w, &l->errors_logged, &skipped))
		log_error("accept on %d: %s (%llu more not logged)", l->fd, strerror(-res),
		    (unsigned long long)skipped);
}

static void
worker_dispatch(struct worker *w, const struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	enum op op = (enum op)(ud & OP_MASK);
	void *owner = (void *)(uintptr_t)(ud & ~(uint64_t)OP_MASK);

	switch (op) {
	case OP_NONE:
		return;
	case OP_ACCEPT:
		listener_on_accept(w, owner, cqe->res, cqe->flags);
		return;
	case OP_LOG_WRITE:
		accesslog_on_write(w, cqe->res);
		return;
	case OP_LOG_POLL:
		accesslog_on_poll(w);
		return;
	default:
		conn_on_cqe(w, owner, op, cqe->res);
		return;
	}
}

static void
worker_expire(struct worker *w)
{
	struct conn *c;

	while ((c = timer_pop_expired(&w->timers, w->now)) != NULL)
		conn_on_timer(w, c);
}

/*
 * Zeroed, page-aligned memory for arrays of 64-byte-aligned owners (malloc
 * only promises 16, and user_data keeps the op in the low bits). The pages
 * are only backed once touched, so reserving for every possible connection
 * costs nothing until they come.
 */
static void *
worker_zalloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void
worker_zfree(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, size);
}

static int
worker_init(struct worker *w, const struct worker_spec *spec)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->spec = spec;
	w->stats = spec->stats;
	w->st = &spec->stats->lines[spec->report];
	w->now = clock_ms();
	if ((rc = rtshm_attach_readonly(spec->routes)) != 0) {
		log_error("mapping the route table read-only: %s", strerror(-rc));
		return rc;
	}
	if ((rc = worker_ring_init(w)) != 0)
		return rc;
	w->ring_ready = 1;
	w->conn_cap = sock_conn_capacity();
	worker_routes_refresh(w);
	if (w->img == NULL) {
		log_error("no valid route table in shared memory");
		return -EINVAL;
	}
	/* Both arrays are reserved whole but only touched as connections come. */
	w->conns = worker_zalloc((size_t)w->conn_cap * sizeof(*w->conns));
	w->scratch = malloc(MAX_HELLO_BYTES);
	w->listeners = worker_zalloc(spec->listen_count * sizeof(*w->listeners));
	if (w->conns == NULL || w->scratch == NULL || w->listeners == NULL ||
	    timer_heap_init(&w->timers, w->conn_cap) != 0 ||
	    pipe_pool_init(&w->pipes) != 0) {
		log_error("out of memory for %u connections", w->conn_cap);
		return -ENOMEM;
	}
	w->listen_count = spec->listen_count;
	for (unsigned i = 0; i < spec->listen_count; i++) {
		w->listeners[i].fd = spec->listen_fds[i];
		w->listeners[i].addr = spec->listen_addrs[i];
	}
	return 0;
}

/* At exit: dispatches completions while busy(w), for up to EXIT_CANCEL_MS. */
static void
worker_reap_while(struct worker *w, int (*busy)(const struct worker *))
{
	uint64_t deadline = clock_ms() + EXIT_CANCEL_MS;
	struct __kernel_timespec ts = { 0, EXIT_CANCEL_MS * 1000000LL };
	struct io_uring_cqe *cqe;
	unsigned head, seen;

	while (w->ring_ready && busy(w) && clock_ms() < deadline) {
		io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
		seen = 0;
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			worker_dispatch(w, cqe);
			seen++;
		}
		io_uring_cq_advance(&w->ring, seen);
	}
}

static int
worker_accepting(const struct worker *w)
{
	for (unsigned i = 0; i < w->listen_count; i++)
		if (w->listeners[i].ops & (1u << OP_ACCEPT))
			return 1;
	return 0;
}

/*
 * Cancels every accept and waits for the last completion of each. A
 * request in flight holds its listening socket: if the ring were torn down
 * with it, the kernel would release the socket only later, asynchronously,
 * and a dead socket would still take connections from its SO_REUSEPORT
 * group meanwhile.
 */
static void
worker_release_listeners(struct worker *w)
{
	if (!w->ring_ready)
		return;
	for (unsigned i = 0; i < w->listen_count; i++)
		listener_cancel(w, &w->listeners[i]);
	worker_reap_while(w, worker_accepting);
}

/* Closes every connection (counted as shutdown); they are freed in worker_fini(). */
static void
worker_close_all(struct worker *w)
{
	for (uint32_t i = 0; i < w->conn_used; i++)
		if (w->conns[i].state != CONN_FREE)
			conn_close(w, &w->conns[i], CLOSE_SHUTDOWN);
}

static void
worker_fini(struct worker *w)
{
	/* Tearing the ring down cancels and reaps whatever is still in flight. */
	if (w->ring_ready)
		io_uring_queue_exit(&w->ring);
	for (uint32_t i = 0; i < w->conn_used; i++)
		conn_release(w, &w->conns[i]);	/* closes fds, frees buffers */
	if (w->pipes.free != NULL)
		pipe_pool_free(&w->pipes);
	timer_heap_free(&w->timers);
	worker_zfree(w->conns, (size_t)w->conn_cap * sizeof(*w->conns));
	worker_zfree(w->listeners, w->spec->listen_count * sizeof(*w->listeners));
	free(w->scratch);
}

static void
worker_log_totals(const struct worker *w)
{
	const struct stats_counters *k = &w->st->c;
	char line[LOG_LINE_MAX];
	uint64_t v;
	size_t n = 0;

	for (int r = CLOSE_NORMAL; r < CLOSE_REASON_COUNT; r++) {
		v = atomic_load_explicit(&k->closes[r], memory_order_relaxed);
		if (v > 0 && n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%llu",
			    close_reason_str((enum close_reason)r), (unsigned long long)v);
	}
	line[n < sizeof(line) ? n : sizeof(line) - 1] = '\0';
	log_info("exiting: accepted=%llu bytes_in=%llu bytes_out=%llu closed:%s",
	    (unsigned long long)atomic_load(&k->accepted),
	    (unsigned long long)atomic_load(&k->bytes_in),
	    (unsigned long long)atomic_load(&k->bytes_out), n > 0 ? line : " none");
}

/*
 * SIGQUIT: stop accepting and close our listening sockets (the master or
 * a new worker keeps the ones that stay), then let the connections end by
 * themselves until drain_ms. Returns 1 when the worker may exit.
 */
static int
worker_retire(struct worker *w)
{
	if (w->drain_deadline == 0) {
		w->drain_deadline = w->now + w->img->settings.drain_ms;
		if (w->drain_deadline == 0)
			w->drain_deadline = 1;
		w->accept_paused = 1;
		for (unsigned i = 0; i < w->listen_count; i++) {
			listener_cancel(w, &w->listeners[i]);
			close(w->listeners[i].fd);
			w->listeners[i].fd = -1;
		}
		log_info("retiring: %u connections may finish within %u ms", w->conn_count,
		    w->img->settings.drain_ms);
	}
	if (w->conn_count == 0)
		return 1;
	if (w->now >= w->drain_deadline) {
		log_info("retiring: closing %u connections at the drain deadline",
		    w->conn_count);
		return 1;
	}
	return 0;
}

/* One turn: expire timers, sleep until a completion or the next deadline, dispatch. */
static void
worker_turn(struct worker *w, sigset_t *waitmask)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	uint64_t wait_ms, next;
	unsigned head, seen = 0;
	int rc;

	worker_expire(w);
	worker_routes_refresh(w);
	worker_accept_resume(w);
	if (worker_reopen) {
		worker_reopen = 0;
		(void)log_reopen();
		accesslog_reopen(w);
	}

	next = timer_next(&w->timers);
	if (w->accept_retry_at > w->now && w->accept_retry_at < next)
		next = w->accept_retry_at;
	if (w->drain_deadline != 0 && w->drain_deadline < next)
		next = w->drain_deadline;
	wait_ms = next > w->now ? next - w->now : 0;
	if (wait_ms > WORKER_TICK_MS)
		wait_ms = WORKER_TICK_MS;
	ts.tv_sec = (long long)(wait_ms / 1000);
	ts.tv_nsec = (long long)(wait_ms % 1000) * 1000000;

	accesslog_flush(w);
	rc = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, waitmask);
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		log_error("io_uring_submit_and_wait_timeout: %s", strerror(-rc));
	w->now = clock_ms();
	io_uring_for_each_cqe(&w->ring, head, cqe) {
		worker_dispatch(w, cqe);
		seen++;
	}
	io_uring_cq_advance(&w->ring, seen);
}

int
worker_run(const struct worker_spec *spec)
{
	static struct worker w;		/* one per process */
	sigset_t waitmask;
	int rc;

	worker_signals(&waitmask);
	if ((rc = worker_init(&w, spec)) != 0) {
		worker_fini(&w);
		return 1;
	}
	log_info("started: %u listeners, up to %u connections, route generation %llu",
	    w.listen_count, w.conn_max, (unsigned long long)(rtshm_word_generation(w.current)));
	worker_accept_resume(&w);
	atomic_store(&spec->routes->workers[spec->report].ready, 1);
	while (!worker_stop && !(worker_quit && worker_retire(&w)))
		worker_turn(&w, &waitmask);
	worker_release_listeners(&w);
	worker_close_all(&w);
	/* The last lines: a write in flight finishes, the rest go after the ring is gone. */
	accesslog_flush(&w);
	worker_reap_while(&w, accesslog_busy);
	worker_log_totals(&w);
	worker_fini(&w);
	accesslog_close(&w);
	return 0;
}
