/*
 * master.c -- the master process's life: start, then a loop acting on
 * signal flags (reload, stop, quit, reopen, child exits), the config
 * watcher and timers (restarts, retries, draining deadlines), then stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "events.h"
#include "kernelrelay.h"
#include "log.h"
#include "master.h"
#include "notify.h"
#include "sig.h"
#include "sock.h"
#include "tunables.h"
#include "watch.h"

/* How long a burst of file events settles before a watch_config reload. ms */
#define WATCH_DEBOUNCE_MS 200u
/* How often the master looks whether new workers accept yet (for READY=1). ms */
#define READY_POLL_MS 10u

static volatile sig_atomic_t flag_stop;		/* SIGTERM, SIGINT */
static volatile sig_atomic_t flag_quit;		/* SIGQUIT */
static volatile sig_atomic_t flag_reload;	/* SIGHUP */
static volatile sig_atomic_t flag_reopen;	/* SIGUSR1 */
static volatile sig_atomic_t flag_child;	/* SIGCHLD */

static void
master_on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		flag_stop = 1;
		break;
	case SIGQUIT:
		flag_quit = 1;
		break;
	case SIGHUP:
		flag_reload = 1;
		break;
	case SIGUSR1:
		flag_reopen = 1;
		break;
	case SIGCHLD:
		flag_child = 1;
		break;
	default:
		break;
	}
}

/* Handlers only set flags; the signals stay blocked except while the master waits. */
static void
master_signals(sigset_t *waitmask)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD };
	static const int ignored[] = { SIGPIPE, SIGUSR2 };

	sig_setup(handled, sizeof(handled) / sizeof(handled[0]), ignored,
	    sizeof(ignored) / sizeof(ignored[0]), master_on_signal, waitmask);
}

