/*
 * resolve.c -- backends named by host name follow DNS. Every resolve_ms the
 * master forks a short-lived child that drops to the workers' user, resolves
 * every name (getaddrinfo may wait seconds on a slow server: never in the
 * master's loop), writes one record per name on a pipe and exits. The
 * master reads the pipe from its loop, checks every record
 * (resolve_wire.c), kills a child that takes too long, and keeps the last
 * good addresses of a name that fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "master.h"
#include "resolve.h"
#include "tunables.h"

/* Exit status of a child that could not switch to the workers' user. */
#define RESOLVE_EXIT_PRIVILEGES 3

void
resolve_init(struct resolve *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static int
resolve_name_cmp(const char *host_a, uint16_t port_a, const char *host_b, uint16_t port_b)
{
	int d = strcasecmp(host_a, host_b);

	return d != 0 ? d : (int)port_a - (int)port_b;
}

static int
resolve_name_qsort(const void *a, const void *b)
{
	const struct resolve_name *x = a, *y = b;

	return resolve_name_cmp(x->host, x->port, y->host, y->port);
}

/* The entry of host:port in r, or NULL. */
static struct resolve_name *
resolve_find(const struct resolve *r, const char *host, uint16_t port)
{
	uint32_t lo = 0, hi = r->count, mid;
	int d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		d = resolve_name_cmp(host, port, r->names[mid].host, r->names[mid].port);
		if (d == 0)
			return &r->names[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The running child killed and reaped, its pipe closed and its bytes dropped. */
static void
resolve_stop(struct resolve *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		(void)waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->len = 0;
}

static void
resolve_names_free(struct resolve *r)
{
	for (uint32_t i = 0; i < r->count; i++) {
		free(r->names[i].host);
		free(r->names[i].addrs);
	}
	free(r->names);
	r->names = NULL;
	r->count = 0;
}

/* Copies of h's name and addresses into e. 0 or -ENOMEM. */
static int
resolve_name_set(struct resolve_name *e, const struct config_host *h)
{
	e->host = strdup(h->name);
	e->port = h->port;
	e->addrs = malloc(h->addr_count * sizeof(*e->addrs));
	if (e->host == NULL || e->addrs == NULL)
		return -ENOMEM;
	memcpy(e->addrs, h->addrs, h->addr_count * sizeof(*e->addrs));
	e->addr_count = h->addr_count;
	return 0;
}

/* Every name of cfg once, sorted, into r->names. 0 or -ENOMEM. */
static int
resolve_collect(struct resolve *r, const struct config *cfg)
{
	uint64_t n = 0;
	uint32_t j = 0;

	for (uint32_t i = 0; i < cfg->route_count; i++)
		for (uint32_t k = 0; cfg->routes[i].hosts != NULL && k < cfg->routes[i].backend_count; k++)
			n += cfg->routes[i].hosts[k].name != NULL;
	if (n == 0)
		return 0;
	if ((r->names = calloc(n, sizeof(*r->names))) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < cfg->route_count; i++) {
		for (uint32_t k = 0; cfg->routes[i].hosts != NULL && k < cfg->routes[i].backend_count; k++) {
			if (cfg->routes[i].hosts[k].name == NULL)
				continue;
			r->count = j + 1;
			if (resolve_name_set(&r->names[j++], &cfg->routes[i].hosts[k]) != 0)
				return -ENOMEM;
		}
	}
	qsort(r->names, r->count, sizeof(*r->names), resolve_name_qsort);
	for (uint32_t i = j = 1; i < r->count; i++) {
		if (resolve_name_qsort(&r->names[i], &r->names[j - 1]) != 0) {
			r->names[j++] = r->names[i];
			continue;
		}
		free(r->names[i].host);
		free(r->names[i].addrs);
	}
	r->count = j;
	return 0;
}

int
resolve_load(struct resolve *r, const struct config *cfg, uint64_t now)
{
	resolve_stop(r);
	resolve_names_free(r);
	r->interval_ms = cfg->resolve_ms;
	r->next_at = 0;
	if (resolve_collect(r, cfg) != 0) {
		resolve_names_free(r);
		log_error("host names: %s; they are not resolved again", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (r->count > 0 && r->interval_ms != 0)
		r->next_at = now + r->interval_ms;
	return 0;
}

/* Writes all of buf to fd. 0, or -1 (the master went away, or killed us). */
static int
resolve_write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * In the child: nothing of the master's it does not need (sockets,
 * channels, the instance lock, log files for workers, the route image's
 * descriptor, writable statistics), then the workers' user.
 */
static void
resolve_child_scrub(struct master *m)
{
	listeners_close(&m->listeners);
	for (unsigned i = 0; i < m->proc_count; i++)
		close(m->procs[i].chan);
	if (m->watch_fd >= 0)
		close(m->watch_fd);
	if (m->ready_fd >= 0)
		close(m->ready_fd);
	if (m->counters.lock.held)
		close(m->counters.lock.fd);
	if (m->access_fd >= 0)
		close(m->access_fd);
	if (m->routes.fd >= 0)
		close(m->routes.fd);
	/* No line: every area unmapped, the segment mapped read-only. */
	(void)counters_worker_attach(&m->counters, STATS_LINES);
}

/* Whole ms until deadline (0 when it passed) as a timespec. */
static int
resolve_child_left(uint64_t deadline, struct timespec *ts)
{
	uint64_t now = clock_ms();

	if (now >= deadline)
		return 0;
	ts->tv_sec = (time_t)((deadline - now) / 1000);
	ts->tv_nsec = (long)((deadline - now) % 1000) * 1000000;
	return 1;
}

/*
 * In the child: every name asked at once (getaddrinfo_a: one slow or dead
 * name holds up no other), answered until deadline; a name still waiting
 * then is written as -EAGAIN (it keeps its addresses, and is logged).
 */
static void
resolve_child_lookup(struct resolve *r, struct gaicb *reqs, struct gaicb **list,
    uint64_t deadline)
{
	struct addrinfo hints;
	struct timespec ts;
	uint32_t pending = r->count;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	for (uint32_t i = 0; i < r->count; i++) {
		reqs[i].ar_name = r->names[i].host;
		reqs[i].ar_request = &hints;
		list[i] = &reqs[i];
	}
	if (getaddrinfo_a(GAI_NOWAIT, list, (int)r->count, NULL) != 0)
		_exit(1);
	while (pending > 0 && resolve_child_left(deadline, &ts)) {
		/* gai_suspend returns at once while a finished request is listed. */
		for (uint32_t i = 0; i < r->count; i++) {
			if (list[i] != NULL && gai_error(list[i]) != EAI_INPROGRESS) {
				list[i] = NULL;
				pending--;
			}
		}
		if (pending > 0)
			(void)gai_suspend((const struct gaicb *const *)list, (int)r->count, &ts);
	}
}

static void __attribute__((noreturn))
resolve_child(struct resolve *r, struct master *m, int wfd, pid_t master_pid,
    uint64_t deadline)
{
	static uint8_t rec[RESOLVE_WIRE_REC_MAX];
	static struct addr addrs[RESOLVE_ADDRS_MAX];
	struct gaicb *reqs, **list;
	uint32_t n;
	int rc;

	log_set_role("resolver");
	prctl(PR_SET_NAME, "pt-resolver");
	resolve_child_scrub(m);
	if (workers_drop_privileges(&m->cfg) != 0)
		_exit(RESOLVE_EXIT_PRIVILEGES);
	/* Set after the credential change, which clears it. If the master dies, so do we. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != master_pid)
		_exit(1);
	reqs = calloc(r->count, sizeof(*reqs));
	list = calloc(r->count, sizeof(*list));
	if (reqs == NULL || list == NULL)
		_exit(1);
	resolve_child_lookup(r, reqs, list, deadline);
	for (uint32_t i = 0; i < r->count; i++) {
		rc = gai_error(&reqs[i]);
		n = 0;
		if (rc == EAI_INPROGRESS)
			rc = -EAGAIN;
		else if ((rc = addr_gai_errno(rc)) == 0)
			rc = addr_from_addrinfo(reqs[i].ar_result, r->names[i].port, addrs,
			    RESOLVE_ADDRS_MAX, &n);
		if (resolve_write_all(wfd, rec, resolve_wire_put(rec, i, rc, addrs, n)) != 0)
			_exit(1);
	}
	_exit(0);
}

/* How long a child may run: resolve_ms, but at most RESOLVE_CHILD_MAX_MS. */
static uint32_t
resolve_bound_ms(const struct resolve *r)
{
	return r->interval_ms < RESOLVE_CHILD_MAX_MS ? r->interval_ms : RESOLVE_CHILD_MAX_MS;
}

/* Forks the child. 0, or -errno (logged; the next try is one interval later). */
static int
resolve_start(struct resolve *r, struct master *m, uint64_t now)
{
	uint64_t bound = resolve_bound_ms(r);
	pid_t pid, master_pid = getpid();
	int p[2], err;

	if (pipe2(p, O_CLOEXEC) != 0) {
		err = errno;
		log_error("resolving host names: pipe: %s", strerror(err));
		return -err;
	}
	pid = fork();
	if (pid < 0) {
		err = errno;
		log_error("resolving host names: fork: %s", strerror(err));
		close(p[0]);
		close(p[1]);
		return -err;
	}
	if (pid == 0) {
		close(p[0]);
		/* The child answers before the master's patience ends: what it has then. */
		resolve_child(r, m, p[1], master_pid, now + bound - bound / 4);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	r->pid = pid;
	r->fd = p[0];
	r->len = 0;
	r->kill_at = now + bound;
	return 0;
}

int
resolve_tick(struct resolve *r, struct master *m, uint64_t now)
{
	uint64_t at = 0;

	if (r->pid > 0 && r->kill_at != 0 && now >= r->kill_at) {
		log_warn("the resolver took longer than %u ms: stopped; the names it did not "
		    "answer keep their last good addresses", resolve_bound_ms(r));
		kill(r->pid, SIGKILL);
		r->kill_at = 0;		/* reaped through SIGCHLD; its pipe ends */
	}
	if (r->pid == 0 && r->fd < 0 && r->next_at != 0 && now >= r->next_at) {
		r->next_at = now + r->interval_ms;
		(void)resolve_start(r, m, now);
	}
	if (r->pid > 0 && r->kill_at != 0)
		at = r->kill_at;
	if (r->next_at != 0 && (at == 0 || r->next_at < at) && r->fd < 0 && r->pid == 0)
		at = r->next_at;
	if (at == 0)
		return -1;
	return at > now ? (int)(at - now) : 0;
}

/* addrs[n] as "10.0.0.7:443, 10.0.0.8:443", cut with "..." when it does not fit. */
static const char *
resolve_list(char *buf, size_t size, const struct addr *addrs, uint32_t n)
{
	char one[ADDR_STRLEN];
	size_t at = 0, len;

	buf[0] = '\0';
	for (uint32_t i = 0; i < n; i++) {
		addr_format(&addrs[i], one, sizeof(one));
		len = strlen(one) + (i > 0 ? 2 : 0);
		if (at + len + 4 >= size) {
			snprintf(buf + at, size - at, "%s...", i > 0 ? ", " : "");
			break;
		}
		at += (size_t)snprintf(buf + at, size - at, "%s%s", i > 0 ? ", " : "", one);
	}
	return buf;
}

static int
resolve_addr_qsort(const void *a, const void *b)
{
	return addr_compare(a, b);
}

/* A good answer for e: port set, sorted, unique. 1 when its addresses changed (logged). */
static int
resolve_take_good(struct resolve_name *e, struct addr *addrs, uint32_t n)
{
	char now[LOG_LINE_MAX / 2], was[LOG_LINE_MAX / 2];
	struct addr *copy;
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		if (addrs[i].u.sa.sa_family == AF_INET)
			addrs[i].u.in.sin_port = htons(e->port);
		else
			addrs[i].u.in6.sin6_port = htons(e->port);
	}
	qsort(addrs, n, sizeof(*addrs), resolve_addr_qsort);
	for (i = j = 1; i < n; i++)
		if (addr_compare(&addrs[i], &addrs[j - 1]) != 0)
			addrs[j++] = addrs[i];
	n = j;
	if (n == e->addr_count && memcmp(addrs, e->addrs, n * sizeof(*addrs)) == 0) {
		if (e->failing)
			log_info("backend %s:%u resolves again", e->host, e->port);
		e->failing = 0;
		return 0;
	}
	if ((copy = malloc(n * sizeof(*copy))) == NULL) {
		log_error("backend %s:%u: %s; its addresses stay", e->host, e->port, strerror(ENOMEM));
		return 0;
	}
	memcpy(copy, addrs, n * sizeof(*copy));
	log_info("backend %s:%u now %s (was %s)", e->host, e->port,
	    resolve_list(now, sizeof(now), copy, n),
	    resolve_list(was, sizeof(was), e->addrs, e->addr_count));
	free(e->addrs);
	e->addrs = copy;
	e->addr_count = n;
	e->failing = 0;
	return 1;
}

/* A failed lookup for e: said once until it succeeds again; the addresses stay. */
static void
resolve_take_failure(struct resolve_name *e, int status)
{
	char list[LOG_LINE_MAX / 2];

	if (e->failing)
		return;
	e->failing = 1;
	log_warn("backend %s:%u %s; keeping %s", e->host, e->port,
	    status == -ENOENT ? "does not resolve" : "could not be resolved now",
	    resolve_list(list, sizeof(list), e->addrs, e->addr_count));
}

/*
 * The child's bytes, all checked before any is used: a malformed record
 * drops the whole answer (logged). A torn end (a child killed) leaves the
 * names it did not reach as they were. Returns 1 when addresses changed.
 */
static int
resolve_take(struct resolve *r)
{
	static struct addr addrs[RESOLVE_ADDRS_MAX];
	enum resolve_wire_result res = RESOLVE_WIRE_OK;
	uint32_t i, n, complete;
	int status, changed = 0;
	size_t off = 0;

	for (i = 0; i < r->count; i++)
		if ((res = resolve_wire_next(r->buf, r->len, &off, i, &status, addrs, &n)) !=
		    RESOLVE_WIRE_OK)
			break;
	if (res == RESOLVE_WIRE_MALFORMED || (i == r->count && off != r->len)) {
		log_error("resolving host names: the resolver's answer is malformed (at byte %zu); "
		    "ignored, the last good addresses stay", off);
		return 0;
	}
	complete = i;
	off = 0;
	for (i = 0; i < complete; i++) {
		(void)resolve_wire_next(r->buf, r->len, &off, i, &status, addrs, &n);
		if (status == 0)
			changed |= resolve_take_good(&r->names[i], addrs, n);
		else
			resolve_take_failure(&r->names[i], status);
	}
	return changed;
}

/* Room for more bytes; -E2BIG past what count records can take. */
static int
resolve_buf_grow(struct resolve *r)
{
	size_t max = (size_t)r->count * RESOLVE_WIRE_REC_MAX, cap;
	uint8_t *b;

	if (r->len < r->cap)
		return 0;
	if (r->cap >= max)
		return -E2BIG;
	cap = r->cap == 0 ? 65536 : r->cap * 2;
	if (cap > max)
		cap = max;
	if ((b = realloc(r->buf, cap)) == NULL)
		return -ENOMEM;
	r->buf = b;
	r->cap = cap;
	return 0;
}

int
resolve_read(struct resolve *r)
{
	ssize_t n;
	int rc;

	while (r->fd >= 0) {
		if ((rc = resolve_buf_grow(r)) != 0) {
			log_error("resolving host names: %s; the last good addresses stay",
			    rc == -E2BIG ? "the resolver wrote more than its names can take"
			    : strerror(-rc));
			if (r->pid > 0)
				kill(r->pid, SIGKILL);
			close(r->fd);
			r->fd = -1;
			r->len = 0;
			return 0;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		/* End of file (or an error): the answer is what came. */
		close(r->fd);
		r->fd = -1;
		rc = resolve_take(r);
		r->len = 0;
		return rc;
	}
	return 0;
}

int
resolve_apply(const struct resolve *r, struct config *cfg)
{
	const struct resolve_name *e;
	struct config_host *h;
	struct addr *copy;

	for (uint32_t i = 0; i < cfg->route_count; i++) {
		for (uint32_t k = 0; cfg->routes[i].hosts != NULL && k < cfg->routes[i].backend_count; k++) {
			h = &cfg->routes[i].hosts[k];
			if (h->name == NULL || (e = resolve_find(r, h->name, h->port)) == NULL)
				continue;
			if (e->addr_count == h->addr_count &&
			    memcmp(e->addrs, h->addrs, e->addr_count * sizeof(*e->addrs)) == 0)
				continue;
			if ((copy = malloc(e->addr_count * sizeof(*copy))) == NULL)
				return -ENOMEM;
			memcpy(copy, e->addrs, e->addr_count * sizeof(*copy));
			free(h->addrs);
			h->addrs = copy;
			h->addr_count = e->addr_count;
		}
	}
	return 0;
}

int
resolve_reaped(struct resolve *r, pid_t pid, int status)
{
	if (r->pid <= 0 || pid != r->pid)
		return 0;
	r->pid = 0;
	r->kill_at = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == RESOLVE_EXIT_PRIVILEGES)
		log_error("the resolver could not switch to the workers' user; "
		    "host names keep their last good addresses");
	else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		log_error("the resolver was killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	return 1;
}

void
resolve_free(struct resolve *r)
{
	resolve_stop(r);
	resolve_names_free(r);
	free(r->buf);
	resolve_init(r);
}
