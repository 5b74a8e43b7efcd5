/*
 * vm_page: descriptors, segments, zones, queues and the per-zone page
 * buddy.  The contract is in vm_page.h.
 */
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

#define VM_ORDER_TAIL 0xff /* order of a free page that is not a block head */
#define VM_ZONE_LOW1M_END 0x100000ull
#define VM_ZONE_DMA32_END 0x100000000ull
/* managed pages lie below this, so no frame number is VM_PAGE_NONE */
#define VM_PAGE_PA_LIMIT ((paddr_t)VM_PAGE_NONE << PAGE_SHIFT)

struct vm_seg {
	paddr_t start;          /* first page of the range: the descriptors' */
	paddr_t base;           /* first managed page */
	uint64_t npages;
	struct vm_page *pages;
	enum vm_zone zone;
};

/* A doubly linked list of pages through qnext/qprev. */
struct vm_list {
	uint32_t head, tail;
};

static struct irq_lock vm_page_lock = IRQ_LOCK_INIT("vm_page");
static struct vm_seg vm_segs[VM_PAGE_MAX_SEGS];
static unsigned vm_nsegs;
/* slice i = [i << vm_page_slice_shift, (i + 1) << vm_page_slice_shift)
 * of physical address space: the last segment whose start is at or below
 * the slice's */
static uint16_t vm_seg_table[VM_PAGE_SLICES];
unsigned vm_page_slice_shift;
/* vm_page_at's fast path (vm_page.h): where a slice holds the pages of one
 * segment only, the address frame 0's descriptor would have in that
 * segment's array, with VM_PAGE_SLICE_* flags; 0 where a segment starts
 * inside the slice */
uintptr_t vm_page_slice_base[VM_PAGE_SLICES];
static struct vm_list vm_free[VM_NZONES][VM_PAGE_MAX_ORDER + 1]; /* (f) */
static struct vm_list vm_queues[VM_NQUEUES];                     /* (f) */
static struct vm_stats vm_st;                                    /* (f) */
static void (*vm_reclaim_hook)(struct vm_page *m);
static void (*vm_low_memory_hook)(void);
static uint64_t vm_reserve; /* (f) */

/*
 * The last segment starting at or below pa (the first segment when none
 * does).  Segments are made in ascending order, so those after the
 * slice's entry that start at or below pa all start inside pa's slice.
 */
static struct vm_seg *vm_seg_at(paddr_t pa)
{
	paddr_t slice = pa >> vm_page_slice_shift;
	unsigned i = slice < VM_PAGE_SLICES ? vm_seg_table[slice] : vm_nsegs - 1;

	while (i + 1 < vm_nsegs && vm_segs[i + 1].start <= pa)
		i++;
	return &vm_segs[i];
}

/* Descriptors live in the first pages of their own segment. */
static struct vm_seg *vm_seg_of(const struct vm_page *m)
{
	return vm_seg_at(pmap_virt_to_phys(m));
}

uint32_t vm_page_index(const struct vm_page *m)
{
	paddr_t pa = pmap_virt_to_phys(m);
	uintptr_t b = vm_page_slice(pa);

	/* descriptors live in the first pages of their own segment */
	if (b & VM_PAGE_SLICE_ONE)
		return (uint32_t)(((uintptr_t)m - vm_page_slice_frame0(b)) / sizeof(struct vm_page));
	const struct vm_seg *s = vm_seg_at(pa);
	return (uint32_t)((s->base >> PAGE_SHIFT) + (uint64_t)(m - s->pages));
}

paddr_t vm_page_phys(const struct vm_page *m)
{
	return (paddr_t)vm_page_index(m) << PAGE_SHIFT;
}

struct vm_page *vm_page_at_slow(uint32_t index)
{
	paddr_t pa = (paddr_t)index << PAGE_SHIFT;
	const struct vm_seg *s = vm_seg_at(pa);
	return &s->pages[(pa - s->base) / PAGE_SIZE];
}

struct vm_page *vm_page_from_phys(paddr_t pa)
{
	uintptr_t b = vm_page_slice(pa);

	if (b & VM_PAGE_SLICE_FULL)
		return (struct vm_page *)(vm_page_slice_frame0(b) +
					  (uintptr_t)(pa >> PAGE_SHIFT) * sizeof(struct vm_page));
	if (vm_nsegs == 0)
		return NULL;
	const struct vm_seg *s = vm_seg_at(pa);
	if (pa < s->base || pa >= s->base + s->npages * PAGE_SIZE)
		return NULL;
	return &s->pages[(pa - s->base) / PAGE_SIZE];
}

