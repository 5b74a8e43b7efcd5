/*
 * Large kernel blocks in the kernel map (see kmem.h): vm_map_allocate
 * gives wired, mapped pages; the block's base is the entry's start, which
 * is all vm_map_free needs.
 */
#include "core/mm/kmem.h"
#include "core/mm/vm_map.h"

void *kmem_map_alloc_pages(size_t npages)
{
	struct vm_map *map = vm_map_kernel();
	vaddr_t va;

	if (map == NULL || npages == 0 || npages > (SIZE_MAX >> PAGE_SHIFT))
		return NULL;
	return vm_map_allocate(map, npages * PAGE_SIZE, VM_PROT_RW, &va) == 0 ? (void *)va : NULL;
}

void kmem_map_free_pages(void *p, size_t npages)
{
	struct vm_map_entry e;

	if (vm_map_lookup(vm_map_kernel(), (vaddr_t)p, &e) < 0 || e.start != (vaddr_t)p ||
	    e.end - e.start != npages * PAGE_SIZE)
		panic("kmem_map_free_pages: %p (%zu pages) is not a kmem block", p, npages);
	vm_map_free(vm_map_kernel(), (vaddr_t)p);
}
