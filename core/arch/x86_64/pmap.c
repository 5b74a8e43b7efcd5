/*
 * The x86-64 pmap engine: page tables, their statistics and the checker
 * (the design is in pmap_priv.h; the reverse map is in pmap_pv.c).  The
 * same sources run in the kernel and, compiled into test/sim/pmap_sim.c,
 * on the host over simulated memory: they reach the CPU only through the
 * pmap_md_* hooks and physical memory only through pmap_phys_to_virt.
 */
#include "core/arch/x86_64/pmap_md.h"
#include "core/arch/x86_64/pmap_priv.h"
#include "core/boot_info.h"
#include "core/mm/malloc.h"
#include "core/mm/vm_page.h"

/* TLB work gathered over one call on one pmap (see pmap_priv.h). */
struct pmap_flush {
	struct pmap *pmap;
	unsigned n;
	bool global;
	vaddr_t va[PMAP_FLUSH_ALL];
};

/* Table pages taken before a change, so that it cannot fail half done. */
struct pmap_reserve {
	int n;
	paddr_t page[3];
};

/* Leaf visitor of pmap_range; returns true if it freed the leaf's table. */
typedef bool (*pmap_leaf_fn)(struct pmap *pmap, uint64_t *e, vaddr_t va, vm_prot_t prot,
			     struct pmap_flush *fl);

struct irq_lock pmap_lock = IRQ_LOCK_INIT("pmap");
static struct pmap pmap_kernel_store;				     /* (p) */
static struct pmap pmap_users = {.next = &pmap_users, .prev = &pmap_users}; /* (p) list head */
static struct pmap *pmap_current = &pmap_kernel_store;		     /* (p) */
static paddr_t (*pmap_early_alloc)(void);			     /* (p) */

static uint64_t *pmap_table(paddr_t pa)
{
	return pmap_phys_to_virt(pa);
}

static bool pmap_is_kernel_va(vaddr_t va)
{
	return va >= PMAP_KERNEL_START;
}

/* Bit 47 copied into bits 48..63: the canonical form of a 48-bit address. */
static vaddr_t pmap_canonical(vaddr_t va)
{
	return (va & (1ull << 47)) ? va | 0xffff000000000000ull : va;
}

/* The vm_page counting a table's entries; NULL for tables carved at boot. */
static struct vm_page *pmap_ptp(paddr_t table)
{
	struct vm_page *m = vm_page_from_phys(table);

	return m != NULL && (m->flags & VM_PAGE_PTABLE) ? m : NULL;
}

/* Adds delta to the count of the table holding e; the new count, or -1. */
static int pmap_ptp_count(uint64_t *e, int delta)
{
	struct vm_page *m = pmap_ptp(pmap_virt_to_phys(e) & ~(paddr_t)PAGE_MASK);

	if (m == NULL)
		return -1;
	if (delta > 0 ? m->pindex >= 512 : m->pindex == 0)
		panic("pmap_ptp_count: table %llx would count %lld entries",
		      (unsigned long long)vm_page_phys(m), (long long)m->pindex + delta);
	m->pindex += (uint64_t)(int64_t)delta;
	return (int)m->pindex;
}

/* A zeroed table page, 0 when none is left. */
static paddr_t pmap_ptp_alloc(void)
{
	if (pmap_early_alloc != NULL)
		return pmap_early_alloc();
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);
	if (m == NULL)
		return 0;
	m->flags |= VM_PAGE_PTABLE;
	m->pindex = 0;
	return vm_page_phys(m);
}

static void pmap_ptp_free(struct vm_page *m)
{
	KASSERT(m->pindex == 0);
	m->flags &= (uint16_t)~VM_PAGE_PTABLE;
	vm_page_free(m);
}

/* A new kernel PML4 entry goes into every user PML4 at once. */
static void pmap_share_slot(unsigned slot, uint64_t entry)
{
	for (struct pmap *p = pmap_users.next; p != &pmap_users; p = p->next)
		pmap_table(p->pml4)[slot] = entry;
}

