/*
 * gpt: GUID partition tables (UEFI 2.10, chapter 5.3).
 *
 * gpt_scan reads a disk's primary header (LBA 1) and entry array, each
 * checked by its CRC32 and for sane geometry; when the primary is bad it
 * says why and uses the backup (at the primary's AlternateLBA if that
 * header is readable, else the last sector).  Each used entry becomes a
 * partition device (core/dev/blk.h), registered with its type and unique
 * GUIDs; the disk records its disk GUID.
 *
 * Errors: -EINVAL (both tables bad: the log says what failed; overlapping
 * or out-of-range partitions; absurd sizes), -EIO (the disk failed).
 * Memory: the entry array is read a sector at a time; at most
 * GPT_MAX_USED partitions per disk.
 */
#ifndef PHOBOS_DEV_GPT_H
#define PHOBOS_DEV_GPT_H

#include "core/dev/blk.h"

#define GPT_MAX_USED 128

/* Type GUIDs in text form (guid_parse gives their on-disk bytes). */
#define GPT_TYPE_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_TYPE_LINUX_SWAP "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"

int gpt_scan(struct blk_dev *disk);
/* The registered partition with this unique GUID, on any disk, or NULL. */
struct blk_dev *gpt_find_by_unique_guid(const uint8_t guid[16]);
/* The first partition of disk with this type GUID, or NULL. */
struct blk_dev *gpt_find_by_type(const struct blk_dev *disk, const uint8_t type[16]);
/* The registered whole disk with this disk GUID, or NULL. */
struct blk_dev *gpt_find_disk(const uint8_t disk_guid[16]);
/*
 * SPEC 5's swap test: the type is Linux swap AND the first page carries
 * "SWAPSPACE2" at byte 4086 (mkswap's signature).  1 yes, 0 no, -EIO.
 */
int gpt_is_swap_partition(struct blk_dev *part);

#endif
