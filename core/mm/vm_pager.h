/*
 * vm_pager: the backing store of a VM object (a file, swap), reached only
 * through the checked wrappers below.  Pagers plug in through an ops table;
 * the FAT file pager and the swap pager are such tables.
 *
 * Page indices are the object's plus the object's pager_offset, so one
 * pager may serve a window of a larger store.
 *   has_page:  1 if the store holds data for the index, 0 if not (the page
 *              reads as zeros), or a negative code.
 *   get_pages: fills n pages (already allocated, not yet in the object)
 *              with the data of indices [pindex, pindex + n); 0, -ENOENT
 *              when there is no data (the caller zero-fills), -EIO when
 *              the store failed (the fault fails; nothing is mapped).
 *   put_pages: writes n pages back; 0 or -EIO / -ENOSPC.
 * A NULL op means the pager cannot do that (-EINVAL from the wrapper).
 * Lock key: called without the object lock held; the pager serialises.
 */
#ifndef PHOBOS_MM_VM_PAGER_H
#define PHOBOS_MM_VM_PAGER_H

#include "core/mm/vm_types.h"

struct vm_pager;

struct vm_pager_ops {
	const char *name;
	int (*has_page)(struct vm_pager *pager, uint64_t pindex);
	int (*get_pages)(struct vm_pager *pager, struct vm_page **pages, unsigned n,
			 uint64_t pindex);
	int (*put_pages)(struct vm_pager *pager, struct vm_page **pages, unsigned n,
			 uint64_t pindex);
};

struct vm_pager {
	const struct vm_pager_ops *ops; /* (c) */
	void *priv;                     /* (c) the pager's own state */
};

#define VM_PAGER_MAX_PAGES 64 /* pages per get/put call */

int vm_pager_has_page(struct vm_object *obj, uint64_t pindex);
int vm_pager_get_pages(struct vm_object *obj, struct vm_page **pages, unsigned n,
		       uint64_t pindex);
int vm_pager_put_pages(struct vm_object *obj, struct vm_page **pages, unsigned n,
		       uint64_t pindex);

#endif
