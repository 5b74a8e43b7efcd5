/*
 * Host block devices for tests and fuzzers: a file (an image made by
 * sgdisk, mkfs.fat, mtools) or a memory buffer, behind the blk interface.
 * Counters let tests assert how many requests reached the device, and
 * fail_after makes the device fail with -EIO, for good, once that many
 * more sectors have been transferred (-1: never).
 */
#ifndef PHOBOS_TEST_BLK_FILE_H
#define PHOBOS_TEST_BLK_FILE_H

#include "core/dev/blk.h"

struct blk_host {
	struct blk_dev dev;
	int fd;         /* -1 for memory devices */
	uint8_t *mem;
	uint64_t reads, writes; /* sectors */
	int64_t fail_after;     /* -1: never */
};

/* 0 or -errno; the device is named name. */
int blk_file_open(struct blk_host *h, const char *path, uint32_t sector_size, const char *name);
void blk_file_close(struct blk_host *h);
void blk_mem_create(struct blk_host *h, void *buf, size_t size, uint32_t sector_size,
		    const char *name);

#endif
