/*
 * CRC32, GUIDs, the block layer and GPT.  Disks come from sgdisk (512-byte
 * sectors, with mkswap's signature in the swap partition) and from a small
 * GPT writer here (4096-byte sectors, and tables damaged on purpose with
 * valid CRCs so the geometry checks are what rejects them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/dev/blk_testdisk.h"
#include "core/dev/gpt.h"
#include "core/lib/crc32.h"
#include "core/lib/guid.h"
#include "test/host/blk_file.h"

#define WORK "build/host/gpt-work"
#define DISK_GUID "5048424F-5300-4000-8000-0000000000D1"
#define ESP_GUID "5048424F-5300-4000-8000-0000000000D2"
#define SWAP_GUID "5048424F-5300-4000-8000-0000000000D3"
#define DATA_GUID "5048424F-5300-4000-8000-0000000000D4"

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void test_crc32_and_guid(void **state)
{
	static const uint8_t esp[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
					0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b};
	uint8_t g[16];
	char text[GUID_TEXT_LEN + 1];

	assert_int_equal(crc32(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(crc32(crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
	assert_int_equal(crc32(0, "", 0), 0);
	assert_int_equal(guid_parse(GPT_TYPE_ESP, g), 0);
	assert_memory_equal(g, esp, 16);
	guid_format(g, text);
	assert_string_equal(text, GPT_TYPE_ESP);
	assert_int_equal(guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93b", g), 0);
	assert_memory_equal(g, esp, 16);
	assert_int_equal(guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93", g), -EINVAL);
	assert_int_equal(guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93BB", g), -EINVAL);
	assert_int_equal(guid_parse("C12A7328xF81F-11D2-BA4B-00A0C93EC93B", g), -EINVAL);
	assert_int_equal(guid_parse("G12A7328-F81F-11D2-BA4B-00A0C93EC93B", g), -EINVAL);
	assert_false(guid_is_zero(g));
}

/* The sgdisk disk: ESP, Linux swap (mkswap'ed), a data partition. */
static void make_sgdisk_image(const char *path)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "mkdir -p " WORK " && rm -f %s && truncate -s 16M %s && "
		 "sgdisk -U " DISK_GUID " -n 1:1M:+4M -t 1:EF00 -u 1:" ESP_GUID
		 " -n 2:0:+4M -t 2:8200 -u 2:" SWAP_GUID " -n 3:0:+2M -t 3:8300 -u 3:" DATA_GUID
		 " %s >/dev/null && truncate -s 4M %s.swap && mkswap -q %s.swap >/dev/null && "
		 "dd if=%s.swap of=%s bs=1M seek=5 conv=notrunc status=none && rm %s.swap",
		 path, path, path, path, path, path, path, path);
	sh(cmd);
}

static struct blk_host disk;

static void open_disk(const char *path)
{
	blk_reset_registry();
	assert_int_equal(blk_file_open(&disk, path, 512, "disk0"), 0);
	blk_register(&disk.dev);
}

static void expect_three_partitions(void)
{
	uint8_t g[16], t[16];
	char text[GUID_TEXT_LEN + 1];

	guid_format(disk.dev.disk_guid, text);
	assert_string_equal(text, DISK_GUID);
	guid_parse(ESP_GUID, g);
	struct blk_dev *esp = gpt_find_by_unique_guid(g);
	assert_non_null(esp);
	assert_int_equal(esp->part_first_lba, 2048);
	assert_int_equal(esp->sectors, 8192);
	guid_parse(GPT_TYPE_ESP, t);
	assert_memory_equal(esp->part_type_guid, t, 16);
	guid_parse(SWAP_GUID, g);
	struct blk_dev *swap = gpt_find_by_unique_guid(g);
	assert_non_null(swap);
	assert_int_equal(gpt_is_swap_partition(swap), 1);
	assert_int_equal(gpt_is_swap_partition(esp), 0);
	guid_parse(GPT_TYPE_LINUX_SWAP, t);
	assert_ptr_equal(gpt_find_by_type(&disk.dev, t), swap);
	guid_parse(DATA_GUID, g);
	struct blk_dev *data = gpt_find_by_unique_guid(g);
	assert_non_null(data);
	assert_int_equal(gpt_is_swap_partition(data), 0); /* type is not swap */
	assert_ptr_equal(gpt_find_disk(disk.dev.disk_guid), &disk.dev);
}