enum vm_zone vm_page_zone(const struct vm_page *m)
{
	return vm_seg_of(m)->zone;
}

static void vm_list_push(struct vm_list *l, struct vm_page *m)
{
	uint32_t i = vm_page_index(m);

	m->qnext = VM_PAGE_NONE;
	m->qprev = l->tail;
	if (l->tail == VM_PAGE_NONE)
		l->head = i;
	else
		vm_page_at(l->tail)->qnext = i;
	l->tail = i;
}

static void vm_list_remove(struct vm_list *l, struct vm_page *m)
{
	if (m->qprev == VM_PAGE_NONE)
		l->head = m->qnext;
	else
		vm_page_at(m->qprev)->qnext = m->qnext;
	if (m->qnext == VM_PAGE_NONE)
		l->tail = m->qprev;
	else
		vm_page_at(m->qnext)->qprev = m->qprev;
	m->qnext = m->qprev = VM_PAGE_NONE;
}

/* Marks n pages from m free tails, or allocated (queue none). */
static void vm_mark(struct vm_page *m, uint64_t n, bool free)
{
	for (uint64_t i = 0; i < n; i++) {
		if (free) {
			KASSERT(m[i].queue == VM_Q_NONE);
			m[i].queue = VM_Q_FREE;
			m[i].order = VM_ORDER_TAIL;
		} else {
			m[i].queue = VM_Q_NONE;
			m[i].order = 0;
		}
	}
}

static void vm_block_insert(struct vm_page *m, unsigned order)
{
	m->order = (uint8_t)order;
	vm_list_push(&vm_free[vm_seg_of(m)->zone][order], m);
}

/*
 * Frees the block m of 2^order pages (already marked free), merging it
 * with its buddy while possible.  Blocks are aligned in physical address
 * space, so the buddy of the block at pa is the one at pa ^ (4 KiB << order):
 * flipping that bit moves between the two halves of the enclosing block of
 * order + 1.  Segments never straddle a zone boundary and the buddy must lie
 * in the same segment, so a merge never crosses zones.
 */
static void vm_block_free(struct vm_page *m, unsigned order)
{
	struct vm_seg *s = vm_seg_of(m);

	while (order < VM_PAGE_MAX_ORDER) {
		paddr_t pa = vm_page_phys(m);
		paddr_t bpa = pa ^ ((paddr_t)PAGE_SIZE << order);
		if (bpa < s->base || bpa + ((paddr_t)PAGE_SIZE << order) > s->base + s->npages * PAGE_SIZE)
			break;
		struct vm_page *b = &s->pages[(bpa - s->base) / PAGE_SIZE];
		if (b->queue != VM_Q_FREE || b->order != order)
			break;
		vm_list_remove(&vm_free[s->zone][order], b);
		/* the higher half's head becomes a tail of the merged block */
		if (b > m) {
			b->order = VM_ORDER_TAIL;
		} else {
			m->order = VM_ORDER_TAIL;
			m = b;
		}
		order++;
	}
	vm_block_insert(m, order);
}

/* Takes a block of exactly 2^order pages from zone z, splitting a larger one. */
static struct vm_page *vm_zone_take(enum vm_zone z, unsigned order)
{
	unsigned k = order;

	while (k <= VM_PAGE_MAX_ORDER && vm_free[z][k].head == VM_PAGE_NONE)
		k++;
	if (k > VM_PAGE_MAX_ORDER)
		return NULL;
	struct vm_page *m = vm_page_at(vm_free[z][k].head);
	vm_list_remove(&vm_free[z][k], m);
	while (k > order) {
		k--;
		vm_block_insert(m + ((uint64_t)1 << k), k); /* the upper half stays free */
	}
	vm_mark(m, (uint64_t)1 << order, false);
	vm_st.free -= (uint64_t)1 << order;
	vm_st.zone_free[z] -= (uint64_t)1 << order;
	return m;
}

static enum vm_zone vm_zone_limit(unsigned flags)
{
	if (flags & VM_ALLOC_LOW1M)
		return VM_ZONE_LOW1M;
	if (flags & VM_ALLOC_DMA32)
		return VM_ZONE_DMA32;
	return VM_ZONE_HIGH;
}

/*
 * Reuses the oldest cache-queue page in a zone at or below limit (order 0
 * only); caller holds the lock.  Pages kept below 4 GiB (pmap's pv
 * entries) must be able to reclaim too; the walk past pages of higher
 * zones happens only once the allowed zones have no free page.
 */
