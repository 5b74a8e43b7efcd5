/*
 * The kernel's first page tables (see pmap_boot.c).  pmap_boot_init runs
 * once, before the page allocator, and makes the kernel pmap adopt the
 * tables it builds.  pmap_boot_map may be used until pmap_boot_handoff,
 * which is called once vm_page owns the free ranges: page-table pages come
 * from vm_page from then on.
 */
#ifndef PHOBOS_ARCH_PMAP_BOOT_H
#define PHOBOS_ARCH_PMAP_BOOT_H

#include "core/boot_info.h"
#include "core/env.h"

extern uint64_t pmap_boot_pml4; /* physical address of the kernel PML4 */

void pmap_boot_init(struct boot_info *bi);
/*
 * Maps [pa, pa + size) at va in the kernel half with the PTE bits in flags
 * (P, PS and G are added), in the largest pages alignment allows; panics
 * when no page is left for a table.
 */
void pmap_boot_map(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags);
void pmap_boot_handoff(void);

#endif
