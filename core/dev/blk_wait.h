/*
 * blk_wait: the one way a block driver waits for its device, so that no
 * wait can outlast its timeout, whatever the clock does.
 *
 * A wait ends when clock_us() has moved on by more than its timeout, or
 * after timeout_us * BLK_WAIT_POLLS_PER_US polls, whichever comes first.
 * The poll count is the guard for a clock that does not run (clock_us()
 * reads 0 before clock_init, or forever on a machine where no source
 * gave the TSC's rate): a poll reads the clock at least, which takes more
 * than a nanosecond on any x86-64, so the count never ends a wait before
 * the timeout while the clock runs.  main refuses to attach storage when
 * clock_init finds no source; the count is what still bounds the wait if
 * the clock stops anyway.
 *
 * Usage: blk_wait_start, then call blk_wait_expired once per poll of the
 * device; start again to measure from the last sign of progress.
 *
 * Lock key: a wait belongs to the stack frame that polls.
 */
#ifndef PHOBOS_DEV_BLK_WAIT_H
#define PHOBOS_DEV_BLK_WAIT_H

#include "core/env.h"

#define BLK_WAIT_POLLS_PER_US 1000ull

struct blk_wait {
	uint64_t start;      /* clock_us() at blk_wait_start */
	uint64_t timeout_us;
	uint64_t polls;      /* blk_wait_expired calls since the start */
};

void blk_wait_start(struct blk_wait *w, uint64_t timeout_us);
/* One poll: true once the wait has lasted timeout_us (or its poll count). */
bool blk_wait_expired(struct blk_wait *w);
/* Busy-waits at least us microseconds while the clock runs; bounded all the same. */
void blk_wait_delay(uint64_t us);

#endif
