/*
 * epoll_test.c -- worker/epoll.c and epoll_conn.c against engine.h's
 * contract, on real sockets, with the owners' handlers replaced by
 * recorders: one event per wait although epoll is level-triggered, a
 * cancel's event only at the dispatch and only once, no event of a
 * forgotten fd handed to the next owner of its number, a connect's two
 * events (success, refused, timed out, cancelled), accepts until
 * cancelled, and the access log written at sleep.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accesslog.h"
#include "clock.h"
#include "conn.h"
#include "engine.h"
#include "listener.h"
#include "worker-t.h"

/* What the handlers were handed, in order. */
struct seen {
	void *owner;
	int op, d, res;
};

static struct seen seen[256];
static unsigned nseen;
static struct worker w;
static struct engine *e;
static struct conn conns[4];
static struct listener lis;
static struct accesslog alog;

static void
record(void *owner, int op, int d, int res)
{
	cr_assert_lt(nseen, sizeof(seen) / sizeof(seen[0]));
	seen[nseen++] = (struct seen){ owner, op, d, res };
}

/* The owners' handlers, in place of conn.c, listener.c and accesslog.c. */
void
conn_on_event(struct worker *wk, struct conn *c, enum engine_op op, int d, int res)
{
	(void)wk;
	record(c, op, d, res);
}

void
listener_on_accept(struct worker *wk, struct listener *l, int res)
{
	(void)wk;
	record(l, EV_ACCEPT, 0, res);
	if (res >= 0)
		close(res);
}

void
accesslog_on_write(struct accesslog *a, int res)
{
	record(a, EV_LOG_WRITE, 0, res);
}

void
accesslog_on_writable(struct accesslog *a)
{
	record(a, EV_LOG_WRITABLE, 0, 0);
}

static void
setup(void)
{
	sigset_t mask;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	memset(&w, 0, sizeof(w));
	memset(conns, 0, sizeof(conns));
	for (unsigned i = 0; i < 4; i++)
		conns[i].cfd = conns[i].bfd = -1;
	nseen = 0;
	w.now = clock_ms();
	cr_assert_eq(engine_init(&e, ENGINE_EPOLL, &w, &mask), 0);
}

static void
teardown(void)
{
	engine_fini(e);
}

/* One loop turn as worker.c makes it: sleep (at most wait_ms), the clock, the dispatch. */
static void
turn(uint64_t wait_ms)
{
	engine_sleep(e, wait_ms);
	w.now = clock_ms();
	engine_dispatch(e);
}

/* Turns until n events were seen, for at most about 3 s. */
static void
turns_until(unsigned n)
{
	for (int i = 0; i < 300 && nseen < n; i++)
		turn(10);
	cr_assert_eq(nseen, n, "%u events, not %u", nseen, n);
}

static void
pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

TestSuite(epoll, .init = setup, .fini = teardown);

Test(epoll, a_wait_gets_one_event_though_epoll_is_level_triggered)
{
	struct conn *c = &conns[0];
	int sv[2];

	pair(sv);
	c->cfd = sv[0];
	cr_assert_eq(engine_wait(e, c, EV_READABLE, 0, c->cfd), 0);
	cr_assert_eq(c->ops, engine_bit(EV_READABLE, 0));
	turn(0);
	cr_assert_eq(nseen, 0, "nothing to read yet");
	cr_assert_eq(write(sv[1], "x", 1), 1);
	turn(0);
	cr_assert_eq(nseen, 1);
	cr_assert(seen[0].owner == c && seen[0].op == EV_READABLE && seen[0].d == 0);
	cr_assert(seen[0].res & POLLIN);
	cr_assert_eq(c->ops, 0, "the bit is cleared before the event");
	/* Still readable, but nobody asked again: no event. */
	turn(0);
	turn(0);
	cr_assert_eq(nseen, 1);
	cr_assert_eq(engine_wait(e, c, EV_READABLE, 0, c->cfd), 0);
	turn(0);
	cr_assert_eq(nseen, 2, "asked again: the byte is still there");
}

