/*
 * tick: what the system's timer interrupts take from a program that never
 * calls it.  The TSC is read in a tight loop for two seconds; a gap well
 * above the loop's own step is time spent elsewhere (an interrupt, on
 * Phobos the app's timer tick, on Linux its scheduler tick too).  Figures:
 * gaps per second, the median gap, and the share of time lost (percent),
 * so a benchmark figure's reader knows how much of it the tick can explain.
 */
#include "app/bench/bench.h"

#define TICK_GAPS 4096

int bench_tick(void)
{
	uint64_t hz = os_tsc_hz(), span = 2 * hz, step = ~0ull, lost = 0, n = 0;
	uint32_t *gaps = os_block(TICK_GAPS * sizeof(*gaps));

	if (gaps == NULL)
		return -BENCH_ENOMEM;
	/* the loop's own step first: the least of a million reads */
	for (int i = 0; i < 1000000; i++) {
		uint64_t a = os_tsc(), b = os_tsc();
		step = b - a < step ? b - a : step;
	}
	/* a gap is anything over 50 steps and 2 microseconds: far above the
	 * loop, far below any interrupt's entry and return */
	uint64_t floor = 50 * step > hz / 500000 ? 50 * step : hz / 500000;
	uint64_t start = os_tsc(), prev = start;
	while (prev - start < span) {
		uint64_t now = os_tsc();
		if (now - prev > floor) {
			lost += now - prev;
			if (n < TICK_GAPS)
				gaps[n] = (uint32_t)(now - prev > 0xffffffffu ? 0xffffffffu : now - prev);
			n++;
		}
		prev = now;
	}
	uint64_t total = prev - start, kept = n < TICK_GAPS ? n : TICK_GAPS;
	bench_sort(gaps, kept);
	bench_result("tick", "gaps_per_s", bench_rate(n, total), "1/s");
	bench_result("tick", "gap_median_ns", kept ? bench_ns(gaps[kept / 2]) * 1000 : 0, "ns");
	/* lost / total as a percentage, in milli */
	bench_result("tick", "lost_pct", bench_muldiv(lost, 100000, total), "%");
	os_block_free(gaps, TICK_GAPS * sizeof(*gaps));
	return 0;
}