static struct vm_page *vm_take_cached(enum vm_zone limit)
{
	struct vm_page *m = vm_page_at(vm_queues[VM_Q_CACHE].head);

	while (m != NULL && vm_seg_of(m)->zone > limit)
		m = vm_page_at(m->qnext);
	if (m == NULL)
		return NULL;
	vm_list_remove(&vm_queues[VM_Q_CACHE], m);
	vm_st.queued[VM_Q_CACHE]--;
	m->queue = VM_Q_NONE;
	return m;
}

/* *cached says whether this very call took a cache page: a page from a
 * later attempt may be a free one, which has no object to be detached from. */
static struct vm_page *vm_alloc_locked(unsigned order, unsigned flags, bool *cached)
{
	struct vm_page *m = NULL;

	*cached = false;
	if ((flags & VM_ALLOC_PAGEABLE) && vm_st.free + vm_st.queued[VM_Q_CACHE] <= vm_reserve)
		return NULL;
	for (int z = (int)vm_zone_limit(flags); z >= 0 && m == NULL; z--)
		m = vm_zone_take((enum vm_zone)z, order);
	if (m == NULL && order == 0) {
		m = vm_take_cached(vm_zone_limit(flags));
		*cached = m != NULL;
	}
	return m;
}

struct vm_page *vm_page_alloc_contig(unsigned order, unsigned flags)
{
	struct vm_page *m = NULL;
	bool cached = false;

	KASSERT(order <= VM_PAGE_MAX_ORDER);
	for (int attempt = 0; attempt < 2 && m == NULL; attempt++) {
		if (attempt == 1) {
			if (vm_low_memory_hook == NULL)
				break;
			vm_low_memory_hook();
		}
		irq_lock(&vm_page_lock);
		m = vm_alloc_locked(order, flags, &cached);
		irq_unlock(&vm_page_lock);
	}
	if (m == NULL)
		return NULL;
	if (cached && vm_reclaim_hook != NULL)
		vm_reclaim_hook(m);
	for (uint64_t i = 0; i < ((uint64_t)1 << order); i++) {
		m[i].object = NULL;
		m[i].pindex = 0;
		m[i].flags = 0;
		m[i].tleft = m[i].tright = VM_PAGE_NONE;
		KASSERT(m[i].wire_count == 0);
		if (flags & VM_ALLOC_ZERO)
			pmap_zero_page(vm_page_phys(&m[i]));
	}
	return m;
}

struct vm_page *vm_page_alloc(unsigned flags)
{
	return vm_page_alloc_contig(0, flags);
}

void vm_page_free_contig(struct vm_page *m, unsigned order)
{
	struct vm_seg *s = vm_seg_of(m);
	uint64_t n = (uint64_t)1 << order;

	KASSERT(order <= VM_PAGE_MAX_ORDER);
	if (!IS_ALIGNED(vm_page_phys(m), (paddr_t)PAGE_SIZE << order) ||
	    (uint64_t)(m - s->pages) + n > s->npages)
		panic("vm_page_free: %llx is not a block of order %u",
		      (unsigned long long)vm_page_phys(m), order);
	irq_lock(&vm_page_lock);
	for (uint64_t i = 0; i < n; i++) {
		if (m[i].queue != VM_Q_NONE || m[i].wire_count != 0 || m[i].md != 0) {
			irq_unlock(&vm_page_lock);
			panic("vm_page_free: page %llx is %s (queue %u, wired %u)",
			      (unsigned long long)vm_page_phys(&m[i]),
			      m[i].queue == VM_Q_FREE ? "already free" : "in use", m[i].queue,
			      m[i].wire_count);
		}
	}
	for (uint64_t i = 0; i < n; i++) {
		m[i].object = NULL;
		m[i].flags = 0;
	}
	vm_mark(m, n, true);
	vm_st.free += n;
	vm_st.zone_free[s->zone] += n;
	vm_block_free(m, order);
	irq_unlock(&vm_page_lock);
}

void vm_page_free(struct vm_page *m)
{
	vm_page_free_contig(m, 0);
}

void vm_page_wire(struct vm_page *m)
{
	irq_lock(&vm_page_lock);
	KASSERT(m->queue != VM_Q_FREE && m->wire_count < UINT16_MAX);
	if (m->wire_count++ == 0)
		vm_st.wired++;
	irq_unlock(&vm_page_lock);
}

