/*
 * worker.c -- the worker process: start, the loop turn, the route table
 * generation it routes with, retiring and exit. The engine is in engine.c
 * (uring.c or epoll.c), accepting in listener.c, connections in conn.c, conn_hello.c and relay.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "engine.h"
#include "fdpass.h"
#include "listener.h"
#include "log.h"
#include "mem.h"
#include "sig.h"
#include "sock.h"
#include "tunables.h"
#include "worker-t.h"

/* The longest the loop sleeps: each turn stamps the area's heartbeat. */
#define WORKER_TICK_MS 1000u
_Static_assert(WORKER_TICK_MS <= STATS_HEARTBEAT_MS, "a turn at least every heartbeat");

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
 * Relay "splice_ring" moves through io_uring: a worker on epoll relays as
 * "splice" (conn_accept) and says so when a generation asks for it. (The
 * master refuses it or falls back first; this is for a worker it did not.)
 */
static void
worker_relay_check(const struct worker *w, const struct routes_image *prev)
{
	if (w->engine_kind == ENGINE_EPOLL && w->img->settings.relay == RELAY_SPLICE_RING &&
	    (prev == NULL || prev->settings.relay != RELAY_SPLICE_RING))
		log_warn("relay \"splice_ring\" needs io_uring: this worker runs on epoll and "
		    "relays with \"splice\"");
}

/* A new generation's settings: logs, the access log, timeouts, the connection limit. */
static void
worker_settings_apply(struct worker *w, const struct routes_image *prev)
{
	const struct routes_settings *st = &w->img->settings;

	worker_log_configure(w->img, prev);
	worker_relay_check(w, prev);
	accesslog_configure(&w->access, w->engine, st->access, st->access_format);
	atomic_store_explicit(&w->st->generation, w->img->generation, memory_order_relaxed);
	/* This worker's share of max_connections, within what its fds allow. */
	w->conn_max = (st->max_connections + w->spec->workers - 1) / w->spec->workers;
	if (w->conn_max > w->conn_cap)
		w->conn_max = w->conn_cap;
}

/* Unmaps images[i] once it is neither the current one nor pinned. */
static void
worker_image_release(struct worker *w, unsigned i)
{
	struct worker_image *e = &w->images[i];

	if (e->img == NULL || i == w->cur || e->pins > 0)
		return;
	rtshm_unmap(e->img, e->size);
	memset(e, 0, sizeof(*e));
}

static int
worker_image_free(const struct worker *w)
{
	for (unsigned i = 0; i < WORKER_IMAGES; i++)
		if (w->images[i].img == NULL)
			return (int)i;
	return -1;
}

/*
 * The generation in fd (sent by the master) becomes the one this worker
 * routes by, if it is sealed, valid and newer than ours; its settings are
 * applied here, never from inside an event handler. fd is taken over:
 * closed, or kept as pending while every entry is pinned.
 */
static void
worker_routes_take(struct worker *w, int fd, uint64_t generation)
{
	const struct routes_image *img, *prev = w->img;
	const struct routes_backend *all;
	unsigned old = w->cur;
	size_t size;
	int i, rc;

	if (prev != NULL && generation <= prev->generation) {
		close(fd);
		return;
	}
	if ((i = worker_image_free(w)) < 0) {
		if (w->pending_fd < 0)
			log_warn("route table generation %llu waits: the %u older ones mapped "
			    "are still used by connecting connections", (unsigned long long)generation,
			    WORKER_IMAGES);
		else
			close(w->pending_fd);
		w->pending_fd = fd;
		w->pending_gen = generation;
		return;
	}
	rc = rtshm_map(fd, generation, &img, &size);
	close(fd);
	if (rc != 0) {
		log_error("route table generation %llu refused (%s); keeping %llu",
		    (unsigned long long)generation, rc == -EPERM ? "it is not sealed" :
		    strerror(-rc), (unsigned long long)(prev != NULL ? prev->generation : 0));
		return;
	}
	all = (const struct routes_backend *)(const void *)((const char *)img + img->backends_off);
	w->images[i] = (struct worker_image){ .img = img, .size = size };
	w->cur = (uint8_t)i;
	w->img = img;
	/* Backends are chosen from zero again in each generation. */
	free(w->swrr);
	if ((w->swrr = calloc(img->backend_count + 1, sizeof(*w->swrr))) == NULL)
		log_error("route table generation %llu: no memory for weights: backends are "
		    "taken in turn", (unsigned long long)generation);
	/* Only then does choosing a backend read the checks' states. */
	w->checked = 0;
	for (uint32_t b = 0; b < img->backend_count && !w->checked; b++)
		w->checked = (all[b].flags & ROUTES_BACKEND_CHECKED) != 0;
	worker_settings_apply(w, prev);
	if (prev != NULL)
		worker_image_release(w, old);
}

