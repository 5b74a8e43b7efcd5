/*
 * Physical page contents through the direct map (pmap.h): every RAM page
 * is mapped at DIRECT_MAP_BASE + pa from the first page tables on.
 */
#include "core/boot_info.h"
#include "core/mm/pmap.h"

void *pmap_phys_to_virt(paddr_t pa)
{
	return (void *)(DIRECT_MAP_BASE + pa);
}

paddr_t pmap_virt_to_phys(const void *va)
{
	KASSERT((uintptr_t)va >= DIRECT_MAP_BASE && (uintptr_t)va < KERNEL_DYN_BASE);
	return (uintptr_t)va - DIRECT_MAP_BASE;
}

/*
 * Whole pages move as plain 8-byte loads and stores, eight a loop trip,
 * not as rep stosq/movsq: QEMU's TCG runs a string instruction one
 * iteration per trip through its helper, while unrolled moves translate
 * to straight-line host stores (a third less time per page, measured
 * with the TSC).  On hardware the two are close for one page.  The
 * pointers are volatile so that the compiler does not turn the loops
 * back into memset/memcpy.
 */
void pmap_zero_page(paddr_t pa)
{
	volatile uint64_t *d = pmap_phys_to_virt(pa);

	for (unsigned i = 0; i < PAGE_SIZE / 8; i += 8) {
		d[i] = 0, d[i + 1] = 0, d[i + 2] = 0, d[i + 3] = 0;
		d[i + 4] = 0, d[i + 5] = 0, d[i + 6] = 0, d[i + 7] = 0;
	}
}

void pmap_copy_page(paddr_t src, paddr_t dst)
{
	volatile uint64_t *d = pmap_phys_to_virt(dst);
	const volatile uint64_t *s = pmap_phys_to_virt(src);

	for (unsigned i = 0; i < PAGE_SIZE / 8; i += 4) {
		uint64_t a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
		d[i] = a, d[i + 1] = b, d[i + 2] = c, d[i + 3] = e;
	}
}