void vm_page_unwire(struct vm_page *m)
{
	irq_lock(&vm_page_lock);
	if (m->wire_count == 0)
		panic("vm_page_unwire: page %llx is not wired", (unsigned long long)vm_page_phys(m));
	if (--m->wire_count == 0)
		vm_st.wired--;
	irq_unlock(&vm_page_lock);
}

static void vm_dequeue_locked(struct vm_page *m)
{
	if (m->queue == VM_Q_FREE)
		panic("vm_page_dequeue: page %llx is free", (unsigned long long)vm_page_phys(m));
	if (m->queue != VM_Q_NONE) {
		vm_list_remove(&vm_queues[m->queue], m);
		vm_st.queued[m->queue]--;
		m->queue = VM_Q_NONE;
	}
}

static void vm_page_enqueue(struct vm_page *m, enum vm_queue q)
{
	irq_lock(&vm_page_lock);
	vm_dequeue_locked(m);
	m->queue = (uint8_t)q;
	vm_list_push(&vm_queues[q], m);
	vm_st.queued[q]++;
	irq_unlock(&vm_page_lock);
}

void vm_page_activate(struct vm_page *m)
{
	vm_page_enqueue(m, VM_Q_ACTIVE);
}

void vm_page_deactivate(struct vm_page *m)
{
	vm_page_enqueue(m, VM_Q_INACTIVE);
}

void vm_page_cache(struct vm_page *m)
{
	KASSERT(!(m->flags & VM_PAGE_DIRTY) && m->wire_count == 0);
	vm_page_enqueue(m, VM_Q_CACHE);
}

void vm_page_dequeue(struct vm_page *m)
{
	irq_lock(&vm_page_lock);
	vm_dequeue_locked(m);
	irq_unlock(&vm_page_lock);
}

struct vm_page *vm_page_queue_first(enum vm_queue q)
{
	KASSERT(q == VM_Q_ACTIVE || q == VM_Q_INACTIVE || q == VM_Q_CACHE);
	return vm_page_at(vm_queues[q].head);
}

void vm_page_stats(struct vm_stats *out)
{
	irq_lock(&vm_page_lock);
	*out = vm_st;
	irq_unlock(&vm_page_lock);
}

uint64_t vm_page_free_count(void)
{
	return vm_st.free;
}

uint64_t vm_page_available_count(void)
{
	return vm_st.free + vm_st.queued[VM_Q_CACHE];
}

uint64_t vm_page_queued(enum vm_queue q)
{
	return q == VM_Q_FREE ? vm_st.free : vm_st.queued[q];
}

void vm_page_set_hooks(void (*reclaim)(struct vm_page *m), void (*low_memory)(void))
{
	vm_reclaim_hook = reclaim;
	vm_low_memory_hook = low_memory;
}

void vm_page_set_reserve(uint64_t pages)
{
	irq_lock(&vm_page_lock);
	vm_reserve = pages;
	irq_unlock(&vm_page_lock);
}

static enum vm_zone vm_zone_of_pa(paddr_t pa)
{
	return pa < VM_ZONE_LOW1M_END ? VM_ZONE_LOW1M
	       : pa < VM_ZONE_DMA32_END ? VM_ZONE_DMA32 : VM_ZONE_HIGH;
}

/*
 * Makes [base, base + pages) a segment: its first pages hold the
 * descriptors of the rest.  d descriptor pages cover pages - d pages, so
 * d = ceil(pages * size / (PAGE_SIZE + size)) is the least that suffices.
 */
