/*
 * fat volumes: the boot sector checked and the type decided by cluster
 * count (Microsoft's FAT specification, "FAT Type Determination"), the
 * FSInfo free-cluster hint, and the write-back cache of metadata sectors
 * that keeps every FAT copy equal.
 */
#include "core/mm/malloc.h"
#include "fs/fat_impl.h"

#define FSINFO_LEAD 0x41615252u
#define FSINFO_STRUC 0x61417272u
#define FSINFO_TRAIL 0xaa550000u
#define FSINFO_UNKNOWN 0xffffffffu

int fat_corrupt(const char *what, uint32_t value)
{
	log_error("fat: damaged volume: %s (%u)", what, value);
	return -EINVAL;
}

bool fat_cluster_valid(const struct fat_vol *v, uint32_t cluster)
{
	return cluster >= 2 && cluster - 2 < v->clusters;
}

uint64_t fat_cluster_sector(const struct fat_vol *v, uint32_t cluster)
{
	KASSERT(fat_cluster_valid(v, cluster));
	return v->data_start + (uint64_t)(cluster - 2) * v->spc;
}

/* As fat_dev_io, with the block layer's own code (-EBUSY: buf lost, blk.h). */
static int fat_dev_submit(struct fat_vol *v, enum blk_op op, uint64_t sector, uint32_t n,
			  void *buf)
{
	KASSERT(sector + n <= v->total_sectors);
	struct blk_req r = {op, sector * v->dev_per_sector, n * v->dev_per_sector, buf, 0};
	int err = blk_submit(v->dev, &r, 1);
	if (err < 0)
		log_error("fat: %s: %s of sector %llu failed: %s", v->dev->name,
			  op == BLK_READ ? "read" : "write", (unsigned long long)sector, err_name(err));
	return err;
}

int fat_dev_io(struct fat_vol *v, enum blk_op op, uint64_t sector, uint32_t n, void *buf)
{
	return fat_dev_submit(v, op, sector, n, buf) < 0 ? -EIO : 0;
}

/*
 * Moves one sector between slot s and the disk.  When the device went
 * offline during the transfer it may still write into s->data at any time
 * (blk.h), so the slot gives that buffer up for good: it is retired (data
 * NULL, never chosen again) and what it held is lost with the device.
 */
static int fat_slot_io(struct fat_vol *v, struct fat_cache_slot *s, enum blk_op op,
		       uint64_t sector)
{
	int err = fat_dev_submit(v, op, sector, 1, s->data);

	if (err == -EBUSY) {
		log_error("fat: %s: cache buffer of sector %llu left to the device, never reused",
			  v->dev->name, (unsigned long long)sector);
		*s = (struct fat_cache_slot){0};
	}
	return err < 0 ? -EIO : 0;
}

/* Writes a slot back; a FAT sector goes to the same place in every copy. */
static int fat_slot_write(struct fat_vol *v, struct fat_cache_slot *s)
{
	uint32_t copies = 1, stride = 0;

	if (s->sector >= v->fat_start && s->sector < v->fat_start + v->fat_sectors) {
		copies = v->nfats;
		stride = v->fat_sectors;
	}
	for (uint32_t i = 0; i < copies; i++) {
		int err = fat_slot_io(v, s, BLK_WRITE, s->sector + (uint64_t)i * stride);
		if (err < 0)
			return err;
	}
	s->dirty = false;
	return 0;
}

