/*
 * blk_rw (selftest=blk_rw): reads what the host wrote and writes what the
 * host then verifies, on every whole disk whose first sector carries the
 * test-disk label (blk_testdisk.h), whatever controller it hangs on.
 *
 * The host (test/qemu/scenarios.py) fills the disk so that the 64-bit word
 * at byte offset o is o ^ BLKT_READ_KEY, except sector 0 which holds the
 * label.  The test checks reads of many shapes, then rewrites the second
 * half of the disk so that word o holds o ^ BLKT_WRITE_KEY, reads that
 * back, flushes, and the host checks the file after QEMU exits.  Nothing is
 * written to a disk that is not a test disk.
 */
#include "core/dev/blk_testdisk.h"
#include "core/dev/storage.h"
#include "core/ktest.h"
#include "core/mm/malloc.h"

#define BLKT_READ_KEY 0x5048424f53524421ull
#define BLKT_WRITE_KEY 0x50484f424f535721ull
#define BLKT_BUF_SECTORS 520 /* more than one device request on every driver */
#define BLKT_BAD_LBA 6075    /* blk_ioerr: the host fails every access to it */

static void blkt_fill(uint8_t *buf, uint64_t byte, size_t len, uint64_t key)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = (byte + i) ^ key;
		memcpy(buf + i, &w, 8);
	}
}

/* The first word that differs, or -1. */
static long blkt_verify(const uint8_t *buf, uint64_t byte, size_t len, uint64_t key)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;
		memcpy(&w, buf + i, 8);
		if (w != ((byte + i) ^ key))
			return (long)i;
	}
	return -1;
}

/* Reads [lba, lba + count) into buf with one request and checks it. */
static void blkt_read_check(struct blk_dev *d, uint64_t lba, uint32_t count, uint8_t *buf,
			    uint64_t key)
{
	memset(buf, 0xcc, (size_t)count * 512);
	int err = blk_read(d, lba, count, buf);
	long bad = blkt_verify(buf, lba * 512, (size_t)count * 512, key);
	if (err != 0 || bad >= 0)
		ktest_fail(__FILE__, __LINE__, "%s: read of %u sectors at %llu: %s, first bad byte %ld",
			   d->name, count, (unsigned long long)lba, err_name(err), bad);
}

/* A batch of 4 KiB requests at scattered places, all in flight together. */
static void blkt_batch(struct blk_dev *d, enum blk_op op, uint64_t first, uint64_t span,
		       uint8_t *buf, uint64_t key)
{
	struct blk_req reqs[16];

	for (unsigned i = 0; i < 16; i++) {
		uint64_t lba = first + (i * 7919u * 8u) % (span - 8);
		reqs[i] = (struct blk_req){op, lba, 8, buf + (size_t)i * 4096, 1};
		if (op == BLK_WRITE)
			blkt_fill(reqs[i].buf, lba * 512, 4096, key);
		else
			memset(reqs[i].buf, 0xcc, 4096);
	}
	KTEST_EQ(blk_submit(d, reqs, 16), 0);
	for (unsigned i = 0; i < 16; i++) {
		KTEST_EQ(reqs[i].status, 0);
		if (op == BLK_READ && blkt_verify(reqs[i].buf, reqs[i].lba * 512, 4096, key) >= 0)
			ktest_fail(__FILE__, __LINE__, "%s: batched read %u at %llu wrong", d->name, i,
				   (unsigned long long)reqs[i].lba);
	}
}

