/*
 * Kernel entry from the loader: rdi = boot_info (direct-map address).
 * The firmware's stack lives in memory the kernel will reuse, so the first
 * thing is a stack of our own; rbp = 0 ends every backtrace.
 */
	.section .text.entry, "ax"
	.globl _start
_start:
	lea boot_stack_top(%rip), %rsp
	xor %ebp, %ebp
	call kmain
1:	cli
	hlt
	jmp 1b

	.section .bss
	.balign 16
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip 65536
	.globl boot_stack_top
boot_stack_top:
