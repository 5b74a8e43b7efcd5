/*
 * The local APIC timer: a periodic tick while the app runs, so that an
 * app spinning in ring 3 can still be stopped (the time limit, Ctrl-C).
 *
 * apic_timer_init calibrates the timer against the TSC clock (clock_us)
 * and leaves it stopped; -ENODEV without an APIC or a clock, then there is
 * no tick and apic_timer_start does nothing.  The tick arrives on vector
 * APIC_TIMER_VECTOR, only in ring 3 (the kernel runs with interrupts off);
 * its handler must call apic_eoi.
 * Lock key: one CPU, one app; none.
 */
#ifndef PHOBOS_ARCH_APIC_H
#define PHOBOS_ARCH_APIC_H

#include "core/env.h"

#define APIC_TIMER_VECTOR 32
#define APIC_SPURIOUS_VECTOR 255
#define APIC_TICK_HZ 100

int apic_timer_init(void);
bool apic_timer_present(void);
void apic_timer_start(void);
void apic_timer_stop(void);
void apic_eoi(void);

#endif
