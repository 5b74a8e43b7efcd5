/*
 * vm_pager: the backing store of a VM object (a file, swap), reached only
 * through the checked wrappers below.  Pagers plug in through an ops table;
 * the FAT file pager (fs/fat_pager.c) and the swap pager (swap_pager.c)
 * are such tables.
 *
 * Page indices are the object's plus the object's pager_offset, so one
 * pager may serve a window of a larger store.
 *   has_page:  1 if the store holds data for the index, 0 if not (the page
 *              reads as zeros), or -EIO.  When it answers 1 and after is
 *              not NULL, *after is how many of the following indices the
 *              store holds next to it (contiguous on disk), so that one
 *              get_pages call can read them with it (read-ahead); 0 is
 *              always a correct answer.
 *   get_pages: fills n pages (busy, already in the object at their
 *              indices) with the data of [pindex, pindex + n); 0, -ENOENT when
 *              the first page has no data (the caller drops the pages: the
 *              index shows the backing object's data, zeros at the bottom
 *              of a chain, past the end for a file), -EIO
 *              when the store failed (the fault fails; nothing is mapped),
 *              -EBUSY when its device stopped with the pages in its hands
 *              (the caller never reuses them: they are leaked).
 *              A page past the store's end reads as zeros.
 *   put_pages: writes n busy pages of consecutive indices back in as few
 *              requests as the store allows; 0, or -EIO / -ENOSPC /
 *              -ENOMEM, in which case none of the pages counts as written
 *              (they stay dirty), or -EBUSY when its device stopped with
 *              the pages in its hands (the caller never reuses them: their
 *              data moves to new pages).
 *   free_range: optional; the store may forget [pindex, pindex + n): the
 *              pages were freed or rewritten in memory (swap gives the
 *              slots back; a file pager has no such op: file data stays).
 *   absorb:    optional; collapse of a shadow chain: from (the pager of
 *              the backing object that goes, same page indices, or NULL)
 *              hands its data to pager: each index moves over unless pager
 *              holds it already or hides(ctx, index) says the absorbing
 *              object has its own page there; those copies are freed.  With
 *              from NULL, pager (just taken over from the backing object)
 *              only frees the indices hides() names.  0, or -ENOMEM part
 *              way: what moved is in pager, the rest still in from, both
 *              consistent.
 *   dealloc:   optional; the object died; the pager frees its state.
 * A NULL op among the first three means the pager cannot do that (-EINVAL
 * from the wrapper).
 * Lock key: called without the object lock held; the pager serialises.
 */
#ifndef PHOBOS_MM_VM_PAGER_H
#define PHOBOS_MM_VM_PAGER_H

#include "core/mm/vm_types.h"

struct vm_pager;

struct vm_pager_ops {
	const char *name;
	int (*has_page)(struct vm_pager *pager, uint64_t pindex, unsigned *after);
	int (*get_pages)(struct vm_pager *pager, struct vm_page **pages, unsigned n,
			 uint64_t pindex);
	int (*put_pages)(struct vm_pager *pager, struct vm_page **pages, unsigned n,
			 uint64_t pindex);
	void (*free_range)(struct vm_pager *pager, uint64_t pindex, uint64_t n);
	int (*absorb)(struct vm_pager *pager, struct vm_pager *from,
		      bool (*hides)(void *ctx, uint64_t pindex), void *ctx);
	void (*dealloc)(struct vm_pager *pager);
};

struct vm_pager {
	const struct vm_pager_ops *ops; /* (c) */
	void *priv;                     /* (c) the pager's own state */
};

#define VM_PAGER_MAX_PAGES 64 /* pages per get/put call */

/* *after (may be NULL) is capped so that pindex + 1 + *after stays inside
 * the object and at VM_PAGER_MAX_PAGES - 1. */
int vm_pager_has_page(struct vm_object *obj, uint64_t pindex, unsigned *after);
int vm_pager_get_pages(struct vm_object *obj, struct vm_page **pages, unsigned n,
		       uint64_t pindex);
int vm_pager_put_pages(struct vm_object *obj, struct vm_page **pages, unsigned n,
		       uint64_t pindex);
/* No-ops for a pager without the op, or an object without a pager. */
void vm_pager_free_range(struct vm_object *obj, uint64_t pindex, uint64_t n);
void vm_pager_dealloc(struct vm_object *obj);
/* Whether obj's chain may collapse b (its backing object) into it as far
 * as their pagers go: b has none, or one whose data can move into obj's. */
bool vm_pager_can_absorb(const struct vm_object *obj, const struct vm_object *b);
/* Moves b's store into obj's (taking b's pager when obj has none), minus
 * the indices hides() names; 0 or -ENOMEM part way (absorb above). */
int vm_pager_absorb(struct vm_object *obj, struct vm_object *b,
		    bool (*hides)(void *ctx, uint64_t pindex), void *ctx);

#endif
