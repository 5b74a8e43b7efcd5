/*
 * swap_ws: a working set twice the memory the workloads are sized from,
 * written whole (version 0 of every page), then as many random touches as
 * there are pages (half rewrite a page whole with its next version, half
 * read a page whole and check it), then read whole and checked.  Touches
 * per second over the random phase; pages read and written over all
 * three; bad pages (any word wrong, ever) must be 0.
 */
#include "app/bench/bench.h"

static uint64_t swap_ws_bad;

static void swap_ws_check(const uint8_t *page, uint64_t p, uint64_t version)
{
	swap_ws_bad += !bench_page_check(page, p, version);
}

int bench_swap_ws(void)
{
	if (!os_have_swap())
		return bench_skip("swap_ws", "no swap partition");
	uint64_t size = 2 * bench_opts.mem, pages = size / BENCH_PAGE;
	uint8_t *ws = os_block(size);
	uint16_t *version = os_block(pages * sizeof(*version));
	if (ws == NULL || version == NULL) {
		if (ws != NULL)
			os_block_free(ws, size);
		if (version != NULL)
			os_block_free(version, pages * sizeof(*version));
		return -BENCH_ENOMEM;
	}
	struct os_counters before;
	struct bench_rng rng;
	bench_rng_seed(&rng, 1);
	swap_ws_bad = 0;
	os_counters(&before);
	bench_progress_begin("writing the working set");
	for (uint64_t p = 0; p < pages; p++) {
		version[p] = 0;
		bench_page_fill(ws + p * BENCH_PAGE, p, 0);
		bench_progress(p, pages);
	}
	bench_progress_begin("random touches");
	uint64_t start = os_tsc();
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t r = bench_rng_next(&rng), p = (r >> 16) % pages;
		if (r & 1)
			bench_page_fill(ws + p * BENCH_PAGE, p, ++version[p]);
		else
			swap_ws_check(ws + p * BENCH_PAGE, p, version[p]);
		bench_progress(i, pages);
	}
	uint64_t ticks = os_tsc() - start;
	bench_progress_begin("reading the working set");
	for (uint64_t p = 0; p < pages; p++) {
		swap_ws_check(ws + p * BENCH_PAGE, p, version[p]);
		bench_progress(p, pages);
	}
	bench_counters_report("swap_ws", &before);
	bench_result("swap_ws", "ws_mib", (size >> 20) * 1000, "MiB");
	bench_result("swap_ws", "touches_per_s", bench_rate(pages, ticks), "1/s");
	bench_result("swap_ws", "bad_pages", swap_ws_bad * 1000, "pages");
	os_block_free(ws, size);
	os_block_free(version, pages * sizeof(*version));
	return swap_ws_bad ? -BENCH_EIO : 0;
}
