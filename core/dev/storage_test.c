/*
 * The boot disk as the image builder made it (image/mkimage.sh): found
 * through the loader's GUIDs on whatever controller it hangs on, its ESP
 * holding a FAT32 boot sector, its swap partition carrying mkswap's
 * signature, and reads of every size the block layer splits.
 */
#include "core/dev/storage.h"
#include "core/ktest.h"
#include "core/mm/malloc.h"

KTEST(storage_boot_disk)
{
	KTEST_ASSERT(storage.boot_disk != NULL);
	KTEST_ASSERT(storage.boot_part != NULL);
	KTEST_ASSERT(storage.swap != NULL);
	if (storage.boot_part == NULL)
		return;
	KTEST_ASSERT(storage.boot_part->parent == storage.boot_disk);
	KTEST_ASSERT(storage.fs == storage.boot_part); /* no fs= given */
	KTEST_EQ(storage.boot_part->part_first_lba, 2048); /* 1 MiB, as mkimage.sh puts it */
	uint8_t *buf = mm_malloc(300 * 512);
	KTEST_ASSERT(buf != NULL);
	if (buf == NULL)
		return;
	KTEST_EQ(blk_read(storage.boot_part, 0, 1, buf), 0);
	KTEST_EQ(buf[510], 0x55);
	KTEST_EQ(buf[511], 0xaa);
	KTEST_EQ(memcmp(buf + 82, "FAT32   ", 8), 0);
	/* 300 sectors: more than one device request, across page boundaries */
	KTEST_EQ(blk_read(storage.boot_disk, 2048, 300, buf), 0);
	KTEST_EQ(memcmp(buf + 82, "FAT32   ", 8), 0);
	KTEST_EQ(blk_read(storage.boot_disk, storage.boot_disk->sectors, 1, buf), -EINVAL);
	mm_mfree(buf);
}