int fat_cache_get(struct fat_vol *v, uint64_t sector, bool fill, uint8_t **data)
{
	struct fat_cache_slot *victim = NULL;
	struct fat_cache_slot *last = &v->cache[v->cache_last];

	/* chain walks and directory scans stay in one sector for many calls */
	if (last->valid && last->sector == sector && fill) {
		last->used = ++v->cache_clock;
		*data = last->data;
		return 0;
	}
	for (unsigned i = 0; i < FAT_CACHE_SLOTS; i++) {
		struct fat_cache_slot *s = &v->cache[i];
		if (s->valid && s->sector == sector) {
			s->used = ++v->cache_clock;
			v->cache_last = i;
			if (!fill) {
				memset(s->data, 0, v->bps);
				s->dirty = true;
			}
			*data = s->data;
			return 0;
		}
		/* an empty slot first, else the least recently used; retired ones never */
		if (s->data != NULL &&
		    (victim == NULL || (victim->valid && (!s->valid || s->used < victim->used))))
			victim = s;
	}
	if (victim == NULL)
		return -EIO; /* every slot was retired: the device is offline */
	if (victim->valid && victim->dirty) {
		int err = fat_slot_write(v, victim);
		if (err < 0)
			return err;
	}
	victim->valid = false;
	if (fill) {
		int err = fat_slot_io(v, victim, BLK_READ, sector);
		if (err < 0)
			return err;
	} else {
		memset(victim->data, 0, v->bps);
	}
	victim->sector = sector;
	victim->valid = true;
	victim->dirty = !fill; /* a sector made from nothing must reach the disk */
	victim->used = ++v->cache_clock;
	v->cache_last = (unsigned)(victim - v->cache);
	*data = victim->data;
	return 0;
}

void fat_cache_dirty(struct fat_vol *v, uint64_t sector)
{
	for (unsigned i = 0; i < FAT_CACHE_SLOTS; i++)
		if (v->cache[i].valid && v->cache[i].sector == sector) {
			v->cache[i].dirty = true;
			return;
		}
	panic("fat: sector %llu marked dirty but not cached", (unsigned long long)sector);
}

int fat_cache_flush(struct fat_vol *v)
{
	int err = 0;

	for (unsigned i = 0; i < FAT_CACHE_SLOTS; i++)
		if (v->cache[i].valid && v->cache[i].dirty) {
			int e = fat_slot_write(v, &v->cache[i]);
			if (e < 0 && err == 0)
				err = e;
		}
	return err;
}

int fat_cache_evict(struct fat_vol *v, uint64_t first, uint64_t n)
{
	for (unsigned i = 0; i < FAT_CACHE_SLOTS; i++) {
		struct fat_cache_slot *s = &v->cache[i];
		if (!s->valid || s->sector < first || s->sector - first >= n)
			continue;
		if (s->dirty) {
			int err = fat_slot_write(v, s);
			if (err < 0)
				return err;
		}
		s->valid = false;
	}
	return 0;
}

static int fat_fsinfo_write(struct fat_vol *v)
{
	uint8_t *p;
	int err = fat_cache_get(v, v->fsinfo_sector, true, &p);

	if (err < 0)
		return err;
	fat_put32(p + 488, v->free_count);
	fat_put32(p + 492, v->next_free);
	fat_cache_dirty(v, v->fsinfo_sector);
	v->fsinfo_dirty = false;
	return 0;
}

int fat_sync(struct fat_vol *v)
{
	int err = 0;

	if (v->fsinfo_sector != 0 && v->fsinfo_dirty)
		err = fat_fsinfo_write(v);
	int e = fat_cache_flush(v);
	if (err == 0)
		err = e;
	e = blk_flush(v->dev);
	return err < 0 ? err : e < 0 ? -EIO : 0;
}

