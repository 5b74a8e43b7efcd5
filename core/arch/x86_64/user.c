/*
 * Ring 3: see user.h.  SYSCALL takes CS/SS from STAR (kernel 0x08/0x10;
 * SYSRET gives user SS = STAR[63:48] + 8 and CS = + 16, which is why the
 * GDT holds user data before user code) and clears the flags in FMASK on
 * entry: interrupts, direction, trap, nested task and alignment check (so
 * SMAP holds in the kernel whatever the app set).  SYSCALL from 32-bit
 * code (CSTAR) cannot happen, since the GDT has no 32-bit code segment;
 * CSTAR still leads to a stub that stops the app, and SYSENTER_CS is 0 so
 * that SYSENTER raises #GP instead of using what the firmware left.  UMIP
 * makes sgdt, sidt, sldt, smsw and str fault in ring 3, so that they do not
 * tell the app where the kernel's tables lie.
 */
#include "core/arch/x86_64/apic.h"
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/user.h"
#include "core/mm/vm_map.h"
#include "core/syscall.h"

#define MSR_STAR 0xc0000081
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define CR4_UMIP (1ull << 11)
#define EFER_SCE (1ull << 0)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

extern char syscall_entry[], syscall_entry_compat[], user_copy[], user_copy_fault[], user_copy_end[];
extern uint64_t user_kernel_stack;
extern uint8_t user_smap;
extern uint64_t user_app_rflags;

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87 0x1
#define XCR0_SSE 0x2
#define XCR0_AVX 0x4
#define FPU_AREA 1024 /* the legacy region and the XSAVE header, with room */

/*
 * The app's first FPU/SSE/AVX state: the x87 and MXCSR defaults, every
 * register zero.  With XSAVE the header's XSTATE_BV is 0, so XRSTOR puts
 * every enabled component in its initial state and reads only MXCSR.
 */
static uint8_t user_fpu_clean[FPU_AREA] __attribute__((aligned(64))) = {
	[0] = 0x7f, [1] = 0x03,              /* FCW 0x037f */
	[24] = 0x80, [25] = 0x1f,            /* MXCSR 0x1f80 */
};
static bool user_xsave;
int user_copy_raw(void *dst, const void *src, size_t n) __asm__("user_copy");
void gdt_set_kernel_stack(uint64_t top);

struct vm_map *user_vm_map;
void (*trap_user_hook)(struct trap_frame *tf);

/*
 * The FPU for the app (the kernel itself never uses it: it is built
 * general-registers-only, which the build checks): x87 and SSE on with
 * their exceptions reported as exceptions, and with XSAVE the AVX state
 * too where the CPU has it.
 */
static void user_fpu_init(uint32_t r[4])
{
	cpuid(1, 0, r);
	bool xsave = r[2] & (1u << 26), avx = r[2] & (1u << 28);

	write_cr0((read_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS));
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | (xsave ? CR4_OSXSAVE : 0));
	if (xsave) {
		uint64_t xcr0 = XCR0_X87 | XCR0_SSE | (avx ? XCR0_AVX : 0);
		__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"(0u));
	}
	user_xsave = xsave;
	log_info("cpu: FPU and SSE for the app%s", xsave ? (avx ? ", AVX through XSAVE" : ", XSAVE")
							: "");
}

void user_fpu_reset(void)
{
	if (user_xsave)
		__asm__ volatile("xrstor %0" : : "m"(user_fpu_clean), "a"(~0u), "d"(~0u));
	else
		__asm__ volatile("fxrstor %0" : : "m"(user_fpu_clean));
}

