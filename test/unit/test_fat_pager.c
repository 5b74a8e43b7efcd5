/*
 * The FAT file pager on the software MMU, over volumes made by mkfs.fat
 * and mtools: read-ahead and write clustering counted in device batches,
 * zeros past the end of file on disk, fat_read/fat_write coherent with
 * mappings both ways, truncation under a mapping, private mappings that
 * never reach the file, the extent cache; then a model-based random test
 * of shared and private file mappings and anonymous memory twice the size
 * of RAM (paging to a swap area in memory) under a small page cap, checked
 * after every batch against the model, by the VM's checkers, by fsck.fat
 * -n and by mtools reading every file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/mm/slab.h"
#include "core/mm/swap_pager.h"
#include "core/mm/vm_pageout.h"
#include "fs/fat_impl.h"
#include "fs/fat_pager.h"
#include "test/host/blk_file.h"
#include "test/sim/pmap_sim.h"

#define WORK "build/host/fat-pager-work"
#define IMG WORK "/vol.img"
#define RAM (2u << 20)
#define BASE 0x40000000ull
#define SPAN (1ull << 32)

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static uint8_t pattern(unsigned seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)seed * 0xbf58476d1ce4e5b9ull;
	return (uint8_t)(x >> 29 ^ x >> 7);
}

/* A volume of fat type `type`, spc sectors of `sector` bytes per cluster,
 * holding /F<i>.BIN of sizes[i] bytes of pattern(i) for each i < n. */
static uint32_t img_sector;
static void make_volume(int type, const char *size, int spc, uint32_t sector,
			const uint32_t *sizes, unsigned n)
{
	img_sector = sector;
	sh("mkdir -p " WORK " && rm -f " IMG " && truncate -s %s " IMG
	   " && mkfs.fat -F %d -s %d -S %u -n PAGER " IMG " >/dev/null",
	   size, type, spc, sector);
	for (unsigned i = 0; i < n; i++) {
		FILE *f = fopen(WORK "/src", "wb");
		assert_non_null(f);
		for (uint32_t b = 0; b < sizes[i]; b++)
			fputc(pattern(i, b), f);
		fclose(f);
		sh("mcopy -i " IMG " " WORK "/src ::/F%u.BIN", i);
	}
}

static void fsck_clean(void)
{
	sh("fsck.fat -n " IMG " >" WORK "/fsck.log 2>&1 || { cat " WORK "/fsck.log; false; }");
}

/* mtools reads /F<i>.BIN: it must hold exactly want[0, size). */
static void mtools_expect(unsigned i, const uint8_t *want, uint32_t size)
{
	sh("rm -f " WORK "/out && mcopy -n -i " IMG " ::/F%u.BIN " WORK "/out", i);
	FILE *f = fopen(WORK "/out", "rb");
	assert_non_null(f);
	uint8_t *got = malloc(size + 1);
	size_t n = fread(got, 1, size + 1, f);
	fclose(f);
	assert_int_equal(n, size);
	if (memcmp(got, want, size) != 0)
		fail_msg("mtools: F%u.BIN differs from the model", i);
	free(got);
}

/* The device, counting the batches and requests that reach it.  With
 * keep_next_write, the next write batch ends as a device that stopped with
 * the buffers (-EBUSY, nothing written); a later request that hands one of
 * those buffers out again is counted in reused. */
static struct {
	unsigned submits, reqs, writes;
	bool keep_next_write;
	void *kept[64];
	unsigned nkept, reused;
} io;
static const struct blk_ops *real_ops;

static int counting_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	io.submits++;
	io.reqs += (unsigned)n;
	io.writes += reqs[0].op == BLK_WRITE;
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < io.nkept; k++)
			io.reused += (uint8_t *)reqs[i].buf >= (uint8_t *)io.kept[k] &&
				     (uint8_t *)reqs[i].buf < (uint8_t *)io.kept[k] + PAGE_SIZE;
	if (reqs[0].op == BLK_WRITE && io.keep_next_write) {
		io.keep_next_write = false;
		for (size_t i = 0; i < n && io.nkept < ARRAY_SIZE(io.kept); i++)
			io.kept[io.nkept++] = (void *)ALIGN_DOWN((uintptr_t)reqs[i].buf, PAGE_SIZE);
		return -EBUSY;
	}
	return real_ops->submit(dev, reqs, n);
}

static struct blk_ops counting_ops;
static struct blk_host host;
static struct fat_vol *vol;

