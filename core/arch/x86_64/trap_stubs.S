/*
 * Entry stubs for the 32 exceptions.  Each pushes a zero where the CPU
 * pushes no error code, so every frame has the same shape, then the
 * vector, then all registers (struct trap_frame in trap.h).
 */
	.text

.macro TRAP_NOERR n
	.globl trap_stub_\n
trap_stub_\n:
	pushq $0
	pushq $\n
	jmp trap_common
.endm

.macro TRAP_ERR n
	.globl trap_stub_\n
trap_stub_\n:
	pushq $\n
	jmp trap_common
.endm

trap_common:
	cld
	/* the app may have set AC with popf: SMAP must hold in the handler
	 * (iretq restores the trapped code's own AC) */
	testb $1, user_smap(%rip)
	jz 1f
	clac
1:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	/* a frame-pointer link so backtraces cross into the trapped code */
	mov 8*17(%rsp), %rax
	push %rax
	push %rbp
	mov %rsp, %rbp
	/* the ABI wants a 16-byte aligned stack at the call */
	mov %rsp, %rbx
	and $-16, %rsp
	call trap_dispatch
	mov %rbx, %rsp
	add $16, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR 8
TRAP_NOERR 9
TRAP_ERR 10
TRAP_ERR 11
TRAP_ERR 12
TRAP_ERR 13
TRAP_ERR 14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR 17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR 21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR 29
TRAP_ERR 30
TRAP_NOERR 31
TRAP_NOERR 32

/* The APIC's spurious vector: no EOI is due, nothing to do. */
	.globl trap_stub_spurious
trap_stub_spurious:
	iretq

	.section .rodata
	.balign 8
	.globl trap_stub_table
trap_stub_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\n
	.endr
