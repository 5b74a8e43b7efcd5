/* The app's entry: rdi holds the argument string the kernel put on the
 * stack; main's return value is the exit code. */
	.section .text.start
	.globl _start
_start:
	/* the boot figure ends here: the TSC before anything else runs */
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, app_start_tsc(%rip)
	xor %ebp, %ebp
	call main
	mov %eax, %edi
	call sys_exit
	ud2

	.bss
	.balign 8
	.globl app_start_tsc
app_start_tsc:
	.quad 0
