/*
 * master.c -- the master process: it compiles the route table into shared
 * memory, opens one SO_REUSEPORT socket per worker slot and address, forks
 * the workers, restarts any that die (on the same sockets, so connections
 * queued on them are kept), and stops them on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "rtshm.h"
#include "sock.h"
#include "tunables.h"
#include "worker.h"

struct worker_slot {
	pid_t pid;		/* 0 when not running */
	uint64_t started_ms;
	uint64_t restart_at;	/* ms; when to start it again */
	uint32_t backoff_ms;
	uint32_t restarts;
};

struct master {
	const struct config *cfg;
	struct rtshm routes;
	unsigned workers;
	int *listen_fds;	/* [workers][listen_count] */
	struct worker_slot *slots;
	int stopping;
};

static volatile sig_atomic_t master_stop_requested;
static volatile sig_atomic_t master_child_exited;

static void
master_on_signal(int sig)
{
	if (sig == SIGCHLD)
		master_child_exited = 1;
	else
		master_stop_requested = 1;
}

static uint64_t
master_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Handlers only set flags; the signals stay blocked except while the master waits. */
static void
master_signals(sigset_t *waitmask)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGCHLD };
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = master_on_signal;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
		sigaction(handled[i], &sa, NULL);
		sigaddset(&block, handled[i]);
	}
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigdelset(waitmask, handled[i]);
}

static int
master_publish(struct master *m)
{
	const struct config *cfg = m->cfg;
	struct route_spec *specs;
	int64_t gen;

	specs = calloc(cfg->route_count ? cfg->route_count : 1, sizeof(*specs));
	if (specs == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < cfg->route_count; i++) {
		specs[i].pattern = cfg->routes[i].pattern;
		specs[i].backends = cfg->routes[i].backends;
		specs[i].backend_count = cfg->routes[i].backend_count;
	}
	gen = rtshm_publish(&m->routes, specs, cfg->route_count, &cfg->settings);
	free(specs);
	if (gen < 0) {
		log_error("publishing the route table: %s", strerror((int)-gen));
		return (int)gen;
	}
	log_info("route table generation %lld: %u routes", (long long)gen,
	    cfg->route_count);
	return 0;
}

static int
master_listen(struct master *m)
{
	const struct config *cfg = m->cfg;
	char text[ADDR_STRLEN];
	const char *what;
	int fd;

	m->listen_fds = malloc(sizeof(int) * m->workers * cfg->listen_count);
	if (m->listen_fds == NULL)
		return -ENOMEM;
	for (unsigned s = 0; s < m->workers; s++) {
		for (uint32_t i = 0; i < cfg->listen_count; i++) {
			fd = sock_listen(&cfg->listen[i], &what);
			if (fd < 0) {
				log_error("listen %s: %s: %s",
				    addr_format(&cfg->listen[i], text, sizeof(text)),
				    what, strerror(-fd));
				return fd;
			}
			m->listen_fds[s * cfg->listen_count + i] = fd;
		}
	}
	for (uint32_t i = 0; i < cfg->listen_count; i++)
		log_info("listening on %s (%u sockets, SO_REUSEPORT)",
		    addr_format(&cfg->listen[i], text, sizeof(text)), m->workers);
	return 0;
}

/* In the child: keep only this slot's sockets and become the worker. */
static void
master_become_worker(struct master *m, unsigned slot)
{
	const struct config *cfg = m->cfg;
	struct worker_spec spec;
	char role[32];
	sigset_t none;

	snprintf(role, sizeof(role), "worker %u", slot);
	log_set_role(role);
	/* If the master dies, so do we: nobody would restart or stop us. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(1);
	snprintf(role, sizeof(role), "pt-worker-%u", slot);
	prctl(PR_SET_NAME, role);
	for (unsigned s = 0; s < m->workers; s++)
		if (s != slot)
			for (uint32_t i = 0; i < cfg->listen_count; i++)
				close(m->listen_fds[s * cfg->listen_count + i]);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	spec.slot = slot;
	spec.workers = m->workers;
	spec.listen_fds = &m->listen_fds[slot * cfg->listen_count];
	spec.listen_addrs = cfg->listen;
	spec.listen_count = cfg->listen_count;
	spec.routes = &m->routes;
	_exit(worker_run(&spec));
}

static void
master_spawn(struct master *m, unsigned slot)
{
	struct worker_slot *ws = &m->slots[slot];
	pid_t pid;

	rtshm_worker_reset(&m->routes, slot, 1);
	pid = fork();
	if (pid < 0) {
		log_error("fork worker %u: %s", slot, strerror(errno));
		ws->restart_at = master_clock() + RESTART_BACKOFF_MIN_MS;
		return;
	}
	if (pid == 0)
		master_become_worker(m, slot);
	ws->pid = pid;
	ws->started_ms = master_clock();
	ws->restart_at = 0;
}

static void
master_reap(struct master *m)
{
	struct worker_slot *ws;
	uint64_t now = master_clock();
	unsigned slot;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (slot = 0; slot < m->workers && m->slots[slot].pid != pid; slot++)
			;
		if (slot == m->workers)
			continue;
		ws = &m->slots[slot];
		ws->pid = 0;
		rtshm_worker_reset(&m->routes, slot, 0);
		if (m->stopping) {
			log_info("worker %u (pid %d) stopped", slot, (int)pid);
			continue;
		}
		if (WIFSIGNALED(status))
			log_error("worker %u (pid %d) killed by signal %d (%s)", slot,
			    (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			log_error("worker %u (pid %d) exited with status %d", slot,
			    (int)pid, WEXITSTATUS(status));
		/* A worker that dies young is restarted ever more slowly. */
		if (now - ws->started_ms >= RESTART_HEALTHY_MS)
			ws->backoff_ms = 0;
		else if (ws->backoff_ms == 0)
			ws->backoff_ms = RESTART_BACKOFF_MIN_MS;
		else if ((ws->backoff_ms *= 2) > RESTART_BACKOFF_MAX_MS)
			ws->backoff_ms = RESTART_BACKOFF_MAX_MS;
		ws->restart_at = now + ws->backoff_ms;
		ws->restarts++;
	}
}

