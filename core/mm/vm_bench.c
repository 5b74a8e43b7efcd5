/*
 * pf_zero: demand-zero page faults per second.  A fresh anonymous object
 * is mapped and each of its pages is written once, so every page costs
 * one real #PF trap, a zeroed page and a page-table update.
 */
#include "core/kbench.h"
#include "core/mm/vm_map.h"

KBENCH(pf_zero)
{
	struct vm_map *map = vm_map_kernel();
	/* 64 MiB, or half of what is free on a small machine */
	vm_size_t size = MIN(64ull << 20, ALIGN_DOWN(vm_page_free_count() / 2 * PAGE_SIZE, 2ull << 20));
	vaddr_t va;

	if (size < (4ull << 20))
		return -ENOMEM;
	struct vm_object *obj = vm_object_allocate(size);
	if (obj == NULL)
		return -ENOMEM;
	int err = vm_map_insert_object(map, obj, 0, size, VM_PROT_RW, 0, &va);
	vm_object_deallocate(obj);
	if (err < 0)
		return err;
	uint64_t start = clock_us();
	for (vaddr_t a = va; a < va + size; a += PAGE_SIZE)
		*(volatile uint8_t *)a = 1;
	uint64_t us = clock_us() - start;
	vm_map_free(map, va);
	if (us == 0)
		return -EIO;
	kbench_result("pf_zero", "faults_per_s", (size / PAGE_SIZE) * 1000000ull * 1000 / us, "1/s");
	return 0;
}
