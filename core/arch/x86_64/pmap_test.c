/*
 * The x86-64 pmap on real page tables: the accessed and dirty bits the
 * CPU sets, seen through the reverse map; write-protection and removal of
 * every mapping of a page; W^X of the kernel image.
 */
#include "core/arch/x86_64/pmap_boot.h"
#include "core/arch/x86_64/pte.h"
#include "core/ktest.h"
#include "core/mm/pmap.h"
#include "core/mm/slab.h"
#include "core/mm/vm_map.h"

KTEST(pmap_reverse_map)
{
	struct vm_map *map = vm_map_kernel();
	vaddr_t a, b;

	slab_reclaim();
	uint64_t before = vm_page_free_count() + slab_pages_total();
	struct vm_object *obj = vm_object_allocate(PAGE_SIZE);
	KTEST_EQ(vm_map_insert_object(map, obj, 0, PAGE_SIZE, VM_PROT_RW, 0, &a), 0);
	*(volatile uint64_t *)a = 1;
	struct vm_page *m = vm_object_page_lookup(obj, 0);
	KTEST_ASSERT(m != NULL);
	if (m == NULL)
		return;
	KTEST_EQ(pmap_page_mapcount(m), 1);
	KTEST_ASSERT(pmap_is_referenced(m) && pmap_is_modified(m));
	pmap_clear_reference(m);
	pmap_clear_modify(m);
	KTEST_ASSERT(!pmap_is_referenced(m) && !pmap_is_modified(m));
	KTEST_EQ(*(volatile uint64_t *)a, 1);
	KTEST_ASSERT(pmap_is_referenced(m) && !pmap_is_modified(m));
	/* a second, copy-on-write mapping of the same page */
	KTEST_EQ(vm_map_copy_entry(map, a, map, &b), 0);
	KTEST_EQ(*(volatile uint64_t *)b, 1);
	KTEST_EQ(pmap_page_mapcount(m), 2);
	/* write-protect: the next write faults and copies, the page keeps one mapping */
	pmap_page_protect_ro(m);
	*(volatile uint64_t *)b = 2;
	KTEST_EQ(pmap_page_mapcount(m), 1);
	KTEST_EQ(*(volatile uint64_t *)a, 1);
	pmap_page_remove_all(m);
	KTEST_EQ(pmap_page_mapcount(m), 0);
	paddr_t pa;
	KTEST_ASSERT(!pmap_extract(pmap_kernel(), a, &pa));
	KTEST_EQ(*(volatile uint64_t *)a, 1); /* faults the same page back in */
	KTEST_EQ(pmap_page_mapcount(m), 1);
	vm_object_deallocate(obj);
	KTEST_EQ(vm_map_free(map, b), 0);
	KTEST_EQ(vm_map_free(map, a), 0);
	slab_reclaim();
	KTEST_EQ(vm_page_free_count() + slab_pages_total(), before);
}

extern const char __text_start[], __rodata_start[], __data_start[];

KTEST(pmap_kernel_image_wx)
{
	uint64_t *t = pmap_walk(pmap_boot_pml4, (uint64_t)__text_start, 0, false);
	uint64_t *r = pmap_walk(pmap_boot_pml4, (uint64_t)__rodata_start, 0, false);
	uint64_t *d = pmap_walk(pmap_boot_pml4, (uint64_t)__data_start, 0, false);

	KTEST_ASSERT(t != NULL && r != NULL && d != NULL);
	if (t == NULL || r == NULL || d == NULL)
		return;
	KTEST_ASSERT((*t & PTE_P) && !(*t & PTE_W) && !(*t & PTE_NX) && (*t & PTE_G));
	KTEST_ASSERT((*r & PTE_P) && !(*r & PTE_W) && (*r & PTE_NX));
	KTEST_ASSERT((*d & PTE_P) && (*d & PTE_W) && (*d & PTE_NX));
	/* the direct map is never executable */
	uint64_t *dm = NULL;
	for (int level = 0; level < 3 && dm == NULL; level++)
		dm = pmap_walk(pmap_boot_pml4, DIRECT_MAP_BASE + 0x200000, level, false);
	KTEST_ASSERT(dm != NULL && (*dm & PTE_NX));
}
