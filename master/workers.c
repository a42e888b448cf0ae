/*
 * workers.c -- the worker processes: start them, restart the ones that die
 * (with backoff, on the same inherited sockets), retire them gracefully,
 * reap them.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "fdpass.h"
#include "kernelrelay.h"
#include "log.h"
#include "master.h"
#include "tunables.h"
#include "worker.h"

/* How often a route table generation a worker has not taken is sent again. ms */
#define ROUTES_RETRY_MS 100u
/* A worker that has not taken the current generation for this long is logged. ms */
#define ROUTES_LATE_MS 2000u
/* Exit status of a worker that could not switch to the configured user. */
#define WORKER_EXIT_PRIVILEGES 3

static int
workers_report_take(struct master *m)
{
	for (unsigned i = 0; i < STATS_LINES; i++) {
		if (!m->report_used[i]) {
			m->report_used[i] = 1;
			return (int)i;
		}
	}
	return -ENOSPC;
}

/* workers_drop_privileges' switch to cfg's user and gid: 0, or -1 (logged). */
static int
workers_switch_user(const struct config *cfg)
{
	gid_t gid = cfg->gid;

	if (setgroups(1, &gid) != 0 || setgid(gid) != 0) {
		log_error("cannot switch to group %u: %s; refusing to run", (unsigned)gid,
		    strerror(errno));
		return -1;
	}
	if (setuid(cfg->uid) != 0) {
		log_error("cannot switch to user %s: %s; refusing to run", cfg->user,
		    strerror(errno));
		return -1;
	}
	if (cfg->uid != 0 && (getuid() == 0 || geteuid() == 0 || setuid(0) == 0)) {
		log_error("still root after switching to user %s; refusing to run", cfg->user);
		return -1;
	}
	return 0;
}

/*
 * Switches to cfg's group and user for good, then forbids gaining any
 * privilege back (PR_SET_NO_NEW_PRIVS: no setuid or file-capability exec)
 * and makes the process non-dumpable: every worker runs as the same user,
 * and a dumpable one could be ptraced, its memory read or written through
 * /proc/PID/mem and its descriptors taken through /proc/PID/fd by any
 * other (the credential change resets dumpable only to fs.suid_dumpable,
 * and a start as non-root changes no credential). user is NULL only in a
 * start as non-root (config_load names "nobody" for a root one): the
 * worker stays who started it. Returns 0, or -1 (logged): a worker that
 * was told to run as someone else never runs as root.
 */
int
workers_drop_privileges(const struct config *cfg)
{
	if (cfg->user != NULL && workers_switch_user(cfg) != 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_error("cannot set no_new_privs: %s; refusing to run", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_error("cannot make the process non-dumpable: %s; refusing to run",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* In the child: keep only this slot's sockets, drop privileges, run. */
static void __attribute__((noreturn))
workers_become(struct master *m, unsigned slot, unsigned report, pid_t master_pid, int chan,
    const struct kernelrelay *kr)
{
	static struct peer peers[STATS_LINES];	/* one child, one call */
	struct worker_spec spec;
	struct stats_area *area;
	char name[32];
	sigset_t mask;

	snprintf(name, sizeof(name), "worker %u", slot);
	log_set_role(name);
	snprintf(name, sizeof(name), "pt-worker-%u", slot);
	prctl(PR_SET_NAME, name);
	listeners_keep_slot(&m->listeners, slot);
	if (m->watch_fd >= 0)
		close(m->watch_fd);
	if (m->ready_fd >= 0)
		close(m->ready_fd);	/* only the master may say the daemon is ready */
	if (m->counters.lock.held)
		close(m->counters.lock.fd);	/* a worker must not be able to flock(LOCK_UN) it */
	/* Other workers' channels are the master's to write; the logs come on ours. */
	for (unsigned i = 0; i < m->proc_count; i++)
		close(m->procs[i].chan);
	if (m->access_fd >= 0)
		close(m->access_fd);
	if (m->routes.fd >= 0)
		close(m->routes.fd);	/* the generation came on the channel */
	if (m->resolve.fd >= 0)
		close(m->resolve.fd);	/* a resolver child's answers are the master's */
	checks_forget(&m->checks);	/* the master's connects in flight */
	if (m->detached)
		daemon_null_stdio(config_logs_to_stderr(&m->cfg));
	/* The statistics: the segment and the other areas read-only, ours read-write. */
	area = counters_worker_attach(&m->counters, report);
	if (area == NULL) {
		log_error("mapping the statistics area: %s", strerror(errno));
		_exit(1);
	}
	if (workers_drop_privileges(&m->cfg) != 0)
		_exit(WORKER_EXIT_PRIVILEGES);
	/* Set after the credential change, which clears it. If the master dies, so do we. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master_pid)
		_exit(1);
	/*
	 * The master's handlers are still installed: the signals a worker
	 * handles stay blocked (one sent now waits for worker_signals()); the
	 * master's others are unblocked.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_SETMASK, &mask, NULL);

	memset(&spec, 0, sizeof(spec));
	spec.slot = slot;
	spec.report = report;
	spec.workers = m->workers;
	spec.listen_fds = listeners_slot(&m->listeners, slot);
	spec.listen_addrs = m->listeners.addrs;
	spec.listen_count = m->listeners.count;
	spec.stats = &m->counters.seg;
	spec.area = area;
	spec.channel = chan;
	spec.peers = peers;
	spec.peer_count = counters_worker_peers(&m->counters, report, peers);
	spec.relay_socks_fd = kr->socks_fd;
	spec.relay_peers_fd = kr->peers_fd;
	spec.engine = m->engine;
	_exit(worker_run(&spec));
}

/*
 * relay "kernel": a fresh copy of its program and maps for the worker about
 * to start in slot, while the master still holds the privilege to load it.
 * Where that fails the worker relays with "adaptive" (kr's fds are -1).
 */
static void
workers_kernelrelay(const struct master *m, unsigned slot, struct kernelrelay *kr)
{
	int rc;

	kr->socks_fd = kr->peers_fd = -1;
	if (m->cfg.settings.relay != RELAY_KERNEL)
		return;
	if ((rc = kernelrelay_open(kr)) != 0)
		log_warn("worker %u: relay \"kernel\": cannot load its BPF program (%s); it "
		    "relays with \"adaptive\"", slot, strerror(-rc));
}

/* The current route table generation on a channel. 0 or -errno. */
static int
workers_routes_send(const struct master *m, int chan)
{
	struct fdpass_msg msg = { .type = FDPASS_ROUTES, .generation = m->routes.generation };

	return fdpass_send(chan, &msg, &m->routes.fd, 1);
}

/* The live worker after seq in start order (other than q), or NULL. */
static const struct proc *
workers_area_next(const struct master *m, const struct proc *q, uint64_t seq)
{
	const struct proc *next = NULL;

	for (unsigned i = 0; i < m->proc_count; i++) {
		const struct proc *p = &m->procs[i];

		if (p != q && p->area_seq > seq && (next == NULL || p->area_seq < next->area_seq))
			next = p;
	}
	return next;
}

/*
 * The areas of workers started after q (it inherited the older ones at
 * its fork), each an O_RDONLY descriptor on q's channel, in start order:
 * leastconn and random2 sum every worker's counts. Like the route table,
 * only while q has read everything sent before (a worker that does not
 * read holds one burst at most). Retiring workers take no new connections
 * and get none. 1 when some are still to send.
 */
static int
workers_send_areas(struct master *m)
{
	const struct proc *p;
	int late = 0, queued;

	for (unsigned i = 0; i < m->proc_count; i++) {
		struct proc *q = &m->procs[i];
		int sent = 0;

		if (q->retiring || (p = workers_area_next(m, q, q->areas_sent)) == NULL)
			continue;
		if (ioctl(q->chan, SIOCOUTQ, &queued) != 0 || queued > 0) {
			late = 1;
			continue;
		}
		for (; p != NULL; p = workers_area_next(m, q, q->areas_sent)) {
			struct fdpass_msg msg = { .type = FDPASS_AREA, .flags = p->report };
			int fd = m->counters.areas[p->report].rd;

			if (fd >= 0 && fdpass_send(q->chan, &msg, &fd, 1) != 0) {
				late = 1;
				break;
			}
			q->areas_sent = p->area_seq;
			sent = 1;
		}
		if (sent)
			kill(q->pid, SIGUSR2);
	}
	return late;
}

int
workers_send_routes(struct master *m, int wake)
{
	uint64_t now = clock_ms();
	int late = 0, rc, queued;

	for (unsigned i = 0; i < m->proc_count; i++) {
		struct proc *p = &m->procs[i];

		if (p->routes_sent == m->routes.generation)
			continue;
		/*
		 * Only to a worker that took everything sent before: one that
		 * does not read (stuck, or hostile) holds one generation in
		 * its queue at most, not one per reload.
		 */
		if (ioctl(p->chan, SIOCOUTQ, &queued) != 0 || queued > 0)
			rc = -EAGAIN;
		else
			rc = workers_routes_send(m, p->chan);
		if (rc == 0) {
			if (wake)
				kill(p->pid, SIGUSR2);
			p->routes_sent = m->routes.generation;
			p->routes_late_ms = 0;
			p->routes_said = 0;
			continue;
		}
		late = 1;
		if (p->routes_late_ms == 0)
			p->routes_late_ms = now;
		/* Normal for a moment under rapid reloads; said when it lasts. */
		if (!p->routes_said && !p->retiring && now - p->routes_late_ms >= ROUTES_LATE_MS) {
			log_warn("worker %u (pid %d) has not taken route table generation %llu "
			    "for %u ms (%s); retrying every %u ms", p->slot, (int)p->pid,
			    (unsigned long long)m->routes.generation, ROUTES_LATE_MS,
			    rc == -EAGAIN ? "it has not read what it was sent before" :
			    strerror(-rc), ROUTES_RETRY_MS);
			p->routes_said = 1;
		}
	}
	if (workers_send_areas(m))
		late = 1;
	return late ? (int)ROUTES_RETRY_MS : -1;
}

/*
 * A worker's control channel: sv[0] the master's end, sv[1] the worker's,
 * with the current route table generation and the log files already
 * waiting on it (the worker takes them at start). 0 or -errno (logged).
 */
static int
workers_channel_open(struct master *m, unsigned slot, int sv[2])
{
	int rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		rc = -errno;
		log_error("worker %u: control channel: %s", slot, strerror(errno));
		return rc;
	}
	if ((rc = workers_routes_send(m, sv[0])) != 0)
		log_error("worker %u: cannot hand it the route table: %s", slot, strerror(-rc));
	else if ((rc = logs_send(m, sv[0])) != 0)
		log_error("worker %u: cannot hand it the log files: %s", slot, strerror(-rc));
	if (rc != 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return rc;
}

static int
workers_spawn(struct master *m, unsigned slot)
{
	pid_t master_pid = getpid(), pid;
	struct kernelrelay kr;
	struct proc *p;
	int report, rc, sv[2];

	if (m->proc_count == m->proc_cap) {
		unsigned cap = m->proc_cap ? 2 * m->proc_cap : 2 * m->workers;

		p = realloc(m->procs, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		m->procs = p;
		m->proc_cap = cap;
	}
	report = workers_report_take(m);
	if (report < 0) {
		log_error("worker %u: too many workers still draining; not started", slot);
		return report;
	}
	if ((rc = workers_channel_open(m, slot, sv)) != 0) {
		m->report_used[report] = 0;
		return rc;
	}
	/* Before the fork: the child writes its area from its first instant. */
	if ((rc = counters_worker_start(&m->counters, (unsigned)report, slot,
	    m->slots[slot].restarts, m->engine)) != 0) {
		log_error("worker %u: statistics area: %s", slot, strerror(-rc));
		m->report_used[report] = 0;
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	workers_kernelrelay(m, slot, &kr);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		log_error("fork worker %u: %s", slot, strerror(errno));
		kernelrelay_close(&kr);
		counters_worker_exit(&m->counters, (unsigned)report);
		m->report_used[report] = 0;
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0) {
		close(sv[0]);
		workers_become(m, slot, (unsigned)report, master_pid, sv[1], &kr);
	}
	close(sv[1]);
	kernelrelay_close(&kr);	/* the worker's own now */
	counters_worker_forked(&m->counters, (unsigned)report, pid);
	p = &m->procs[m->proc_count++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->slot = slot;
	p->report = (unsigned)report;
	p->chan = sv[0];
	p->routes_sent = m->routes.generation;
	p->started_ms = clock_ms();
	p->area_seq = p->areas_sent = ++m->area_seq;	/* it maps every older area already */
	m->slots[slot].restart_at = 0;
	return 0;
}

int
workers_start(struct master *m)
{
	int rc = 0, r;

	m->ready_sent = 0;
	if (m->cfg.user != NULL && m->cfg.uid == 0 && geteuid() == 0)
		log_warn("workers run as root (user = \"%s\"): the code that parses what "
		    "clients send holds every privilege of the master", m->cfg.user);
	for (unsigned slot = 0; slot < m->workers; slot++) {
		r = workers_spawn(m, slot);
		if (r != 0) {
			/* workers_restart_due() tries again; the other slots still start. */
			m->slots[slot].restart_at = clock_ms() + RESTART_BACKOFF_MIN_MS;
			if (rc == 0)
				rc = r;
		}
	}
	return rc;
}

/* A worker of the current set that died unasked: restart it, ever slower if it dies young. */
static void
workers_schedule_restart(struct master *m, const struct proc *p, int status)
{
	struct slot_state *st = &m->slots[p->slot];
	uint64_t now = clock_ms();

	if (WIFSIGNALED(status))
		log_error("worker %u (pid %d) killed by signal %d (%s)", p->slot, (int)p->pid,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		log_error("worker %u (pid %d) exited with status %d", p->slot, (int)p->pid,
		    WEXITSTATUS(status));
	if (now - p->started_ms >= RESTART_HEALTHY_MS)
		st->backoff_ms = 0;
	else if (st->backoff_ms == 0)
		st->backoff_ms = RESTART_BACKOFF_MIN_MS;
	else if ((st->backoff_ms *= 2) > RESTART_BACKOFF_MAX_MS)
		st->backoff_ms = RESTART_BACKOFF_MAX_MS;
	/* The first restart is immediate: queued connections wait on its socket. */
	st->restart_at = now + (st->backoff_ms == RESTART_BACKOFF_MIN_MS ? 0 : st->backoff_ms);
	st->restarts++;
}

void
workers_reap(struct master *m)
{
	struct proc p;
	unsigned i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < m->proc_count && m->procs[i].pid != pid; i++)
			;
		if (i == m->proc_count) {
			(void)resolve_reaped(&m->resolve, pid, status);
			continue;
		}
		p = m->procs[i];
		m->procs[i] = m->procs[--m->proc_count];
		close(p.chan);
		counters_worker_exit(&m->counters, p.report);
		m->report_used[p.report] = 0;
		if (p.retiring || m->stopping)
			log_info("worker %u (pid %d) %s", p.slot, (int)pid,
			    WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "finished"
			    : "ended abnormally while stopping");
		else
			workers_schedule_restart(m, &p, status);
	}
}

static int
workers_slot_running(const struct master *m, unsigned slot)
{
	for (unsigned i = 0; i < m->proc_count; i++)
		if (m->procs[i].slot == slot && !m->procs[i].retiring)
			return 1;
	return 0;
}

int
workers_restart_due(struct master *m, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct slot_state *st;

	if (m->stopping)
		return -1;
	for (unsigned slot = 0; slot < m->workers; slot++) {
		st = &m->slots[slot];
		if (st->restart_at == 0 || workers_slot_running(m, slot))
			continue;
		if (st->restart_at <= now) {
			log_info("restarting worker %u (restart %u)", slot, st->restarts);
			if (workers_spawn(m, slot) != 0)
				st->restart_at = now + RESTART_BACKOFF_MAX_MS;
		} else if (st->restart_at < next) {
			next = st->restart_at;
		}
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

void
workers_retire(struct master *m, int all)
{
	uint64_t deadline = clock_ms() + m->cfg.settings.drain_ms + STOP_GRACE_MS;

	for (unsigned i = 0; i < m->proc_count; i++) {
		struct proc *p = &m->procs[i];

		if (p->retiring && !all)
			continue;
		if (!p->retiring)
			p->kill_at = deadline;
		p->retiring = 1;
		counters_worker_retiring(&m->counters, p->report);
		kill(p->pid, SIGQUIT);
	}
}

void
workers_signal(struct master *m, int sig)
{
	for (unsigned i = 0; i < m->proc_count; i++)
		kill(m->procs[i].pid, sig);
}

unsigned
workers_alive(const struct master *m)
{
	return m->proc_count;
}

int
workers_ready(const struct master *m)
{
	for (unsigned i = 0; i < m->proc_count; i++) {
		const struct proc *p = &m->procs[i];

		if (!p->retiring && !counters_worker_ready(&m->counters, p->report))
			return 0;
	}
	for (unsigned slot = 0; slot < m->workers; slot++)
		if (!workers_slot_running(m, slot))
			return 0;
	return 1;
}

void
workers_kill_late(struct master *m, uint64_t now)
{
	for (unsigned i = 0; i < m->proc_count; i++) {
		struct proc *p = &m->procs[i];

		if (p->kill_at == 0 || now < p->kill_at)
			continue;
		log_warn("worker %u (pid %d) still draining past its deadline: killing it",
		    p->slot, (int)p->pid);
		kill(p->pid, SIGKILL);
		p->kill_at = 0;
	}
}

void
workers_free(struct master *m)
{
	for (unsigned i = 0; i < m->proc_count; i++)
		close(m->procs[i].chan);
	free(m->procs);
	m->procs = NULL;
	m->proc_count = m->proc_cap = 0;
}
