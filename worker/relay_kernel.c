/*
 * relay_kernel.c -- relay "kernel": bytes move between a connection's two
 * sockets inside the kernel (a BPF sockhash and its stream verdict,
 * relay_kernel.bpf.c), without waking the worker.
 *
 * The worker puts both sockets in its own maps (the master loaded them for
 * this process) and then only polls each socket for its end: the verdict
 * takes every byte, so a socket turns readable only at EOF, on an error,
 * or when the verdict stopped redirecting it and kept its bytes in its own
 * queue: its peer held RELAY_KERNEL_BACKLOG_BYTES it had not taken (the
 * sink does not read), or the peer was not in the map yet. Kept bytes are
 * charged to the source's receive buffer, so TCP's window closes on its
 * sender. Once the sink took every byte redirected before them, the worker
 * copies that direction (relay.c's copy path), for good: handing it back
 * to the kernel could reorder bytes. The other direction stays in the kernel.
 *
 * A FIN is dropped by the verdict and passed on here, only once every
 * redirected byte entered the sink: the sink's bytes written in (tcp_info's
 * bytes_acked + SIOCOUTQ, linux/tcp.h's struct, since glibc's lacks the
 * byte counters) against what the verdict counted as redirected. Nothing
 * says when that happens, so the check repeats every RELAY_KERNEL_FIN_POLL_MS.
 *
 * The maps are used through the bpf(2) syscall itself: the worker needs no
 * libbpf, and a build without the kernel relay still compiles this.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "conn.h"
#include "log.h"
#include "relay_kernel.h"
#include "tunables.h"
#include "worker-t.h"

/* tcp_info's tcpi_state of a closed socket (the kernel's net/tcp_states.h; no uapi header). */
#define RELAY_KERNEL_TCP_CLOSE 7

/* Why the verdict stopped redirecting a source; as in relay_kernel.bpf.c. */
enum { RELAY_KERNEL_PEER_MISSING = 1, RELAY_KERNEL_PEER_FULL = 2 };

/* The value of the peers map; the same layout as relay_kernel.bpf.c's. */
struct relay_kernel_peer {
	uint64_t peer;		/* the peer's cookie; 0: no longer redirected */
	uint64_t redirected;	/* bytes the verdict handed to the peer's egress */
	uint64_t sent0;		/* the peer's bytes written in before the relay */
	uint64_t stopped;	/* why peer became 0: RELAY_KERNEL_PEER_* */
};

/* bpf(2) on one element: cmd BPF_MAP_UPDATE_ELEM, _LOOKUP_ELEM or _DELETE_ELEM. 0 or -errno. */
static int
relay_kernel_elem(int cmd, int map, const void *key, void *value, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)map;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	a.flags = flags;
	return syscall(SYS_bpf, cmd, &a, sizeof(a)) == 0 ? 0 : -errno;
}

/*
 * Bytes ever written into fd's send queue: acknowledged ones plus those
 * still queued. 0 or -errno.
 */
static int
relay_kernel_written(int fd, uint64_t *n)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    ioctl(fd, SIOCOUTQ, &outq) != 0)
		return -errno;
	*n = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

static int
relay_kernel_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) == 0 ? 0 : -errno;
}

/*
 * Names each socket's peer, then puts both sockets in the sockhash. 0 or
 * -errno; *client_in says whether the client's socket stayed in the map
 * (it cannot be taken out safely: bytes the verdict kept would go with it).
 */
