/*
 * The pmap on the simulated MMU (test/sim/pmap_sim.c), which runs the
 * kernel's own page-table code: every pmap.h call, -ENOMEM with nothing
 * changed when vm_page runs dry, the reverse map across pmaps, tables
 * freed when empty, the kernel half shared with user pmaps, TLB shootdowns
 * (counted, and checked against a simulated TLB), the invariant checkers
 * catching corruption, and a randomised model of enter/remove/protect,
 * accesses and reverse-map calls with pmap_sim_check after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/arch/x86_64/pmap_md.h"
#include "core/arch/x86_64/pmap_priv.h"
#include "core/boot_info.h"
#include "core/mm/slab.h"
#include "core/mm/vm_page.h"
#include "test/host/env_host.h"
#include "test/sim/pmap_sim.h"

#define ARENA_BYTES (32u << 20)
#define ARENA_PAGES (ARENA_BYTES / PAGE_SIZE)
#define UVA 0x0000001000000000ull     /* 64 GiB: PML4 slot 0 */
#define KVA 0xffffc00000000000ull     /* a kernel slot made at start-up, as the kernel map's is */
#define KVA_NEW 0xffffe80000000000ull /* a kernel slot no test touches before the sharing test */
#define RW VM_PROT_RW
#define RX (VM_PROT_READ | VM_PROT_EXECUTE)

static uint64_t free_at_start;
static jmp_buf panic_jmp;

static void on_panic(const char *why)
{
	(void)why;
	longjmp(panic_jmp, 1);
}

/* stmt must panic; the pmap lock it may hold is released afterwards. */
#define EXPECT_PANIC(stmt)                                                                         \
	do {                                                                                       \
		env_host_panic_hook = on_panic;                                                    \
		if (setjmp(panic_jmp) == 0) {                                                      \
			stmt;                                                                      \
			env_host_panic_hook = NULL;                                                \
			fail_msg("no panic from %s", #stmt);                                       \
		}                                                                                  \
		env_host_panic_hook = NULL;                                                        \
		pmap_sim_after_panic();                                                            \
	} while (0)

static uint64_t free_pages(void)
{
	slab_reclaim();
	return vm_page_free_count();
}

static int group_setup(void **state)
{
	pmap_sim_init(ARENA_BYTES);
	/* as the kernel does for its map: the PDPT for KVA's slot, before any count */
	assert_int_equal(pmap_kernel_prealloc(KVA, KVA + PAGE_SIZE), 0);
	return 0;
}

static int setup(void **state)
{
	pmap_sim_set_fault_handler(NULL);
	free_at_start = free_pages();
	return 0;
}

static struct vm_page *page(void)
{
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);

	assert_non_null(m);
	return m;
}

static uint64_t pte_of(struct pmap *p, vaddr_t va)
{
	uint64_t pte;
	int level;

	assert_true(pmap_leaf(p, va, &pte, &level));
	assert_int_equal(level, 0);
	return pte;
}

static uint64_t word(paddr_t pa)
{
	return *(uint64_t *)pmap_phys_to_virt(pa);
}

static void expect_all_back(void)
{
	pmap_sim_check();
	vm_page_check();
	assert_int_equal(free_pages(), free_at_start);
}

static void test_enter_extract_access(void **state)
{
	struct pmap *p;
	struct vm_page *m = page(), *m2 = page();
	paddr_t pa = vm_page_phys(m), got;
	uint64_t v = 0x1122334455667788ull, r = 0;

	assert_int_equal(pmap_create(&p), 0);
	assert_int_equal(pmap_enter(p, UVA, pa, RW, PMAP_USER), 0);
	assert_int_equal(pmap_sim_count(p), 1);
	assert_true(pmap_extract(p, UVA + 0x123, &got));
	assert_int_equal(got, pa + 0x123);
	assert_false(pmap_extract(p, UVA + PAGE_SIZE, &got));
	uint64_t pte = pte_of(p, UVA);
	assert_int_equal(pte & (PTE_P | PTE_W | PTE_U | PTE_NX | PTE_G | PMAP_PTE_MANAGED),
			 PTE_P | PTE_W | PTE_U | PTE_NX | PMAP_PTE_MANAGED);
	assert_false(pmap_is_referenced(m));

	assert_int_equal(pmap_sim_write(p, UVA + 8, &v, 8, true), 0);
	assert_int_equal(word(pa + 8), v);
	assert_int_equal(pmap_sim_read(p, UVA + 8, &r, 8, false), 0);
	assert_int_equal(r, v);
	assert_int_equal(pmap_sim_access(p, UVA, VM_PROT_EXECUTE, true), -EFAULT); /* NX */
	assert_true(pmap_is_referenced(m) && pmap_is_modified(m));
	assert_int_equal(pmap_page_mapcount(m), 1);

	/* kernel-only page: the kernel may, the user may not */
	assert_int_equal(pmap_enter(p, UVA + PAGE_SIZE, vm_page_phys(m2), VM_PROT_READ, 0), 0);
	assert_int_equal(pmap_sim_access(p, UVA + PAGE_SIZE, VM_PROT_READ, true), -EFAULT);
	assert_int_equal(pmap_sim_access(p, UVA + PAGE_SIZE, VM_PROT_READ, false), 0);
	assert_int_equal(pmap_sim_access(p, UVA + PAGE_SIZE, VM_PROT_WRITE, false), -EFAULT);

	/* the same page again, read-execute: accessed and dirty bits stay */
	assert_int_equal(pmap_enter(p, UVA, pa, RX, PMAP_USER), 0);
	assert_true(pmap_is_modified(m));
	assert_int_equal(pmap_sim_access(p, UVA, VM_PROT_EXECUTE, true), 0);
	assert_int_equal(pmap_sim_access(p, UVA, VM_PROT_WRITE, true), -EFAULT);
	assert_int_equal(pmap_page_mapcount(m), 1);
	assert_int_equal(pmap_sim_count(p), 2);

	/* another page at UVA: m loses its mapping and keeps its modification */
	assert_int_equal(pmap_enter(p, UVA, vm_page_phys(m2), RW, PMAP_USER), 0);
	assert_int_equal(pmap_page_mapcount(m), 0);
	assert_int_equal(pmap_page_mapcount(m2), 2);
	assert_true(m->flags & VM_PAGE_DIRTY);
	assert_false(pmap_is_modified(m2));
	assert_int_equal(pmap_sim_count(p), 2);
	pmap_sim_check();

	pmap_remove(p, UVA, UVA + 2 * PAGE_SIZE);
	assert_int_equal(pmap_sim_count(p), 0);
	assert_false(pmap_extract(p, UVA, &got));
	assert_int_equal(pmap_sim_access(p, UVA, VM_PROT_READ, false), -EFAULT);
	assert_int_equal(pmap_page_mapcount(m2), 0);
	pmap_destroy(p);
	vm_page_free(m);
	vm_page_free(m2);
	expect_all_back();
}

