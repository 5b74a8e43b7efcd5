/*
 * A software MMU for host tests of the machine-independent VM: pmap.h
 * implemented over a hashed page table per pmap (va -> pa, prot, flags,
 * referenced and modified bits), with physical memory from
 * test/host/phys_arena.c.  Accesses set the referenced and modified bits
 * as the hardware would; the reverse map scans every pmap.
 * pmap_sim_access behaves like the hardware: a missing or too weak
 * translation calls vm_fault on the given map once and retries.
 */
#ifndef PHOBOS_TEST_PMAP_SIM_H
#define PHOBOS_TEST_PMAP_SIM_H

#include "core/mm/pmap.h"
#include "core/mm/vm_map.h"

/* Sets up `bytes` of simulated RAM at 1 MiB and hands it to vm_page. */
void pmap_sim_init(size_t bytes);
/* 0, or vm_fault's error when the access cannot be satisfied. */
int pmap_sim_access(struct vm_map *map, vaddr_t va, vm_prot_t access, bool user);
/* Reads/writes through a translation (faulting as needed). */
int pmap_sim_read(struct vm_map *map, vaddr_t va, void *buf, size_t len);
int pmap_sim_write(struct vm_map *map, vaddr_t va, const void *buf, size_t len);
/* Translations currently held by a pmap. */
size_t pmap_sim_count(struct pmap *pmap);

#endif