/* The boot sector's geometry, checked; fills v or says what is wrong. */
static int fat_parse_bpb(struct fat_vol *v, const uint8_t *b)
{
	uint32_t bps = fat_le16(b + 11), spc = b[13], rsvd = fat_le16(b + 14), nfats = b[16];
	uint32_t root_entries = fat_le16(b + 17);
	uint32_t total = fat_le16(b + 19) != 0 ? fat_le16(b + 19) : fat_le32(b + 32);
	uint32_t fatsz = fat_le16(b + 22) != 0 ? fat_le16(b + 22) : fat_le32(b + 36);

	if (b[510] != 0x55 || b[511] != 0xaa || (b[0] != 0xeb && b[0] != 0xe9))
		return fat_corrupt("no boot sector signature or jump", b[0]);
	if (bps < 512 || bps > 4096 || (bps & (bps - 1)) != 0 || bps < v->dev->sector_size)
		return fat_corrupt("bytes per sector", bps);
	if (spc == 0 || (spc & (spc - 1)) != 0 || spc * bps > 64 * 1024)
		return fat_corrupt("sectors per cluster", spc);
	if (rsvd == 0 || nfats == 0 || nfats > 4 || fatsz == 0)
		return fat_corrupt("reserved sectors, FAT count or FAT size", rsvd);
	uint32_t root_sectors = (root_entries * 32 + bps - 1) / bps;
	uint64_t meta = (uint64_t)rsvd + (uint64_t)nfats * fatsz + root_sectors;
	uint64_t dev_sectors = v->dev->sectors / (bps / v->dev->sector_size);
	if (total > dev_sectors || meta + spc > total)
		return fat_corrupt("total sectors", total);
	v->bps = bps;
	v->dev_per_sector = bps / v->dev->sector_size;
	v->spc = spc;
	v->cluster_size = spc * bps;
	v->fat_start = rsvd;
	v->fat_sectors = fatsz;
	v->nfats = nfats;
	v->root_start = rsvd + nfats * fatsz;
	v->root_entries = root_entries;
	v->data_start = (uint32_t)meta;
	v->total_sectors = total;
	v->clusters = (uint32_t)((total - meta) / spc);
	v->type = v->clusters < 4085 ? FAT12 : v->clusters < 65525 ? FAT16 : FAT32;
	if ((v->type == FAT32) != (root_entries == 0))
		return fat_corrupt("root entry count does not fit the FAT type", root_entries);
	/* cluster numbers from 0x0FFFFFF7 on would read back as bad or end-of-chain marks */
	if (v->clusters > 0x0ffffff5)
		return fat_corrupt("more clusters than FAT32 can number", v->clusters);
	/* the FAT must describe every cluster: entries 0 .. clusters + 1, 1.5 bytes each on FAT12 */
	uint64_t need = v->type == FAT12 ? (((uint64_t)v->clusters + 2) * 3 + 1) / 2
					 : ((uint64_t)v->clusters + 2) * (v->type / 8);
	if (need > (uint64_t)fatsz * bps)
		return fat_corrupt("FAT too small for the clusters", fatsz);
	if (v->type == FAT32) {
		v->root_cluster = fat_le32(b + 44);
		if (!fat_cluster_valid(v, v->root_cluster))
			return fat_corrupt("root cluster", v->root_cluster);
		v->fsinfo_sector = fat_le16(b + 48);
		if (v->fsinfo_sector == 0 || v->fsinfo_sector >= rsvd)
			v->fsinfo_sector = 0;
	}
	return 0;
}

/* The boot sector's flags byte (BS_Reserved1; Windows NT and Linux keep "dirty" in bit 0). */
static uint32_t fat_flags_offset(const struct fat_vol *v)
{
	return v->type == FAT32 ? 65 : 37;
}

/*
 * Sets or clears both dirty marks and writes them behind everything
 * cached, with a flush on each side: set, they reach the disk before any
 * change does; cleared, after every change has.
 */
static int fat_mark_dirty(struct fat_vol *v, bool dirty)
{
	uint8_t *boot;
	bool was_clean;
	int err = fat_sync(v);

	if (err == 0)
		err = fat_cache_get(v, 0, true, &boot);
	if (err < 0)
		return err;
	uint8_t *flags = boot + fat_flags_offset(v);
	*flags = (uint8_t)(dirty ? *flags | 1 : *flags & ~1);
	fat_cache_dirty(v, 0);
	err = fat_clean_bit(v, true, !dirty, &was_clean);
	if (err == 0)
		err = fat_sync(v);
	return err;
}

int fat_write_begin(struct fat_vol *v)
{
	int err = 0;

	if (v->read_only)
		return -EROFS;
	if (!v->dirty_marked) {
		v->dirty_tried = true; /* even a mark half written must be cleared at unmount */
		err = fat_mark_dirty(v, true);
		v->dirty_marked = err == 0;
	}
	return err;
}

