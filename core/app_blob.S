/* The app's ELF image (mk/app.mk), carried in the kernel's rodata. */
	.section .rodata
	.balign 16
	.globl app_image
	.globl app_image_end
app_image:
	.incbin APP_BLOB
app_image_end:
