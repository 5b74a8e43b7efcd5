/*
 * Kernel malloc on real pages: many objects of mixed sizes, each filled
 * and verified, then freed; after reclaim the free page count is back.
 */
#include "core/ktest.h"
#include "core/mm/malloc.h"
#include "core/mm/slab.h"
#include "core/mm/vm_page.h"

KTEST(malloc_real_pages)
{
	enum { N = 3000 };
	static uint8_t *blocks[N];
	uint64_t free_before;

	slab_reclaim();
	free_before = vm_page_free_count() + slab_pages_total();
	for (unsigned i = 0; i < N; i++) {
		size_t size = (i * 7919u) % (i % 10 == 0 ? 70000u : 1100u);
		blocks[i] = mm_malloc(size);
		KTEST_ASSERT(blocks[i] != NULL);
		if (blocks[i] == NULL)
			return;
		memset(blocks[i], (int)(i & 0xff), size);
	}
	mm_malloc_check();
	KTEST_ASSERT(vm_page_free_count() < free_before);
	for (unsigned i = 0; i < N; i++) {
		size_t size = (i * 7919u) % (i % 10 == 0 ? 70000u : 1100u);
		for (size_t k = 0; k < size; k += 97)
			if (blocks[i][k] != (uint8_t)i) {
				ktest_fail(__FILE__, __LINE__, "block %u changed at %zu", i, k);
				break;
			}
		mm_mfree(blocks[i]);
	}
	mm_malloc_check();
	slab_reclaim();
	vm_page_check();
	/* slab pages count as free: the map's metadata may sit in other slabs now */
	KTEST_EQ(vm_page_free_count() + slab_pages_total(), free_before);
}