static void mount_img(void)
{
	assert_int_equal(blk_file_open(&host, IMG, img_sector, "img"), 0);
	real_ops = host.dev.ops;
	counting_ops = (struct blk_ops){counting_submit, real_ops->flush};
	host.dev.ops = &counting_ops;
	assert_int_equal(fat_mount(&host.dev, &vol), 0);
}

static void unmount_img(void)
{
	assert_int_equal(fat_unmount(vol), 0);
	vol = NULL;
	blk_file_close(&host);
}

/* The address space every mapping goes into. */
static struct vm_map map;
static struct pmap *pmap;

static int on_fault(struct pmap *p, vaddr_t va, vm_prot_t access, bool user)
{
	return vm_fault(&map, va, access, user);
}

static uint64_t free_at_start;

static int setup(void **state)
{
	pmap_sim_init(RAM);
	vm_pageout_init(swap_pager_alloc);
	vm_page_set_hooks(vm_pageout_reclaim, NULL);
	assert_int_equal(pmap_create(&pmap), 0);
	assert_int_equal(vm_map_init(&map, pmap, BASE, SPAN), 0);
	pmap_sim_set_fault_handler(on_fault);
	slab_reclaim();
	free_at_start = vm_page_free_count();
	return 0;
}

static void check_vm(void)
{
	vm_page_check();
	vm_map_check(&map);
	pmap_sim_check();
}

/* Every mapping gone and every file closed: all pages are back. */
static void expect_pages_back(void)
{
	check_vm();
	slab_reclaim();
	assert_int_equal(vm_page_free_count(), free_at_start);
}

static struct fat_file *open_file(unsigned i)
{
	char path[32];
	struct fat_file *f;

	snprintf(path, sizeof(path), "/F%u.BIN", i);
	assert_int_equal(fat_open(vol, path, FAT_O_CREATE, &f), 0);
	return f;
}

static vaddr_t map_file(struct fat_file *f, uint64_t size, vm_prot_t prot, bool shared)
{
	vaddr_t va;

	assert_int_equal(fat_map(&map, f, 0, size, prot, shared, 0, &va), 0);
	return va;
}

static void expect_file_pattern(struct fat_file *f, unsigned seed, uint32_t size)
{
	uint8_t *buf = malloc(size + 1);

	assert_int_equal(fat_read(f, 0, buf, size + 1), size);
	for (uint32_t b = 0; b < size; b++)
		if (buf[b] != pattern(seed, b))
			fail_msg("byte %u differs", b);
	free(buf);
}

/* One fault brings a file's contiguous pages in: one get_pages call, one
 * device batch; the pages after it are then hits. */
static void test_read_ahead(void **state)
{
	static const uint32_t sizes[] = {64 << 10};
	uint8_t buf[PAGE_SIZE];

	make_volume(32, "300M", 8, 512, sizes, 1);
	mount_img();
	struct fat_file *f = open_file(0);
	vaddr_t va = map_file(f, sizes[0], VM_PROT_READ, true);
	fat_close(f);
	uint64_t pageins = vm_cnt.pageins;
	io.submits = io.reqs = 0;
	assert_int_equal(pmap_sim_read(pmap, va, buf, 1, false), 0);
	assert_int_equal(io.submits, 1);
	assert_int_equal(io.reqs, 16); /* a request per page: pages are apart in memory */
	assert_int_equal(vm_cnt.pageins - pageins, 16);
	for (unsigned p = 0; p < 16; p++) {
		assert_int_equal(pmap_sim_read(pmap, va + p * PAGE_SIZE, buf, PAGE_SIZE, false), 0);
		for (unsigned b = 0; b < PAGE_SIZE; b++)
			assert_int_equal(buf[b], pattern(0, p * PAGE_SIZE + b));
	}
	assert_int_equal(io.submits, 1);
	check_vm();
	assert_int_equal(vm_map_free(&map, va), 0);
	unmount_img();
	expect_pages_back();
}

/*
 * Stores to every page of a mapping go back in one batch on a sync; the
 * page holding the end of the file goes with zeros past the end, whatever
 * the page holds there; fat_read saw the stores before the sync.
 */
