/*
 * The file allocation table: entries of 12, 16 or 28 bits read and written
 * through the sector cache (a FAT12 entry may straddle two sectors),
 * chains walked with every link checked, and clusters allocated from the
 * FSInfo next-free hint onwards.
 *
 * Entries come back normalised: FAT_EOC for any end-of-chain mark,
 * FAT_BAD for a bad cluster, so callers need not know the width.
 *
 * The chain map (v->reach) counts, for each cluster, the chains that
 * reach it, so that freeing one chain never frees a cluster another chain
 * still uses: built from the directory tree before the first free of a
 * mount, then kept by the allocations and frees made here.
 */
#include "core/mm/malloc.h"
#include "fs/fat_impl.h"

#define FAT_BAD 0x0ffffff7u

static int fat_byte_ptr(struct fat_vol *v, uint64_t byte, uint8_t **p)
{
	uint64_t sector = v->fat_start + byte / v->bps;
	uint8_t *data;
	int err = fat_cache_get(v, sector, true, &data);

	if (err < 0)
		return err;
	*p = data + byte % v->bps;
	return 0;
}

/*
 * Reads the little-endian window holding cluster's entry into *old and
 * replaces the bits of mask with those of value (mask 0: only reads).
 * Byte by byte, because a FAT12 entry can cross into the next sector.
 */
static int fat_window(struct fat_vol *v, uint32_t cluster, uint32_t mask, uint32_t value,
		      uint32_t *old)
{
	uint64_t byte = v->type == FAT12 ? cluster + cluster / 2 : (uint64_t)cluster * (v->type / 8);
	unsigned width = v->type == FAT12 ? 2 : v->type / 8;

	*old = 0;
	for (unsigned i = 0; i < width; i++) {
		uint8_t *p, m = (uint8_t)(mask >> (8 * i));
		int err = fat_byte_ptr(v, byte + i, &p);
		if (err < 0)
			return err;
		*old |= (uint32_t)*p << (8 * i);
		if (m != 0) {
			*p = (uint8_t)((*p & ~m) | ((value >> (8 * i)) & m));
			fat_cache_dirty(v, v->fat_start + (byte + i) / v->bps);
		}
	}
	return 0;
}

/* Where the entry sits in its window: odd FAT12 entries take the upper 12 bits. */
static void fat_entry_bits(const struct fat_vol *v, uint32_t cluster, unsigned *shift,
			   uint32_t *mask)
{
	*shift = v->type == FAT12 && (cluster & 1) ? 4 : 0;
	/* FAT32's top four bits are reserved: kept as found */
	*mask = v->type == FAT12 ? 0xfff : v->type == FAT16 ? 0xffff : 0x0fffffff;
}

static int fat_raw_get(struct fat_vol *v, uint32_t cluster, uint32_t *value)
{
	unsigned shift;
	uint32_t mask, x;
	int err = fat_window(v, cluster, 0, 0, &x);

	fat_entry_bits(v, cluster, &shift, &mask);
	*value = (x >> shift) & mask;
	return err;
}

int fat_get(struct fat_vol *v, uint32_t cluster, uint32_t *next)
{
	KASSERT(fat_cluster_valid(v, cluster));
	uint32_t x, bad = v->type == FAT12 ? 0xff7 : v->type == FAT16 ? 0xfff7 : FAT_BAD;
	int err = fat_raw_get(v, cluster, &x);

	if (err < 0)
		return err;
	*next = x > bad ? FAT_EOC : x == bad ? FAT_BAD : x;
	return 0;
}

int fat_set(struct fat_vol *v, uint32_t cluster, uint32_t value)
{
	KASSERT(fat_cluster_valid(v, cluster));
	KASSERT(value == FAT_EOC || value == FAT_FREE || fat_cluster_valid(v, value));
	unsigned shift;
	uint32_t mask, old;

	fat_entry_bits(v, cluster, &shift, &mask);
	return fat_window(v, cluster, mask << shift, (value & mask) << shift, &old);
}

int fat_clean_bit(struct fat_vol *v, bool write, bool set_clean, bool *clean)
{
	/* entry 1's top bits: bit 15 on FAT16, bit 27 on FAT32 (FAT32's top four are reserved) */
	uint32_t bit = v->type == FAT16 ? 0x8000 : 0x08000000, old;

	*clean = true;
	if (v->type == FAT12)
		return 0;
	int err = fat_window(v, 1, write ? bit : 0, set_clean ? bit : 0, &old);
	*clean = (old & bit) != 0;
	return err;
}

/*
 * Two bits per cluster, four clusters to a byte: cluster c's count sits at
 * bits 2 * ((c - 2) % 4) of byte (c - 2) / 4.
 */
