/*
 * blk_wait: bounded polling for block drivers; see blk_wait.h.
 */
#include "core/dev/blk_wait.h"

void blk_wait_start(struct blk_wait *w, uint64_t timeout_us)
{
	w->start = clock_us();
	w->timeout_us = timeout_us;
	w->polls = 0;
}

bool blk_wait_expired(struct blk_wait *w)
{
	/* timeouts are seconds at most, so the product stays far below 2^64 */
	if (++w->polls > w->timeout_us * BLK_WAIT_POLLS_PER_US)
		return true;
	return clock_us() - w->start > w->timeout_us;
}

void blk_wait_delay(uint64_t us)
{
	struct blk_wait w;

	blk_wait_start(&w, us);
	while (!blk_wait_expired(&w))
		;
}
