/*
 * The CPU as the app finds it: what ring 3 may not learn (UMIP), flags
 * that must not reach the kernel (AC), the time limit (a spinning app),
 * and the FPU/SSE/AVX state: clean at the start, intact across system
 * calls, faults and timer ticks.
 */
#include "app/hostile.h"

#define FXSAVE_FCW 0
#define FXSAVE_MXCSR 24
#define FXSAVE_XMM 160
#define MXCSR_DEFAULT 0x1f80
#define FCW_DEFAULT 0x037f

static int cpu_failures;

#define CPU_CHECK(cond) APP_CHECK(cpu_failures, "cpu: ", cond)

/* sidt stops the app where UMIP is on; where it is not, the kernel's IDT
 * address is what comes back, and the part says so. */
int cpu_umip(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {0, 0};

	__asm__ volatile("sidt %0" : "=m"(idtr));
	printf("app: umip: sidt gave %lx\n", (unsigned long)idtr.base);
	return idtr.base >= 0xffff800000000000ull;
}

/*
 * Flags the app may set and the kernel must not run with: AC with popf,
 * then a page fault the kernel resolves (its handler must run with AC
 * clear, SMAP on); NT, DF and AC, then a system call (FMASK must clear
 * them; syscall_enter asserts it).  sysretq gives them back to the app.
 */
int cpu_entry_flags(void)
{
	const uint64_t flags = 0x40000 | 0x4000 | 0x400; /* AC, NT, DF */
	uint64_t set = flags;
	long b = sys_allocate_heap(4096, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, 0, 1);
	uint64_t after;

	CPU_CHECK(b > 0);
	__asm__ volatile("pushfq\n\t"
			 "orq $0x40000, (%%rsp)\n\t"
			 "popfq\n\t"
			 "movq $1, (%0)\n\t"
			 "pushfq\n\t"
			 "andq $~0x40000, (%%rsp)\n\t"
			 "popfq"
			 :
			 : "r"(b)
			 : "memory", "cc");
	CPU_CHECK(*(volatile uint64_t *)b == 1);
	/* no C code may run with DF set: set, call and clear in one block */
	__asm__ volatile("pushfq\n\t"
			 "orq %[set], (%%rsp)\n\t"
			 "popfq\n\t"
			 "mov $2, %%eax\n\t" /* PHOBOS_SYS_CLOCK_US */
			 "syscall\n\t"
			 "pushfq\n\t"
			 "mov (%%rsp), %[after]\n\t"
			 "notq %[set]\n\t"
			 "andq %[set], (%%rsp)\n\t"
			 "popfq"
			 : [after] "=&r"(after), [set] "+r"(set)
			 :
			 : "rax", "rcx", "r11", "memory", "cc");
	CPU_CHECK((after & flags) == flags);
	return cpu_failures;
}

/* SYSENTER_CS is 0, so sysenter raises #GP (#UD where the CPU does not
 * know it in long mode): the app is stopped either way. */
int cpu_sysenter(void)
{
	__asm__ volatile("sysenter" ::: "rcx", "r11", "memory");
	printf("app: sysenter: came back\n");
	return 1;
}

_Noreturn void cpu_spin(void)
{
	printf("app: spin: spinning\n"); /* the host's cue to send a machine check */
	for (;;)
		__asm__ volatile("" ::: "memory");
}

/* Spins for 4 s of the gate's clock while the host sends NMIs: none of
 * them is the app's business, so it must get to its end. */
int cpu_nmi_wait(void)
{
	printf("app: nmi_wait: spinning\n");
	for (uint64_t end = clock_us_fast() + 4000000; clock_us_fast() < end;)
		__asm__ volatile("pause");
	return 0;
}

static bool cpu_has_avx_state(void)
{
	uint32_t a, b, c, d, lo, hi;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27))) /* OSXSAVE: the kernel turned XSAVE on */
		return false;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

/* Every byte of the 16 ymm registers' upper halves, ORed. */
static uint8_t cpu_ymm_upper_or(void)
{
	static uint8_t up[16][16] __attribute__((aligned(16)));
	uint8_t acc = 0;

#define CPU_UP(n) __asm__ volatile("vextracti128 $1, %%ymm" #n ", %0" : "=m"(up[n]))
	CPU_UP(0); CPU_UP(1); CPU_UP(2); CPU_UP(3); CPU_UP(4); CPU_UP(5); CPU_UP(6); CPU_UP(7);
	CPU_UP(8); CPU_UP(9); CPU_UP(10); CPU_UP(11); CPU_UP(12); CPU_UP(13); CPU_UP(14); CPU_UP(15);
#undef CPU_UP
	for (int i = 0; i < 16; i++)
		for (int k = 0; k < 16; k++)
			acc |= up[i][k];
	return acc;
}

/*
 * xmm0-15 loaded, then a system call, a page fault the kernel serves and
 * timer ticks (a spin of 200 ms of the gate's clock), then stored back:
 * nothing may change.  With AVX the ymm registers go through the same.
 */
