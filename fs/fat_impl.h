/*
 * fat internals shared by fat_vol.c (mount, sector cache), fat_table.c
 * (the allocation table), fat_dir.c (directory entries and names) and
 * fat_file.c (the calls of fat.h).  Sector numbers here are volume
 * sectors of bytes_per_sector bytes, counted from the boot sector.
 */
#ifndef PHOBOS_FS_FAT_IMPL_H
#define PHOBOS_FS_FAT_IMPL_H

#include "core/mm/vm_pager.h"
#include "fs/fat.h"

#define FAT_CACHE_SLOTS 32
#define FAT_FREE 0u
#define FAT_EOC 0x0fffffffu  /* end of chain, whatever the width */
#define FAT_DIR_MAX_ENTRIES 65536 /* the specification's limit per directory */
#define FAT_ENTRY_SIZE 32
#define FAT_DELETED 0xe5
#define FAT_ATTR_LFN 0x0f

struct fat_cache_slot {
	uint64_t sector;
	uint8_t *data;
	uint32_t used; /* LRU stamp */
	bool valid, dirty;
};

struct fat_vol {
	struct blk_dev *dev;
	enum fat_type type;
	uint32_t bps;            /* bytes per sector */
	uint32_t dev_per_sector; /* device sectors per volume sector */
	uint32_t spc;            /* sectors per cluster */
	uint32_t cluster_size;
	uint32_t fat_start, fat_sectors, nfats;
	uint32_t root_start, root_entries; /* FAT12/16 fixed root */
	uint32_t root_cluster;             /* FAT32 */
	uint32_t data_start;
	uint32_t clusters; /* data clusters: numbers 2 .. clusters + 1 */
	uint32_t total_sectors;
	uint32_t fsinfo_sector; /* 0: none */
	uint32_t free_count, next_free;
	bool fsinfo_dirty;
	bool read_only;    /* dirty at mount: nothing is written */
	bool dirty_tried;  /* a dirty mark may be on disk: unmount clears it */
	bool dirty_marked; /* the dirty marks are on disk */
	uint8_t *reach;    /* per cluster, how many chains reach it (0, 1, 2: more); NULL until built */
	struct fat_cache_slot cache[FAT_CACHE_SLOTS];
	uint32_t cache_clock;
	unsigned cache_last; /* the slot most recently returned */
	struct fat_file *open_files;
	bool unmounted; /* fat_unmount ran while file objects still held files:
			 * read-only, freed by the last fat_close */
};

/* Where a directory entry lives: its directory and index there. */
struct fat_loc {
	uint32_t dir;   /* first cluster of the directory; 0 = the root */
	uint32_t index; /* of the 8.3 entry */
	uint32_t first; /* of the first LFN entry (== index without LFN) */
};

/* A run of the chain: file clusters [index, index + count) are the disk
 * clusters [cluster, cluster + count). */
struct fat_extent {
	uint32_t index, cluster, count;
};

#define FAT_EXTENTS_MAX 4096 /* 48 KiB of extents per file at most */

/*
 * What the file pager (fat_pager.c) does for the driver on a file that has
 * a VM object, so that reads, writes and truncation see and keep the
 * pages mappings hold.  Reached through f->vm, so the driver links and
 * runs without the VM (the FAT unit test, the fuzzer).
 *   copy:      with write, puts the bytes just written to disk at
 *              [off, off + len) (src, or zeros when NULL) into the resident
 *              pages; without, copies the resident pages over what was just
 *              read into buf (they are the newest data).
 *   truncated: drops the pages past the file's new size and zeroes the
 *              tail of a partial last page.
 *   flush:     writes the dirty pages back; 0 or -EIO.
 */
struct fat_vm_ops {
	void (*copy)(struct fat_file *f, uint64_t off, uint8_t *buf, const uint8_t *src,
		     size_t len, bool write);
	void (*truncated)(struct fat_file *f);
	int (*flush)(struct fat_file *f);
};

struct fat_file {
	struct fat_vol *v;
	struct fat_loc loc;
	uint32_t cluster; /* first cluster, 0 when empty */
	uint32_t size;
	unsigned refs;    /* fat_open's, plus one held by the file's VM object */
	/* the last cluster reached, to walk on from there past the extents */
	uint32_t hint_index, hint_cluster;
	/*
	 * Extent cache: the runs of the chain's first `known` clusters, in
	 * order, so that any cluster below `known` costs a binary search and
	 * none a walk from the head.  It only ever covers a prefix of the
	 * chain: a walk goes on from its end and appends.  Cut back when the
	 * chain is.
	 */
	struct fat_extent *ext;
	uint32_t next_ext, cap_ext, known;
	uint64_t walked; /* chain links followed for this file: the cache's misses */
	/* the file's VM object (a weak pointer: the object holds the file,
	 * and its pager clears this when it dies), its pager, and the
	 * pager's side of coherence; obj and vm are NULL together */
	struct vm_object *obj;
	struct vm_pager pager;
	const struct fat_vm_ops *vm;
	struct fat_file *next;
};

/* On-disk fields are little-endian and unaligned. */
static inline uint16_t fat_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t fat_le32(const uint8_t *p)
{
	return (uint32_t)fat_le16(p) | (uint32_t)fat_le16(p + 2) << 16;
}

