/*
 * The TSC clock behind clock_us() (env.h).  clock_init needs ACPI
 * (acpi_init first); before it, clock_us() reads 0.  -ENODEV when nothing
 * gives the TSC's rate: no PM timer, HPET, CPUID leaf 0x15/0x16 or PIT;
 * clock_us() then stays 0.  clock_reference() names the source used.
 */
#ifndef PHOBOS_ARCH_CLOCK_H
#define PHOBOS_ARCH_CLOCK_H

#include "core/env.h"

int clock_init(void);
/* Measures the TSC's rate again, from clock_init until now, without a
 * wait; clock_us() goes on from its value with the new rate.  Only the
 * first call counts: late in the boot (the longer the span, the finer the
 * rate), before the first app reads the rate from its gate page. */
void clock_refine(void);
uint64_t clock_tsc_freq(void);
/* The TSC when clock_us() read 0: the app's gate page clock counts from it. */
uint64_t clock_tsc_base(void);
const char *clock_reference(void);
uint64_t clock_measure_against_hpet(unsigned ms);

#endif