static void test_protect(void **state)
{
	struct pmap *p;
	struct vm_page *m[8];
	uint64_t v = 7;

	assert_int_equal(pmap_create(&p), 0);
	for (int i = 0; i < 8; i++) {
		m[i] = page();
		assert_int_equal(
		    pmap_enter(p, UVA + i * PAGE_SIZE, vm_page_phys(m[i]), VM_PROT_ALL, 0), 0);
		assert_int_equal(pmap_sim_write(p, UVA + i * PAGE_SIZE, &v, 8, false), 0);
	}
	pmap_protect(p, UVA + PAGE_SIZE, UVA + 5 * PAGE_SIZE, VM_PROT_READ);
	for (int i = 0; i < 8; i++) {
		bool lowered = i >= 1 && i < 5;
		vaddr_t va = UVA + i * PAGE_SIZE;
		assert_int_equal(pmap_sim_access(p, va, VM_PROT_WRITE, false),
				 lowered ? -EFAULT : 0);
		assert_int_equal(pmap_sim_access(p, va, VM_PROT_EXECUTE, false),
				 lowered ? -EFAULT : 0);
		assert_int_equal(pmap_sim_access(p, va, VM_PROT_READ, false), 0);
	}
	/* never raises */
	pmap_protect(p, UVA, UVA + 8 * PAGE_SIZE, VM_PROT_ALL);
	assert_int_equal(pmap_sim_access(p, UVA + PAGE_SIZE, VM_PROT_WRITE, false), -EFAULT);
	/* read-execute keeps execute */
	pmap_protect(p, UVA + 5 * PAGE_SIZE, UVA + 6 * PAGE_SIZE, RX);
	assert_int_equal(pmap_sim_access(p, UVA + 5 * PAGE_SIZE, VM_PROT_EXECUTE, false), 0);
	assert_int_equal(pmap_sim_access(p, UVA + 5 * PAGE_SIZE, VM_PROT_WRITE, false), -EFAULT);
	/* no read: x86 cannot keep such a page, it goes */
	pmap_protect(p, UVA + 6 * PAGE_SIZE, UVA + 8 * PAGE_SIZE, VM_PROT_WRITE);
	assert_int_equal(pmap_sim_count(p), 6);
	assert_int_equal(pmap_page_mapcount(m[6]), 0);
	/* across a page-table boundary, with holes */
	vaddr_t edge = UVA + (2u << 20);
	assert_int_equal(pmap_enter(p, edge - PAGE_SIZE, vm_page_phys(m[6]), RW, 0), 0);
	assert_int_equal(pmap_enter(p, edge + PAGE_SIZE, vm_page_phys(m[7]), RW, 0), 0);
	pmap_protect(p, edge - 4 * PAGE_SIZE, edge + 4 * PAGE_SIZE, VM_PROT_READ);
	assert_false(pte_of(p, edge - PAGE_SIZE) & PTE_W);
	assert_false(pte_of(p, edge + PAGE_SIZE) & PTE_W);
	pmap_sim_check();
	pmap_remove(p, 0, PMAP_USER_END);
	assert_int_equal(pmap_sim_count(p), 0);
	pmap_destroy(p);
	for (int i = 0; i < 8; i++)
		vm_page_free(m[i]);
	expect_all_back();
}

/* Tables come and go: exact page counts for three regions and a sparse removal. */
static void test_tables_freed_when_empty(void **state)
{
	static const vaddr_t base[3] = {UVA, UVA + (1ull << 30) + (4u << 20), UVA + (513ull << 30)};
	struct pmap *p;
	struct vm_page *m = page();

	assert_int_equal(pmap_create(&p), 0);
	uint64_t before = free_pages();
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 3; i++)
			assert_int_equal(
			    pmap_enter(p, base[r] + i * PAGE_SIZE, vm_page_phys(m), RW, 0), 0);
	/* PDPT+PD+PT, then PD+PT under the same PDPT, then a new PDPT+PD+PT; one pv page */
	assert_int_equal(before - free_pages(), 3 + 2 + 3 + 1);
	assert_int_equal(pmap_pv_pages(), 1);
	assert_int_equal(pmap_page_mapcount(m), 9);
	pmap_sim_check();
	/* a middle page goes: nothing else does */
	pmap_remove(p, base[1] + PAGE_SIZE, base[1] + 2 * PAGE_SIZE);
	assert_int_equal(before - free_pages(), 9);
	/* region 1 empties: its PD and PT go, the PDPT stays for region 0 */
	pmap_remove(p, base[1], base[1] + 3 * PAGE_SIZE);
	assert_int_equal(before - free_pages(), 7);
	pmap_sim_check();
	/* the whole user half in one call: skips by table, not by page */
	uint64_t t0 = clock_us();
	pmap_remove(p, 0, PMAP_USER_END);
	assert_true(clock_us() - t0 < 1000000);
	assert_int_equal(free_pages(), before);
	assert_int_equal(pmap_pv_pages(), 0);
	assert_int_equal(vm_page_from_phys(p->pml4)->pindex, 0);
	pmap_destroy(p);
	vm_page_free(m);
	expect_all_back();
}

/* Takes every free page; returns how many. */
static size_t drain(struct vm_page **held)
{
	size_t n = 0;

	while ((held[n] = vm_page_alloc(0)) != NULL)
		n++;
	return n;
}