static inline void fat_put16(uint8_t *p, uint16_t x)
{
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
}

static inline void fat_put32(uint8_t *p, uint32_t x)
{
	fat_put16(p, (uint16_t)x);
	fat_put16(p + 2, (uint16_t)(x >> 16));
}

/* fat_vol.c: the sector cache and device I/O */
int fat_cache_get(struct fat_vol *v, uint64_t sector, bool fill, uint8_t **data);
void fat_cache_dirty(struct fat_vol *v, uint64_t sector);
int fat_cache_flush(struct fat_vol *v);
/* Writes back and forgets cached sectors in [first, first + n). */
int fat_cache_evict(struct fat_vol *v, uint64_t first, uint64_t n);
int fat_dev_io(struct fat_vol *v, enum blk_op op, uint64_t sector, uint32_t n, void *buf);
int fat_sync(struct fat_vol *v);
/* Frees the volume and its caches (no file may be left). */
void fat_vol_free(struct fat_vol *v);
uint64_t fat_cluster_sector(const struct fat_vol *v, uint32_t cluster);
bool fat_cluster_valid(const struct fat_vol *v, uint32_t cluster);
int fat_corrupt(const char *what, uint32_t value);
/*
 * Called by every call that changes the volume before its first change:
 * -EROFS on a read-only volume; otherwise marks the volume dirty on disk,
 * once per mount.
 */
int fat_write_begin(struct fat_vol *v);

/* fat_table.c */
int fat_get(struct fat_vol *v, uint32_t cluster, uint32_t *next);
int fat_set(struct fat_vol *v, uint32_t cluster, uint32_t value);
/* The link after cluster: a valid cluster or FAT_EOC, anything else is damage. */
int fat_next(struct fat_vol *v, uint32_t cluster, uint32_t *next);
/* The n-th cluster of the chain from first, checking every link. */
int fat_chain_nth(struct fat_vol *v, uint32_t first, uint32_t n, uint32_t *out);
/* Appends n zero-filled or uninitialised clusters after last (0: a new chain). */
int fat_chain_extend(struct fat_vol *v, uint32_t last, uint32_t n, bool zero, uint32_t *first_new);
/*
 * Walks the whole chain from first: its length, -ELOOP if it loops,
 * -EINVAL for a bad link or more than max clusters.
 */
int fat_chain_check(struct fat_vol *v, uint32_t first, uint32_t max, uint32_t *len);
/*
 * Frees the chain from cluster on, up to the first cluster another chain
 * reaches too: that one and the rest stay allocated (logged).  A chain
 * cut off from the directory tree must have been counted before the cut
 * (fat_map_ready): a map built after it would miss what it shares.
 */
int fat_chain_free(struct fat_vol *v, uint32_t cluster);
int fat_count_free(struct fat_vol *v);
/*
 * The clean-shutdown bit of FAT entry 1 (ClnShutBitMask: set when clean;
 * FAT12 has none and always reads clean): *clean gets it, then with write
 * it is set to the value of set_clean.
 */
int fat_clean_bit(struct fat_vol *v, bool write, bool set_clean, bool *clean);
/*
 * Builds v->reach, unless built: how many chains reach each cluster, over
 * every chain the directory tree leads to.  -ENOMEM, -EIO, or the damage
 * a directory shows (its chain loops or leaves the volume): then no map
 * is kept, and nothing may be freed.
 */
int fat_map_ready(struct fat_vol *v);

/* fat_dir.c */
int fat_dir_lookup(struct fat_vol *v, uint32_t dir, const char *name, size_t len,
		   struct fat_dirent *e, struct fat_loc *loc);
/* Where a path leads. */
struct fat_where {
	uint32_t dir;        /* the directory holding the last component (0: the root) */
	struct fat_dirent e; /* the entry found; the root itself for "/" */
	struct fat_loc loc;
	const char *leaf;    /* the last component inside path; NULL for the root */
	size_t leaf_len;
};

/* Resolves path; with parent_only, only up to the directory of the last component. */
int fat_walk(struct fat_vol *v, const char *path, bool parent_only, struct fat_where *w);
int fat_dir_create(struct fat_vol *v, uint32_t dir, const char *name, size_t len, uint8_t attr,
		   uint32_t cluster, struct fat_loc *loc);
int fat_dir_remove(struct fat_vol *v, const struct fat_loc *loc);
/* Rewrites the first cluster and size of the 8.3 entry at loc. */
int fat_dir_update(struct fat_vol *v, const struct fat_loc *loc, uint32_t cluster, uint32_t size);
/* 1 if only ".", ".." and free entries, 0 if not, or a negative code. */
int fat_dir_is_empty(struct fat_vol *v, uint32_t dir);
int fat_dir_iterate(struct fat_vol *v, uint32_t dir,
		    int (*fn)(const struct fat_dirent *e, const struct fat_loc *loc, void *ctx),
		    void *ctx);
/* The 32-byte "." or ".." entry of a new directory. */
void fat_dir_dot_entry(const struct fat_vol *v, uint8_t *raw, bool dotdot, uint32_t cluster);

#endif