static unsigned
master_worker_count(const struct config *cfg)
{
	long n = cfg->workers;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > (long)MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static struct routes_rules
master_rules(const struct config_rules *r)
{
	return (struct routes_rules){ r->allow, r->allow_count, r->deny, r->deny_count };
}

/*
 * cfg's listen entries (of every listener group) into listens[listen_count],
 * and the top level's rules. An entry without rules of its own takes its
 * group's: the nearest scope decides at accept.
 */
static struct routes_access
master_access(const struct config *cfg, struct listen_spec *listens)
{
	const struct config_rules *own;

	for (uint32_t i = 0; i < cfg->listen_count; i++) {
		own = &cfg->listens[i].rules;
		listens[i].flags = cfg->listens[i].accept_proxy ? ROUTES_ACCEPT_PROXY : 0;
		if (own->allow_count == 0 && own->deny_count == 0 && cfg->groups != NULL) {
			own = &cfg->groups[cfg->listens[i].group].rules;
			if (own->allow_count != 0 || own->deny_count != 0)
				listens[i].flags |= ROUTES_GROUP_RULES;
		}
		listens[i].addr = cfg->listens[i].addr;
		listens[i].trusted = master_rules(&cfg->listens[i].trusted);
		listens[i].rules = master_rules(own);
		listens[i].group = cfg->listens[i].group;
	}
	return (struct routes_access){ .listens = listens, .listen_count = cfg->listen_count,
	    .rules = master_rules(&cfg->rules), .group_count = cfg->group_count };
}

/*
 * Compiles cfg's routes into the next generation, each backend named by a
 * host name as one backend per current address (resolve_expand()).
 * Returns it, or -errno (logged).
 */
static int64_t
master_publish(struct master *m, const struct config *cfg)
{
	struct routes_settings settings = cfg->settings;
	struct listen_spec listens[MAX_LISTEN];
	struct resolve_expansion x;
	struct routes_access access;
	struct route_spec *specs;
	uint32_t *backend_ids;
	int64_t gen;

	if (resolve_expand(cfg, &x) != 0) {
		log_error("publishing the route table: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	specs = calloc(cfg->route_count + 1, sizeof(*specs));
	backend_ids = calloc(x.total + 1, sizeof(*backend_ids));
	if (specs == NULL || backend_ids == NULL) {
		gen = -ENOMEM;
		goto out;
	}
	/* The access log settings travel with the generation; its file comes from us. */
	snprintf(settings.access, sizeof(settings.access), "%s",
	    cfg->access_log != NULL ? cfg->access_log : "off");
	snprintf(settings.error_log, sizeof(settings.error_log), "%s", logs_error_dest(m, cfg));
	for (uint32_t i = 0; i < cfg->route_count; i++) {
		specs[i].pattern = cfg->routes[i].pattern;
		specs[i].backends = &x.addrs[x.first[i]];
		specs[i].backend_count = x.count[i];
		specs[i].weights = &x.weights[x.first[i]];
		specs[i].backend_flags = &x.flags[x.first[i]];
		specs[i].backend_src = &x.src[x.first[i]];
		specs[i].send_proxy = cfg->routes[i].send_proxy;
		specs[i].rules = master_rules(&cfg->routes[i].rules);
		specs[i].alpn = (const char *const *)cfg->routes[i].alpn;
		specs[i].alpn_count = cfg->routes[i].alpn_count;
		specs[i].connect_ms = cfg->routes[i].connect_ms;
		specs[i].idle_ms = cfg->routes[i].idle_ms;
		specs[i].max_connections = cfg->routes[i].max_connections;
		specs[i].group = cfg->routes[i].group;
		specs[i].balance = cfg->routes[i].balance;
	}
	counters_assign(&m->counters, cfg, specs, cfg->route_count, backend_ids);
	access = master_access(cfg, listens);
	gen = rtshm_publish(&m->routes, specs, cfg->route_count, &access, &settings);
	if (gen >= 0)
		(void)checks_update(&m->checks, &m->counters.seg, m->counters.backend_count,
		    specs, cfg->route_count, cfg, clock_ms());
out:
	free(specs);
	free(backend_ids);
	resolve_expansion_free(&x);
	if (gen < 0)
		log_error("publishing the route table: %s", gen == -E2BIG ?
		    "the table is larger than 256 MiB" : strerror((int)-gen));
	return gen;
}

static void
master_warn_capacity(const struct master *m)
{
	uint32_t cap = sock_conn_capacity();

	if (m->cfg.settings.max_connections > (uint64_t)cap * m->workers)
		log_info("max_connections %u is more than the open-files limit allows "
		    "%u worker(s): each takes at most %u", m->cfg.settings.max_connections,
		    m->workers, cap);
}

static void
master_watch_reopen(struct master *m)
{
	if (m->watch_fd >= 0)
		close(m->watch_fd);
	m->watch_fd = -1;
	if (!m->cfg.watch_config)
		return;
	m->watch_fd = watch_open(m->path);
	if (m->watch_fd < 0)
		log_error("watch_config: cannot watch %s: %s", m->path, strerror(-m->watch_fd));
}

/*
 * A reload that changes listen or workers: new sockets (keeping those that
 * stay), new workers on them, and the old workers told to finish their
 * connections. Returns 0, or -errno with nothing changed.
 */
static int
master_swap_workers(struct master *m, unsigned workers)
{
	struct listeners next, old = m->listeners;
	struct slot_state *slots;
	int rc;

	rc = listeners_open(&next, workers, m->cfg.listen, m->cfg.listen_count, &m->listeners);
	if (rc != 0)
		return rc;
	slots = calloc(workers, sizeof(*slots));
	if (slots == NULL) {
		listeners_close(&next);
		return -ENOMEM;
	}
	workers_retire(m, 0);
	free(m->slots);
	m->slots = slots;
	m->workers = workers;
	m->counters.seg.hdr->workers = workers;
	m->listeners = next;
	/*
	 * Sockets no slot kept: closed before the new workers fork, or they
	 * would inherit them and keep them listening (and taking connections
	 * nobody accepts). The retiring workers close their own copies.
	 */
	listeners_close(&old);
	/* The swap is done: a worker that did not start is retried with backoff. */
	if ((rc = workers_start(m)) != 0)
		log_error("reload: not every new worker started (%s); retrying", strerror(-rc));
	return 0;
}

/* A configuration that did not load: every fault logged, the old one serves on. */
static void
master_reload_refused(struct master *m, const struct config_errors *errs,
    const uint8_t *sha256)
{
	for (uint32_t i = 0; i < errs->count; i++)
		log_error("%s", errs->msg[i]);
	log_error("reload failed: %u error%s in %s; generation %llu keeps serving",
	    errs->count, errs->count == 1 ? "" : "s", m->path,
	    (unsigned long long)m->routes.generation);
	counters_reload_done(&m->counters, 0, 0, errs->count > 0 ? errs->msg[0] : "", sha256);
	notify_send("READY=1");
}

/* Settings a reload reads but only a restart applies: said when they change. */
static void
master_reload_warn_restart_only(const struct master *m, const struct config *prev,
    const struct config *next)
{
	if (prev->events != next->events)
		log_warn("tuning.events changes take effect at the next start; the workers "
		    "run on %s", engine_kind_name(m->engine));
	if (config_string_changed(prev->stats_name, next->stats_name))
		log_warn("stats.name changes take effect at the next start");
	if (prev->pid_file != NULL && (next->pid_file == NULL ||
	    strcmp(prev->pid_file, next->pid_file) != 0))
		log_warn("pid_file changes take effect at the next start");
	/* Each worker's BPF maps are loaded before its fork (workers.c). */
	if (next->settings.relay == RELAY_KERNEL && prev->settings.relay != RELAY_KERNEL)
		log_warn("relay \"kernel\" takes effect in workers started from now on; the "
		    "running ones relay with \"adaptive\"");
}

/*
 * New listen addresses or worker count of m->cfg (generation gen is
 * published): sockets and workers swapped. Returns 1 when new workers
 * were started (they send READY=1 once they accept), else 0.
 */
static int
master_reload_listeners(struct master *m, int64_t gen)
{
	unsigned workers = master_worker_count(&m->cfg);
	int rc;

	if (listeners_same(&m->listeners, workers, m->cfg.listen, m->cfg.listen_count))
		return 0;
	rc = master_swap_workers(m, workers);
	if (rc != 0)
		log_error("reload: listen/workers unchanged (%s); routes are generation %lld",
		    strerror(-rc), (long long)gen);
	else
		log_info("reload: %u workers on %u addresses; the old workers drain",
		    workers, m->cfg.listen_count);
	return 1;
}

/* next is published as generation gen: it becomes m->cfg and is applied. */
static void
master_reload_apply(struct master *m, struct config *next, int64_t gen)
{
	char msg[STATS_MESSAGE_MAX];
	struct config prev = m->cfg;
	int swapped;

	m->cfg = *next;
	(void)resolve_load(&m->resolve, &m->cfg, clock_ms());
	master_reload_warn_restart_only(m, &prev, &m->cfg);
	log_set_level(m->cfg.settings.log_level);
	logs_open_error(m, &m->cfg);
	logs_reload(m, &prev);
	swapped = master_reload_listeners(m, gen);
	config_free(&prev);
	master_warn_capacity(m);
	master_watch_reopen(m);
	/*
	 * The new generation on every channel, then the word workers look at
	 * every turn, then the signal that wakes a sleeping one to take it:
	 * no worker switches before the word says so (workers_send_routes).
	 */
	(void)workers_send_routes(m, 0);
	counters_generation(&m->counters, (uint64_t)gen, m->cfg.sha256);
	workers_signal(m, SIGUSR2);
	log_info("reloaded %s: generation %lld, %u routes", m->path, (long long)gen,
	    m->cfg.route_count);
	snprintf(msg, sizeof(msg), "generation %lld, %u routes", (long long)gen,
	    m->cfg.route_count);
	counters_reload_done(&m->counters, 1, (uint64_t)gen, msg, m->cfg.sha256);
	/* New workers: READY=1 once they accept (the loop sends it). */
	if (!swapped)
		notify_send("READY=1");
}

/* SIGHUP, -s reload, or the watched file changed. */
static void
master_reload(struct master *m)
{
	struct config_errors errs = { 0 };
	struct config next;
	int64_t gen;

	notify_reloading();
	m->config_hash = watch_file_hash(m->path);
	if (config_load(&next, m->path, &errs) != 0) {
		master_reload_refused(m, &errs, next.sha256);
		config_errors_free(&errs);
		return;
	}
	config_errors_free(&errs);
	kernelrelay_choose(&next.settings);
	events_relay(&next.settings, m->engine);
	gen = master_publish(m, &next);
	if (gen < 0) {
		counters_reload_done(&m->counters, 0, 0, "the route table could not be published",
		    next.sha256);
		config_free(&next);
		notify_send("READY=1");
		return;
	}
	master_reload_apply(m, &next, gen);
}

/*
 * The resolver found names at new addresses: one new generation of the
 * configuration in force, delivered as a reload's is (no file read, no
 * reload counted).
 */
static void
master_resolved(struct master *m)
{
	int64_t gen;

	if (resolve_apply(&m->resolve, &m->cfg) != 0) {
		log_error("host names moved, but: %s; generation %llu keeps serving",
		    strerror(ENOMEM), (unsigned long long)m->routes.generation);
		return;
	}
	if ((gen = master_publish(m, &m->cfg)) < 0)
		return;
	(void)workers_send_routes(m, 0);
	counters_generation(&m->counters, (uint64_t)gen, m->cfg.sha256);
	workers_signal(m, SIGUSR2);
	log_info("host names moved: generation %lld", (long long)gen);
}

/* Stops accepting everywhere, lets connections finish (drain_ms), then exits. */
static void
master_quit(struct master *m, const sigset_t *waitmask)
{
	struct timespec ts = { 0, (long)READY_POLL_MS * 1000000 };

	log_info("quitting: connections may finish within %u ms",
	    m->cfg.settings.drain_ms);
	m->stopping = 1;
	/* Refuse new connections now rather than queue them for nobody. */
	listeners_close(&m->listeners);
	workers_retire(m, 0);
	while (workers_alive(m) > 0 && !flag_stop) {
		ppoll(NULL, 0, &ts, waitmask);
		workers_reap(m);
		workers_kill_late(m, clock_ms());
	}
}

/* SIGTERM to every worker; SIGKILL to those still there after STOP_GRACE_MS. */
static void
master_stop(struct master *m, const sigset_t *waitmask)
{
	uint64_t deadline = clock_ms() + STOP_GRACE_MS, now;
	struct timespec ts;

	m->stopping = 1;
	workers_signal(m, SIGTERM);
	/* Workers that ended before this (signalled with us: Ctrl-C) sent their SIGCHLD already. */
	workers_reap(m);
	while (workers_alive(m) > 0 && (now = clock_ms()) < deadline) {
		ts.tv_sec = (time_t)((deadline - now) / 1000);
		ts.tv_nsec = (long)((deadline - now) % 1000) * 1000000;
		ppoll(NULL, 0, &ts, waitmask);
		workers_reap(m);
	}
	if (workers_alive(m) > 0) {
		log_warn("%u workers did not stop in %u ms: killing them", workers_alive(m),
		    STOP_GRACE_MS);
		workers_signal(m, SIGKILL);
		while (workers_alive(m) > 0) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)READY_POLL_MS * 1000000;
			ppoll(NULL, 0, &ts, waitmask);
			workers_reap(m);
		}
	}
}

/*
 * The wait of one loop turn: until the earliest timer, a signal, a file
 * event or a check, and never longer than the heartbeat's period.
 */
static void
master_wait(struct master *m, const sigset_t *waitmask, int restart_ms)
{
	uint64_t now = clock_ms();
	int64_t wait_ms = restart_ms, check_ms = checks_next_ms(&m->checks, now);
	struct pollfd pfd[2 + CHECKS_INFLIGHT_MAX] = {
		{ .fd = m->watch_fd, .events = POLLIN },
		{ .fd = m->resolve.fd, .events = POLLIN },	/* poll skips a -1 */
	};
	unsigned checks;
	struct timespec ts;
	int ready;

	if (m->reload_at != 0) {
		int64_t d = m->reload_at > now ? (int64_t)(m->reload_at - now) : 0;

		if (wait_ms < 0 || d < wait_ms)
			wait_ms = d;
	}
	if (!m->ready_sent && (wait_ms < 0 || wait_ms > READY_POLL_MS))
		wait_ms = READY_POLL_MS;
	for (unsigned i = 0; i < m->proc_count; i++) {
		uint64_t k = m->procs[i].kill_at;

		if (k != 0 && (wait_ms < 0 || (int64_t)(k > now ? k - now : 0) < wait_ms))
			wait_ms = (int64_t)(k > now ? k - now : 0);
	}
	if (check_ms >= 0 && (wait_ms < 0 || check_ms < wait_ms))
		wait_ms = check_ms;
	/* The heartbeat readers judge the master by (passthrough-stats --check). */
	if (wait_ms < 0 || wait_ms > STATS_HEARTBEAT_MS)
		wait_ms = STATS_HEARTBEAT_MS;
	ts.tv_sec = (time_t)(wait_ms / 1000);
	ts.tv_nsec = (long)(wait_ms % 1000) * 1000000;
	/* The checks' sockets follow the watch and the resolver's pipe. */
	checks = checks_pollfds(&m->checks, pfd + 2, CHECKS_INFLIGHT_MAX);
	ready = ppoll(pfd, 2 + checks, wait_ms < 0 ? NULL : &ts, waitmask);
	if (ready > 0)
		checks_events(&m->checks, pfd + 2, checks);
	if (ready > 0 && pfd[1].revents != 0 && resolve_read(&m->resolve))
		master_resolved(m);
	if (ready > 0 && pfd[0].revents != 0 && watch_drain(m->watch_fd)) {
		/*
		 * Watch again from scratch: a symlink may lead somewhere new
		 * (a ConfigMap swap), whether or not this change reloads.
		 */
		master_watch_reopen(m);
		if (watch_file_hash(m->path) != m->config_hash)
			m->reload_at = clock_ms() + WATCH_DEBOUNCE_MS;
	}
}

static void
master_loop(struct master *m, const sigset_t *waitmask)
{
	int restart_ms, routes_ms, resolve_ms;
	uint64_t now;

	while (!flag_stop && !flag_quit) {
		atomic_store_explicit(&m->counters.seg.hdr->seen_ms, clock_ms(),
		    memory_order_relaxed);
		if (flag_child) {
			flag_child = 0;
			workers_reap(m);
		}
		if (flag_reopen) {
			flag_reopen = 0;
			logs_reopen(m);
		}
		now = clock_ms();
		if (flag_reload) {
			flag_reload = 0;
			m->reload_at = now;
		}
		if (m->reload_at != 0 && now >= m->reload_at) {
			m->reload_at = 0;
			master_reload(m);
		}
		restart_ms = workers_restart_due(m, now);
		routes_ms = workers_send_routes(m, 1);	/* a retry: its own wake-up */
		if (routes_ms >= 0 && (restart_ms < 0 || routes_ms < restart_ms))
			restart_ms = routes_ms;
		resolve_ms = resolve_tick(&m->resolve, m, now);
		if (resolve_ms >= 0 && (restart_ms < 0 || resolve_ms < restart_ms))
			restart_ms = resolve_ms;
		workers_kill_late(m, now);
		checks_run(&m->checks, clock_ms());
		if (!m->ready_sent && workers_ready(m)) {
			m->ready_sent = 1;
			notify_send("READY=1\nMAINPID=%ld", (long)getpid());
			daemon_ready(m->ready_fd, config_logs_to_stderr(&m->cfg));
			m->ready_fd = -1;
			log_set_echo(0);
		}
		if (flag_stop || flag_quit)
			break;
		master_wait(m, waitmask, restart_ms);
	}
}

static void
master_fini(struct master *m)
{
	resolve_free(&m->resolve);
	if (m->watch_fd >= 0)
		close(m->watch_fd);
	if (m->access_fd >= 0)
		close(m->access_fd);
	listeners_close(&m->listeners);
	workers_free(m);
	free(m->slots);
	free(m->report_used);
	checks_free(&m->checks);
	rtshm_destroy(&m->routes);
	counters_close(&m->counters);
	config_free(&m->cfg);
}

/* Everything before the loop. Returns 0 or -1 (logged). */
static int
master_start(struct master *m)
{
	int64_t gen;
	int rc = 0;

	m->slots = calloc(m->workers, sizeof(*m->slots));
	m->report_used = calloc(STATS_LINES, 1);
	if (m->slots == NULL || m->report_used == NULL) {
		log_error("starting: %s", strerror(ENOMEM));
		return -1;
	}
	/* A live instance named by the pid file: refuse before touching its segments or ports. */
	if (m->cfg.pid_file != NULL && pidfile_check(m->cfg.pid_file) != 0)
		return -1;
	/* Before anything is made: "io_uring" denied is an exit, not a restart loop. */
	if (events_start(m) != 0)
		return -1;
	if (counters_open(&m->counters, &m->cfg, m->path, m->workers) != 0)
		return -1;
	kernelrelay_choose(&m->cfg.settings);
	events_relay(&m->cfg.settings, m->engine);
	if ((gen = master_publish(m, &m->cfg)) < 0)
		return -1;
	counters_generation(&m->counters, (uint64_t)gen, m->cfg.sha256);
	(void)resolve_load(&m->resolve, &m->cfg, clock_ms());
	m->config_hash = watch_file_hash(m->path);
	if (listeners_open(&m->listeners, m->workers, m->cfg.listen, m->cfg.listen_count,
	    NULL) != 0)
		return -1;
	if (m->flags & MASTER_DAEMON) {
		/* Sockets are bound first, so a busy port is reported on the terminal. */
		m->ready_fd = daemon_detach();
		if (m->ready_fd < 0) {
			log_error("detaching: %s", strerror(-m->ready_fd));
			return -1;
		}
		m->detached = 1;
		/* -s reload waits for the outcome only when this is the pid it signals. */
		m->counters.seg.hdr->master_pid = (uint32_t)getpid();
		/* From here on a daemon logs where it will keep logging. */
		if (logs_open_error(m, &m->cfg) != 0)
			return -1;
	}
	if (m->cfg.pid_file != NULL && (pidfile_check(m->cfg.pid_file) != 0 ||
	    (rc = pidfile_write(m->cfg.pid_file)) != 0)) {
		if (rc != 0)
			log_error("pid_file %s: %s", m->cfg.pid_file, strerror(-rc));
		return -1;
	}
	master_warn_capacity(m);
	logs_open_access(m, 0);	/* handed to each worker as it starts */
	if (workers_start(m) != 0)
		log_error("not every worker started; retrying");
	master_watch_reopen(m);
	log_info("passthrough %s: %u workers, route table generation %lld, %u routes",
	    PASSTHROUGH_VERSION, m->workers, (long long)gen, m->cfg.route_count);
	return 0;
}

/*
 * Started as non-root (a Kubernetes pod runs everything as one user), the
 * workers share the master's uid: dumpable, the master could be ptraced,
 * its memory read or written (/proc/PID/mem, process_vm_writev) and its
 * descriptors taken (/proc/PID/fd) by any worker. Non-dumpable it is
 * reachable only with CAP_SYS_PTRACE; its workers inherit that over fork
 * (and set it again, workers_drop_privileges). A root master is out of a
 * worker's reach by uid already and keeps its core dumps. 0, or -1 (logged).
 */
static int
master_harden(void)
{
	if (geteuid() == 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
		return 0;
	log_error("cannot make the master non-dumpable: %s; refusing to run", strerror(errno));
	return -1;
}

int
master_run(struct config *cfg, const char *path, int flags)
{
	struct master m;
	sigset_t waitmask;
	int rc = 1;

	memset(&m, 0, sizeof(m));
	m.cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	m.path = path;
	m.flags = flags;
	m.routes.fd = -1;
	m.watch_fd = -1;
	m.ready_fd = -1;
	m.access_fd = -1;
	resolve_init(&m.resolve);
	m.workers = master_worker_count(&m.cfg);
	prctl(PR_SET_NAME, "passthrough");
	log_set_role("master");
	if (logs_open_error(&m, &m.cfg) != 0)
		goto out;
	if (master_harden() != 0)
		goto out;
	/* Until a daemon serves, its errors belong on the terminal too. */
	if (flags & MASTER_DAEMON)
		log_set_echo(1);
	master_signals(&waitmask);
	if ((flags & MASTER_DAEMON) && m.cfg.pid_file == NULL &&
	    (m.cfg.pid_file = strdup(DEFAULT_PID_FILE)) == NULL)
		goto out;
	if (master_start(&m) != 0)
		goto out;
	master_loop(&m, &waitmask);
	notify_send("STOPPING=1");
	if (flag_quit && !flag_stop)
		master_quit(&m, &waitmask);
	if (workers_alive(&m) > 0) {
		log_info("stopping");
		master_stop(&m, &waitmask);
	}
	log_info("stopped");
	rc = 0;
out:
	if (m.cfg.pid_file != NULL)
		pidfile_remove(m.cfg.pid_file);
	master_fini(&m);
	return rc;
}
