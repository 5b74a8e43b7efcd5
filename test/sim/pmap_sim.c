/* The software MMU: see pmap_sim.h. */
#include <stdlib.h>

#include "core/mm/malloc.h"
#include "core/mm/vm_page.h"
#include "test/host/phys_arena.h"
#include "test/sim/pmap_sim.h"

#define SIM_BUCKETS 4096

struct sim_pte {
	vaddr_t va;
	paddr_t pa;
	vm_prot_t prot;
	unsigned flags;
	bool referenced, modified; /* what the MMU's accessed/dirty bits would say */
	struct sim_pte *next;
};

struct pmap {
	struct sim_pte *bucket[SIM_BUCKETS];
	size_t count;
	struct pmap *next_pmap; /* every pmap, for the reverse-map scans */
};

static struct pmap sim_kernel;
static struct pmap *sim_pmaps = &sim_kernel;

static struct sim_pte **sim_slot(struct pmap *p, vaddr_t va)
{
	struct sim_pte **s = &p->bucket[(va >> PAGE_SHIFT) % SIM_BUCKETS];

	while (*s != NULL && (*s)->va != va)
		s = &(*s)->next;
	return s;
}

void pmap_sim_init(size_t bytes)
{
	struct vm_phys_range r = {1u << 20, bytes / PAGE_SIZE};

	phys_arena_add(r.base, bytes);
	if (vm_page_startup(&r, 1, 0) <= 0)
		abort();
	mm_malloc_init();
}

struct pmap *pmap_kernel(void)
{
	return &sim_kernel;
}

int pmap_create(struct pmap **out)
{
	*out = calloc(1, sizeof(struct pmap));
	if (*out == NULL)
		return -ENOMEM;
	(*out)->next_pmap = sim_pmaps;
	sim_pmaps = *out;
	return 0;
}

void pmap_destroy(struct pmap *pmap)
{
	KASSERT(pmap->count == 0);
	for (struct pmap **p = &sim_pmaps; *p != NULL; p = &(*p)->next_pmap)
		if (*p == pmap) {
			*p = pmap->next_pmap;
			break;
		}
	free(pmap);
}

void pmap_activate(struct pmap *pmap)
{
	(void)pmap;
}

int pmap_enter(struct pmap *pmap, vaddr_t va, paddr_t pa, vm_prot_t prot, unsigned flags)
{
	KASSERT(IS_ALIGNED(va | pa, PAGE_SIZE));
	struct sim_pte **s = sim_slot(pmap, va);
	if (*s == NULL) {
		*s = calloc(1, sizeof(**s));
		if (*s == NULL)
			return -ENOMEM;
		(*s)->va = va;
		pmap->count++;
	}
	if ((*s)->pa != pa)
		(*s)->referenced = (*s)->modified = false;
	(*s)->pa = pa;
	(*s)->prot = prot;
	(*s)->flags = flags;
	return 0;
}

void pmap_remove(struct pmap *pmap, vaddr_t start, vaddr_t end)
{
	/* walk the table, not the range: ranges may span terabytes */
	for (size_t b = 0; b < SIM_BUCKETS; b++)
		for (struct sim_pte **s = &pmap->bucket[b]; *s != NULL;) {
			if ((*s)->va >= start && (*s)->va < end) {
				struct sim_pte *dead = *s;
				*s = dead->next;
				free(dead);
				pmap->count--;
			} else {
				s = &(*s)->next;
			}
		}
}

void pmap_protect(struct pmap *pmap, vaddr_t start, vaddr_t end, vm_prot_t prot)
{
	for (size_t b = 0; b < SIM_BUCKETS; b++)
		for (struct sim_pte *s = pmap->bucket[b]; s != NULL; s = s->next)
			if (s->va >= start && s->va < end)
				s->prot &= prot;
}

bool pmap_extract(struct pmap *pmap, vaddr_t va, paddr_t *pa)
{
	struct sim_pte *s = *sim_slot(pmap, ALIGN_DOWN(va, PAGE_SIZE));

	if (s == NULL)
		return false;
	*pa = s->pa + (va & PAGE_MASK);
	return true;
}

