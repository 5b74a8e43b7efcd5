/*
 * A clock the test owns, for code linked with -Wl,--wrap=clock_us
 * -Wl,--wrap=blk_wait_delay: clock_us() reads clock_sim_now, and a wait
 * moves it at once, then calls clock_sim_on_wait when a test set one.
 */
#ifndef PHOBOS_TEST_CLOCK_SIM_H
#define PHOBOS_TEST_CLOCK_SIM_H

#include <stdint.h>

extern uint64_t clock_sim_now;
extern void (*clock_sim_on_wait)(uint64_t us);

#endif
