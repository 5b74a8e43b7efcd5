/*
 * fat_write (selftest=fat_write): the FAT driver writing on the real file
 * volume through whatever controller it hangs on.  It creates a directory
 * and a file with long names, extends the file past a gap, truncates it,
 * extends it again with zeros, appends, and removes a scratch file,
 * checking every step by reading back.  The host then runs fsck.fat -n on
 * the volume and compares the file with the bytes expected
 * (test/qemu/scenarios.py, fat_write_expected).
 */
#include "core/dev/storage.h"
#include "core/ktest.h"
#include "core/mm/malloc.h"

#define FWT_DIR "/Phobos Write Test"
#define FWT_FILE FWT_DIR "/Extended and truncated file.bin"
#define FWT_SCRATCH FWT_DIR "/scratch file to delete.tmp"

static uint8_t fwt_byte(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 8));
}

/* Reads [off, off + len) and checks it against expect(i), or zeros when expect is NULL. */
static void fwt_expect(struct fat_file *f, uint64_t off, size_t len, uint8_t (*expect)(uint64_t),
		       uint8_t *buf)
{
	KTEST_EQ(fat_read(f, off, buf, len), len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (expect != NULL ? expect(off + i) : 0)) {
			ktest_fail(__FILE__, __LINE__, "byte %llu reads %u",
				   (unsigned long long)(off + i), buf[i]);
			return;
		}
}

KTEST_DEFINE(fat_write, KTEST_ON_REQUEST)
{
	struct fat_vol *v = storage.vol;
	struct fat_file *f;
	struct fat_info before, after;
	uint8_t *buf = mm_malloc(80000);

	KTEST_ASSERT(v != NULL && buf != NULL);
	if (v == NULL || buf == NULL)
		return;
	/* a previous run on the same volume leaves its file: start afresh */
	fat_unlink(v, FWT_FILE);
	fat_unlink(v, FWT_SCRATCH);
	fat_rmdir(v, FWT_DIR);
	fat_info(v, &before);
	KTEST_EQ(fat_mkdir(v, FWT_DIR), 0);
	KTEST_EQ(fat_open(v, FWT_FILE, FAT_O_CREATE | FAT_O_EXCL, &f), 0);
	if (f == NULL)
		goto out;
	for (size_t i = 0; i < 10000; i++)
		buf[i] = fwt_byte(i);
	KTEST_EQ(fat_write(f, 0, buf, 10000), 10000);
	for (size_t i = 0; i < 5000; i++)
		buf[i] = fwt_byte(300000 + i);
	KTEST_EQ(fat_write(f, 300000, buf, 5000), 5000); /* extends past a gap */
	KTEST_EQ(fat_size(f), 305000);
	fwt_expect(f, 0, 10000, fwt_byte, buf);
	fwt_expect(f, 10000, 70000, NULL, buf);
	fwt_expect(f, 300000, 5000, fwt_byte, buf);
	KTEST_EQ(fat_truncate(f, 150000), 0);
	KTEST_EQ(fat_size(f), 150000);
	KTEST_EQ(fat_read(f, 149990, buf, 100), 10);
	KTEST_EQ(fat_truncate(f, 160000), 0); /* grows with zeros */
	KTEST_EQ(fat_write(f, 159997, "END", 3), 3);
	fwt_expect(f, 0, 10000, fwt_byte, buf);
	fwt_expect(f, 10000, 70000, NULL, buf);
	fwt_expect(f, 80000, 79997, NULL, buf);
	KTEST_EQ(fat_read(f, 159997, buf, 10), 3);
	KTEST_EQ(memcmp(buf, "END", 3), 0);
	fat_close(f);

	KTEST_EQ(fat_open(v, FWT_SCRATCH, FAT_O_CREATE, &f), 0);
	if (f != NULL) {
		KTEST_EQ(fat_write(f, 0, buf, 70000), 70000);
		fat_close(f);
	}
	KTEST_EQ(fat_unlink(v, FWT_SCRATCH), 0);
	KTEST_EQ(fat_open(v, FWT_SCRATCH, 0, &f), -ENOENT);
	fat_info(v, &after);
	uint32_t used = (160000 + after.cluster_size - 1) / after.cluster_size + 1; /* + the directory */
	KTEST_EQ(before.free_clusters - after.free_clusters, used);
	kprintf("# fat_write: FAT%d, %u-byte clusters, %u clusters in use by the test\n", after.type,
		after.cluster_size, used);
out:
	mm_mfree(buf);
}