static void blkt_disk(struct blk_dev *d, uint8_t *buf)
{
	uint64_t half = d->sectors / 2, span = d->sectors - half;

	blkt_read_check(d, 1, 1, buf, BLKT_READ_KEY);
	blkt_read_check(d, d->sectors - 1, 1, buf, BLKT_READ_KEY);
	blkt_read_check(d, 7, 9, buf + 512, BLKT_READ_KEY); /* buffer not page aligned */
	blkt_read_check(d, 9, BLKT_BUF_SECTORS, buf, BLKT_READ_KEY);
	blkt_batch(d, BLK_READ, 1, half - 1, buf, BLKT_READ_KEY);
	KTEST_EQ(blk_read(d, d->sectors - 1, 2, buf), -EINVAL);

	/* rewrite the second half in pieces of varied size and alignment */
	for (uint64_t lba = half; lba < d->sectors;) {
		uint32_t n = (uint32_t)MIN(d->sectors - lba, (uint64_t)1 + (lba * 37) % BLKT_BUF_SECTORS);
		blkt_fill(buf, lba * 512, (size_t)n * 512, BLKT_WRITE_KEY);
		KTEST_EQ(blk_write(d, lba, n, buf), 0);
		lba += n;
	}
	blkt_batch(d, BLK_WRITE, half, span, buf, BLKT_WRITE_KEY);
	KTEST_EQ(blk_flush(d), 0);
	for (uint64_t lba = half; lba < d->sectors; lba += BLKT_BUF_SECTORS)
		blkt_read_check(d, lba, (uint32_t)MIN(d->sectors - lba, (uint64_t)BLKT_BUF_SECTORS), buf,
				BLKT_WRITE_KEY);
	blkt_batch(d, BLK_READ, half, span, buf, BLKT_WRITE_KEY);
	blkt_read_check(d, half - 4, 4, buf, BLKT_READ_KEY); /* the first half is untouched */
	kprintf("# blk_rw: %s: %llu sectors read and checked, %llu rewritten\n", d->name,
		(unsigned long long)d->sectors, (unsigned long long)span);
}

/* Runs fn on every test disk with a buffer of bytes; fails when there is none. */
static void blkt_each_test_disk(void (*fn)(struct blk_dev *d, uint8_t *buf), size_t bytes)
{
	uint8_t *buf = mm_malloc(bytes);
	unsigned disks = 0;

	KTEST_ASSERT(buf != NULL);
	if (buf == NULL)
		return;
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		/* the patterns and the rewrite assume 512-byte sectors and room for them */
		if (d->sectors >= 4096 && blk_is_test_disk(d, storage.boot_disk, buf)) {
			disks++;
			fn(d, buf);
		}
	KTEST_ASSERT(disks > 0);
	mm_mfree(buf);
}

KTEST_DEFINE(blk_rw, KTEST_ON_REQUEST)
{
	blkt_each_test_disk(blkt_disk, (BLKT_BUF_SECTORS + 1) * 512);
}

/*
 * blk_ioerr (selftest=blk_ioerr): the host makes every read and write of
 * sector BLKT_BAD_LBA of the test disk fail.  In a batch, only the request
 * over it fails; the others arrive intact, and the disk still works after.
 */
static void blkt_ioerr_disk(struct blk_dev *d, uint8_t *buf)
{
	struct blk_req reqs[16];

	for (unsigned i = 0; i < 16; i++) {
		uint64_t lba = i == 5 ? BLKT_BAD_LBA - 3 : 1 + i * 512;
		reqs[i] = (struct blk_req){BLK_READ, lba, 8, buf + (size_t)i * 4096, 1};
	}
	KTEST_EQ(blk_submit(d, reqs, 16), -EIO);
	for (unsigned i = 0; i < 16; i++) {
		KTEST_EQ(reqs[i].status, i == 5 ? -EIO : 0);
		if (i != 5 && blkt_verify(reqs[i].buf, reqs[i].lba * 512, 4096, BLKT_READ_KEY) >= 0)
			ktest_fail(__FILE__, __LINE__, "%s: read %u at %llu wrong", d->name, i,
				   (unsigned long long)reqs[i].lba);
	}
	blkt_fill(buf, BLKT_BAD_LBA * 512, 512, BLKT_READ_KEY); /* what is there already */
	KTEST_EQ(blk_write(d, BLKT_BAD_LBA, 1, buf), -EIO);
	blkt_read_check(d, BLKT_BAD_LBA + 1, 64, buf, BLKT_READ_KEY);
}

KTEST_DEFINE(blk_ioerr, KTEST_ON_REQUEST)
{
	blkt_each_test_disk(blkt_ioerr_disk, 16 * 4096);
}