/* The FSInfo hints, when present and sane; otherwise the free count is counted. */
static int fat_load_free(struct fat_vol *v)
{
	v->free_count = FSINFO_UNKNOWN;
	v->next_free = 2;
	if (v->fsinfo_sector != 0) {
		uint8_t *p;
		int err = fat_cache_get(v, v->fsinfo_sector, true, &p);
		if (err < 0)
			return err;
		if (fat_le32(p) == FSINFO_LEAD && fat_le32(p + 484) == FSINFO_STRUC &&
		    fat_le32(p + 508) == FSINFO_TRAIL) {
			v->free_count = fat_le32(p + 488);
			if (fat_cluster_valid(v, fat_le32(p + 492)))
				v->next_free = fat_le32(p + 492);
		} else {
			log_info("fat: %s: FSInfo sector not valid; ignored", v->dev->name);
			v->fsinfo_sector = 0;
		}
	}
	if (v->free_count > v->clusters)
		return fat_count_free(v);
	return 0;
}

int fat_mount(struct blk_dev *dev, struct fat_vol **out)
{
	struct fat_vol *v = NEW(struct fat_vol);
	uint8_t *boot = mm_malloc(dev->sector_size);
	bool clean = true;
	int err = -ENOMEM;

	*out = NULL;
	if (v == NULL || boot == NULL)
		goto fail;
	v->dev = dev;
	err = blk_read(dev, 0, 1, boot) < 0 ? -EIO : 0;
	if (err == 0 && dev->sector_size < 512)
		err = -EINVAL;
	if (err == 0)
		err = fat_parse_bpb(v, boot);
	for (unsigned i = 0; err == 0 && i < FAT_CACHE_SLOTS; i++)
		if ((v->cache[i].data = mm_malloc(v->bps)) == NULL)
			err = -ENOMEM;
	if (err == 0)
		err = fat_clean_bit(v, false, false, &clean);
	if (err == 0)
		err = fat_load_free(v);
	if (err < 0)
		goto fail;
	v->read_only = !clean || (boot[fat_flags_offset(v)] & 1) != 0;
	mm_mfree(boot);
	log_info("fat: %s: FAT%d, %u clusters of %u bytes, %u free%s", dev->name, v->type,
		 v->clusters, v->cluster_size, v->free_count, v->read_only ? ", read-only" : "");
	if (v->read_only)
		log_error("fat: %s: marked dirty (not cleanly unmounted, may be damaged): mounted "
			  "read-only; fsck.fat can check and clear it", dev->name);
	*out = v;
	return 0;
fail:
	log_error("fat: %s: not mounted: %s", dev->name, err_name(err));
	mm_mfree(boot);
	if (v != NULL) {
		for (unsigned i = 0; i < FAT_CACHE_SLOTS; i++)
			mm_mfree(v->cache[i].data);
		DELETE(v);
	}
	return err;
}

void fat_vol_free(struct fat_vol *v)
{
	KASSERT(v->open_files == NULL, "fat: volume freed with files open");
	for (unsigned i = 0; i < FAT_CACHE_SLOTS; i++)
		mm_mfree(v->cache[i].data);
	mm_mfree(v->reach);
	DELETE(v);
}

/*
 * Files still open here must be held by their VM objects alone (a clean
 * exit with mappings alive): their dirty pages go to disk first and their
 * objects take no more stores, then the marks are cleared, and the volume
 * stays, read-only, until the last of those files is closed (fat_close
 * frees it).
 */
int fat_unmount(struct fat_vol *v)
{
	int err = 0;

	/* set first, so that the flush seals the objects it writes back */
	v->unmounted = v->open_files != NULL;
	for (struct fat_file *f = v->open_files; f != NULL; f = f->next) {
		KASSERT(f->vm != NULL && f->refs == 1, "fat: unmount with files open");
		int e = f->vm->flush(f);
		if (err == 0)
			err = e;
	}
	if (!v->read_only) {
		int e = v->dirty_tried && err == 0 ? fat_mark_dirty(v, false) : fat_sync(v);
		if (err == 0)
			err = e;
	}
	if (v->open_files == NULL)
		fat_vol_free(v);
	else
		v->read_only = true; /* what is written now would be on a clean volume */
	return err;
}

void fat_info(const struct fat_vol *v, struct fat_info *info)
{
	*info = (struct fat_info){v->type, v->cluster_size, v->clusters, v->free_count, v->read_only};
}
