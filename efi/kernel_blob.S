/* The kernel ELF, linked at KERNEL_BASE, carried inside the loader. */
	.section .rdata,"dr"
	.balign 16
	.globl kernel_blob_start
	.globl kernel_blob_end
kernel_blob_start:
	.incbin KERNEL_BLOB
kernel_blob_end:
