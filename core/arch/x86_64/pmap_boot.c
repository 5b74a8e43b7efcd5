/*
 * The kernel's first own page tables, built before any allocator exists
 * through pmap.c's walker, and adopted by the kernel pmap.
 *
 * Page-table pages are carved from the top of the largest free range of
 * boot_info (which shrinks accordingly, so the page allocator never sees
 * them) until pmap_boot_handoff(); after it they come from vm_page.  The
 * tables map:
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
#include "core/arch/x86_64/pmap_priv.h"

extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __data_end[], __ksyms_start[], __kernel_end[];

static struct boot_info *boot_bi;
static bool boot_have_1g;
uint64_t pmap_boot_pml4;

/* The ranges as the loader gave them: page-table pages carved off later
 * must still be in the direct map. */
static struct boot_mem_range boot_ranges[BOOT_RANGES_MAX];

/* A zeroed page from the top of the largest free range, 0 when none is left. */
static paddr_t pmap_boot_alloc_page(void)
{
	struct boot_mem_range *best = NULL;

	for (uint32_t i = 0; i < boot_bi->range_count; i++) {
		struct boot_mem_range *r = &boot_bi->ranges[i];
		if (r->type == BOOT_MEM_FREE && (best == NULL || r->pages > best->pages))
			best = r;
	}
	if (best == NULL || best->pages == 0)
		return 0;
	best->pages--;
	paddr_t pa = best->base + best->pages * PAGE_SIZE;
	memset(pmap_phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

/*
 * Tables come from vm_page from now on.  The kernel map's PML4 slots get
 * their PDPTs at once (127 pages): a kernel allocation then never leaves a
 * PDPT behind, and free page counts before and after one agree.
 */
void pmap_boot_handoff(void)
{
	pmap_bootstrap_done();
	if (pmap_kernel_prealloc(KERNEL_DYN_BASE, KERNEL_BASE) < 0)
		panic("pmap_boot_handoff: no pages for the kernel map's PDPTs");
}

void pmap_boot_map(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	KASSERT(IS_ALIGNED(va | pa | size, PAGE_SIZE) && va >= PMAP_KERNEL_START);
	while (size > 0) {
		int level = 0;
		if (boot_have_1g && IS_ALIGNED(va | pa, PTE_LEVEL_SIZE(2)) &&
		    size >= PTE_LEVEL_SIZE(2))
			level = 2;
		else if (IS_ALIGNED(va | pa, PTE_LEVEL_SIZE(1)) && size >= PTE_LEVEL_SIZE(1))
			level = 1;
		uint64_t pte = pa | flags | PTE_P | PTE_G | (level > 0 ? PTE_PS : 0);
		if (!pmap_install(pmap_kernel(), va, level, pte))
			panic("pmap_boot_map: no page for a page table at %llx",
			      (unsigned long long)va);
		va += PTE_LEVEL_SIZE(level);
		pa += PTE_LEVEL_SIZE(level);
		size -= PTE_LEVEL_SIZE(level);
	}
}

static bool pmap_boot_is_ram(uint32_t type)
{
	return type != BOOT_MEM_MMIO && type != BOOT_MEM_RESERVED;
}

static void pmap_boot_section(const char *start, const char *end, uint64_t flags)
{
	uint64_t va = (uint64_t)start;
	uint64_t size = ALIGN_UP((uint64_t)end, PAGE_SIZE) - va;

	pmap_boot_map(va, boot_bi->kernel_phys + (va - KERNEL_BASE), size, flags);
}

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
	pmap_bootstrap(pmap_boot_pml4, pmap_boot_alloc_page);

	for (uint32_t i = 0; i < bi->range_count; i++) {
		const struct boot_mem_range *m = &boot_ranges[i];
		if (pmap_boot_is_ram(m->type))
			pmap_boot_map(DIRECT_MAP_BASE + m->base, m->base, m->pages * PAGE_SIZE,
				      PTE_W | PTE_NX);
	}
	pmap_boot_section(__text_start, __text_end, 0);
	pmap_boot_section(__rodata_start, __rodata_end, PTE_NX);
	pmap_boot_section(__data_start, __data_end, PTE_W | PTE_NX);
	pmap_boot_section(__ksyms_start, __kernel_end, PTE_NX);
	if (bi->fb.format != BOOT_FB_NONE) {
		uint64_t base = ALIGN_DOWN(bi->fb.base, PAGE_SIZE);
		uint64_t end = ALIGN_UP(bi->fb.base + bi->fb.size, PAGE_SIZE);
		pmap_boot_map(DIRECT_MAP_BASE + base, base, end - base, PTE_W | PTE_NX | PTE_PCD);
	}

	write_cr4(read_cr4() | CR4_PGE);
	write_cr0(read_cr0() | CR0_WP); /* the kernel too must respect read-only pages */
	write_cr3(pmap_boot_pml4);
}