static int
relay_kernel_insert(struct worker *w, struct conn *c, int *client_in)
{
	int socks = w->spec->relay_socks_fd, peers = w->spec->relay_peers_fd;
	uint64_t ck = c->u.dir[0].kernel.cookie, bk = c->u.dir[1].kernel.cookie;
	struct relay_kernel_peer cp = { .peer = bk, .sent0 = c->u.dir[0].kernel.sent0 };
	struct relay_kernel_peer bp = { .peer = ck, .sent0 = c->u.dir[1].kernel.sent0 };
	uint64_t cfd = (uint64_t)c->cfd, bfd = (uint64_t)c->bfd;
	int rc;

	*client_in = 0;
	if ((rc = relay_kernel_elem(BPF_MAP_UPDATE_ELEM, peers, &ck, &cp, BPF_NOEXIST)) != 0)
		return rc;
	if ((rc = relay_kernel_elem(BPF_MAP_UPDATE_ELEM, peers, &bk, &bp, BPF_NOEXIST)) != 0)
		goto bad;
	/*
	 * The client first: it waits for the ServerHello and sends nothing
	 * meanwhile, while the backend's answer to the hello is on its way.
	 * A byte that comes before its peer joined stays in its socket (the
	 * verdict), and that direction is copied (relay_kernel_gate()).
	 */
	if ((rc = relay_kernel_elem(BPF_MAP_UPDATE_ELEM, socks, &ck, &cfd, BPF_NOEXIST)) != 0)
		goto bad;
	*client_in = 1;
	return relay_kernel_elem(BPF_MAP_UPDATE_ELEM, socks, &bk, &bfd, BPF_NOEXIST);
bad:
	(void)relay_kernel_elem(BPF_MAP_DELETE_ELEM, peers, &ck, NULL, 0);
	(void)relay_kernel_elem(BPF_MAP_DELETE_ELEM, peers, &bk, NULL, 0);
	return rc;
}

/*
 * Direction d could not go to the kernel: the n bytes at w->scratch its
 * sink did not take wait in a pending buffer, as relay "adaptive" keeps
 * them, and the direction copies from here on (relay.c takes it over).
 */
static int
relay_kernel_keep(struct worker *w, struct conn *c, int d, size_t n)
{
	struct dir *dir = &c->u.dir[d];

	dir->copying = 1;
	dir->pending = NULL;
	dir->queued = 0;
	if (n == 0)
		return -EAGAIN;
	if ((dir->pending = malloc(n)) == NULL)
		return -ENOMEM;
	memcpy(dir->pending, w->scratch, n);
	dir->queued = (uint32_t)n;
	return -EAGAIN;
}

/*
 * Empties direction d's source queue, sending what it held on to its sink
 * (*copied bytes).
 * - The client's (d 0): the verdict takes whole skbs from the queue,
 *   ignoring what of one was read already: the hello phase reads up to its
 *   cap, and the rest of a partly read skb would be relayed again from its
 *   start. A queue seen empty holds no partly read skb, and what comes
 *   later is whole.
 * - The backend's (d 1): a backend that answered the hello with more than
 *   its socket's receive buffer before the insert sees a zero window, and
 *   the verdict's taking of those bytes sends no window update: it waits
 *   for its zero-window probe (200 ms and more; measured in 10-50% of 1 MiB
 *   downloads). recv() sends the update.
 * 0 when it was emptied; -EAGAIN when it could not be (the source keeps
 * sending, or the sink did not take it all: relay_kernel_keep());
 * -ECONNRESET / -EPIPE for a source / sink that failed.
 */
static int
relay_kernel_drain(struct worker *w, struct conn *c, int d, uint64_t *copied)
{
	ssize_t n, m;
	int inq;

	*copied = 0;
	for (;;) {
		if (ioctl(conn_src(c, d), SIOCINQ, &inq) != 0)
			return -ECONNRESET;
		if (inq == 0)
			return 0;
		if (*copied >= RELAY_BUDGET_BYTES)
			return relay_kernel_keep(w, c, d, 0);
		do
			n = recv(conn_src(c, d), w->scratch, (size_t)inq < MAX_HELLO_BYTES ?
			    (size_t)inq : MAX_HELLO_BYTES, 0);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return n < 0 && errno == EAGAIN ? 0 : -ECONNRESET;
		do
			m = send(conn_dst(c, d), w->scratch, (size_t)n, MSG_NOSIGNAL);
		while (m < 0 && errno == EINTR);
		if (m < 0 && errno != EAGAIN)
			return -EPIPE;
		m = m < 0 ? 0 : m;
		*copied += (uint64_t)m;
		if (m < n) {
			memmove(w->scratch, w->scratch + m, (size_t)(n - m));
			return relay_kernel_keep(w, c, d, (size_t)(n - m));
		}
	}
}

/* 1 when direction d waits for its sink to take what was redirected (a FIN, or kept bytes). */
static int
relay_kernel_waits(const struct dir *dir)
{
	return !dir->copying && !dir->done && (dir->eof || dir->kept);
}

/*
 * The timer: the next count, the idle deadline if sooner, or sooner still
 * a direction's next look at its sink. That look backs off, doubling from
 * RELAY_KERNEL_FIN_POLL_MS to RELAY_KERNEL_COUNT_MS (kept in dir->queued,
 * unused by a direction the kernel moves): a sink that never reads costs
 * one look a second.
 */
static void
relay_kernel_timer(struct worker *w, struct conn *c)
{
	uint64_t at = c->active_ms + c->idle_ms;

	if (at > w->now + RELAY_KERNEL_COUNT_MS)
		at = w->now + RELAY_KERNEL_COUNT_MS;
	for (int d = 0; d < 2; d++) {
		struct dir *dir = &c->u.dir[d];

		if (!relay_kernel_waits(dir))
			continue;
		if (dir->queued < RELAY_KERNEL_FIN_POLL_MS)
			dir->queued = RELAY_KERNEL_FIN_POLL_MS;
		if (w->now + dir->queued < at)
			at = w->now + dir->queued;
		dir->queued = dir->queued * 2 > RELAY_KERNEL_COUNT_MS ? RELAY_KERNEL_COUNT_MS :
		    dir->queued * 2;
	}
	timer_set(&w->timers, &c->timer, at);
}

/*
 * The client's socket joined the map, the backend's could not (rc): it is
 * past ESTABLISHED, a backend that answered and shut down at once. The
 * verdict redirects nothing to a socket not in the map (it keeps the
 * client's bytes in its own socket), so both directions are copied by
 * relay.c from the start, the client's through its psock's queue.
 */
static enum relay_status
relay_kernel_copy_both(struct worker *w, struct conn *c, int rc, enum close_reason *why)
{
	log_debug("relay \"kernel\": the backend's socket cannot join the map (%s); copying",
	    strerror(-rc));
	for (int d = 0; d < 2; d++) {
		struct dir *dir = &c->u.dir[d];

		(void)relay_kernel_elem(BPF_MAP_DELETE_ELEM, w->spec->relay_peers_fd,
		    &dir->kernel.cookie, NULL, 0);
		dir->copying = 1;
		dir->pending = NULL;
		dir->queued = 0;
		if (engine_wait(w->engine, c, EV_READABLE, d, conn_src(c, d)) != 0) {
			*why = CLOSE_INTERNAL;
			return RELAY_CLOSE;
		}
	}
	relay_kernel_timer(w, c);
	return RELAY_WAITING;
}

int
relay_kernel_start(struct worker *w, struct conn *c, uint64_t copied[2],
    enum relay_status *st, enum close_reason *why)
{
	static const int one = 1;
	uint64_t ck, bk, csent, bsent;
	int rc, client_in;

