/*
 * The calls of fat.h on files and directories.  Data moves straight
 * between the caller's buffer and the disk for whole, aligned sectors, in
 * runs of contiguous clusters; partial sectors go through the sector cache.
 * A file's chain is kept exactly as long as its size needs; every call that
 * changes the volume ends with fat_sync.
 */
#include "core/mm/malloc.h"
#include "fs/fat_impl.h"

#define FAT_MAX_SIZE 0xffffffffull
#define FAT_RUN_MAX_BYTES (1u << 20) /* the longest run one I/O covers */

static uint32_t fat_clusters_for(const struct fat_vol *v, uint64_t size)
{
	return (uint32_t)((size + v->cluster_size - 1) / v->cluster_size);
}

/* Records that file cluster ci, the first past the extents, is disk
 * cluster c; grows the table only when grow says it may allocate. */
static void fat_extent_add(struct fat_file *f, uint32_t ci, uint32_t c, bool grow)
{
	struct fat_extent *last = f->next_ext > 0 ? &f->ext[f->next_ext - 1] : NULL;

	KASSERT(ci == f->known);
	if (last != NULL && last->cluster + last->count == c) {
		last->count++;
		f->known++;
		return;
	}
	if (f->next_ext == f->cap_ext) {
		uint32_t cap = f->cap_ext == 0 ? 4 : f->cap_ext * 2;
		struct fat_extent *ext =
		    !grow || cap > FAT_EXTENTS_MAX ? NULL : mm_malloc(cap * sizeof(*ext));
		if (ext == NULL)
			return; /* a cache: walks go on from the hint */
		if (f->next_ext > 0)
			memcpy(ext, f->ext, f->next_ext * sizeof(*ext));
		mm_mfree(f->ext);
		f->ext = ext;
		f->cap_ext = cap;
	}
	f->ext[f->next_ext++] = (struct fat_extent){ci, c, 1};
	f->known++;
}

/* Forgets the extents past the chain's first keep clusters (cut off). */
static void fat_extent_trim(struct fat_file *f, uint32_t keep)
{
	while (f->next_ext > 0 && f->ext[f->next_ext - 1].index >= keep)
		f->next_ext--;
	if (f->next_ext > 0) {
		struct fat_extent *last = &f->ext[f->next_ext - 1];
		last->count = MIN(last->count, keep - last->index);
	}
	f->known = MIN(f->known, keep);
	f->hint_cluster = 0;
}

/*
 * The ci-th cluster of the file (ci at or past `known`), walking on from
 * the extents' end, or from the hint when the extents stopped short of it;
 * what the walk finds past the extents is appended to them.
 */
static int fat_file_walk(struct fat_file *f, uint32_t ci, bool grow, uint32_t *out)
{
	struct fat_vol *v = f->v;
	uint32_t i, c;

	if (ci >= v->clusters)
		return -ELOOP; /* no chain has more links than the volume has clusters */
	if (f->hint_cluster != 0 && f->hint_index >= f->known && f->hint_index <= ci) {
		i = f->hint_index;
		c = f->hint_cluster;
	} else if (f->known > 0) {
		const struct fat_extent *e = &f->ext[f->next_ext - 1];
		i = f->known - 1;
		c = e->cluster + e->count - 1;
	} else {
		if (!fat_cluster_valid(v, f->cluster))
			return fat_corrupt("first cluster out of range", f->cluster);
		i = 0;
		c = f->cluster;
		fat_extent_add(f, 0, c, grow);
	}
	for (; i < ci; i++) {
		int err = fat_next(v, c, &c);
		f->walked++;
		if (err < 0)
			return err;
		if (c == FAT_EOC)
			return fat_corrupt("chain shorter than its file", f->cluster);
		if (i + 1 == f->known)
			fat_extent_add(f, i + 1, c, grow);
	}
	f->hint_index = ci;
	f->hint_cluster = c;
	*out = c;
	return 0;
}

/*
 * Extends the extents over the whole chain.  Run where allocating is
 * safe (fat_open, growth): an allocation may start a page-out that comes
 * back into the pager, whose lookups therefore never allocate.
 */
