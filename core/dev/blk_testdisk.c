/*
 * Test disks: see blk_testdisk.h.  The label is written by the host's test
 * scripts; a disk is believed to be one only when everything about it says
 * so, because a self-test or benchmark writes all over it.
 */
#include "core/dev/blk_testdisk.h"
#include "core/lib/crc32.h"
#include "core/lib/guid.h"

/* A DOS partition table: the 0x55AA signature and at least one used entry
 * (a GPT's protective MBR is one). */
static bool blk_testdisk_has_mbr(const uint8_t *s)
{
	if (s[510] != 0x55 || s[511] != 0xaa)
		return false;
	for (int i = 0; i < 4; i++)
		if (s[446 + 16 * i + 4] != 0)
			return true;
	return false;
}

bool blk_is_test_disk(struct blk_dev *d, const struct blk_dev *boot_disk, void *buf)
{
	const uint8_t *s = buf;
	uint64_t sectors;
	uint32_t crc;

	if (d->parent != NULL || d == boot_disk || !guid_is_zero(d->disk_guid))
		return false;
	for (struct blk_dev *p = blk_first(); p != NULL; p = p->next)
		if (p->parent == d)
			return false;
	if (d->sector_size != 512 || blk_read(d, 0, 1, buf) < 0)
		return false;
	memcpy(&sectors, s + BLK_TESTDISK_SECTORS_AT, 8);
	memcpy(&crc, s + BLK_TESTDISK_CRC_AT, 4);
	return memcmp(s, BLK_TESTDISK_MAGIC, sizeof(BLK_TESTDISK_MAGIC) - 1) == 0 &&
	       sectors == d->sectors && crc == crc32(0, s, BLK_TESTDISK_CRC_AT) &&
	       !blk_testdisk_has_mbr(s);
}