static void cpu_vector_survives(bool avx)
{
	static uint8_t in[16][32] __attribute__((aligned(32))), out[16][32] __attribute__((aligned(32)));
	long page = sys_allocate_heap(4096, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, 0, 1);
	uint64_t until = gate()->tsc_base;
	uint32_t lo, hi;

	for (int i = 0; i < 16; i++)
		for (int k = 0; k < 32; k++)
			in[i][k] = (uint8_t)(i * 37 + k * 11 + 1);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	until = ((uint64_t)hi << 32 | lo) + gate()->tsc_hz / 5;
	CPU_CHECK(page > 0);
#define CPU_REGS(op, x)                                                                            	op " 0(%[i]), %%" x "0\n\t" op " 32(%[i]), %%" x "1\n\t" op " 64(%[i]), %%" x "2\n\t"        	op " 96(%[i]), %%" x "3\n\t" op " 128(%[i]), %%" x "4\n\t" op " 160(%[i]), %%" x "5\n\t"     	op " 192(%[i]), %%" x "6\n\t" op " 224(%[i]), %%" x "7\n\t" op " 256(%[i]), %%" x "8\n\t"    	op " 288(%[i]), %%" x "9\n\t" op " 320(%[i]), %%" x "10\n\t" op " 352(%[i]), %%" x "11\n\t"  	op " 384(%[i]), %%" x "12\n\t" op " 416(%[i]), %%" x "13\n\t" op " 448(%[i]), %%" x "14\n\t" 	op " 480(%[i]), %%" x "15\n\t"
#define CPU_BACK(op, x)                                                                            	op " %%" x "0, 0(%[o])\n\t" op " %%" x "1, 32(%[o])\n\t" op " %%" x "2, 64(%[o])\n\t"        	op " %%" x "3, 96(%[o])\n\t" op " %%" x "4, 128(%[o])\n\t" op " %%" x "5, 160(%[o])\n\t"     	op " %%" x "6, 192(%[o])\n\t" op " %%" x "7, 224(%[o])\n\t" op " %%" x "8, 256(%[o])\n\t"    	op " %%" x "9, 288(%[o])\n\t" op " %%" x "10, 320(%[o])\n\t" op " %%" x "11, 352(%[o])\n\t"  	op " %%" x "12, 384(%[o])\n\t" op " %%" x "13, 416(%[o])\n\t" op " %%" x "14, 448(%[o])\n\t" 	op " %%" x "15, 480(%[o])\n\t"
#define CPU_MIDDLE                                                                                 	"mov $2, %%eax\n\t" /* PHOBOS_SYS_CLOCK_US */                                             	"syscall\n\t"                                                                             	"movq $1, (%[p])\n\t" /* a fresh page: a fault */                                         	"1: rdtsc\n\t"                                                                            	"shl $32, %%rdx\n\t"                                                                      	"or %%rdx, %%rax\n\t"                                                                     	"cmp %[until], %%rax\n\t"                                                                 	"jb 1b\n\t"
	if (avx)
		__asm__ volatile(CPU_REGS("vmovdqu", "ymm") CPU_MIDDLE CPU_BACK("vmovdqu", "ymm")
				 :
				 : [i] "r"(in), [o] "r"(out), [p] "r"(page), [until] "r"(until)
				 : "rax", "rcx", "rdx", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2",
				   "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
				   "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	else
		__asm__ volatile(CPU_REGS("movdqu", "xmm") CPU_MIDDLE CPU_BACK("movdqu", "xmm")
				 :
				 : [i] "r"(in), [o] "r"(out), [p] "r"(page), [until] "r"(until)
				 : "rax", "rcx", "rdx", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2",
				   "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
				   "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#undef CPU_REGS
#undef CPU_BACK
#undef CPU_MIDDLE
	for (int i = 0; i < 16; i++)
		CPU_CHECK(memcmp(in[i], out[i], avx ? 32 : 16) == 0);
}

/*
 * The state at _start is the clean one (x87 and SSE control words at
 * their defaults, every register zero, ymm's upper halves too), vector
 * registers survive the kernel, and the part leaves everything dirty so
 * that the next app (sse_again) shows whether the kernel cleans up.
 */
int cpu_sse(void)
{
	uint16_t fcw;
	uint32_t mxcsr;
	uint8_t acc = 0;
	bool avx = cpu_has_avx_state();

	memcpy(&fcw, app_fpu_at_start + FXSAVE_FCW, sizeof(fcw));
	memcpy(&mxcsr, app_fpu_at_start + FXSAVE_MXCSR, sizeof(mxcsr));
	for (int i = FXSAVE_XMM; i < FXSAVE_XMM + 256; i++)
		acc |= app_fpu_at_start[i];
	CPU_CHECK(fcw == FCW_DEFAULT);
	CPU_CHECK(mxcsr == MXCSR_DEFAULT);
	CPU_CHECK(acc == 0);
	if (avx)
		CPU_CHECK(cpu_ymm_upper_or() == 0);
	printf("app: sse: at start fcw %x mxcsr %x, xmm %s, AVX state %s\n", fcw, mxcsr,
	       acc == 0 ? "zero" : "dirty", avx ? "on" : "off");
	cpu_vector_survives(false);
	if (avx)
		cpu_vector_survives(true);
	/* dirty for the next app: rounding toward zero, FTZ, all registers */
	uint32_t dirty = 0x7fc0;
	uint16_t fdirty = 0x0c7f;
	__asm__ volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(dirty), "m"(fdirty));
	return cpu_failures;
}