static void test_sgdisk_disk(void **state)
{
	make_sgdisk_image(WORK "/a.img");
	open_disk(WORK "/a.img");
	assert_int_equal(gpt_scan(&disk.dev), 0);
	expect_three_partitions();
	blk_file_close(&disk);
}

static void corrupt(const char *path, long offset)
{
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, offset, SEEK_SET);
	int c = fgetc(f);
	fseek(f, offset, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
}

static void test_backup_used(void **state)
{
	make_sgdisk_image(WORK "/b.img");
	corrupt(WORK "/b.img", 512 + 40); /* FirstUsableLBA of the primary header */
	open_disk(WORK "/b.img");
	assert_int_equal(gpt_scan(&disk.dev), 0);
	expect_three_partitions();
	blk_file_close(&disk);

	make_sgdisk_image(WORK "/c.img");
	corrupt(WORK "/c.img", 1024 + 128 + 33); /* second entry of the primary array */
	open_disk(WORK "/c.img");
	assert_int_equal(gpt_scan(&disk.dev), 0);
	expect_three_partitions();
	blk_file_close(&disk);
}

static void test_both_bad(void **state)
{
	make_sgdisk_image(WORK "/d.img");
	corrupt(WORK "/d.img", 512 + 16);
	corrupt(WORK "/d.img", 16 * 1024 * 1024 - 512 + 16);
	open_disk(WORK "/d.img");
	assert_int_equal(gpt_scan(&disk.dev), -EINVAL);
	assert_null(blk_first()->next); /* no partition registered */
	blk_file_close(&disk);

	make_sgdisk_image(WORK "/e.img");
	sh("truncate -s 8M " WORK "/e.img"); /* the backup and half the disk gone */
	open_disk(WORK "/e.img");
	assert_int_equal(gpt_scan(&disk.dev), -EINVAL);
	blk_file_close(&disk);
}

static void test_io_error(void **state)
{
	make_sgdisk_image(WORK "/f.img");
	open_disk(WORK "/f.img");
	disk.fail_after = 0;
	assert_int_equal(gpt_scan(&disk.dev), -EIO);
	blk_file_close(&disk);
}

/* A GPT writer for in-memory disks of any sector size. */
struct part {
	uint64_t first, last;
};

/* The usable range the writer puts in both headers: [first, sectors - margin]. */
static uint64_t usable_first = 6, usable_margin = 6;

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void write_table(uint8_t *d, uint32_t ss, uint64_t sectors, uint64_t hdr, uint64_t alt,
			uint64_t array, const struct part *parts, unsigned n, uint32_t count)
{
	uint8_t *h = d + hdr * ss, *a = d + array * ss;
	uint8_t type[16];

	/* an absurd count is written into the header only: nothing reads that far */
	bool array_fits = (uint64_t)count * 128 <= (sectors - array) * ss;
	guid_parse(GPT_TYPE_ESP, type);
	if (array_fits)
		memset(a, 0, (size_t)count * 128);
	for (unsigned i = 0; i < n; i++) {
		memcpy(a + i * 128, type, 16);
		memset(a + i * 128 + 16, (int)(i + 1), 16);
		put64(a + i * 128 + 32, parts[i].first);
		put64(a + i * 128 + 40, parts[i].last);
	}
	memset(h, 0, ss);
	memcpy(h, "EFI PART", 8);
	put32(h + 8, 0x10000);
	put32(h + 12, 92);
	put64(h + 24, hdr);
	put64(h + 32, alt);
	put64(h + 40, usable_first);
	put64(h + 48, sectors - usable_margin);
	memset(h + 56, 0xab, 16);
	put64(h + 72, array);
	put32(h + 80, count);
	put32(h + 84, 128);
	put32(h + 88, array_fits ? crc32(0, a, (size_t)count * 128) : 0);
	put32(h + 16, crc32(0, h, 92));
}

