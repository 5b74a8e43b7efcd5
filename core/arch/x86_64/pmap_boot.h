/*
 * Early page tables (see pmap_boot.c).  pmap_boot_init runs once, before
 * the page allocator.  pmap_boot_handoff is called once vm_page owns the
 * free ranges: page-table pages come from vm_page from then on.
 */
#ifndef PHOBOS_ARCH_PMAP_BOOT_H
#define PHOBOS_ARCH_PMAP_BOOT_H

#include "core/boot_info.h"

extern uint64_t pmap_boot_pml4; /* physical address of the kernel PML4 */

void pmap_boot_init(struct boot_info *bi);
void pmap_boot_map(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags);
uint64_t pmap_boot_alloc_page(void);
void pmap_boot_handoff(void);

#endif