static void test_enomem_changes_nothing(void **state)
{
	static struct vm_page *held[ARENA_PAGES];
	struct pmap *p, *q;
	struct vm_page *m = page(), *m2 = page();
	paddr_t pa;

	assert_int_equal(pmap_create(&p), 0);
	size_t n = drain(held);
	assert_int_equal(pmap_create(&q), -ENOMEM);
	/* a new region needs a PDPT, a PD, a PT and a pv page: four pages */
	for (unsigned k = 0; k <= 4; k++) {
		for (unsigned i = 0; i < k; i++)
			vm_page_free(held[--n]);
		int err = pmap_enter(p, UVA, vm_page_phys(m), RW, 0);
		if (k < 4) {
			assert_int_equal(err, -ENOMEM);
			assert_false(pmap_extract(p, UVA, &pa));
			assert_int_equal(pmap_page_mapcount(m), 0);
			assert_int_equal(pmap_sim_count(p), 0);
			assert_int_equal(vm_page_free_count(), k); /* the tables made went back */
			pmap_sim_check();
			n += drain(held + n);
		} else {
			assert_int_equal(err, 0);
			assert_int_equal(vm_page_free_count(), 0);
		}
	}
	/* with nothing free: unmanaged needs no pv entry; moving a mapping reuses its entry */
	assert_int_equal(pmap_enter(p, UVA + PAGE_SIZE, vm_page_phys(m2), RW, PMAP_UNMANAGED), 0);
	assert_int_equal(pmap_enter(p, UVA, vm_page_phys(m2), RW, 0), 0);
	assert_int_equal(pmap_page_mapcount(m2), 1);
	assert_int_equal(pmap_page_mapcount(m), 0);
	/* a second managed mapping needs a fresh entry: the pv page has 168 more */
	assert_int_equal(pmap_enter(p, UVA + 2 * PAGE_SIZE, vm_page_phys(m), RW, 0), 0);
	/* a new page table has no page */
	assert_int_equal(pmap_enter(p, UVA + (2u << 20), vm_page_phys(m), RW, 0), -ENOMEM);
	pmap_sim_check();
	pmap_remove(p, UVA, UVA + 3 * PAGE_SIZE);
	assert_int_equal(vm_page_free_count(), 4);
	while (n > 0)
		vm_page_free(held[--n]);
	pmap_destroy(p);
	vm_page_free(m);
	vm_page_free(m2);
	expect_all_back();
}

static void test_reverse_map(void **state)
{
	struct pmap *p, *q;
	struct vm_page *m = page(), *idle = page();
	paddr_t pa = vm_page_phys(m);
	const vaddr_t a = UVA, b = UVA + 7 * PAGE_SIZE;
	uint64_t v = 42, r = 0;

	assert_int_equal(pmap_create(&p), 0);
	assert_int_equal(pmap_create(&q), 0);
	assert_int_equal(pmap_enter(p, a, pa, RW, PMAP_USER), 0);
	assert_int_equal(pmap_enter(p, b, pa, RW, PMAP_USER), 0);
	assert_int_equal(pmap_enter(q, a, pa, RW, PMAP_USER), 0);
	assert_int_equal(pmap_page_mapcount(m), 3);
	assert_false(pmap_is_referenced(m) || pmap_is_modified(m));
	assert_int_equal(pmap_sim_read(q, a, &r, 8, true), 0);
	assert_true(pmap_is_referenced(m) && !pmap_is_modified(m));
	assert_int_equal(pmap_sim_write(p, b, &v, 8, true), 0);
	assert_true(pmap_is_modified(m));
	/* clearing must reach the TLB, or the next write would not set D again */
	pmap_clear_modify(m);
	pmap_clear_reference(m);
	assert_false(pmap_is_referenced(m) || pmap_is_modified(m));
	pmap_sim_check();
	assert_int_equal(pmap_sim_write(p, b, &v, 8, true), 0);
	assert_true(pmap_is_referenced(m) && pmap_is_modified(m));
	/* write-protect everywhere: reads still work, writes fault in both pmaps */
	pmap_page_protect_ro(m);
	pmap_sim_check();
	assert_int_equal(pmap_sim_write(p, b, &v, 8, true), -EFAULT);
	assert_int_equal(pmap_sim_write(q, a, &v, 8, true), -EFAULT);
	assert_int_equal(pmap_sim_read(p, a, &r, 8, true), 0);
	assert_int_equal(r, 42);
	assert_true(pmap_is_modified(m)); /* still dirty, just read-only */
	/* a page nobody maps */
	assert_false(pmap_is_referenced(idle));
	pmap_page_remove_all(idle);
	assert_int_equal(pmap_page_mapcount(idle), 0);
	/* remove every mapping: the modification passes to the page */
	assert_false(m->flags & VM_PAGE_DIRTY);
	pmap_page_remove_all(m);
	assert_int_equal(pmap_page_mapcount(m), 0);
	assert_true(m->flags & VM_PAGE_DIRTY);
	assert_int_equal(pmap_sim_count(p) + pmap_sim_count(q), 0);
	assert_int_equal(pmap_sim_read(q, a, &r, 8, true), -EFAULT);
	pmap_sim_check();
	pmap_destroy(p);
	pmap_destroy(q);
	vm_page_free(m);
	vm_page_free(idle);
	expect_all_back();
}

static void test_unmanaged_nocache_wired(void **state)
{
	struct pmap *p;
	struct vm_page *m = page();
	paddr_t pa = vm_page_phys(m), got;
	const paddr_t device = 0xfee00000; /* no vm_page: no reverse map, even unasked */

	assert_int_equal(pmap_create(&p), 0);
	assert_int_equal(pmap_enter(p, UVA, pa, RW, PMAP_UNMANAGED | PMAP_NOCACHE), 0);
	assert_int_equal(pmap_sim_access(p, UVA, VM_PROT_WRITE, false), 0);
	assert_int_equal(pmap_page_mapcount(m), 0);
	assert_false(pmap_is_modified(m)); /* no reverse map to find the dirty bit through */
	uint64_t pte = pte_of(p, UVA);
	assert_int_equal(pte & (PTE_PCD | PTE_PWT | PMAP_PTE_MANAGED | PTE_D),
			 PTE_PCD | PTE_PWT | PTE_D);
	assert_int_equal(pmap_enter(p, UVA + PAGE_SIZE, device, RW, PMAP_NOCACHE), 0);
	assert_true(pmap_extract(p, UVA + PAGE_SIZE + 4, &got));
	assert_int_equal(got, device + 4);
	assert_false(pte_of(p, UVA + PAGE_SIZE) & PMAP_PTE_MANAGED);
	assert_int_equal(pmap_enter(p, UVA + 2 * PAGE_SIZE, pa, VM_PROT_READ, PMAP_WIRED), 0);
	assert_int_equal(p->wired, 1);
	assert_int_equal(pmap_page_mapcount(m), 1);
	assert_int_equal(pmap_enter(p, UVA + 2 * PAGE_SIZE, pa, VM_PROT_READ, 0), 0);
	assert_int_equal(p->wired, 0);
	assert_int_equal(pmap_enter(p, UVA + 2 * PAGE_SIZE, pa, VM_PROT_READ, PMAP_WIRED), 0);
	pmap_sim_check();
	pmap_remove(p, UVA, UVA + 3 * PAGE_SIZE);
	assert_int_equal(p->wired, 0);
	assert_false(m->flags & VM_PAGE_DIRTY); /* unmanaged: not pmap's to say */
	pmap_destroy(p);
	vm_page_free(m);
	expect_all_back();
}

