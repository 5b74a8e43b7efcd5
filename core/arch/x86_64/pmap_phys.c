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

void pmap_zero_page(paddr_t pa)
{
	memset(pmap_phys_to_virt(pa), 0, PAGE_SIZE);
}

void pmap_copy_page(paddr_t src, paddr_t dst)
{
	memcpy(pmap_phys_to_virt(dst), pmap_phys_to_virt(src), PAGE_SIZE);
}
