/*
 * The local APIC timer (Intel SDM vol. 3, "APIC Timer"): the xAPIC's
 * registers through an uncached mapping, the timer divided by 16 and run
 * periodic at APIC_TICK_HZ.  Its rate is not architectural, so it is
 * measured: a one-shot count from 2^32 - 1 over CLOCK_WINDOW_US of the TSC
 * clock gives its rate.  The median of three windows is kept, as the
 * clock's own calibration does: one window spoilt by the host's scheduling
 * does not move it.
 */
#include "core/arch/x86_64/apic.h"
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/pmap_md.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR 0xffffff000ull
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_SVR_ENABLE 0x100
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_PERIODIC (1u << 17)
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0
#define APIC_DIVIDE_16 0x3
#define CLOCK_WINDOW_US 2000 /* the tick bounds a time limit: 1 % is plenty */
#define APIC_WINDOWS 3 /* the median below takes exactly three */

static volatile uint32_t *apic_regs;
static uint32_t apic_period; /* timer counts per tick */

static uint32_t apic_read(unsigned reg)
{
	return apic_regs[reg / 4];
}

static void apic_write(unsigned reg, uint32_t v)
{
	apic_regs[reg / 4] = v;
}

/* Timer counts in CLOCK_WINDOW_US microseconds of the TSC clock. */
static uint64_t apic_count_window(void)
{
	apic_write(APIC_TIMER_INITIAL, 0xffffffffu);
	uint64_t t0 = clock_us(), t;
	while ((t = clock_us()) - t0 < CLOCK_WINDOW_US)
		cpu_pause();
	uint32_t left = apic_read(APIC_TIMER_CURRENT);
	apic_write(APIC_TIMER_INITIAL, 0);
	return (uint64_t)(0xffffffffu - left) * CLOCK_WINDOW_US / (t - t0);
}

int apic_timer_init(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[3] & (1u << 9)) || clock_us() == 0) {
		log_info("apic: no local APIC or no clock: no timer tick, no time limit");
		return -ENODEV;
	}
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	apic_regs = pmap_map_mmio(base & APIC_BASE_ADDR, PAGE_SIZE);
	if (apic_regs == NULL)
		return -ENOMEM;
	/* the legacy PIC masked: with interrupts on in ring 3 its IRQs would
	 * arrive on the exception vectors */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | APIC_SPURIOUS_VECTOR);
	apic_write(APIC_TIMER_DIVIDE, APIC_DIVIDE_16);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_TIMER_VECTOR);
	uint64_t w[APIC_WINDOWS];
	for (int i = 0; i < APIC_WINDOWS; i++)
		w[i] = apic_count_window();
	uint64_t best = MAX(MIN(w[0], w[1]), MIN(MAX(w[0], w[1]), w[2])); /* the median of 3 */
	uint64_t period = best * 1000000 / CLOCK_WINDOW_US / APIC_TICK_HZ;
	if (period == 0 || period > 0xffffffffu) {
		log_info("apic: timer rate %llu per %u us is unusable: no timer tick",
			 (unsigned long long)best, CLOCK_WINDOW_US);
		apic_regs = NULL;
		return -ENODEV;
	}
	apic_period = (uint32_t)period;
	log_info("apic: timer %llu kHz (divided by 16), tick %u Hz while the app runs",
		 (unsigned long long)(best * 1000 / CLOCK_WINDOW_US), APIC_TICK_HZ);
	return 0;
}

bool apic_timer_present(void)
{
	return apic_regs != NULL;
}

void apic_timer_start(void)
{
	if (apic_regs == NULL)
		return;
	apic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | APIC_TIMER_VECTOR);
	apic_write(APIC_TIMER_INITIAL, apic_period);
}

void apic_timer_stop(void)
{
	if (apic_regs == NULL)
		return;
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_TIMER_VECTOR);
	apic_write(APIC_TIMER_INITIAL, 0);
}

void apic_eoi(void)
{
	if (apic_regs != NULL)
		apic_write(APIC_EOI, 0);
}
