/* The app's entry: rdi holds the argument string the kernel put on the
 * stack; main's return value is the exit code.  The FPU/SSE state the
 * kernel handed over is saved first, before any code can change it, for
 * the app's checks of it (app/cpu_state.c). */
	.section .text.start
	.globl _start
_start:
	/* the boot figure ends here: the TSC before anything else runs */
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, app_start_tsc(%rip)
	fxsave app_fpu_at_start(%rip)
	xor %ebp, %ebp
	/* the ABI's 16-byte alignment at the call: SSE code spills with movaps */
	and $-16, %rsp
	call main
	mov %eax, %edi
	call sys_exit
	ud2

	.bss
	.balign 8
	.globl app_start_tsc
app_start_tsc:
	.quad 0

	.balign 64
	.globl app_fpu_at_start
app_fpu_at_start:
	.skip 512
