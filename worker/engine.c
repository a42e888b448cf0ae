/*
 * engine.c -- the engine chosen at run time: each call of engine.h goes to
 * the table of the engine the worker set up (uring.c or epoll.c).
 */
#include <errno.h>
#include <string.h>

#include "engine-t.h"

static const struct engine_ops *const engine_table[ENGINE_KIND_COUNT] = {
	[ENGINE_IO_URING] = &uring_ops,
	[ENGINE_EPOLL] = &epoll_ops,
};

static const char *const engine_names[ENGINE_KIND_COUNT] = {
	[ENGINE_IO_URING] = "io_uring",
	[ENGINE_EPOLL] = "epoll",
};

const char *
engine_kind_name(unsigned kind)
{
	return kind < ENGINE_KIND_COUNT ? engine_names[kind] : "?";
}

int
engine_kind_parse(const char *name)
{
	for (unsigned k = 0; k < ENGINE_KIND_COUNT; k++)
		if (strcmp(name, engine_names[k]) == 0)
			return (int)k;
	return -EINVAL;
}

int
engine_probe(enum engine_kind kind, const char **call)
{
	*call = "";
	if ((unsigned)kind >= ENGINE_KIND_COUNT)
		return -EINVAL;
	return engine_table[kind]->probe(call);
}

int
engine_init(struct engine **e, enum engine_kind kind, struct worker *w,
    const sigset_t *waitmask)
{
	*e = NULL;
	if ((unsigned)kind >= ENGINE_KIND_COUNT)
		return -EINVAL;
	return engine_table[kind]->init(e, w, waitmask);
}

void
engine_fini(struct engine *e)
{
	if (e != NULL)
		e->ops->fini(e);
}

int
engine_sleep(struct engine *e, uint64_t wait_ms)
{
	return e->ops->sleep(e, wait_ms);
}

int
engine_wait_broken(int err)
{
	return err == EPERM || err == ENOSYS || err == EBADF || err == EFAULT || err == EINVAL;
}

void
engine_dispatch(struct engine *e)
{
	e->ops->dispatch(e);
}

void
engine_connect_timeout(struct engine *e, uint32_t ms)
{
	e->ops->connect_timeout(e, ms);
}

int
engine_accept(struct engine *e, struct listener *l, int multishot)
{
	return e->ops->accept(e, l, multishot);
}

void
engine_accept_cancel(struct engine *e, struct listener *l)
{
	e->ops->accept_cancel(e, l);
}

int
engine_wait(struct engine *e, struct conn *c, enum engine_op op, int d, int fd)
{
	return e->ops->wait(e, c, op, d, fd);
}

int
engine_wait_multi(struct engine *e, struct conn *c, int d, int fd)
{
	return e->ops->wait_multi(e, c, d, fd);
}

void
engine_wait_multi_stop(struct engine *e, struct conn *c, int d)
{
	e->ops->wait_multi_stop(e, c, d);
}

int
engine_connect(struct engine *e, struct conn *c, int fd, const struct sockaddr *sa,
    socklen_t len)
{
	return e->ops->connect(e, c, fd, sa, len);
}

int
engine_splice(struct engine *e, struct conn *c, enum engine_op op, int d, int from, int to,
    uint32_t len)
{
	return e->ops->splice(e, c, op, d, from, to, len);
}

int
engine_cancel(struct engine *e, struct conn *c)
{
	return e->ops->cancel(e, c);
}

int
engine_log_write(struct engine *e, struct accesslog *a, int fd, const void *buf,
    uint32_t len)
{
	return e->ops->log_write(e, a, fd, buf, len);
}

int
engine_log_wait(struct engine *e, struct accesslog *a, int fd)
{
	return e->ops->log_wait(e, a, fd);
}

void
engine_forget(struct engine *e, int fd)
{
	if (e != NULL && e->ops->forget != NULL)
		e->ops->forget(e, fd);
}

/* 1 if a signal waitmask lets in is pending. */
static int
engine_signal_waiting(const sigset_t *waitmask)
{
	sigset_t pending;

	if (sigpending(&pending) != 0)
		return 0;
	for (int sig = 1; sig < SIGRTMIN; sig++)
		if (sigismember(&pending, sig) == 1 && sigismember(waitmask, sig) == 0)
			return 1;
	return 0;
}

void
engine_signals_let_in(const sigset_t *waitmask, unsigned *busy_waits)
{
	sigset_t mask;

	if ((++*busy_waits & (ENGINE_SIGNAL_CHECK_WAITS - 1)) != 0 ||
	    !engine_signal_waiting(waitmask))
		return;
	sigprocmask(SIG_SETMASK, waitmask, &mask);	/* the handlers run here */
	sigprocmask(SIG_SETMASK, &mask, NULL);
}
