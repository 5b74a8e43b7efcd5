/* The test's clock: see clock_sim.h. */
#include <stddef.h>

#include "test/host/clock_sim.h"

uint64_t clock_sim_now;
void (*clock_sim_on_wait)(uint64_t us);

uint64_t __wrap_clock_us(void);
uint64_t __wrap_clock_us(void)
{
	return clock_sim_now;
}

void __wrap_blk_wait_delay(uint64_t us);
void __wrap_blk_wait_delay(uint64_t us)
{
	clock_sim_now += us;
	if (clock_sim_on_wait != NULL)
		clock_sim_on_wait(us);
}
