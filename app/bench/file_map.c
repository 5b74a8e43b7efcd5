/*
 * file_map_read and file_map_write: a file on the files partition
 * (/phobos/bench.bin, bench_file bytes, 64 MiB by default), mapped shared.
 *
 * file_map_read touches each page once over a cold cache, three times:
 * in order, along the walk p -> 5p + 15 mod pages (full period for a
 * power-of-two page count: 5 - 1 is a multiple of 4 and 15 is odd; it
 * keeps some locality), and in a uniformly random permutation.  Pages per
 * second and pages read for each.
 *
 * file_map_write fills every page of a writable shared mapping with
 * version 2 of the page pattern (bench_page_fill), then syncs: MiB per
 * second to the disk, sync included.  The pages are then read back over a
 * cold cache and checked, and the host checks the file after the run.
 */
#include "app/bench/bench.h"

#define FILE_MAP_PATH "/phobos/bench.bin"

/* Fills every page of a shared writable mapping of the file with version
 * `version` of the page pattern, then syncs it. */
static int file_map_fill(long fd, uint64_t size, uint64_t version, const char *stage)
{
	uint64_t pages = size / BENCH_PAGE;
	uint8_t *map = os_map(fd, size, true);

	if (map == NULL)
		return -BENCH_ENOMEM;
	bench_progress_begin(stage);
	for (uint64_t p = 0; p < pages; p++) {
		bench_page_fill(map + p * BENCH_PAGE, p, version);
		bench_progress(p, pages);
	}
	bench_progress_end();
	int err = os_sync(map, size);
	os_unmap(map, size);
	return err;
}

/* Creates the file with version 1 of the pattern unless it has the size:
 * one write at its end gives it the size (the system allocates it in one
 * go), then a mapping fills it, as a program making a big file would. */
static int file_map_prepare(uint64_t size)
{
	if (!os_have_files())
		return -BENCH_ENODEV;
	int err = os_mkdir("/phobos");
	if (err < 0)
		return err;
	long fd = os_open(FILE_MAP_PATH, false);
	if (fd >= 0 && os_size(fd) == (long)size) {
		os_close(fd);
		return 0;
	}
	if (fd >= 0)
		os_close(fd);
	bench_printf("bench: making %s (%llu MiB), once: later runs find it\n", FILE_MAP_PATH,
		     (unsigned long long)(size >> 20));
	if ((fd = os_open(FILE_MAP_PATH, true)) < 0)
		return (int)fd;
	uint8_t *page = os_block(BENCH_PAGE);
	if (page == NULL) {
		os_close(fd);
		return -BENCH_ENOMEM;
	}
	bench_page_fill(page, size / BENCH_PAGE - 1, 1);
	if (os_pwrite(fd, page, BENCH_PAGE, size - BENCH_PAGE) != (long)BENCH_PAGE)
		err = -BENCH_EIO;
	os_block_free(page, BENCH_PAGE);
	if (err == 0)
		err = file_map_fill(fd, size, 1, "making the file");
	os_close(fd);
	return err;
}

static uint64_t file_map_size(void)
{
	uint64_t s = BENCH_PAGE;

	while (s * 2 <= bench_opts.file_size)
		s *= 2;
	return s;
}

enum file_map_order { FILE_MAP_SEQ, FILE_MAP_WALK, FILE_MAP_RAND };