/* Links the table page pa below the absent entry e (at level, on va's path). */
static void pmap_grow(struct pmap *pmap, uint64_t *e, vaddr_t va, int level, paddr_t pa)
{
	/* U on every table above user addresses, so that leaves alone decide */
	*e = pa | PTE_P | PTE_W | (pmap_is_kernel_va(va) ? 0 : PTE_U);
	pmap_ptp_count(e, 1);
	pmap->tables++;
	if (level == 3 && pmap_is_kernel_va(va)) {
		KASSERT(pmap == &pmap_kernel_store);
		pmap_share_slot(PTE_INDEX(va, 3), *e);
	}
}

/*
 * The one page-table walker.  Fills path[l] with the entry of va at level
 * l, from the PML4 down to `level`, linking the reserved pages of res as
 * tables where they are missing.  Returns the lowest level reached:
 * `level`, or a higher one where the path stops at an absent entry (no
 * res) or at a large page.
 */
static int pmap_descend(struct pmap *pmap, vaddr_t va, int level, struct pmap_reserve *res,
			uint64_t *path[4])
{
	uint64_t *e = pmap_table(pmap->pml4) + PTE_INDEX(va, 3);

	for (int l = 3;; l--) {
		path[l] = e;
		if (l == level)
			return l;
		if (!(*e & PTE_P)) {
			if (res == NULL)
				return l;
			KASSERT(res->n > 0);
			pmap_grow(pmap, e, va, l, res->page[--res->n]);
		}
		if (*e & PTE_PS)
			return l;
		e = pmap_table(*e & PTE_ADDR) + PTE_INDEX(va, l - 1);
	}
}

static void pmap_unreserve(struct pmap_reserve *res)
{
	while (res->n > 0) {
		struct vm_page *m = pmap_ptp(res->page[--res->n]);
		if (m != NULL) /* boot pages cannot go back; the boot panics anyway */
			pmap_ptp_free(m);
	}
}

/*
 * Walks to va's entry at `level` and takes the table pages its path lacks,
 * all or none, so that the caller can still fail without having changed
 * anything.  Returns the lowest level reached, as pmap_descend, or -1 when
 * pages ran out.
 */
static int pmap_reserve(struct pmap *pmap, vaddr_t va, int level, uint64_t *path[4],
			struct pmap_reserve *res)
{
	int low = pmap_descend(pmap, va, level, NULL, path);

	res->n = 0;
	if (low != level && (*path[low] & PTE_PS))
		return low;
	if (pmap->tables_max != 0 && pmap->tables + (uint64_t)(low - level) > pmap->tables_max)
		return -1;
	while (res->n < low - level) {
		paddr_t pa = pmap_ptp_alloc();
		if (pa == 0) {
			pmap_unreserve(res);
			return -1;
		}
		res->page[res->n++] = pa;
	}
	return low;
}

uint64_t *pmap_walk(struct pmap *pmap, vaddr_t va, int level)
{
	uint64_t *path[4];

	return pmap_descend(pmap, va, level, NULL, path) == level ? path[level] : NULL;
}

/*
 * Frees the tables on va's path that are empty, bottom up, stopping at
 * the first that is not (or is a boot table, or must stay: the PML4 and
 * the kernel's PDPTs).  Returns true if the page table itself went.
 */
static bool pmap_prune(struct pmap *pmap, vaddr_t va)
{
	uint64_t *path[4];
	int low = pmap_descend(pmap, va, 0, NULL, path);
	bool freed_pt = false;

	/* the table of level l exists for l >= low; path[l + 1] points at it */
	for (int l = low; l < 3; l++) {
		if (l == 2 && pmap_is_kernel_va(va))
			break;
		struct vm_page *m = pmap_ptp(*path[l + 1] & PTE_ADDR);
		if (m == NULL || m->pindex != 0)
			break;
		*path[l + 1] = 0;
		pmap_ptp_count(path[l + 1], -1);
		pmap_ptp_free(m);
		pmap->tables--;
		freed_pt |= l == 0;
	}
	return freed_pt;
}

/* Whether the TLB can hold entries of pmap: the kernel's are everywhere. */
static bool pmap_is_live(struct pmap *pmap)
{
	return pmap == &pmap_kernel_store || pmap == pmap_current;
}

