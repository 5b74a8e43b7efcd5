/*
 * The kernel map as the boot left it: its SPEC 3 submaps exist, take
 * allocations inside themselves, and are reached by the kernel map's
 * lookups and by real faults.
 */
#include "core/kernel.h"
#include "core/ktest.h"
#include "core/mm/slab.h"
#include "core/mm/vm_map.h"

KTEST(vm_kernel_submaps)
{
	slab_reclaim();
	uint64_t before = vm_page_free_count() + slab_pages_total();
	vaddr_t va;

	for (int i = 0; i < KERNEL_SUBMAPS; i++) {
		struct vm_map *sub = kernel_submaps[i];
		struct vm_map_entry e;
		KTEST_ASSERT(sub != NULL);
		if (sub == NULL)
			return;
		KTEST_EQ(vm_map_allocate(sub, 2 * PAGE_SIZE, VM_PROT_RW, &va), 0);
		KTEST_ASSERT(va >= sub->start && va < sub->end);
		KTEST_EQ(vm_map_lookup(vm_map_kernel(), va, &e), 0);
		KTEST_EQ(e.start, va);
		*(volatile uint64_t *)(va + PAGE_SIZE) = 42;
		KTEST_EQ(vm_map_free(sub, va), 0);
	}
	KTEST_EQ(vm_map_free(vm_map_kernel(), kernel_submaps[0]->start), -EBUSY);
	vm_map_check(vm_map_kernel());
	slab_reclaim();
	KTEST_EQ(vm_page_free_count() + slab_pages_total(), before);
}
