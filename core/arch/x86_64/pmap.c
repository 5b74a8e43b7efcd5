/*
 * The x86-64 pmap: 4-level page tables with 4 KiB leaves for everything
 * the VM maps (the direct map's large pages belong to pmap_boot).
 *
 * The kernel pmap adopts the boot tables.  A user pmap gets a PML4 whose
 * upper half (slots 256..511) copies the kernel's entries; those point at
 * the same lower-level tables, so kernel mappings below them are shared.
 * Leaves get NX unless the mapping is executable, G in the kernel half, U
 * for PMAP_USER, PCD|PWT for PMAP_NOCACHE.
 *
 * TLB: one invlpg per page for small ranges, a full flush past
 * PMAP_FLUSH_ALL pages, where that is cheaper than many invlpg (a CR3
 * reload for user ranges, a PGE toggle for the global kernel half).
 * Page-table pages count their present entries (pmap_table_ref) and are
 * freed when the count drops to zero.
 * Reverse map: every mapping of a managed page (one with a vm_page, not
 * PMAP_UNMANAGED) has a pv entry on the page's md list, so the page's
 * mappings can be found for referenced/modified bits, write-protection
 * and removal.  pv entries come from kernel malloc (slab), which never
 * maps pages through a pmap, so there is no recursion.
 */
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/pmap_boot.h"
#include "core/arch/x86_64/pte.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

#define PMAP_FLUSH_ALL 32

struct pmap {
	uint64_t pml4;          /* (c) physical address */
	struct spinlock lock;
};

/* One mapping of a managed page: on the page's md list. */
struct pmap_pv {
	struct pmap *pmap;
	vaddr_t va;
	struct pmap_pv *next;
};

static struct spinlock pmap_pv_lock = SPINLOCK_INIT("pmap pv");

/* The managed page a leaf maps, or NULL. */
static struct vm_page *pmap_leaf_page(uint64_t pte)
{
	return (pte & PTE_P) && (pte & PTE_MANAGED) ? vm_page_from_phys(pte & PTE_ADDR) : NULL;
}

static void pmap_pv_remove(struct vm_page *m, struct pmap *pmap, vaddr_t va)
{
	spin_lock(&pmap_pv_lock);
	for (struct pmap_pv **p = (struct pmap_pv **)&m->md; *p != NULL; p = &(*p)->next)
		if ((*p)->pmap == pmap && (*p)->va == va) {
			struct pmap_pv *dead = *p;
			*p = dead->next;
			spin_unlock(&pmap_pv_lock);
			DELETE(dead);
			return;
		}
	spin_unlock(&pmap_pv_lock);
	panic("pmap_pv_remove: no pv for %llx", (unsigned long long)va);
}

static struct pmap pmap_kernel_store = {0, SPINLOCK_INIT("pmap kernel")};

struct pmap *pmap_kernel(void)
{
	if (pmap_kernel_store.pml4 == 0)
		pmap_kernel_store.pml4 = pmap_boot_pml4;
	return &pmap_kernel_store;
}

int pmap_create(struct pmap **out)
{
	struct pmap *p = NEW(struct pmap);
	uint64_t pml4 = p != NULL ? pmap_boot_alloc_page() : 0;
	if (pml4 == 0) {
		DELETE(p);
		return -ENOMEM;
	}
	const uint64_t *k = pmap_phys_to_virt(pmap_kernel()->pml4);
	memcpy((uint64_t *)pmap_phys_to_virt(pml4) + 256, k + 256, 256 * sizeof(uint64_t));
	p->pml4 = pml4;
	spin_init(&p->lock, "pmap user");
	*out = p;
	return 0;
}

void pmap_destroy(struct pmap *pmap)
{
	KASSERT(pmap != pmap_kernel());
	struct vm_page *m = vm_page_from_phys(pmap->pml4);
	m->flags &= ~VM_PAGE_PTABLE;
	vm_page_free(m);
	DELETE(pmap);
}

void pmap_activate(struct pmap *pmap)
{
	write_cr3(pmap->pml4);
}

static uint64_t pmap_pte_bits(vaddr_t va, vm_prot_t prot, unsigned flags)
{
	uint64_t bits = PTE_P;

	if (prot & VM_PROT_WRITE)
		bits |= PTE_W;
	if (!(prot & VM_PROT_EXECUTE))
		bits |= PTE_NX;
	if (flags & PMAP_USER)
		bits |= PTE_U;
	if (flags & PMAP_NOCACHE)
		bits |= PTE_PCD | PTE_PWT;
	if (va >= DIRECT_MAP_BASE)
		bits |= PTE_G;
	return bits;
}

