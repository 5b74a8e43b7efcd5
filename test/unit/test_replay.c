/* The replays of test/bench/trace_replay on strings whose answers are known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_belady_string),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_opt_bounds_lru),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