static void test_write_back(void **state)
{
	static const uint32_t sizes[] = {15 * PAGE_SIZE + 904, 1};
	const uint32_t size = sizes[0];
	uint8_t *page = malloc(PAGE_SIZE), *want = malloc(size), *got = malloc(size);
	uint64_t lba;
	uint32_t count;

	make_volume(32, "300M", 8, 512, sizes, 2);
	mount_img();
	struct fat_file *f = open_file(0), *g = open_file(1);
	assert_int_equal(fat_write(g, 0, "x", 1), 1); /* the volume is marked dirty before */
	vaddr_t va = map_file(f, 16 * PAGE_SIZE, VM_PROT_RW, true);
	for (unsigned p = 0; p < 16; p++) {
		memset(page, 0xa0 + p, PAGE_SIZE);
		assert_int_equal(pmap_sim_write(pmap, va + p * PAGE_SIZE, page, PAGE_SIZE, false), 0);
	}
	for (uint32_t b = 0; b < size; b++)
		want[b] = (uint8_t)(0xa0 + b / PAGE_SIZE);
	assert_int_equal(fat_read(f, 0, got, size), size); /* the mapping's bytes, not yet on disk */
	assert_memory_equal(got, want, size);
	io.submits = io.reqs = io.writes = 0;
	assert_int_equal(vm_map_sync(&map, va, 16 * PAGE_SIZE), 0);
	assert_int_equal(io.submits, 1);
	assert_int_equal(io.writes, 1);
	assert_int_equal(io.reqs, 17); /* 15 pages, the last page's whole sectors, its tail sector */
	assert_int_equal(fat_size(f), size);
	assert_int_equal(fat_bmap(f, size - 1, &lba, &count), 0);
	fat_close(g);
	fat_close(f);
	assert_int_equal(vm_map_free(&map, va), 0);
	unmount_img();
	fsck_clean();
	mtools_expect(0, want, size);
	/* the sector holding the end of the file: zeros after it */
	uint8_t sector[512];
	FILE *img = fopen(IMG, "rb");
	assert_non_null(img);
	assert_int_equal(fseek(img, (long)(lba * 512), SEEK_SET), 0);
	assert_int_equal(fread(sector, 1, 512, img), 512);
	fclose(img);
	for (unsigned b = 0; b < 512; b++)
		assert_int_equal(sector[b], b < size % 512 ? want[size - size % 512 + b] : 0);
	free(page);
	free(want);
	free(got);
	expect_pages_back();
}

/*
 * A write-back whose device stopped with the buffers (-EBUSY): the sync
 * fails, and neither the pages nor the tail buffer are handed to a device
 * again (a late completion could still read them); the data lives on in
 * copies that the next sync writes, and the kept pages never come back.
 */
static void test_write_kept_by_device(void **state)
{
	static const uint32_t sizes[] = {3 * PAGE_SIZE + 100};
	const uint32_t size = sizes[0];
	uint8_t *want = malloc(size);

	make_volume(16, "16M", 1, 512, sizes, 1);
	mount_img();
	struct fat_file *f = open_file(0);
	assert_int_equal(fat_write(f, 0, "x", 1), 1); /* the volume is marked dirty before */
	vaddr_t va = map_file(f, 4 * PAGE_SIZE, VM_PROT_RW, true);
	for (uint32_t b = 0; b < size; b++)
		want[b] = (uint8_t)(b * 7);
	assert_int_equal(pmap_sim_write(pmap, va, want, size, false), 0);
	io.nkept = io.reused = 0;
	io.keep_next_write = true;
	assert_int_equal(vm_map_sync(&map, va, 4 * PAGE_SIZE), -EIO);
	assert_int_equal(io.nkept, 4); /* 3 pages and the tail buffer of the 4th */
	assert_int_equal(vm_map_sync(&map, va, 4 * PAGE_SIZE), 0);
	assert_int_equal(io.reused, 0);
	fat_close(f);
	assert_int_equal(vm_map_free(&map, va), 0);
	unmount_img();
	fsck_clean();
	mtools_expect(0, want, size);
	free(want);
	check_vm();
	slab_reclaim();
	assert_int_equal(vm_page_free_count(), free_at_start - 4); /* the whole run */
	free_at_start -= 4; /* the device's for good */
	io.nkept = 0;
}

/*
 * Unmounted under a shared writable mapping: the dirty pages reach the disk
 * at fat_unmount, and a later store through the mapping is refused rather
 * than taken and then lost (the volume writes nothing more).
 */