static unsigned fat_map_get(const struct fat_vol *v, uint32_t c)
{
	return v->reach[(c - 2) / 4] >> (2 * ((c - 2) % 4)) & 3;
}

static void fat_map_put(struct fat_vol *v, uint32_t c, unsigned n)
{
	uint8_t *p = &v->reach[(c - 2) / 4];
	unsigned shift = 2 * ((c - 2) % 4);

	*p = (uint8_t)((*p & ~(3u << shift)) | n << shift);
}

/*
 * Counts one more chain through every cluster from first on.  A cluster
 * already reached means this chain has joined another one, whose tail it
 * shares: each of those becomes 2.  The walk ends at a cluster already at
 * 2, so a chain looping back into itself ends too: every step raises a
 * count, and counts stop at 2.
 */
static int fat_map_chain(struct fat_vol *v, uint32_t first)
{
	for (uint32_t c = first; fat_cluster_valid(v, c);) {
		unsigned n = fat_map_get(v, c);
		if (n == 2)
			return 0;
		fat_map_put(v, c, n + 1);
		int err = fat_get(v, c, &c);
		if (err < 0)
			return err;
	}
	return 0;
}

/* The walk of the directory tree: directories still to read, breadth first. */
struct fat_map_walk {
	struct fat_vol *v;
	uint32_t *dirs;
	size_t n, cap;
};

static int fat_map_entry(const struct fat_dirent *e, const struct fat_loc *loc, void *ctx)
{
	struct fat_map_walk *w = ctx;

	(void)loc;
	/* "." and ".." name chains their own entries already count */
	if (!fat_cluster_valid(w->v, e->cluster) || strcmp(e->short_name, ".") == 0 ||
	    strcmp(e->short_name, "..") == 0)
		return 0;
	/* a directory whose first cluster was reached already is read once, from there */
	bool again = fat_map_get(w->v, e->cluster) != 0;
	int err = fat_map_chain(w->v, e->cluster);
	if (err < 0 || again || !(e->attr & FAT_ATTR_DIR))
		return err;
	if (w->n == w->cap) {
		size_t cap = 2 * w->cap;
		uint32_t *dirs = mm_malloc(cap * sizeof(*dirs));
		if (dirs == NULL)
			return -ENOMEM;
		memcpy(dirs, w->dirs, w->n * sizeof(*dirs));
		mm_mfree(w->dirs);
		w->dirs = dirs;
		w->cap = cap;
	}
	w->dirs[w->n++] = e->cluster;
	return 0;
}

int fat_map_ready(struct fat_vol *v)
{
	size_t bytes = ((size_t)v->clusters + 3) / 4;
	int err = 0;

	if (v->reach != NULL)
		return 0;
	struct fat_map_walk w = {v, mm_malloc(64 * sizeof(uint32_t)), 0, 64};
	v->reach = mm_malloc(bytes);
	if (v->reach == NULL || w.dirs == NULL)
		err = -ENOMEM;
	else
		memset(v->reach, 0, bytes);
	if (err == 0 && v->type == FAT32)
		err = fat_map_chain(v, v->root_cluster);
	if (err == 0)
		err = fat_dir_iterate(v, 0, fat_map_entry, &w);
	for (size_t i = 0; err == 0 && i < w.n; i++)
		err = fat_dir_iterate(v, w.dirs[i], fat_map_entry, &w);
	mm_mfree(w.dirs);
	if (err < 0) {
		log_error("fat: %s: the chains of the volume cannot all be followed (%s): not changed",
			  v->dev->name, err_name(err));
		mm_mfree(v->reach);
		v->reach = NULL;
	}
	return err;
}

int fat_next(struct fat_vol *v, uint32_t cluster, uint32_t *next)
{
	int err = fat_get(v, cluster, next);

	if (err == 0 && *next != FAT_EOC && !fat_cluster_valid(v, *next))
		err = fat_corrupt(*next == FAT_FREE ? "chain runs into a free cluster"
						    : "chain link out of range", cluster);
	return err;
}

int fat_chain_nth(struct fat_vol *v, uint32_t first, uint32_t n, uint32_t *out)
{
	uint32_t c = first;

	if (!fat_cluster_valid(v, first))
		return fat_corrupt("first cluster out of range", first);
	if (n >= v->clusters)
		return -ELOOP; /* no chain has more links than the volume has clusters */
	for (uint32_t i = 0; i < n; i++) {
		int err = fat_next(v, c, &c);
		if (err < 0)
			return err;
		if (c == FAT_EOC)
			return fat_corrupt("chain shorter than its file", first);
	}
	*out = c;
	return 0;
}

