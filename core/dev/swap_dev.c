/*
 * swap_dev: see swap_dev.h.  Each 4 KiB swap page is one request of
 * 4096 / sector_size sectors; the pages of one io call go to the driver as
 * one batch, which keeps them in flight together.  Page buffers are not
 * contiguous in memory, so requests are not merged.
 */
#include "core/dev/swap_dev.h"
#include "core/mm/swap_pager.h"

static struct {
	struct blk_dev *part;
	uint32_t per_page; /* sectors per 4 KiB page */
	struct blk_req reqs[VM_PAGER_MAX_PAGES];
} swap_dev;

static uint8_t swap_dev_header[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static int swap_dev_io(void *ctx __unused, bool write, uint64_t first_page, unsigned n,
		       void *const *bufs)
{
	KASSERT(n >= 1 && n <= VM_PAGER_MAX_PAGES);
	for (unsigned i = 0; i < n; i++) {
		swap_dev.reqs[i] = (struct blk_req){
		    .op = write ? BLK_WRITE : BLK_READ,
		    .lba = (first_page + i) * swap_dev.per_page,
		    .count = swap_dev.per_page,
		    .buf = bufs[i],
		};
	}
	int err = blk_submit(swap_dev.part, swap_dev.reqs, n);
	if (err < 0)
		log_error("swap: %s: %s of pages %llu..%llu failed (%s)", swap_dev.part->name,
			  write ? "write" : "read", (unsigned long long)first_page,
			  (unsigned long long)(first_page + n - 1), err_name(err));
	/* a read the device still holds may land in those pages later: the
	 * VM must never reuse them; a write only reads them, -EIO will do */
	return err == -EBUSY && !write ? -EBUSY : err < 0 ? -EIO : 0;
}

int swap_dev_attach(struct blk_dev *part)
{
	if (part == NULL) {
		log_error("swap: no swap partition; running without swap");
		return -ENODEV;
	}
	if (part->sector_size == 0 || part->sector_size > PAGE_SIZE ||
	    PAGE_SIZE % part->sector_size != 0) {
		log_error(
		    "swap: %s: sectors of %u bytes do not divide a page; running without swap",
		    part->name, part->sector_size);
		return -ENODEV;
	}
	swap_dev.part = part;
	swap_dev.per_page = (uint32_t)(PAGE_SIZE / part->sector_size);
	uint64_t pages = part->sectors / swap_dev.per_page;
	int err = pages == 0 ? -EIO : blk_read(part, 0, swap_dev.per_page, swap_dev_header);
	if (err < 0) {
		log_error("swap: %s: header page unreadable (%s); running without swap", part->name,
			  err_name(err));
		return -EIO;
	}
	struct swap_dev dev = {part->name, pages, swap_dev_io, NULL};
	return swap_init(&dev, swap_dev_header);
}
