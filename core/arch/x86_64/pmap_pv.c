/*
 * The reverse map of the x86-64 pmap (see pmap_priv.h): pv entries in
 * pages of their own, the lists of the mappings of each managed page, the
 * operations pmap.h runs over those lists, and their part of pmap_check.
 * Everything here runs under pmap_lock.
 */
#include "core/arch/x86_64/pmap_priv.h"
#include "core/mm/vm_page.h"

/* One mapping of a managed page, on the page's md list. */
struct pmap_pv {
	struct pmap_pv *next; /* (p) next mapping of the page, or next free entry */
	struct pmap *pmap;    /* (p) NULL while free */
	vaddr_t va;	      /* (p) */
};

/* The head of a page of pv entries; the entries follow it. */
struct pmap_pv_page {
	struct pmap_pv_page *next, *prev; /* (p) pages with a free entry */
	struct pmap_pv *free;		  /* (p) */
	uint64_t used;			  /* (p) */
};

#define PMAP_PV_PER_PAGE ((PAGE_SIZE - sizeof(struct pmap_pv_page)) / sizeof(struct pmap_pv))

static struct pmap_pv_page *pmap_pv_partial;  /* (p) */
static uint64_t pmap_pv_npages, pmap_pv_used; /* (p) */

static void pmap_pv_page_link(struct pmap_pv_page *pg)
{
	pg->prev = NULL;
	pg->next = pmap_pv_partial;
	if (pg->next != NULL)
		pg->next->prev = pg;
	pmap_pv_partial = pg;
}

static void pmap_pv_page_unlink(struct pmap_pv_page *pg)
{
	if (pg->prev != NULL)
		pg->prev->next = pg->next;
	else
		pmap_pv_partial = pg->next;
	if (pg->next != NULL)
		pg->next->prev = pg->prev;
}

/*
 * A page's md is the physical address of its first pv entry (0: none),
 * which fits in 32 bits because pv pages come from below 4 GiB; that is
 * what keeps struct vm_page at 40 bytes.  An entry never sits at physical
 * address 0: the page's header comes first.
 */
static struct pmap_pv *pmap_pv_head(const struct vm_page *m)
{
	return m->md == 0 ? NULL : pmap_phys_to_virt(m->md);
}

static void pmap_pv_set_head(struct vm_page *m, struct pmap_pv *pv)
{
	m->md = pv == NULL ? 0 : (uint32_t)pmap_virt_to_phys(pv);
}

/* A free pv entry, taking one more page when none is left; NULL if none. */
struct pmap_pv *pmap_pv_alloc(void)
{
	struct pmap_pv_page *pg = pmap_pv_partial;

	if (pg == NULL) {
		struct vm_page *m = vm_page_alloc(VM_ALLOC_DMA32);
		if (m == NULL)
			return NULL;
		pg = pmap_phys_to_virt(vm_page_phys(m));
		pg->used = 0;
		pg->free = NULL;
		struct pmap_pv *pv = (struct pmap_pv *)(pg + 1);
		for (size_t i = PMAP_PV_PER_PAGE; i-- > 0;) {
			pv[i] = (struct pmap_pv){pg->free, NULL, 0};
			pg->free = &pv[i];
		}
		pmap_pv_page_link(pg);
		pmap_pv_npages++;
	}
	struct pmap_pv *pv = pg->free;
	pg->free = pv->next;
	if (++pg->used == PMAP_PV_PER_PAGE)
		pmap_pv_page_unlink(pg);
	pmap_pv_used++;
	return pv;
}

/* Returns an entry; its page goes back to vm_page when it empties. */
void pmap_pv_free(struct pmap_pv *pv)
{
	struct pmap_pv_page *pg = (struct pmap_pv_page *)ALIGN_DOWN((uintptr_t)pv, PAGE_SIZE);

	if (pg->used == PMAP_PV_PER_PAGE)
		pmap_pv_page_link(pg);
	*pv = (struct pmap_pv){pg->free, NULL, 0};
	pg->free = pv;
	pmap_pv_used--;
	if (--pg->used == 0) {
		pmap_pv_page_unlink(pg);
		vm_page_free(vm_page_from_phys(pmap_virt_to_phys(pg)));
		pmap_pv_npages--;
	}
}

void pmap_pv_link(struct vm_page *m, struct pmap_pv *pv, struct pmap *pmap, vaddr_t va)
{
	pv->pmap = pmap;
	pv->va = va;
	pv->next = pmap_pv_head(m);
	pmap_pv_set_head(m, pv);
}

/* Takes the entry of (pmap, va) off m's list; it must be there. */
struct pmap_pv *pmap_pv_unlink(struct vm_page *m, struct pmap *pmap, vaddr_t va)
{
	struct pmap_pv *prev = NULL;

