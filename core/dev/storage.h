/*
 * storage: the disks found at boot and the boot disk's partitions
 * (SPEC 5).  storage_init finds the controllers, reads every disk's GPT and
 * recognises the boot disk by the disk GUID the loader recorded, the boot
 * partition by its unique GUID, and the swap partition by type and
 * signature.  Missing pieces are logged and left NULL: the caller decides
 * whether it needs them.
 */
#ifndef PHOBOS_DEV_STORAGE_H
#define PHOBOS_DEV_STORAGE_H

#include "core/boot_info.h"
#include "core/dev/blk.h"
#include "fs/fat.h"

struct storage {
	struct blk_dev *boot_disk; /* whole disk */
	struct blk_dev *boot_part; /* the ESP the loader came from */
	struct blk_dev *swap;      /* the first swap partition of the boot disk, or swap= */
	struct blk_dev *fs;        /* the partition files are served from (fs=, else boot_part) */
	struct fat_vol *vol;       /* the FAT volume mounted from fs */
};

extern struct storage storage;

/*
 * Finds the disks and partitions.  fs_guid and swap_guid are the fs= and
 * swap= values ("" when not given): a partition named there that cannot be
 * found is a missing device, -ENODEV (the caller exits with code 2).  The
 * files partition is mounted; a partition that holds no sane FAT is
 * -EINVAL (code 2 too): files must never be served from a damaged volume.
 */
int storage_init(const struct boot_info *bi, const char *fs_guid, const char *swap_guid);

#endif
