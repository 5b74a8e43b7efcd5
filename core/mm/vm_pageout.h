/*
 * vm_pageout: page replacement, cleaning of dirty pages through their
 * object's pager, and the VM's event counters.
 *
 * Replacement is CLOCK-Pro (Jiang, Chen and Zhang, 2005) on the page
 * queues, run synchronously: there are no threads, so whoever needs pages
 * (a fault, at its start when free memory is under the low watermark and
 * again when an allocation failed) runs a bounded scan itself, with no VM
 * lock held.  Referenced bits are gathered from every mapping through the
 * pmap's reverse map.
 *   active    hot pages; the hot hand runs while they exceed the pageable
 *             pages less the cold target: a referenced one adds to its
 *             use count (VM_PAGE_USES), an unreferenced one spends one of
 *             it, and one with none left turns cold (inactive);
 *   inactive  cold pages, oldest first.  A page made or read in for a
 *             fault comes here in its test period (VM_PAGE_TEST), unless
 *             memory is not yet full of hot pages, or its index was
 *             evicted in its test period not long ago (a ghost): then its
 *             reuse distance beat the hot pages' recency and it comes in
 *             hot.  The cold hand: a referenced page in its test period
 *             turns hot; a referenced one out of it starts a new one (the
 *             faulting access's own reference, VM_PAGE_YOUNG, counts for
 *             nothing); an unreferenced one goes: clean, it is unmapped and
 *             put on the cache queue, dirty, it is cleaned with its dirty
 *             neighbours of the same object in one put_pages call
 *             (anonymous memory gets a swap pager at its first page-out)
 *             and cached after;
 *   cache     clean, unmapped pages still in their objects: a fault there
 *             takes the page back without I/O; vm_page_alloc reuses the
 *             oldest, detaching it from its object (vm_pageout_reclaim),
 *             which leaves a ghost of a page in its test period;
 *   ghosts    (object id, index) of the last evicted test-period pages, as
 *             many as memory has pages at most; the oldest expires when a
 *             new one comes.
 * The cold target grows by one each time a cold page proves hot (a ghost
 * faulted again, a test-period page referenced) and shrinks by one each
 * time a ghost expires unused.
 * Wired pages, page-table pages and slab pages are on no queue and never
 * paged.  Busy pages (VM_PAGE_BUSY, under I/O) are skipped.
 *
 * Dirty state: VM_PAGE_DIRTY, plus the modified bits of all mappings,
 * gathered before a page is cleaned.  While a page is written it is busy
 * and write-protected; a page modified again meanwhile stays dirty.
 *
 * Errors: vm_pageout_run returns how many pages it made available; when
 * nothing can be freed (no swap or swap full, no clean pages) it returns 0
 * and the caller's allocation fails with -ENOMEM: nothing spins.
 * Lock key: called with no VM lock held (it calls into the pmap and the
 * pagers); (g) counters are updated by their owners without a lock, one CPU.
 */
#ifndef PHOBOS_MM_VM_PAGEOUT_H
#define PHOBOS_MM_VM_PAGEOUT_H

#include "core/mm/vm_object.h"

#define VM_PAGEOUT_CLUSTER 16 /* pages cleaned by one put_pages call at most */

/* The VM's event counters, printed at exit and in benchmark RESULT lines. */
struct vm_counters {
	uint64_t faults_major;  /* (g) faults that read from a pager */
	uint64_t faults_minor;  /* (g) faults resolved in memory (zero fill, copy, cached) */
	uint64_t cache_hits;    /* (g) faults that took a page back from the cache queue */
	uint64_t pageins;       /* (g) pages read by pagers, read-ahead included */
	uint64_t pageouts;      /* (g) pages written by pagers */
	uint64_t scanned;       /* (g) pages looked at by the scanner */
	uint64_t reactivated;   /* (g) inactive pages found referenced again */
	uint64_t deactivated;   /* (g) active pages moved to the inactive queue */
	uint64_t cached;        /* (g) pages put on the cache queue */
	uint64_t reclaimed;     /* (g) cache pages reused by the allocator */
	uint64_t pageout_errors; /* (g) put_pages calls that failed */
	uint64_t oom;           /* (g) allocations that failed after a scan */
};

extern struct vm_counters vm_cnt;

/* Watermarks in pages, scaled to memory by vm_pageout_init. */
struct vm_watermarks {
	uint64_t min;    /* kept for page tables and the kernel's own allocations:
			  * vm_page's reserve, which pageable pages never take */
	uint64_t low;    /* under it a fault runs the scanner first */
	uint64_t target; /* a scan stops once free + cache reaches it */
};

extern struct vm_watermarks vm_wm;

/*
 * Sets the watermarks from the managed page count.  Call after
 * vm_page_startup, and give vm_page vm_pageout_reclaim as its reclaim hook.
 * anon_pager: makes a pager for an anonymous object at its first page-out
 * (the swap pager), or NULL when there is no swap (may return NULL too).
 */
void vm_pageout_init(struct vm_pager *(*anon_pager)(void));

/* vm_page's reclaim hook: a cache page the allocator takes leaves its
 * object (it was unmapped when cached, and is clean). */
void vm_pageout_reclaim(struct vm_page *m);
/* A page a pager just read into obj joins its queue: accessed, the page a
 * fault wanted (the rest came with it).  Hot when it was a ghost. */
void vm_pageout_page_in(struct vm_page *m, bool accessed);
/* A page made in memory (zero fill, copy) for a fault joins the cold
 * pages in its test period, so that a scan's pages do not displace hot
 * ones, unless memory is not yet full of hot pages. */
void vm_pageout_page_new(struct vm_page *m);
/* A fault took m back from the cache queue. */
void vm_pageout_cache_hit(struct vm_page *m);
/* Scans until `want` more pages are free or cached, or nothing is left to
 * try; returns how many it made available. */
uint64_t vm_pageout_run(uint64_t want);
/* Runs the scanner when available memory is under the low watermark. */
void vm_pageout_check(void);

/*
 * Writes obj's dirty pages in [first, first + n) back through its pager,
 * in clustered calls; pages stay resident.  0, or the first error (those
 * pages stay dirty).  The msync of Phobos and the last-unmap write-back.
 */
int vm_pageout_clean_object(struct vm_object *obj, uint64_t first, uint64_t n);

/* SEQUENTIAL's pages behind the reader: obj's resident pages in
 * [first, end) go to the cache queue (dirty ones to the cold hand), the
 * first the allocator takes. */
void vm_pageout_behind(struct vm_object *obj, uint64_t first, uint64_t end);
/*
 * DONTNEED: obj's resident pages in [first, end) leave memory.  Dirty ones
 * are written through obj's pager first (an anonymous object gets swap
 * here as at a page-out); those that cannot be written (no swap, a failed
 * write) stay resident, as do busy and wired pages.  0 or the first
 * pager error.
 */
int vm_pageout_dontneed(struct vm_object *obj, uint64_t first, uint64_t end);

/* One "vm: ..." log line with every counter. */
void vm_pageout_report(void);

#endif
