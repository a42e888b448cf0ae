/*
 * worker.c -- the worker process: start, the loop turn, the route table
 * generation it routes with, retiring and exit. The engine is in uring.c,
 * accepting in listener.c, connections in conn.c, conn_hello.c and relay.c.
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
#include "conn.h"
#include "engine.h"
#include "fdpass.h"
#include "listener.h"
#include "log.h"
#include "sig.h"
#include "sock.h"
#include "tunables.h"
#include "worker-t.h"

/* The longest the loop sleeps: it re-reads the route generation at least this often. */
#define WORKER_TICK_MS 1000u

static volatile sig_atomic_t worker_stop;	/* SIGTERM, SIGINT: now */
static volatile sig_atomic_t worker_quit;	/* SIGQUIT: after the connections end */
static volatile sig_atomic_t worker_mail;	/* SIGUSR1, SIGUSR2: the master may have sent files */

static void
worker_on_signal(int sig)
{
	switch (sig) {
	case SIGQUIT:
		worker_quit = 1;
		break;
	case SIGUSR1:		/* the master reopened the logs and sent them */
	case SIGUSR2:		/* it published a generation (and may have sent logs) */
		worker_mail = 1;
		break;
	default:
		worker_stop = 1;
		break;
	}
}

/*
 * SIGTERM/SIGINT stop the worker, SIGQUIT retires it, SIGUSR1 (new log
 * files) and SIGUSR2 (a new generation) wake it to read its channel. They stay blocked except
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

int
worker_log_due(const struct worker *w, struct log_limit *l, uint64_t *skipped)
{
	return log_limit_due(l, w->now, LOG_REPEAT_MS, skipped);
}

/* Reports the oldest image generation this worker may still read. */
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
	/*
	 * At start the master's log is inherited; after a reload it may have
	 * moved. A file comes from the master (worker_channel_read), never
	 * opened here: only stderr and syslog are taken by name.
	 */
	if (prev == NULL || strcmp(prev->settings.error_log, dest) == 0 || dest[0] == '/')
		return;
	if ((rc = log_open(dest)) != 0)
		log_error("log.error: cannot open %s: %s", dest, strerror(-rc));
}

/*
 * Takes what the master sent on the control channel: the log files
 * (log.error, log.access) it opened. A message of a kind this worker does
 * not know is dropped with its descriptors.
 */
static void
worker_channel_read(struct worker *w)
{
	struct fdpass_msg msg;
	int fds[FDPASS_MAX_FDS], rc;
	unsigned n, i;

	while ((rc = fdpass_recv(w->spec->channel, &msg, fds, &n)) != -EAGAIN) {
		if (rc == -EBADMSG)
			continue;
		if (rc != 0) {
			if (rc != -EPIPE)	/* the master is gone: PDEATHSIG follows */
				log_error("control channel: %s", strerror(-rc));
			return;
		}
		i = 0;
		if (msg.type == FDPASS_LOGS) {
			if ((msg.flags & FDPASS_LOG_ERROR) && i < n)
				log_adopt(fds[i++], NULL);
			accesslog_adopt(&w->access, (msg.flags & FDPASS_LOG_ACCESS) && i < n ?
			    fds[i++] : -1);
		}
		while (i < n)
			close(fds[i++]);
	}
}

/* A new generation's settings: logs, the access log, timeouts, the connection limit. */
static void
worker_settings_apply(struct worker *w, const struct routes_image *prev)
{
	const struct routes_settings *st = &w->img->settings;

	worker_log_configure(w->img, prev);
	accesslog_configure(&w->access, w->engine, st->access, st->access_format);
	atomic_store_explicit(&w->st->generation, rtshm_word_generation(w->current),
	    memory_order_relaxed);
	engine_connect_timeout(w->engine, st->connect_ms);
	/* This worker's share of max_connections, within what its fds allow. */
	w->conn_max = (st->max_connections + w->spec->workers - 1) / w->spec->workers;
	if (w->conn_max > w->conn_cap)
		w->conn_max = w->conn_cap;
}

/*
 * Once per loop turn, before its events: takes the generation the master
 * published last, if its image is valid, and applies its settings here,
 * never from inside an event handler. Connections routed this turn take it.
 */
