/*
 * vm_fault: finds or makes the page behind a faulting address and maps
 * it (contract in vm_map.h).
 *
 * The entry's object is referenced from the first call into a pager to
 * the end of the fault, so it cannot go away while a pager reads; a fault
 * that asks no pager (a page resident, or zero-filled in an object with
 * no store) runs with interrupts off under the map entry's own
 * reference, and takes none.  Pages read by a pager join their object busy
 * before the read starts, so nothing maps half-read data; since the read
 * ends before the pager returns, a fault that meets a busy page re-entered
 * that read, and panics.
 * Read-ahead: the pager says how many following pages lie next to the
 * wanted one on its store; those that are not resident come in the same
 * request and wait on the inactive queue, as many as the object's advice
 * and read-around window allow (vm_object_read_around); out of order, up
 * to half of the window comes from just before the fault, where the store
 * holds those pages next to it.
 * Memory: a fault runs the scanner when free memory is low, and once more
 * when an allocation fails; then it gives up with -ENOMEM.
 */
#include "core/mm/pmap.h"
#include "core/mm/vm_map.h"
#include "core/mm/vm_pageout.h"
#include "core/mm/vm_trace.h"

/* Under SEQUENTIAL, pages this far behind a fault's read are dropped
 * first: the reader has passed them. */
#define VM_FAULT_BEHIND (VM_OBJECT_AHEAD + 1)

/* A page for the fault, running the scanner once when there is none
 * (flags carry VM_ALLOC_PAGEABLE unless the page is the kernel's). */
static struct vm_page *vm_fault_page_alloc(unsigned flags)
{
	struct vm_page *m = vm_page_alloc(flags);

	if (m == NULL && vm_pageout_run(vm_wm.target) > 0)
		m = vm_page_alloc(flags);
	if (m == NULL)
		vm_cnt.oom++;
	return m;
}

/*
 * Reads pindex of o with up to `behind` pages before it and `after`
 * pages after it that are not resident, from o's pager, in one request;
 * the caller has checked that the pages behind are not resident and lie
 * next to pindex on the store.  *out is the page at pindex, active when a
 * fault wants it; the others go inactive.  Returns the pages read.
 */
static int vm_fault_pagein(struct vm_object *o, uint64_t pindex, unsigned behind, unsigned after,
			   bool fault, struct vm_page **out)
{
	struct vm_page *run[VM_PAGER_MAX_PAGES], *m;
	unsigned got = 0;

	after = (unsigned)MIN(after, o->size / PAGE_SIZE - 1 - pindex);
	behind = MIN(behind, VM_PAGER_MAX_PAGES - 1 - after);
	/* read-around only from memory that is there for the taking */
	while (got < behind && vm_page_available_count() >= vm_wm.low &&
	       (m = vm_page_alloc(VM_ALLOC_PAGEABLE)) != NULL)
		run[behind - 1 - got++] = m;
	memmove(run, run + behind - got, got * sizeof(*run));
	m = fault ? vm_fault_page_alloc(VM_ALLOC_PAGEABLE) : vm_page_alloc(VM_ALLOC_PAGEABLE);
	if (m == NULL) {
		while (got > 0)
			vm_page_free(run[--got]);
		return -ENOMEM;
	}
	run[got] = m;
	unsigned n = got + 1;
	/* in a shadow only what the store holds, since a hole there is not a
	 * zero page but the backing object's data */
	while (n - got - 1 < after && vm_object_page_lookup(o, pindex + n - got) == NULL &&
	       vm_page_available_count() >= vm_wm.low &&
	       (o->backing == NULL || vm_pager_has_page(o, pindex + n - got, NULL) == 1) &&
	       (m = vm_page_alloc(VM_ALLOC_PAGEABLE)) != NULL)
		run[n++] = m;
	uint64_t first = pindex - got;
	for (unsigned i = 0; i < n; i++) {
		run[i]->flags |= VM_PAGE_BUSY | (i != got ? VM_PAGE_AROUND : 0);
		vm_object_page_insert(o, run[i], first + i);
	}
	int err = vm_pager_get_pages(o, run, n, first);
	if (err == -EBUSY)
		log_error("vm_fault: a device kept %u pages it was reading into: never reused", n);
	for (unsigned i = 0; i < n; i++) {
		run[i]->flags &= (uint16_t)~VM_PAGE_BUSY;
		if (err < 0) {
			vm_object_page_remove(o, run[i]);
			/* a device that may still write here owns the page for good:
			 * wired and on no queue, it is never handed out again */
			if (err == -EBUSY)
				vm_page_wire(run[i]);
			else
				vm_page_free(run[i]);
		} else {
			vm_pageout_page_in(run[i], i == got && fault);
		}
	}
	if (err < 0)
		return err == -EBUSY ? -EIO : err;
	vm_cnt.pageins += n;
	if (fault) {
		vm_cnt.faults_major++;
		vm_trace_record(VM_TRACE_IN, o->id, pindex);
		o->seq_next = first + n;
	}
	*out = run[got];
	return (int)n;
}

