/*
 * kmem: wired, page-aligned kernel memory in whole pages.  It is the
 * backend of the slab allocator and of large mm_malloc blocks.
 *
 * Kernel implementation (kmem.c): physically contiguous wired pages from
 * vm_page, reached through the direct map, so at most 2^VM_PAGE_MAX_ORDER
 * pages per call.  Host allocator tests supply their own (kmem_host.c).
 *
 *   kmem_alloc_pages: npages > 0; returns zeroed memory or NULL when out of
 *     pages or space (the caller decides whether that is fatal).
 *   kmem_free_pages: exactly what kmem_alloc_pages returned, same npages;
 *     anything else is a programmer error and panics.
 */
#ifndef PHOBOS_MM_KMEM_H
#define PHOBOS_MM_KMEM_H

#include "core/env.h"

void *kmem_alloc_pages(size_t npages);
void kmem_free_pages(void *p, size_t npages);

/*
 * Large blocks: wired pages in the kernel map, any number of them, not
 * physically contiguous (kmem_map.c; host tests supply their own).  NULL
 * before the kernel map exists or when space or pages run out.  Slabs never
 * use these, since the map itself allocates its entries from slabs.
 */
void *kmem_map_alloc_pages(size_t npages);
void kmem_map_free_pages(void *p, size_t npages);

#endif
