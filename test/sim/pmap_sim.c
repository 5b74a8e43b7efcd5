/*
 * The simulated MMU (see pmap_sim.h).  The kernel's page-table engine is
 * compiled right here, against the machine hooks below: the host tests
 * run the very code the kernel runs, as Linux's tools/testing/vma does.
 */
#include <stdlib.h>

#include "core/arch/x86_64/pmap.c"
#include "core/arch/x86_64/pmap_pv.c"
#include "test/host/phys_arena.h"
#include "test/sim/pmap_sim.h"

#define SIM_PHYS_BASE 0x100000ull
/* Direct mapped by page number; large, so that stale entries linger. */
#define SIM_TLB_SLOTS 512

/*
 * A cached translation of one 4 KiB page: the rights are those of every
 * level together.  A large page is cached piece by piece, as CPUs may do;
 * invlpg anywhere in it drops every piece (Intel SDM vol. 3, 4.10.4.1).
 */
struct sim_tlb {
	bool valid, global;
	bool write, user, exec, dirty;
	vaddr_t page;
	paddr_t pa;    /* of the 4 KiB page */
	uint64_t leaf; /* size of the page the leaf maps */
};

/* What a walk of the tables found for va. */
struct sim_walk {
	uint64_t *path[4];
	int level; /* of the leaf */
	bool write, user, exec;
};

static struct sim_tlb sim_tlb[SIM_TLB_SLOTS];
static paddr_t sim_cr3;
static pmap_sim_fault_fn sim_fault_handler;
static struct pmap_sim_stats sim_stats;

static struct sim_tlb *sim_tlb_slot(vaddr_t va)
{
	return &sim_tlb[(va >> PAGE_SHIFT) % SIM_TLB_SLOTS];
}

void pmap_md_invalidate_page(vaddr_t va)
{
	for (size_t i = 0; i < SIM_TLB_SLOTS; i++) {
		struct sim_tlb *t = &sim_tlb[i];
		if (ALIGN_DOWN(t->page, t->leaf) == ALIGN_DOWN(va, t->leaf))
			t->valid = false;
	}
	sim_stats.invlpg++;
}

static void sim_tlb_flush(bool global)
{
	for (size_t i = 0; i < SIM_TLB_SLOTS; i++)
		if (global || !sim_tlb[i].global)
			sim_tlb[i].valid = false;
}

void pmap_md_invalidate_all(bool global)
{
	sim_tlb_flush(global);
	if (global)
		sim_stats.flush_global++;
	else
		sim_stats.flush_all++;
}

void pmap_md_load(paddr_t pml4)
{
	sim_cr3 = pml4;
	sim_tlb_flush(false);
	sim_stats.loads++;
}

void pmap_sim_init(size_t bytes)
{
	struct vm_phys_range r = {SIM_PHYS_BASE, bytes / PAGE_SIZE};

	phys_arena_add(r.base, bytes);
	if (vm_page_startup(&r, 1, 0) <= 0)
		abort();
	mm_malloc_init();
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);
	if (m == NULL)
		abort();
	m->flags |= VM_PAGE_PTABLE;
	m->pindex = 0;
	pmap_bootstrap(vm_page_phys(m), NULL);
	pmap_md_load(vm_page_phys(m));
}

void pmap_sim_set_fault_handler(pmap_sim_fault_fn fn)
{
	sim_fault_handler = fn;
}

/* Walks the tables at sim_cr3 for va without touching them; false if absent. */
static bool sim_walk(vaddr_t va, struct sim_walk *w)
{
	paddr_t table = sim_cr3;

	w->write = w->user = w->exec = true;
	for (int l = 3;; l--) {
		uint64_t *e = pmap_table(table) + PTE_INDEX(va, l);
		if (!(*e & PTE_P))
			return false;
		w->path[l] = e;
		w->write &= (*e & PTE_W) != 0;
		w->user &= (*e & PTE_U) != 0;
		w->exec &= !(*e & PTE_NX);
		if (l == 0 || (*e & PTE_PS)) {
			w->level = l;
			return true;
		}
		table = *e & PTE_ADDR;
	}
}

static bool sim_allowed(bool write, bool user, bool exec, vm_prot_t access, bool from_user)
{
	if (from_user && !user)
		return false;
	if ((access & VM_PROT_WRITE) && !write)
		return false;
	return !(access & VM_PROT_EXECUTE) || exec;
}

/* A TLB miss: walk, check, set A (and D for a write), cache. */
static bool sim_fill(vaddr_t va, vm_prot_t access, bool user, struct sim_tlb *t)
{
	struct sim_walk w;

	if (!sim_walk(va, &w) || !sim_allowed(w.write, w.user, w.exec, access, user))
		return false;
	for (int l = 3; l >= w.level; l--)
		*w.path[l] |= PTE_A;
	uint64_t *leaf = w.path[w.level];
	if (access & VM_PROT_WRITE)
		*leaf |= PTE_D;
	uint64_t size = PTE_LEVEL_SIZE(w.level);
	*t = (struct sim_tlb){
	    .valid = true,
	    .global = (*leaf & PTE_G) != 0,
	    .write = w.write,
	    .user = w.user,
	    .exec = w.exec,
	    .dirty = (*leaf & PTE_D) != 0,
	    .page = ALIGN_DOWN(va, PAGE_SIZE),
	    .leaf = size,
	    .pa = (*leaf & PTE_ADDR & ~(size - 1)) | (va & (size - 1) & ~(uint64_t)PAGE_MASK),
	};
	return true;
}

