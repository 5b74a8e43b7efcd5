/*
 * What ring 3 finds set up (user.c), read back: the SYSCALL MSRs, the
 * flags FMASK clears, SYSENTER disarmed, and the predicate that guards
 * sysretq.  The app's side of the same (a popf then a system call, a
 * sysenter) is in app/cpu_state.c.
 */
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/user.h"
#include "core/ktest.h"

extern char syscall_entry[], syscall_entry_compat[];

KTEST(user_cpu_msrs)
{
	const uint64_t cleared = RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT;
	uint32_t r[4];

	KTEST_EQ(rdmsr(MSR_LSTAR), (uint64_t)syscall_entry);
	KTEST_EQ(rdmsr(MSR_CSTAR), (uint64_t)syscall_entry_compat);
	KTEST_EQ(rdmsr(MSR_FMASK) & cleared, cleared);
	cpuid(1, 0, r);
	if (!(r[3] & (1u << 11))) {
		ktest_skip("no SYSENTER on this CPU: SYSENTER_CS not read");
		return;
	}
	KTEST_EQ(rdmsr(MSR_SYSENTER_CS), 0);
}

/* The app cannot make a system call return outside its map, so the
 * predicate is tried here at the edges of the hole instead. */
KTEST(user_sysret_rip)
{
	KTEST_ASSERT(user_sysret_rip_ok(0));
	KTEST_ASSERT(user_sysret_rip_ok(0x00007ffffffff000ull));
	KTEST_ASSERT(user_sysret_rip_ok(0x00007fffffffffffull));
	KTEST_ASSERT(!user_sysret_rip_ok(0x0000800000000000ull));
	KTEST_ASSERT(!user_sysret_rip_ok(0x0001000000000000ull));
	KTEST_ASSERT(!user_sysret_rip_ok(0xffff800000000000ull));
	KTEST_ASSERT(!user_sysret_rip_ok(0xffffffffffffffffull));
}