static void test_kernel_half_shared(void **state)
{
	struct pmap *before_map, *after_map, *k = pmap_kernel();
	struct vm_page *m = page();
	paddr_t pa = vm_page_phys(m), got;
	uint64_t v = 99;

	assert_int_equal(pmap_create(&before_map), 0);
	const unsigned slot = PTE_INDEX(KVA_NEW, 3);
	assert_int_equal(((uint64_t *)pmap_phys_to_virt(k->pml4))[slot], 0);
	assert_int_equal(pmap_enter(k, KVA_NEW, pa, RW, 0), 0);
	/* the new kernel slot reached the user pmap made before it */
	assert_true(pmap_extract(before_map, KVA_NEW, &got));
	assert_int_equal(got, pa);
	assert_int_equal(pmap_sim_write(before_map, KVA_NEW, &v, 8, false), 0);
	assert_int_equal(pmap_sim_access(before_map, KVA_NEW, VM_PROT_READ, true), -EFAULT);
	assert_int_equal(word(pa), 99);
	assert_true(pte_of(k, KVA_NEW) & PTE_G);
	assert_int_equal(pmap_create(&after_map), 0);
	assert_true(pmap_extract(after_map, KVA_NEW, &got));
	pmap_sim_check();
	/* kernel addresses are the kernel pmap's; user bits never reach them */
	EXPECT_PANIC(pmap_enter(before_map, KVA_NEW, pa, RW, 0));
	EXPECT_PANIC(pmap_enter(k, KVA_NEW, pa, RW, PMAP_USER));
	EXPECT_PANIC(pmap_enter(before_map, PMAP_USER_END, pa, RW, 0));
	uint64_t pages = free_pages();
	pmap_remove(k, KVA_NEW, KVA_NEW + PAGE_SIZE);
	assert_false(pmap_extract(after_map, KVA_NEW, &got));
	/* PD, PT and the pv page go; the PDPT stays, the user PML4s point at it */
	assert_int_equal(free_pages(), pages + 3);
	assert_int_not_equal(((uint64_t *)pmap_phys_to_virt(after_map->pml4))[slot], 0);
	pmap_sim_check();
	pmap_destroy(before_map);
	pmap_destroy(after_map);
	vm_page_free(m);
	free_at_start--; /* the PDPT */
	expect_all_back();
}

static void test_kernel_prealloc(void **state)
{
	static struct vm_page *held[ARENA_PAGES];
	const vaddr_t lo = 0xfffff00000000000ull, slot_size = PTE_LEVEL_SIZE(3);
	struct pmap *u;

	assert_int_equal(pmap_create(&u), 0);
	uint64_t pages = free_pages();
	assert_int_equal(pmap_kernel_prealloc(lo, lo + slot_size + PAGE_SIZE), 0);
	assert_int_equal(pages - free_pages(), 2);
	const uint64_t *upml4 = pmap_phys_to_virt(u->pml4);
	assert_int_not_equal(upml4[PTE_INDEX(lo, 3)], 0);
	assert_int_not_equal(upml4[PTE_INDEX(lo, 3) + 1], 0);
	assert_int_equal(pmap_kernel_prealloc(lo, lo + 2 * slot_size), 0);
	assert_int_equal(pages - free_pages(), 2);
	size_t n = drain(held);
	assert_int_equal(pmap_kernel_prealloc(lo + 2 * slot_size, lo + 3 * slot_size), -ENOMEM);
	while (n > 0)
		vm_page_free(held[--n]);
	pmap_sim_check(); /* empty kernel PDPTs are allowed to stay */
	pmap_destroy(u);
	free_at_start -= 2;
	expect_all_back();
}

/* Maps n pages from va to m and touches each (so each may sit in the TLB). */
static void map_touched(struct pmap *p, vaddr_t va, unsigned n, struct vm_page *m)
{
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(pmap_enter(p, va + i * PAGE_SIZE, vm_page_phys(m), RW, 0), 0);
		assert_int_equal(pmap_sim_access(p, va + i * PAGE_SIZE, VM_PROT_READ, false), 0);
	}
}