/* Flushes va now if the TLB may hold the old leaf. */
void pmap_invalidate(struct pmap *pmap, vaddr_t va, uint64_t old)
{
	if ((old & PTE_A) && pmap_is_live(pmap))
		pmap_md_invalidate_page(va);
}

static void pmap_flush_add(struct pmap_flush *f, vaddr_t va, uint64_t old, bool table_freed)
{
	if (!(old & PTE_A) && !table_freed)
		return;
	if (f->n < PMAP_FLUSH_ALL)
		f->va[f->n] = va;
	f->n++;
	f->global |= (old & PTE_G) != 0;
}

static void pmap_flush_run(struct pmap_flush *f)
{
	if (f->n == 0 || !pmap_is_live(f->pmap))
		return;
	if (f->n > PMAP_FLUSH_ALL) {
		pmap_md_invalidate_all(f->global);
		return;
	}
	for (unsigned i = 0; i < f->n; i++)
		pmap_md_invalidate_page(f->va[i]);
}

/*
 * Clears the 4 KiB leaf e of va: its pv entry goes, its dirty bit passes
 * to the page, its tables go when empty.  Returns true if e's page table
 * was freed.
 */
static bool pmap_remove_pte(struct pmap *pmap, uint64_t *e, vaddr_t va, vm_prot_t prot __unused,
			    struct pmap_flush *fl)
{
	uint64_t old = *e;
	bool freed = false;

	*e = 0;
	if (old & PMAP_PTE_MANAGED) {
		struct vm_page *m = vm_page_from_phys(old & PTE_ADDR);
		pmap_pv_free(pmap_pv_unlink(m, pmap, va));
		if (old & PTE_D)
			m->flags |= VM_PAGE_DIRTY;
	}
	KASSERT(pmap->resident > 0);
	pmap->resident--;
	pmap->wired -= (old & PMAP_PTE_WIRED) != 0;
	if (pmap_ptp_count(e, -1) == 0)
		freed = pmap_prune(pmap, va);
	pmap_flush_add(fl, va, old, freed);
	return freed;
}

void pmap_remove_leaf(struct pmap *pmap, uint64_t *e, vaddr_t va)
{
	struct pmap_flush fl = {.pmap = pmap};

	pmap_remove_pte(pmap, e, va, VM_PROT_NONE, &fl);
	pmap_flush_run(&fl);
}

/* Lowers the protection of leaf e to prot (which includes read). */
static bool pmap_protect_pte(struct pmap *pmap __unused, uint64_t *e, vaddr_t va, vm_prot_t prot,
			     struct pmap_flush *fl)
{
	uint64_t old = *e, pte = old;

	if (!(prot & VM_PROT_WRITE))
		pte &= ~PTE_W;
	if (!(prot & VM_PROT_EXECUTE))
		pte |= PTE_NX;
	if (pte != old) {
		*e = pte;
		pmap_flush_add(fl, va, old, false);
	}
	return false;
}

/* Applies fn to the present leaves of the page table e points into: n at most. */
static uint64_t pmap_range_table(struct pmap *pmap, uint64_t *e, vaddr_t va, uint64_t n,
				 pmap_leaf_fn fn, vm_prot_t prot, struct pmap_flush *fl)
{
	for (uint64_t i = 0; i < n; i++, va += PAGE_SIZE)
		if ((e[i] & PTE_P) && fn(pmap, &e[i], va, prot, fl))
			return i + 1; /* the table is gone: walk again */
	return n;
}

/*
 * Applies fn to every 4 KiB leaf in [start, end), skipping a whole table's
 * span where an upper entry is absent.  Counting pages rather than
 * comparing addresses keeps a range that ends at 2^64 finite.
 */