Test(epoll, reader_and_writer_of_one_socket_get_their_own_events)
{
	struct conn *c = &conns[0];
	int sv[2], bv[2];

	pair(sv);
	pair(bv);
	c->cfd = sv[0];
	c->bfd = bv[0];
	/* Direction 0 reads the client, direction 1 writes to it. */
	cr_assert_eq(engine_wait(e, c, EV_READABLE, 0, c->cfd), 0);
	cr_assert_eq(engine_wait(e, c, EV_WRITABLE, 1, c->cfd), 0);
	turn(0);
	cr_assert_eq(nseen, 1);
	cr_assert(seen[0].op == EV_WRITABLE && seen[0].d == 1 && (seen[0].res & POLLOUT));
	cr_assert_eq(c->ops, engine_bit(EV_READABLE, 0));
	cr_assert_eq(write(sv[1], "x", 1), 1);
	turn(0);
	cr_assert_eq(nseen, 2);
	cr_assert(seen[1].op == EV_READABLE && seen[1].d == 0);
	cr_assert_eq(c->ops, 0);
}

Test(epoll, a_cancel_ends_each_request_once_at_the_dispatch)
{
	struct conn *c = &conns[0];
	int sv[2];

	pair(sv);
	c->cfd = sv[0];
	cr_assert_eq(engine_wait(e, c, EV_READABLE, 0, c->cfd), 0);
	cr_assert_eq(engine_wait(e, c, EV_WRITABLE, 1, c->cfd), 0);
	cr_assert_eq(write(sv[1], "x", 1), 1);
	/* Readiness is collected by this sleep before the cancel's events go out. */
	engine_sleep(e, 0);
	cr_assert_eq(engine_cancel(e, c), 0);
	cr_assert_eq(nseen, 0, "nothing is handed over from inside the cancel");
	cr_assert_eq(c->ops, engine_bit(EV_READABLE, 0) | engine_bit(EV_WRITABLE, 1),
	    "the bits stay until the events");
	engine_dispatch(e);
	turn(0);
	turn(0);
	cr_assert_eq(nseen, 2);
	for (unsigned i = 0; i < 2; i++)
		cr_assert_eq(seen[i].res, -ECANCELED);
	cr_assert_eq(c->ops, 0);
}

Test(epoll, an_event_about_a_forgotten_fd_never_reaches_its_next_owner)
{
	struct conn *a = &conns[0], *b = &conns[1];
	int sv[2], tv[2], fd;

	pair(sv);
	a->cfd = sv[0];
	cr_assert_eq(engine_wait(e, a, EV_READABLE, 0, a->cfd), 0);
	cr_assert_eq(write(sv[1], "x", 1), 1);
	turn(0);
	cr_assert_eq(nseen, 1);
	/* a reads no more; its socket stays readable, so this sleep collects an event about it. */
	engine_sleep(e, 0);
	fd = a->cfd;
	engine_forget(e, fd);
	close(fd);
	close(sv[1]);
	pair(tv);
	cr_assert_eq(tv[0], fd, "the number is taken again at once");
	b->cfd = tv[0];
	cr_assert_eq(engine_wait(e, b, EV_READABLE, 0, b->cfd), 0);
	engine_dispatch(e);
	turn(0);
	cr_assert_eq(nseen, 1, "b's socket is not readable: no event for b");
	cr_assert_eq(b->ops, engine_bit(EV_READABLE, 0));
	cr_assert_eq(write(tv[1], "y", 1), 1);
	turn(0);
	cr_assert_eq(nseen, 2);
	cr_assert(seen[1].owner == b);
}

Test(epoll, a_multishot_wait_comes_once_and_is_asked_again)
{
	struct conn *c = &conns[0];
	int sv[2];

	pair(sv);
	c->cfd = sv[0];
	cr_assert_eq(engine_wait_multi(e, c, 0, c->cfd), 0);
	cr_assert_eq(write(sv[1], "x", 1), 1);
	turn(0);
	turn(0);
	cr_assert_eq(nseen, 1);
	cr_assert_eq(seen[0].op, EV_READABLE_MULTI);
	cr_assert_eq(c->ops, 0, "its event comes without its bit: ask again");
	cr_assert_eq(engine_wait_multi(e, c, 0, c->cfd), 0);
	engine_wait_multi_stop(e, c, 0);
	cr_assert_eq(nseen, 1);
	turn(0);
	turn(0);
	cr_assert_eq(nseen, 2);
	cr_assert_eq(seen[1].res, -ECANCELED, "stopped before its event: ends cancelled");
	cr_assert_eq(c->ops, 0);
}