static void test_tlb_shootdown(void **state)
{
	struct pmap *p, *q;
	struct vm_page *m = page();
	struct pmap_sim_stats s0, s1;

	assert_int_equal(pmap_create(&p), 0);
	assert_int_equal(pmap_create(&q), 0);
	/* a keeper page holds each page table, so removals free no table */
	map_touched(p, UVA + 100 * PAGE_SIZE, 1, m);
	map_touched(p, UVA, PMAP_FLUSH_ALL, m);
	pmap_sim_stats(&s0);
	pmap_remove(p, UVA, UVA + PMAP_FLUSH_ALL * PAGE_SIZE);
	pmap_sim_stats(&s1);
	assert_int_equal(s1.invlpg - s0.invlpg, PMAP_FLUSH_ALL);
	assert_int_equal(s1.flush_all - s0.flush_all, 0);
	pmap_sim_check();

	map_touched(p, UVA, PMAP_FLUSH_ALL + 1, m);
	pmap_sim_stats(&s0);
	pmap_protect(p, UVA, UVA + (PMAP_FLUSH_ALL + 1) * PAGE_SIZE, VM_PROT_READ);
	pmap_sim_stats(&s1);
	assert_int_equal(s1.invlpg - s0.invlpg, 0);
	assert_int_equal(s1.flush_all - s0.flush_all, 1);
	assert_int_equal(s1.flush_global - s0.flush_global, 0);
	pmap_sim_check();
	pmap_remove(p, UVA, UVA + (PMAP_FLUSH_ALL + 1) * PAGE_SIZE);

	/* never accessed: never cached, nothing to flush */
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(pmap_enter(p, UVA + i * PAGE_SIZE, vm_page_phys(m), RW, 0), 0);
	pmap_sim_stats(&s0);
	pmap_remove(p, UVA, UVA + 10 * PAGE_SIZE);
	pmap_sim_stats(&s1);
	assert_int_equal(s1.invlpg - s0.invlpg, 0);

	/* not the current pmap: its entries left the TLB when CR3 changed */
	map_touched(q, UVA, 4, m);
	assert_int_equal(pmap_sim_access(p, UVA + 100 * PAGE_SIZE, VM_PROT_READ, false), 0);
	pmap_sim_stats(&s0);
	pmap_remove(q, UVA, UVA + 4 * PAGE_SIZE);
	pmap_sim_stats(&s1);
	assert_int_equal(s1.invlpg - s0.invlpg, 0);

	/* kernel pages are global: past the threshold, a CR4.PGE toggle */
	map_touched(pmap_kernel(), KVA + PAGE_SIZE, 1, m);
	map_touched(pmap_kernel(), KVA + 2 * PAGE_SIZE, 40, m);
	pmap_sim_stats(&s0);
	pmap_remove(pmap_kernel(), KVA + 2 * PAGE_SIZE, KVA + 42 * PAGE_SIZE);
	pmap_sim_stats(&s1);
	assert_int_equal(s1.flush_global - s0.flush_global, 1);
	pmap_sim_check();
	pmap_remove(pmap_kernel(), KVA, KVA + 42 * PAGE_SIZE);
	pmap_remove(p, 0, PMAP_USER_END);
	pmap_destroy(p);
	pmap_destroy(q);
	vm_page_free(m);
	expect_all_back();
}

static struct vm_page *handler_pages[4];
static unsigned handler_calls;
static int handler_result;

/* Maps the next test page where the fault was, writable, unless told to fail. */
static int demand_handler(struct pmap *p, vaddr_t va, vm_prot_t access, bool user)
{
	handler_calls++;
	if (handler_result != 0)
		return handler_result;
	return pmap_enter(p, ALIGN_DOWN(va, PAGE_SIZE),
			  vm_page_phys(handler_pages[handler_calls % 4]), VM_PROT_RW,
			  user ? PMAP_USER : 0);
}

static int useless_handler(struct pmap *p, vaddr_t va, vm_prot_t access, bool user)
{
	handler_calls++;
	return 0;
}

static void test_fault_handler(void **state)
{
	struct pmap *p;
	uint64_t v = 5, r = 0;

	for (int i = 0; i < 4; i++)
		handler_pages[i] = page();
	assert_int_equal(pmap_create(&p), 0);
	pmap_sim_set_fault_handler(demand_handler);
	handler_calls = 0;
	handler_result = 0;
	assert_int_equal(pmap_sim_write(p, UVA + 12, &v, 8, true), 0);
	assert_int_equal(pmap_sim_read(p, UVA + 12, &r, 8, true), 0);
	assert_int_equal(r, 5);
	assert_int_equal(handler_calls, 1);
	/* write-protected: the write faults, the handler upgrades, the write goes through */
	pmap_protect(p, UVA, UVA + PAGE_SIZE, VM_PROT_READ);
	assert_int_equal(pmap_sim_write(p, UVA, &v, 8, true), 0);
	assert_int_equal(handler_calls, 2);
	/* a handler's error comes back as it is */
	handler_result = -EACCES;
	assert_int_equal(pmap_sim_access(p, UVA + PAGE_SIZE, VM_PROT_READ, true), -EACCES);
	/* a handler that resolves nothing: one call, then -EFAULT */
	pmap_sim_set_fault_handler(useless_handler);
	handler_calls = 0;
	assert_int_equal(pmap_sim_access(p, UVA + PAGE_SIZE, VM_PROT_READ, true), -EFAULT);
	assert_int_equal(handler_calls, 1);
	/* a read over three pages faults each in */
	pmap_sim_set_fault_handler(demand_handler);
	handler_result = 0;
	handler_calls = 0;
	char buf[PAGE_SIZE + 16];
	assert_int_equal(pmap_sim_read(p, UVA + 3 * PAGE_SIZE - 8, buf, sizeof(buf), false), 0);
	assert_int_equal(handler_calls, 3);
	pmap_remove(p, 0, PMAP_USER_END);
	pmap_destroy(p);
	for (int i = 0; i < 4; i++)
		vm_page_free(handler_pages[i]);
	expect_all_back();
}

/* The checkers must see what is broken. */
static void test_checkers_catch_corruption(void **state)
{
	struct pmap *p;
	struct vm_page *m = page();
	uint64_t v = 1;

	assert_int_equal(pmap_create(&p), 0);
	assert_int_equal(pmap_enter(p, UVA, vm_page_phys(m), RW, 0), 0);
	assert_int_equal(pmap_sim_write(p, UVA, &v, 8, false), 0);
	uint64_t *e = pmap_walk(p, UVA, 0);
	assert_non_null(e);
	struct vm_page *pt = vm_page_from_phys(pmap_virt_to_phys(e) & ~(paddr_t)PAGE_MASK);
	pt->pindex++;
	EXPECT_PANIC(pmap_check());
	pt->pindex--;
	/* a write-protect that forgot the TLB */
	*e &= ~PTE_W;
	EXPECT_PANIC(pmap_sim_check());
	*e |= PTE_W;
	/* a leaf that lost its pv entry */
	*e &= ~PMAP_PTE_MANAGED;
	EXPECT_PANIC(pmap_check());
	*e |= PMAP_PTE_MANAGED;
	/* a U bit in the kernel half */
	assert_int_equal(pmap_enter(pmap_kernel(), KVA, vm_page_phys(m), RW, 0), 0);
	uint64_t *k = pmap_walk(pmap_kernel(), KVA, 0);
	*k |= PTE_U;
	EXPECT_PANIC(pmap_check());
	*k &= ~PTE_U;
	pmap_sim_check();
	/* misuse */
	EXPECT_PANIC(pmap_destroy(p));
	EXPECT_PANIC(pmap_enter(p, UVA + 1, vm_page_phys(m), RW, 0));
	pmap_remove(pmap_kernel(), KVA, KVA + PAGE_SIZE);
	pmap_remove(p, UVA, UVA + PAGE_SIZE);
	pmap_destroy(p);
	vm_page_free(m);
	expect_all_back();
}

