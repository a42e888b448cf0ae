/*
 * mem.h -- zeroed, page-aligned memory that is backed only once touched:
 * the worker's arrays sized for every possible connection or descriptor
 * (connections, the epoll engine's fd table), which cost nothing until used.
 */
#ifndef PASSTHROUGH_MEM_H
#define PASSTHROUGH_MEM_H

#include <stddef.h>

/* size bytes of zeroed pages (mmap, MAP_NORESERVE), or NULL. */
void *mem_zalloc(size_t size);
/* Releases what mem_zalloc() gave, of that size. NULL-safe. */
void mem_zfree(void *p, size_t size);

#endif
