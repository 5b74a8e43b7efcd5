/*
 * Ring 3: see user.h.  SYSCALL takes CS/SS from STAR (kernel 0x08/0x10;
 * SYSRET gives user SS = STAR[63:48] + 8 and CS = + 16, which is why the
 * GDT holds user data before user code) and clears the flags in FMASK on
 * entry: interrupts, direction, trap and alignment check (so SMAP holds in
 * the kernel whatever the app set).
 */
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/user.h"
#include "core/mm/vm_map.h"

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define EFER_SCE (1ull << 0)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_DF (1ull << 10)
#define RFLAGS_AC (1ull << 18)

extern char syscall_entry[], user_copy[], user_copy_fault[], user_copy_end[];
extern uint64_t user_kernel_stack;
extern uint8_t user_smap;
int user_copy_raw(void *dst, const void *src, size_t n) __asm__("user_copy");
void gdt_set_kernel_stack(uint64_t top);

struct vm_map *user_vm_map;
void (*trap_user_hook)(struct trap_frame *tf);

void user_cpu_init(void)
{
	uint32_t r[4];

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)(GDT_USER_DS - 8) << 48 | (uint64_t)GDT_KERNEL_CS << 32);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC);
	cpuid(0, 0, r);
	bool smep = false, smap = false;
	if (r[0] >= 7) {
		cpuid(7, 0, r);
		smep = r[1] & (1u << 7);
		smap = r[1] & (1u << 20);
	}
	write_cr4(read_cr4() | (smep ? CR4_SMEP : 0) | (smap ? CR4_SMAP : 0));
	user_smap = smap;
	log_info("cpu: SYSCALL on; SMEP %s, SMAP %s", smep ? "on" : "not available",
		 smap ? "on" : "not available");
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
