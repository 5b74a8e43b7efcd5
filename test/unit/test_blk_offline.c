/*
 * A device that stops answering and cannot be stopped: the block layer
 * takes it offline and names the buffers it still holds (-EBUSY), and the
 * FAT sector cache never uses or writes such a buffer again.
 *
 * The simulated disk is memory holding a volume made by mkfs.fat.  When
 * armed, it "hangs" on one request: it keeps that request's buffer (as a
 * DMA engine that never finished would), reports a timeout and goes
 * offline as a driver whose reset failed does.  Later the test writes
 * into the kept buffer, as the device still may: if the cache had freed
 * it, ASan reports the write; if the cache still used it, the corrupted
 * bytes would show in what it returns or writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fs/fat_impl.h"

#define WORK "build/host/blk-offline-work"
#define IMG WORK "/vol.img"
#define SECTOR 512
#define LATE_DMA 0xee

struct hang_dev {
	struct blk_dev dev;
	uint8_t *disk;
	size_t size;
	int hang_on;        /* BLK_READ or BLK_WRITE: the next such request hangs; -1: none */
	uint8_t *held;      /* the buffer the hung request left with the device */
	size_t held_len;
	unsigned calls;     /* submit calls reaching the driver */
};

static struct hang_dev hd;
static uint8_t *snapshot; /* the disk when the device hung */

static int hang_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	struct hang_dev *h = container_of(dev, struct hang_dev, dev);
	int err = 0;

	h->calls++;
	for (size_t i = 0; i < n; i++) {
		struct blk_req *r = &reqs[i];
		size_t off = r->lba * SECTOR, len = (size_t)r->count * SECTOR;
		if (err < 0) {
			r->status = -EIO; /* never started: the device stopped answering */
		} else if ((int)r->op == h->hang_on) {
			h->hang_on = -1;
			h->held = r->buf;
			h->held_len = len;
			snapshot = malloc(h->size);
			memcpy(snapshot, h->disk, h->size);
			r->status = err = -ETIMEDOUT;
			blk_set_offline(dev, "test: reset did not complete");
		} else {
			if (r->op == BLK_READ)
				memcpy(r->buf, h->disk + off, len);
			else
				memcpy(h->disk + off, r->buf, len);
			r->status = 0;
		}
	}
	return err;
}

static int hang_flush(struct blk_dev *dev)
{
	return 0;
}

static const struct blk_ops hang_ops = {hang_submit, hang_flush};

/* The device writes into the buffer it kept, long after it gave up on it. */
static void late_dma(void)
{
	assert_non_null(hd.held);
	memset(hd.held, LATE_DMA, hd.held_len);
}

static void make_disk(void)
{
	assert_int_equal(system("mkdir -p " WORK " && rm -f " IMG " && truncate -s 4M " IMG
				" && mkfs.fat -F 16 -s 1 -n OFFLINE " IMG " >/dev/null"),
			 0);
	FILE *f = fopen(IMG, "rb");
	assert_non_null(f);
	memset(&hd, 0, sizeof(hd));
	hd.size = 4 << 20;
	hd.disk = malloc(hd.size);
	assert_int_equal(fread(hd.disk, 1, hd.size, f), hd.size);
	fclose(f);
	snprintf(hd.dev.name, sizeof(hd.dev.name), "hang0");
	hd.dev.sector_size = SECTOR;
	hd.dev.sectors = hd.size / SECTOR;
	hd.dev.ops = &hang_ops;
	hd.hang_on = -1;
	snapshot = NULL;
}

static int teardown(void **state)
{
	free(hd.disk);
	free(hd.held); /* the test, unlike the kernel, may take it back at the end */
	free(snapshot);
	return 0;
}

static bool cache_holds(const struct fat_vol *v, const void *buf)
{
	for (unsigned i = 0; i < FAT_CACHE_SLOTS; i++)
		if (v->cache[i].data == buf)
			return true;
	return false;
}

/* Any sector holding the late-DMA pattern that the device got from the cache. */
static void assert_disk_unchanged(void)
{
	assert_non_null(snapshot);
	assert_memory_equal(hd.disk, snapshot, hd.size);
}

/* The block layer: which requests lose their buffers, and nothing after. */
static void test_blk_batch_on_a_hung_device(void **state)
{
	uint8_t *bufs[3];
	struct blk_req reqs[3];

	make_disk();
	for (int i = 0; i < 3; i++) {
		bufs[i] = malloc(SECTOR);
		reqs[i] = (struct blk_req){BLK_READ, (uint64_t)i, 1, bufs[i], 0};
	}
	reqs[1].op = BLK_WRITE;
	hd.hang_on = BLK_WRITE;
	assert_int_equal(blk_submit(&hd.dev, reqs, 3), -EBUSY);
	assert_int_equal(reqs[0].status, 0);
	assert_int_equal(reqs[1].status, -EBUSY);
	assert_int_equal(reqs[2].status, -EBUSY);
	assert_ptr_equal(hd.held, bufs[1]);
	assert_true(blk_offline(&hd.dev));

	/* from now on nothing reaches the driver, and buffers are not lost */
	struct blk_dev *part = blk_partition_create(&hd.dev, 1, 8, 64);
	assert_non_null(part);
	assert_true(blk_offline(part));
	unsigned calls = hd.calls;
	assert_int_equal(blk_read(&hd.dev, 0, 1, bufs[0]), -EIO);
	assert_int_equal(blk_read(part, 0, 1, bufs[0]), -EIO);
	assert_int_equal(blk_flush(&hd.dev), -EIO);
	assert_int_equal(hd.calls, calls);
	late_dma();
	free(bufs[0]);
	free(bufs[2]);
	blk_reset_registry();
}

/* A failure on a device that did stop is an ordinary error: nothing is lost. */
static void test_blk_failure_without_offline(void **state)
{
	uint8_t buf[SECTOR];

	make_disk();
	hd.dev.sectors = 8;
	assert_int_equal(blk_read(&hd.dev, 8, 1, buf), -EINVAL);
	assert_false(blk_offline(&hd.dev));
	assert_int_equal(blk_read(&hd.dev, 0, 1, buf), 0);
}

/* A dirty sector's write-back hangs: its buffer is never used or written again. */
static void test_fat_write_back_hangs(void **state)
{
	struct fat_vol *v;
	uint8_t *p, *fat;

	make_disk();
	assert_int_equal(fat_mount(&hd.dev, &v), 0);
	uint64_t dir = v->root_start;
	assert_int_equal(fat_cache_get(v, v->fat_start, true, &fat), 0);
	assert_int_equal(fat_cache_get(v, dir, true, &p), 0);
	memcpy(p, "CHANGED    ", 11);
	fat_cache_dirty(v, dir);
	uint8_t fat_copy[SECTOR];
	memcpy(fat_copy, fat, SECTOR);

	hd.hang_on = BLK_WRITE;
	assert_int_equal(fat_cache_flush(v), -EIO);
	assert_ptr_equal(hd.held, p);
	assert_false(cache_holds(v, p));
	late_dma();

	/* the hung sector is gone with the device; the others still read from the cache */
	assert_int_equal(fat_cache_get(v, dir, true, &p), -EIO);
	assert_int_equal(fat_cache_get(v, v->fat_start, true, &fat), 0);
	assert_memory_equal(fat, fat_copy, SECTOR);
	assert_false(cache_holds(v, hd.held));
	unsigned calls = hd.calls;
	assert_int_equal(fat_sync(v), -EIO);
	assert_int_not_equal(fat_unmount(v), 0);
	assert_int_equal(hd.calls, calls);
	late_dma(); /* ASan: still not freed */
	assert_disk_unchanged();
}

/* A sector read into a cache slot hangs: that slot's buffer is left to the device. */
static void test_fat_read_hangs(void **state)
{
	struct fat_vol *v;
	uint8_t *p, *fat;

	make_disk();
	assert_int_equal(fat_mount(&hd.dev, &v), 0);
	assert_int_equal(fat_cache_get(v, v->fat_start, true, &fat), 0);
	uint8_t fat_copy[SECTOR];
	memcpy(fat_copy, fat, SECTOR);
	hd.hang_on = BLK_READ;
	assert_int_equal(fat_cache_get(v, v->root_start, true, &p), -EIO);
	assert_false(cache_holds(v, hd.held));
	late_dma();
	/* sectors made from nothing fill every other slot, never the lost buffer */
	for (unsigned i = 0; i < FAT_CACHE_SLOTS - 2; i++) {
		assert_int_equal(fat_cache_get(v, v->data_start + i, false, &p), 0);
		assert_ptr_not_equal(p, hd.held);
		late_dma();
		assert_int_equal(p[0], 0);
	}
	assert_int_equal(fat_cache_get(v, v->fat_start, true, &fat), 0);
	assert_memory_equal(fat, fat_copy, SECTOR);
	assert_int_not_equal(fat_unmount(v), 0);
	late_dma();
	assert_disk_unchanged();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_blk_batch_on_a_hung_device, teardown),
	    cmocka_unit_test_teardown(test_blk_failure_without_offline, teardown),
	    cmocka_unit_test_teardown(test_fat_write_back_hangs, teardown),
	    cmocka_unit_test_teardown(test_fat_read_hangs, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
