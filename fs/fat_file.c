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

/* The ci-th cluster of the file, walking on from the last one reached. */
static int fat_file_cluster(struct fat_file *f, uint32_t ci, uint32_t *out)
{
	int err;

	if (f->hint_cluster == 0 || ci < f->hint_index) {
		f->hint_index = 0;
		f->hint_cluster = f->cluster;
	}
	err = fat_chain_nth(f->v, f->hint_cluster, ci - f->hint_index, out);
	if (err < 0)
		return err;
	f->hint_index = ci;
	f->hint_cluster = *out;
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
	uint32_t ci = (uint32_t)(off / v->cluster_size), c;
	int err = fat_file_cluster(f, ci, &c);

	if (err < 0)
		return err;
	uint32_t in = (uint32_t)(off % v->cluster_size);
	*sector = fat_cluster_sector(v, c) + in / v->bps;
	*bytes = v->cluster_size - in;
	uint32_t last = fat_clusters_for(v, f->size) - 1;
	while (*bytes < max && ci < last) {
		uint32_t next;
		err = fat_next(v, c, &next);
		if (err < 0)
			return err;
		if (next != c + 1)
			break;
		c = next;
		ci++;
		f->hint_index = ci;
		f->hint_cluster = c;
		*bytes += v->cluster_size;
	}
	return 0;
}

/* Copies between buf and the file's bytes [off, off + len), all allocated. */
static int fat_file_io(struct fat_file *f, enum blk_op op, uint64_t off, uint8_t *buf,
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

/* Makes the chain exactly long enough for size bytes. */
static int fat_file_resize_chain(struct fat_file *f, uint64_t size)
{
	struct fat_vol *v = f->v;
	uint32_t have = fat_clusters_for(v, f->size), need = fat_clusters_for(v, size);
	uint32_t last, next, first;
	int err;

	if (need == have)
		return 0;
	f->hint_cluster = 0; /* it may point into what is cut off */
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
	err = fat_file_cluster(f, MIN(have, need) - 1, &last);
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
		return err;
	}
	err = fat_file_resize_chain(f, size);
	if (err < 0)
		return err;
	f->size = (uint32_t)size;
	if (size > old)
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
	*f = (struct fat_file){v, w.loc, w.e.cluster, w.e.size, 1, 0, 0, v->open_files};
	v->open_files = f;
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
