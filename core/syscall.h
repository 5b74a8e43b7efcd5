/*
 * syscall: the system calls of app/include/phobos/abi.h, each with every
 * argument checked and user memory reached only through user_copy_*.
 *
 * The frame is what syscall_entry (user_entry.S) pushes: the number and
 * the six arguments first, then the registers sysret restores.
 */
#ifndef PHOBOS_SYSCALL_H
#define PHOBOS_SYSCALL_H

#include "core/env.h"

struct syscall_frame {
	uint64_t nr;
	uint64_t a[6]; /* rdi, rsi, rdx, r10, r8, r9 */
	uint64_t r15, r14, r13, r12, rbx, rbp;
	uint64_t rip, rflags, rsp;
};

int64_t syscall_dispatch(struct syscall_frame *f);
/* The app's end: its files closed, its reservations forgotten. */
void syscall_proc_end(void);

#endif
