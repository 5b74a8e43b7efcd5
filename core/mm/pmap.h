/*
 * pmap: the only door from the machine-independent VM to the MMU.
 *
 * Implementations: core/arch/x86_64/pmap.c (4-level page tables, direct map)
 * and test/sim/pmap_sim.c (software page tables over a simulated physical
 * arena, with an access function that takes simulated page faults).
 *
 * Owns: the page-table pages of every pmap and the reverse map from a
 * managed physical page to its mappings.  Page-table pages come from
 * vm_page_alloc() and go back when a table becomes empty.
 * Lock key: a pmap's own lock; callers hold nothing special.
 *
 * Contract of every implementation:
 *   - pmap_enter replaces any previous mapping at va; returns -ENOMEM when a
 *     page-table page cannot be allocated (nothing changed then).
 *   - pmap_remove/pmap_protect work on [start, end), page aligned, skip holes.
 *   - Referenced/modified bits are per physical page, gathered over all its
 *     mappings (the hardware's accessed/dirty bits).
 *   - TLB shootdown is the implementation's business: when a call returns,
 *     no stale translation may be used.
 */
#ifndef PHOBOS_MM_PMAP_H
#define PHOBOS_MM_PMAP_H

#include "core/mm/vm_types.h"

/* pmap_enter flags */
#define PMAP_WIRED 0x1   /* not subject to page-out; counted in wired stats */
#define PMAP_USER 0x2    /* accessible from ring 3 */
#define PMAP_NOCACHE 0x4 /* uncached (device memory) */
#define PMAP_UNMANAGED 0x8 /* pa has no vm_page (MMIO, firmware): no reverse map */

struct pmap *pmap_kernel(void);
/* A new, empty user address space sharing the kernel half. -ENOMEM. */
int pmap_create(struct pmap **out);
/* All user mappings must be gone. */
void pmap_destroy(struct pmap *pmap);
/* Make pmap the current address space. */
void pmap_activate(struct pmap *pmap);

int pmap_enter(struct pmap *pmap, vaddr_t va, paddr_t pa, vm_prot_t prot, unsigned flags);
void pmap_remove(struct pmap *pmap, vaddr_t start, vaddr_t end);
/* Lowers (never raises) protection of existing mappings in [start, end). */
void pmap_protect(struct pmap *pmap, vaddr_t start, vaddr_t end, vm_prot_t prot);
/* true and *pa if va is mapped. */
bool pmap_extract(struct pmap *pmap, vaddr_t va, paddr_t *pa);

/* Reverse-map operations on a managed page (one that has a vm_page). */
bool pmap_is_referenced(struct vm_page *m);
bool pmap_is_modified(struct vm_page *m);
void pmap_clear_reference(struct vm_page *m);
void pmap_clear_modify(struct vm_page *m);
/* Write-protect every mapping of m (copy-on-write, page-out). */
void pmap_page_protect_ro(struct vm_page *m);
/* Remove every mapping of m (page-out, free). */
void pmap_page_remove_all(struct vm_page *m);
/* Number of mappings of m. */
unsigned pmap_page_mapcount(struct vm_page *m);

/* Physical page contents, through the direct map. */
void pmap_zero_page(paddr_t pa);
void pmap_copy_page(paddr_t src, paddr_t dst);
void *pmap_phys_to_virt(paddr_t pa);
/* The inverse, for addresses pmap_phys_to_virt returned. */
paddr_t pmap_virt_to_phys(const void *va);

#endif