static int file_map_pass(enum file_map_order order, uint64_t size, const uint32_t *perm)
{
	static const char *const names[] = {"seq", "walk", "rand"};
	uint64_t pages = size / BENCH_PAGE, bad = 0;
	char metric[32];

	int err = os_drop_cache(FILE_MAP_PATH);
	long fd = err < 0 ? err : os_open(FILE_MAP_PATH, false);
	if (fd < 0)
		return (int)fd;
	const volatile uint64_t *map = os_map(fd, size, false);
	if (map == NULL) {
		os_close(fd);
		return -BENCH_ENOMEM;
	}
	/* a reader that knows its order says so; the walk leaves it to the
	 * kernel to find its locality */
	if (order != FILE_MAP_WALK &&
	    (err = os_advise((void *)map, size,
			     order == FILE_MAP_SEQ ? OS_ADVICE_SEQUENTIAL : OS_ADVICE_RANDOM)) < 0)
		bench_printf("file_map_read: advice refused: %d\n", err);
	struct os_counters before, after;
	os_counters(&before);
	bench_progress_begin(names[order]);
	uint64_t start = os_tsc();
	for (uint64_t i = 0, p = 0; i < pages; i++) {
		p = order == FILE_MAP_SEQ ? i : order == FILE_MAP_WALK ? (5 * p + 15) % pages : perm[i];
		bad += map[p * (BENCH_PAGE / 8)] >> 16 != p;
		if ((i & 255) == 0)
			bench_progress(i, pages);
	}
	uint64_t ticks = os_tsc() - start;
	os_counters(&after);
	os_unmap((void *)map, size);
	os_close(fd);
	bench_snprintf(metric, sizeof(metric), "%s_pages_per_s", names[order]);
	bench_result("file_map_read", metric, bench_rate(pages, ticks), "1/s");
	bench_snprintf(metric, sizeof(metric), "%s_pages_read", names[order]);
	bench_result("file_map_read", metric, (after.pages_read - before.pages_read) * 1000, "pages");
	bench_snprintf(metric, sizeof(metric), "%s_faults_major", names[order]);
	bench_result("file_map_read", metric, (after.faults_major - before.faults_major) * 1000,
		     "faults");
	bench_snprintf(metric, sizeof(metric), "%s_bad_pages", names[order]);
	bench_result("file_map_read", metric, bad * 1000, "pages");
	return bad ? -BENCH_EIO : 0;
}

/* The file made ready for a workload: 0, 1 skipped, or an error. */
static int file_map_ready(const char *bench, uint64_t size)
{
	int err = file_map_prepare(size);

	return err == -BENCH_ENODEV ? bench_skip(bench, "no files partition") : err;
}

int bench_file_map_read(void)
{
	uint64_t size = file_map_size(), pages = size / BENCH_PAGE;
	int err = file_map_ready("file_map_read", size);

	if (err != 0)
		return err;
	uint32_t *perm = os_block(pages * sizeof(*perm));
	if (perm == NULL)
		return -BENCH_ENOMEM;
	struct bench_rng rng;
	bench_rng_seed(&rng, 3);
	bench_permutation(&rng, perm, (uint32_t)pages);
	bench_result("file_map_read", "pages", pages * 1000, "pages");
	for (int o = FILE_MAP_SEQ; o <= FILE_MAP_RAND && err == 0; o++)
		err = file_map_pass((enum file_map_order)o, size, perm);
	os_block_free(perm, pages * sizeof(*perm));
	return err;
}

static int file_map_check(uint64_t size)
{
	uint64_t pages = size / BENCH_PAGE, bad = 0;
	int err = os_drop_cache(FILE_MAP_PATH);
	long fd = err < 0 ? err : os_open(FILE_MAP_PATH, false);

	if (fd < 0)
		return (int)fd;
	const uint8_t *map = os_map(fd, size, false);
	if (map == NULL) {
		os_close(fd);
		return -BENCH_ENOMEM;
	}
	bench_progress_begin("checking");
	for (uint64_t p = 0; p < pages; p++) {
		bad += !bench_page_check(map + p * BENCH_PAGE, p, 2);
		bench_progress(p, pages);
	}
	os_unmap((void *)map, size);
	os_close(fd);
	bench_result("file_map_write", "bad_pages", bad * 1000, "pages");
	return bad ? -BENCH_EIO : 0;
}

int bench_file_map_write(void)
{
	uint64_t size = file_map_size(), pages = size / BENCH_PAGE;
	int err = file_map_ready("file_map_write", size);

	if (err != 0 || (err = os_drop_cache(FILE_MAP_PATH)) < 0)
		return err;
	long fd = os_open(FILE_MAP_PATH, false);
	if (fd < 0)
		return (int)fd;
	struct os_counters before;
	os_counters(&before);
	uint64_t start = os_tsc();
	err = file_map_fill(fd, size, 2, "stores");
	uint64_t ticks = os_tsc() - start;
	os_close(fd);
	if (err < 0)
		return err;
	bench_counters_report("file_map_write", &before);
	bench_result("file_map_write", "pages", pages * 1000, "pages");
	bench_result("file_map_write", "mib_per_s", bench_rate(size, ticks) / BENCH_MIB, "MiB/s");
	return file_map_check(size);
}
