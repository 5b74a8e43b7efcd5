/* phys_arena: see phys_arena.h. */
#include <stdio.h>
#include <stdlib.h>

#include "core/mm/pmap.h"
#include "test/host/phys_arena.h"

struct phys_window {
	paddr_t pa;
	size_t size;
	uint8_t *host;
};

static struct phys_window phys_windows[16];
static unsigned phys_nwindows;

void phys_arena_add(paddr_t pa, size_t size)
{
	if (phys_nwindows == ARRAY_SIZE(phys_windows))
		abort();
	uint8_t *host = aligned_alloc(PAGE_SIZE, size);
	if (host == NULL)
		abort();
	memset(host, 0, size);
	phys_windows[phys_nwindows++] = (struct phys_window){pa, size, host};
}

void phys_arena_free_all(void)
{
	for (unsigned i = 0; i < phys_nwindows; i++)
		free(phys_windows[i].host);
	phys_nwindows = 0;
}

void *pmap_phys_to_virt(paddr_t pa)
{
	for (unsigned i = 0; i < phys_nwindows; i++)
		if (pa >= phys_windows[i].pa && pa < phys_windows[i].pa + phys_windows[i].size)
			return phys_windows[i].host + (pa - phys_windows[i].pa);
	fprintf(stderr, "phys_arena: %llx is not backed\n", (unsigned long long)pa);
	abort();
}

paddr_t pmap_virt_to_phys(const void *va)
{
	const uint8_t *p = va;

	for (unsigned i = 0; i < phys_nwindows; i++)
		if (p >= phys_windows[i].host && p < phys_windows[i].host + phys_windows[i].size)
			return phys_windows[i].pa + (paddr_t)(p - phys_windows[i].host);
	fprintf(stderr, "phys_arena: %p is not in any window\n", va);
	abort();
}

void pmap_zero_page(paddr_t pa)
{
	memset(pmap_phys_to_virt(pa), 0, PAGE_SIZE);
}

void pmap_copy_page(paddr_t src, paddr_t dst)
{
	memcpy(pmap_phys_to_virt(dst), pmap_phys_to_virt(src), PAGE_SIZE);
}
