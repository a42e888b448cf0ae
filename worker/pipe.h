/*
 * pipe.h -- the worker's pool of splice pipes.
 *
 * A direction of the relay holds a pipe only while bytes are in flight and
 * gives it back when the pipe is drained, so idle connections hold none:
 * the kernel charges every pipe's pages to the user (fs.pipe-user-pages-soft).
 */
#ifndef PASSTHROUGH_PIPE_H
#define PASSTHROUGH_PIPE_H

#include <stdint.h>

struct pipe {
	int rd, wr;		/* -1 when no pipe is held */
	uint32_t size;		/* capacity in bytes */
	uint16_t grown_pages;	/* pages pipe_grow() added (such a pipe is never pooled) */
	uint16_t grow_tried;	/* pipe_grow() was refused for it */
};

struct pipe_pool {
	struct pipe *free;	/* [PIPE_POOL_MAX] */
	uint32_t count;		/* pipes in free */
	uint32_t size;		/* the size the pooled pipes were asked for */
	uint32_t grown_pages;	/* pages grown pipes hold over their size */
	uint32_t grow_pages_max;	/* this worker's share of PIPE_GROW_PAGES */
};

/* workers: how many share PIPE_GROW_PAGES. */
int pipe_pool_init(struct pipe_pool *pp, unsigned workers);
void pipe_pool_free(struct pipe_pool *pp);

/* A pipe of size bytes into *p. Returns 0 or -errno (EMFILE, ENFILE, ENOMEM). */
int pipe_get(struct pipe_pool *pp, struct pipe *p, uint32_t size);

/*
 * A streaming direction's pipe grows to PIPE_GROW_BYTES (fewer splices per
 * byte) while this worker's grown pipes stay within its share of
 * PIPE_GROW_PAGES. 0, or -ENOSPC (over the share), -EALREADY (grown or
 * refused before), -errno of F_SETPIPE_SZ (EPERM past pipe-user-pages-soft).
 */
int pipe_grow(struct pipe_pool *pp, struct pipe *p);

/*
 * Gives *p back (a no-op when it holds none). A pipe with bytes left in it
 * is closed, never pooled: its bytes belong to a connection that ended.
 */
void pipe_put(struct pipe_pool *pp, struct pipe *p, uint32_t left);

#endif
