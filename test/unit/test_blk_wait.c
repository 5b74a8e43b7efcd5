/*
 * blk_wait, the drivers' one way to wait for a device, under a clock the
 * test controls (clock_us is wrapped at link time): a clock that never
 * advances still ends every wait after a bounded number of polls, and a
 * running clock ends it at the timeout, not before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/dev/blk_wait.h"

static uint64_t fake_now;  /* what clock_us() reads */
static uint64_t fake_step; /* added after every read; 0: the clock is stopped */

uint64_t __wrap_clock_us(void);
uint64_t __wrap_clock_us(void)
{
	uint64_t now = fake_now;

	fake_now += fake_step;
	return now;
}

static void clock_set(uint64_t now, uint64_t step)
{
	fake_now = now;
	fake_step = step;
}

/* Polls w until it expires, giving up (0) after limit polls: a hang in the old code. */
static uint64_t polls_until_expired(struct blk_wait *w, uint64_t limit)
{
	for (uint64_t n = 1; n <= limit; n++)
		if (blk_wait_expired(w))
			return n;
	return 0;
}

static void test_stopped_clock_ends_the_wait(void **state)
{
	struct blk_wait w;
	uint64_t bound = 2000 * BLK_WAIT_POLLS_PER_US;

	clock_set(0, 0); /* what clock_us() reads on a machine without any clock source */
	blk_wait_start(&w, 2000);
	assert_int_equal(polls_until_expired(&w, 4 * bound), bound + 1);
	clock_set(123456789, 0); /* stopped anywhere, not only at 0 */
	blk_wait_start(&w, 2000);
	assert_int_equal(polls_until_expired(&w, 4 * bound), bound + 1);
}

static void test_running_clock_ends_at_the_timeout(void **state)
{
	struct blk_wait w;

	clock_set(5000, 1); /* one microsecond per read */
	blk_wait_start(&w, 1000);
	uint64_t n = polls_until_expired(&w, 1000000);
	/* the start read 5000; poll k reads 5000 + k: expired once more than 1000 passed */
	assert_int_equal(n, 1001);
	clock_set(~0ull - 10, 3); /* the difference survives the counter wrapping */
	blk_wait_start(&w, 30);
	assert_int_equal(polls_until_expired(&w, 1000), 11);
}

/* A driver restarts the wait at each sign of progress (virtio-blk's used ring). */
static void test_restart_measures_from_progress(void **state)
{
	struct blk_wait w;

	clock_set(0, 1);
	blk_wait_start(&w, 100);
	for (int i = 0; i < 50; i++)
		assert_false(blk_wait_expired(&w));
	blk_wait_start(&w, 100);
	assert_int_equal(polls_until_expired(&w, 1000), 101);
}

/* The COMRESET hold: lasts its time on a running clock, ends on a stopped one. */
static void test_delay(void **state)
{
	clock_set(0, 1);
	blk_wait_delay(1000);
	assert_true(fake_now > 1000);
	clock_set(0, 0);
	blk_wait_delay(1000); /* returning at all is the test */
	assert_int_equal(fake_now, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stopped_clock_ends_the_wait),
	    cmocka_unit_test(test_running_clock_ends_at_the_timeout),
	    cmocka_unit_test(test_restart_measures_from_progress),
	    cmocka_unit_test(test_delay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
