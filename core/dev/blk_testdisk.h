/*
 * Test disks: whole disks the host attaches for blk_test.c and
 * blk_bench.c, which write all over them.  Sector 0 carries a label the
 * host writes (test/qemu/scenarios.py): BLK_TESTDISK_MAGIC at byte 0, the
 * disk's sector count (u64, little-endian) at byte 16, and the CRC32 of
 * bytes 0-23 at byte 24.  A disk is a test disk only if, besides, it is not
 * the boot disk and holds neither a valid GPT nor a DOS partition table:
 * a label that survived a repartitioning (tools rewrite only the table),
 * or a disk since resized, does not make a user's disk fair game.
 */
#ifndef PHOBOS_DEV_BLK_TESTDISK_H
#define PHOBOS_DEV_BLK_TESTDISK_H

#include "core/dev/blk.h"

#define BLK_TESTDISK_MAGIC "PHOBOS BLKTEST 1"
#define BLK_TESTDISK_SECTORS_AT 16
#define BLK_TESTDISK_CRC_AT 24

/* d after gpt_scan; buf holds one sector.  Only 512-byte-sector disks. */
bool blk_is_test_disk(struct blk_dev *d, const struct blk_dev *boot_disk, void *buf);

#endif