int pmap_enter(struct pmap *pmap, vaddr_t va, paddr_t pa, vm_prot_t prot, unsigned flags)
{
	KASSERT(IS_ALIGNED(va | pa, PAGE_SIZE));
	struct vm_page *m = (flags & PMAP_UNMANAGED) ? NULL : vm_page_from_phys(pa);
	struct pmap_pv *pv = m != NULL ? NEW(struct pmap_pv) : NULL;
	if (m != NULL && pv == NULL)
		return -ENOMEM;
	spin_lock(&pmap->lock);
	uint64_t *e = pmap_walk(pmap->pml4, va, 0, true);
	if (e == NULL) {
		spin_unlock(&pmap->lock);
		DELETE(pv);
		return -ENOMEM;
	}
	uint64_t old = *e;
	struct vm_page *old_m = pmap_leaf_page(old);
	if (old_m == m && m != NULL) {
		DELETE(pv); /* same page, new protection: its pv stays */
		pv = NULL;
	} else if (old_m != NULL) {
		pmap_pv_remove(old_m, pmap, va);
	}
	*e = pa | pmap_pte_bits(va, prot, flags) | (m != NULL ? PTE_MANAGED : 0);
	if (old & PTE_P)
		invlpg(va);
	else
		pmap_table_ref(pmap_virt_to_phys(e) & ~(uint64_t)PAGE_MASK, 1);
	if (pv != NULL) {
		pv->pmap = pmap;
		pv->va = va;
		spin_lock(&pmap_pv_lock);
		pv->next = m->md;
		m->md = pv;
		spin_unlock(&pmap_pv_lock);
	}
	spin_unlock(&pmap->lock);
	return 0;
}

/*
 * Flushes the whole TLB.  Reloading CR3 keeps global translations, and
 * every kernel-half leaf is global, so for those PGE is toggled off and on,
 * which drops everything.
 */
static void pmap_flush_all(bool global)
{
	if (global) {
		uint64_t cr4 = read_cr4();
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
	} else {
		write_cr3(read_cr3());
	}
}

/* Applies fn to every present leaf in [start, end); flushes the TLB. */
static void pmap_range(struct pmap *pmap, vaddr_t start, vaddr_t end,
		       void (*fn)(struct pmap *pmap, uint64_t *e, vaddr_t va, uint64_t arg),
		       uint64_t arg)
{
	size_t n = 0;

	KASSERT(IS_ALIGNED(start | end, PAGE_SIZE) && start <= end);
	spin_lock(&pmap->lock);
	for (vaddr_t va = start; va < end;) {
		uint64_t *e = pmap_walk(pmap->pml4, va, 0, false);
		if (e == NULL) {
			/* no table here: skip to the next 2 MiB boundary */
			va = ALIGN_DOWN(va, PTE_LEVEL_SIZE(1)) + PTE_LEVEL_SIZE(1);
			continue;
		}
		if (*e & PTE_P) {
			fn(pmap, e, va, arg);
			if (n++ < PMAP_FLUSH_ALL)
				invlpg(va);
		}
		va += PAGE_SIZE;
	}
	if (n > PMAP_FLUSH_ALL)
		pmap_flush_all(start >= DIRECT_MAP_BASE);
	spin_unlock(&pmap->lock);
}

/*
 * Clears a leaf, then frees the tables that become empty, bottom up: e is
 * an entry of the table at `level`; when that table's count reaches zero
 * the entry pointing at it (found by walking from the top) is cleared and
 * the table freed.  PDPTs of the kernel half stay: every user PML4 holds a
 * copy of the kernel PML4 entries that point at them.  PML4s are freed
 * only by pmap_destroy.
 */
static void pmap_clear_leaf(struct pmap *pmap, uint64_t *e, vaddr_t va, uint64_t arg __unused)
{
	struct vm_page *m = pmap_leaf_page(*e);

	if (m != NULL)
		pmap_pv_remove(m, pmap, va);
	*e = 0;
	for (int level = 0; level <= 3; level++) {
		uint64_t table = pmap_virt_to_phys(e) & ~(uint64_t)PAGE_MASK;
		if (pmap_table_ref(table, -1) != 0 || level == 3 || (level == 2 && va >= DIRECT_MAP_BASE))
			return;
		uint64_t *parent = pmap_walk(pmap->pml4, va, level + 1, false);
		KASSERT(parent != NULL && (*parent & PTE_ADDR) == table);
		struct vm_page *m = vm_page_from_phys(table);
		*parent = 0;
		m->flags &= ~VM_PAGE_PTABLE;
		m->pindex = 0;
		vm_page_free(m);
		e = parent;
	}
}