void user_cpu_init(void)
{
	uint32_t r[4];

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)(GDT_USER_DS - 8) << 48 | (uint64_t)GDT_KERNEL_CS << 32);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_CSTAR, (uint64_t)syscall_entry_compat);
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT);
	cpuid(0, 0, r);
	bool smep = false, smap = false, umip = false, sep = false;
	uint32_t max = r[0];
	if (max >= 1) {
		cpuid(1, 0, r);
		sep = r[3] & (1u << 11);
	}
	if (max >= 7) {
		cpuid(7, 0, r);
		smep = r[1] & (1u << 7);
		smap = r[1] & (1u << 20);
		umip = r[2] & (1u << 2);
	}
	user_fpu_init(r);
	if (sep) {
		wrmsr(MSR_SYSENTER_CS, 0);
		wrmsr(MSR_SYSENTER_ESP, 0);
		wrmsr(MSR_SYSENTER_EIP, 0);
	}
	write_cr4(read_cr4() | (smep ? CR4_SMEP : 0) | (smap ? CR4_SMAP : 0) |
		  (umip ? CR4_UMIP : 0));
	user_smap = smap;
	if (apic_timer_init() == 0)
		user_app_rflags |= RFLAGS_IF; /* the tick reaches the app, never the kernel */
	log_info("cpu: SYSCALL on; SMEP %s, SMAP %s, UMIP %s", smep ? "on" : "not available",
		 smap ? "on" : "not available", umip ? "on" : "not available");
}

/*
 * SYSCALL from 32-bit code, which no app can reach (no such segment): the
 * app is stopped as for an invalid opcode at the return address.
 */
void syscall_compat(uint64_t rip)
{
	struct trap_frame tf = {.vector = TRAP_UD, .rip = rip, .cs = GDT_USER_CS};

	KASSERT(trap_user_hook != NULL);
	trap_user_hook(&tf);
	panic("syscall_compat: the app was not stopped");
}

/*
 * Every system call, from syscall_entry.  FMASK must have cleared these
 * flags whatever the app set: NT would make any iretq in the kernel fault,
 * DF runs the string copies backwards, AC opens user pages under SMAP, TF
 * single-steps the kernel, IF lets the tick into it.  The return rip must
 * suit sysretq (user.h).
 */
int64_t syscall_enter(struct syscall_frame *f)
{
	KASSERT(!(read_rflags() & (RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT)));
	int64_t r = syscall_dispatch(f);
	KASSERT(user_sysret_rip_ok(f->rip));
	return r;
}

void user_set_kernel_stack(uint64_t top)
{
	user_kernel_stack = top;
	gdt_set_kernel_stack(top);
}

/* [a, a + n) inside the user half, without wrapping. */
static bool user_range_ok(uint64_t a, size_t n)
{
	return a < USER_SPACE_END && n <= USER_SPACE_END - a;
}

int user_copy_in(void *dst, uint64_t usrc, size_t n)
{
	if (!user_range_ok(usrc, n))
		return -EFAULT;
	return n == 0 ? 0 : user_copy_raw(dst, (const void *)usrc, n);
}

int user_copy_out(uint64_t udst, const void *src, size_t n)
{
	if (!user_range_ok(udst, n))
		return -EFAULT;
	return n == 0 ? 0 : user_copy_raw((void *)udst, src, n);
}

int user_copy_str(char *dst, uint64_t usrc, size_t max)
{
	size_t got = 0;

	/* a page at a time: the string may end just before an unmapped page */
	while (got < max) {
		size_t chunk = MIN(max - got, PAGE_SIZE - ((usrc + got) & PAGE_MASK));
		int err = user_copy_in(dst + got, usrc + got, chunk);
		if (err < 0)
			return err;
		for (size_t i = got; i < got + chunk; i++)
			if (dst[i] == '\0')
				return 0;
		got += chunk;
	}
	return -ENAMETOOLONG;
}

bool user_copy_fault_fixup(struct trap_frame *tf, uint64_t addr)
{
	if (tf->rip < (uint64_t)user_copy || tf->rip >= (uint64_t)user_copy_end ||
	    addr >= USER_SPACE_END)
		return false;
	vm_prot_t access = (tf->error & PF_W) ? VM_PROT_WRITE : VM_PROT_READ;
	if (user_vm_map == NULL || vm_fault(user_vm_map, addr, access, true) < 0)
		tf->rip = (uint64_t)user_copy_fault;
	return true;
}
