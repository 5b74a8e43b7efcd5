/*
 * Ring 3: entering it, SYSCALL entry, leaving it for good, and the copies
 * between user and kernel memory that survive a bad user pointer.
 *
 * user_run(entry, stack, arg) saves the kernel's callee-saved registers
 * and stack in user_saved_rsp, then irets to ring 3; it returns only when
 * user_leave(code) unwinds to it (from a system call or a trap on the
 * per-app kernel stack), with code.  One CPU, one app: plain globals.
 */
	.text

	.globl user_run
user_run:
	push %rbp
	mov %rsp, %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	sub $8, %rsp
	mov %rsp, user_saved_rsp(%rip)
	/* iret frame: ss, rsp, rflags (interrupts on only for the timer's
	 * tick: the app is never preempted for anything else), cs, rip */
	pushq $0x1b
	pushq %rsi
	pushq user_app_rflags(%rip)
	pushq $0x23
	pushq %rdi
	mov %rdx, %rdi
	xor %eax, %eax
	xor %ebx, %ebx
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %ebp, %ebp
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d
	iretq

	/* user_leave(code): back to user_run's caller, whatever stack we are on */
	.globl user_leave
user_leave:
	mov %rdi, %rax
	mov user_saved_rsp(%rip), %rsp
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

/*
 * SYSCALL: rcx = user rip, r11 = user rflags, the rest is the app's.  The
 * frame built here is a struct syscall_frame (syscall.h): the number and
 * six arguments, then what sysret needs.  syscall_enter (user.c) checks
 * the flags and the return rip around the call.
 */
	.globl syscall_entry
syscall_entry:
	mov %rsp, user_rsp_scratch(%rip)
	mov user_kernel_stack(%rip), %rsp
	pushq user_rsp_scratch(%rip)
	push %r11
	push %rcx
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %r9
	push %r8
	push %r10
	push %rdx
	push %rsi
	push %rdi
	push %rax
	xor %ebp, %ebp
	mov %rsp, %rdi
	call syscall_enter
	/* rax: the result */
	add $8, %rsp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %r10
	pop %r8
	pop %r9
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	pop %rcx
	pop %r11
	pop %rsp
	sysretq

/* SYSCALL from 32-bit code (CSTAR): never reached, see user.c. */
	.globl syscall_entry_compat
syscall_entry_compat:
	mov user_kernel_stack(%rip), %rsp
	mov %rcx, %rdi
	call syscall_compat
	ud2

/*
 * user_copy(dst, src, n): memcpy that a fault may stop.  A page fault at a
 * user address inside it that the VM cannot resolve sends the trap handler
 * to user_copy_fault (trap.c checks rip against [user_copy, user_copy_end)),
 * which returns -EFAULT (-14); 0 when all n bytes were copied.  With SMAP
 * on, AC opens user pages to the kernel for the copy and only for it.
 */
	.globl user_copy
	.globl user_copy_fault
	.globl user_copy_end
user_copy:
	testb $1, user_smap(%rip)
	jz 1f
	stac
1:	mov %rdx, %rcx
	rep movsb
	xor %eax, %eax
	jmp 2f
user_copy_fault:
	mov $-14, %rax
2:	testb $1, user_smap(%rip)
	jz 3f
	clac
3:	ret
user_copy_end:

	.data
	.balign 8
	.globl user_app_rflags
user_app_rflags:
	.quad 0x2

	.bss
	.balign 8
user_saved_rsp:
	.quad 0
user_rsp_scratch:
	.quad 0
	.globl user_kernel_stack
user_kernel_stack:
	.quad 0
	.globl user_smap
user_smap:
	.byte 0
