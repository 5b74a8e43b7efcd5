/*
 * replacement: how many pages three reference strings make the system read
 * back, with M the pages the workloads are sized from:
 *   loop  a block of 1.25 M pages written once, then read in order three
 *         times (LRU misses on every reference; OPT keeps most of M);
 *   zipf  a block of 2 M pages written once, then 8 M draws of Zipf(1)
 *         over its pages (rank r drawn with weight 1/r, ranks scattered
 *         over the block by a random permutation);
 *   scan  a hot set of M/2 pages written and read twice, then one scan of
 *         4 M fresh pages (each written once) with a read of the hot set
 *         after every second scan page: the hot set should survive the scan.
 * Pages read are counted from the end of each string's set-up.  With
 * trace=1 each string is printed for test/bench/trace_replay.
 */
#include "app/bench/bench.h"

static uint64_t replacement_bad;

static void replacement_write(uint8_t *block, uint64_t p)
{
	bench_trace_ref(p);
	*(volatile uint64_t *)(block + p * BENCH_PAGE) = p << 16;
}

static void replacement_read(const uint8_t *block, uint64_t p)
{
	bench_trace_ref(p);
	replacement_bad += *(const volatile uint64_t *)(block + p * BENCH_PAGE) != p << 16;
}

/* Runs one string: its first `written` pages are written, then refs() is
 * what is counted. */
static int replacement_string(const char *name, uint64_t pages, uint64_t written,
			      void (*refs)(uint8_t *block, uint64_t pages, void *ctx), void *ctx)
{
	uint64_t frames = bench_opts.mem / BENCH_PAGE, size = pages * BENCH_PAGE;
	uint8_t *block = os_block(size);
	char metric[32];

	if (block == NULL)
		return -BENCH_ENOMEM;
	bench_trace_begin(name, pages, frames);
	bench_progress_begin(name);
	struct os_counters before, after;
	for (uint64_t p = 0; p < written; p++)
		replacement_write(block, p);
	os_counters(&before);
	refs(block, pages, ctx);
	os_counters(&after);
	bench_trace_end();
	os_block_free(block, size);
	bench_snprintf(metric, sizeof(metric), "%s_pages", name);
	bench_result("replacement", metric, pages * 1000, "pages");
	bench_snprintf(metric, sizeof(metric), "%s_pages_read", name);
	bench_result("replacement", metric, (after.pages_read - before.pages_read) * 1000, "pages");
	bench_snprintf(metric, sizeof(metric), "%s_faults_major", name);
	bench_result("replacement", metric, (after.faults_major - before.faults_major) * 1000,
		     "faults");
	return 0;
}

static void replacement_loop(uint8_t *block, uint64_t pages, void *ctx)
{
	(void)ctx;
	for (uint64_t i = 0; i < 3 * pages; i++) {
		replacement_read(block, i % pages);
		bench_progress(i, 3 * pages);
	}
}

static void replacement_zipf(uint8_t *block, uint64_t pages, void *ctx)
{
	const uint64_t *cum = ctx; /* cum[r]: the weights of ranks 0..r; then the permutation */
	const uint32_t *perm = (const uint32_t *)(cum + pages);
	uint64_t draws = 4 * pages;
	struct bench_rng rng;

	bench_rng_seed(&rng, 5);
	for (uint64_t i = 0; i < draws; i++) {
		uint64_t x = bench_rng_next(&rng) % cum[pages - 1], lo = 0, hi = pages - 1;
		while (lo < hi) {
			uint64_t mid = (lo + hi) / 2;
			if (cum[mid] > x)
				hi = mid;
			else
				lo = mid + 1;
		}
		replacement_read(block, perm[lo]);
		bench_progress(i, draws);
	}
}

/* the first half of the block is the hot set, the rest the scan */
static void replacement_scan(uint8_t *block, uint64_t pages, void *ctx)
{
	uint64_t hot = *(const uint64_t *)ctx, scan = pages - hot;

	for (uint64_t i = 0; i < 2 * hot; i++)
		replacement_read(block, i % hot);
	/* a hot read after every second scan page: between two reads of one
	 * hot page pass M/2 hot and M scan pages, more than memory, so recency
	 * alone (LRU) loses the hot set and only a scan-resistant policy
	 * keeps it */
	for (uint64_t i = 0; i < scan; i++) {
		replacement_write(block, hot + i);
		if (i & 1)
			replacement_read(block, i / 2 % hot);
		bench_progress(i, scan);
	}
}

int bench_replacement(void)
{
	if (!os_have_swap())
		return bench_skip("replacement", "no swap partition");
	uint64_t m = bench_opts.mem / BENCH_PAGE, zipf = 2 * m;
	/* the scan's string holds 4.5 M pages, what memory cannot hold of
	 * them in swap: with less swap than that, M shrinks to fit (said, and
	 * in the figures as the strings' sizes) */
	uint64_t fit = (os_swap_free() / BENCH_PAGE * 4 / 5 + os_mem_free() / BENCH_PAGE / 2) * 2 / 9;
	if (m > fit) {
		m = fit;
		zipf = 2 * m;
		bench_printf("bench: replacement sized from %llu MiB to fit the swap partition\n",
			     (unsigned long long)(m * BENCH_PAGE >> 20));
	}
	replacement_bad = 0;
	int err = replacement_string("loop", m + m / 4, m + m / 4, replacement_loop, NULL);
	if (err < 0)
		return err;

	uint64_t ctx_size = zipf * (sizeof(uint64_t) + sizeof(uint32_t));
	uint64_t *cum = os_block(ctx_size);
	if (cum == NULL)
		return -BENCH_ENOMEM;
	struct bench_rng rng;
	bench_rng_seed(&rng, 4);
	/* weight of rank r is 2^40 / (r + 1): Zipf(1) in integers, the sum
	 * (2^40 ln zipf) far from overflow */
	for (uint64_t r = 0, sum = 0; r < zipf; r++)
		cum[r] = sum += (1ull << 40) / (r + 1);
	bench_permutation(&rng, (uint32_t *)(cum + zipf), (uint32_t)zipf);
	err = replacement_string("zipf", zipf, zipf, replacement_zipf, cum);
	os_block_free(cum, ctx_size);
	if (err < 0)
		return err;

	uint64_t hot = m / 2;
	err = replacement_string("scan", hot + 4 * m, hot, replacement_scan, &hot);
	if (err < 0)
		return err;
	bench_result("replacement", "bad_pages", replacement_bad * 1000, "pages");
	return replacement_bad ? -BENCH_EIO : 0;
}
