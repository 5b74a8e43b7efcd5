/*
 * The monotonic microsecond clock: the TSC, calibrated against a
 * fixed-frequency reference found through ACPI, the PM timer
 * (3.579545 MHz, 24 or 32 bits) or else the HPET: a few milliseconds at
 * clock_init, enough for timeouts and log times, then again over the whole
 * boot by clock_refine, with no busy wait (a long calibration window
 * was half of the kernel's boot time).  Without either, the
 * CPU's own word on the TSC's rate (CPUID leaf 0x15, else 0x16), and last
 * the PIT's channel 2 (1.193182 MHz, 16 bits) as the reference.  With none
 * of them nothing can bound a device's wait, and main attaches no storage.
 *
 * us = (tsc - tsc0) * mult >> 32, with mult = 10^6 * 2^32 / tsc_hz; the
 * product is taken in 128 bits so it cannot overflow within any uptime.
 */
#include "core/acpi.h"
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/clock.h"
#include "core/arch/x86_64/pmap_boot.h"
#include "core/arch/x86_64/pte.h"
#include "core/boot_info.h"

#define PM_TIMER_HZ 3579545ull
#define PIT_HZ 1193182ull
#define PIT_PROBE_READS 100000 /* a ticking PIT changes within a few reads */
#define CLOCK_CALIBRATE_US 2000ull
#define CLOCK_CALIBRATE_RUNS 3
#define CLOCK_READ_TRIES 8
#define CLOCK_READ_SLACK_US 20 /* a reference read and its TSC that far apart were interrupted */

static uint64_t clock_tsc0;
static uint64_t clock_mult;
static uint64_t clock_tsc_hz;
static const char *clock_source = "none";

uint64_t clock_us(void)
{
	if (clock_mult == 0)
		return 0;
	return (uint64_t)(((__uint128_t)(rdtsc() - clock_tsc0) * clock_mult) >> 32);
}

uint64_t clock_tsc_freq(void)
{
	return clock_tsc_hz;
}

uint64_t clock_tsc_base(void)
{
	return clock_tsc0;
}

const char *clock_reference(void)
{
	return clock_source;
}

/* A free-running counter read through a function, and its width and rate. */
struct clock_ref {
	uint64_t (*read)(const struct clock_ref *ref);
	uint64_t hz;
	uint64_t mask;
	uint16_t port;
	volatile const uint64_t *mmio;
};

/* The reference behind the rate, and a reading of it with its TSC at
 * clock_init: clock_refine measures from there. */
static struct clock_ref clock_ref;
static uint64_t clock_ref_start, clock_ref_tsc_start;

/* A reading of ref and the TSC taken together: retried while a host
 * deschedules the virtual CPU between the two.  Returns the TSC. */
static uint64_t clock_read_pair(const struct clock_ref *ref, uint64_t *value)
{
	uint64_t slack = clock_tsc_hz / 1000000 * CLOCK_READ_SLACK_US;
	uint64_t before = 0, after = 0;

	for (int i = 0; i < CLOCK_READ_TRIES; i++) {
		before = rdtsc();
		*value = ref->read(ref) & ref->mask;
		after = rdtsc();
		if (after - before <= slack)
			break;
	}
	return before + (after - before) / 2;
}

static uint64_t clock_read_pm(const struct clock_ref *ref)
{
	return inl(ref->port);
}

static uint64_t clock_read_hpet(const struct clock_ref *ref)
{
	return ref->mmio[0xf0 / 8];
}

/* Channel 2 counts down from 65536: 65536 - count counts up, modulo 2^16. */
static uint64_t clock_read_pit(const struct clock_ref *ref)
{
	(void)ref;
	outb(0x43, 0x80); /* latch channel 2 */
	uint8_t lo = inb(0x42);
	uint8_t hi = inb(0x42);
	return 0x10000u - ((unsigned)hi << 8 | lo);
}