static void test_unmount_under_mapping(void **state)
{
	static const uint32_t sizes[] = {2 * PAGE_SIZE};
	uint8_t *want = malloc(sizes[0]);
	char buf[8];

	make_volume(16, "16M", 1, 512, sizes, 1);
	mount_img();
	struct fat_file *f = open_file(0);
	assert_int_equal(fat_write(f, 0, "x", 1), 1);
	vaddr_t va = map_file(f, sizes[0], VM_PROT_RW, true);
	assert_int_equal(pmap_sim_write(pmap, va + 10, "before", 6, false), 0);
	fat_close(f); /* the mapping's object holds the file */
	assert_int_equal(fat_unmount(vol), 0);
	vol = NULL;
	assert_int_equal(pmap_sim_write(pmap, va + 20, "after", 5, false), -EACCES);
	assert_int_equal(pmap_sim_read(pmap, va + 10, buf, 6, false), 0);
	assert_memory_equal(buf, "before", 6);
	assert_int_equal(vm_map_free(&map, va), 0); /* the last close frees the volume */
	blk_file_close(&host);
	fsck_clean();
	for (uint32_t b = 0; b < sizes[0]; b++)
		want[b] = pattern(0, b);
	want[0] = 'x';
	memcpy(want + 10, "before", 6);
	mtools_expect(0, want, sizes[0]);
	free(want);
	expect_pages_back();
}

/* fat_write reaches the resident pages a mapping sees, resident or not. */
static void test_coherence(void **state)
{
	static const uint32_t sizes[] = {40000};
	uint8_t buf[64];

	make_volume(16, "16M", 1, 512, sizes, 1);
	mount_img();
	struct fat_file *f = open_file(0);
	vaddr_t va = map_file(f, 1 << 20, VM_PROT_RW, true);
	assert_int_equal(pmap_sim_read(pmap, va + 5000, buf, 10, false), 0); /* page 1 resident */
	assert_int_equal(fat_write(f, 4090, "coherent write", 14), 14); /* over pages 0 and 1 */
	assert_int_equal(pmap_sim_read(pmap, va + 4090, buf, 14, false), 0);
	assert_memory_equal(buf, "coherent write", 14);
	assert_int_equal(pmap_sim_write(pmap, va + 30000, "stored", 6, false), 0);
	assert_int_equal(fat_read(f, 29999, buf, 8), 8);
	assert_int_equal(buf[0], pattern(0, 29999));
	assert_memory_equal(buf + 1, "stored", 6);
	/* growth under the mapping: the gap reads as zeros through it */
	assert_int_equal(fat_write(f, 100000, "end", 3), 3);
	assert_int_equal(pmap_sim_read(pmap, va + 99998, buf, 5, false), 0);
	assert_memory_equal(buf, "\0\0end", 5);
	assert_int_equal(pmap_sim_read(pmap, va + 40000, buf, 8, false), 0);
	assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
	fat_close(f);
	assert_int_equal(vm_map_free(&map, va), 0); /* the last reference writes back */
	unmount_img();
	fsck_clean();
	mount_img();
	f = open_file(0);
	assert_int_equal(fat_read(f, 30000, buf, 6), 6);
	assert_memory_equal(buf, "stored", 6);
	fat_close(f);
	unmount_img();
	expect_pages_back();
}

/* Truncation drops the pages past the new end: a touch there fails, the
 * partial last page reads zeros past the end, and growth shows zeros;
 * after a remount the file holds the stores made before the cut. */
