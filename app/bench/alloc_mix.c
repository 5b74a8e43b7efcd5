/*
 * alloc_mix: the small-object mix of test/bench/alloc_mix.h through the
 * system's malloc: 1024 live blocks, each step frees one slot and
 * allocates into it again, sizes log-uniform in [16, 1024] (not only
 * powers of two).  The sequence is drawn before the clock starts, so only
 * the allocator is timed.  Operations (a free and a malloc are two) per
 * second, and the most memory the allocator held.
 */
#include "app/bench/bench.h"

#define ALLOC_MIX_LIVE 1024
#define ALLOC_MIX_STEPS (1u << 20)

int bench_alloc_mix(void)
{
	static void *live[ALLOC_MIX_LIVE];
	/* outside the allocator, so its peak is the mix's alone */
	uint32_t *steps = os_block(ALLOC_MIX_STEPS * sizeof(*steps));
	struct bench_rng rng;

	if (steps == NULL)
		return -BENCH_ENOMEM;
	bench_rng_seed(&rng, 11);
	for (uint32_t i = 0; i < ALLOC_MIX_STEPS; i++) {
		uint64_t r = bench_rng_next(&rng);
		uint32_t s = 16u << (r % 7); /* 16 .. 1024, then spread within the octave */
		s += (uint32_t)((r >> 8) % s);
		s = s > 1024 ? 1024 : s;
		/* a step packs its slot (10 bits) above its size (11 bits) */
		steps[i] = (uint32_t)((r >> 24) % ALLOC_MIX_LIVE) << 11 | s;
	}
	os_heap_peak_reset();
	for (int i = 0; i < ALLOC_MIX_LIVE; i++)
		live[i] = os_malloc(16);
	uint64_t start = os_tsc();
	for (uint32_t i = 0; i < ALLOC_MIX_STEPS; i++) {
		uint32_t slot = steps[i] >> 11, size = steps[i] & 2047;
		os_free(live[slot]);
		live[slot] = os_malloc(size);
		if (live[slot] == NULL)
			return -BENCH_ENOMEM;
		*(volatile uint8_t *)live[slot] = (uint8_t)i;
	}
	uint64_t ticks = os_tsc() - start;
	for (int i = 0; i < ALLOC_MIX_LIVE; i++)
		os_free(live[i]);
	os_block_free(steps, ALLOC_MIX_STEPS * sizeof(*steps));
	bench_result("alloc_mix", "ops_per_s", bench_rate(2ull * ALLOC_MIX_STEPS, ticks), "1/s");
	bench_result("alloc_mix", "peak_heap_kib", os_heap_peak() / 1024 * 1000, "KiB");
	return 0;
}