static void pmap_range(struct pmap *pmap, vaddr_t start, vaddr_t end, pmap_leaf_fn fn,
		       vm_prot_t prot)
{
	struct pmap_flush fl = {.pmap = pmap};
	uint64_t *path[4];

	KASSERT(IS_ALIGNED(start | end, PAGE_SIZE) && start <= end);
	KASSERT(start == end || end <= PMAP_USER_END || start >= PMAP_KERNEL_START);
	irq_lock(&pmap_lock);
	for (uint64_t left = (end - start) >> PAGE_SHIFT; left > 0;) {
		int low = pmap_descend(pmap, start, 0, NULL, path);
		uint64_t n;
		if (low == 0) {
			n = pmap_range_table(pmap, path[0], start,
					     MIN(left, 512 - PTE_INDEX(start, 0)), fn, prot, &fl);
		} else if (*path[low] & PTE_PS) {
			panic("pmap_range: %llx lies in a large page", (unsigned long long)start);
		} else {
			uint64_t span = PTE_LEVEL_SIZE(low);
			n = MIN(left, (span - (start & (span - 1))) >> PAGE_SHIFT);
		}
		start += n << PAGE_SHIFT;
		left -= n;
	}
	pmap_flush_run(&fl);
	irq_unlock(&pmap_lock);
}

void pmap_remove(struct pmap *pmap, vaddr_t start, vaddr_t end)
{
	pmap_range(pmap, start, end, pmap_remove_pte, VM_PROT_NONE);
}

void pmap_protect(struct pmap *pmap, vaddr_t start, vaddr_t end, vm_prot_t prot)
{
	/* x86 has no present page that cannot be read */
	if (!(prot & VM_PROT_READ))
		pmap_remove(pmap, start, end);
	else
		pmap_range(pmap, start, end, pmap_protect_pte, prot);
}

static uint64_t pmap_pte_bits(vaddr_t va, paddr_t pa, vm_prot_t prot, unsigned flags)
{
	uint64_t pte = pa | PTE_P;

	if (prot & VM_PROT_WRITE)
		pte |= PTE_W;
	if (!(prot & VM_PROT_EXECUTE))
		pte |= PTE_NX;
	if (flags & PMAP_USER)
		pte |= PTE_U;
	if (flags & PMAP_NOCACHE)
		pte |= PTE_PCD | PTE_PWT;
	if (flags & PMAP_WIRED)
		pte |= PMAP_PTE_WIRED;
	if (pmap_is_kernel_va(va))
		pte |= PTE_G;
	return pte;
}

/*
 * The pv entry the new leaf needs: none for an unmanaged page or the same
 * page again, else the old page's entry moved over or a fresh one.  The
 * old page loses its entry either way.  *err is -ENOMEM if none is left.
 */
static struct pmap_pv *pmap_enter_pv(struct pmap *pmap, vaddr_t va, struct vm_page *m,
				     struct vm_page *old_m, int *err)
{
	struct pmap_pv *pv = NULL;

	*err = 0;
	if (m == old_m)
		return NULL;
	if (old_m != NULL)
		pv = pmap_pv_unlink(old_m, pmap, va);
	if (m == NULL) {
		if (pv != NULL)
			pmap_pv_free(pv);
		return NULL;
	}
	if (pv == NULL && (pv = pmap_pv_alloc()) == NULL)
		*err = -ENOMEM;
	return pv;
}