/* Counts TSC ticks over CLOCK_CALIBRATE_US of the reference, across wraps. */
/* TSC ticks per second over one window of CLOCK_CALIBRATE_US. */
static uint64_t clock_calibrate_once(const struct clock_ref *ref)
{
	uint64_t want = ref->hz * CLOCK_CALIBRATE_US / 1000000;
	uint64_t elapsed = 0, last = ref->read(ref) & ref->mask;
	uint64_t t0 = rdtsc();

	while (elapsed < want) {
		uint64_t now = ref->read(ref) & ref->mask;
		elapsed += (now - last) & ref->mask;
		last = now;
	}
	return (rdtsc() - t0) * ref->hz / elapsed;
}

/*
 * The median of several windows: a virtual CPU descheduled by its host
 * between a reference read and the TSC read spoils one window, not the
 * median.
 */
static uint64_t clock_calibrate(const struct clock_ref *ref)
{
	uint64_t hz[CLOCK_CALIBRATE_RUNS];

	for (int i = 0; i < CLOCK_CALIBRATE_RUNS; i++) {
		uint64_t x = clock_calibrate_once(ref);
		int j = i;
		for (; j > 0 && hz[j - 1] > x; j--)
			hz[j] = hz[j - 1];
		hz[j] = x;
	}
	return hz[CLOCK_CALIBRATE_RUNS / 2];
}

static bool clock_find_pm(struct clock_ref *ref)
{
	const uint8_t *fadt = (const uint8_t *)acpi_find("FACP", 0);
	if (fadt == NULL)
		return false;
	uint32_t len = ((const struct acpi_header *)fadt)->length, port = 0, flags = 0;
	struct acpi_gas x;

	/* X_PM_TMR_BLK at offset 208 (ACPI 2.0+), PM_TMR_BLK at 76, flags at 112 */
	if (len >= 208 + sizeof(x)) {
		memcpy(&x, fadt + 208, sizeof(x));
		if (x.space == ACPI_SPACE_IO && x.address != 0)
			port = (uint32_t)x.address;
	}
	if (port == 0 && len >= 80)
		memcpy(&port, fadt + 76, 4);
	if (len >= 116)
		memcpy(&flags, fadt + 112, 4);
	if (port == 0 || port > 0xffff)
		return false;
	ref->read = clock_read_pm;
	ref->hz = PM_TIMER_HZ;
	ref->port = (uint16_t)port;
	ref->mask = (flags & (1u << 8)) ? 0xffffffffull : 0xffffffull; /* TMR_VAL_EXT */
	return true;
}

static bool clock_find_hpet(struct clock_ref *ref)
{
	const uint8_t *hpet = (const uint8_t *)acpi_find("HPET", 0);
	struct acpi_gas base;

	if (hpet == NULL)
		return false;
	memcpy(&base, hpet + 40, sizeof(base));
	if (base.space != ACPI_SPACE_MEMORY || base.address == 0)
		return false;
	pmap_boot_map(DIRECT_MAP_BASE + base.address, base.address, PAGE_SIZE,
		      PTE_W | PTE_NX | PTE_PCD);
	ref->mmio = (volatile const uint64_t *)(DIRECT_MAP_BASE + base.address);
	uint64_t fs_period = ref->mmio[0] >> 32; /* femtoseconds per tick */
	if (fs_period == 0 || fs_period > 100000000)
		return false;
	((volatile uint64_t *)ref->mmio)[0x10 / 8] |= 1; /* ENABLE_CNF */
	ref->read = clock_read_hpet;
	ref->hz = 1000000000000000ull / fs_period;
	ref->mask = ~0ull;
	return true;
}

/*
 * The PIT's channel 2, gated on with the speaker off, as a free-running
 * rate generator (mode 2, reload 0 = 65536).  Machines without a PIT
 * (QEMU's pit=off, legacy-free boards) read back a constant: not used.
 */
