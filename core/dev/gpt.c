/*
 * gpt: see gpt.h.  Field offsets are those of the UEFI specification's
 * GPT header and partition entry tables.
 */
#include "core/dev/gpt.h"
#include "core/lib/crc32.h"
#include "core/lib/guid.h"

#define GPT_HDR_MIN 92
#define GPT_ENTRY_MIN 128
#define GPT_ARRAY_MAX (1u << 20) /* entry arrays beyond 1 MiB are not credible */
#define GPT_SECTOR_MAX 4096
#define GPT_CHUNK 16384 /* the usual 128 entries of 128 bytes: one read, not 32 */

struct gpt_entry {
	uint8_t type[16], unique[16];
	uint64_t first, last;
};

struct gpt_table {
	uint8_t disk_guid[16];
	uint64_t alternate;
	unsigned used;
	struct gpt_entry e[GPT_MAX_USED];
};

static uint8_t gpt_chunk[GPT_CHUNK];
static struct gpt_table gpt_tab;

static uint32_t gpt_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t gpt_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Checks the header sector at lba; returns a reason, or NULL when good. */
static const char *gpt_check_header(const struct blk_dev *disk, const uint8_t *h, uint64_t lba)
{
	uint32_t size = gpt_u32(h + 12), esize = gpt_u32(h + 84), count = gpt_u32(h + 80);
	uint8_t copy[GPT_SECTOR_MAX];

	if (memcmp(h, "EFI PART", 8) != 0)
		return "no signature";
	if (size < GPT_HDR_MIN || size > disk->sector_size)
		return "bad header size";
	memcpy(copy, h, size);
	memset(copy + 16, 0, 4);
	if (crc32(0, copy, size) != gpt_u32(h + 16))
		return "header CRC mismatch";
	if (gpt_u64(h + 24) != lba)
		return "MyLBA is not where the header is";
	uint64_t first = gpt_u64(h + 40), last = gpt_u64(h + 48), entries = gpt_u64(h + 72);
	uint64_t alt = gpt_u64(h + 32);
	if (first > last || last >= disk->sectors)
		return "usable range outside the disk";
	if (alt == lba || alt == 0 || alt >= disk->sectors)
		return "AlternateLBA is not a sector of its own on the disk";
	/* Both headers (LBA 0 holds the protective MBR below them) must lie
	 * outside the usable range, else a partition could overwrite one. */
	if (first <= MIN(lba, alt) || last >= MAX(lba, alt))
		return "usable range covers a header";
	if (esize < GPT_ENTRY_MIN || !IS_POW2(esize) || esize > disk->sector_size || count == 0 ||
	    (uint64_t)count * esize > GPT_ARRAY_MAX)
		return "implausible entry array size";
	uint64_t array_sectors = ((uint64_t)count * esize + disk->sector_size - 1) / disk->sector_size;
	if (entries < 2 || entries >= disk->sectors || array_sectors > disk->sectors - entries)
		return "entry array outside the disk";
	if (!(entries + array_sectors <= first || entries > last))
		return "entry array overlaps the usable range";
	if (entries <= lba && lba < entries + array_sectors)
		return "entry array overlaps its header";
	/* Each copy of the array (the same size in both tables) sits between
	 * its header and the usable range: after LBA 1 at the front, before
	 * the backup header at the end. */
	if (first < 2 + array_sectors || last + array_sectors >= MAX(lba, alt))
		return "usable range leaves no room for both entry arrays";
	return NULL;
}

/* Reads and checks the entry array of header h into t. */
static const char *gpt_read_entries(struct blk_dev *disk, const uint8_t *h, struct gpt_table *t,
				    int *io_err)
{
	uint32_t count = gpt_u32(h + 80), esize = gpt_u32(h + 84), crc = 0;
	uint64_t lba = gpt_u64(h + 72), first = gpt_u64(h + 40), last = gpt_u64(h + 48);
	uint32_t per = disk->sector_size / esize, sectors = GPT_CHUNK / disk->sector_size;
	uint32_t in_chunk = sectors * per;

	t->used = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (i % in_chunk == 0 &&
		    (*io_err = blk_read(disk, lba + i / per,
					MIN(sectors, (count - i + per - 1) / per), gpt_chunk)) < 0)
			return "entry array unreadable";
		const uint8_t *e = gpt_chunk + (i % in_chunk) / per * disk->sector_size +
				   (i % per) * esize;
		crc = crc32(crc, e, esize);
		if (guid_is_zero(e))
			continue;
		if (t->used == GPT_MAX_USED)
			return "too many partitions";
		struct gpt_entry *p = &t->e[t->used++];
		memcpy(p->type, e, 16);
		memcpy(p->unique, e + 16, 16);
		p->first = gpt_u64(e + 32);
		p->last = gpt_u64(e + 40);
		if (p->first > p->last || p->first < first || p->last > last)
			return "partition outside the usable range";
	}
	if (crc != gpt_u32(h + 88))
		return "entry array CRC mismatch";
	for (unsigned i = 0; i < t->used; i++)
		for (unsigned j = i + 1; j < t->used; j++)
			if (t->e[i].first <= t->e[j].last && t->e[j].first <= t->e[i].last)
				return "partitions overlap";
	return NULL;
}

