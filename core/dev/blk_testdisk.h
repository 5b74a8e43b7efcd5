/*
 * Test disks: whole disks the host attaches for blk_test.c and
 * blk_bench.c, recognised by BLK_TESTDISK_MAGIC at the start of sector 0
 * (test/qemu/scenarios.py writes it).  Only a disk carrying it is ever
 * written by a self-test.
 */
#ifndef PHOBOS_DEV_BLK_TESTDISK_H
#define PHOBOS_DEV_BLK_TESTDISK_H

#include "core/dev/blk.h"

#define BLK_TESTDISK_MAGIC "PHOBOS BLKTEST 1"

/* True for a whole disk with the magic; buf holds one sector. */
bool blk_is_test_disk(struct blk_dev *d, void *buf);

#endif
