/*
 * epoll.c -- the epoll event engine: readiness and non-blocking syscalls,
 * for where io_uring is denied. (Being written: not selectable yet.)
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "engine-t.h"

static int
epoll_probe(const char **why)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0) {
		*why = "epoll_create1 failed";
		return -errno;
	}
	close(fd);
	return 0;
}

static int
epoll_init(struct engine **ep, struct worker *w, const sigset_t *waitmask)
{
	(void)w;
	(void)waitmask;
	*ep = NULL;
	return -ENOSYS;
}

const struct engine_ops epoll_ops = {
	.probe = epoll_probe,
	.init = epoll_init,
};
