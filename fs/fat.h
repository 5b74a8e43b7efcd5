/*
 * fat: FAT12, FAT16 and FAT32 volumes on a blk device, read and write.
 *
 * The type is decided the way the specification says, from the count of
 * data clusters, never from the label in the boot sector.  Names: long
 * names (read and written as UTF-8, stored as UCS-2 in LFN entries) and 8.3
 * names; lookup is case-insensitive for ASCII.  A new name that is not
 * already a valid upper-case 8.3 name gets LFN entries and a generated
 * short alias ("BASIS~N.EXT").  Paths are absolute or relative to the root,
 * separated by '/' or '\'.
 *
 * Ownership: fat_mount returns a volume that owns a small write-back cache
 * of metadata sectors (FAT and directories).  Every call that changes the
 * volume writes its changes through before returning, to every FAT copy, so
 * the volume is consistent between calls; fat_unmount frees the volume and
 * its caches.  Files may be mapped (fat_pager.h): reads, writes and
 * truncation keep to the pages the mappings hold.
 *
 * Dirty flag: the first call that changes the volume marks it dirty on
 * disk (bit 0 of the boot sector's flags byte, and the clean-shutdown bit
 * of FAT entry 1 cleared on FAT16/32, as fsck.fat and Windows read them)
 * before anything else is written; fat_unmount clears the marks once
 * everything else is on disk.  A volume found dirty at mount was not
 * unmounted cleanly and may be damaged: it is mounted read-only (with a
 * warning), every call that would change it fails with -EROFS, and nothing
 * at all is written to it, so fsck.fat still sees the marks.
 *
 * Shared clusters: a damaged FAT may link two chains into one tail.  The
 * first call of a mount that frees clusters first walks every chain
 * reached from the directory tree and counts, per cluster, the chains
 * reaching it (two bits per cluster: 256 KiB for a 1 TiB volume of 32 KiB
 * clusters; and one read of every directory and of the FAT entries of
 * every chain, about one pass over the FAT, once per mount).
 * Freeing a chain stops at the first cluster another chain reaches too:
 * that cluster and the rest of the chain stay allocated (logged; at worst
 * they leak, which fsck.fat reclaims), so the other file stays whole.  A file is opened once: fat_open of a file already open
 * returns the same handle with one more reference, so every user sees the
 * same size and chain; fat_close drops the reference.
 *
 * Lock key: a volume is used by one thread at a time (the caller
 * serialises); no call sleeps other than in blk I/O.
 *
 * Errors: -ENOENT (no such name), -ENOTDIR / -EISDIR (wrong kind of
 * entry), -EEXIST, -ENOTEMPTY, -EBUSY (removing an open file), -ENOSPC
 * (no free cluster, or a full FAT12/16 root directory), -EFBIG (beyond
 * 4 GiB - 1), -ENAMETOOLONG, -EINVAL (bad name or argument, or a damaged
 * volume: bad boot sector, a cluster number out of range, a directory
 * entry pointing nowhere; the log says which), -ELOOP (a cluster chain
 * that loops), -EIO (the device failed), -ENOMEM, -EROFS (a change asked
 * of a volume mounted read-only).  A damaged volume is
 * reported, never followed into a hang or a crash.
 */
#ifndef PHOBOS_FS_FAT_H
#define PHOBOS_FS_FAT_H

#include "core/dev/blk.h"

#define FAT_NAME_MAX 255      /* UCS-2 code units in a long name */
#define FAT_NAME_BYTES 768    /* room for a long name in UTF-8, with the NUL */
#define FAT_ATTR_READONLY 0x01
#define FAT_ATTR_HIDDEN 0x02
#define FAT_ATTR_SYSTEM 0x04
#define FAT_ATTR_VOLUME 0x08
#define FAT_ATTR_DIR 0x10
#define FAT_ATTR_ARCHIVE 0x20

struct fat_vol;
struct fat_file;

enum fat_type { FAT12 = 12, FAT16 = 16, FAT32 = 32 };

struct fat_info {
	enum fat_type type;
	uint32_t cluster_size; /* bytes */
	uint32_t clusters;     /* data clusters */
	uint32_t free_clusters;
	bool read_only; /* found dirty at mount: fat_bmap's sectors must not be written either */
};

struct fat_dirent {
	char name[FAT_NAME_BYTES]; /* the long name if any, else the 8.3 name */
	char short_name[13];       /* "NAME.EXT" */
	uint8_t attr;
	uint32_t size;
	uint32_t cluster; /* first cluster, 0 for an empty file */
};

/* Mounts the FAT volume on dev (read-only if marked dirty); -EINVAL when dev holds no sane FAT. */
int fat_mount(struct blk_dev *dev, struct fat_vol **out);
/*
 * Writes back what is cached, then clears the dirty marks (if this mount
 * set them), and frees the volume; every file must be closed, except
 * files held only by their VM objects (fat_pager.h): their dirty pages
 * are written back first, and the volume, read-only from then on, is
 * freed when the last of them is let go.  On an error the volume is still
 * freed (or left to those files) and the marks stay set.
 */
int fat_unmount(struct fat_vol *v);
void fat_info(const struct fat_vol *v, struct fat_info *info);

int fat_stat(struct fat_vol *v, const char *path, struct fat_dirent *out);
/* Calls fn for each entry of a directory but "." and ".."; stops when fn returns non-zero. */
int fat_list(struct fat_vol *v, const char *path,
	     int (*fn)(const struct fat_dirent *e, void *ctx), void *ctx);
int fat_mkdir(struct fat_vol *v, const char *path);
/* Removes an empty directory. */
int fat_rmdir(struct fat_vol *v, const char *path);
/* Removes a file and frees its clusters. */
int fat_unlink(struct fat_vol *v, const char *path);

#define FAT_O_CREATE 0x1 /* create the file if it does not exist */
#define FAT_O_EXCL 0x2   /* with FAT_O_CREATE: fail with -EEXIST if it exists */

int fat_open(struct fat_vol *v, const char *path, unsigned flags, struct fat_file **out);
void fat_close(struct fat_file *f);
uint32_t fat_size(const struct fat_file *f);
/* Bytes read (short only at the end of the file), or a negative code. */
long fat_read(struct fat_file *f, uint64_t off, void *buf, size_t len);
/* Writes len bytes at off, extending the file (a gap reads as zeros). */
long fat_write(struct fat_file *f, uint64_t off, const void *buf, size_t len);
/* Sets the size: shorter frees clusters, longer fills with zeros. */
int fat_truncate(struct fat_file *f, uint64_t size);
/*
 * For the pager: the device sectors holding file offset off (which must be
 * below the size rounded up to a cluster): *lba is the device sector
 * holding off, and *count how many device sectors from there are
 * contiguous on disk and belong to the file's clusters.  The caller may
 * read and write those sectors directly: the volume's cache holds no copy
 * of them when this returns (dirty ones are written first).  Writing past
 * the file's size that way does not change the size.
 */
int fat_bmap(struct fat_file *f, uint64_t off, uint64_t *lba, uint32_t *count);

#endif
