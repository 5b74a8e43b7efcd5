/*
 * blk_read: read throughput of whole disks, through blk_submit as every
 * user of the block layer sees it.
 *
 * Measured: each whole disk whose sector 0 carries the test-disk label of
 * blk_test.c, or the boot disk when there is none.  Nothing is written.
 * Every figure reads the same amount, min(16 MiB, disk), in 4 KiB requests
 * into page-aligned buffers.  The bench name is "blk_<kind>", the kind being
 * the letters that start the device name (virtio, ahci, nvme), so that
 * controllers line up side by side.  Metrics:
 *
 *   seq_4k_read_qd1    MiB/s  consecutive 4 KiB reads, one per blk_submit
 *   seq_4k_read_qd32   MiB/s  the same, 32 consecutive requests per blk_submit
 *   rand_4k_read_qd1   IOPS   4 KiB reads at pseudo-random 4 KiB-aligned
 *                             offsets over the whole disk, one per blk_submit
 *   rand_4k_read_qd32  IOPS   the same, 32 per blk_submit
 *
 * "qd32" is a batch of 32 handed over at once: the depth the device sees
 * is what the driver keeps in flight, at most 32.
 */
#include "core/dev/blk_testdisk.h"
#include "core/dev/storage.h"
#include "core/kbench.h"
#include "core/mm/kmem.h"

#define BLKB_IO 4096
#define BLKB_BATCH 32
#define BLKB_SPAN (16ull << 20)

struct blkb {
	struct blk_dev *d;
	uint8_t *buf;     /* BLKB_BATCH buffers of BLKB_IO bytes */
	uint32_t per_io;  /* sectors per request */
	uint64_t blocks;  /* BLKB_IO blocks on the disk */
	uint64_t nio;     /* requests per figure */
	uint64_t rng;
};

/* xorshift64: the same offsets every run, so runs compare. */
static uint64_t blkb_random(struct blkb *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

/* Issues b->nio reads in batches of depth; returns the time taken in us, or an error. */
static int64_t blkb_pass(struct blkb *b, unsigned depth, bool random)
{
	struct blk_req reqs[BLKB_BATCH];
	uint64_t next = 0;

	b->rng = 0x9e3779b97f4a7c15ull;
	uint64_t start = clock_us();
	for (uint64_t done = 0; done < b->nio; done += depth) {
		for (unsigned i = 0; i < depth; i++) {
			uint64_t block = random ? blkb_random(b) % b->blocks : next++;
			reqs[i] = (struct blk_req){BLK_READ, block * b->per_io, b->per_io,
						   b->buf + (size_t)i * BLKB_IO, 0};
		}
		int err = blk_submit(b->d, reqs, depth);
		if (err < 0)
			return err;
	}
	uint64_t us = clock_us() - start;
	return us == 0 ? -EIO : (int64_t)us;
}

static int blkb_disk(struct blk_dev *d, uint8_t *buf)
{
	static const struct {
		const char *metric;
		unsigned depth;
		bool random;
	} figures[] = {
		{"seq_4k_read_qd1", 1, false},
		{"seq_4k_read_qd32", BLKB_BATCH, false},
		{"rand_4k_read_qd1", 1, true},
		{"rand_4k_read_qd32", BLKB_BATCH, true},
	};
	struct blkb b = {d, buf, BLKB_IO / d->sector_size, d->sectors / (BLKB_IO / d->sector_size),
			 0, 0};
	char bench[32];
	size_t kind = 0;

	b.nio = ALIGN_DOWN(MIN(b.blocks, BLKB_SPAN / BLKB_IO), (uint64_t)BLKB_BATCH);
	if (b.nio == 0)
		return -EINVAL;
	while (d->name[kind] >= 'a' && d->name[kind] <= 'z')
		kind++;
	ksnprintf(bench, sizeof(bench), "blk_%.*s", (int)kind, d->name);
	log_info("bench: blk_read: %s, %llu MiB per figure", d->name,
		 (unsigned long long)(b.nio * BLKB_IO >> 20));
	for (size_t i = 0; i < ARRAY_SIZE(figures); i++) {
		int64_t us = blkb_pass(&b, figures[i].depth, figures[i].random);
		if (us < 0)
			return (int)us;
		if (figures[i].random)
			kbench_result(bench, figures[i].metric, b.nio * 1000000000ull / (uint64_t)us,
				      "IOPS");
		else
			kbench_result(bench, figures[i].metric,
				      (b.nio * BLKB_IO * 1000000000ull / (uint64_t)us) >> 20, "MiB/s");
	}
	return 0;
}

KBENCH(blk_read)
{
	uint8_t *buf = kmem_map_alloc_pages(BLKB_BATCH * BLKB_IO / PAGE_SIZE);
	unsigned disks = 0;
	int err = 0;

	if (buf == NULL)
		return -ENOMEM;
	for (struct blk_dev *d = blk_first(); d != NULL && err == 0; d = d->next) {
		if (d->sector_size <= BLKB_IO && blk_is_test_disk(d, storage.boot_disk, buf)) {
			disks++;
			err = blkb_disk(d, buf);
		}
	}
	if (disks == 0)
		err = storage.boot_disk != NULL ? blkb_disk(storage.boot_disk, buf) : -ENODEV;
	kmem_map_free_pages(buf, BLKB_BATCH * BLKB_IO / PAGE_SIZE);
	return err;
}
