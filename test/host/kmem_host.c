/* kmem for host tests: see kmem_host.h. */
#include <stdlib.h>

#include "core/mm/kmem.h"
#include "test/host/kmem_host.h"

size_t kmem_host_outstanding;
size_t kmem_host_cap;

void *kmem_alloc_pages(size_t npages)
{
	KASSERT(npages > 0);
	if (kmem_host_cap != 0 && kmem_host_outstanding + npages > kmem_host_cap)
		return NULL;
	void *p = aligned_alloc(PAGE_SIZE, npages * PAGE_SIZE);
	if (p == NULL)
		return NULL;
	memset(p, 0, npages * PAGE_SIZE);
	kmem_host_outstanding += npages;
	return p;
}

void kmem_free_pages(void *p, size_t npages)
{
	KASSERT(p != NULL && IS_ALIGNED((uintptr_t)p, PAGE_SIZE) && npages <= kmem_host_outstanding);
	kmem_host_outstanding -= npages;
	free(p);
}

/* The host has no kernel map: large blocks come from the same page source. */
void *kmem_map_alloc_pages(size_t npages)
{
	return kmem_alloc_pages(npages);
}

void kmem_map_free_pages(void *p, size_t npages)
{
	kmem_free_pages(p, npages);
}