/* pmap_install: large leaves outside the statistics, as the boot tables use. */
static void test_install_large(void **state)
{
	const vaddr_t va = KVA + (1ull << 30);
	struct vm_page *block = vm_page_alloc_contig(9, 0); /* 2 MiB, aligned */
	struct pmap_sim_stats s0, s1;
	paddr_t got;
	uint64_t pte, v;
	int level;

	assert_non_null(block);
	paddr_t pa = vm_page_phys(block);
	uint64_t leaves = pmap_kernel()->resident;
	assert_true(
	    pmap_install(pmap_kernel(), va, 1, pa | PTE_P | PTE_W | PTE_NX | PTE_G | PTE_PS));
	assert_true(pmap_leaf(pmap_kernel(), va + 0x12345, &pte, &level));
	assert_int_equal(level, 1);
	assert_true(pmap_extract(pmap_kernel(), va + 0x12345, &got));
	assert_int_equal(got, pa + 0x12345);
	assert_int_equal(pmap_kernel()->resident, leaves);
	*(uint64_t *)pmap_phys_to_virt(pa + 0x1f0000) = 0xabcd;
	assert_int_equal(pmap_sim_read(pmap_kernel(), va + 0x1f0000, &v, 8, false), 0);
	assert_int_equal(v, 0xabcd);
	pmap_sim_check();
	/* replacing a leaf the TLB holds flushes it */
	pmap_sim_stats(&s0);
	assert_true(pmap_install(pmap_kernel(), va, 1, pa | PTE_P | PTE_NX | PTE_G | PTE_PS));
	pmap_sim_stats(&s1);
	assert_int_equal(s1.invlpg - s0.invlpg, 1);
	assert_int_equal(pmap_sim_access(pmap_kernel(), va, VM_PROT_WRITE, false), -EFAULT);
	EXPECT_PANIC(pmap_remove(pmap_kernel(), va, va + PAGE_SIZE));
	EXPECT_PANIC(pmap_enter(pmap_kernel(), va + PAGE_SIZE, pa, RW, 0));
	pmap_sim_check();
	/* the leaf stays (boot mappings are never removed): so do its block and PD */
	free_at_start -= 512 + 1;
	expect_all_back();
}

/* pmap_map_mmio in the simulated kernel pmap's direct-map region. */
static void test_map_mmio(void **state)
{
	static struct vm_page *held[ARENA_PAGES];
	const paddr_t dev = 0xfee00000, ram = 0x40000000;
	const uint64_t uc = PTE_P | PTE_W | PTE_NX | PTE_G | PTE_PCD | PTE_PWT;
	struct pmap_sim_stats s0, s1;
	uint64_t pte;
	int level;

	assert_ptr_equal(pmap_map_mmio(dev + 0x30, 8), (void *)(DIRECT_MAP_BASE + dev + 0x30));
	assert_int_equal(pte_of(pmap_kernel(), DIRECT_MAP_BASE + dev), dev | uc);
	assert_int_equal(free_at_start - free_pages(), 3); /* PDPT, PD, PT */
	/* again: nothing changes, nothing is flushed */
	pmap_sim_stats(&s0);
	assert_ptr_equal(pmap_map_mmio(dev, PAGE_SIZE), (void *)(DIRECT_MAP_BASE + dev));
	pmap_sim_stats(&s1);
	assert_int_equal(s1.invlpg, s0.invlpg);
	/* a range straddling two pages maps both */
	assert_non_null(pmap_map_mmio(dev + 0xff0, 0x20));
	assert_int_equal(pte_of(pmap_kernel(), DIRECT_MAP_BASE + dev + PAGE_SIZE),
			 (dev + PAGE_SIZE) | uc);
	/* a page the boot code mapped cached becomes uncached */
	vaddr_t va = DIRECT_MAP_BASE + dev + 2 * PAGE_SIZE;
	assert_true(
	    pmap_install(pmap_kernel(), va, 0, (dev + 2 * PAGE_SIZE) | PTE_P | PTE_NX | PTE_G));
	assert_non_null(pmap_map_mmio(dev + 2 * PAGE_SIZE, 4));
	assert_int_equal(pte_of(pmap_kernel(), va), (dev + 2 * PAGE_SIZE) | uc);
	/* RAM in a cached large page is refused; an uncached one (a framebuffer) is fine */
	assert_true(pmap_install(pmap_kernel(), DIRECT_MAP_BASE + ram, 1,
				 ram | PTE_P | PTE_W | PTE_NX | PTE_G | PTE_PS));
	assert_null(pmap_map_mmio(ram + PAGE_SIZE, 8));
	assert_true(
	    pmap_install(pmap_kernel(), DIRECT_MAP_BASE + ram + (2u << 20), 1,
			 (ram + (2u << 20)) | PTE_P | PTE_W | PTE_NX | PTE_G | PTE_PS | PTE_PCD));
	assert_non_null(pmap_map_mmio(ram + (2u << 20) + PAGE_SIZE, 8));
	assert_true(pmap_leaf(pmap_kernel(), DIRECT_MAP_BASE + ram + (2u << 20), &pte, &level));
	assert_int_equal(level, 1);
	assert_int_equal(free_at_start - free_pages(), 4); /* and a PD for the large pages */
	/* no page for a table: NULL, and no kernel PDPT left behind */
	size_t n = drain(held);
	assert_null(pmap_map_mmio(0x80000000000ull, 8));
	assert_int_equal(vm_page_free_count(), 0);
	assert_false(pmap_leaf(pmap_kernel(), DIRECT_MAP_BASE + 0x80000000000ull, &pte, &level));
	assert_int_equal(level, 3);
	while (n > 0)
		vm_page_free(held[--n]);
	pmap_sim_check();
	free_at_start -= 4; /* device mappings are for good */
	expect_all_back();
}

/* ---- the randomised model ---- */

#define MODEL_PMAPS 3	/* the kernel's and two user pmaps */
#define MODEL_REGIONS 4 /* per pmap, each straddling table boundaries */
#define MODEL_SPAN 16	/* pages per region */
#define MODEL_PAGES 24	/* physical pages mapped */

