/*
 * CPU set-up and traps: own GDT and TSS (IST stacks for double fault, NMI
 * and machine check), an IDT covering the 32 exceptions, and the frame
 * every handler sees.
 *
 * Exceptions the kernel does not expect end in panic_trap(): "PANIC:" with
 * the vector name, the decoded error code, CR2 for page faults, every
 * register and a backtrace.  Self-tests may announce one #BP or #UD with
 * trap_expect(); the handler then counts it and returns past it.
 */
#ifndef PHOBOS_ARCH_TRAP_H
#define PHOBOS_ARCH_TRAP_H

#include "core/env.h"

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_USER_DS 0x1b
#define GDT_USER_CS 0x23
#define GDT_TSS 0x28

#define TRAP_DE 0
#define TRAP_NMI 2
#define TRAP_BP 3
#define TRAP_UD 6
#define TRAP_DF 8
#define TRAP_GP 13
#define TRAP_PF 14
#define TRAP_MC 18

/* Pushed by trap_stubs.S (registers, vector, error) and by the CPU (rest). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_P 0x1    /* protection violation (else: page not present) */
#define PF_W 0x2    /* write */
#define PF_U 0x4    /* from ring 3 */
#define PF_RSVD 0x8 /* reserved bit set in a paging entry */
#define PF_I 0x10   /* instruction fetch */

void gdt_init(void);
void idt_init(void);

/*
 * Page faults go to this hook when set (the VM's fault handler); it returns
 * 0 when resolved, else the fault is fatal and why (at most len bytes)
 * says what was wrong: it becomes the PANIC line.
 */
extern int (*trap_page_fault_hook)(struct trap_frame *tf, uint64_t addr, char *why, size_t len);

/* Routes page faults to the VM (vm_fault_md.c). */
void vm_fault_md_init(void);

void trap_expect(unsigned vector);
/* Times the expected vector was taken since trap_expect(). */
unsigned trap_expected_hits(void);

/*
 * NMIs that came while the kernel ran: not the kernel's doing either (a
 * watchdog, a button), and no moment to print (the console may be
 * mid-line), so they are counted.  Returns how many came since the last
 * call, and the rip of the last one.
 */
uint64_t trap_take_kernel_nmis(uint64_t *last_rip);

/* Timer ticks taken since the last call and the TSC ticks the kernel
 * spent on them, from trap_dispatch's start to its end (the entry and
 * exit stubs and the interrupt's delivery are not in it). */
uint64_t trap_take_tick_cost(uint64_t *tsc);

const char *trap_name(unsigned vector);
_Noreturn void panic_trap(struct trap_frame *tf, const char *why);
/* Prints a frame-pointer backtrace starting at rbp. */
void backtrace_print(uint64_t rip, uint64_t rbp);

#endif