static int fat_extent_fill(struct fat_file *f)
{
	uint32_t n = fat_clusters_for(f->v, f->size), c;

	return n == 0 || f->known >= n ? 0 : fat_file_walk(f, n - 1, true, &c);
}

/*
 * The ci-th cluster of the file and how many of the following clusters
 * are known to come right after it on disk: a binary search of the
 * extents, a walk only past them.
 */
static int fat_file_cluster(struct fat_file *f, uint32_t ci, uint32_t *out, uint32_t *more)
{
	if (ci >= f->known) {
		*more = 0;
		return fat_file_walk(f, ci, false, out);
	}
	uint32_t lo = 0, hi = f->next_ext - 1;
	while (lo < hi) { /* the last extent starting at or before ci */
		uint32_t mid = (lo + hi + 1) / 2;
		if (f->ext[mid].index <= ci)
			lo = mid;
		else
			hi = mid - 1;
	}
	const struct fat_extent *e = &f->ext[lo];
	*out = e->cluster + (ci - e->index);
	*more = e->index + e->count - ci - 1;
	return 0;
}

/*
 * The volume sector holding file offset off and how many bytes from off on
 * are contiguous on disk, within the file's clusters and at most max.
 */
static int fat_file_run(struct fat_file *f, uint64_t off, uint64_t max, uint64_t *sector,
			uint64_t *bytes)
{
	struct fat_vol *v = f->v;
	uint32_t ci = (uint32_t)(off / v->cluster_size), c, more;
	int err = fat_file_cluster(f, ci, &c, &more);

	if (err < 0)
		return err;
	uint32_t in = (uint32_t)(off % v->cluster_size);
	uint32_t last = fat_clusters_for(v, f->size) - 1;
	*sector = fat_cluster_sector(v, c) + in / v->bps;
	*bytes = v->cluster_size - in;
	for (;;) {
		uint32_t take = MIN(more, last - ci); /* known to follow on disk */
		ci += take;
		c += take;
		*bytes += (uint64_t)take * v->cluster_size;
		if (*bytes >= max || ci >= last)
			break;
		uint32_t next;
		if ((err = fat_file_cluster(f, ci + 1, &next, &more)) < 0)
			return err;
		if (next != c + 1)
			break;
		ci++;
		c = next;
		*bytes += v->cluster_size;
	}
	*bytes = MIN(*bytes, max);
	return 0;
}

/* Copies between buf and the disk for the file's bytes [off, off + len), all allocated. */
static int fat_file_disk_io(struct fat_file *f, enum blk_op op, uint64_t off, uint8_t *buf,
		       const uint8_t *src, size_t len)
{
	struct fat_vol *v = f->v;

	while (len > 0) {
		uint64_t sector, run;
		uint32_t in = (uint32_t)(off % v->bps);
		const uint8_t *from = op == BLK_WRITE ? src : NULL;
		bool aligned = ((uintptr_t)(op == BLK_READ ? (const uint8_t *)buf : src) & 511) == 0;
		bool direct = in == 0 && len >= v->bps && aligned && (op == BLK_READ || src != NULL);
		/* a piece through the cache needs the run only as far as its sector's end */
		uint64_t want = direct ? MIN((uint64_t)len, (uint64_t)FAT_RUN_MAX_BYTES)
				       : MIN((uint64_t)len, (uint64_t)(v->bps - in));
		int err = fat_file_run(f, off, want, &sector, &run);
		if (err < 0)
			return err;
		size_t n = (size_t)MIN(run, (uint64_t)len);
		if (direct) {
			uint32_t sectors = (uint32_t)(n / v->bps);
			n = (size_t)sectors * v->bps;
			err = fat_cache_evict(v, sector, sectors);
			if (err == 0)
				err = fat_dev_io(v, op, sector, sectors,
						 op == BLK_READ ? (void *)buf : (void *)from);
		} else {
			/* a piece of one sector; writing zeros (src NULL) needs no read */
			uint8_t *data;
			n = MIN(n, (size_t)(v->bps - in));
			bool whole = n == v->bps;
			err = fat_cache_get(v, sector, !(op == BLK_WRITE && whole), &data);
			if (err == 0 && op == BLK_READ) {
				memcpy(buf, data + in, n);
			} else if (err == 0) {
				if (from != NULL)
					memcpy(data + in, from, n);
				else
					memset(data + in, 0, n);
				fat_cache_dirty(v, sector);
			}
		}
		if (err < 0)
			return err;
		off += n;
		len -= n;
		if (op == BLK_READ)
			buf += n;
		else if (src != NULL)
			src += n;
	}
	return 0;
}

/* fat_file_disk_io, kept coherent with the pages of the file's VM object. */
static int fat_file_io(struct fat_file *f, enum blk_op op, uint64_t off, uint8_t *buf,
		       const uint8_t *src, size_t len)
{
	int err = fat_file_disk_io(f, op, off, buf, src, len);

	if (err == 0 && f->vm != NULL)
		f->vm->copy(f, off, buf, src, len, op == BLK_WRITE);
	return err;
}

/* Makes the chain exactly long enough for size bytes. */
static int fat_file_resize_chain(struct fat_file *f, uint64_t size)
{
	struct fat_vol *v = f->v;
	uint32_t have = fat_clusters_for(v, f->size), need = fat_clusters_for(v, size);
	uint32_t last, next, first, more;
	int err;

	if (need == have)
		return 0;
	fat_extent_trim(f, MIN(have, need)); /* no extent may lead into what is cut off */
	if (need == 0) {
		err = fat_chain_free(v, f->cluster);
		f->cluster = 0;
		return err;
	}
	if (have == 0) {
		err = fat_chain_extend(v, 0, need, false, &first);
		if (err == 0)
			f->cluster = first;
		return err;
	}
	err = fat_file_cluster(f, MIN(have, need) - 1, &last, &more);
	if (err == 0)
		err = fat_next(v, last, &next);
	if (err == 0 && next != FAT_EOC) {
		/* shrinking, or a chain longer than its file: what follows belongs to nobody
		 * (the chain map counts it before it is cut off) */
		err = fat_map_ready(v);
		if (err == 0)
			err = fat_set(v, last, FAT_EOC);
		if (err == 0)
			err = fat_chain_free(v, next);
	}
	if (err < 0 || need < have)
		return err;
	return fat_chain_extend(v, last, need - have, false, &first);
}

/* Sets the size to size, zero-filling any growth, and records it in the entry. */
static int fat_file_set_size(struct fat_file *f, uint64_t size)
{
	uint32_t old = f->size;
	int err;

	if (size > FAT_MAX_SIZE)
		return -EFBIG;
	if (size < old) {
		/* counted by the chain map while the entry leads to the chain; then the
		 * entry goes first: a failure after it leaks clusters, never shares them */
		err = fat_map_ready(f->v);
		if (err == 0)
			err = fat_dir_update(f->v, &f->loc, size == 0 ? 0 : f->cluster, (uint32_t)size);
		if (err < 0)
			return err;
		err = fat_file_resize_chain(f, size);
		f->size = (uint32_t)size;
		if (f->vm != NULL)
			f->vm->truncated(f);
		return err;
	}
	err = fat_file_resize_chain(f, size);
	if (err < 0)
		return err;
	f->size = (uint32_t)size;
	err = fat_extent_fill(f);
	if (err == 0 && size > old)
		err = fat_file_io(f, BLK_WRITE, old, NULL, NULL, size - old);
	if (err == 0)
		err = fat_dir_update(f->v, &f->loc, f->cluster, f->size);
	if (err < 0 && size > old) {
		/* the entry still holds the old size: the clusters added go back */
		fat_file_resize_chain(f, old);
		f->size = old;
	}
	return err;
}

long fat_read(struct fat_file *f, uint64_t off, void *buf, size_t len)
{
	if (off >= f->size)
		return 0;
	len = (size_t)MIN((uint64_t)len, f->size - off);
	int err = fat_file_io(f, BLK_READ, off, buf, NULL, len);
	return err < 0 ? err : (long)len;
}

long fat_write(struct fat_file *f, uint64_t off, const void *buf, size_t len)
{
	uint64_t end = off + len;
	int err = fat_write_begin(f->v);

	if (err < 0)
		return err;
	if (end > FAT_MAX_SIZE || end < off)
		return -EFBIG;
	if (end > f->size)
		err = fat_file_set_size(f, end);
	if (err == 0 && len > 0)
		err = fat_file_io(f, BLK_WRITE, off, NULL, buf, len);
	int e = fat_sync(f->v);
	if (err == 0)
		err = e;
	return err < 0 ? err : (long)len;
}

