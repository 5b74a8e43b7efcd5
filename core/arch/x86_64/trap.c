/*
 * The IDT and trap dispatch.  Every exception vector gets an interrupt
 * gate (interrupts stay off inside handlers); #DF, NMI and #MC run on their
 * IST stacks.  #BP and #UD may be announced by a self-test and are then
 * counted and stepped over; page faults go to the VM's hook (or, inside the
 * user copy routines, end the copy with -EFAULT); traps from ring 3 go to
 * the app's handler, and so does the APIC timer's tick, which only ring 3
 * sees; everything else is a panic with the full frame.
 */
#include "core/arch/x86_64/apic.h"
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/trap.h"
#include "core/arch/x86_64/user.h"

struct idt_gate {
	uint16_t off_lo, selector;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

extern const uint64_t trap_stub_table[32];
extern char trap_stub_32[], trap_stub_spurious[];
extern uint8_t user_smap;
static struct idt_gate idt[256];

int (*trap_page_fault_hook)(struct trap_frame *tf, uint64_t addr, char *why, size_t len);

static volatile int trap_expected_vector = -1;
static bool trap_have_mca; /* MCG_STATUS exists */
static volatile uint64_t trap_kernel_nmis, trap_kernel_nmi_rip;
static uint64_t trap_ticks, trap_tick_tsc;
static volatile unsigned trap_hits;

static const char *const trap_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
	"coprocessor segment overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
	"reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31"};

const char *trap_name(unsigned vector)
{
	return vector < 32 ? trap_names[vector] : "interrupt";
}

static void idt_set(unsigned vec, uint64_t handler, uint8_t ist)
{
	idt[vec] = (struct idt_gate){
		.off_lo = (uint16_t)handler,
		.selector = GDT_KERNEL_CS,
		.ist = ist,
		.type = 0x8e, /* present, DPL0, 64-bit interrupt gate */
		.off_mid = (uint16_t)(handler >> 16),
		.off_hi = (uint32_t)(handler >> 32),
	};
}

void idt_init(void)
{
	for (unsigned v = 0; v < 32; v++) {
		uint8_t ist = v == TRAP_DF ? 1 : v == TRAP_NMI ? 2 : v == TRAP_MC ? 3 : 0;
		idt_set(v, trap_stub_table[v], ist);
	}
	idt_set(APIC_TIMER_VECTOR, (uint64_t)trap_stub_32, 0);
	idt_set(APIC_SPURIOUS_VECTOR, (uint64_t)trap_stub_spurious, 0);
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)idt};
	__asm__ volatile("lidt %0" : : "m"(idtr));
	/* without CR4.MCE a machine check shuts the machine down instead of
	 * reaching the #MC gate; firmware may have set it, or not */
	uint32_t r[4];
	cpuid(1, 0, r);
	if (r[3] & CPUID_1_EDX_MCE)
		write_cr4(read_cr4() | CR4_MCE);
	trap_have_mca = (r[3] & CPUID_1_EDX_MCA) != 0;
}

/* The machine check is dealt with (its app stopped): MCG_STATUS.MCIP
 * still set would turn the next one into a shutdown. */
static void trap_machine_check_done(void)
{
	if (trap_have_mca)
		wrmsr(MSR_MCG_STATUS, 0);
}

uint64_t trap_take_tick_cost(uint64_t *tsc)
{
	uint64_t n = trap_ticks;

	*tsc = trap_tick_tsc;
	trap_ticks = trap_tick_tsc = 0;
	return n;
}

uint64_t trap_take_kernel_nmis(uint64_t *last_rip)
{
	uint64_t n = trap_kernel_nmis;

	if (n == 0) /* every trap of the app asks: no store then */
		return 0;
	*last_rip = trap_kernel_nmi_rip;
	trap_kernel_nmis -= n;
	return n;
}

void trap_expect(unsigned vector)
{
	trap_hits = 0;
	trap_expected_vector = (int)vector;
}

unsigned trap_expected_hits(void)
{
	return trap_hits;
}

/* ud2 is two bytes (0f 0b); stepping over it resumes the test. */
static bool trap_step_over_expected(struct trap_frame *tf)
{
	if ((int)tf->vector != trap_expected_vector)
		return false;
	if (tf->vector == TRAP_UD) {
		const uint8_t *ip = (const uint8_t *)tf->rip;
		if (ip[0] != 0x0f || ip[1] != 0x0b)
			return false;
		tf->rip += 2;
	}
	trap_hits++;
	trap_expected_vector = -1;
	return true;
}

void trap_dispatch(struct trap_frame *tf)
{
	/* trap_common cleared AC: with SMAP, no handler may reach user pages */
	KASSERT(!user_smap || !(read_rflags() & RFLAGS_AC));
	uint64_t t0 = 0;
	if (tf->vector == APIC_TIMER_VECTOR) {
		t0 = rdtsc();
		apic_eoi();
	}
	if (tf->vector == TRAP_MC)
		trap_machine_check_done();
	if ((tf->cs & 3) == 3 && trap_user_hook != NULL) {
		trap_user_hook(tf); /* the app's own business: resolved, or the app stops */
		if (t0 != 0) { /* what the tick takes from the app, for its exit line */
			trap_ticks++;
			trap_tick_tsc += rdtsc() - t0;
		}
		return;
	}
	if (tf->vector == APIC_TIMER_VECTOR)
		return; /* a tick that found no app: nothing to do */
	if (tf->vector == TRAP_NMI) {
		trap_kernel_nmis++;
		trap_kernel_nmi_rip = tf->rip;
		return;
	}
	if (trap_step_over_expected(tf))
		return;
	if (tf->vector == TRAP_PF && user_copy_fault_fixup(tf, read_cr2()))
		return;
	if (tf->vector == TRAP_PF && trap_page_fault_hook != NULL) {
		static char why[256];
		if (trap_page_fault_hook(tf, read_cr2(), why, sizeof(why)) == 0)
			return;
		panic_trap(tf, why);
	}
	panic_trap(tf, trap_name((unsigned)tf->vector));
}
