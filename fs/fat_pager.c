/*
 * fat_pager: see fat_pager.h.  Pages are not contiguous in memory, so
 * each page's piece of a disk run is a request of its own; the requests
 * of one pager call go to the device in batches, which keeps them in
 * flight together.  Nothing here allocates memory: an allocation may
 * start a page-out, which comes back into this pager.
 */
#include "core/mm/pmap.h"
#include "core/mm/vm_pageout.h"
#include "fs/fat_impl.h"
#include "fs/fat_pager.h"

#define FAT_PAGER_OBJ_SIZE ALIGN_UP(0xffffffffull, PAGE_SIZE) /* the largest FAT file */
#define FAT_PAGER_BATCH 64 /* requests per device batch */

/* The requests of one pager call not yet submitted (one call at a time). */
static struct {
	struct blk_req reqs[FAT_PAGER_BATCH];
	unsigned n;
	int err;
} fat_pager_batch;

/* Sectors holding the end of a file, zero-padded, for put_pages: the one
 * in use is fat_pager_tails[fat_pager_tails_lost], since a buffer that a
 * stopped device kept is never used again.  With none left, a write of a
 * partial last sector fails. */
#define FAT_PAGER_TAILS 4
static uint8_t fat_pager_tails[FAT_PAGER_TAILS][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned fat_pager_tails_lost;

static uint8_t *fat_pager_va(const struct vm_page *m)
{
	return pmap_phys_to_virt(vm_page_phys(m));
}

static void fat_pager_submit(struct fat_file *f)
{
	struct fat_vol *v = f->v;

	if (fat_pager_batch.n == 0)
		return;
	int err = blk_submit(v->dev, fat_pager_batch.reqs, fat_pager_batch.n);
	bool read = fat_pager_batch.reqs[0].op == BLK_READ;
	if (err < 0 && fat_pager_batch.err == 0)
		log_error("fat_pager: %s: %s of %u runs from sector %llu failed: %s", v->dev->name,
			  read ? "read" : "write", fat_pager_batch.n,
			  (unsigned long long)fat_pager_batch.reqs[0].lba, err_name(err));
	/* buffers a stopped device may still read or write must never be
	 * reused: that outranks any other failure of the call */
	if (err == -EBUSY) {
		fat_pager_batch.err = -EBUSY;
		for (unsigned i = 0; i < fat_pager_batch.n; i++)
			if (fat_pager_tails_lost < FAT_PAGER_TAILS &&
			    fat_pager_batch.reqs[i].buf == fat_pager_tails[fat_pager_tails_lost])
				fat_pager_tails_lost++;
	} else if (err < 0 && fat_pager_batch.err == 0) {
		fat_pager_batch.err = -EIO;
	}
	fat_pager_batch.n = 0;
}

static void fat_pager_queue(struct fat_file *f, enum blk_op op, uint64_t lba, uint32_t count,
			    void *buf)
{
	if (fat_pager_batch.n == FAT_PAGER_BATCH)
		fat_pager_submit(f);
	fat_pager_batch.reqs[fat_pager_batch.n++] = (struct blk_req){op, lba, count, buf, 0};
}

/* The volume said no, or the chain is damaged: logged, and -EIO for the VM. */
static int fat_pager_failed(const char *what, uint64_t off, int err)
{
	log_error("fat_pager: %s at file offset %llu: %s", what, (unsigned long long)off,
		  err_name(err));
	return -EIO;
}

/*
 * Queues the transfer of the file's bytes [off, off + len) (inside one
 * page, off sector aligned, all within the file's clusters) to or from
 * buf, rounded up to whole device sectors.  A write whose last sector is
 * partial sends that sector from a tail buffer, zero-padded.
 */
static int fat_pager_page_io(struct fat_file *f, enum blk_op op, uint64_t off, uint8_t *buf,
			     uint32_t len)
{
	uint32_t ds = f->v->dev->sector_size;

	for (uint32_t done = 0; done < len;) {
		uint64_t lba;
		uint32_t count;
		int err = fat_bmap(f, off + done, &lba, &count);
		if (err < 0)
			return fat_pager_failed("no sectors", off + done, err);
		uint32_t bytes = (uint32_t)MIN((uint64_t)count * ds, (uint64_t)(len - done));
		uint32_t whole = op == BLK_WRITE ? ALIGN_DOWN(bytes, ds) : ALIGN_UP(bytes, ds);
		if (whole > 0)
			fat_pager_queue(f, op, lba, whole / ds, buf + done);
		if (whole < bytes) { /* only the end of the file ends inside a sector */
			if (fat_pager_tails_lost == FAT_PAGER_TAILS)
				return fat_pager_failed("every tail buffer kept by a stopped device",
							off + done + whole, -EIO);
			uint8_t *tail = fat_pager_tails[fat_pager_tails_lost];
			memcpy(tail, buf + done + whole, bytes - whole);
			memset(tail + bytes - whole, 0, ds - (bytes - whole));
			fat_pager_queue(f, op, lba + whole / ds, 1, tail);
		}
		done += bytes;
	}
	return 0;
}

/* Bytes of the page at pindex inside the file: 0 past its end. */
static uint32_t fat_pager_in_file(const struct fat_file *f, uint64_t pindex)
{
	uint64_t off = pindex * PAGE_SIZE;

	return off >= f->size ? 0 : (uint32_t)MIN((uint64_t)PAGE_SIZE, f->size - off);
}

/* Moves n pages at pindex to or from the disk, batched; 0, -EIO, or
 * -EBUSY when the device kept the pages (vm_pager.h). */
static int fat_pager_io(struct fat_file *f, enum blk_op op, struct vm_page **pages, unsigned n,
			uint64_t pindex)
{
	int err = 0;

	fat_pager_batch.n = 0;
	fat_pager_batch.err = 0;
	for (unsigned i = 0; i < n && err == 0; i++) {
		uint32_t len = fat_pager_in_file(f, pindex + i);
		if (len > 0)
			err = fat_pager_page_io(f, op, (pindex + i) * PAGE_SIZE,
						fat_pager_va(pages[i]), len);
	}
	fat_pager_submit(f);
	return err < 0 ? err : fat_pager_batch.err;
}

static int fat_pager_has_page(struct vm_pager *pager, uint64_t pindex, unsigned *after)
{
	struct fat_file *f = pager->priv;
	uint64_t off = pindex * PAGE_SIZE, lba;
	uint32_t count;

	*after = 0;
	if (fat_pager_in_file(f, pindex) == 0)
		return 0;
	int err = fat_bmap(f, off, &lba, &count);
	if (err < 0)
		return fat_pager_failed("no sectors", off, err);
	/* the following pages inside the file whose sectors continue this run;
	 * a run reaching the last cluster covers the whole last page */
	uint64_t run_end = off + (uint64_t)count * f->v->dev->sector_size;
	uint64_t last = (f->size - 1) / PAGE_SIZE;
	uint64_t clusters_end = ALIGN_UP((uint64_t)f->size, (uint64_t)f->v->cluster_size);
	uint64_t covered = run_end >= clusters_end ? last + 1 : MIN(run_end / PAGE_SIZE, last + 1);
	*after = (unsigned)MIN(covered > pindex + 1 ? covered - pindex - 1 : 0,
			       (uint64_t)VM_PAGER_MAX_PAGES);
	return 1;
}

static int fat_pager_get_pages(struct vm_pager *pager, struct vm_page **pages, unsigned n,
			       uint64_t pindex)
{
	struct fat_file *f = pager->priv;

	if (fat_pager_in_file(f, pindex) == 0)
		return -ENOENT;
	int err = fat_pager_io(f, BLK_READ, pages, n, pindex);
	for (unsigned i = 0; i < n && err == 0; i++) {
		uint32_t len = fat_pager_in_file(f, pindex + i);
		memset(fat_pager_va(pages[i]) + len, 0, PAGE_SIZE - len); /* past the end of the file */
	}
	return err;
}

static int fat_pager_put_pages(struct vm_pager *pager, struct vm_page **pages, unsigned n,
			       uint64_t pindex)
{
	struct fat_file *f = pager->priv;
	int err = fat_write_begin(f->v);

	if (err < 0)
		return fat_pager_failed("volume not writable", pindex * PAGE_SIZE, err);
	return fat_pager_io(f, BLK_WRITE, pages, n, pindex);
}

/* The object died: the file loses its object and the object's hold on it. */
static void fat_pager_dealloc(struct vm_pager *pager)
{
	struct fat_file *f = pager->priv;

	f->obj = NULL;
	f->vm = NULL;
	fat_close(f);
}

static const struct vm_pager_ops fat_pager_ops = {
    .name = "fat",
    .has_page = fat_pager_has_page,
    .get_pages = fat_pager_get_pages,
    .put_pages = fat_pager_put_pages,
    .dealloc = fat_pager_dealloc,
};

/* fat_vm_ops.copy: the bytes of [off, off + len) between buf/src and the resident pages. */
static void fat_pager_copy(struct fat_file *f, uint64_t off, uint8_t *buf, const uint8_t *src,
			   size_t len, bool write)
{
	uint64_t end = off + len;

	for (struct vm_page *m = vm_object_page_next(f->obj, off / PAGE_SIZE);
	     m != NULL && m->pindex * PAGE_SIZE < end;
	     m = vm_object_page_next(f->obj, m->pindex + 1)) {
		KASSERT(!(m->flags & VM_PAGE_BUSY), "fat_pager: file I/O during a page's I/O");
		uint64_t from = MAX(off, m->pindex * PAGE_SIZE);
		uint64_t to = MIN(end, (m->pindex + 1) * PAGE_SIZE);
		uint8_t *p = fat_pager_va(m) + from % PAGE_SIZE;
		if (!write)
			memcpy(buf + (from - off), p, to - from);
		else if (src != NULL)
			memcpy(p, src + (from - off), to - from);
		else
			memset(p, 0, to - from);
	}
}

/* fat_vm_ops.truncated */
static void fat_pager_truncated(struct fat_file *f)
{
	uint32_t in = f->size % PAGE_SIZE;

	vm_object_page_remove_from(f->obj, ALIGN_UP((uint64_t)f->size, PAGE_SIZE) / PAGE_SIZE);
	struct vm_page *m = in == 0 ? NULL : vm_object_page_lookup(f->obj, f->size / PAGE_SIZE);
	if (m != NULL) /* what a later growth must read as zeros */
		memset(fat_pager_va(m) + in, 0, PAGE_SIZE - in);
}

/* fat_vm_ops.flush; at unmount it also seals the object: the cleaned pages
 * are write-protected, and the fault path refuses the stores that would
 * dirty them again, since the volume writes nothing more. */
static int fat_pager_flush(struct fat_file *f)
{
	int err = vm_pageout_clean_object(f->obj, 0, FAT_PAGER_OBJ_SIZE / PAGE_SIZE) < 0 ? -EIO : 0;

	if (f->v->unmounted)
		f->obj->flags |= OBJ_SEALED;
	return err;
}

static const struct fat_vm_ops fat_pager_vm_ops = {
    .copy = fat_pager_copy,
    .truncated = fat_pager_truncated,
    .flush = fat_pager_flush,
};

/* The file's object, with a reference for the caller: the live one, or a new one. */
static int fat_pager_object(struct fat_file *f, struct vm_object **out)
{
	if (f->obj != NULL) {
		vm_object_reference(f->obj);
		*out = f->obj;
		return 0;
	}
	struct vm_object *obj = vm_object_allocate(FAT_PAGER_OBJ_SIZE);
	if (obj == NULL)
		return -ENOMEM;
	obj->flags |= OBJ_FILE;
	f->pager = (struct vm_pager){&fat_pager_ops, f};
	obj->pager = &f->pager;
	f->refs++; /* the object's hold, let go by fat_pager_dealloc */
	f->obj = obj;
	f->vm = &fat_pager_vm_ops;
	*out = obj;
	return 0;
}

int fat_map(struct vm_map *map, struct fat_file *f, uint64_t offset, uint64_t size,
	    vm_prot_t prot, bool shared, unsigned flags, vaddr_t *va)
{
	struct vm_object *obj;

	size = ALIGN_UP(size, PAGE_SIZE);
	if (size == 0 || !IS_ALIGNED(offset, PAGE_SIZE) || offset > FAT_PAGER_OBJ_SIZE ||
	    size > FAT_PAGER_OBJ_SIZE - offset)
		return -EINVAL;
	if (shared && (prot & VM_PROT_WRITE) && f->v->read_only)
		return -EROFS;
	int err = fat_pager_object(f, &obj);
	if (err < 0)
		return err;
	if (!shared) {
		struct vm_object *s = vm_object_shadow(obj); /* consumes our reference on obj */
		if (s == NULL) {
			vm_object_deallocate(obj);
			return -ENOMEM;
		}
		obj = s;
	}
	err = vm_map_insert_object(map, obj, offset, size, prot,
				   flags | (shared ? 0 : MAP_ENTRY_COW), va);
	vm_object_deallocate(obj); /* the entry holds its own reference */
	return err;
}