int fat_truncate(struct fat_file *f, uint64_t size)
{
	int err = fat_write_begin(f->v);

	if (err < 0)
		return err;
	err = fat_file_set_size(f, size);
	int e = fat_sync(f->v);

	return err < 0 ? err : e;
}

uint32_t fat_size(const struct fat_file *f)
{
	return f->size;
}

int fat_bmap(struct fat_file *f, uint64_t off, uint64_t *lba, uint32_t *count)
{
	struct fat_vol *v = f->v;
	uint32_t ds = v->dev->sector_size;
	uint64_t sector, run;

	if (off >= (uint64_t)fat_clusters_for(v, f->size) * v->cluster_size)
		return -EINVAL;
	off = ALIGN_DOWN(off, (uint64_t)ds);
	int err = fat_file_run(f, off, FAT_RUN_MAX_BYTES, &sector, &run);
	if (err == 0) /* the caller moves these sectors itself: no stale copy may stay behind */
		err = fat_cache_evict(v, sector, (run + off % v->bps + v->bps - 1) / v->bps);
	if (err < 0)
		return err;
	*lba = sector * v->dev_per_sector + (off % v->bps) / ds;
	*count = (uint32_t)(run / ds);
	return 0;
}

/* The handle open on the entry at loc, or NULL. */
static struct fat_file *fat_find_open(const struct fat_vol *v, const struct fat_loc *loc)
{
	for (struct fat_file *f = v->open_files; f != NULL; f = f->next)
		if (f->loc.dir == loc->dir && f->loc.index == loc->index)
			return f;
	return NULL;
}

int fat_open(struct fat_vol *v, const char *path, unsigned flags, struct fat_file **out)
{
	struct fat_where w;
	int err = fat_walk(v, path, false, &w);

	*out = NULL;
	if (err == 0 && (flags & FAT_O_CREATE) && (flags & FAT_O_EXCL))
		return -EEXIST;
	if (err == -ENOENT && (flags & FAT_O_CREATE)) {
		if ((err = fat_write_begin(v)) < 0)
			return err;
		err = fat_walk(v, path, true, &w);
		if (err == 0)
			err = fat_dir_create(v, w.dir, w.leaf, w.leaf_len, FAT_ATTR_ARCHIVE, 0, &w.loc);
		int e2 = fat_sync(v);
		if (err < 0 || e2 < 0)
			return err < 0 ? err : e2;
		w.e = (struct fat_dirent){.attr = FAT_ATTR_ARCHIVE};
	}
	if (err < 0)
		return err;
	if (w.e.attr & FAT_ATTR_DIR)
		return -EISDIR;
	struct fat_file *f = fat_find_open(v, &w.loc);
	if (f != NULL) {
		f->refs++;
		*out = f;
		return 0;
	}
	uint32_t len = 0;
	if (w.e.cluster != 0 && (err = fat_chain_check(v, w.e.cluster, v->clusters, &len)) < 0)
		return err;
	if (len < fat_clusters_for(v, w.e.size))
		return fat_corrupt("cluster chain shorter than the file", w.e.cluster);
	f = NEW(struct fat_file);
	if (f == NULL)
		return -ENOMEM;
	*f = (struct fat_file){.v = v, .loc = w.loc, .cluster = w.e.cluster, .size = w.e.size,
			       .refs = 1, .next = v->open_files};
	v->open_files = f;
	if ((err = fat_extent_fill(f)) < 0) {
		fat_close(f);
		return err;
	}
	*out = f;
	return 0;
}

void fat_close(struct fat_file *f)
{
	KASSERT(f->refs > 0);
	if (--f->refs > 0)
		return;
	struct fat_file **p = &f->v->open_files;
	while (*p != f)
		p = &(*p)->next;
	*p = f->next;
	if (f->v->unmounted && f->v->open_files == NULL)
		fat_vol_free(f->v);
	mm_mfree(f->ext);
	DELETE(f);
}