	for (struct pmap_pv *pv = pmap_pv_head(m); pv != NULL; prev = pv, pv = pv->next) {
		if (pv->pmap != pmap || pv->va != va)
			continue;
		if (prev == NULL)
			pmap_pv_set_head(m, pv->next);
		else
			prev->next = pv->next;
		return pv;
	}
	panic("pmap_pv_unlink: page %llx has no pv entry for %llx",
	      (unsigned long long)vm_page_phys(m), (unsigned long long)va);
}

/* The leaf of a pv entry's mapping. */
static uint64_t *pmap_pv_pte(const struct pmap_pv *pv)
{
	uint64_t *e = pmap_walk(pv->pmap, pv->va, 0);

	if (e == NULL || !(*e & PMAP_PTE_MANAGED))
		panic("pmap_pv_pte: pv entry for %llx has no managed leaf",
		      (unsigned long long)pv->va);
	return e;
}

/* Whether any mapping of m has one of bits set. */
static bool pmap_page_test(struct vm_page *m, uint64_t bits)
{
	bool any = false;

	irq_lock(&pmap_lock);
	for (struct pmap_pv *pv = pmap_pv_head(m); pv != NULL && !any; pv = pv->next)
		any = (*pmap_pv_pte(pv) & bits) != 0;
	irq_unlock(&pmap_lock);
	return any;
}

/* Clears bits in every mapping of m; the TLB must not keep the old ones. */
static void pmap_page_clear(struct vm_page *m, uint64_t bits)
{
	irq_lock(&pmap_lock);
	for (struct pmap_pv *pv = pmap_pv_head(m); pv != NULL; pv = pv->next) {
		uint64_t *e = pmap_pv_pte(pv), old = *e;
		if (old & bits) {
			*e = old & ~bits;
			pmap_invalidate(pv->pmap, pv->va, old);
		}
	}
	irq_unlock(&pmap_lock);
}

bool pmap_is_referenced(struct vm_page *m)
{
	return pmap_page_test(m, PTE_A);
}

bool pmap_is_modified(struct vm_page *m)
{
	return pmap_page_test(m, PTE_D);
}

void pmap_clear_reference(struct vm_page *m)
{
	pmap_page_clear(m, PTE_A);
}

void pmap_clear_modify(struct vm_page *m)
{
	pmap_page_clear(m, PTE_D);
}

void pmap_page_protect_ro(struct vm_page *m)
{
	pmap_page_clear(m, PTE_W);
}

void pmap_page_remove_all(struct vm_page *m)
{
	irq_lock(&pmap_lock);
	for (struct pmap_pv *pv; (pv = pmap_pv_head(m)) != NULL;)
		pmap_remove_leaf(pv->pmap, pmap_pv_pte(pv), pv->va);
	irq_unlock(&pmap_lock);
}

unsigned pmap_page_mapcount(struct vm_page *m)
{
	unsigned n = 0;

	irq_lock(&pmap_lock);
	for (struct pmap_pv *pv = pmap_pv_head(m); pv != NULL; pv = pv->next)
		n++;
	irq_unlock(&pmap_lock);
	return n;
}

/* Every entry on m's reverse map must be a managed leaf of m. */
void pmap_pv_check_leaf(struct vm_page *m, struct pmap *pmap, vaddr_t va)
{
	bool found = false;

	for (struct pmap_pv *pv = pmap_pv_head(m); pv != NULL; pv = pv->next) {
		if (pv->pmap == NULL || (*pmap_pv_pte(pv) & PTE_ADDR) != vm_page_phys(m))
			panic("pmap_check: page %llx lists a mapping of another page at %llx",
			      (unsigned long long)vm_page_phys(m), (unsigned long long)pv->va);
		found |= pv->pmap == pmap && pv->va == va;
	}
	if (!found)
		panic("pmap_check: leaf %llx of page %llx has no pv entry", (unsigned long long)va,
		      (unsigned long long)vm_page_phys(m));
}

uint64_t pmap_pv_pages(void)
{
	return pmap_pv_npages;
}

/* The pages with free entries, and the entries in use against the managed leaves. */
void pmap_pv_check_pool(uint64_t managed)
{
	uint64_t partial = 0;

	for (struct pmap_pv_page *pg = pmap_pv_partial; pg != NULL; pg = pg->next) {
		uint64_t free = 0;
		for (struct pmap_pv *pv = pg->free; pv != NULL; pv = pv->next, free++)
			KASSERT(pv->pmap == NULL && free < PMAP_PV_PER_PAGE);
		KASSERT(pg->used > 0 && pg->used + free == PMAP_PV_PER_PAGE);
		KASSERT(pg->prev == NULL ? pmap_pv_partial == pg : pg->prev->next == pg);
		partial++;
	}
	if (managed != pmap_pv_used || partial > pmap_pv_npages ||
	    pmap_pv_used > pmap_pv_npages * PMAP_PV_PER_PAGE)
		panic("pmap_check: %llu managed leaves, %llu pv entries in use in %llu pages",
		      (unsigned long long)managed, (unsigned long long)pmap_pv_used,
		      (unsigned long long)pmap_pv_npages);
}