/* A listening socket on 127.0.0.1 with room for backlog connections; its address in sa. */
static int
listening(struct sockaddr_in *sa, int backlog)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	cr_assert_eq(listen(fd, backlog), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

static int
client(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	cr_assert(fd >= 0);
	return fd;
}

/* c's connect ended with res: EV_CONNECT, then EV_CONNECT_TIMEOUT, nothing in flight. */
static void
assert_connect_ended(const struct conn *c, int res)
{
	turns_until(2);
	cr_assert(seen[0].owner == c && seen[0].op == EV_CONNECT);
	cr_assert_eq(seen[0].res, res, "connect: %d, not %d", seen[0].res, res);
	cr_assert_eq(seen[1].op, EV_CONNECT_TIMEOUT);
	cr_assert_eq(c->ops, 0);
}

Test(epoll, a_connect_ends_with_its_result_then_its_timeout)
{
	struct sockaddr_in sa;
	struct conn *c = &conns[0];
	int l = listening(&sa, 8);

	c->bfd = client();
	engine_connect_timeout(e, 3000);
	cr_assert_eq(engine_connect(e, c, c->bfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(c->ops, engine_bit(EV_CONNECT, 0) | engine_bit(EV_CONNECT_TIMEOUT, 0));
	assert_connect_ended(c, 0);
	close(l);
}

Test(epoll, a_refused_connect_says_so)
{
	struct sockaddr_in sa;
	struct conn *c = &conns[0];

	close(listening(&sa, 8));	/* a port nobody listens on now */
	c->bfd = client();
	cr_assert_eq(engine_connect(e, c, c->bfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_connect_ended(c, -ECONNREFUSED);
}

/*
 * A connect that cannot finish: the listener's accept queue is full, so
 * its SYNs are dropped (the kernel resends the first after a second).
 */
static int
stalled_connect(struct conn *c, struct sockaddr_in *sa)
{
	int l = listening(sa, 0), filler[2];

	for (int i = 0; i < 2; i++) {
		filler[i] = client();
		(void)connect(filler[i], (struct sockaddr *)sa, sizeof(*sa));
	}
	usleep(50 * 1000);
	c->bfd = client();
	cr_assert_eq(engine_connect(e, c, c->bfd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	return l;
}

Test(epoll, a_connect_past_its_timeout_is_cancelled)
{
	struct sockaddr_in sa;
	struct conn *c = &conns[0];
	int l;

	engine_connect_timeout(e, 50);
	l = stalled_connect(c, &sa);
	assert_connect_ended(c, -ECANCELED);
	close(l);
}

Test(epoll, a_cancelled_connect_ends_with_both_events)
{
	struct sockaddr_in sa;
	struct conn *c = &conns[0];
	int l;

	engine_connect_timeout(e, 60000);
	l = stalled_connect(c, &sa);
	turn(0);
	cr_assert_eq(nseen, 0);
	cr_assert_eq(engine_cancel(e, c), 0);
	cr_assert_eq(nseen, 0);
	assert_connect_ended(c, -ECANCELED);
	close(l);
}

Test(epoll, accepts_come_one_event_each_until_cancelled)
{
	struct sockaddr_in sa;
	int cl[3];

	lis.fd = listening(&sa, 8);
	for (int i = 0; i < 3; i++) {
		cl[i] = client();
		(void)connect(cl[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	usleep(20 * 1000);
	cr_assert_eq(engine_accept(e, &lis, 1), 0);
	cr_assert_eq(lis.accepting, 1);
	turns_until(3);
	for (int i = 0; i < 3; i++)
		cr_assert(seen[i].op == EV_ACCEPT && seen[i].res >= 0);
	cr_assert_eq(lis.accepting, 1, "multishot: it goes on");
	engine_accept_cancel(e, &lis);
	cr_assert_eq(nseen, 3);
	turns_until(4);
	cr_assert_eq(seen[3].res, -ECANCELED);
	cr_assert_eq(lis.accepting, 0);
	close(lis.fd);
}

Test(epoll, the_access_log_is_written_at_sleep_and_its_event_comes_after)
{
	char path[] = "/tmp/epoll_test.XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	unlink(path);
	cr_assert_eq(engine_log_write(e, &alog, fd, "line\n", 5), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_END), 0, "not written from inside the call");
	engine_sleep(e, 1000);
	cr_assert_eq(lseek(fd, 0, SEEK_END), 5, "written at sleep");
	cr_assert_eq(nseen, 0);
	engine_dispatch(e);
	cr_assert_eq(nseen, 1);
	cr_assert(seen[0].op == EV_LOG_WRITE && seen[0].res == 5);
	/* A regular file cannot be waited on with epoll: it is always writable. */
	cr_assert_eq(engine_log_wait(e, &alog, fd), 0);
	turn(1000);
	cr_assert_eq(nseen, 2);
	cr_assert_eq(seen[1].op, EV_LOG_WRITABLE);
	close(fd);
}
