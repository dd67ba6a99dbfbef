/* SPDX-License-Identifier: MIT */
/*
 * Instructions that fault on purpose, each with a fixup in __ex_table, for
 * the self-tests of exception reflection. Each returns 0 if the instruction
 * did not fault and -EFAULT (-14) if it did.
 */
	.code64
	.section .text

.macro FAULTING name, insn:vararg
	.globl \name
\name:
1:	\insn
	xorl	%eax, %eax
	ret
2:	movl	$-14, %eax
	ret
	.pushsection __ex_table, "a"
	.quad	1b, 2b
	.popsection
.endm

FAULTING x86_test_ud, ud2
FAULTING x86_test_int3, int3
FAULTING x86_test_cli, cli
FAULTING x86_test_hlt, hlt

	.globl x86_test_div0
x86_test_div0:
	xorl	%ecx, %ecx
1:	divl	%ecx
	xorl	%eax, %eax
	ret
2:	movl	$-14, %eax
	ret
	.pushsection __ex_table, "a"
	.quad	1b, 2b
	.popsection
