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
#include "core/config.h"
#include "core/dev/blk.h"
#include "fs/fat.h"

struct storage {
	struct blk_dev *boot_disk; /* whole disk */
	struct blk_dev *boot_part; /* the ESP the loader came from */
	struct blk_dev *swap;      /* swap=auto: the boot disk's first swap partition; swap=GUID;
				    * NULL for swap=off */
	struct blk_dev *fs;        /* the partition files are served from (fs=, else boot_part) */
	struct fat_vol *vol;       /* the FAT volume mounted from fs */
};

extern struct storage storage;

/*
 * Finds the disks and partitions.  The boot partition and swap must lie on
 * the boot disk; fs= may name a partition of any disk.  fs_guid is the fs=
 * value ("" when not given), swap and swap_guid the swap= setting.  Errors
 * (the caller exits with code 2): -ENODEV, a partition named by fs= or
 * swap= is missing, or swap= names one that is not swap or not on the boot
 * disk; -EEXIST, a GUID that must be unique (the loader's disk and
 * partition GUIDs, fs=, swap=) is carried by several disks or partitions;
 * -EINVAL and others from fat_mount, the files partition holds no sane FAT:
 * files are never served from a damaged volume.
 */
int storage_init(const struct boot_info *bi, const char *fs_guid, enum config_swap swap,
		 const char *swap_guid);

#endif
