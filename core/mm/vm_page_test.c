/*
 * vm_page on the machine's real memory map: the zones the firmware gave,
 * contiguous blocks, and the full invariant check.
 */
#include "core/ktest.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

KTEST(vm_page_real_memory)
{
	struct vm_stats before, s;

	vm_page_check();
	vm_page_stats(&before);
	KTEST_ASSERT(before.total > 0 && before.free > 0);
	struct vm_page *dma = vm_page_alloc(VM_ALLOC_DMA32 | VM_ALLOC_ZERO);
	KTEST_ASSERT(dma != NULL);
	if (dma == NULL)
		return;
	KTEST_ASSERT(vm_page_phys(dma) < 0x100000000ull);
	const uint64_t *words = pmap_phys_to_virt(vm_page_phys(dma));
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		if (words[i] != 0)
			ktest_fail(__FILE__, __LINE__, "VM_ALLOC_ZERO page not zero at word %zu", i);
	struct vm_page *big = vm_page_alloc_contig(9, 0); /* 2 MiB */
	KTEST_ASSERT(big != NULL);
	if (big != NULL) {
		KTEST_ASSERT(IS_ALIGNED(vm_page_phys(big), 2u << 20));
		KTEST_EQ(vm_page_from_phys(vm_page_phys(big) + 511 * PAGE_SIZE), &big[511]);
		vm_page_check();
		vm_page_free_contig(big, 9);
	}
	vm_page_free(dma);
	vm_page_check();
	vm_page_stats(&s);
	KTEST_EQ(s.free, before.free);
}
