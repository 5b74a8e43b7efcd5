/*
 * panic: "PANIC: <why>", the registers when a trap frame exists, a
 * backtrace by frame pointers with symbol names, and exit code 3.
 * A panic inside a panic skips straight to the exit so a broken console or
 * symbol table cannot loop.
 */
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/trap.h"
#include "core/kernel.h"

static volatile int panic_depth;

/* Frame pointers must stay in the kernel half and be 8-byte aligned. */
static bool backtrace_frame_ok(uint64_t rbp)
{
	return rbp >= 0xffff800000000000ull && (rbp & 7) == 0 && rbp < ~0ull - 16;
}

static void backtrace_line(int depth, uint64_t rip)
{
	const char *name;
	uintptr_t off;

	if (ksyms_lookup(rip, &name, &off))
		kprintf("  #%-2d %016llx %s+0x%llx\n", depth, (unsigned long long)rip, name,
			(unsigned long long)off);
	else
		kprintf("  #%-2d %016llx ?\n", depth, (unsigned long long)rip);
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
	kprintf("backtrace:\n");
	backtrace_line(0, rip);
	for (int depth = 1; depth < 32 && backtrace_frame_ok(rbp); depth++) {
		const uint64_t *frame = (const uint64_t *)rbp;
		uint64_t ret = frame[1];
		if (ret == 0)
			break;
		/* a return address points after the call: name the call itself */
		backtrace_line(depth, ret - 1);
		if (frame[0] <= rbp)
			break; /* frames must move up the stack */
		rbp = frame[0];
	}
}

static void panic_registers(const struct trap_frame *tf)
{
	kprintf("vector %llu (%s) error 0x%llx\n", (unsigned long long)tf->vector,
		trap_name((unsigned)tf->vector), (unsigned long long)tf->error);
	if (tf->vector == TRAP_PF) {
		uint64_t e = tf->error;
		kprintf("cr2 %016llx: %s, %s, %s%s%s\n", (unsigned long long)read_cr2(),
			(e & PF_P) ? "protection violation" : "page not present",
			(e & PF_I) ? "instruction fetch" : (e & PF_W) ? "write" : "read",
			(e & PF_U) ? "user mode" : "kernel mode", (e & PF_RSVD) ? ", reserved bit" : "",
			"");
	}
	kprintf("rip %016llx cs %04llx rflags %016llx\n", (unsigned long long)tf->rip,
		(unsigned long long)tf->cs, (unsigned long long)tf->rflags);
	kprintf("rsp %016llx ss %04llx\n", (unsigned long long)tf->rsp, (unsigned long long)tf->ss);
	kprintf("rax %016llx rbx %016llx rcx %016llx\n", (unsigned long long)tf->rax,
		(unsigned long long)tf->rbx, (unsigned long long)tf->rcx);
	kprintf("rdx %016llx rsi %016llx rdi %016llx\n", (unsigned long long)tf->rdx,
		(unsigned long long)tf->rsi, (unsigned long long)tf->rdi);
	kprintf("rbp %016llx r8  %016llx r9  %016llx\n", (unsigned long long)tf->rbp,
		(unsigned long long)tf->r8, (unsigned long long)tf->r9);
	kprintf("r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)tf->r10,
		(unsigned long long)tf->r11, (unsigned long long)tf->r12);
	kprintf("r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)tf->r13,
		(unsigned long long)tf->r14, (unsigned long long)tf->r15);
	kprintf("cr0 %016llx cr3 %016llx cr4 %016llx\n", (unsigned long long)read_cr0(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
}

_Noreturn void panic_trap(struct trap_frame *tf, const char *why)
{
	cli();
	if (panic_depth++ == 0) {
		kprintf("\nPANIC: %s at %016llx\n", why, (unsigned long long)tf->rip);
		panic_registers(tf);
		backtrace_print(tf->rip, tf->rbp);
	}
	kernel_exit(EXIT_PANIC);
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	cli();
	if (panic_depth++ == 0) {
		kprintf("\nPANIC: ");
		va_start(ap, fmt);
		kvprintf(fmt, ap);
		va_end(ap);
		kprintf("\n");
		/* start at our caller: its rip, and the frame it saved */
		const uint64_t *frame = __builtin_frame_address(0);
		backtrace_print((uint64_t)__builtin_return_address(0) - 1, frame[0]);
	}
	kernel_exit(EXIT_PANIC);
}