int pmap_enter(struct pmap *pmap, vaddr_t va, paddr_t pa, vm_prot_t prot, unsigned flags)
{
	KASSERT(IS_ALIGNED(va | pa, PAGE_SIZE) && (prot & VM_PROT_ALL) != 0);
	if (pmap_is_kernel_va(va) ? pmap != &pmap_kernel_store || (flags & PMAP_USER)
				  : va >= PMAP_USER_END)
		panic("pmap_enter: %llx is not for this pmap (flags %x)", (unsigned long long)va,
		      flags);
	struct vm_page *m = (flags & PMAP_UNMANAGED) ? NULL : vm_page_from_phys(pa);
	uint64_t pte = pmap_pte_bits(va, pa, prot, flags) | (m != NULL ? PMAP_PTE_MANAGED : 0);
	struct pmap_reserve res;
	uint64_t *path[4];
	int err;

	irq_lock(&pmap_lock);
	int low = pmap_reserve(pmap, va, 0, path, &res);
	if (low < 0) {
		irq_unlock(&pmap_lock);
		return -ENOMEM;
	}
	if (low != 0 && (*path[low] & PTE_PS))
		panic("pmap_enter: %llx lies in a large page", (unsigned long long)va);
	uint64_t old = low == 0 ? *path[0] : 0;
	struct vm_page *old_m = (old & PMAP_PTE_MANAGED) ? vm_page_from_phys(old & PTE_ADDR) : NULL;
	struct pmap_pv *pv = pmap_enter_pv(pmap, va, m, old_m, &err);
	if (err < 0) {
		pmap_unreserve(&res);
		irq_unlock(&pmap_lock);
		return err;
	}
	if (low != 0) /* the path lacked tables: link the reserved ones */
		pmap_descend(pmap, va, 0, &res, path);
	uint64_t *e = path[0];
	if (pv != NULL)
		pmap_pv_link(m, pv, pmap, va);
	if ((old & PTE_P) && (old & PTE_ADDR) == pa)
		pte |= old & (PTE_A | PTE_D); /* same page: what happened to it still counts */
	else if (old_m != NULL && (old & PTE_D))
		old_m->flags |= VM_PAGE_DIRTY;
	*e = pte;
	if (old & PTE_P) {
		pmap->wired -= (old & PMAP_PTE_WIRED) != 0;
		pmap_invalidate(pmap, va, old);
	} else {
		pmap_ptp_count(e, 1);
		pmap->resident++;
	}
	pmap->wired += (pte & PMAP_PTE_WIRED) != 0;
	irq_unlock(&pmap_lock);
	return 0;
}

bool pmap_install(struct pmap *pmap, vaddr_t va, int level, uint64_t pte)
{
	struct pmap_reserve res;
	uint64_t *path[4];

	irq_lock(&pmap_lock);
	int low = pmap_reserve(pmap, va, level, path, &res);
	if (low < 0) {
		irq_unlock(&pmap_lock);
		return false;
	}
	if (low != level && (*path[low] & PTE_PS))
		panic("pmap_install: %llx lies in a large page", (unsigned long long)va);
	pmap_descend(pmap, va, level, &res, path);
	uint64_t old = *path[level];
	if ((old & PTE_P) && ((level > 0 && !(old & PTE_PS)) || (old & PMAP_PTE_MANAGED)))
		panic("pmap_install: %llx is mapped by a table or a managed page",
		      (unsigned long long)va);
	*path[level] = pte;
	if (old & PTE_P) {
		pmap_invalidate(pmap, va, old);
	} else {
		pmap_ptp_count(path[level], 1);
		pmap->resident += level == 0;
	}
	irq_unlock(&pmap_lock);
	return true;
}

bool pmap_leaf(struct pmap *pmap, vaddr_t va, uint64_t *pte, int *level)
{
	uint64_t *path[4];

	irq_lock(&pmap_lock);
	*level = pmap_descend(pmap, va, 0, NULL, path);
	*pte = *path[*level];
	irq_unlock(&pmap_lock);
	return (*pte & PTE_P) != 0; /* present at a higher level means a large page */
}