static void test_truncate_under_mapping(void **state)
{
	static const uint32_t sizes[] = {10 * PAGE_SIZE};
	uint8_t buf[PAGE_SIZE];

	make_volume(16, "16M", 4, 512, sizes, 1);
	mount_img();
	struct fat_file *f = open_file(0);
	vaddr_t va = map_file(f, sizes[0], VM_PROT_RW, true);
	for (unsigned p = 0; p < 10; p++)
		assert_int_equal(pmap_sim_write(pmap, va + p * PAGE_SIZE + 100, "dirty", 5, false), 0);
	assert_int_equal(fat_truncate(f, 3 * PAGE_SIZE + 50), 0);
	assert_int_equal(pmap_sim_read(pmap, va + 5 * PAGE_SIZE, buf, 1, false), -EFAULT);
	assert_int_equal(pmap_sim_write(pmap, va + 4 * PAGE_SIZE, buf, 1, false), -EFAULT);
	assert_int_equal(pmap_sim_read(pmap, va + 3 * PAGE_SIZE, buf, PAGE_SIZE, false), 0);
	for (unsigned b = 50; b < PAGE_SIZE; b++)
		assert_int_equal(buf[b], 0);
	assert_int_equal(fat_truncate(f, 6 * PAGE_SIZE), 0);
	assert_int_equal(pmap_sim_read(pmap, va + 5 * PAGE_SIZE, buf, PAGE_SIZE, false), 0);
	for (unsigned b = 0; b < PAGE_SIZE; b++)
		assert_int_equal(buf[b], 0);
	check_vm();
	fat_close(f);
	assert_int_equal(vm_map_free(&map, va), 0);
	unmount_img();
	fsck_clean();
	/* after a remount: the stores before the cut, zeros after it */
	mount_img();
	f = open_file(0);
	assert_int_equal(fat_size(f), 6 * PAGE_SIZE);
	for (unsigned p = 0; p < 6; p++) {
		assert_int_equal(fat_read(f, p * PAGE_SIZE, buf, PAGE_SIZE), PAGE_SIZE);
		for (unsigned b = 0; b < PAGE_SIZE; b++) {
			uint64_t off = p * PAGE_SIZE + b;
			uint8_t want = off >= 3 * PAGE_SIZE + 50 ? 0
				       : b >= 100 && b < 105 ? (uint8_t)"dirty"[b - 100]
				       : pattern(0, off);
			if (buf[b] != want)
				fail_msg("byte %llu reads %u, not %u", (unsigned long long)off, buf[b], want);
		}
	}
	fat_close(f);
	unmount_img();
	expect_pages_back();
}

/* A private mapping copies on write and never reaches the file. */
static void test_private_mapping(void **state)
{
	static const uint32_t sizes[] = {5 * PAGE_SIZE + 7};
	uint8_t buf[16];

	make_volume(16, "16M", 1, 512, sizes, 1);
	mount_img();
	struct fat_file *f = open_file(0);
	vaddr_t shared = map_file(f, sizes[0], VM_PROT_READ, true);
	vaddr_t priv = map_file(f, sizes[0], VM_PROT_RW, false);
	for (unsigned p = 0; p < 6; p++)
		assert_int_equal(pmap_sim_write(pmap, priv + p * PAGE_SIZE, "private", 7, false), 0);
	assert_int_equal(pmap_sim_read(pmap, priv + 2 * PAGE_SIZE, buf, 7, false), 0);
	assert_memory_equal(buf, "private", 7);
	assert_int_equal(pmap_sim_read(pmap, shared + 2 * PAGE_SIZE, buf, 1, false), 0);
	assert_int_equal(buf[0], pattern(0, 2 * PAGE_SIZE));
	assert_int_equal(vm_map_sync(&map, priv, 6 * PAGE_SIZE), 0);
	expect_file_pattern(f, 0, sizes[0]);
	check_vm();
	assert_int_equal(vm_map_free(&map, priv), 0);
	assert_int_equal(vm_map_free(&map, shared), 0);
	expect_file_pattern(f, 0, sizes[0]);
	fat_close(f);
	unmount_img();
	fsck_clean();
	expect_pages_back();
}

/*
 * A file fragmented into a run per cluster (two files grown in turn): its
 * extents are known after open, so backward and random reads, and page-ins
 * of pages made of 8 runs each, follow no chain link.
 */
static void test_extent_cache(void **state)
{
	static const uint32_t sizes[] = {0, 0};
	const uint32_t clusters = 256, cs = 512, size = clusters * cs;
	uint8_t *want = malloc(size), buf[PAGE_SIZE];
	uint64_t seed = 7;

	make_volume(16, "16M", 1, 512, sizes, 2);
	mount_img();
	struct fat_file *a = open_file(0), *b = open_file(1);
	for (uint32_t i = 0; i < size; i++)
		want[i] = pattern(3, i);
	for (uint32_t c = 0; c < clusters; c++) {
		assert_int_equal(fat_write(a, c * cs, want + c * cs, cs), cs);
		assert_int_equal(fat_write(b, c * cs, want, cs), cs);
	}
	fat_close(a);
	fat_close(b);
	a = open_file(0);
	assert_int_equal(a->next_ext, clusters);
	uint64_t walked = a->walked;
	for (int k = 0; k < 500; k++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t off = (uint32_t)((seed >> 33) % (size - 100));
		assert_int_equal(fat_read(a, off, buf, 100), 100);
		assert_memory_equal(buf, want + off, 100);
	}
	vaddr_t va = map_file(a, size, VM_PROT_READ, true);
	for (int p = (int)(size / PAGE_SIZE) - 1; p >= 0; p--) {
		assert_int_equal(pmap_sim_read(pmap, va + (uint64_t)p * PAGE_SIZE, buf, PAGE_SIZE, false), 0);
		assert_memory_equal(buf, want + p * PAGE_SIZE, PAGE_SIZE);
	}
	assert_int_equal(a->walked, walked);
	fat_close(a);
	assert_int_equal(vm_map_free(&map, va), 0);
	unmount_img();
	fsck_clean();
	free(want);
	expect_pages_back();
}

