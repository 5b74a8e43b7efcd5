/*
 * swap_pager: the backing store of anonymous objects, on one swap area
 * (a partition mkswap prepared, reached through struct swap_dev).
 *
 * Owns: the swap area's slots and every object's map from page index to
 * slot.  Slot s is the 4 KiB page s of the area: page 0 holds the header
 * and is never a slot, nor are pages past the header's last_page or on its
 * bad-page list, so nothing outside [1, last_page] minus the bad pages is
 * ever written.  Slots come from a universal buddy (buddy.h) in slot
 * units, so a page-out of n neighbouring pages gets n contiguous slots
 * when a free block that large exists, written by one io call.  Nothing
 * from a previous boot is trusted: every slot starts free.
 *
 * A slot holds data for exactly one (object, index) at a time.  It is
 * freed when the index is written again (put_pages replaces it), when the
 * caller says the page was freed or rewritten in memory (free_range), or
 * when the object dies (dealloc).
 *
 * Lock key: (l) swap_lock, one lock for the slots, every object's map and
 * the statistics; it is not held across device I/O.  The caller keeps the
 * indices of a get_pages or put_pages call stable (busy pages) for the
 * call's duration.
 * References: swap_pager_alloc returns a pager owned by the object that
 * installs it; the object's death (vm_pager_dealloc) frees it.
 *
 * Errors of the pager ops (vm_pager.h gives their contract):
 *   -ENOENT  get_pages: the first page has no slot (it reads as zeros);
 *   -EIO     the device failed; a failed put_pages keeps the slots the
 *            indices had before, so their old data stays readable, unless
 *            the area was too full for the new copies: then the old slots
 *            were let go first (the pages are newer than them) and the
 *            indices hold nothing;
 *   -ENOSPC  put_pages: fewer free slots than pages, counting the slots
 *            the indices held (let go, as above);
 *   -ENOMEM  put_pages: no memory for the map or buddy descriptors.
 * A failed put_pages records nothing and keeps no new slot.
 */
#ifndef PHOBOS_MM_SWAP_PAGER_H
#define PHOBOS_MM_SWAP_PAGER_H

#include "core/mm/vm_pager.h"

/*
 * The device door, filled by the block layer (core/dev/swap_dev.c) or a
 * test.  io moves n pages between the n buffers (kernel virtual addresses
 * of whole pages) and the consecutive area pages [first_page,
 * first_page + n), as one batch of requests; 0 or -EIO, or for a read
 * -EBUSY: the device stopped answering with the buffers in its hands and
 * may still write into them.  n is at most VM_PAGER_MAX_PAGES.
 */
struct swap_dev {
	const char *name; /* for log lines; must outlive the swap area */
	uint64_t pages;	  /* the partition's size in 4 KiB pages */
	int (*io)(void *ctx, bool write, uint64_t first_page, unsigned n, void *const *bufs);
	void *ctx;
};

/* Linux's swap header (mkswap, version 1) in page 0 of the area. */
#define SWAP_HEADER_MAGIC "SWAPSPACE2"
#define SWAP_HEADER_MAGIC_OFF 4086
#define SWAP_HEADER_INFO_OFF 1024 /* u32 version, last_page, nr_badpages */
#define SWAP_HEADER_BAD_OFF 1536  /* u32 bad page numbers */
#define SWAP_HEADER_MAX_BAD ((SWAP_HEADER_MAGIC_OFF - SWAP_HEADER_BAD_OFF) / 4)

struct swap_stats {
	uint64_t slots_total; /* usable slots: [1, last_page] minus bad pages */
	uint64_t slots_used;  /* recorded, being written, or lost */
	uint64_t slots_lost;  /* unusable until reboot: failed to write, or could not
			       * be freed for want of memory */
	uint64_t pages_read, pages_written;
	uint64_t io_errors; /* io calls that failed */
};

/*
 * Takes the area described by header_page (its page 0, read by the
 * caller) on dev, which is copied.  0; -EINVAL for a header that is not a
 * valid version-1 swap header for dev (bad signature or version,
 * last_page outside the device, a bad-page list too long or naming pages
 * outside [1, last_page], no usable page), logged in one line naming why
 * and ending "running without swap"; -ENOMEM.  Panics if swap is already
 * set up.
 */
int swap_init(const struct swap_dev *dev, const void *header_page);
/* Forgets the area; every swap pager must have been deallocated. */
void swap_shutdown(void);
bool swap_enabled(void);

/*
 * A swap pager for one anonymous object, with an empty map; NULL when no
 * swap is set up or out of memory.  For the object's first page-out.
 */
struct vm_pager *swap_pager_alloc(void);

void swap_pager_stats(struct swap_stats *out);

/*
 * Slot accounting: the buddy's allocated slots are exactly those recorded
 * by live pagers, being written, or lost; no slot is recorded twice or
 * lies on page 0, a bad page or past last_page; every map block's count is
 * right.  Panics naming the broken rule.
 */
void swap_pager_check(void);

#endif