/* Another worker's area from the master (FDPASS_AREA): one of our peers. */
static void
worker_peer_take(struct worker *w, uint32_t line, int fd)
{
	int rc = peers_take(&w->peers, w->stats, w->spec->report, line, fd);

	/* -ESTALE: that worker exited before we read this; nothing to count. */
	if (rc != 0 && rc != -ESTALE)
		log_warn("the statistics area of line %u: %s; leastconn and random2 do "
		    "not count its connections", line, strerror(-rc));
}

/*
 * Takes what the master sent on the control channel: route table
 * generations, the log files (log.error, log.access) it opened and the
 * areas of workers started after us. A message of a kind this worker
 * does not know is dropped with its descriptors.
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
		if (msg.type == FDPASS_ROUTES && n > 0)
			worker_routes_take(w, fds[i++], msg.generation);
		if (msg.type == FDPASS_LOGS) {
			if ((msg.flags & FDPASS_LOG_ERROR) && i < n)
				log_adopt(fds[i++], NULL);
			accesslog_adopt(&w->access, (msg.flags & FDPASS_LOG_ACCESS) && i < n ?
			    fds[i++] : -1);
		}
		if (msg.type == FDPASS_AREA && n > 0)
			worker_peer_take(w, msg.flags, fds[i++]);
		while (i < n)
			close(fds[i++]);
	}
}

void
worker_pin(struct worker *w, uint8_t i, int delta)
{
	w->images[i].pins = (uint32_t)((int)w->images[i].pins + delta);
	worker_image_release(w, i);	/* the turn takes a pending generation */
}

/*
 * Once per turn, before its events: the channel when the master signalled
 * or published a generation since we last looked (its header says so at
 * once; the signal may wait while the ring is busy), then a waiting
 * generation if an entry came free. A generation the master could only
 * send later comes with its own signal (workers_send_routes), so a lagging
 * channel costs no read per turn.
 */
static void
worker_routes_refresh(struct worker *w)
{
	uint64_t published = atomic_load_explicit(&w->stats->hdr->generation,
	    memory_order_acquire);
	int fd;

	if (worker_mail || published != w->published_seen) {
		worker_mail = 0;
		w->published_seen = published;
		worker_channel_read(w);
	}
	if (w->pending_fd >= 0 && worker_image_free(w) >= 0) {
		fd = w->pending_fd;
		w->pending_fd = -1;
		worker_routes_take(w, fd, w->pending_gen);
	}
}

