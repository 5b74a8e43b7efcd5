/*
 * The x86-64 pmap on the real MMU: enter/extract/protect/remove with the
 * faults the CPU takes (caught through trap_page_fault_hook), accessed and
 * dirty bits set by real accesses and read through the reverse map, both
 * TLB flush paths (invlpg, and the full flush past PMAP_FLUSH_ALL pages,
 * global in the kernel half), table pages given back, a user pmap loaded
 * in CR3, NX on a data page, W^X of the kernel image, and an MMIO mapping.
 * Every test ends with pmap_check() and the free page count where it was.
 */
#include "core/acpi.h"
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/pmap_boot.h"
#include "core/arch/x86_64/pmap_md.h"
#include "core/arch/x86_64/pmap_priv.h"
#include "core/arch/x86_64/trap.h"
#include "core/boot_info.h"
#include "core/kernel.h"
#include "core/ktest.h"
#include "core/mm/slab.h"
#include "core/mm/vm_map.h"
#include "core/mm/vm_page.h"

/* In the kernel pmap's user half, which nothing else uses. */
#define PMAP_TEST_VA 0x0000100000000000ull
#define PMAP_TEST_PAGES 64

/* The window of pages the fault hook answers for, and what it saw. */
static struct {
	vaddr_t base;
	paddr_t pa[PMAP_TEST_PAGES];
	volatile unsigned faults;
	volatile uint64_t addr, error;
	int (*saved)(struct trap_frame *tf, uint64_t addr, char *why, size_t len);
} pmap_test_win;

/*
 * A fault in the window is counted and repaired: an instruction fetch by
 * returning to the caller (the test calls a lone `ret`), anything else by
 * mapping the page read-write again.  Other faults go to the VM's hook.
 */
static int pmap_test_fault(struct trap_frame *tf, uint64_t addr, char *why, size_t len)
{
	uint64_t i = (addr - pmap_test_win.base) / PAGE_SIZE;

	if (addr < pmap_test_win.base || i >= PMAP_TEST_PAGES)
		return pmap_test_win.saved != NULL ? pmap_test_win.saved(tf, addr, why, len)
						   : -EFAULT;
	pmap_test_win.faults++;
	pmap_test_win.addr = addr;
	pmap_test_win.error = tf->error;
	if (tf->error & PF_I) {
		tf->rip = *(const uint64_t *)tf->rsp;
		tf->rsp += 8;
		return 0;
	}
	return pmap_enter(pmap_kernel(), ALIGN_DOWN(addr, PAGE_SIZE), pmap_test_win.pa[i],
			  VM_PROT_RW, 0);
}

static void pmap_test_arm(vaddr_t base)
{
	pmap_test_win.base = base;
	pmap_test_win.faults = 0;
	pmap_test_win.saved = trap_page_fault_hook;
	trap_page_fault_hook = pmap_test_fault;
}

static void pmap_test_disarm(void)
{
	trap_page_fault_hook = pmap_test_win.saved;
}

/* Maps page i of the window in the kernel pmap and tells the hook. */
static int pmap_test_map(unsigned i, paddr_t pa, vm_prot_t prot)
{
	pmap_test_win.pa[i] = pa;
	return pmap_enter(pmap_kernel(), pmap_test_win.base + i * PAGE_SIZE, pa, prot, 0);
}

static volatile uint64_t *pmap_test_word(unsigned page, unsigned word)
{
	return (volatile uint64_t *)(pmap_test_win.base + page * PAGE_SIZE) + word;
}

/* Free pages, counting pages of slab caches apart (the kernel map's entries live there). */
static uint64_t pmap_test_free(void)
{
	slab_reclaim();
	return vm_page_free_count() + slab_pages_total();
}

/* Frees the test's page; the tables are sound and every page is back. */
static void pmap_test_end(struct vm_page *m, uint64_t before)
{
	vm_page_free(m);
	pmap_check();
	KTEST_EQ(pmap_test_free(), before);
}

static uint64_t pmap_test_pte(vaddr_t va)
{
	uint64_t pte = 0;
	int level;

	KTEST_ASSERT(pmap_leaf(pmap_kernel(), va, &pte, &level) && level == 0);
	return pte;
}