static void vm_seg_add(paddr_t base, uint64_t pages)
{
	uint64_t d = (pages * sizeof(struct vm_page) + PAGE_SIZE + sizeof(struct vm_page) - 1) /
		     (PAGE_SIZE + sizeof(struct vm_page));

	if (pages <= d)
		return;
	if (vm_nsegs == VM_PAGE_MAX_SEGS) {
		log_error("vm_page: more than %u memory segments: %llu pages at %llx left unused",
			  VM_PAGE_MAX_SEGS, (unsigned long long)pages, (unsigned long long)base);
		return;
	}
	KASSERT(vm_nsegs == 0 || base > vm_segs[vm_nsegs - 1].base);
	KASSERT(base + pages * PAGE_SIZE <= VM_PAGE_PA_LIMIT);
	struct vm_seg *s = &vm_segs[vm_nsegs];
	s->start = base;
	s->pages = pmap_phys_to_virt(base);
	s->base = base + d * PAGE_SIZE;
	s->npages = pages - d;
	s->zone = vm_zone_of_pa(base);
	memset(s->pages, 0, s->npages * sizeof(struct vm_page));
	for (uint64_t i = 0; i < s->npages; i++) {
		s->pages[i].qnext = s->pages[i].qprev = VM_PAGE_NONE;
		s->pages[i].tleft = s->pages[i].tright = VM_PAGE_NONE;
	}
	/* every slice starting at or above base has this segment as its last;
	 * the one base lies inside, if any, holds another's pages too */
	uintptr_t frame0 = (uintptr_t)s->pages - (uintptr_t)(s->base >> PAGE_SHIFT) * sizeof(struct vm_page);
	uint64_t i = (base + ((paddr_t)1 << vm_page_slice_shift) - 1) >> vm_page_slice_shift;
	if (i > 0 && i - 1 == base >> vm_page_slice_shift && i - 1 < VM_PAGE_SLICES)
		vm_page_slice_base[i - 1] = 0;
	paddr_t end = s->base + s->npages * PAGE_SIZE;
	for (; i < VM_PAGE_SLICES; i++) {
		paddr_t lo = (paddr_t)i << vm_page_slice_shift;
		bool full = lo >= s->base && lo + ((paddr_t)1 << vm_page_slice_shift) <= end;
		vm_seg_table[i] = (uint16_t)vm_nsegs;
		vm_page_slice_base[i] = frame0 | VM_PAGE_SLICE_ONE | (full ? VM_PAGE_SLICE_FULL : 0);
	}
	vm_nsegs++;
	vm_st.descriptor_pages += d;
	vm_st.total += s->npages;
	vm_st.zone_total[s->zone] += s->npages;
	/* hand the pages over as maximal aligned blocks */
	for (uint64_t i = 0; i < s->npages;) {
		unsigned o = VM_PAGE_MAX_ORDER;
		while (o > 0 && (!IS_ALIGNED(vm_page_phys(&s->pages[i]), (paddr_t)PAGE_SIZE << o) ||
				 i + ((uint64_t)1 << o) > s->npages))
			o--;
		vm_page_free_contig(&s->pages[i], o);
		i += (uint64_t)1 << o;
	}
}

int64_t vm_page_startup(const struct vm_phys_range *ranges, unsigned n, uint64_t cap_bytes)
{
	static const paddr_t bounds[] = {VM_ZONE_LOW1M_END, VM_ZONE_DMA32_END, ~(paddr_t)0};
	uint64_t budget = cap_bytes ? cap_bytes / PAGE_SIZE : UINT64_MAX;

	KASSERT(vm_nsegs == 0);
	/* the fewest bytes per slice that let VM_PAGE_SLICES slices cover every range */
	paddr_t end = n > 0 ? MIN(ranges[n - 1].base + ranges[n - 1].pages * PAGE_SIZE, VM_PAGE_PA_LIMIT) : 0;
	for (vm_page_slice_shift = PAGE_SHIFT; (end >> vm_page_slice_shift) >= VM_PAGE_SLICES;
	     vm_page_slice_shift++)
		;
	for (int z = 0; z < VM_NZONES; z++)
		for (int o = 0; o <= VM_PAGE_MAX_ORDER; o++)
			vm_free[z][o].head = vm_free[z][o].tail = VM_PAGE_NONE;
	for (int q = 0; q < VM_NQUEUES; q++)
		vm_queues[q].head = vm_queues[q].tail = VM_PAGE_NONE;
	for (unsigned i = 0; i < n && budget > 0; i++) {
		paddr_t base = ranges[i].base;
		uint64_t pages = MIN(ranges[i].pages, budget);
		if (base >= VM_PAGE_PA_LIMIT || pages > (VM_PAGE_PA_LIMIT - base) / PAGE_SIZE) {
			log_error("vm_page: RAM above 16 TiB of physical address space left unused");
			pages = base >= VM_PAGE_PA_LIMIT ? 0 : (VM_PAGE_PA_LIMIT - base) / PAGE_SIZE;
		}
		budget -= pages;
		/* split at the zone boundaries so no segment spans two zones */
		for (unsigned b = 0; b < ARRAY_SIZE(bounds) && pages > 0; b++) {
			if (base >= bounds[b])
				continue;
			uint64_t fit = MIN(pages, (bounds[b] - base) / PAGE_SIZE);
			vm_seg_add(base, fit);
			base += fit * PAGE_SIZE;
			pages -= fit;
		}
	}
	return vm_st.total ? (int64_t)vm_st.total : -ENOMEM;
}

