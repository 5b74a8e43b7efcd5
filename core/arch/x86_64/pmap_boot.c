/*
 * The kernel's first own page tables, built before any allocator exists.
 *
 * Page-table pages are carved from the top of the largest free range of
 * boot_info (which shrinks accordingly, so the page allocator never sees
 * them) until pmap_boot_handoff(); after it they come from vm_page.  The tables map:
 *   - every RAM-like range (free, loader, boot data, kernel, ACPI, runtime)
 *     at DIRECT_MAP_BASE + pa, read-write, no-execute, global, with 1 GiB
 *     pages where the CPU has them and alignment allows, else 2 MiB, else
 *     4 KiB;
 *   - the kernel image at KERNEL_BASE, section by section: text read-only
 *     executable, rodata and the symbol table read-only, data and bss
 *     read-write, all no-execute but text;
 *   - the framebuffer in the direct map, uncached.
 * Nothing is mapped below the kernel half: user space starts empty.
 */
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/pmap_boot.h"
#include "core/arch/x86_64/pte.h"
#include "core/kernel.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __data_end[], __ksyms_start[], __kernel_end[];

static struct boot_info *boot_bi;
static bool boot_handed_off;
static bool boot_have_1g;
uint64_t pmap_boot_pml4;

static void *boot_phys(uint64_t pa)
{
	return (void *)(DIRECT_MAP_BASE + pa);
}


/*
 * From now on tables come from vm_page.  Every PML4 slot of the kernel map
 * gets its PDPT now: user pmaps copy the kernel's PML4 entries when they
 * are created, so no kernel-half slot may appear later.
 */
void pmap_boot_handoff(void)
{
	uint64_t *pml4 = boot_phys(pmap_boot_pml4);

	boot_handed_off = true;
	for (unsigned slot = PTE_INDEX(KERNEL_DYN_BASE, 3); slot < PTE_INDEX(KERNEL_BASE, 3); slot++)
		if (!(pml4[slot] & PTE_P)) {
			uint64_t pa = pmap_boot_alloc_page();
			if (pa == 0)
				panic("pmap_boot_handoff: no page for the kernel's PDPTs");
			pml4[slot] = pa | PTE_P | PTE_W;
		}
}

uint64_t pmap_boot_alloc_page(void)
{
	struct boot_mem_range *best = NULL;

	if (boot_handed_off) {
		struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);
		if (m == NULL)
			return 0;
		m->flags |= VM_PAGE_PTABLE;
		return vm_page_phys(m);
	}

	for (uint32_t i = 0; i < boot_bi->range_count; i++) {
		struct boot_mem_range *r = &boot_bi->ranges[i];
		if (r->type == BOOT_MEM_FREE && (best == NULL || r->pages > best->pages))
			best = r;
	}
	if (best == NULL || best->pages == 0)
		return 0;
	best->pages--;
	uint64_t pa = best->base + best->pages * PAGE_SIZE;
	memset(boot_phys(pa), 0, PAGE_SIZE);
	return pa;
}

/*
 * The entry for va at `level` under pml4.  Missing tables are created when
 * create is set (NULL if no page is left), else NULL is returned.  Tables
 * above user addresses carry PTE_U so that leaf entries alone decide user
 * access.
 */
uint64_t *pmap_walk(uint64_t pml4, uint64_t va, int level, bool create)
{
	uint64_t table_pa = pml4;
	uint64_t *table = boot_phys(pml4);

	for (int l = 3; l > level; l--) {
		uint64_t *e = &table[PTE_INDEX(va, l)];
		if (!(*e & PTE_P)) {
			uint64_t pa = create ? pmap_boot_alloc_page() : 0;
			if (pa == 0)
				return NULL;
			*e = pa | PTE_P | PTE_W | (va < DIRECT_MAP_BASE ? PTE_U : 0);
			pmap_table_ref(table_pa, 1);
		}
		if (*e & PTE_PS)
			return NULL; /* inside a large page: no table below */
		table_pa = *e & PTE_ADDR;
		table = boot_phys(table_pa);
	}
	return &table[PTE_INDEX(va, level)];
}