/* ---- the model-based random test ---- */

#define NFILES 3
#define WINDOW (2u << 20) /* each mapping's window: files grow and shrink inside it */
#define NMAPS 8
#define ANON_PAGES (2 * RAM / PAGE_SIZE)
#define PRIVATE_COPIES_MAX 48 /* private copies are anonymous memory too */
#define SWAP_PAGES (2 * ANON_PAGES)

/* The swap area the anonymous memory pages to, in memory. */
static uint8_t *swap_area;

static int swap_mem_io(void *ctx, bool write, uint64_t first, unsigned n, void *const *bufs)
{
	assert_true(first >= 1 && first + n <= SWAP_PAGES);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = swap_area + (first + i) * PAGE_SIZE;
		memcpy(write ? p : bufs[i], write ? bufs[i] : p, PAGE_SIZE);
	}
	return 0;
}

static void swap_mem_open(void)
{
	static const struct swap_dev dev = {"memswap", SWAP_PAGES, swap_mem_io, NULL};
	uint32_t info[3] = {1, SWAP_PAGES - 1, 0}; /* version, last_page, no bad pages */

	swap_area = calloc(SWAP_PAGES, PAGE_SIZE);
	memcpy(swap_area + SWAP_HEADER_INFO_OFF, info, sizeof(info));
	memcpy(swap_area + SWAP_HEADER_MAGIC_OFF, SWAP_HEADER_MAGIC, 10);
	assert_int_equal(swap_init(&dev, swap_area), 0);
}

struct model_file {
	uint8_t *data; /* WINDOW bytes, zeros past size */
	uint32_t size;
	struct fat_file *f;
};

struct model_map {
	bool used, shared;
	unsigned file;
	vaddr_t va;
	uint8_t *copy;  /* private: the copied pages, WINDOW bytes */
	bool *copied; /* private: per page */
};

static struct model_file files[NFILES];
static struct model_map maps[NMAPS];
static uint8_t anon_data[ANON_PAGES * PAGE_SIZE];
static vaddr_t anon_va;
static unsigned private_copies;
static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (rng >> 33) % n;
}

/* What a page of a mapping reads as (NULL when a touch there must fail). */
static const uint8_t *model_page(const struct model_map *m, uint64_t p)
{
	if (!m->shared && m->copied[p])
		return m->copy + p * PAGE_SIZE;
	if (p * PAGE_SIZE >= files[m->file].size)
		return NULL;
	return files[m->file].data + p * PAGE_SIZE;
}

static void model_verify_page(const struct model_map *m, uint64_t p)
{
	static uint8_t buf[PAGE_SIZE];
	const uint8_t *want = model_page(m, p);
	int err = pmap_sim_read(pmap, m->va + p * PAGE_SIZE, buf, PAGE_SIZE, false);

	if (want == NULL) {
		assert_int_equal(err, -EFAULT);
		return;
	}
	assert_int_equal(err, 0);
	if (memcmp(buf, want, PAGE_SIZE) != 0)
		fail_msg("%s mapping of F%u: page %llu differs", m->shared ? "shared" : "private",
			 m->file, (unsigned long long)p);
}

static void model_open_all(void)
{
	for (unsigned i = 0; i < NFILES; i++)
		files[i].f = open_file(i);
}

static void model_map_new(void)
{
	unsigned k = (unsigned)rnd(NMAPS);
	struct model_map *m = &maps[k];

	if (m->used)
		return;
	m->file = (unsigned)rnd(NFILES);
	m->shared = rnd(3) != 0 || private_copies >= PRIVATE_COPIES_MAX;
	m->va = map_file(files[m->file].f, WINDOW, VM_PROT_RW, m->shared);
	if (!m->shared) {
		m->copy = calloc(1, WINDOW);
		m->copied = calloc(WINDOW / PAGE_SIZE, sizeof(bool));
	}
	m->used = true;
}

