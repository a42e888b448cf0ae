/*
 * mem.c -- zeroed, page-aligned memory backed only once touched. Page
 * alignment also serves the arrays of 64-byte-aligned owners (malloc only
 * promises 16, and the io_uring engine keeps the op in the low bits of
 * their addresses).
 */
#include <sys/mman.h>

#include "mem.h"

void *
mem_zalloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void
mem_zfree(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, size);
}
