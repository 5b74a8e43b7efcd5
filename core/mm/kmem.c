/*
 * kmem over vm_page and the direct map (see kmem.h).  A request of n pages
 * takes the smallest 2^k block that holds them and gives the tail back at
 * once, so nothing beyond n pages stays allocated.
 */
#include "core/mm/kmem.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

void *kmem_alloc_pages(size_t npages)
{
	unsigned order = 0;

	KASSERT(npages > 0);
	while (((size_t)1 << order) < npages)
		order++;
	if (order > VM_PAGE_MAX_ORDER)
		return NULL;
	struct vm_page *m = vm_page_alloc_contig(order, VM_ALLOC_ZERO);
	if (m == NULL)
		return NULL;
	for (size_t i = npages; i < ((size_t)1 << order); i++)
		vm_page_free(&m[i]);
	for (size_t i = 0; i < npages; i++)
		vm_page_wire(&m[i]);
	return pmap_phys_to_virt(vm_page_phys(m));
}

void kmem_free_pages(void *p, size_t npages)
{
	KASSERT(p != NULL && IS_ALIGNED((uintptr_t)p, PAGE_SIZE) && npages > 0);
	struct vm_page *m = vm_page_from_phys(pmap_virt_to_phys(p));
	if (m == NULL)
		panic("kmem_free_pages: %p is not kmem memory", p);
	for (size_t i = 0; i < npages; i++) {
		vm_page_unwire(&m[i]);
		vm_page_free(&m[i]);
	}
}