/* What one virtual page should be: the model's table is indexed by (pmap, region, page). */
struct model_map {
	bool present, write, exec, user, managed, wired, nocache;
	bool accessed, dirty;
	int page; /* index into model_pages */
};

static struct model_map model[MODEL_PMAPS][MODEL_REGIONS][MODEL_SPAN];
static struct vm_page *model_pages[MODEL_PAGES];
static bool model_dirty[MODEL_PAGES];
static struct pmap *model_pmap[MODEL_PMAPS];
static uint64_t model_rng;

static const vaddr_t model_user_base[MODEL_REGIONS] = {0x1000, (2ull << 20) - 8 * PAGE_SIZE,
						       (1ull << 30) - 8 * PAGE_SIZE,
						       (512ull << 30) - 8 * PAGE_SIZE};
static const vaddr_t model_kernel_base[MODEL_REGIONS] = {
    KVA + (4ull << 20), KVA + (6ull << 20) - 8 * PAGE_SIZE, KVA + (2ull << 30) - 8 * PAGE_SIZE,
    KVA + (3ull << 30) - 8 * PAGE_SIZE};

static uint64_t model_rand(void)
{
	/* xorshift64* */
	model_rng ^= model_rng >> 12;
	model_rng ^= model_rng << 25;
	model_rng ^= model_rng >> 27;
	return model_rng * 0x2545f4914f6cdd1dull;
}

static unsigned model_pick(unsigned n)
{
	return (unsigned)(model_rand() % n);
}

static vaddr_t model_va(int p, int r, int i)
{
	return (p == 0 ? model_kernel_base : model_user_base)[r] + (vaddr_t)i * PAGE_SIZE;
}

/* A mapping leaves: a managed dirty one passes its dirt to the page. */
static void model_drop(struct model_map *mm)
{
	if (mm->present && mm->managed && mm->dirty)
		model_dirty[mm->page] = true;
	mm->present = false;
}

static void model_enter(int p, int r, int i)
{
	struct model_map *mm = &model[p][r][i];
	static const vm_prot_t prots[] = {VM_PROT_READ, VM_PROT_RW, RX, VM_PROT_ALL};
	vm_prot_t prot = prots[model_pick(4)];
	unsigned flags =
	    (unsigned)model_rand() & (PMAP_WIRED | PMAP_USER | PMAP_NOCACHE | PMAP_UNMANAGED);
	int pg = (int)model_pick(MODEL_PAGES);

	if (p == 0)
		flags &= ~(unsigned)PMAP_USER;
	if (model_pick(4) != 0)
		flags &=
		    ~(unsigned)PMAP_UNMANAGED; /* mostly managed: the reverse map is the point */
	assert_int_equal(pmap_enter(model_pmap[p], model_va(p, r, i), vm_page_phys(model_pages[pg]),
				    prot, flags),
			 0);
	bool same = mm->present && mm->page == pg;
	if (!same)
		model_drop(mm);
	*mm = (struct model_map){
	    .present = true,
	    .write = prot & VM_PROT_WRITE,
	    .exec = prot & VM_PROT_EXECUTE,
	    .user = flags & PMAP_USER,
	    .managed = !(flags & PMAP_UNMANAGED),
	    .wired = flags & PMAP_WIRED,
	    .nocache = flags & PMAP_NOCACHE,
	    .accessed = same && mm->accessed,
	    .dirty = same && mm->dirty,
	    .page = pg,
	};
}

/* remove or protect over [lo, hi) of one region (and maybe the next ones). */
static void model_range(int p, int r, bool remove)
{
	int lo = (int)model_pick(MODEL_SPAN), hi = lo + (int)model_pick(MODEL_SPAN - lo + 1);
	static const vm_prot_t prots[] = {VM_PROT_NONE, VM_PROT_READ, RX, VM_PROT_RW, VM_PROT_ALL};
	vm_prot_t prot = prots[model_pick(5)];

	if (remove)
		pmap_remove(model_pmap[p], model_va(p, r, lo), model_va(p, r, hi));
	else
		pmap_protect(model_pmap[p], model_va(p, r, lo), model_va(p, r, hi), prot);
	for (int i = lo; i < hi; i++) {
		struct model_map *mm = &model[p][r][i];
		if (remove || !(prot & VM_PROT_READ)) {
			model_drop(mm);
		} else {
			mm->write &= (prot & VM_PROT_WRITE) != 0;
			mm->exec &= (prot & VM_PROT_EXECUTE) != 0;
		}
	}
}

static void model_access(int p, int r, int i)
{
	struct model_map *mm = &model[p][r][i];
	static const vm_prot_t kinds[] = {VM_PROT_READ, VM_PROT_WRITE, VM_PROT_EXECUTE};
	vm_prot_t kind = kinds[model_pick(3)];
	bool user = p != 0 && model_pick(2);
	bool ok = mm->present && (!user || mm->user) && (kind != VM_PROT_WRITE || mm->write) &&
		  (kind != VM_PROT_EXECUTE || mm->exec);

	assert_int_equal(pmap_sim_access(model_pmap[p], model_va(p, r, i), kind, user),
			 ok ? 0 : -EFAULT);
	if (ok) {
		mm->accessed = true;
		mm->dirty |= kind == VM_PROT_WRITE;
	}
}

/* Calls fn on every managed mapping of page pg in the model. */
static void model_each_of_page(int pg, void (*fn)(struct model_map *mm, unsigned *n), unsigned *n)
{
	for (int p = 0; p < MODEL_PMAPS; p++)
		for (int r = 0; r < MODEL_REGIONS; r++)
			for (int i = 0; i < MODEL_SPAN; i++)
				if (model[p][r][i].present && model[p][r][i].managed &&
				    model[p][r][i].page == pg)
					fn(&model[p][r][i], n);
}

static void model_count(struct model_map *mm, unsigned *n)
{
	(void)mm;
	++*n;
}

static void model_count_accessed(struct model_map *mm, unsigned *n)
{
	*n += mm->accessed;
}

static void model_count_dirty(struct model_map *mm, unsigned *n)
{
	*n += mm->dirty;
}

static void model_clear_accessed(struct model_map *mm, unsigned *n)
{
	(void)n;
	mm->accessed = false;
}