bool pmap_extract(struct pmap *pmap, vaddr_t va, paddr_t *pa)
{
	uint64_t pte;
	int level;

	if (!pmap_leaf(pmap, va, &pte, &level))
		return false;
	uint64_t size = PTE_LEVEL_SIZE(level);
	*pa = (pte & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
	return true;
}

void pmap_bootstrap(paddr_t pml4, paddr_t (*early_alloc)(void))
{
	pmap_kernel_store.pml4 = pml4;
	pmap_current = &pmap_kernel_store;
	pmap_early_alloc = early_alloc;
}

void pmap_bootstrap_done(void)
{
	pmap_early_alloc = NULL;
}

int pmap_kernel_prealloc(vaddr_t start, vaddr_t end)
{
	struct pmap_reserve res;
	uint64_t *path[4];

	KASSERT(start >= PMAP_KERNEL_START && start < end);
	irq_lock(&pmap_lock);
	for (unsigned slot = PTE_INDEX(start, 3); slot <= PTE_INDEX(end - 1, 3); slot++) {
		vaddr_t va = pmap_canonical((vaddr_t)slot << PTE_SHIFT(3));
		if (pmap_reserve(&pmap_kernel_store, va, 2, path, &res) < 0) {
			irq_unlock(&pmap_lock);
			return -ENOMEM;
		}
		pmap_descend(&pmap_kernel_store, va, 2, &res, path);
	}
	irq_unlock(&pmap_lock);
	return 0;
}

struct pmap *pmap_kernel(void)
{
	return &pmap_kernel_store;
}

int pmap_create(struct pmap **out)
{
	struct pmap *p = NEW(struct pmap);

	if (p == NULL)
		return -ENOMEM;
	irq_lock(&pmap_lock);
	KASSERT(pmap_early_alloc == NULL);
	p->pml4 = pmap_ptp_alloc();
	if (p->pml4 == 0) {
		irq_unlock(&pmap_lock);
		DELETE(p);
		return -ENOMEM;
	}
	memcpy(pmap_table(p->pml4) + 256, pmap_table(pmap_kernel_store.pml4) + 256,
	       256 * sizeof(uint64_t));
	p->next = pmap_users.next;
	p->prev = &pmap_users;
	p->next->prev = p;
	pmap_users.next = p;
	irq_unlock(&pmap_lock);
	*out = p;
	return 0;
}

static void pmap_activate_locked(struct pmap *pmap)
{
	if (pmap_current != pmap) {
		pmap_current = pmap;
		pmap_md_load(pmap->pml4);
	}
}

void pmap_destroy(struct pmap *pmap)
{
	KASSERT(pmap != &pmap_kernel_store);
	irq_lock(&pmap_lock);
	struct vm_page *m = pmap_ptp(pmap->pml4);
	if (pmap->resident != 0 || m->pindex != 0)
		panic("pmap_destroy: %llu mappings remain", (unsigned long long)pmap->resident);
	if (pmap_current == pmap)
		pmap_activate_locked(&pmap_kernel_store);
	pmap->prev->next = pmap->next;
	pmap->next->prev = pmap->prev;
	pmap_ptp_free(m);
	irq_unlock(&pmap_lock);
	DELETE(pmap);
}

void pmap_set_table_cap(struct pmap *pmap, uint64_t tables)
{
	KASSERT(pmap != &pmap_kernel_store);
	irq_lock(&pmap_lock);
	pmap->tables_max = tables;
	irq_unlock(&pmap_lock);
}

void pmap_activate(struct pmap *pmap)
{
	irq_lock(&pmap_lock);
	pmap_activate_locked(pmap);
	irq_unlock(&pmap_lock);
}

void *pmap_map_mmio(paddr_t pa, size_t size)
{
	const uint64_t bits = PTE_P | PTE_W | PTE_NX | PTE_G | PTE_PCD | PTE_PWT;

	/* the direct map spans [DIRECT_MAP_BASE, KERNEL_DYN_BASE) */
	KASSERT(size > 0 && pa + size > pa && pa + size <= KERNEL_DYN_BASE - DIRECT_MAP_BASE);
	for (paddr_t p = ALIGN_DOWN(pa, PAGE_SIZE); p < pa + size; p += PAGE_SIZE) {
		vaddr_t va = DIRECT_MAP_BASE + p;
		uint64_t pte;
		int level;
		if (pmap_leaf(&pmap_kernel_store, va, &pte, &level) && level > 0) {
			if (pte & PTE_PCD)
				continue;
			log_error("pmap_map_mmio: %llx lies in cached RAM", (unsigned long long)p);
			return NULL;
		}
		if ((pte & ~(PTE_A | PTE_D)) == (p | bits))
			continue;
		if (!pmap_install(&pmap_kernel_store, va, 0, p | bits)) {
			log_error("pmap_map_mmio: no page for a page table at %llx",
				  (unsigned long long)p);
			return NULL;
		}
	}
	return (void *)(DIRECT_MAP_BASE + pa);
}

/* What pmap_check counts over the leaves of one pmap. */
struct pmap_census {
	uint64_t leaves, wired, managed;
};

static void pmap_check_leaf(struct pmap *pmap, uint64_t e, vaddr_t va, int level,
			    struct pmap_census *c)
{
	bool kernel = pmap_is_kernel_va(va);

	if (kernel ? (e & PTE_U) || !(e & PTE_G) : (e & PTE_G) != 0)
		panic("pmap_check: leaf %llx has U or G wrong (%llx)", (unsigned long long)va,
		      (unsigned long long)e);
	if (level > 0) {
		KASSERT(!(e & (PMAP_PTE_MANAGED | PMAP_PTE_WIRED)));
		return;
	}
	c->leaves++;
	c->wired += (e & PMAP_PTE_WIRED) != 0;
	if (!(e & PMAP_PTE_MANAGED))
		return;
	struct vm_page *m = vm_page_from_phys(e & PTE_ADDR);
	if (m == NULL)
		panic("pmap_check: managed leaf %llx maps unmanaged %llx", (unsigned long long)va,
		      (unsigned long long)(e & PTE_ADDR));
	pmap_pv_check_leaf(m, pmap, va);
	c->managed++;
}

/* Checks slots [first, last) of the table at pa (level, mapping from base) and below. */
static void pmap_check_table(struct pmap *pmap, paddr_t pa, int level, vaddr_t base, unsigned first,
			     unsigned last, struct pmap_census *c)
{
	const uint64_t *t = pmap_table(pa);
	struct vm_page *m = pmap_ptp(pa);
	uint64_t present = 0;

	for (unsigned i = first; i < last; i++) {
		vaddr_t va = pmap_canonical(base + (uint64_t)i * PTE_LEVEL_SIZE(level));
		if (!(t[i] & PTE_P)) {
			if (t[i] != 0)
				panic("pmap_check: absent entry %llx is not zero",
				      (unsigned long long)t[i]);
			continue;
		}
		present++;
		if (level == 0 || (t[i] & PTE_PS)) {
			pmap_check_leaf(pmap, t[i], va, level, c);
			continue;
		}
		if (((t[i] & PTE_U) != 0) == pmap_is_kernel_va(va))
			panic("pmap_check: table entry for %llx has U wrong",
			      (unsigned long long)va);
		pmap_check_table(pmap, t[i] & PTE_ADDR, level - 1, va, 0, 512, c);
	}
	if (m == NULL)
		return;
	if (m->pindex != present)
		panic("pmap_check: table %llx counts %llu entries but holds %llu",
		      (unsigned long long)pa, (unsigned long long)m->pindex,
		      (unsigned long long)present);
	if (present == 0 && level < 3 && !(level == 2 && pmap_is_kernel_va(base)))
		panic("pmap_check: empty table %llx was not freed", (unsigned long long)pa);
}

static void pmap_check_one(struct pmap *pmap, struct pmap_census *total)
{
	struct pmap_census c = {0, 0, 0};
	bool kernel = pmap == &pmap_kernel_store;

	pmap_check_table(pmap, pmap->pml4, 3, 0, 0, kernel ? 512 : 256, &c);
	if (c.leaves != pmap->resident || c.wired != pmap->wired)
		panic("pmap_check: %llu leaves and %llu wired, statistics say %llu and %llu",
		      (unsigned long long)c.leaves, (unsigned long long)c.wired,
		      (unsigned long long)pmap->resident, (unsigned long long)pmap->wired);
	/* the MMU sets accessed bits in each copy on its own */
	for (unsigned i = 256; i < 512 && !kernel; i++)
		if ((pmap_table(pmap->pml4)[i] ^ pmap_table(pmap_kernel_store.pml4)[i]) & ~PTE_A)
			panic("pmap_check: user PML4 slot %u disagrees with the kernel's", i);
	total->managed += c.managed;
}

void pmap_check(void)
{
	struct pmap_census total = {0, 0, 0};

	irq_lock(&pmap_lock);
	pmap_check_one(&pmap_kernel_store, &total);
	for (struct pmap *p = pmap_users.next; p != &pmap_users; p = p->next) {
		KASSERT(p->next->prev == p && p->prev->next == p);
		pmap_check_one(p, &total);
	}
	pmap_pv_check_pool(total.managed);
	irq_unlock(&pmap_lock);
}