/* One translation as the CPU makes it: the TLB first, else the tables. */
static bool sim_translate(vaddr_t va, vm_prot_t access, bool user, paddr_t *pa)
{
	struct sim_tlb *t = sim_tlb_slot(va);
	bool hit = t->valid && t->page == ALIGN_DOWN(va, PAGE_SIZE);

	/* a write through an entry cached clean walks again to set D */
	if (hit && (access & VM_PROT_WRITE) && !t->dirty)
		hit = false;
	if (hit && sim_allowed(t->write, t->user, t->exec, access, user)) {
		sim_stats.tlb_hits++;
		*pa = t->pa | (va & PAGE_MASK);
		return true;
	}
	if (!hit)
		sim_stats.tlb_misses++;
	if (hit || !sim_fill(va, access, user, t)) {
		if (t->page == ALIGN_DOWN(va, PAGE_SIZE))
			t->valid = false; /* a fault drops the entry of its address */
		sim_stats.faults++;
		return false;
	}
	*pa = t->pa | (va & PAGE_MASK);
	return true;
}

static int sim_access(struct pmap *pmap, vaddr_t va, vm_prot_t access, bool user, paddr_t *pa)
{
	KASSERT(access == VM_PROT_READ || access == VM_PROT_WRITE || access == VM_PROT_EXECUTE);
	pmap_activate(pmap);
	if (sim_translate(va, access, user, pa))
		return 0;
	if (sim_fault_handler == NULL)
		return -EFAULT;
	int err = sim_fault_handler(pmap, va, access, user);
	if (err < 0)
		return err;
	pmap_activate(pmap);
	return sim_translate(va, access, user, pa) ? 0 : -EFAULT;
}

int pmap_sim_access(struct pmap *pmap, vaddr_t va, vm_prot_t access, bool user)
{
	paddr_t pa;

	return sim_access(pmap, va, access, user, &pa);
}

static int sim_copy(struct pmap *pmap, vaddr_t va, void *buf, size_t len, bool write, bool user)
{
	uint8_t *b = buf;

	while (len > 0) {
		size_t n = MIN(len, PAGE_SIZE - (va & PAGE_MASK));
		paddr_t pa;
		int err = sim_access(pmap, va, write ? VM_PROT_WRITE : VM_PROT_READ, user, &pa);
		if (err < 0)
			return err;
		if (write)
			memcpy(pmap_phys_to_virt(pa), b, n);
		else
			memcpy(b, pmap_phys_to_virt(pa), n);
		va += n;
		b += n;
		len -= n;
	}
	return 0;
}

int pmap_sim_read(struct pmap *pmap, vaddr_t va, void *buf, size_t len, bool user)
{
	return sim_copy(pmap, va, buf, len, false, user);
}

int pmap_sim_write(struct pmap *pmap, vaddr_t va, const void *buf, size_t len, bool user)
{
	return sim_copy(pmap, va, (void *)buf, len, true, user);
}

size_t pmap_sim_count(struct pmap *pmap)
{
	return pmap->resident;
}

void pmap_sim_stats(struct pmap_sim_stats *out)
{
	*out = sim_stats;
}

/*
 * A cached translation must still be allowed by the tables, to the same
 * page, and the bits the CPU will not set again while it holds the entry
 * (accessed, and dirty if cached dirty) must still be set.
 */
static void sim_check_tlb(const struct sim_tlb *t)
{
	struct sim_walk w;

	if (!sim_walk(t->page, &w))
		panic("pmap_sim_check: stale TLB entry for %llx: no longer mapped",
		      (unsigned long long)t->page);
	uint64_t leaf = *w.path[w.level], size = PTE_LEVEL_SIZE(w.level);
	paddr_t pa = (leaf & PTE_ADDR & ~(size - 1)) | (t->page & (size - 1));
	if (pa != t->pa || (t->write && !w.write) || (t->user && !w.user) || (t->exec && !w.exec))
		panic("pmap_sim_check: stale TLB entry for %llx: page or rights changed",
		      (unsigned long long)t->page);
	if (!(leaf & PTE_A) || (t->dirty && !(leaf & PTE_D)))
		panic("pmap_sim_check: TLB entry for %llx outlived its accessed or dirty bit",
		      (unsigned long long)t->page);
}

void pmap_sim_check(void)
{
	pmap_check();
	for (size_t i = 0; i < SIM_TLB_SLOTS; i++)
		if (sim_tlb[i].valid)
			sim_check_tlb(&sim_tlb[i]);
}

void pmap_sim_after_panic(void)
{
	if (irq_lock_held(&pmap_lock))
		irq_unlock(&pmap_lock);
}
