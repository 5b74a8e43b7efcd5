/*
 * file_map (selftest=file_map): a file mapping on the real file volume,
 * larger than half of mem=64M.  The host puts FM_FILE there holding
 * pattern A (test/qemu/scenarios.py, scenario_file_map); the test maps it
 * shared and writable in the kernel map, checks pages of pattern A read
 * through real page faults, stores pattern B over every word, syncs part
 * of it, checks fat_read sees the stores and that every word reads back
 * (pages went out and came back under memory pressure), and unmaps: the
 * last reference writes the rest back.  After QEMU exits the host
 * compares the file's SHA-256 with pattern B's and runs fsck.fat -n.
 */
#include "core/dev/storage.h"
#include "core/ktest.h"
#include "core/mm/vm_pageout.h"
#include "fs/fat_pager.h"

#define FM_FILE "/file map test.bin"
#define FM_SIZE (32u << 20)
#define FM_KEY 0x46494c454d415000ull /* "FILEMAP" */

/* The word at byte offset o of pattern A (the host's) or B (the test's). */
static uint64_t fm_word(uint64_t o, bool b)
{
	return b ? (o * 0x9e3779b97f4a7c15ull) ^ (FM_KEY | 'B') : o ^ (FM_KEY | 'A');
}

/* Every word of [off, off + len) through the mapping: how many differ. */
static uint64_t fm_mismatches(const volatile uint64_t *w, uint64_t off, uint64_t len, bool b)
{
	uint64_t bad = 0;

	for (uint64_t o = off; o < off + len; o += 8)
		bad += w[o / 8] != fm_word(o, b);
	return bad;
}

KTEST_DEFINE(file_map, KTEST_ON_REQUEST)
{
	struct vm_map *map = vm_map_kernel();
	struct fat_file *f;
	vaddr_t va;
	uint64_t word, pageouts = vm_cnt.pageouts;

	KTEST_ASSERT(storage.vol != NULL);
	if (storage.vol == NULL)
		return;
	KTEST_EQ(fat_open(storage.vol, FM_FILE, 0, &f), 0);
	if (f == NULL)
		return;
	KTEST_EQ(fat_size(f), FM_SIZE);
	KTEST_EQ(fat_map(map, f, 0, FM_SIZE, VM_PROT_RW, true, 0, &va), 0);
	volatile uint64_t *w = (volatile uint64_t *)va;
	for (uint64_t off = 0; off < FM_SIZE; off += 1 << 20) /* read faults: the host's bytes */
		KTEST_EQ(fm_mismatches(w, off, PAGE_SIZE, false), 0);
	for (uint64_t o = 0; o < FM_SIZE; o += 8)
		w[o / 8] = fm_word(o, true);
	KTEST_EQ(vm_map_sync(map, va + (4u << 20), 8u << 20), 0);
	KTEST_EQ(fat_read(f, 12345 * 8, &word, 8), 8); /* the mapping's bytes, on disk or not */
	KTEST_EQ(word, fm_word(12345 * 8, true));
	KTEST_EQ(fat_read(f, FM_SIZE - 8, &word, 8), 8);
	KTEST_EQ(word, fm_word(FM_SIZE - 8, true));
	KTEST_EQ(fm_mismatches(w, 0, FM_SIZE, true), 0);
	KTEST_EQ(vm_map_free(map, va), 0); /* the last reference writes the rest back */
	fat_close(f);
	kprintf("# file_map: %llu pages written back by page-out, sync and unmap\n",
		(unsigned long long)(vm_cnt.pageouts - pageouts));
}