static void model_unmap(struct model_map *m)
{
	assert_int_equal(vm_map_free(&map, m->va), 0);
	if (!m->shared) {
		for (unsigned p = 0; p < WINDOW / PAGE_SIZE; p++)
			private_copies -= m->copied[p];
		free(m->copy);
		free(m->copied);
	}
	m->used = false;
}

/* A store of up to a page inside the file's size through mapping m. */
static void model_store(struct model_map *m)
{
	static uint8_t buf[PAGE_SIZE];
	struct model_file *mf = &files[m->file];

	if (mf->size == 0)
		return;
	uint32_t off = (uint32_t)rnd(mf->size), len = 1 + (uint32_t)rnd(PAGE_SIZE);

	len = MIN(len, mf->size - off);
	uint64_t first = off / PAGE_SIZE, last = (off + len - 1) / PAGE_SIZE;
	if (!m->shared && private_copies + (last - first + 1) > PRIVATE_COPIES_MAX)
		return;
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd(256);
	assert_int_equal(pmap_sim_write(pmap, m->va + off, buf, len, false), 0);
	if (m->shared) {
		memcpy(mf->data + off, buf, len);
		return;
	}
	for (uint64_t p = first; p <= last; p++)
		if (!m->copied[p]) {
			memcpy(m->copy + p * PAGE_SIZE, mf->data + p * PAGE_SIZE, PAGE_SIZE);
			m->copied[p] = true;
			private_copies++;
		}
	memcpy(m->copy + off, buf, len);
}

static void model_fat_write(struct model_file *mf)
{
	static uint8_t buf[3 * PAGE_SIZE];
	uint32_t off = (uint32_t)rnd(mf->size + PAGE_SIZE), len = 1 + (uint32_t)rnd(sizeof(buf));

	if (off >= WINDOW)
		return;
	len = MIN(len, WINDOW - off);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd(256);
	assert_int_equal(fat_write(mf->f, off, buf, len), len);
	memcpy(mf->data + off, buf, len);
	mf->size = MAX(mf->size, off + len);
}

static void model_fat_read(struct model_file *mf)
{
	static uint8_t buf[3 * PAGE_SIZE];
	uint32_t off = (uint32_t)rnd(mf->size + 1);
	uint32_t len = (uint32_t)rnd(sizeof(buf));
	long want = (long)MIN(len, mf->size - off);

	assert_int_equal(fat_read(mf->f, off, buf, len), want);
	if (memcmp(buf, mf->data + off, (size_t)want) != 0)
		fail_msg("fat_read at %u differs from the model", off);
}

static void model_truncate(struct model_file *mf)
{
	uint32_t size = (uint32_t)rnd(WINDOW);

	assert_int_equal(fat_truncate(mf->f, size), 0);
	if (size < mf->size)
		memset(mf->data + size, 0, mf->size - size);
	mf->size = size;
}

static void model_anon(void)
{
	static uint8_t buf[256];
	uint32_t off = (uint32_t)rnd(sizeof(anon_data) - sizeof(buf));

	if (rnd(2)) {
		for (unsigned i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)rnd(256);
		assert_int_equal(pmap_sim_write(pmap, anon_va + off, buf, sizeof(buf), false), 0);
		memcpy(anon_data + off, buf, sizeof(buf));
	} else {
		assert_int_equal(pmap_sim_read(pmap, anon_va + off, buf, sizeof(buf), false), 0);
		assert_memory_equal(buf, anon_data + off, sizeof(buf));
	}
}

static void model_step(void)
{
	struct model_map *m = &maps[rnd(NMAPS)];
	struct model_file *mf = &files[rnd(NFILES)];
	uint64_t r = rnd(100);

	if (r < 10)
		model_map_new();
	else if (r < 45 && m->used)
		model_store(m);
	else if (r < 60 && m->used)
		model_verify_page(m, rnd(WINDOW / PAGE_SIZE));
	else if (r < 66 && m->used)
		assert_int_equal(vm_map_sync(&map, m->va, WINDOW), 0);
	else if (r < 70 && m->used)
		model_unmap(m);
	else if (r < 78)
		model_fat_write(mf);
	else if (r < 86)
		model_fat_read(mf);
	else if (r < 89)
		model_truncate(mf);
	else
		model_anon();
}

