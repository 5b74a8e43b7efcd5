/* The replays of test/bench/trace_replay on strings whose answers are known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <cmocka.h>

#include "test/bench/replay.h"

/* Belady's string: 10 faults for LRU and 7 for OPT with 3 frames, of
 * which 5 are first touches (not counted). */
static void test_belady_string(void **state)
{
	static const uint64_t refs[] = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};

	assert_int_equal(replay_lru(refs, 12, 6, 3), 10 - 5);
	assert_int_equal(replay_opt(refs, 12, 6, 3), 7 - 5);
	assert_int_equal(replay_lru(refs, 12, 6, 5), 0);
	assert_int_equal(replay_opt(refs, 12, 6, 5), 0);
}

/* A loop one page larger than memory: LRU misses every time, OPT about
 * once per frame-sized stretch. */
static void test_loop(void **state)
{
	uint64_t refs[5 * 11];

	for (int i = 0; i < 55; i++)
		refs[i] = (uint64_t)(i % 11);
	assert_int_equal(replay_lru(refs, 55, 11, 10), 44);
	long opt = replay_opt(refs, 55, 11, 10);
	assert_true(opt >= 4 && opt <= 5);
}

/* OPT never loses to LRU, on random strings of every size. */
static void test_opt_bounds_lru(void **state)
{
	uint64_t refs[4000];

	srand(3);
	for (int t = 0; t < 50; t++) {
		uint64_t pages = 2 + (uint64_t)(rand() % 60), frames = 1 + (uint64_t)(rand() % 40);
		for (int i = 0; i < 4000; i++)
			refs[i] = (uint64_t)rand() % pages;
		assert_true(replay_opt(refs, 4000, pages, frames) <= replay_lru(refs, 4000, pages, frames));
	}
}

/*
 * Issue 15's three traces, with FRAMES frames; only misses on pages seen
 * before count.  The goals: CLOCK-Pro within 1.2 times OPT on a loop over
 * 1.25 times the frames and on a hot set of half the frames interleaved
 * with one scan of four times the frames, and within 1.2 times A0 on a
 * Zipf(1) draw over twice the frames.
 */
#define FRAMES 1000
#define TRACE_LEN 200000

static uint64_t trace[TRACE_LEN];

static void report(const char *name, uint64_t npages)
{
	printf("# %s: LRU %ld, OPT %ld, A0 %ld, LIRS %ld, CLOCK-Pro %ld\n", name,
	       replay_lru(trace, TRACE_LEN, npages, FRAMES), replay_opt(trace, TRACE_LEN, npages, FRAMES),
	       replay_a0(trace, TRACE_LEN, npages, FRAMES),
	       replay_lirs(trace, TRACE_LEN, npages, FRAMES),
	       replay_clockpro(trace, TRACE_LEN, npages, FRAMES));
}

static void test_goal_loop(void **state)
{
	const uint64_t pages = FRAMES * 5 / 4;

	for (size_t i = 0; i < TRACE_LEN; i++)
		trace[i] = i % pages;
	report("loop 1.25x", pages);
	long opt = replay_opt(trace, TRACE_LEN, pages, FRAMES);
	assert_true(replay_clockpro(trace, TRACE_LEN, pages, FRAMES) * 5 <= opt * 6);
	assert_true(replay_lirs(trace, TRACE_LEN, pages, FRAMES) * 20 <= opt * 21); /* about 1.04 */
}

static void test_goal_zipf(void **state)
{
	const uint64_t pages = 2 * FRAMES;
	static double cdf[2 * FRAMES];
	uint64_t x = 5;

	replay_zipf_cdf(cdf, pages);
	for (size_t i = 0; i < TRACE_LEN; i++) {
		uint64_t lo = replay_zipf_draw(cdf, pages, &x);
		/* ranks scattered over the pages, as an object's hot pages are */
		trace[i] = (lo * 7919) % pages;
	}
	report("zipf(1) 2x", pages);
	long a0 = replay_a0(trace, TRACE_LEN, pages, FRAMES);
	assert_true(replay_clockpro(trace, TRACE_LEN, pages, FRAMES) * 5 <= a0 * 6);
}

static void test_goal_hot_and_scan(void **state)
{
	const uint64_t hot = FRAMES / 2, scan = 4 * FRAMES, pages = hot + scan;
	uint64_t x = 9, s = 0;

	for (size_t i = 0; i < TRACE_LEN; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		/* one pass of the scan in the middle of the trace, every other
		 * reference: LRU loses the hot set to it */
		bool scanning = i >= TRACE_LEN / 2 && s < scan && i % 2 == 0;
		trace[i] = scanning ? hot + s++ : (x >> 33) % hot;
	}
	report("hot half + scan 4x", pages);
	long opt = replay_opt(trace, TRACE_LEN, pages, FRAMES);
	assert_true(replay_clockpro(trace, TRACE_LEN, pages, FRAMES) * 5 <= opt * 6);
}

/* CLOCK-Pro and LIRS never hold more than their frames, and with as many
 * frames as pages miss nothing after the first touches. */
static void test_clockpro_fits(void **state)
{
	uint64_t refs[4000];

	srand(5);
	for (int i = 0; i < 4000; i++)
		refs[i] = (uint64_t)rand() % 50;
	assert_int_equal(replay_clockpro(refs, 4000, 50, 50), 0);
	assert_true(replay_clockpro(refs, 4000, 50, 10) >= replay_opt(refs, 4000, 50, 10));
	assert_int_equal(replay_a0(refs, 4000, 50, 51), 0);
	assert_int_equal(replay_lirs(refs, 4000, 50, 50), 0);
	assert_true(replay_lirs(refs, 4000, 50, 10) >= replay_opt(refs, 4000, 50, 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_belady_string),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_opt_bounds_lru),
		cmocka_unit_test(test_clockpro_fits),
		cmocka_unit_test(test_goal_loop),
		cmocka_unit_test(test_goal_zipf),
		cmocka_unit_test(test_goal_hot_and_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