static void pmap_lower_leaf(struct pmap *pmap, uint64_t *e, vaddr_t va,
			    uint64_t prot)
{
	if (!(prot & VM_PROT_WRITE))
		*e &= ~PTE_W;
	if (!(prot & VM_PROT_EXECUTE))
		*e |= PTE_NX;
	if (!(prot & VM_PROT_READ))
		pmap_clear_leaf(pmap, e, va, 0);
}

void pmap_remove(struct pmap *pmap, vaddr_t start, vaddr_t end)
{
	pmap_range(pmap, start, end, pmap_clear_leaf, 0);
}

void pmap_protect(struct pmap *pmap, vaddr_t start, vaddr_t end, vm_prot_t prot)
{
	pmap_range(pmap, start, end, pmap_lower_leaf, prot);
}

bool pmap_extract(struct pmap *pmap, vaddr_t va, paddr_t *pa)
{
	uint64_t *e;
	int level;

	/* the direct map uses large pages: look at every level */
	for (level = 0; level < 3; level++) {
		e = pmap_walk(pmap->pml4, va, level, false);
		if (e != NULL)
			break;
	}
	if (e == NULL || !(*e & PTE_P) || (level > 0 && !(*e & PTE_PS)))
		return false;
	*pa = (*e & PTE_ADDR & ~(PTE_LEVEL_SIZE(level) - 1)) | (va & (PTE_LEVEL_SIZE(level) - 1));
	return true;
}

/* Applies fn to the leaf of every mapping of m; returns true if any fn did. */
static bool pmap_pv_each(struct vm_page *m, bool (*fn)(struct pmap *pmap, uint64_t *e, vaddr_t va))
{
	bool any = false;

	for (struct pmap_pv *pv = m->md, *next; pv != NULL; pv = next) {
		next = pv->next; /* fn may remove pv */
		uint64_t *e = pmap_walk(pv->pmap->pml4, pv->va, 0, false);
		KASSERT(e != NULL && (*e & PTE_ADDR) == vm_page_phys(m));
		spin_lock(&pv->pmap->lock);
		struct pmap *pmap = pv->pmap;
		any |= fn(pmap, e, pv->va);
		spin_unlock(&pmap->lock);
	}
	return any;
}

static bool pmap_pv_referenced(struct pmap *p __unused, uint64_t *e, vaddr_t va __unused)
{
	return *e & PTE_A;
}

static bool pmap_pv_modified(struct pmap *p __unused, uint64_t *e, vaddr_t va __unused)
{
	return *e & PTE_D;
}

static bool pmap_pv_clear_a(struct pmap *p __unused, uint64_t *e, vaddr_t va)
{
	*e &= ~PTE_A;
	invlpg(va);
	return false;
}

static bool pmap_pv_clear_d(struct pmap *p __unused, uint64_t *e, vaddr_t va)
{
	*e &= ~PTE_D;
	invlpg(va);
	return false;
}

static bool pmap_pv_ro(struct pmap *p __unused, uint64_t *e, vaddr_t va)
{
	*e &= ~PTE_W;
	invlpg(va);
	return false;
}

static bool pmap_pv_unmap(struct pmap *p, uint64_t *e, vaddr_t va)
{
	pmap_clear_leaf(p, e, va, 0);
	invlpg(va);
	return false;
}

bool pmap_is_referenced(struct vm_page *m)
{
	return pmap_pv_each(m, pmap_pv_referenced);
}

bool pmap_is_modified(struct vm_page *m)
{
	return pmap_pv_each(m, pmap_pv_modified);
}

void pmap_clear_reference(struct vm_page *m)
{
	pmap_pv_each(m, pmap_pv_clear_a);
}

void pmap_clear_modify(struct vm_page *m)
{
	pmap_pv_each(m, pmap_pv_clear_d);
}

void pmap_page_protect_ro(struct vm_page *m)
{
	pmap_pv_each(m, pmap_pv_ro);
}

void pmap_page_remove_all(struct vm_page *m)
{
	pmap_pv_each(m, pmap_pv_unmap);
}

unsigned pmap_page_mapcount(struct vm_page *m)
{
	unsigned n = 0;

	for (struct pmap_pv *pv = m->md; pv != NULL; pv = pv->next)
		n++;
	return n;
}
