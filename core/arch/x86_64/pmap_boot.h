/*
 * Early page tables (see pmap_boot.c).  pmap_boot_init runs once, before
 * the page allocator.  pmap_boot_handoff is called once vm_page owns the
 * free ranges: page-table pages come from vm_page from then on.
 */
#ifndef PHOBOS_ARCH_PMAP_BOOT_H
#define PHOBOS_ARCH_PMAP_BOOT_H

#include "core/boot_info.h"
#include "core/env.h"

extern uint64_t pmap_boot_pml4; /* physical address of the kernel PML4 */

void pmap_boot_init(struct boot_info *bi);
void pmap_boot_map(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags);
/* A zeroed page-table page, or 0 when none is left. */
uint64_t pmap_boot_alloc_page(void);
uint64_t *pmap_walk(uint64_t pml4, uint64_t va, int level, bool create);
int64_t pmap_table_ref(uint64_t table_pa, int delta);
void pmap_boot_handoff(void);

#endif
