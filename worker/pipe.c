/* pipe.c -- the worker's pool of splice pipes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "pipe.h"
#include "tunables.h"

int
pipe_pool_init(struct pipe_pool *pp)
{
	pp->free = calloc(PIPE_POOL_MAX, sizeof(*pp->free));
	pp->count = 0;
	pp->live = 0;
	pp->size = DEFAULT_PIPE_BYTES;
	return pp->free == NULL ? -ENOMEM : 0;
}

static void
pipe_close(struct pipe_pool *pp, struct pipe *p)
{
	close(p->rd);
	close(p->wr);
	p->rd = p->wr = -1;
	pp->live--;
}

void
pipe_pool_free(struct pipe_pool *pp)
{
	while (pp->count > 0)
		pipe_close(pp, &pp->free[--pp->count]);
	free(pp->free);
	pp->free = NULL;
}

int
pipe_get(struct pipe_pool *pp, struct pipe *p, uint32_t size)
{
	int fds[2];
	int got;

	if (size != pp->size) {
		/* A reload changed tuning.pipe_bytes: the pooled pipes are the old size. */
		while (pp->count > 0)
			pipe_close(pp, &pp->free[--pp->count]);
		pp->size = size;
	}
	if (pp->count > 0) {
		*p = pp->free[--pp->count];
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
		return -errno;
	p->rd = fds[0];
	p->wr = fds[1];
	p->size = DEFAULT_PIPE_BYTES;
	pp->live++;
	if (size != DEFAULT_PIPE_BYTES) {
		/*
		 * Past fs.pipe-user-pages-soft the kernel refuses to grow a pipe
		 * (and shrinks new ones); keep what it gives.
		 */
		got = fcntl(p->rd, F_SETPIPE_SZ, (int)size);
		if (got > 0)
			p->size = (uint32_t)got;
		else
			p->size = (uint32_t)fcntl(p->rd, F_GETPIPE_SZ);
	}
	return 0;
}

void
pipe_put(struct pipe_pool *pp, struct pipe *p, uint32_t left)
{
	if (p->rd < 0)
		return;
	if (left > 0 || pp->count == PIPE_POOL_MAX)
		pipe_close(pp, p);
	else
		pp->free[pp->count++] = *p;
	p->rd = p->wr = -1;
}