static void model_clear_dirty(struct model_map *mm, unsigned *n)
{
	(void)n;
	mm->dirty = false;
}

static void model_read_only(struct model_map *mm, unsigned *n)
{
	(void)n;
	mm->write = false;
}

static void model_remove(struct model_map *mm, unsigned *n)
{
	(void)n;
	model_drop(mm);
}

static void model_page_op(void)
{
	int pg = (int)model_pick(MODEL_PAGES);
	struct vm_page *m = model_pages[pg];
	unsigned n = 0, acc = 0, dirty = 0;

	model_each_of_page(pg, model_count, &n);
	model_each_of_page(pg, model_count_accessed, &acc);
	model_each_of_page(pg, model_count_dirty, &dirty);
	assert_int_equal(pmap_page_mapcount(m), n);
	assert_int_equal(pmap_is_referenced(m), acc > 0);
	assert_int_equal(pmap_is_modified(m), dirty > 0);
	switch (model_pick(4)) {
	case 0:
		pmap_clear_reference(m);
		model_each_of_page(pg, model_clear_accessed, &n);
		break;
	case 1:
		pmap_clear_modify(m);
		model_each_of_page(pg, model_clear_dirty, &n);
		break;
	case 2:
		pmap_page_protect_ro(m);
		model_each_of_page(pg, model_read_only, &n);
		break;
	default:
		if (model_pick(4) == 0) { /* rarely: it empties the map quickly */
			pmap_page_remove_all(m);
			model_each_of_page(pg, model_remove, &n);
		}
	}
}

/* Every leaf against the model, bit by bit, and the statistics. */
static void model_compare(uint64_t kernel_leaves)
{
	for (int p = 0; p < MODEL_PMAPS; p++) {
		uint64_t count = 0;
		for (int r = 0; r < MODEL_REGIONS; r++)
			for (int i = 0; i < MODEL_SPAN; i++) {
				const struct model_map *mm = &model[p][r][i];
				uint64_t pte;
				int level;
				bool mapped =
				    pmap_leaf(model_pmap[p], model_va(p, r, i), &pte, &level);
				assert_int_equal(mapped, mm->present);
				if (!mapped)
					continue;
				count++;
				uint64_t want = vm_page_phys(model_pages[mm->page]) | PTE_P |
						(mm->write ? PTE_W : 0) | (mm->exec ? 0 : PTE_NX) |
						(mm->user ? PTE_U : 0) | (p == 0 ? PTE_G : 0) |
						(mm->nocache ? PTE_PCD | PTE_PWT : 0) |
						(mm->managed ? PMAP_PTE_MANAGED : 0) |
						(mm->wired ? PMAP_PTE_WIRED : 0) |
						(mm->accessed ? PTE_A : 0) |
						(mm->dirty ? PTE_D : 0);
				assert_int_equal(pte, want);
			}
		assert_int_equal(pmap_sim_count(model_pmap[p]),
				 count + (p == 0 ? kernel_leaves : 0));
	}
	for (int pg = 0; pg < MODEL_PAGES; pg++)
		assert_int_equal((model_pages[pg]->flags & VM_PAGE_DIRTY) != 0, model_dirty[pg]);
}

static void model_run(uint64_t seed, unsigned steps)
{
	uint64_t kernel_leaves = pmap_kernel()->resident;

	memset(model, 0, sizeof(model));
	memset(model_dirty, 0, sizeof(model_dirty));
	model_rng = seed * 0x9e3779b97f4a7c15ull + 1;
	model_pmap[0] = pmap_kernel();
	for (int p = 1; p < MODEL_PMAPS; p++)
		assert_int_equal(pmap_create(&model_pmap[p]), 0);
	for (int pg = 0; pg < MODEL_PAGES; pg++)
		model_pages[pg] = page();
	for (unsigned step = 0; step < steps; step++) {
		int p = (int)model_pick(MODEL_PMAPS), r = (int)model_pick(MODEL_REGIONS);
		int i = (int)model_pick(MODEL_SPAN);
		unsigned op = model_pick(100);
		if (op < 35)
			model_enter(p, r, i);
		else if (op < 45)
			model_range(p, r, true);
		else if (op < 55)
			model_range(p, r, false);
		else if (op < 85)
			model_access(p, r, i);
		else
			model_page_op();
		pmap_sim_check();
		model_compare(kernel_leaves);
	}
	for (int p = 0; p < MODEL_PMAPS; p++)
		for (int r = 0; r < MODEL_REGIONS; r++)
			pmap_remove(model_pmap[p], model_va(p, r, 0), model_va(p, r, MODEL_SPAN));
	pmap_sim_check();
	for (int p = 1; p < MODEL_PMAPS; p++)
		pmap_destroy(model_pmap[p]);
	for (int pg = 0; pg < MODEL_PAGES; pg++)
		vm_page_free(model_pages[pg]);
}

static void test_random_model(void **state)
{
	static const uint64_t seeds[] = {1, 2, 3};
	bool stress = getenv("PHOBOS_STRESS") != NULL;
	unsigned steps = stress ? 400000 : 20000;

	for (size_t s = 0; s < ARRAY_SIZE(seeds); s++) {
		printf("# pmap random model: seed %llu, %u steps\n", (unsigned long long)seeds[s],
		       steps);
		model_run(seeds[s], steps);
		expect_all_back();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_enter_extract_access, setup),
	    cmocka_unit_test_setup(test_protect, setup),
	    cmocka_unit_test_setup(test_tables_freed_when_empty, setup),
	    cmocka_unit_test_setup(test_enomem_changes_nothing, setup),
	    cmocka_unit_test_setup(test_reverse_map, setup),
	    cmocka_unit_test_setup(test_unmanaged_nocache_wired, setup),
	    cmocka_unit_test_setup(test_kernel_half_shared, setup),
	    cmocka_unit_test_setup(test_kernel_prealloc, setup),
	    cmocka_unit_test_setup(test_tlb_shootdown, setup),
	    cmocka_unit_test_setup(test_fault_handler, setup),
	    cmocka_unit_test_setup(test_checkers_catch_corruption, setup),
	    cmocka_unit_test_setup(test_install_large, setup),
	    cmocka_unit_test_setup(test_map_mmio, setup),
	    cmocka_unit_test_setup(test_random_model, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