/* At exit: every mapped generation and the waiting one. */
static void
worker_routes_free(struct worker *w)
{
	for (unsigned i = 0; i < WORKER_IMAGES; i++)
		rtshm_unmap(w->images[i].img, w->images[i].size);
	memset(w->images, 0, sizeof(w->images));
	w->img = NULL;
	free(w->swrr);
	w->swrr = NULL;
	if (w->pending_fd >= 0)
		close(w->pending_fd);
	w->pending_fd = -1;
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
	w->pending_fd = -1;
	for (unsigned i = 0; i < spec->peer_count; i++)
		peers_adopt(&w->peers, spec->peers[i].line, spec->peers[i].map, spec->peers[i].ino);
	/* random2's draws: a seed of its own per worker, so workers do not draw alike. */
	if (getrandom(&w->random, sizeof(w->random), GRND_NONBLOCK) != sizeof(w->random))
		w->random = clock_ms() ^ ((uint64_t)getpid() << 32);
	w->random |= 1;		/* xorshift's state must not be 0 */
	w->engine_kind = spec->engine;
	if ((rc = engine_init(&w->engine, (enum engine_kind)w->engine_kind, w, waitmask)) != 0) {
		log_error("the %s event engine: %s", engine_kind_name(w->engine_kind),
		    strerror(-rc));
		return rc;
	}
	w->conn_cap = sock_conn_capacity();
	worker_channel_read(w);		/* the route table and log files, queued before our fork */
	if (w->img == NULL) {
		log_error("no valid route table from the master");
		return -EINVAL;
	}
	/* Both arrays are reserved whole but only touched as connections come. */
	w->conns = mem_zalloc((size_t)w->conn_cap * sizeof(*w->conns));
	w->scratch = malloc(MAX_HELLO_BYTES);
	w->listeners = mem_zalloc(spec->listen_count * sizeof(*w->listeners));
	w->health = mem_zalloc(STATS_BACKENDS * sizeof(*w->health));
	if (w->conns == NULL || w->scratch == NULL || w->listeners == NULL || w->health == NULL ||
	    timer_heap_init(&w->timers, w->conn_cap) != 0 ||
	    pipe_pool_init(&w->pipes, spec->workers) != 0) {
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

	while (w->engine != NULL && !w->broken && busy(w) && clock_ms() < deadline) {
		if (engine_sleep(w->engine, EXIT_CANCEL_MS) != 0) {
			w->broken = 1;
			return;
		}
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
	mem_zfree(w->conns, (size_t)w->conn_cap * sizeof(*w->conns));
	mem_zfree(w->listeners, w->spec->listen_count * sizeof(*w->listeners));
	mem_zfree(w->health, STATS_BACKENDS * sizeof(*w->health));
	free(w->scratch);
	worker_routes_free(w);
	peers_free(&w->peers);
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

/* One turn of the worker's loop; w->broken when the engine cannot wait (logged). */
static void
worker_turn(struct worker *w)
{
	conn_expire(w);
	listener_resume(w);
	accesslog_flush(&w->access);
	if (engine_sleep(w->engine, worker_wait_ms(w)) != 0) {
		w->broken = 1;
		return;
	}
	w->now = clock_ms();
	atomic_store_explicit(&w->st->seen_ms, w->now, memory_order_relaxed);
	worker_routes_refresh(w);	/* once per turn, before the events */
	peers_tick(&w->peers, w->stats, w->now);
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
	log_info("started: %u listeners, up to %u connections, route generation %llu, "
	    "events %s", w.listen_count, w.conn_max, (unsigned long long)w.img->generation,
	    engine_kind_name(w.engine_kind));
	/* Without maps of its own (master/kernelrelay.h), "kernel" relays as "adaptive" (conn.c). */
	if (w.img->settings.relay == RELAY_KERNEL && spec->relay_socks_fd < 0)
		log_warn("relay \"kernel\": this worker has no BPF maps of its own; it relays "
		    "with \"adaptive\"");
	listener_resume(&w);
	atomic_store_explicit(&spec->area->seen_ms, clock_ms(), memory_order_relaxed);
	atomic_store_explicit(&spec->area->ready, 1, memory_order_relaxed);
	/* An engine that cannot wait ends the worker: an exit the master restarts with back-off. */
	while (!worker_stop && !(worker_quit && worker_retire(&w)) && !w.broken)
		worker_turn(&w);
	worker_release_listeners(&w);
	conn_close_all(&w);
	/* The last lines: a write in flight finishes, the rest go after the engine is gone. */
	accesslog_flush(&w.access);
	worker_reap_while(&w, worker_log_busy);
	worker_log_totals(&w);
	worker_fini(&w);
	accesslog_close(&w.access);
	return w.broken;
}