/*
 * How many of the `want` pages just before pindex a read around it can
 * take: not resident, and next to pindex on o's store (has_page of the
 * first says so), halved until they are.
 */
static unsigned vm_fault_behind(struct vm_object *o, uint64_t pindex, unsigned want)
{
	unsigned k = 0, after;

	while (k < want && k < pindex && vm_object_page_lookup(o, pindex - k - 1) == NULL)
		k++;
	while (k > 0 && (vm_pager_has_page(o, pindex - k, &after) != 1 || after < k))
		k /= 2;
	return k;
}

int vm_fault_willneed(struct vm_object *top, uint64_t first, uint64_t end)
{
	for (uint64_t p = first; p < end && vm_page_available_count() >= vm_wm.target;) {
		uint64_t next = p + 1;
		for (struct vm_object *o = top; o != NULL; o = o->backing) {
			if (vm_object_page_lookup(o, p) != NULL)
				break;
			unsigned after;
			int has = o->pager == NULL ? 0 : vm_pager_has_page(o, p, &after);
			if (has < 0)
				return has;
			if (has == 0)
				continue;
			struct vm_page *m;
			int n = vm_fault_pagein(o, p, 0, (unsigned)MIN(after, end - p - 1), false, &m);
			if (n == -ENOENT) /* a hole after all: nothing to read */
				break;
			if (n < 0)
				return n;
			next = p + (uint64_t)n;
			break;
		}
		p = next;
	}
	return 0;
}

/*
 * The page for pindex: resident in the chain, or read in by the pager of
 * the first object down the chain whose store has it (the page then joins
 * that object).  *m is NULL when nothing holds data: a zero page is due,
 * made by the caller in the object it faults on, at *spot: where top's
 * lookup ended.  *held: whether the caller holds a reference on top; set
 * when this takes one before calling a pager.
 * -EFAULT: past the end of a file.
 */
static int vm_fault_find(struct vm_object *top, uint64_t pindex, struct vm_page **m,
			 struct vm_object **owner, struct vm_object_spot *spot, bool *held)
{
	for (struct vm_object *o = top; o != NULL; o = o->backing) {
		*m = vm_object_page_find(o, pindex, o == top ? spot : NULL);
		*owner = o;
		if (*m != NULL) {
			/* page I/O ends before the call that started it returns:
			 * a fault that sees it unfinished re-entered it */
			if ((*m)->flags & VM_PAGE_BUSY)
				panic("vm_fault: page %llu of object %u is busy: a fault inside its I/O",
				      (unsigned long long)pindex, o->id);
			if ((*m)->flags & VM_PAGE_AROUND) { /* read-around paid */
				(*m)->flags &= (uint16_t)~VM_PAGE_AROUND;
				vm_object_around_used(o);
			}
			if ((*m)->queue == VM_Q_CACHE)
				vm_pageout_cache_hit(*m);
			return 0;
		}
		if (o->pager == NULL)
			continue;
		if (!*held) {
			vm_object_reference(top);
			*held = true;
		}
		unsigned after;
		int err = 0, has = vm_pager_has_page(o, pindex, &after);
		if (has < 0)
			return has;
		if (has == 1) {
			enum vm_advice advice = vm_object_advice(top, pindex);
			unsigned around = vm_object_read_around(o, pindex, advice), behind = 0;
			/* out of order, the window lies around the fault, half behind */
			if (advice == VM_ADVICE_NORMAL && pindex != o->seq_next)
				behind = vm_fault_behind(o, pindex, around / 2);
			after = MIN(after, around - behind);
			err = vm_fault_pagein(o, pindex, behind, after, true, m);
			/* reads step at most VM_FAULT_BEHIND pages: the windows meet */
			if (err > 0 && advice == VM_ADVICE_SEQUENTIAL && pindex > VM_FAULT_BEHIND)
				vm_pageout_behind(o, pindex - MIN(pindex, 2 * VM_FAULT_BEHIND),
						  pindex - VM_FAULT_BEHIND);
			err = MIN(err, 0);
		}
		/* no data after all: the store has a hole here, through which
		 * the backing object shows (zeros at the bottom of the chain) */
		if (has == 1 && err != -ENOENT)
			return err;
		if (o->flags & OBJ_FILE)
			return -EFAULT;
	}
	*m = NULL;
	*owner = NULL;
	return 0;
}

/* A page of obj at the spot of its lookup: zeroed, or a copy of src;
 * wired or active. */
static int vm_fault_make(struct vm_object *obj, bool wired, uint64_t pindex, struct vm_page *src,
			 struct vm_object_spot *spot, struct vm_page **out)
{
	if (src != NULL)
		src->flags |= VM_PAGE_BUSY; /* the scanner must not take it meanwhile */
	struct vm_page *n = vm_fault_page_alloc((src == NULL ? VM_ALLOC_ZERO : 0) |
						(wired ? 0 : VM_ALLOC_PAGEABLE));
	if (src != NULL)
		src->flags &= (uint16_t)~VM_PAGE_BUSY;
	if (n == NULL)
		return -ENOMEM;
	if (src != NULL)
		pmap_copy_page(vm_page_phys(src), vm_page_phys(n));
	/* anonymous memory exists nowhere else: it must be written before it
	 * can be dropped */
	n->flags |= VM_PAGE_DIRTY;
	vm_object_page_insert_spot(obj, n, pindex, spot);
	if (wired)
		vm_page_wire(n);
	else
		vm_pageout_page_new(n);
	*out = n;
	return 0;
}