/* Every byte of every mapping and of the anonymous memory, and the checkers. */
static void model_verify_all(void)
{
	for (unsigned k = 0; k < NMAPS; k++) /* and the first page past the end of each */
		for (uint64_t p = 0; maps[k].used && p < WINDOW / PAGE_SIZE; p++) {
			model_verify_page(&maps[k], p);
			if (model_page(&maps[k], p) == NULL && p * PAGE_SIZE >= files[maps[k].file].size)
				break;
		}
	static uint8_t buf[sizeof(anon_data)];
	assert_int_equal(pmap_sim_read(pmap, anon_va, buf, sizeof(buf), false), 0);
	assert_memory_equal(buf, anon_data, sizeof(buf));
	check_vm();
	swap_pager_check();
}

/* The volume on disk, unmounted: fsck.fat clean, mtools reads the model. */
static void model_check_disk(void)
{
	fsck_clean();
	for (unsigned i = 0; i < NFILES; i++)
		mtools_expect(i, files[i].data, files[i].size);
}

static void model_run(int type, const char *vsize, int spc, uint32_t sector, int batches,
		      int steps)
{
	static const uint32_t sizes[NFILES] = {1500000, 4096, 0};

	make_volume(type, vsize, spc, sector, sizes, NFILES);
	for (unsigned i = 0; i < NFILES; i++) {
		files[i].data = calloc(1, WINDOW);
		files[i].size = sizes[i];
		for (uint32_t b = 0; b < sizes[i]; b++)
			files[i].data[b] = pattern(i, b);
	}
	memset(anon_data, 0, sizeof(anon_data));
	swap_mem_open();
	/* pageable, unlike vm_map_allocate's wired memory */
	struct vm_object *anon = vm_object_allocate(sizeof(anon_data));
	assert_int_equal(vm_map_insert_object(&map, anon, 0, sizeof(anon_data), VM_PROT_RW, 0,
					      &anon_va),
			 0);
	vm_object_deallocate(anon);
	struct vm_counters before = vm_cnt;
	struct swap_stats ss;
	mount_img();
	model_open_all();
	for (int batch = 0; batch < batches; batch++) {
		for (int s = 0; s < steps; s++)
			model_step();
		model_verify_all();
		for (unsigned i = 0; i < NFILES; i++)
			fat_close(files[i].f);
		if (batch % 2 == 0) {
			/* as at a clean exit: the volume goes while mappings hold files,
			 * which still read through it (the device stays) */
			assert_int_equal(fat_unmount(vol), 0);
			model_check_disk();
			model_verify_all();
			for (unsigned k = 0; k < NMAPS; k++)
				if (maps[k].used)
					model_unmap(&maps[k]);
			blk_file_close(&host);
		} else {
			for (unsigned k = 0; k < NMAPS; k++)
				if (maps[k].used)
					model_unmap(&maps[k]);
			unmount_img();
			model_check_disk();
		}
		mount_img();
		model_open_all();
	}
	for (unsigned i = 0; i < NFILES; i++) {
		fat_close(files[i].f);
		free(files[i].data);
	}
	unmount_img();
	/* memory pressure paged file pages out and in, and anonymous memory
	 * out to swap and back */
	swap_pager_stats(&ss);
	assert_true(ss.pages_written >= ANON_PAGES && ss.pages_read >= ANON_PAGES);
	swap_pager_check();
	assert_int_equal(vm_map_free(&map, anon_va), 0);
	assert_true(vm_cnt.pageouts > before.pageouts + ss.pages_written);
	assert_true(vm_cnt.reclaimed > before.reclaimed);
	swap_pager_stats(&ss);
	assert_int_equal(ss.slots_used, 0);
	swap_shutdown();
	free(swap_area);
	expect_pages_back();
}

static void test_model_fat16_small_clusters(void **state)
{
	rng = 1;
	model_run(16, "16M", 1, 512, 6, 3000);
}

static void test_model_fat32_page_clusters(void **state)
{
	rng = 2;
	model_run(32, "300M", 8, 512, 6, 3000);
}

static void test_model_4k_sectors(void **state)
{
	rng = 3;
	model_run(16, "64M", 1, 4096, 4, 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_ahead),
		cmocka_unit_test(test_write_back),
		cmocka_unit_test(test_write_kept_by_device),
		cmocka_unit_test(test_unmount_under_mapping),
		cmocka_unit_test(test_coherence),
		cmocka_unit_test(test_truncate_under_mapping),
		cmocka_unit_test(test_private_mapping),
		cmocka_unit_test(test_extent_cache),
		cmocka_unit_test(test_model_fat16_small_clusters),
		cmocka_unit_test(test_model_fat32_page_clusters),
		cmocka_unit_test(test_model_4k_sectors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
