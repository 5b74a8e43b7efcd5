/*
 * Kernel malloc: mm_malloc / mm_mfree / mm_mrealloc, and the object
 * macros NEW, NEWSINGLE and DELETE (SPEC 4).
 *
 * Sizes up to SLAB_MAX_SIZE come from slab caches of fixed size classes;
 * larger ones, and every NEWSINGLE object (a hint that few objects of that
 * size will exist, so a cache would only hold memory), get whole pages
 * straight from the kernel map (kmem_map_alloc_pages) with a small header
 * in front.  Results are 16-byte aligned, and
 * aligned to their class size for power-of-two classes.
 *
 * Errors: NULL when memory is exhausted; never a panic for that.
 * mm_mfree(NULL) does nothing; freeing anything not from here, or twice,
 * panics naming the caller.  mm_mrealloc keeps the contents up to the
 * smaller size and returns NULL (leaving p untouched) on exhaustion.
 */
#ifndef PHOBOS_MM_MALLOC_H
#define PHOBOS_MM_MALLOC_H

#include "core/env.h"

void mm_malloc_init(void);
void *mm_malloc(size_t size);
void mm_mfree(void *p);
void *mm_mrealloc(void *p, size_t size);
/* Zeroed; single = bypass the slab caches. */
void *mm_op_new(size_t size, bool single);
void mm_op_delete(void *p);
/* Bytes usable at p (at least what was asked). */
size_t mm_usable_size(const void *p);
/* slab_check of every malloc cache, and the large-block headers' sanity. */
void mm_malloc_check(void);

#define NEW(type) ((type *)mm_op_new(sizeof(type), false))
#define NEWSINGLE(type) ((type *)mm_op_new(sizeof(type), true))
#define DELETE(p) mm_op_delete(p)

#endif
