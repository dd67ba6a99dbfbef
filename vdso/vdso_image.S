/* SPDX-License-Identifier: MIT */
/*
 * The vDSO image for the kernel to map: the bytes of vdso.so (VDSO_SO, given
 * by vdso/rules.mk), page-aligned and a whole number of pages long, between
 * vdso_image_start and vdso_image_end. The kernel maps these pages at
 * AT_SYSINFO_EHDR and the clock page one page below. No relocations.
 */
	.section .rodata, "a"
	.balign 4096
	.globl	vdso_image_start
	.hidden	vdso_image_start
	.type	vdso_image_start, @object
vdso_image_start:
	.incbin	VDSO_SO
	.globl	vdso_image_end
	.hidden	vdso_image_end
vdso_image_end:
	.size	vdso_image_start, vdso_image_end - vdso_image_start

	.section .note.GNU-stack, "", @progbits