size_t pmap_sim_count(struct pmap *pmap)
{
	return pmap->count;
}

int pmap_sim_access(struct vm_map *map, vaddr_t va, vm_prot_t access, bool user)
{
	for (int attempt = 0;; attempt++) {
		struct sim_pte *s = *sim_slot(map->pmap, ALIGN_DOWN(va, PAGE_SIZE));
		if (s != NULL && (access & ~s->prot) == 0 && (!user || (s->flags & PMAP_USER))) {
			s->referenced = true;
			s->modified |= (access & VM_PROT_WRITE) != 0;
			return 0;
		}
		if (attempt == 1)
			return -EFAULT;
		int err = vm_fault(map, va, access, user);
		if (err < 0)
			return err;
	}
}

static int pmap_sim_copy(struct vm_map *map, vaddr_t va, void *buf, size_t len, bool write)
{
	while (len > 0) {
		size_t n = MIN(len, PAGE_SIZE - (va & PAGE_MASK));
		paddr_t pa;
		int err = pmap_sim_access(map, va, write ? VM_PROT_WRITE : VM_PROT_READ, false);
		if (err < 0)
			return err;
		pmap_extract(map->pmap, va, &pa);
		uint8_t *p = pmap_phys_to_virt(pa);
		if (write)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		va += n;
		buf = (uint8_t *)buf + n;
		len -= n;
	}
	return 0;
}

int pmap_sim_read(struct vm_map *map, vaddr_t va, void *buf, size_t len)
{
	return pmap_sim_copy(map, va, buf, len, false);
}

int pmap_sim_write(struct vm_map *map, vaddr_t va, const void *buf, size_t len)
{
	return pmap_sim_copy(map, va, (void *)buf, len, true);
}

/*
 * The reverse map, by scanning every translation of every pmap: slow, and
 * simple enough to be obviously right, which is what a test double needs.
 * fn returns true to count the translation; remove unlinks it.
 */
static unsigned sim_each_mapping(struct vm_page *m, bool (*fn)(struct sim_pte *s), bool remove)
{
	paddr_t pa = vm_page_phys(m);
	unsigned n = 0;

	for (struct pmap *p = sim_pmaps; p != NULL; p = p->next_pmap)
		for (size_t b = 0; b < SIM_BUCKETS; b++)
			for (struct sim_pte **s = &p->bucket[b]; *s != NULL;) {
				if ((*s)->pa != pa) {
					s = &(*s)->next;
					continue;
				}
				n += fn(*s);
				if (!remove) {
					s = &(*s)->next;
					continue;
				}
				struct sim_pte *dead = *s;
				*s = dead->next;
				free(dead);
				p->count--;
			}
	return n;
}

static bool sim_is_referenced(struct sim_pte *s)
{
	return s->referenced;
}

static bool sim_is_modified(struct sim_pte *s)
{
	return s->modified;
}

static bool sim_clear_referenced(struct sim_pte *s)
{
	s->referenced = false;
	return true;
}

static bool sim_clear_modified(struct sim_pte *s)
{
	s->modified = false;
	return true;
}

static bool sim_read_only(struct sim_pte *s)
{
	s->prot &= (vm_prot_t)~VM_PROT_WRITE;
	return true;
}

bool pmap_is_referenced(struct vm_page *m)
{
	return sim_each_mapping(m, sim_is_referenced, false) > 0;
}

bool pmap_is_modified(struct vm_page *m)
{
	return sim_each_mapping(m, sim_is_modified, false) > 0;
}

void pmap_clear_reference(struct vm_page *m)
{
	sim_each_mapping(m, sim_clear_referenced, false);
}

void pmap_clear_modify(struct vm_page *m)
{
	sim_each_mapping(m, sim_clear_modified, false);
}

void pmap_page_protect_ro(struct vm_page *m)
{
	sim_each_mapping(m, sim_read_only, false);
}

void pmap_page_remove_all(struct vm_page *m)
{
	sim_each_mapping(m, sim_read_only, true);
}

static bool sim_count(struct sim_pte *s)
{
	(void)s;
	return true;
}

unsigned pmap_page_mapcount(struct vm_page *m)
{
	return sim_each_mapping(m, sim_count, false);
}
