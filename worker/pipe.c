/* pipe.c -- the worker's pool of splice pipes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "pipe.h"
#include "tunables.h"

/* Linux's pipe pages: what fs.pipe-user-pages-soft counts. */
#define PIPE_PAGE 4096u

int
pipe_pool_init(struct pipe_pool *pp, unsigned workers)
{
	pp->free = calloc(PIPE_POOL_MAX, sizeof(*pp->free));
	pp->count = 0;
	pp->size = DEFAULT_PIPE_BYTES;
	pp->grown_pages = 0;
	pp->grow_pages_max = PIPE_GROW_PAGES / (workers > 0 ? workers : 1);
	return pp->free == NULL ? -ENOMEM : 0;
}

static void
pipe_close(struct pipe *p)
{
	close(p->rd);
	close(p->wr);
	p->rd = p->wr = -1;
}

void
pipe_pool_free(struct pipe_pool *pp)
{
	while (pp->count > 0)
		pipe_close(&pp->free[--pp->count]);
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
			pipe_close(&pp->free[--pp->count]);
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
	p->grown_pages = 0;
	p->grow_tried = 0;
	/*
	 * Past fs.pipe-user-pages-soft the kernel refuses to grow a pipe and
	 * makes new ones small (two pages): keep what it gives, and know it.
	 */
	got = size != DEFAULT_PIPE_BYTES ? fcntl(p->rd, F_SETPIPE_SZ, (int)size) : -1;
	if (got <= 0)
		got = fcntl(p->rd, F_GETPIPE_SZ);
	p->size = got > 0 ? (uint32_t)got : DEFAULT_PIPE_BYTES;
	return 0;
}

int
pipe_grow(struct pipe_pool *pp, struct pipe *p)
{
	uint32_t extra;
	int got;

	if (p->grown_pages > 0 || p->grow_tried || p->size >= PIPE_GROW_BYTES)
		return -EALREADY;
	extra = (PIPE_GROW_BYTES - p->size) / PIPE_PAGE;
	if (pp->grown_pages + extra > pp->grow_pages_max)
		return -ENOSPC;
	got = fcntl(p->rd, F_SETPIPE_SZ, (int)PIPE_GROW_BYTES);
	if (got <= (int)p->size) {
		p->grow_tried = 1;
		return got < 0 ? -errno : -EPERM;
	}
	p->grown_pages = (uint16_t)(((uint32_t)got - p->size) / PIPE_PAGE);
	pp->grown_pages += p->grown_pages;
	p->size = (uint32_t)got;
	return 0;
}

void
pipe_put(struct pipe_pool *pp, struct pipe *p, uint32_t left)
{
	uint16_t grown = p->grown_pages;

	if (p->rd < 0)
		return;
	pp->grown_pages -= grown;
	p->grown_pages = 0;
	p->grow_tried = 0;
	/* Larger than asked: grown, or made before a reload lowered tuning.pipe_bytes. */
	if (left > 0 || pp->count == PIPE_POOL_MAX || p->size > pp->size || grown > 0)
		pipe_close(p);
	else
		pp->free[pp->count++] = *p;
	p->rd = p->wr = -1;
}