	copied[0] = copied[1] = 0;
	if (w->spec->relay_socks_fd < 0)
		return -EOPNOTSUPP;
	for (int d = 0; d < 2; d++) {
		if ((rc = relay_kernel_drain(w, c, d, &copied[d])) == 0)
			continue;
		if (rc == -EAGAIN)
			return rc;
		/* No memory for what a sink left, or the source (-ECONNRESET) or sink (-EPIPE) failed. */
		*why = rc == -ENOMEM ? CLOSE_LIMIT_REACHED : (rc == -EPIPE) == (d == 0) ?
		    CLOSE_BACKEND_RESET : CLOSE_CLIENT_RESET;
		*st = RELAY_CLOSE;
		return 0;
	}
	if ((rc = relay_kernel_cookie(c->cfd, &ck)) != 0 ||
	    (rc = relay_kernel_cookie(c->bfd, &bk)) != 0 ||
	    (rc = relay_kernel_written(c->bfd, &bsent)) != 0 ||
	    (rc = relay_kernel_written(c->cfd, &csent)) != 0)
		return rc;
	c->u.dir[0].kernel.cookie = ck;
	c->u.dir[0].kernel.sent0 = bsent;
	c->u.dir[0].kernel.before = c->u.dir[0].bytes + copied[0];	/* the hello, the drain */
	c->u.dir[1].kernel.cookie = bk;
	c->u.dir[1].kernel.sent0 = csent;
	c->u.dir[1].kernel.before = c->u.dir[1].bytes + copied[1];
	if ((rc = relay_kernel_insert(w, c, &client_in)) != 0) {
		if (!client_in)
			return rc;
		*st = relay_kernel_copy_both(w, c, rc, why);
		return 0;
	}
	/*
	 * Bytes that came before the insert wait in the receive queue until
	 * the next packet runs the verdict; a new SO_RCVLOWAT runs it now.
	 */
	(void)setsockopt(c->cfd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	(void)setsockopt(c->bfd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	relay_kernel_timer(w, c);
	*st = RELAY_WAITING;
	if (engine_wait(w->engine, c, EV_READABLE, 0, c->cfd) != 0 ||
	    engine_wait(w->engine, c, EV_READABLE, 1, c->bfd) != 0) {
		*why = CLOSE_INTERNAL;
		*st = RELAY_CLOSE;
	}
	return 0;
}

void
relay_kernel_sent(const struct conn *c, uint64_t out[2])
{
	for (int d = 0; d < 2; d++) {
		uint64_t n;

		out[d] = c->u.dir[d].bytes;
		if (c->u.dir[d].copying)
			continue;	/* relay.c counts what it copies */
		if (relay_kernel_written(conn_dst(c, d), &n) == 0 && n >= c->u.dir[d].kernel.sent0)
			out[d] = c->u.dir[d].kernel.before + n - c->u.dir[d].kernel.sent0;
	}
}

/* Direction d's source ended: pass its FIN on once every redirected byte is in the sink. */
static enum relay_status
relay_kernel_finish(struct worker *w, struct conn *c, int d, enum close_reason *why)
{
	struct dir *dir = &c->u.dir[d];
	struct relay_kernel_peer p;
	uint64_t n;

	if (relay_kernel_elem(BPF_MAP_LOOKUP_ELEM, w->spec->relay_peers_fd, &dir->kernel.cookie,
	    &p, 0) != 0 || relay_kernel_written(conn_dst(c, d), &n) != 0) {
		*why = CLOSE_INTERNAL;
		return RELAY_CLOSE;
	}
	if (n - dir->kernel.sent0 < p.redirected)
		return RELAY_WAITING;	/* the timer looks again */
	dir->done = 1;
	if (c->u.dir[!d].done) {
		*why = CLOSE_NORMAL;
		return RELAY_CLOSE;
	}
	/* The FIN takes a sequence number of the sink's: not a byte to count. */
	if (shutdown(conn_dst(c, d), SHUT_WR) == 0)
		dir->kernel.sent0++;
	return RELAY_WAITING;
}

/*
 * Direction d's source is no longer redirected: once its sink took every
 * byte the verdict redirected, the kernel's part is counted, the source's
 * entry leaves the map and relay.c copies the direction from then on (its
 * first wait is armed here). Until then the timer looks again.
 */
static enum relay_status
relay_kernel_gate(struct worker *w, struct conn *c, int d, enum close_reason *why)
{
	static struct log_limit limit;
	struct dir *dir = &c->u.dir[d];
	struct relay_kernel_peer p;
	uint64_t n, skipped, total;

	if (relay_kernel_elem(BPF_MAP_LOOKUP_ELEM, w->spec->relay_peers_fd, &dir->kernel.cookie,
	    &p, 0) != 0 || relay_kernel_written(conn_dst(c, d), &n) != 0) {
		*why = CLOSE_INTERNAL;
		return RELAY_CLOSE;
	}
	if (p.peer != 0 || n - dir->kernel.sent0 < p.redirected)
		return RELAY_WAITING;	/* the timer looks again */
	total = dir->kernel.before + p.redirected;
	if (total > dir->bytes)
		relay_count(w, c, d, total - dir->bytes, 1);
	(void)relay_kernel_elem(BPF_MAP_DELETE_ELEM, w->spec->relay_peers_fd,
	    &dir->kernel.cookie, NULL, 0);
	if (worker_log_due(w, &limit, &skipped))
		log_info("relay \"kernel\": the %s's bytes are copied by the worker from now on, "
		    "after %llu went through the kernel: %s (%llu more not logged)",
		    d == 0 ? "client" : "backend", (unsigned long long)p.redirected,
		    p.stopped == RELAY_KERNEL_PEER_FULL ? "its sink fell behind" :
		    "they came before the other side joined the map", (unsigned long long)skipped);
	dir->copying = 1;
	dir->pending = NULL;
	dir->queued = 0;
	dir->drained = 0;
	if (engine_wait(w->engine, c, EV_READABLE, d, conn_src(c, d)) != 0) {
		*why = CLOSE_INTERNAL;
		return RELAY_CLOSE;
	}
	return RELAY_WAITING;
}

/*
 * Direction d's source is readable: bytes the verdict kept (relay_kernel_gate),
 * or its EOF (the verdict drops the FIN; relay_kernel_finish passes it on).
 */
static enum relay_status
relay_kernel_kept(struct worker *w, struct conn *c, int d, enum close_reason *why)
{
	uint8_t b;
	ssize_t n = recv(conn_src(c, d), &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return engine_wait(w->engine, c, EV_READABLE, d, conn_src(c, d)) == 0 ?
		    RELAY_WAITING : (*why = CLOSE_INTERNAL, RELAY_CLOSE);
	if (n == 0) {
		c->u.dir[d].eof = 1;
		return relay_kernel_finish(w, c, d, why);
	}
	if (n < 0) {
		*why = d == 0 ? CLOSE_CLIENT_RESET : CLOSE_BACKEND_RESET;
		return RELAY_CLOSE;
	}
	c->u.dir[d].kept = 1;
	return relay_kernel_gate(w, c, d, why);
}

enum relay_status
relay_kernel_on_event(struct worker *w, struct conn *c, int d, int res,
    enum close_reason *why)
{
	enum relay_status st;
	int err = 0;
	socklen_t len = sizeof(err);

	if (res & POLLERR) {
		(void)getsockopt(conn_src(c, d), SOL_SOCKET, SO_ERROR, &err, &len);
		log_debug("relay: %s side: %s", d == 0 ? "client" : "backend", strerror(err));
		*why = d == 0 ? CLOSE_CLIENT_RESET : CLOSE_BACKEND_RESET;
		return RELAY_CLOSE;
	}
	/* Kept bytes come before an EOF: the peek tells which it is. */
	st = relay_kernel_kept(w, c, d, why);
	if (st == RELAY_WAITING)
		relay_kernel_timer(w, c);
	return st;
}

/*
 * 1 when direction d's source, whose EOF or kept bytes were seen (so
 * nothing polls it), was reset since: an error pending, or closed while
 * its own direction back (!d) had not shut it down (a FIN exchange cannot
 * have closed it).
 */
static int
relay_kernel_reset(const struct conn *c, int d)
{
	struct tcp_info ti;
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(conn_src(c, d), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
		return 1;
	len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(conn_src(c, d), IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 1;
	return ti.tcpi_state == RELAY_KERNEL_TCP_CLOSE && !c->u.dir[!d].done;
}

enum relay_status
relay_kernel_on_timer(struct worker *w, struct conn *c, enum close_reason *why)
{
	enum relay_status st;

	for (int d = 0; d < 2; d++) {
		struct dir *dir = &c->u.dir[d];

		if ((dir->eof || (dir->kept && !dir->copying)) && relay_kernel_reset(c, d)) {
			log_debug("relay: %s side: reset while not polled",
			    d == 0 ? "client" : "backend");
			*why = d == 0 ? CLOSE_CLIENT_RESET : CLOSE_BACKEND_RESET;
			return RELAY_CLOSE;
		}
		if (!relay_kernel_waits(dir))
			continue;
		st = dir->kept ? relay_kernel_gate(w, c, d, why) : relay_kernel_finish(w, c, d, why);
		if (st == RELAY_CLOSE)
			return st;
	}
	if (w->now - c->active_ms >= c->idle_ms) {
		*why = CLOSE_IDLE_TIMEOUT;
		return RELAY_CLOSE;
	}
	relay_kernel_timer(w, c);
	return RELAY_WAITING;
}

void
relay_kernel_release(struct worker *w, struct conn *c)
{
	for (int d = 0; d < 2; d++) {
		struct dir *dir = &c->u.dir[d];

		if (dir->copying) {	/* its entry left at the hand-over */
			free(dir->pending);
			dir->pending = NULL;
		} else {
			(void)relay_kernel_elem(BPF_MAP_DELETE_ELEM, w->spec->relay_peers_fd,
			    &dir->kernel.cookie, NULL, 0);
		}
	}
}