static int scan_mem(uint8_t *d, uint32_t ss, uint64_t sectors, const struct part *p, unsigned n,
		    uint32_t count)
{
	static struct blk_host m;

	/* primary: header 1, array 2..; backup: array before the last sector */
	uint64_t array_sectors = MIN(((uint64_t)count * 128 + ss - 1) / ss, sectors / 2);
	write_table(d, ss, sectors, 1, sectors - 1, 2, p, n, count);
	write_table(d, ss, sectors, sectors - 1, 1, sectors - 1 - array_sectors, p, n, count);
	blk_reset_registry();
	blk_mem_create(&m, d, (size_t)(sectors * ss), ss, "mem0");
	blk_register(&m.dev);
	return gpt_scan(&m.dev);
}

static void test_4k_sectors_and_geometry(void **state)
{
	const uint32_t ss = 4096;
	const uint64_t sectors = 64;
	uint8_t *d = calloc(sectors, ss);
	struct part good[2] = {{6, 20}, {21, 50}};
	struct part overlap[2] = {{6, 20}, {20, 30}};
	struct part outside[1] = {{6, 60}};

	assert_int_equal(scan_mem(d, ss, sectors, good, 2, 4), 0);
	assert_non_null(blk_first()->next);
	assert_int_equal(blk_first()->next->sectors, 15);
	assert_int_equal(blk_first()->next->sector_size, 4096);
	assert_int_equal(scan_mem(d, ss, sectors, overlap, 2, 4), -EINVAL);
	assert_int_equal(scan_mem(d, ss, sectors, outside, 1, 4), -EINVAL);
	/* 2^31 entries would be 256 GiB of array: refused before any read */
	assert_int_equal(scan_mem(d, ss, sectors, good, 2, 0x80000000u), -EINVAL);
	free(d);
}

/* A usable range reaching over LBA 0-1, a header or its own entry array
 * is refused, though every CRC is right. */
static void test_usable_range_bounds(void **state)
{
	const uint32_t ss = 512;
	const uint64_t sectors = 256;
	uint8_t *d = calloc(sectors, ss);
	struct part p[1] = {{40, 60}};

	assert_int_equal(scan_mem(d, ss, sectors, p, 1, 4), 0);
	usable_first = 0; /* LBA 0-1: the protective MBR and the primary header */
	assert_int_equal(scan_mem(d, ss, sectors, p, 1, 4), -EINVAL);
	usable_first = 1;
	assert_int_equal(scan_mem(d, ss, sectors, p, 1, 4), -EINVAL);
	usable_first = 2; /* the primary's entry array, LBA 2 */
	assert_int_equal(scan_mem(d, ss, sectors, p, 1, 4), -EINVAL);
	usable_first = 6;
	usable_margin = 1; /* the backup header */
	assert_int_equal(scan_mem(d, ss, sectors, p, 1, 4), -EINVAL);
	usable_margin = 2; /* the backup's entry array */
	assert_int_equal(scan_mem(d, ss, sectors, p, 1, 4), -EINVAL);
	usable_margin = 6;
	assert_int_equal(scan_mem(d, ss, sectors, p, 1, 4), 0);
	free(d);
}

/* A disk grown after partitioning keeps its backup where it was: the
 * primary's AlternateLBA finds it, the last sector does not. */
static void test_backup_at_alternate_lba(void **state)
{
	make_sgdisk_image(WORK "/g.img");
	sh("truncate -s 20M " WORK "/g.img");
	corrupt(WORK "/g.img", 1024 + 128 + 33); /* primary array: the header stays good */
	open_disk(WORK "/g.img");
	assert_int_equal(gpt_scan(&disk.dev), 0);
	expect_three_partitions();
	blk_file_close(&disk);

	make_sgdisk_image(WORK "/h.img");
	sh("truncate -s 20M " WORK "/h.img");
	corrupt(WORK "/h.img", 512 + 16); /* primary header CRC: AlternateLBA untrusted */
	open_disk(WORK "/h.img");
	assert_int_equal(gpt_scan(&disk.dev), -EINVAL); /* the last sector holds no header */
	blk_file_close(&disk);
}