/* A free cluster, searched from the hint onwards and around. */
static int fat_find_free(struct fat_vol *v, uint32_t *out)
{
	uint32_t c = fat_cluster_valid(v, v->next_free) ? v->next_free : 2;

	if (v->free_count == 0)
		return -ENOSPC;
	for (uint32_t i = 0; i < v->clusters; i++) {
		uint32_t x;
		int err = fat_raw_get(v, c, &x);
		if (err < 0)
			return err;
		if (x == FAT_FREE) {
			*out = c;
			return 0;
		}
		c = c + 1 < v->clusters + 2 ? c + 1 : 2;
	}
	/* the count said there was room: it was wrong, now it is right */
	v->free_count = 0;
	v->fsinfo_dirty = true;
	return -ENOSPC;
}

static int fat_zero_cluster(struct fat_vol *v, uint32_t cluster)
{
	uint64_t s = fat_cluster_sector(v, cluster);

	for (uint32_t i = 0; i < v->spc; i++) {
		uint8_t *p;
		int err = fat_cache_get(v, s + i, false, &p);
		if (err < 0)
			return err;
	}
	return 0;
}

int fat_chain_extend(struct fat_vol *v, uint32_t last, uint32_t n, bool zero, uint32_t *first_new)
{
	uint32_t prev = last, first = 0;
	int err = 0;

	for (uint32_t i = 0; i < n && err == 0; i++) {
		uint32_t c;
		err = fat_find_free(v, &c);
		if (err == 0)
			err = fat_set(v, c, FAT_EOC);
		if (err < 0)
			break;
		/* c is taken from here on; it is zeroed before it is linked */
		if (v->reach != NULL)
			fat_map_put(v, c, MIN(fat_map_get(v, c) + 1, 2u));
		v->free_count--;
		v->next_free = c + 1;
		v->fsinfo_dirty = true;
		if (zero)
			err = fat_zero_cluster(v, c);
		if (err == 0 && prev != 0)
			err = fat_set(v, prev, c);
		if (err < 0) {
			fat_chain_free(v, c); /* not in the chain from first: it goes back alone */
			break;
		}
		if (first == 0)
			first = c;
		prev = c;
	}
	if (err < 0) {
		/* give back what this call took: the chain ends where it ended */
		if (last != 0)
			fat_set(v, last, FAT_EOC);
		if (first != 0)
			fat_chain_free(v, first);
		return err;
	}
	*first_new = first;
	return err;
}

int fat_chain_free(struct fat_vol *v, uint32_t cluster)
{
	int err = fat_map_ready(v);

	if (err < 0)
		return err;
	for (uint32_t steps = 0; cluster != FAT_EOC; steps++) {
		uint32_t next;
		if (steps >= v->clusters)
			return -ELOOP;
		if (fat_map_get(v, cluster) > 1) {
			/* the count is not lowered when the other chain goes: then this is a leak */
			log_error("fat: %s: cluster %u is in another chain too: it and the rest of "
				  "this chain stay allocated", v->dev->name, cluster);
			return 0;
		}
		err = fat_next(v, cluster, &next);
		if (err == 0)
			err = fat_set(v, cluster, FAT_FREE);
		if (err < 0)
			return err;
		fat_map_put(v, cluster, 0);
		v->free_count++;
		if (cluster < v->next_free)
			v->next_free = cluster;
		v->fsinfo_dirty = true;
		cluster = next;
	}
	return 0;
}

int fat_count_free(struct fat_vol *v)
{
	uint32_t n = 0;

	for (uint32_t c = 2; c < v->clusters + 2; c++) {
		uint32_t x;
		int err = fat_raw_get(v, c, &x);
		if (err < 0)
			return err;
		n += x == FAT_FREE;
	}
	v->free_count = n;
	v->fsinfo_dirty = true;
	return 0;
}

int fat_chain_check(struct fat_vol *v, uint32_t first, uint32_t max, uint32_t *len)
{
	/* Brent's cycle finding: the tortoise jumps to the hare at each power of two */
	uint32_t tortoise = first, hare = first, power = 1, lam = 1, n = 1;

	if (!fat_cluster_valid(v, first))
		return fat_corrupt("first cluster out of range", first);
	for (;;) {
		uint32_t next;
		int err = fat_next(v, hare, &next);
		if (err < 0)
			return err;
		if (next == FAT_EOC)
			break;
		if (++n > max)
			return fat_corrupt("chain longer than allowed", first);
		if (lam == power) {
			tortoise = hare;
			power *= 2;
			lam = 0;
		}
		hare = next;
		lam++;
		if (hare == tortoise) {
			log_error("fat: damaged volume: the chain from cluster %u loops", first);
			return -ELOOP;
		}
	}
	*len = n;
	return 0;
}
