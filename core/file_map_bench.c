/*
 * file_map_read (bench=file_map_read, on request: the host must put the
 * file there): first touches of a 64 MiB file mapping on the files
 * partition, in order and at random, each over a cold mapping (the file's
 * object is gone between the two, so every page comes from the disk).
 * Pages per second, and the reads the pager issued (read-ahead makes them
 * fewer than the pages).
 */
#include "core/dev/storage.h"
#include "core/kbench.h"
#include "core/mm/vm_pageout.h"
#include "fs/fat_pager.h"

#define FMB_FILE "/file map bench.bin"

/* One pass over the file's pages, in order or in a random permutation. */
static int fmb_pass(const char *metric, bool random)
{
	struct vm_map *map = vm_map_kernel();
	struct fat_file *f;
	vaddr_t va;
	int err = fat_open(storage.vol, FMB_FILE, 0, &f);

	if (err < 0)
		return err;
	uint64_t size = ALIGN_DOWN((uint64_t)fat_size(f), PAGE_SIZE), pages = size / PAGE_SIZE;
	err = size == 0 ? -EINVAL : fat_map(map, f, 0, size, VM_PROT_READ, true, 0, &va);
	fat_close(f); /* the mapping holds the file */
	if (err < 0)
		return err;
	uint64_t faults = vm_cnt.faults_major, seed = 7, sum = 0, start = clock_us();
	/* a full-period walk: p -> (p * a + c) mod pages with a - 1 a multiple
	 * of 4 and c odd covers every page once when pages is a power of two */
	for (uint64_t i = 0, p = 0; i < pages; i++) {
		p = random ? (p * 5 + 2 * seed + 1) % pages : i;
		sum += *(volatile uint64_t *)(va + p * PAGE_SIZE);
	}
	uint64_t us = clock_us() - start;
	vm_map_free(map, va);
	if (us == 0)
		return -EIO;
	kbench_result("file_map_read", metric, pages * 1000000ull * 1000 / us, "pages/s");
	kprintf("# file_map_read %s: %llu pages, %llu major faults, checksum %llx\n", metric,
		(unsigned long long)pages, (unsigned long long)(vm_cnt.faults_major - faults),
		(unsigned long long)sum);
	return 0;
}

KBENCH_DEFINE(file_map_read, KBENCH_ON_REQUEST)
{
	if (storage.vol == NULL)
		return -ENODEV;
	int err = fmb_pass("seq_pages_per_s", false);
	return err < 0 ? err : fmb_pass("rand_pages_per_s", true);
}