/* Reads the table whose header is at lba; a reason on failure, else NULL. */
static const char *gpt_read_table(struct blk_dev *disk, uint64_t lba, struct gpt_table *t,
				  int *io_err)
{
	uint8_t h[GPT_SECTOR_MAX];
	const char *why;

	if ((*io_err = blk_read(disk, lba, 1, h)) < 0)
		return "header unreadable";
	t->alternate = 0;
	if ((why = gpt_check_header(disk, h, lba)) != NULL)
		return why;
	memcpy(t->disk_guid, h + 56, 16);
	t->alternate = gpt_u64(h + 32);
	return gpt_read_entries(disk, h, t, io_err);
}

static void gpt_register(struct blk_dev *disk, const struct gpt_table *t)
{
	memcpy(disk->disk_guid, t->disk_guid, 16);
	for (unsigned i = 0; i < t->used; i++) {
		const struct gpt_entry *e = &t->e[i];
		struct blk_dev *p = blk_partition_create(disk, i + 1, e->first, e->last - e->first + 1);
		if (p == NULL)
			continue;
		memcpy(p->part_type_guid, e->type, 16);
		memcpy(p->part_unique_guid, e->unique, 16);
		blk_register(p);
	}
}

int gpt_scan(struct blk_dev *disk)
{
	int io_err = 0;
	char g[GUID_TEXT_LEN + 1];

	if (disk->sector_size < 512 || disk->sector_size > GPT_SECTOR_MAX || disk->sectors < 4)
		return -EINVAL;
	const char *why = gpt_read_table(disk, 1, &gpt_tab, &io_err);
	if (why == NULL) {
		gpt_register(disk, &gpt_tab);
		guid_format(disk->disk_guid, g);
		log_info("gpt: %s: disk %s, %u partitions", disk->name, g, gpt_tab.used);
		return 0;
	}
	/* A primary header that passed its CRC knows where the backup is (a
	 * disk grown after partitioning has it before the end); otherwise the
	 * backup is where it belongs, the last sector. */
	uint64_t last = disk->sectors - 1, alt = gpt_tab.alternate != 0 ? gpt_tab.alternate : last;
	log_error("gpt: %s: primary table bad (%s), trying the backup at LBA %llu", disk->name, why,
		  (unsigned long long)alt);
	const char *why2 = gpt_read_table(disk, alt, &gpt_tab, &io_err);
	if (why2 != NULL && alt != last) {
		log_error("gpt: %s: backup at LBA %llu bad (%s), trying the last LBA", disk->name,
			  (unsigned long long)alt, why2);
		why2 = gpt_read_table(disk, last, &gpt_tab, &io_err);
	}
	if (why2 != NULL) {
		log_error("gpt: %s: backup table bad too (%s): no partitions", disk->name, why2);
		return io_err < 0 ? -EIO : -EINVAL;
	}
	gpt_register(disk, &gpt_tab);
	log_info("gpt: %s: using the backup table, %u partitions", disk->name, gpt_tab.used);
	return 0;
}

struct blk_dev *gpt_find_by_unique_guid(const uint8_t guid[16])
{
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->parent != NULL && memcmp(d->part_unique_guid, guid, 16) == 0)
			return d;
	return NULL;
}

struct blk_dev *gpt_find_by_type(const struct blk_dev *disk, const uint8_t type[16])
{
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->parent == disk && memcmp(d->part_type_guid, type, 16) == 0)
			return d;
	return NULL;
}

struct blk_dev *gpt_find_disk(const uint8_t disk_guid[16])
{
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->parent == NULL && !guid_is_zero(disk_guid) &&
		    memcmp(d->disk_guid, disk_guid, 16) == 0)
			return d;
	return NULL;
}

int gpt_is_swap_partition(struct blk_dev *part)
{
	uint8_t swap_type[16];
	static uint8_t page[4096];

	guid_parse(GPT_TYPE_LINUX_SWAP, swap_type);
	if (part->parent == NULL || memcmp(part->part_type_guid, swap_type, 16) != 0)
		return 0;
	uint32_t n = 4096 / part->sector_size;
	if (part->sectors < n)
		return 0;
	int err = blk_read(part, 0, n, page);
	if (err < 0)
		return -EIO;
	return memcmp(page + 4086, "SWAPSPACE2", 10) == 0;
}