KTEST(pmap_enter_protect_remove)
{
	uint64_t before = pmap_test_free();
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);
	paddr_t got = 0;

	KTEST_ASSERT(m != NULL);
	if (m == NULL)
		return;
	paddr_t pa = vm_page_phys(m);
	pmap_test_arm(PMAP_TEST_VA);
	KTEST_EQ(pmap_test_map(0, pa, VM_PROT_RW), 0);
	KTEST_ASSERT(pmap_extract(pmap_kernel(), PMAP_TEST_VA + 8, &got));
	KTEST_EQ(got, pa + 8);
	*pmap_test_word(0, 1) = 0x1234;
	KTEST_EQ(((const uint64_t *)pmap_phys_to_virt(pa))[1], 0x1234);
	/* read-only: reads go on, a write takes a real protection fault */
	pmap_protect(pmap_kernel(), PMAP_TEST_VA, PMAP_TEST_VA + PAGE_SIZE, VM_PROT_READ);
	KTEST_EQ(*pmap_test_word(0, 1), 0x1234);
	KTEST_EQ(pmap_test_win.faults, 0);
	*pmap_test_word(0, 2) = 7;
	KTEST_EQ(pmap_test_win.faults, 1);
	KTEST_EQ(pmap_test_win.addr, PMAP_TEST_VA + 16);
	KTEST_EQ(pmap_test_win.error & (PF_P | PF_W | PF_U), PF_P | PF_W);
	KTEST_EQ(*pmap_test_word(0, 2), 7);
	/* removed: the next access finds nothing there */
	pmap_remove(pmap_kernel(), PMAP_TEST_VA, PMAP_TEST_VA + PAGE_SIZE);
	KTEST_ASSERT(!pmap_extract(pmap_kernel(), PMAP_TEST_VA, &got));
	KTEST_EQ(*pmap_test_word(0, 2), 7);
	KTEST_EQ(pmap_test_win.faults, 2);
	KTEST_EQ(pmap_test_win.error & PF_P, 0);
	pmap_remove(pmap_kernel(), PMAP_TEST_VA, PMAP_TEST_VA + PAGE_SIZE);
	pmap_test_disarm();
	pmap_test_end(m, before);
}

KTEST(pmap_accessed_dirty_bits)
{
	uint64_t before = pmap_test_free();
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);

	KTEST_ASSERT(m != NULL);
	if (m == NULL)
		return;
	pmap_test_arm(PMAP_TEST_VA);
	KTEST_EQ(pmap_test_map(0, vm_page_phys(m), VM_PROT_RW), 0);
	KTEST_EQ(pmap_test_map(1, vm_page_phys(m), VM_PROT_RW), 0);
	KTEST_EQ(pmap_page_mapcount(m), 2);
	KTEST_ASSERT(!pmap_is_referenced(m) && !pmap_is_modified(m));
	KTEST_EQ(*pmap_test_word(0, 0), 0);
	KTEST_ASSERT(pmap_is_referenced(m) && !pmap_is_modified(m));
	*pmap_test_word(1, 0) = 1;
	KTEST_ASSERT(pmap_is_modified(m));
	/* the CPU sets them again only if the clears reached its TLB */
	pmap_clear_reference(m);
	pmap_clear_modify(m);
	KTEST_ASSERT(!pmap_is_referenced(m) && !pmap_is_modified(m));
	*pmap_test_word(1, 0) = 2;
	KTEST_ASSERT(pmap_is_referenced(m) && pmap_is_modified(m));
	pmap_clear_modify(m);
	KTEST_EQ(*pmap_test_word(1, 0), 2);
	KTEST_ASSERT(!pmap_is_modified(m));
	/* write-protected everywhere: a write faults */
	pmap_page_protect_ro(m);
	*pmap_test_word(0, 0) = 3;
	KTEST_EQ(pmap_test_win.faults, 1);
	KTEST_EQ(pmap_test_win.error & (PF_P | PF_W), PF_P | PF_W);
	KTEST_ASSERT(pmap_is_modified(m));
	pmap_page_remove_all(m);
	KTEST_EQ(pmap_page_mapcount(m), 0);
	KTEST_ASSERT(m->flags & VM_PAGE_DIRTY);
	pmap_test_disarm();
	pmap_test_end(m, before);
}

