/*
 * A simulated physical address space for host tests of code that reaches
 * memory through pmap_phys_to_virt (vm_page, pagers): windows of physical
 * addresses, each backed by a host buffer, so sparse layouts (RAM above
 * 4 GiB, holes) cost only what they back.  Implements pmap_phys_to_virt,
 * pmap_zero_page and pmap_copy_page; touching an address outside every
 * window aborts the test.
 */
#ifndef PHOBOS_TEST_PHYS_ARENA_H
#define PHOBOS_TEST_PHYS_ARENA_H

#include "core/env.h"

/* Backs [pa, pa + size) with zeroed host memory. */
void phys_arena_add(paddr_t pa, size_t size);
void phys_arena_free_all(void);

#endif