/* Starts the slots whose restart time came; returns ms until the next one. */
static int
master_restart_due(struct master *m)
{
	uint64_t now = master_clock(), next = UINT64_MAX;
	struct worker_slot *ws;

	for (unsigned slot = 0; slot < m->workers; slot++) {
		ws = &m->slots[slot];
		if (ws->pid != 0 || ws->restart_at == 0)
			continue;
		if (ws->restart_at <= now) {
			log_info("restarting worker %u (restart %u)", slot, ws->restarts);
			master_spawn(m, slot);
		} else if (ws->restart_at < next) {
			next = ws->restart_at;
		}
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

static unsigned
master_running(const struct master *m)
{
	unsigned n = 0;

	for (unsigned slot = 0; slot < m->workers; slot++)
		n += m->slots[slot].pid != 0;
	return n;
}

/* SIGTERM to every worker; SIGKILL to those still there after STOP_GRACE_MS. */
static void
master_stop_workers(struct master *m, const sigset_t *waitmask)
{
	uint64_t deadline = master_clock() + STOP_GRACE_MS, now;
	struct timespec ts;

	m->stopping = 1;
	for (unsigned slot = 0; slot < m->workers; slot++)
		if (m->slots[slot].pid != 0)
			kill(m->slots[slot].pid, SIGTERM);
	while (master_running(m) > 0 && (now = master_clock()) < deadline) {
		ts.tv_sec = (time_t)((deadline - now) / 1000);
		ts.tv_nsec = (long)((deadline - now) % 1000) * 1000000;
		ppoll(NULL, 0, &ts, waitmask);
		master_reap(m);
	}
	for (unsigned slot = 0; slot < m->workers; slot++) {
		if (m->slots[slot].pid == 0)
			continue;
		log_warn("worker %u (pid %d) did not stop in %u ms: killing it", slot,
		    (int)m->slots[slot].pid, STOP_GRACE_MS);
		kill(m->slots[slot].pid, SIGKILL);
		waitpid(m->slots[slot].pid, NULL, 0);
		m->slots[slot].pid = 0;
	}
}

static void
master_fini(struct master *m)
{
	if (m->listen_fds != NULL)
		for (unsigned i = 0; i < m->workers * m->cfg->listen_count; i++)
			if (m->listen_fds[i] >= 0)
				close(m->listen_fds[i]);
	free(m->listen_fds);
	free(m->slots);
	rtshm_destroy(&m->routes);
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

int
master_run(const struct config *cfg)
{
	struct master m;
	struct timespec ts;
	sigset_t waitmask;
	int rc, next_ms;

	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	m.routes.fd = -1;
	m.workers = master_worker_count(cfg);
	log_set_role("master");
	master_signals(&waitmask);

	m.slots = calloc(m.workers, sizeof(*m.slots));
	rc = m.slots == NULL ? -ENOMEM : rtshm_create(&m.routes);
	if (rc != 0) {
		log_error("creating the route table segment: %s", strerror(-rc));
		master_fini(&m);
		return 1;
	}
	if (master_publish(&m) != 0 || master_listen(&m) != 0) {
		master_fini(&m);
		return 1;
	}
	if (cfg->settings.max_connections > (uint64_t)sock_conn_capacity() * m.workers)
		log_warn("max_connections %u is more than the open-files limit allows "
		    "%u worker(s): each takes at most %u", cfg->settings.max_connections,
		    m.workers, sock_conn_capacity());
	for (unsigned slot = 0; slot < m.workers; slot++)
		master_spawn(&m, slot);
	log_info("passthrough %s running with %u workers", PASSTHROUGH_VERSION, m.workers);

	while (!master_stop_requested) {
		if (master_child_exited) {
			master_child_exited = 0;
			master_reap(&m);
		}
		next_ms = master_restart_due(&m);
		if (master_stop_requested)
			break;
		ts.tv_sec = next_ms / 1000;
		ts.tv_nsec = (long)(next_ms % 1000) * 1000000;
		ppoll(NULL, 0, next_ms < 0 ? NULL : &ts, &waitmask);
	}
	log_info("stopping");
	master_stop_workers(&m, &waitmask);
	master_fini(&m);
	log_info("stopped");
	return 0;
}
