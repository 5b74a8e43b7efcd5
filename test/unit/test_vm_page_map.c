/*
 * vm_page over a firmware map of 1000 ranges with holes between them,
 * crossing the 4 GiB boundary, as real PCs and OVMF with much memory give:
 * every usable page managed, every page found again from its address, and
 * holes and the ends of the map not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/mm/vm_page.h"
#include "test/host/phys_arena.h"

#define NRANGES 1000
#define RANGE_PAGES 48 /* each followed by a one-page hole */
#define FIRST (0x100000000ull - 500ull * (RANGE_PAGES + 1) * PAGE_SIZE)

static struct vm_phys_range ranges[NRANGES];

static void test_thousand_ranges(void **state)
{
	uint64_t span = (uint64_t)NRANGES * (RANGE_PAGES + 1) * PAGE_SIZE, want = 0;
	struct vm_stats st;

	phys_arena_add(FIRST, span);
	for (int i = 0; i < NRANGES; i++)
		ranges[i] = (struct vm_phys_range){FIRST + (uint64_t)i * (RANGE_PAGES + 1) * PAGE_SIZE,
						   RANGE_PAGES};
	int64_t n = vm_page_startup(ranges, NRANGES, 0);
	vm_page_stats(&st);
	for (int i = 0; i < NRANGES; i++) /* one descriptor page per range: 48 descriptors */
		want += RANGE_PAGES - 1;
	assert_int_equal(n, want);
	assert_int_equal(st.total, want);
	assert_true(st.zone_total[VM_ZONE_DMA32] > 0 && st.zone_total[VM_ZONE_HIGH] > 0);
	vm_page_check();
	for (int i = 0; i < NRANGES; i++) {
		paddr_t base = ranges[i].base;
		assert_null(vm_page_from_phys(base)); /* the descriptors' own page */
		for (uint64_t p = 1; p < RANGE_PAGES; p++) {
			struct vm_page *m = vm_page_from_phys(base + p * PAGE_SIZE);
			assert_non_null(m);
			assert_int_equal(vm_page_phys(m), base + p * PAGE_SIZE);
			assert_ptr_equal(vm_page_at(vm_page_index(m)), m);
		}
		assert_null(vm_page_from_phys(base + RANGE_PAGES * PAGE_SIZE)); /* the hole */
	}
	assert_null(vm_page_from_phys(FIRST - PAGE_SIZE));
	assert_null(vm_page_from_phys(FIRST + span));
	/* all of it can be allocated and given back */
	struct vm_page **all = calloc(want, sizeof(*all));
	for (uint64_t i = 0; i < want; i++)
		assert_non_null(all[i] = vm_page_alloc(0));
	assert_null(vm_page_alloc(0));
	for (uint64_t i = 0; i < want; i++)
		vm_page_free(all[i]);
	vm_page_check();
	assert_int_equal(vm_page_free_count(), want);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thousand_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