/*
 * n pages all mapping m at base, each touched so the TLB holds it, then
 * lowered to read-only in one call: every write after that must fault.
 */
static void pmap_test_flush(vaddr_t base, unsigned n, struct vm_page *m)
{
	pmap_test_arm(base);
	for (unsigned i = 0; i < n; i++) {
		KTEST_EQ(pmap_test_map(i, vm_page_phys(m), VM_PROT_RW), 0);
		(void)*pmap_test_word(i, 0);
	}
	pmap_protect(pmap_kernel(), base, base + n * PAGE_SIZE, VM_PROT_READ);
	for (unsigned i = 0; i < n; i++)
		*pmap_test_word(i, 0) = i;
	KTEST_EQ(pmap_test_win.faults, n);
	pmap_remove(pmap_kernel(), base, base + n * PAGE_SIZE);
	pmap_test_disarm();
}

KTEST(pmap_tlb_flush_paths)
{
	struct vm_map *map = vm_map_kernel();
	uint64_t before = pmap_test_free();
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);
	vaddr_t kva;

	KTEST_ASSERT(m != NULL);
	if (m == NULL)
		return;
	pmap_test_flush(PMAP_TEST_VA, 8, m);		      /* invlpg each */
	pmap_test_flush(PMAP_TEST_VA, PMAP_FLUSH_ALL + 8, m); /* CR3 reload */
	/* kernel-half pages are global: CR4.PGE toggle */
	KTEST_EQ(vm_map_allocate_space(map, PMAP_TEST_PAGES * PAGE_SIZE, &kva), 0);
	pmap_test_flush(kva, PMAP_FLUSH_ALL + 8, m);
	KTEST_EQ(vm_map_free(map, kva), 0);
	pmap_test_end(m, before);
}

KTEST(pmap_tables_freed)
{
	static const vaddr_t at[3] = {PMAP_TEST_VA, PMAP_TEST_VA + (1ull << 30) + (4u << 20),
				      PMAP_TEST_VA + (513ull << 30)};
	uint64_t before = pmap_test_free(), pv = pmap_pv_pages();
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);

	KTEST_ASSERT(m != NULL);
	if (m == NULL)
		return;
	for (int i = 0; i < 3; i++)
		KTEST_EQ(pmap_enter(pmap_kernel(), at[i], vm_page_phys(m), VM_PROT_RW, 0), 0);
	/* PDPT+PD+PT, PD+PT under the same PDPT, a new PDPT+PD+PT; maybe a pv page */
	KTEST_EQ(before - pmap_test_free() - (pmap_pv_pages() - pv), 1 + 8);
	pmap_check();
	pmap_remove(pmap_kernel(), PMAP_TEST_VA, PMAP_TEST_VA + (514ull << 30));
	pmap_test_end(m, before);
}

KTEST(pmap_user_pmap_in_cr3)
{
	uint64_t before = pmap_test_free();
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);
	struct pmap *u;
	paddr_t got;
	int level;
	uint64_t pte = 0;

	KTEST_ASSERT(m != NULL);
	if (m == NULL || pmap_create(&u) != 0)
		return;
	*(uint64_t *)pmap_phys_to_virt(vm_page_phys(m)) = 0x600d;
	KTEST_EQ(pmap_enter(u, PMAP_TEST_VA, vm_page_phys(m), VM_PROT_READ, 0), 0);
	KTEST_EQ(pmap_enter(u, PMAP_TEST_VA + PAGE_SIZE, vm_page_phys(m), VM_PROT_RW, PMAP_USER),
		 0);
	KTEST_ASSERT(pmap_leaf(u, PMAP_TEST_VA + PAGE_SIZE, &pte, &level));
	KTEST_EQ(pte & (PTE_U | PTE_G | PTE_W | PTE_NX), PTE_U | PTE_W | PTE_NX);
	KTEST_ASSERT(!pmap_extract(pmap_kernel(), PMAP_TEST_VA, &got));
	pmap_check(); /* the user PML4's kernel half is the kernel's */
	pmap_activate(u);
	uint64_t cr3 = read_cr3();
	uint64_t seen = *(volatile uint64_t *)PMAP_TEST_VA;
	pmap_activate(pmap_kernel());
	KTEST_EQ(cr3, u->pml4);
	KTEST_EQ(seen, 0x600d);
	KTEST_EQ(read_cr3(), pmap_boot_pml4);
	pmap_remove(u, 0, PMAP_USER_END);
	pmap_destroy(u);
	pmap_test_end(m, before);
}

extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __data_end[], __kernel_end[];

KTEST(pmap_kernel_image_wx)
{
	unsigned bad = 0;

	for (vaddr_t va = (vaddr_t)__text_start; va < (vaddr_t)__kernel_end; va += PAGE_SIZE) {
		uint64_t pte = pmap_test_pte(va);
		bool text = va < (vaddr_t)__text_end;
		bool data = va >= (vaddr_t)__data_start && va < (vaddr_t)__data_end;
		uint64_t want = PTE_P | PTE_G | (text ? 0 : PTE_NX) | (data ? PTE_W : 0);
		bad += (pte & (PTE_P | PTE_G | PTE_NX | PTE_W | PTE_U)) != want;
	}
	KTEST_EQ(bad, 0);
	KTEST_ASSERT((vaddr_t)__rodata_start >= (vaddr_t)__text_end);
	KTEST_ASSERT((vaddr_t)__data_start >= (vaddr_t)__rodata_end);
	/* the direct map never executes, the kernel image's alias in it included */
	uint64_t pte = 0;
	int level;
	KTEST_ASSERT(pmap_leaf(pmap_kernel(), DIRECT_MAP_BASE + kernel_boot_info->kernel_phys, &pte,
			       &level));
	KTEST_ASSERT(pte & PTE_NX);
}

KTEST(pmap_nx_data_page)
{
	uint64_t before = pmap_test_free();
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);
	void (*volatile call)(void) = (void (*)(void))PMAP_TEST_VA;

	KTEST_ASSERT(m != NULL);
	if (m == NULL)
		return;
	*(uint8_t *)pmap_phys_to_virt(vm_page_phys(m)) = 0xc3; /* ret */
	pmap_test_arm(PMAP_TEST_VA);
	KTEST_EQ(pmap_test_map(0, vm_page_phys(m), VM_PROT_RW), 0);
	call(); /* no-execute: a fetch fault, which the hook turns into the ret */
	KTEST_EQ(pmap_test_win.faults, 1);
	KTEST_EQ(pmap_test_win.error & (PF_P | PF_I), PF_P | PF_I);
	KTEST_EQ(pmap_test_map(0, vm_page_phys(m), VM_PROT_READ | VM_PROT_EXECUTE), 0);
	call(); /* executable now: runs */
	KTEST_EQ(pmap_test_win.faults, 1);
	pmap_remove(pmap_kernel(), PMAP_TEST_VA, PMAP_TEST_VA + PAGE_SIZE);
	pmap_test_disarm();
	pmap_test_end(m, before);
}

KTEST(pmap_mmio_hpet)
{
	const struct acpi_header *h = acpi_find("HPET", 0);
	struct acpi_gas gas;

	if (h == NULL) {
		ktest_skip("no HPET table: nothing to map");
		return;
	}
	memcpy(&gas, (const uint8_t *)h + 40, sizeof(gas));
	volatile uint64_t *regs = pmap_map_mmio(gas.address, 1024);
	KTEST_EQ((uint64_t)regs, DIRECT_MAP_BASE + gas.address);
	KTEST_EQ(pmap_test_pte((vaddr_t)regs) & ~(PTE_A | PTE_D),
		 gas.address | PTE_P | PTE_W | PTE_NX | PTE_G | PTE_PCD | PTE_PWT);
	KTEST_EQ((uint64_t)pmap_map_mmio(gas.address, 1024), (uint64_t)regs);
	uint64_t period = regs[0] >> 32; /* femtoseconds per tick */
	KTEST_ASSERT(period > 0 && period <= 100000000);
	pmap_check();
}
