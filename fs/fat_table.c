/*
 * The file allocation table: entries of 12, 16 or 28 bits read and written
 * through the sector cache (a FAT12 entry may straddle two sectors),
 * chains walked with every link checked, and clusters allocated from the
 * FSInfo next-free hint onwards.
 *
 * Entries come back normalised: FAT_EOC for any end-of-chain mark,
 * FAT_BAD for a bad cluster, so callers need not know the width.
 */
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
	for (uint32_t steps = 0; cluster != FAT_EOC; steps++) {
		uint32_t next;
		if (steps >= v->clusters)
			return -ELOOP;
		int err = fat_next(v, cluster, &next);
		if (err == 0)
			err = fat_set(v, cluster, FAT_FREE);
		if (err < 0)
			return err;
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
