/*
 * The simulated MMU for host tests.  Every function of pmap.h runs the
 * kernel's own page-table code: pmap_sim.c compiles
 * core/arch/x86_64/pmap.c, so pmaps here are real 4-level x86-64 tables in
 * simulated physical memory (test/host/phys_arena.c, which also provides
 * pmap_phys_to_virt, pmap_zero_page and pmap_copy_page), with table pages
 * and pv pages from vm_page.  What the simulation adds is the hardware:
 *   - a walker that translates as the MMU does: present, W (CR0.WP set:
 *     the kernel too), U and NX at every level; it sets the accessed bit in
 *     each entry used and the dirty bit in the leaf of a write;
 *   - a TLB: a translation is cached at its first use and used until
 *     invlpg, a CR3 load (non-global entries) or a CR4.PGE toggle; a write
 *     through an entry cached clean walks again to set the dirty bit; a
 *     fault drops the entry for its address, as the CPU does;
 *   - page faults: a refused access calls the registered handler once and
 *     tries again.
 * An access through a pmap makes it current first (pmap_activate), like a
 * CPU that can only use the tables CR3 points at.
 *
 * pmap_sim_check() runs pmap_check() and compares every cached
 * translation with the tables: one the tables no longer allow, or one
 * whose accessed or dirty bit the tables lost, is a missed shootdown.
 *
 * Errors: pmap_sim_access and pmap_sim_read/write return 0, the fault
 * handler's error when it fails, or -EFAULT when there is no handler or
 * the access is still refused after it.
 */
#ifndef PHOBOS_TEST_PMAP_SIM_H
#define PHOBOS_TEST_PMAP_SIM_H

#include "core/mm/pmap.h"

/* Resolves a fault (the VM's fault routine in MM tests); 0 if resolved. */
typedef int (*pmap_sim_fault_fn)(struct pmap *pmap, vaddr_t va, vm_prot_t access, bool user);

struct pmap_sim_stats {
	uint64_t faults; /* accesses the translation refused */
	uint64_t tlb_hits, tlb_misses;
	uint64_t invlpg;       /* single-page invalidations */
	uint64_t flush_all;    /* CR3 reloads (non-global entries) */
	uint64_t flush_global; /* CR4.PGE toggles (everything) */
	uint64_t loads;	       /* CR3 loads by pmap_activate */
};

/*
 * `bytes` of simulated RAM at 1 MiB handed to vm_page, kernel malloc
 * ready, and the kernel pmap with an empty PML4 of its own.  Once per
 * process.
 */
void pmap_sim_init(size_t bytes);
/* NULL: faults are simply refused. */
void pmap_sim_set_fault_handler(pmap_sim_fault_fn fn);

/* One access of kind access (exactly one VM_PROT_* bit) at va. */
int pmap_sim_access(struct pmap *pmap, vaddr_t va, vm_prot_t access, bool user);
/* Bytes through virtual addresses, page by page through pmap_sim_access. */
int pmap_sim_read(struct pmap *pmap, vaddr_t va, void *buf, size_t len, bool user);
int pmap_sim_write(struct pmap *pmap, vaddr_t va, const void *buf, size_t len, bool user);

/* 4 KiB translations held by a pmap. */
size_t pmap_sim_count(struct pmap *pmap);
void pmap_sim_stats(struct pmap_sim_stats *out);
/* pmap_check() plus the TLB against the tables; panics on a violation. */
void pmap_sim_check(void);
/* After a test caught an expected panic: frees the lock the panicking pmap call held. */
void pmap_sim_after_panic(void);

#ifdef PHOBOS_MM_VM_MAP_H
/*
 * Transitional, for callers of the first simulator, which took a vm_map
 * and called vm_fault itself (test/unit/test_vm_map.c): a vm_map as first
 * argument selects the forms below, which register vm_fault on that map as
 * the fault handler.  To go once those callers pass map->pmap and register
 * their own handler.
 */
static struct vm_map *pmap_sim_vm_map;

static inline int pmap_sim_vm_fault(struct pmap *pmap, vaddr_t va, vm_prot_t access, bool user)
{
	(void)pmap;
	return vm_fault(pmap_sim_vm_map, va, access, user);
}

static inline struct pmap *pmap_sim_vm_use(struct vm_map *map)
{
	pmap_sim_vm_map = map;
	pmap_sim_set_fault_handler(pmap_sim_vm_fault);
	return map->pmap;
}

static inline int pmap_sim_vm_access(struct vm_map *map, vaddr_t va, vm_prot_t access, bool user)
{
	return pmap_sim_access(pmap_sim_vm_use(map), va, access, user);
}

static inline int pmap_sim_vm_read(struct vm_map *map, vaddr_t va, void *buf, size_t len)
{
	return pmap_sim_read(pmap_sim_vm_use(map), va, buf, len, false);
}

static inline int pmap_sim_vm_write(struct vm_map *map, vaddr_t va, const void *buf, size_t len)
{
	return pmap_sim_write(pmap_sim_vm_use(map), va, buf, len, false);
}

#define pmap_sim_access(m, ...)                                                                    \
	_Generic((m), struct vm_map *                                                              \
		 : pmap_sim_vm_access, default                                                     \
		 : pmap_sim_access)(m, __VA_ARGS__)
#define pmap_sim_read(m, ...)                                                                      \
	_Generic((m), struct vm_map * : pmap_sim_vm_read, default : pmap_sim_read)(m, __VA_ARGS__)
#define pmap_sim_write(m, ...)                                                                     \
	_Generic((m), struct vm_map * : pmap_sim_vm_write, default : pmap_sim_write)(m, __VA_ARGS__)
#endif

#endif
