/*
 * vm_page: physical memory.  One descriptor per usable page, the zones,
 * the page queues and the physical page allocator.
 *
 * Owns: every page handed over by vm_page_startup, from then until the
 * end.  A page is in exactly one state:
 *   free      in its zone's buddy lists (the free queue), order kept in the
 *             head page of each free block;
 *   active, inactive, cache
 *             on that queue, belonging to an object;
 *   allocated on no queue (wired kernel memory, page tables, DMA, pages a
 *             caller holds before it queues them).
 * Segments: each usable range (split at the zone boundaries 1 MiB and
 * 4 GiB) gets its own descriptor array carved from its first pages, so
 * holes in the physical address space cost nothing.
 * Free pages form a binary buddy per zone: a block of order o is 2^o pages
 * aligned to 2^o pages in physical address space, which is what DMA
 * buffers and page-table allocations need.
 *
 * Lock key: (f) vm_page_lock, which guards free lists, queues, counters;
 * (o) the owning object's lock.  Interrupt handlers never allocate.
 *
 * Errors: allocation returns NULL when the allowed zones are empty after
 * reclaiming cache pages and calling the low-memory hook once, and a
 * pageable allocation when only the reserve is left.  Freeing a
 * free page, a wired page or a page still on a queue is a programmer error
 * and panics.
 */
#ifndef PHOBOS_MM_VM_PAGE_H
#define PHOBOS_MM_VM_PAGE_H

#include "core/mm/vm_types.h"

#define VM_PAGE_NONE UINT32_MAX /* "no page" in 32-bit page links */
#define VM_PAGE_MAX_ORDER 10    /* largest free block: 2^10 pages = 4 MiB */
#define VM_PAGE_MAX_SEGS 1024 /* firmware maps of hundreds of ranges exist */

enum vm_zone { VM_ZONE_LOW1M, VM_ZONE_DMA32, VM_ZONE_HIGH, VM_NZONES };
enum vm_queue { VM_Q_NONE, VM_Q_FREE, VM_Q_ACTIVE, VM_Q_INACTIVE, VM_Q_CACHE, VM_NQUEUES };

/* vm_page_alloc flags */
#define VM_ALLOC_ZERO 0x1  /* contents zeroed */
#define VM_ALLOC_DMA32 0x2 /* below 4 GiB */
#define VM_ALLOC_LOW1M 0x4 /* below 1 MiB */
#define VM_ALLOC_PAGEABLE 0x8 /* for pageable memory: never from the reserve */

/*
 * 40 bytes (asserted in vm_page.c).  Links are 32-bit page frame numbers
 * (physical address >> PAGE_SHIFT), not pointers: both queue and tree
 * links fit in 16 bytes, and a link leads to its descriptor in O(1)
 * (vm_page_at).  So managed RAM ends below 16 TiB of physical address
 * space.  pindex shares a word with flags: 48 bits index 2^60 bytes,
 * more than any object (vm_object_allocate asserts it).  md belongs to
 * pmap, which fits its reverse-map head in 32 bits.
 */
struct vm_page {
	struct vm_object *object; /* (o) owner, NULL if none */
	uint64_t pindex : 48;     /* (o) page index within the object */
	uint64_t flags : 16;      /* (o) VM_PAGE_* */
	uint32_t qnext, qprev;    /* (f) queue or free-list links */
	uint32_t tleft, tright;   /* (o) the owner's tree of resident pages */
	uint32_t md;              /* pmap's reverse map of this page; 0: no mapping */
	uint8_t queue;            /* (f) enum vm_queue */
	uint8_t order;            /* (f) order of a free block's head page */
	uint16_t wire_count;      /* (f) pins: no page-out while > 0 */
};

#define VM_PAGE_PINDEX_LIMIT ((uint64_t)1 << 48) /* pindex < this */

#define VM_PAGE_DIRTY 0x1    /* contents differ from the pager's copy */
#define VM_PAGE_BUSY 0x2     /* I/O in progress */
#define VM_PAGE_PTABLE 0x4   /* a page-table page of some pmap */
#define VM_PAGE_TEST 0x10    /* cold page in its test period (vm_pageout.h) */
#define VM_PAGE_YOUNG 0x20   /* its referenced bit may be the faulting access's own */
#define VM_PAGE_AROUND 0x40  /* read around a fault, no fault has used it yet */
/* a hot page's use count, what the hot hand found of it (vm_pageout.h) */
#define VM_PAGE_USES_SHIFT 7
#define VM_PAGE_USES (0xf << VM_PAGE_USES_SHIFT)

/* A usable physical range handed to vm_page_startup. */
struct vm_phys_range {
	paddr_t base;   /* page aligned */
	uint64_t pages;
};

struct vm_stats {
	uint64_t total;            /* managed pages */
	uint64_t free;             /* on the free queue */
	uint64_t queued[VM_NQUEUES];
	uint64_t wired;            /* pages with wire_count > 0 */
	uint64_t zone_total[VM_NZONES];
	uint64_t zone_free[VM_NZONES];
	uint64_t descriptor_pages; /* pages spent on descriptor arrays */
};