static int vm_fault_entry(struct vm_map *map, struct vm_map_entry *e, vaddr_t va,
			  vm_prot_t access, bool *held)
{
	vaddr_t page = ALIGN_DOWN(va, PAGE_SIZE);
	uint64_t pindex = (page - e->start + e->offset) / PAGE_SIZE;
	vm_prot_t prot = e->prot;
	struct vm_object_spot spot;
	struct vm_object *owner;
	struct vm_page *m;

	/* a store could never be written back: refused, not taken and lost */
	if ((access & VM_PROT_WRITE) && (e->object->flags & OBJ_SEALED))
		return -EACCES;
	if (e->flags & MAP_ENTRY_COW)
		vm_object_collapse(e->object);
	int err = vm_fault_find(e->object, pindex, &m, &owner, &spot, held);
	if (err < 0)
		return err;
	if (m != NULL && owner != e->object && !(access & VM_PROT_WRITE)) {
		prot &= (vm_prot_t)~VM_PROT_WRITE; /* still shared: the first write faults again */
	} else if (m == NULL || owner != e->object) {
		if ((err = vm_fault_make(e->object, e->flags & MAP_ENTRY_WIRED, pindex, m, &spot,
					 &m)) < 0)
			return err;
	} else if (access & VM_PROT_WRITE) {
		/* rewritten in memory: whatever the store holds is stale */
		m->flags |= VM_PAGE_DIRTY;
		vm_pager_free_range(owner, pindex, 1);
	} else if (!(m->flags & VM_PAGE_DIRTY)) {
		/* a clean page matches its store's copy: the first store must
		 * fault, to mark it dirty and let the copy go (a writable
		 * mapping would leave a dead copy in swap until the next
		 * page-out) */
		prot &= (vm_prot_t)~VM_PROT_WRITE;
	}
	unsigned flags = (e->flags & MAP_ENTRY_USER) ? PMAP_USER : 0;
	err = pmap_enter(map->pmap, page, vm_page_phys(m), prot, flags);
	/* a page-table page or pv entry found the reserve spent: what pages
	 * can give back comes before failing (m busy: not among them) */
	if (err == -ENOMEM) {
		m->flags |= VM_PAGE_BUSY;
		uint64_t made = vm_pageout_run(vm_wm.target);
		m->flags &= (uint16_t)~VM_PAGE_BUSY;
		if (made > 0)
			err = pmap_enter(map->pmap, page, vm_page_phys(m), prot, flags);
	}
	return err;
}

int vm_fault_object_hold(struct vm_object *obj, uint64_t pindex, struct vm_page **out)
{
	struct vm_object_spot spot;
	struct vm_object *owner;
	struct vm_page *m;
	bool held = true; /* the caller's */

	vm_pageout_check();
	int err = vm_fault_find(obj, pindex, &m, &owner, &spot, &held);
	if (err < 0)
		return err;
	if (m == NULL || owner != obj) {
		if ((err = vm_fault_make(obj, false, pindex, m, &spot, &m)) < 0)
			return err;
	}
	/* the kernel's stores set no modified bit: the page is dirty from
	 * now on, and the store's copy stale */
	m->flags |= VM_PAGE_DIRTY;
	vm_pager_free_range(obj, pindex, 1);
	vm_page_wire(m);
	*out = m;
	return 0;
}

void vm_fault_object_release(struct vm_page *m)
{
	KASSERT(m->object != NULL && (m->flags & VM_PAGE_DIRTY) && m->wire_count > 0);
	vm_page_unwire(m);
}

int vm_fault(struct vm_map *map, vaddr_t va, vm_prot_t access, bool user)
{
	struct vm_map_entry e;
	int err;
	uint64_t major = vm_cnt.faults_major;
	bool held = false;

	vm_pageout_check();
	if (vm_map_lookup(map, va, &e) < 0 || e.kind != VM_ENTRY_OBJECT)
		return -EFAULT;
	if ((access & ~e.prot) != 0 || (user && !(e.flags & MAP_ENTRY_USER)))
		err = -EACCES;
	else
		err = vm_fault_entry(map, &e, va, access, &held);
	if (held)
		vm_object_deallocate(e.object);
	if (err == 0 && vm_cnt.faults_major == major)
		vm_cnt.faults_minor++;
	if (err == -ENOMEM)
		log_error("vm_fault: out of memory at %llx: no free page, nothing left to page out",
			  (unsigned long long)va);
	else if (err == -EFAULT)
		log_error("vm_fault: %llx lies past the end of the mapped file",
			  (unsigned long long)va);
	return err;
}
