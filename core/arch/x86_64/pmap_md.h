/*
 * What the x86-64 pmap offers beyond pmap.h, for drivers.
 *
 * pmap_map_mmio: device registers at DIRECT_MAP_BASE + pa, uncached
 * (PCD|PWT), read-write, no-execute, kernel only.  Idempotent: pages
 * already mapped that way stay as they are, and a page the boot tables
 * mapped otherwise (e.g. cached) gets the uncached attributes.  A page
 * inside a large page of the direct map is accepted only if that large
 * page is uncached already (the framebuffer): RAM mapped write-back must
 * not be aliased by device memory.  Returns the virtual address of pa, or
 * NULL (logged) when a page-table page cannot be had or the range lies in
 * cached RAM; pages mapped before the failure stay mapped.
 */
#ifndef PHOBOS_ARCH_PMAP_MD_H
#define PHOBOS_ARCH_PMAP_MD_H

#include "core/env.h"

void *pmap_map_mmio(paddr_t pa, size_t size);

/*
 * At most `tables` page-table pages below the PML4 in a user pmap (0: no
 * cap): what an app can make the kernel hold in wired tables.  Beyond it
 * pmap_enter fails with -ENOMEM, as when no page is left.
 */
struct pmap;
void pmap_set_table_cap(struct pmap *pmap, uint64_t tables);

#endif