static void test_partition_device_bounds(void **state)
{
	uint8_t *d = calloc(64, 512), buf[1024];
	static struct blk_host m;

	blk_mem_create(&m, d, 64 * 512, 512, "mem1");
	blk_reset_registry();
	struct blk_dev *p = blk_partition_create(&m.dev, 1, 10, 20);
	assert_non_null(p);
	assert_string_equal(p->name, "mem1p1");
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(blk_write(p, 19, 1, buf), 0);
	assert_int_equal(d[29 * 512], 0x5a); /* partition LBA 19 = disk LBA 29 */
	assert_int_equal(blk_read(p, 19, 2, buf), -EINVAL);
	assert_int_equal(blk_read(p, 20, 1, buf), -EINVAL);
	assert_int_equal(blk_read(p, 0, 0, buf), -EINVAL);
	assert_int_equal(blk_read(p, ~0ull, 2, buf), -EINVAL);
	assert_null(blk_partition_create(&m.dev, 2, 60, 5));
	assert_null(blk_partition_create(&m.dev, 2, 64, 1));
	free(d);
}

/* Writes a test-disk label for a disk of `sectors` sectors into s. */
static void label(uint8_t *s, uint64_t sectors)
{
	memset(s, 0, 512);
	memcpy(s, BLK_TESTDISK_MAGIC, 16);
	memcpy(s + BLK_TESTDISK_SECTORS_AT, &sectors, 8);
	uint32_t crc = crc32(0, s, BLK_TESTDISK_CRC_AT);
	memcpy(s + BLK_TESTDISK_CRC_AT, &crc, 4);
}

/* Scans the 64-sector memory disk d as storage does; is it a test disk? */
static bool test_disk(uint8_t *d, bool is_boot_disk)
{
	static struct blk_host m;
	uint8_t buf[512];

	blk_reset_registry();
	blk_mem_create(&m, d, 64 * 512, 512, "mem2");
	blk_register(&m.dev);
	gpt_scan(&m.dev);
	return blk_is_test_disk(&m.dev, is_boot_disk ? &m.dev : NULL, buf);
}

static void test_test_disk_label(void **state)
{
	uint8_t *d = calloc(64, 512);

	label(d, 64);
	assert_true(test_disk(d, false));
	assert_false(test_disk(d, true));
	label(d, 63); /* the disk was resized since */
	assert_false(test_disk(d, false));
	label(d, 64);
	d[20] ^= 1; /* the CRC no longer matches */
	assert_false(test_disk(d, false));
	label(d, 64);
	d[446 + 4] = 0x83; /* a DOS partition table written over it */
	d[510] = 0x55;
	d[511] = 0xaa;
	assert_false(test_disk(d, false));
	free(d);
}

/* A disk once used for tests, since partitioned with a GPT: the label in
 * the boot-code area survives, the disk is no longer fair game. */
static void test_stale_label_under_gpt(void **state)
{
	const uint32_t ss = 512;
	const uint64_t sectors = 64;
	uint8_t *d = calloc(sectors, ss);
	struct part p[1] = {{10, 20}};

	assert_int_equal(scan_mem(d, ss, sectors, p, 1, 4), 0);
	label(d, sectors); /* no protective MBR: only the GPT gives it away */
	assert_false(test_disk(d, false));
	memset(d + 512, 0, 512); /* the primary header gone: the backup still counts */
	assert_false(test_disk(d, false));
	memset(d + (sectors - 1) * 512, 0, 512);
	assert_true(test_disk(d, false)); /* no table left at all */
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_and_guid),
		cmocka_unit_test(test_sgdisk_disk),
		cmocka_unit_test(test_backup_used),
		cmocka_unit_test(test_both_bad),
		cmocka_unit_test(test_io_error),
		cmocka_unit_test(test_4k_sectors_and_geometry),
		cmocka_unit_test(test_usable_range_bounds),
		cmocka_unit_test(test_backup_at_alternate_lba),
		cmocka_unit_test(test_partition_device_bounds),
		cmocka_unit_test(test_test_disk_label),
		cmocka_unit_test(test_stale_label_under_gpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
