/*
 * Ring 3 on x86-64: SYSCALL/SYSRET set-up, SMEP and SMAP, entering and
 * leaving the app, and copies between app and kernel memory that a bad
 * pointer cannot turn into a kernel fault.
 *
 * User pointers are checked against the user half (below
 * USER_SPACE_END); a copy touching a page the VM cannot give the app
 * (unmapped, or not accessible from ring 3) returns -EFAULT.  The VM map
 * those faults are resolved in is user_vm_map, set while an app runs.
 * Lock key: one CPU, one app; none.
 */
#ifndef PHOBOS_ARCH_USER_H
#define PHOBOS_ARCH_USER_H

#include "core/arch/x86_64/trap.h"

#define USER_SPACE_END 0x0000800000000000ull

struct vm_map;
extern struct vm_map *user_vm_map;

/* MSRs for SYSCALL, SMEP/SMAP when the CPU has them; logs which. */
void user_cpu_init(void);
/* The clean FPU/SSE/AVX state, for an app about to start. */
void user_fpu_reset(void);
/* The kernel stack traps and system calls from ring 3 run on. */
void user_set_kernel_stack(uint64_t top);
/* Runs the app from entry with the given stack, rdi = arg, until
 * user_leave; returns the code given to it. */
uint64_t user_run(uint64_t entry, uint64_t stack, uint64_t arg);
_Noreturn void user_leave(uint64_t code);

/*
 * sysretq loads rcx into rip before it leaves ring 0: a non-canonical one
 * faults there, on the app's stack.  Unreachable while the app's map ends
 * a page below the hole at USER_SPACE_END (bits 63-47 all clear).
 */
static inline bool user_sysret_rip_ok(uint64_t rip)
{
	return rip < USER_SPACE_END;
}

int user_copy_in(void *dst, uint64_t usrc, size_t n);
int user_copy_out(uint64_t udst, const void *src, size_t n);
/* A NUL-terminated string of at most max - 1 bytes: -EFAULT, or
 * -ENAMETOOLONG when no NUL comes before max bytes. */
int user_copy_str(char *dst, uint64_t usrc, size_t max);

/*
 * Called by trap_dispatch for a trap from ring 3 (set by the process
 * code): resolves it and returns, or stops the app (never returns).
 */
extern void (*trap_user_hook)(struct trap_frame *tf);
/* A kernel page fault inside the user copy routines: true when it was
 * resolved or redirected to the copy's -EFAULT exit. */
bool user_copy_fault_fixup(struct trap_frame *tf, uint64_t addr);

#endif