/* Checks one free block at m of the given order; returns its page count. */
static uint64_t vm_check_block(struct vm_page *m, unsigned order, enum vm_zone z)
{
	struct vm_seg *s = vm_seg_of(m);
	uint64_t n = (uint64_t)1 << order;

	if (m->queue != VM_Q_FREE || m->order != order || s->zone != z)
		panic("vm_page_check: free list of zone %u order %u holds a bad head", z, order);
	if (!IS_ALIGNED(vm_page_phys(m), (paddr_t)PAGE_SIZE << order) ||
	    (uint64_t)(m - s->pages) + n > s->npages)
		panic("vm_page_check: misaligned free block at %llx", (unsigned long long)vm_page_phys(m));
	for (uint64_t i = 1; i < n; i++)
		if (m[i].queue != VM_Q_FREE || m[i].order != VM_ORDER_TAIL)
			panic("vm_page_check: block at %llx has a bad tail", (unsigned long long)vm_page_phys(m));
	if (order < VM_PAGE_MAX_ORDER) {
		paddr_t bpa = vm_page_phys(m) ^ ((paddr_t)PAGE_SIZE << order);
		struct vm_page *b = vm_page_from_phys(bpa);
		if (b != NULL && vm_seg_of(b) == s && b->queue == VM_Q_FREE && b->order == order)
			panic("vm_page_check: buddies at %llx not coalesced", (unsigned long long)bpa);
	}
	return n;
}

void vm_page_check(void)
{
	uint64_t free = 0, zfree[VM_NZONES] = {0}, queued[VM_NQUEUES] = {0}, wired = 0, marked = 0;

	irq_lock(&vm_page_lock);
	for (int z = 0; z < VM_NZONES; z++)
		for (unsigned o = 0; o <= VM_PAGE_MAX_ORDER; o++) {
			uint32_t prev = VM_PAGE_NONE;
			for (struct vm_page *m = vm_page_at(vm_free[z][o].head); m != NULL;
			     m = vm_page_at(m->qnext)) {
				KASSERT(m->qprev == prev);
				zfree[z] += vm_check_block(m, o, (enum vm_zone)z);
				prev = vm_page_index(m);
			}
			KASSERT(vm_free[z][o].tail == prev);
		}
	for (int q = VM_Q_ACTIVE; q < VM_NQUEUES; q++)
		for (struct vm_page *m = vm_page_at(vm_queues[q].head); m != NULL; m = vm_page_at(m->qnext)) {
			KASSERT(m->queue == q);
			queued[q]++;
		}
	for (unsigned i = 0; i < vm_nsegs; i++)
		for (uint64_t p = 0; p < vm_segs[i].npages; p++) {
			const struct vm_page *m = &vm_segs[i].pages[p];
			marked += m->queue == VM_Q_FREE;
			wired += m->wire_count > 0;
			KASSERT(m->queue < VM_NQUEUES && vm_seg_of(m) == &vm_segs[i]);
		}
	for (int z = 0; z < VM_NZONES; z++) {
		KASSERT(zfree[z] == vm_st.zone_free[z]);
		free += zfree[z];
	}
	KASSERT(free == vm_st.free && marked == free && wired == vm_st.wired);
	for (int q = VM_Q_ACTIVE; q < VM_NQUEUES; q++)
		KASSERT(queued[q] == vm_st.queued[q]);
	irq_unlock(&vm_page_lock);
}

void vm_page_report(void)
{
	static const char *const names[VM_NZONES] = {"below 1 MiB", "below 4 GiB", "above 4 GiB"};

	log_info("vm_page: sizeof(struct vm_page) = %zu bytes, %llu pages managed (%llu MiB) in %u segments, %llu pages of descriptors",
		 sizeof(struct vm_page), (unsigned long long)vm_st.total,
		 (unsigned long long)(vm_st.total >> 8), vm_nsegs,
		 (unsigned long long)vm_st.descriptor_pages);
	for (int z = 0; z < VM_NZONES; z++)
		log_info("vm_page:   zone %-12s %8llu pages (%llu MiB), %8llu free", names[z],
			 (unsigned long long)vm_st.zone_total[z],
			 (unsigned long long)(vm_st.zone_total[z] >> 8),
			 (unsigned long long)vm_st.zone_free[z]);
}

_Static_assert(sizeof(struct vm_page) <= 40, "struct vm_page must stay within 40 bytes");
_Static_assert(sizeof(struct vm_page) % 8 == 0,
	       "the slice table keeps flags in the low bits of descriptor addresses");