static bool clock_find_pit(struct clock_ref *ref)
{
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb4); /* channel 2, low then high byte, mode 2, binary */
	outb(0x42, 0);
	outb(0x42, 0);
	ref->read = clock_read_pit;
	ref->hz = PIT_HZ;
	ref->mask = 0xffff;
	uint64_t first = ref->read(ref);
	for (int i = 0; i < PIT_PROBE_READS; i++)
		if (ref->read(ref) != first)
			return true;
	return false;
}

/*
 * The TSC's rate as the CPU states it: leaf 0x15 gives the crystal's Hz
 * and the TSC/crystal ratio (Intel SDM, "Determining the Processor Base
 * Frequency"), leaf 0x16 the base frequency in MHz, which the TSC runs at
 * where 0x15 leaves the crystal out.  0 when the CPU says neither.
 */
static uint64_t clock_cpuid_hz(void)
{
	uint32_t r[4];

	cpuid(0, 0, r);
	uint32_t max = r[0];
	if (max >= 0x15) {
		cpuid(0x15, 0, r);
		if (r[0] != 0 && r[1] != 0 && r[2] != 0) {
			clock_source = "CPUID leaf 0x15 (crystal and TSC ratio)";
			return (uint64_t)r[2] * r[1] / r[0];
		}
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, r);
		if ((r[0] & 0xffff) != 0) {
			clock_source = "CPUID leaf 0x16 (base frequency)";
			return (uint64_t)(r[0] & 0xffff) * 1000000;
		}
	}
	return 0;
}

/*
 * For the self-test: TSC-clock microseconds over `ms` milliseconds of the
 * HPET, or 0 when there is no HPET.  Compares the clock with a second,
 * independent reference.
 */
uint64_t clock_measure_against_hpet(unsigned ms)
{
	struct clock_ref ref = {0};

	if (!clock_find_hpet(&ref))
		return 0;
	uint64_t want = ref.hz * ms / 1000, last = ref.read(&ref), elapsed = 0;
	uint64_t start = clock_us();
	while (elapsed < want) {
		uint64_t now = ref.read(&ref);
		elapsed += now - last;
		last = now;
	}
	return clock_us() - start;
}

int clock_init(void)
{
	struct clock_ref ref = {0};

	clock_tsc0 = rdtsc();
	if (clock_find_pm(&ref))
		clock_source = "ACPI PM timer";
	else if (clock_find_hpet(&ref))
		clock_source = "HPET";
	else if ((clock_tsc_hz = clock_cpuid_hz()) == 0) {
		if (!clock_find_pit(&ref))
			return -ENODEV;
		clock_source = "PIT";
	}
	if (ref.read != NULL) {
		clock_tsc_hz = clock_calibrate(&ref);
		/* after the calibration, so that the pair read can tell a
		 * descheduled CPU by its slack and retry */
		clock_ref = ref;
		clock_ref_tsc_start = clock_read_pair(&ref, &clock_ref_start);
	}
	clock_mult = (1000000ull << 32) / clock_tsc_hz;
	return 0;
}

void clock_refine(void)
{
	static bool refined;
	uint64_t now_ref;

	if (clock_ref.read == NULL || refined)
		return;
	refined = true;
	uint64_t now = clock_read_pair(&clock_ref, &now_ref);
	uint64_t ticks = (now_ref - clock_ref_start) & clock_ref.mask;
	uint64_t tsc = now - clock_ref_tsc_start;
	/* past half the reference's wrap the count of wraps is a guess (and
	 * a span that long would overflow the products) */
	if (tsc > UINT64_MAX / clock_ref.hz || tsc * clock_ref.hz / clock_tsc_hz > clock_ref.mask / 2 ||
	    ticks == 0)
		return;
	uint64_t us = clock_us();
	clock_tsc_hz = tsc * clock_ref.hz / ticks;
	clock_mult = (1000000ull << 32) / clock_tsc_hz;
	/* the clock goes on from where it was: only its rate changes */
	clock_tsc0 = now - us * (clock_tsc_hz / 1000) / 1000;
	log_info("clock: TSC %llu kHz over the first %llu ms", (unsigned long long)(clock_tsc_hz / 1000),
		 (unsigned long long)(us / 1000));
}