/*
 * Takes over the ranges (ascending, non-overlapping), using at most
 * cap_bytes of them (0 = all).  Returns the number of managed pages, or
 * -ENOMEM when nothing usable remains.  Call once.
 */
int64_t vm_page_startup(const struct vm_phys_range *ranges, unsigned n, uint64_t cap_bytes);

struct vm_page *vm_page_alloc(unsigned flags);
/* 2^order contiguous pages, naturally aligned, from the allowed zones. */
struct vm_page *vm_page_alloc_contig(unsigned order, unsigned flags);
void vm_page_free(struct vm_page *m);
void vm_page_free_contig(struct vm_page *m, unsigned order);

/*
 * Descriptor, physical address and page frame number, each from the
 * others in constant time: a table over physical address space names the
 * segment (the last one starting at or below each 1/4096th of it), and a
 * slice where k segments start costs at most k more steps.  A slice where
 * none starts has a second table's entry: the address frame 0's
 * descriptor would have in its segment's array (with flags in the low
 * bits; 0 means "look the segment up"), so that descriptor and frame
 * number are a multiply-add apart, and so is a physical address in a
 * slice that is managed throughout.
 */
paddr_t vm_page_phys(const struct vm_page *m);
struct vm_page *vm_page_from_phys(paddr_t pa); /* NULL if not managed */
uint32_t vm_page_index(const struct vm_page *m); /* its page frame number */

#define VM_PAGE_SLICES 4096 /* slices of physical address space in those tables */
#define VM_PAGE_SLICE_ONE 0x1  /* the slice holds one segment's pages */
#define VM_PAGE_SLICE_FULL 0x2 /* and all of it is managed by that segment */
#define VM_PAGE_SLICE_FLAGS 0x7 /* descriptor arrays are 8-byte aligned */
extern uintptr_t vm_page_slice_base[VM_PAGE_SLICES];
extern unsigned vm_page_slice_shift;
struct vm_page *vm_page_at_slow(uint32_t index);

/*
 * NULL for VM_PAGE_NONE; any other index must be one vm_page_index gave.
 * Inline, since every level of an object's tree and every queue link
 * goes through it: in a slice of physical address space that holds one
 * segment's pages, the descriptor is one multiply-add away.
 */
/* The slice table's entry for pa (0 beyond the table). */
static inline uintptr_t vm_page_slice(paddr_t pa)
{
	paddr_t slice = pa >> vm_page_slice_shift;

	return slice < VM_PAGE_SLICES ? vm_page_slice_base[slice] : 0;
}

/* Where frame 0's descriptor would lie, by an entry with SLICE_ONE set. */
static inline uintptr_t vm_page_slice_frame0(uintptr_t entry)
{
	return entry & ~(uintptr_t)VM_PAGE_SLICE_FLAGS;
}

static inline struct vm_page *vm_page_at(uint32_t index)
{
	if (index == VM_PAGE_NONE)
		return NULL;
	uintptr_t b = vm_page_slice((paddr_t)index << PAGE_SHIFT);
	if (!(b & VM_PAGE_SLICE_ONE))
		return vm_page_at_slow(index);
	return (struct vm_page *)(vm_page_slice_frame0(b) + (uintptr_t)index * sizeof(struct vm_page));
}
enum vm_zone vm_page_zone(const struct vm_page *m);

void vm_page_wire(struct vm_page *m);
void vm_page_unwire(struct vm_page *m);

/* Queue moves of an allocated page; each takes it off its current queue. */
void vm_page_activate(struct vm_page *m);
void vm_page_deactivate(struct vm_page *m);
void vm_page_cache(struct vm_page *m); /* clean, valid, reclaimable without I/O */
void vm_page_dequeue(struct vm_page *m);
/* Oldest page of a queue, or NULL. */
struct vm_page *vm_page_queue_first(enum vm_queue q);

void vm_page_stats(struct vm_stats *out);
uint64_t vm_page_free_count(void);
/* Free plus cache pages, read without the lock: a hint for the scanner,
 * on every fault's path. */
uint64_t vm_page_available_count(void);
/* Pages on queue q, read without the lock (a hint, as the above). */
uint64_t vm_page_queued(enum vm_queue q);

/*
 * Hooks, set by higher layers:
 *   reclaim: detach a cache-queue page from its object so it can be
 *     reused (called with the page off every queue);
 *   low_memory: free what can be freed (slab reclaim, page-out); called
 *     once when an allocation finds nothing, before it gives up.
 */
void vm_page_set_hooks(void (*reclaim)(struct vm_page *m), void (*low_memory)(void));
/*
 * The reserve: free plus cache pages that VM_ALLOC_PAGEABLE allocations
 * leave to the kernel's own (page tables, pv entries, the heap behind the
 * pagers and maps), so that what pages memory out can still allocate when
 * pageable memory has run out.  0 until set.
 */
void vm_page_set_reserve(uint64_t pages);

/* Full invariant check; panics naming the broken rule. */
void vm_page_check(void);
/* One line per zone for the boot log. */
void vm_page_report(void);

#endif
