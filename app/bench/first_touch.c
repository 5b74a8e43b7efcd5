/*
 * first_touch: one store to each page of a fresh block (64 MiB, or the
 * file size option; at most half of free memory), each a trap the system
 * serves with a zeroed page.  Pages per second over the whole block, and
 * the latency of each touch (TSC around the store) as percentiles.
 *
 * pf_floor, in the same run: what one such fault cannot cost less than,
 * composed from its parts measured in user mode: a trap that returns at
 * once (os_null_trap), zeroing one page with 8-byte stores, and one
 * 8-byte store standing for the page-table entry.  The page zeroed is one
 * of the block, already mapped: the host's own first touch of guest RAM,
 * which under emulation the real fault pays inside its zeroing, is not
 * in the floor.
 */
#include "app/bench/bench.h"

static const struct {
	const char *metric;
	unsigned per_mille;
} first_touch_pct[] = {
	{"latency_p1_ns", 10},   {"latency_p10_ns", 100}, {"latency_p25_ns", 250},
	{"latency_p50_ns", 500}, {"latency_p75_ns", 750}, {"latency_p90_ns", 900},
	{"latency_p99_ns", 990}, {"latency_p999_ns", 999},
};

static void first_touch_floor(volatile uint8_t *block, uint64_t pages)
{
	volatile uint64_t pte;
	uint64_t start = os_tsc();

	for (uint64_t i = 0; i < pages; i++) {
		volatile uint64_t *p = (volatile uint64_t *)(block + i * BENCH_PAGE);
		os_null_trap();
		for (unsigned w = 0; w < BENCH_PAGE / 8; w++)
			p[w] = 0;
		pte = i;
	}
	(void)pte;
	bench_result("pf_floor", "faults_per_s", bench_rate(pages, os_tsc() - start), "1/s");
}

int bench_first_touch(void)
{
	uint64_t size = bench_opts.file_size, half = os_mem_free() / 2 & ~(BENCH_MIB - 1);

	if (size > half)
		size = half;
	uint64_t pages = size / BENCH_PAGE;
	if (pages < 16)
		return bench_skip("first_touch", "less than 32 pages free");
	uint32_t *lat = os_block(pages * sizeof(*lat));
	volatile uint8_t *block = os_block(size);
	if (lat == NULL || block == NULL) {
		if (lat != NULL)
			os_block_free(lat, pages * sizeof(*lat));
		if (block != NULL)
			os_block_free((void *)block, size);
		return -BENCH_ENOMEM;
	}
	for (uint64_t i = 0; i < pages; i++)
		lat[i] = 0; /* the latency array's own first touches stay out of the figure */
	struct os_counters before;
	os_counters(&before);
	uint64_t start = os_tsc();
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t t = os_tsc();
		block[i * BENCH_PAGE] = 1;
		uint64_t d = os_tsc() - t;
		lat[i] = d > 0xffffffffu ? 0xffffffffu : (uint32_t)d;
	}
	uint64_t ticks = os_tsc() - start;
	bench_counters_report("first_touch", &before);
	bench_result("first_touch", "pages", pages * 1000, "pages");
	bench_result("first_touch", "pages_per_s", bench_rate(pages, ticks), "1/s");
	bench_sort(lat, pages);
	for (size_t i = 0; i < sizeof(first_touch_pct) / sizeof(first_touch_pct[0]); i++)
		bench_result("first_touch", first_touch_pct[i].metric,
			     bench_ns(lat[pages * first_touch_pct[i].per_mille / 1000]) * 1000, "ns");
	int bad = 0;
	for (uint64_t i = 0; i < pages; i++)
		bad += block[i * BENCH_PAGE] != 1 || block[i * BENCH_PAGE + 1] != 0;
	first_touch_floor(block, pages);
	os_block_free((void *)block, size);
	os_block_free(lat, pages * sizeof(*lat));
	bench_result("first_touch", "bad_pages", (uint64_t)bad * 1000, "pages");
	return bad ? -BENCH_EIO : 0;
}