/*
 * A page-table page allocated after the hand-off counts its present
 * entries in its vm_page's pindex (it belongs to no object), so pmap can
 * free it when the count drops to zero.  Boot-carved tables have no
 * vm_page and are never freed.  Returns the new count, or -1 if untracked.
 */
int64_t pmap_table_ref(uint64_t table_pa, int delta)
{
	struct vm_page *m = boot_handed_off ? vm_page_from_phys(table_pa) : NULL;

	if (m == NULL || !(m->flags & VM_PAGE_PTABLE))
		return -1;
	KASSERT(delta > 0 || m->pindex > 0);
	m->pindex += (uint64_t)(int64_t)delta;
	return (int64_t)m->pindex;
}

void pmap_boot_map(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	KASSERT(IS_ALIGNED(va | pa | size, PAGE_SIZE));
	while (size > 0) {
		int level = 0;
		if (boot_have_1g && IS_ALIGNED(va | pa, PTE_LEVEL_SIZE(2)) && size >= PTE_LEVEL_SIZE(2))
			level = 2;
		else if (IS_ALIGNED(va | pa, PTE_LEVEL_SIZE(1)) && size >= PTE_LEVEL_SIZE(1))
			level = 1;
		uint64_t *e = pmap_walk(pmap_boot_pml4, va, level, true);
		if (e == NULL)
			panic("pmap_boot_map: no page for a page table at %llx", (unsigned long long)va);
		if (!(*e & PTE_P))
			pmap_table_ref(pmap_virt_to_phys(e) & ~(uint64_t)PAGE_MASK, 1);
		*e = pa | flags | PTE_P | (level > 0 ? PTE_PS : 0);
		va += PTE_LEVEL_SIZE(level);
		pa += PTE_LEVEL_SIZE(level);
		size -= PTE_LEVEL_SIZE(level);
	}
}

static bool boot_is_ram(uint32_t type)
{
	return type != BOOT_MEM_MMIO && type != BOOT_MEM_RESERVED;
}

static void boot_map_section(const char *start, const char *end, uint64_t flags)
{
	uint64_t va = (uint64_t)start;
	uint64_t size = ALIGN_UP((uint64_t)end, PAGE_SIZE) - va;

	pmap_boot_map(va, boot_bi->kernel_phys + (va - KERNEL_BASE), size, flags | PTE_G);
}

/* The ranges as the loader gave them: page-table pages carved off later
 * must still be in the direct map. */
static struct boot_mem_range boot_ranges[BOOT_RANGES_MAX];

void pmap_boot_init(struct boot_info *bi)
{
	uint32_t r[4];

	boot_bi = bi;
	memcpy(boot_ranges, bi->ranges, sizeof(boot_ranges));
	cpuid(0x80000001, 0, r);
	boot_have_1g = (r[3] >> 26) & 1; /* CPUID.80000001h:EDX.Page1GB */
	pmap_boot_pml4 = pmap_boot_alloc_page();
	if (pmap_boot_pml4 == 0)
		panic("pmap_boot_init: no free memory for page tables");

	for (uint32_t i = 0; i < bi->range_count; i++) {
		const struct boot_mem_range *m = &boot_ranges[i];
		if (boot_is_ram(m->type))
			pmap_boot_map(DIRECT_MAP_BASE + m->base, m->base, m->pages * PAGE_SIZE,
				      PTE_W | PTE_NX | PTE_G);
	}
	boot_map_section(__text_start, __text_end, 0);
	boot_map_section(__rodata_start, __rodata_end, PTE_NX);
	boot_map_section(__data_start, __data_end, PTE_W | PTE_NX);
	boot_map_section(__ksyms_start, __kernel_end, PTE_NX);
	if (bi->fb.format != BOOT_FB_NONE) {
		uint64_t base = ALIGN_DOWN(bi->fb.base, PAGE_SIZE);
		uint64_t end = ALIGN_UP(bi->fb.base + bi->fb.size, PAGE_SIZE);
		pmap_boot_map(DIRECT_MAP_BASE + base, base, end - base,
			      PTE_W | PTE_NX | PTE_G | PTE_PCD);
	}

	write_cr4(read_cr4() | CR4_PGE);
	write_cr0(read_cr0() | CR0_WP); /* the kernel too must respect read-only pages */
	write_cr3(pmap_boot_pml4);
}