static void
worker_routes_refresh(struct worker *w)
{
	uint64_t cur = rtshm_current(w->spec->routes);
	const struct routes_image *img, *prev = w->img;

	if (cur == w->current || cur == w->rejected)
		return;
	img = rtshm_image(w->spec->routes, cur);
	if (img->magic != ROUTES_MAGIC || img->version != ROUTES_VERSION ||
	    img->generation != rtshm_word_generation(cur)) {
		w->rejected = cur;	/* said once, not at every turn */
		log_error("route table generation %llu is not a valid image; keeping %llu",
		    (unsigned long long)rtshm_word_generation(cur),
		    (unsigned long long)rtshm_word_generation(w->current));
		return;
	}
	w->current = cur;
	w->img = img;
	worker_settings_apply(w, prev);
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
 * Zeroed, page-aligned memory for arrays of 64-byte-aligned owners (malloc
 * only promises 16, and the engine keeps the op in the low bits of their
 * addresses). The pages are only backed once touched, so reserving for
 * every possible connection costs nothing until they come.
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
worker_init(struct worker *w, const struct worker_spec *spec, const sigset_t *waitmask)
{
	int rc;

	memset(w, 0, sizeof(*w));
	accesslog_init(&w->access);
	w->spec = spec;
	w->stats = spec->stats;
	w->st = spec->area;
	w->now = clock_ms();
	if ((rc = rtshm_attach_readonly(spec->routes)) != 0) {
		log_error("mapping the route table read-only: %s", strerror(-rc));
		return rc;
	}
	if ((rc = engine_init(&w->engine, w, waitmask)) != 0)
		return rc;
	w->conn_cap = sock_conn_capacity();
	worker_routes_refresh(w);
	if (w->img == NULL) {
		log_error("no valid route table in shared memory");
		return -EINVAL;
	}
	worker_channel_read(w);		/* the log files, queued before our fork */
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

/* At exit: hands events over while busy(w), for up to EXIT_CANCEL_MS. */
static void
worker_reap_while(struct worker *w, int (*busy)(const struct worker *))
{
	uint64_t deadline = clock_ms() + EXIT_CANCEL_MS;

	while (w->engine != NULL && busy(w) && clock_ms() < deadline) {
		engine_sleep(w->engine, EXIT_CANCEL_MS);
		engine_dispatch(w->engine);
	}
}

static int
worker_log_busy(const struct worker *w)
{
	return accesslog_busy(&w->access);
}

/*
 * Cancels every accept and waits for the last event of each. A request in
 * flight holds its listening socket: if the engine were torn down with it,
 * the kernel would release the socket only later, asynchronously, and a
 * dead socket would still take connections from its SO_REUSEPORT group
 * meanwhile.
 */
static void
worker_release_listeners(struct worker *w)
{
	if (w->engine == NULL)
		return;
	listener_cancel_all(w);
	worker_reap_while(w, listener_busy);
}

static void
worker_fini(struct worker *w)
{
	engine_fini(w->engine);
	w->engine = NULL;
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
 * SIGQUIT: close our listening sockets (the master or a new worker keeps
 * the ones that stay; one no slot keeps is first drained of its queue, see
 * listener_retire), then let the connections end by themselves until
 * drain_ms. Returns 1 when the worker may exit.
 */
static int
worker_retire(struct worker *w)
{
	if (w->drain_deadline == 0) {
		w->drain_deadline = w->now + w->img->settings.drain_ms;
		if (w->drain_deadline == 0)
			w->drain_deadline = 1;
		listener_retire(w);
		log_info("retiring: %u connections may finish within %u ms", w->conn_count,
		    w->img->settings.drain_ms);
	}
	/* A socket no new worker keeps is drained of its queue before it closes. */
	if (listener_linger(w) && w->conn_count == 0)
		return 1;
	if (w->now >= w->drain_deadline) {
		log_info("retiring: closing %u connections at the drain deadline",
		    w->conn_count);
		return 1;
	}
	return 0;
}

/* How long the turn may sleep: until the next deadline, at most WORKER_TICK_MS. */
static uint64_t
worker_wait_ms(const struct worker *w)
{
	uint64_t next = timer_next(&w->timers), close_at = listener_next_close(w);

	if (w->accept_retry_at > w->now && w->accept_retry_at < next)
		next = w->accept_retry_at;
	if (w->drain_deadline != 0 && w->drain_deadline < next)
		next = w->drain_deadline;
	if (close_at < next)
		next = close_at;
	next = next > w->now ? next - w->now : 0;
	return next < WORKER_TICK_MS ? next : WORKER_TICK_MS;
}

/* One turn of the worker's loop. */
static void
worker_turn(struct worker *w)
{
	conn_expire(w);
	listener_resume(w);
	if (worker_mail) {
		worker_mail = 0;
		worker_channel_read(w);
	}
	accesslog_flush(&w->access);
	engine_sleep(w->engine, worker_wait_ms(w));
	w->now = clock_ms();
	worker_routes_refresh(w);	/* once per turn, before the events */
	engine_dispatch(w->engine);
}

int
worker_run(const struct worker_spec *spec)
{
	static struct worker w;		/* one per process */
	sigset_t waitmask;

	worker_signals(&waitmask);
	if (worker_init(&w, spec, &waitmask) != 0) {
		worker_fini(&w);
		return 1;
	}
	log_info("started: %u listeners, up to %u connections, route generation %llu",
	    w.listen_count, w.conn_max, (unsigned long long)rtshm_word_generation(w.current));
	listener_resume(&w);
	atomic_store_explicit(&spec->area->ready, 1, memory_order_relaxed);
	while (!worker_stop && !(worker_quit && worker_retire(&w)))
		worker_turn(&w);
	worker_release_listeners(&w);
	conn_close_all(&w);
	/* The last lines: a write in flight finishes, the rest go after the engine is gone. */
	accesslog_flush(&w.access);
	worker_reap_while(&w, worker_log_busy);
	worker_log_totals(&w);
	worker_fini(&w);
	accesslog_close(&w.access);
	return 0;
}
