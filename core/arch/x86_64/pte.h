/*
 * x86-64 page-table entry bits (Intel SDM vol. 3, 4.5) and the geometry of
 * 4-level paging: 9 index bits per level above a 12-bit page offset.
 */
#ifndef PHOBOS_ARCH_PTE_H
#define PHOBOS_ARCH_PTE_H

#include <stdint.h>

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7) /* 2 MiB / 1 GiB leaf in a PD / PDPT entry */
#define PTE_G (1ull << 8)
#define PTE_MANAGED (1ull << 9) /* software bit: the page has a pv entry */
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

/* level 3 = PML4, 2 = PDPT, 1 = PD, 0 = PT */
#define PTE_SHIFT(level) (12 + 9 * (level))
#define PTE_INDEX(va, level) (((va) >> PTE_SHIFT(level)) & 511)
#define PTE_LEVEL_SIZE(level) (1ull << PTE_SHIFT(level))

#endif
