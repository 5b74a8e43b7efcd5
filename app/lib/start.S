/* The app's entry: rdi holds the argument string the kernel put on the
 * stack; main's return value is the exit code. */
	.section .text.start
	.globl _start
_start:
	xor %ebp, %ebp
	call main
	mov %eax, %edi
	call sys_exit
	ud2