int fat_stat(struct fat_vol *v, const char *path, struct fat_dirent *out)
{
	struct fat_where w;
	int err = fat_walk(v, path, false, &w);

	if (err == 0)
		*out = w.e;
	return err;
}

struct fat_list_ctx {
	int (*fn)(const struct fat_dirent *e, void *ctx);
	void *ctx;
};

static int fat_list_one(const struct fat_dirent *e, const struct fat_loc *loc, void *ctx)
{
	struct fat_list_ctx *l = ctx;

	(void)loc;
	if (strcmp(e->short_name, ".") == 0 || strcmp(e->short_name, "..") == 0)
		return 0;
	return l->fn(e, l->ctx);
}

int fat_list(struct fat_vol *v, const char *path,
	     int (*fn)(const struct fat_dirent *e, void *ctx), void *ctx)
{
	struct fat_dirent e;
	struct fat_list_ctx l = {fn, ctx};
	int err = fat_stat(v, path, &e);

	if (err < 0)
		return err;
	if (!(e.attr & FAT_ATTR_DIR))
		return -ENOTDIR;
	err = fat_dir_iterate(v, e.cluster, fat_list_one, &l);
	return err < 0 ? err : 0;
}

int fat_mkdir(struct fat_vol *v, const char *path)
{
	struct fat_where w;
	struct fat_dirent e;
	struct fat_loc loc;
	uint32_t c;
	uint8_t *data;
	int err = fat_write_begin(v);

	if (err == 0)
		err = fat_walk(v, path, true, &w);
	if (err == 0) {
		int found = fat_dir_lookup(v, w.dir, w.leaf, w.leaf_len, &e, &loc);
		err = found == 0 ? -EEXIST : found == -ENOENT ? 0 : found;
	}
	if (err == 0)
		err = fat_chain_extend(v, 0, 1, true, &c);
	if (err < 0)
		return err;
	err = fat_cache_get(v, fat_cluster_sector(v, c), true, &data);
	if (err == 0) {
		fat_dir_dot_entry(v, data, false, c);
		fat_dir_dot_entry(v, data + FAT_ENTRY_SIZE, true, w.dir);
		fat_cache_dirty(v, fat_cluster_sector(v, c));
		err = fat_dir_create(v, w.dir, w.leaf, w.leaf_len, FAT_ATTR_DIR, c, &loc);
	}
	if (err < 0)
		fat_chain_free(v, c);
	int e2 = fat_sync(v);
	return err < 0 ? err : e2;
}

/* Removes the entry at path, which must be of the kind is_dir says, and its clusters. */
static int fat_remove(struct fat_vol *v, const char *path, bool is_dir)
{
	struct fat_where w;
	int err = fat_write_begin(v);

	if (err == 0)
		err = fat_walk(v, path, false, &w);
	if (err < 0)
		return err;
	if (w.leaf == NULL)
		return -EBUSY; /* the root */
	if (w.leaf[0] == '.' && (w.leaf_len == 1 || (w.leaf_len == 2 && w.leaf[1] == '.')))
		return -EINVAL; /* "." and ".." go with their directory */
	if (is_dir && !(w.e.attr & FAT_ATTR_DIR))
		return -ENOTDIR;
	if (!is_dir && (w.e.attr & FAT_ATTR_DIR))
		return -EISDIR;
	if (!is_dir && fat_find_open(v, &w.loc) != NULL)
		return -EBUSY;
	if (is_dir && (err = fat_dir_is_empty(v, w.e.cluster)) <= 0)
		return err < 0 ? err : -ENOTEMPTY;
	/*
	 * The chain map counts this chain while its entry still leads to it.
	 * The entry goes first: a failure after it leaks clusters, never shares them.
	 */
	err = fat_map_ready(v);
	if (err == 0)
		err = fat_dir_remove(v, &w.loc);
	if (err == 0 && w.e.cluster != 0)
		err = fat_chain_free(v, w.e.cluster);
	int e2 = fat_sync(v);
	return err < 0 ? err : e2;
}

int fat_rmdir(struct fat_vol *v, const char *path)
{
	return fat_remove(v, path, true);
}

int fat_unlink(struct fat_vol *v, const char *path)
{
	return fat_remove(v, path, false);
}
